//! T18 — matrix-transition family heads (DPLR / RWKV-7, DeltaNet, Gated DeltaNet) as
//! Mamba channels.
//!
//! (a) If `$M_1, \dots, M_{L-1}$` are invertible, the channel of state `$d_k$` with
//! `$\bar A \equiv 1$`, `$\bar B_s = P_s^{-1} b_s$`, `$C_t = P_t^\top q_t$`,
//! `$P_t = M_t\cdots M_1$` ([`identity_channel`]) has `$\tilde\alpha = A$` and scans, per
//! value coordinate, to the head's output. Coq: `t18_identity_channel`.
//!
//! (b) A step `$r$` with `$\operatorname{rank} A[r-1.., ..r-1] = \operatorname{rank} A[r.., ..r] = d_k > \operatorname{rank} A[r.., ..r-1]$`
//! proves that no channel of state `$d_k$` with an invertible `$\bar A_r$` — no Mamba
//! channel — has `$\tilde\alpha = A$` ([`crate::family::linear::obstruction`]). Coq:
//! `t18_invertible_step_rank`, `t18_no_invertible_channel`. DeltaNet's
//! `$I - \beta kk^\top$` is singular iff `$\beta k^\top k = 1$`, Gated DeltaNet's also when
//! `$g = 0$`, DPLR's `$\mathrm{diag}(g) + \beta\alpha^\top$` iff its determinant is 0
//! (`$\alpha^\top\mathrm{diag}(g)^{-1}\beta = -1$` when no `$g_i$` is 0).
//!
//! A head with a singular step that meets no rank condition is undecided here (neither
//! constructed nor refuted); the check passes it.
// A failing case returns the whole counterexample by value (as t1 and t2 do).
#![allow(clippy::result_large_err)]

use num_traits::{One, Zero};

use super::t14::{dense, diagonal_channel, readout_name};
use super::t3::fail;
use super::{CaseResult, Theorem};
use crate::error::Error;
use crate::family::linear::obstruction::find_invertible_step_obstruction;
use crate::family::linear::realise::identity_channel;
use crate::family::linear::{FamilyHead, Readout};
use crate::scalar::Exact;
use crate::semiseparable::{determinant, rank_exact, submatrix};
use crate::ssm;
use crate::tensor::Matrix;

/// Statement of T18.
pub const THEOREM: Theorem = Theorem {
    id: "T18",
    statement: "a family head with invertible M_1..M_{L−1} is the channel Ā ≡ 1, B̄_s = P_s⁻¹b_s, C_t = P_tᵀq_t of state d_k (a Mamba channel, A = 0); rank A[r−1.., ..r−1] = rank A[r.., ..r] = d_k > rank A[r.., ..r−1] proves no channel of state d_k with invertible Ā_r (no Mamba channel) has α̃ = A",
};

/// The first step `$r$` meeting the rank conditions of T18 (b) for state `n`, by exact
/// ranks of the three blocks (independently of the certificate finder).
fn rank_condition_step(a: &Matrix<Exact>, n: usize) -> Option<usize> {
    let rank = |i: usize, j: usize| {
        let rows: Vec<usize> = (i..a.rows()).collect();
        let cols: Vec<usize> = (0..=j).collect();
        rank_exact(&submatrix(a, &rows, &cols)).0
    };
    (1..a.rows()).find(|&r| rank(r - 1, r - 1) == n && rank(r, r) == n && rank(r, r - 1) < n)
}

/// Exact check of T18 on a rational head read after the step, with values `(L, d_v)`
/// ([`crate::strategies::matrix_transition_head_with_values`]):
///
/// - every `$M_t$`, `$1 \le t \le L-1$`, invertible (determinant of the dense matrix): the
///   [`identity_channel`] exists, has `$\bar A \equiv 1$`, `$\tilde\alpha = A$` and scans to
///   the head's output per value coordinate, exactly; and no step meets the rank
///   conditions of (b) (they would contradict this channel);
/// - otherwise the construction is refused as [`Error::SingularTransition`] naming the first
///   singular step; if some step meets the rank conditions (exact block ranks), the finder
///   returns that step's certificate, it verifies, and `$M_r$` at its step is singular (the
///   head is itself a realisation of state `$d_k$`, so (b) applies to it); if none does,
///   the case is undecided and passes.
///
/// A head read before the step must be refused by name.
pub fn check_exact(case: &(FamilyHead<Exact>, Vec<Exact>, usize)) -> CaseResult {
    let (head, v, dv) = case;
    let f = |what: String| {
        fail(
            THEOREM.id,
            "exact",
            format!(
                "{what} (d_k = {}, L = {}, {})",
                head.dk,
                head.len(),
                readout_name(head)
            ),
            identity_channel(head)
                .ok()
                .or_else(|| diagonal_channel(head)),
        )
    };
    let built = identity_channel(head);
    if head.readout != Readout::After {
        return match built {
            Err(Error::InvalidArgument { name, .. }) if name == "readout" => Ok(None),
            other => Err(f(format!(
                "a head read before the step was not refused by name: {other:?}"
            ))),
        };
    }
    let (l, dk) = (head.len(), head.dk);
    let singular = (1..l).find(|&t| determinant(&dense(&head.m[t], dk)).is_zero());
    let a = head.attention_matrix().map_err(|e| f(e.to_string()))?;
    let predicted = rank_condition_step(&a, dk);
    let found = find_invertible_step_obstruction(&a, dk);
    match (&built, singular) {
        (Ok(ch), None) => {
            if let Some(r) = predicted.or(found.as_ref().map(|c| c.step)) {
                return Err(f(format!(
                    "every transition is invertible, yet step {r} meets the rank conditions of (b) or has a certificate"
                )));
            }
            if let Some(i) = ch.abar_all().iter().position(|x| !x.is_one()) {
                return Err(f(format!("Ā entry {i} is {}, not 1", ch.abar_all()[i])));
            }
            let alpha = ssm::attention_matrix(ch).map_err(|e| f(e.to_string()))?;
            if let Some((t, s)) = (0..l)
                .flat_map(|t| (0..l).map(move |s| (t, s)))
                .find(|&(t, s)| alpha.get(t, s) != a.get(t, s))
            {
                return Err(f(format!(
                    "the channel's α̃[{t}][{s}] = {} but the head's A[{t}][{s}] = {}",
                    alpha.get(t, s),
                    a.get(t, s)
                )));
            }
            let (o, _) = head.run(v, *dv).map_err(|e| f(e.to_string()))?;
            for c in 0..*dv {
                let x: Vec<Exact> = (0..l).map(|t| v[t * dv + c].clone()).collect();
                let y = ssm::scan(ch, &x).map_err(|e| f(e.to_string()))?.y;
                if let Some(t) = (0..l).find(|&t| y[t] != o[t * dv + c]) {
                    return Err(f(format!(
                        "value coordinate {c}: channel scan y[{t}] = {} but the head gives {}",
                        y[t],
                        o[t * dv + c]
                    )));
                }
            }
        }
        (Err(Error::SingularTransition { step }), Some(t)) if *step == t => {
            match (predicted, &found) {
                (None, None) => {} // undecided
                (Some(r), Some(cert)) if cert.step == r && cert.state == dk => {
                    cert.verify(&a)
                        .map_err(|e| f(format!("the certificate does not verify: {e}")))?;
                    if !determinant(&dense(&head.m[r], dk)).is_zero() {
                        return Err(f(format!(
                            "a certificate at step {r}, but the head's M_{r} is invertible"
                        )));
                    }
                }
                (p, c) => {
                    return Err(f(format!(
                        "the rank conditions hold first at step {p:?}, the finder returned {:?}",
                        c.as_ref().map(|c| (c.step, c.state))
                    )))
                }
            }
        }
        (Err(e), _) => {
            return Err(f(format!(
                "construction refused ({e}), first singular step {singular:?}"
            )))
        }
        (Ok(_), Some(t)) => {
            return Err(f(format!(
                "M_{t} is singular, yet the construction did not refuse it"
            )))
        }
    }
    Ok(None)
}

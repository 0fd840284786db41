//! T16 — realisations of the family as Mamba (diagonal S6) channels: a head with diagonal
//! or scalar transitions read after the step is, per value coordinate, the channel of
//! state `$d_k$` with `$\bar A_t = \mathrm{diag}\,M_t$`, `$\bar B = b$`, `$C = q$` (T3; Coq
//! `t14_diagonal_family_is_channel`, `t14_elementwise_is_channel`); RWKV-6 with no zero
//! decay at steps `$1 \le s \le L-2$` is the channel of state `$2d_k$` of
//! [`crate::family::linear::realise::rwkv6_channel`]; a head with a non-diagonal
//! transition (DPLR, the delta rule) is refused by name — its realisation is the head
//! itself, a time-varying non-diagonal model of state `$d_k$` (T14).
//!
//! Proven in Coq (`proofs/T16_Realisations.v`): the diagonal and scalar heads, Coq:
//! `t16_diagonal_alpha_is_A`, `t16_diagonal_head_is_channel`, `t16_scalar_alpha_is_A`,
//! `t16_scalar_head_is_channel`; RWKV-6 over a field, with no zero decay at the steps
//! `$1 \le s \le L-2$` that `rwkv6_channel` divides by, Coq: `t16_rwkv6_alpha_is_A`,
//! `t16_rwkv6_is_channel`.
// A failing case returns the whole counterexample by value (as t1 and t2 do).
#![allow(clippy::result_large_err)]

use super::t14::{diagonal_channel as report_channel, readout_name};
use super::t3::fail;
use super::{CaseResult, Theorem};
use crate::error::Error;
use crate::family::linear::realise::{diagonal_channel, rwkv6_channel};
use crate::family::linear::{FamilyHead, Readout, Transition};
use crate::scalar::{Class, Exact, Field};
use crate::ssm;

/// Statement of T16.
pub const THEOREM: Theorem = Theorem {
    id: "T16",
    statement: "diagonal family heads are S6 channels of state d_k per value coordinate; RWKV-6 (decays ≠ 0) is one of state 2d_k; non-diagonal transitions are refused (time-varying realisation of state d_k)",
};

/// Exact check of T16 on a rational head and values (module docs): the constructed
/// channel's `$\tilde\alpha$` equals the head's `$A$` and its scan, per value coordinate, the
/// head's output; or the construction is refused with the right typed error.
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
            report_channel(head),
        )
    };
    let diagonal = head
        .m
        .iter()
        .all(|m| matches!(m, Transition::Diagonal(_) | Transition::Scalar(_)));
    let built = match head.readout {
        Readout::After => diagonal_channel(head),
        Readout::BeforeWithBonus(_) => rwkv6_channel(head),
    };
    let l = head.len();
    let zero_decay = head
        .m
        .iter()
        .enumerate()
        .filter(|(t, _)| *t >= 1 && t + 2 <= l)
        .find_map(|(t, m)| match m {
            Transition::Diagonal(g) => g
                .iter()
                .position(|x| x.class() == Class::Zero)
                .map(|i| (t, i)),
            Transition::Scalar(g) => (g.class() == Class::Zero).then_some((t, 0)),
            _ => None,
        });
    let ch = match (built, diagonal) {
        (Ok(ch), true) => ch,
        (Err(Error::InvalidArgument { name, .. }), false) if name == "transition" => {
            return Ok(None)
        }
        (Err(Error::ZeroTransition { step, .. }), true)
            if matches!(head.readout, Readout::BeforeWithBonus(_))
                && zero_decay.is_some_and(|(t, _)| t == step) =>
        {
            return Ok(None)
        }
        (Ok(_), false) => {
            return Err(f(
                "a non-diagonal head was realised as a diagonal channel".into()
            ))
        }
        (Err(e), _) => return Err(f(format!("construction refused: {e}"))),
    };
    let a = head.attention_matrix().map_err(|e| f(e.to_string()))?;
    let alpha = ssm::attention_matrix(&ch).map_err(|e| f(e.to_string()))?;
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
        let y = ssm::scan(&ch, &x).map_err(|e| f(e.to_string()))?.y;
        if let Some(t) = (0..l).find(|&t| y[t] != o[t * dv + c]) {
            return Err(f(format!(
                "value coordinate {c}: channel scan y[{t}] = {} but the head gives {}",
                y[t],
                o[t * dv + c]
            )));
        }
    }
    Ok(None)
}

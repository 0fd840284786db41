//! T9 — the hidden attention of an SSD head of state `$N$` is `$N$`-semiseparable, with the
//! structure `$\tilde\alpha = (C\bar B^\top)\circ M$`, `$M$` the 1-semiseparable decay mask.
// A failing case returns the whole counterexample by value (as t1 and t2 do).
#![allow(clippy::result_large_err)]

use super::t8::head_fail;
use super::{t4, CaseResult, Counterexample, Theorem};
use crate::family::ssd::{attention_matrix, decay_mask, gram, SsdHead};
use crate::scalar::{Class, Exact, Field};
use crate::semiseparable::semiseparable_rank_exact;

/// Statement of T9.
pub const THEOREM: Theorem = Theorem {
    id: "T9",
    statement: "SSD head of state N: α̃ = (C B̄ᵀ) ∘ M on and below the diagonal, M_ts = ∏_{r=s+1}^t a_r 1-semiseparable, rank α̃[j.., ..=j] ≤ N",
};

fn as_t9(mut c: Counterexample) -> Counterexample {
    c.theorem = THEOREM.id;
    c
}

/// Exact check of T9 (Coq: `t9_ssd_semiseparable`): on and below the diagonal
/// `$\tilde\alpha_{ts} = G_{ts}M_{ts}$` with `$G = C\bar B^\top$` ([`gram()`]) and `$M$`
/// ([`decay_mask()`]), `$\tilde\alpha$` is 0 above it; `$M$` has exact semiseparable rank
/// `$\le 1$` with a re-verified witness; and the rank bound `$N$` is certified both ways as in
/// T4 ([`t4::check_exact`] on the channel of T12: an explicit rank-`$N$` factorisation of
/// every block, and a nonsingular witness of the exact rank).
pub fn check_exact(case: &(SsdHead<Exact>, Vec<Exact>)) -> CaseResult {
    let (head, x) = case;
    let fail = |what: String| head_fail(THEOREM.id, "exact", what, head, x);
    let a = attention_matrix(head).map_err(|e| fail(e.to_string()))?;
    let m = decay_mask(head).map_err(|e| fail(e.to_string()))?;
    let g = gram(head);
    let l = head.len();
    for t in 0..l {
        for s in 0..l {
            let want = if s <= t {
                g.get(t, s).clone() * m.get(t, s)
            } else {
                Exact::from_integer(0.into())
            };
            if *a.get(t, s) != want {
                return Err(fail(format!(
                    "α̃[{t}][{s}] = {} but (C B̄ᵀ ∘ M)[{t}][{s}] = {want}",
                    a.get(t, s)
                )));
            }
        }
    }
    let ms = semiseparable_rank_exact(&m);
    if ms.rank > 1 || (ms.rank == 1 && !ms.witness.verify(&m)) {
        return Err(fail(format!(
            "decay mask has semiseparable rank {} (witness {:?})",
            ms.rank, ms.witness
        )));
    }
    if l > 0 && m.get(0, 0).class() == Class::Zero {
        return Err(fail("decay mask M_00 != 1".into()));
    }
    t4::check_exact(&(head.to_channel(), x.clone())).map_err(as_t9)
}

/// Float check of T9: the float semiseparable rank (faer SVD) of the float
/// `$\tilde\alpha$` is `$\le N$` with the threshold of [`t4::check_float`] (on the channel of
/// T12, whose `$\tilde\alpha$` is the head's). Returns the largest
/// `$\sigma_{N+1}(H_j)/\sigma_1(H_j)$`.
pub fn check_float<T: Field>(case: &(SsdHead<T>, Vec<T>, usize)) -> CaseResult {
    t4::check_float(&(case.0.to_channel(), case.1.clone())).map_err(as_t9)
}

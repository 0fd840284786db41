//! T17 — HGRN and RG-LRU are never causal softmax heads: with positive gates `$a_t > 0$`
//! their implicit attention is `$A_{ts} = (\prod_{r=s+1}^{t} a_r)\,b_s$` per channel, with
//! `$b \equiv 1$` (HGRN: row 1 sums to `$1 + a_1 > 1$`) or `$b_0 = i_0 \in (0, 1)$` (RG-LRU:
//! row 0 is `$i_0 < 1$`); a softmax row sums to 1, so the row-sum obstruction of T6a
//! ([`crate::construct::separation::SoftmaxObstruction::RowSum`]) certifies it, exactly.
//! (The members with free queries and keys can equal a given softmax matrix on one input
//! once `$d_k \ge$` its semiseparable rank — T15 with T6b bounds this from below.)
//!
//! Proven in Coq (`proofs/T17_RowSum.v`, over an ordered field, via T6a), Coq:
//! `t17_hgrn_row_sum`, `t17_hgrn_row_sum_gt1`, `t17_hgrn_not_softmax`,
//! `t17_hgrn_not_softmax_head`, `t17_rglru_row0_sum`, `t17_rglru_not_softmax`,
//! `t17_rglru_not_softmax_head`.
// A failing case returns the whole counterexample by value (as t1 and t2 do).
#![allow(clippy::result_large_err)]

use super::t14::diagonal_channel;
use super::t3::fail;
use super::{CaseResult, Theorem};
use crate::construct::separation::{softmax_obstruction, SoftmaxObstruction};
use crate::family::linear::FamilyHead;
use crate::scalar::Exact;
use num_traits::One;

/// Statement of T17.
pub const THEOREM: Theorem = Theorem {
    id: "T17",
    statement: "HGRN (row 1 sums to 1 + a_1) and RG-LRU (row 0 is i_0 < 1) with positive gates are never causal softmax heads: exact row-sum certificate",
};

/// Exact check of T17 on an HGRN head (`$b \equiv 1$`) or an RG-LRU head (`$b_0 < 1$`), both
/// with `$d_k = 1$`, `$q \equiv 1$` and positive scalar transitions
/// ([`crate::strategies::positive_elementwise_head`]): the obstruction found re-verifies
/// and is the predicted one — row 0 when `$b_0 \ne 1$`, else row 1 (sum `$1 + a_1$`). A
/// one-step HGRN head is the softmax head of length 1 and has no certificate.
pub fn check_exact(head: &FamilyHead<Exact>) -> CaseResult {
    let f = |what: String| fail(THEOREM.id, "exact", what, diagonal_channel(head));
    let a = head.attention_matrix().map_err(|e| f(e.to_string()))?;
    let l = head.len();
    let predicted_row = if !head.b[0].is_one() {
        Some(0)
    } else if l >= 2 {
        Some(1)
    } else {
        None
    };
    match (softmax_obstruction(&a), predicted_row) {
        (None, None) => Ok(None),
        (Some(ob), Some(row)) => match &ob {
            SoftmaxObstruction::RowSum { row: r, .. } if *r == row && ob.verify(&a) => Ok(None),
            other => Err(f(format!(
                "expected a row-sum certificate at row {row}, found {other:?}"
            ))),
        },
        (None, Some(row)) => Err(f(format!("no certificate, but row {row} cannot sum to 1"))),
        (Some(ob), None) => Err(f(format!(
            "a certificate {ob:?} for the one-step head with b_0 = 1"
        ))),
    }
}

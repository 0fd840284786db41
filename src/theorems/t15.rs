//! T15 — semiseparable rank of the family's implicit attention: every block
//! `$A[j.., ..j]$` has rank `$\le d_k$` (readout after the step); with RWKV-6's readout the
//! strictly lower blocks `$A[j+1.., ..j]$` have rank `$\le d_k$` and the blocks through the
//! diagonal `$A[j.., ..j]$` rank `$\le d_k + 1$` (the bonus row is not part of the chain).
//!
//! Certified both ways: the upper bound by an explicit factorisation
//! `$A[j.., ..j] = U V$` with `$U_t = q_t^\top M_t\cdots M_{j+1}$` and
//! `$V_s = M_j\cdots M_{s+1} b_s$` (RWKV-6: `$M_{t-1}\cdots M_{j+1}$` and the row `$j$` kept apart),
//! multiplied out and compared exactly; the rank itself by exact elimination with a
//! nonsingular minor as witness ([`crate::semiseparable::rank_exact`]).
//!
//! Proven in Coq (`proofs/T15_FamilySemiseparable.v`), with the factors of
//! [`block_factors`]: Coq: `t15_factorisation`, `t15_block_factorisation`,
//! `t15_semiseparable_rank`, `t15_ss_rank_le_dk` (rank `$\le d_k$` over a field); RWKV-6:
//! Coq: `t15_rwkv6_factorisation`, `t15_rwkv6_rank_below`, `t15_rwkv6_rank_diag`,
//! `t15_rwkv6_ss_rank_le` (rank `$\le d_k$` strictly below, `$\le d_k + 1$` through the
//! diagonal).
// A failing case returns the whole counterexample by value (as t1 and t2 do).
#![allow(clippy::result_large_err)]

use super::t14::{dense, diagonal_channel};
use super::t3::fail;
use super::{CaseResult, Theorem};
use crate::family::linear::{FamilyHead, Readout};
use crate::scalar::Exact;
use crate::semiseparable::{rank_exact, submatrix};
use crate::tensor::{dot, Matrix};
use num_traits::Zero;

/// Statement of T15.
pub const THEOREM: Theorem = Theorem {
    id: "T15",
    statement: "family attention is d_k-semiseparable: rank A[j.., ..j] ≤ d_k (RWKV-6: rank A[j+1.., ..j] ≤ d_k, rank A[j.., ..j] ≤ d_k + 1), by an exact factorisation",
};

/// The factorisation of the block of rows `first..L` and columns `0..=j`:
/// `(U (rows × d_k), V (d_k × (j+1)))` with `$U V$` equal to the block.
pub fn block_factors(
    head: &FamilyHead<Exact>,
    j: usize,
    first: usize,
) -> (Matrix<Exact>, Matrix<Exact>) {
    let (l, dk) = (head.len(), head.dk);
    let ms: Vec<Matrix<Exact>> = head.m.iter().map(|m| dense(m, dk)).collect();
    let before = matches!(head.readout, Readout::BeforeWithBonus(_));
    // U_t = q_tᵀ M_top ⋯ M_{j+1}, top = t (after) or t − 1 (before)
    let mut u = Matrix::zeros(l - first, dk);
    for t in first..l {
        let top = if before { t - 1 } else { t };
        let mut r = head.q[t * dk..(t + 1) * dk].to_vec();
        for m in ms[j + 1..=top].iter().rev() {
            // r ← rᵀ M
            r = (0..dk)
                .map(|c| (0..dk).fold(Exact::zero(), |acc, i| acc + r[i].clone() * m.get(i, c)))
                .collect();
        }
        u.row_mut(t - first).clone_from_slice(&r);
    }
    // V_s = M_j ⋯ M_{s+1} b_s
    let mut v = Matrix::zeros(dk, j + 1);
    for s in 0..=j {
        let mut x = head.b[s * dk..(s + 1) * dk].to_vec();
        for m in &ms[s + 1..=j] {
            x = m.mul_vec(&x).expect("square");
        }
        for i in 0..dk {
            *v.get_mut(i, s) = x[i].clone();
        }
    }
    (u, v)
}

/// Exact check of T15 on a rational head: for every split `$j$`, the factorisation
/// [`block_factors`] multiplies out to the block of `$A$` (so its rank is `$\le d_k$`, or
/// `$\le d_k + 1$` through RWKV-6's diagonal row), and the exact rank respects the bound.
pub fn check_exact(case: &(FamilyHead<Exact>, Vec<Exact>, usize)) -> CaseResult {
    let head = &case.0;
    let f = |what: String| fail(THEOREM.id, "exact", what, diagonal_channel(head));
    let a = head.attention_matrix().map_err(|e| f(e.to_string()))?;
    let (l, dk) = (head.len(), head.dk);
    let before = matches!(head.readout, Readout::BeforeWithBonus(_));
    for j in 0..l {
        let first = if before { j + 1 } else { j };
        if first >= l {
            continue;
        }
        let (u, v) = block_factors(head, j, first);
        for t in first..l {
            for s in 0..=j {
                let uv = dot(
                    u.row(t - first),
                    &(0..dk).map(|i| v.get(i, s).clone()).collect::<Vec<_>>(),
                );
                if &uv != a.get(t, s) {
                    return Err(f(format!(
                        "split {j}: (U V)[{t}][{s}] = {uv} but A[{t}][{s}] = {}",
                        a.get(t, s)
                    )));
                }
            }
        }
        let rows: Vec<usize> = (first..l).collect();
        let cols: Vec<usize> = (0..=j).collect();
        let (r, w) = rank_exact(&submatrix(&a, &rows, &cols));
        if r > dk || !w.verify(&submatrix(&a, &rows, &cols)) {
            return Err(f(format!("split {j}: rank {r} > d_k = {dk}")));
        }
        if before {
            let rows: Vec<usize> = (j..l).collect();
            let (r, _) = rank_exact(&submatrix(&a, &rows, &cols));
            if r > dk + 1 {
                return Err(f(format!(
                    "split {j}: rank through the diagonal {r} > d_k + 1"
                )));
            }
        }
    }
    Ok(None)
}

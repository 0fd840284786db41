//! T4 — the hidden attention of a state-`$N$` channel is `$N$`-semiseparable.
// A failing case returns the whole counterexample by value (as t1 and t2 do).
#![allow(clippy::result_large_err)]

use super::t3::fail;
use super::{CaseResult, Theorem};
use crate::scalar::{Exact, Field};
use crate::semiseparable::{
    channel_block_factorisation, semiseparable_rank_exact, semiseparable_rank_f64,
};
use crate::ssm::{attention_matrix, Channel};
use crate::theorems::bound::gamma;

/// Statement of T4.
pub const THEOREM: Theorem = Theorem {
    id: "T4",
    statement: "α̃ of a state-N channel is N-semiseparable: rank α̃[j..L, 0..=j] ≤ N for every j",
};

/// Exact check of both sides of the bound. Upper bound: for every split `$j$` the exact
/// factorisation `$H_j = UV^\top$` with `$N$` columns ([`channel_block_factorisation`], built
/// from `$\bar A, \bar B, C$`) multiplies out to the block of `$\tilde\alpha$` computed
/// independently ([`attention_matrix()`]), so `$\operatorname{rank} H_j \le N$`. Lower side:
/// the exact semiseparable rank is `$\le N$`, every block rank is `$\le \min(N, L-j, j+1)$`,
/// and its witness (a nonsingular submatrix, `$\operatorname{rank} \ge$` its size)
/// re-verifies.
pub fn check_exact(case: &(Channel<Exact>, Vec<Exact>)) -> CaseResult {
    let ch = &case.0;
    let a = attention_matrix(ch)
        .map_err(|e| fail(THEOREM.id, "exact", e.to_string(), Some(ch.clone())))?;
    check_exact_against(ch, &a)
}

/// The exact T4 check of `a`, claimed to be the `$\tilde\alpha$` of `ch`.
fn check_exact_against(ch: &Channel<Exact>, a: &crate::tensor::Matrix<Exact>) -> CaseResult {
    let f = |what: String| fail(THEOREM.id, "exact", what, Some(ch.clone()));
    let l = ch.len();
    for j in 0..l {
        let fac = channel_block_factorisation(ch, j).map_err(|e| f(e.to_string()))?;
        if fac.rank_bound() != ch.state() {
            return Err(f(format!(
                "factorisation of H_{j} has {} columns, not N = {}",
                fac.rank_bound(),
                ch.state()
            )));
        }
        if !fac.verify(a) {
            return Err(f(format!(
                "H_{j} != U Vᵀ: the rank-N factorisation does not reproduce the block"
            )));
        }
    }
    let s = semiseparable_rank_exact(a);
    if s.rank > ch.state() {
        return Err(f(format!(
            "semiseparable rank {} > N = {} (split {})",
            s.rank,
            ch.state(),
            s.split
        )));
    }
    if s.rank > 0 && (s.witness.size() != s.rank || !s.witness.verify(a)) {
        return Err(f(format!("witness {:?} does not re-verify", s.witness)));
    }
    if let Some(j) = (0..l).find(|&j| s.ranks[j] > ch.state().min(l - j).min(j + 1)) {
        return Err(f(format!(
            "rank H_{j} = {} exceeds min(N, L−j, j+1)",
            s.ranks[j]
        )));
    }
    Ok(None)
}

/// Float check: the float semiseparable rank (faer SVD) of the float `$\tilde\alpha$` is
/// `$\le N$` when the threshold includes the entry-error bound `$\lVert E\rVert_F \le
/// \gamma_{L+N+2}\lVert\,|C|\prod|\bar A|\,|\bar B|\,\rVert_F$`. Returns the largest
/// `$\sigma_{N+1}(H_j)/\sigma_1(H_j)$` seen (how far from rank `$N$` the float blocks are).
pub fn check_float<T: Field>(case: &(Channel<T>, Vec<T>)) -> CaseResult {
    let ch = &case.0;
    let f = |what: String| fail(THEOREM.id, T::NAME, what, Some(ch.to_exact()));
    let a = attention_matrix(ch)
        .map_err(|e| f(e.to_string()))?
        .map(|v| v.to_f64());
    let mag = attention_matrix(&ch.map(|v| v.abs_val())).map_err(|e| f(e.to_string()))?;
    let fro = mag
        .data()
        .iter()
        .map(|v| v.to_f64() * v.to_f64())
        .sum::<f64>()
        .sqrt();
    let extra = gamma(ch.len() + ch.state() + 2, T::unit_roundoff()) * fro * 1.01;
    let s = semiseparable_rank_f64(&a, extra);
    if s.rank > ch.state() {
        return Err(f(format!(
            "float semiseparable rank {} > N = {} at split {} (σ = {:?}, threshold {:e})",
            s.rank,
            ch.state(),
            s.split,
            s.singular_values,
            s.threshold
        )));
    }
    let mut worst: f64 = 0.0;
    for j in 0..ch.len() {
        let (h, _, _) = crate::semiseparable::block(&a, j);
        let sv = crate::semiseparable::singular_values(&h);
        if let (Some(&s1), Some(&sn)) = (sv.first(), sv.get(ch.state())) {
            if s1 > 0.0 {
                worst = worst.max(sn / s1);
            }
        }
    }
    Ok(Some(worst))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scalar::ratio;

    /// With L = 4 and N = 2 every block has rank ≤ 2 whatever its entries, so the rank
    /// test alone accepts any lower-triangular matrix; the factorisation rejects a matrix
    /// that is not the channel's α̃.
    #[test]
    fn exact_check_certifies_the_upper_bound() {
        let r = |p: i64| ratio(p, 3);
        let ch = Channel::new(
            4,
            2,
            (0..8).map(|i| r(i % 4 - 1)).collect(),
            (0..8).map(|i| r(i + 1)).collect(),
            (0..8).map(|i| r(2 - i)).collect(),
        )
        .unwrap();
        assert_eq!(check_exact(&(ch.clone(), vec![])), Ok(None));
        let mut bad = attention_matrix(&ch).unwrap();
        *bad.get_mut(3, 0) += ratio(1, 1);
        assert!(
            semiseparable_rank_exact(&bad).rank <= 2,
            "the rank test cannot tell"
        );
        let e = check_exact_against(&ch, &bad).unwrap_err();
        assert!(e.what.contains("U Vᵀ"), "{}", e.what);
    }
}

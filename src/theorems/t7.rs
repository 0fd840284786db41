//! T7 — the paper's softplus → ReLU approximation $\tilde Q\tilde H\tilde K$: not exact,
//! with a proven error bound.
// A failing case returns the whole counterexample by value (as t1 and t2 do).
#![allow(clippy::result_large_err)]

use super::t3::fail;
use super::{CaseResult, Theorem};
use crate::construct::approximation::{
    exact_attention, magnitude, relu_approximation, relu_bound, relu_bound_closed, Preactivated,
};
use crate::scalar::Real;

/// Statement of T7.
pub const THEOREM: Theorem = Theorem {
    id: "T7",
    statement: "ReLU approx. Q̃H̃K̃: |α̃ − α̂|_ij ≤ Σ_n|C B|(ε_j e^{AS} + ReLU(z_j)e^{AŜ}(1−e^{AΣε})) ≤ Σ_n|C B|(ln2 + ReLU(z_j)min(1,|A|(i−j)ln2))",
};

/// Float check: every entry of $|\tilde\alpha - \hat\alpha|$ is within the sharp bound of
/// [`relu_bound`] plus a rounding allowance $8(L+N+8)\varepsilon\cdot$[`magnitude`], the
/// sharp bound within the closed form, and the approximation is not exact: on the
/// diagonal the error equals $\sum_n C_{i,n}B_{i,n}\,\varepsilon_i$, $\varepsilon_i =
/// \ln(1+e^{-|z_i|}) > 0$, within the same allowance, and is nonzero where that sum is.
/// Returns the largest error / bound ratio.
pub fn check_float<T: Real>(p: &Preactivated<T>) -> CaseResult {
    let f = |what: String| {
        let ch = p
            .mamba()
            .discretize(crate::ssm::BRule::Euler)
            .ok()
            .map(|c| c.to_exact());
        fail(THEOREM.id, T::NAME, what, ch)
    };
    let exact = exact_attention(p).map_err(|e| f(e.to_string()))?;
    let approx = relu_approximation(p).map_err(|e| f(e.to_string()))?;
    let bound = relu_bound(p).map_err(|e| f(e.to_string()))?;
    let closed = relu_bound_closed(p).map_err(|e| f(e.to_string()))?;
    let mag = magnitude(p);
    let l = p.len();
    let u = T::from_f64(8.0 * (l + p.state() + 8) as f64 * T::unit_roundoff() * 2.0);
    // values below the normal range: absolute allowance (L N + 1)·λ·(1 + max|C B|)(L + 1)
    let max_cb =
        p.c.iter()
            .chain(&p.b)
            .fold(T::zero(), |m, v| m.max(v.abs()));
    let eta = T::from_f64(((l * p.state() + 1) * (l + 1)) as f64 * T::min_normal())
        * (T::one() + max_cb * max_cb);
    let mut ratio: f64 = 0.0;
    for i in 0..l {
        for j in 0..=i {
            let err = (*exact.get(i, j) - *approx.get(i, j)).abs();
            let b = *bound.get(i, j) + u * *mag.get(i, j) + eta;
            if err.is_nan() || err > b {
                return Err(f(format!("|α̃ − α̂|[{i}][{j}] = {err} > bound {b}")));
            }
            let closed_ij = *closed.get(i, j) * T::from_f64(1.0 + 1e-6) + u * *mag.get(i, j);
            if bound.get(i, j).is_nan() || *bound.get(i, j) > closed_ij {
                return Err(f(format!(
                    "sharp bound {} above closed form {} at [{i}][{j}]",
                    bound.get(i, j),
                    closed.get(i, j)
                )));
            }
            if b > T::zero() {
                ratio = ratio.max(crate::scalar::Field::to_f64(&(err / b)));
            }
        }
        // not exact: on the diagonal (S = Ŝ = 0) the error is Σ_n C_{i,n}B_{i,n} ε_i with
        // ε_i = ln(1 + e^{−|z_i|}) > 0, so it is nonzero wherever that sum is
        let n = p.state();
        let (mut cb, mut cb_abs) = (T::zero(), T::zero());
        for k in 0..n {
            let t = p.c[i * n + k] * p.b[i * n + k];
            cb = cb + t;
            cb_abs = cb_abs + t.abs();
        }
        let eps = (-p.z[i].abs()).exp().ln_1p();
        let predicted = cb * eps;
        let diff = *exact.get(i, i) - *approx.get(i, i);
        let allowance = u * *mag.get(i, i) + u * cb_abs * eps + eta;
        if diff.is_nan() || (diff - predicted).abs() > allowance {
            return Err(f(format!(
                "diagonal error α̃ − α̂ at [{i}][{i}] = {diff}, predicted Σ C B ε = {predicted}"
            )));
        }
        if predicted.abs() > allowance + allowance && diff == T::zero() {
            return Err(f(format!(
                "the approximation is exact at [{i}][{i}] although Σ C B ε = {predicted}"
            )));
        }
    }
    Ok(Some(ratio))
}

//! T7 — the paper's softplus → ReLU approximation `$\tilde Q\tilde H\tilde K$`, with a proven
//! error bound; exact where Mamba's softplus is the identity (`$z > 20$`), not exact below.
//! The statement is machine-checked over the reals (Coq: `relu_gap_spec`, `relu_gap_zero`,
//! `relu_gap_pos`, `relu_gap_le_ln2`, `relu_bound_sound`, `relu_bound_exact_entry`,
//! `relu_bound_le_closed`, in `proofs/T7_Softplus.v`); the float allowances [`check_float`]
//! adds for rounding are not.
// A failing case returns the whole counterexample by value (as t1 and t2 do).
#![allow(clippy::result_large_err)]

use super::t3::fail;
use super::{CaseResult, Counterexample, Theorem};
use crate::construct::approximation::{
    exact_attention, exact_entry, magnitude, relu_approximation, relu_bound, relu_bound_closed,
    relu_gap, Preactivated, SOFTPLUS_THRESHOLD,
};
use crate::scalar::{Field, Real};

/// Statement of T7.
pub const THEOREM: Theorem = Theorem {
    id: "T7",
    statement: "ReLU approx. Q̃H̃K̃, PyTorch softplus: ε(z) = 0 for z > 20, ln(1+e^{−|z|}) > 0 for z ≤ 20; α̃_ii − α̂_ii = Σ_n C B ε(z_i); |α̃ − α̂|_ij ≤ Σ_n|C B|(ε_j e^{AS} + ReLU(z_j)e^{AŜ}(1−e^{AΣε})), = 0 when all z_k > 20",
};

/// Float check of T7 as stated for Mamba's (PyTorch's) softplus, which is the identity
/// above `$z = 20$`. With `$u = 16(L+N+8)$` unit roundoffs, `$m$` = [`magnitude`] and an
/// absolute underflow allowance `$\eta = (LN+1)(L+1)\lambda(1 + \max|C,B|^2)$` (`$\lambda$` the
/// smallest normal number — it covers exponentials and products that underflow, e.g.
/// `$\bar A = e^{\Delta A} = 0$` in f32 for `$\Delta A < -104$`):
///
/// - **bound**: every `$|\tilde\alpha_{ij} - \hat\alpha_{ij}| \le$`
///   [`relu_bound`]`$_{ij} + u\,m_{ij} + \eta$`, and the sharp bound is within [`relu_bound_closed`];
/// - **exact where it says exact**: where every `$z_k$`, `$j \le k \le i$`, is above 20
///   ([`exact_entry`]) both bounds are exactly 0, so the error must be rounding only; on
///   the diagonal with `$z_i > 20$` additionally `$\varepsilon(z_i) = 0$` and the computed
///   `$\Delta_i = \mathrm{softplus}(z_i)$` is `$z_i = \mathrm{ReLU}(z_i)$` bit for bit;
/// - **not exact where it says not exact**: for `$z_i \le 20$`, `$\varepsilon(z_i) > 0$`, the
///   diagonal error equals `$\sum_n C_{i,n}B_{i,n}\,\varepsilon(z_i)$` within the allowance, and
///   it is nonzero wherever that prediction exceeds twice the allowance. Below that (f32
///   for `$z_i \gtrsim 8$`: `$\varepsilon(20) \approx 2\cdot10^{-9}$` is under f32's resolution,
///   and `$\mathrm{softplus}(20) = 20$` in f32) only the equality within the allowance is
///   tested: the float result cannot show a difference the rounding hides.
///
/// A failure names the entry and carries the pre-activations `$z$` and `$A$` in `what` (the
/// channel slot holds the discretised channel, where an underflowed `$\bar A$` reads 0).
/// Returns the largest error / (bound + allowance) ratio.
pub fn check_float<T: Real>(p: &Preactivated<T>) -> CaseResult {
    let f = |what: String| -> Counterexample {
        let ch = p
            .mamba()
            .discretize(crate::ssm::BRule::Euler)
            .ok()
            .map(|c| c.to_exact());
        let show = |v: &[T]| v.iter().map(Field::to_f64).collect::<Vec<_>>();
        let case = format!("z = {:?}, A = {:?}", show(&p.z), show(&p.a));
        fail(THEOREM.id, T::NAME, format!("{what} [{case}]"), ch)
    };
    let exact = exact_attention(p).map_err(|e| f(e.to_string()))?;
    let approx = relu_approximation(p).map_err(|e| f(e.to_string()))?;
    let bound = relu_bound(p).map_err(|e| f(e.to_string()))?;
    let closed = relu_bound_closed(p).map_err(|e| f(e.to_string()))?;
    let mag = magnitude(p);
    let (l, n) = (p.len(), p.state());
    let u = T::from_f64(8.0 * (l + n + 8) as f64 * T::unit_roundoff() * 2.0);
    // values below the normal range: absolute allowance (L N + 1)·λ·(1 + max|C B|)(L + 1)
    let max_cb =
        p.c.iter()
            .chain(&p.b)
            .fold(T::zero(), |m, v| m.max(v.abs()));
    let eta = T::from_f64(((l * n + 1) * (l + 1)) as f64 * T::min_normal())
        * (T::one() + max_cb * max_cb);
    let threshold = T::from_f64(SOFTPLUS_THRESHOLD);
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
            if exact_entry(&p.z, i, j)
                && (*bound.get(i, j) != T::zero() || *closed.get(i, j) != T::zero())
            {
                return Err(f(format!(
                    "every z_k, {j} ≤ k ≤ {i}, is above 20, so [{i}][{j}] is exact, but the bounds are {} and {}",
                    bound.get(i, j),
                    closed.get(i, j)
                )));
            }
            ratio = ratio.max(Field::to_f64(&(err / b)));
        }
        let zi = p.z[i];
        let eps = relu_gap(zi);
        let (delta, relu) = (zi.softplus(), zi.max(T::zero()));
        if zi > threshold {
            // exact: softplus(z) = z = ReLU(z), ε = 0
            if eps != T::zero() || delta != relu {
                return Err(f(format!(
                    "z_{i} = {zi} > 20: softplus is the identity, but ε = {eps} and Δ − ReLU = {}",
                    delta - relu
                )));
            }
        } else if eps.is_nan() || eps <= T::zero() {
            return Err(f(format!(
                "z_{i} = {zi} ≤ 20: softplus and ReLU differ by ln(1 + e^{{−|z|}}) > 0, but ε = {eps}"
            )));
        }
        // on the diagonal (S = Ŝ = 0) the error is Σ_n C_{i,n}B_{i,n} ε(z_i)
        let (mut cb, mut cb_abs) = (T::zero(), T::zero());
        for k in 0..n {
            let t = p.c[i * n + k] * p.b[i * n + k];
            cb = cb + t;
            cb_abs = cb_abs + t.abs();
        }
        let predicted = cb * eps;
        let diff = *exact.get(i, i) - *approx.get(i, i);
        let allowance = u * *mag.get(i, i) + u * cb_abs * eps + eta;
        if diff.is_nan() || (diff - predicted).abs() > allowance {
            return Err(f(format!(
                "diagonal error α̃ − α̂ at [{i}][{i}] = {diff}, predicted Σ C B ε(z_{i}) = {predicted} (z_{i} = {zi})"
            )));
        }
        if predicted.abs() > allowance + allowance && diff == T::zero() {
            return Err(f(format!(
                "the approximation is exact at [{i}][{i}] although z_{i} = {zi} ≤ 20 and Σ C B ε = {predicted}"
            )));
        }
    }
    Ok(Some(ratio))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::construct::approximation::exact_attention;

    /// Cases around PyTorch's softplus threshold: one step at `z0`, and a longer channel
    /// mixing `z0` with steps below and above the threshold, Δ up to 26 and |A| up to 12.18
    /// (Ā = e^{ΔA} underflows to 0 in f32 there).
    fn cases<T: Real>(z0: T) -> Vec<Preactivated<T>> {
        let v = |x: &[f64]| x.iter().map(|&x| T::from_f64(x)).collect::<Vec<T>>();
        vec![
            Preactivated {
                z: vec![z0],
                a: v(&[-1.0, -0.5]),
                b: v(&[1.5, -0.5]),
                c: v(&[2.0, 1.0]),
            },
            Preactivated {
                z: vec![z0, T::from_f64(0.0), z0, T::from_f64(-3.0)],
                a: v(&[-1.0, -0.25]),
                b: v(&[1.0, 2.0, -1.5, 0.5, 0.75, -2.0, 1.25, 1.0]),
                c: v(&[0.5, 1.0, 2.0, -1.0, -0.5, 1.5, 1.0, 1.0]),
            },
            Preactivated {
                z: vec![
                    T::from_f64(26.0),
                    z0,
                    T::from_f64(25.0),
                    z0,
                    T::from_f64(21.0),
                ],
                a: v(&[-12.18, -0.2]),
                b: v(&[1.0, -2.0, 0.5, 1.5, -1.0, 2.0, 1.0, 1.0, -0.5, 0.25]),
                c: v(&[1.5, 1.0, -1.0, 2.0, 0.5, -0.5, 1.0, 1.5, 2.0, -2.0]),
            },
        ]
    }

    /// The largest f32 / f64 value below 20.
    fn below_20<T: Real>() -> T {
        let t = T::from_f64(20.0);
        t - t * T::from_f64(T::unit_roundoff())
    }

    fn check_all<T: Real>() {
        assert!(below_20::<T>() < T::from_f64(20.0));
        for z0 in [21.0, 25.0, 20.0] {
            for p in cases(T::from_f64(z0)) {
                if let Err(c) = check_float(&p) {
                    panic!("z0 = {z0}: {c}");
                }
            }
        }
        for p in cases(below_20::<T>()) {
            if let Err(c) = check_float(&p) {
                panic!("z0 = 20⁻: {c}");
            }
        }
    }

    /// Regression: the check used to predict ε = ln(1 + e^{−|z|}) > 0 at z = 21 and 25,
    /// where Mamba's softplus is the identity and the diagonal is exact.
    #[test]
    fn check_passes_at_the_softplus_threshold_f64() {
        check_all::<f64>();
    }

    /// The same in f32: z = 20 is representable (softplus(20) rounds to 20 in f32), and
    /// Ā = e^{26·(−12.18)} underflows to 0.
    #[test]
    fn check_passes_at_the_softplus_threshold_f32() {
        check_all::<f32>();
        assert_eq!(20.0f32.softplus(), 20.0);
        assert!(relu_gap(20.0f32) > 0.0);
        let p = &cases(20.0f32)[2];
        let ch = p.mamba().discretize(crate::ssm::BRule::Euler).unwrap();
        assert_eq!(ch.abar(0)[0], 0.0);
    }

    /// The statement itself, in f64 where the gap ε(20) ≈ 2.06e-9 is resolvable: exact on
    /// the diagonal for z > 20, not exact (by Σ C B ε) for z = 20 and just below.
    #[test]
    fn diagonal_exact_above_threshold_only() {
        let cb: f64 = 2.0 * 1.5 + 1.0 * (-0.5);
        for (z0, exact) in [
            (21.0f64, true),
            (25.0, true),
            (20.0, false),
            (below_20(), false),
        ] {
            let p = &cases(z0)[0];
            let diff =
                exact_attention(p).unwrap().get(0, 0) - relu_approximation(p).unwrap().get(0, 0);
            let bound = *relu_bound(p).unwrap().get(0, 0);
            assert_eq!(exact_entry(&p.z, 0, 0), exact, "z = {z0}");
            if exact {
                assert_eq!(relu_gap(z0), 0.0);
                assert_eq!(bound, 0.0);
                assert!(diff.abs() <= 1e-13, "z = {z0}: {diff}");
            } else {
                let eps = (-z0).exp().ln_1p();
                assert_eq!(relu_gap(z0), eps);
                assert!(eps > 2.0e-9);
                assert!(
                    diff != 0.0 && (diff - cb * eps).abs() <= 1e-13,
                    "z = {z0}: {diff}"
                );
                // Σ_n |C B| ε = 3.5 ε; not attained, as C B changes sign (|Σ C B| = 2.5)
                assert!((bound - 3.5 * eps).abs() <= 4.0 * f64::EPSILON * bound);
            }
        }
    }

    /// Off the diagonal the bound composes: 0 exactly where every step is above 20, and
    /// positive once one step in j..=i is at or below it.
    #[test]
    fn bound_zero_exactly_on_exact_entries() {
        let p = &cases(21.0f64)[2]; // z = (26, 21, 25, 21, 21)
        let (bound, closed) = (relu_bound(p).unwrap(), relu_bound_closed(p).unwrap());
        let err = |i: usize, j: usize| {
            (exact_attention(p).unwrap().get(i, j) - relu_approximation(p).unwrap().get(i, j)).abs()
        };
        for i in 0..5 {
            for j in 0..=i {
                assert!(exact_entry(&p.z, i, j));
                assert_eq!((*bound.get(i, j), *closed.get(i, j)), (0.0, 0.0));
                assert!(err(i, j) <= 1e-12);
            }
        }
        let p = &cases(20.0f64)[2]; // z = (26, 20, 25, 20, 21)
        let bound = relu_bound(p).unwrap();
        assert!(exact_entry(&p.z, 0, 0) && !exact_entry(&p.z, 2, 0) && exact_entry(&p.z, 2, 2));
        assert!(*bound.get(2, 0) > 0.0 && *bound.get(1, 1) > 0.0);
        assert_eq!(*bound.get(4, 4), 0.0);
    }

    /// Outside the domain: a softplus that underflows to Δ = 0 is a typed error naming the
    /// step, not a counterexample of the bound with a zero step size.
    #[test]
    fn zero_step_is_refused() {
        let p = Preactivated {
            z: vec![0.0f32, -120.0],
            a: vec![-1.0],
            b: vec![1.0; 2],
            c: vec![1.0; 2],
        };
        for r in [exact_attention(&p), relu_approximation(&p), relu_bound(&p)] {
            assert!(matches!(
                r,
                Err(crate::Error::NonPositiveDelta { step: 1, .. })
            ));
        }
        let short = Preactivated {
            z: vec![0.0f64; 2],
            a: vec![-1.0],
            b: vec![1.0],
            c: vec![1.0; 2],
        };
        assert!(matches!(
            relu_bound_closed(&short),
            Err(crate::Error::DataLength { .. })
        ));
    }
}

//! Forward error bounds for the float views, derived in the standard model **with
//! underflow** and checked against the exact path in exact arithmetic.
//!
//! # The model
//! Every rounded product, quotient or fused multiply-add of the float type satisfies
//! `$\mathrm{fl}(a \circ b) = (a \circ b)(1+\delta) + \eta$` with `$|\delta| \le u$` (unit roundoff)
//! and `$|\eta| \le \eta_0$`, the smallest positive subnormal number (`$2^{-1074}$` in `f64`,
//! `$2^{-149}$` in `f32`); a sum or difference has `$\eta = 0$` (gradual underflow makes it exact
//! when its result is subnormal).
//!
//! # The bound (all four views: scan, `$\tilde\alpha x$`, gated head, factored head)
//! Each view computes output `$y_t$` (`$t = 1..L$`) as a sum over `$j \le t$` and `$n$` of the terms
//! `$C_{t,n}\,\big(\prod_{k=j+1}^{t} \bar A_{k,n}\big)\,\bar B_{j,n}\,x_j$`, each formed by at most
//! `$3L + 2$` rounded operations along its path and summed with at most `$L + N$` rounded
//! additions, without cancellation inside a term. The `$\delta$`'s give the relative part
//! `$\gamma_m\,\mathrm{mag}_t$`, `$\gamma_m = m u/(1-mu)$`, `$m = 3L + N + 4$`, with
//! `$\mathrm{mag}_t = \sum_{j \le t}\sum_n |C_{t,n}|\prod_k|\bar A_{k,n}|\,|\bar B_{j,n}|\,|x_j|$`
//! the output of the entrywise-absolute channel on `$|x|$` ([`magnitude`]).
//!
//! An `$\eta$` injected at one operation is carried to the output multiplied by the factors
//! the path multiplies in *afterwards* (and by at most `$1+\gamma_m$` of later roundings). In
//! the scan (products formed from the right: `$\bar B_j x_j$`, then `$\bar A_{j+1}, \dots$`, then
//! `$C_t$`) those factors are a prefix `$C_{t,n}\prod_{k>r}\bar A_{k,n}$`; in `$\tilde\alpha$` and the
//! gated head (formed from the left) a suffix `$\prod_{k<r}\bar A_{k,n}\bar B_{j,n}x_j$`; in the
//! factored head the query `$Q_{t,n} = C_{t,n}P_{t,n}$` (its `$P$`, `$Q$`, `$K$` are normal, so
//! rounding them injects no `$\eta$`). Writing `$\hat v = \max(1, |v|)$`, every such multiplier is at
//! most `$\hat C_{t,n}\,\hat P_{t,n}\,\hat B_{j,n}\,\hat x_j$` with `$\hat P_{t,n} =
//! \prod_{k \le t} \max(1, |\bar A_{k,n}|)$` (`$=1$` when `$|\bar A| \le 1$`, as for every Mamba
//! channel), and a term collects at most `$t - j + 3 \le t + 2$` injections (scan: `$\bar B_j x_j$`,
//! the step product that brings it forward, `$C_t h_t$`; `$\tilde\alpha$`: `$t-j$` running
//! products, one with `$\bar B_j$`, one with `$x_j$`). Hence
//!
//! ```math
//! |\mathrm{fl}(y_t) - y_t| \le \gamma_m\,\mathrm{mag}_t + (1+\gamma_m)\,\eta_0\,W_t,
//! \qquad W_t = (t+2)\sum_n \hat C_{t,n}\,\hat P_{t,n}\sum_{j\le t}\hat B_{j,n}\,\hat x_j
//! ```
//!
//! ([`underflow_weight`] computes `$W$`). Unlike a term proportional to the data, `$\eta_0 W_t
//! \ge 3\eta_0$` is never smaller than the rounding of one subnormal result, which may be all
//! the error there is (a case with `$\bar B x$` in the subnormal range). The bound is evaluated
//! **exactly** ([`output_bound_exact`]) and compared with the exact error, so no rounding of
//! the bound itself can turn a pass into a fail or back.
//!
//! # Machine-checked (`proofs/`, Coq + Flocq)
//! The model is Flocq's FLT format, generic over `$(e_{\min}, p)$` and instantiated at
//! binary64 `$(-1074, 53)$` and binary32 `$(-149, 24)$`: round to nearest (any tie rule), gradual
//! underflow, unbounded exponents above (a run that overflows yields ∞ or NaN, which these
//! loops carry to the output and the checks reject). The two model equations are theorems
//! of Flocq's rounding (Coq: `fmul_model`, `fadd_model`; `$|\eta| \le \eta_0$`, and a sum of
//! floats has `$\eta = 0$`). For each view, in the Rust evaluation order, with the same
//! [`gamma_exact`], [`magnitude`], [`underflow_weight`] and [`output_bound_exact`] as Coq
//! definitions of the same names, and `$m u < 1$`:
//!
//! - scan ([`crate::ssm::scan()`]): Coq: `scan_within_output_bound`,
//!   `scan_within_output_bound_binary64`, `scan_within_output_bound_binary32`
//!   (`proofs/ScanBound.v`), no hypothesis on the data;
//! - `$\tilde\alpha x$` ([`crate::ssm::attention_matrix()`] row by row, then
//!   [`crate::tensor::Matrix::mul_vec`]): Coq: `alpha_x_within_output_bound`,
//!   `alpha_x_within_output_bound_binary64`, `alpha_x_within_output_bound_binary32`
//!   (`proofs/AlphaBound.v`; `$C$` floats, `$N \ge 1$`), with T1 over the reals (Coq:
//!   `output_alpha`) and the entry bound (Coq: `hidden_attention_entry_error`);
//! - gated head ([`crate::attention::GatedLinearHead::output`] of
//!   [`crate::ssm::gated_head`]): Coq: `gated_output_within_output_bound`,
//!   `gated_output_within_output_bound_binary64`, `gated_output_within_output_bound_binary32`
//!   (`proofs/GatedBound.v`; `$\bar B$` floats, `$N \ge 1$`);
//! - factored head ([`crate::ssm::factored()`] and [`crate::ssm::Factored::output`]): Coq:
//!   `factored_output_within_output_bound`, `factored_output_within_output_bound_binary64`,
//!   `factored_output_within_output_bound_binary32` (`proofs/FactoredBound.v`), when the
//!   exact value each rounded `$P$`, `$Q$`, `$K$` comes from is normal (or 0 for `$Q$`, `$K$`) —
//!   the range the Rust code requires of the rounded values, up to the one boundary case
//!   where a value just below the smallest normal number `$\lambda$` rounds up to `$\lambda$`.

use num_traits::{One, Zero};

use crate::scalar::{Exact, Field};
use crate::ssm::{scan, Channel};

/// `$\gamma_m = m u / (1 - m u)$` for unit roundoff `$u$` (∞ when `$m u \ge 1$`), in `f64`.
pub fn gamma(m: usize, u: f64) -> f64 {
    let mu = m as f64 * u;
    if mu >= 1.0 {
        f64::INFINITY
    } else {
        mu / (1.0 - mu)
    }
}

/// `$\gamma_m = m u/(1-mu)$` exactly (`u` is a power of two, lifted exactly), or `None` when
/// `$mu \ge 1$` (no bound). `$(1+u)^k \le 1 + \gamma_k$` and `$\gamma$` grows with `$m$` (Coq:
/// `pow_le_gamma`, `gamma_mono`; definition `gamma_exact` in `proofs/Gamma.v`).
pub fn gamma_exact(m: usize, u: f64) -> Option<Exact> {
    let mu = Exact::from_integer(m.into()) * Exact::from_f64(u);
    (mu < Exact::one()).then(|| mu.clone() / (Exact::one() - mu))
}

/// The exact magnitude `$\sum_{j\le i}\sum_n |C_{i,n}| \prod |\bar A_{k,n}| |\bar B_{j,n}| |x_j|$`
/// for every `$i$`: the scan of the entrywise-absolute channel on `$|x|$` (Coq: `magnitude_alpha`
/// unrolls the Coq definition `magnitude` into the double sum, T1 over the reals).
pub fn magnitude(ch: &Channel<Exact>, x: &[Exact]) -> Vec<Exact> {
    let abs = ch.map(|v| v.abs_val());
    let ax: Vec<Exact> = x.iter().map(|v| v.abs_val()).collect();
    scan(&abs, &ax)
        .expect("exact scan of a valid channel cannot fail")
        .y
}

/// `$\hat v = \max(1, |v|)$`.
pub fn hat(v: &Exact) -> Exact {
    let a = v.abs_val();
    if a > Exact::one() {
        a
    } else {
        Exact::one()
    }
}

/// The underflow weight of the module docs, exactly, for every output `$t$` (0-based here,
/// so the factor is `$t + 3$`):
/// `$W_t = (t+2)\sum_n \hat C_{t,n}\hat P_{t,n}\sum_{j\le t}\hat B_{j,n}\hat x_j$` (1-based `$t$`).
/// The same loop is the Coq definition `underflow_weight` (`proofs/ScanBound.v`).
///
/// # Complexity
/// `$O(LN)$` exact operations.
pub fn underflow_weight(ch: &Channel<Exact>, x: &[Exact]) -> Vec<Exact> {
    let n = ch.state();
    let mut p_hat = vec![Exact::one(); n];
    let mut s_hat = vec![Exact::zero(); n];
    let mut w = Vec::with_capacity(ch.len());
    for (t, xt) in x.iter().enumerate().take(ch.len()) {
        let x_hat = hat(xt);
        let mut sum = Exact::zero();
        for k in 0..n {
            p_hat[k] *= hat(&ch.abar(t)[k]);
            s_hat[k] += hat(&ch.bbar(t)[k]) * &x_hat;
            sum += hat(&ch.c(t)[k]) * &p_hat[k] * &s_hat[k];
        }
        w.push(sum * Exact::from_integer((t + 3).into()));
    }
    w
}

/// The bound `$\gamma_m\,\mathrm{mag}_t + (1+\gamma_m)\,\eta_0\,W_t$` of the module docs for the
/// float type `T`, exactly, per output; `None` when `$mu \ge 1$` (no bound). `magnitude` is
/// [`magnitude`]`(ch, x)`.
///
/// Proven for `f64` and `f32` with underflow (module docs): Coq: `scan_within_output_bound`,
/// `alpha_x_within_output_bound`, `gated_output_within_output_bound` (the Coq definition
/// `output_bound_exact` is this function).
pub fn output_bound_exact<T: Field>(
    ch: &Channel<Exact>,
    x: &[Exact],
    magnitude: &[Exact],
) -> Option<Vec<Exact>> {
    let (l, n) = (ch.len(), ch.state());
    let g = gamma_exact(3 * l + n + 4, T::unit_roundoff())?;
    let eta0 = Exact::from_f64(T::min_subnormal());
    let carry = (Exact::one() + &g) * eta0;
    Some(
        magnitude
            .iter()
            .zip(underflow_weight(ch, x))
            .map(|(m, w)| &g * m + &carry * w)
            .collect(),
    )
}

/// [`output_bound_exact`] rounded **up** to `f64` (∞ when there is no bound), for callers
/// that compare in `f64`.
pub fn output_bound<T: Field>(ch: &Channel<Exact>, x: &[Exact], magnitude: &[Exact]) -> Vec<f64> {
    match output_bound_exact::<T>(ch, x, magnitude) {
        Some(b) => b.iter().map(to_f64_up).collect(),
        None => vec![f64::INFINITY; magnitude.len()],
    }
}

/// The smallest `f64` not below the exact value `v` (∞ beyond the range).
pub fn to_f64_up(v: &Exact) -> f64 {
    let r = v.to_f64();
    if r.is_nan() {
        return f64::INFINITY;
    }
    if r.is_infinite() || Exact::from_f64(r) >= *v {
        r
    } else {
        next_up(r)
    }
}

/// The least `f64` greater than the finite `r` (`f64::next_up`, which needs a newer Rust
/// than this crate's minimum).
fn next_up(r: f64) -> f64 {
    if r == 0.0 {
        f64::from_bits(1)
    } else if r > 0.0 {
        f64::from_bits(r.to_bits() + 1)
    } else {
        f64::from_bits(r.to_bits() - 1)
    }
}

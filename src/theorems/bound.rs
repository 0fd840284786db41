//! Forward error bounds for the float views, checked against the exact path.
//!
//! Every float view of a channel computes each term $C_{i,n}\,\prod_k \bar A_{k,n}\,
//! \bar B_{j,n}\,x_j$ with at most $2L + 2$ roundings in products and quotients and
//! sums at most $L + N$ such terms, all without cancellation inside a term. The
//! standard model $\mathrm{fl}(a \circ b) = (a \circ b)(1+\delta)$, $|\delta| \le u$, gives
//!
//! $$|\mathrm{fl}(y_i) - y_i| \le \gamma_m \sum_{j\le i}\sum_n |C_{i,n}|\prod_{k=j+1}^{i}|\bar A_{k,n}|\,|\bar B_{j,n}|\,|x_j|
//!   \;+\; \eta,\qquad \gamma_m = \frac{m u}{1 - m u},\quad m = 3L + N + 4,$$
//!
//! where the sum is the output of the *absolute* channel on $|x|$ (computed exactly by
//! [`magnitude`]) and $\eta = (L N + 1)\, \lambda\, \max|C| \max|\bar B| \sum|x|$ (with
//! $\lambda$ the smallest normal number) covers products that fall into the subnormal range.
//! The factored view adds the rounding of $P_i$, $P_j$ and one division per term, which
//! the $3L$ in $m$ covers.

use crate::scalar::{Exact, Field};
use crate::ssm::{scan, Channel};

/// $\gamma_m = m u / (1 - m u)$ for unit roundoff $u$ (∞ when $m u \ge 1$).
pub fn gamma(m: usize, u: f64) -> f64 {
    let mu = m as f64 * u;
    if mu >= 1.0 {
        f64::INFINITY
    } else {
        mu / (1.0 - mu)
    }
}

/// The exact magnitude $\sum_{j\le i}\sum_n |C_{i,n}| \prod |\bar A_{k,n}| |\bar B_{j,n}| |x_j|$
/// for every $i$: the scan of the entrywise-absolute channel on $|x|$.
pub fn magnitude(ch: &Channel<Exact>, x: &[Exact]) -> Vec<Exact> {
    let abs = ch.map(|v| v.abs_val());
    let ax: Vec<Exact> = x.iter().map(|v| v.abs_val()).collect();
    scan(&abs, &ax)
        .expect("exact scan of a valid channel cannot fail")
        .y
}

/// The bound $\gamma_m\,\mathrm{magnitude}_i + \eta$ of the module docs, per output, for a
/// float type `T` (inflated by $10^{-9}$ relative to absorb the rounding of the bound itself).
/// `magnitude` is [`magnitude`]`(ch, x)`.
pub fn output_bound<T: Field>(ch: &Channel<Exact>, x: &[Exact], magnitude: &[Exact]) -> Vec<f64> {
    let (l, n) = (ch.len(), ch.state());
    let g = gamma(3 * l + n + 4, T::unit_roundoff());
    let max_abs = |v: &[Exact]| v.iter().map(|e| e.to_f64().abs()).fold(0.0, f64::max);
    let xsum: f64 = x.iter().map(|e| e.to_f64().abs()).sum();
    let eta =
        (l * n + 1) as f64 * T::min_normal() * max_abs(ch.c_all()) * max_abs(ch.bbar_all()) * xsum;
    magnitude
        .iter()
        .map(|m| (g * m.to_f64() + eta) * (1.0 + 1e-9))
        .collect()
}

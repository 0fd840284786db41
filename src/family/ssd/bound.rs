//! Forward error bound of the float SSD views — the scan ([`super::scan()`]),
//! `$\tilde\alpha x$` ([`super::attention_matrix()`]) and the chunked algorithm
//! ([`super::chunked()`], T13) — derived in the standard model with underflow of
//! [`crate::theorems::bound`] and evaluated **exactly**.
//!
//! # Derivation
//! Every rounded product satisfies `$\mathrm{fl}(a\cdot b) = ab(1+\delta) + \eta$`,
//! `$|\delta| \le u$`, `$|\eta| \le \eta_0$` (smallest subnormal), and a sum
//! `$\mathrm{fl}(a+b) = (a+b)(1+\delta)$`. Each view computes `$y_t$` (0-based `$t$`) as a sum over
//! `$s \le t$` and `$n$` of the terms `$C_{t,n}\big(\prod_{r=s+1}^{t}a_r\big)\bar B_{s,n}x_s$`,
//! every term along one path of operations, with no cancellation inside a term.
//!
//! *Relative part.* Count the roundings on one term's path (`$Q \le L$` the chunk size,
//! `$K \le L$` the number of chunks). Scan: `$\bar B x$` (1), `$t-s$` products and `$t-s+1$` sums
//! of the state, `$C h$` (1), `$N$` sums of the dot: `$\le 2L+N+3$`. `$\tilde\alpha x$`: `$N$`
//! products and `$N$` sums of `$\langle C_t,\bar B_s\rangle$`, `$t-s$` running products, the
//! products with `$p$` and `$x$`, `$L$` sums: `$\le 2L+2N+2$`. Chunked, intra-chunk term: as
//! `$\tilde\alpha x$` plus one final sum; inter-chunk term: `$\bar B x$`, `$\le Q$` products
//! forming the decay to the chunk end, the product with it, `$\le Q$` sums into `$S_k$`, `$\le L$`
//! products forming the chunk decays `$\Lambda$`, one product and one sum per chunk crossed
//! (`$\le 2K$`), `$\le Q$` products forming the decay out, `$C_{t,n}H_{k,n}$`, `$N$` sums, the product
//! with the decay out, the final sum: `$\le 6L+N+5$`. All are `$\le m = 6L + 2N + 8$`, so with
//! `$\gamma_m = mu/(1-mu)$` the `$\delta$`'s contribute at most `$\gamma_m\,\mathrm{mag}_t$`,
//! `$\mathrm{mag}_t = \sum_{s\le t}\sum_n |C_{t,n}|\prod_{r=s+1}^{t}|a_r|\,|\bar B_{s,n}||x_s|$`
//! ([`crate::theorems::bound::magnitude`] of the channel [`super::SsdHead::to_channel`],
//! T12).
//!
//! *Underflow part.* An `$\eta$` of one product is carried to `$y_t$` multiplied by what the
//! computation multiplies in afterwards: factors `$C_{t,n}$`, `$a_r$`, `$\bar B_{s,n}$`, `$x_s$`,
//! or computed sums of such terms (`$\langle C_t,\bar B_s\rangle$`, a state `$H_k$`). With
//! `$\hat v = \max(1,|v|)$` and `$\hat P_t = \prod_{r\le t}\max(1,|a_r|)$` each such multiplier
//! is at most `$2(1+\gamma_m)V_t$`, `$V_t = \sum_n \hat C_{t,n}\hat P_t\sum_{s\le t}\hat B_{s,n}
//! \hat x_s$` (every term of `$V_t$` is `$\ge 1$`; the factor 2 absorbs the `$\eta$`'s inside the
//! computed sums, which are `$\le \eta_0$` times the number of products, far below 1). The number
//! of products `$y_t$` depends on is at most `$(t+1)(4N+6)$`: scan `$N(2t+3)$`; `$\tilde\alpha x$`
//! `$(t+1)(N+2)+t$`; chunked `$\le (t+1)(N+2) + t$` (intra) `$+\,3Nc_0 + 2c_0 + (t-c_0+1) + N + 1$`
//! (inter, `$c_0 \le t$` the chunk start). Hence
//!
//! ```math
//! |\mathrm{fl}(y_t) - y_t| \le \gamma_m\,\mathrm{mag}_t + 2(1+\gamma_m)\,\eta_0\,(t+1)(4N+6)\,V_t .
//! ```
//!
//! It is evaluated in exact arithmetic ([`output_bound_exact`]) and compared with the
//! exact error, so rounding of the bound cannot turn a pass into a fail or back.

use num_traits::{One, Zero};

use crate::scalar::{Exact, Field};
use crate::theorems::bound::{gamma_exact, hat, magnitude};

use super::head::SsdHead;

/// The rounding count `$m = 6L + 2N + 8$` of the module docs.
pub fn rounding_count(len: usize, state: usize) -> usize {
    6 * len + 2 * state + 8
}

/// `$V_t = \sum_n \hat C_{t,n}\hat P_t\sum_{s\le t}\hat B_{s,n}\hat x_s$` for every `$t$`,
/// exactly (`$O(LN)$`).
pub fn underflow_weight(head: &SsdHead<Exact>, x: &[Exact]) -> Vec<Exact> {
    let n = head.state();
    let mut p_hat = Exact::one();
    let mut s_hat = vec![Exact::zero(); n];
    let mut w = Vec::with_capacity(head.len());
    for (t, xt) in x.iter().enumerate().take(head.len()) {
        let x_hat = hat(xt);
        p_hat *= hat(head.a(t));
        let mut sum = Exact::zero();
        for k in 0..n {
            s_hat[k] += hat(&head.bbar(t)[k]) * &x_hat;
            sum += hat(&head.c(t)[k]) * &s_hat[k];
        }
        w.push(sum * &p_hat);
    }
    w
}

/// The bound of the module docs for the float type `T`, exactly, per output
/// (`None` when `$m u \ge 1$`: no bound). Also returns `$\mathrm{mag}_t$`.
pub fn output_bound_exact<T: Field>(
    head: &SsdHead<Exact>,
    x: &[Exact],
) -> (Vec<Exact>, Option<Vec<Exact>>) {
    let mag = magnitude(&head.to_channel(), x);
    let Some(g) = gamma_exact(rounding_count(head.len(), head.state()), T::unit_roundoff()) else {
        return (mag, None);
    };
    let eta0 = Exact::from_f64(T::min_subnormal());
    let two = Exact::from_integer(2.into());
    let carry = two * (Exact::one() + &g) * eta0;
    let per_t = Exact::from_integer((4 * head.state() + 6).into());
    let bounds = mag
        .iter()
        .zip(underflow_weight(head, x))
        .enumerate()
        .map(|(t, (m, v))| &g * m + &carry * &per_t * Exact::from_integer((t + 1).into()) * v)
        .collect();
    (mag, Some(bounds))
}

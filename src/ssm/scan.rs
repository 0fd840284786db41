//! The recurrent view: the selective scan of one channel, `$O(LN)$`.

use crate::error::Result;
use crate::scalar::Field;
use crate::ssm::channel::Channel;
use crate::tensor::{dot, expect_finite_result};

/// Output of [`scan`]: the outputs `$y_t$` and the final state `$h_L$`.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanOutput<T> {
    /// `$y_t = \langle C_t, h_t\rangle$` for `$t = 0..L$`.
    pub y: Vec<T>,
    /// `$h_L \in K^N$` (the `last_state` of `mamba_ssm`).
    pub last_state: Vec<T>,
}

/// Recurrent view: run `$h_t = \bar A_t \odot h_{t-1} + \bar B_t x_t$`, `$h_0 = 0$`,
/// `$y_t = \langle C_t, h_t\rangle$`.
///
/// This is the definition every other view is checked against (T1, T2).
///
/// # Errors
/// [`crate::Error::Shape`] if `x.len() != L`; [`crate::Error::NonFinite`] for a NaN/∞ in
/// `x`; [`crate::Error::NonFiniteResult`] if a float computation overflows.
///
/// # Complexity
/// `$O(LN)$` time, `$O(N)$` extra memory.
///
/// # Examples
/// ```
/// use hidden_attention::{scalar::ratio, ssm::{Channel, scan}};
/// // L = 2, N = 1: Ā = (1/2, 1/2), B̄ = (1, 1), C = (1, 2)
/// let ch = Channel::new(2, 1, vec![ratio(1, 2), ratio(1, 2)], vec![ratio(1, 1); 2],
///                       vec![ratio(1, 1), ratio(2, 1)]).unwrap();
/// let out = scan(&ch, &[ratio(1, 1), ratio(1, 1)]).unwrap();
/// assert_eq!(out.y, vec![ratio(1, 1), ratio(3, 1)]); // y_2 = 2·(1/2·1 + 1)
/// ```
pub fn scan<T: Field>(ch: &Channel<T>, x: &[T]) -> Result<ScanOutput<T>> {
    ch.expect_input(x)?;
    let n = ch.state();
    let mut h = vec![T::zero(); n];
    let mut y = Vec::with_capacity(ch.len());
    for (t, xt) in x.iter().enumerate() {
        let (a, b) = (ch.abar(t), ch.bbar(t));
        for k in 0..n {
            h[k] *= &a[k];
            h[k] += &(b[k].clone() * xt);
        }
        y.push(dot(ch.c(t), &h));
    }
    expect_finite_result("scan output y", &y, &[ch.len()])?;
    expect_finite_result("scan last state h_L", &h, &[n])?;
    Ok(ScanOutput { y, last_state: h })
}

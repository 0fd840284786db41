//! The gated view (T2a): a channel read as a gated linear attention head.

use crate::attention::GatedLinearHead;
use crate::error::Result;
use crate::scalar::Field;
use crate::ssm::channel::Channel;
use crate::tensor::Matrix;

/// **T2a — a channel is a causal gated linear attention head** of dimension `$N$` with
/// gates `$g_k = \bar A_k$`, queries `$q_i = C_i$`, keys `$k_j = \bar B_j$` (and scalar values
/// `$v_j = x_j$`):
///
/// ```math
/// y_i = \sum_{j\le i} \Big\langle q_i, \Big(\prod_{k=j+1}^{i} g_k\Big)\odot k_j\Big\rangle v_j .
/// ```
///
/// Exact over any field (Coq: `t2a_gated_form`).
///
/// # Examples
/// ```
/// use hidden_attention::{scalar::ratio, ssm::{Channel, gated_head, scan}};
/// let ch = Channel::new(2, 1, vec![ratio(0, 1), ratio(1, 2)], vec![ratio(1, 1); 2],
///                       vec![ratio(1, 1), ratio(2, 1)]).unwrap();
/// let x = [ratio(3, 1), ratio(-1, 1)];
/// assert_eq!(gated_head(&ch).output(&x).unwrap(), scan(&ch, &x).unwrap().y);
/// ```
pub fn gated_head<T: Field>(ch: &Channel<T>) -> GatedLinearHead<T> {
    let (l, n) = (ch.len(), ch.state());
    let m = |v: &[T]| Matrix::from_row_major(l, n, v.to_vec()).expect("channel arrays are L × N");
    GatedLinearHead::new(m(ch.c_all()), m(ch.bbar_all()), m(ch.abar_all()))
        .expect("channel arrays share one shape")
}

/// The channel's output through its gated form (T2a): `gated_head(ch).output(x)`.
///
/// # Errors
/// As [`GatedLinearHead::output`].
pub fn gated_output<T: Field>(ch: &Channel<T>, x: &[T]) -> Result<Vec<T>> {
    ch.expect_input(x)?;
    gated_head(ch).output(x)
}

//! Channel ↔ head at the level of one sequence (T2, T3).

use crate::attention::{GatedLinearHead, LinearHead};
use crate::error::{Error, Result};
use crate::scalar::Field;
use crate::ssm::{factored, gated_head, scan, Channel};
use crate::tensor::Matrix;

/// **T2a** — a channel as a causal gated linear attention head of dimension `$N$`:
/// `$g_k = \bar A_k$`, `$q_i = C_i$`, `$k_j = \bar B_j$`; its attention matrix is `$\tilde\alpha$`
/// exactly, over any field. (The same as [`crate::ssm::gated_head`].)
///
/// ```math
/// y_i = \sum_{j\le i}\Big\langle q_i,\ \Big(\prod_{k=j+1}^{i} g_k\Big)\odot k_j\Big\rangle x_j
/// = \sum_{j\le i}\tilde\alpha_{ij}x_j .
/// ```
///
/// Coq: `t2a_gated_form` (`proofs/T2_LinearAttention.v`).
///
/// # Examples
/// ```
/// use hidden_attention::{construct::channel_to_gated_head, scalar::ratio, ssm::{Channel, attention_matrix as alpha}};
/// let ch = Channel::new(2, 1, vec![ratio(0, 1), ratio(1, 2)], vec![ratio(1, 1); 2],
///                       vec![ratio(1, 1), ratio(2, 1)]).unwrap();
/// assert_eq!(channel_to_gated_head(&ch).attention().unwrap(), alpha(&ch).unwrap());
/// ```
pub fn channel_to_gated_head<T: Field>(ch: &Channel<T>) -> GatedLinearHead<T> {
    gated_head(ch)
}

/// **T2b** — a channel with no zero `$\bar A_k$` entry (`$k \ge 1$`) as an *ungated* causal linear head:
/// `$Q_i = C_i \odot P_i$`, `$K_j = \bar B_j \oslash P_j$`, `$P_i = \prod_{k=1}^{i}\bar A_k$`, so
/// `$\tilde\alpha = \mathrm{tril}(QK^\top)$`.
///
/// Coq: `t2b_factored_form`, `t2b_factored_form_mx`, `t2b_ungated_head`
/// (`proofs/T2_LinearAttention.v`), under the same hypothesis (no `$\bar A_k$` entry with
/// `$k \ge 1$` is 0; `$\bar A_0$` never enters `$\tilde\alpha$`).
///
/// # Errors
/// [`Error::ZeroTransition`] naming the first zero `$\bar A$` entry at a step `$\ge 1$`; in floats
/// [`Error::FactorRange`] when `$P$`, `$Q$` or `$K$` leaves the normal range.
///
/// # Examples
/// ```
/// use hidden_attention::{construct::channel_to_linear_head, scalar::ratio, ssm::{Channel, attention_matrix as alpha}};
/// let ch = Channel::new(2, 1, vec![ratio(1, 3), ratio(1, 2)], vec![ratio(1, 1); 2],
///                       vec![ratio(1, 1), ratio(2, 1)]).unwrap();
/// assert_eq!(channel_to_linear_head(&ch).unwrap().attention().unwrap(), alpha(&ch).unwrap());
/// ```
pub fn channel_to_linear_head<T: Field>(ch: &Channel<T>) -> Result<LinearHead<T>> {
    let f = factored(ch)?;
    LinearHead::new(f.q, f.k)
}

/// **T3** — a causal gated linear attention head with diagonal gates, of dimension `$d$`,
/// is, on each value coordinate, the S6 channel with state `$N = d$`,
///
/// ```math
/// \bar A_k = g_k,\qquad \bar B_j = k_j,\qquad C_i = q_i,
/// ```
///
/// whose hidden attention equals the head's matrix exactly (over any field, no condition
/// on the gates: 0 is allowed). Plain linear attention (`$g\equiv 1$`), RetNet (`$g \equiv
/// \gamma$`) and Mamba-2/SSD (a per-step scalar `$g_k = a_k\mathbf 1$`) are special cases
/// (see [`scalar_gated_head`]).
///
/// Coq: `t3_gated_head_is_channel`, `t3_gated_head_scores` (`proofs/T3_HeadIsChannel.v`).
///
/// # Errors
/// [`Error::InvalidArgument`] for `$d = 0$` (a channel has `$N \ge 1$`).
///
/// # Examples
/// ```
/// use hidden_attention::{construct::{gated_head_to_channel, scalar_gated_head}, scalar::ratio,
///                        ssm::attention_matrix as alpha, tensor::Matrix};
/// let q = Matrix::from_row_major(3, 1, vec![ratio(1, 1), ratio(2, 1), ratio(-1, 1)]).unwrap();
/// let k = Matrix::from_row_major(3, 1, vec![ratio(1, 2), ratio(1, 1), ratio(3, 1)]).unwrap();
/// let retnet = scalar_gated_head(q, k, &vec![ratio(9, 10); 3]).unwrap(); // RetNet, γ = 9/10
/// let ch = gated_head_to_channel(&retnet).unwrap();
/// assert_eq!(alpha(&ch).unwrap(), retnet.attention().unwrap());
/// ```
pub fn gated_head_to_channel<T: Field>(head: &GatedLinearHead<T>) -> Result<Channel<T>> {
    Channel::new(
        head.len(),
        head.dim(),
        head.gates().data().to_vec(),
        head.keys().data().to_vec(),
        head.queries().data().to_vec(),
    )
}

/// **T3** for plain causal linear attention `$y_i = \sum_{j\le i}\langle q_i, k_j\rangle v_j$`:
/// the channel with
///
/// ```math
/// \bar A \equiv \mathbf 1,\qquad \bar B_j = k_j,\qquad C_i = q_i,\qquad
/// \tilde\alpha = \mathrm{tril}(QK^\top),
/// ```
///
/// exact over any field (with Mamba's strict `$A<0$` see
/// [`crate::construct::function::LinearAttentionLayer::to_mamba`]).
///
/// Coq: `t3_linear_head_is_channel` (`proofs/T3_HeadIsChannel.v`).
///
/// # Errors
/// As [`gated_head_to_channel`].
///
/// # Examples
/// ```
/// use hidden_attention::{attention::LinearHead, construct::linear_head_to_channel, scalar::ratio,
///                        ssm::attention_matrix as alpha, tensor::Matrix};
/// let q = Matrix::from_row_major(2, 1, vec![ratio(1, 1), ratio(2, 1)]).unwrap();
/// let k = Matrix::from_row_major(2, 1, vec![ratio(3, 1), ratio(-1, 2)]).unwrap();
/// let ch = linear_head_to_channel(&LinearHead::new(q, k).unwrap()).unwrap();
/// assert_eq!(ch.abar_all(), &[ratio(1, 1), ratio(1, 1)]);
/// let a = alpha(&ch).unwrap(); // tril(QKᵀ) = [[3, 0], [6, -1]]
/// assert_eq!((a.get(0, 0), a.get(1, 0), a.get(1, 1)), (&ratio(3, 1), &ratio(6, 1), &ratio(-1, 1)));
/// assert_eq!(*a.get(0, 1), ratio(0, 1));
/// ```
pub fn linear_head_to_channel<T: Field>(head: &LinearHead<T>) -> Result<Channel<T>> {
    gated_head_to_channel(&head.to_gated())
}

/// **T3**, scalar gates: the gated head whose gate at step `$k$` is the scalar `$a_k$` on every
/// coordinate (Mamba-2/SSD; RetNet when every `$a_k = \gamma$`), so that
///
/// ```math
/// a_{ij} = \Big(\prod_{k=j+1}^{i} a_k\Big)\langle q_i, k_j\rangle
/// \quad\Big(= \gamma^{\,i-j}\langle q_i, k_j\rangle\text{ for RetNet}\Big),
/// ```
///
/// and [`gated_head_to_channel`] turns it into the channel with `$\bar A_k = a_k\mathbf 1$`.
///
/// Coq: `t3_retention_head_is_channel` (constant `$\gamma$`), `t3_gated_head_is_channel`
/// (`proofs/T3_HeadIsChannel.v`).
///
/// # Errors
/// [`Error::Shape`] if `gates.len() != L` or `k`'s shape differs from `q`'s.
///
/// # Examples
/// ```
/// use hidden_attention::{construct::scalar_gated_head, scalar::ratio, tensor::Matrix};
/// let q = Matrix::from_row_major(3, 1, vec![ratio(1, 1); 3]).unwrap();
/// let k = q.clone();
/// let retnet = scalar_gated_head(q, k, &vec![ratio(1, 2); 3]).unwrap(); // γ = 1/2
/// let a = retnet.attention().unwrap();
/// assert_eq!(*a.get(2, 0), ratio(1, 4)); // γ² ⟨q_2, k_0⟩
/// assert_eq!(*a.get(2, 1), ratio(1, 2));
/// assert_eq!(*a.get(0, 2), ratio(0, 1));
/// ```
pub fn scalar_gated_head<T: Field>(
    q: Matrix<T>,
    k: Matrix<T>,
    gates: &[T],
) -> Result<GatedLinearHead<T>> {
    let (l, d) = (q.rows(), q.cols());
    if gates.len() != l {
        return Err(Error::Shape {
            tensor: "gates".into(),
            dim: 0,
            name: "L".into(),
            expected: l,
            found: gates.len(),
        });
    }
    let g = gates
        .iter()
        .flat_map(|a| std::iter::repeat(a.clone()).take(d))
        .collect();
    GatedLinearHead::new(q, k, Matrix::from_row_major(l, d, g)?)
}

/// **T3**, vector values: the head's output for `$V \in K^{L\times d_v}$` computed as T3
/// states it, one channel ([`gated_head_to_channel`]) scanned per value coordinate `$c$`:
///
/// ```math
/// Y_{i,c} = \sum_{j\le i} a_{ij} V_{j,c} = y_i\big(\bar A = g,\ \bar B = k,\ C = q;\ x = V_{\cdot,c}\big).
/// ```
///
/// Coq: `t3_gated_head_is_channel` (`proofs/T3_HeadIsChannel.v`).
///
/// # Errors
/// As [`gated_head_to_channel`] and [`scan()`]; [`Error::Shape`] if `V` has the wrong
/// number of rows.
///
/// # Examples
/// ```
/// use hidden_attention::{construct::{head_output_by_channels, head_output_values, scalar_gated_head},
///                        scalar::ratio, tensor::Matrix};
/// let q = Matrix::from_row_major(2, 1, vec![ratio(1, 1), ratio(2, 1)]).unwrap();
/// let head = scalar_gated_head(q.clone(), q, &[ratio(1, 3), ratio(1, 3)]).unwrap();
/// let v = Matrix::from_row_major(2, 2, vec![ratio(1, 1), ratio(0, 1), ratio(1, 1), ratio(3, 1)]).unwrap();
/// let y = head_output_by_channels(&head, &v).unwrap();
/// assert_eq!(y, head_output_values(&head, &v).unwrap());
/// // Y_{1,1} = a_{10} V_{01} + a_{11} V_{11} = (1/3·2·1)·0 + 4·3
/// assert_eq!(*y.get(1, 1), ratio(12, 1));
/// ```
pub fn head_output_by_channels<T: Field>(
    head: &GatedLinearHead<T>,
    v: &Matrix<T>,
) -> Result<Matrix<T>> {
    let ch = gated_head_to_channel(head)?;
    channel_output_values(&ch, v)
}

/// Scan one channel on every column of `$V$` (one value coordinate each).
///
/// # Errors
/// As [`scan()`].
pub fn channel_output_values<T: Field>(ch: &Channel<T>, v: &Matrix<T>) -> Result<Matrix<T>> {
    crate::attention::linear::per_column(v, |col| Ok(scan(ch, col)?.y))
}

/// The gated head's output for vector values, computed from its attention matrix
/// (`$Y = aV$`), for comparison with [`head_output_by_channels`].
///
/// # Errors
/// As [`GatedLinearHead::attention`]; [`Error::Shape`] if `V` has the wrong row count.
pub fn head_output_values<T: Field>(head: &GatedLinearHead<T>, v: &Matrix<T>) -> Result<Matrix<T>> {
    let a = head.attention()?;
    crate::attention::linear::per_column(v, |col| a.mul_vec(col))
}

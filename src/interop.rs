//! Conversions between the crate's matrices and `nalgebra`'s dynamic matrices
//! [`DMatrix`] (feature `nalgebra`, on by default), for `f32`, `f64` and exact rationals
//! ([`Exact`], `num_rational::BigRational`).
//!
//! | from | to | how | errors |
//! | --- | --- | --- | --- |
//! | `DMatrix<T>`, `&DMatrix<T>` | [`Matrix<T>`] | `From` | none (every shape) |
//! | [`Matrix<T>`], `&Matrix<T>` | `DMatrix<T>` | `From` | none |
//! | `&DMatrix<T>` | [`Tensor<T>`] of shape `[rows, cols]` | `From` | none |
//! | `&Tensor<T>` | `DMatrix<T>` | `TryFrom` | [`Error::Rank`] unless 2-D |
//! | `$\bar A, \bar B, C$` as `$L \times N$` `DMatrix` | [`Channel<T>`] | [`channel_from_factors`] | [`Error::Shape`] naming the factor |
//! | [`Channel<T>`] | `$(\bar A, \bar B, C)$` as `$L \times N$` `DMatrix` | [`channel_factors`] | none |
//!
//! Entry `$(i, j)$` is entry `$(i, j)$` on both sides — the crate stores rows one after the
//! other, `nalgebra` columns — and no value is converted, so every round trip is the
//! identity, exactly, in every field.
//!
//! Every function of the crate that takes a [`Matrix`] takes a `DMatrix` through
//! `Matrix::from(&m)`, with its API unchanged: the T5 realisations
//! [`crate::construct::realise_full`], [`crate::construct::realise_minimal`],
//! [`crate::construct::realise_diagonal`], [`crate::construct::generator_form`], the T4
//! ranks [`crate::semiseparable::semiseparable_rank_exact`] and
//! [`crate::semiseparable::semiseparable_rank_f64`]; and every matrix it returns (e.g.
//! `$\tilde\alpha$` of [`crate::ssm::attention_matrix`]) goes back by `DMatrix::from`.
//!
//! # Example: T5 from a `DMatrix`, exactly
//! Every lower-triangular `$M$` is `$\tilde\alpha$` of the channel [`crate::construct::realise_full`]
//! builds (T5, state `$N = L$`):
//! ```
//! use hidden_attention::{construct::realise_full, scalar::{ratio, Exact}, ssm::attention_matrix,
//!                        tensor::Matrix};
//! use nalgebra::DMatrix;
//! let m: DMatrix<Exact> = DMatrix::from_row_slice(3, 3, &[
//!     ratio(1, 2), ratio(0, 1), ratio(0, 1),
//!     ratio(-3, 1), ratio(2, 7), ratio(0, 1),
//!     ratio(5, 3), ratio(0, 1), ratio(-1, 4),
//! ]);
//! let channel = realise_full(&Matrix::from(&m)).unwrap();
//! assert_eq!(channel.state(), 3);
//! let alpha: DMatrix<Exact> = attention_matrix(&channel).unwrap().into();
//! assert_eq!(alpha, m);
//! ```
//!
//! # Example: the semiseparable rank (T4) of a `DMatrix<f64>`
//! ```
//! use hidden_attention::{semiseparable::semiseparable_rank_f64, tensor::Matrix};
//! use nalgebra::{DMatrix, DVector};
//! // the lower triangle of u uᵀ is 1-semiseparable
//! let u = DVector::from_vec(vec![1.0f64, -2.0, 0.5, 3.0]);
//! let m = (&u * u.transpose()).lower_triangle();
//! assert_eq!(semiseparable_rank_f64(&Matrix::from(&m), 0.0).rank, 1);
//! ```

use nalgebra::DMatrix;

use crate::error::{Error, Result};
#[cfg(doc)]
use crate::scalar::Exact;
use crate::scalar::Field;
use crate::ssm::Channel;
use crate::tensor::{Matrix, Tensor};

impl<T: Field> From<&DMatrix<T>> for Matrix<T> {
    /// The same matrix, `$M_{ij} = D_{ij}$`.
    fn from(d: &DMatrix<T>) -> Self {
        let (rows, cols) = d.shape();
        let data = (0..rows)
            .flat_map(|i| (0..cols).map(move |j| d[(i, j)].clone()))
            .collect();
        Matrix::from_row_major(rows, cols, data).expect("rows × cols entries")
    }
}

impl<T: Field> From<DMatrix<T>> for Matrix<T> {
    /// The same matrix, `$M_{ij} = D_{ij}$`.
    fn from(d: DMatrix<T>) -> Self {
        Matrix::from(&d)
    }
}

impl<T: Field> From<&Matrix<T>> for DMatrix<T> {
    /// The same matrix, `$D_{ij} = M_{ij}$`.
    fn from(m: &Matrix<T>) -> Self {
        DMatrix::from_row_iterator(m.rows(), m.cols(), m.data().iter().cloned())
    }
}

impl<T: Field> From<Matrix<T>> for DMatrix<T> {
    /// The same matrix, `$D_{ij} = M_{ij}$`.
    fn from(m: Matrix<T>) -> Self {
        DMatrix::from(&m)
    }
}

impl<T: Field> From<&DMatrix<T>> for Tensor<T> {
    /// The 2-D tensor of shape `[rows, cols]` with the same entries.
    fn from(d: &DMatrix<T>) -> Self {
        let (rows, cols) = d.shape();
        let data = Matrix::from(d).data().to_vec();
        Tensor::new("matrix", vec![rows, cols], data).expect("rows × cols entries")
    }
}

impl<T: Field> TryFrom<&Tensor<T>> for DMatrix<T> {
    type Error = Error;
    /// The matrix of a 2-D tensor, `$D_{ij} = t[i, j]$`.
    ///
    /// # Errors
    /// [`Error::Rank`] when the tensor is not 2-D.
    fn try_from(t: &Tensor<T>) -> Result<Self> {
        let &[rows, cols] = t.shape() else {
            return Err(Error::Rank {
                tensor: "matrix".into(),
                layout: "(rows, cols)".into(),
                expected: 2,
                found: t.shape().len(),
            });
        };
        Ok(DMatrix::from_row_iterator(
            rows,
            cols,
            t.data().iter().cloned(),
        ))
    }
}

/// The channel with the `$L \times N$` factors `$\bar A$`, `$\bar B$`, `$C$` (row `$t$`: the values at
/// step `$t$`), `$h_t = \bar A_t \odot h_{t-1} + \bar B_t x_t$`, `$y_t = \langle C_t, h_t\rangle$`;
/// `$L$` and `$N$` are read off `$\bar A$`.
///
/// # Errors
/// [`Error::Shape`] naming `Bbar` or `C` and the dimension (`L` or `N`) that differs from
/// `$\bar A$`'s; those of [`Channel::new`] (`$N = 0$`, a non-finite entry).
///
/// # Examples
/// ```
/// use hidden_attention::{interop::{channel_factors, channel_from_factors}, ssm::scan};
/// use nalgebra::DMatrix;
/// let abar = DMatrix::from_row_slice(2, 1, &[0.5f64, 0.25]);
/// let bbar = DMatrix::from_row_slice(2, 1, &[1.0, 2.0]);
/// let c = DMatrix::from_row_slice(2, 1, &[1.0, 1.0]);
/// let ch = channel_from_factors(&abar, &bbar, &c).unwrap();
/// assert_eq!(scan(&ch, &[1.0, 1.0]).unwrap().y, vec![1.0, 0.25 + 2.0]);
/// assert_eq!(channel_factors(&ch), (abar, bbar.clone(), c));
/// // B̄ with two rows too few: the error names it
/// let short = DMatrix::from_row_slice(1, 1, &[1.0]);
/// let e = channel_from_factors(&short, &bbar, &bbar).unwrap_err();
/// assert!(e.to_string().contains("`Bbar`"));
/// ```
pub fn channel_from_factors<T: Field>(
    abar: &DMatrix<T>,
    bbar: &DMatrix<T>,
    c: &DMatrix<T>,
) -> Result<Channel<T>> {
    let (len, state) = abar.shape();
    for (name, m) in [("Bbar", bbar), ("C", c)] {
        for (dim, (dim_name, expected, found)) in [("L", len, m.nrows()), ("N", state, m.ncols())]
            .into_iter()
            .enumerate()
        {
            if found != expected {
                return Err(Error::Shape {
                    tensor: name.into(),
                    dim,
                    name: dim_name.into(),
                    expected,
                    found,
                });
            }
        }
    }
    let rows = |m: &DMatrix<T>| Matrix::from(m).data().to_vec();
    Channel::new(len, state, rows(abar), rows(bbar), rows(c))
}

/// The `$L \times N$` factors `$(\bar A, \bar B, C)$` of a channel, the inverse of
/// [`channel_from_factors`].
pub fn channel_factors<T: Field>(ch: &Channel<T>) -> (DMatrix<T>, DMatrix<T>, DMatrix<T>) {
    let (l, n) = (ch.len(), ch.state());
    let m = |v: &[T]| DMatrix::from_row_iterator(l, n, v.iter().cloned());
    (m(ch.abar_all()), m(ch.bbar_all()), m(ch.c_all()))
}

//! Causal softmax attention.

use crate::attention::linear::{expect_len, per_column};
use crate::error::{Error, Result};
use crate::scalar::{Field, Real};
use crate::tensor::{dot, expect_finite_result, Matrix};

/// A causal softmax head of dimension `$d$` with scale `$s$` (usually `$1/\sqrt d$`):
///
/// ```math
/// a_{ij} = \frac{\exp(s\langle q_i, k_j\rangle)}{\sum_{j'\le i}\exp(s\langle q_i, k_{j'}\rangle)}
/// \quad (j\le i),\qquad a_{ij} = 0\quad (j > i),\qquad y_i = \sum_{j\le i} a_{ij} v_j .
/// ```
///
/// Every causal row is a probability vector with positive entries (row-stochastic);
/// T6 uses this to separate softmax heads from channels. Queries, keys and scale live in
/// any [`Field`] (the scores [`Self::scores`] are exact over the rationals); the matrix
/// itself needs `exp` ([`Self::attention`] for floats, or the rigorous enclosure
/// [`crate::interval::softmax_enclosure`] over the rationals).
///
/// # Examples
/// ```
/// use hidden_attention::{attention::SoftmaxHead, tensor::Matrix};
/// let q = Matrix::from_row_major(2, 1, vec![1.0f64, 1.0]).unwrap();
/// let h = SoftmaxHead::new(q.clone(), q, 1.0).unwrap();
/// let a = h.attention().unwrap();
/// assert_eq!(*a.get(0, 0), 1.0);
/// assert!((a.get(1, 0) + a.get(1, 1) - 1.0).abs() < 1e-15);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SoftmaxHead<T> {
    q: Matrix<T>,
    k: Matrix<T>,
    scale: T,
}

impl<T: Field> SoftmaxHead<T> {
    /// A head from `L × d` queries and keys and a scale `$s$`.
    ///
    /// # Errors
    /// [`Error::Shape`] naming `k` if its shape differs from `q`'s;
    /// [`Error::NonFinite`] if the scale is not finite.
    pub fn new(q: Matrix<T>, k: Matrix<T>, scale: T) -> Result<Self> {
        for (dim, (name, expected, found)) in [("L", q.rows(), k.rows()), ("d", q.cols(), k.cols())]
            .into_iter()
            .enumerate()
        {
            if expected != found {
                return Err(Error::Shape {
                    tensor: "k".into(),
                    dim,
                    name: name.into(),
                    expected,
                    found,
                });
            }
        }
        if !scale.is_finite_val() {
            return Err(Error::NonFinite {
                tensor: "scale".into(),
                index: vec![],
                value: scale.to_f64(),
            });
        }
        Ok(Self { q, k, scale })
    }

    /// Sequence length `$L$`.
    pub fn len(&self) -> usize {
        self.q.rows()
    }
    /// Whether `$L = 0$`.
    pub fn is_empty(&self) -> bool {
        self.q.rows() == 0
    }
    /// Head dimension `$d$`.
    pub fn dim(&self) -> usize {
        self.q.cols()
    }
    /// Queries (rows).
    pub fn queries(&self) -> &Matrix<T> {
        &self.q
    }
    /// Keys (rows).
    pub fn keys(&self) -> &Matrix<T> {
        &self.k
    }
    /// The scale `$s$`.
    pub fn scale(&self) -> &T {
        &self.scale
    }

    /// The causal scores `$s\langle q_i, k_j\rangle$` for `$j \le i$` (0 above the diagonal).
    pub fn scores(&self) -> Matrix<T> {
        let l = self.len();
        let mut m = Matrix::zeros(l, l);
        for i in 0..l {
            for j in 0..=i {
                *m.get_mut(i, j) = dot(self.q.row(i), self.k.row(j)) * &self.scale;
            }
        }
        m
    }

    /// The head with every entry mapped into another field.
    pub fn map<U: Field>(&self, f: impl Fn(&T) -> U) -> SoftmaxHead<U> {
        SoftmaxHead {
            q: self.q.map(&f),
            k: self.k.map(&f),
            scale: f(&self.scale),
        }
    }
}

impl<T: Real> SoftmaxHead<T> {
    /// The attention matrix, each row computed stably as
    /// `$\exp(z_{ij} - \max_{j'} z_{ij'}) / \sum_{j'} \exp(z_{ij'} - \max z)$`.
    ///
    /// # Errors
    /// [`Error::NonFiniteResult`] if a score overflows.
    pub fn attention(&self) -> Result<Matrix<T>> {
        let z = self.scores();
        let l = self.len();
        expect_finite_result("softmax scores", z.data(), &[l, l])?;
        let mut m = Matrix::zeros(l, l);
        for i in 0..l {
            let row = &z.row(i)[..=i];
            let mx = row.iter().copied().fold(T::neg_infinity(), T::max);
            let e: Vec<T> = row.iter().map(|&v| (v - mx).exp()).collect();
            let sum = e.iter().copied().fold(T::zero(), |a, b| a + b);
            for (j, ej) in e.into_iter().enumerate() {
                *m.get_mut(i, j) = ej / sum;
            }
        }
        Ok(m)
    }

    /// The output for scalar values: `$y = a v$`.
    ///
    /// # Errors
    /// [`Error::Shape`] if `v.len() != L`; as [`Self::attention`].
    pub fn output(&self, v: &[T]) -> Result<Vec<T>> {
        expect_len("v", v.len(), self.len())?;
        self.attention()?.mul_vec(v)
    }

    /// The output for vector values `$V \in \mathbb R^{L\times d_v}$`, column by column.
    ///
    /// # Errors
    /// As [`Self::output`].
    pub fn output_values(&self, v: &Matrix<T>) -> Result<Matrix<T>> {
        expect_len("V", v.rows(), self.len())?;
        let a = self.attention()?;
        per_column(v, |col| a.mul_vec(col))
    }
}

//! Causal (ungated) linear attention.

use crate::attention::GatedLinearHead;
use crate::error::{Error, Result};
use crate::scalar::Field;
use crate::tensor::{dot, expect_finite_result, Matrix};

/// A causal linear attention head of dimension `$d$`: queries `$q_i$` and keys `$k_j \in K^d$`,
///
/// ```math
/// a_{ij} = \langle q_i, k_j\rangle \quad (j \le i),\qquad a_{ij} = 0 \quad (j > i),
/// \qquad y_i = \sum_{j\le i} a_{ij} v_j ,
/// ```
///
/// i.e. `$a = \mathrm{tril}(QK^\top)$`: the gated head of [`GatedLinearHead`] with `$g \equiv 1$`.
///
/// # Examples
/// ```
/// use hidden_attention::{attention::LinearHead, scalar::ratio, tensor::Matrix};
/// let q = Matrix::from_row_major(2, 1, vec![ratio(1, 1), ratio(2, 1)]).unwrap();
/// let k = Matrix::from_row_major(2, 1, vec![ratio(3, 1), ratio(1, 2)]).unwrap();
/// let h = LinearHead::new(q, k).unwrap();
/// let a = h.attention().unwrap();
/// assert_eq!(*a.get(1, 0), ratio(6, 1));
/// assert_eq!(*a.get(0, 1), ratio(0, 1));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct LinearHead<T> {
    q: Matrix<T>,
    k: Matrix<T>,
}

impl<T: Field> LinearHead<T> {
    /// A head from `L × d` queries and keys.
    ///
    /// # Errors
    /// [`Error::Shape`] naming `k` if its shape differs from `q`'s.
    pub fn new(q: Matrix<T>, k: Matrix<T>) -> Result<Self> {
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
        Ok(Self { q, k })
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

    /// The attention matrix `$\mathrm{tril}(QK^\top)$`, `$O(L^2 d)$`. Fallible like
    /// [`GatedLinearHead::attention`] and [`crate::attention::SoftmaxHead::attention`].
    ///
    /// # Errors
    /// [`crate::Error::NonFiniteResult`] on float overflow.
    pub fn attention(&self) -> Result<Matrix<T>> {
        let l = self.len();
        let mut m = Matrix::zeros(l, l);
        for i in 0..l {
            for j in 0..=i {
                *m.get_mut(i, j) = dot(self.q.row(i), self.k.row(j));
            }
        }
        expect_finite_result("linear attention matrix", m.data(), &[l, l])?;
        Ok(m)
    }

    /// The output for scalar values, in recurrent form `$S_i = S_{i-1} + k_i v_i$`,
    /// `$y_i = \langle q_i, S_i\rangle$` — `$O(Ld)$`.
    ///
    /// # Errors
    /// [`Error::Shape`] if `v.len() != L`; [`Error::NonFiniteResult`] on float overflow.
    pub fn output(&self, v: &[T]) -> Result<Vec<T>> {
        let l = self.len();
        expect_len("v", v.len(), l)?;
        let mut s = vec![T::zero(); self.dim()];
        let mut y = Vec::with_capacity(l);
        for (i, vi) in v.iter().enumerate() {
            for (sk, kk) in s.iter_mut().zip(self.k.row(i)) {
                *sk += &(kk.clone() * vi);
            }
            y.push(dot(self.q.row(i), &s));
        }
        expect_finite_result("linear head output", &y, &[l])?;
        Ok(y)
    }

    /// The output for vector values `$V \in K^{L\times d_v}$`: column `$c$` of the result is
    /// [`Self::output`] of column `$c$` of `$V$`.
    ///
    /// # Errors
    /// As [`Self::output`], with `V`'s row count checked.
    pub fn output_values(&self, v: &Matrix<T>) -> Result<Matrix<T>> {
        expect_len("V", v.rows(), self.len())?;
        per_column(v, |col| self.output(col))
    }

    /// The same head with gates `$g \equiv 1$`.
    pub fn to_gated(&self) -> GatedLinearHead<T> {
        let ones = Matrix::from_row_major(
            self.len(),
            self.dim(),
            vec![T::one(); self.len() * self.dim()],
        )
        .expect("L × d");
        GatedLinearHead::new(self.q.clone(), self.k.clone(), ones).expect("shapes agree")
    }
}

pub(crate) fn expect_len(tensor: &str, found: usize, expected: usize) -> Result<()> {
    if found != expected {
        return Err(Error::Shape {
            tensor: tensor.into(),
            dim: 0,
            name: "L".into(),
            expected,
            found,
        });
    }
    Ok(())
}

/// Apply a scalar-value map to each column of `v`, assembling an `L × d_v` result.
pub(crate) fn per_column<T: Field>(
    v: &Matrix<T>,
    f: impl Fn(&[T]) -> Result<Vec<T>>,
) -> Result<Matrix<T>> {
    let (l, dv) = (v.rows(), v.cols());
    let mut out = Matrix::zeros(l, dv);
    for c in 0..dv {
        let col: Vec<T> = (0..l).map(|i| v.get(i, c).clone()).collect();
        for (i, y) in f(&col)?.into_iter().enumerate() {
            *out.get_mut(i, c) = y;
        }
    }
    Ok(out)
}

//! Causal gated linear attention with diagonal per-step gates.

use crate::error::{Error, Result};
use crate::scalar::Field;
use crate::tensor::{dot, expect_finite_result, Matrix};

/// A causal gated linear attention head of dimension `$d$` with diagonal gates
/// `$g_k \in K^d$`: its attention matrix is
///
/// ```math
/// a_{ij} = \Big\langle q_i,\ \Big(\prod_{k=j+1}^{i} g_k\Big) \odot k_j \Big\rangle \quad (j\le i),
/// \qquad y_i = \sum_{j \le i} a_{ij}\, v_j .
/// ```
///
/// `$g \equiv 1$` is plain causal linear attention, `$g \equiv \gamma$` RetNet retention,
/// a per-step scalar gate Mamba-2/SSD. Queries, keys and gates are `L × d` matrices.
#[derive(Debug, Clone, PartialEq)]
pub struct GatedLinearHead<T> {
    q: Matrix<T>,
    k: Matrix<T>,
    gates: Matrix<T>,
}

impl<T: Field> GatedLinearHead<T> {
    /// A head from `L × d` queries, keys and gates.
    ///
    /// # Errors
    /// [`Error::Shape`] naming `k` or `gates` if its shape differs from `q`'s.
    pub fn new(q: Matrix<T>, k: Matrix<T>, gates: Matrix<T>) -> Result<Self> {
        for (name, m) in [("k", &k), ("gates", &gates)] {
            for (dim, (dname, expected, found)) in
                [("L", q.rows(), m.rows()), ("d", q.cols(), m.cols())]
                    .into_iter()
                    .enumerate()
            {
                if expected != found {
                    return Err(Error::Shape {
                        tensor: name.into(),
                        dim,
                        name: dname.into(),
                        expected,
                        found,
                    });
                }
            }
        }
        Ok(Self { q, k, gates })
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
    /// Queries `$q_i$` (rows).
    pub fn queries(&self) -> &Matrix<T> {
        &self.q
    }
    /// Keys `$k_j$` (rows).
    pub fn keys(&self) -> &Matrix<T> {
        &self.k
    }
    /// Gates `$g_k$` (rows).
    pub fn gates(&self) -> &Matrix<T> {
        &self.gates
    }

    /// The causal attention matrix `$a$`, computed key by key: for each `$j$` the gated key
    /// `$p = k_j$` is carried forward, `$p \leftarrow g_i \odot p$`, and scored against every
    /// later query. (The channel's [`crate::ssm::attention_matrix()`] runs query by query;
    /// the two orders agree exactly over the rationals — T2a.)
    ///
    /// # Errors
    /// [`Error::NonFiniteResult`] on float overflow.
    ///
    /// # Complexity
    /// `$O(L^2 d)$`.
    pub fn attention(&self) -> Result<Matrix<T>> {
        let l = self.len();
        let mut m = Matrix::zeros(l, l);
        self.for_each_score(|i, j, s| *m.get_mut(i, j) = s);
        expect_finite_result("gated attention matrix", m.data(), &[l, l])?;
        Ok(m)
    }

    /// The output for scalar values `$v_j$`: `$y_i = \sum_{j\le i} a_{ij} v_j$`.
    ///
    /// # Errors
    /// [`Error::Shape`] if `v.len() != L`; [`Error::NonFiniteResult`] on float overflow.
    pub fn output(&self, v: &[T]) -> Result<Vec<T>> {
        let l = self.len();
        if v.len() != l {
            return Err(Error::Shape {
                tensor: "v".into(),
                dim: 0,
                name: "L".into(),
                expected: l,
                found: v.len(),
            });
        }
        let mut y = vec![T::zero(); l];
        self.for_each_score(|i, j, s| y[i] += &(s * &v[j]));
        expect_finite_result("gated head output", &y, &[l])?;
        Ok(y)
    }

    /// Visit every causal score `$(i, j, a_{ij})$`, key-major.
    fn for_each_score(&self, mut f: impl FnMut(usize, usize, T)) {
        let l = self.len();
        let mut p = vec![T::zero(); self.dim()];
        for j in 0..l {
            p.clone_from_slice(self.k.row(j));
            for i in j..l {
                if i > j {
                    for (pk, gk) in p.iter_mut().zip(self.gates.row(i)) {
                        *pk *= gk;
                    }
                }
                f(i, j, dot(self.q.row(i), &p));
            }
        }
    }
}

//! Semiseparable rank (T4, T5, T6b): exact by rational Gaussian elimination, and in
//! floats by singular values (faer), each with a *witness* submatrix.
//!
//! The lower-triangular `$L\times L$` matrix `$M$` is **`$N$`-semiseparable** when every
//! block
//!
//! ```math
//! H_j = M[j..L,\ 0..=j] \qquad (\text{rows } j..L-1,\ \text{columns } 0..j),\quad j = 0..L-1,
//! ```
//!
//! has rank `$\le N$`; its **semiseparable rank** is `$\max_j \operatorname{rank} H_j$`. The
//! hidden attention of a state-`$N$` channel is `$N$`-semiseparable (T4): `$H_j = O_j R_j$` with
//! `$R_j$` the map `$x_{0..j} \mapsto h_j \in K^N$` and `$O_j$` the map `$h_j \mapsto
//! (y_j, \dots, y_{L-1})$` restricted to inputs up to `$j$` — a factorisation through `$K^N$`.
//! The same argument holds for *any* linear recurrence with state in `$K^N$` (general
//! time-varying transitions), which makes the semiseparable rank a lower bound for the
//! state size of every realisation (T5).

use faer::Mat;

use num_traits::{One, Zero};

use crate::error::{Error, Result};
use crate::scalar::{Exact, Field};
use crate::tensor::Matrix;

/// A witness of rank: the rows and columns (indices into the full matrix) of a square
/// submatrix that is nonsingular, so the matrix it was cut from has rank `$\ge$` its size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Witness {
    /// Row indices (increasing).
    pub rows: Vec<usize>,
    /// Column indices (increasing).
    pub cols: Vec<usize>,
}

impl Witness {
    /// Size `$k$` of the witness submatrix.
    pub fn size(&self) -> usize {
        self.rows.len()
    }

    /// Re-verify over the rationals: the submatrix of `m` is square and its determinant is
    /// nonzero (exact), so `$\operatorname{rank} m \ge k$`.
    pub fn verify(&self, m: &Matrix<Exact>) -> bool {
        self.rows.len() == self.cols.len()
            && self.rows.iter().all(|&r| r < m.rows())
            && self.cols.iter().all(|&c| c < m.cols())
            && !determinant(&submatrix(m, &self.rows, &self.cols)).is_zero_exact()
    }
}

trait ZeroExact {
    fn is_zero_exact(&self) -> bool;
}
impl ZeroExact for Exact {
    fn is_zero_exact(&self) -> bool {
        num_traits::Zero::is_zero(self)
    }
}

/// The submatrix of `m` on `rows × cols`.
pub fn submatrix<T: Field>(m: &Matrix<T>, rows: &[usize], cols: &[usize]) -> Matrix<T> {
    let data = rows
        .iter()
        .flat_map(|&r| cols.iter().map(move |&c| m.get(r, c).clone()))
        .collect();
    Matrix::from_row_major(rows.len(), cols.len(), data).expect("rows × cols")
}

/// The block `$H_j = M[j..L, 0..=j]$` and its row and column indices.
pub fn block<T: Field>(m: &Matrix<T>, j: usize) -> (Matrix<T>, Vec<usize>, Vec<usize>) {
    let rows: Vec<usize> = (j..m.rows()).collect();
    let cols: Vec<usize> = (0..=j).collect();
    (submatrix(m, &rows, &cols), rows, cols)
}

/// Exact rank of a rational matrix by Gaussian elimination with row pivoting, and a
/// witness: the pivot rows × pivot columns, a nonsingular `$r\times r$` submatrix.
///
/// # Examples
/// ```
/// use hidden_attention::{scalar::ratio, semiseparable::rank_exact, tensor::Matrix};
/// let m = Matrix::from_row_major(2, 2, vec![ratio(1, 1), ratio(2, 1), ratio(2, 1), ratio(4, 1)]).unwrap();
/// let (r, w) = rank_exact(&m);
/// assert_eq!(r, 1);
/// assert!(w.verify(&m));
/// ```
pub fn rank_exact(m: &Matrix<Exact>) -> (usize, Witness) {
    let (rows, cols) = (m.rows(), m.cols());
    let mut a: Vec<Vec<Exact>> = (0..rows).map(|i| m.row(i).to_vec()).collect();
    let mut row_id: Vec<usize> = (0..rows).collect();
    let mut prow = Vec::new();
    let mut pcol = Vec::new();
    let mut r = 0;
    for c in 0..cols {
        if r == rows {
            break;
        }
        let Some(p) = (r..rows).find(|&i| !a[i][c].is_zero_exact()) else {
            continue;
        };
        a.swap(r, p);
        row_id.swap(r, p);
        let pivot = a[r][c].clone();
        for i in r + 1..rows {
            if a[i][c].is_zero_exact() {
                continue;
            }
            let f = a[i][c].clone() / &pivot;
            let (top, rest) = a.split_at_mut(i);
            for (x, p) in rest[0][c..].iter_mut().zip(&top[r][c..]) {
                *x -= &(p.clone() * &f);
            }
        }
        prow.push(row_id[r]);
        pcol.push(c);
        r += 1;
    }
    prow.sort_unstable();
    (
        r,
        Witness {
            rows: prow,
            cols: pcol,
        },
    )
}

/// Exact determinant of a square rational matrix (Gaussian elimination); 0 for a
/// non-square matrix of size 0 is 1 by convention.
pub fn determinant(m: &Matrix<Exact>) -> Exact {
    let n = m.rows();
    assert_eq!(n, m.cols(), "determinant of a non-square matrix");
    let mut a: Vec<Vec<Exact>> = (0..n).map(|i| m.row(i).to_vec()).collect();
    let mut det = <Exact as num_traits::One>::one();
    for c in 0..n {
        let Some(p) = (c..n).find(|&i| !a[i][c].is_zero_exact()) else {
            return num_traits::Zero::zero();
        };
        if p != c {
            a.swap(p, c);
            det = -det;
        }
        let pivot = a[c][c].clone();
        det *= &pivot;
        for i in c + 1..n {
            if a[i][c].is_zero_exact() {
                continue;
            }
            let f = a[i][c].clone() / &pivot;
            let (top, rest) = a.split_at_mut(i);
            for (x, p) in rest[0][c..].iter_mut().zip(&top[c][c..]) {
                *x -= &(p.clone() * &f);
            }
        }
    }
    det
}

/// **T4 certificate of the upper bound**: an exact rank-`$N$` factorisation of one block
/// `$H_j = \tilde\alpha[j..L,\ 0..=j] = U V^\top$` with `$U$` of size `$(L-j)\times N$` and `$V$`
/// of size `$(j+1)\times N$`, so `$\operatorname{rank} H_j \le N$` (a [`Witness`] proves the
/// lower bound). Built from the channel by [`channel_block_factorisation`]:
///
/// ```math
/// U_{i,n} = C_{i,n}\prod_{k=j+1}^{i}\bar A_{k,n},\qquad
/// V_{j',n} = \Big(\prod_{k=j'+1}^{j}\bar A_{k,n}\Big)\bar B_{j',n},
/// ```
///
/// since `$\tilde\alpha_{ij'} = \sum_n C_{i,n}\prod_{k=j'+1}^{i}\bar A_{k,n}\bar B_{j',n}$`
/// and the product splits at `$j$` (`$j' \le j \le i$`). Coq: `t4_semiseparable_rank`
/// (`proofs/T4_Semiseparable.v`).
#[derive(Debug, Clone, PartialEq)]
pub struct BlockFactorisation {
    /// The split `$j$` of the block `$H_j$`.
    pub split: usize,
    /// `$U$`: one row per block row `$i = j..L-1$`, `$N$` columns.
    pub u: Matrix<Exact>,
    /// `$V$`: one row per block column `$j' = 0..=j$`, `$N$` columns.
    pub v: Matrix<Exact>,
}

impl BlockFactorisation {
    /// The certified upper bound: the number of columns of `$U$` (and `$V$`).
    pub fn rank_bound(&self) -> usize {
        self.u.cols()
    }

    /// Re-verify over the rationals against the full matrix `m`: `$U$` has `$L - j$` rows,
    /// `$V$` has `$j+1$` rows, both have [`Self::rank_bound`] columns, and `$U V^\top$` equals
    /// the block `$H_j$` of `m` entry by entry (exact multiplication, no tolerance).
    pub fn verify(&self, m: &Matrix<Exact>) -> bool {
        let (l, j, n) = (m.rows(), self.split, self.u.cols());
        if j >= l || m.cols() != l || self.u.rows() != l - j || self.v.rows() != j + 1 {
            return false;
        }
        if self.v.cols() != n {
            return false;
        }
        (j..l).all(|i| {
            (0..=j).all(|c| {
                let uv = (0..n).fold(Exact::zero(), |s, k| {
                    s + self.u.get(i - j, k).clone() * self.v.get(c, k)
                });
                &uv == m.get(i, c)
            })
        })
    }
}

/// The factorisation `$H_j = U V^\top$` of [`BlockFactorisation`] for the split `$j$` of a
/// channel's `$\tilde\alpha$` (T4), built from `$\bar A$`, `$\bar B$`, `$C$` alone (not from
/// `$\tilde\alpha$`), with `$N$` columns.
///
/// # Errors
/// [`Error::InvalidArgument`] if `$j \ge L$`.
///
/// # Examples
/// ```
/// use hidden_attention::{scalar::ratio, semiseparable::channel_block_factorisation,
///                        ssm::{attention_matrix as alpha, Channel}};
/// let r = |p| ratio(p, 2);
/// let ch = Channel::new(3, 1, vec![r(1), r(3), r(-1)], vec![r(2), r(1), r(4)], vec![r(1), r(2), r(2)]).unwrap();
/// let f = channel_block_factorisation(&ch, 1).unwrap();
/// assert_eq!(f.rank_bound(), 1);
/// assert!(f.verify(&alpha(&ch).unwrap()));
/// ```
pub fn channel_block_factorisation(
    ch: &crate::ssm::Channel<Exact>,
    j: usize,
) -> Result<BlockFactorisation> {
    let (l, n) = (ch.len(), ch.state());
    if j >= l {
        return Err(Error::InvalidArgument {
            name: "split".into(),
            reason: format!("{j} is not below L = {l}"),
        });
    }
    // U: running product of Ā over steps j+1..=i, forwards from i = j
    let mut p = vec![Exact::one(); n];
    let mut u = Vec::with_capacity((l - j) * n);
    for i in j..l {
        if i > j {
            for (pk, a) in p.iter_mut().zip(ch.abar(i)) {
                *pk *= a;
            }
        }
        u.extend(p.iter().zip(ch.c(i)).map(|(pk, c)| pk.clone() * c));
    }
    // V: running product of Ā over steps j'+1..=j, backwards from j' = j
    let mut q = vec![Exact::one(); n];
    let mut v = vec![Exact::zero(); (j + 1) * n];
    for jp in (0..=j).rev() {
        for (k, (qk, b)) in q.iter().zip(ch.bbar(jp)).enumerate() {
            v[jp * n + k] = qk.clone() * b;
        }
        for (qk, a) in q.iter_mut().zip(ch.abar(jp)) {
            *qk *= a;
        }
    }
    Ok(BlockFactorisation {
        split: j,
        u: Matrix::from_row_major(l - j, n, u)?,
        v: Matrix::from_row_major(j + 1, n, v)?,
    })
}

/// The semiseparable rank of a lower-triangular matrix with its witness.
#[derive(Debug, Clone, PartialEq)]
pub struct SemiseparableRank {
    /// `$\max_j \operatorname{rank} H_j$`.
    pub rank: usize,
    /// The split `$j$` where the maximum is first reached.
    pub split: usize,
    /// `$\operatorname{rank} H_j$` for every `$j$` (the state sizes of a minimal realisation).
    pub ranks: Vec<usize>,
    /// A nonsingular `rank × rank` submatrix of `$H_{\text{split}}$`, indices into the full matrix.
    pub witness: Witness,
}

/// Check `m` is square and lower-triangular.
///
/// # Errors
/// [`Error::Shape`] if not square, [`Error::NotLowerTriangular`] naming the first nonzero
/// entry above the diagonal.
pub fn expect_lower_triangular<T: Field>(m: &Matrix<T>) -> Result<()> {
    if m.rows() != m.cols() {
        return Err(Error::Shape {
            tensor: "matrix".into(),
            dim: 1,
            name: "L".into(),
            expected: m.rows(),
            found: m.cols(),
        });
    }
    for i in 0..m.rows() {
        for j in i + 1..m.cols() {
            if m.get(i, j).class() != crate::scalar::Class::Zero {
                return Err(Error::NotLowerTriangular {
                    row: i,
                    col: j,
                    value: m.get(i, j).to_string(),
                });
            }
        }
    }
    Ok(())
}

/// **Exact semiseparable rank** `$\max_j \operatorname{rank} M[j..L, 0..=j]$` with a witness
/// (T4, T5). Entries above the diagonal are ignored.
///
/// ```math
/// \operatorname{ssrank} M = \max_{0\le j<L}\operatorname{rank} M[j..L,\ 0..=j],
/// ```
///
/// with a [`Witness`]: a nonsingular square submatrix of the block where the maximum is
/// reached ([`Witness::verify`] recomputes its exact determinant).
///
/// Coq: `ss_rank`, `t4_semiseparable_rank`, `t4_ss_rank_le_state` (T4: at most `$N$` for
/// the `$\tilde\alpha$` of a state-`$N$` channel), `t5_ss_rank_le_state` (T5: a lower bound
/// on the state of every realisation) (`proofs/T4_Semiseparable.v`,
/// `proofs/T5_Realisation.v`).
///
/// # Complexity
/// `$O(L^4)$` rational operations (one elimination per split).
///
/// # Examples
/// ```
/// use hidden_attention::{scalar::ratio, semiseparable::semiseparable_rank_exact, tensor::Matrix};
/// // the identity is 1-semiseparable (a channel with Ā = 0 realises it with N = 1)
/// let mut m = Matrix::zeros(3, 3);
/// for i in 0..3 { *m.get_mut(i, i) = ratio(1, 1); }
/// let s = semiseparable_rank_exact(&m);
/// assert_eq!(s.rank, 1);
/// assert!(s.witness.verify(&m));
/// ```
pub fn semiseparable_rank_exact(m: &Matrix<Exact>) -> SemiseparableRank {
    let l = m.rows().min(m.cols());
    let mut best = SemiseparableRank {
        rank: 0,
        split: 0,
        ranks: Vec::with_capacity(l),
        witness: Witness {
            rows: vec![],
            cols: vec![],
        },
    };
    for j in 0..l {
        let (h, rows, cols) = block(m, j);
        let (r, w) = rank_exact(&h);
        best.ranks.push(r);
        if r > best.rank {
            best.rank = r;
            best.split = j;
            best.witness = Witness {
                rows: w.rows.iter().map(|&i| rows[i]).collect(),
                cols: w.cols.iter().map(|&c| cols[c]).collect(),
            };
        }
    }
    best
}

/// The float semiseparable rank: per block, the number of singular values above a
/// threshold, with the threshold used and a witness chosen by complete pivoting.
#[derive(Debug, Clone, PartialEq)]
pub struct FloatSemiseparableRank {
    /// `$\max_j$` numerical rank of `$H_j$`.
    pub rank: usize,
    /// The split `$j$` where the maximum is first reached.
    pub split: usize,
    /// Numerical rank of every block.
    pub ranks: Vec<usize>,
    /// Singular values of `$H_{\text{split}}$` (decreasing).
    pub singular_values: Vec<f64>,
    /// The threshold below which a singular value counts as zero.
    pub threshold: f64,
    /// `rank × rank` submatrix of `$H_{\text{split}}$` chosen by complete pivoting.
    pub witness: Witness,
}

/// Singular values of a float matrix (faer's SVD), decreasing.
pub fn singular_values(m: &Matrix<f64>) -> Vec<f64> {
    if m.rows() == 0 || m.cols() == 0 {
        return vec![];
    }
    let a = Mat::<f64>::from_fn(m.rows(), m.cols(), |i, j| *m.get(i, j));
    let mut s = a.singular_values();
    s.sort_by(|x, y| y.total_cmp(x));
    s
}

/// The default rank threshold `$\sigma_{\max} \cdot \max(\text{rows}, \text{cols}) \cdot
/// \varepsilon$` with `$\varepsilon = 2^{-52}$` (the convention of LAPACK-based `matrix_rank`),
/// which covers the backward error of the SVD itself; callers whose matrix carries a
/// known entry error `$E$` should add a bound on `$\lVert E\rVert_2$` (e.g. `$\lVert E\rVert_F$`).
pub fn default_threshold(sigma_max: f64, rows: usize, cols: usize) -> f64 {
    sigma_max * rows.max(cols) as f64 * f64::EPSILON
}

/// **Float semiseparable rank** by faer SVD of every block `$H_j$`. A singular value counts
/// when it exceeds `extra + default_threshold(σ_max(H_j), …)`; `extra` is the caller's
/// bound on the spectral norm of the entry error of `$M$` (0 for exact input):
///
/// ```math
/// \operatorname{rank}_\tau H_j = \#\{k : \sigma_k(H_j) > \tau_j\},\qquad
/// \tau_j = \texttt{extra} + \sigma_1(H_j)\max(m_j, n_j)\,2^{-52}.
/// ```
///
/// Theorem T4 in floats (Coq: `t4_semiseparable_rank` for the exact rank; the threshold
/// is numerical analysis, not formalised).
///
/// # Examples
/// ```
/// use hidden_attention::{scalar::ratio, semiseparable::{semiseparable_rank_exact, semiseparable_rank_f64},
///                        tensor::Matrix};
/// // the lower triangle of u uᵀ, u = (1, 2, 3): semiseparable rank 1
/// let u = [1.0f64, 2.0, 3.0];
/// let mut m = Matrix::zeros(3, 3);
/// for i in 0..3 { for j in 0..=i { *m.get_mut(i, j) = u[i] * u[j]; } }
/// let s = semiseparable_rank_f64(&m, 0.0);
/// assert_eq!(s.rank, 1);
/// assert_eq!(s.ranks, vec![1, 1, 1]);
/// assert_eq!(s.rank, semiseparable_rank_exact(&m.map(|v| ratio(*v as i64, 1))).rank);
/// ```
pub fn semiseparable_rank_f64(m: &Matrix<f64>, extra: f64) -> FloatSemiseparableRank {
    let l = m.rows().min(m.cols());
    let mut best = FloatSemiseparableRank {
        rank: 0,
        split: 0,
        ranks: Vec::with_capacity(l),
        singular_values: vec![],
        threshold: extra,
        witness: Witness {
            rows: vec![],
            cols: vec![],
        },
    };
    for j in 0..l {
        let (h, rows, cols) = block(m, j);
        let s = singular_values(&h);
        let smax = s.first().copied().unwrap_or(0.0);
        let tol = extra + default_threshold(smax, h.rows(), h.cols());
        let r = s.iter().filter(|&&v| v > tol).count();
        best.ranks.push(r);
        if r > best.rank || j == 0 {
            let w = pivot_witness(&h, r);
            best.rank = r;
            best.split = j;
            best.singular_values = s;
            best.threshold = tol;
            best.witness = Witness {
                rows: w.rows.iter().map(|&i| rows[i]).collect(),
                cols: w.cols.iter().map(|&c| cols[c]).collect(),
            };
        }
    }
    best
}

/// A float-guided witness of size `k` inside the block `$H_j$` of `m`: the first `k` pivots
/// of Gaussian elimination with complete pivoting (indices into the full matrix). Meant
/// to be certified exactly or in interval arithmetic afterwards (T6b).
pub fn block_witness(m: &Matrix<f64>, j: usize, k: usize) -> Witness {
    let (h, rows, cols) = block(m, j);
    let w = pivot_witness(&h, k);
    Witness {
        rows: w.rows.iter().map(|&i| rows[i]).collect(),
        cols: w.cols.iter().map(|&c| cols[c]).collect(),
    }
}

/// `r` steps of Gaussian elimination with complete pivoting: the pivot rows and columns.
fn pivot_witness(m: &Matrix<f64>, r: usize) -> Witness {
    let (rows, cols) = (m.rows(), m.cols());
    let mut a: Vec<Vec<f64>> = (0..rows).map(|i| m.row(i).to_vec()).collect();
    let mut live_r: Vec<bool> = vec![true; rows];
    let mut live_c: Vec<bool> = vec![true; cols];
    let (mut pr, mut pc) = (vec![], vec![]);
    for _ in 0..r {
        let mut best = (0.0, usize::MAX, usize::MAX);
        for (i, row) in a.iter().enumerate().filter(|(i, _)| live_r[*i]) {
            for (c, v) in row.iter().enumerate().filter(|(c, _)| live_c[*c]) {
                if v.abs() > best.0 {
                    best = (v.abs(), i, c);
                }
            }
        }
        let (_, pi, pj) = best;
        if pi == usize::MAX {
            break;
        }
        live_r[pi] = false;
        live_c[pj] = false;
        pr.push(pi);
        pc.push(pj);
        let prow = a[pi].clone();
        for (i, row) in a.iter_mut().enumerate() {
            if live_r[i] && row[pj] != 0.0 {
                let f = row[pj] / prow[pj];
                for (v, p) in row.iter_mut().zip(&prow) {
                    *v -= f * p;
                }
            }
        }
    }
    pr.sort_unstable();
    pc.sort_unstable();
    Witness { rows: pr, cols: pc }
}

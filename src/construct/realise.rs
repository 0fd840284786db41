//! Realisation (T5): a lower-triangular matrix → a channel whose hidden attention it is.
//!
//! | construction | state | class | exact | condition |
//! | --- | --- | --- | --- | --- |
//! | [`realise_full`] | `$N = L$` | diagonal, `$\bar A \equiv 1$` | always | none |
//! | [`realise_minimal`] | `$N = $` semiseparable rank | general time-varying `$N\times N$` transitions ([`TimeVaryingChannel`]) | always | none |
//! | [`realise_diagonal`] | `$N = $` semiseparable rank | diagonal `$\bar A \in K^N$`, entries 0 allowed | when found | see its docs; else a [`DiagonalCounterexample`] |
//!
//! No realisation of any class has fewer states than the semiseparable rank (the T4
//! factorisation argument holds for general transitions), so the last two are minimal.
//! *Minimal state = semiseparable rank* is therefore a theorem for **general time-varying
//! transitions only** ([`realise_minimal`] attains it). For S6 channels (diagonal
//! `$\bar A$`) the rank is only a lower bound: nothing here proves a diagonal realisation
//! of that size exists, and [`realise_diagonal`] reaches it only when one of its
//! constructions succeeds.

use num_traits::{One, Zero};

use crate::error::{Error, Result};
use crate::scalar::{Exact, Field};
use crate::semiseparable::{expect_lower_triangular, rank_exact, semiseparable_rank_exact};
use crate::ssm::{attention_matrix, Channel};
use crate::tensor::{dot, Matrix};

/// **T5, `$N = L$`**: every lower-triangular `$M$` is the hidden attention of the channel with
///
/// ```math
/// \bar A_t \equiv \mathbf 1,\qquad \bar B_j = e_j,\qquad C_i = (M_{i,0},\dots,M_{i,i},0,\dots,0),
/// ```
///
/// since `$\tilde\alpha_{ij} = \langle C_i, e_j\rangle = M_{ij}$` for `$j\le i$`. Exact over any field.
///
/// Coq: `t5_realisation_full_state` (the same construction: `real_Abar`, `real_Bbar`,
/// `real_C`), `t5_realisable_iff_lower_triangular` (`proofs/T5_Realisation.v`).
///
/// # Errors
/// [`Error::Shape`] if not square; [`Error::NotLowerTriangular`]; [`Error::InvalidArgument`]
/// for `$L = 0$`.
///
/// # Examples
/// ```
/// use hidden_attention::{construct::realise_full, scalar::ratio, ssm::attention_matrix as alpha, tensor::Matrix};
/// let m = Matrix::from_row_major(2, 2, vec![ratio(1, 1), ratio(0, 1), ratio(-3, 2), ratio(2, 1)]).unwrap();
/// let ch = realise_full(&m).unwrap();
/// assert_eq!(ch.state(), 2);
/// assert_eq!(alpha(&ch).unwrap(), m);
/// ```
pub fn realise_full<T: Field>(m: &Matrix<T>) -> Result<Channel<T>> {
    expect_lower_triangular(m)?;
    let l = m.rows();
    let abar = vec![T::one(); l * l];
    let mut bbar = vec![T::zero(); l * l];
    let mut c = vec![T::zero(); l * l];
    for i in 0..l {
        bbar[i * l + i] = T::one();
        c[i * l..i * l + i + 1].clone_from_slice(&m.row(i)[..=i]);
    }
    Channel::new(l, l, abar, bbar, c)
}

/// A channel with general time-varying transitions (the sequentially semiseparable form):
///
/// ```math
/// h_t = A_t h_{t-1} + b_t x_t,\qquad y_t = \langle c_t, h_t\rangle,\qquad A_t\in K^{N\times N},
/// ```
///
/// so `$\tilde\alpha_{ij} = c_i^\top A_i A_{i-1}\cdots A_{j+1} b_j$` (`$j\le i$`). An S6 channel is
/// the case of diagonal `$A_t$`.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeVaryingChannel<T> {
    /// `$A_t$`, one `$N\times N$` matrix per step (`$A_0$` acts on `$h_{-1} = 0$`).
    pub a: Vec<Matrix<T>>,
    /// `$b_t$` (rows), `L × N`.
    pub b: Matrix<T>,
    /// `$c_t$` (rows), `L × N`.
    pub c: Matrix<T>,
}

impl<T: Field> TimeVaryingChannel<T> {
    /// Sequence length.
    pub fn len(&self) -> usize {
        self.b.rows()
    }
    /// Whether `$L = 0$`.
    pub fn is_empty(&self) -> bool {
        self.b.rows() == 0
    }
    /// State size `$N$`.
    pub fn state(&self) -> usize {
        self.b.cols()
    }
    /// The S6 channel with `$A_t = \mathrm{diag}(\bar A_t)$`.
    pub fn from_channel(ch: &Channel<T>) -> Self {
        let (l, n) = (ch.len(), ch.state());
        let a = (0..l)
            .map(|t| {
                let mut m = Matrix::zeros(n, n);
                for (s, v) in ch.abar(t).iter().enumerate() {
                    *m.get_mut(s, s) = v.clone();
                }
                m
            })
            .collect();
        let m = |v: &[T]| Matrix::from_row_major(l, n, v.to_vec()).expect("L × N");
        Self {
            a,
            b: m(ch.bbar_all()),
            c: m(ch.c_all()),
        }
    }
    /// Whether every transition is diagonal.
    pub fn is_diagonal(&self) -> bool {
        self.a.iter().all(|m| {
            (0..m.rows()).all(|i| {
                (0..m.cols()).all(|j| i == j || m.get(i, j).class() == crate::scalar::Class::Zero)
            })
        })
    }
    /// The diagonal S6 channel, when every transition is diagonal.
    pub fn to_channel(&self) -> Option<Channel<T>> {
        if !self.is_diagonal() {
            return None;
        }
        let (l, n) = (self.len(), self.state());
        let abar = self
            .a
            .iter()
            .flat_map(|m| (0..n).map(move |s| m.get(s, s).clone()))
            .collect();
        Channel::new(l, n, abar, self.b.data().to_vec(), self.c.data().to_vec()).ok()
    }
    /// The hidden attention `$\tilde\alpha_{ij} = c_i^\top A_i\cdots A_{j+1} b_j$`, `$O(L^2N^2)$`:
    /// for each `$j$` the vector `$p = b_j$` is carried forward, `$p \leftarrow A_i p$`.
    pub fn attention(&self) -> Matrix<T> {
        let l = self.len();
        let mut out = Matrix::zeros(l, l);
        for j in 0..l {
            let mut p = self.b.row(j).to_vec();
            for i in j..l {
                if i > j {
                    p = mat_vec(&self.a[i], &p);
                }
                *out.get_mut(i, j) = dot(self.c.row(i), &p);
            }
        }
        out
    }
    /// The recurrent scan on input `x`.
    ///
    /// # Errors
    /// [`Error::Shape`] if `x.len() != L`.
    pub fn scan(&self, x: &[T]) -> Result<Vec<T>> {
        crate::attention::linear::expect_len("x", x.len(), self.len())?;
        let mut h = vec![T::zero(); self.state()];
        let mut y = Vec::with_capacity(x.len());
        for (t, xt) in x.iter().enumerate() {
            h = mat_vec(&self.a[t], &h);
            for (hk, bk) in h.iter_mut().zip(self.b.row(t)) {
                *hk += &(bk.clone() * xt);
            }
            y.push(dot(self.c.row(t), &h));
        }
        Ok(y)
    }
}

fn mat_vec<T: Field>(m: &Matrix<T>, v: &[T]) -> Vec<T> {
    (0..m.rows()).map(|r| dot(m.row(r), v)).collect()
}

/// Solve `$A x = b$` exactly (`$A$` given by rows); a solution with free variables 0, or
/// `None` when inconsistent.
pub(crate) fn solve(a: &[Vec<Exact>], ncols: usize, b: &[Exact]) -> Option<Vec<Exact>> {
    let m = a.len();
    let mut aug: Vec<Vec<Exact>> = a
        .iter()
        .zip(b)
        .map(|(row, bi)| {
            let mut r = row.clone();
            r.push(bi.clone());
            r
        })
        .collect();
    let mut pivots = Vec::new();
    let mut r = 0;
    for c in 0..ncols {
        let Some(p) = (r..m).find(|&i| !aug[i][c].is_zero()) else {
            continue;
        };
        aug.swap(r, p);
        let inv = Exact::one() / &aug[r][c];
        for v in aug[r].iter_mut() {
            *v *= &inv;
        }
        for i in 0..m {
            if i != r && !aug[i][c].is_zero() {
                let f = aug[i][c].clone();
                let pivot_row = aug[r].clone();
                for (x, p) in aug[i].iter_mut().zip(&pivot_row) {
                    *x -= &(p.clone() * &f);
                }
            }
        }
        pivots.push(c);
        r += 1;
        if r == m {
            break;
        }
    }
    if aug[r..].iter().any(|row| !row[ncols].is_zero()) {
        return None;
    }
    let mut x = vec![Exact::zero(); ncols];
    for (i, &c) in pivots.iter().enumerate() {
        x[c] = aug[i][ncols].clone();
    }
    Some(x)
}

/// Coefficients `$w$` with `$w^\top R = v$` for the rows of `basis` (length `width`).
fn express(basis: &[Vec<Exact>], width: usize, v: &[Exact]) -> Option<Vec<Exact>> {
    // columns of the system are the basis rows: (width × r) x = v
    let r = basis.len();
    let rows: Vec<Vec<Exact>> = (0..width)
        .map(|c| (0..r).map(|k| basis[k][c].clone()).collect())
        .collect();
    solve(&rows, r, v)
}

/// **T5, minimal state, general transitions (exact)**: the sequentially semiseparable
/// realisation of a lower-triangular rational `$M$` with state `$N = $` its semiseparable
/// rank `$r = \max_j \operatorname{rank} H_j$`, `$H_j = M[j..L, 0..=j]$`.
///
/// Construction: at step `$j$` the state is `$h_j = R_j\, x_{0..j}$` where the rows of `$R_j$`
/// are a basis of the row space of `$H_j$` chosen among its rows (`$r_j = \operatorname{rank}
/// H_j$` of them, padded with zero rows to `$N$`). Then `$c_j$` = the coordinates of row 0 of
/// `$H_j$` in that basis, `$b_j$` = the last column of `$R_j$`, and `$A_j$` solves `$A_j R_{j-1} =
/// R_j[:, 0..j]$` — solvable because the rows of `$H_j$` restricted to columns `$< j$` are rows
/// of `$H_{j-1}$`. The result reproduces `$M$` exactly, and no channel of any class does with
/// fewer states (T4).
///
/// Coq: the lower bound is `t5_state_lower_bound` / `t5_ss_rank_le_state`
/// (`proofs/T5_Realisation.v`, for diagonal transitions); this construction (and so
/// minimality being attained) is not formalised, and this function does not check its
/// result. Its callers do, exactly: [`realise_diagonal`] verifies what it derives from it,
/// `theorems::t5::check_exact` recomputes [`TimeVaryingChannel::attention`], and
/// `hattn convert` scans every unit vector through the channel before writing it.
///
/// # Errors
/// [`Error::Shape`] / [`Error::NotLowerTriangular`] for invalid input;
/// [`Error::InvalidArgument`] for `$L = 0$`.
///
/// # Examples
/// ```
/// use hidden_attention::{construct::realise_minimal, scalar::ratio, tensor::Matrix};
/// let m = Matrix::from_row_major(3, 3, vec![
///     ratio(1, 1), ratio(0, 1), ratio(0, 1),
///     ratio(2, 1), ratio(1, 1), ratio(0, 1),
///     ratio(4, 1), ratio(2, 1), ratio(1, 1)]).unwrap();
/// let r = realise_minimal(&m).unwrap();
/// assert_eq!(r.state(), 1);
/// assert_eq!(r.attention(), m);
/// ```
pub fn realise_minimal(m: &Matrix<Exact>) -> Result<TimeVaryingChannel<Exact>> {
    expect_lower_triangular(m)?;
    let l = m.rows();
    if l == 0 {
        return Err(Error::InvalidArgument {
            name: "matrix".into(),
            reason: "L = 0".into(),
        });
    }
    let n = semiseparable_rank_exact(m).rank.max(1);
    let mut a = Vec::with_capacity(l);
    let mut b = Matrix::zeros(l, n);
    let mut c = Matrix::zeros(l, n);
    let mut prev: Vec<Vec<Exact>> = Vec::new();
    for j in 0..l {
        let (h, _, _) = crate::semiseparable::block(m, j);
        let (_, w) = rank_exact(&h);
        let basis: Vec<Vec<Exact>> = w.rows.iter().map(|&r| h.row(r).to_vec()).collect();
        let cj = express(&basis, j + 1, h.row(0))
            .ok_or_else(|| internal("row 0 of H_j outside its row space"))?;
        let mut aj = Matrix::zeros(n, n);
        for (k, row) in basis.iter().enumerate() {
            *b.get_mut(j, k) = row[j].clone();
            if j > 0 {
                let coef = express(&prev, j, &row[..j])
                    .ok_or_else(|| internal("R_j not in the row space of R_{j-1}"))?;
                for (s, v) in coef.into_iter().enumerate() {
                    *aj.get_mut(k, s) = v;
                }
            }
        }
        for (k, v) in cj.into_iter().enumerate() {
            *c.get_mut(j, k) = v;
        }
        a.push(aj);
        prev = basis;
    }
    Ok(TimeVaryingChannel { a, b, c })
}

fn internal(what: &str) -> Error {
    Error::Construction {
        construction: "T5 minimal realisation",
        reason: format!("internal invariant violated: {what}"),
    }
}

/// Why [`realise_diagonal`] found no diagonal realisation with `$N$` = semiseparable rank:
/// the matrix, its rank, the smallest diagonal realisation found, and the reason.
#[derive(Debug, Clone, PartialEq)]
pub struct DiagonalCounterexample {
    /// The input matrix.
    pub matrix: Matrix<Exact>,
    /// Its semiseparable rank (the minimum over every class).
    pub rank: usize,
    /// The smallest diagonal realisation found (at worst [`realise_full`], `$N = L$`).
    pub best: Channel<Exact>,
    /// What each attempt ran into.
    pub reason: String,
}

/// Outcome of [`realise_diagonal`].
#[derive(Debug, Clone, PartialEq)]
pub enum DiagonalOutcome {
    /// A diagonal channel with `$N$` = semiseparable rank whose `$\tilde\alpha$` is the matrix.
    Found(Channel<Exact>),
    /// None found; the counterexample value says why.
    NotFound(Box<DiagonalCounterexample>),
}

/// **T5, minimal state, diagonal transitions (exact, when found).** Two constructions are
/// tried, each verified by recomputing `$\tilde\alpha$`:
///
/// 1. *Diagonalising the minimal realisation* ([`realise_minimal`]) by a time-varying change
///    of basis `$h'_t = T_t h_t$`, `$A'_t = T_t A_t T_{t-1}^{-1}$`: at each step `$G =
///    A_t T_{t-1}^{-1}$` must have linearly independent nonzero columns; then `$T_t$` maps
///    them to unit vectors and `$A'_t = \mathrm{diag}(1, \dots, 0, \dots)$` — so the result
///    has `$\bar A \in \{0, 1\}^N$`. This covers e.g. block-diagonal and banded matrices
///    (`$\bar A = 0$` resets).
/// 2. *Generator form* `$\bar A\equiv 1$`: greedily `$M_{ij} = \langle C_i, \bar B_j\rangle$`
///    (`$j \le i$`), adding a state only when column `$j$` is not a combination of the current
///    query coordinates. This covers lower triangles of rank-`$r$` matrices in general
///    position (hence every diagonal channel with nonzero `$\bar A$`, rescaled as in T2b).
///
/// Outside these, [`DiagonalOutcome::NotFound`] carries the matrix, its rank, the smallest
/// diagonal realisation found and the reason. *Not found* is not a proof that none exists:
/// for diagonal transitions the semiseparable rank is only a lower bound on the state
/// (equality is proven for general transitions only, [`realise_minimal`]), and deciding the
/// minimal diagonal state in general is a combinatorial problem this toolkit does not solve.
///
/// Coq: lower bound `t5_state_lower_bound` (`proofs/T5_Realisation.v`); the
/// constructions are not formalised, and every `Found` result has been verified exactly.
///
/// # Errors
/// As [`realise_minimal`].
///
/// # Examples
/// ```
/// use hidden_attention::{construct::{realise_diagonal, DiagonalOutcome}, scalar::ratio,
///                        ssm::attention_matrix as alpha, tensor::Matrix};
/// let mut m = Matrix::zeros(3, 3);
/// for i in 0..3 { *m.get_mut(i, i) = ratio(2, 1); } // 2·I: Ā = 0 resets, N = 1
/// let DiagonalOutcome::Found(ch) = realise_diagonal(&m).unwrap() else { panic!() };
/// assert_eq!(ch.state(), 1);
/// assert_eq!(alpha(&ch).unwrap(), m);
/// ```
pub fn realise_diagonal(m: &Matrix<Exact>) -> Result<DiagonalOutcome> {
    let minimal = realise_minimal(m)?;
    let rank = semiseparable_rank_exact(m).rank;
    let target = rank.max(1);
    let mut reasons = Vec::new();
    match diagonalise(&minimal) {
        Ok(ch) if attention_matrix(&ch)? == *m => return Ok(DiagonalOutcome::Found(ch)),
        Ok(_) => reasons.push("basis change: result did not reproduce the matrix".to_string()),
        Err(r) => reasons.push(format!("basis change: {r}")),
    }
    let generator = generator_form(m)?;
    if generator.state() <= target && attention_matrix(&generator)? == *m {
        return Ok(DiagonalOutcome::Found(pad_state(&generator, target)));
    }
    reasons.push(format!(
        "generator form (Ā ≡ 1) needs N = {}",
        generator.state()
    ));
    let full = realise_full(m)?;
    let best = if generator.state() < full.state() {
        generator
    } else {
        full
    };
    Ok(DiagonalOutcome::NotFound(Box::new(
        DiagonalCounterexample {
            matrix: m.clone(),
            rank,
            best,
            reason: format!(
                "no diagonal realisation with N = {target} found: {}",
                reasons.join("; ")
            ),
        },
    )))
}

/// Pad a channel with unused states up to `n` (Ā = 1, B̄ = C = 0 there).
fn pad_state(ch: &Channel<Exact>, n: usize) -> Channel<Exact> {
    let (l, s) = (ch.len(), ch.state());
    if s >= n {
        return ch.clone();
    }
    let pad = |v: &[Exact], fill: Exact| -> Vec<Exact> {
        (0..l)
            .flat_map(|t| {
                let mut row = v[t * s..(t + 1) * s].to_vec();
                row.resize(n, fill.clone());
                row
            })
            .collect()
    };
    Channel::new(
        l,
        n,
        pad(ch.abar_all(), Exact::one()),
        pad(ch.bbar_all(), Exact::zero()),
        pad(ch.c_all(), Exact::zero()),
    )
    .expect("padded sizes")
}

/// Attempt 1 of [`realise_diagonal`]: forward time-varying change of basis.
fn diagonalise(r: &TimeVaryingChannel<Exact>) -> std::result::Result<Channel<Exact>, String> {
    let (l, n) = (r.len(), r.state());
    let mut t_inv = identity(n); // T_{t-1}^{-1}
    let mut t_cur = identity(n); // T_{t-1}
    let mut abar = Vec::with_capacity(l * n);
    let mut bbar = Vec::with_capacity(l * n);
    let mut c = Vec::with_capacity(l * n);
    for t in 0..l {
        if t == 0 {
            abar.extend(std::iter::repeat(Exact::zero()).take(n));
        } else {
            let g = mat_mul(&r.a[t], &t_inv);
            let nonzero: Vec<usize> = (0..n)
                .filter(|&s| (0..n).any(|i| !g.get(i, s).is_zero()))
                .collect();
            // X: columns s ∈ S are G e_s, the others complete a basis with unit vectors.
            let cols: Vec<Vec<Exact>> = nonzero
                .iter()
                .map(|&s| (0..n).map(|i| g.get(i, s).clone()).collect())
                .collect();
            let completion = complete_basis(&cols, n).ok_or_else(|| {
                format!("step {t}: the nonzero columns of A_t T_(t-1)^-1 are linearly dependent")
            })?;
            let mut x = Matrix::zeros(n, n);
            let mut zi = completion.into_iter();
            for s in 0..n {
                let col = match nonzero.iter().position(|&k| k == s) {
                    Some(p) => cols[p].clone(),
                    None => zi.next().expect("n − |S| completion vectors"),
                };
                for (i, v) in col.into_iter().enumerate() {
                    *x.get_mut(i, s) = v;
                }
            }
            let x_inv =
                inverse(&x).ok_or_else(|| format!("step {t}: basis completion is singular"))?;
            for s in 0..n {
                abar.push(if nonzero.contains(&s) {
                    Exact::one()
                } else {
                    Exact::zero()
                });
            }
            t_cur = x_inv;
            t_inv = x;
        }
        bbar.extend(mat_vec(&t_cur, r.b.row(t)));
        // C'_t = c_t^T T_t^{-1}
        c.extend((0..n).map(|s| {
            (0..n)
                .map(|i| r.c.get(t, i).clone() * t_inv.get(i, s))
                .fold(Exact::zero(), |a, v| a + v)
        }));
    }
    Channel::new(l, n, abar, bbar, c).map_err(|e| e.to_string())
}

/// Unit vectors completing the independent `cols` to a basis of `$K^n$` (None if dependent).
fn complete_basis(cols: &[Vec<Exact>], n: usize) -> Option<Vec<Vec<Exact>>> {
    let mut basis: Vec<Vec<Exact>> = cols.to_vec();
    if rank_of(&basis, n) < basis.len() {
        return None;
    }
    let mut extra = Vec::new();
    for e in 0..n {
        if basis.len() == n {
            break;
        }
        let mut u = vec![Exact::zero(); n];
        u[e] = Exact::one();
        basis.push(u.clone());
        if rank_of(&basis, n) == basis.len() {
            extra.push(u);
        } else {
            basis.pop();
        }
    }
    Some(extra)
}

fn rank_of(vectors: &[Vec<Exact>], n: usize) -> usize {
    let data = vectors.iter().flat_map(|v| v.iter().cloned()).collect();
    rank_exact(&Matrix::from_row_major(vectors.len(), n, data).expect("k × n")).0
}

fn identity(n: usize) -> Matrix<Exact> {
    let mut m = Matrix::zeros(n, n);
    for i in 0..n {
        *m.get_mut(i, i) = Exact::one();
    }
    m
}

fn mat_mul(a: &Matrix<Exact>, b: &Matrix<Exact>) -> Matrix<Exact> {
    let (n, k, p) = (a.rows(), a.cols(), b.cols());
    let mut out = Matrix::zeros(n, p);
    for i in 0..n {
        for j in 0..p {
            let mut s = Exact::zero();
            for t in 0..k {
                if !a.get(i, t).is_zero() {
                    s += &(a.get(i, t).clone() * b.get(t, j));
                }
            }
            *out.get_mut(i, j) = s;
        }
    }
    out
}

fn inverse(m: &Matrix<Exact>) -> Option<Matrix<Exact>> {
    let n = m.rows();
    let rows: Vec<Vec<Exact>> = (0..n).map(|i| m.row(i).to_vec()).collect();
    let mut out = Matrix::zeros(n, n);
    for col in 0..n {
        let mut e = vec![Exact::zero(); n];
        e[col] = Exact::one();
        let x = solve(&rows, n, &e)?;
        for (i, v) in x.into_iter().enumerate() {
            *out.get_mut(i, col) = v;
        }
    }
    // a singular m makes some solve inconsistent or the result wrong; check
    (mat_mul(m, &out) == identity(n)).then_some(out)
}

/// **T5, generator form** — attempt 2 of [`realise_diagonal`]: the greedy realisation
///
/// ```math
/// \bar A \equiv \mathbf 1,\qquad M_{ij} = \langle C_i, \bar B_j\rangle\quad (j\le i),
/// ```
///
/// adding a state only when column `$j$` (below the diagonal) is not a combination of the
/// current query coordinates. Always succeeds, exactly, with some `$N \le L$`; `$N$` may
/// exceed the semiseparable rank (it equals it for lower triangles of rank-`$r$` matrices
/// in general position).
///
/// Coq: not formalised (the full-state case is `t5_realisation_full_state`).
///
/// # Errors
/// As [`realise_minimal`].
///
/// # Examples
/// The lower triangle of the rank-1 matrix `$uu^\top$`, `$u = (1, 2, 3)$`:
/// ```
/// use hidden_attention::{construct::generator_form, scalar::ratio, ssm::attention_matrix as alpha,
///                        tensor::Matrix};
/// let u = [1, 2, 3];
/// let mut m = Matrix::zeros(3, 3);
/// for i in 0..3 { for j in 0..=i { *m.get_mut(i, j) = ratio(u[i] * u[j], 1); } }
/// let ch = generator_form(&m).unwrap();
/// assert_eq!(ch.state(), 1);
/// assert_eq!(ch.abar_all(), &[ratio(1, 1), ratio(1, 1), ratio(1, 1)]);
/// assert_eq!(alpha(&ch).unwrap(), m);
/// ```
pub fn generator_form(m: &Matrix<Exact>) -> Result<Channel<Exact>> {
    expect_lower_triangular(m)?;
    let l = m.rows();
    let mut q: Vec<Vec<Exact>> = vec![Vec::new(); l];
    let mut k: Vec<Vec<Exact>> = Vec::with_capacity(l);
    let mut u = 0;
    for j in 0..l {
        let w: Vec<Vec<Exact>> = (j..l).map(|i| q[i].clone()).collect();
        let rhs: Vec<Exact> = (j..l).map(|i| m.get(i, j).clone()).collect();
        let kj = if u > 0 {
            solve(&w, u, &rhs)
        } else if rhs.iter().all(|v| v.is_zero()) {
            Some(vec![])
        } else {
            None
        };
        match kj {
            Some(kj) => k.push(kj),
            None => {
                for (i, qi) in q.iter_mut().enumerate() {
                    qi.push(if i >= j {
                        m.get(i, j).clone()
                    } else {
                        Exact::zero()
                    });
                }
                let mut kj = vec![Exact::zero(); u];
                kj.push(Exact::one());
                k.push(kj);
                u += 1;
            }
        }
    }
    let n = u.max(1);
    let pad = |v: &[Exact]| {
        let mut r = v.to_vec();
        r.resize(n, Exact::zero());
        r
    };
    Channel::new(
        l,
        n,
        vec![Exact::one(); l * n],
        k.iter().flat_map(|r| pad(r)).collect(),
        q.iter().flat_map(|r| pad(r)).collect(),
    )
}

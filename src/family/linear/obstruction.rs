//! T18 (b) — the certificate that no channel of state `$N$` with an invertible transition
//! at step `$r$` (in particular no Mamba channel of state `$N$`) has a given hidden
//! attention `$A$`.
//!
//! Write `$A[i.., ..j]$` for rows `$i..L-1$`, columns `$0..j$`. Let any realisation of state
//! `$N$` (any `$N\times N$` transitions `$\bar A_t$`, vectors `$\bar B_t$`, `$C_t$`) have
//! `$\tilde\alpha = A$`, and `$1 \le r \le L-1$`. With `$O_r$` the rows
//! `$C_t^\top \bar A_t\cdots\bar A_{r+1}$` (`$t \ge r$`) and `$R_{r-1}$` the columns
//! `$\bar A_{r-1}\cdots\bar A_{s+1}\bar B_s$` (`$s \le r-1$`),
//!
//! ```math
//! A[r.., ..r-1] = O_r \bar A_r R_{r-1},\qquad
//! A[r.., ..r] = O_r\,[\bar A_r R_{r-1}\ \ \bar B_r],\qquad
//! A[r-1.., ..r-1] = \begin{bmatrix} C_{r-1}^\top \\ O_r \bar A_r \end{bmatrix} R_{r-1}.
//! ```
//!
//! So `$\operatorname{rank} A[r.., ..r] = N$` forces `$O_r$` to have full column rank `$N$`,
//! `$\operatorname{rank} A[r-1.., ..r-1] = N$` forces `$R_{r-1}$` to have full row rank `$N$`,
//! and then an invertible `$\bar A_r$` gives `$\operatorname{rank} A[r.., ..r-1] = N$`.
//! Hence a step with
//!
//! ```math
//! \operatorname{rank} A[r-1.., ..r-1] = \operatorname{rank} A[r.., ..r] = N > \operatorname{rank} A[r.., ..r-1]
//! ```
//!
//! proves that no realisation of state `$N$` with `$\bar A_r$` invertible has
//! `$\tilde\alpha = A$` — nor one of smaller state (pad it with `$\bar A = 1$`,
//! `$\bar B = C = 0$`) — so no Mamba (zero-order hold) channel, whose
//! `$\bar A_r = e^{\Delta_r A}$` is positive. Coq: `t18_invertible_step_rank`,
//! `t18_no_invertible_channel`.
//!
//! The [`InvertibleStepObstruction`] re-checks from `$A$` alone, exactly: a nonsingular
//! `$N\times N$` minor of each of the two rank-`$N$` blocks (indices and exact determinant)
//! and a factorisation `$A[r.., ..r-1] = X Y$` with inner dimension `$< N$`, verified by
//! exact multiplication.

use num_traits::Zero;

use crate::construct::realise::solve;
use crate::scalar::Exact;
use crate::semiseparable::{determinant, rank_exact, submatrix};
use crate::tensor::Matrix;

/// A square submatrix of `$A$` (absolute row and column indices) and its exact determinant.
#[derive(Debug, Clone, PartialEq)]
pub struct Minor {
    /// Row indices into `$A$`.
    pub rows: Vec<usize>,
    /// Column indices into `$A$`.
    pub cols: Vec<usize>,
    /// `$\det A[\text{rows}, \text{cols}]$`, exactly (nonzero).
    pub determinant: Exact,
}

/// The certificate of T18 (b) (module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct InvertibleStepObstruction {
    /// The step `$r$`, `$1 \le r \le L-1$`.
    pub step: usize,
    /// The state `$N$`.
    pub state: usize,
    /// A nonsingular `$N\times N$` minor of `$A[r-1.., ..r-1]$`.
    pub before: Minor,
    /// A nonsingular `$N\times N$` minor of `$A[r.., ..r]$`.
    pub after: Minor,
    /// `$X$`, `$(L-r)\times k$` with `$k < N$`.
    pub left: Matrix<Exact>,
    /// `$Y$`, `$k\times r$`, with `$XY = A[r.., ..r-1]$`.
    pub right: Matrix<Exact>,
}

/// `$A[i.., ..j]$` with its absolute row and column indices.
fn corner(a: &Matrix<Exact>, i: usize, j: usize) -> (Matrix<Exact>, Vec<usize>, Vec<usize>) {
    let rows: Vec<usize> = (i..a.rows()).collect();
    let cols: Vec<usize> = (0..=j).collect();
    (submatrix(a, &rows, &cols), rows, cols)
}

/// The block's rank and a nonsingular minor of that size (absolute indices).
fn ranked(a: &Matrix<Exact>, i: usize, j: usize) -> (usize, Minor) {
    let (m, rows, cols) = corner(a, i, j);
    let (rank, w) = rank_exact(&m);
    let (r, c): (Vec<usize>, Vec<usize>) = (
        w.rows.iter().map(|&k| rows[k]).collect(),
        w.cols.iter().map(|&k| cols[k]).collect(),
    );
    let determinant = determinant(&submatrix(a, &r, &c));
    (
        rank,
        Minor {
            rows: r,
            cols: c,
            determinant,
        },
    )
}

/// An exact factorisation `$m = XY$` through `$\operatorname{rank} m$` pivot columns.
fn factorise(m: &Matrix<Exact>) -> (Matrix<Exact>, Matrix<Exact>) {
    let (k, w) = rank_exact(m);
    let x = submatrix(m, &(0..m.rows()).collect::<Vec<_>>(), &w.cols);
    let basis: Vec<Vec<Exact>> = (0..m.rows()).map(|i| x.row(i).to_vec()).collect();
    let mut y = Matrix::zeros(k, m.cols());
    for j in 0..m.cols() {
        let col: Vec<Exact> = (0..m.rows()).map(|i| m.get(i, j).clone()).collect();
        let coef = solve(&basis, k, &col).expect("every column lies in the pivot columns' span");
        for (i, v) in coef.into_iter().enumerate() {
            *y.get_mut(i, j) = v;
        }
    }
    (x, y)
}

/// The first step `$r$` at which `$A$` (lower triangular, `$L \times L$`) meets the rank
/// conditions of T18 (b) for state `$N$` = `state`, with its certificate; `None` if no
/// step does.
pub fn find_invertible_step_obstruction(
    a: &Matrix<Exact>,
    state: usize,
) -> Option<InvertibleStepObstruction> {
    (1..a.rows()).find_map(|r| {
        let (rank_before, before) = ranked(a, r - 1, r - 1);
        if rank_before != state {
            return None;
        }
        let (rank_after, after) = ranked(a, r, r);
        if rank_after != state {
            return None;
        }
        let (middle, _, _) = corner(a, r, r - 1);
        let (left, right) = factorise(&middle);
        (left.cols() < state).then_some(InvertibleStepObstruction {
            step: r,
            state,
            before,
            after,
            left,
            right,
        })
    })
}

impl InvertibleStepObstruction {
    /// The inner dimension `$k$` of the factorisation.
    pub fn inner(&self) -> usize {
        self.left.cols()
    }

    /// Re-check against `$A$` alone, exactly: `Ok` with a one-line explanation, or `Err`
    /// naming the first wrong field (`step`, `state`, `before.rows`, `before.cols`,
    /// `before.determinant`, the same for `after`, `inner`, `left`, `right`).
    ///
    /// # Errors
    /// The message `field: why`.
    pub fn verify(&self, a: &Matrix<Exact>) -> Result<String, String> {
        let (l, r, n) = (a.rows(), self.step, self.state);
        if r == 0 || r >= l {
            return Err(format!(
                "step: r = {r} is not in 1..={}",
                l.saturating_sub(1)
            ));
        }
        if n == 0 {
            return Err("state: N = 0".into());
        }
        for (name, minor, first_row, last_col) in [
            ("before", &self.before, r - 1, r - 1),
            ("after", &self.after, r, r),
        ] {
            if minor.rows.len() != n || minor.rows.iter().any(|&i| i < first_row || i >= l) {
                return Err(format!(
                    "{name}.rows: {:?} are not {n} rows in {first_row}..={}",
                    minor.rows,
                    l - 1
                ));
            }
            if minor.cols.len() != n || minor.cols.iter().any(|&j| j > last_col) {
                return Err(format!(
                    "{name}.cols: {:?} are not {n} columns in 0..={last_col}",
                    minor.cols
                ));
            }
            let det = determinant(&submatrix(a, &minor.rows, &minor.cols));
            if det != minor.determinant {
                return Err(format!(
                    "{name}.determinant: {} but the minor's determinant is {det}",
                    minor.determinant
                ));
            }
            if det.is_zero() {
                return Err(format!("{name}.determinant: the minor is singular"));
            }
        }
        let k = self.inner();
        if k >= n {
            return Err(format!("inner: k = {k} is not below N = {n}"));
        }
        if self.left.rows() != l - r {
            return Err(format!(
                "left: {} rows, A[{r}.., ..{}] has {}",
                self.left.rows(),
                r - 1,
                l - r
            ));
        }
        if self.right.rows() != k || self.right.cols() != r {
            return Err(format!(
                "right: {}×{}, expected {k}×{r}",
                self.right.rows(),
                self.right.cols()
            ));
        }
        for i in 0..l - r {
            for j in 0..r {
                let xy = (0..k).fold(Exact::zero(), |acc, t| {
                    acc + self.left.get(i, t).clone() * self.right.get(t, j)
                });
                if &xy != a.get(r + i, j) {
                    return Err(format!(
                        "left / right: (XY)[{i}][{j}] = {xy} but A[{}][{j}] = {}",
                        r + i,
                        a.get(r + i, j)
                    ));
                }
            }
        }
        Ok(format!(
            "rank A[{}.., ..{}] = rank A[{r}.., ..{r}] = {n} > rank A[{r}.., ..{}] ≤ {k}: no channel of state {n} with an invertible transition at step {r} — no Mamba channel — has this hidden attention (T18b)",
            r - 1,
            r - 1,
            r - 1
        ))
    }
}

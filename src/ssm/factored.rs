//! The factored view (T2b): `$\tilde\alpha = \mathrm{tril}(Q K^\top)$`, an ungated causal
//! linear attention head of dimension `$N$`.

use crate::error::{Error, RangeLoss, Result};
use crate::scalar::{Class, Field};
use crate::ssm::channel::Channel;
use crate::tensor::{dot, expect_finite_result, Matrix};

/// Queries and keys of the factored form: row `$i$` of `q` is `$Q_i$`, row `$j$` of `k` is `$K_j$`.
#[derive(Debug, Clone, PartialEq)]
pub struct Factored<T> {
    /// `$Q$`, `L × N`.
    pub q: Matrix<T>,
    /// `$K$`, `L × N`.
    pub k: Matrix<T>,
}

/// **T2b — a channel is an ungated causal linear attention head.** With the prefix
/// products taken *after the first step*,
///
/// ```math
/// P_i = \prod_{k=1}^{i} \bar A_k\ \text{(entrywise, 0-based steps; } P_0 = \mathbf 1),\qquad
/// Q_i = C_i \odot P_i,\qquad K_j = \bar B_j \oslash P_j,\qquad
/// \tilde\alpha = \mathrm{tril}(Q K^\top),
/// ```
///
/// since `$P_i \oslash P_j = \prod_{k=j+1}^{i}\bar A_k$` for `$j \le i$`. Valid whenever no
/// `$\bar A_k$` entry with `$k \ge 1$` is 0: `$\bar A_0$` never enters `$\tilde\alpha$`, so it may be
/// 0 (Coq: `t2b_factored_form`, hypothesis `Abar_neq0` on steps `$k \ge 1$`). Exact over the
/// rationals. In floats `$P_i$` decays geometrically (Mamba: `$P_i = e^{A\sum_{k=1}^{i}
/// \Delta_k}$`) and leaves the normal range after a few hundred steps; then `$K_j$` overflows
/// or `$P_i$` is subnormal and the product `$Q_i K_j$` is garbage. This function refuses that
/// case.
///
/// # Errors
/// - [`Error::ZeroTransition`] naming the first `(step, state)` with `$\bar A = 0$` at a step
///   `$\ge 1$` (a zero at step 0 is not an error);
/// - [`Error::FactorRange`] (floats) naming the quantity (`P`, `Q` or `K`), underflow or
///   overflow, and the first step where a value left the normal range.
///
/// # Complexity
/// `$O(LN)$`.
///
/// # Examples
/// ```
/// use hidden_attention::{scalar::ratio, ssm::{self, Channel, factored}};
/// // Ā_0 = 0 is allowed: P = (1, 1/3), Q = C ⊙ P, K = B̄ ⊘ P.
/// let ch = Channel::new(2, 1, vec![ratio(0, 1), ratio(1, 3)], vec![ratio(1, 1); 2],
///                       vec![ratio(1, 1), ratio(2, 1)]).unwrap();
/// let f = factored(&ch).unwrap();
/// assert_eq!(f.q.data(), &[ratio(1, 1), ratio(2, 3)]);
/// assert_eq!(f.k.data(), &[ratio(1, 1), ratio(3, 1)]);
/// assert_eq!(f.attention(), ssm::attention_matrix(&ch).unwrap());
/// ```
pub fn factored<T: Field>(ch: &Channel<T>) -> Result<Factored<T>> {
    let (l, n) = (ch.len(), ch.state());
    let mut q = Matrix::zeros(l, n);
    let mut k = Matrix::zeros(l, n);
    // P_0 = 1: the product starts after step 0 (Ā_0 never enters α̃).
    let mut p = vec![T::one(); n];
    for t in 0..l {
        let (a, b, c) = (ch.abar(t), ch.bbar(t), ch.c(t));
        for s in 0..n {
            if t > 0 {
                if a[s].class() == Class::Zero {
                    return Err(Error::ZeroTransition { step: t, state: s });
                }
                p[s] *= &a[s];
                range_check("P", &p[s], false, t, s)?;
            }
            let qv = c[s].clone() * &p[s];
            range_check("Q", &qv, c[s].class() == Class::Zero, t, s)?;
            let kv = b[s].clone() / &p[s];
            range_check("K", &kv, b[s].class() == Class::Zero, t, s)?;
            *q.get_mut(t, s) = qv;
            *k.get_mut(t, s) = kv;
        }
    }
    Ok(Factored { q, k })
}

/// A float value that should be nonzero (unless `may_be_zero`) and normal.
fn range_check<T: Field>(
    quantity: &'static str,
    v: &T,
    may_be_zero: bool,
    step: usize,
    state: usize,
) -> Result<()> {
    let loss = match v.class() {
        Class::Normal => return Ok(()),
        Class::Zero if may_be_zero => return Ok(()),
        Class::Zero | Class::Subnormal => RangeLoss::Underflow,
        Class::Infinite | Class::Nan => RangeLoss::Overflow,
    };
    Err(Error::FactorRange {
        quantity,
        loss,
        step,
        state,
        value: v.to_f64(),
    })
}

impl<T: Field> Factored<T> {
    /// `$\mathrm{tril}(Q K^\top)$`: entry `$(i, j)$` is `$\langle Q_i, K_j\rangle$` for `$j \le i$`.
    pub fn attention(&self) -> Matrix<T> {
        let l = self.q.rows();
        let mut m = Matrix::zeros(l, l);
        for i in 0..l {
            for j in 0..=i {
                *m.get_mut(i, j) = dot(self.q.row(i), self.k.row(j));
            }
        }
        m
    }

    /// The head's output by causal linear attention in recurrent form:
    /// `$S_i = S_{i-1} + K_i x_i$`, `$y_i = \langle Q_i, S_i\rangle$` — `$O(LN)$`.
    ///
    /// # Errors
    /// [`Error::Shape`] if `x.len() != L`; [`Error::NonFiniteResult`] on float overflow.
    pub fn output(&self, x: &[T]) -> Result<Vec<T>> {
        let (l, n) = (self.q.rows(), self.q.cols());
        if x.len() != l {
            return Err(Error::Shape {
                tensor: "x".into(),
                dim: 0,
                name: "L".into(),
                expected: l,
                found: x.len(),
            });
        }
        let mut s = vec![T::zero(); n];
        let mut y = Vec::with_capacity(l);
        for (i, xi) in x.iter().enumerate() {
            for (sk, kk) in s.iter_mut().zip(self.k.row(i)) {
                *sk += &(kk.clone() * xi);
            }
            y.push(dot(self.q.row(i), &s));
        }
        expect_finite_result("factored output", &y, &[l])?;
        Ok(y)
    }
}

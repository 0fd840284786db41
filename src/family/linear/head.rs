//! One head of the gated-linear family as a time-varying linear state-space model with a
//! matrix state, and its implicit attention matrix (T14).
//!
//! State `$S_t \in \mathbb F^{d_k\times d_v}$`, `$S_{-1} = 0$`:
//!
//! ```math
//! S_t = M_t S_{t-1} + b_t v_t^\top,\qquad o_t = S_t^\top q_t,
//! ```
//!
//! with a per-step transition `$M_t$` ([`Transition`]: diagonal, scalar, diagonal plus rank
//! one, or a scaled Householder-like `$g(I - \beta k k^\top)$`), a write vector `$b_t$` (the key,
//! times `$\beta_t$` for the delta rule) and a query `$q_t$` (scale folded in). Then
//! `$o = A v$` per value coordinate with the implicit attention
//!
//! ```math
//! A_{ts} = q_t^\top (M_t M_{t-1}\cdots M_{s+1})\, b_s \quad (s \le t),\qquad A_{ts} = 0\ (s > t),
//! ```
//!
//! later times on the left (Coq: `t14_matrix_transition_unrolling`). RWKV-6 reads the state
//! *before* the step and adds a bonus `$u$` on the diagonal
//! ([`Readout::BeforeWithBonus`]): `$o_t = (S_{t-1} + \mathrm{diag}(u)\,k_t v_t^\top)^\top q_t$`,
//! so `$A_{ts} = q_t^\top(M_{t-1}\cdots M_{s+1})\,k_s$` for `$s < t$` and
//! `$A_{tt} = q_t^\top\mathrm{diag}(u)\,k_t$` (Coq: `t14_rwkv6_unrolling`).

use crate::error::{Error, Result};
use crate::scalar::{Exact, Field};
use crate::tensor::Matrix;

/// The transition `$M_t$` of one step (`$d_k \times d_k$`).
#[derive(Debug, Clone, PartialEq)]
pub enum Transition<T> {
    /// `$M = \mathrm{diag}(g)$` (GLA, HGRN, RWKV-6, RG-LRU).
    Diagonal(Vec<T>),
    /// `$M = g I$` (simple GLA / SSD, RetNet's fixed `$\gamma$`).
    Scalar(T),
    /// `$M = \mathrm{diag}(g) + \beta\alpha^\top$` (DPLR / RWKV-7).
    DiagonalPlusRankOne {
        /// The diagonal `$g$`.
        diag: Vec<T>,
        /// The column `$\beta$`.
        beta: Vec<T>,
        /// The row `$\alpha$`.
        alpha: Vec<T>,
    },
    /// `$M = g\,(I - \beta k k^\top)$` (DeltaNet with `$g = 1$`, Gated DeltaNet).
    Householder {
        /// The gate `$g$`.
        gate: T,
        /// The strength `$\beta$`.
        beta: T,
        /// The key `$k$`.
        key: Vec<T>,
    },
}

impl<T: Field> Transition<T> {
    /// `$M S$` for a state `s` of `dk` rows (row-major `dk × dv`).
    pub fn apply(&self, s: &[T], dk: usize) -> Vec<T> {
        let dv = s.len() / dk.max(1);
        match self {
            Transition::Diagonal(g) => (0..dk * dv).map(|i| g[i / dv].clone() * &s[i]).collect(),
            Transition::Scalar(g) => s.iter().map(|x| g.clone() * x).collect(),
            Transition::DiagonalPlusRankOne { diag, beta, alpha } => {
                // diag(g) S + β (αᵀ S)
                let mut a_s = vec![T::zero(); dv];
                for (i, ai) in alpha.iter().enumerate() {
                    for (c, acc) in a_s.iter_mut().enumerate() {
                        *acc += &(ai.clone() * &s[i * dv + c]);
                    }
                }
                (0..dk * dv)
                    .map(|i| diag[i / dv].clone() * &s[i] + beta[i / dv].clone() * &a_s[i % dv])
                    .collect()
            }
            Transition::Householder { gate, beta, key } => {
                // g (S − β k (kᵀ S))
                let mut k_s = vec![T::zero(); dv];
                for (i, ki) in key.iter().enumerate() {
                    for (c, acc) in k_s.iter_mut().enumerate() {
                        *acc += &(ki.clone() * &s[i * dv + c]);
                    }
                }
                (0..dk * dv)
                    .map(|i| {
                        gate.clone() * (s[i].clone() - beta.clone() * &key[i / dv] * &k_s[i % dv])
                    })
                    .collect()
            }
        }
    }

    /// `$r^\top M$` for a row vector `r` of length `$d_k$`.
    pub fn left(&self, r: &[T]) -> Vec<T> {
        match self {
            Transition::Diagonal(g) => r.iter().zip(g).map(|(a, b)| a.clone() * b).collect(),
            Transition::Scalar(g) => r.iter().map(|a| a.clone() * g).collect(),
            Transition::DiagonalPlusRankOne { diag, beta, alpha } => {
                let rb = crate::tensor::dot(r, beta);
                r.iter()
                    .zip(diag)
                    .zip(alpha)
                    .map(|((a, g), al)| a.clone() * g + rb.clone() * al)
                    .collect()
            }
            Transition::Householder { gate, beta, key } => {
                let rk = crate::tensor::dot(r, key);
                r.iter()
                    .zip(key)
                    .map(|(a, k)| gate.clone() * (a.clone() - beta.clone() * &rk * k))
                    .collect()
            }
        }
    }

    /// The exactly lifted transition.
    pub fn to_exact(&self) -> Transition<Exact> {
        let v = |x: &[T]| x.iter().map(Field::to_exact).collect::<Vec<_>>();
        match self {
            Transition::Diagonal(g) => Transition::Diagonal(v(g)),
            Transition::Scalar(g) => Transition::Scalar(g.to_exact()),
            Transition::DiagonalPlusRankOne { diag, beta, alpha } => {
                Transition::DiagonalPlusRankOne {
                    diag: v(diag),
                    beta: v(beta),
                    alpha: v(alpha),
                }
            }
            Transition::Householder { gate, beta, key } => Transition::Householder {
                gate: gate.to_exact(),
                beta: beta.to_exact(),
                key: v(key),
            },
        }
    }
}

/// When the output reads the state.
#[derive(Debug, Clone, PartialEq)]
pub enum Readout<T> {
    /// `$o_t = S_t^\top q_t$` (every member but RWKV-6).
    After,
    /// RWKV-6: `$o_t = (S_{t-1} + \mathrm{diag}(u)\,b_t v_t^\top)^\top q_t$` with the bonus `$u$`.
    BeforeWithBonus(Vec<T>),
}

/// One head: queries, write vectors and transitions over `$L$` steps.
#[derive(Debug, Clone, PartialEq)]
pub struct FamilyHead<T> {
    /// Key dimension `$d_k$`.
    pub dk: usize,
    /// Queries `$q_t$` (scale folded in), `(L, d_k)`.
    pub q: Vec<T>,
    /// Write vectors `$b_t$`, `(L, d_k)`.
    pub b: Vec<T>,
    /// Transitions `$M_t$`, one per step.
    pub m: Vec<Transition<T>>,
    /// The readout.
    pub readout: Readout<T>,
}

impl<T: Field> FamilyHead<T> {
    /// Sequence length `$L$`.
    pub fn len(&self) -> usize {
        self.m.len()
    }
    /// Whether `$L = 0$`.
    pub fn is_empty(&self) -> bool {
        self.m.is_empty()
    }

    /// Check the sizes: `$q$`, `$b$` are `$L \times d_k$`, every transition and the bonus `$d_k$`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the first part at fault.
    pub fn validate(&self) -> Result<()> {
        let (l, dk) = (self.len(), self.dk);
        let bad = |name: &str, reason: String| Error::InvalidArgument {
            name: name.into(),
            reason,
        };
        if self.q.len() != l * dk {
            return Err(bad(
                "q",
                format!("holds {}, L·d_k = {}", self.q.len(), l * dk),
            ));
        }
        if self.b.len() != l * dk {
            return Err(bad(
                "k",
                format!("holds {}, L·d_k = {}", self.b.len(), l * dk),
            ));
        }
        for (t, m) in self.m.iter().enumerate() {
            let ok = match m {
                Transition::Diagonal(g) => g.len() == dk,
                Transition::Scalar(_) => true,
                Transition::DiagonalPlusRankOne { diag, beta, alpha } => {
                    diag.len() == dk && beta.len() == dk && alpha.len() == dk
                }
                Transition::Householder { key, .. } => key.len() == dk,
            };
            if !ok {
                return Err(bad(
                    "transition",
                    format!("step {t} is not {dk}-dimensional"),
                ));
            }
        }
        if let Readout::BeforeWithBonus(u) = &self.readout {
            if u.len() != dk {
                return Err(bad("u", format!("holds {}, d_k = {dk}", u.len())));
            }
        }
        Ok(())
    }

    /// The recurrence on values `v` `(L, d_v)`: outputs `(L, d_v)` and the final state
    /// `(d_k, d_v)`.
    ///
    /// # Errors
    /// As [`Self::validate`]; [`Error::InvalidArgument`] for `v` of another length.
    pub fn run(&self, v: &[T], dv: usize) -> Result<(Vec<T>, Vec<T>)> {
        self.validate()?;
        let (l, dk) = (self.len(), self.dk);
        if v.len() != l * dv {
            return Err(Error::InvalidArgument {
                name: "v".into(),
                reason: format!("holds {}, L·d_v = {}", v.len(), l * dv),
            });
        }
        let mut s = vec![T::zero(); dk * dv];
        let mut o = vec![T::zero(); l * dv];
        for t in 0..l {
            let (qt, bt, vt) = (
                &self.q[t * dk..(t + 1) * dk],
                &self.b[t * dk..(t + 1) * dk],
                &v[t * dv..(t + 1) * dv],
            );
            let read = |s: &[T], o: &mut [T], extra: Option<&[T]>| {
                for c in 0..dv {
                    let mut acc = T::zero();
                    for i in 0..dk {
                        let mut sic = s[i * dv + c].clone();
                        if let Some(u) = extra {
                            sic += &(u[i].clone() * &bt[i] * &vt[c]);
                        }
                        acc += &(qt[i].clone() * &sic);
                    }
                    o[t * dv + c] = acc;
                }
            };
            if let Readout::BeforeWithBonus(u) = &self.readout {
                read(&s, &mut o, Some(u));
            }
            s = self.m[t].apply(&s, dk);
            for i in 0..dk {
                for c in 0..dv {
                    s[i * dv + c] += &(bt[i].clone() * &vt[c]);
                }
            }
            if self.readout == Readout::After {
                read(&s, &mut o, None);
            }
        }
        Ok((o, s))
    }

    /// The implicit attention matrix `$A$` (`L × L`, lower triangular) with `$o = A v$` per
    /// value coordinate (T14; module docs for the closed form), by carrying the row vector
    /// `$q_t^\top M_t \cdots M_{s+1}$` from `$s = t$` down.
    ///
    /// # Errors
    /// As [`Self::validate`].
    ///
    /// # Complexity
    /// `$O(L^2 d_k)$`.
    pub fn attention_matrix(&self) -> Result<Matrix<T>> {
        self.validate()?;
        let (l, dk) = (self.len(), self.dk);
        let mut a = Matrix::zeros(l, l);
        for t in 0..l {
            let qt = &self.q[t * dk..(t + 1) * dk];
            let bt = &self.b[t * dk..(t + 1) * dk];
            let mut r: Vec<T> = qt.to_vec();
            match &self.readout {
                Readout::After => {
                    *a.get_mut(t, t) = crate::tensor::dot(&r, bt);
                }
                Readout::BeforeWithBonus(u) => {
                    let qu: Vec<T> = qt.iter().zip(u).map(|(x, y)| x.clone() * y).collect();
                    *a.get_mut(t, t) = crate::tensor::dot(&qu, bt);
                }
            }
            // r = q_tᵀ M_t ⋯ M_{s+1} (After) or q_tᵀ M_{t−1} ⋯ M_{s+1} (Before)
            for s in (0..t).rev() {
                // the factor M_{s+1} joins the product, except M_t when reading before
                if matches!(self.readout, Readout::After) || s + 1 < t {
                    r = self.m[s + 1].left(&r);
                }
                *a.get_mut(t, s) = crate::tensor::dot(&r, &self.b[s * dk..(s + 1) * dk]);
            }
        }
        Ok(a)
    }

    /// The outputs `$o = A v$` `(L, d_v)` from an implicit attention matrix `a` (`L × L`) and
    /// values `v` `(L, d_v)`: `$o_{t,c} = \sum_{s \le t} A_{ts} v_{s,c}$`, summed from `$s = 0$` up.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `a` is not `L × L` or `v` is not `(L, d_v)`.
    pub fn attention_times_values(a: &Matrix<T>, v: &[T], dv: usize) -> Result<Vec<T>> {
        let l = a.rows();
        if a.cols() != l {
            return Err(Error::InvalidArgument {
                name: "A".into(),
                reason: format!("is {l} × {}, not square", a.cols()),
            });
        }
        if v.len() != l * dv {
            return Err(Error::InvalidArgument {
                name: "v".into(),
                reason: format!("holds {}, L·d_v = {}", v.len(), l * dv),
            });
        }
        Ok((0..l * dv)
            .map(|p| {
                let (t, c) = (p / dv, p % dv);
                (0..=t).fold(T::zero(), |acc, s| {
                    acc + a.get(t, s).clone() * &v[s * dv + c]
                })
            })
            .collect())
    }

    /// The exactly lifted head.
    pub fn to_exact(&self) -> FamilyHead<Exact> {
        let v = |x: &[T]| x.iter().map(Field::to_exact).collect::<Vec<_>>();
        FamilyHead {
            dk: self.dk,
            q: v(&self.q),
            b: v(&self.b),
            m: self.m.iter().map(Transition::to_exact).collect(),
            readout: match &self.readout {
                Readout::After => Readout::After,
                Readout::BeforeWithBonus(u) => Readout::BeforeWithBonus(v(u)),
            },
        }
    }
}

//! Realisations of family heads as Mamba (diagonal S6) channels (T16).
//!
//! - **Diagonal members** (GLA, simple GLA, RetNet, HGRN, RG-LRU: every `$M_t$` diagonal or
//!   scalar, readout after the step): per value coordinate, the channel of state `$d_k$` with
//!   `$\bar A_t = \mathrm{diag}\,M_t$`, `$\bar B_t = b_t$`, `$C_t = q_t$` has `$\tilde\alpha = A$`
//!   (T3; Coq `t14_diagonal_family_is_channel`).
//! - **RWKV-6** (`$M_t = \mathrm{diag}(w_t)$`, readout before the step, bonus `$u$`), when no
//!   decay entry at steps `$1 \le s \le L-2$` is 0: the channel of state `$2d_k$` with
//!   `$\bar A_1 = (1, 0)$`, `$\bar A_t = (w_{t-1}, 0)$` for `$t \ge 2$`,
//!   `$\bar B_t = (k_t \oslash \omega_t,\ u\odot k_t - k_t\oslash \omega_t)$` with
//!   `$\omega_t = w_t$` for `$1 \le t \le L-2$` and `$\omega_t = 1$` at `$t = 0$` and `$t = L-1$`,
//!   and `$C_t = (q_t, q_t)$` has `$\tilde\alpha = A$`: for `$s < t$` the first half gives
//!   `$q_t^\top (w_{t-1}\cdots w_{s+1})\,w_s\,(k_s\oslash w_s)$` for `$s \ge 1$` and
//!   `$q_t^\top(w_{t-1}\cdots w_1)\,k_0$` for `$s = 0$`, i.e. `$q_t^\top(w_{t-1}\cdots w_{s+1})k_s$`,
//!   and the second half nothing (`$\bar A = 0$`); on the diagonal the two halves sum to
//!   `$q_t^\top(u\odot k_t)$`. The bonus sits off the chain, so state `$d_k$` does not suffice
//!   in general: the diagonal of a state-`$d_k$` channel is tied to its chain.
//! - **Matrix transitions** (DPLR / RWKV-7, DeltaNet, Gated DeltaNet, or any mix, readout
//!   after the step), when every `$M_t$`, `$1 \le t \le L-1$`, is invertible (T18 (a),
//!   [`identity_channel`]): with `$P_0 = I$`, `$P_t = M_t P_{t-1}$`, the channel of state
//!   `$d_k$` with
//!
//!   ```math
//!   \bar A_t \equiv \mathbf 1,\qquad \bar B_s = P_s^{-1} b_s,\qquad C_t = P_t^\top q_t
//!   ```
//!
//!   has `$\tilde\alpha_{ts} = q_t^\top P_t P_s^{-1} b_s = q_t^\top M_t\cdots M_{s+1} b_s = A_{ts}$`
//!   (`$M_0$` never enters `$A$`). `$\bar A \equiv 1$` is the Mamba channel with `$A = 0$`
//!   (zero-order hold then gives `$\bar B = \Delta B$`), the limit `$\Delta \to 0$` of any.
//!   Coq: `t18_identity_channel`. A singular `$M_r$` can make every channel of state
//!   `$d_k$` with an invertible `$\bar A_r$` impossible — so every Mamba channel, whose
//!   `$\bar A_r = e^{\Delta_r A}$` is positive: the certificate of T18 (b) in
//!   [`crate::family::linear::obstruction`].
//! - **Every member** ([`head_realisation`]): the head itself as a channel with general
//!   time-varying transitions ([`TimeVaryingChannel`], no division, no condition). For a
//!   head that reads after the step, state `$d_k$`: `$A_t = M_t$`, `$b_t$`, `$c_t = q_t$`, so
//!   `$\tilde\alpha_{ts} = q_t^\top M_t\cdots M_{s+1} b_s = A_{ts}$` (T14). For RWKV-6, state
//!   `$2d_k$` `$(p, r)$`: `$p_t = M_{t-1}p_{t-1} + r_{t-1}$` (`$M_{-1} = 0$`), `$r_t = k_t x_t$`,
//!   `$c_t = (q_t, u\odot q_t)$`, i.e.
//!
//!   ```math
//!   A_t = \begin{pmatrix} M_{t-1} & I \\ 0 & 0 \end{pmatrix},\qquad
//!   b_t = \begin{pmatrix} 0 \\ k_t \end{pmatrix},\qquad
//!   c_t = \begin{pmatrix} q_t \\ u \odot q_t \end{pmatrix},
//!   ```
//!
//!   so `$p_t = \sum_{s<t} M_{t-1}\cdots M_{s+1}k_s x_s$` and
//!   `$\tilde\alpha_{tt} = q_t^\top\mathrm{diag}(u)k_t$` (T14's RWKV-6 form). State `$d_k$`
//!   does not suffice in general: through the diagonal the rank reaches `$d_k + 1$` (T15).

use crate::construct::TimeVaryingChannel;
use crate::error::{Error, Result};
use crate::family::linear::head::{FamilyHead, Readout, Transition};
use crate::scalar::Field;
use crate::ssm::Channel;
use crate::tensor::Matrix;

fn diag_of<T: Field>(m: &Transition<T>, dk: usize) -> Option<Vec<T>> {
    match m {
        Transition::Diagonal(g) => Some(g.clone()),
        Transition::Scalar(g) => Some(vec![g.clone(); dk]),
        _ => None,
    }
}

fn not_diagonal(step: usize) -> Error {
    Error::InvalidArgument {
        name: "transition".into(),
        reason: format!(
            "step {step} is not diagonal: only diagonal and scalar transitions are Mamba channels"
        ),
    }
}

/// The channel of state `$d_k$` of a diagonal head with readout after the step (module docs).
///
/// # Errors
/// [`Error::InvalidArgument`] naming the first non-diagonal step, or a head that reads
/// before the step (use [`rwkv6_channel`]).
pub fn diagonal_channel<T: Field>(head: &FamilyHead<T>) -> Result<Channel<T>> {
    head.validate()?;
    if head.readout != Readout::After {
        return Err(Error::InvalidArgument {
            name: "readout".into(),
            reason: "the head reads before the step with a bonus: use rwkv6_channel".into(),
        });
    }
    let dk = head.dk;
    let mut abar = Vec::with_capacity(head.len() * dk);
    for (t, m) in head.m.iter().enumerate() {
        abar.extend(diag_of(m, dk).ok_or_else(|| not_diagonal(t))?);
    }
    Channel::new(head.len(), dk, abar, head.b.clone(), head.q.clone())
}

/// The channel of state `$2d_k$` of an RWKV-6 head (module docs).
///
/// # Errors
/// [`Error::InvalidArgument`] for a head that reads after the step or has a non-diagonal
/// step; [`Error::ZeroTransition`] naming the first zero decay entry at a step
/// `$1 \le s \le L-2$` (the only ones divided by).
pub fn rwkv6_channel<T: Field>(head: &FamilyHead<T>) -> Result<Channel<T>> {
    head.validate()?;
    let Readout::BeforeWithBonus(u) = &head.readout else {
        return Err(Error::InvalidArgument {
            name: "readout".into(),
            reason: "the head reads after the step: use diagonal_channel".into(),
        });
    };
    let (l, dk) = (head.len(), head.dk);
    let w: Vec<Vec<T>> = head
        .m
        .iter()
        .enumerate()
        .map(|(t, m)| diag_of(m, dk).ok_or_else(|| not_diagonal(t)))
        .collect::<Result<_>>()?;
    // ω_t = w_t is divided by for 1 ≤ t ≤ L − 2 only
    let divided = |t: usize| t >= 1 && t + 2 <= l;
    for (t, wt) in w.iter().enumerate().filter(|(t, _)| divided(*t)) {
        if let Some(i) = wt.iter().position(|x| x.is_zero()) {
            return Err(Error::ZeroTransition { step: t, state: i });
        }
    }
    let one = T::one();
    let n = 2 * dk;
    let (mut abar, mut bbar, mut c) = (
        Vec::with_capacity(l * n),
        Vec::with_capacity(l * n),
        Vec::with_capacity(l * n),
    );
    for t in 0..l {
        let (qt, kt) = (&head.q[t * dk..(t + 1) * dk], &head.b[t * dk..(t + 1) * dk]);
        for i in 0..dk {
            abar.push(match t {
                0 => T::zero(),
                1 => T::one(),
                _ => w[t - 1][i].clone(),
            });
        }
        abar.extend((0..dk).map(|_| T::zero()));
        let scaled: Vec<T> = (0..dk)
            .map(|i| {
                let wi = if divided(t) {
                    w[t][i].clone()
                } else {
                    one.clone()
                };
                kt[i].clone() / &wi
            })
            .collect();
        bbar.extend(scaled.iter().cloned());
        bbar.extend((0..dk).map(|i| u[i].clone() * &kt[i] - &scaled[i]));
        c.extend(qt.iter().cloned());
        c.extend(qt.iter().cloned());
    }
    Channel::new(l, n, abar, bbar, c)
}

/// The dense `$d_k \times d_k$` matrix of a transition (`$M = M\,I$`, row-major).
fn dense<T: Field>(m: &Transition<T>, dk: usize) -> Matrix<T> {
    let mut id = vec![T::zero(); dk * dk];
    for i in 0..dk {
        id[i * dk + i] = T::one();
    }
    Matrix::from_row_major(dk, dk, m.apply(&id, dk)).expect("d_k × d_k")
}

/// `$M^{-1}$` by Gauss–Jordan elimination (pivot: the entry of largest magnitude), or
/// `None` when a column has no nonzero pivot — exactly singular over [`crate::scalar::Exact`].
fn inverse<T: Field>(m: &Matrix<T>) -> Option<Matrix<T>> {
    let n = m.rows();
    let mut a: Vec<Vec<T>> = (0..n)
        .map(|i| {
            let mut row = m.row(i).to_vec();
            row.extend((0..n).map(|j| if i == j { T::one() } else { T::zero() }));
            row
        })
        .collect();
    for c in 0..n {
        let p = (c..n).filter(|&i| !a[i][c].is_zero()).max_by(|&i, &j| {
            let (x, y) = (a[i][c].abs_val().to_f64(), a[j][c].abs_val().to_f64());
            x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal)
        })?;
        a.swap(c, p);
        let inv = T::one() / &a[c][c];
        for x in a[c].iter_mut() {
            *x *= &inv;
        }
        let pivot_row = a[c].clone();
        for (i, row) in a.iter_mut().enumerate() {
            if i == c || row[c].is_zero() {
                continue;
            }
            let f = row[c].clone();
            for (x, p) in row.iter_mut().zip(&pivot_row) {
                *x -= &(p.clone() * &f);
            }
        }
    }
    let data = a
        .into_iter()
        .flat_map(|row| row.into_iter().skip(n))
        .collect();
    Some(Matrix::from_row_major(n, n, data).expect("n × n"))
}

fn mat_mul<T: Field>(a: &Matrix<T>, b: &Matrix<T>) -> Matrix<T> {
    let (n, k, p) = (a.rows(), a.cols(), b.cols());
    let data = (0..n * p)
        .map(|ij| {
            let (i, j) = (ij / p, ij % p);
            (0..k).fold(T::zero(), |acc, t| acc + a.get(i, t).clone() * b.get(t, j))
        })
        .collect();
    Matrix::from_row_major(n, p, data).expect("n × p")
}

/// The channel of state `$d_k$` with `$\bar A \equiv 1$`, `$\bar B_s = P_s^{-1} b_s$`,
/// `$C_t = P_t^\top q_t$`, `$P_t = M_t\cdots M_1$` of a head with any transitions read after
/// the step (T18 (a), module docs), whose `$\tilde\alpha$` is the head's `$A$`:
///
/// ```math
/// \tilde\alpha_{ts} = C_t^\top \bar B_s = q_t^\top P_t P_s^{-1} b_s = q_t^\top M_t\cdots M_{s+1}\,b_s\quad(s\le t).
/// ```
///
/// Exact over [`crate::scalar::Exact`]; in floats a singular step is only detected when
/// a pivot is exactly 0, and the inverse of a nearly singular `$M_t$` is not bounded.
/// Coq: `t18_identity_channel`.
///
/// # Errors
/// As [`FamilyHead::validate`]; [`Error::InvalidArgument`] for a head that reads before
/// the step; [`Error::SingularTransition`] naming the first singular `$M_t$`,
/// `$1 \le t \le L-1$` (`$M_0$` is never inverted).
///
/// # Examples
/// DeltaNet with `$\beta k^\top k \ne 1$` at step 1:
/// ```
/// use hidden_attention::family::linear::{realise::identity_channel, FamilyHead, Readout, Transition};
/// use hidden_attention::{scalar::ratio, ssm::attention_matrix};
/// let r = |p| ratio(p, 2);
/// let step = |beta, key: Vec<_>| Transition::Householder { gate: r(2), beta, key };
/// let head = FamilyHead {
///     dk: 2,
///     q: vec![r(2), r(0), r(1), r(3)],
///     b: vec![r(1), r(1), r(2), r(-1)],
///     m: vec![step(r(1), vec![r(2), r(0)]), step(r(1), vec![r(2), r(4)])],
///     readout: Readout::After,
/// };
/// let ch = identity_channel(&head).unwrap();
/// assert!(ch.abar_all().iter().all(|a| *a == r(2)));
/// assert_eq!(attention_matrix(&ch).unwrap(), head.attention_matrix().unwrap());
/// // β kᵀk = 1 at step 1: M_1 = I − kkᵀ/5 is singular.
/// let mut singular = head.clone();
/// singular.m[1] = step(ratio(1, 5), vec![r(2), r(4)]);
/// assert!(identity_channel(&singular).is_err());
/// ```
pub fn identity_channel<T: Field>(head: &FamilyHead<T>) -> Result<Channel<T>> {
    head.validate()?;
    if head.readout != Readout::After {
        return Err(Error::InvalidArgument {
            name: "readout".into(),
            reason: "the head reads before the step with a bonus: use rwkv6_channel".into(),
        });
    }
    let (l, dk) = (head.len(), head.dk);
    let mut p = dense(&Transition::Scalar(T::one()), dk);
    let mut p_inv = p.clone();
    let (mut bbar, mut c) = (Vec::with_capacity(l * dk), Vec::with_capacity(l * dk));
    for t in 0..l {
        if t >= 1 {
            let m = dense(&head.m[t], dk);
            let m_inv = inverse(&m).ok_or(Error::SingularTransition { step: t })?;
            p = mat_mul(&m, &p);
            p_inv = mat_mul(&p_inv, &m_inv);
        }
        bbar.extend(p_inv.mul_vec(&head.b[t * dk..(t + 1) * dk])?);
        let qt = &head.q[t * dk..(t + 1) * dk];
        c.extend(
            (0..dk).map(|j| (0..dk).fold(T::zero(), |acc, i| acc + p.get(i, j).clone() * &qt[i])),
        );
    }
    Channel::new(l, dk, vec![T::one(); l * dk], bbar, c)
}

/// The head as a channel with general time-varying transitions whose hidden attention is
/// the head's implicit attention `$A$` (module docs): state `$d_k$` (`$A_t = M_t$`,
/// `$b_t$`, `$c_t = q_t$`) for a head that reads after the step, state `$2d_k$` for RWKV-6.
/// Exact over any field; every member, with no condition on the transitions (T14).
///
/// # Errors
/// As [`FamilyHead::validate`].
pub fn head_realisation<T: Field>(head: &FamilyHead<T>) -> Result<TimeVaryingChannel<T>> {
    head.validate()?;
    let (l, dk) = (head.len(), head.dk);
    let rows = |n: usize, v: Vec<T>| Matrix::from_row_major(l, n, v);
    match &head.readout {
        Readout::After => Ok(TimeVaryingChannel {
            a: head.m.iter().map(|m| dense(m, dk)).collect(),
            b: rows(dk, head.b.clone())?,
            c: rows(dk, head.q.clone())?,
        }),
        Readout::BeforeWithBonus(u) => {
            let n = 2 * dk;
            let mut a = Vec::with_capacity(l);
            let (mut b, mut c) = (Vec::with_capacity(l * n), Vec::with_capacity(l * n));
            for t in 0..l {
                let mut at = Matrix::zeros(n, n);
                if t > 0 {
                    let prev = dense(&head.m[t - 1], dk);
                    for i in 0..dk {
                        at.row_mut(i)[..dk].clone_from_slice(prev.row(i));
                    }
                }
                for i in 0..dk {
                    *at.get_mut(i, dk + i) = T::one();
                }
                a.push(at);
                b.extend((0..dk).map(|_| T::zero()));
                b.extend(head.b[t * dk..(t + 1) * dk].iter().cloned());
                let qt = &head.q[t * dk..(t + 1) * dk];
                c.extend(qt.iter().cloned());
                c.extend(qt.iter().zip(u).map(|(q, ui)| q.clone() * ui));
            }
            Ok(TimeVaryingChannel {
                a,
                b: rows(n, b)?,
                c: rows(n, c)?,
            })
        }
    }
}

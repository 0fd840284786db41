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
//! - **Every member** ([`head_realisation`]): the head itself as a channel with general
//!   time-varying transitions ([`TimeVaryingChannel`], no division, no condition). For a
//!   head that reads after the step, state `$d_k$`: `$A_t = M_t$`, `$b_t$`, `$c_t = q_t$`, so
//!   `$\tilde\alpha_{ts} = q_t^\top M_t\cdots M_{s+1} b_s = A_{ts}$` (T14). For RWKV-6, state
//!   `$2d_k$` `$(p, r)$`: `$p_t = M_{t-1}p_{t-1} + r_{t-1}$` (`$M_{-1} = 0$`), `$r_t = k_t x_t$`,
//!   `$c_t = (q_t, u\odot q_t)$`, i.e.
//!
//! ```math
//! A_t = \begin{pmatrix} M_{t-1} & I \\ 0 & 0 \end{pmatrix},\qquad
//! b_t = \begin{pmatrix} 0 \\ k_t \end{pmatrix},\qquad
//! c_t = \begin{pmatrix} q_t \\ u \odot q_t \end{pmatrix},
//! ```
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

/// The dense `$d_k \times d_k$` matrix of a transition: `$M I$`.
fn dense<T: Field>(m: &Transition<T>, dk: usize) -> Result<Matrix<T>> {
    let mut id = vec![T::zero(); dk * dk];
    for i in 0..dk {
        id[i * dk + i] = T::one();
    }
    Matrix::from_row_major(dk, dk, m.apply(&id, dk))
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
            a: head.m.iter().map(|m| dense(m, dk)).collect::<Result<_>>()?,
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
                    let prev = dense(&head.m[t - 1], dk)?;
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

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

use crate::error::{Error, Result};
use crate::family::linear::head::{FamilyHead, Readout, Transition};
use crate::scalar::Field;
use crate::ssm::Channel;

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

//! T12 — SSD heads and Mamba-1 (diagonal) channels: (a) every SSD head is a channel with
//! equal diagonal entries; (b) a channel with no zero transition entry at steps `$\ge 1$` is
//! an SSD head of the same state; (c) otherwise not necessarily, with certificates.
// A failing case returns the whole counterexample by value (as t1 and t2 do).
#![allow(clippy::result_large_err)]

use super::t3::fail;
use super::{CaseResult, Theorem};
use crate::error::Error;
use crate::family::ssd::realise::{
    channel_needing_ssd_state, channel_to_ssd, find_obstruction, realise_full,
};
use crate::family::ssd::{attention_matrix, scan, SsdHead};
use crate::scalar::{Class, Exact, Field};
use crate::ssm::{self, Channel};

/// Statement of T12.
pub const THEOREM: Theorem = Theorem {
    id: "T12",
    statement: "SSD head = channel with Ā_t = a_t·1; channel with Ā_k (k ≥ 1) zero-free = SSD head of state N (a ≡ 1, C⊙P, B̄⊘P); with zeros a state-2 channel may need SSD state ≥ L−1 (certificate), L always suffices",
};

/// Exact check of T12 (a), (b) on a rational channel and input (Coq:
/// `t12_ssd_head_is_channel`):
/// - (a) the SSD head with `$a_t = \bar A_{t,0}$` and the channel's `$\bar B$`, `$C$` has, as
///   [`SsdHead::to_channel`], the same matrix and the same scan;
/// - (b) if no entry of `$\bar A_k$`, `$k \ge 1$`, is 0, [`channel_to_ssd`] is an SSD head of
///   the same state with the channel's matrix and output; otherwise it is refused with
///   [`Error::ZeroTransition`] naming the first zero, and any certificate that
///   [`find_obstruction`] finds for state `$N$` re-verifies.
pub fn check_exact(case: &(Channel<Exact>, Vec<Exact>)) -> CaseResult {
    let (ch, x) = case;
    let f = |what: String| fail(THEOREM.id, "exact", what, Some(ch.clone()));
    let (l, n) = (ch.len(), ch.state());
    let alpha = ssm::attention_matrix(ch).map_err(|e| f(e.to_string()))?;
    let y = ssm::scan(ch, x).map_err(|e| f(e.to_string()))?.y;
    // (a)
    let head = SsdHead::new(
        l,
        n,
        (0..l).map(|t| ch.abar(t)[0].clone()).collect(),
        ch.bbar_all().to_vec(),
        ch.c_all().to_vec(),
    )
    .map_err(|e| f(e.to_string()))?;
    let as_ch = head.to_channel();
    if ssm::attention_matrix(&as_ch).map_err(|e| f(e.to_string()))?
        != attention_matrix(&head).map_err(|e| f(e.to_string()))?
        || ssm::scan(&as_ch, x).map_err(|e| f(e.to_string()))?
            != scan(&head, x).map_err(|e| f(e.to_string()))?
    {
        return Err(f("(a) SSD head and its channel differ".into()));
    }
    // (b)
    let first_zero = (1..l).find_map(|t| {
        (0..n)
            .find(|&k| ch.abar(t)[k].class() == Class::Zero)
            .map(|k| (t, k))
    });
    match (channel_to_ssd(ch), first_zero) {
        (Ok(h), None) => {
            if h.state() != n
                || h.a_all()
                    .iter()
                    .any(|a| *a != Exact::from_integer(1.into()))
            {
                return Err(f("(b) the SSD head is not of state N with a ≡ 1".into()));
            }
            if attention_matrix(&h).map_err(|e| f(e.to_string()))? != alpha {
                return Err(f("(b) α̃(SSD head) != α̃(channel)".into()));
            }
            if scan(&h, x).map_err(|e| f(e.to_string()))?.y != y {
                return Err(f("(b) SSD scan != channel scan".into()));
            }
            Ok(None)
        }
        (Err(Error::ZeroTransition { step, state }), Some(z)) if (step, state) == z => {
            if let Some(cert) = find_obstruction(&alpha, n) {
                cert.verify(&alpha)
                    .map_err(|e| f(format!("(c) found certificate does not verify: {e}")))?;
            }
            Ok(None)
        }
        (r, z) => Err(f(format!(
            "(b) channel → SSD head gave {:?} with first zero {z:?}",
            r.err()
        ))),
    }
}

/// Exact check of T12 (c) for one length `$L \ge 3$`: the example channel of state 2
/// ([`channel_needing_ssd_state`]) has a certificate for SSD state `$L - 2$` that
/// re-verifies (so no SSD head of state `$L-2$` reproduces it), none is found for state
/// `$L - 1$`, and [`realise_full`] gives an SSD head of state `$L$` with its matrix.
pub fn check_obstruction(len: &usize) -> CaseResult {
    let len = *len;
    let ch = channel_needing_ssd_state(len)
        .map_err(|e| fail(THEOREM.id, "exact", e.to_string(), None))?;
    let f = |what: String| fail(THEOREM.id, "exact", what, Some(ch.clone()));
    let alpha = ssm::attention_matrix(&ch).map_err(|e| f(e.to_string()))?;
    let cert = find_obstruction(&alpha, len - 2)
        .ok_or_else(|| f(format!("no certificate for SSD state {}", len - 2)))?;
    cert.verify(&alpha).map_err(f)?;
    if let Some(c) = find_obstruction(&alpha, len - 1) {
        return Err(f(format!(
            "certificate {c:?} for state L − 1 (it must not exist)"
        )));
    }
    let full = realise_full(&alpha).map_err(|e| f(e.to_string()))?;
    if full.state() != len || attention_matrix(&full).map_err(|e| f(e.to_string()))? != alpha {
        return Err(f("the state-L SSD realisation does not reproduce α̃".into()));
    }
    Ok(None)
}

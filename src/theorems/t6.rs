//! T6 — softmax heads and channels separate, with exact and interval certificates.
// A failing case returns the whole counterexample by value (as t1 and t2 do).
#![allow(clippy::result_large_err)]

use super::t3::fail;
use super::{CaseResult, Theorem};
use crate::attention::SoftmaxHead;
use crate::construct::separation::{
    enclosure_is_stochastic, softmax_exceeds_state, softmax_obstruction,
};
use crate::interval::softmax_enclosure;
use crate::scalar::Exact;
use crate::semiseparable::semiseparable_rank_exact;
use crate::ssm::{hidden_attention, Channel};

/// Statement of T6.
pub const THEOREM: Theorem = Theorem {
    id: "T6",
    statement: "(a) α̃ with an entry ≤ 0 or a row sum ≠ 1 is no softmax head's; (b) softmax rank family: semiseparable rank ≥ N+1, certified by an interval determinant",
};

/// Exact check of T6a on a rational channel and a rational softmax head: any obstruction
/// found on $\tilde\alpha$ re-verifies, and the softmax head's rigorous enclosure is
/// positive and row-stochastic (so the obstruction test never fires on a softmax matrix).
pub fn check_obstruction(case: &((Channel<Exact>, Vec<Exact>), SoftmaxHead<Exact>)) -> CaseResult {
    let ((ch, _), head) = case;
    let f = |what: String| fail(THEOREM.id, "exact", what, Some(ch.clone()));
    let a = hidden_attention(ch).map_err(|e| f(e.to_string()))?;
    if let Some(ob) = softmax_obstruction(&a) {
        if !ob.verify(&a) {
            return Err(f(format!("obstruction `{ob}` does not re-verify")));
        }
    }
    if !enclosure_is_stochastic(&softmax_enclosure(head, 96)) {
        return Err(f(format!(
            "softmax head enclosure not positive row-stochastic: {head:?}"
        )));
    }
    Ok(None)
}

/// Exact check of T6b for state size $n$: the certificate of
/// [`softmax_exceeds_state`]`(n)` exists, has size $n+1$ and re-verifies from the head
/// alone; the certificate's rows are $n..=2n$ and its columns $0..=n$ (inside the block
/// $H_n$). By T4 no channel with state $n$ has this matrix as its $\tilde\alpha$.
/// (That [`crate::construct::separation::RankCertificate::verify`] recomputes rather
/// than trusts — a tampered enclosure is rejected — is tested in
/// `tests/constructions.rs::softmax_rank_certificates`.)
pub fn check_rank(n: &usize) -> CaseResult {
    // The family is deterministic in n: each n is certified once per process.
    static DONE: std::sync::OnceLock<
        std::sync::Mutex<std::collections::HashMap<usize, CaseResult>>,
    > = std::sync::OnceLock::new();
    let done = DONE.get_or_init(Default::default);
    if let Some(r) = done.lock().expect("not poisoned").get(n) {
        return r.clone();
    }
    let r = check_rank_uncached(*n);
    done.lock().expect("not poisoned").insert(*n, r.clone());
    r
}

fn check_rank_uncached(n: usize) -> CaseResult {
    let n = &n;
    let f = |what: String| fail(THEOREM.id, "exact", format!("n = {n}: {what}"), None);
    let cert = softmax_exceeds_state(*n)
        .ok_or_else(|| f("no certificate (enclosure contains 0)".into()))?;
    if cert.size() != n + 1 || !cert.verify() {
        return Err(f(
            "certificate has the wrong size or does not re-verify".into()
        ));
    }
    if cert.rows != (*n..=2 * n).collect::<Vec<_>>() || cert.cols != (0..=*n).collect::<Vec<_>>() {
        return Err(f(format!(
            "certificate on rows {:?}, columns {:?}",
            cert.rows, cert.cols
        )));
    }
    Ok(None)
}

/// Consistency of T4 and T6b on one rational channel of state $N$: its $\tilde\alpha$ has
/// semiseparable rank $\le N$, strictly below the certified $N+1$ of the softmax family.
pub fn check_channel_below_family(case: &(Channel<Exact>, Vec<Exact>)) -> CaseResult {
    let ch = &case.0;
    let a = hidden_attention(ch)
        .map_err(|e| fail(THEOREM.id, "exact", e.to_string(), Some(ch.clone())))?;
    let r = semiseparable_rank_exact(&a).rank;
    if r > ch.state() {
        return Err(fail(
            THEOREM.id,
            "exact",
            format!("rank {r} > N"),
            Some(ch.clone()),
        ));
    }
    Ok(None)
}

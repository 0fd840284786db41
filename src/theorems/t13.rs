//! T13 — the chunked SSD algorithm (Mamba-2's `ssd_minimal_discrete` order) equals the
//! scan, exactly, for every chunk size `$Q \ge 1$`.
// A failing case returns the whole counterexample by value (as t1 and t2 do).
#![allow(clippy::result_large_err)]

use super::t8::{head_fail, within_bound};
use super::{CaseResult, Theorem};
use crate::family::ssd::{bound, chunked, scan, SsdHead};
use crate::scalar::{Exact, Field};

/// Statement of T13.
pub const THEOREM: Theorem = Theorem {
    id: "T13",
    statement: "chunked SSD (intra-chunk (CB̄ᵀ∘M)x, chunk states, inter-chunk recurrence, state→output) = scan, for every chunk size Q ≥ 1",
};

/// Exact check of T13 on one rational case with chunk size `$Q$`: the chunked output and
/// final state equal the scan's (rationals, no tolerance), for `$Q$` and for `$Q = 1$` and
/// `$Q = L$`; chunk size 0 is a typed error, not a result.
pub fn check_exact(case: &(SsdHead<Exact>, Vec<Exact>, usize)) -> CaseResult {
    let (head, x, q) = case;
    let fail = |what: String| head_fail(THEOREM.id, "exact", what, head, x);
    let want = scan(head, x).map_err(|e| fail(format!("scan failed: {e}")))?;
    for chunk in [*q, 1, head.len().max(1)] {
        let got = chunked(head, x, chunk)
            .map_err(|e| fail(format!("chunked (Q = {chunk}) failed: {e}")))?;
        if let Some(t) = (0..head.len()).find(|&t| got.y[t] != want.y[t]) {
            return Err(fail(format!(
                "chunked (Q = {chunk}) y[{t}] = {} but scan y[{t}] = {}",
                got.y[t], want.y[t]
            )));
        }
        if got.last_state != want.last_state {
            return Err(fail(format!(
                "chunked (Q = {chunk}) final state != scan's h_L"
            )));
        }
    }
    if chunked(head, x, 0).is_ok() {
        return Err(fail("chunk size 0 was accepted".into()));
    }
    Ok(None)
}

/// Float check of T13: the float chunked output with chunk size `$Q$` is within the bound
/// of [`crate::family::ssd::bound`] (derived for this evaluation order among others) of
/// the exact output (the exact scan) of the exactly lifted case. Returns the largest
/// error relative to `$\max_t \mathrm{mag}_t$`.
pub fn check_float<T: Field>(case: &(SsdHead<T>, Vec<T>, usize)) -> CaseResult {
    let (head, x, q) = case;
    let (eh, ex) = (
        head.to_exact(),
        x.iter().map(Field::to_exact).collect::<Vec<_>>(),
    );
    let fail = |what: String| head_fail(THEOREM.id, T::NAME, what, &eh, &ex);
    let y = scan(&eh, &ex).map_err(|e| fail(e.to_string()))?.y;
    let (mag, bounds) = bound::output_bound_exact::<T>(&eh, &ex);
    let got = chunked(head, x, *q)
        .map_err(|e| fail(format!("float chunked failed: {e}")))?
        .y;
    within_bound(
        THEOREM.id,
        &format!("chunked (Q = {q}) y"),
        &got,
        &y,
        &mag,
        &bounds,
        &fail,
    )
}

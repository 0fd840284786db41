//! The gated-linear family rows of the `hattn check` table: T14 (unrolling) and T15
//! (semiseparable rank), exact, on heads drawn from the public family strategies
//! (every transition kind, both readouts, gates 0 and 1, $d_k \ge L/2$ included).

use super::suite::{row, CheckRow, Metric};
use super::{t14, t15};
use crate::strategies;

const FAMILY: &str = "rational family heads: diagonal, scalar, diagonal + rank one, g(I − βkkᵀ) transitions (mixed or one kind), readout after / before with bonus, gates ∋ 0, 1, L ≤ 10, d_k ≤ 5, d_v ≤ 3";

/// The family rows, appended to [`super::suite::rows`].
pub(super) fn rows() -> Vec<CheckRow> {
    let cases = || strategies::rational_family_head_with_values(1..=10, 1..=5, 1..=3);
    vec![
        row(
            (t14::THEOREM, "T14"),
            "exact",
            Metric::Exact,
            FAMILY,
            cases,
            t14::check_exact,
        ),
        row(
            (t15::THEOREM, "T15"),
            "exact",
            Metric::Exact,
            FAMILY,
            cases,
            t15::check_exact,
        ),
    ]
}

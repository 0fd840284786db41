//! The gated-linear family rows of the `hattn check` table: T14 (unrolling), T15
//! (semiseparable rank), T16 (channel realisations), T17 (softmax separation), T18 (matrix-transition heads
//! as Mamba channels), T19 (free-query/key members against softmax heads), exact, on heads
//! drawn from the public family strategies (every transition kind, both readouts, gates 0
//! and 1, `$d_k \ge L/2$` included; planted singular steps for T18).

use super::suite::{row, CheckRow, Metric};
use super::{t14, t15, t16, t17, t18, t19};
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
        row(
            (t16::THEOREM, "T16"),
            "exact",
            Metric::Exact,
            FAMILY,
            cases,
            t16::check_exact,
        ),
        row(
            (t17::THEOREM, "T17"),
            "exact",
            Metric::Exact,
            "HGRN heads (b ≡ 1, gates in (0, 2]) and RG-LRU heads (gates, write factors in (0, 1)), L ≤ 16",
            || strategies::positive_elementwise_head(1..=16),
            t17::check_exact,
        ),
        row(
            (t18::THEOREM, "T18"),
            "exact",
            Metric::Exact,
            "DPLR, DeltaNet and Gated DeltaNet heads, gates ∋ 0, 1, one step in three planted singular (β = 1/kᵀk, g = 0, αᵀdiag(g)⁻¹β = −1), L ≤ 8, d_k ≤ 4, d_v ≤ 2",
            || strategies::matrix_transition_head_with_values(1..=8, 1..=4, 1..=2),
            t18::check_exact,
        ),
        row(
            (t19::THEOREM, "T19"),
            "exact",
            Metric::Exact,
            "family heads of every kind and readout, d_k ≤ 3, L = 2d_k + 2, against the interval-certified T6b softmax minors; lower-triangular rational matrices, L ≤ 6, realised by every free-query/key member",
            || strategies::head_and_lower_triangular(1..=3, 1..=6),
            t19::check_exact,
        ),
    ]
}

//! The SSD (Mamba-2) rows of the `hattn check` table: T8–T13 on exact, f64, f32 and wide
//! tiers, drawn from the public SSD strategies of [`crate::strategies`].

use proptest::strategy::{BoxedStrategy, Strategy};

use super::suite::{row, CheckRow, Metric};
use super::{t10, t11, t12, t13, t8, t9};
use crate::strategies;

const SSD_RATIONAL: &str = "rational SSD heads, L ≤ 24, N ≤ 16 (N ≥ L/2 included), a ∋ 0, 1";
const SSD_MAMBA2: &str = "Mamba-2-like heads a = e^{ΔA_h}, B̄ = ΔB, L ≤ 48, N ≤ 16, chunk 1..=L+2";
const SSD_WIDE: &str = "wide-exponent SSD heads: B̄, C, x over the whole exponent range, subnormals included; a ∋ 0, ±1, subnormal; L ≤ 16, N ≤ 4, chunk 1..=L+2";
const SSD_LAYER: &str = "SSD layers: batch ≤ 2, G ≤ 2 groups, H ≤ 4, P ≤ 3, N ≤ 6, L ≤ 12, dt near softplus threshold 20, finite time_step_limit, D per head/channel, chunk 1..=L+2";

/// The SSD rows (T8–T13), appended to [`super::suite::rows`].
pub(super) fn rows() -> Vec<CheckRow> {
    use Metric::*;
    let (t8, t8w, t8l) = (
        (t8::THEOREM, "T8"),
        (t8::THEOREM, "T8 wide"),
        (t8::THEOREM, "T8 SSD-layer"),
    );
    let (t13, t13w) = ((t13::THEOREM, "T13"), (t13::THEOREM, "T13 wide"));
    let rational = || strategies::rational_ssd_head_with_input(1..=24, 1..=16);
    let chunked = || strategies::rational_ssd_head_with_chunk(1..=24, 1..=16);
    vec![
        row(t8, "exact", Exact, SSD_RATIONAL, rational, t8::check_exact),
        row(
            t8,
            "f64",
            RelativeError,
            SSD_MAMBA2,
            || strategies::mamba2_head_with_input::<f64>(1..=48, 1..=16),
            t8::check_float::<f64>,
        ),
        row(
            t8,
            "f32",
            RelativeError,
            SSD_MAMBA2,
            || strategies::mamba2_head_with_input::<f32>(1..=48, 1..=16),
            t8::check_float::<f32>,
        ),
        row(
            t8w,
            "f64",
            RelativeError,
            SSD_WIDE,
            || strategies::wide_ssd_head_with_input::<f64>(1..=16, 1..=4),
            t8::check_float::<f64>,
        ),
        row(
            t8w,
            "f32",
            RelativeError,
            SSD_WIDE,
            || strategies::wide_ssd_head_with_input::<f32>(1..=16, 1..=4),
            t8::check_float::<f32>,
        ),
        row(
            t8l,
            "f64",
            RelativeError,
            SSD_LAYER,
            || strategies::ssd_layer_input::<f64>(1..=12, 1..=2, 1..=2, 1..=3, 1..=6),
            t8::check_layer::<f64>,
        ),
        row(
            t8l,
            "f32",
            RelativeError,
            SSD_LAYER,
            || strategies::ssd_layer_input::<f32>(1..=12, 1..=2, 1..=2, 1..=3, 1..=6),
            t8::check_layer::<f32>,
        ),
        row((t9::THEOREM, "T9"), "exact", Exact, "rational SSD heads, L ≤ 12, N ≤ 6 (N ≥ L/2 included), a ∋ 0, 1; C B̄ᵀ ∘ M and rank-N factorisation of every block", || strategies::rational_ssd_head_with_input(1..=12, 1..=6), t9::check_exact),
        row((t9::THEOREM, "T9"), "f64", SingularRatio, "Mamba-2-like heads, N ≤ 6, 2N+2 ≤ L ≤ 40 (faer SVD)", t9_float_cases, t9::check_float::<f64>),
        row((t10::THEOREM, "T10"), "exact", Exact, SSD_RATIONAL, rational, t10::check_exact),
        row((t11::THEOREM, "T11"), "f64", ErrorOverBound, "A_h = −e^s < 0, Δ = softplus(r), B, C ∈ [−2, 2], ε ∈ [1e-4, 1], L ≤ 12, N ≤ 4; exp by certified intervals", || strategies::ssd_limit_case(1..=12, 1..=4), t11::check),
        row((t12::THEOREM, "T12a/b"), "exact", Exact, "rational channels, L ≤ 16, N ≤ 6, Ā ∋ 0, 1 (zero-free: SSD head of state N; with zeros: refused, certificates re-verified)", || strategies::rational_channel_with_input(1..=16, 1..=6), t12::check_exact),
        row((t12::THEOREM, "T12c"), "exact", Exact, "the state-2 channel with α̃ = I + E_{L−1,0}, 3 ≤ L ≤ 24: certificate for SSD state L−2, realisation of state L", || (3usize..=24).boxed(), t12::check_obstruction),
        row(t13, "exact", Exact, SSD_RATIONAL, chunked, t13::check_exact),
        row(
            t13,
            "f64",
            RelativeError,
            SSD_MAMBA2,
            || strategies::mamba2_head_with_input::<f64>(1..=48, 1..=16),
            t13::check_float::<f64>,
        ),
        row(
            t13,
            "f32",
            RelativeError,
            SSD_MAMBA2,
            || strategies::mamba2_head_with_input::<f32>(1..=48, 1..=16),
            t13::check_float::<f32>,
        ),
        row(
            t13w,
            "f64",
            RelativeError,
            SSD_WIDE,
            || strategies::wide_ssd_head_with_input::<f64>(1..=16, 1..=4),
            t13::check_float::<f64>,
        ),
        row(
            t13w,
            "f32",
            RelativeError,
            SSD_WIDE,
            || strategies::wide_ssd_head_with_input::<f32>(1..=16, 1..=4),
            t13::check_float::<f32>,
        ),
    ]
}

/// T9 f64 cases: as for T4, state `$N \le 6$` and `$L \ge 2N + 2$`.
fn t9_float_cases() -> BoxedStrategy<(crate::family::ssd::SsdHead<f64>, Vec<f64>, usize)> {
    (1usize..=6)
        .prop_flat_map(|n| strategies::mamba2_head_with_input::<f64>(2 * n + 2..=40, n..=n))
        .boxed()
}

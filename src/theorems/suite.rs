//! The table `hattn check` runs: every theorem check, on every tier, on seeded cases
//! drawn from the public [`crate::strategies`].

use super::{run_cases, t1, t2, CaseResult, RunStats, Theorem};
use crate::scalar::{Exact, Real};
use crate::ssm::Channel;
use crate::strategies;
use proptest::strategy::Strategy as _;

/// One row of the check table.
pub struct CheckRow {
    /// The theorem.
    pub theorem: Theorem,
    /// Numeric tier (`exact`, `f64`, `f32`).
    pub tier: &'static str,
    /// Description of the cases drawn.
    pub cases: &'static str,
    run: RowRunner,
}

/// The function a row runs: `(cases, seed, tick) -> stats`.
type RowRunner = Box<dyn Fn(usize, u64, &mut dyn FnMut()) -> RunStats + Send + Sync>;

impl CheckRow {
    /// Check `cases` cases drawn with `seed`; `tick` is called after each.
    pub fn run(&self, cases: usize, seed: u64, tick: &mut dyn FnMut()) -> RunStats {
        (self.run)(cases, seed, tick)
    }
}

type Check<T> = fn(&Channel<T>, &[T]) -> CaseResult;

fn exact_row(theorem: Theorem, check: Check<Exact>) -> CheckRow {
    CheckRow {
        theorem,
        tier: "exact",
        cases: "rational channels, L ≤ 32, N ≤ 8, Ā ∋ 0, 1",
        run: Box::new(move |cases, seed, tick| {
            let s = strategies::rational_channel_with_input(1..=32, 1..=8);
            run_cases(&s, cases, seed, |(ch, x)| check(ch, x), tick)
        }),
    }
}

fn float_row<T: Real>(theorem: Theorem, check: Check<T>) -> CheckRow {
    CheckRow {
        theorem,
        tier: T::NAME,
        cases: "Mamba-like channels, L ≤ 64, N ≤ 16",
        run: Box::new(move |cases, seed, tick| {
            let s = strategies::mamba_like_channel_with_input::<T>(1..=64, 1..=16);
            run_cases(&s, cases, seed, |(ch, x)| check(ch, x), tick)
        }),
    }
}

/// Every check row, in table order.
pub fn rows() -> Vec<CheckRow> {
    vec![
        exact_row(t1::THEOREM, t1::check_exact),
        float_row::<f64>(t1::THEOREM, t1::check_float),
        float_row::<f32>(t1::THEOREM, t1::check_float),
        exact_row(t2::THEOREM, t2::check_exact),
        float_row::<f64>(t2::THEOREM, t2::check_float),
        float_row::<f32>(t2::THEOREM, t2::check_float),
        case_row(t2::THEOREM, "f64", "S6 layers as heads q(x̂), k(x̂), g(x̂): L ≤ 24, D ≤ 4, N ≤ 6", || strategies::s6_layer_with_tokens::<f64>(1..=24, 1..=4, 1..=6), super::t3::check_s6_layer_head),
        case_row(super::t3::THEOREM, "exact", "rational gated heads (diag/scalar/RetNet/plain gates) + values, L ≤ 16, d ≤ 6", || strategies::rational_gated_head_with_values(1..=16, 1..=6), super::t3::check_exact),
        case_row(super::t3::THEOREM, "f64", "linear-attention layers → Mamba (A<0), Δ ∈ [1e-4, 0.1], a ∈ [0.1, 8], L ≤ 24; error column: max error/bound", limit_cases, super::t3::check_mamba_limit),
        case_row(super::t4::THEOREM, "exact", "rational channels, L ≤ 12, N ≤ 4, Ā ∋ 0, 1", || strategies::rational_channel_with_input(1..=12, 1..=4), super::t4::check_exact),
        case_row(super::t4::THEOREM, "f64", "Mamba-like channels, L ≤ 48, N ≤ 8 (faer SVD)", || strategies::mamba_like_channel_with_input::<f64>(1..=48, 1..=8), super::t4::check_float::<f64>),
        case_row(super::t5::THEOREM, "exact", "lower-triangular rational matrices, L ≤ 8", || strategies::rational_lower_triangular(1..=8), super::t5::check_exact),
        case_row(super::t5::THEOREM, "exact", "prescribed semiseparable rank r ≤ 3, L ≤ 10", || strategies::lower_triangular_with_rank(2..=10, 1..=3), super::t5::check_exact),
        case_row(super::t6::THEOREM, "exact", "(a) rational channels L ≤ 8, N ≤ 3 and softmax heads L ≤ 6", obstruction_cases, super::t6::check_obstruction),
        case_row(super::t6::THEOREM, "exact", "(b) softmax rank family, state n ≤ 5: certificate of size n+1", || (1usize..=5).boxed(), super::t6::check_rank),
        case_row(super::t7::THEOREM, "f64", "pre-activated Mamba-like channels, z ∈ [−6, 4], L ≤ 32, N ≤ 8; error column: max error/bound", || strategies::preactivated::<f64>(1..=32, 1..=8), super::t7::check_float::<f64>),
        case_row(super::t7::THEOREM, "f32", "pre-activated Mamba-like channels, z ∈ [−6, 4], L ≤ 32, N ≤ 8; error column: max error/bound", || strategies::preactivated::<f32>(1..=32, 1..=8), super::t7::check_float::<f32>),
    ]
}

/// A row checking `check` on cases drawn from `strategy()`.
fn case_row<V: Clone + std::fmt::Debug + 'static>(
    theorem: Theorem,
    tier: &'static str,
    cases: &'static str,
    strategy: fn() -> proptest::strategy::BoxedStrategy<V>,
    check: fn(&V) -> CaseResult,
) -> CheckRow {
    CheckRow {
        theorem,
        tier,
        cases,
        run: Box::new(move |n, seed, tick| run_cases(&strategy(), n, seed, check, tick)),
    }
}

type LimitCase = (
    crate::construct::function::LinearAttentionLayer<f64>,
    crate::tensor::Matrix<f64>,
    f64,
    f64,
);

fn limit_cases() -> proptest::strategy::BoxedStrategy<LimitCase> {
    use proptest::strategy::Strategy;
    (
        strategies::linear_attention_layer_with_tokens::<f64>(1..=24, 1..=4, 1..=4),
        -4.0f64..-1.0,
        0.1f64..8.0,
    )
        .prop_map(|((layer, x), e, a)| (layer, x, 10f64.powf(e), a))
        .boxed()
}

type ObstructionCase = (
    (Channel<Exact>, Vec<Exact>),
    crate::attention::SoftmaxHead<Exact>,
);

fn obstruction_cases() -> proptest::strategy::BoxedStrategy<ObstructionCase> {
    use proptest::strategy::Strategy;
    (
        strategies::rational_channel_with_input(1..=8, 1..=3),
        strategies::rational_softmax_head(1..=6, 1..=2),
    )
        .boxed()
}

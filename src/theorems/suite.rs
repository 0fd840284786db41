//! The table `hattn check` runs: every theorem check, on every tier, on seeded cases
//! drawn from the public [`crate::strategies`] (and a few row-specific strategies below);
//! and the rows of `hattn check --case`, every applicable check on one given case.

use proptest::strategy::{BoxedStrategy, Just, Strategy};

use super::{run_cases_sharded, t1, t2, t3, t4, t5, t6, t7, CaseResult, RunStats, Theorem};
use crate::scalar::{ratio, Exact, Field, Real};
use crate::shard::Shard;
use crate::ssm::Channel;
use crate::strategies;

/// What a row's number measures (the table prints its [`Metric::label`] next to it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Metric {
    /// Exact equality of rationals: no number.
    Exact,
    /// Largest `$|\text{float} - \text{exact}|$` over the outputs, relative to
    /// `$\max_i \sum_j |\tilde\alpha_{ij}||x_j|$`.
    RelativeError,
    /// Largest error divided by its proven bound (a pass is `$\le 1$`).
    ErrorOverBound,
    /// Largest `$\sigma_{N+1}(H_j)/\sigma_1(H_j)$` over the blocks (how far from rank `$N$`).
    SingularRatio,
}

impl Metric {
    /// Short label printed next to the number.
    pub fn label(self) -> &'static str {
        match self {
            Self::Exact => "exact ==",
            Self::RelativeError => "rel. err",
            Self::ErrorOverBound => "err/bound",
            Self::SingularRatio => "σN+1/σ1",
        }
    }
    /// One-line explanation for the table's legend.
    pub fn description(self) -> &'static str {
        match self {
            Self::Exact => "exact ==: every view equal as rationals",
            Self::RelativeError => {
                "rel. err: largest |float − exact| over the outputs, relative to max_i Σ_j |α̃_ij||x_j|"
            }
            Self::ErrorOverBound => "err/bound: largest error divided by its proven bound (≤ 1)",
            Self::SingularRatio => "σN+1/σ1: largest σ_{N+1}(H_j)/σ_1(H_j) over the blocks H_j",
        }
    }
}

/// One row of the check table.
pub struct CheckRow {
    /// The theorem.
    pub theorem: Theorem,
    /// The row's name in the table, unique per tier and starting with the theorem id
    /// (`T2a/b`, `T2 S6-layer`, `T5 any`, `T6b`, …).
    pub name: &'static str,
    /// Numeric tier (`exact`, `f64`, `f32`).
    pub tier: &'static str,
    /// Description of the cases drawn.
    pub cases: &'static str,
    /// What the row's number measures.
    pub metric: Metric,
    run: RowRunner,
}

/// The function a row runs: `(cases, seed, shard, tick) -> stats`.
type RowRunner = Box<dyn Fn(usize, u64, Shard, &mut dyn FnMut()) -> RunStats + Send + Sync>;

impl CheckRow {
    /// Check `cases` cases drawn with `seed`; `tick` is called after each.
    pub fn run(&self, cases: usize, seed: u64, tick: &mut dyn FnMut()) -> RunStats {
        (self.run)(cases, seed, Shard::WHOLE, tick)
    }
    /// Shard `shard` of [`CheckRow::run`]: of the same draws, only the cases `$i$` with
    /// `$i \bmod N = I$` are checked ([`super::run_cases_sharded`]).
    pub fn run_shard(
        &self,
        cases: usize,
        seed: u64,
        shard: Shard,
        tick: &mut dyn FnMut(),
    ) -> RunStats {
        (self.run)(cases, seed, shard, tick)
    }
    /// Whether the row answers to `wanted` (case-insensitive): `all`, its theorem id or
    /// its name.
    pub fn selected_by(&self, wanted: &str) -> bool {
        wanted.eq_ignore_ascii_case("all")
            || wanted.eq_ignore_ascii_case(self.theorem.id)
            || wanted.eq_ignore_ascii_case(self.name)
    }
}

/// A row checking `check` on cases drawn from `strategy()`.
pub(super) fn row<V: Clone + std::fmt::Debug + 'static>(
    (theorem, name): (Theorem, &'static str),
    tier: &'static str,
    metric: Metric,
    cases: &'static str,
    strategy: fn() -> BoxedStrategy<V>,
    check: fn(&V) -> CaseResult,
) -> CheckRow {
    CheckRow {
        theorem,
        name,
        tier,
        cases,
        metric,
        run: Box::new(move |n, seed, shard, tick| {
            run_cases_sharded(&strategy(), n, seed, shard, check, tick)
        }),
    }
}

type Pair<T> = (Channel<T>, Vec<T>);

fn rational_cases() -> BoxedStrategy<Pair<Exact>> {
    strategies::rational_channel_with_input(1..=32, 1..=8)
}
fn mamba_cases<T: Real>() -> BoxedStrategy<Pair<T>> {
    strategies::mamba_like_channel_with_input::<T>(1..=64, 1..=16)
}
fn wide_cases<T: Real>() -> BoxedStrategy<Pair<T>> {
    strategies::wide_channel_with_input::<T>(1..=16, 1..=4)
}
fn t1_exact(c: &Pair<Exact>) -> CaseResult {
    t1::check_exact(&c.0, &c.1)
}
fn t1_float<T: Real>(c: &Pair<T>) -> CaseResult {
    t1::check_float(&c.0, &c.1)
}
fn t2_exact(c: &Pair<Exact>) -> CaseResult {
    t2::check_exact(&c.0, &c.1)
}
fn t2_float<T: Real>(c: &Pair<T>) -> CaseResult {
    t2::check_float(&c.0, &c.1)
}

const RATIONAL: &str = "rational channels, L ≤ 32, N ≤ 8, Ā ∋ 0, 1";
const MAMBA: &str = "Mamba-like channels, L ≤ 64, N ≤ 16";
const WIDE: &str = "wide-exponent channels: B̄, C, x over the whole exponent range, subnormals included; Ā ∋ 0, ±1, subnormal; L ≤ 16, N ≤ 4";
const PREACT: &str = "pre-activated Mamba-like channels, z mostly in [−6, 4], one in four in [18, 26] or z = 20 exactly (softplus threshold), L ≤ 32, N ≤ 8";

/// Every check row, in table order.
pub fn rows() -> Vec<CheckRow> {
    use Metric::*;
    let (t1, t2a, t2s) = (
        (t1::THEOREM, "T1"),
        (t2::THEOREM, "T2a/b"),
        (t2::THEOREM, "T2 S6-layer"),
    );
    let (t1w, t2w) = ((t1::THEOREM, "T1 wide"), (t2::THEOREM, "T2a/b wide"));
    let (t3, t4) = ((t3::THEOREM, "T3"), (t4::THEOREM, "T4"));
    let (t5a, t5r) = ((t5::THEOREM, "T5 any"), (t5::THEOREM, "T5 rank-r"));
    let (t6a, t6b, t7) = (
        (t6::THEOREM, "T6a"),
        (t6::THEOREM, "T6b"),
        (t7::THEOREM, "T7"),
    );
    let mut rows = vec![
        row(t1, "exact", Exact, RATIONAL, rational_cases, t1_exact),
        row(t1, "f64", RelativeError, MAMBA, mamba_cases::<f64>, t1_float::<f64>),
        row(t1, "f32", RelativeError, MAMBA, mamba_cases::<f32>, t1_float::<f32>),
        row(t1w, "f64", RelativeError, WIDE, wide_cases::<f64>, t1_float::<f64>),
        row(t1w, "f32", RelativeError, WIDE, wide_cases::<f32>, t1_float::<f32>),
        row(t2a, "exact", Exact, RATIONAL, rational_cases, t2_exact),
        row(t2a, "f64", RelativeError, MAMBA, mamba_cases::<f64>, t2_float::<f64>),
        row(t2a, "f32", RelativeError, MAMBA, mamba_cases::<f32>, t2_float::<f32>),
        row(t2w, "f64", RelativeError, WIDE, wide_cases::<f64>, t2_float::<f64>),
        row(t2w, "f32", RelativeError, WIDE, wide_cases::<f32>, t2_float::<f32>),
        row(t2s, "f64", ErrorOverBound, "S6 layers as heads q(x̂), k(x̂), g(x̂) vs the exactly lifted case: L ≤ 24, D ≤ 4, N ≤ 6", || strategies::s6_layer_with_tokens::<f64>(1..=24, 1..=4, 1..=6), t3::check_s6_layer_head),
        row(t3, "exact", Exact, "rational gated heads (diag/scalar/RetNet/plain gates) + values, L ≤ 16, d ≤ 6", || strategies::rational_gated_head_with_values(1..=16, 1..=6), t3::check_exact),
        row(t3, "f64", ErrorOverBound, "linear-attention layers → Mamba (A<0), Δ ∈ [1e-4, 0.1], a ∈ [0.1, 8], L ≤ 24", limit_cases, t3::check_mamba_limit),
        row(t4, "exact", Exact, "rational channels, L ≤ 12, N ≤ 4, Ā ∋ 0, 1; rank-N factorisation of every block", || strategies::rational_channel_with_input(1..=12, 1..=4), t4::check_exact),
        row(t4, "f64", SingularRatio, "Mamba-like channels, N ≤ 8, 2N+2 ≤ L ≤ 48 (a block with more than N rows and columns; faer SVD)", t4_float_cases, t4::check_float::<f64>),
        row(t5a, "exact", Exact, "lower-triangular rational matrices, L ≤ 8", || strategies::rational_lower_triangular(1..=8), t5::check_exact),
        row(t5r, "exact", Exact, "prescribed semiseparable rank r ≤ 3, L ≤ 10", || strategies::lower_triangular_with_rank(2..=10, 1..=3), t5::check_exact),
        row(t6a, "exact", Exact, "rational channels L ≤ 8, N ≤ 3 (obstruction confirmed by scans) and softmax heads L ≤ 6", obstruction_cases, t6::check_obstruction),
        row(t6b, "exact", Exact, "a fresh certificate per case: random Vandermonde-type softmax heads, n ≤ 5, L ≤ 2n+3 (3 in 4), any rational softmax head L ≤ 8, d ≤ 3 (1 in 4)", rank_cases, t6::check_rank_case),
        row(t7, "f64", ErrorOverBound, PREACT, || strategies::preactivated::<f64>(1..=32, 1..=8), t7::check_float::<f64>),
        row(t7, "f32", ErrorOverBound, PREACT, || strategies::preactivated::<f32>(1..=32, 1..=8), t7::check_float::<f32>),
    ];
    rows.extend(super::suite_ssd::rows());
    rows.extend(super::suite_family::rows());
    rows
}

type LimitCase = (
    crate::construct::function::LinearAttentionLayer<f64>,
    crate::tensor::Matrix<f64>,
    f64,
    f64,
);

fn limit_cases() -> BoxedStrategy<LimitCase> {
    (
        strategies::linear_attention_layer_with_tokens::<f64>(1..=24, 1..=4, 1..=4),
        -4.0f64..-1.0,
        0.1f64..8.0,
    )
        .prop_map(|((layer, x), e, a)| (layer, x, 10f64.powf(e), a))
        .boxed()
}

/// T4 f64 cases: state `$N \le 8$` and `$L \ge 2N + 2$`, so the block `$H_N$` has `$L - N \ge N+2$`
/// rows and `$N + 1$` columns and "rank `$\le N$`" constrains it.
fn t4_float_cases() -> BoxedStrategy<Pair<f64>> {
    (1usize..=8)
        .prop_flat_map(|n| strategies::mamba_like_channel_with_input::<f64>(2 * n + 2..=48, n..=n))
        .boxed()
}

type ObstructionCase = (Pair<Exact>, crate::attention::SoftmaxHead<Exact>);

fn obstruction_cases() -> BoxedStrategy<ObstructionCase> {
    (
        strategies::rational_channel_with_input(1..=8, 1..=3),
        strategies::rational_softmax_head(1..=6, 1..=2),
    )
        .boxed()
}

/// T6b cases: mostly random [`t6::RankCase::Vandermonde`] heads (`$n \le 5$`, `$L = 2n+1$`
/// plus up to 2, `$a, c \in \pm 4$`, `$b, e \in \pm[1/4, 4]$` nonzero, `$s = 1/m$`, `$m \le 4$`;
/// one in eight is the family [`crate::construct::separation::softmax_rank_family`]`(n)`
/// itself), one in four any rational softmax head.
fn rank_cases() -> BoxedStrategy<t6::RankCase> {
    let small = || (-4i64..=4, 2i64..=4).prop_map(|(p, q)| ratio(p, q));
    let nonzero =
        || (proptest::prop_oneof![-4i64..=-1, 1i64..=4], 2i64..=4).prop_map(|(p, q)| ratio(p, q));
    let vandermonde = (
        1usize..=5,
        0usize..=2,
        (small(), nonzero(), small(), nonzero(), 1i64..=4),
        0u8..8,
    )
        .prop_map(|(n, extra, (a, b, c, e, m), family)| {
            if family == 0 {
                let int = |v| ratio(v, 1);
                t6::RankCase::Vandermonde {
                    n,
                    len: 2 * n + 1,
                    params: [int(0), int(1), int(0), int(1), ratio(1, n as i64 + 1)],
                }
            } else {
                t6::RankCase::Vandermonde {
                    n,
                    len: 2 * n + 1 + extra,
                    params: [a, b, c, e, ratio(1, m)],
                }
            }
        });
    proptest::prop_oneof![
        3 => vandermonde,
        1 => strategies::rational_softmax_head(2..=8, 1..=3).prop_map(t6::RankCase::Head),
    ]
    .boxed()
}

/// One case for `hattn check --case`: a channel and its input, exact or in a float tier.
#[derive(Debug, Clone, PartialEq)]
pub enum SingleCase {
    /// Exact rationals: the exact checks.
    Exact(Channel<Exact>, Vec<Exact>),
    /// f64: the f64 checks of T1, T2, T4 and the exact checks on the lifted case.
    F64(Channel<f64>, Vec<f64>),
    /// f32: the f32 checks of T1, T2, T4 and the exact checks on the lifted case.
    F32(Channel<f32>, Vec<f32>),
}

/// Longest sequence on which `--case` runs the exact checks T1, T2, T3, T6a.
pub const CASE_EXACT_MAX_LEN: usize = 256;
/// Longest sequence on which `--case` runs the exact checks T4 and T5 (`$O(L^4)$`).
pub const CASE_RANK_MAX_LEN: usize = 32;
/// Longest sequence on which `--case` runs the float check of T4 (an SVD per block).
pub const CASE_FLOAT_RANK_MAX_LEN: usize = 512;

/// A row running `check` once on `value`.
fn once<V: Clone + std::fmt::Debug + Send + Sync + 'static>(
    (theorem, name): (Theorem, &'static str),
    tier: &'static str,
    metric: Metric,
    cases: &'static str,
    value: V,
    check: impl Fn(&V) -> CaseResult + Send + Sync + 'static,
) -> CheckRow {
    CheckRow {
        theorem,
        name,
        tier,
        cases,
        metric,
        run: Box::new(move |_, _, shard, tick| {
            run_cases_sharded(&Just(value.clone()).boxed(), 1, 0, shard, &check, tick)
        }),
    }
}

/// The rows of `hattn check --case`: every check that applies to one channel and input,
/// and a note for each check skipped because `$L$` is too long for it. Exact cases get the
/// exact checks of T1, T2a/b, T3 (the channel as a gated head with values `$x$`), T4, T5 (on
/// its `$\tilde\alpha$`) and T6a; float cases the float checks of T1, T2a/b and T4 on their
/// tier, then the same exact checks on the exactly lifted case.
pub fn case_rows(case: &SingleCase) -> (Vec<CheckRow>, Vec<String>) {
    let (mut rows, mut skipped) = (Vec::new(), Vec::new());
    let (exact, what) = match case {
        SingleCase::Exact(ch, x) => ((ch.clone(), x.clone()), "the case"),
        SingleCase::F64(ch, x) => {
            float_case_rows(ch, x, &mut rows, &mut skipped);
            (lift(ch, x), "the case lifted exactly")
        }
        SingleCase::F32(ch, x) => {
            float_case_rows(ch, x, &mut rows, &mut skipped);
            (lift(ch, x), "the case lifted exactly")
        }
    };
    let l = exact.0.len();
    if l > CASE_EXACT_MAX_LEN {
        skipped.push(format!("exact checks: L = {l} > {CASE_EXACT_MAX_LEN}"));
        return (rows, skipped);
    }
    use Metric::Exact as E;
    let (t1, t2a, t3, t4) = (
        (t1::THEOREM, "T1"),
        (t2::THEOREM, "T2a/b"),
        (t3::THEOREM, "T3"),
        (t4::THEOREM, "T4"),
    );
    rows.push(once(
        t1,
        "exact",
        E,
        what,
        exact.clone(),
        |c: &Pair<Exact>| t1::check_exact(&c.0, &c.1),
    ));
    rows.push(once(
        t2a,
        "exact",
        E,
        what,
        exact.clone(),
        |c: &Pair<Exact>| t2::check_exact(&c.0, &c.1),
    ));
    let head = crate::construct::channel_to_gated_head(&exact.0);
    let values = crate::tensor::Matrix::from_row_major(l, 1, exact.1.clone()).expect("L × 1");
    rows.push(once(t3, "exact", E, what, (head, values), t3::check_exact));
    if l > CASE_RANK_MAX_LEN {
        skipped.push(format!("T4, T5 exact: L = {l} > {CASE_RANK_MAX_LEN}"));
    } else {
        rows.push(once(t4, "exact", E, what, exact.clone(), t4::check_exact));
        match crate::ssm::attention_matrix(&exact.0) {
            Ok(a) => rows.push(once(
                (t5::THEOREM, "T5"),
                "exact",
                E,
                what,
                a,
                t5::check_exact,
            )),
            Err(e) => skipped.push(format!("T5 exact: α̃ failed: {e}")),
        }
    }
    rows.push(once(
        (t6::THEOREM, "T6a"),
        "exact",
        E,
        what,
        exact,
        t6::check_channel_obstruction,
    ));
    (rows, skipped)
}

fn lift<T: Field>(ch: &Channel<T>, x: &[T]) -> Pair<Exact> {
    (ch.to_exact(), x.iter().map(Field::to_exact).collect())
}

fn float_case_rows<T: Real>(
    ch: &Channel<T>,
    x: &[T],
    rows: &mut Vec<CheckRow>,
    skipped: &mut Vec<String>,
) {
    let case = (ch.clone(), x.to_vec());
    let what = "the case";
    let (t1, t2a, t4) = (
        (t1::THEOREM, "T1"),
        (t2::THEOREM, "T2a/b"),
        (t4::THEOREM, "T4"),
    );
    rows.push(once(
        t1,
        T::NAME,
        Metric::RelativeError,
        what,
        case.clone(),
        t1_float::<T>,
    ));
    rows.push(once(
        t2a,
        T::NAME,
        Metric::RelativeError,
        what,
        case.clone(),
        t2_float::<T>,
    ));
    if ch.len() > CASE_FLOAT_RANK_MAX_LEN {
        skipped.push(format!(
            "T4 {}: L = {} > {CASE_FLOAT_RANK_MAX_LEN}",
            T::NAME,
            ch.len()
        ));
    } else {
        rows.push(once(
            t4,
            T::NAME,
            Metric::SingularRatio,
            what,
            case,
            t4::check_float::<T>,
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    fn draw<V: std::fmt::Debug>(s: &BoxedStrategy<V>, n: usize) -> Vec<V> {
        let mut runner = TestRunner::deterministic();
        (0..n)
            .map(|_| s.new_tree(&mut runner).unwrap().current())
            .collect()
    }

    /// Every T4 f64 case has a block with more than N rows and columns (L ≥ 2N + 2), so
    /// "rank ≤ N" is a real constraint on each drawn case.
    #[test]
    fn t4_float_cases_are_not_vacuous() {
        let cases = draw(&t4_float_cases(), 200);
        assert!(cases.iter().all(|(ch, _)| ch.len() >= 2 * ch.state() + 2));
        assert!(cases.iter().any(|(ch, _)| ch.state() >= 6));
    }

    /// The T6b row draws distinct heads and family sizes: 32 cases are (nearly) 32
    /// different heads, every family size 1..=5 occurs, and general heads occur.
    #[test]
    fn t6b_cases_are_distinct_heads() {
        let cases = draw(&rank_cases(), 32);
        let heads: Vec<String> = cases.iter().map(|c| format!("{:?}", c.head())).collect();
        let mut distinct = heads.clone();
        distinct.sort();
        distinct.dedup();
        assert!(
            distinct.len() >= 28,
            "only {} distinct heads in 32",
            distinct.len()
        );
        let sizes: std::collections::BTreeSet<usize> = cases
            .iter()
            .filter_map(|c| match c {
                t6::RankCase::Vandermonde { n, .. } => Some(*n),
                t6::RankCase::Head(_) => None,
            })
            .collect();
        assert_eq!(sizes.len(), 5, "family sizes drawn: {sizes:?}");
        assert!(cases.iter().any(|c| matches!(c, t6::RankCase::Head(_))));
    }

    /// Rows have distinct (name, tier) pairs, `T2` selects all T2 rows, and each number
    /// carries its metric.
    #[test]
    fn row_names_are_distinct_and_select_by_theorem() {
        let rows = rows();
        let mut keys: Vec<(&str, &str)> = rows.iter().map(|r| (r.name, r.tier)).collect();
        keys.sort();
        let n = keys.len();
        keys.dedup();
        assert_eq!(keys.len(), n, "repeated row names");
        let t2: Vec<&str> = rows
            .iter()
            .filter(|r| r.selected_by("t2"))
            .map(|r| r.name)
            .collect();
        assert_eq!(
            t2,
            [
                "T2a/b",
                "T2a/b",
                "T2a/b",
                "T2a/b wide",
                "T2a/b wide",
                "T2 S6-layer"
            ]
        );
        // the wide tier is in the table, in both float tiers
        let wide: Vec<(&str, &str)> = rows
            .iter()
            .filter(|r| r.name.ends_with("wide"))
            .map(|r| (r.name, r.tier))
            .collect();
        assert_eq!(
            wide,
            [
                ("T1 wide", "f64"),
                ("T1 wide", "f32"),
                ("T2a/b wide", "f64"),
                ("T2a/b wide", "f32"),
                ("T8 wide", "f64"),
                ("T8 wide", "f32"),
                ("T13 wide", "f64"),
                ("T13 wide", "f32")
            ]
        );
        assert!(rows.iter().filter(|r| r.selected_by("T6b")).count() == 1);
        assert!(rows.iter().all(|r| r.name.starts_with(r.theorem.id)));
        assert!(rows
            .iter()
            .all(|r| (r.tier == "exact") == (r.metric == Metric::Exact)));
    }
}

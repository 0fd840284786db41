//! Theorem checkers: each takes a case and returns `Ok` with the measured float error, or
//! a [`Counterexample`]; [`run_cases`] draws seeded cases from a public strategy,
//! checks them and shrinks the first failure.

pub mod bound;
pub mod suite;
mod suite_family;
mod suite_ssd;
pub mod t1;
pub mod t10;
pub mod t11;
pub mod t12;
pub mod t13;
pub mod t14;
pub mod t15;
pub mod t16;
pub mod t17;
pub mod t18;
pub mod t19;
pub mod t2;
pub mod t3;
pub mod t4;
pub mod t5;
pub mod t6;
pub mod t7;
pub mod t8;
pub mod t9;

use std::fmt;
use std::time::{Duration, Instant};

use proptest::strategy::{BoxedStrategy, Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use crate::scalar::{Exact, Field};
use crate::shard::Shard;
use crate::ssm::Channel;

/// A theorem of the toolkit: its identifier and statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theorem {
    /// Identifier, `"T1"` … `"T7"`.
    pub id: &'static str,
    /// One-line statement.
    pub statement: &'static str,
}

/// A case on which a theorem's check failed: the (lifted, exact) channel and input, the
/// view that disagreed and by how much.
#[derive(Debug, Clone, PartialEq)]
pub struct Counterexample {
    /// Theorem id.
    pub theorem: &'static str,
    /// Numeric tier of the failing computation (`"exact"`, `"f64"`, `"f32"`).
    pub tier: &'static str,
    /// What disagreed, e.g. `"scan y[3] != (α̃ x)[3]"`.
    pub what: String,
    /// The channel, exactly.
    pub channel: Channel<Exact>,
    /// The input, exactly.
    pub input: Vec<Exact>,
}

impl fmt::Display for Counterexample {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |v: &[Exact]| {
            v.iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        writeln!(f, "{} ({}) fails: {}", self.theorem, self.tier, self.what)?;
        writeln!(
            f,
            "  L = {}, N = {}",
            self.channel.len(),
            self.channel.state()
        )?;
        writeln!(f, "  Abar = [{}]", show(self.channel.abar_all()))?;
        writeln!(f, "  Bbar = [{}]", show(self.channel.bbar_all()))?;
        writeln!(f, "  C    = [{}]", show(self.channel.c_all()))?;
        write!(f, "  x    = [{}]", show(&self.input))
    }
}

/// Result of checking one case: `Ok(Some(e))` passed with float error `e` (relative to the
/// magnitude scale of [`bound`]), `Ok(None)` passed exactly, `Err` a counterexample.
pub type CaseResult = Result<Option<f64>, Counterexample>;

/// Statistics of a batch of checked cases.
#[derive(Debug, Clone)]
pub struct RunStats {
    /// Cases drawn.
    pub cases: usize,
    /// Cases that passed.
    pub passed: usize,
    /// Largest float error seen (0 for exact checks).
    pub max_error: f64,
    /// Wall time.
    pub elapsed: Duration,
    /// The first failure, shrunk.
    pub counterexample: Option<Counterexample>,
    /// Index of that first failing case in the run's sequence of draws (0-based).
    pub first_failure: Option<usize>,
}

/// The 32-byte ChaCha seed derived from a `u64` seed.
pub fn seed_bytes(seed: u64) -> [u8; 32] {
    let mut b = [0u8; 32];
    for (i, chunk) in b.chunks_mut(8).enumerate() {
        chunk.copy_from_slice(
            &(seed
                .wrapping_add(i as u64)
                .wrapping_mul(0x9E37_79B9_7F4A_7C15))
            .to_le_bytes(),
        );
    }
    b
}

/// Draw `cases` values from `strategy` with a ChaCha RNG seeded by `seed`, check each, and
/// shrink the first failure with proptest's value trees. `tick` is called after every case
/// (for progress bars). Replaying the same `(strategy, cases, seed)` reproduces every case.
pub fn run_cases<V: Clone + fmt::Debug>(
    strategy: &BoxedStrategy<V>,
    cases: usize,
    seed: u64,
    check: impl Fn(&V) -> CaseResult,
    tick: impl FnMut(),
) -> RunStats {
    run_cases_sharded(strategy, cases, seed, Shard::WHOLE, check, tick)
}

/// Shard `$I$` of `$N$` of [`run_cases`]: the same draws, of which only the cases `$i$` with
/// `$i \bmod N = I$` are checked (and counted, and shrunk).
///
/// Every case up to the shard's last one is drawn, so case `$i$` is the same value here as in
/// the unsharded run, and the shards' statistics combine into the unsharded ones
/// ([`crate::shard`]): cases and passes add up, the largest error is the largest of the
/// shards', and the first failure is the shards' first failure of least index.
pub fn run_cases_sharded<V: Clone + fmt::Debug>(
    strategy: &BoxedStrategy<V>,
    cases: usize,
    seed: u64,
    shard: Shard,
    check: impl Fn(&V) -> CaseResult,
    mut tick: impl FnMut(),
) -> RunStats {
    let start = Instant::now();
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes(seed));
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    let mut stats = RunStats {
        cases: 0,
        passed: 0,
        max_error: 0.0,
        elapsed: Duration::ZERO,
        counterexample: None,
        first_failure: None,
    };
    for index in 0..shard.draws_below(cases) {
        let Ok(mut tree) = strategy.new_tree(&mut runner) else {
            continue;
        };
        if !shard.owns(index) {
            continue;
        }
        stats.cases += 1;
        match check(&tree.current()) {
            Ok(e) => {
                stats.passed += 1;
                stats.max_error = stats.max_error.max(e.unwrap_or(0.0));
            }
            Err(first) if stats.counterexample.is_none() => {
                stats.counterexample = Some(shrink(&mut tree, first, &check));
                stats.first_failure = Some(index);
            }
            Err(_) => {}
        }
        tick();
    }
    stats.elapsed = start.elapsed();
    stats
}

/// Proptest's shrinking loop: simplify while the check keeps failing (at most 512 re-checks).
fn shrink<V, T: ValueTree<Value = V>>(
    tree: &mut T,
    mut last: Counterexample,
    check: &impl Fn(&V) -> CaseResult,
) -> Counterexample {
    let mut budget = 512;
    loop {
        if !tree.simplify() {
            break;
        }
        loop {
            if budget == 0 {
                return last;
            }
            budget -= 1;
            match check(&tree.current()) {
                Err(c) => {
                    last = c;
                    break;
                }
                Ok(_) => {
                    if !tree.complicate() {
                        return last;
                    }
                }
            }
        }
    }
    last
}

/// Check any float output `got` of channel `ch` on input `x` — the output of a view, a kernel
/// under test, a GPU result — against the exact output of the lifted case under the bound of
/// [`bound`] (standard model with underflow, evaluated and compared exactly). The verdict
/// is a proof either way: `Ok(Ok(Some(e)))` (every output within its bound; `e` the largest
/// error relative to `$\max_t \mathrm{mag}_t$`) or a [`Counterexample`] naming the first output
/// out of bound, with its error and bound.
///
/// # Errors
/// [`crate::Error::Shape`] if `x` or `got` is not of length `$L$`, [`crate::Error::NonFinite`]
/// for a NaN/∞ in `x` (a non-finite entry of `got` is a counterexample).
///
/// The bound covers the evaluation orders of this crate's scan, `$\tilde\alpha x$`, gated and
/// factored views (T1, T2); an implementation with another order may need another bound.
///
/// # Examples
/// ```
/// use hidden_attention::{ssm::{scan, Channel}, theorems::check_output};
/// let ch = Channel::new(1, 1, vec![1.0f64], vec![1.0], vec![1.0]).unwrap();
/// let y = scan(&ch, &[1.0]).unwrap().y;
/// assert!(check_output(&ch, &[1.0], &y).unwrap().is_ok());
/// // the bound here is γ₈ ≈ 4 ulps of 1: five ulps off is a certified failure
/// assert!(check_output(&ch, &[1.0], &[1.0 + 5.0 * f64::EPSILON]).unwrap().is_err());
/// // bad input is a typed error, not a verdict
/// assert!(check_output(&ch, &[1.0], &[]).is_err());
/// ```
pub fn check_output<T: Field>(
    ch: &Channel<T>,
    x: &[T],
    got: &[T],
) -> crate::error::Result<CaseResult> {
    ch.expect_input(x)?;
    if got.len() != ch.len() {
        return Err(crate::error::Error::Shape {
            tensor: "output".into(),
            dim: 0,
            name: "L".into(),
            expected: ch.len(),
            found: got.len(),
        });
    }
    Ok(Reference::new(ch, x).check("T1", "output", got))
}

/// The exact reference of a float case: the lifted channel and input, the exact output,
/// and the per-output bounds of [`bound::output_bound`] for the float type `T`.
pub(crate) struct Reference {
    channel: Channel<Exact>,
    input: Vec<Exact>,
    y: Vec<Exact>,
    /// Exact bounds per output; `None` when `$mu \ge 1$` (no bound).
    exact_bounds: Option<Vec<Exact>>,
    /// The same rounded up to `f64` (∞ when there is no bound).
    bounds: Vec<f64>,
    scale: f64,
}

impl Reference {
    /// Lift a float case exactly and compute its exact output and bounds.
    pub(crate) fn new<T: Field>(ch: &Channel<T>, x: &[T]) -> Self {
        let channel = ch.to_exact();
        let input: Vec<Exact> = x.iter().map(|v| v.to_exact()).collect();
        let y = crate::ssm::scan(&channel, &input)
            .expect("exact scan of a valid channel")
            .y;
        let magnitude = bound::magnitude(&channel, &input);
        let exact_bounds = bound::output_bound_exact::<T>(&channel, &input, &magnitude);
        let bounds = match &exact_bounds {
            Some(b) => b.iter().map(bound::to_f64_up).collect(),
            None => vec![f64::INFINITY; magnitude.len()],
        };
        let scale = magnitude
            .iter()
            .map(|m| m.to_f64())
            .fold(f64::MIN_POSITIVE, f64::max);
        Self {
            channel,
            input,
            y,
            exact_bounds,
            bounds,
            scale,
        }
    }

    /// A counterexample on this case.
    pub(crate) fn fail(
        &self,
        theorem: &'static str,
        tier: &'static str,
        what: String,
    ) -> Counterexample {
        Counterexample {
            theorem,
            tier,
            what,
            channel: self.channel.clone(),
            input: self.input.clone(),
        }
    }

    /// Compare float outputs `got` of `view` with the exact ones under the bound.
    ///
    /// Returns the largest error relative to the magnitude scale
    /// `$\max_i \mathrm{magnitude}_i$`, or a counterexample naming the first index out of bound.
    pub(crate) fn check<T: Field>(
        &self,
        theorem: &'static str,
        view: &str,
        got: &[T],
    ) -> CaseResult {
        let mut worst: f64 = 0.0;
        for (i, (g, e)) in got.iter().zip(&self.y).enumerate() {
            let err = g.is_finite_val().then(|| (g.to_exact() - e).abs_val());
            let within = match (&err, &self.exact_bounds) {
                (None, _) => false,
                (Some(_), None) => true,
                (Some(err), Some(b)) => *err <= b[i],
            };
            let err_f64 = err.as_ref().map_or(f64::INFINITY, Field::to_f64);
            if !within {
                let b = self.bounds[i];
                return Err(self.fail(
                    theorem,
                    T::NAME,
                    format!(
                        "{view}[{i}] = {g} but exact value is {} (error {err_f64:e} > bound {b:e})",
                        e.to_f64(),
                    ),
                ));
            }
            worst = worst.max(err_f64 / self.scale);
        }
        Ok(Some(worst))
    }
}

//! The table `hattn check` runs: every theorem check, on every tier, on seeded cases
//! drawn from the public [`crate::strategies`].

use super::{run_cases, t1, t2, CaseResult, RunStats, Theorem};
use crate::scalar::{Exact, Real};
use crate::ssm::Channel;
use crate::strategies;

/// One row of the check table.
pub struct CheckRow {
    /// The theorem.
    pub theorem: Theorem,
    /// Numeric tier (`exact`, `f64`, `f32`).
    pub tier: &'static str,
    /// Description of the cases drawn.
    pub cases: &'static str,
    run: Box<dyn Fn(usize, u64, &mut dyn FnMut()) -> RunStats + Send + Sync>,
}

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
    ]
}

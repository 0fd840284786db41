//! `hattn refute` and `hattn replay`: counterexample search and independent re-checks.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use hidden_attention::refute::{self, cli, Dtype, Params};
use indicatif::{ProgressBar, ProgressStyle};

/// Options of `hattn refute`.
#[derive(clap::Args)]
#[command(allow_negative_numbers = true)]
pub struct RefuteArgs {
    /// The conjecture: softmax-in-channel, channel-in-softmax, diagonal-realisation,
    /// paper-approx, factored-float, mamba-strict-linear-attention, ssd-head-of-channel.
    conjecture: String,
    /// Sequence length (cases have L ≤ len).
    #[arg(long, default_value_t = 4, value_parser = crate::args::positive_usize)]
    len: usize,
    /// State size N.
    #[arg(long, default_value_t = 1, value_parser = crate::args::positive_usize)]
    state: usize,
    /// Tolerance ε.
    #[arg(long, default_value_t = 1e-6, value_parser = crate::args::positive_f64)]
    eps: f64,
    /// Case budget.
    #[arg(long, default_value_t = 256, value_parser = crate::args::positive_usize)]
    cases: usize,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output directory for report.json and report.md.
    #[arg(long, default_value = "refute-report")]
    out: PathBuf,
    /// Float type: f32 or f64.
    #[arg(long, default_value = "f64")]
    dtype: String,
    /// Step size Δ (mamba-strict-linear-attention).
    #[arg(long, default_value_t = 1e-3, value_parser = crate::args::positive_f64)]
    delta: f64,
}

/// Options of `hattn replay`.
#[derive(clap::Args)]
pub struct ReplayArgs {
    /// A report.json written by `hattn refute`.
    report: PathBuf,
}

/// Exit codes of `hattn refute` and `hattn replay` (documented in `docs/reports.md`), the
/// same as those of a user's own program (`refute::cli`).
pub use hidden_attention::refute::cli::exit;

/// Exit 0: a counterexample found and its certificate (a proof) re-verified; 1: none
/// found or only an unproven candidate; 2: bad input; 3: evidence, not a proof.
pub fn refute(a: &RefuteArgs) -> ExitCode {
    let dtype = match a.dtype.parse::<Dtype>() {
        Ok(d @ (Dtype::F32 | Dtype::F64)) => d,
        _ => {
            eprintln!("error: --dtype must be f32 or f64, not `{}`", a.dtype);
            return ExitCode::from(exit::BAD_INPUT);
        }
    };
    if a.len == 0
        || a.state == 0
        || !(a.eps > 0.0 && a.eps.is_finite())
        || !(a.delta > 0.0 && a.delta.is_finite())
    {
        eprintln!("error: --len and --state must be ≥ 1, --eps and --delta finite and > 0");
        return ExitCode::from(exit::BAD_INPUT);
    }
    let p = Params {
        len: a.len,
        state: a.state,
        eps: a.eps,
        cases: a.cases,
        seed: a.seed,
        dtype,
        delta: a.delta,
    };
    let stop = Arc::new(AtomicBool::new(false));
    let s2 = stop.clone();
    // Ctrl-C: finish the current case and write what was found so far.
    let _ = ctrlc::set_handler(move || s2.store(true, Ordering::Relaxed));
    let bar = ProgressBar::new(a.cases as u64).with_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} cases {per_sec}")
            .expect("static template"),
    );
    let report = match refute::search_builtin(&a.conjecture, &p, &stop, || bar.inc(1)) {
        Ok(r) => r,
        Err(e) => {
            bar.finish_and_clear();
            eprintln!("error: {e}");
            return ExitCode::from(exit::BAD_INPUT);
        }
    };
    bar.finish_and_clear();
    ExitCode::from(cli::finish_search(&report, &a.out, refute::replay_builtin))
}

/// Exit 0 iff the report's certificate holds (a proof), 3 if it reproduces evidence that
/// is not a proof, 1 if it is rejected (the message names the field), 4 if its conjecture
/// is not a built-in one (nothing was checked), 2 if the report cannot be read.
pub fn replay(a: &ReplayArgs) -> ExitCode {
    ExitCode::from(cli::replay_file(&a.report, refute::replay_builtin))
}

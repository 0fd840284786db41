//! `hattn refute` and `hattn replay`: counterexample search and independent re-checks.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use hidden_attention::refute::{self, cli, Dtype, Params};
use hidden_attention::report::Report;
use hidden_attention::shard::{Shard, ShardReport, ShardRun, SHARD_FILE};
use indicatif::{ProgressBar, ProgressStyle};

/// Options of `hattn refute`.
#[derive(clap::Args)]
#[command(allow_negative_numbers = true)]
pub struct RefuteArgs {
    /// The conjecture: softmax-in-channel, channel-in-softmax, diagonal-realisation,
    /// paper-approx, factored-float, mamba-strict-linear-attention, ssd-head-of-channel,
    /// deltanet-mamba-channel, dplr-mamba-channel.
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
    /// Search shard I of N (0-based, 0 ≤ I < N): only the cases i with i mod N = I, drawn
    /// as the unsharded search draws them; writes `shard.json` into --out for `hattn merge`
    /// (docs/sharding.md).
    #[arg(long, value_name = "I/N", value_parser = crate::args::shard, allow_hyphen_values = true)]
    shard: Option<Shard>,
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
    let shard = a.shard.unwrap_or(Shard::WHOLE);
    let bar = ProgressBar::new(shard.cases_below(a.cases) as u64).with_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} cases {per_sec}")
            .expect("static template"),
    );
    let run = refute::search_builtin_sharded(&a.conjecture, &p, shard, &stop, || bar.inc(1));
    bar.finish_and_clear();
    let run = match run {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(exit::BAD_INPUT);
        }
    };
    let Some(shard) = a.shard else {
        if let Err(e) = run.report.write(&a.out) {
            eprintln!("error: {e}");
            return ExitCode::from(exit::BAD_INPUT);
        }
        let (json, md) = (a.out.join("report.json"), a.out.join("report.md"));
        return conclude(&run.report, &headline(&run.report), &json, Some(&md));
    };
    let report = run.report.clone();
    let file = ShardReport {
        schema_version: hidden_attention::report::SCHEMA_VERSION,
        toolkit_version: env!("CARGO_PKG_VERSION").into(),
        shard,
        seed: a.seed,
        cases: a.cases,
        case_indices: shard.describe(a.cases),
        cases_run: run.cases_run,
        command: report.command.clone(),
        shard_command: format!("{} --shard {shard}", report.command),
        run: ShardRun::Refute {
            checked_below: run.checked_below,
            report: Box::new(run.report),
        },
    };
    if let Err(e) = file.write(&a.out) {
        eprintln!("error: {e}");
        return ExitCode::from(exit::BAD_INPUT);
    }
    let found = report
        .search
        .case_index
        .map_or(String::new(), |i| format!(" at case {i}"));
    let line = format!(
        "{}: shard {shard}: {}{found}, {} of its cases checked ({})",
        report.conjecture.id,
        report.outcome.as_str().replace('_', " "),
        file.cases_run,
        file.case_indices
    );
    conclude(&report, &line, &a.out.join(SHARD_FILE), None)
}

/// `ID: OUTCOME after K cases`.
pub fn headline(report: &Report) -> String {
    let tried = report.search.cases_tried;
    format!(
        "{}: {} after {tried} case{}",
        report.conjecture.id,
        report.outcome.as_str().replace('_', " "),
        if tried == 1 { "" } else { "s" }
    )
}

/// Print `headline` and what a search (or a merge of search shards) found, re-verify its
/// certificate, and return the exit code of `hattn refute`; the report is in `json` (and
/// `md`).
pub fn conclude(report: &Report, headline: &str, json: &Path, md: Option<&Path>) -> ExitCode {
    ExitCode::from(cli::conclude(
        report,
        headline,
        json,
        md,
        refute::replay_builtin,
    ))
}

/// Exit 0 iff the report's certificate holds (a proof), 3 if it reproduces evidence that
/// is not a proof, 1 if it is rejected (the message names the field), 4 if its conjecture
/// is not a built-in one (nothing was checked), 2 if the report cannot be read.
pub fn replay(a: &ReplayArgs) -> ExitCode {
    ExitCode::from(cli::replay_file(&a.report, refute::replay_builtin))
}

//! `hattn refute` and `hattn replay`: counterexample search and independent re-checks.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use hidden_attention::refute::{self, Params};
use hidden_attention::report::Report;
use indicatif::{ProgressBar, ProgressStyle};

/// Options of `hattn refute`.
#[derive(clap::Args)]
pub struct RefuteArgs {
    /// The conjecture: softmax-in-channel, channel-in-softmax, diagonal-realisation,
    /// paper-approx, factored-float, mamba-strict-linear-attention.
    conjecture: String,
    /// Sequence length (cases have L ≤ len).
    #[arg(long, default_value_t = 4)]
    len: usize,
    /// State size N.
    #[arg(long, default_value_t = 1)]
    state: usize,
    /// Tolerance ε.
    #[arg(long, default_value_t = 1e-6)]
    eps: f64,
    /// Case budget.
    #[arg(long, default_value_t = 256)]
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
    #[arg(long, default_value_t = 1e-3)]
    delta: f64,
}

/// Options of `hattn replay`.
#[derive(clap::Args)]
pub struct ReplayArgs {
    /// A report.json written by `hattn refute`.
    report: PathBuf,
}

/// Exit 0: counterexample found and its certificate re-verified; 1: none found; 2: bad input.
pub fn refute(a: &RefuteArgs) -> ExitCode {
    if a.dtype != "f32" && a.dtype != "f64" {
        eprintln!("error: --dtype must be f32 or f64, not `{}`", a.dtype);
        return ExitCode::from(2);
    }
    if a.len == 0
        || a.state == 0
        || !(a.eps > 0.0 && a.eps.is_finite())
        || !(a.delta > 0.0 && a.delta.is_finite())
    {
        eprintln!("error: --len and --state must be ≥ 1, --eps and --delta finite and > 0");
        return ExitCode::from(2);
    }
    let p = Params {
        len: a.len,
        state: a.state,
        eps: a.eps,
        cases: a.cases,
        seed: a.seed,
        dtype: a.dtype.clone(),
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
            return ExitCode::from(2);
        }
    };
    bar.finish_and_clear();
    if let Err(e) = report.write(&a.out) {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    let json = a.out.join("report.json");
    println!(
        "{}: {} after {} case{}",
        report.conjecture.id,
        report.outcome,
        report.search.cases_tried,
        if report.search.cases_tried == 1 {
            ""
        } else {
            "s"
        }
    );
    if report.outcome == "unproven_candidate" {
        println!(
            "a candidate was found, but it is not a proof: {}",
            report
                .certificate
                .as_ref()
                .and_then(|c| c.get("reason"))
                .map_or(String::new(), |r| r.to_string())
        );
        println!(
            "no certified counterexample; the candidate is in {}",
            json.display()
        );
        return ExitCode::from(1);
    }
    if report.outcome != "counterexample" {
        println!(
            "no counterexample within the budget; what was searched is in {}",
            json.display()
        );
        return ExitCode::from(1);
    }
    match refute::replay_builtin(&report) {
        Ok(why) => {
            println!("certificate re-verified: {why}");
            println!(
                "report: {} and {}",
                json.display(),
                a.out.join("report.md").display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: the certificate did not re-verify: {e}");
            ExitCode::from(2)
        }
    }
}

/// Exit 0 iff the report's certificate holds.
pub fn replay(a: &ReplayArgs) -> ExitCode {
    let report = match Report::load(&a.report) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    match refute::replay_builtin(&report) {
        Ok(why) => {
            println!("{}: certificate holds: {why}", report.conjecture.id);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{}: certificate rejected: {e}", report.conjecture.id);
            ExitCode::FAILURE
        }
    }
}

//! A program of one's own conjectures: the `refute` and `replay` subcommands of `hattn`,
//! for any set of [`Conjecture`](super::Conjecture)s.
//!
//! A user's conjectures get reports that anyone can reproduce and replay by writing a
//! small binary (or example) around [`run`], and naming it in
//! [`Conjecture::program`](super::Conjecture::program):
//!
//! ```no_run
//! # use hidden_attention::refute::{self, cli, AnyConjecture};
//! # struct Mine;
//! # fn mine() -> &'static dyn AnyConjecture { unimplemented!() }
//! // examples/my_conjectures.rs, with `fn program(&self) -> &'static str {
//! //     "cargo run --example my_conjectures --" }` in each conjecture:
//! fn main() -> std::process::ExitCode {
//!     cli::run(&[mine()], std::env::args().skip(1))
//! }
//! ```
//!
//! `cargo run --example my_conjectures -- refute ID --len 3 --out r/` searches and writes
//! `r/report.json` and `r/report.md` (whose *Reproduce* section names these commands);
//! `cargo run --example my_conjectures -- replay r/report.json` re-checks it.
//!
//! Exit codes ([`exit`], the same as `hattn refute` / `hattn replay`, `docs/reports.md`):
//! 0 a proof (found and re-verified / the certificate holds), 1 none found or rejected,
//! 2 bad input, 3 evidence that is not a proof, 4 a report of a conjecture this program
//! does not know.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;

use clap::Parser;

use super::{replay_any, AnyConjecture, Params, ReplayError, Replayed};
use crate::report::{Dtype, Outcome, Report};

/// Exit codes of `refute` and `replay`.
pub mod exit {
    /// `refute`: a counterexample whose certificate is a proof, re-verified.
    /// `replay`: the certificate holds (a proof).
    pub const PROOF: u8 = 0;
    /// `refute`: none found (or only an unproven candidate).
    /// `replay`: rejected — a field disagrees with its recomputation, the certificate does
    /// not hold, or there is no certificate.
    pub const NOT_FOUND_OR_REJECTED: u8 = 1;
    /// Bad input: options, unreadable or malformed report, unwritable output.
    pub const BAD_INPUT: u8 = 2;
    /// Evidence of a violation that is not a proof (`refute` found it, `replay`
    /// reproduced it).
    pub const EVIDENCE: u8 = 3;
    /// `replay`: the report's conjecture is not one this program knows (nothing was
    /// checked, so this is neither an acceptance nor a rejection).
    pub const UNKNOWN_CONJECTURE: u8 = 4;
}

#[derive(Parser)]
#[command(about = "Search and replay counterexamples to conjectures")]
enum Command {
    /// Search for a counterexample and write report.json and report.md.
    #[command(allow_negative_numbers = true)]
    Refute {
        /// The conjecture's id.
        conjecture: String,
        /// Largest sequence length L.
        #[arg(long, default_value_t = Params::default().len)]
        len: usize,
        /// State size N.
        #[arg(long, default_value_t = Params::default().state)]
        state: usize,
        /// Tolerance ε.
        #[arg(long, default_value_t = Params::default().eps)]
        eps: f64,
        /// Case budget.
        #[arg(long, default_value_t = Params::default().cases)]
        cases: usize,
        /// Seed.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Float type: f32 or f64.
        #[arg(long, default_value = "f64")]
        dtype: String,
        /// Step size Δ.
        #[arg(long, default_value_t = Params::default().delta)]
        delta: f64,
        /// Output directory for report.json and report.md.
        #[arg(long, default_value = "refute-report")]
        out: PathBuf,
    },
    /// Re-check a report: every field recomputed from its case.
    Replay {
        /// A report.json.
        report: PathBuf,
    },
}

/// Run `refute ID [options]` or `replay FILE` (the arguments after the program name) over
/// `conjectures`, printing what `hattn refute` / `hattn replay` print; the exit code is
/// one of [`exit`].
pub fn run(conjectures: &[&dyn AnyConjecture], args: impl IntoIterator<Item = String>) -> ExitCode {
    ExitCode::from(status(conjectures, args))
}

/// [`run`], returning the exit code as a number.
pub fn status(conjectures: &[&dyn AnyConjecture], args: impl IntoIterator<Item = String>) -> u8 {
    let name = std::iter::once("conjectures".to_string());
    let command = match Command::try_parse_from(name.chain(args)) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { exit::BAD_INPUT } else { 0 };
        }
    };
    match command {
        Command::Refute {
            conjecture,
            len,
            state,
            eps,
            cases,
            seed,
            dtype,
            delta,
            out,
        } => {
            let p = match params(len, state, eps, cases, seed, &dtype, delta) {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("error: {e}");
                    return exit::BAD_INPUT;
                }
            };
            let Some(c) = conjectures.iter().find(|c| c.id() == conjecture) else {
                let known: Vec<&str> = conjectures.iter().map(|c| c.id()).collect();
                eprintln!(
                    "error: unknown conjecture `{conjecture}` (known: {})",
                    known.join(", ")
                );
                return exit::BAD_INPUT;
            };
            let report = c.search_dyn(&p, &AtomicBool::new(false), &mut || {});
            finish_search(&report, &out, |r| replay_any(conjectures, r))
        }
        Command::Replay { report } => replay_file(&report, |r| replay_any(conjectures, r)),
    }
}

/// The search parameters from command-line values, each checked.
///
/// # Errors
/// A message naming the one bad option.
pub fn params(
    len: usize,
    state: usize,
    eps: f64,
    cases: usize,
    seed: u64,
    dtype: &str,
    delta: f64,
) -> Result<Params, String> {
    let dtype = match dtype.parse::<Dtype>() {
        Ok(d @ (Dtype::F32 | Dtype::F64)) => d,
        _ => return Err(format!("--dtype must be f32 or f64, not `{dtype}`")),
    };
    for (name, v) in [("--len", len), ("--state", state), ("--cases", cases)] {
        if v == 0 {
            return Err(format!("{name} must be at least 1"));
        }
    }
    for (name, v) in [("--eps", eps), ("--delta", delta)] {
        if !(v > 0.0 && v.is_finite()) {
            return Err(format!("{name} must be finite and > 0, not {v}"));
        }
    }
    Ok(Params {
        len,
        state,
        eps,
        cases,
        seed,
        dtype,
        delta,
    })
}

/// Write a search's report into `out`, say what it found, and re-verify a found
/// certificate with `replay`; the exit code of `refute`.
pub fn finish_search(
    report: &Report,
    out: &Path,
    replay: impl Fn(&Report) -> Result<Replayed, ReplayError>,
) -> u8 {
    if let Err(e) = report.write(out) {
        eprintln!("error: {e}");
        return exit::BAD_INPUT;
    }
    let n = report.search.cases_tried;
    let headline = format!(
        "{}: {} after {n} case{}",
        report.conjecture.id,
        report.outcome.as_str().replace('_', " "),
        if n == 1 { "" } else { "s" }
    );
    conclude(
        report,
        &headline,
        &out.join("report.json"),
        Some(&out.join("report.md")),
        replay,
    )
}

/// Print `headline` and what a search (or a merge of search shards) found, re-verify a
/// found certificate with `replay`, and return the exit code of `refute`; the report is in
/// `json` (and `md`).
pub fn conclude(
    report: &Report,
    headline: &str,
    json: &Path,
    md: Option<&Path>,
    replay: impl Fn(&Report) -> Result<Replayed, ReplayError>,
) -> u8 {
    println!("{headline}");
    match report.outcome {
        Outcome::UnprovenCandidate => {
            println!(
                "a candidate was found, but it is not a proof: {}",
                report.explanation.as_deref().unwrap_or("")
            );
            println!(
                "no certified counterexample; the candidate is in {}",
                json.display()
            );
            return exit::NOT_FOUND_OR_REJECTED;
        }
        Outcome::Counterexample | Outcome::Evidence => {}
        _ => {
            println!(
                "no counterexample within the budget; what was searched is in {}",
                json.display()
            );
            return exit::NOT_FOUND_OR_REJECTED;
        }
    }
    match replay(report) {
        Ok(r) => {
            let code = if r.outcome == Outcome::Counterexample {
                println!("certificate re-verified (a proof): {}", r.why);
                exit::PROOF
            } else {
                println!("evidence, not a proof: {}", r.why);
                exit::EVIDENCE
            };
            match md {
                Some(md) => println!("report: {} and {}", json.display(), md.display()),
                None => println!("report: {}", json.display()),
            }
            code
        }
        Err(e) => {
            eprintln!("error: the report did not replay: {e}");
            exit::BAD_INPUT
        }
    }
}

/// Read a report file and replay it with `replay`; the exit code of `replay`: 0 the
/// certificate holds (a proof), 3 evidence reproduced, 1 rejected (the message names the
/// field), 4 an unknown conjecture, 2 an unreadable report.
pub fn replay_file(file: &Path, replay: impl Fn(&Report) -> Result<Replayed, ReplayError>) -> u8 {
    let report = match Report::load(file) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::BAD_INPUT;
        }
    };
    let id = &report.conjecture.id;
    match replay(&report) {
        Ok(r) if r.outcome == Outcome::Counterexample => {
            println!("{id}: certificate holds: {}", r.why);
            exit::PROOF
        }
        Ok(r) => {
            println!("{id}: evidence reproduced, not a proof: {}", r.why);
            exit::EVIDENCE
        }
        Err(e @ ReplayError::UnknownConjecture(_)) => {
            eprintln!("{id}: cannot replay: {e}; nothing was checked");
            exit::UNKNOWN_CONJECTURE
        }
        Err(e) => {
            eprintln!("{id}: rejected: {e}");
            exit::NOT_FOUND_OR_REJECTED
        }
    }
}

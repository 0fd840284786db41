//! `hattn` — the command line of hidden-attention.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use hidden_attention::golden::{self, F32_TOLERANCE, F64_TOLERANCE};
use hidden_attention::theorems::suite;
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Parser)]
#[command(name = "hattn", version, about = "Mamba's hidden attention: exact, float and checked")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run every theorem check on seeded random cases, exact and float, and print a table.
    Check {
        /// Cases per row.
        #[arg(long, default_value_t = 200)]
        cases: usize,
        /// Seed of the case generator (the same seed replays the same cases).
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
    /// Run golden case files (files or directories, recursively) and compare.
    Golden {
        /// Case files or directories.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Compute in f32 instead of f64.
        #[arg(long)]
        f32: bool,
    },
    /// Time α̃ of one channel against the authors' O(L³) loop and a plain O(L²N) loop.
    Bench {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Sequence lengths.
        #[arg(long, value_delimiter = ',', default_values_t = vec![128, 256, 512])]
        lens: Vec<usize>,
        /// State size N.
        #[arg(long, default_value_t = 16)]
        state: usize,
    },
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Check { cases, seed } => check(cases, seed),
        Command::Golden { paths, f32 } => run_golden(&paths, f32),
        Command::Bench { json, lens, state } => bench(json, &lens, state),
    }
}

fn check(cases: usize, seed: u64) -> ExitCode {
    println!("hattn check: {cases} cases per row, seed {seed}");
    let mut lines = Vec::new();
    let mut failures = Vec::new();
    for row in suite::rows() {
        let bar = ProgressBar::new(cases as u64).with_style(
            ProgressStyle::with_template("{prefix:>10} {bar:30} {pos}/{len} {per_sec}")
                .expect("static template"),
        );
        bar.set_prefix(format!("{} {}", row.theorem.id, row.tier));
        let stats = row.run(cases, seed, &mut || bar.inc(1));
        bar.finish_and_clear();
        let err = if row.tier == "exact" {
            "exact (==)".to_string()
        } else {
            format!("{:.2e}", stats.max_error)
        };
        lines.push(format!(
            "{:<3} {:<6} {:>6} {:>7}  {:>11}  {:>8.2}s  {}",
            row.theorem.id,
            row.tier,
            stats.cases,
            stats.passed,
            err,
            stats.elapsed.as_secs_f64(),
            row.theorem.statement
        ));
        if let Some(c) = stats.counterexample {
            failures.push(c);
        }
    }
    println!(
        "{:<3} {:<6} {:>6} {:>7}  {:>11}  {:>9}  statement",
        "thm", "tier", "cases", "passed", "float error", "time"
    );
    for l in lines {
        println!("{l}");
    }
    println!("float error: largest |float − exact| over the outputs, relative to max_i Σ_j |α̃_ij||x_j|");
    if failures.is_empty() {
        println!("all checks passed");
        ExitCode::SUCCESS
    } else {
        for c in failures {
            eprintln!("{c}");
        }
        ExitCode::FAILURE
    }
}

fn run_golden(paths: &[PathBuf], f32: bool) -> ExitCode {
    let (files, skipped) = match golden::collect_files(paths) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let (tol, dtype) = if f32 { (F32_TOLERANCE, "f32") } else { (F64_TOLERANCE, "f64") };
    println!("golden cases in {dtype}: pass when |got − expected| ≤ {:e} + {:e}·|expected|", tol.atol, tol.rtol);
    for s in skipped {
        println!("SKIP {}: a checkpoint directory, not a case file", s.display());
    }
    let mut any_fail = false;
    for f in &files {
        let res = golden::load_case(f).and_then(|case| {
            if f32 {
                golden::run_case::<f32>(&case, tol)
            } else {
                golden::run_case::<f64>(&case, tol)
            }
        });
        match res {
            Ok(r) => {
                println!(
                    "{:<48} max_abs {:.3e}  max_rel {:.3e}  {}",
                    r.name,
                    r.max_abs,
                    r.max_rel,
                    if r.pass { "PASS" } else { "FAIL" }
                );
                any_fail |= !r.pass;
            }
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
    }
    if files.is_empty() {
        eprintln!("error: no case files found");
        return ExitCode::from(2);
    }
    if any_fail {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn bench(json: bool, lens: &[usize], state: usize) -> ExitCode {
    let rows = hidden_attention::bench::hidden_attention_rows(lens, state, 512);
    if json {
        println!("{}", serde_json::to_string_pretty(&rows).expect("plain data"));
        return ExitCode::SUCCESS;
    }
    println!("hidden attention of one channel, N = {state}, f64 (median seconds; ratios in this run)");
    println!("{:>6} {:>11} {:>11} {:>11} {:>10} {:>12}", "L", "ours", "plain", "authors", "×plain", "×authors");
    for r in rows {
        let a = r.authors_s.map_or("—".to_string(), |a| format!("{a:.3e}"));
        let ra = r.ratio_vs_authors.map_or("—".to_string(), |a| format!("{a:.0}"));
        println!(
            "{:>6} {:>11.3e} {:>11.3e} {:>11} {:>10.1} {:>12}",
            r.len, r.ours_s, r.plain_s, a, r.ratio_vs_plain, ra
        );
    }
    ExitCode::SUCCESS
}

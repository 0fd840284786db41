//! `hattn` — the command line of hidden-attention.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod bench;
mod check;
mod golden;

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
        Command::Check { cases, seed } => check::check(cases, seed),
        Command::Golden { paths, f32 } => golden::run_golden(&paths, f32),
        Command::Bench { json, lens, state } => bench::bench(json, &lens, state),
    }
}


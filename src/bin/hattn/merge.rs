//! `hattn merge`: the reports of the shards of one run combined into the unsharded report.

use std::path::PathBuf;
use std::process::ExitCode;

use hidden_attention::shard::{merge as merge_shards, Merged, ShardReport};

use crate::refute::{conclude, exit, headline};

/// Options of `hattn merge`.
#[derive(clap::Args)]
pub struct MergeArgs {
    /// The shards' reports: `shard.json` files or the directories holding them (the
    /// `--report` directories of `hattn check --shard`, the `--out` ones of `hattn refute
    /// --shard`), every shard of the run exactly once.
    #[arg(required = true, value_name = "DIR|shard.json")]
    shards: Vec<PathBuf>,
    /// Output directory: `suite.json`, `suite.md` and the failure reports (check), or
    /// `report.json` and `report.md` (refute), as the unsharded run writes them.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

/// Exit codes: those of `hattn check` (0 every check passed, 1 a failure) or of
/// `hattn refute` (0 a proof re-verified, 1 none found, 3 evidence) for the merged run;
/// 2 when the reports cannot be read or do not combine (the message names the problem).
pub fn merge(a: &MergeArgs) -> ExitCode {
    let mut parts = Vec::new();
    for path in &a.shards {
        match ShardReport::load(path) {
            Ok(p) => parts.push(p),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(exit::BAD_INPUT);
            }
        }
    }
    let merged = match merge_shards(&parts) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(exit::BAD_INPUT);
        }
    };
    if let Err(e) = merged.write(&a.out) {
        eprintln!("error: {e}");
        return ExitCode::from(exit::BAD_INPUT);
    }
    let count = parts[0].1.shard.count;
    println!("merged {count} shard{}", if count == 1 { "" } else { "s" });
    match &merged {
        Merged::Refute(report) => {
            let (json, md) = (a.out.join("report.json"), a.out.join("report.md"));
            conclude(report, &headline(report), &json, Some(&md))
        }
        Merged::Check { suite, .. } => {
            println!(
                "{:<8} {:<6} {:>7} {:>7}  {:<4}  {:>9}  drawn",
                "theorem", "tier", "cases", "passed", "", "float err"
            );
            for r in &suite.rows {
                println!(
                    "{:<8} {:<6} {:>7} {:>7}  {:<4}  {:>9}  {}",
                    r.theorem,
                    r.tier,
                    r.cases,
                    r.passed,
                    if r.failure.is_none() && r.passed == r.cases {
                        "PASS"
                    } else {
                        "FAIL"
                    },
                    r.max_float_error
                        .map_or("==".to_string(), |e| format!("{e:.2e}")),
                    r.drawn
                );
            }
            println!(
                "report: {} and {}",
                a.out.join("suite.json").display(),
                a.out.join("suite.md").display()
            );
            if suite.passed {
                println!("all checks passed");
                ExitCode::SUCCESS
            } else {
                for r in suite.rows.iter().filter_map(|r| r.failure.as_ref()) {
                    eprintln!("failure: {}", a.out.join(r).display());
                }
                ExitCode::FAILURE
            }
        }
        _ => ExitCode::from(exit::BAD_INPUT),
    }
}

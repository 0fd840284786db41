//! `hattn check`: the theorem table.

use std::path::Path;
use std::process::ExitCode;

use hidden_attention::refute::theorem_check;
use hidden_attention::report::{SuiteReport, SuiteRow};
use hidden_attention::theorems::suite;
use indicatif::{ProgressBar, ProgressStyle};

pub fn check(cases: usize, seed: u64, theorems: &[String], report: Option<&Path>) -> ExitCode {
    let rows = suite::rows();
    let known: Vec<&str> = rows.iter().map(|r| r.theorem.id).collect();
    let wanted: Vec<String> = theorems.iter().map(|t| t.to_uppercase()).collect();
    if let Some(bad) = wanted
        .iter()
        .find(|t| *t != "ALL" && !known.contains(&t.as_str()))
    {
        eprintln!("error: unknown theorem {bad:?} (expected `all` or one of {known:?})");
        return ExitCode::from(2);
    }
    let selected = |id: &str| wanted.is_empty() || wanted.iter().any(|t| t == "ALL" || t == id);
    println!("hattn check: {cases} cases per row, seed {seed}");
    let mut lines = Vec::new();
    let mut failures = Vec::new();
    let mut suite_rows = Vec::new();
    for row in rows.into_iter().filter(|r| selected(r.theorem.id)) {
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
        let mut failure = None;
        if let Some(c) = stats.counterexample {
            if let Some(dir) = report {
                let name = format!("failure-{}-{}-{}", failures.len() + 1, c.theorem, c.tier);
                let r = theorem_check::report(&c, row.theorem.statement, cases, seed);
                if let Err(e) = r.write(&dir.join(&name)) {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
                failure = Some(format!("{name}/report.md"));
            }
            failures.push(c);
        }
        suite_rows.push(SuiteRow {
            theorem: row.theorem.id.into(),
            tier: row.tier.into(),
            statement: row.theorem.statement.into(),
            drawn: row.cases.into(),
            cases: stats.cases,
            passed: stats.passed,
            max_float_error: (row.tier != "exact").then_some(stats.max_error),
            seconds: stats.elapsed.as_secs_f64(),
            failure,
        });
    }
    println!(
        "{:<3} {:<6} {:>6} {:>7}  {:>11}  {:>9}  statement",
        "thm", "tier", "cases", "passed", "float error", "time"
    );
    for l in lines {
        println!("{l}");
    }
    println!(
        "float error: largest |float − exact| over the outputs, relative to max_i Σ_j |α̃_ij||x_j|"
    );
    if let Some(dir) = report {
        let mut command = format!("hattn check --cases {cases} --seed {seed}");
        for t in theorems {
            command += &format!(" {t}");
        }
        let suite = SuiteReport {
            schema_version: hidden_attention::report::SCHEMA_VERSION,
            toolkit_version: env!("CARGO_PKG_VERSION").into(),
            seed,
            cases_per_row: cases,
            passed: failures.is_empty(),
            rows: suite_rows,
            command,
        };
        if let Err(e) = suite.write(dir) {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
        println!(
            "report: {} and {}",
            dir.join("suite.json").display(),
            dir.join("suite.md").display()
        );
    }
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

//! `hattn check`: the theorem table, on drawn cases or on one case file (`--case`).

use std::path::Path;
use std::process::ExitCode;

use hidden_attention::error::Error;
use hidden_attention::interchange::{self, NumberField, Object};
use hidden_attention::refute::theorem_check;
use hidden_attention::report::{SuiteReport, SuiteRow};
use hidden_attention::scalar::{lift, parse_exact, Exact, Field};
use hidden_attention::shard::{Shard, ShardReport, ShardRow, ShardRun, SHARD_FILE};
use hidden_attention::theorems::suite::{self, CheckRow, Metric, SingleCase};
use hidden_attention::theorems::Counterexample;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;

pub fn check(
    cases: usize,
    seed: u64,
    theorems: &[String],
    report: Option<&Path>,
    case: Option<&Path>,
    shard: Option<Shard>,
) -> ExitCode {
    let (rows, skipped, cases) = match case {
        None => (suite::rows(), vec![], cases),
        Some(path) => match read_case(path) {
            Ok(c) => {
                let (rows, skipped) = suite::case_rows(&c);
                (rows, skipped, 1)
            }
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        },
    };
    let mut known: Vec<&str> = Vec::new();
    for name in rows.iter().flat_map(|r| [r.theorem.id, r.name]) {
        if !known.contains(&name) {
            known.push(name);
        }
    }
    if let Some(bad) = theorems
        .iter()
        .find(|t| !t.eq_ignore_ascii_case("all") && !rows.iter().any(|r| r.selected_by(t)))
    {
        eprintln!("error: unknown theorem {bad:?} (expected `all` or one of {known:?})");
        return ExitCode::from(2);
    }
    let selected = |r: &CheckRow| theorems.is_empty() || theorems.iter().any(|t| r.selected_by(t));
    match (case, shard) {
        (None, None) => println!("hattn check: {cases} cases per row, seed {seed}"),
        (None, Some(s)) => println!(
            "hattn check: shard {s} of {cases} cases per row, seed {seed}: cases {}",
            s.describe(cases)
        ),
        (Some(p), _) => println!("hattn check: the case {}", p.display()),
    }
    let mut lines = Vec::new();
    let mut metrics: Vec<Metric> = Vec::new();
    let mut failures = Vec::new();
    let mut suite_rows = Vec::new();
    let mut first_failures = Vec::new();
    let whole = shard.unwrap_or(Shard::WHOLE);
    for row in rows.into_iter().filter(|r| selected(r)) {
        let bar = ProgressBar::new(whole.cases_below(cases) as u64).with_style(
            ProgressStyle::with_template("{prefix:>18} {bar:30} {pos}/{len} {per_sec}")
                .expect("static template"),
        );
        bar.set_prefix(format!("{} {}", row.name, row.tier));
        let stats = row.run_shard(cases, seed, whole, &mut || bar.inc(1));
        bar.finish_and_clear();
        if !metrics.contains(&row.metric) {
            metrics.push(row.metric);
        }
        let value = match row.metric {
            Metric::Exact => "==".to_string(),
            _ => format!("{:.2e}", stats.max_error),
        };
        let pass = stats.counterexample.is_none() && stats.passed == stats.cases;
        lines.push(format!(
            "{:<12} {:<6} {:>6} {:>7}  {:<4}  {:>9} {:<9}  {:>8.2}s  {}",
            row.name,
            row.tier,
            stats.cases,
            stats.passed,
            if pass { "PASS" } else { "FAIL" },
            value,
            row.metric.label(),
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
            drawn: format!("{}: {} ({})", row.name, row.cases, row.metric.label()),
            cases: stats.cases,
            passed: stats.passed,
            max_float_error: (row.tier != "exact").then_some(stats.max_error),
            seconds: stats.elapsed.as_secs_f64(),
            failure,
        });
        first_failures.push(stats.first_failure);
    }
    println!(
        "{:<12} {:<6} {:>6} {:>7}  {:<4}  {:>19}  {:>9}  statement",
        "row", "tier", "cases", "passed", "", "metric", "time"
    );
    for l in lines {
        println!("{l}");
    }
    for m in metrics {
        println!("{}", m.description());
    }
    for s in skipped {
        println!("not applicable: {s}");
    }
    if let Some(dir) = report {
        let mut command = match case {
            None => format!("hattn check --cases {cases} --seed {seed}"),
            Some(p) => format!("hattn check --case {}", p.display()),
        };
        for t in theorems {
            command += &format!(" {t}");
        }
        if let Some(s) = shard {
            let r = shard_report(s, seed, cases, command, suite_rows, first_failures);
            if let Err(e) = r.write(dir) {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
            println!("shard report: {}", dir.join(SHARD_FILE).display());
            return finish(failures);
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
    finish(failures)
}

/// Exit 0 when every check passed, else print the counterexamples and exit 1.
fn finish(failures: Vec<Counterexample>) -> ExitCode {
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

/// The `shard.json` of a sharded `hattn check` (`command`: the unsharded command).
fn shard_report(
    shard: Shard,
    seed: u64,
    cases: usize,
    command: String,
    rows: Vec<SuiteRow>,
    first_failures: Vec<Option<usize>>,
) -> ShardReport {
    ShardReport {
        schema_version: hidden_attention::report::SCHEMA_VERSION,
        toolkit_version: env!("CARGO_PKG_VERSION").into(),
        shard,
        seed,
        cases,
        case_indices: shard.describe(cases),
        cases_run: shard.cases_below(cases),
        shard_command: format!("{command} --shard {shard}"),
        command,
        run: ShardRun::Check {
            rows: rows
                .into_iter()
                .zip(first_failures)
                .map(|(row, first_failure)| ShardRow { row, first_failure })
                .collect(),
        },
    }
}

/// Read a `--case` file: an `s6_channel` interchange document (field `rational`, `f64` or
/// `f32`) with the input `x` (docs/interchange.md). Errors name the file and the field.
fn read_case(path: &Path) -> Result<SingleCase, Error> {
    let bad = |field: &str, reason: String| Error::CaseFile {
        file: path.to_path_buf(),
        field: field.into(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut v: Value =
        serde_json::from_str(&text).map_err(|e| bad("$", format!("invalid JSON: {e}")))?;
    let f32_doc = v.get("field").and_then(Value::as_str) == Some("f32");
    if f32_doc {
        // an f32 document is read as f64 (JSON numbers, exactly), then checked to be f32
        v["field"] = Value::from("f64");
    }
    let doc = interchange::from_value(&v).map_err(|e| match e {
        Error::Interchange { field, reason } => bad(&field, reason),
        other => bad("$", other.to_string()),
    })?;
    let Object::Channel(ch) = doc.object else {
        return Err(bad(
            "kind",
            "`hattn check --case` needs an s6_channel document".into(),
        ));
    };
    let x = read_x(&v, ch.len(), doc.field).map_err(|(f, r)| bad(&f, r))?;
    Ok(match (doc.field, f32_doc) {
        (NumberField::Rational, _) => SingleCase::Exact(ch, x),
        (NumberField::F64, false) => {
            SingleCase::F64(ch.map(Field::to_f64), x.iter().map(Field::to_f64).collect())
        }
        (NumberField::F64, true) => {
            let not_f32 = |v: &Exact| {
                let f = Field::to_f64(v);
                !(f.abs() <= f32::MAX as f64 && (f as f32) as f64 == f)
            };
            let (l, n) = (ch.len(), ch.state());
            for (name, data) in [
                ("a_bar", ch.abar_all()),
                ("b_bar", ch.bbar_all()),
                ("c", ch.c_all()),
            ] {
                if let Some(p) = data.iter().position(not_f32) {
                    let at = format!("{name}[{}][{}]", p / n, p % n);
                    return Err(bad(&at, format!("{} is not exactly an f32", data[p])));
                }
            }
            if let Some(p) = x.iter().position(not_f32) {
                return Err(bad(
                    &format!("x[{p}]"),
                    format!("{} is not exactly an f32", x[p]),
                ));
            }
            debug_assert_eq!(x.len(), l);
            let to32 = |v: &Exact| Field::to_f64(v) as f32;
            SingleCase::F32(ch.map(to32), x.iter().map(to32).collect())
        }
    })
}

/// The input `x`: `len` values written as the document's other values.
fn read_x(v: &Value, len: usize, field: NumberField) -> Result<Vec<Exact>, (String, String)> {
    let err = |f: String, r: &str| (f, r.to_string());
    let arr = v
        .get("x")
        .ok_or_else(|| {
            err(
                "x".into(),
                "missing field: `--case` needs the input x (len values)",
            )
        })?
        .as_array()
        .ok_or_else(|| err("x".into(), "must be an array of len values"))?;
    if arr.len() != len {
        return Err((
            "x".into(),
            format!("has {} values, expected len = {len}", arr.len()),
        ));
    }
    arr.iter()
        .enumerate()
        .map(|(i, e)| {
            let at = format!("x[{i}]");
            match (field, e) {
                (NumberField::Rational, Value::String(s)) => parse_exact(s).ok_or_else(|| {
                    (
                        at,
                        format!("{s:?} is not a rational \"p/q\" (nonzero q) or integer"),
                    )
                }),
                (NumberField::Rational, Value::Number(n)) => n
                    .as_i64()
                    .map(|i| Exact::from_integer(i.into()))
                    .ok_or_else(|| {
                        (
                            at,
                            format!("{n} is not an integer: write rationals as strings \"p/q\""),
                        )
                    }),
                (NumberField::F64, Value::Number(n)) => n
                    .as_f64()
                    .and_then(lift)
                    .ok_or_else(|| (at, format!("{n} is not a finite number"))),
                (NumberField::Rational, _) => Err(err(
                    at,
                    "expected a rational: a string \"p/q\" or an integer",
                )),
                (NumberField::F64, _) => Err(err(at, "expected a JSON number")),
            }
        })
        .collect()
}

//! The merge of per-shard reports into the report of the whole run (`hattn merge`).

use std::path::{Path, PathBuf};

use super::{Shard, ShardReport, ShardRow, ShardRun};
use crate::error::{Error, Result};
use crate::report::{Report, SuiteReport, SuiteRow, SCHEMA_VERSION};

/// Why per-shard reports do not combine into one run. Each names the shards at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MergeProblem {
    /// No report was given.
    #[error("no shard reports given")]
    Empty,
    /// Reports of `hattn check` and of `hattn refute` together.
    #[error("mixed kinds: shard {a} is a `{kind_a}` report, shard {b} a `{kind_b}` one")]
    MixedKinds {
        /// One shard.
        a: Shard,
        /// Its kind.
        kind_a: String,
        /// Another shard.
        b: Shard,
        /// Its kind.
        kind_b: String,
    },
    /// Shards of runs with different seeds.
    #[error("mixed seeds: shard {a} ran seed {seed_a}, shard {b} seed {seed_b}")]
    MixedSeeds {
        /// One shard.
        a: Shard,
        /// Its seed.
        seed_a: u64,
        /// Another shard.
        b: Shard,
        /// Its seed.
        seed_b: u64,
    },
    /// Shards of splits into different numbers of shards.
    #[error(
        "mixed shard counts: shard {a} is one of {} shards, shard {b} one of {}",
        a.count,
        b.count
    )]
    MixedCounts {
        /// One shard.
        a: Shard,
        /// Another shard.
        b: Shard,
    },
    /// Shards of runs with different parameters (cases, theorems, conjecture, options) or
    /// toolkit versions.
    #[error("mixed parameters: {what} differs: shard {a} has `{value_a}`, shard {b} `{value_b}`")]
    MixedParameters {
        /// One shard.
        a: Shard,
        /// Another shard.
        b: Shard,
        /// The parameter (`--cases`, `toolkit_version`, …).
        what: String,
        /// Its value in `a`.
        value_a: String,
        /// Its value in `b`.
        value_b: String,
    },
    /// The same shard given twice.
    #[error("overlapping shards: shard {shard} is given twice ({} and {})", first.display(), second.display())]
    Overlap {
        /// The shard.
        shard: Shard,
        /// Where it was first read.
        first: PathBuf,
        /// Where it was read again.
        second: PathBuf,
    },
    /// Shards of the run that were not given.
    #[error(
        "missing shards: {} of {count} not given (shards are numbered from 0)",
        missing.iter().map(|i| format!("{i}/{count}")).collect::<Vec<_>>().join(", ")
    )]
    Missing {
        /// Their indices.
        missing: Vec<usize>,
        /// `$N$`.
        count: usize,
    },
    /// A search shard stopped early (Ctrl-C) before the first violation of the others, so
    /// some of its cases that the unsharded search checks were never checked.
    #[error("shard {shard} was interrupted: its cases from index {checked_below} on were not checked; run it again")]
    Interrupted {
        /// The shard.
        shard: Shard,
        /// Its cases below this index were checked.
        checked_below: usize,
    },
    /// A report that contradicts itself or the others (e.g. a failing case that is not one
    /// of its shard's cases).
    #[error("shard {shard}: {reason}")]
    Inconsistent {
        /// The shard.
        shard: Shard,
        /// What does not hold.
        reason: String,
    },
}

/// The report of the whole run, merged from its shards.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Merged {
    /// `hattn check`: the suite report, and the failure reports to copy.
    Check {
        /// The suite report of the unsharded run (wall times: the sum of the shards').
        suite: SuiteReport,
        /// `(from, to)`: the directory of a shard's failure report and its name in the
        /// merged report (`failure-K-…`, numbered as the unsharded run numbers them).
        failures: Vec<(PathBuf, String)>,
    },
    /// `hattn refute`: the report of the unsharded search.
    Refute(Box<Report>),
}

impl Merged {
    /// Write the merged report into `dir`: `suite.json`, `suite.md` and the failure
    /// reports, or `report.json` and `report.md`.
    ///
    /// # Errors
    /// [`Error::Io`].
    pub fn write(&self, dir: &Path) -> Result<()> {
        match self {
            Merged::Refute(r) => r.write(dir),
            Merged::Check { suite, failures } => {
                suite.write(dir)?;
                for (from, to) in failures {
                    let report = Report::load(&from.join("report.json"))?;
                    report.write(&dir.join(to))?;
                }
                Ok(())
            }
        }
    }
}

/// Merge the reports of the `$N$` shards of one run (`(directory, report)` as read by
/// [`ShardReport::load`]) into the report of the unsharded run.
///
/// # Errors
/// [`Error::Merge`] with the [`MergeProblem`]: no report, mixed kinds, seeds, shard counts,
/// parameters or toolkit versions, a shard given twice, shards missing, an interrupted
/// search shard whose unchecked cases matter, or an inconsistent report.
pub fn merge(parts: &[(PathBuf, ShardReport)]) -> Result<Merged> {
    let fail = |p: MergeProblem| Err(Error::Merge(p));
    let Some((_, first)) = parts.first() else {
        return fail(MergeProblem::Empty);
    };
    let a = first.shard;
    for (_, r) in parts {
        let b = r.shard;
        if r.run.kind() != first.run.kind() {
            return fail(MergeProblem::MixedKinds {
                a,
                kind_a: first.run.kind().into(),
                b,
                kind_b: r.run.kind().into(),
            });
        }
        if r.seed != first.seed {
            return fail(MergeProblem::MixedSeeds {
                a,
                seed_a: first.seed,
                b,
                seed_b: r.seed,
            });
        }
        if b.count != a.count {
            return fail(MergeProblem::MixedCounts { a, b });
        }
        let mixed = |what: &str, value_a: String, value_b: String| {
            fail(MergeProblem::MixedParameters {
                a,
                b,
                what: what.into(),
                value_a,
                value_b,
            })
        };
        if r.toolkit_version != first.toolkit_version {
            return mixed(
                "toolkit_version",
                first.toolkit_version.clone(),
                r.toolkit_version.clone(),
            );
        }
        if r.command != first.command {
            let (what, x, y) = command_difference(&first.command, &r.command);
            return mixed(&what, x, y);
        }
        if r.cases != first.cases {
            return mixed("cases", first.cases.to_string(), r.cases.to_string());
        }
    }
    let mut by_index: Vec<Option<&(PathBuf, ShardReport)>> = vec![None; a.count];
    for part in parts {
        let slot = &mut by_index[part.1.shard.index];
        if let Some(seen) = slot {
            return fail(MergeProblem::Overlap {
                shard: part.1.shard,
                first: seen.0.clone(),
                second: part.0.clone(),
            });
        }
        *slot = Some(part);
    }
    let missing: Vec<usize> = (0..a.count).filter(|&i| by_index[i].is_none()).collect();
    if !missing.is_empty() {
        return fail(MergeProblem::Missing {
            missing,
            count: a.count,
        });
    }
    let shards: Vec<&(PathBuf, ShardReport)> = by_index.into_iter().flatten().collect();
    for (_, r) in &shards {
        let expected = r.shard.cases_below(r.cases);
        if r.cases_run > expected {
            return inconsistent(
                r.shard,
                format!(
                    "ran {} cases, but has {expected} of {}",
                    r.cases_run, r.cases
                ),
            );
        }
    }
    match first.run {
        ShardRun::Check { .. } => merge_check(&shards),
        ShardRun::Refute { .. } => merge_refute(&shards),
    }
}

fn inconsistent<T>(shard: Shard, reason: String) -> Result<T> {
    Err(Error::Merge(MergeProblem::Inconsistent { shard, reason }))
}

/// The first parameter in which two commands differ: the flag before the first differing
/// word (or `arguments` when it is a positional one) and the two values.
fn command_difference(a: &str, b: &str) -> (String, String, String) {
    let (x, y): (Vec<&str>, Vec<&str>) = (
        a.split_whitespace().collect(),
        b.split_whitespace().collect(),
    );
    let at = (0..x.len().max(y.len()))
        .find(|&i| x.get(i) != y.get(i))
        .unwrap_or(0);
    let word = |v: &[&str]| v.get(at).map_or("(nothing)".to_string(), |s| s.to_string());
    let what = match at.checked_sub(1).and_then(|p| x.get(p)) {
        Some(flag) if flag.starts_with("--") && x.get(at).is_some_and(|w| !w.starts_with("--")) => {
            flag.to_string()
        }
        _ => "arguments".to_string(),
    };
    (what, word(&x), word(&y))
}

fn rows_of(r: &ShardReport) -> &[ShardRow] {
    match &r.run {
        ShardRun::Check { rows } => rows,
        ShardRun::Refute { .. } => &[],
    }
}

fn merge_check(shards: &[&(PathBuf, ShardReport)]) -> Result<Merged> {
    let first = &shards[0].1;
    let template = rows_of(first);
    for (_, r) in shards {
        let rows = rows_of(r);
        let same = |x: &SuiteRow, y: &SuiteRow| {
            (&x.theorem, &x.tier, &x.drawn, &x.statement)
                == (&y.theorem, &y.tier, &y.drawn, &y.statement)
        };
        if rows.len() != template.len()
            || rows
                .iter()
                .zip(template)
                .any(|(x, y)| !same(&x.row, &y.row))
        {
            return Err(Error::Merge(MergeProblem::MixedParameters {
                a: first.shard,
                b: r.shard,
                what: "rows".into(),
                value_a: format!("{} rows", template.len()),
                value_b: format!("{} rows, not the same", rows.len()),
            }));
        }
    }
    let mut rows = Vec::new();
    let mut failures = Vec::new();
    for (k, t) in template.iter().enumerate() {
        let mut row = SuiteRow {
            cases: 0,
            passed: 0,
            max_float_error: None,
            seconds: 0.0,
            failure: None,
            ..t.row.clone()
        };
        let mut first_failure: Option<(usize, &PathBuf, &ShardRow)> = None;
        for (dir, r) in shards {
            let s = &rows_of(r)[k];
            if s.row.passed > s.row.cases || s.row.cases > r.cases_run {
                return inconsistent(
                    r.shard,
                    format!(
                        "row {} {}: {} passed of {} cases, {} run",
                        t.row.theorem, t.row.tier, s.row.passed, s.row.cases, r.cases_run
                    ),
                );
            }
            row.cases += s.row.cases;
            row.passed += s.row.passed;
            row.seconds += s.row.seconds;
            row.max_float_error = match (row.max_float_error, s.row.max_float_error) {
                (Some(x), Some(y)) => Some(x.max(y)),
                (x, y) => x.or(y),
            };
            if let Some(i) = s.first_failure {
                if !r.shard.owns(i) || i >= r.cases {
                    return inconsistent(
                        r.shard,
                        format!(
                            "row {} {}: failing case {i} is not one of its cases",
                            t.row.theorem, t.row.tier
                        ),
                    );
                }
                if first_failure.map_or(true, |(j, _, _)| i < j) {
                    first_failure = Some((i, dir, s));
                }
            }
        }
        if let Some((_, dir, s)) = first_failure {
            let Some(path) = &s.row.failure else {
                return inconsistent(
                    shards
                        .iter()
                        .find(|(d, _)| d == dir)
                        .map_or(first.shard, |p| p.1.shard),
                    format!(
                        "row {} {}: a failure without its report",
                        t.row.theorem, t.row.tier
                    ),
                );
            };
            let (from, name) = renumber(dir, path, failures.len() + 1).ok_or_else(|| {
                Error::Merge(MergeProblem::Inconsistent {
                    shard: first.shard,
                    reason: format!("failure report `{path}` is not `failure-K-…/report.md`"),
                })
            })?;
            row.failure = Some(format!("{name}/report.md"));
            failures.push((from, name));
        }
        rows.push(row);
    }
    let suite = SuiteReport {
        schema_version: SCHEMA_VERSION,
        toolkit_version: first.toolkit_version.clone(),
        seed: first.seed,
        cases_per_row: first.cases,
        passed: failures.is_empty(),
        rows,
        command: first.command.clone(),
    };
    Ok(Merged::Check { suite, failures })
}

/// The directory of a shard's failure report `failure-K-REST/report.md` and its name
/// `failure-{k}-REST` in the merged report.
fn renumber(dir: &Path, path: &str, k: usize) -> Option<(PathBuf, String)> {
    let name = path.strip_suffix("/report.md")?;
    let rest = name.strip_prefix("failure-")?;
    let (number, rest) = rest.split_once('-')?;
    (!number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()) && !rest.contains('/'))
        .then(|| (dir.join(name), format!("failure-{k}-{rest}")))
}

fn merge_refute(shards: &[&(PathBuf, ShardReport)]) -> Result<Merged> {
    let mut first: Option<(usize, &Report)> = None;
    for (_, r) in shards {
        let ShardRun::Refute {
            report,
            checked_below,
        } = &r.run
        else {
            unreachable!("kinds were checked equal");
        };
        if *checked_below > r.cases {
            return inconsistent(
                r.shard,
                format!(
                    "checked below {checked_below}, beyond its {} cases",
                    r.cases
                ),
            );
        }
        if let Some(i) = report.search.case_index {
            if !r.shard.owns(i) || i >= *checked_below {
                return inconsistent(
                    r.shard,
                    format!("its violation, case {i}, is not one of the cases it checked"),
                );
            }
            if first.map_or(true, |(j, _)| i < j) {
                first = Some((i, report));
            }
        }
    }
    for (_, r) in shards {
        let ShardRun::Refute {
            report,
            checked_below,
        } = &r.run
        else {
            unreachable!("kinds were checked equal");
        };
        if report.search.interrupted && first.map_or(true, |(j, _)| j >= *checked_below) {
            return Err(Error::Merge(MergeProblem::Interrupted {
                shard: r.shard,
                checked_below: *checked_below,
            }));
        }
    }
    if let Some((_, report)) = first {
        return Ok(Merged::Refute(Box::new(report.clone())));
    }
    // No violation anywhere: every shard drew every case, so each holds the same report.
    let ShardRun::Refute { report, .. } = &shards[0].1.run else {
        unreachable!("kinds were checked equal");
    };
    for (_, r) in &shards[1..] {
        if let ShardRun::Refute { report: other, .. } = &r.run {
            if other != report {
                return inconsistent(
                    r.shard,
                    format!(
                        "its \"none found\" report differs from shard {}'s ({} against {} cases tried)",
                        shards[0].1.shard, other.search.cases_tried, report.search.cases_tried
                    ),
                );
            }
        }
    }
    Ok(Merged::Refute(report.clone()))
}

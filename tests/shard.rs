//! Sharded runs: shard I of N checks exactly the cases i ≡ I (mod N) of the unsharded run,
//! and `hattn merge` of all shards gives the unsharded report, case for case; overlapping,
//! missing and mixed shards and bad `--shard` values are refused (exit 2, problem named).
// The checks return the crate's `CaseResult`, whose counterexamples travel by value.
#![allow(clippy::result_large_err)]

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::process::Command;

use hidden_attention::error::Error;
use hidden_attention::refute::theorem_check;
use hidden_attention::report::{SuiteRow, SCHEMA_VERSION};
use hidden_attention::scalar::{Exact, Field};
use hidden_attention::shard::{self, MergeProblem, Merged, Shard, ShardReport, ShardRow, ShardRun};
use hidden_attention::ssm::Channel;
use hidden_attention::strategies;
use hidden_attention::theorems::{run_cases, run_cases_sharded, CaseResult, Counterexample};
use proptest::strategy::BoxedStrategy;
use serde_json::Value;

fn hattn(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_hattn"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("hattn-shard-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn json(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

type Case = (Channel<Exact>, Vec<Exact>);

fn cases() -> BoxedStrategy<Case> {
    strategies::rational_channel_with_input(1..=6, 1..=3)
}

/// A check that fails on channels with L = 4 and a negative x_0 (about one case in twelve),
/// and otherwise passes with a "float error" read off the case, so that the largest error
/// depends on which cases ran.
fn picky(c: &Case) -> CaseResult {
    let (ch, x) = c;
    if ch.len() == 4 && x[0].to_f64() < 0.0 {
        return Err(Counterexample {
            theorem: "T1",
            tier: "exact",
            what: format!("x[0] = {} < 0 at L = 4", x[0]),
            channel: ch.clone(),
            input: x.clone(),
        });
    }
    Ok(Some(x.iter().map(|v| v.to_f64().abs()).sum::<f64>()))
}

/// Shard I of N draws the unsharded run's cases and checks exactly those with
/// i mod N = I: the cases each shard checks, in order, are the unsharded run's cases at
/// those indices, for every N ≤ 5.
#[test]
fn each_shard_checks_exactly_its_cases_of_the_unsharded_draws() {
    let strategy = cases();
    let seen = RefCell::new(Vec::new());
    let record = |c: &Case| {
        seen.borrow_mut().push(c.clone());
        Ok(None)
    };
    let total = 40;
    run_cases(&strategy, total, 11, record, || {});
    let whole = seen.take();
    assert_eq!(whole.len(), total);
    for n in 1..=5 {
        for i in 0..n {
            let shard = Shard::new(i, n).unwrap();
            let stats = run_cases_sharded(&strategy, total, 11, shard, record, || {});
            let got = seen.take();
            let want: Vec<Case> = (i..total).step_by(n).map(|k| whole[k].clone()).collect();
            let differs = (0..got.len().max(want.len())).find(|&k| got.get(k) != want.get(k));
            assert_eq!(
                differs, None,
                "shard {shard}: its k-th case is not case I + kN"
            );
            assert_eq!(stats.cases, shard.cases_below(total));
        }
    }
}

/// The statistics of N shards combine into the unsharded ones: cases and passes add up,
/// the largest error is the shards' largest, and the first failure (index and shrunk
/// counterexample) is the shards' failure of least index.
#[test]
fn shard_statistics_combine_into_the_unsharded_run() {
    let strategy = cases();
    for seed in [0, 1, 2, 3] {
        let total = 60;
        let whole = run_cases(&strategy, total, seed, picky, || {});
        assert!(
            whole.first_failure.is_some(),
            "seed {seed}: no failure drawn"
        );
        for n in [2, 3, 7] {
            let parts: Vec<_> = (0..n)
                .map(|i| {
                    run_cases_sharded(
                        &strategy,
                        total,
                        seed,
                        Shard::new(i, n).unwrap(),
                        picky,
                        || {},
                    )
                })
                .collect();
            let sum = |f: fn(&hidden_attention::theorems::RunStats) -> usize| {
                parts.iter().map(f).sum::<usize>()
            };
            assert_eq!(sum(|p| p.cases), whole.cases);
            assert_eq!(sum(|p| p.passed), whole.passed);
            let max = parts.iter().map(|p| p.max_error).fold(0.0, f64::max);
            assert_eq!(max, whole.max_error);
            let first = parts
                .iter()
                .filter(|p| p.first_failure.is_some())
                .min_by_key(|p| p.first_failure)
                .unwrap();
            assert_eq!(
                first.first_failure, whole.first_failure,
                "seed {seed}, N = {n}"
            );
            assert_eq!(
                first.counterexample, whole.counterexample,
                "seed {seed}, N = {n}"
            );
            // the failure belongs to the shard that reported it
            let i = first.first_failure.unwrap();
            let owner = parts.iter().position(|p| std::ptr::eq(p, first)).unwrap();
            assert_eq!(i % n, owner);
        }
    }
}

/// `hattn check` as 3 shards, merged: `suite.json` equals the unsharded one but for the
/// wall times, and each shard's report records the shard, the seed and its cases.
#[test]
fn check_shards_merge_into_the_unsharded_suite() {
    let dir = scratch("check");
    let base = ["check", "--cases", "7", "--seed", "5", "T1", "T4", "T6b"];
    let whole = dir.join("whole");
    let mut args = base.to_vec();
    args.extend(["--report", s(&whole)]);
    let (code, out, err) = hattn(&args);
    assert_eq!(code, 0, "{out}{err}");
    let mut shards = Vec::new();
    for i in 0..3 {
        let d = dir.join(format!("s{i}"));
        let spec = format!("{i}/3");
        let mut args = base.to_vec();
        args.extend(["--report", s(&d), "--shard", &spec]);
        let (code, out, err) = hattn(&args);
        assert_eq!(code, 0, "{out}{err}");
        assert!(
            !d.join("suite.json").exists(),
            "a shard writes shard.json only"
        );
        let r = json(&d.join("shard.json"));
        assert_eq!(r["kind"], "check");
        assert_eq!(r["shard"]["index"], i);
        assert_eq!(r["shard"]["count"], 3);
        assert_eq!(r["seed"], 5);
        assert_eq!(r["cases"], 7);
        assert_eq!(r["cases_run"], [3, 2, 2][i]);
        assert_eq!(r["command"], "hattn check --cases 7 --seed 5 T1 T4 T6b");
        assert!(r["case_indices"]
            .as_str()
            .unwrap()
            .starts_with(&format!("i mod 3 = {i}")));
        for row in r["rows"].as_array().unwrap() {
            assert_eq!(row["cases"], [3, 2, 2][i], "{row}");
        }
        shards.push(d);
    }
    // given in any order
    let merged = dir.join("merged");
    let (code, out, err) = hattn(&[
        "merge",
        s(&shards[2]),
        s(&shards[0]),
        s(&shards[1]),
        "--out",
        s(&merged),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("merged 3 shards") && out.contains("all checks passed"),
        "{out}"
    );
    let zero_times = |mut v: Value| {
        for r in v["rows"].as_array_mut().unwrap() {
            r["seconds"] = Value::from(0.0);
        }
        v
    };
    let (a, b) = (
        zero_times(json(&whole.join("suite.json"))),
        zero_times(json(&merged.join("suite.json"))),
    );
    assert_eq!(a, b);
    assert!(a["rows"].as_array().unwrap().len() >= 8);
    assert!(a["rows"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["cases"] == 7));
    assert!(merged.join("suite.md").exists());
}

/// `hattn refute` as 3 shards, merged: report.json and report.md are byte for byte the
/// unsharded ones, for a first violation in shard 1 alone, one in shard 0 while the others
/// found later ones, one in shard 1 while shard 0 found a later one (case 9), and none.
#[test]
fn refute_shards_merge_into_the_unsharded_report() {
    let dir = scratch("refute");
    for (conjecture, seed, want) in [
        ("diagonal-realisation", "1", Some((7, 1))),
        ("softmax-in-channel", "1", Some((3, 0))),
        ("softmax-in-channel", "5", Some((1, 1))),
        ("ssd-head-of-channel", "1", None),
    ] {
        let base = [
            "refute", conjecture, "--cases", "48", "--seed", seed, "--len", "5", "--state", "2",
        ];
        let conjecture = &format!("{conjecture}-{seed}")[..];
        let whole = dir.join(format!("{conjecture}-whole"));
        let mut args = base.to_vec();
        args.extend(["--out", s(&whole)]);
        let (code, out, err) = hattn(&args);
        let mut shards = Vec::new();
        for i in 0..3 {
            let d = dir.join(format!("{conjecture}-{i}"));
            let spec = format!("{i}/3");
            let mut args = base.to_vec();
            args.extend(["--out", s(&d), "--shard", &spec]);
            let (c, o, e) = hattn(&args);
            assert!(c == 0 || c == 1, "{o}{e}");
            shards.push(d);
        }
        let merged = dir.join(format!("{conjecture}-merged"));
        let (mcode, mout, merr) = hattn(&[
            "merge",
            s(&shards[0]),
            s(&shards[1]),
            s(&shards[2]),
            "--out",
            s(&merged),
        ]);
        assert_eq!(
            mcode, code,
            "{conjecture}: merge {mout}{merr} vs whole {out}{err}"
        );
        for f in ["report.json", "report.md"] {
            assert_eq!(
                std::fs::read_to_string(whole.join(f)).unwrap(),
                std::fs::read_to_string(merged.join(f)).unwrap(),
                "{conjecture}: {f}"
            );
        }
        let r = json(&whole.join("report.json"));
        if seed == "5" {
            // shard 0 found a violation too, later than shard 1's
            let s0 = json(&shards[0].join("shard.json"));
            assert_eq!(s0["report"]["search"]["case_index"], 9);
        }
        match want {
            Some((index, owner)) => {
                assert_eq!(r["search"]["case_index"], index, "{conjecture}");
                let s = json(&shards[owner].join("shard.json"));
                assert_eq!(s["report"]["search"]["case_index"], index);
                assert_eq!(s["checked_below"], index + 1);
            }
            None => {
                assert_eq!(r["outcome"], "none_found");
                for (i, d) in shards.iter().enumerate() {
                    let s = json(&d.join("shard.json"));
                    assert_eq!(s["cases_run"], 16, "shard {i}");
                    assert_eq!(s["checked_below"], 48);
                }
            }
        }
    }
}

/// Three refute shards of a small search, written once for the rejection tests.
fn refute_shards(dir: &Path, seed: &str, cases: &str, n: usize) -> Vec<PathBuf> {
    (0..n)
        .map(|i| {
            let d = dir.join(format!("r-{seed}-{cases}-{i}of{n}"));
            let spec = format!("{i}/{n}");
            let (c, o, e) = hattn(&[
                "refute",
                "ssd-head-of-channel",
                "--cases",
                cases,
                "--seed",
                seed,
                "--len",
                "3",
                "--out",
                s(&d),
                "--shard",
                &spec,
            ]);
            assert!(c == 1, "{o}{e}");
            d
        })
        .collect()
}

#[test]
fn merge_refuses_overlapping_missing_and_mixed_shards() {
    let dir = scratch("reject");
    let r = refute_shards(&dir, "0", "9", 3);
    let out = dir.join("out");
    let merge = |paths: &[&Path]| {
        let mut args = vec!["merge"];
        args.extend(paths.iter().map(|p| s(p)));
        args.extend(["--out", s(&out)]);
        let (code, o, e) = hattn(&args);
        assert_eq!(code, 2, "{o}{e}");
        assert!(!out.exists(), "nothing written on a refused merge");
        e
    };
    // the complete set merges
    let (code, o, e) = hattn(&[
        "merge",
        s(&r[0]),
        s(&r[1]),
        s(&r[2]),
        "--out",
        s(&dir.join("fine")),
    ]);
    assert_eq!(code, 1, "{o}{e}");
    // overlapping: a shard twice (also as its file)
    let e = merge(&[&r[0], &r[1], &r[2], &r[1].join("shard.json")]);
    assert!(
        e.contains("overlapping shards: shard 1/3 is given twice"),
        "{e}"
    );
    // missing
    let e = merge(&[&r[0], &r[2]]);
    assert!(e.contains("missing shards: 1/3 of 3"), "{e}");
    // mixed seeds
    let other_seed = refute_shards(&dir, "1", "9", 3);
    let e = merge(&[&r[0], &other_seed[1], &r[2]]);
    assert!(
        e.contains("mixed seeds: shard 0/3 ran seed 0, shard 1/3 seed 1"),
        "{e}"
    );
    // mixed shard counts
    let halves = refute_shards(&dir, "0", "9", 2);
    let e = merge(&[&r[0], &halves[1], &r[2]]);
    assert!(
        e.contains("mixed shard counts: shard 0/3 is one of 3 shards, shard 1/2 one of 2"),
        "{e}"
    );
    // mixed parameters
    let more = refute_shards(&dir, "0", "12", 3);
    let e = merge(&[&r[0], &r[1], &more[2]]);
    assert!(
        e.contains("mixed parameters: --cases differs: shard 0/3 has `9`, shard 2/3 `12`"),
        "{e}"
    );
    // mixed kinds
    let c = dir.join("check-1of3");
    let (code, o, er) = hattn(&[
        "check",
        "--cases",
        "3",
        "T1",
        "--report",
        s(&c),
        "--shard",
        "1/3",
    ]);
    assert_eq!(code, 0, "{o}{er}");
    let e = merge(&[&r[0], &c, &r[2]]);
    assert!(
        e.contains("mixed kinds: shard 0/3 is a `refute` report, shard 1/3 a `check` one"),
        "{e}"
    );
    // not a shard report
    let e = merge(&[&dir]);
    assert!(e.contains("shard.json"), "{e}");
    // an interrupted shard whose cases matter
    let edited = dir.join("interrupted");
    std::fs::create_dir_all(&edited).unwrap();
    let mut v = json(&r[1].join("shard.json"));
    v["report"]["search"]["interrupted"] = Value::Bool(true);
    v["checked_below"] = Value::from(4);
    std::fs::write(edited.join("shard.json"), v.to_string()).unwrap();
    let e = merge(&[&r[0], &edited, &r[2]]);
    assert!(
        e.contains("shard 1/3 was interrupted: its cases from index 4 on"),
        "{e}"
    );
    // a violation that is not one of its shard's cases
    let mut v = json(&r[1].join("shard.json"));
    v["report"]["search"]["case_index"] = Value::from(3);
    std::fs::write(edited.join("shard.json"), v.to_string()).unwrap();
    let e = merge(&[&r[0], &edited, &r[2]]);
    assert!(
        e.contains("shard 1/3: its violation, case 3, is not one of the cases it checked"),
        "{e}"
    );
}

#[test]
fn bad_shard_values_exit_2_naming_the_option() {
    let dir = scratch("badshard");
    let report = dir.join("r");
    for bad in ["3/3", "0/0", "x/3", "1", "-1/3", "1/3/3", ""] {
        let (code, out, err) = hattn(&[
            "check",
            "--cases",
            "2",
            "T1",
            "--report",
            s(&report),
            "--shard",
            bad,
        ]);
        assert_eq!(code, 2, "check --shard {bad:?}: {out}{err}");
        assert!(err.contains("--shard"), "{bad:?}: {err}");
        let (code, out, err) = hattn(&[
            "refute",
            "channel-in-softmax",
            "--out",
            s(&report),
            "--shard",
            bad,
        ]);
        assert_eq!(code, 2, "refute --shard {bad:?}: {out}{err}");
        assert!(err.contains("--shard"), "{bad:?}: {err}");
    }
    let (_, _, err) = hattn(&["check", "--shard", "3/3", "--report", s(&report)]);
    assert!(
        err.contains("I = 3 is out of range: shards are numbered from 0 to N − 1 = 2"),
        "{err}"
    );
    // a shard of check needs the report directory, and is not a --case run
    let (code, _, err) = hattn(&["check", "--cases", "2", "T1", "--shard", "0/2"]);
    assert_eq!(code, 2);
    assert!(err.contains("--report"), "{err}");
    let (code, _, err) = hattn(&[
        "check",
        "--case",
        "c.json",
        "--report",
        s(&report),
        "--shard",
        "0/2",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("--case"), "{err}");
    assert!(!report.exists());
}

/// A failure row by row: the merged suite names the failure of least case index, numbered
/// as the unsharded run numbers its failures, and copies that shard's report.
#[test]
fn merged_failures_are_the_first_by_case_index_and_renumbered() {
    let dir = scratch("failures");
    let strategy = cases();
    let (total, n) = (60, 3);
    // a seed whose first failure is not in the first shard that fails
    let seed = (0..32)
        .find(|&seed| {
            let firsts: Vec<Option<usize>> = (0..n)
                .map(|i| {
                    let shard = Shard::new(i, n).unwrap();
                    run_cases_sharded(&strategy, total, seed, shard, picky, || {}).first_failure
                })
                .collect();
            let least = firsts.iter().flatten().min();
            least.is_some_and(|&m| firsts[..m % n].iter().any(Option::is_some))
        })
        .expect("a seed whose first failure is in a later shard than another failure");
    let whole = run_cases(&strategy, total, seed, picky, || {});
    let first = whole.first_failure.unwrap();
    let mut parts = Vec::new();
    for i in 0..n {
        let shard = Shard::new(i, n).unwrap();
        let d = dir.join(format!("s{i}"));
        let mut rows = Vec::new();
        // two rows: the failing one twice, the second with a passing check
        for (k, check) in [picky as fn(&Case) -> CaseResult, |_: &Case| Ok(None)]
            .into_iter()
            .enumerate()
        {
            let stats = run_cases_sharded(&strategy, total, seed, shard, check, || {});
            let failure = stats.counterexample.as_ref().map(|c| {
                let name = format!("failure-{}-{}-{}", k + 1, c.theorem, c.tier);
                theorem_check::report(c, "statement", total, seed)
                    .write(&d.join(&name))
                    .unwrap();
                format!("{name}/report.md")
            });
            rows.push(ShardRow {
                row: SuiteRow {
                    theorem: "T1".into(),
                    tier: "exact".into(),
                    statement: "statement".into(),
                    drawn: format!("row {k}"),
                    cases: stats.cases,
                    passed: stats.passed,
                    max_float_error: None,
                    seconds: 0.0,
                    failure,
                },
                first_failure: stats.first_failure,
            });
        }
        let r = ShardReport {
            schema_version: SCHEMA_VERSION,
            toolkit_version: "0.1.0".into(),
            shard,
            seed,
            cases: total,
            case_indices: shard.describe(total),
            cases_run: shard.cases_below(total),
            command: "hattn check T1".into(),
            shard_command: format!("hattn check T1 --shard {shard}"),
            run: ShardRun::Check { rows },
        };
        r.write(&d).unwrap();
        parts.push(ShardReport::load(&d).unwrap());
        assert_eq!(parts[i].1, r, "shard.json reads back");
    }
    let Merged::Check { suite, failures } = shard::merge(&parts).unwrap() else {
        panic!("a check merge");
    };
    assert!(!suite.passed);
    assert_eq!(
        suite.rows[0].failure.as_deref(),
        Some("failure-1-T1-exact/report.md")
    );
    assert_eq!(suite.rows[1].failure, None);
    assert_eq!(suite.rows[0].passed, whole.passed);
    assert_eq!(suite.rows[0].cases, whole.cases);
    assert_eq!(
        failures,
        [(
            dir.join(format!("s{}", first % n))
                .join("failure-1-T1-exact"),
            "failure-1-T1-exact".to_string()
        )]
    );
    let out = dir.join("merged");
    Merged::Check { suite, failures }.write(&out).unwrap();
    let copied =
        hidden_attention::report::Report::load(&out.join("failure-1-T1-exact/report.json"))
            .unwrap();
    let c = whole.counterexample.unwrap();
    assert_eq!(copied, theorem_check::report(&c, "statement", total, seed));
    // the same shards twice over are refused, as is a mix with a missing one
    let twice = [parts.clone(), parts.clone()].concat();
    assert!(matches!(
        shard::merge(&twice),
        Err(Error::Merge(MergeProblem::Overlap { .. }))
    ));
    assert!(matches!(
        shard::merge(&parts[1..]),
        Err(Error::Merge(MergeProblem::Missing { ref missing, count: 3 })) if missing == &[0]
    ));
}

//! The `hattn` command line: exit codes and messages.

use std::path::PathBuf;
use std::process::Command;

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

fn data(rel: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(rel)
        .to_string_lossy()
        .into_owned()
}

#[test]
fn golden_passes_on_the_copied_cases() {
    for extra in [&[][..], &["--f32"][..]] {
        let mut args = vec!["golden"];
        args.extend_from_slice(extra);
        let dir = data("golden/selective_scan");
        let dir2 = data("golden/hidden_attention");
        args.push(&dir);
        args.push(&dir2);
        let (code, out, err) = hattn(&args);
        assert_eq!(code, 0, "{out}{err}");
        assert_eq!(out.matches("PASS").count(), 15, "{out}");
        assert!(!out.contains("FAIL"));
    }
}

#[test]
fn golden_exit_codes() {
    let tmp = std::env::temp_dir().join(format!("hattn-cli-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    // An invalid file: exit 2, the message names the file and the field.
    let bad = tmp.join("bad.json");
    std::fs::write(&bad, r#"{"name": "b", "kind": "selective_scan", "inputs": {"u": {"shape": [1], "data": [1.0]}}, "expected": {}}"#).unwrap();
    let (code, _, err) = hattn(&["golden", bad.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("bad.json") && err.contains("inputs.delta"),
        "{err}"
    );
    // A case whose expected output is off: exit 1 and a FAIL line.
    let src = std::fs::read_to_string(data(
        "golden/selective_scan/scan_s31_b2_d3_n4_l1_const.json",
    ))
    .unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&src).unwrap();
    let x = v["expected"]["out"]["data"][0].as_f64().unwrap();
    v["expected"]["out"]["data"][0] = serde_json::json!(x + 0.5);
    let wrong = tmp.join("wrong.json");
    std::fs::write(&wrong, v.to_string()).unwrap();
    let (code, out, _) = hattn(&["golden", wrong.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL"));
    // A missing path: exit 2.
    let (code, _, err) = hattn(&["golden", tmp.join("nope").to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    std::fs::remove_dir_all(&tmp).ok();
}

#[test]
fn check_runs_and_reports_every_row() {
    let dir = std::env::temp_dir().join(format!("hattn-suite-{}", std::process::id()));
    let d = dir.to_string_lossy().into_owned();
    let (code, out, err) = hattn(&["check", "--cases", "5", "--seed", "7", "--report", &d]);
    assert_eq!(code, 0, "{out}{err}");
    for (name, tier) in [
        ("T1", "exact"),
        ("T1", "f64"),
        ("T1", "f32"),
        ("T1 wide", "f64"),
        ("T1 wide", "f32"),
        ("T2a/b", "exact"),
        ("T2a/b", "f64"),
        ("T2a/b", "f32"),
        ("T2a/b wide", "f64"),
        ("T2a/b wide", "f32"),
        ("T2 S6-layer", "f64"),
        ("T5 any", "exact"),
        ("T5 rank-r", "exact"),
        ("T6a", "exact"),
        ("T6b", "exact"),
    ] {
        let row = format!("{name:<12} {tier:<6}");
        assert!(out.contains(&row), "missing row {row}:\n{out}");
    }
    assert!(out.contains("all checks passed"));
    let suite: hidden_attention::report::SuiteReport =
        serde_json::from_str(&std::fs::read_to_string(dir.join("suite.json")).unwrap()).unwrap();
    assert!(suite.passed);
    for t in ["T1", "T2", "T3", "T4", "T5", "T6", "T7"] {
        assert!(suite.rows.iter().any(|r| r.theorem == t), "no {t} row");
    }
    assert!(suite.rows.iter().all(|r| r.cases == 5 && r.passed == 5));
    let md = std::fs::read_to_string(dir.join("suite.md")).unwrap();
    assert!(
        md.contains("all checks passed") && md.contains("| T7 |"),
        "{md}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn refute_and_replay_exit_codes() {
    let dir = std::env::temp_dir().join(format!("hattn-refute-{}", std::process::id()));
    let d = dir.to_string_lossy().into_owned();
    // Found and certified: exit 0, both files written, replay exit 0.
    let (code, out, err) = hattn(&[
        "refute",
        "softmax-in-channel",
        "--state",
        "1",
        "--len",
        "4",
        "--out",
        &d,
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let report = dir.join("report.json").to_string_lossy().into_owned();
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(
        md.contains("## Certificate") && md.contains("**Why.**"),
        "{md}"
    );
    let (code, out, err) = hattn(&["replay", &report]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("certificate holds"), "{out}");
    // Tampered certificate: replay exit 1 (rejected), naming the field.
    let text = std::fs::read_to_string(&report).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["certificate"]["rows"] = serde_json::json!([0, 1]);
    std::fs::write(&report, v.to_string()).unwrap();
    let (code, out, err) = hattn(&["replay", &report]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("rejected: certificate.rows"), "{out}{err}");
    // paper-approx: a proof (exit 0); every edited number is rejected, named, with short
    // numbers in the message.
    let (code, out, err) = hattn(&[
        "refute",
        "paper-approx",
        "--len",
        "4",
        "--state",
        "2",
        "--eps",
        "1e-3",
        "--out",
        &d,
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("(a proof)"), "{out}");
    let (code, out, err) = hattn(&["replay", &report]);
    assert_eq!(code, 0, "{out}{err}");
    let original: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    for (section, key, sub) in [
        ("certificate", "t7_bound", Some("hi")),
        ("certificate", "alpha", Some("lo")),
        ("certificate", "gap", Some("lo")),
        ("measured", "gap", None),
        ("measured", "t7_bound", None),
    ] {
        let mut v = original.clone();
        let slot = match sub {
            Some(s) => &mut v[section][key][s],
            None => &mut v[section][key],
        };
        *slot = match slot {
            serde_json::Value::String(_) => serde_json::json!("1/2"),
            _ => serde_json::json!(0.5),
        };
        std::fs::write(&report, v.to_string()).unwrap();
        let (code, out, err) = hattn(&["replay", &report]);
        let field = format!(
            "{section}.{key}{}",
            sub.map_or(String::new(), |s| format!(".{s}"))
        );
        assert_eq!(code, 1, "{field}: {out}{err}");
        assert!(
            err.contains(&format!("{field}: report says 0.5, recomputed ")),
            "{err}"
        );
        assert!(err.len() < 200, "{err}");
    }
    let mut v = original.clone();
    v["counterexample_float"]["z"][0] = serde_json::json!(123.0);
    std::fs::write(&report, v.to_string()).unwrap();
    let (code, _, err) = hattn(&["replay", &report]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("counterexample_float.z[0] = 123"), "{err}");
    // None found: exit 1, and a report of what was searched.
    let (code, out, err) = hattn(&[
        "refute",
        "diagonal-realisation",
        "--state",
        "1",
        "--len",
        "3",
        "--cases",
        "16",
        "--out",
        &d,
    ]);
    assert_eq!(code, 1, "{out}{err}");
    let text = std::fs::read_to_string(dir.join("report.json")).unwrap();
    assert!(text.contains("none_found"), "{text}");
    // Nothing to replay: rejected (exit 1), saying why.
    let (code, out, err) = hattn(&["replay", &report]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("there is no certificate"), "{err}");
    // Bad input: exit 2.
    for bad in [
        &["refute", "no-such-conjecture"][..],
        &["refute", "paper-approx", "--eps", "-1"][..],
        &["refute", "factored-float", "--dtype", "f16"][..],
        &["replay", "/nonexistent/report.json"][..],
    ] {
        let (code, out, err) = hattn(bad);
        assert_eq!(code, 2, "{bad:?}: {out}{err}");
        assert!(err.contains("error"), "{bad:?}: {err}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// Each bad option exits 2 with a message naming that option and no other.
#[test]
fn no_silent_accepts() {
    let ck = data("golden/checkpoints/tiny-mamba-a");
    let file = format!("{ck}/model.safetensors");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["check", "--cases", "0", "T1"], "--cases"),
        (vec!["check", "--cases", "-3", "T1"], "--cases"),
        (vec!["refute", "paper-approx", "--cases", "0"], "--cases"),
        (vec!["refute", "paper-approx", "--len", "-3"], "--len"),
        (vec!["refute", "paper-approx", "--state", "0"], "--state"),
        (vec!["refute", "paper-approx", "--eps=-1"], "--eps"),
        (vec!["refute", "paper-approx", "--delta", "nan"], "--delta"),
        (
            vec!["faithfulness", "--checkpoint", &file, "--data", "x.json"],
            "--checkpoint",
        ),
    ];
    let options = [
        "--cases",
        "--len",
        "--state",
        "--eps",
        "--delta",
        "--checkpoint",
    ];
    for (args, option) in cases {
        let (code, out, err) = hattn(&args);
        assert_eq!(code, 2, "{args:?}: {out}{err}");
        assert!(err.contains(option), "{args:?}: {err}");
        for other in options.iter().filter(|o| **o != option) {
            assert!(
                !err.contains(&format!("{other} ")),
                "{args:?} names {other}: {err}"
            );
        }
        assert!(!err.contains("tip: to pass"), "{args:?}: {err}");
    }
}

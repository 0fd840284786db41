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

// ---- `hattn convert --from <member>` and `hattn family-attn` ----

use hidden_attention::interchange::{from_value, Object};
use hidden_attention::scalar::{Exact, Field};
use serde_json::{json, Value};

fn family_cases() -> Vec<(String, Value)> {
    let dir = PathBuf::from(data("golden/family"));
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let v: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
            (p.to_string_lossy().into_owned(), v)
        })
        .filter(|(_, v)| v["kind"] != "ssd")
        .collect()
}

fn floats(t: &Value) -> Vec<f64> {
    t["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// The hidden attention of one converted object, in f64 (α̃ computed exactly).
fn matrix_of(doc: &Value) -> (usize, Vec<f64>) {
    let m = match from_value(doc).unwrap().object {
        Object::Matrix(m) => m,
        Object::Channel(c) => hidden_attention::ssm::attention_matrix(&c).unwrap(),
        Object::TimeVarying(t) => t.attention(),
        other => panic!("unexpected object {other:?}"),
    };
    (m.rows(), m.data().iter().map(Field::to_f64).collect())
}

/// `A v` of every converted head reproduces the case's `expected.o` to 1e-12, reading `v`
/// and `o` in the reference's own layout (time-major for GLA, simple GLA and Gated DeltaNet;
/// `(B, T, D)` with one head per feature for HGRN and RG-LRU).
fn check_against_expected(kind: &str, case: &Value, out: &Value) -> usize {
    let o = floats(&case["expected"]["o"]);
    let elementwise = matches!(kind, "hgrn" | "rglru");
    let time_major = matches!(kind, "gla" | "simple_gla" | "gated_delta_rule");
    let (v, vshape) = if elementwise {
        (floats(&case["inputs"]["x"]), &case["inputs"]["x"]["shape"])
    } else {
        (floats(&case["inputs"]["v"]), &case["inputs"]["v"]["shape"])
    };
    let sh: Vec<usize> = vshape
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect();
    let (h, dv) = (
        out["heads"].as_u64().unwrap() as usize,
        out["value_dim"].as_u64().unwrap() as usize,
    );
    let idx = |b: usize, hh: usize, t: usize, c: usize| -> usize {
        if elementwise {
            (b * sh[1] + t) * sh[2] + hh
        } else if time_major {
            ((b * sh[1] + t) * sh[2] + hh) * sh[3] + c
        } else {
            ((b * sh[1] + hh) * sh[2] + t) * sh[3] + c
        }
    };
    let objects = out["objects"].as_array().unwrap();
    assert_eq!(
        objects.len(),
        sh[0] * h,
        "{kind}: one object per (batch, head)"
    );
    let mut compared = 0;
    for obj in objects {
        let (b, hh) = (
            obj["batch"].as_u64().unwrap() as usize,
            obj["head"].as_u64().unwrap() as usize,
        );
        let (l, a) = matrix_of(&obj["document"]);
        for t in 0..l {
            for c in 0..dv {
                let got: f64 = (0..l).map(|s| a[t * l + s] * v[idx(b, hh, s, c)]).sum();
                let want = o[idx(b, hh, t, c)];
                assert!(
                    (got - want).abs() <= 1e-12 + 1e-12 * want.abs(),
                    "{kind} batch {b} head {hh} o[{t}][{c}]: {got} vs {want}"
                );
                compared += 1;
            }
        }
    }
    compared
}

/// Every member converts from its golden case (f64): `--to matrix` for every case,
/// `--to realisation` and `--to channel` for the small ones, and `A v` (α̃ v) reproduces
/// `expected.o`; the matrix-transition members refuse `--to channel` pointing to
/// `--to realisation`.
#[test]
fn convert_from_every_member_reproduces_its_golden_case() {
    let mut members = std::collections::BTreeSet::new();
    for (file, case) in family_cases() {
        let kind = case["kind"].as_str().unwrap();
        members.insert(kind.to_string());
        let small = file.contains("_s7_");
        for to in ["matrix", "realisation", "channel"] {
            if to != "matrix" && !small {
                continue;
            }
            let (code, out, err) = hattn(&["convert", "--from", kind, "--to", to, &file]);
            if to == "channel" && matches!(kind, "dplr" | "delta_rule" | "gated_delta_rule") {
                assert_eq!(code, 2, "{file}: {out}");
                assert!(
                    err.contains("T18") && err.contains("--to realisation"),
                    "{err}"
                );
                continue;
            }
            assert_eq!(code, 0, "{file} --to {to}: {err}");
            let out: Value = serde_json::from_str(&out).unwrap();
            assert_eq!(out["field"], "f64");
            assert_eq!(out["to"], to);
            let n = check_against_expected(kind, &case, &out);
            assert!(n > 0, "{file}");
        }
    }
    assert_eq!(members.len(), 9, "{members:?}");
}

fn write_tmp(name: &str, v: &Value) -> String {
    let dir = std::env::temp_dir().join(format!("hattn-family-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_string(v).unwrap()).unwrap();
    p.to_string_lossy().into_owned()
}

fn exact_matrix(doc: &Value) -> hidden_attention::tensor::Matrix<Exact> {
    assert_eq!(doc["field"], "rational", "{doc}");
    match from_value(doc).unwrap().object {
        Object::Matrix(m) => m,
        Object::Channel(c) => hidden_attention::ssm::attention_matrix(&c).unwrap(),
        Object::TimeVarying(t) => t.attention(),
        other => panic!("unexpected object {other:?}"),
    }
}

/// Rational layers convert exactly: the channel's α̃ and the realisation's equal the
/// implicit attention A as rationals, and A has the entries of the closed form.
#[test]
fn convert_from_rational_layers_is_exact() {
    // GLA, B = 1, T = 3, H = 1, K = 1, V = 1 (time-major); scale 1, gates given as values
    let gla = json!({"kind": "gla", "params": {"scale": "1"}, "inputs": {
        "q": {"shape": [1, 3, 1, 1], "data": ["1", "2", "-1/3"]},
        "k": {"shape": [1, 3, 1, 1], "data": ["1/2", "3", "5"]},
        "v": {"shape": [1, 3, 1, 1], "data": [1, 1, 1]},
        "gates": {"shape": [1, 3, 1, 1], "data": ["7", "1/3", "2/5"]}}});
    // RWKV-6, B = 1, H = 1, T = 3, K = 2 (head-major), default scale 2^(-1/2)·… refused,
    // so scale given; one decay entry 0 at the last step (never divided by)
    let rwkv = json!({"inputs": {
        "q": {"shape": [1, 1, 3, 2], "data": ["1", "2", "1/2", "-1", "3", "1"]},
        "k": {"shape": [1, 1, 3, 2], "data": ["2", "1", "1/3", "1", "-2", "4"]},
        "v": {"shape": [1, 1, 3, 1], "data": ["1", "1", "1"]},
        "gates": {"shape": [1, 1, 3, 2], "data": ["1/2", "3", "1/5", "2/3", "0", "1"]},
        "u": {"shape": [1, 2], "data": ["3/2", "-1"]}}, "params": {"scale": "1/2"}});
    for (member, layer) in [("gla", &gla), ("rwkv6", &rwkv)] {
        let file = write_tmp(&format!("{member}.json"), layer);
        let run = |to: &str| -> Value {
            let (code, out, err) = hattn(&["convert", "--from", member, "--to", to, &file]);
            assert_eq!(code, 0, "{member} --to {to}: {err}");
            let v: Value = serde_json::from_str(&out).unwrap();
            assert_eq!(v["objects"].as_array().unwrap().len(), 1);
            v["objects"][0]["document"].clone()
        };
        let a = exact_matrix(&run("matrix"));
        let channel = run("channel");
        assert_eq!(exact_matrix(&channel), a, "{member}: channel α̃ ≠ A");
        let real = run("realisation");
        assert_eq!(real["kind"], "sss_channel");
        assert_eq!(exact_matrix(&real), a, "{member}: realisation α̃ ≠ A");
        let r = |s: &str| hidden_attention::scalar::parse_exact(s).unwrap();
        if member == "gla" {
            // A[2][0] = q_2 g_2 g_1 k_0 = (-1/3)(2/5)(1/3)(1/2); A[1][1] = q_1 k_1 = 6
            assert_eq!(*a.get(2, 0), r("-1/45"));
            assert_eq!(*a.get(1, 1), r("6"));
            assert_eq!(channel["state"], 1);
        } else {
            // A[2][0] = (1/2)(q_2 ⊙ w_1 ⊙ k_0) = (1/2)(3·(1/5)·2 + 1·(2/3)·1) = 14/15;
            // A[1][1] = (1/2) q_1·(u ⊙ k_1) = (1/2)((1/2)(3/2)(1/3) + (-1)(-1)(1)) = 5/8
            assert_eq!(*a.get(2, 0), r("14/15"));
            assert_eq!(*a.get(1, 1), r("5/8"));
            assert_eq!(channel["state"], 4);
        }
    }
}

/// Bad input exits 2 naming the one wrong thing.
#[test]
fn convert_from_bad_layers_exit_2_naming_the_field() {
    let gla_file = data("golden/family/gla_s7_b1_h2_l9_k4_v3.json");
    let case: Value = serde_json::from_str(&std::fs::read_to_string(&gla_file).unwrap()).unwrap();
    let (code, _, err) = hattn(&["convert", "--from", "mamba", "--to", "matrix", &gla_file]);
    assert_eq!(code, 2);
    assert!(err.contains("--from") && err.contains("\"mamba\""), "{err}");
    let (code, _, err) = hattn(&["convert", "--from", "hgrn", "--to", "matrix", &gla_file]);
    assert_eq!(code, 2);
    assert!(err.contains("`kind`") && err.contains("\"gla\""), "{err}");
    let edit = |f: &dyn Fn(&mut Value)| {
        let mut c = case.clone();
        f(&mut c);
        c
    };
    let exact = json!({"inputs": {
        "q": {"shape": [1, 1, 1, 1], "data": ["1"]}, "k": {"shape": [1, 1, 1, 1], "data": ["1"]},
        "v": {"shape": [1, 1, 1, 1], "data": ["1"]}, "gates": {"shape": [1, 1, 1, 1], "data": ["1/2"]}}});
    let exact_edit = |f: &dyn Fn(&mut Value)| {
        let mut c = exact.clone();
        f(&mut c);
        c
    };
    let bad: Vec<(&str, Value, &str)> = vec![
        (
            "missing",
            edit(&|c| {
                c["inputs"].as_object_mut().unwrap().remove("v");
            }),
            "`inputs.v`",
        ),
        (
            "shape",
            edit(&|c| c["inputs"]["k"]["shape"] = json!([1, 9, 2, 2])),
            "`inputs.k.data`",
        ),
        (
            "shape2",
            edit(&|c| {
                c["inputs"]["k"]["shape"] = json!([1, 9, 4, 2]);
            }),
            "`inputs.k`",
        ),
        (
            "param",
            edit(&|c| c["params"]["chunk"] = json!(4)),
            "`params.chunk`",
        ),
        (
            "nonrational",
            exact_edit(&|c| c["inputs"]["q"]["data"][0] = json!("1/x")),
            "`inputs.q.data[0]`",
        ),
        (
            "zero",
            exact_edit(&|c| c["inputs"]["k"]["data"][0] = json!("1/0")),
            "`inputs.k.data[0]`",
        ),
        (
            "float",
            exact_edit(&|c| c["inputs"]["v"]["data"][0] = json!(0.5)),
            "`inputs.v.data[0]`",
        ),
        (
            "loggate",
            exact_edit(&|c| {
                let g = c["inputs"]["gates"].clone();
                c["inputs"]["gk"] = g;
            }),
            "`inputs.gk`",
        ),
        (
            "scale",
            exact_edit(&|c| {
                for n in ["q", "k"] {
                    c["inputs"][n] = json!({"shape": [1, 1, 1, 2], "data": ["1", "1"]});
                }
                c["inputs"]["gates"] = json!({"shape": [1, 1, 1, 2], "data": ["1", "1"]});
            }),
            "`params.scale`",
        ),
    ];
    for (what, layer, field) in bad {
        let file = write_tmp(&format!("bad-{what}.json"), &layer);
        let (code, out, err) = hattn(&["convert", "--from", "gla", "--to", "matrix", &file]);
        assert_eq!(code, 2, "{what}: {out}");
        assert!(err.contains(field), "{what}: expected {field} in {err}");
    }
}

/// `hattn family-attn` writes a PNG heatmap of one head, an SVG grid and the `.npy`, and
/// refuses a head out of range by name.
#[test]
fn family_attn_writes_heatmaps() {
    let file = data("golden/family/rwkv6_s7_b1_h2_l9_k4_v3.json");
    let dir = std::env::temp_dir().join(format!("hattn-family-attn-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (png, svg, npy) = (dir.join("a.png"), dir.join("g.svg"), dir.join("a.npy"));
    let p = |x: &PathBuf| x.to_string_lossy().into_owned();
    let (code, out, err) = hattn(&[
        "family-attn",
        "--from",
        "rwkv6",
        &file,
        "--head",
        "1",
        "--out",
        &p(&png),
        "--npy",
        &p(&npy),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(std::fs::read(&png)
        .unwrap()
        .starts_with(b"\x89PNG\r\n\x1a\n"));
    let npy_bytes = std::fs::read(&npy).unwrap();
    assert!(npy_bytes.starts_with(b"\x93NUMPY"));
    assert!(String::from_utf8_lossy(&npy_bytes[..128]).contains("(9, 9)"));
    let (code, _, err) = hattn(&["family-attn", "--from", "rwkv6", &file, "--out", &p(&svg)]);
    assert_eq!(code, 0, "{err}");
    assert!(std::fs::read_to_string(&svg).unwrap().contains("<svg"));
    let (code, _, err) = hattn(&[
        "family-attn",
        "--from",
        "rwkv6",
        &file,
        "--head",
        "2",
        "--out",
        &p(&png),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("`head`"), "{err}");
}

//! `hattn check --case FILE.json`: every applicable theorem check on one case, with the
//! reproducers in `tests/data/cases/`.

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

fn case(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/cases")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// The table rows (the lines between the header and the legend).
fn table(out: &str) -> Vec<&str> {
    out.lines()
        .skip_while(|l| !l.starts_with("row "))
        .skip(1)
        .take_while(|l| l.starts_with('T'))
        .collect()
}

/// `hattn check --case FILE` exits 0 with a table whose every row passes, and has the
/// rows `(name, tier)`.
fn assert_passes(file: &str, rows: &[(&str, &str)]) {
    let (code, out, err) = hattn(&["check", "--case", &case(file)]);
    assert_eq!(code, 0, "{file}:\n{out}{err}");
    assert!(out.contains("all checks passed"), "{out}");
    let t = table(&out);
    assert_eq!(t.len(), rows.len(), "{out}");
    for l in &t {
        assert!(l.contains(" PASS "), "{l}");
        assert!(l.contains("     1       1  PASS"), "one case, passed: {l}");
    }
    for (name, tier) in rows {
        assert!(
            t.iter()
                .any(|l| l.starts_with(&format!("{name:<12} {tier:<6}"))),
            "missing row {name} {tier}:\n{out}"
        );
    }
}

/// The float rows and then the exact rows on the lifted case.
fn float_rows(tier: &'static str) -> Vec<(&'static str, &'static str)> {
    let mut r = vec![("T1", tier), ("T2a/b", tier), ("T4", tier)];
    r.extend(EXACT_ROWS);
    r
}

const EXACT_ROWS: [(&str, &str); 6] = [
    ("T1", "exact"),
    ("T2a/b", "exact"),
    ("T3", "exact"),
    ("T4", "exact"),
    ("T5", "exact"),
    ("T6a", "exact"),
];

/// The file's channel entries and input, read back as JSON numbers.
fn values(file: &str) -> (f64, f64, f64, f64) {
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(case(file)).unwrap()).unwrap();
    let n = |p: &str| v.pointer(p).and_then(serde_json::Value::as_f64).unwrap();
    (n("/a_bar/0/0"), n("/b_bar/0/0"), n("/c/0/0"), n("/x/0"))
}

/// $2^e$ and $1.5 \cdot 2^e$ for a normal exponent, built from bits.
fn pow2(e: i64) -> (f64, f64) {
    let bits = ((1023 + e) as u64) << 52;
    (f64::from_bits(bits), f64::from_bits(bits | 1 << 51))
}

/// f64, L = N = 1, Ā = 1, B̄ = 1.5·2⁻⁵³⁷, C = 2, x = 2⁻⁵³⁷: the product B̄x = 1.5·2⁻¹⁰⁷⁴
/// rounds to the subnormal 2⁻¹⁰⁷³; the float output is within the bound with underflow.
#[test]
fn t1_subnormal_f64() {
    let (two_e, b) = pow2(-537);
    assert_eq!(values("t1-subnormal-f64.json"), (1.0, b, 2.0, two_e));
    assert_passes("t1-subnormal-f64.json", &float_rows("f64"));
}

/// The same with C = 2¹⁰⁰: the underflow error is amplified by C.
#[test]
fn t1_subnormal_big_c_f64() {
    let (two_e, b) = pow2(-537);
    let (c, _) = pow2(100);
    assert_eq!(values("t1-subnormal-big-c-f64.json"), (1.0, b, c, two_e));
    assert_passes("t1-subnormal-big-c-f64.json", &float_rows("f64"));
}

/// f32, Ā = 1, B̄ = 1.5·2⁻⁷⁵, C = 2, x = 2⁻⁷⁵: B̄x = 1.5·2⁻¹⁵⁰ rounds to the f32
/// subnormal 2⁻¹⁴⁹.
#[test]
fn t1_subnormal_f32() {
    let (two_e, b) = pow2(-75);
    assert_eq!(values("t1-subnormal-f32.json"), (1.0, b, 2.0, two_e));
    assert_eq!((b as f32) as f64, b);
    assert_passes("t1-subnormal-f32.json", &float_rows("f32"));
}

/// A rational case runs the exact checks only.
#[test]
fn rational_case_runs_the_exact_checks() {
    assert_passes("rational-l3-n2.json", &EXACT_ROWS);
    // theorem selection works as for drawn cases
    let (code, out, err) = hattn(&["check", "--case", &case("rational-l3-n2.json"), "T4"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(table(&out).len(), 1, "{out}");
}

/// A float case whose float scan overflows cannot be checked: a counterexample, a FAIL
/// row and exit 1.
#[test]
fn overflowing_case_fails_with_exit_1() {
    let dir = std::env::temp_dir().join(format!("hattn-case-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("overflow.json");
    std::fs::write(
        &f,
        r#"{"kind": "s6_channel", "field": "f64", "len": 2, "state": 1,
            "a_bar": [[1e300], [1e300]], "b_bar": [[1e300], [1e300]], "c": [[1.0], [1.0]],
            "x": [1.0, 1.0]}"#,
    )
    .unwrap();
    let (code, out, err) = hattn(&["check", "--case", f.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(table(&out).iter().any(|l| l.contains(" FAIL ")), "{out}");
    assert!(err.contains("T1 (f64) fails"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

/// A bad case file: exit 2, and the message names the file and the field.
#[test]
fn bad_case_files_exit_2_naming_file_and_field() {
    let dir = std::env::temp_dir().join(format!("hattn-badcase-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let channel = |field: &str, b: &str, x: &str| {
        format!(
            r#"{{"kind": "s6_channel", "field": "{field}", "len": 2, "state": 1,
                "a_bar": [[1], [1]], "b_bar": [[1], [{b}]], "c": [[1], [1]]{x}}}"#
        )
    };
    for (name, text, field) in [
        ("no-x.json", channel("rational", "1", ""), "`x`"),
        (
            "short-x.json",
            channel("rational", "1", r#", "x": ["1"]"#),
            "`x`",
        ),
        (
            "zero-den.json",
            channel("rational", "1", r#", "x": ["1", "1/0"]"#),
            "`x[1]`",
        ),
        (
            "float-x.json",
            channel("f64", "1", r#", "x": [1, "1"]"#),
            "`x[1]`",
        ),
        (
            "not-f32.json",
            channel("f32", "0.1", r#", "x": [1, 1]"#),
            "`b_bar[1][0]`",
        ),
        (
            "bad-entry.json",
            channel("rational", "\"1/0\"", r#", "x": [1, 1]"#),
            "`b_bar[1][0]`",
        ),
        (
            "matrix.json",
            r#"{"kind": "matrix", "field": "rational", "rows": 1, "data": [["1"]], "x": [1]}"#
                .to_string(),
            "`kind`",
        ),
        ("broken.json", "{".to_string(), "`$`"),
    ] {
        let f = dir.join(name);
        std::fs::write(&f, text).unwrap();
        let (code, out, err) = hattn(&["check", "--case", f.to_str().unwrap()]);
        assert_eq!(code, 2, "{name}: {out}{err}");
        assert!(
            err.contains(name) && err.contains(field),
            "{name}: expected the file and {field} in {err}"
        );
    }
    let (code, _, err) = hattn(&[
        "check",
        "--case",
        dir.join("missing.json").to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("missing.json"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

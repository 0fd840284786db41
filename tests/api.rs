//! The public API as a downstream crate meets it: one `use` without a trap, deprecated
//! old names that still agree, legible shrunk cases, heads that agree in fallibility,
//! and a user's own conjectures whose reports reproduce and replay through their own
//! program (the example `conjectures`).

use std::path::{Path, PathBuf};

// The import that used to break every later `hidden_attention::…` path: the crate, a
// module and the flagship function all shared one name.
use hidden_attention::{
    ssm::{self, attention_matrix, scan, Channel},
    strategies,
};
use proptest::prelude::*;

fn r(p: i64, q: i64) -> hidden_attention::scalar::Exact {
    hidden_attention::scalar::ratio(p, q)
}

fn channel() -> Channel<hidden_attention::scalar::Exact> {
    Channel::new(
        2,
        1,
        vec![r(1, 2), r(0, 1)],
        vec![r(-1, 1), r(3, 4)],
        vec![r(2, 1), r(-5, 3)],
    )
    .unwrap()
}

#[test]
fn one_use_then_crate_paths_still_resolve() {
    let ch = channel();
    let x = vec![r(1, 1), r(-2, 1)];
    // `hidden_attention::` after the `use` above still names the crate.
    let y = hidden_attention::ssm::scan(&ch, &x).unwrap().y;
    assert_eq!(attention_matrix(&ch).unwrap().mul_vec(&x).unwrap(), y);
    assert_eq!(scan(&ch, &x).unwrap().y, y);
    let _: fn(_, _) -> _ = strategies::rational_channel;
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    #[test]
    fn strategies_and_ssm_in_one_suite(ch in strategies::rational_channel(1..=4, 1..=3)) {
        prop_assert!((1..=4).contains(&ch.len()) && (1..=3).contains(&ch.state()));
        let a = ssm::attention_matrix(&ch).unwrap();
        prop_assert_eq!(a.rows(), ch.len());
    }
}

#[test]
#[allow(deprecated)]
fn deprecated_old_names_agree_with_the_new_ones() {
    let ch = channel();
    let new = attention_matrix(&ch).unwrap();
    assert_eq!(ssm::hidden_attention(&ch).unwrap(), new);
}

/// The deprecated function is no trap: imported by name or by glob, it lives in the value
/// namespace and `hidden_attention::…` paths still name the crate.
#[allow(deprecated)]
mod old_name_imported {
    mod by_name {
        use hidden_attention::ssm::hidden_attention;
        #[test]
        fn crate_paths_still_resolve() {
            let ch = super::super::channel();
            let a = hidden_attention(&ch).unwrap();
            assert_eq!(a, hidden_attention::ssm::attention_matrix(&ch).unwrap());
        }
    }
    mod by_glob {
        use hidden_attention::ssm::*;
        #[test]
        fn crate_paths_still_resolve() {
            let ch = super::super::channel();
            assert_eq!(
                hidden_attention(&ch).unwrap(),
                hidden_attention::ssm::attention_matrix(&ch).unwrap()
            );
            let _: Channel<f64> =
                hidden_attention::ssm::Channel::new(1, 1, vec![0.5], vec![1.0], vec![1.0]).unwrap();
        }
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Every public item named `hidden_attention` in `src/` is a deprecated function (the old
/// names kept for one release, harmless in the value namespace); no module, type or trait
/// — the names that shadow `hidden_attention::…` paths — and nothing new.
#[test]
fn no_public_item_is_named_like_the_crate() {
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    let kinds = [
        "fn", "mod", "struct", "enum", "trait", "type", "const", "static",
    ];
    let mut named = 0;
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let t = line.trim_start();
            let Some(rest) = t.strip_prefix("pub ") else {
                continue;
            };
            let is_named = kinds.iter().any(|k| {
                rest.strip_prefix(k)
                    .and_then(|r| r.strip_prefix(' '))
                    .is_some_and(|r| {
                        r.starts_with("hidden_attention")
                            && !r["hidden_attention".len()..]
                                .starts_with(|c: char| c.is_alphanumeric() || c == '_')
                    })
            });
            if !is_named {
                continue;
            }
            named += 1;
            assert!(
                rest.starts_with("fn "),
                "{}:{}: a public non-function named like the crate shadows its paths: {line}",
                f.display(),
                i + 1
            );
            // The attribute block right above the item must hold `#[deprecated`.
            let above = lines[..i]
                .iter()
                .rev()
                .take_while(|l| {
                    let l = l.trim_start();
                    l.starts_with("#[")
                        || l.starts_with("///")
                        || l.starts_with(')')
                        || l.starts_with("since")
                        || l.starts_with("note")
                        || l.is_empty()
                })
                .any(|l| l.trim_start().starts_with("#[deprecated"));
            assert!(
                above,
                "{}:{}: a public item named like the crate: {line}",
                f.display(),
                i + 1
            );
        }
    }
    // The two deprecated functions (a third would need a reason).
    assert_eq!(
        named, 2,
        "deprecated aliases: ssm::hidden_attention, Gpu::hidden_attention"
    );
}

#[test]
fn shrunk_cases_print_rationals_as_they_read() {
    let s = format!("{:?}", channel());
    assert!(s.contains("[[1/2], [0]]"), "{s}");
    assert!(
        s.contains("3/4") && s.contains("-5/3") && s.contains("-1"),
        "{s}"
    );
    assert!(!s.contains("Ratio") && !s.contains("numer"), "{s}");
    let m = attention_matrix(&channel()).unwrap();
    let s = format!("{m:?}");
    assert!(
        s.starts_with("Matrix 2×2 [[") && !s.contains("Ratio"),
        "{s}"
    );
}

#[test]
fn linear_and_gated_heads_agree_in_fallibility() {
    use hidden_attention::attention::{GatedLinearHead, LinearHead};
    use hidden_attention::tensor::Matrix;
    let big = Matrix::from_row_major(2, 1, vec![1e200, 1e200]).unwrap();
    let lin = LinearHead::new(big.clone(), big.clone()).unwrap();
    let gated = GatedLinearHead::new(
        big.clone(),
        big,
        Matrix::from_row_major(2, 1, vec![1.0, 1.0]).unwrap(),
    )
    .unwrap();
    // Both overflow to ∞ and both say so, by the same error.
    let (a, b) = (lin.attention().unwrap_err(), gated.attention().unwrap_err());
    assert!(
        matches!(a, hidden_attention::Error::NonFiniteResult { .. }),
        "{a}"
    );
    assert!(
        matches!(b, hidden_attention::Error::NonFiniteResult { .. }),
        "{b}"
    );
}

/// The example program `conjectures` (its `main` is `cli::run` over this conjecture).
#[allow(dead_code)]
#[path = "../examples/conjectures.rs"]
mod conjectures;

fn program(args: &[&str]) -> u8 {
    hidden_attention::refute::cli::status(
        &[&conjectures::NonnegativeDiagonal],
        args.iter().map(|s| s.to_string()),
    )
}

#[test]
fn a_users_conjecture_reproduces_and_replays_through_its_own_program() {
    use hidden_attention::refute::{cli::exit, replay_any, ReplayError};
    let dir = std::env::temp_dir().join(format!("hattn-api-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = dir.join("r");
    let code = program(&[
        "refute",
        "nonnegative-diagonal",
        "--len",
        "3",
        "--state",
        "2",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, exit::PROOF);
    // The report's Reproduce section names the user's program, and the Search line only
    // the parameters this conjecture uses.
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    let json = std::fs::read_to_string(out.join("report.json")).unwrap();
    assert!(md.contains("cargo run --example conjectures -- refute nonnegative-diagonal --len 3 --state 2 --cases 256 --seed 0"), "{md}");
    assert!(
        md.contains("cargo run --example conjectures -- replay report.json"),
        "{md}"
    );
    let search = md.lines().find(|l| l.starts_with("**Search.**")).unwrap();
    assert!(
        search.contains("L ≤ 3") && search.contains("N = 2"),
        "{search}"
    );
    assert!(
        !search.contains("dtype") && !search.contains("ε") && !search.contains("Δ"),
        "{search}"
    );
    // The command it names works: the same search from the recorded command's arguments
    // writes the same report.
    let report = hidden_attention::report::Report::load(&out.join("report.json")).unwrap();
    let again = dir.join("again");
    let mut args: Vec<&str> = report
        .command
        .strip_prefix("cargo run --example conjectures -- ")
        .unwrap()
        .split_whitespace()
        .collect();
    args.extend(["--out", again.to_str().unwrap()]);
    assert_eq!(program(&args), exit::PROOF);
    assert_eq!(
        std::fs::read_to_string(again.join("report.json")).unwrap(),
        json
    );
    // Replay: the certificate holds (0); an edited number is rejected (1) naming the
    // field; a report of a conjecture the program does not know is its own code (4);
    // an unreadable one is 2.
    let file = out.join("report.json");
    assert_eq!(program(&["replay", file.to_str().unwrap()]), exit::PROOF);
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v["certificate"]["value"] = serde_json::json!("-9");
    let edited = dir.join("edited.json");
    std::fs::write(&edited, v.to_string()).unwrap();
    assert_eq!(
        program(&["replay", edited.to_str().unwrap()]),
        exit::NOT_FOUND_OR_REJECTED
    );
    let err = replay_any(
        &[&conjectures::NonnegativeDiagonal],
        &hidden_attention::report::Report::load(&edited).unwrap(),
    )
    .unwrap_err();
    assert_eq!(err.field().as_deref(), Some("certificate.value"), "{err}");
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v["conjecture"]["id"] = serde_json::json!("softmax-in-channel");
    let other = dir.join("other.json");
    std::fs::write(&other, v.to_string()).unwrap();
    assert_eq!(
        program(&["replay", other.to_str().unwrap()]),
        exit::UNKNOWN_CONJECTURE
    );
    assert!(matches!(
        replay_any(
            &[&conjectures::NonnegativeDiagonal],
            &hidden_attention::report::Report::load(&other).unwrap()
        ),
        Err(ReplayError::UnknownConjecture(id)) if id == "softmax-in-channel"
    ));
    let missing = dir.join("missing.json");
    assert_eq!(
        program(&["replay", missing.to_str().unwrap()]),
        exit::BAD_INPUT
    );
    // Bad options and an unknown id exit 2.
    let x = dir.join("x");
    let x = x.to_str().unwrap();
    assert_eq!(
        program(&[
            "refute",
            "nonnegative-diagonal",
            "--dtype",
            "f16",
            "--out",
            x
        ]),
        exit::BAD_INPUT
    );
    assert_eq!(
        program(&["refute", "nonnegative-diagonal", "--len", "0", "--out", x]),
        exit::BAD_INPUT
    );
    assert_eq!(program(&["refute", "no-such", "--out", x]), exit::BAD_INPUT);
    assert!(!Path::new(x).exists(), "nothing is written on bad input");
    let _ = std::fs::remove_dir_all(&dir);
}

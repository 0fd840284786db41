//! Conjecture refutation: counterexamples found where they must exist, certificates that
//! replay, tampered and malformed reports rejected with the part named.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use hidden_attention::refute::{replay_builtin, search_builtin, Params};
use hidden_attention::report::Report;

fn run(id: &str, p: &Params) -> Report {
    search_builtin(id, p, &AtomicBool::new(false), || {}).unwrap()
}

#[test]
fn channel_in_softmax_is_always_refuted_and_replays() {
    for seed in 0..4 {
        let p = Params {
            len: 4,
            state: 2,
            seed,
            ..Params::default()
        };
        let r = run("channel-in-softmax", &p);
        assert_eq!(r.outcome, "counterexample");
        let why = replay_builtin(&r).unwrap();
        assert!(why.contains("T6a"), "{why}");
        // Shrinking reaches a minimal case: one step, one state.
        assert_eq!(
            r.counterexample.as_ref().unwrap()["len"],
            1,
            "{:?}",
            r.counterexample
        );
        // Lossless round trip through JSON.
        let text = serde_json::to_string(&r).unwrap();
        assert_eq!(Report::from_json(Path::new("r.json"), &text).unwrap(), r);
        assert!(r.to_markdown().contains("## Certificate"));
    }
}

#[test]
fn factored_float_breaks_in_f32_and_replays() {
    let p = Params {
        len: 12,
        state: 2,
        eps: 1e-3,
        cases: 64,
        dtype: "f32".into(),
        ..Params::default()
    };
    let r = run("factored-float", &p);
    assert_eq!(r.outcome, "counterexample", "{r:?}");
    assert!(replay_builtin(&r).is_ok(), "{:?}", replay_builtin(&r));
    assert!(r.measured["break_length"] >= 1.0);
}

#[test]
fn factored_float_holds_for_short_f64_sequences() {
    // Two steps in f64: P stays normal, the factored form is accurate to a few ulps.
    let p = Params {
        len: 2,
        state: 2,
        eps: 1e-12,
        cases: 64,
        ..Params::default()
    };
    let r = run("factored-float", &p);
    assert_eq!(r.outcome, "none_found");
    assert!(replay_builtin(&r).is_err());
}

#[test]
fn tampered_reports_are_rejected_naming_the_part() {
    let p = Params {
        len: 3,
        state: 1,
        seed: 5,
        ..Params::default()
    };
    let r = run("channel-in-softmax", &p);
    let mut v = serde_json::to_value(&r).unwrap();
    // Change an entry of the counterexample: the recomputed α̃ no longer matches.
    v["counterexample"]["b_bar"][0][0] = serde_json::json!("7/3");
    v["counterexample"]["c"][0][0] = serde_json::json!("5");
    let t: Report = serde_json::from_value(v.clone()).unwrap();
    let err = replay_builtin(&t).unwrap_err();
    assert!(err.contains("certificate"), "{err}");
    // Change the certificate's kind.
    let mut w = serde_json::to_value(&r).unwrap();
    w["certificate"]["kind"] = serde_json::json!("rank");
    let err = replay_builtin(&serde_json::from_value(w).unwrap()).unwrap_err();
    assert!(err.contains("certificate.kind"), "{err}");
}

#[test]
fn malformed_report_json_names_the_field() {
    let p = Params::default();
    let r = run("channel-in-softmax", &p);
    let mut v = serde_json::to_value(&r).unwrap();
    v.as_object_mut().unwrap().remove("search");
    let e = Report::from_json(Path::new("r.json"), &v.to_string())
        .unwrap_err()
        .to_string();
    assert!(e.contains("search"), "{e}");
    let mut v = serde_json::to_value(&r).unwrap();
    v["conjecture"].as_object_mut().unwrap().remove("id");
    let e = Report::from_json(Path::new("r.json"), &v.to_string())
        .unwrap_err()
        .to_string();
    assert!(e.contains("conjecture.id"), "{e}");
    let mut v = serde_json::to_value(&r).unwrap();
    v["counterexample"]["a_bar"][0] = serde_json::json!(["1/0"]);
    let e = replay_builtin(&serde_json::from_value(v).unwrap()).unwrap_err();
    assert!(
        e.contains("counterexample") && e.contains("a_bar[0][0]"),
        "{e}"
    );
    assert!(Report::from_json(Path::new("r.json"), "{").is_err());
}

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

/// Search, check the outcome, and replay when a certificate is claimed.
fn refuted_and_replayed(id: &str, p: &Params) -> Report {
    let r = run(id, p);
    assert_eq!(r.outcome, "counterexample", "{id}: {r:?}");
    let why = replay_builtin(&r).unwrap_or_else(|e| panic!("{id}: replay failed: {e}"));
    assert_eq!(r.explanation.as_deref(), Some(&why[..]));
    let text = serde_json::to_string(&r).unwrap();
    let back = Report::from_json(Path::new("r.json"), &text).unwrap();
    assert_eq!(replay_builtin(&back).unwrap(), why);
    assert!(r.to_markdown().contains(&why));
    r
}

#[test]
fn softmax_in_channel_is_refuted_at_state_one_length_three() {
    let p = Params {
        len: 3,
        state: 1,
        ..Params::default()
    };
    let r = refuted_and_replayed("softmax-in-channel", &p);
    let cert = r.certificate.as_ref().unwrap();
    assert_eq!(cert["kind"], "determinant_interval");
    // A 2×2 minor certifies rank 2 > N = 1.
    assert_eq!(cert["rows"].as_array().unwrap().len(), 2);
    assert!(r.measured["determinant_lo"] > 0.0 || r.measured["determinant_hi"] < 0.0);
    // Tampering with the head changes the matrix: the interval no longer matches.
    let mut v = serde_json::to_value(&r).unwrap();
    v["counterexample"]["k"] = serde_json::json!([["0"], ["0"], ["0"]]);
    let err = replay_builtin(&serde_json::from_value(v).unwrap()).unwrap_err();
    assert!(err.contains("certificate"), "{err}");
}

#[test]
fn softmax_in_channel_holds_when_the_state_covers_the_length() {
    // N = L: every lower-triangular matrix is some channel's α̃ (T5), so no certificate.
    let p = Params {
        len: 3,
        state: 3,
        cases: 32,
        ..Params::default()
    };
    assert_eq!(run("softmax-in-channel", &p).outcome, "none_found");
}

#[test]
fn diagonal_realisation_holds_at_state_one() {
    let p = Params {
        len: 4,
        state: 1,
        cases: 64,
        ..Params::default()
    };
    let r = run("diagonal-realisation", &p);
    assert_eq!(r.outcome, "none_found", "{r:?}");
    assert_eq!(r.search.cases_tried, 64);
    let err = replay_builtin(&r).unwrap_err();
    assert!(err.contains("none_found"), "{err}");
}

#[test]
fn diagonal_realisation_misses_are_candidates_not_proofs() {
    let p = Params {
        len: 5,
        state: 2,
        ..Params::default()
    };
    let r = run("diagonal-realisation", &p);
    // Whatever was found at N = 2 is not certified: a failed construction is no proof.
    assert_ne!(r.outcome, "counterexample", "{r:?}");
    if r.outcome == "unproven_candidate" {
        assert!(replay_builtin(&r).is_err());
        assert!(r.explanation.as_deref().unwrap().starts_with("unproven"));
    }
}

#[test]
fn paper_approx_is_refuted_and_replays() {
    let p = Params {
        len: 4,
        state: 2,
        eps: 1e-3,
        ..Params::default()
    };
    let r = refuted_and_replayed("paper-approx", &p);
    assert!(r.measured.values().any(|&v| v > 1e-3), "{:?}", r.measured);
}

#[test]
fn mamba_strict_is_refuted_at_large_step_and_holds_at_tiny_step() {
    let mut p = Params {
        len: 4,
        state: 2,
        eps: 1e-3,
        delta: 0.5,
        ..Params::default()
    };
    let r = refuted_and_replayed("mamba-strict-linear-attention", &p);
    // The measured gap is within the proven T3 bound and above ε.
    assert!(r.measured["gap"] > 1e-3 && r.measured["gap"] <= r.measured["t3_bound"]);
    p.delta = 1e-7;
    p.cases = 64;
    assert_eq!(
        run("mamba-strict-linear-attention", &p).outcome,
        "none_found"
    );
}

#[test]
fn non_finite_measurements_survive_the_round_trip() {
    let p = Params {
        len: 40,
        state: 2,
        eps: 1e-3,
        cases: 64,
        dtype: "f32".into(),
        ..Params::default()
    };
    let r = run("factored-float", &p);
    let text = serde_json::to_string(&r).unwrap();
    let back = Report::from_json(Path::new("r.json"), &text).unwrap();
    for (k, v) in &r.measured {
        let w = back.measured[k];
        assert!(v == &w || (v.is_nan() && w.is_nan()), "{k}: {v} vs {w}");
    }
    // A wrongly typed field is named.
    let mut v = serde_json::to_value(&r).unwrap();
    v["search"]["eps"] = serde_json::json!("small");
    let e = Report::from_json(Path::new("r.json"), &v.to_string())
        .unwrap_err()
        .to_string();
    assert!(e.contains("search.eps"), "{e}");
    v["search"]["eps"] = serde_json::json!(1e-3);
    v["outcome"] = serde_json::json!("proved");
    let e = Report::from_json(Path::new("r.json"), &v.to_string())
        .unwrap_err()
        .to_string();
    assert!(e.contains("outcome"), "{e}");
}

#[test]
fn suite_failure_reports_replay_only_if_the_case_still_fails() {
    use hidden_attention::refute::theorem_check;
    use hidden_attention::scalar::ratio;
    use hidden_attention::ssm::Channel;
    use hidden_attention::theorems::Counterexample;
    // A forged T1 failure: the recorded case satisfies T1, so replay must reject it.
    let ch = Channel::new(
        2,
        1,
        vec![ratio(1, 2), ratio(1, 4)],
        vec![ratio(1, 1), ratio(2, 1)],
        vec![ratio(3, 1), ratio(-1, 1)],
    )
    .unwrap();
    let forged = Counterexample {
        theorem: "T1",
        tier: "exact",
        what: "scan y[1] != (α̃ x)[1]".into(),
        channel: ch,
        input: vec![ratio(1, 1), ratio(-3, 8)],
    };
    let r = theorem_check::report(&forged, "T1 statement", 10, 7);
    assert_eq!(r.conjecture.id, "check:T1");
    assert!(r.command.contains("hattn check T1 --cases 10 --seed 7"));
    let text = serde_json::to_string(&r).unwrap();
    let back = Report::from_json(Path::new("r.json"), &text).unwrap();
    assert_eq!(back, r);
    let err = replay_builtin(&back).unwrap_err();
    assert!(err.contains("holds on the recorded case"), "{err}");
    // The same for the f64 tier (the entries are f64 values).
    let mut f = forged.clone();
    f.tier = "f64";
    let err = replay_builtin(&theorem_check::report(&f, "T1", 10, 7)).unwrap_err();
    assert!(err.contains("holds on the recorded case"), "{err}");
    // Entries that are not values of the recorded tier are named.
    let mut g = forged.clone();
    g.input[1] = ratio(-2, 5);
    g.tier = "f32";
    let err = replay_builtin(&theorem_check::report(&g, "T1", 10, 7)).unwrap_err();
    assert!(err.contains("not a f32 value"), "{err}");
    // Malformed input is named.
    let mut v = serde_json::to_value(&r).unwrap();
    v["counterexample"]["input"][1] = serde_json::json!("x");
    let err = replay_builtin(&serde_json::from_value(v).unwrap()).unwrap_err();
    assert!(err.contains("counterexample.input[1]"), "{err}");
}

//! Conjecture refutation: counterexamples found where they must exist, certificates that
//! are proofs and replay, every edited field of a report rejected with the field named.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use hidden_attention::refute::factored_float::FactoredFloat;
use hidden_attention::refute::{replay, replay_builtin, search, search_builtin};
use hidden_attention::refute::{Conjecture, Params, Refutation, ReplayError, Strength};
use hidden_attention::report::{Outcome, Report};
use hidden_attention::scalar::{parse_exact, Exact, Field};
use hidden_attention::ssm::Channel;
use proptest::strategy::{BoxedStrategy, Just, Strategy};
use serde_json::{json, Value};

fn run(id: &str, p: &Params) -> Report {
    search_builtin(id, p, &AtomicBool::new(false), || {}).unwrap()
}

fn exact(v: &Value) -> Exact {
    parse_exact(v.as_str().unwrap()).unwrap()
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
        assert_eq!(r.outcome, Outcome::Counterexample);
        let why = replay_builtin(&r).unwrap().why;
        assert!(why.contains("T6a"), "{why}");
        // Shrinking reaches a minimal case: one step, one state.
        assert_eq!(r.counterexample.as_ref().unwrap()["len"], 1);
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
        dtype: hidden_attention::refute::Dtype::F32,
        ..Params::default()
    };
    let r = run("factored-float", &p);
    assert_eq!(r.outcome, Outcome::Counterexample, "{r:?}");
    assert_eq!(replay_builtin(&r).unwrap().outcome, Outcome::Counterexample);
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
    assert_eq!(r.outcome, Outcome::NoneFound);
    assert_eq!(
        replay_builtin(&r).unwrap_err(),
        ReplayError::NoCertificate(Outcome::NoneFound)
    );
}

/// A built-in conjecture restricted to one case, so that a chosen case goes through the
/// search (and gets a report) under the built-in's id.
struct OneCase<'a, C: Conjecture>(&'a C, C::Case);

impl<C: Conjecture> Conjecture for OneCase<'_, C>
where
    C::Case: 'static,
{
    type Case = C::Case;
    fn id(&self) -> &'static str {
        self.0.id()
    }
    fn theorem(&self) -> &'static str {
        self.0.theorem()
    }
    fn statement(&self, p: &Params) -> String {
        self.0.statement(p)
    }
    fn strategy(&self, _: &Params) -> BoxedStrategy<Self::Case> {
        Just(self.1.clone()).boxed()
    }
    fn case_json(&self, case: &Self::Case, p: &Params) -> (Value, Value) {
        self.0.case_json(case, p)
    }
    fn parse_case(&self, case: &Value, p: &Params) -> Result<Self::Case, String> {
        self.0.parse_case(case, p)
    }
    fn check(&self, case: &Self::Case, p: &Params) -> Result<(), Refutation> {
        self.0.check(case, p)
    }
    fn verify(&self, case: &Value, cert: &Value, p: &Params) -> Result<String, String> {
        self.0.verify(case, cert, p)
    }
}

/// Issue reproducer (moved one step on, since P_t = ∏_{k=1}^{t} Ā_k leaves out Ā_0):
/// L = 2, N = 1, Ā_1 = 1e-30, B̄ = (0, 1), C = (1, 1e-300). P_1 = 1e-30 is normal, but
/// Q_1 = C_1·P_1 = 1e-330 underflows to 0, so the naive entry (1, 1) is 0 while
/// α̃ = 1e-300: relative error 1. A zero Q from a nonzero C must not count as "normal".
#[test]
fn factored_float_compares_a_row_whose_query_underflows_to_zero() {
    let ch = Channel::new(2, 1, vec![1.0f64, 1e-30], vec![0.0, 1.0], vec![1.0, 1e-300]).unwrap();
    let case = (ch.clone(), ch.map(|&v| v as f32));
    let p = Params {
        len: 2,
        state: 1,
        eps: 1e-3,
        ..Params::default()
    };
    let r = FactoredFloat
        .check(&case, &p)
        .expect_err("the conjecture fails here");
    assert_eq!(r.strength, Strength::Proof);
    let cert = &r.certificate;
    assert_eq!(
        (cert["row"].as_u64(), cert["col"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(cert["float_value"].as_f64(), Some(0.0));
    assert_eq!(exact(&cert["exact_value"]), 1e-300f64.to_exact());
    assert_eq!(r.measured["relative_error"], 1.0);
    // Through the search and replay: a report, and a proof that re-verifies.
    let report = search(&OneCase(&FactoredFloat, case), &p);
    assert_eq!(report.outcome, Outcome::Counterexample);
    let back = replay(&FactoredFloat, &report).unwrap();
    assert_eq!(back.outcome, Outcome::Counterexample);
    assert!(back.why.contains("relative error 1e0"), "{}", back.why);
}

/// Every numeric leaf of a JSON tree (numbers and `"p/q"` strings), with its path.
fn numeric_leaves(v: &Value, path: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(o) => {
            for (k, x) in o {
                numeric_leaves(x, &format!("{path}.{k}"), out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                numeric_leaves(x, &format!("{path}[{i}]"), out);
            }
        }
        Value::Number(_) => out.push(path.to_string()),
        Value::String(s) if parse_exact(s).is_some() => out.push(path.to_string()),
        _ => {}
    }
}

/// The JSON value at `a.b[1][2]`, mutably.
fn at<'a>(v: &'a mut Value, path: &str) -> &'a mut Value {
    let mut cur = v;
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (key, rest) = part.split_once('[').unwrap_or((part, ""));
        if !key.is_empty() {
            cur = cur.get_mut(key).unwrap();
        }
        for idx in rest.split('[').filter(|s| !s.is_empty()) {
            cur = cur
                .get_mut(idx.trim_end_matches(']').parse::<usize>().unwrap())
                .unwrap();
        }
    }
    cur
}

/// A different number of the same JSON kind.
fn edited(v: &Value) -> Value {
    match v {
        Value::Number(n) if n.is_u64() => json!(n.as_u64().unwrap().wrapping_add(1)),
        Value::Number(n) if n.is_i64() => json!(n.as_i64().unwrap() + 1),
        Value::Number(n) => {
            let x = n.as_f64().unwrap();
            json!(if x + 1.0 != x { x + 1.0 } else { x * 2.0 })
        }
        Value::String(s) if parse_exact(s).is_some() => {
            let x = parse_exact(s).unwrap();
            Value::String((x + Exact::from_integer(1.into())).to_string())
        }
        // ±∞ and NaN in `measured`.
        Value::String(s) if ["inf", "-inf", "nan"].contains(&&s[..]) => json!(1.0),
        Value::String(s) => panic!("not a number: {s}"),
        other => panic!("not numeric: {other}"),
    }
}

/// Edit every numeric field of the report in turn: replay must reject each, naming it,
/// with short numbers in the message.
fn assert_every_edit_is_rejected(r: &Report) {
    let v = serde_json::to_value(r).unwrap();
    let mut fields = Vec::new();
    for section in ["counterexample", "counterexample_float", "certificate"] {
        numeric_leaves(&v[section], section, &mut fields);
    }
    for f in ["len", "state", "eps", "delta", "seed", "cases_tried"] {
        fields.push(format!("search.{f}"));
    }
    // Measured names may contain brackets (`softmax[1][0]`): they are keys, not paths.
    fields.extend(r.measured.keys().map(|k| format!("measured.{k}")));
    assert!(fields.len() > 8, "{fields:?}");
    for field in fields {
        let mut w = v.clone();
        let x = match field.strip_prefix("measured.") {
            Some(k) => &mut w["measured"][k],
            None => at(&mut w, &field),
        };
        *x = edited(x);
        let Ok(t) = serde_json::from_value::<Report>(w) else {
            continue; // e.g. a measured value that no longer parses: a schema error
        };
        let err = match replay_builtin(&t) {
            Ok(ok) => panic!("{}: editing {field} still replays: {ok:?}", r.conjecture.id),
            Err(e) => e.to_string(),
        };
        assert!(
            err.contains(&field),
            "{}: editing {field} gave: {err}",
            r.conjecture.id
        );
        let longest = err
            .split(|c: char| !c.is_ascii_digit())
            .map(str::len)
            .max()
            .unwrap_or(0);
        assert!(longest <= 20, "{field}: long number in the message: {err}");
    }
}

#[test]
fn every_numeric_field_of_every_report_kind_is_recomputed() {
    let p = |len, state, eps| Params {
        len,
        state,
        eps,
        ..Params::default()
    };
    let reports = [
        run("softmax-in-channel", &p(3, 1, 1e-6)),
        run("channel-in-softmax", &p(3, 1, 1e-6)),
        run("diagonal-realisation", &p(5, 2, 1e-6)),
        run("paper-approx", &p(3, 1, 1e-3)),
        run(
            "factored-float",
            &Params {
                dtype: hidden_attention::refute::Dtype::F32,
                ..p(12, 2, 1e-3)
            },
        ),
        run(
            "mamba-strict-linear-attention",
            &Params {
                delta: 0.5,
                ..p(3, 1, 1e-3)
            },
        ),
    ];
    for r in &reports {
        assert_ne!(r.outcome, Outcome::NoneFound, "{}", r.conjecture.id);
        // The unedited report replays (a proof), or is a candidate that reproduces.
        match replay_builtin(r) {
            Ok(ok) => assert_eq!(ok.outcome, Outcome::Counterexample),
            Err(e) => assert_eq!(e, ReplayError::NoCertificate(Outcome::UnprovenCandidate)),
        }
        assert_every_edit_is_rejected(r);
    }
}

#[test]
fn every_numeric_field_of_a_suite_failure_report_is_recomputed() {
    use hidden_attention::refute::theorem_check;
    use hidden_attention::scalar::ratio;
    use hidden_attention::theorems::{t1, Counterexample};
    // A forged T1 failure (T1 holds on it): rejected as no counterexample, and every numeric
    // field that does not depend on the failure is recomputed and named when edited.
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
    let r = theorem_check::report(&forged, t1::THEOREM.statement, 10, 7);
    assert_eq!(replay_builtin(&r).unwrap_err(), ReplayError::NotRefuted);
    let v = serde_json::to_value(&r).unwrap();
    let mut fields = Vec::new();
    for section in ["counterexample", "counterexample_float", "measured"] {
        numeric_leaves(&v[section], section, &mut fields);
    }
    for f in ["len", "state", "eps", "delta", "seed", "cases_tried"] {
        fields.push(format!("search.{f}"));
    }
    for field in fields {
        let mut w = v.clone();
        let x = at(&mut w, &field);
        *x = edited(x);
        let err = replay_builtin(&serde_json::from_value(w).unwrap())
            .unwrap_err()
            .to_string();
        assert!(err.contains(&field), "editing {field} gave: {err}");
    }
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
    // Change the certificate's kind.
    let mut w = serde_json::to_value(&r).unwrap();
    w["certificate"]["kind"] = json!("rank");
    let err = replay_builtin(&serde_json::from_value(w).unwrap()).unwrap_err();
    assert_eq!(err.field().as_deref(), Some("certificate.kind"), "{err}");
    // Change the explanation.
    let mut w = serde_json::to_value(&r).unwrap();
    w["explanation"] = json!("all good");
    let err = replay_builtin(&serde_json::from_value(w).unwrap()).unwrap_err();
    assert_eq!(err.field().as_deref(), Some("explanation"), "{err}");
    // Drop the float view.
    let mut w = serde_json::to_value(&r).unwrap();
    w["counterexample_float"] = Value::Null;
    let err = replay_builtin(&serde_json::from_value(w).unwrap()).unwrap_err();
    assert_eq!(
        err.field().as_deref(),
        Some("counterexample_float"),
        "{err}"
    );
    // Claim a proof for an unproven outcome, or the other way round.
    let mut w = serde_json::to_value(&r).unwrap();
    w["outcome"] = json!("evidence");
    let err = replay_builtin(&serde_json::from_value(w).unwrap()).unwrap_err();
    assert_eq!(err.field().as_deref(), Some("outcome"), "{err}");
    // A consistent edit of case and float view: the recomputed certificate disagrees.
    let mut w = serde_json::to_value(&r).unwrap();
    for (key, value) in [("c", "7/3"), ("b_bar", "5")] {
        w["counterexample"][key][0][0] = json!(value);
    }
    let c = hidden_attention::refute::channel_in_softmax::ChannelInSoftmax;
    let case = c.parse_case(&w["counterexample"], &p).unwrap();
    w["counterexample_float"] = c.case_json(&case, &p).1;
    let err = replay_builtin(&serde_json::from_value(w).unwrap()).unwrap_err();
    assert!(err.field().unwrap().starts_with("certificate"), "{err}");
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
    v["counterexample"]["a_bar"][0] = json!(["1/0"]);
    let e = replay_builtin(&serde_json::from_value(v).unwrap())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("counterexample") && e.contains("a_bar[0][0]"),
        "{e}"
    );
    assert!(Report::from_json(Path::new("r.json"), "{").is_err());
}

/// Search, check the outcome, and replay when a certificate is claimed.
fn refuted_and_replayed(id: &str, p: &Params) -> Report {
    let r = run(id, p);
    assert_eq!(r.outcome, Outcome::Counterexample, "{id}: {r:?}");
    let back = replay_builtin(&r).unwrap_or_else(|e| panic!("{id}: replay failed: {e}"));
    assert_eq!(back.outcome, Outcome::Counterexample);
    assert_eq!(r.explanation.as_deref(), Some(&back.why[..]));
    let text = serde_json::to_string(&r).unwrap();
    let again = Report::from_json(Path::new("r.json"), &text).unwrap();
    assert_eq!(replay_builtin(&again).unwrap(), back);
    assert!(r.to_markdown().contains(&back.why));
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
}

#[path = "refute/softmax_cover.rs"]
mod softmax_cover;

#[path = "refute/proofs.rs"]
mod proofs;

#[path = "refute/enclosures.rs"]
mod enclosures;

#[path = "refute/matrix_channel.rs"]
mod matrix_channel;

#[test]
fn diagonal_realisation_holds_at_state_one() {
    let p = Params {
        len: 4,
        state: 1,
        cases: 64,
        ..Params::default()
    };
    let r = run("diagonal-realisation", &p);
    assert_eq!(r.outcome, Outcome::NoneFound, "{r:?}");
    assert_eq!(r.search.cases_tried, 64);
    let err = replay_builtin(&r).unwrap_err().to_string();
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
    assert_ne!(r.outcome, Outcome::Counterexample, "{r:?}");
    if r.outcome == Outcome::UnprovenCandidate {
        assert_eq!(
            replay_builtin(&r).unwrap_err(),
            ReplayError::NoCertificate(Outcome::UnprovenCandidate)
        );
        assert!(r.explanation.as_deref().unwrap().starts_with("unproven"));
    }
}

#[test]
fn non_finite_measurements_survive_the_round_trip() {
    let p = Params {
        len: 40,
        state: 2,
        eps: 1e-3,
        cases: 64,
        dtype: hidden_attention::refute::Dtype::F32,
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
    v["search"]["eps"] = json!("small");
    let e = Report::from_json(Path::new("r.json"), &v.to_string())
        .unwrap_err()
        .to_string();
    assert!(e.contains("search.eps"), "{e}");
    v["search"]["eps"] = json!(1e-3);
    v["outcome"] = json!("proved");
    let e = Report::from_json(Path::new("r.json"), &v.to_string())
        .unwrap_err()
        .to_string();
    assert!(e.contains("outcome") && e.contains("evidence"), "{e}");
}

#[test]
fn suite_failure_reports_replay_only_if_the_case_still_fails() {
    use hidden_attention::refute::theorem_check;
    use hidden_attention::scalar::ratio;
    use hidden_attention::theorems::{t1, Counterexample};
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
    let statement = t1::THEOREM.statement;
    let r = theorem_check::report(&forged, statement, 10, 7);
    assert_eq!(r.conjecture.id, "check:T1");
    assert!(r.command.contains("hattn check T1 --cases 10 --seed 7"));
    let text = serde_json::to_string(&r).unwrap();
    let back = Report::from_json(Path::new("r.json"), &text).unwrap();
    assert_eq!(back, r);
    assert_eq!(replay_builtin(&back).unwrap_err(), ReplayError::NotRefuted);
    // The same for the f64 tier (the entries are f64 values).
    let mut f = forged.clone();
    f.tier = "f64";
    let err = replay_builtin(&theorem_check::report(&f, statement, 10, 7)).unwrap_err();
    assert_eq!(err, ReplayError::NotRefuted);
    // Entries that are not values of the recorded tier are named.
    let mut g = forged.clone();
    g.input[1] = ratio(-2, 5);
    g.tier = "f32";
    let err = replay_builtin(&theorem_check::report(&g, statement, 10, 7))
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a f32 value"), "{err}");
    // A statement that is not the suite's is named.
    let err = replay_builtin(&theorem_check::report(&forged, "T1 statement", 10, 7)).unwrap_err();
    assert_eq!(err.field().as_deref(), Some("conjecture.statement"));
    // Malformed input is named.
    let mut v = serde_json::to_value(&r).unwrap();
    v["counterexample"]["input"][1] = json!("x");
    let err = replay_builtin(&serde_json::from_value(v).unwrap())
        .unwrap_err()
        .to_string();
    assert!(err.contains("counterexample.input[1]"), "{err}");
}

//! Reports of theorem-suite failures (`hattn check --report DIR`).
//!
//! A failing property of the suite ([`crate::theorems::Counterexample`]: the shrunk channel
//! and input, exactly) becomes a [`Report`] of the same schema as a refutation, with
//! conjecture id `check:T1`, `check:T2`, …. [`replay`] re-runs the theorem's check on the
//! recorded case — exactly for the `exact` tier, with the recorded floats for `f64`/`f32`
//! — accepts the report only if the case still fails, and recomputes every other field
//! (statement, command, search parameters, the failure message `what`, measured sizes,
//! explanation, the case's float view) and compares it, naming the first that differs.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::channel_in_softmax::channel_of;
use super::replay::{compare, compare_measured, short_pair};
use super::{exact_doc, float_doc, ReplayError, Replayed, REPLAY};
use crate::interchange::Object;
use crate::report::{
    exact_json, ConjectureInfo, Dtype, Outcome, Parameter, Report, SearchInfo, SCHEMA_VERSION,
};
use crate::scalar::{parse_exact, Exact, Field};
use crate::ssm::Channel;
use crate::theorems::{suite, t1, t2, CaseResult, Counterexample};

/// Prefix of the conjecture ids of suite reports.
pub const PREFIX: &str = "check:";

/// The case as JSON, exact and as floats: the channel with an extra `input` field.
fn case_json(channel: &Channel<Exact>, input: &[Exact]) -> (Value, Value) {
    let mut exact = exact_doc(Object::Channel(channel.clone()));
    exact["input"] = Value::Array(input.iter().map(exact_json).collect());
    let mut float = float_doc(Object::Channel(channel.clone()));
    float["input"] = Value::Array(input.iter().map(|v| json!(v.to_f64())).collect());
    (exact, float)
}

fn measured(channel: &Channel<Exact>) -> BTreeMap<String, f64> {
    let mut m = BTreeMap::new();
    m.insert("len".into(), channel.len() as f64);
    m.insert("state".into(), channel.state() as f64);
    m
}

fn certificate(theorem: &str, tier: &str, what: &str) -> Value {
    json!({"kind": "property_failure", "theorem": theorem, "tier": tier, "what": what})
}

fn explanation(theorem: &str, tier: &str, what: &str) -> String {
    format!("{theorem} fails in the {tier} tier: {what}")
}

fn command(theorem: &str, cases: usize, seed: u64) -> String {
    format!("hattn check {theorem} --cases {cases} --seed {seed}")
}

/// The report of a failing suite property, found by `hattn check` with `cases` cases per
/// row and `seed`.
pub fn report(c: &Counterexample, statement: &str, cases: usize, seed: u64) -> Report {
    let (case, float) = case_json(&c.channel, &c.input);
    Report {
        schema_version: SCHEMA_VERSION,
        toolkit_version: env!("CARGO_PKG_VERSION").into(),
        conjecture: ConjectureInfo {
            id: format!("{PREFIX}{}", c.theorem),
            statement: statement.into(),
            theorem: c.theorem.into(),
        },
        search: SearchInfo {
            seed,
            cases_tried: cases,
            case_index: None,
            len: c.channel.len(),
            state: c.channel.state(),
            eps: 0.0,
            // Tiers are the three number types (`Counterexample::tier`).
            dtype: match c.tier {
                "f32" => Dtype::F32,
                "f64" => Dtype::F64,
                _ => Dtype::Exact,
            },
            delta: 0.0,
            interrupted: false,
            parameters: Parameter::ALL.to_vec(),
        },
        outcome: Outcome::Counterexample,
        counterexample: Some(case),
        counterexample_float: Some(float),
        certificate: Some(certificate(c.theorem, c.tier, &c.what)),
        explanation: Some(explanation(c.theorem, c.tier, &c.what)),
        measured: measured(&c.channel),
        command: command(c.theorem, cases, seed),
        replay: REPLAY.into(),
    }
}

/// Re-run the check of a suite report's theorem on its recorded case and recompute every
/// field; `Ok` iff the case still fails and every field agrees.
///
/// # Errors
/// The first field that disagrees, or why the case is no counterexample (or cannot be
/// re-checked).
pub fn replay(r: &Report) -> Result<Replayed, ReplayError> {
    let text = |s: &str| Value::String(s.into());
    let theorem = r.conjecture.id.trim_start_matches(PREFIX);
    let row = suite::rows()
        .into_iter()
        .find(|row| row.theorem.id == theorem)
        .ok_or_else(|| ReplayError::UnknownConjecture(r.conjecture.id.clone()))?;
    compare(
        "conjecture.theorem",
        &text(&r.conjecture.theorem),
        &text(theorem),
    )?;
    compare(
        "conjecture.statement",
        &text(&r.conjecture.statement),
        &text(row.theorem.statement),
    )?;
    compare("replay", &text(&r.replay), &text(REPLAY))?;
    let s = &r.search;
    for (field, flag, value) in [
        ("search.cases_tried", "--cases", s.cases_tried.to_string()),
        ("search.seed", "--seed", s.seed.to_string()),
    ] {
        let recorded = super::replay::flag(&r.command, flag);
        if recorded.as_deref() != Some(&value[..]) {
            return Err(ReplayError::Inconsistent {
                field: field.into(),
                value,
                other: format!(
                    "the recorded command has {flag} {}",
                    recorded.as_deref().unwrap_or("(absent)")
                ),
            });
        }
    }
    compare(
        "command",
        &text(&r.command),
        &text(&command(theorem, s.cases_tried, s.seed)),
    )?;
    let (Some(case_v), Some(cert)) = (&r.counterexample, &r.certificate) else {
        return Err(ReplayError::NoCertificate(r.outcome));
    };
    let tier = s.dtype.as_str();
    let ch = channel_of(case_v).map_err(ReplayError::Rejected)?;
    let x = case_v
        .get("input")
        .and_then(Value::as_array)
        .ok_or(ReplayError::Rejected(
            "counterexample.input: missing".into(),
        ))?
        .iter()
        .enumerate()
        .map(|(i, v)| {
            v.as_str()
                .and_then(parse_exact)
                .ok_or(ReplayError::Rejected(format!(
                    "counterexample.input[{i}]: not a \"p/q\" number"
                )))
        })
        .collect::<Result<Vec<Exact>, ReplayError>>()?;
    let (exact, float) = case_json(&ch, &x);
    compare(
        "counterexample_float",
        r.counterexample_float.as_ref().unwrap_or(&Value::Null),
        &float,
    )
    .map_err(|e| match e {
        ReplayError::Mismatch {
            field,
            recomputed,
            reported,
        } => ReplayError::CaseViews {
            path: field.trim_start_matches("counterexample_float.").into(),
            exact: recomputed,
            float: reported,
        },
        e => e,
    })?;
    compare("counterexample", case_v, &exact)?;
    compare_measured(&r.measured, &measured(&ch))?;
    for (field, value, want) in [
        ("search.len", s.len as f64, ch.len() as f64),
        ("search.state", s.state as f64, ch.state() as f64),
        ("search.eps", s.eps, 0.0),
        ("search.delta", s.delta, 0.0),
        ("search.case_index", s.case_index.map_or(0.0, |_| 1.0), 0.0),
        (
            "search.interrupted",
            f64::from(u8::from(s.interrupted)),
            0.0,
        ),
    ] {
        if value != want {
            let (a, b) = short_pair(&json!(value), &json!(want));
            return Err(ReplayError::Inconsistent {
                field: field.into(),
                value: a,
                other: format!("the recorded case and suite need {b}"),
            });
        }
    }
    let result = match (theorem, tier) {
        ("T1", "exact") => t1::check_exact(&ch, &x),
        ("T2", "exact") => t2::check_exact(&ch, &x),
        ("T1", "f64") => in_float::<f64>(&ch, &x, t1::check_float)?,
        ("T2", "f64") => in_float::<f64>(&ch, &x, t2::check_float)?,
        ("T1", "f32") => in_float::<f32>(&ch, &x, t1::check_float)?,
        ("T2", "f32") => in_float::<f32>(&ch, &x, t2::check_float)?,
        _ => {
            return Err(ReplayError::Rejected(format!(
                "certificate: no independent re-check for {theorem} ({tier}) failures; rerun `{}`",
                r.command
            )))
        }
    };
    let what = match result {
        Err(c) => c.what,
        Ok(_) => return Err(ReplayError::NotRefuted),
    };
    compare(
        "outcome",
        &text(r.outcome.as_str()),
        &text(Outcome::Counterexample.as_str()),
    )?;
    compare("certificate", cert, &certificate(theorem, tier, &what))?;
    let why = explanation(theorem, tier, &what);
    let recorded = r.explanation.clone().map_or(Value::Null, Value::String);
    compare("explanation", &recorded, &text(&why))?;
    Ok(Replayed {
        outcome: Outcome::Counterexample,
        why,
    })
}

/// Run a float check on the case, whose entries must be values of `T`.
fn in_float<T: Field>(
    ch: &Channel<Exact>,
    x: &[Exact],
    check: fn(&Channel<T>, &[T]) -> CaseResult,
) -> Result<CaseResult, ReplayError> {
    let down = |v: &Exact| {
        let f = T::from_f64(v.to_f64());
        (f.to_exact() == *v).then_some(f)
    };
    let cf = ch.map(|v| down(v).unwrap_or_else(T::zero));
    if cf.to_exact() != *ch {
        return Err(ReplayError::Rejected(format!(
            "counterexample: entries are not {} values",
            T::NAME
        )));
    }
    let xf = x
        .iter()
        .enumerate()
        .map(|(i, v)| {
            down(v).ok_or(ReplayError::Rejected(format!(
                "counterexample.input[{i}]: not a {} value",
                T::NAME
            )))
        })
        .collect::<Result<Vec<T>, ReplayError>>()?;
    Ok(check(&cf, &xf))
}

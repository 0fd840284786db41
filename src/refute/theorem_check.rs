//! Reports of theorem-suite failures (`hattn check --report DIR`).
//!
//! A failing property of the suite ([`crate::theorems::Counterexample`]: the shrunk channel
//! and input, exactly) becomes a [`Report`] of the same schema as a refutation, with
//! conjecture id `check:T1`, `check:T2`, …. [`replay`] re-runs the theorem's check on the
//! recorded case — exactly for the `exact` tier, with the recorded floats for `f64`/`f32`
//! — and accepts the report only if the case still fails: a forged or edited report whose
//! case satisfies the theorem is rejected.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::channel_in_softmax::channel_of;
use super::exact_doc;
use crate::interchange::Object;
use crate::report::{exact_json, ConjectureInfo, Report, SearchInfo, SCHEMA_VERSION};
use crate::scalar::{parse_exact, Exact, Field};
use crate::ssm::Channel;
use crate::theorems::{t1, t2, CaseResult, Counterexample};

/// Prefix of the conjecture ids of suite reports.
pub const PREFIX: &str = "check:";

/// The report of a failing suite property, found by `hattn check` with `cases` cases per
/// row and `seed`.
pub fn report(c: &Counterexample, statement: &str, cases: usize, seed: u64) -> Report {
    let mut case = exact_doc(Object::Channel(c.channel.clone()));
    case["input"] = Value::Array(c.input.iter().map(exact_json).collect());
    let mut measured = BTreeMap::new();
    measured.insert("len".into(), c.channel.len() as f64);
    measured.insert("state".into(), c.channel.state() as f64);
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
            dtype: c.tier.into(),
            delta: 0.0,
            interrupted: false,
        },
        outcome: "counterexample".into(),
        counterexample: Some(case),
        counterexample_float: None,
        certificate: Some(json!({
            "kind": "property_failure",
            "theorem": c.theorem,
            "tier": c.tier,
            "what": c.what,
        })),
        explanation: Some(format!(
            "{} fails in the {} tier: {}",
            c.theorem, c.tier, c.what
        )),
        measured,
        command: format!("hattn check {} --cases {cases} --seed {seed}", c.theorem),
        replay: "hattn replay report.json".into(),
    }
}

/// Re-run the check of a suite report's theorem on its recorded case; `Ok` iff it still
/// fails.
///
/// # Errors
/// The part of the report that does not hold (or that cannot be re-checked).
pub fn replay(r: &Report) -> Result<String, String> {
    let theorem = r.conjecture.id.trim_start_matches(PREFIX);
    let (Some(case), Some(cert)) = (&r.counterexample, &r.certificate) else {
        return Err(format!(
            "outcome is `{}`: there is no case to re-check",
            r.outcome
        ));
    };
    if cert.get("kind").and_then(Value::as_str) != Some("property_failure") {
        return Err("certificate.kind: expected `property_failure`".into());
    }
    let tier = cert
        .get("tier")
        .and_then(Value::as_str)
        .ok_or("certificate.tier: missing")?;
    let ch = channel_of(case)?;
    let x = case
        .get("input")
        .and_then(Value::as_array)
        .ok_or("counterexample.input: missing")?
        .iter()
        .enumerate()
        .map(|(i, v)| {
            v.as_str()
                .and_then(parse_exact)
                .ok_or(format!("counterexample.input[{i}]: not a \"p/q\" number"))
        })
        .collect::<Result<Vec<Exact>, String>>()?;
    let result = match (theorem, tier) {
        ("T1", "exact") => t1::check_exact(&ch, &x),
        ("T2", "exact") => t2::check_exact(&ch, &x),
        ("T1", "f64") => in_float::<f64>(&ch, &x, t1::check_float)?,
        ("T2", "f64") => in_float::<f64>(&ch, &x, t2::check_float)?,
        ("T1", "f32") => in_float::<f32>(&ch, &x, t1::check_float)?,
        ("T2", "f32") => in_float::<f32>(&ch, &x, t2::check_float)?,
        _ => {
            return Err(format!(
                "certificate: no independent re-check for {theorem} ({tier}) failures; rerun `{}`",
                r.command
            ))
        }
    };
    match result {
        Err(c) => Ok(format!("{theorem} fails again in the {tier} tier: {}", c.what)),
        Ok(_) => Err(format!(
            "counterexample: {theorem} holds on the recorded case in the {tier} tier, so it is not a counterexample"
        )),
    }
}

/// Run a float check on the case, whose entries must be values of `T`.
fn in_float<T: Field>(
    ch: &Channel<Exact>,
    x: &[Exact],
    check: fn(&Channel<T>, &[T]) -> CaseResult,
) -> Result<CaseResult, String> {
    let down = |v: &Exact| {
        let f = T::from_f64(v.to_f64());
        (f.to_exact() == *v).then_some(f)
    };
    let cf = ch.map(|v| down(v).unwrap_or_else(T::zero));
    if cf.to_exact() != *ch {
        return Err(format!(
            "counterexample: entries are not {} values",
            T::NAME
        ));
    }
    let xf = x
        .iter()
        .enumerate()
        .map(|(i, v)| {
            down(v).ok_or(format!(
                "counterexample.input[{i}]: not a {} value",
                T::NAME
            ))
        })
        .collect::<Result<Vec<T>, String>>()?;
    Ok(check(&cf, &xf))
}

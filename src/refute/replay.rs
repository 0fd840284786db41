//! Replay: every field of a report that says something about the case is recomputed from
//! the case itself and compared; the first disagreement is a [`ReplayError`] naming the
//! field, with both values written short.
//!
//! What is recomputed: the case's canonical exact form and its float view
//! (`counterexample`, `counterexample_float`), the conjecture's statement and theorem, the
//! search parameters against the recorded `command`, the check's verdict (`outcome`), the
//! whole `certificate`, every `measured` value, and the re-check's `explanation`.
//! Provenance that only a rerun of the search could reproduce (`search.seed`,
//! `search.cases_tried`, `search.case_index`, `search.interrupted`, `toolkit_version`) is
//! checked for consistency only and is not evidence of anything.

use serde_json::Value;

use super::{command_line, replay_command, Conjecture, Params, Strength};
use crate::report::{Outcome, Parameter, Report};
use crate::scalar::{lift, parse_exact, Exact, Field};

/// Why a report did not replay. Every variant names the field at fault.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// A field disagrees with its recomputation.
    #[error("{field}: report says {reported}, recomputed {recomputed}")]
    Mismatch {
        /// The JSON path, e.g. `certificate.t7_bound.hi`.
        field: String,
        /// The report's value (short).
        reported: String,
        /// The recomputed value (short).
        recomputed: String,
    },
    /// Two fields of the report disagree with each other (e.g. a `search` parameter and
    /// the recorded command).
    #[error("{field}: report says {value}, but {other}")]
    Inconsistent {
        /// The field at fault.
        field: String,
        /// Its value (short).
        value: String,
        /// What the other field says.
        other: String,
    },
    /// The exact case and its float view disagree: one of them was edited.
    #[error(
        "counterexample.{path} = {exact} but counterexample_float.{path} = {float}: the case \
         and its float view disagree"
    )]
    CaseViews {
        /// Path inside the case, e.g. `a_bar[0][0]`.
        path: String,
        /// The exact value (short).
        exact: String,
        /// The float view's value (short).
        float: String,
    },
    /// The case is malformed or the certificate does not hold; the message names the field.
    #[error("{0}")]
    Rejected(String),
    /// The recomputed check finds no violation on the recorded case.
    #[error("counterexample: the case satisfies the conjecture (the recomputed check finds no violation), so it is no counterexample")]
    NotRefuted,
    /// The report has nothing to replay.
    #[error("outcome is `{0}`: there is no certificate to replay")]
    NoCertificate(Outcome),
    /// An unknown conjecture id.
    #[error("conjecture.id: unknown conjecture `{0}`")]
    UnknownConjecture(String),
}

impl ReplayError {
    /// The field at fault, where the error has one.
    pub fn field(&self) -> Option<String> {
        match self {
            ReplayError::Mismatch { field, .. } | ReplayError::Inconsistent { field, .. } => {
                Some(field.clone())
            }
            ReplayError::CaseViews { path, .. } => Some(format!("counterexample.{path}")),
            ReplayError::Rejected(m) => m.split_once(':').map(|(f, _)| f.to_string()),
            ReplayError::NotRefuted => Some("counterexample".into()),
            ReplayError::NoCertificate(_) => Some("outcome".into()),
            ReplayError::UnknownConjecture(_) => Some("conjecture.id".into()),
        }
    }
}

/// A report that replayed: the recomputed outcome and the re-check's explanation.
#[derive(Debug, Clone, PartialEq)]
pub struct Replayed {
    /// [`Outcome::Counterexample`] (a proof) or [`Outcome::Evidence`].
    pub outcome: Outcome,
    /// The re-check's one-line explanation.
    pub why: String,
}

/// `Err(Mismatch)` unless `reported == recomputed` (JSON trees, compared leaf by leaf;
/// the error names the first differing leaf below `path`).
///
/// # Errors
/// [`ReplayError::Mismatch`].
pub fn compare(path: &str, reported: &Value, recomputed: &Value) -> Result<(), ReplayError> {
    match first_difference(reported, recomputed) {
        None => Ok(()),
        Some((sub, a, b)) => {
            let (reported, recomputed) = short_pair(&a, &b);
            Err(ReplayError::Mismatch {
                field: join(path, &sub),
                reported,
                recomputed,
            })
        }
    }
}

fn join(path: &str, sub: &str) -> String {
    match (path.is_empty(), sub.is_empty()) {
        (_, true) => path.into(),
        (true, _) => sub.trim_start_matches('.').into(),
        _ if sub.starts_with('[') => format!("{path}{sub}"),
        _ => format!("{path}.{}", sub.trim_start_matches('.')),
    }
}

/// The first leaf where two JSON trees differ: its relative path and both values
/// (`Value::Null` for "absent").
fn first_difference(a: &Value, b: &Value) -> Option<(String, Value, Value)> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter().find_map(|k| match (x.get(k), y.get(k)) {
                (Some(u), Some(v)) => {
                    first_difference(u, v).map(|(p, u, v)| (format!(".{k}{p}"), u, v))
                }
                (u, v) => Some((
                    format!(".{k}"),
                    u.cloned().unwrap_or(Value::String("(absent)".into())),
                    v.cloned().unwrap_or(Value::String("(absent)".into())),
                )),
            })
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            x.iter().zip(y).enumerate().find_map(|(i, (u, v))| {
                first_difference(u, v).map(|(p, u, v)| (format!("[{i}]{p}"), u, v))
            })
        }
        (Value::Array(x), Value::Array(y)) => Some((
            String::new(),
            Value::String(format!("{} entries", x.len())),
            Value::String(format!("{} entries", y.len())),
        )),
        (Value::Number(x), Value::Number(y))
            if x.as_f64().is_some() && x.as_f64() == y.as_f64() && x.is_f64() == y.is_f64() =>
        {
            None
        }
        _ if a == b => None,
        _ => Some((String::new(), a.clone(), b.clone())),
    }
}

/// The exact value of a JSON number or `"p/q"` string.
fn numeric(v: &Value) -> Option<Exact> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .map(|k| crate::scalar::ratio(k, 1))
            .or_else(|| n.as_f64().and_then(lift)),
        // an exact fraction, or a decimal someone typed in place of one
        Value::String(s) => parse_exact(s).or_else(|| {
            s.trim()
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .and_then(lift)
        }),
        _ => None,
    }
}

/// Two differing values written short: numbers with the fewest significant digits (at
/// least 4) that tell them apart; strings around their first difference.
pub fn short_pair(a: &Value, b: &Value) -> (String, String) {
    if let (Some(x), Some(y)) = (numeric(a), numeric(b)) {
        let (fx, fy) = (x.to_f64(), y.to_f64());
        for digits in [4usize, 6, 9, 12, 17] {
            let (sx, sy) = (sig(fx, digits), sig(fy, digits));
            if sx != sy {
                return (sx, sy);
            }
        }
        if x != y {
            let note = " (they differ beyond 17 digits)";
            return (format!("{}{note}", sig(fx, 17)), sig(fy, 17));
        }
        // The same number written differently (`"1/2"` vs `0.5`): show the JSON.
        return (a.to_string(), b.to_string());
    }
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let (sa, sb) = (text(a), text(b));
    let start = sa
        .chars()
        .zip(sb.chars())
        .take_while(|(x, y)| x == y)
        .count()
        .saturating_sub(20);
    let window = |s: &str| {
        let body: String = s.chars().skip(start).take(60).collect();
        let pre = if start > 0 { "…" } else { "" };
        let post = if s.chars().count() > start + 60 {
            "…"
        } else {
            ""
        };
        format!("\"{pre}{body}{post}\"")
    };
    (window(&sa), window(&sb))
}

/// `x` with `digits` significant digits: plain in [1e-3, 1e6), scientific outside.
fn sig(x: f64, digits: usize) -> String {
    if !x.is_finite() || x == 0.0 {
        return format!("{x}");
    }
    let s = format!("{:.*e}", digits - 1, x);
    let back: f64 = s.parse().unwrap_or(x);
    if (1e-3..1e6).contains(&back.abs()) {
        let plain = format!("{back}");
        if plain.len() <= digits + 8 {
            return plain;
        }
    }
    // Trim trailing zeros of the mantissa: 1.500e3 → 1.5e3.
    match s.split_once('e') {
        Some((m, e)) if m.contains('.') => {
            format!("{}e{e}", m.trim_end_matches('0').trim_end_matches('.'))
        }
        _ => s,
    }
}

/// The search parameters of a report, checked against its recorded `command` (each flag
/// must agree with the `search` field of the same name).
///
/// # Errors
/// [`ReplayError::Mismatch`] naming `search.<flag>` or `command`.
pub fn params_of<C: Conjecture + ?Sized>(c: &C, report: &Report) -> Result<Params, ReplayError> {
    let s = &report.search;
    let cases = flag(&report.command, "--cases")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| ReplayError::Mismatch {
            field: "command".into(),
            reported: short_pair(&Value::String(report.command.clone()), &Value::Null).0,
            recomputed: "a command with --cases".into(),
        })?;
    let p = Params {
        len: s.len,
        state: s.state,
        eps: s.eps,
        cases,
        seed: s.seed,
        dtype: s.dtype,
        delta: s.delta,
    };
    let uses = c.parameters();
    if s.parameters != uses {
        let names = |ps: &[crate::report::Parameter]| {
            let v: Vec<String> = ps
                .iter()
                .map(|p| serde_json::to_value(p).map_or(String::new(), |v| v.to_string()))
                .collect();
            format!("[{}]", v.join(", "))
        };
        return Err(ReplayError::Mismatch {
            field: "search.parameters".into(),
            reported: names(&s.parameters),
            recomputed: names(uses),
        });
    }
    // A parameter the conjecture does not use is not in the command; the search records
    // it at its default, so any other value is an edit.
    let d = Params::default();
    let defaults = [
        (Parameter::Len, "len", s.len.to_string(), d.len.to_string()),
        (
            Parameter::State,
            "state",
            s.state.to_string(),
            d.state.to_string(),
        ),
        (
            Parameter::Eps,
            "eps",
            format!("{:e}", s.eps),
            format!("{:e}", d.eps),
        ),
        (
            Parameter::Dtype,
            "dtype",
            s.dtype.to_string(),
            d.dtype.to_string(),
        ),
        (
            Parameter::Delta,
            "delta",
            format!("{:e}", s.delta),
            format!("{:e}", d.delta),
        ),
    ];
    for (param, name, recorded, default) in defaults {
        if !uses.contains(&param) && recorded != default {
            return Err(ReplayError::Inconsistent {
                field: format!("search.{name}"),
                value: recorded,
                other: format!(
                    "{name} is not a parameter of this conjecture, so it is recorded at its default {default}"
                ),
            });
        }
    }
    let want = command_line(c.program(), c.id(), &p, uses);
    for f in ["len", "state", "eps", "seed", "dtype", "delta"] {
        let (in_command, from_search) = (
            flag(&report.command, &format!("--{f}")),
            flag(&want, &format!("--{f}")),
        );
        if in_command != from_search {
            let v = |x: Option<String>| Value::String(x.unwrap_or("(absent)".into()));
            let (a, b) = short_pair(&v(from_search), &v(in_command));
            return Err(ReplayError::Inconsistent {
                field: format!("search.{f}"),
                value: a,
                other: format!("the recorded command has --{f} {b}"),
            });
        }
    }
    compare(
        "command",
        &Value::String(report.command.clone()),
        &Value::String(want),
    )?;
    // Provenance: only its consistency can be checked without rerunning the search.
    let found = report.outcome != Outcome::NoneFound;
    let index_ok = match s.case_index {
        Some(i) => found && i < p.cases,
        None => !found,
    };
    if !index_ok {
        return Err(ReplayError::Inconsistent {
            field: "search.case_index".into(),
            value: s.case_index.map_or("none".into(), |i| i.to_string()),
            other: format!(
                "outcome `{}` with a budget of {} cases needs {}",
                report.outcome,
                p.cases,
                if found {
                    "an index below the budget"
                } else {
                    "none"
                }
            ),
        });
    }
    // The search stops at the first failing case: it tried at most case_index + 1.
    let most = s.case_index.map_or(p.cases, |i| i + 1);
    if s.cases_tried > most || (found && s.cases_tried == 0) {
        return Err(ReplayError::Inconsistent {
            field: "search.cases_tried".into(),
            value: s.cases_tried.to_string(),
            other: format!(
                "a search that {} tries between {} and {most} cases",
                if found {
                    "stops at case_index"
                } else {
                    "has that budget"
                },
                u8::from(found)
            ),
        });
    }
    Ok(p)
}

/// The value after `name` in a command line.
pub(crate) fn flag(command: &str, name: &str) -> Option<String> {
    let mut words = command.split_whitespace();
    words.find(|w| *w == name)?;
    words.next().map(str::to_string)
}

/// Replay a report of conjecture `c`: recompute every field from the case and compare.
///
/// # Errors
/// The first field that disagrees, or why the certificate does not hold.
pub fn replay<C: Conjecture + ?Sized>(c: &C, report: &Report) -> Result<Replayed, ReplayError> {
    let text = |s: &str| Value::String(s.into());
    compare("conjecture.id", &text(&report.conjecture.id), &text(c.id()))?;
    let p = params_of(c, report)?;
    compare(
        "conjecture.theorem",
        &text(&report.conjecture.theorem),
        &text(c.theorem()),
    )?;
    compare(
        "conjecture.statement",
        &text(&report.conjecture.statement),
        &text(&c.statement(&p)),
    )?;
    compare(
        "replay",
        &text(&report.replay),
        &text(&replay_command(c.program())),
    )?;
    let Some(case_v) = &report.counterexample else {
        if report.certificate.is_some() || report.counterexample_float.is_some() {
            return Err(ReplayError::Rejected(
                "counterexample: missing, but the report has a certificate".into(),
            ));
        }
        compare_measured(&report.measured, &Default::default())?;
        let explanation = report
            .explanation
            .clone()
            .map_or(Value::Null, Value::String);
        compare("explanation", &explanation, &Value::Null)?;
        return Err(ReplayError::NoCertificate(report.outcome));
    };
    let recorded_float = report.counterexample_float.clone().unwrap_or(Value::Null);
    if !recorded_float.is_null() {
        if let Some((path, e, f)) = view_difference(case_v, &recorded_float) {
            let (exact, float) = short_pair(&e, &f);
            return Err(ReplayError::CaseViews {
                path: path.trim_start_matches('.').into(),
                exact,
                float,
            });
        }
    }
    let case = c.parse_case(case_v, &p).map_err(ReplayError::Rejected)?;
    let (exact, float) = c.case_json(&case, &p);
    if let Some((path, _, f)) = first_difference(&recorded_float, &float) {
        let path = path.trim_start_matches('.').to_string();
        if path.is_empty() {
            return Err(ReplayError::Mismatch {
                field: "counterexample_float".into(),
                reported: if recorded_float.is_null() {
                    "(absent)"
                } else {
                    "a float view"
                }
                .into(),
                recomputed: if float.is_null() {
                    "(absent)"
                } else {
                    "a float view"
                }
                .into(),
            });
        }
        let at = |v: &Value| lookup(v, &path).unwrap_or(Value::String("(absent)".into()));
        let (e, f) = short_pair(&at(&exact), &f);
        return Err(ReplayError::CaseViews {
            path,
            exact: e,
            float: f,
        });
    }
    compare("counterexample", case_v, &exact)?;
    let r = match c.check(&case, &p) {
        Ok(()) => return Err(ReplayError::NotRefuted),
        Err(r) => r,
    };
    let outcome = r.strength.outcome();
    compare(
        "outcome",
        &text(report.outcome.as_str()),
        &text(outcome.as_str()),
    )?;
    let cert = report.certificate.clone().unwrap_or(Value::Null);
    compare("certificate", &cert, &r.certificate)?;
    compare_measured(&report.measured, &r.measured)?;
    let why = match r.strength {
        Strength::Candidate => super::candidate_explanation(&r.certificate),
        _ => c.verify(case_v, &cert, &p).map_err(ReplayError::Rejected)?,
    };
    let explanation = report
        .explanation
        .clone()
        .map_or(Value::Null, Value::String);
    compare("explanation", &explanation, &Value::String(why.clone()))?;
    match outcome {
        Outcome::Counterexample | Outcome::Evidence => Ok(Replayed { outcome, why }),
        o => Err(ReplayError::NoCertificate(o)),
    }
}

/// The first numeric leaf where the exact case and its float view disagree (the float is
/// not the nearest `f64` to the exact value), or where their shapes differ, read from the
/// JSON alone, before the case is parsed.
fn view_difference(exact: &Value, float: &Value) -> Option<(String, Value, Value)> {
    match (exact, float) {
        (Value::Object(x), Value::Object(y)) => x.iter().find_map(|(k, u)| match y.get(k) {
            Some(v) => view_difference(u, v).map(|(p, u, v)| (format!(".{k}{p}"), u, v)),
            None => Some((format!(".{k}"), u.clone(), Value::String("(absent)".into()))),
        }),
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            x.iter().zip(y).enumerate().find_map(|(i, (u, v))| {
                view_difference(u, v).map(|(p, u, v)| (format!("[{i}]{p}"), u, v))
            })
        }
        (Value::Array(x), Value::Array(y)) => Some((
            String::new(),
            Value::String(format!("{} entries", x.len())),
            Value::String(format!("{} entries", y.len())),
        )),
        (Value::String(e), f) => match (parse_exact(e), numeric(f)) {
            (Some(x), Some(y)) if x == y || x.to_f64().to_exact() == y => None,
            (Some(_), _) => Some((String::new(), exact.clone(), float.clone())),
            // Non-numeric strings (`kind`, `field`) may differ between the views.
            (None, _) => None,
        },
        (Value::Number(_), _) if exact == float => None,
        (Value::Number(_), _) => Some((String::new(), exact.clone(), float.clone())),
        _ => None,
    }
}

/// The value at a relative path like `a_bar[0][1]` or `w_q[2][0]`.
fn lookup(v: &Value, path: &str) -> Option<Value> {
    let mut cur = v;
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (key, rest) = part.split_once('[').map_or((part, ""), |(k, r)| (k, r));
        if !key.is_empty() {
            cur = cur.get(key)?;
        }
        for idx in rest.split('[').filter(|s| !s.is_empty()) {
            cur = cur.get(idx.trim_end_matches(']').parse::<usize>().ok()?)?;
        }
    }
    Some(cur.clone())
}

/// Compare `measured` maps (NaN equals NaN), naming `measured.<key>`.
///
/// # Errors
/// [`ReplayError::Mismatch`].
pub fn compare_measured(
    reported: &std::collections::BTreeMap<String, f64>,
    recomputed: &std::collections::BTreeMap<String, f64>,
) -> Result<(), ReplayError> {
    let num = |x: Option<&f64>| match x {
        None => Value::String("(absent)".into()),
        Some(v) if v.is_finite() => Value::from(*v),
        Some(v) => Value::String(format!("{v}")),
    };
    let mut keys: Vec<&String> = reported.keys().chain(recomputed.keys()).collect();
    keys.sort();
    keys.dedup();
    for k in keys {
        let (a, b) = (reported.get(k), recomputed.get(k));
        let same = match (a, b) {
            (Some(x), Some(y)) => x == y || (x.is_nan() && y.is_nan()),
            _ => false,
        };
        if !same {
            let (reported, recomputed) = short_pair(&num(a), &num(b));
            return Err(ReplayError::Mismatch {
                field: format!("measured.{k}"),
                reported,
                recomputed,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::short_pair;
    use serde_json::json;

    /// A decimal typed over an exact fraction is shown as a short number beside the short
    /// recomputed value, never as a 40-digit fraction.
    #[test]
    fn edited_decimal_strings_are_shown_short() {
        let exact = json!(
            "346289833220766743690015507645309088253/680564733841876926926749214863536422912"
        );
        let (a, b) = short_pair(&json!("0.5"), &exact);
        assert_eq!((a.as_str(), b.as_str()), ("0.5", "0.5088"));
        let (a, b) = short_pair(&json!(0.5), &exact);
        assert_eq!((a.as_str(), b.as_str()), ("0.5", "0.5088"));
        for s in [a, b] {
            assert!(s.len() < 20, "{s}");
        }
    }
}

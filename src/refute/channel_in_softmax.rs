//! `channel-in-softmax`: "every channel's α̃ is some causal softmax head's matrix".
//!
//! False, and refuted by an exact certificate (T6a; Coq: `t6_negative_entry_not_softmax`,
//! `t6_row_sum_not_softmax`): a causal softmax head's matrix has *positive* entries on and
//! below the diagonal and rows summing to 1, so an entry $\tilde\alpha_{ij} \le 0$ ($j\le i$)
//! or a row sum $\ne 1$ rules every softmax head out.

use proptest::strategy::{BoxedStrategy, Strategy};
use serde_json::{json, Value};

use super::{Conjecture, Params, Refutation};
use crate::report::{exact_json, exact_rows, float_rows, parse_rows};
use crate::scalar::{parse_exact, Exact, Field};
use crate::ssm::{hidden_attention, Channel};
use crate::strategies;

/// Identifier.
pub const ID: &str = "channel-in-softmax";

/// The conjecture.
pub struct ChannelInSoftmax;

/// A channel as JSON in the interchange layout (`s6_channel`, rows of `"p/q"`).
pub fn channel_json(ch: &Channel<Exact>) -> Value {
    let n = ch.state();
    json!({
        "kind": "s6_channel", "field": "rational", "len": ch.len(), "state": n,
        "a_bar": exact_rows(ch.abar_all(), n), "b_bar": exact_rows(ch.bbar_all(), n), "c": exact_rows(ch.c_all(), n),
    })
}

/// The same channel as floats.
pub fn channel_float_json(ch: &Channel<Exact>) -> Value {
    let n = ch.state();
    json!({
        "kind": "s6_channel", "field": "f64", "len": ch.len(), "state": n,
        "a_bar": float_rows(ch.abar_all(), n), "b_bar": float_rows(ch.bbar_all(), n), "c": float_rows(ch.c_all(), n),
    })
}

/// Parse a channel written by [`channel_json`].
///
/// # Errors
/// A message naming the field.
pub fn channel_from_json(v: &Value, field: &str) -> Result<Channel<Exact>, String> {
    let mut parts = Vec::new();
    let mut shape = None;
    for k in ["a_bar", "b_bar", "c"] {
        let (data, rows, cols) = parse_rows(
            v.get(k).ok_or(format!("{field}.{k}: missing"))?,
            &format!("{field}.{k}"),
        )?;
        if *shape.get_or_insert((rows, cols)) != (rows, cols) {
            return Err(format!("{field}.{k}: shape {rows}×{cols} differs from a_bar's"));
        }
        parts.push(data);
    }
    let (l, n) = shape.unwrap_or((0, 0));
    let c = parts.pop().unwrap_or_default();
    let b = parts.pop().unwrap_or_default();
    let a = parts.pop().unwrap_or_default();
    Channel::new(l, n, a, b, c).map_err(|e| format!("{field}: {e}"))
}

impl Conjecture for ChannelInSoftmax {
    type Case = Channel<Exact>;
    fn id(&self) -> &'static str {
        ID
    }
    fn theorem(&self) -> &'static str {
        "T6"
    }
    fn statement(&self, p: &Params) -> String {
        format!(
            "every S6 channel with L ≤ {}, N ≤ {} has a hidden attention matrix α̃ equal to some causal softmax head's matrix",
            p.len, p.state
        )
    }
    fn strategy(&self, p: &Params) -> BoxedStrategy<Self::Case> {
        strategies::rational_channel_with_input(1..=p.len.max(1), 1..=p.state.max(1))
            .prop_map(|(c, _)| c)
            .boxed()
    }
    fn check(&self, ch: &Self::Case, _: &Params) -> Result<(), Refutation> {
        let a = hidden_attention(ch).expect("exact α̃ of a valid channel");
        let certificate = (0..ch.len())
            .find_map(|i| {
                (0..=i)
                    .find(|&j| a.get(i, j).class() == crate::scalar::Class::Zero || a.get(i, j) < &Exact::from_integer(0.into()))
                    .map(|j| json!({"kind": "nonpositive_entry", "row": i, "col": j, "value": exact_json(a.get(i, j))}))
            })
            .or_else(|| {
                (0..ch.len()).find_map(|i| {
                    let s = a.row(i).iter().fold(Exact::from_integer(0.into()), |s, x| s + x);
                    (s != Exact::from_integer(1.into()))
                        .then(|| json!({"kind": "row_sum", "row": i, "sum": exact_json(&s)}))
                })
            });
        match certificate {
            None => Ok(()),
            Some(certificate) => Err(Refutation {
                case: channel_json(ch),
                case_float: channel_float_json(ch),
                certificate,
                measured: Default::default(),
            }),
        }
    }
    fn verify(&self, case: &Value, cert: &Value, _: &Params) -> Result<String, String> {
        let ch = channel_from_json(case, "counterexample")?;
        let a = hidden_attention(&ch).map_err(|e| e.to_string())?;
        let idx = |k: &str| {
            cert.get(k)
                .and_then(Value::as_u64)
                .map(|v| v as usize)
                .ok_or(format!("certificate.{k}: missing or not an index"))
        };
        let claimed = |k: &str| {
            cert.get(k)
                .and_then(Value::as_str)
                .and_then(parse_exact)
                .ok_or(format!("certificate.{k}: missing or not a rational \"p/q\""))
        };
        let i = idx("row")?;
        if i >= ch.len() {
            return Err(format!("certificate.row: {i} is outside L = {}", ch.len()));
        }
        match cert.get("kind").and_then(Value::as_str) {
            Some("nonpositive_entry") => {
                let j = idx("col")?;
                if j > i {
                    return Err(format!("certificate.col: ({i}, {j}) is above the diagonal"));
                }
                let v = claimed("value")?;
                if &v != a.get(i, j) {
                    return Err(format!(
                        "certificate.value: {v} differs from α̃[{i}][{j}] = {} recomputed from the counterexample",
                        a.get(i, j)
                    ));
                }
                if v > Exact::from_integer(0.into()) {
                    return Err(format!("certificate.value: α̃[{i}][{j}] = {v} is positive"));
                }
                Ok(format!(
                    "α̃[{i}][{j}] = {v} ≤ 0, but every causal softmax matrix is positive on and below the diagonal (T6a)"
                ))
            }
            Some("row_sum") => {
                let s = claimed("sum")?;
                let actual = a.row(i).iter().fold(Exact::from_integer(0.into()), |acc, x| acc + x);
                if s != actual {
                    return Err(format!("certificate.sum: {s} differs from the recomputed row sum {actual}"));
                }
                if s == Exact::from_integer(1.into()) {
                    return Err(format!("certificate.sum: row {i} sums to 1"));
                }
                Ok(format!("row {i} of α̃ sums to {s} ≠ 1, but softmax rows sum to 1 (T6a)"))
            }
            other => Err(format!("certificate.kind: unknown kind {other:?}")),
        }
    }
}

//! `channel-in-softmax`: "every channel's α̃ is some causal softmax head's matrix".
//!
//! False, and refuted by an exact certificate (T6a; Coq: `t6_negative_entry_not_softmax`,
//! `t6_row_sum_not_softmax`): a causal softmax head's matrix has *positive* entries on and
//! below the diagonal and rows summing to 1, so an entry `$\tilde\alpha_{ij} \le 0$` (`$j\le i$`)
//! or a row sum `$\ne 1$` rules every softmax head out.

use proptest::strategy::{BoxedStrategy, Strategy};
use serde_json::{json, Value};

use super::json::{fits, short_exact};
use super::{
    cert_exact, cert_index, exact_doc, float_doc, parse_doc, Conjecture, Params, Refutation,
};
use crate::interchange::Object;
use crate::report::exact_json;
use crate::scalar::{Exact, Field};
use crate::ssm::{attention_matrix, Channel};
use crate::strategies;

/// Identifier.
pub const ID: &str = "channel-in-softmax";

/// The conjecture.
pub struct ChannelInSoftmax;

/// The exact channel of a counterexample document.
///
/// # Errors
/// A message naming the field.
pub fn channel_of(v: &Value) -> Result<Channel<Exact>, String> {
    match parse_doc(v, "counterexample")? {
        Object::Channel(c) => Ok(c),
        _ => Err("counterexample.kind: expected an s6_channel".into()),
    }
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
    fn case_json(&self, ch: &Self::Case, _: &Params) -> (Value, Value) {
        (
            exact_doc(Object::Channel(ch.clone())),
            float_doc(Object::Channel(ch.clone())),
        )
    }
    fn parse_case(&self, case: &Value, p: &Params) -> Result<Self::Case, String> {
        let ch = channel_of(case)?;
        fits(ch.len(), ch.state(), p)?;
        Ok(ch)
    }
    fn check(&self, ch: &Self::Case, _: &Params) -> Result<(), Refutation> {
        let a = attention_matrix(ch).expect("exact α̃ of a valid channel");
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
            Some(certificate) => Err(Refutation::proof(certificate)),
        }
    }
    fn verify(&self, case: &Value, cert: &Value, _: &Params) -> Result<String, String> {
        let ch = channel_of(case)?;
        let a = attention_matrix(&ch).map_err(|e| e.to_string())?;
        let idx = |k: &str| cert_index(cert, k);
        let claimed = |k: &str| cert_exact(cert, k);
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
                        "certificate.value: {} differs from α̃[{i}][{j}] = {} recomputed from the counterexample",
                        short_exact(&v),
                        short_exact(a.get(i, j))
                    ));
                }
                if v > Exact::from_integer(0.into()) {
                    return Err(format!(
                        "certificate.value: α̃[{i}][{j}] = {} is positive",
                        short_exact(&v)
                    ));
                }
                Ok(format!(
                    "α̃[{i}][{j}] = {} ≤ 0, but every causal softmax matrix is positive on and below the diagonal (T6a)",
                    short_exact(&v)
                ))
            }
            Some("row_sum") => {
                let s = claimed("sum")?;
                let actual = a
                    .row(i)
                    .iter()
                    .fold(Exact::from_integer(0.into()), |acc, x| acc + x);
                if s != actual {
                    return Err(format!(
                        "certificate.sum: {} differs from the recomputed row sum {}",
                        short_exact(&s),
                        short_exact(&actual)
                    ));
                }
                if s == Exact::from_integer(1.into()) {
                    return Err(format!("certificate.sum: row {i} sums to 1"));
                }
                Ok(format!(
                    "row {i} of α̃ sums to {} ≠ 1, but softmax rows sum to 1 (T6a)",
                    short_exact(&s)
                ))
            }
            other => Err(format!("certificate.kind: unknown kind {other:?}")),
        }
    }
}

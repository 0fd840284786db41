//! `ssd-head-of-channel`: "every diagonal (Mamba-1) channel of state `$N$` is an SSD
//! (Mamba-2) head of state `$N$`" (T12).
//!
//! True when no transition entry at a step `$\ge 1$` is zero (T12 (b):
//! [`crate::family::ssd::realise::channel_to_ssd`]), false in general: the certificate of
//! T12 (c) ([`SsdObstruction`], proof in [`crate::family::ssd::realise`]) — a nonzero
//! entry `$\tilde\alpha_{ts}$`, `$s < t$`, and `$N+1$` indices in `$[s, t]$` on which `$\tilde\alpha$`
//! is diagonal with nonzero diagonal — proves that no SSD head of state `$N$` has the
//! channel's hidden attention. The smallest example has `$N = 2$`, `$L = 4$`.

use proptest::prelude::*;
use serde_json::{json, Value};

use super::json::fits;
use super::{exact_doc, float_doc, Conjecture, Params, Refutation};
use crate::family::ssd::realise::{find_obstruction, SsdObstruction};
use crate::interchange::Object;
use crate::report::exact_json;
use crate::scalar::{ratio, Exact};
use crate::ssm::{attention_matrix, Channel};
use crate::strategies;

/// Identifier.
pub const ID: &str = "ssd-head-of-channel";

/// The conjecture.
pub struct SsdHeadOfChannel;

/// Candidate channels: state `$N$` = `state` (a certificate for state `$N$` needs a channel
/// of state `$N$`; state 1 is always an SSD head), `$L \in [\lceil len/2\rceil, len]$`, per
/// state coordinate a mode — transitions all 0, all 1, or drawn (0 and 1 likely) — and
/// sparse `$\bar B$`, `$C$` (0 one time in two), so that zero transitions and isolated
/// long-range entries, the ingredients of a certificate, occur.
fn candidates(len: usize, state: usize) -> BoxedStrategy<Channel<Exact>> {
    let sparse = || prop_oneof![1 => Just(ratio(0, 1)), 1 => strategies::small_rational()];
    let len = len.max(1);
    (len.div_ceil(2)..=len, state.max(1)..=state.max(1))
        .prop_flat_map(move |(l, n)| {
            (
                proptest::collection::vec(0u8..3, n),
                proptest::collection::vec(strategies::transition_value(), l * n),
                proptest::collection::vec(sparse(), l * n),
                proptest::collection::vec(sparse(), l * n),
            )
                .prop_map(move |(mode, a, b, c)| {
                    let a = (0..l * n)
                        .map(|i| match mode[i % n] {
                            0 => ratio(0, 1),
                            1 => ratio(1, 1),
                            _ => a[i].clone(),
                        })
                        .collect();
                    Channel::new(l, n, a, b, c).expect("sizes match by construction")
                })
        })
        .boxed()
}

impl Conjecture for SsdHeadOfChannel {
    type Case = Channel<Exact>;
    fn id(&self) -> &'static str {
        ID
    }
    fn theorem(&self) -> &'static str {
        "T12"
    }
    fn statement(&self, p: &Params) -> String {
        format!(
            "every diagonal channel with L ≤ {}, N ≤ {} has the hidden attention α̃ of some SSD (Mamba-2) head of the same state N",
            p.len, p.state
        )
    }
    fn strategy(&self, p: &Params) -> BoxedStrategy<Self::Case> {
        candidates(p.len, p.state)
    }
    fn case_json(&self, ch: &Self::Case, _: &Params) -> (Value, Value) {
        (
            exact_doc(Object::Channel(ch.clone())),
            float_doc(Object::Channel(ch.clone())),
        )
    }
    fn parse_case(&self, case: &Value, p: &Params) -> Result<Self::Case, String> {
        let ch = super::channel_in_softmax::channel_of(case)?;
        fits(ch.len(), ch.state(), p)?;
        Ok(ch)
    }
    fn check(&self, ch: &Self::Case, _: &Params) -> Result<(), Refutation> {
        let a = attention_matrix(ch).expect("exact α̃ of a valid channel");
        match find_obstruction(&a, ch.state()) {
            None => Ok(()),
            Some(cert) => Err(Refutation::proof(certificate(&cert, &a))),
        }
    }
    fn verify(&self, case: &Value, cert: &Value, p: &Params) -> Result<String, String> {
        let ch = self.parse_case(case, p)?;
        let a = attention_matrix(&ch).map_err(|e| e.to_string())?;
        let obstruction: SsdObstruction = serde_json::from_value(json!({
            "state": cert.get("state").cloned().unwrap_or(Value::Null),
            "t": cert.get("t").cloned().unwrap_or(Value::Null),
            "s": cert.get("s").cloned().unwrap_or(Value::Null),
            "indices": cert.get("indices").cloned().unwrap_or(Value::Null),
        }))
        .map_err(|e| format!("certificate: {e}"))?;
        if obstruction.state != ch.state() {
            return Err(format!(
                "certificate.state: {} is not the channel's state N = {}",
                obstruction.state,
                ch.state()
            ));
        }
        let recomputed = certificate(&obstruction, &a);
        for key in ["corner", "diagonal"] {
            if cert.get(key) != recomputed.get(key) {
                return Err(format!(
                    "certificate.{key}: differs from the value recomputed from the counterexample ({})",
                    recomputed[key]
                ));
            }
        }
        obstruction
            .verify(&a)
            .map_err(|e| format!("certificate: {e}"))
    }
}

/// The certificate as JSON: the obstruction and, for the reader, the values it rests on
/// (`$\tilde\alpha_{ts}$` and the diagonal entries), exactly.
fn certificate(c: &SsdObstruction, a: &crate::tensor::Matrix<Exact>) -> Value {
    json!({
        "kind": "ssd_state_obstruction",
        "state": c.state,
        "t": c.t,
        "s": c.s,
        "indices": c.indices,
        "corner": exact_json(a.get(c.t.min(a.rows().saturating_sub(1)), c.s.min(a.rows().saturating_sub(1)))),
        "diagonal": c.indices.iter().filter(|&&i| i < a.rows()).map(|&i| exact_json(a.get(i, i))).collect::<Vec<_>>(),
        "explanation": format!(
            "α̃[{}][{}] ≠ 0 and α̃ restricted to {:?} is diagonal with nonzero diagonal: no SSD head of state {} (T12c)",
            c.t, c.s, c.indices, c.state
        ),
    })
}

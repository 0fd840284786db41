//! A program of one's own conjectures, served on the command line like `hattn refute` and
//! `hattn replay`:
//!
//! ```text
//! cargo run --example conjectures -- refute nonnegative-diagonal --len 3 --state 2 --out r/
//! cargo run --example conjectures -- replay r/report.json
//! ```
//!
//! The reports it writes name these commands under *Reproduce*, and show only the
//! parameters the conjecture uses.

use std::process::ExitCode;

use hidden_attention::refute::{
    case_docs, cli, json, parse_case_doc, BoxedStrategy, Conjecture, Parameter, Params, Refutation,
    Strategy, Value,
};
use hidden_attention::scalar::Exact;
use hidden_attention::{ssm, strategies};

/// "Every channel's α̃ has a nonnegative diagonal" — false: `C_t·B̄_t` can be negative (T1).
pub struct NonnegativeDiagonal;

impl NonnegativeDiagonal {
    /// The first step whose diagonal entry α̃_tt = C_t·B̄_t is negative.
    fn negative_diagonal(ch: &ssm::Channel<Exact>) -> Result<Option<(usize, Exact)>, String> {
        let a = ssm::attention_matrix(ch).map_err(|e| e.to_string())?;
        let zero = Exact::from_integer(0.into());
        Ok((0..ch.len())
            .find(|&t| *a.get(t, t) < zero)
            .map(|t| (t, a.get(t, t).clone())))
    }
}

impl Conjecture for NonnegativeDiagonal {
    type Case = ssm::Channel<Exact>;
    fn id(&self) -> &'static str {
        "nonnegative-diagonal"
    }
    fn theorem(&self) -> &'static str {
        "T1"
    }
    fn statement(&self, p: &Params) -> String {
        format!(
            "α̃_tt ≥ 0 for every channel with L ≤ {}, N ≤ {}",
            p.len, p.state
        )
    }
    fn parameters(&self) -> &'static [Parameter] {
        &[Parameter::Len, Parameter::State]
    }
    fn program(&self) -> &'static str {
        "cargo run --example conjectures --"
    }
    fn strategy(&self, p: &Params) -> BoxedStrategy<Self::Case> {
        strategies::rational_channel(1..=p.len, 1..=p.state).boxed()
    }
    fn case_json(&self, ch: &Self::Case, _: &Params) -> (Value, Value) {
        case_docs(ch)
    }
    fn parse_case(&self, v: &Value, p: &Params) -> Result<Self::Case, String> {
        let ch: Self::Case = parse_case_doc(v, "counterexample")?;
        json::fits(ch.len(), ch.state(), p)?;
        Ok(ch)
    }
    fn check(&self, ch: &Self::Case, _: &Params) -> Result<(), Refutation> {
        match Self::negative_diagonal(ch) {
            Ok(None) => Ok(()),
            Ok(Some((t, v))) => Err(Refutation::proof(
                hidden_attention::refute::json!({"step": t, "value": v.to_string()}),
            )),
            // An overflow cannot happen over the rationals; report it as unproven.
            Err(e) => Err(Refutation::new(
                hidden_attention::refute::json!({"reason": e}),
                hidden_attention::refute::Strength::Candidate,
            )),
        }
    }
    fn verify(&self, case: &Value, cert: &Value, p: &Params) -> Result<String, String> {
        // Everything is recomputed from the case; the certificate must name the first
        // negative diagonal entry and its exact value.
        let ch = self.parse_case(case, p)?;
        let step = cert["step"].as_u64().ok_or("certificate.step: missing")? as usize;
        let (t, v) = Self::negative_diagonal(&ch)?
            .ok_or("certificate.step: no diagonal entry is negative")?;
        if step != t {
            return Err(format!(
                "certificate.step: {step} is not the first negative diagonal entry ({t})"
            ));
        }
        if cert["value"].as_str() != Some(&v.to_string()) {
            return Err(format!("certificate.value: α̃[{t}][{t}] is {v}"));
        }
        Ok(format!("α̃[{t}][{t}] = C·B̄ = {v} < 0"))
    }
}

fn main() -> ExitCode {
    cli::run(&[&NonnegativeDiagonal], std::env::args().skip(1))
}

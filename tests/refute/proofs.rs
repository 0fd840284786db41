//! The certificates of `paper-approx` and `mamba-strict-linear-attention` are proofs
//! (rigorous enclosures), consistent with the float implementations and the proven
//! bounds; evidence is reported as evidence.

use std::sync::atomic::AtomicBool;

use hidden_attention::construct::approximation::exact_attention;
use hidden_attention::refute::mamba_strict::MambaStrict;
use hidden_attention::refute::paper_approx::PaperApprox;
use hidden_attention::refute::{
    replay, replay_builtin, search, search_builtin, Conjecture, Params, Refutation, Strength,
};
use hidden_attention::report::Outcome;
use hidden_attention::scalar::{parse_exact, Exact, Field};
use proptest::strategy::{BoxedStrategy, Just, Strategy};
use serde_json::{json, Value};

fn run(id: &str, p: &Params) -> hidden_attention::report::Report {
    search_builtin(id, p, &AtomicBool::new(false), || {}).unwrap()
}

fn end(cert: &Value, key: &str, e: &str) -> Exact {
    parse_exact(cert[key][e].as_str().unwrap()).unwrap()
}

fn tight(cert: &Value, key: &str) -> bool {
    let (lo, hi) = (end(cert, key, "lo"), end(cert, key, "hi"));
    let scale = lo
        .abs_val()
        .max(hi.abs_val())
        .max(Exact::new(1.into(), (1u64 << 60).into()));
    (hi - lo) <= scale * Exact::new(1.into(), num_bigint::BigInt::from(1u8) << 100)
}

#[test]
fn paper_approx_certificate_is_an_interval_proof() {
    let p = Params {
        len: 4,
        state: 2,
        eps: 1e-3,
        ..Params::default()
    };
    let r = run("paper-approx", &p);
    assert_eq!(r.outcome, Outcome::Counterexample, "{r:?}");
    let back = replay_builtin(&r).unwrap();
    assert_eq!(back.outcome, Outcome::Counterexample);
    let cert = r.certificate.as_ref().unwrap();
    assert_eq!(cert["kind"], "approximation_gap");
    // The gap's lower end is above ε: a proof, not a float comparison with an allowance.
    assert!(end(cert, "gap", "lo") > p.eps.to_exact(), "{cert}");
    // T7 (proven) bounds the gap: lower end of the gap ≤ upper end of the bound.
    assert!(
        end(cert, "gap", "lo") <= end(cert, "t7_bound", "hi"),
        "{cert}"
    );
    for key in ["alpha", "approx", "gap", "t7_bound"] {
        assert!(tight(cert, key), "{key}: {cert}");
    }
    // The f64 implementation of α̃ lies within a few ulps of the enclosure.
    let case = PaperApprox
        .parse_case(r.counterexample.as_ref().unwrap(), &p)
        .unwrap();
    let (i, j) = (
        cert["row"].as_u64().unwrap() as usize,
        cert["col"].as_u64().unwrap() as usize,
    );
    let f = *exact_attention(&case).unwrap().get(i, j);
    let mid = ((end(cert, "alpha", "lo") + end(cert, "alpha", "hi"))
        / Exact::from_integer(2.into()))
    .to_f64();
    assert!((f - mid).abs() <= 1e-12 * (1.0 + mid.abs()), "{f} vs {mid}");
    assert_eq!(r.measured["gap"], {
        let g = (end(cert, "gap", "lo") + end(cert, "gap", "hi")) / Exact::from_integer(2.into());
        g.to_f64()
    });
    assert!(r.to_markdown().contains("**Proof.**"));
    assert!(!r.to_markdown().contains("allowance"));
    // The conjecture's own `verify` (without replay's field-by-field recomputation) holds
    // on the certificate and rejects each interval moved by a tiny amount, naming it.
    let case_json = r.counterexample.as_ref().unwrap();
    assert!(PaperApprox.verify(case_json, cert, &p).is_ok());
    for key in ["alpha", "approx", "gap", "t7_bound"] {
        let mut bad = cert.clone();
        let hi = end(cert, key, "hi") + Exact::new(1.into(), (1u64 << 62).into());
        bad[key]["hi"] = json!(hi.to_string());
        let e = PaperApprox.verify(case_json, &bad, &p).unwrap_err();
        assert!(e.starts_with(&format!("certificate.{key}")), "{key}: {e}");
    }
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
    let r = run("mamba-strict-linear-attention", &p);
    assert_eq!(r.outcome, Outcome::Counterexample, "{r:?}");
    assert_eq!(replay_builtin(&r).unwrap().outcome, Outcome::Counterexample);
    let cert = r.certificate.as_ref().unwrap();
    assert!(end(cert, "gap", "lo") > p.eps.to_exact());
    // T3's bound (proven) holds: the gap is at most the bound.
    assert!(
        end(cert, "gap", "hi") <= end(cert, "t3_bound", "hi"),
        "{cert}"
    );
    assert!(r.measured["gap"] > 1e-3 && r.measured["gap"] <= r.measured["t3_bound"]);
    // The f64 S6 layer of `to_mamba` agrees with the exact-arithmetic layer to ~1e-12.
    let (layer, x) = MambaStrict
        .parse_case(r.counterexample.as_ref().unwrap(), &p)
        .unwrap();
    let (i, c) = (
        cert["row"].as_u64().unwrap() as usize,
        cert["coord"].as_u64().unwrap() as usize,
    );
    let s6 = layer.to_mamba(p.delta, 1.0).unwrap().output(&x).unwrap();
    let enclosed = r.measured["s6"];
    assert!((s6.get(i, c) - enclosed).abs() <= 1e-12 * (1.0 + enclosed.abs()));
    p.delta = 1e-7;
    p.cases = 64;
    assert_eq!(
        run("mamba-strict-linear-attention", &p).outcome,
        Outcome::NoneFound
    );
}

/// A conjecture whose violations are only evidence.
struct Undecided;

impl Conjecture for Undecided {
    type Case = u8;
    fn id(&self) -> &'static str {
        "undecided"
    }
    fn theorem(&self) -> &'static str {
        "T7"
    }
    fn statement(&self, _: &Params) -> String {
        "every byte is small".into()
    }
    fn strategy(&self, _: &Params) -> BoxedStrategy<u8> {
        Just(200u8).boxed()
    }
    fn case_json(&self, c: &u8, _: &Params) -> (Value, Value) {
        (json!({"byte": c.to_string()}), json!({"byte": *c as f64}))
    }
    fn parse_case(&self, v: &Value, _: &Params) -> Result<u8, String> {
        v["byte"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .ok_or("counterexample.byte: not a byte".into())
    }
    fn check(&self, c: &u8, _: &Params) -> Result<(), Refutation> {
        if *c > 100 {
            Err(Refutation::new(
                json!({"kind": "big", "byte": c}),
                Strength::Evidence,
            ))
        } else {
            Ok(())
        }
    }
    fn verify(&self, _: &Value, cert: &Value, _: &Params) -> Result<String, String> {
        Ok(format!("byte {} looks big (evidence only)", cert["byte"]))
    }
}

#[test]
fn evidence_is_its_own_outcome() {
    let r = search(&Undecided, &Params::default());
    assert_eq!(r.outcome, Outcome::Evidence);
    assert!(r.to_markdown().contains("Evidence, not a proof"));
    let back = replay(&Undecided, &r).unwrap();
    assert_eq!(back.outcome, Outcome::Evidence);
    // Claiming a proof for it is rejected.
    let mut claimed = r.clone();
    claimed.outcome = Outcome::Counterexample;
    assert_eq!(
        replay(&Undecided, &claimed).unwrap_err().field().as_deref(),
        Some("outcome")
    );
}

//! `paper-approx`: "the paper's ReLU approximation $\hat\alpha = \tilde Q\tilde H\tilde K$
//! of $\tilde\alpha$ is within ε" (T7).
//!
//! Certificate: an entry where $|\tilde\alpha_{ij} - \hat\alpha_{ij}|$, both computed in
//! f64, exceeds ε by more than the float rounding allowance $8(L+N+8)\,2u\cdot m_{ij}$
//! (with $m$ the magnitude of [`magnitude`], the same allowance as the T7 check). The
//! re-check recomputes both values from the exact case; it assumes the platform's `exp`
//! and `log1p` are faithfully rounded (error < 1 ulp), as IEEE libms are.

use proptest::strategy::{BoxedStrategy, Strategy};
use serde_json::{json, Value};

use super::{cert_index, Conjecture, Params, Refutation};
use crate::construct::approximation::{
    exact_attention, magnitude, relu_approximation, relu_bound, Preactivated,
};
use crate::report::exact_json;
use crate::scalar::{lift, parse_exact, Field};
use crate::strategies;

/// Identifier.
pub const ID: &str = "paper-approx";

/// The conjecture.
pub struct PaperApprox;

fn case_json(p: &Preactivated<f64>, exact: bool) -> Value {
    let n = p.state();
    let num = |v: &f64| {
        if exact {
            exact_json(&lift(*v).expect("finite"))
        } else {
            json!(v)
        }
    };
    let rows = |d: &[f64]| {
        Value::Array(
            d.chunks(n.max(1))
                .map(|r| Value::Array(r.iter().map(num).collect()))
                .collect(),
        )
    };
    json!({
        "kind": "preactivated_channel", "field": if exact { "rational" } else { "f64" },
        "len": p.len(), "state": n,
        "z": p.z.iter().map(num).collect::<Vec<_>>(), "a": p.a.iter().map(num).collect::<Vec<_>>(),
        "b": rows(&p.b), "c": rows(&p.c),
    })
}

fn case_from_json(v: &Value) -> Result<Preactivated<f64>, String> {
    let num = |x: &Value, f: &str| -> Result<f64, String> {
        let e = x
            .as_str()
            .and_then(parse_exact)
            .ok_or(format!("{f}: not a rational \"p/q\""))?;
        let d = e.to_f64();
        if lift(d).as_ref() != Some(&e) {
            return Err(format!("{f}: {e} is not an f64 value"));
        }
        Ok(d)
    };
    let flat = |k: &str, nested: bool| -> Result<Vec<f64>, String> {
        let arr = v
            .get(k)
            .and_then(Value::as_array)
            .ok_or(format!("counterexample.{k}: missing"))?;
        let mut out = Vec::new();
        for (i, x) in arr.iter().enumerate() {
            if nested {
                for (j, y) in x
                    .as_array()
                    .ok_or(format!("counterexample.{k}[{i}]: not a row"))?
                    .iter()
                    .enumerate()
                {
                    out.push(num(y, &format!("counterexample.{k}[{i}][{j}]"))?);
                }
            } else {
                out.push(num(x, &format!("counterexample.{k}[{i}]"))?);
            }
        }
        Ok(out)
    };
    let p = Preactivated {
        z: flat("z", false)?,
        a: flat("a", false)?,
        b: flat("b", true)?,
        c: flat("c", true)?,
    };
    let (l, n) = (p.z.len(), p.a.len());
    if p.b.len() != l * n || p.c.len() != l * n {
        return Err(format!("counterexample.b/c: expected {l}×{n} rows"));
    }
    Ok(p)
}

/// The gap at the first entry (row-major) beyond ε plus the rounding allowance.
fn first_gap(p: &Preactivated<f64>, eps: f64) -> Result<Option<Value>, String> {
    let exact = exact_attention(p).map_err(|e| e.to_string())?;
    let approx = relu_approximation(p).map_err(|e| e.to_string())?;
    let bound = relu_bound(p).map_err(|e| e.to_string())?;
    let mag = magnitude(p);
    let allowance = 8.0 * (p.len() + p.state() + 8) as f64 * 2.0 * f64::unit_roundoff();
    for i in 0..p.len() {
        for j in 0..=i {
            let gap = (exact.get(i, j) - approx.get(i, j)).abs();
            let slack = allowance * mag.get(i, j);
            if gap - slack > eps {
                return Ok(Some(json!({
                    "kind": "approximation_gap", "row": i, "col": j,
                    "exact_f64": exact.get(i, j), "approx_f64": approx.get(i, j),
                    "gap": gap, "rounding_allowance": slack, "t7_bound": bound.get(i, j),
                })));
            }
        }
    }
    Ok(None)
}

impl Conjecture for PaperApprox {
    type Case = Preactivated<f64>;
    fn id(&self) -> &'static str {
        ID
    }
    fn theorem(&self) -> &'static str {
        "T7"
    }
    fn statement(&self, p: &Params) -> String {
        format!(
            "for Mamba-like channels with L ≤ {}, N ≤ {}, the ReLU approximation α̂ = Q̃H̃K̃ satisfies |α̃ − α̂|_ij ≤ ε = {:e} for every j ≤ i",
            p.len, p.state, p.eps
        )
    }
    fn strategy(&self, p: &Params) -> BoxedStrategy<Self::Case> {
        strategies::preactivated::<f64>(1..=p.len.max(1), 1..=p.state.max(1)).boxed()
    }
    fn check(&self, case: &Self::Case, p: &Params) -> Result<(), Refutation> {
        match first_gap(case, p.eps) {
            Ok(None) => Ok(()),
            Ok(Some(certificate)) => {
                let mut measured = std::collections::BTreeMap::new();
                for k in ["gap", "t7_bound", "rounding_allowance"] {
                    measured.insert(k.to_string(), certificate[k].as_f64().unwrap_or(f64::NAN));
                }
                Err(Refutation {
                    case: case_json(case, true),
                    case_float: case_json(case, false),
                    certificate,
                    measured,
                    certified: true,
                })
            }
            // Invalid parameters are not counterexamples; the strategy never produces them.
            Err(_) => Ok(()),
        }
    }
    fn verify(&self, case: &Value, cert: &Value, p: &Params) -> Result<String, String> {
        let pre = case_from_json(case)?;
        let (i, j) = (cert_index(cert, "row")?, cert_index(cert, "col")?);
        if i >= pre.len() || j > i {
            return Err(format!(
                "certificate.row/col: ({i}, {j}) is not on or below the diagonal"
            ));
        }
        let exact = exact_attention(&pre).map_err(|e| e.to_string())?;
        let approx = relu_approximation(&pre).map_err(|e| e.to_string())?;
        let mag = magnitude(&pre);
        let slack =
            8.0 * (pre.len() + pre.state() + 8) as f64 * 2.0 * f64::unit_roundoff() * mag.get(i, j);
        let gap = (exact.get(i, j) - approx.get(i, j)).abs();
        if cert.get("gap").and_then(Value::as_f64) != Some(gap) {
            return Err(format!(
                "certificate.gap: differs from the recomputed {gap:e}"
            ));
        }
        if gap - slack > p.eps {
            Ok(format!(
                "|α̃ − α̂|[{i}][{j}] = {gap:.6e} exceeds ε = {:e} by more than the rounding allowance {slack:.2e} (T7: the ReLU approximation is not exact)",
                p.eps
            ))
        } else {
            Err(format!(
                "certificate: the recomputed gap {gap:e} is within ε + allowance"
            ))
        }
    }
}

//! `mamba-strict-linear-attention`: "a Mamba-parametrised S6 layer with strictly negative
//! $A$ reproduces a given causal linear attention layer within ε at step Δ" (T3).
//!
//! The S6 layer is [`LinearAttentionLayer::to_mamba`] with $A \equiv -1$ and step `--delta`;
//! its error is at most [`linear_limit_bound`] $= O(\Delta)$, so the conjecture holds for
//! small Δ and fails for large Δ. Certificate: an output coordinate where the f64 S6 output
//! differs from the *exact* linear attention output by more than ε plus a rounding
//! allowance $8(3L+N+16)u\sum_j\sum_n|q_{i,n}k_{j,n}v_{j,c}|$.

use proptest::strategy::{BoxedStrategy, Strategy};
use serde_json::{json, Value};

use super::{
    cert_exact, cert_index, exact_matrix_json, parse_exact_matrix, Conjecture, Params, Refutation,
};
use crate::construct::function::{linear_limit_bound, LinearAttentionLayer};
use crate::report::exact_json;
use crate::scalar::{Exact, Field};
use crate::strategies;
use crate::tensor::Matrix;

/// Identifier.
pub const ID: &str = "mamba-strict-linear-attention";

/// The conjecture.
pub struct MambaStrict;

/// $A \equiv -1$.
const A: f64 = 1.0;

struct Gap {
    row: usize,
    coord: usize,
    s6: f64,
    linear: Exact,
    gap: f64,
    allowance: f64,
    bound: f64,
}

fn first_gap(
    layer: &LinearAttentionLayer<f64>,
    x: &Matrix<f64>,
    delta: f64,
    eps: f64,
) -> Result<Option<Gap>, String> {
    let s6 = layer
        .to_mamba(delta, A)
        .map_err(|e| e.to_string())?
        .output(x)
        .map_err(|e| e.to_string())?;
    let exact_layer = LinearAttentionLayer {
        w_q: layer.w_q.map(|v| v.to_exact()),
        w_k: layer.w_k.map(|v| v.to_exact()),
        w_v: layer.w_v.map(|v| v.to_exact()),
    };
    let ex = x.map(|v| v.to_exact());
    let lin = exact_layer.output(&ex).map_err(|e| e.to_string())?;
    let head = layer.head(x).map_err(|e| e.to_string())?;
    let v = layer.values(x);
    let bound = linear_limit_bound(&head, &v, delta, A);
    let (l, n) = (x.rows(), head.dim());
    for i in 0..l {
        for c in 0..v.cols() {
            let mag: f64 = (0..=i)
                .map(|j| {
                    let qk: f64 = head
                        .queries()
                        .row(i)
                        .iter()
                        .zip(head.keys().row(j))
                        .map(|(q, k)| (q * k).abs())
                        .sum();
                    qk * v.get(j, c).abs()
                })
                .sum();
            let allowance = 8.0 * (3 * l + n + 16) as f64 * f64::unit_roundoff() * mag;
            let s = *s6.get(i, c);
            let gap = if s.is_finite() {
                (s.to_exact() - lin.get(i, c)).abs_val().to_f64()
            } else {
                f64::INFINITY
            };
            if gap - allowance > eps {
                return Ok(Some(Gap {
                    row: i,
                    coord: c,
                    s6: s,
                    linear: lin.get(i, c).clone(),
                    gap,
                    allowance,
                    bound: *bound.get(i, c),
                }));
            }
        }
    }
    Ok(None)
}

fn to_f64_matrix(m: &Matrix<Exact>, field: &str) -> Result<Matrix<f64>, String> {
    let f = m.map(|v| v.to_f64());
    if f.map(|v| v.to_exact()) != *m {
        return Err(format!("{field}: entries are not f64 values"));
    }
    Ok(f)
}

impl Conjecture for MambaStrict {
    type Case = (LinearAttentionLayer<f64>, Matrix<f64>);
    fn id(&self) -> &'static str {
        ID
    }
    fn theorem(&self) -> &'static str {
        "T3"
    }
    fn statement(&self, p: &Params) -> String {
        format!(
            "for every causal linear attention layer with L ≤ {}, key dimension ≤ {}, the Mamba-parametrised S6 layer with A = −1 < 0 and Δ = {:e} reproduces its output within ε = {:e}",
            p.len, p.state, p.delta, p.eps
        )
    }
    fn strategy(&self, p: &Params) -> BoxedStrategy<Self::Case> {
        strategies::linear_attention_layer_with_tokens::<f64>(
            1..=p.len.max(1),
            1..=3,
            1..=p.state.max(1),
        )
        .boxed()
    }
    fn check(&self, (layer, x): &Self::Case, p: &Params) -> Result<(), Refutation> {
        match first_gap(layer, x, p.delta, p.eps) {
            Ok(Some(g)) => {
                let ex = |m: &Matrix<f64>| exact_matrix_json(&m.map(|v| v.to_exact()));
                let case = json!({
                    "kind": "linear_attention_layer", "delta": p.delta, "a": -A,
                    "w_q": ex(&layer.w_q), "w_k": ex(&layer.w_k), "w_v": ex(&layer.w_v), "tokens": ex(x),
                });
                let mut measured = std::collections::BTreeMap::new();
                measured.insert("gap".into(), g.gap);
                measured.insert("t3_bound".into(), g.bound);
                Err(Refutation {
                    case_float: Value::Null,
                    case,
                    certificate: json!({
                        "kind": "output_gap", "row": g.row, "coord": g.coord, "s6_f64": g.s6,
                        "linear_exact": exact_json(&g.linear), "gap": g.gap,
                        "rounding_allowance": g.allowance, "t3_bound": g.bound,
                    }),
                    measured,
                    certified: true,
                })
            }
            _ => Ok(()),
        }
    }
    fn verify(&self, case: &Value, cert: &Value, p: &Params) -> Result<String, String> {
        let mat = |k: &str| -> Result<Matrix<f64>, String> {
            let v = case.get(k).ok_or(format!("counterexample.{k}: missing"))?;
            to_f64_matrix(
                &parse_exact_matrix(v, &format!("counterexample.{k}"))?,
                &format!("counterexample.{k}"),
            )
        };
        let layer = LinearAttentionLayer {
            w_q: mat("w_q")?,
            w_k: mat("w_k")?,
            w_v: mat("w_v")?,
        };
        let x = mat("tokens")?;
        let delta = case
            .get("delta")
            .and_then(Value::as_f64)
            .ok_or("counterexample.delta: missing")?;
        if delta != p.delta {
            return Err(format!(
                "counterexample.delta: {delta:e} differs from search.delta = {:e}",
                p.delta
            ));
        }
        let (i, c) = (cert_index(cert, "row")?, cert_index(cert, "coord")?);
        let g = first_gap(&layer, &x, delta, p.eps)?
            .ok_or("certificate: the recomputed S6 output is within ε + allowance everywhere")?;
        if (g.row, g.coord) != (i, c) {
            return Err(format!(
                "certificate.row/coord: the first gap is at ({}, {}), not ({i}, {c})",
                g.row, g.coord
            ));
        }
        if cert_exact(cert, "linear_exact")? != g.linear {
            return Err("certificate.linear_exact: differs from the recomputed exact linear attention output".into());
        }
        Ok(format!(
            "at Δ = {delta:e}, output ({i}, {c}) of the S6 layer is {:.6e} but linear attention gives {:.6e} exactly: gap {:.3e} > ε = {:e} + allowance {:.1e} (T3 bound {:.3e})",
            g.s6,
            g.linear.to_f64(),
            g.gap,
            p.eps,
            g.allowance,
            g.bound
        ))
    }
}

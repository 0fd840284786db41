//! `mamba-strict-linear-attention`: "a Mamba-parametrised S6 layer with strictly negative
//! `$A$` reproduces a given causal linear attention layer within ε at step Δ" (T3).
//!
//! The S6 layer is the one of [`LinearAttentionLayer::to_mamba`] with `$A \equiv -1$`, taken
//! in exact real arithmetic: `$b_\Delta = \mathrm{softplus}^{-1}(\delta)$` makes
//! `$\Delta \equiv \delta$`, `$W_B = W_K/\delta$` makes `$\bar B_t = W_K\hat x_t$`, and
//! `$\bar A = e^{-\delta}$`, so with `$q, k, v$` the linear layer's queries, keys and values
//!
//! ```math
//! y^{\mathrm{S6}}_{i,c} - y^{\mathrm{lin}}_{i,c} = \sum_{j\le i}\langle q_i, k_j\rangle
//! \bigl(e^{-\delta(i-j)} - 1\bigr)\,v_{j,c},
//! ```
//!
//! whose size is at most [`linear_limit_bound`](crate::construct::function::linear_limit_bound)
//! `$= O(\delta)$`. Certificate: an output
//! coordinate whose gap, enclosed in rational interval arithmetic with `$e^{-\delta d}$` by
//! [`exp_interval`] (the case's floats lifted exactly, no floating-point step), lies above
//! ε — a proof; an enclosure that contains ε is reported as **evidence**. An f64 screen
//! (IEEE `+ − ×` only, no `libm`) skips coordinates whose gap is far below ε.

use std::collections::BTreeMap;

use proptest::strategy::{BoxedStrategy, Strategy};
use serde_json::{json, Value};

use super::json::{cert_kind, exact_f64, expect_intervals, fits, float_matrix_json, interval_json};
use super::{
    cert_exact, cert_index, exact_matrix_json, parse_exact_matrix, Conjecture, Params, Refutation,
    Strength,
};
use crate::construct::function::LinearAttentionLayer;
use crate::interval::{exp_interval, Interval};
use crate::report::exact_json;
use crate::scalar::{Exact, Field};
use crate::strategies;
use crate::tensor::Matrix;

/// Identifier.
pub const ID: &str = "mamba-strict-linear-attention";

/// Significant bits of the enclosures.
pub const BITS: u32 = 128;

/// The conjecture.
pub struct MambaStrict;

/// The exact queries, keys and values of the case and the enclosures of `$e^{-\delta d}$`.
struct Prepared {
    q: Matrix<Exact>,
    k: Matrix<Exact>,
    v: Matrix<Exact>,
    decay: Vec<Interval>,
    bits: u32,
}

/// Enclosures at one output coordinate `$(i, c)$`.
struct Gap {
    s6: Interval,
    linear: Exact,
    gap: Interval,
    bound: Interval,
}

impl Prepared {
    fn new(
        layer: &LinearAttentionLayer<f64>,
        x: &Matrix<f64>,
        delta: f64,
        bits: u32,
    ) -> Result<Self, String> {
        let exact = LinearAttentionLayer {
            w_q: layer.w_q.map(|v| v.to_exact()),
            w_k: layer.w_k.map(|v| v.to_exact()),
            w_v: layer.w_v.map(|v| v.to_exact()),
        };
        let ex = x.map(|v| v.to_exact());
        let head = exact.head(&ex).map_err(|e| e.to_string())?;
        if !(delta > 0.0 && delta.is_finite()) {
            return Err(format!("search.delta: Δ = {delta:e} is not finite and > 0"));
        }
        let d = delta.to_exact();
        let decay = (0..x.rows())
            .map(|t| {
                let arg = -(d.clone() * Exact::from_integer(t.into()));
                exp_interval(&Interval::point(arg), bits).expect("e^x for x ≤ 0")
            })
            .collect();
        Ok(Self {
            q: head.queries().clone(),
            k: head.keys().clone(),
            v: exact.values(&ex),
            decay,
            bits,
        })
    }

    /// `$y^{\mathrm{S6}}_{i,c}$`, `$y^{\mathrm{lin}}_{i,c}$`, their gap and the T3 bound
    /// `$\sum_j (1 - e^{-\delta(i-j)})\sum_n|q_{i,n}k_{j,n}||v_{j,c}|$`.
    fn at(&self, i: usize, c: usize) -> Gap {
        let zero = || Exact::from_integer(0.into());
        let one = Interval::point(Exact::from_integer(1.into()));
        let (mut s6, mut linear) = (Interval::point(zero()), zero());
        let (mut diff, mut bound) = (Interval::point(zero()), Interval::point(zero()));
        for j in 0..=i {
            let (qi, kj) = (self.q.row(i), self.k.row(j));
            let qk = qi
                .iter()
                .zip(kj)
                .fold(zero(), |a, (x, y)| a + x.clone() * y);
            let qk_abs = qi
                .iter()
                .zip(kj)
                .fold(zero(), |a, (x, y)| a + (x.clone() * y).abs_val());
            let w = qk * self.v.get(j, c);
            let e = &self.decay[i - j];
            s6 = s6
                .add(&Interval::point(w.clone()).mul(e))
                .round_out(self.bits);
            diff = diff
                .add(&Interval::point(w.clone()).mul(&e.sub(&one)))
                .round_out(self.bits);
            let mag = Interval::point(qk_abs * self.v.get(j, c).abs_val());
            bound = bound.add(&one.sub(e).mul(&mag)).round_out(self.bits);
            linear += &w;
        }
        Gap {
            s6,
            linear,
            gap: diff.abs(),
            bound,
        }
    }
}

/// The first output coordinate (row-major) whose gap lies above ε (a proof), else the
/// first whose enclosure contains ε (evidence).
fn first_gap(
    layer: &LinearAttentionLayer<f64>,
    x: &Matrix<f64>,
    delta: f64,
    eps: f64,
) -> Result<Option<(usize, usize, Gap, Strength)>, String> {
    let prep = Prepared::new(layer, x, delta, BITS)?;
    // An f64 screen without libm (IEEE + − ×, and e^{−δd} from the enclosures) only
    // chooses which coordinates to enclose: those whose f64 gap is below ε by more than
    // 10⁻⁹ of Σ_j |⟨q_i, k_j⟩ v_j| + ε, far beyond the rounding of the screen itself.
    let head = layer.head(x).map_err(|e| e.to_string())?;
    let v = layer.values(x);
    let decay: Vec<f64> = prep.decay.iter().map(|e| e.mid().to_f64()).collect();
    let eps_x = eps.to_exact();
    let mut undecided = None;
    for i in 0..x.rows() {
        for c in 0..prep.v.cols() {
            let (mut gap, mut scale) = (0.0f64, 0.0f64);
            for j in 0..=i {
                let qk: f64 = head
                    .queries()
                    .row(i)
                    .iter()
                    .zip(head.keys().row(j))
                    .map(|(q, k)| q * k)
                    .sum();
                let w = qk * v.get(j, c);
                gap += w * (decay[i - j] - 1.0);
                scale += w.abs();
            }
            if gap.is_finite() && gap.abs() + 1e-9 * (scale + eps) < eps {
                continue;
            }
            let g = prep.at(i, c);
            if g.gap.lo() > &eps_x {
                return Ok(Some((i, c, g, Strength::Proof)));
            }
            if g.gap.hi() > &eps_x && undecided.is_none() {
                undecided = Some((i, c, g, Strength::Evidence));
            }
        }
    }
    Ok(undecided)
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
            "for every causal linear attention layer with L ≤ {}, key dimension ≤ {}, the Mamba-parametrised S6 layer with A = −1 < 0 and Δ = {:e} (b_Δ = softplus⁻¹(Δ), W_B = W_K/Δ, in exact arithmetic) reproduces its output within ε = {:e}",
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
    fn case_json(&self, (layer, x): &Self::Case, p: &Params) -> (Value, Value) {
        let ex = |m: &Matrix<f64>| exact_matrix_json(&m.map(|v| v.to_exact()));
        let exact = json!({
            "kind": "linear_attention_layer", "delta": p.delta, "a": -1,
            "w_q": ex(&layer.w_q), "w_k": ex(&layer.w_k), "w_v": ex(&layer.w_v), "tokens": ex(x),
        });
        let float = json!({
            "kind": "linear_attention_layer", "delta": p.delta, "a": -1,
            "w_q": float_matrix_json(&layer.w_q), "w_k": float_matrix_json(&layer.w_k),
            "w_v": float_matrix_json(&layer.w_v), "tokens": float_matrix_json(x),
        });
        (exact, float)
    }
    fn parse_case(&self, case: &Value, p: &Params) -> Result<Self::Case, String> {
        if case.get("kind").and_then(Value::as_str) != Some("linear_attention_layer") {
            return Err("counterexample.kind: expected linear_attention_layer".into());
        }
        let mat = |k: &str| -> Result<Matrix<f64>, String> {
            let field = format!("counterexample.{k}");
            let v = case.get(k).ok_or(format!("{field}: missing"))?;
            let m = parse_exact_matrix(v, &field)?;
            let mut data = Vec::with_capacity(m.rows() * m.cols());
            for i in 0..m.rows() {
                for j in 0..m.cols() {
                    data.push(exact_f64(m.get(i, j), &format!("{field}[{i}][{j}]"))?);
                }
            }
            Matrix::from_row_major(m.rows(), m.cols(), data).map_err(|e| format!("{field}: {e}"))
        };
        let layer = LinearAttentionLayer {
            w_q: mat("w_q")?,
            w_k: mat("w_k")?,
            w_v: mat("w_v")?,
        };
        let x = mat("tokens")?;
        let width = x.cols();
        for (k, m) in [
            ("w_q", &layer.w_q),
            ("w_k", &layer.w_k),
            ("w_v", &layer.w_v),
        ] {
            if m.cols() != width || m.rows() == 0 {
                return Err(format!(
                    "counterexample.{k}: {}×{} does not act on tokens of width {width}",
                    m.rows(),
                    m.cols()
                ));
            }
        }
        if layer.w_k.rows() != layer.w_q.rows() {
            return Err("counterexample.w_k: not as many rows as w_q".into());
        }
        fits(x.rows(), layer.w_q.rows(), p)?;
        if !(p.delta > 0.0 && p.delta.is_finite()) {
            return Err(format!(
                "search.delta: Δ = {:e} is not finite and > 0",
                p.delta
            ));
        }
        if case.get("delta").and_then(Value::as_f64) != Some(p.delta) {
            return Err(format!(
                "counterexample.delta: differs from search.delta = {:e}",
                p.delta
            ));
        }
        if case.get("a").and_then(Value::as_i64) != Some(-1) {
            return Err("counterexample.a: must be −1".into());
        }
        Ok((layer, x))
    }
    fn check(&self, (layer, x): &Self::Case, p: &Params) -> Result<(), Refutation> {
        match first_gap(layer, x, p.delta, p.eps) {
            Ok(Some((i, c, g, strength))) => {
                let mut measured = BTreeMap::new();
                measured.insert("gap".into(), g.gap.mid().to_f64());
                measured.insert("t3_bound".into(), g.bound.hi().to_f64());
                measured.insert("s6".into(), g.s6.mid().to_f64());
                measured.insert("linear".into(), g.linear.to_f64());
                let certificate = json!({
                    "kind": "output_gap", "row": i, "coord": c, "bits": BITS,
                    "s6": interval_json(&g.s6), "linear": exact_json(&g.linear),
                    "gap": interval_json(&g.gap), "t3_bound": interval_json(&g.bound),
                });
                Err(Refutation::new(certificate, strength).with_measured(measured))
            }
            _ => Ok(()),
        }
    }
    fn verify(&self, case: &Value, cert: &Value, p: &Params) -> Result<String, String> {
        let (layer, x) = self.parse_case(case, p)?;
        cert_kind(cert, &["output_gap"])?;
        let (i, c) = (cert_index(cert, "row")?, cert_index(cert, "coord")?);
        if i >= x.rows() || c >= layer.w_v.rows() {
            return Err(format!(
                "certificate.row/coord: ({i}, {c}) is outside the {}×{} output",
                x.rows(),
                layer.w_v.rows()
            ));
        }
        let bits = cert_index(cert, "bits")? as u32;
        if !(16..=4096).contains(&bits) {
            return Err(format!("certificate.bits: {bits} is not in 16..=4096"));
        }
        let g = Prepared::new(&layer, &x, p.delta, bits)?.at(i, c);
        if cert_exact(cert, "linear")? != g.linear {
            return Err(format!(
                "certificate.linear: differs from the recomputed exact linear attention output {:.6e}",
                g.linear.to_f64()
            ));
        }
        expect_intervals(
            cert,
            &[("s6", &g.s6), ("gap", &g.gap), ("t3_bound", &g.bound)],
        )?;
        let eps = p.eps.to_exact();
        let (lo, hi) = (g.gap.lo().to_f64(), g.gap.hi().to_f64());
        if g.gap.lo() > &eps {
            Ok(format!(
                "at Δ = {:e}, output ({i}, {c}) of the S6 layer is {:.6e} but linear attention gives {:.6e}: gap in [{lo:.6e}, {hi:.6e}] > ε = {:e}, enclosed at {bits} bits (T3 bound {:.3e})",
                p.delta,
                g.s6.mid().to_f64(),
                g.linear.to_f64(),
                p.eps,
                g.bound.hi().to_f64()
            ))
        } else if g.gap.hi() > &eps {
            Ok(format!(
                "evidence only: the enclosure [{lo:.6e}, {hi:.6e}] of the gap at output ({i}, {c}) contains ε = {:e}, so {bits} bits do not decide",
                p.eps
            ))
        } else {
            Err(format!(
                "certificate: the recomputed gap enclosure [{lo:e}, {hi:e}] lies within ε = {:e}",
                p.eps
            ))
        }
    }
}

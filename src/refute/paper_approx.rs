//! `paper-approx`: "the paper's ReLU approximation `$\hat\alpha = \tilde Q\tilde H\tilde K$`
//! of `$\tilde\alpha$` is within ε" (T7).
//!
//! Certificate: an entry `$(i, j)$` and rigorous enclosures, in rational interval arithmetic
//! with outward rounding ([`crate::interval`]), of the exact `$\tilde\alpha_{ij}$` (with
//! `$\Delta_k = \mathrm{softplus}(z_k)$` enclosed by [`softplus_enclosure`] and
//! `$e^{A_n S}$` by [`exp_interval`]), of `$\hat\alpha_{ij}$`, of the gap
//! `$|\tilde\alpha_{ij} - \hat\alpha_{ij}|$` and of the T7 bound. The case's floats are
//! lifted exactly; no floating-point step enters the certificate. The lower end of the gap
//! above ε is a proof; an enclosure that straddles ε is reported as **evidence**. f64
//! arithmetic only chooses which entries to enclose (entries whose f64 gap is below ε by
//! more than `$10^{-9}$` of the magnitude are skipped).

use std::collections::BTreeMap;

use proptest::strategy::{BoxedStrategy, Strategy};
use serde_json::{json, Value};

use super::json::{cert_kind, expect_intervals, fits, interval_json};
use super::{cert_index, Conjecture, Params, Refutation, Strength};
use crate::construct::approximation::{
    exact_attention, magnitude, relu_approximation, Preactivated,
};
use crate::interval::{exp_interval, softplus_enclosure, Interval};
use crate::report::exact_json;
use crate::scalar::{lift, parse_exact, Exact, Field};
use crate::strategies;

/// Identifier.
pub const ID: &str = "paper-approx";

/// Significant bits of the enclosures.
pub const BITS: u32 = 128;

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

/// Rigorous enclosures at one entry `$(i, j)$`, `$j \le i$`.
#[derive(Debug, Clone, PartialEq)]
struct EntryEnclosure {
    /// `$\tilde\alpha_{ij} = \sum_n C_{i,n}B_{j,n}\Delta_j e^{A_n S}$`, `$S = \sum_{k=j+1}^{i}\Delta_k$`.
    alpha: Interval,
    /// `$\hat\alpha_{ij} = \sum_n C_{i,n}B_{j,n}\mathrm{ReLU}(z_j) e^{A_n\hat S}$`,
    /// `$\hat S = \sum_{k=j+1}^{i}\mathrm{ReLU}(z_k)$`.
    approx: Interval,
    /// `$|\tilde\alpha_{ij} - \hat\alpha_{ij}|$`.
    gap: Interval,
    /// The T7 bound of [`crate::construct::approximation::relu_bound`] at `$(i, j)$`.
    t7_bound: Interval,
}

/// Enclose `$\tilde\alpha_{ij}$`, `$\hat\alpha_{ij}$`, their gap and the T7 bound for the exact
/// values of the case's floats (finite: the strategy and `parse_case` ensure it), at
/// `bits` significant bits (T7), for `$j \le i < L$`.
fn enclose_entry(p: &Preactivated<f64>, i: usize, j: usize, bits: u32) -> EntryEnclosure {
    let n = p.state();
    let ex = |v: f64| lift(v).expect("finite case");
    let zero = || Interval::point(Exact::from_integer(0.into()));
    let r = |v: f64| Interval::point(ex(v.max(0.0)));
    let delta: Vec<Interval> = (j..=i)
        .map(|k| softplus_enclosure(&ex(p.z[k]), bits))
        .collect();
    let relu: Vec<Interval> = (j..=i).map(|k| r(p.z[k])).collect();
    let sum = |v: &[Interval]| v.iter().fold(zero(), |a, b| a.add(b).round_out(bits));
    let (s, sh) = (sum(&delta[1..]), sum(&relu[1..]));
    let se = sum(&delta[1..]
        .iter()
        .zip(&relu[1..])
        .map(|(d, r)| d.sub(r))
        .collect::<Vec<_>>());
    let eps_j = delta[0].sub(&relu[0]);
    let (mut alpha, mut approx, mut bound) = (zero(), zero(), zero());
    let one = Interval::point(Exact::from_integer(1.into()));
    for k in 0..n {
        let a = Interval::point(ex(p.a[k]));
        let cb = Interval::point(ex(p.c[i * n + k]) * ex(p.b[j * n + k]));
        // A ≤ 0 and S, Ŝ, S − Ŝ ≥ 0: every argument is ≤ 0, so each enclosure exists.
        let exp = |x: &Interval| exp_interval(&a.mul(x).round_out(bits), bits).expect("x ≤ 0");
        let (e_s, e_sh, e_se) = (exp(&s), exp(&sh), exp(&se));
        alpha = alpha.add(&cb.mul(&delta[0]).mul(&e_s)).round_out(bits);
        approx = approx.add(&cb.mul(&relu[0]).mul(&e_sh)).round_out(bits);
        let term = eps_j
            .mul(&e_s)
            .sub(&relu[0].mul(&e_sh).mul(&e_se.sub(&one)));
        bound = bound.add(&cb.abs().mul(&term)).round_out(bits);
    }
    let gap = alpha.sub(&approx).abs().round_out(bits);
    EntryEnclosure {
        alpha,
        approx,
        gap,
        t7_bound: bound,
    }
}

/// The first entry (row-major) whose gap enclosure lies above ε (a proof), else the first
/// whose enclosure contains ε (evidence), else `None`.
fn first_gap(
    p: &Preactivated<f64>,
    eps: f64,
) -> Result<Option<(usize, usize, EntryEnclosure, Strength)>, String> {
    let exact = exact_attention(p).map_err(|e| e.to_string())?;
    let approx = relu_approximation(p).map_err(|e| e.to_string())?;
    let mag = magnitude(p);
    let eps_x = eps.to_exact();
    let mut undecided = None;
    for i in 0..p.len() {
        for j in 0..=i {
            // f64 only chooses the entries to enclose.
            let gap = (exact.get(i, j) - approx.get(i, j)).abs();
            if gap.is_finite() && gap + 1e-9 * (mag.get(i, j) + eps) < eps {
                continue;
            }
            let enc = enclose_entry(p, i, j, BITS);
            if enc.gap.lo() > &eps_x {
                return Ok(Some((i, j, enc, Strength::Proof)));
            }
            if enc.gap.hi() > &eps_x && undecided.is_none() {
                undecided = Some((i, j, enc, Strength::Evidence));
            }
        }
    }
    Ok(undecided)
}

fn certificate(i: usize, j: usize, enc: &EntryEnclosure) -> Value {
    json!({
        "kind": "approximation_gap", "row": i, "col": j, "bits": BITS,
        "alpha": interval_json(&enc.alpha), "approx": interval_json(&enc.approx),
        "gap": interval_json(&enc.gap), "t7_bound": interval_json(&enc.t7_bound),
    })
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
            "for Mamba-like channels with L ≤ {}, N ≤ {}, the ReLU approximation α̂ = Q̃H̃K̃ satisfies |α̃ − α̂|_ij ≤ ε = {:e} for every j ≤ i (exact α̃ with Δ = PyTorch's softplus)",
            p.len, p.state, p.eps
        )
    }
    fn strategy(&self, p: &Params) -> BoxedStrategy<Self::Case> {
        strategies::preactivated::<f64>(1..=p.len.max(1), 1..=p.state.max(1)).boxed()
    }
    fn case_json(&self, case: &Self::Case, _: &Params) -> (Value, Value) {
        (case_json(case, true), case_json(case, false))
    }
    fn parse_case(&self, case: &Value, p: &Params) -> Result<Self::Case, String> {
        let pre = case_from_json(case)?;
        fits(pre.len(), pre.state(), p)?;
        if let Some(k) = pre.a.iter().position(|&a| a > 0.0) {
            return Err(format!("counterexample.a[{k}]: T7 needs A ≤ 0"));
        }
        Ok(pre)
    }
    fn check(&self, case: &Self::Case, p: &Params) -> Result<(), Refutation> {
        match first_gap(case, p.eps) {
            Ok(Some((i, j, enc, strength))) => {
                let mut measured = BTreeMap::new();
                measured.insert("alpha".into(), enc.alpha.mid().to_f64());
                measured.insert("approx".into(), enc.approx.mid().to_f64());
                measured.insert("gap".into(), enc.gap.mid().to_f64());
                measured.insert("t7_bound".into(), enc.t7_bound.hi().to_f64());
                Err(Refutation::new(certificate(i, j, &enc), strength).with_measured(measured))
            }
            // Invalid parameters are not counterexamples; the strategy never produces them.
            _ => Ok(()),
        }
    }
    fn verify(&self, case: &Value, cert: &Value, p: &Params) -> Result<String, String> {
        let pre = self.parse_case(case, p)?;
        cert_kind(cert, &["approximation_gap"])?;
        let (i, j) = (cert_index(cert, "row")?, cert_index(cert, "col")?);
        if i >= pre.len() || j > i {
            return Err(format!(
                "certificate.row/col: ({i}, {j}) is not on or below the diagonal"
            ));
        }
        let bits = cert_index(cert, "bits")? as u32;
        if !(16..=4096).contains(&bits) {
            return Err(format!("certificate.bits: {bits} is not in 16..=4096"));
        }
        let enc = enclose_entry(&pre, i, j, bits);
        expect_intervals(
            cert,
            &[
                ("alpha", &enc.alpha),
                ("approx", &enc.approx),
                ("gap", &enc.gap),
                ("t7_bound", &enc.t7_bound),
            ],
        )?;
        let eps = p.eps.to_exact();
        let (lo, hi) = (enc.gap.lo().to_f64(), enc.gap.hi().to_f64());
        if enc.gap.lo() > &eps {
            Ok(format!(
                "|α̃ − α̂|[{i}][{j}] ∈ [{lo:.6e}, {hi:.6e}] > ε = {:e}, enclosed at {bits} bits with softplus and exp in rigorous interval arithmetic (T7: the ReLU approximation is not exact; the T7 bound there is {:.6e})",
                p.eps,
                enc.t7_bound.hi().to_f64()
            ))
        } else if enc.gap.hi() > &eps {
            Ok(format!(
                "evidence only: the enclosure [{lo:.6e}, {hi:.6e}] of |α̃ − α̂|[{i}][{j}] contains ε = {:e}, so {bits} bits do not decide",
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::construct::approximation::relu_bound;
    use proptest::prelude::*;

    fn near(iv: &Interval, f: f64) -> bool {
        let m = iv.mid().to_f64();
        (m - f).abs() <= 1e-11 * (1.0 + m.abs())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// Every entry's enclosures agree with the f64 implementations of T7, and the
        /// proven T7 bound holds for the enclosed gap.
        #[test]
        fn enclosures_agree_with_the_float_views(p in strategies::preactivated::<f64>(1..=5, 1..=3)) {
            let (exact, approx) = (exact_attention(&p).unwrap(), relu_approximation(&p).unwrap());
            let bound = relu_bound(&p).unwrap();
            for i in 0..p.len() {
                for j in 0..=i {
                    let e = enclose_entry(&p, i, j, BITS);
                    prop_assert!(near(&e.alpha, *exact.get(i, j)), "α̃ ({i}, {j})");
                    prop_assert!(near(&e.approx, *approx.get(i, j)), "α̂ ({i}, {j})");
                    prop_assert!(near(&e.t7_bound, *bound.get(i, j)), "bound ({i}, {j})");
                    prop_assert!(e.gap.lo() <= e.t7_bound.hi(), "T7 at ({i}, {j})");
                }
            }
        }
    }
}

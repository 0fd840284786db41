//! T8 — SSD unrolling: the scan of an SSD (Mamba-2) head equals `$\tilde\alpha x$` with
//! `$\tilde\alpha_{ts} = (C_t\cdot\bar B_s)\prod_{r=s+1}^{t}a_r$`.
// A failing case returns the whole counterexample by value (as t1 and t2 do).
#![allow(clippy::result_large_err)]

use super::{CaseResult, Counterexample, Theorem};
use crate::family::ssd::{attention_matrix, bound, chunked, scan, SsdHead, SsdLayerInput};
use crate::scalar::{Exact, Field, Real};
use crate::tensor::dot;

/// Statement of T8.
pub const THEOREM: Theorem = Theorem {
    id: "T8",
    statement: "SSD head h_t = a_t h_{t−1} + B̄_t x_t: scan = α̃ x with α̃_ts = (C_t·B̄_s) ∏_{r=s+1}^t a_r (s ≤ t)",
};

/// A counterexample on an SSD head: its channel slot holds the head as the channel
/// `$\bar A_t = a_t\mathbf 1$` (T12), exactly.
pub(crate) fn head_fail(
    theorem: &'static str,
    tier: &'static str,
    what: String,
    head: &SsdHead<Exact>,
    x: &[Exact],
) -> Counterexample {
    Counterexample {
        theorem,
        tier,
        what,
        channel: head.to_channel(),
        input: x.to_vec(),
    }
}

/// Exact check of T8 on one rational case: every entry of [`attention_matrix()`] equals
/// the formula evaluated independently (`$\langle C_t, \bar B_s\rangle$` times the product
/// `$a_{s+1}\cdots a_t$` formed left to right; 0 above the diagonal), and
/// `scan(head, x).y == α̃ · x` (equality of rationals).
pub fn check_exact(case: &(SsdHead<Exact>, Vec<Exact>)) -> CaseResult {
    let (head, x) = case;
    let fail = |what: String| head_fail(THEOREM.id, "exact", what, head, x);
    let y = scan(head, x)
        .map_err(|e| fail(format!("scan failed: {e}")))?
        .y;
    let a = attention_matrix(head).map_err(|e| fail(format!("α̃ failed: {e}")))?;
    let l = head.len();
    for t in 0..l {
        for s in 0..l {
            let want = if s > t {
                Exact::from_integer(0.into())
            } else {
                let mut p = Exact::from_integer(1.into());
                for r in s + 1..=t {
                    p *= head.a(r);
                }
                dot(head.c(t), head.bbar(s)) * p
            };
            if *a.get(t, s) != want {
                return Err(fail(format!(
                    "α̃[{t}][{s}] = {} but (C_t·B̄_s)∏a = {want}",
                    a.get(t, s)
                )));
            }
        }
    }
    let ax = a.mul_vec(x).map_err(|e| fail(e.to_string()))?;
    match y.iter().zip(&ax).position(|(p, q)| p != q) {
        None => Ok(None),
        Some(t) => Err(fail(format!(
            "scan y[{t}] = {} but (α̃ x)[{t}] = {}",
            y[t], ax[t]
        ))),
    }
}

/// Compare float outputs `got` of `view` with the exact output `y` of the lifted case
/// under the exact per-output bounds `bounds` (`None`: no bound). Returns the largest
/// error relative to `$\max_t \mathrm{mag}_t$`.
pub(crate) fn within_bound<T: Field>(
    theorem: &'static str,
    view: &str,
    got: &[T],
    y: &[Exact],
    mag: &[Exact],
    bounds: &Option<Vec<Exact>>,
    fail: &dyn Fn(String) -> Counterexample,
) -> CaseResult {
    let scale = mag
        .iter()
        .map(Field::to_f64)
        .fold(f64::MIN_POSITIVE, f64::max);
    let mut worst: f64 = 0.0;
    for (t, (g, e)) in got.iter().zip(y).enumerate() {
        let err = g.is_finite_val().then(|| (g.to_exact() - e).abs_val());
        let within = match (&err, bounds) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(err), Some(b)) => *err <= b[t],
        };
        let err_f64 = err.as_ref().map_or(f64::INFINITY, Field::to_f64);
        if !within {
            let b = bounds
                .as_ref()
                .map_or(f64::INFINITY, |b| crate::theorems::bound::to_f64_up(&b[t]));
            return Err(fail(format!(
                "{theorem} {view}[{t}] = {g} but exact value is {} (error {err_f64:e} > bound {b:e})",
                e.to_f64()
            )));
        }
        worst = worst.max(err_f64 / scale);
    }
    Ok(Some(worst))
}

/// Float check of T8: the float scan, the float `$\tilde\alpha x$` and the float chunked
/// algorithm with chunk size `$Q$` are each within the bound of
/// [`crate::family::ssd::bound`] (standard model with underflow, evaluated exactly) of
/// the exact output of the exactly lifted case. Returns the largest error relative to
/// `$\max_t \mathrm{mag}_t$`.
pub fn check_float<T: Field>(case: &(SsdHead<T>, Vec<T>, usize)) -> CaseResult {
    let (head, x, q) = case;
    let (eh, ex) = (
        head.to_exact(),
        x.iter().map(Field::to_exact).collect::<Vec<_>>(),
    );
    let fail = |what: String| head_fail(THEOREM.id, T::NAME, what, &eh, &ex);
    let y = scan(&eh, &ex).map_err(|e| fail(e.to_string()))?.y;
    let (mag, bounds) = bound::output_bound_exact::<T>(&eh, &ex);
    let views: [(&str, Result<Vec<T>, crate::Error>); 3] = [
        ("scan y", scan(head, x).map(|r| r.y)),
        ("α̃ x", attention_matrix(head).and_then(|a| a.mul_vec(x))),
        ("chunked y", chunked(head, x, *q).map(|r| r.y)),
    ];
    let mut worst: f64 = 0.0;
    for (view, got) in views {
        let got = got.map_err(|e| fail(format!("float {view} failed: {e}")))?;
        let e = within_bound(THEOREM.id, view, &got, &y, &mag, &bounds, &fail)?;
        worst = worst.max(e.unwrap_or(0.0));
    }
    Ok(Some(worst))
}

/// T8 at layer level, on a float [`SsdLayerInput`]: after discretisation in `T`, the
/// exactly lifted layer satisfies, over the rationals, chunked forward (T13, the input's
/// chunk size) = scan forward = `$\tilde\alpha^{(h)}x + Dx$` for every head and head
/// coordinate; and the float chunked forward is within the bound of
/// [`crate::family::ssd::bound`] extended by the skip: with `$b_t$` that bound, the sum
/// `$\mathrm{fl}(\hat y_t + \mathrm{fl}(D x_t))$` is within
/// `$(1+u)(b_t + u|Dx_t| + \eta_0) + u(\mathrm{mag}_t + |Dx_t|)$`. Returns the largest error
/// relative to `$\max \mathrm{mag}$`.
pub fn check_layer<T: Real>(input: &SsdLayerInput<T>) -> CaseResult {
    let empty = |what: String| super::t3::fail(THEOREM.id, T::NAME, what, None);
    let layer = input
        .discretize()
        .map_err(|e| empty(format!("discretisation failed: {e}")))?;
    let exact = layer.to_exact();
    let dims = layer.dims();
    let (y_chunk, _) = exact
        .forward(Some(layer.chunk()))
        .map_err(|e| empty(e.to_string()))?;
    let (y_scan, _) = exact.forward(None).map_err(|e| empty(e.to_string()))?;
    let (y_float, _) = layer
        .forward(Some(layer.chunk()))
        .map_err(|e| empty(format!("float forward failed: {e}")))?;
    let u = Exact::from_f64(T::unit_roundoff());
    let eta0 = Exact::from_f64(T::min_subnormal());
    let one = Exact::from_integer(1.into());
    let (hd, len, heads) = (dims.head_dim, dims.len, dims.heads);
    let mut worst: f64 = 0.0;
    for b in 0..dims.batch {
        for h in 0..heads {
            let head = exact.head(b, h);
            let alpha = attention_matrix(head).map_err(|e| empty(e.to_string()))?;
            for p in 0..hd {
                let x = exact.values(b, h, p);
                let fail = |what: String| {
                    head_fail(
                        THEOREM.id,
                        T::NAME,
                        format!("layer (batch {b}, head {h}, coordinate {p}): {what}"),
                        head,
                        &x,
                    )
                };
                let ax = alpha.mul_vec(&x).map_err(|e| fail(e.to_string()))?;
                let dv = exact.d().map(|d| d[h * hd + p].clone());
                let (mag, bounds) = bound::output_bound_exact::<T>(head, &x);
                let mut want = Vec::with_capacity(len);
                let mut got = Vec::with_capacity(len);
                let mut ext = Vec::with_capacity(len);
                for t in 0..len {
                    let i = ((b * len + t) * heads + h) * hd + p;
                    let dx = dv
                        .as_ref()
                        .map_or(Exact::from_integer(0.into()), |d| d * &x[t]);
                    let w = ax[t].clone() + &dx;
                    if y_chunk.data()[i] != w || y_scan.data()[i] != w {
                        return Err(fail(format!(
                            "exact y[{t}]: chunked {} / scan {} != α̃x + Dx = {w}",
                            y_chunk.data()[i],
                            y_scan.data()[i]
                        )));
                    }
                    let dx_abs = dx.abs_val();
                    ext.push(&mag[t] + &dx_abs);
                    want.push(w);
                    got.push(y_float.data()[i]);
                }
                let layer_bounds = bounds.as_ref().map(|bs| {
                    (0..len)
                        .map(|t| {
                            let dx_abs = &ext[t] - &mag[t];
                            (&one + &u) * (&bs[t] + &u * &dx_abs + &eta0) + &u * &ext[t]
                        })
                        .collect::<Vec<Exact>>()
                });
                let e = within_bound(
                    THEOREM.id,
                    "layer y",
                    &got,
                    &want,
                    &ext,
                    &layer_bounds,
                    &fail,
                )?;
                worst = worst.max(e.unwrap_or(0.0));
            }
        }
    }
    Ok(Some(worst))
}

//! T3 — a causal gated linear attention head with diagonal gates is an S6 channel per
//! value coordinate; with Mamba's strict `$A<0$`, plain linear attention is reached as
//! `$\Delta\to 0$` within an explicit bound. Also T2a at function level (an S6 layer's
//! channel is a head whose `$q$`, `$k$`, gate are functions of the input).
// A failing case returns the whole counterexample by value (as t1 and t2 do).
#![allow(clippy::result_large_err)]

use super::{CaseResult, Counterexample, Reference, Theorem};
use crate::attention::GatedLinearHead;
use crate::construct::function::{linear_limit_bound, LinearAttentionLayer, S6Layer};
use crate::construct::{
    channel_to_gated_head, gated_head_to_channel, head_output_by_channels, head_output_values,
    linear_head_to_channel,
};
use crate::dyadic::Dyadic;
use crate::scalar::{Exact, Field};
use crate::ssm::{attention_matrix, Channel};
use crate::tensor::Matrix;

/// Statement of T3.
pub const THEOREM: Theorem = Theorem {
    id: "T3",
    statement: "gated head (linear/RetNet/GLA/SSD), dim d = channel per value coord, N=d, Ā=g, B̄=k, C=q; A<0: Δ→0 within Δ|A|(L−1)‖q‖‖k‖‖v‖₁",
};

/// A counterexample on a case that is not a (channel, input) pair: the channel slot holds
/// `channel` (or an empty channel) and `what` describes the case.
pub(crate) fn fail(
    theorem: &'static str,
    tier: &'static str,
    what: String,
    channel: Option<Channel<Exact>>,
) -> Counterexample {
    Counterexample {
        theorem,
        tier,
        what,
        channel: channel
            .unwrap_or_else(|| Channel::new(0, 1, vec![], vec![], vec![]).expect("empty channel")),
        input: vec![],
    }
}

/// Exact check of T3 on a rational gated head with values `$V$`: the channel
/// ([`gated_head_to_channel`]) has the head's matrix as `$\tilde\alpha$`; scanning it per
/// value coordinate gives the head's output `$aV$`; head → channel → head and
/// channel → head → channel are identities; the ungated head (`$g\equiv1$`) maps to the
/// channel with `$\bar A \equiv 1$` with the same matrix.
pub fn check_exact(case: &(GatedLinearHead<Exact>, Matrix<Exact>)) -> CaseResult {
    let (head, v) = case;
    let f = |what: String, ch: Option<Channel<Exact>>| fail(THEOREM.id, "exact", what, ch);
    let ch =
        gated_head_to_channel(head).map_err(|e| f(format!("head → channel failed: {e}"), None))?;
    let a = head
        .attention()
        .map_err(|e| f(e.to_string(), Some(ch.clone())))?;
    if attention_matrix(&ch).map_err(|e| f(e.to_string(), Some(ch.clone())))? != a {
        return Err(f("α̃(channel) != head matrix".into(), Some(ch)));
    }
    let by_ch = head_output_by_channels(head, v).map_err(|e| f(e.to_string(), Some(ch.clone())))?;
    if by_ch != head_output_values(head, v).map_err(|e| f(e.to_string(), Some(ch.clone())))? {
        return Err(f("per-coordinate channel outputs != aV".into(), Some(ch)));
    }
    if channel_to_gated_head(&ch) != *head {
        return Err(f(
            "head → channel → head is not the identity".into(),
            Some(ch),
        ));
    }
    if gated_head_to_channel(&channel_to_gated_head(&ch))
        .ok()
        .as_ref()
        != Some(&ch)
    {
        return Err(f(
            "channel → head → channel is not the identity".into(),
            Some(ch),
        ));
    }
    let lin = crate::attention::LinearHead::new(head.queries().clone(), head.keys().clone())
        .map_err(|e| f(e.to_string(), None))?;
    let lch = linear_head_to_channel(&lin).map_err(|e| f(e.to_string(), None))?;
    if attention_matrix(&lch).map_err(|e| f(e.to_string(), Some(lch.clone())))?
        != lin
            .attention()
            .map_err(|e| f(e.to_string(), Some(lch.clone())))?
    {
        return Err(f(
            "linear head: α̃(channel with Ā ≡ 1) != tril(QKᵀ)".into(),
            Some(lch),
        ));
    }
    Ok(None)
}

/// Float check of T3 under Mamba's parametrisation (the bound itself is proven over the
/// reals, Coq: `linear_limit_bound_sound`; the rounding allowance is not): the S6 layer of
/// [`LinearAttentionLayer::to_mamba`] with step `$\Delta$` and `$A\equiv -a$` is within
/// [`linear_limit_bound`] (plus a rounding allowance `$8(L+d+8)\varepsilon\sum_j
/// \langle|W_Q||\hat x_i|,|W_K||\hat x_j|\rangle (|W_V||\hat x_j|)_c$`) of the linear layer, and the bound is not vacuous: at
/// `$\Delta/8$` the error is smaller by a factor `$> 4$` (when it is above rounding level and
/// `$\Delta a (L-1) \le 1/2$`, where `$1 - e^{-x}$` is within 25% of linear).
/// Returns the largest error relative to the bound.
pub fn check_mamba_limit(case: &(LinearAttentionLayer<f64>, Matrix<f64>, f64, f64)) -> CaseResult {
    let (layer, x, delta, a) = case;
    let f = |what: String| {
        fail(
            THEOREM.id,
            "f64",
            format!("{what} (Δ = {delta}, a = {a}, L = {})", x.rows()),
            None,
        )
    };
    let lin = layer.output(x).map_err(|e| f(e.to_string()))?;
    let head = layer.head(x).map_err(|e| f(e.to_string()))?;
    let v = layer.values(x);
    let (l, d) = (head.len(), head.dim());
    let u = 8.0 * (l + d + 8) as f64 * f64::EPSILON;
    // rounding scale: the same sums with |W| and |x̂| (the projections may cancel)
    let abs = |m: &Matrix<f64>| m.map(|v| v.abs());
    let abs_layer = LinearAttentionLayer {
        w_q: abs(&layer.w_q),
        w_k: abs(&layer.w_k),
        w_v: abs(&layer.w_v),
    };
    let ax = abs(x);
    let abs_head = abs_layer.head(&ax).map_err(|e| f(e.to_string()))?;
    let abs_v = abs_layer.values(&ax);
    let err_at = |delta: f64| -> Result<(f64, f64), Counterexample> {
        let s6 = layer
            .to_mamba(delta, *a)
            .and_then(|m| m.output(x))
            .map_err(|e| f(e.to_string()))?;
        let bound = linear_limit_bound(&head, &v, delta, *a);
        let (mut worst, mut ratio) = (0.0f64, 0.0f64);
        for i in 0..l {
            for c in 0..v.cols() {
                let mag: f64 = (0..=i)
                    .map(|j| {
                        let qk: f64 = abs_head
                            .queries()
                            .row(i)
                            .iter()
                            .zip(abs_head.keys().row(j))
                            .map(|(p, q)| p * q)
                            .sum();
                        qk * abs_v.get(j, c)
                    })
                    .sum();
                let err = (s6.get(i, c) - lin.get(i, c)).abs();
                let b = *bound.get(i, c);
                if err.is_nan() || err > b + u * mag {
                    return Err(f(format!(
                        "|y_S6 − y_lin|[{i}][{c}] = {err:e} > bound {b:e} + rounding {:e}",
                        u * mag
                    )));
                }
                worst = worst.max(err);
                if b > 0.0 {
                    ratio = ratio.max(err / (b + u * mag));
                }
            }
        }
        Ok((worst, ratio))
    };
    let (e1, ratio) = err_at(*delta)?;
    let (e2, _) = err_at(delta / 8.0)?;
    let scale: f64 = lin.data().iter().fold(0.0f64, |m, v| m.max(v.abs())) + 1.0;
    let linear_regime = delta * a * (l.saturating_sub(1) as f64) <= 0.5;
    if linear_regime && e1 > 1e-9 * scale && (e2.is_nan() || e2 >= e1 / 4.0) {
        return Err(f(format!(
            "error does not shrink with Δ: {e1:e} at Δ, {e2:e} at Δ/8"
        )));
    }
    Ok(Some(ratio))
}

/// T2a at function level (f64): channel `$c$` of an S6 layer, read as the head with
/// `$q = W_C\hat x$`, `$k = \mathrm{softplus}(\cdot)W_B\hat x$`, `$g = \exp(\Delta A)$`, *is* the
/// channel bit for bit (T3's channel of the head equals the discretised channel), for
/// every channel of the layer. Then the float results are compared with the **exactly
/// lifted** case (the float `$(q, k, g)$` and inputs lifted with [`crate::scalar::lift`]):
/// over the rationals the head's matrix (key by key) equals `$\tilde\alpha$` (query by
/// query) and the head's output equals the scan; the float `$\tilde\alpha$` and float head
/// matrix are within the entry bound of [`entry_bound`] of the exact matrix, and the float
/// head output and the float layer output within [`super::bound::output_bound`] of the
/// exact output. Returns the largest error / bound.
pub fn check_s6_layer_head(case: &(S6Layer<f64>, Matrix<f64>)) -> CaseResult {
    let (layer, x) = case;
    let f = |what: String| fail("T2", "f64", format!("S6 layer as head: {what}"), None);
    let out = layer.output(x).map_err(|e| f(e.to_string()))?;
    let mut worst: f64 = 0.0;
    for c in 0..layer.channels() {
        let ch = layer.channel(x, c).map_err(|e| f(e.to_string()))?;
        let head = layer.head(x, c).map_err(|e| f(e.to_string()))?;
        if gated_head_to_channel(&head).map_err(|e| f(e.to_string()))? != ch {
            return Err(fail(
                "T2",
                "f64",
                format!("channel {c}: (q(x̂), k(x̂), g(x̂)) != (C, B̄, Ā)"),
                Some(ch.to_exact()),
            ));
        }
        let v = layer.input(x, c);
        let views = FloatViews {
            alpha: attention_matrix(&ch).map_err(|e| f(e.to_string()))?,
            head_matrix: head.attention().map_err(|e| f(e.to_string()))?,
            head_y: head.output(&v).map_err(|e| f(e.to_string()))?,
            layer_y: (0..x.rows()).map(|t| *out.get(t, c)).collect(),
        };
        let r = views_against_exact(c, &ch, &head, &v, &views)?;
        worst = worst.max(r.unwrap_or(0.0));
    }
    Ok(Some(worst))
}

/// The float results of one channel of an S6 layer that [`check_s6_layer_head`] compares
/// with the exact path.
struct FloatViews {
    alpha: Matrix<f64>,
    head_matrix: Matrix<f64>,
    head_y: Vec<f64>,
    layer_y: Vec<f64>,
}

/// The entry bound of a float `$\tilde\alpha$` of a channel over `T` (either order of the
/// products): with `$m = 2L+N+4$` and `$u$`, `$\lambda$` the unit roundoff and smallest normal of
/// `T` and `$\eta_0 = 2\lambda u$` its smallest subnormal (the model of [`super::bound`]),
///
/// ```math
/// |\mathrm{fl}(\tilde\alpha_{ij}) - \tilde\alpha_{ij}| \le \gamma_m\,|\tilde\alpha|_{ij}
/// + \eta\,\tilde\alpha^{\ge1}_{ij},\qquad \eta = (L+1)\,\eta_0\,(1+\gamma_m),
/// ```
///
/// `$|\tilde\alpha|$` the `$\tilde\alpha$` of the entrywise-absolute channel and
/// `$\tilde\alpha^{\ge 1}$` that of the channel with entries `$\max(1, |\cdot|)$`. Each term
/// `$C\prod\bar A\,\bar B$` takes at most `$L$` rounded products and the dot product `$N$`
/// rounded sums (`$\gamma_m$`); a product falling below `$\lambda$` adds at most `$\eta_0$`,
/// later multiplied by factors of modulus at most
/// `$\max(1,|\cdot|)$` each; sums add no underflow error. `$|\tilde\alpha|$` and
/// `$\tilde\alpha^{\ge1}$` are themselves computed in f64 (nonnegative terms: by the same
/// bound with `$\gamma'$`, `$\eta'$` of f64, `$|\tilde\alpha| \le (\mathrm{fl}|\tilde\alpha| +
/// \eta'\tilde\alpha^{\ge1})/(1-\gamma')$` and `$\tilde\alpha^{\ge1} \le
/// \mathrm{fl}\,\tilde\alpha^{\ge1}/(1-\gamma')$`), and the result is inflated by
/// `$10^{-9}$` relative for its own rounding.
///
/// The formula `$\gamma_m|\tilde\alpha|_{ij} + \eta\,\tilde\alpha^{\ge1}_{ij}$` is proven for
/// binary64 and binary32 with gradual underflow, in both evaluation orders (Coq definition
/// `entry_bound`, `proofs/EntryBound.v`): Coq: `hidden_attention_within_entry_bound`,
/// `gated_score_within_entry_bound` — [`attention_matrix`], the running product from `$C_i$`
/// (`$C$` floats), and the gated head's matrix, the running product from `$k_j$` (`$\bar B$`
/// floats). Its evaluation in `f64` here is not formalised.
pub fn entry_bound<T: Field>(ch: &Channel<T>) -> crate::error::Result<Vec<f64>> {
    let (l, n) = (ch.len(), ch.state());
    let m = 2 * l + n + 4;
    let g = crate::theorems::bound::gamma(m, T::unit_roundoff());
    let eta = (l + 1) as f64 * T::min_normal() * 2.0 * T::unit_roundoff() * (1.0 + g);
    let g64 = crate::theorems::bound::gamma(m, f64::EPSILON / 2.0);
    let eta64 = (l + 1) as f64 * f64::MIN_POSITIVE * f64::EPSILON * (1.0 + g64);
    let mag = attention_matrix(&ch.map(|v| v.to_f64().abs()))?;
    let mag1 = attention_matrix(&ch.map(|v| v.to_f64().abs().max(1.0)))?;
    let shrink = 1.0 - g64;
    Ok(mag
        .data()
        .iter()
        .zip(mag1.data())
        .map(|(m, m1)| {
            let b = (g * m + (g * eta64 + eta) * m1 / shrink) / shrink;
            b * (1.0 + 1e-9)
        })
        .collect())
}

/// The exact `$\tilde\alpha$` of a float channel, query by query, in dyadic arithmetic
/// (row-major `$L\times L$`).
fn alpha_dyadic(ch: &Channel<f64>) -> Vec<Dyadic> {
    let l = ch.len();
    let lift = |v: &[f64]| -> Vec<Dyadic> { v.iter().map(|&x| dyadic(x)).collect() };
    let mut m = vec![Dyadic::zero(); l * l];
    for i in 0..l {
        let mut p = lift(ch.c(i));
        for j in (0..=i).rev() {
            m[i * l + j] = dot_dyadic(&p, &lift(ch.bbar(j)));
            if j > 0 {
                for (pk, a) in p.iter_mut().zip(ch.abar(j)) {
                    *pk = pk.mul(&dyadic(*a));
                }
            }
        }
    }
    m
}

/// The exact matrix of a float gated head, key by key, in dyadic arithmetic.
fn head_dyadic(head: &GatedLinearHead<f64>) -> Vec<Dyadic> {
    let l = head.len();
    let mut m = vec![Dyadic::zero(); l * l];
    for j in 0..l {
        let mut p: Vec<Dyadic> = head.keys().row(j).iter().map(|&x| dyadic(x)).collect();
        for i in j..l {
            if i > j {
                for (pk, g) in p.iter_mut().zip(head.gates().row(i)) {
                    *pk = pk.mul(&dyadic(*g));
                }
            }
            let q: Vec<Dyadic> = head.queries().row(i).iter().map(|&x| dyadic(x)).collect();
            m[i * l + j] = dot_dyadic(&q, &p);
        }
    }
    m
}

fn dyadic(x: f64) -> Dyadic {
    Dyadic::from_f64(x).unwrap_or_else(Dyadic::zero)
}

fn dot_dyadic(a: &[Dyadic], b: &[Dyadic]) -> Dyadic {
    a.iter()
        .zip(b)
        .fold(Dyadic::zero(), |s, (x, y)| s.add(&x.mul(y)))
}

/// Compare the float views of channel `c` with the exactly lifted channel and head.
fn views_against_exact(
    c: usize,
    ch: &Channel<f64>,
    head: &GatedLinearHead<f64>,
    v: &[f64],
    views: &FloatViews,
) -> CaseResult {
    let r = Reference::new(ch, v);
    let ex = |what: String| r.fail("T2", "exact", format!("S6 layer channel {c}: {what}"));
    let fl = |what: String| r.fail("T2", "f64", format!("S6 layer channel {c}: {what}"));
    if head.len() != ch.len() || head.dim() != ch.state() || v.len() != ch.len() {
        return Err(ex("head, channel and input sizes differ".into()));
    }
    let (l, alpha_x) = (ch.len(), alpha_dyadic(ch));
    if head_dyadic(head) != alpha_x {
        return Err(ex(
            "exact head matrix != exact α̃ of the lifted channel".into()
        ));
    }
    for i in 0..l {
        let yi = (0..=i).fold(Dyadic::zero(), |s, j| {
            s.add(&alpha_x[i * l + j].mul(&dyadic(v[j])))
        });
        if yi.to_exact() != r.y[i] {
            return Err(ex(format!(
                "exact head output [{i}] != exact scan of the lifted channel"
            )));
        }
    }
    let bound = entry_bound::<f64>(ch).map_err(|e| ex(e.to_string()))?;
    let mut worst: f64 = 0.0;
    for (what, got) in [
        ("α̃", views.alpha.data()),
        ("head matrix", views.head_matrix.data()),
    ] {
        for (k, (g, e)) in got.iter().zip(&alpha_x).enumerate() {
            let err = g.is_finite().then(|| dyadic(*g).sub(e).abs());
            let within = match &err {
                None => false,
                Some(err) => !bound[k].is_finite() || *err <= dyadic(bound[k]),
            };
            let err_f64 = err.as_ref().map_or(f64::INFINITY, Dyadic::to_f64);
            if !within {
                return Err(fl(format!(
                    "float {what}[{k}] = {g:e} but exact {:e} (error {err_f64:e} > bound {:e})",
                    e.to_f64(),
                    bound[k]
                )));
            }
            if bound[k] > 0.0 {
                worst = worst.max(err_f64 / bound[k]);
            }
        }
    }
    for (what, got) in [
        ("head output", &views.head_y),
        ("layer output", &views.layer_y),
    ] {
        for (i, (g, e)) in got.iter().zip(&r.y).enumerate() {
            let err = g.is_finite().then(|| (g.to_exact() - e).abs_val());
            let within = match (&err, &r.exact_bounds) {
                (None, _) => false,
                (Some(err), Some(b)) => *err <= b[i],
                (Some(_), None) => true,
            };
            let err_f64 = err.as_ref().map_or(f64::INFINITY, Field::to_f64);
            if !within {
                return Err(fl(format!(
                    "float {what}[{i}] = {g:e} but exact {:e} (error {err_f64:e} > bound {:e})",
                    e.to_f64(),
                    r.bounds[i]
                )));
            }
            if r.bounds[i] > 0.0 {
                worst = worst.max(err_f64 / r.bounds[i]);
            }
        }
    }
    Ok(Some(worst))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case() -> (S6Layer<f64>, Matrix<f64>) {
        let m = |r, c, v: Vec<f64>| Matrix::from_row_major(r, c, v).unwrap();
        let layer = S6Layer {
            w_x: m(1, 2, vec![1.0, 0.3]),
            w_delta: m(1, 2, vec![0.5, -1.0]),
            b_delta: vec![0.1],
            a: m(1, 2, vec![-1.0, -2.0]),
            w_b: m(2, 2, vec![1.0, 2.0, 0.0, 1.0]),
            w_c: m(2, 2, vec![1.0, 0.0, 1.0, 1.0]),
        };
        (
            layer,
            m(4, 2, vec![1.0, 0.0, 0.5, -1.0, 0.0, 2.0, 0.7, 0.1]),
        )
    }

    fn views(
        layer: &S6Layer<f64>,
        x: &Matrix<f64>,
    ) -> (Channel<f64>, GatedLinearHead<f64>, Vec<f64>, FloatViews) {
        let ch = layer.channel(x, 0).unwrap();
        let head = layer.head(x, 0).unwrap();
        let v = layer.input(x, 0);
        let out = layer.output(x).unwrap();
        let fv = FloatViews {
            alpha: attention_matrix(&ch).unwrap(),
            head_matrix: head.attention().unwrap(),
            head_y: head.output(&v).unwrap(),
            layer_y: (0..x.rows()).map(|t| *out.get(t, 0)).collect(),
        };
        (ch, head, v, fv)
    }

    /// The float views are compared with the exact lifted path, not with each other:
    /// both float matrices wrong in the same way (agreeing with each other, as the old
    /// float-vs-float comparison required) is a counterexample, and so is a wrong layer
    /// output alone.
    #[test]
    fn s6_layer_head_is_checked_against_exact() {
        let (layer, x) = case();
        assert!(check_s6_layer_head(&(layer.clone(), x.clone())).is_ok());
        let (ch, head, v, mut fv) = views(&layer, &x);
        let r = views_against_exact(0, &ch, &head, &v, &fv)
            .unwrap()
            .unwrap();
        assert!(r > 0.0 && r <= 1.0, "error / bound = {r}");
        // entry (3, 1), index 13: both float matrices shifted to the same wrong value
        let shifted = fv.alpha.get(3, 1) * (1.0 + 1e-9);
        assert!(shifted != *fv.alpha.get(3, 1));
        for m in [&mut fv.alpha, &mut fv.head_matrix] {
            *m.get_mut(3, 1) = shifted;
        }
        let e = views_against_exact(0, &ch, &head, &v, &fv).unwrap_err();
        assert!(e.what.contains("float α̃[13]"), "{}", e.what);
        let (_, _, _, mut fv) = views(&layer, &x);
        fv.layer_y[3] *= 1.0 + 1e-9;
        let e = views_against_exact(0, &ch, &head, &v, &fv).unwrap_err();
        assert!(e.what.contains("layer output[3]"), "{}", e.what);
    }

    /// The entry bound covers products that underflow: a channel whose α̃ entries
    /// 2^-600 · 2^-600 underflow to 0 in f64 is within it, and the bound is not vacuous.
    #[test]
    fn entry_bound_covers_underflow() {
        let t = 2f64.powi(-600);
        let ch = Channel::new(2, 1, vec![t, t], vec![t, 1.5], vec![t, 1.0]).unwrap();
        let a = attention_matrix(&ch).unwrap();
        assert_eq!(*a.get(0, 0), 0.0);
        let b = entry_bound::<f64>(&ch).unwrap();
        let exact = attention_matrix(&ch.to_exact()).unwrap();
        for (k, (g, e)) in a.data().iter().zip(exact.data()).enumerate() {
            let err = (g.to_exact() - e).abs_val().to_f64();
            assert!(err <= b[k], "entry {k}: {err:e} > {:e}", b[k]);
        }
        assert!(
            b[2] < 1e-15,
            "bound of the exact entry 1.5 · 2^-600: {:e}",
            b[2]
        );
    }
}

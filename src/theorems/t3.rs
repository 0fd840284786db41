//! T3 — a causal gated linear attention head with diagonal gates is an S6 channel per
//! value coordinate; with Mamba's strict $A<0$, plain linear attention is reached as
//! $\Delta\to 0$ within an explicit bound. Also T2a at function level (an S6 layer's
//! channel is a head whose $q$, $k$, gate are functions of the input).
// A failing case returns the whole counterexample by value (as t1 and t2 do).
#![allow(clippy::result_large_err)]

use super::{CaseResult, Counterexample, Theorem};
use crate::attention::GatedLinearHead;
use crate::construct::function::{linear_limit_bound, LinearAttentionLayer, S6Layer};
use crate::construct::{
    channel_to_gated_head, gated_head_to_channel, head_output_by_channels, head_output_values,
    linear_head_to_channel,
};
use crate::scalar::Exact;
use crate::ssm::{hidden_attention, Channel};
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

/// Exact check of T3 on a rational gated head with values $V$: the channel
/// ([`gated_head_to_channel`]) has the head's matrix as $\tilde\alpha$; scanning it per
/// value coordinate gives the head's output $aV$; head → channel → head and
/// channel → head → channel are identities; the ungated head ($g\equiv1$) maps to the
/// channel with $\bar A \equiv 1$ with the same matrix.
pub fn check_exact(case: &(GatedLinearHead<Exact>, Matrix<Exact>)) -> CaseResult {
    let (head, v) = case;
    let f = |what: String, ch: Option<Channel<Exact>>| fail(THEOREM.id, "exact", what, ch);
    let ch =
        gated_head_to_channel(head).map_err(|e| f(format!("head → channel failed: {e}"), None))?;
    let a = head
        .attention()
        .map_err(|e| f(e.to_string(), Some(ch.clone())))?;
    if hidden_attention(&ch).map_err(|e| f(e.to_string(), Some(ch.clone())))? != a {
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
    if hidden_attention(&lch).map_err(|e| f(e.to_string(), Some(lch.clone())))? != lin.attention() {
        return Err(f(
            "linear head: α̃(channel with Ā ≡ 1) != tril(QKᵀ)".into(),
            Some(lch),
        ));
    }
    Ok(None)
}

/// Float check of T3 under Mamba's parametrisation: the S6 layer of
/// [`LinearAttentionLayer::to_mamba`] with step $\Delta$ and $A\equiv -a$ is within
/// [`linear_limit_bound`] (plus a rounding allowance $8(L+d+8)\varepsilon\sum_j
/// \langle|W_Q||\hat x_i|,|W_K||\hat x_j|\rangle (|W_V||\hat x_j|)_c$) of the linear layer, and the bound is not vacuous: at
/// $\Delta/8$ the error is smaller by a factor $> 4$ (when it is above rounding level and
/// $\Delta a (L-1) \le 1/2$, where $1 - e^{-x}$ is within 25% of linear).
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

/// T2a at function level (f64): channel $c$ of an S6 layer, read as the head with
/// $q = W_C\hat x$, $k = \mathrm{softplus}(\cdot)W_B\hat x$, $g = \exp(\Delta A)$, *is* the
/// channel bit for bit (T3's channel of the head equals the discretised channel), for
/// every channel of the layer; the head's matrix (computed key by key) and $\tilde\alpha$
/// (query by query) then agree within rounding. Returns their largest difference
/// relative to $\max |\tilde\alpha|$ of the absolute channel.
pub fn check_s6_layer_head(case: &(S6Layer<f64>, Matrix<f64>)) -> CaseResult {
    let (layer, x) = case;
    let f = |what: String| fail("T2", "f64", format!("S6 layer as head: {what}"), None);
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
        let a = hidden_attention(&ch).map_err(|e| f(e.to_string()))?;
        let h = head.attention().map_err(|e| f(e.to_string()))?;
        let mag = hidden_attention(&ch.map(|v| v.abs())).map_err(|e| f(e.to_string()))?;
        let scale = mag.data().iter().fold(f64::MIN_POSITIVE, |m, v| m.max(*v));
        let g = crate::theorems::bound::gamma(2 * ch.len() + ch.state() + 4, f64::EPSILON / 2.0);
        for (k, (p, q)) in a.data().iter().zip(h.data()).enumerate() {
            let err = (p - q).abs();
            if err.is_nan() || err > g * mag.data()[k] + 1e-300 {
                return Err(fail(
                    "T2",
                    "f64",
                    format!("channel {c}: head and α̃ differ by {err:e} at {k}"),
                    Some(ch.to_exact()),
                ));
            }
            worst = worst.max(err / scale);
        }
    }
    Ok(Some(worst))
}

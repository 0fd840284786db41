//! Explanations of a prediction from the hidden attention: raw attention, attention
//! rollout and Mamba-Attr, and the gradient Mamba-Attr needs (a hand-written backward pass
//! through every block, checked against finite differences in the tests).
//!
//! Per layer `$\ell$` the map is `$A_\ell = \max(0, \frac1{d_{in}}\sum_e\tilde\alpha^{(\ell,e)})$`
//! divided by its largest entry (per-layer normalisation; the causal mask is kept, so the
//! upper triangle stays 0). Then
//!
//! - **raw**: `$\frac1{|\mathcal L|}\sum_{\ell\in\mathcal L} A_\ell$`;
//! - **rollout**: `$\hat A_\ell = \mathrm{rownorm}(I + A_\ell)$`, `$R = \hat A_{n-1}\cdots\hat A_{s}$`;
//! - **attr** (Mamba-Attr): `$s_\ell[j] = \max_m \max(0, \partial \text{logit}/\partial h_\ell[j,m])$`
//!   with `$h_\ell$` the residual stream after layer `$\ell$` (equal to the gradient w.r.t. the
//!   layer's mixer output), scaled to max 1; `$A_\ell[i,j]\,s_\ell[j]$` rolled out as above.
//!
//! The explanation of position `$P$` is row `$P$` of the `$L\times L$` result. These are true
//! rows of `$\tilde\alpha$` (diagonal term and `$\bar A_P$` included); the authors' published
//! vector drops both — see [`crate::model::attention::authors_cls_row`].

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::model::attention::layer_attention_mean;
use crate::model::block::MixerWeights;
use crate::model::forward::{BackboneConfig, MambaModel, Mixer, ModelTrace};
use crate::model::linear::{fast_dot, linear_backward};
use crate::scalar::{Field, Real};

/// Which explanation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Mean of the per-layer normalised channel-mean attention.
    Raw,
    /// Attention rollout.
    Rollout,
    /// Mamba-Attr: gradient-weighted attention, rolled out.
    Attr,
}

/// The per-layer maps `$A_\ell$` (`L × L`, row-major, f64).
///
/// # Errors
/// Errors of [`layer_attention_mean`].
pub fn layer_maps<T: Real>(model: &MambaModel<T>, trace: &ModelTrace<T>) -> Result<Vec<Vec<f64>>> {
    layer_maps_with(model, trace, &mut |_| {})
}

/// [`layer_maps`] calling `on_layer(i)` after layer `i` (progress bars).
///
/// # Errors
/// As [`layer_maps`].
pub fn layer_maps_with<T: Real>(
    model: &MambaModel<T>,
    trace: &ModelTrace<T>,
    on_layer: &mut dyn FnMut(usize),
) -> Result<Vec<Vec<f64>>> {
    model
        .layers
        .iter()
        .zip(&trace.mixers)
        .enumerate()
        .map(|(li, (layer, tr))| {
            let m = layer_attention_mean(&layer.mixer, tr)?;
            on_layer(li);
            let v: Vec<f64> = m.iter().map(|x| Field::to_f64(x).max(0.0)).collect();
            let mx = v.iter().fold(0.0f64, |a, &b| a.max(b));
            Ok(if mx > 0.0 {
                v.into_iter().map(|x| x / mx).collect()
            } else {
                v
            })
        })
        .collect()
}

/// Mean of the maps of layers `start..`.
pub fn raw(maps: &[Vec<f64>], start: usize) -> Vec<f64> {
    let used = &maps[start.min(maps.len())..];
    let n = used.first().map_or(0, Vec::len);
    let mut out = vec![0.0; n];
    for m in used {
        for (o, v) in out.iter_mut().zip(m) {
            *o += v / used.len() as f64;
        }
    }
    out
}

/// Rollout `$R = \hat A_{n-1}\cdots\hat A_{s}$` with `$\hat A = \mathrm{rownorm}(I + A)$`.
pub fn rollout(maps: &[Vec<f64>], start: usize, l: usize) -> Vec<f64> {
    let mut r: Vec<f64> = (0..l * l)
        .map(|k| if k / l == k % l { 1.0 } else { 0.0 })
        .collect();
    for m in &maps[start.min(maps.len())..] {
        let mut a = m.clone();
        for i in 0..l {
            a[i * l + i] += 1.0;
            let s: f64 = a[i * l..(i + 1) * l].iter().sum();
            if s != 0.0 {
                for v in &mut a[i * l..(i + 1) * l] {
                    *v /= s;
                }
            }
        }
        let mut next = vec![0.0; l * l];
        for i in 0..l {
            for k in 0..l {
                let aik = a[i * l + k];
                if aik == 0.0 {
                    continue;
                }
                for j in 0..l {
                    next[i * l + j] += aik * r[k * l + j];
                }
            }
        }
        r = next;
    }
    r
}

fn silu_grad<T: Real>(x: T) -> T {
    let s = x.sigmoid();
    s * (T::one() + x * (T::one() - s))
}

fn rms_backward<T: Real>(h: &[T], r: &[T], w: &[T], g: &[T], dm: usize) -> Vec<T> {
    let l = h.len() / dm;
    let mut out = vec![T::zero(); h.len()];
    let inv_d = T::one() / T::from_f64(dm as f64);
    for t in 0..l {
        let (ht, gt) = (&h[t * dm..(t + 1) * dm], &g[t * dm..(t + 1) * dm]);
        let rt = r[t];
        let dotv = (0..dm).fold(T::zero(), |a, k| a + gt[k] * w[k] * ht[k]);
        let c = rt * rt * rt * dotv * inv_d;
        for k in 0..dm {
            out[t * dm + k] = rt * w[k] * gt[k] - c * ht[k];
        }
    }
    out
}

/// Backward through one mixer: the gradient w.r.t. the mixer input (the normalised
/// residual stream, `(L, d)`) from the gradient `g_o` w.r.t. its output `(L, d)`.
pub(crate) fn mixer_backward<T: Real>(
    m: &MixerWeights<T>,
    tr: &crate::model::block::MixerTrace<T>,
    g_o: &[T],
) -> Result<Vec<T>> {
    let dims = m.dims;
    let (dm, di, n, k, r) = (
        dims.d_model,
        dims.d_inner,
        dims.d_state,
        dims.d_conv,
        dims.dt_rank,
    );
    let l = tr.len;
    let gy_t = linear_backward(g_o, l, &m.out_proj, dm, di); // (L, di)
                                                             // per channel: S6 backward; returns (g_u, g_delta_pre, g_z) rows and (g_B, g_C) partials
    struct ChanGrad<T> {
        gu: Vec<T>,
        gdp: Vec<T>,
        gz: Vec<T>,
        gb: Vec<T>,
        gc: Vec<T>,
    }
    let per: Vec<ChanGrad<T>> = (0..di)
        .into_par_iter()
        .map(|e| {
            let a = &m.a[e * n..(e + 1) * n];
            let bias = m.dt_proj_b[e];
            let mut gu = vec![T::zero(); l];
            let mut gdp = vec![T::zero(); l];
            let mut gz = vec![T::zero(); l];
            let mut gb = vec![T::zero(); l * n];
            let mut gc = vec![T::zero(); l * n];
            let mut gys = vec![T::zero(); l];
            let mut delta = vec![T::zero(); l];
            for t in 0..l {
                let gy = gy_t[t * di + e];
                let z = tr.z[e * l + t];
                gz[t] = gy * tr.y1[e * l + t] * silu_grad(z);
                gys[t] = gy * z.silu();
                gu[t] = gys[t] * m.d[e];
                delta[t] = (tr.delta_pre[e * l + t] + bias).softplus();
            }
            // forward states
            let mut hs = vec![T::zero(); l * n];
            let mut h = vec![T::zero(); n];
            for t in 0..l {
                let u = tr.u[e * l + t];
                for s in 0..n {
                    h[s] = (delta[t] * a[s]).exp() * h[s] + delta[t] * tr.b[t * n + s] * u;
                }
                hs[t * n..(t + 1) * n].copy_from_slice(&h);
            }
            let mut lam = vec![T::zero(); n];
            for t in (0..l).rev() {
                let u = tr.u[e * l + t];
                let mut gd = T::zero();
                for s in 0..n {
                    lam[s] = lam[s] + tr.c[t * n + s] * gys[t];
                    gc[t * n + s] = gys[t] * hs[t * n + s];
                    let abar = (delta[t] * a[s]).exp();
                    let hprev = if t > 0 {
                        hs[(t - 1) * n + s]
                    } else {
                        T::zero()
                    };
                    gd = gd + lam[s] * hprev * abar * a[s] + lam[s] * tr.b[t * n + s] * u;
                    gb[t * n + s] = lam[s] * delta[t] * u;
                    gu[t] = gu[t] + lam[s] * delta[t] * tr.b[t * n + s];
                    lam[s] = lam[s] * abar;
                }
                let pre = tr.delta_pre[e * l + t] + bias;
                gdp[t] = if pre > T::from_f64(20.0) {
                    gd
                } else {
                    gd * pre.sigmoid()
                };
            }
            ChanGrad {
                gu,
                gdp,
                gz,
                gb,
                gc,
            }
        })
        .collect();
    // x_proj inputs: g_p (L, R + 2N)
    let w = r + 2 * n;
    let mut gp = vec![T::zero(); l * w];
    for t in 0..l {
        for rr in 0..r {
            let mut s = T::zero();
            for (e, cg) in per.iter().enumerate() {
                s = s + m.dt_proj_w[e * r + rr] * cg.gdp[t];
            }
            gp[t * w + rr] = s;
        }
        for s in 0..n {
            let (mut sb, mut sc) = (T::zero(), T::zero());
            for cg in &per {
                sb = sb + cg.gb[t * n + s];
                sc = sc + cg.gc[t * n + s];
            }
            gp[t * w + r + s] = sb;
            gp[t * w + r + n + s] = sc;
        }
    }
    if m.inner_norm_eps.is_some() {
        // Falcon-Mamba: back through the weightless RMS norms of dt_low, B and C:
        // for y = r x, g_x = r (g_y − y ⟨g_y, y⟩ / d).
        for t in 0..l {
            let row = &mut gp[t * w..(t + 1) * w];
            let ys = [
                &tr.dt_low[t * r..(t + 1) * r],
                &tr.b[t * n..(t + 1) * n],
                &tr.c[t * n..(t + 1) * n],
            ];
            let mut at = 0;
            for (part, y) in ys.into_iter().enumerate() {
                let rt = tr.inner_rms[t * 3 + part];
                let g = &mut row[at..at + y.len()];
                let dot = g.iter().zip(y).fold(T::zero(), |a, (&gi, &yi)| a + gi * yi)
                    / T::from_f64(y.len() as f64);
                for (gi, &yi) in g.iter_mut().zip(y) {
                    *gi = rt * (*gi - yi * dot);
                }
                at += y.len();
            }
        }
    }
    let gu_from_p = linear_backward(&gp, l, &m.x_proj, w, di); // (L, di)
    let mut gxz = vec![T::zero(); l * 2 * di];
    for (e, cg) in per.iter().enumerate() {
        let wk = &m.conv_w[e * k..(e + 1) * k];
        let gconv: Vec<T> = (0..l)
            .map(|t| (cg.gu[t] + gu_from_p[t * di + e]) * silu_grad(tr.conv[e * l + t]))
            .collect();
        for s in 0..l {
            let mut acc = T::zero();
            for (j, &wj) in wk.iter().enumerate() {
                let t = s + k - 1 - j;
                if t < l {
                    acc = acc + wj * gconv[t];
                }
            }
            gxz[s * 2 * di + e] = acc;
            gxz[s * 2 * di + di + e] = cg.gz[s];
        }
    }
    Ok(linear_backward(&gxz, l, &m.in_proj, 2 * di, dm))
}

/// Gradients of logit `k` at position `pos` w.r.t. the residual stream after every layer
/// (`n_layer` tensors `(L, d)`) and, last, w.r.t. the embedding output.
///
/// A hand-written reverse pass through `norm_f`, and per layer through out_proj, the gate,
/// the D skip, the S6 (Δ, B, C and u paths, with the states recomputed), x_proj, dt_proj,
/// softplus, SiLU, the causal conv, in_proj and RMSNorm.
///
/// # Errors
/// [`Error::InvalidArgument`] for `pos ≥ L` or `k ≥ vocab`.
pub fn logit_gradients<T: Real, M: Mixer<T>, C: BackboneConfig>(
    model: &MambaModel<T, M, C>,
    trace: &ModelTrace<T, M::Trace>,
    pos: usize,
    k: usize,
) -> Result<Vec<Vec<T>>> {
    let dm = model.config.d_model();
    let vocab = model.config.vocab_size();
    let l = trace.len();
    if pos >= l {
        return Err(Error::InvalidArgument {
            name: "target_pos".into(),
            reason: format!("position {pos} is not below the sequence length {l}"),
        });
    }
    if k >= vocab {
        return Err(Error::InvalidArgument {
            name: "logit".into(),
            reason: format!("logit {k} is not below the vocabulary size {vocab}"),
        });
    }
    let head = model.lm_head.as_deref().unwrap_or(&model.embedding);
    let mut g_nf = vec![T::zero(); l * dm];
    g_nf[pos * dm..(pos + 1) * dm].copy_from_slice(&head[k * dm..(k + 1) * dm]);
    let mut g = rms_backward(&trace.residual_out, &trace.rms_f, &model.norm_f, &g_nf, dm);
    let n_layer = model.layers.len();
    let mut grads = vec![Vec::new(); n_layer + 1];
    for li in (0..n_layer).rev() {
        grads[li] = g.clone();
        let layer = &model.layers[li];
        let gn = layer.mixer.backward(&trace.mixers[li], &g)?;
        let gh = rms_backward(&trace.residual_in[li], &trace.rms[li], &layer.norm, &gn, dm);
        for (a, b) in g.iter_mut().zip(&gh) {
            *a = *a + *b;
        }
    }
    grads[n_layer] = g;
    Ok(grads)
}

/// Central finite difference of logit `k` at `pos` w.r.t. the residual stream after
/// layer `layer` at `(t, feature)`, step `eps` — the check of [`logit_gradients`].
///
/// # Errors
/// Errors of the forward pass.
pub fn finite_difference<T: Real, M: Mixer<T>, C: BackboneConfig>(
    model: &MambaModel<T, M, C>,
    tokens: &[usize],
    (layer, t, feature): (usize, usize, usize),
    pos: usize,
    k: usize,
    eps: f64,
) -> Result<f64> {
    let run = |e: f64| -> Result<f64> {
        let tr = model
            .run(
                &[tokens.to_vec()],
                crate::model::Logits::None,
                Some((layer, t, feature, T::from_f64(e))),
                &mut |_| {},
            )?
            .pop()
            .expect("one sequence");
        Ok(Field::to_f64(&model.logit(&tr, pos, k)))
    };
    Ok((run(eps)? - run(-eps)?) / (2.0 * eps))
}

/// The arg max of the logits at position `pos` (the model's prediction there).
pub fn predicted_token<T: Real, M: Mixer<T>, C: BackboneConfig>(
    model: &MambaModel<T, M, C>,
    trace: &ModelTrace<T, M::Trace>,
    pos: usize,
) -> usize {
    let dm = model.config.d_model();
    let head = model.lm_head.as_deref().unwrap_or(&model.embedding);
    let nf = &trace.normed_f[pos * dm..(pos + 1) * dm];
    (0..model.config.vocab_size())
        .map(|v| (v, Field::to_f64(&fast_dot(nf, &head[v * dm..(v + 1) * dm]))))
        .fold((0, f64::NEG_INFINITY), |b, c| if c.1 > b.1 { c } else { b })
        .0
}

/// The Mamba-Attr weights of every layer: `$s_\ell[j] = \max_m \max(0, g_\ell[j, m])$`
/// scaled to max 1 (all 0 when no entry is positive), from the gradients `grads` of
/// [`logit_gradients`] (`grads[ℓ]` w.r.t. the residual stream after layer ℓ).
pub fn attr_weights<T: Real, M: Mixer<T>, C: BackboneConfig>(
    model: &MambaModel<T, M, C>,
    grads: &[Vec<T>],
    l: usize,
) -> Vec<Vec<f64>> {
    let dm = model.config.d_model();
    grads[..model.layers.len()]
        .iter()
        .map(|g| {
            let s: Vec<f64> = (0..l)
                .map(|j| {
                    g[j * dm..(j + 1) * dm]
                        .iter()
                        .fold(0.0f64, |m, v| m.max(Field::to_f64(v)))
                })
                .collect();
            let smax = s.iter().fold(0.0f64, |m, &v| m.max(v));
            s.iter()
                .map(|&v| if smax > 0.0 { v / smax } else { 0.0 })
                .collect()
        })
        .collect()
}

/// An explanation: the `L × L` relevance matrix and the row of the target position.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// Sequence length.
    pub len: usize,
    /// Relevance matrix, row-major.
    pub matrix: Vec<f64>,
    /// Row `target_pos` of the matrix.
    pub row: Vec<f64>,
    /// The logit explained (Mamba-Attr; the arg max when not given).
    pub logit: Option<usize>,
}

/// Explain the prediction at `target_pos` with `method`, using layers `start..`.
/// `logit` (Mamba-Attr only) defaults to the arg max at `target_pos`.
///
/// # Errors
/// [`Error::InvalidArgument`] for `target_pos ≥ L`, `start ≥ n_layer` or a logit outside
/// the vocabulary; errors of the forward pass.
pub fn explain<T: Real>(
    model: &MambaModel<T>,
    trace: &ModelTrace<T>,
    method: Method,
    target_pos: usize,
    logit: Option<usize>,
    start: usize,
) -> Result<Explanation> {
    explain_with(model, trace, method, target_pos, logit, start, &mut |_| {})
}

/// [`explain`] calling `on_layer(i)` after the attention map of layer `i` is done
/// (progress bars: `n_layer` calls).
///
/// # Errors
/// As [`explain`].
pub fn explain_with<T: Real>(
    model: &MambaModel<T>,
    trace: &ModelTrace<T>,
    method: Method,
    target_pos: usize,
    logit: Option<usize>,
    start: usize,
    on_layer: &mut dyn FnMut(usize),
) -> Result<Explanation> {
    let l = trace.len();
    if target_pos >= l {
        return Err(Error::InvalidArgument {
            name: "target_pos".into(),
            reason: format!("position {target_pos} is not below the sequence length {l}"),
        });
    }
    if start >= model.layers.len() {
        return Err(Error::InvalidArgument {
            name: "start_layer".into(),
            reason: format!(
                "layer {start} is not below the number of layers {}",
                model.layers.len()
            ),
        });
    }
    let maps = layer_maps_with(model, trace, on_layer)?;
    let (matrix, used) = match method {
        Method::Raw => (raw(&maps, start), None),
        Method::Rollout => (rollout(&maps, start, l), None),
        Method::Attr => {
            let k = match logit {
                Some(k) => k,
                None => predicted_token(model, trace, target_pos),
            };
            let grads = logit_gradients(model, trace, target_pos, k)?;
            let s = attr_weights(model, &grads, l);
            let fused: Vec<Vec<f64>> = maps
                .iter()
                .zip(&s)
                .map(|(a, s)| (0..l * l).map(|p| a[p] * s[p % l]).collect())
                .collect();
            (rollout(&fused, start, l), Some(k))
        }
    };
    let row = matrix[target_pos * l..(target_pos + 1) * l].to_vec();
    Ok(Explanation {
        len: l,
        matrix,
        row,
        logit: used,
    })
}

//! Relevance of the input positions for one prediction: every explanation method that
//! [`crate::model::faithfulness`] measures, side by side, with baselines.
//!
//! The prediction explained is logit `$k$` (the arg max unless given) at the target position
//! `$P$`; a method returns a relevance `$r_j$` for `$j \le P$` (positions after `$P$` get 0 and are
//! never ranked). Notation: layer `$\ell$`, inner channel `$e$` of `$d_{in}$`, `$\tilde\alpha^{(\ell,e)}$`
//! the channel's hidden attention, `$M^{(\ell,e)} = G(\tilde\alpha + DI)SK$` its whole-mixer
//! operator ([`crate::model::mixer_operator`]), `$x^{(\ell,e)}$` its conv input,
//! `$g_\ell = \partial\,\text{logit}/\partial h_\ell$` the gradient w.r.t. the residual stream
//! after layer `$\ell$` (exact hand-written reverse pass, [`crate::model::explain::logit_gradients`]).
//!
//! **Aggregation over channels** (one `$L\times L$` map per layer, then normalisation):
//!
//! | suffix | map `$A_\ell$` | normalisation |
//! | --- | --- | --- |
//! | (none) | `$\max(0, \frac1{d_{in}}\sum_e X^{(\ell,e)})$` (ReLU of the channel mean) | `$/\max A_\ell$` |
//! | `-abs` | `$\frac1{d_{in}}\sum_e \lvert X^{(\ell,e)}\rvert$` | `$/\max A_\ell$` |
//! | `-signed` | `$\frac1{d_{in}}\sum_e X^{(\ell,e)}$` | `$/\max\lvert A_\ell\rvert$` (sign kept) |
//!
//! with `$X = \tilde\alpha$` (plain names) or `$X = M$` (`mixer-` names). The normalisation is
//! per layer (whole matrix), so layers weigh equally; it does not change the ranking
//! within one layer. Min-max scaling is for display only: it never changes a ranking.
//!
//! **Combination over layers:** `raw` = `$\frac1n\sum_\ell A_\ell$`; `rollout` =
//! `$\hat A_{n-1}\cdots\hat A_0$` with `$\hat A = \mathrm{rownorm}(I + A)$`; `attr` (Mamba-Attr)
//! rolls out `$A_\ell[i,j]\,s_\ell[j]$` with `$s_\ell[j] = \max_m\max(0, g_\ell[j,m])$` scaled to
//! max 1. The relevance is row `$P$`. Rollout is only defined for non-negative maps, so the
//! signed aggregation comes with `raw` only.
//!
//! **Positions.** `$M$` acts on the conv input `$x$`, so `mixer-*` rows are over input
//! positions (the conv is folded in). `$\tilde\alpha$` acts on `$u = \mathrm{SiLU}(\mathrm{conv}(x))$`:
//! its column `$j$` is the *post-conv* position `$j$`, which mixes inputs `$j-K+1..j$`; the
//! α̃ methods are measured as they are, on those positions. In layers after the first,
//! position `$j$` is the residual stream at `$j$` (token `$j$` plus what earlier layers moved
//! there) for every method.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::{Error, Result};
use crate::model::block::MixerWeights;
use crate::model::config::MambaConfig;
use crate::model::explain::{attr_weights, logit_gradients, predicted_token, raw, rollout};
use crate::model::explainable::Explainable;
use crate::model::forward::{BackboneConfig, MambaModel, ModelTrace};
use crate::scalar::{Field, Real};

/// An explanation method (see the module docs for the formulas).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// α̃, ReLU of the channel mean, mean over layers (the published raw attention).
    Raw,
    /// α̃, ReLU of the channel mean, rollout.
    Rollout,
    /// α̃, ReLU of the channel mean, Mamba-Attr.
    Attr,
    /// α̃, mean of |α̃| over channels, mean over layers.
    RawAbs,
    /// α̃, mean of |α̃|, rollout.
    RolloutAbs,
    /// α̃, mean of |α̃|, Mamba-Attr.
    AttrAbs,
    /// α̃, signed channel mean, mean over layers.
    RawSigned,
    /// The true query row `$\tilde\alpha_{P,\cdot}$`: ReLU of its channel mean, scaled to
    /// row max 1 per layer, mean over layers.
    AlphaRow,
    /// The authors' published CLS-row vector (drops `$\bar A_P$` and the diagonal), with the
    /// same aggregation as [`Method::AlphaRow`].
    AuthorsRow,
    /// M, ReLU of the channel mean, mean over layers.
    MixerRaw,
    /// M, ReLU of the channel mean, rollout.
    MixerRollout,
    /// M, ReLU of the channel mean, Mamba-Attr.
    MixerAttr,
    /// M, mean of |M|, mean over layers.
    MixerRawAbs,
    /// M, mean of |M|, rollout.
    MixerRolloutAbs,
    /// M, mean of |M|, Mamba-Attr.
    MixerAttrAbs,
    /// M, signed channel mean, mean over layers.
    MixerRawSigned,
    /// M, layer 0 only, signed channel mean (the first mixer, which reads the tokens
    /// themselves).
    MixerFirst,
    /// Gradient-weighted M ⊙ input: `$r_j = \sum_\ell\sum_e x^{(\ell,e)}_j
    /// \sum_i \frac{\partial\,\text{logit}}{\partial y^{(\ell,e)}_i} M^{(\ell,e)}_{ij}$` — each
    /// mixer's output split exactly by source position, weighted by its effect on the logit.
    MixerGradInput,
    /// [`Method::MixerGradInput`] with magnitudes: `$r_j = \sum_\ell\sum_e \big|x^{(\ell,e)}_j
    /// \sum_i \frac{\partial\,\text{logit}}{\partial y^{(\ell,e)}_i} M^{(\ell,e)}_{ij}\big|$`.
    MixerGradInputAbs,
    /// Gradient × input at the embedding: `$r_j = \sum_m g_{emb}[j,m]\,h_0[j,m]$` (signed).
    GradInput,
    /// `$\lvert$`gradient × input`$\rvert$`: `$r_j = \lvert\sum_m g_{emb}[j,m]\,h_0[j,m]\rvert$`.
    GradInputAbs,
    /// Saliency: `$r_j = \lVert g_{emb}[j,\cdot]\rVert_2$`.
    Saliency,
    /// Baseline: uniform random relevance, seeded (ChaCha8).
    Random,
    /// Baseline: `$r_j = j$` (the latest token is the most relevant).
    Recency,
}

/// The method `hattn explain` uses by default: the one that localised the evidence best
/// on `selective-copy-a` (all 256 held-out sequences; table in `docs/explain.md`).
pub const RECOMMENDED: Method = Method::MixerRawAbs;

impl Method {
    /// Every method, in table order.
    pub const ALL: [Method; 24] = [
        Method::Raw,
        Method::Rollout,
        Method::Attr,
        Method::RawAbs,
        Method::RolloutAbs,
        Method::AttrAbs,
        Method::RawSigned,
        Method::AlphaRow,
        Method::AuthorsRow,
        Method::MixerRaw,
        Method::MixerRollout,
        Method::MixerAttr,
        Method::MixerRawAbs,
        Method::MixerRolloutAbs,
        Method::MixerAttrAbs,
        Method::MixerRawSigned,
        Method::MixerFirst,
        Method::MixerGradInput,
        Method::MixerGradInputAbs,
        Method::GradInput,
        Method::GradInputAbs,
        Method::Saliency,
        Method::Random,
        Method::Recency,
    ];

    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Method::Raw => "raw",
            Method::Rollout => "rollout",
            Method::Attr => "attr",
            Method::RawAbs => "raw-abs",
            Method::RolloutAbs => "rollout-abs",
            Method::AttrAbs => "attr-abs",
            Method::RawSigned => "raw-signed",
            Method::AlphaRow => "alpha-row",
            Method::AuthorsRow => "authors-row",
            Method::MixerRaw => "mixer-raw",
            Method::MixerRollout => "mixer-rollout",
            Method::MixerAttr => "mixer-attr",
            Method::MixerRawAbs => "mixer-raw-abs",
            Method::MixerRolloutAbs => "mixer-rollout-abs",
            Method::MixerAttrAbs => "mixer-attr-abs",
            Method::MixerRawSigned => "mixer-raw-signed",
            Method::MixerFirst => "mixer-first",
            Method::MixerGradInput => "mixer-grad-input",
            Method::MixerGradInputAbs => "mixer-grad-input-abs",
            Method::GradInput => "grad-input",
            Method::GradInputAbs => "grad-input-abs",
            Method::Saliency => "saliency",
            Method::Random => "random",
            Method::Recency => "recency",
        }
    }

    /// The method named `s` (as [`Method::name`] writes it).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] (`method`) listing the known names.
    pub fn parse(s: &str) -> Result<Method> {
        Method::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| Error::InvalidArgument {
                name: "method".into(),
                reason: format!(
                    "unknown method `{s}`; known: {}",
                    Method::ALL.map(Method::name).join(", ")
                ),
            })
    }

    /// Whether the method's positions are post-conv positions (α̃ acts on the conv output).
    pub fn post_conv(self) -> bool {
        matches!(
            self,
            Method::Raw
                | Method::Rollout
                | Method::Attr
                | Method::RawAbs
                | Method::RolloutAbs
                | Method::AttrAbs
                | Method::RawSigned
                | Method::AlphaRow
                | Method::AuthorsRow
        )
    }
}

/// A relevance vector, and the `L × L` matrix it is a row of where the method has one.
#[derive(Debug, Clone, PartialEq)]
pub struct Relevance {
    /// `$r_j$` for `$j < L$` (0 after the target).
    pub row: Vec<f64>,
    /// The relevance matrix (raw, rollout and Mamba-Attr methods), row-major.
    pub matrix: Option<Vec<f64>>,
    /// The logit explained.
    pub logit: usize,
}

/// Per-layer channel aggregates: signed mean and mean of absolute values, `L × L`.
struct LayerAgg {
    signed: Vec<f64>,
    abs: Vec<f64>,
}

#[derive(Clone, Copy)]
enum Agg {
    Relu,
    Abs,
    Signed,
}

/// Per-layer aggregates of M, and the gradient-weighted M ⊙ input vectors (signed, and
/// summed magnitudes).
struct MixerAgg {
    layers: Vec<LayerAgg>,
    grad_input: Vec<f64>,
    grad_input_abs: Vec<f64>,
}

/// Channels per block when aggregating (bounds memory on wide models).
const BLOCK: usize = 64;

/// Explains one prediction with any [`Method`], sharing the per-layer work (α̃ and M
/// aggregates, gradients) between methods. Works for every model kind
/// ([`Explainable`]): on Mamba-2 the α̃ methods aggregate over heads (SSD, T8) instead of
/// channels, the `mixer-` methods over inner channels as for Mamba-1.
pub struct Explainer<'a, T: Real, M: Explainable<T> = MixerWeights<T>, C = MambaConfig> {
    model: &'a MambaModel<T, M, C>,
    trace: &'a ModelTrace<T, M::Trace>,
    target: usize,
    logit: usize,
    seed: u64,
    grads: Option<Vec<Vec<T>>>,
    alpha: Option<Vec<LayerAgg>>,
    mixer: Option<MixerAgg>,
}

fn to64<T: Real>(v: &T) -> f64 {
    Field::to_f64(v)
}

impl<'a, T: Real, M: Explainable<T>, C: BackboneConfig> Explainer<'a, T, M, C> {
    /// An explainer of logit `logit` (default: the arg max) at position `target`; `seed`
    /// seeds the random baseline.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for `target ≥ L` or a logit outside the vocabulary.
    pub fn new(
        model: &'a MambaModel<T, M, C>,
        trace: &'a ModelTrace<T, M::Trace>,
        target: usize,
        logit: Option<usize>,
        seed: u64,
    ) -> Result<Self> {
        let l = trace.len();
        if target >= l {
            return Err(Error::InvalidArgument {
                name: "target_pos".into(),
                reason: format!("position {target} is not below the sequence length {l}"),
            });
        }
        let logit = logit.unwrap_or_else(|| predicted_token(model, trace, target));
        if logit >= model.config.vocab_size() {
            return Err(Error::InvalidArgument {
                name: "logit".into(),
                reason: format!(
                    "logit {logit} is not below the vocabulary size {}",
                    model.config.vocab_size()
                ),
            });
        }
        Ok(Self {
            model,
            trace,
            target,
            logit,
            seed,
            grads: None,
            alpha: None,
            mixer: None,
        })
    }

    /// The logit explained.
    pub fn logit(&self) -> usize {
        self.logit
    }

    fn grads(&mut self) -> Result<&Vec<Vec<T>>> {
        if self.grads.is_none() {
            self.grads = Some(logit_gradients(
                self.model,
                self.trace,
                self.target,
                self.logit,
            )?);
        }
        Ok(self.grads.as_ref().expect("just set"))
    }

    fn alpha(&mut self) -> Result<&Vec<LayerAgg>> {
        if self.alpha.is_none() {
            let l = self.trace.len();
            let mut out = Vec::new();
            for (layer, tr) in self.model.layers.iter().zip(&self.trace.mixers) {
                let di = layer.mixer.attention_units();
                let mut agg = LayerAgg {
                    signed: vec![0.0; l * l],
                    abs: vec![0.0; l * l],
                };
                for c0 in (0..di).step_by(BLOCK) {
                    let chans: Vec<usize> = (c0..(c0 + BLOCK).min(di)).collect();
                    let t = layer.mixer.attention_block(tr, &chans)?;
                    accumulate(&mut agg, t.data(), l, di);
                }
                out.push(agg);
            }
            self.alpha = Some(out);
        }
        Ok(self.alpha.as_ref().expect("just set"))
    }

    /// Per-layer aggregates of M, and the gradient-weighted M ⊙ input vector.
    fn mixer(&mut self) -> Result<&MixerAgg> {
        if self.mixer.is_none() {
            let l = self.trace.len();
            let p = self.target;
            let grads = self.grads()?.clone();
            let mut out = Vec::new();
            let mut gx = vec![0.0; l];
            let mut gx_abs = vec![0.0; l];
            for (li, (layer, tr)) in self.model.layers.iter().zip(&self.trace.mixers).enumerate() {
                let di = layer.mixer.operator_units();
                // ∂logit/∂y (the operator outputs, before out_proj), (L, d_in)
                let gy = layer.mixer.operator_output_grad(tr, &grads[li]);
                let mut agg = LayerAgg {
                    signed: vec![0.0; l * l],
                    abs: vec![0.0; l * l],
                };
                for c0 in (0..di).step_by(BLOCK) {
                    let chans: Vec<usize> = (c0..(c0 + BLOCK).min(di)).collect();
                    let t = layer.mixer.operator_block(tr, &chans)?;
                    accumulate(&mut agg, t.data(), l, di);
                    for (m, &e) in t.data().chunks(l * l).zip(&chans) {
                        for j in 0..=p {
                            let s: f64 = (j..l)
                                .map(|i| to64(&gy[i * di + e]) * to64(&m[i * l + j]))
                                .sum();
                            let c = s * to64(&layer.mixer.operator_input(tr, e, j));
                            gx[j] += c;
                            gx_abs[j] += c.abs();
                        }
                    }
                }
                out.push(agg);
            }
            self.mixer = Some(MixerAgg {
                layers: out,
                grad_input: gx,
                grad_input_abs: gx_abs,
            });
        }
        Ok(self.mixer.as_ref().expect("just set"))
    }

    fn maps(&mut self, mixer: bool, agg: Agg) -> Result<Vec<Vec<f64>>> {
        let aggs: &Vec<LayerAgg> = if mixer {
            &self.mixer()?.layers
        } else {
            self.alpha()?
        };
        Ok(aggs.iter().map(|a| layer_map(a, agg)).collect())
    }

    fn attr(&mut self, maps: &[Vec<f64>]) -> Result<Vec<f64>> {
        let l = self.trace.len();
        let model = self.model;
        let s = attr_weights(model, self.grads()?, l);
        let fused: Vec<Vec<f64>> = maps
            .iter()
            .zip(&s)
            .map(|(a, s)| (0..l * l).map(|p| a[p] * s[p % l]).collect())
            .collect();
        Ok(rollout(&fused, 0, l))
    }

    /// The true α̃ row or the authors' CLS vector, aggregated as [`Method::AlphaRow`].
    fn query_rows(&mut self, authors: bool) -> Result<Vec<f64>> {
        let (l, p) = (self.trace.len(), self.target);
        let n = self.model.layers.len() as f64;
        let mut out = vec![0.0; l];
        for (layer, tr) in self.model.layers.iter().zip(&self.trace.mixers) {
            let rows = layer.mixer.query_rows(tr, p, authors)?;
            let mut mean = vec![0.0; l];
            for row in &rows {
                for (m, v) in mean.iter_mut().zip(row) {
                    *m += to64(v) / rows.len() as f64;
                }
            }
            let mx = mean.iter().fold(0.0f64, |a, &b| a.max(b));
            for (o, &v) in out.iter_mut().zip(&mean) {
                if mx > 0.0 {
                    *o += v.max(0.0) / mx / n;
                }
            }
        }
        Ok(out)
    }

    /// The relevance of every position for the prediction, by `method`.
    ///
    /// # Errors
    /// Errors of the hidden attention, the operator and the gradient.
    pub fn relevance(&mut self, method: Method) -> Result<Relevance> {
        let l = self.trace.len();
        let (p, dm) = (self.target, self.model.config.d_model());
        use Method as M;
        let matrix: Option<Vec<f64>> = match method {
            M::Raw => Some(raw(&self.maps(false, Agg::Relu)?, 0)),
            M::Rollout => Some(rollout(&self.maps(false, Agg::Relu)?, 0, l)),
            M::Attr => {
                let maps = self.maps(false, Agg::Relu)?;
                Some(self.attr(&maps)?)
            }
            M::RawAbs => Some(raw(&self.maps(false, Agg::Abs)?, 0)),
            M::RolloutAbs => Some(rollout(&self.maps(false, Agg::Abs)?, 0, l)),
            M::AttrAbs => {
                let maps = self.maps(false, Agg::Abs)?;
                Some(self.attr(&maps)?)
            }
            M::RawSigned => Some(raw(&self.maps(false, Agg::Signed)?, 0)),
            M::MixerRaw => Some(raw(&self.maps(true, Agg::Relu)?, 0)),
            M::MixerRollout => Some(rollout(&self.maps(true, Agg::Relu)?, 0, l)),
            M::MixerAttr => {
                let maps = self.maps(true, Agg::Relu)?;
                Some(self.attr(&maps)?)
            }
            M::MixerRawAbs => Some(raw(&self.maps(true, Agg::Abs)?, 0)),
            M::MixerRolloutAbs => Some(rollout(&self.maps(true, Agg::Abs)?, 0, l)),
            M::MixerAttrAbs => {
                let maps = self.maps(true, Agg::Abs)?;
                Some(self.attr(&maps)?)
            }
            M::MixerRawSigned => Some(raw(&self.maps(true, Agg::Signed)?, 0)),
            M::MixerFirst => Some(self.maps(true, Agg::Signed)?.swap_remove(0)),
            _ => None,
        };
        let mut row = match (&matrix, method) {
            (Some(m), _) => m[p * l..(p + 1) * l].to_vec(),
            (None, M::AlphaRow) => self.query_rows(false)?,
            (None, M::AuthorsRow) => self.query_rows(true)?,
            (None, M::MixerGradInput) => self.mixer()?.grad_input.clone(),
            (None, M::MixerGradInputAbs) => self.mixer()?.grad_input_abs.clone(),
            (None, M::GradInput | M::GradInputAbs | M::Saliency) => {
                let (nl, trace) = (self.model.layers.len(), self.trace);
                let g = &self.grads()?[nl];
                let h0 = &trace.residual_in[0];
                (0..l)
                    .map(|j| {
                        let (gj, hj) = (&g[j * dm..(j + 1) * dm], &h0[j * dm..(j + 1) * dm]);
                        let gi: f64 = gj.iter().zip(hj).map(|(a, b)| to64(a) * to64(b)).sum();
                        if method == M::GradInput {
                            gi
                        } else if method == M::GradInputAbs {
                            gi.abs()
                        } else {
                            gj.iter().map(|a| to64(a) * to64(a)).sum::<f64>().sqrt()
                        }
                    })
                    .collect()
            }
            (None, M::Random) => {
                let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
                (0..l).map(|_| rng.gen::<f64>()).collect()
            }
            (None, M::Recency) => (0..l).map(|j| j as f64).collect(),
            (None, _) => unreachable!("every matrix method has a matrix"),
        };
        for v in row.iter_mut().skip(p + 1) {
            *v = 0.0;
        }
        if let Some(j) = row.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFiniteResult {
                what: format!("relevance ({})", method.name()),
                index: vec![j],
                value: row[j],
            });
        }
        Ok(Relevance {
            row,
            matrix,
            logit: self.logit,
        })
    }
}

/// Add a block of channel matrices (`(c, L, L)`) into the layer's aggregates, each divided
/// by `d_in`.
fn accumulate<T: Real>(agg: &mut LayerAgg, data: &[T], l: usize, di: usize) {
    let inv = 1.0 / di as f64;
    for m in data.chunks(l * l) {
        for ((s, a), v) in agg.signed.iter_mut().zip(&mut agg.abs).zip(m) {
            let v = to64(v);
            *s += v * inv;
            *a += v.abs() * inv;
        }
    }
}

/// The normalised per-layer map of an aggregation (module docs, table).
fn layer_map(a: &LayerAgg, agg: Agg) -> Vec<f64> {
    let v: Vec<f64> = match agg {
        Agg::Relu => a.signed.iter().map(|x| x.max(0.0)).collect(),
        Agg::Abs => a.abs.clone(),
        Agg::Signed => a.signed.clone(),
    };
    let mx = v.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    if mx > 0.0 {
        v.into_iter().map(|x| x / mx).collect()
    } else {
        v
    }
}

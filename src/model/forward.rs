//! A Mamba language model: loading from a checkpoint and the batched forward pass.
//!
//! The skeleton (embedding → per layer RMSNorm → mixer → residual → `norm_f` → logits) is
//! shared by every kind; the mixer is a type parameter ([`Mixer`]): Mamba-1 and
//! Falcon-Mamba use [`MixerWeights`], Mamba-2 uses [`crate::model::mamba2::Mamba2Mixer`].

use std::path::Path;

use crate::error::{Error, Result};
use crate::model::block::{rms_norm, MixerDims, MixerTrace, MixerWeights};
use crate::model::config::{MambaConfig, Naming};
use crate::model::linear::linear;
use crate::model::weights::Checkpoint;
use crate::scalar::Real;

/// A token mixer of the shared skeleton: a map from the normalised residual stream
/// `(L, d)` of each sequence of a batch to its output `(L, d)`, keeping a trace.
pub trait Mixer<T: Real>: Sync {
    /// Everything one call computed on one sequence.
    type Trace;
    /// Run the mixer on a batch of inputs (each `(L, d)`, one common `L`).
    ///
    /// # Errors
    /// Shape errors and non-finite results, named.
    fn forward_batch(&self, inputs: &[&[T]]) -> Result<Vec<Self::Trace>>;
    /// The mixer output `(L, d)` of a trace.
    fn output(trace: &Self::Trace) -> &[T];
    /// The reverse pass: `$\partial/\partial(\text{input})$` `(L, d)` from
    /// `$\partial/\partial(\text{output})$` `g_out` `(L, d)`, at the trace's input.
    ///
    /// # Errors
    /// Errors of the mixer's own recomputation.
    fn backward(&self, trace: &Self::Trace, g_out: &[T]) -> Result<Vec<T>>;
}

/// The sizes of the skeleton every model kind shares.
pub trait BackboneConfig {
    /// Model width `$d$`.
    fn d_model(&self) -> usize;
    /// Vocabulary size.
    fn vocab_size(&self) -> usize;
    /// ε of the pre-norms and of `norm_f`.
    fn norm_eps(&self) -> f64;
}

impl BackboneConfig for MambaConfig {
    fn d_model(&self) -> usize {
        self.d_model
    }
    fn vocab_size(&self) -> usize {
        self.vocab_size
    }
    fn norm_eps(&self) -> f64 {
        self.norm_eps
    }
}

impl<T: Real> Mixer<T> for MixerWeights<T> {
    type Trace = MixerTrace<T>;
    fn forward_batch(&self, inputs: &[&[T]]) -> Result<Vec<MixerTrace<T>>> {
        MixerWeights::forward_batch(self, inputs)
    }
    fn output(trace: &MixerTrace<T>) -> &[T] {
        &trace.out
    }
    fn backward(&self, trace: &MixerTrace<T>, g_out: &[T]) -> Result<Vec<T>> {
        crate::model::explain::mixer_backward(self, trace, g_out)
    }
}

/// One layer: the pre-norm weight and the mixer.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerWeights<T, M = MixerWeights<T>> {
    /// RMSNorm weight, `(d)`.
    pub norm: Vec<T>,
    /// The mixer.
    pub mixer: M,
}

/// A Mamba causal language model in float type `T` (`f32` or `f64`): Mamba-1 and
/// Falcon-Mamba with the default parameters, Mamba-2 as
/// [`crate::model::mamba2::Mamba2Model`].
#[derive(Debug, Clone, PartialEq)]
pub struct MambaModel<T, M = MixerWeights<T>, C = MambaConfig> {
    /// The configuration.
    pub config: C,
    /// Embedding matrix, `(vocab, d)`.
    pub embedding: Vec<T>,
    /// The layers.
    pub layers: Vec<LayerWeights<T, M>>,
    /// Final RMSNorm weight, `(d)`.
    pub norm_f: Vec<T>,
    /// Separate `lm_head.weight` `(vocab, d)`; `None` when tied to the embedding.
    pub lm_head: Option<Vec<T>>,
}

/// Which rows of the logits a forward pass computes (the `lm_head` product is the most
/// expensive step for a large vocabulary).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Logits {
    /// Every position.
    All,
    /// The last position only.
    Last,
    /// None.
    None,
}

/// Everything one forward pass computed on one sequence.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelTrace<T, Tr = MixerTrace<T>> {
    /// The tokens.
    pub tokens: Vec<usize>,
    /// The residual stream entering each layer, `(L, d)` each; entry 0 is the embedding.
    pub residual_in: Vec<Vec<T>>,
    /// RMSNorm factors `$r_t$` of each layer's pre-norm, `(L)` each.
    pub rms: Vec<Vec<T>>,
    /// Each layer's mixer trace.
    pub mixers: Vec<Tr>,
    /// The residual stream after the last layer, `(L, d)`.
    pub residual_out: Vec<T>,
    /// RMSNorm factors of `norm_f`, `(L)`.
    pub rms_f: Vec<T>,
    /// Output of `norm_f`, `(L, d)`.
    pub normed_f: Vec<T>,
    /// Logits `(rows, vocab)` for the rows asked for ([`Logits`]).
    pub logits: Vec<T>,
}

impl<T: Real, Tr> ModelTrace<T, Tr> {
    /// Sequence length.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }
    /// Whether the sequence is empty (never, for a trace of a forward pass).
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }
    /// The hidden states as `transformers` 5.x returns them (`output_hidden_states=True`):
    /// the residual stream after every layer, then the output of `norm_f` —
    /// `n_layer + 1` tensors of shape `(L, d)`. (The embedding output is `residual_in[0]`.)
    pub fn hidden_states(&self) -> Vec<&[T]> {
        let mut v: Vec<&[T]> = self.residual_in.iter().skip(1).map(Vec::as_slice).collect();
        v.push(&self.residual_out);
        v.push(&self.normed_f);
        v
    }
}

fn mixer_names(naming: Naming, i: usize) -> String {
    let _ = naming;
    format!("backbone.layers.{i}.mixer")
}

impl<T: Real> MambaModel<T> {
    /// Load `config.json` and the safetensors weights of a checkpoint directory.
    ///
    /// # Errors
    /// [`Error::Config`], [`Error::Io`], [`Error::Safetensors`], [`Error::MissingTensor`],
    /// [`Error::WeightShape`] (config/weights disagreement), [`Error::Dtype`].
    pub fn load(dir: &Path) -> Result<Self> {
        let config = MambaConfig::load(&MambaConfig::file_in(dir))?;
        let ck = Checkpoint::open(dir)?;
        Self::from_checkpoint(config, &ck)
    }

    /// Build the model from a configuration and the tensors of a checkpoint.
    ///
    /// # Errors
    /// As [`MambaModel::load`].
    pub fn from_checkpoint(config: MambaConfig, ck: &Checkpoint) -> Result<Self> {
        let c = &config;
        let (dm, di, n, k, r, v) = (
            c.d_model,
            c.d_inner,
            c.d_state,
            c.d_conv,
            c.dt_rank,
            c.vocab_size,
        );
        let emb_name = if ck.contains(c.naming.embedding()) {
            c.naming.embedding()
        } else {
            match c.naming {
                Naming::Transformers if ck.contains(Naming::MambaSsm.embedding()) => {
                    Naming::MambaSsm.embedding()
                }
                Naming::MambaSsm if ck.contains(Naming::Transformers.embedding()) => {
                    Naming::Transformers.embedding()
                }
                _ => c.naming.embedding(),
            }
        };
        let embedding = ck.tensor(emb_name, &[v, dm], "vocab_size × hidden_size")?;
        let mut layers = Vec::with_capacity(c.n_layer);
        for i in 0..c.n_layer {
            let p = mixer_names(c.naming, i);
            let get = |name: &str, shape: &[usize], hint: &str| {
                ck.tensor::<T>(&format!("{p}.{name}"), shape, hint)
            };
            let opt =
                |name: &str, shape: &[usize], on: bool, hint: &str| -> Result<Option<Vec<T>>> {
                    if on {
                        get(name, shape, hint).map(Some)
                    } else {
                        Ok(None)
                    }
                };
            let a_log: Vec<T> = get("A_log", &[di, n], "intermediate_size × state_size")?;
            if let Some(extra) = ck
                .names()
                .find(|nm| nm.starts_with(&format!("{p}.")) && nm.contains("_b"))
            {
                if extra.ends_with("A_b_log") {
                    return Err(Error::InvalidArgument {
                        name: extra.to_string(),
                        reason: "a bidirectional (Vision Mamba) layer: build it with model::bidirectional".into(),
                    });
                }
            }
            let mixer = MixerWeights {
                dims: MixerDims {
                    d_model: dm,
                    d_inner: di,
                    d_state: n,
                    d_conv: k,
                    dt_rank: r,
                },
                in_proj: get(
                    "in_proj.weight",
                    &[2 * di, dm],
                    "2·intermediate_size × hidden_size",
                )?,
                in_proj_bias: opt("in_proj.bias", &[2 * di], c.use_bias, "use_bias")?,
                conv_w: get(
                    "conv1d.weight",
                    &[di, 1, k],
                    "intermediate_size × 1 × conv_kernel",
                )?,
                conv_b: opt("conv1d.bias", &[di], c.use_conv_bias, "use_conv_bias")?,
                x_proj: get(
                    "x_proj.weight",
                    &[r + 2 * n, di],
                    "(time_step_rank + 2·state_size) × intermediate_size",
                )?,
                dt_proj_w: get(
                    "dt_proj.weight",
                    &[di, r],
                    "intermediate_size × time_step_rank",
                )?,
                dt_proj_b: get("dt_proj.bias", &[di], "intermediate_size")?,
                a: a_log.iter().map(|&x| -x.exp()).collect(),
                d: get("D", &[di], "intermediate_size")?,
                out_proj: get(
                    "out_proj.weight",
                    &[dm, di],
                    "hidden_size × intermediate_size",
                )?,
                out_proj_bias: opt("out_proj.bias", &[dm], c.use_bias, "use_bias")?,
                inner_norm_eps: c.mixer_rms_eps,
            };
            let norm = ck.tensor(
                &format!("backbone.layers.{i}.norm.weight"),
                &[dm],
                "hidden_size",
            )?;
            layers.push(LayerWeights { norm, mixer });
        }
        let beyond = format!("backbone.layers.{}.", c.n_layer);
        if let Some(extra) = ck.names().find(|nm| nm.starts_with(&beyond)) {
            return Err(Error::Config {
                file: ck.origin().join("config.json"),
                key: "num_hidden_layers".into(),
                reason: format!("is {}, but the weights hold `{extra}`", c.n_layer),
            });
        }
        let norm_f = ck.tensor("backbone.norm_f.weight", &[dm], "hidden_size")?;
        let lm_head = if c.tie_embeddings {
            None
        } else {
            Some(ck.tensor("lm_head.weight", &[v, dm], "vocab_size × hidden_size")?)
        };
        Ok(Self {
            config,
            embedding,
            layers,
            norm_f,
            lm_head,
        })
    }
}

impl<T: Real, M: Mixer<T>, C: BackboneConfig> MambaModel<T, M, C> {
    /// Check a token list: non-empty, every id below the vocabulary size.
    ///
    /// # Errors
    /// [`Error::EmptyTokens`], [`Error::TokenId`] naming the position.
    pub fn check_tokens(&self, tokens: &[usize]) -> Result<()> {
        if tokens.is_empty() {
            return Err(Error::EmptyTokens);
        }
        let vocab = self.config.vocab_size();
        match tokens.iter().position(|&t| t >= vocab) {
            Some(p) => Err(Error::TokenId {
                position: p,
                id: tokens[p],
                vocab,
            }),
            None => Ok(()),
        }
    }

    /// Forward pass of one sequence, every trace kept.
    ///
    /// # Errors
    /// As [`MambaModel::forward_batch`].
    pub fn forward(&self, tokens: &[usize], logits: Logits) -> Result<ModelTrace<T, M::Trace>> {
        Ok(self
            .forward_batch(&[tokens.to_vec()], logits)?
            .pop()
            .expect("one sequence"))
    }

    /// Forward pass of a batch of sequences of one length: embedding → per layer
    /// (RMSNorm → mixer → residual) → `norm_f` → logits.
    ///
    /// # Errors
    /// [`Error::EmptyTokens`], [`Error::TokenId`], [`Error::InvalidArgument`] for unequal
    /// lengths, [`Error::NonFiniteResult`] on overflow.
    pub fn forward_batch(
        &self,
        batch: &[Vec<usize>],
        logits: Logits,
    ) -> Result<Vec<ModelTrace<T, M::Trace>>> {
        self.forward_batch_with(batch, logits, &mut |_| {})
    }

    /// [`MambaModel::forward_batch`] calling `on_layer(i)` after layer `i` (progress bars).
    ///
    /// # Errors
    /// As [`MambaModel::forward_batch`].
    pub fn forward_batch_with(
        &self,
        batch: &[Vec<usize>],
        logits: Logits,
        on_layer: &mut dyn FnMut(usize),
    ) -> Result<Vec<ModelTrace<T, M::Trace>>> {
        self.run(batch, logits, None, on_layer)
    }

    /// The forward pass with an optional additive perturbation `(layer, position, feature,
    /// ε)` of a layer's output (the residual stream after it) — used to check gradients by
    /// finite differences.
    pub(crate) fn run(
        &self,
        batch: &[Vec<usize>],
        logits: Logits,
        perturb: Option<(usize, usize, usize, T)>,
        on_layer: &mut dyn FnMut(usize),
    ) -> Result<Vec<ModelTrace<T, M::Trace>>> {
        let dm = self.config.d_model();
        if batch.is_empty() {
            return Err(Error::EmptyTokens);
        }
        for (b, toks) in batch.iter().enumerate() {
            self.check_tokens(toks)?;
            if toks.len() != batch[0].len() {
                return Err(Error::InvalidArgument {
                    name: "batch".into(),
                    reason: format!(
                        "sequence {b} has length {}, sequence 0 has {}",
                        toks.len(),
                        batch[0].len()
                    ),
                });
            }
        }
        let l = batch[0].len();
        let mut hs: Vec<Vec<T>> = batch
            .iter()
            .map(|toks| {
                toks.iter()
                    .flat_map(|&t| self.embedding[t * dm..(t + 1) * dm].iter().copied())
                    .collect()
            })
            .collect();
        let mut traces: Vec<ModelTrace<T, M::Trace>> = batch
            .iter()
            .map(|toks| ModelTrace {
                tokens: toks.clone(),
                residual_in: Vec::new(),
                rms: Vec::new(),
                mixers: Vec::new(),
                residual_out: Vec::new(),
                rms_f: Vec::new(),
                normed_f: Vec::new(),
                logits: Vec::new(),
            })
            .collect();
        for (i, layer) in self.layers.iter().enumerate() {
            let mut normed = Vec::with_capacity(batch.len());
            for (b, h) in hs.iter().enumerate() {
                let (nx, r) = rms_norm(h, dm, &layer.norm, self.config.norm_eps());
                traces[b].residual_in.push(h.clone());
                traces[b].rms.push(r);
                normed.push(nx);
            }
            let refs: Vec<&[T]> = normed.iter().map(Vec::as_slice).collect();
            let mixers = layer.mixer.forward_batch(&refs)?;
            for (b, m) in mixers.into_iter().enumerate() {
                for (hv, &o) in hs[b].iter_mut().zip(M::output(&m)) {
                    *hv = *hv + o;
                }
                if let Some((pl, pt, pf, eps)) = perturb {
                    if pl == i {
                        hs[b][pt * dm + pf] = hs[b][pt * dm + pf] + eps;
                    }
                }
                traces[b].mixers.push(m);
            }
            on_layer(i);
        }
        let head = self.lm_head.as_deref().unwrap_or(&self.embedding);
        let v = self.config.vocab_size();
        for (b, h) in hs.into_iter().enumerate() {
            let (nf, r) = rms_norm(&h, dm, &self.norm_f, self.config.norm_eps());
            let tr = &mut traces[b];
            tr.logits = match logits {
                Logits::All => linear(&nf, l, head, v, dm, None),
                Logits::Last => linear(&nf[(l - 1) * dm..], 1, head, v, dm, None),
                Logits::None => Vec::new(),
            };
            crate::tensor::expect_finite_result(
                "logits",
                &tr.logits,
                &[tr.logits.len() / v.max(1), v],
            )?;
            tr.residual_out = h;
            tr.rms_f = r;
            tr.normed_f = nf;
        }
        Ok(traces)
    }

    /// Logit `k` at position `pos` of a trace computed with [`Logits::All`], or recomputed
    /// from `normed_f` otherwise.
    pub fn logit(&self, trace: &ModelTrace<T, M::Trace>, pos: usize, k: usize) -> T {
        let dm = self.config.d_model();
        let head = self.lm_head.as_deref().unwrap_or(&self.embedding);
        crate::model::linear::fast_dot(
            &trace.normed_f[pos * dm..(pos + 1) * dm],
            &head[k * dm..(k + 1) * dm],
        )
    }
}

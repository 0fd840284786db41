//! A Mamba-2 language model (`Mamba2ForCausalLM`): loading, and the forward pass of the
//! shared skeleton ([`MambaModel`]) with [`Mamba2Mixer`] layers.

use std::path::Path;

use crate::error::{Error, Result};
use crate::model::forward::{LayerWeights, MambaModel};
use crate::model::mamba2::config::Mamba2Config;
use crate::model::mamba2::mixer::{Mamba2Dims, Mamba2Mixer, Mamba2Trace};
use crate::model::weights::Checkpoint;
use crate::model::ModelTrace;
use crate::scalar::Real;

/// A Mamba-2 causal language model in float type `T`.
pub type Mamba2Model<T> = MambaModel<T, Mamba2Mixer<T>, Mamba2Config>;

/// Everything one forward pass of a Mamba-2 model computed on one sequence.
pub type Mamba2ModelTrace<T> = ModelTrace<T, Mamba2Trace<T>>;

/// Load `config.json` and the safetensors weights (f32, f16, bf16 or f64) of a
/// `Mamba2ForCausalLM` checkpoint directory: `mamba2::load::<f64>(dir)`.
///
/// (A free function, not `MambaModel::load`, so that `MambaModel::load` keeps meaning the
/// Mamba-1 loader without a type annotation.)
///
/// # Errors
/// [`Error::Config`] (also for a configuration of another kind), [`Error::Io`],
/// [`Error::Safetensors`], [`Error::MissingTensor`], [`Error::WeightShape`],
/// [`Error::Dtype`].
pub fn load<T: Real>(dir: &Path) -> Result<Mamba2Model<T>> {
    let config = Mamba2Config::load(&Mamba2Config::file_in(dir))?;
    let ck = Checkpoint::open(dir)?;
    from_checkpoint(config, &ck)
}

/// Build a Mamba-2 model from a configuration and the tensors of a checkpoint
/// (`transformers` names: `backbone.embeddings.weight`,
/// `backbone.layers.{i}.{norm.weight, mixer.*}`, `backbone.norm_f.weight`,
/// `lm_head.weight` when not tied).
///
/// # Errors
/// As [`load`].
pub fn from_checkpoint<T: Real>(config: Mamba2Config, ck: &Checkpoint) -> Result<Mamba2Model<T>> {
    {
        let c = &config;
        let (dm, h, v) = (c.d_model, c.n_heads, c.vocab_size);
        let (di, cd, rows) = (c.d_inner(), c.conv_dim(), c.in_proj_rows());
        let embedding = ck.tensor(
            "backbone.embeddings.weight",
            &[v, dm],
            "vocab_size × hidden_size",
        )?;
        let mut layers = Vec::with_capacity(c.n_layer);
        for i in 0..c.n_layer {
            let p = format!("backbone.layers.{i}.mixer");
            let get = |name: &str, shape: &[usize], hint: &str| {
                ck.tensor::<T>(&format!("{p}.{name}"), shape, hint)
            };
            let opt = |name: &str, shape: &[usize], on: bool, hint: &str| {
                on.then(|| get(name, shape, hint)).transpose()
            };
            let a_log = get("A_log", &[h], "num_heads")?;
            let mixer = Mamba2Mixer {
                dims: Mamba2Dims {
                    d_model: dm,
                    n_heads: h,
                    head_dim: c.head_dim,
                    n_groups: c.n_groups,
                    d_state: c.d_state,
                    d_conv: c.d_conv,
                    chunk_size: c.chunk_size,
                },
                in_proj: get(
                    "in_proj.weight",
                    &[rows, dm],
                    "(2·intermediate + 2·n_groups·state_size + num_heads) × hidden_size",
                )?,
                in_proj_bias: opt("in_proj.bias", &[rows], c.use_bias, "use_bias")?,
                conv_w: get(
                    "conv1d.weight",
                    &[cd, 1, c.d_conv],
                    "(intermediate + 2·n_groups·state_size) × 1 × conv_kernel",
                )?,
                conv_b: opt("conv1d.bias", &[cd], c.use_conv_bias, "use_conv_bias")?,
                dt_bias: get("dt_bias", &[h], "num_heads")?,
                a: a_log.iter().map(|&x| -x.exp()).collect(),
                d: get("D", &[h], "num_heads")?,
                norm_w: get("norm.weight", &[di], "intermediate (num_heads·head_dim)")?,
                norm_eps: c.norm_eps,
                dt_limit: c.time_step_limit,
                out_proj: get("out_proj.weight", &[dm, di], "hidden_size × intermediate")?,
                out_proj_bias: opt("out_proj.bias", &[dm], c.use_bias, "use_bias")?,
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
        Ok(MambaModel {
            config,
            embedding,
            layers,
            norm_f,
            lm_head,
        })
    }
}

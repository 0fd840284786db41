//! `config.json` of a Mamba-1 or Falcon-Mamba checkpoint, in both naming schemes
//! (Falcon-Mamba: `transformers` only, with `mixer_rms_eps`).
//!
//! | meaning | `transformers` key | `mamba_ssm` key |
//! | --- | --- | --- |
//! | model width `$d$` | `hidden_size` | `d_model` |
//! | layers | `num_hidden_layers` | `n_layer` |
//! | vocabulary | `vocab_size` | `vocab_size` rounded up to `pad_vocab_size_multiple` |
//! | state size `$N$` | `state_size` | `ssm_cfg.d_state` (16) |
//! | inner width `$d_{in}$` | `intermediate_size` (or `expand`·`$d$`) | `ssm_cfg.expand`·`$d$` (2`$d$`) |
//! | conv kernel | `conv_kernel` | `ssm_cfg.d_conv` (4) |
//! | Δ rank `$R$` | `time_step_rank` (`"auto"` = ⌈d/16⌉) | `ssm_cfg.dt_rank` (⌈d/16⌉) |
//! | in/out projection bias | `use_bias` | `ssm_cfg.bias` (false) |
//! | conv bias | `use_conv_bias` | `ssm_cfg.conv_bias` (true) |
//! | RMSNorm ε | `layer_norm_epsilon` | `norm_epsilon` (1e-5) |
//! | tied `lm_head` | `tie_word_embeddings` (true) | `tie_embeddings` (true) |

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{Error, Result};
use crate::model::kind::ModelKind;

/// Which release a checkpoint follows (names of config keys and of the embedding tensor).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Naming {
    /// Hugging Face `transformers` (`MambaForCausalLM`): `backbone.embeddings.weight`.
    Transformers,
    /// The original `mamba_ssm` release (`MambaLMHeadModel`): `backbone.embedding.weight`.
    MambaSsm,
}

impl Naming {
    /// Name of the embedding tensor in this scheme.
    pub fn embedding(self) -> &'static str {
        match self {
            Naming::Transformers => "backbone.embeddings.weight",
            Naming::MambaSsm => "backbone.embedding.weight",
        }
    }
}

/// The sizes and switches of a Mamba-1 language model.
#[derive(Debug, Clone, PartialEq)]
pub struct MambaConfig {
    /// Model width `$d$` (`hidden_size` / `d_model`).
    pub d_model: usize,
    /// Number of layers.
    pub n_layer: usize,
    /// Vocabulary size (rows of the embedding; padded for `mamba_ssm`).
    pub vocab_size: usize,
    /// State size `$N$`.
    pub d_state: usize,
    /// Inner width `$d_{in}$` (channels of the S6).
    pub d_inner: usize,
    /// Depthwise convolution kernel size.
    pub d_conv: usize,
    /// Rank `$R$` of the Δ projection.
    pub dt_rank: usize,
    /// Bias on `in_proj` and `out_proj`.
    pub use_bias: bool,
    /// Bias on the depthwise convolution.
    pub use_conv_bias: bool,
    /// RMSNorm ε.
    pub norm_eps: f64,
    /// Whether `lm_head` shares the embedding matrix.
    pub tie_embeddings: bool,
    /// The naming scheme the configuration was written in.
    pub naming: Naming,
    /// Mamba-1 or Falcon-Mamba (a Mamba-2 configuration is refused by [`MambaConfig::parse`]).
    pub kind: ModelKind,
    /// Falcon-Mamba's ε (`mixer_rms_eps`) of the weightless RMS norms on the low-rank Δ
    /// input, on `$B$` and on `$C$`; `None` for Mamba-1.
    pub mixer_rms_eps: Option<f64>,
}

struct Keys<'a> {
    file: &'a Path,
    obj: &'a serde_json::Map<String, Value>,
}

impl Keys<'_> {
    fn err(&self, key: &str, reason: impl Into<String>) -> Error {
        Error::Config {
            file: self.file.to_path_buf(),
            key: key.to_string(),
            reason: reason.into(),
        }
    }
    fn get<'v>(&'v self, path: &str) -> Option<&'v Value> {
        let mut it = path.split('.');
        let mut v = self.obj.get(it.next()?)?;
        for k in it {
            v = v.get(k)?;
        }
        (!v.is_null()).then_some(v)
    }
    fn usize(&self, key: &str) -> Result<Option<usize>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => match v.as_u64() {
                Some(n) if n > 0 => Ok(Some(n as usize)),
                _ => Err(self.err(key, format!("expected a positive integer, found {v}"))),
            },
        }
    }
    fn need(&self, key: &str) -> Result<usize> {
        self.usize(key)?.ok_or_else(|| self.err(key, "missing"))
    }
    fn bool(&self, key: &str, default: bool) -> Result<bool> {
        match self.get(key) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(v) => Err(self.err(key, format!("expected true or false, found {v}"))),
        }
    }
    fn float(&self, key: &str, default: f64) -> Result<f64> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => match v.as_f64() {
                Some(x) if x >= 0.0 && x.is_finite() => Ok(x),
                _ => Err(self.err(key, format!("expected a non-negative number, found {v}"))),
            },
        }
    }
    /// A rank that may be `"auto"` (⌈d/16⌉).
    fn rank(&self, key: &str, d_model: usize) -> Result<usize> {
        match self.get(key) {
            None => Ok(d_model.div_ceil(16)),
            Some(Value::String(s)) if s == "auto" => Ok(d_model.div_ceil(16)),
            Some(_) => self.need(key),
        }
    }
}

impl MambaConfig {
    /// Read `config.json`.
    ///
    /// # Errors
    /// [`Error::Io`] if unreadable, [`Error::Config`] naming the key at fault.
    pub fn load(file: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(file).map_err(|source| Error::Io {
            path: file.to_path_buf(),
            source,
        })?;
        Self::parse(file, &text)
    }

    /// Parse the text of a `config.json` (`file` is used in error messages).
    ///
    /// The scheme is recognised by its width key: `hidden_size` (`transformers`) or
    /// `d_model` (`mamba_ssm`).
    ///
    /// # Errors
    /// [`Error::Config`] naming the missing or invalid key.
    ///
    /// # Examples
    /// ```
    /// use hidden_attention::model::{MambaConfig, Naming};
    /// let c = MambaConfig::parse("config.json".as_ref(),
    ///     r#"{"d_model": 768, "n_layer": 24, "vocab_size": 50277, "pad_vocab_size_multiple": 8}"#).unwrap();
    /// assert_eq!((c.vocab_size, c.d_inner, c.dt_rank, c.d_state), (50280, 1536, 48, 16));
    /// assert_eq!(c.naming, Naming::MambaSsm);
    /// ```
    pub fn parse(file: &Path, text: &str) -> Result<Self> {
        let v: Value = serde_json::from_str(text).map_err(|e| Error::Config {
            file: file.to_path_buf(),
            key: "(json)".into(),
            reason: e.to_string(),
        })?;
        let obj = v.as_object().ok_or_else(|| Error::Config {
            file: file.to_path_buf(),
            key: "(root)".into(),
            reason: "not a JSON object".into(),
        })?;
        let k = Keys { file, obj };
        let kind = ModelKind::from_json(file, &v)?;
        if kind == ModelKind::Mamba2 {
            return Err(k.err(
                "model_type",
                "a Mamba-2 configuration: load it with model::mamba2 (hattn detects the kind)",
            ));
        }
        let mixer_rms_eps = match kind {
            ModelKind::FalconMamba => Some(k.float("mixer_rms_eps", 1e-6)?),
            _ => None,
        };
        if k.get("hidden_size").is_some() {
            let d_model = k.need("hidden_size")?;
            let d_inner = match k.usize("intermediate_size")? {
                Some(n) => n,
                None => k.usize("expand")?.unwrap_or(2) * d_model,
            };
            Ok(Self {
                d_model,
                n_layer: k.need("num_hidden_layers")?,
                vocab_size: k.need("vocab_size")?,
                d_state: k.usize("state_size")?.unwrap_or(16),
                d_inner,
                d_conv: k.usize("conv_kernel")?.unwrap_or(4),
                dt_rank: k.rank("time_step_rank", d_model)?,
                use_bias: k.bool("use_bias", false)?,
                use_conv_bias: k.bool("use_conv_bias", true)?,
                norm_eps: k.float("layer_norm_epsilon", 1e-5)?,
                tie_embeddings: k.bool("tie_word_embeddings", true)?,
                naming: Naming::Transformers,
                kind,
                mixer_rms_eps,
            })
        } else if k.get("d_model").is_some() {
            let d_model = k.need("d_model")?;
            let vocab = k.need("vocab_size")?;
            let pad = k.usize("pad_vocab_size_multiple")?.unwrap_or(1);
            Ok(Self {
                d_model,
                n_layer: k.need("n_layer")?,
                vocab_size: vocab.div_ceil(pad) * pad,
                d_state: k.usize("ssm_cfg.d_state")?.unwrap_or(16),
                d_inner: k.usize("ssm_cfg.expand")?.unwrap_or(2) * d_model,
                d_conv: k.usize("ssm_cfg.d_conv")?.unwrap_or(4),
                dt_rank: k.rank("ssm_cfg.dt_rank", d_model)?,
                use_bias: k.bool("ssm_cfg.bias", false)?,
                use_conv_bias: k.bool("ssm_cfg.conv_bias", true)?,
                norm_eps: k.float("norm_epsilon", 1e-5)?,
                tie_embeddings: k.bool("tie_embeddings", true)?,
                naming: Naming::MambaSsm,
                kind,
                mixer_rms_eps,
            })
        } else {
            Err(k.err(
                "hidden_size",
                "missing (and no `d_model` either): not a Mamba configuration",
            ))
        }
    }

    /// The configuration file of a checkpoint directory.
    pub fn file_in(dir: &Path) -> PathBuf {
        dir.join("config.json")
    }
}

//! `config.json` of a Hugging Face `Mamba2ForCausalLM` checkpoint.
//!
//! | meaning | key | default |
//! | --- | --- | --- |
//! | model width `$d$` | `hidden_size` | required |
//! | layers | `num_hidden_layers` | required |
//! | vocabulary | `vocab_size` | required |
//! | state size `$N$` | `state_size` | 128 |
//! | heads `$H$`, head dim `$P$` | `num_heads`, `head_dim` | 128, 64 |
//! | inner width `$d_{in} = H P$` | `expand`·`$d$` (must equal `$HP$`) | `expand` = 2 |
//! | `$B$`/`$C$` groups `$G$` | `n_groups` | 8 |
//! | conv kernel | `conv_kernel` | 4 |
//! | chunk size `$Q$` | `chunk_size` | 256 |
//! | clamp of Δ | `time_step_limit` (`[lo, hi]`; `{"__float__": "Infinity"}` is `$+\infty$`) | `$[0, \infty)$` |
//! | in/out projection bias | `use_bias` | false |
//! | conv bias | `use_conv_bias` | true |
//! | RMSNorm ε (pre-norms, `norm_f`, the gated norm) | `layer_norm_epsilon` | 1e-5 |
//! | tied `lm_head` | `tie_word_embeddings` | false |
//!
//! The defaults are `transformers`' `Mamba2Config` defaults; `save_pretrained` writes every
//! key, so they matter only for hand-written files.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{Error, Result};
use crate::model::forward::BackboneConfig;
use crate::model::kind::ModelKind;

/// The sizes and switches of a Mamba-2 language model.
#[derive(Debug, Clone, PartialEq)]
pub struct Mamba2Config {
    /// Model width `$d$`.
    pub d_model: usize,
    /// Number of layers.
    pub n_layer: usize,
    /// Vocabulary size.
    pub vocab_size: usize,
    /// State size `$N$`.
    pub d_state: usize,
    /// Number of heads `$H$`.
    pub n_heads: usize,
    /// Head dimension `$P$`.
    pub head_dim: usize,
    /// Number of `$B$`/`$C$` groups `$G$` (divides `$H$`).
    pub n_groups: usize,
    /// Depthwise convolution kernel size.
    pub d_conv: usize,
    /// Chunk size `$Q$` of the chunked SSD algorithm (T13).
    pub chunk_size: usize,
    /// Clamp of Δ after softplus, `$(\mathrm{lo}, \mathrm{hi})$`; `hi` may be `$+\infty$`.
    pub time_step_limit: (f64, f64),
    /// Bias on `in_proj` and `out_proj`.
    pub use_bias: bool,
    /// Bias on the depthwise convolution.
    pub use_conv_bias: bool,
    /// RMSNorm ε.
    pub norm_eps: f64,
    /// Whether `lm_head` shares the embedding matrix.
    pub tie_embeddings: bool,
}

impl Mamba2Config {
    /// Inner width `$d_{in} = H P$`.
    pub fn d_inner(&self) -> usize {
        self.n_heads * self.head_dim
    }
    /// Width of the convolved stream `$x \| B \| C$`: `$d_{in} + 2 G N$`.
    pub fn conv_dim(&self) -> usize {
        self.d_inner() + 2 * self.n_groups * self.d_state
    }
    /// Rows of `in_proj`: `$z$` (`$d_{in}$`), `$x\|B\|C$`, dt (`$H$`).
    pub fn in_proj_rows(&self) -> usize {
        self.d_inner() + self.conv_dim() + self.n_heads
    }

    /// The configuration file of a checkpoint directory.
    pub fn file_in(dir: &Path) -> PathBuf {
        dir.join("config.json")
    }

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

    /// Parse the text of a Mamba-2 `config.json` (`file` is used in error messages).
    ///
    /// # Errors
    /// [`Error::Config`] naming the key: not a Mamba-2 configuration, a missing or invalid
    /// key, `$H P \ne$` `expand`·`$d$`, `$G \nmid H$`, `time_step_limit` not a pair with
    /// `$0 \le \mathrm{lo} \le \mathrm{hi}$`.
    ///
    /// # Examples
    /// ```
    /// use hidden_attention::model::mamba2::Mamba2Config;
    /// let c = Mamba2Config::parse("config.json".as_ref(), r#"{"model_type": "mamba2",
    ///     "hidden_size": 16, "num_hidden_layers": 2, "vocab_size": 64, "num_heads": 4,
    ///     "head_dim": 8, "state_size": 8, "chunk_size": 4, "n_groups": 1,
    ///     "time_step_limit": [0.0, {"__float__": "Infinity"}]}"#).unwrap();
    /// assert_eq!((c.d_inner(), c.conv_dim(), c.in_proj_rows()), (32, 48, 84));
    /// assert_eq!(c.time_step_limit, (0.0, f64::INFINITY));
    /// ```
    pub fn parse(file: &Path, text: &str) -> Result<Self> {
        let err = |key: &str, reason: String| Error::Config {
            file: file.to_path_buf(),
            key: key.to_string(),
            reason,
        };
        let v: Value = serde_json::from_str(text).map_err(|e| err("(json)", e.to_string()))?;
        if !v.is_object() {
            return Err(err("(root)", "not a JSON object".into()));
        }
        let kind = ModelKind::from_json(file, &v)?;
        if kind != ModelKind::Mamba2 {
            return Err(err(
                "model_type",
                format!(
                    "a {} configuration, not Mamba-2: load it with model::MambaModel",
                    kind.model_type()
                ),
            ));
        }
        if v.get("hidden_size").is_none() && v.get("d_model").is_some() {
            return Err(err(
                "d_model",
                "a mamba_ssm Mamba-2 configuration: only the transformers layout \
                 (Mamba2ForCausalLM) is read"
                    .into(),
            ));
        }
        let get = |key: &str| v.get(key).filter(|x| !x.is_null());
        let size = |key: &str, default: Option<usize>| -> Result<usize> {
            match get(key) {
                None => default.ok_or_else(|| err(key, "missing".into())),
                Some(x) => match x.as_u64() {
                    Some(n) if n > 0 => Ok(n as usize),
                    _ => Err(err(key, format!("expected a positive integer, found {x}"))),
                },
            }
        };
        let flag = |key: &str, default: bool| -> Result<bool> {
            match get(key) {
                None => Ok(default),
                Some(Value::Bool(b)) => Ok(*b),
                Some(x) => Err(err(key, format!("expected true or false, found {x}"))),
            }
        };
        let d_model = size("hidden_size", None)?;
        let n_heads = size("num_heads", Some(128))?;
        let head_dim = size("head_dim", Some(64))?;
        let expand = size("expand", Some(2))?;
        if let Some(di) = get("intermediate_size") {
            if di.as_u64() != Some((n_heads * head_dim) as u64) {
                return Err(err(
                    "intermediate_size",
                    format!("is {di}, but num_heads·head_dim = {}", n_heads * head_dim),
                ));
            }
        } else if expand * d_model != n_heads * head_dim {
            return Err(err(
                "num_heads",
                format!(
                    "num_heads·head_dim = {}·{} must equal expand·hidden_size = {}",
                    n_heads,
                    head_dim,
                    expand * d_model
                ),
            ));
        }
        let n_groups = size("n_groups", Some(8))?;
        if n_heads % n_groups != 0 {
            return Err(err(
                "n_groups",
                format!("{n_groups} does not divide num_heads = {n_heads}"),
            ));
        }
        if !flag("rms_norm", true)? {
            return Err(err(
                "rms_norm",
                "false (a Mamba-2 layer without its gated RMS norm) is not supported".into(),
            ));
        }
        let norm_eps = match get("layer_norm_epsilon") {
            None => 1e-5,
            Some(x) => match x.as_f64() {
                Some(e) if e >= 0.0 && e.is_finite() => e,
                _ => return Err(err("layer_norm_epsilon", format!("invalid: {x}"))),
            },
        };
        Ok(Self {
            d_model,
            n_layer: size("num_hidden_layers", None)?,
            vocab_size: size("vocab_size", None)?,
            d_state: size("state_size", Some(128))?,
            n_heads,
            head_dim,
            n_groups,
            d_conv: size("conv_kernel", Some(4))?,
            chunk_size: size("chunk_size", Some(256))?,
            time_step_limit: time_step_limit(get("time_step_limit"))
                .map_err(|r| err("time_step_limit", r))?,
            use_bias: flag("use_bias", false)?,
            use_conv_bias: flag("use_conv_bias", true)?,
            norm_eps,
            tie_embeddings: flag("tie_word_embeddings", false)?,
        })
    }
}

/// One bound of `time_step_limit`: a number, or `transformers`' encoding of a non-finite
/// float `{"__float__": "Infinity"}` (also the strings `"inf"`, `"Infinity"`).
fn bound(v: &Value) -> std::result::Result<f64, String> {
    let word = |s: &str| match s {
        "Infinity" | "inf" | "+inf" | "+Infinity" => Ok(f64::INFINITY),
        _ => Err(format!(
            "\"{s}\" is not a bound (expected a number or Infinity)"
        )),
    };
    match v {
        Value::Number(n) => n.as_f64().ok_or_else(|| format!("{n} is not a number")),
        Value::String(s) => word(s),
        Value::Object(o) => match o.get("__float__") {
            Some(Value::String(s)) if o.len() == 1 => word(s),
            _ => Err(format!("{v} is not a bound")),
        },
        other => Err(format!("{other} is not a bound")),
    }
}

fn time_step_limit(v: Option<&Value>) -> std::result::Result<(f64, f64), String> {
    let Some(v) = v else {
        return Ok((0.0, f64::INFINITY));
    };
    let pair = v
        .as_array()
        .filter(|a| a.len() == 2)
        .ok_or_else(|| format!("expected [lo, hi], found {v}"))?;
    let (lo, hi) = (bound(&pair[0])?, bound(&pair[1])?);
    if lo.is_nan() || hi.is_nan() || lo < 0.0 || lo > hi || lo.is_infinite() {
        return Err(format!("[{lo}, {hi}] is not an interval with 0 ≤ lo ≤ hi"));
    }
    Ok((lo, hi))
}

impl BackboneConfig for Mamba2Config {
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

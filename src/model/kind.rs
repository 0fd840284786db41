//! Which model a checkpoint holds, read from its `config.json`.
//!
//! | kind | `model_type` | `architectures` | `mamba_ssm` (`ssm_cfg.layer`) |
//! | --- | --- | --- | --- |
//! | [`ModelKind::Mamba`] | `mamba` | `MambaForCausalLM` | absent or `Mamba1` |
//! | [`ModelKind::FalconMamba`] | `falcon_mamba` | `FalconMambaForCausalLM` | — |
//! | [`ModelKind::Mamba2`] | `mamba2` | `Mamba2ForCausalLM` | `Mamba2` |
//!
//! A configuration naming any other model is refused with [`Error::Config`] naming the key;
//! it is never run as Mamba-1. A configuration naming neither key (an old `mamba_ssm`
//! release, or a hand-written one) is Mamba-1.

use std::path::Path;

use serde_json::Value;

use crate::error::{Error, Result};

/// The model families this crate runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    /// Mamba-1 (`MambaForCausalLM`, `mamba_ssm`'s `MambaLMHeadModel`).
    Mamba,
    /// Falcon-Mamba: Mamba-1 with weightless RMS norms on the low-rank Δ input, on B and on
    /// C (`FalconMambaForCausalLM`).
    FalconMamba,
    /// Mamba-2 (`Mamba2ForCausalLM`): SSD heads with a scalar transition per head.
    Mamba2,
}

impl ModelKind {
    /// The `model_type` string `transformers` writes for this kind.
    pub fn model_type(self) -> &'static str {
        match self {
            ModelKind::Mamba => "mamba",
            ModelKind::FalconMamba => "falcon_mamba",
            ModelKind::Mamba2 => "mamba2",
        }
    }

    fn from_model_type(s: &str) -> Option<Self> {
        match s {
            "mamba" => Some(ModelKind::Mamba),
            "falcon_mamba" | "falcon-mamba" => Some(ModelKind::FalconMamba),
            "mamba2" | "mamba-2" => Some(ModelKind::Mamba2),
            _ => None,
        }
    }

    fn from_architecture(s: &str) -> Option<Self> {
        match s {
            "MambaForCausalLM" | "MambaModel" | "MambaLMHeadModel" => Some(ModelKind::Mamba),
            "FalconMambaForCausalLM" | "FalconMambaModel" => Some(ModelKind::FalconMamba),
            "Mamba2ForCausalLM" | "Mamba2Model" => Some(ModelKind::Mamba2),
            _ => None,
        }
    }

    /// Read the kind from a parsed `config.json` (`file` names it in errors).
    ///
    /// `model_type` decides when present; otherwise the first entry of `architectures`;
    /// otherwise `ssm_cfg.layer` (`mamba_ssm`); otherwise Mamba-1. When both keys are present
    /// they must agree.
    ///
    /// # Errors
    /// [`Error::Config`] naming `model_type`, `architectures` or `ssm_cfg.layer` when it
    /// names a model this crate does not run, or when the keys disagree.
    ///
    /// # Examples
    /// ```
    /// use hidden_attention::model::ModelKind;
    /// let v = serde_json::json!({"model_type": "mamba2", "architectures": ["Mamba2ForCausalLM"]});
    /// assert_eq!(ModelKind::from_json("config.json".as_ref(), &v).unwrap(), ModelKind::Mamba2);
    /// let v = serde_json::json!({"model_type": "llama"});
    /// assert!(ModelKind::from_json("config.json".as_ref(), &v).is_err());
    /// ```
    pub fn from_json(file: &Path, v: &Value) -> Result<Self> {
        let err = |key: &str, reason: String| Error::Config {
            file: file.to_path_buf(),
            key: key.to_string(),
            reason,
        };
        let known = "known: mamba, falcon_mamba, mamba2";
        let by_type = match v.get("model_type") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(Self::from_model_type(s).ok_or_else(|| {
                err(
                    "model_type",
                    format!("\"{s}\" is not a model this crate runs ({known})"),
                )
            })?),
            Some(other) => {
                return Err(err(
                    "model_type",
                    format!("expected a string, found {other}"),
                ))
            }
        };
        let by_arch = match v.get("architectures") {
            None | Some(Value::Null) => None,
            Some(Value::Array(a)) => match a.first() {
                None => None,
                Some(Value::String(s)) => match Self::from_architecture(s) {
                    Some(k) => Some(k),
                    None if by_type.is_some() => None,
                    None => {
                        return Err(err(
                            "architectures",
                            format!("\"{s}\" is not a model this crate runs ({known})"),
                        ))
                    }
                },
                Some(other) => {
                    return Err(err(
                        "architectures",
                        format!("expected a list of strings, found {other}"),
                    ))
                }
            },
            Some(other) => {
                return Err(err(
                    "architectures",
                    format!("expected a list of strings, found {other}"),
                ))
            }
        };
        if let (Some(t), Some(a)) = (by_type, by_arch) {
            if t != a {
                return Err(err(
                    "architectures",
                    format!(
                        "names a {} model but model_type is \"{}\"",
                        a.model_type(),
                        t.model_type()
                    ),
                ));
            }
        }
        if let Some(k) = by_type.or(by_arch) {
            return Ok(k);
        }
        match v.get("ssm_cfg").and_then(|c| c.get("layer")) {
            None | Some(Value::Null) => Ok(ModelKind::Mamba),
            Some(Value::String(s)) if s == "Mamba1" => Ok(ModelKind::Mamba),
            Some(Value::String(s)) if s == "Mamba2" => Ok(ModelKind::Mamba2),
            Some(other) => Err(err(
                "ssm_cfg.layer",
                format!("{other} is not a layer this crate runs (Mamba1, Mamba2)"),
            )),
        }
    }

    /// Read the kind of the checkpoint in `dir` (its `config.json`).
    ///
    /// # Errors
    /// [`Error::Io`], [`Error::Config`] as [`ModelKind::from_json`].
    pub fn of_checkpoint(dir: &Path) -> Result<Self> {
        let file = dir.join("config.json");
        let text = std::fs::read_to_string(&file).map_err(|source| Error::Io {
            path: file.clone(),
            source,
        })?;
        let v: Value = serde_json::from_str(&text).map_err(|e| Error::Config {
            file: file.clone(),
            key: "(json)".into(),
            reason: e.to_string(),
        })?;
        Self::from_json(&file, &v)
    }
}

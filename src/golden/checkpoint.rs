//! Checkpoint cases: a model directory with `expected.json`, run whole and compared part
//! by part (logits, hidden states, every layer's hidden attention), for every model kind.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{bad, tensor, Comparison, Tolerance};
use crate::error::{Error, Result};
use crate::model::ModelKind;
use crate::scalar::Real;
use crate::tensor::Tensor;

/// A checkpoint case: a directory with `config.json`, `model.safetensors` (or a sharded
/// index) and `expected.json` holding `input_ids (batch, L)`, `logits (batch, L, vocab)`,
/// `hidden_states` (list of `(batch, L, d)`: embedding output, residual stream after each
/// layer but the last, output of `norm_f`) and `hidden_attention` (one tensor per layer:
/// `(batch, d_in, L, L)`, the S6 matrices of every inner channel, for Mamba-1 and
/// Falcon-Mamba; `(batch, H, L, L)`, the SSD matrices of every head, for Mamba-2).
#[derive(Debug, Clone)]
pub struct CheckpointCase {
    /// The directory.
    pub dir: PathBuf,
    /// Case name (the directory's name).
    pub name: String,
    /// Token ids, one row per batch element.
    pub input_ids: Vec<Vec<usize>>,
    /// Expected logits.
    pub logits: Tensor<f64>,
    /// Expected hidden states.
    pub hidden_states: Vec<Tensor<f64>>,
    /// Expected hidden attention, one tensor per layer.
    pub hidden_attention: Vec<Tensor<f64>>,
    /// The model kind its `config.json` names.
    pub kind: ModelKind,
}

/// The comparison of one part (`logits`, `hidden_states`, `hidden_attention`) of a checkpoint case.
#[derive(Debug, Clone)]
pub struct PartReport {
    /// Which part.
    pub part: String,
    /// Largest `$|g - e|$`.
    pub max_abs: f64,
    /// Largest `$|g - e| / |e|$` over entries with `$|e| \ge$` `atol`.
    pub max_rel: f64,
    /// Whether every entry is within the tolerance.
    pub pass: bool,
    /// Number of compared values.
    pub compared: usize,
}

/// Read a checkpoint case's `expected.json` (the model itself is loaded when run).
///
/// # Errors
/// [`Error::Io`], [`Error::CaseFile`] naming the field at fault.
pub fn load_checkpoint_case(dir: &Path) -> Result<CheckpointCase> {
    let file = dir.join("expected.json");
    let text = std::fs::read_to_string(&file).map_err(|source| Error::Io {
        path: file.clone(),
        source,
    })?;
    let v: Value = serde_json::from_str(&text).map_err(|e| bad(&file, "(json)", e.to_string()))?;
    let ids = tensor(
        &file,
        "input_ids",
        v.get("input_ids").unwrap_or(&Value::Null),
    )?;
    if ids.shape().len() != 2 || ids.data().iter().any(|&x| x < 0.0 || x.fract() != 0.0) {
        return Err(bad(
            &file,
            "input_ids",
            "expected a (batch, L) tensor of non-negative integers",
        ));
    }
    let len = ids.shape()[1];
    let input_ids = ids
        .data()
        .chunks(len.max(1))
        .map(|r| r.iter().map(|&x| x as usize).collect())
        .collect();
    let logits = tensor(&file, "logits", v.get("logits").unwrap_or(&Value::Null))?;
    let list = |key: &str| -> Result<Vec<Tensor<f64>>> {
        v.get(key)
            .and_then(Value::as_array)
            .ok_or_else(|| bad(&file, key, "missing or not a list"))?
            .iter()
            .enumerate()
            .map(|(i, t)| tensor(&file, &format!("{key}[{i}]"), t))
            .collect()
    };
    Ok(CheckpointCase {
        dir: dir.to_path_buf(),
        name: dir.file_name().map_or_else(
            || dir.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        ),
        input_ids,
        logits,
        hidden_states: list("hidden_states")?,
        hidden_attention: list("hidden_attention")?,
        kind: ModelKind::of_checkpoint(dir)?,
    })
}

/// Checkpoint cases: `$|g - e| \le \mathrm{atol}\cdot\max|e| + \mathrm{rtol}\,|e|$` per
/// part, the absolute term relative to the part's largest entry.
///
/// The reference run of `tiny-mamba-a` went through float32 in places (its logits and its
/// final hidden state are float32 values, exactly), so no implementation can agree with it
/// to 1e-12; a correct float64 forward agrees to about 1e-7 of each part's scale, a float32
/// one to a few 1e-7. This tolerance (1e-6 of the scale) separates that from any real
/// error, which shows at 1e-3 or more.
pub const CHECKPOINT_TOLERANCE: Tolerance = Tolerance {
    rtol: 1e-5,
    atol: 1e-6,
};

/// Checkpoint cases whose reference ran wholly in float64 (`tiny-mamba2-a`,
/// `tiny-falcon-mamba-a`: every float32 cast redirected to float64): `$10^{-10}$` of each
/// part's scale plus `$10^{-10}$` relative. A float64 forward agrees to about `$10^{-13}$`.
pub const CHECKPOINT_TOLERANCE_F64: Tolerance = Tolerance {
    rtol: 1e-10,
    atol: 1e-10,
};

impl CheckpointCase {
    /// The tolerance this case is judged by in float64 or, with `f32`, float32:
    /// [`CHECKPOINT_TOLERANCE`] for the Mamba-1 reference (which kept float32 casts),
    /// [`CHECKPOINT_TOLERANCE_F64`] for the float64 Mamba-2 and Falcon-Mamba references,
    /// and `mamba_ssm`'s float32 tolerances ([`super::F32_TOLERANCE`], the absolute term
    /// relative to each part's scale) for any model run in float32.
    pub fn tolerance(&self, f32: bool) -> Tolerance {
        match (f32, self.kind) {
            (true, ModelKind::Mamba) => CHECKPOINT_TOLERANCE,
            (true, _) => super::F32_TOLERANCE,
            (false, ModelKind::Mamba) => CHECKPOINT_TOLERANCE,
            (false, _) => CHECKPOINT_TOLERANCE_F64,
        }
    }
}

/// Load the checkpoint in float type `T` (its kind from `config.json`), run it on the
/// case's tokens, and compare logits, hidden states and every layer's hidden attention
/// under `tol`, whose `atol` is taken relative to each part's largest expected entry (see
/// [`CHECKPOINT_TOLERANCE`]).
///
/// # Errors
/// Loading errors (missing tensor, shape, dtype, corrupt header, unknown model kind, …);
/// [`Error::CaseFile`] when an expected tensor's shape disagrees with the model.
pub fn run_checkpoint_case<T: Real>(
    case: &CheckpointCase,
    tol: Tolerance,
) -> Result<Vec<PartReport>> {
    use crate::model::mamba2::head_attention;
    use crate::model::{Logits, MambaModel};
    let file = case.dir.join("expected.json");
    let mut parts = Parts {
        file: &file,
        tol,
        out: Vec::new(),
    };
    let (logits, hs, att) = match case.kind {
        ModelKind::Mamba | ModelKind::FalconMamba => {
            let model = MambaModel::<T>::load(&case.dir)?;
            let traces = model.forward_batch(&case.input_ids, Logits::All)?;
            let mut att = Vec::new();
            for (i, layer) in model.layers.iter().enumerate() {
                let mut per = Vec::new();
                for t in &traces {
                    let a =
                        crate::model::attention::layer_attention(&layer.mixer, &t.mixers[i], None)?;
                    per.extend_from_slice(a.data());
                }
                att.push(per);
            }
            gather(&traces, att)
        }
        ModelKind::Mamba2 => {
            let model = crate::model::mamba2::load::<T>(&case.dir)?;
            let traces = model.forward_batch(&case.input_ids, Logits::All)?;
            let mut att = Vec::new();
            for (i, layer) in model.layers.iter().enumerate() {
                let mut per = Vec::new();
                for t in &traces {
                    per.extend_from_slice(head_attention(&layer.mixer, &t.mixers[i])?.data());
                }
                att.push(per);
            }
            gather(&traces, att)
        }
    };
    parts.add("logits", logits, &[&case.logits])?;
    if case.hidden_states.len() != hs.len() {
        return Err(bad(
            &file,
            "hidden_states",
            format!(
                "{} tensors, the model has {}",
                case.hidden_states.len(),
                hs.len()
            ),
        ));
    }
    parts.add(
        "hidden_states",
        hs.concat(),
        &case.hidden_states.iter().collect::<Vec<_>>(),
    )?;
    if case.hidden_attention.len() != att.len() {
        return Err(bad(
            &file,
            "hidden_attention",
            format!(
                "{} tensors, the model has {} layers",
                case.hidden_attention.len(),
                att.len()
            ),
        ));
    }
    parts.add(
        "hidden_attention",
        att.concat(),
        &case.hidden_attention.iter().collect::<Vec<_>>(),
    )?;
    Ok(parts.out)
}

/// Logits of the batch, hidden states (one vector per state, the batch interleaved as
/// the expected `(batch, L, d)` tensors hold it) and the per-layer attention.
type Gathered<T> = (Vec<T>, Vec<Vec<T>>, Vec<Vec<T>>);

fn gather<T: Real, Tr>(
    traces: &[crate::model::ModelTrace<T, Tr>],
    att: Vec<Vec<T>>,
) -> Gathered<T> {
    let logits = traces
        .iter()
        .flat_map(|t| t.logits.iter().copied())
        .collect();
    let n_hs = traces.first().map_or(0, |t| t.hidden_states().len());
    let hs = (0..n_hs)
        .map(|k| {
            traces
                .iter()
                .flat_map(|t| t.hidden_states()[k].iter().copied())
                .collect()
        })
        .collect();
    (logits, hs, att)
}

struct Parts<'a> {
    file: &'a PathBuf,
    tol: Tolerance,
    out: Vec<PartReport>,
}

impl Parts<'_> {
    fn add<T: Real>(&mut self, name: &str, got: Vec<T>, expected: &[&Tensor<f64>]) -> Result<()> {
        let scale = expected
            .iter()
            .flat_map(|t| t.data())
            .fold(0.0f64, |m, &v| m.max(v.abs()));
        let mut cmp = Comparison::new(Tolerance {
            rtol: self.tol.rtol,
            atol: self.tol.atol * scale,
        });
        let total: usize = expected.iter().map(|t| t.data().len()).sum();
        if total != got.len() {
            return Err(bad(
                self.file,
                name,
                format!("holds {total} values, the model gives {}", got.len()),
            ));
        }
        let mut at = 0;
        for e in expected {
            let n = e.data().len();
            cmp.add(self.file, name, &got[at..at + n], e)?;
            at += n;
        }
        self.out.push(PartReport {
            part: name.to_string(),
            max_abs: cmp.max_abs,
            max_rel: cmp.max_rel,
            pass: cmp.pass,
            compared: cmp.compared,
        });
        Ok(())
    }
}

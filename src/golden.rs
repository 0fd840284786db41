//! Golden cases from independent implementations (`mamba_ssm`'s `selective_scan_ref`,
//! the paper authors' `compute_attn_matrix_fn`): reading, running and comparing.
//!
//! The case format is described in `tests/data/golden/README.md`: a JSON object with
//! `name`, `kind` (`selective_scan` or `hidden_attention`), `params.delta_softplus`,
//! `inputs` and `expected`, each tensor `{"shape": [..], "data": [..]}` in row-major order.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{Error, Result};
use crate::scalar::Real;
use crate::ssm::{attention_matrix, selective_scan, SelectiveScanInput, StateMatrix};
use crate::tensor::Tensor;

/// What a case checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseKind {
    /// `selective_scan_ref`: `out` and `last_state`.
    SelectiveScan,
    /// The authors' hidden attention matrices `(batch, dim, L, L)`.
    HiddenAttention,
}

/// One golden case, as read from its file.
#[derive(Debug, Clone)]
pub struct Case {
    /// The file it came from.
    pub file: PathBuf,
    /// Case name.
    pub name: String,
    /// Kind of case.
    pub kind: CaseKind,
    /// `params.delta_softplus`.
    pub delta_softplus: bool,
    /// Inputs by name (`u`, `delta`, `A`, `B`, `C`, `D`, `z`, `delta_bias`).
    pub inputs: BTreeMap<String, Tensor<f64>>,
    /// Complex inputs found (rejected when run).
    pub complex_inputs: Vec<String>,
    /// Expected outputs by name.
    pub expected: BTreeMap<String, Tensor<f64>>,
}

/// An `allclose`-style tolerance: $|g - e| \le \mathrm{atol} + \mathrm{rtol}\,|e|$.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerance {
    /// Relative tolerance.
    pub rtol: f64,
    /// Absolute tolerance.
    pub atol: f64,
}

/// float64: "about 1e-12 relative" (golden README).
pub const F64_TOLERANCE: Tolerance = Tolerance {
    rtol: 1e-12,
    atol: 1e-12,
};
/// float32: `mamba_ssm`'s own test tolerances for float32.
pub const F32_TOLERANCE: Tolerance = Tolerance {
    rtol: 6e-4,
    atol: 2e-3,
};

/// The comparison of one case.
#[derive(Debug, Clone)]
pub struct CaseReport {
    /// Case name.
    pub name: String,
    /// Largest $|g - e|$ over all compared outputs.
    pub max_abs: f64,
    /// Largest $|g - e| / |e|$ over entries with $|e| \ge$ `atol`.
    pub max_rel: f64,
    /// Whether every entry is within the tolerance.
    pub pass: bool,
    /// Number of compared values.
    pub compared: usize,
}

fn bad(file: &Path, field: impl Into<String>, reason: impl Into<String>) -> Error {
    Error::CaseFile {
        file: file.to_path_buf(),
        field: field.into(),
        reason: reason.into(),
    }
}

/// Read and parse one case file.
///
/// # Errors
/// [`Error::Io`] if unreadable; [`Error::CaseFile`] naming the offending field.
pub fn load_case(file: &Path) -> Result<Case> {
    let text = std::fs::read_to_string(file).map_err(|source| Error::Io {
        path: file.to_path_buf(),
        source,
    })?;
    parse_case(file, &text)
}

/// Parse a case from JSON text (`file` is used in error messages).
///
/// # Errors
/// [`Error::CaseFile`] naming the offending field (`name`, `kind`, `inputs.B.shape`, …).
pub fn parse_case(file: &Path, text: &str) -> Result<Case> {
    let v: Value = serde_json::from_str(text).map_err(|e| bad(file, "(json)", e.to_string()))?;
    let obj = v
        .as_object()
        .ok_or_else(|| bad(file, "(root)", "not a JSON object"))?;
    let name = obj
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| bad(file, "name", "missing or not a string"))?
        .to_string();
    let kind = match obj.get("kind").and_then(Value::as_str) {
        Some("selective_scan") => CaseKind::SelectiveScan,
        Some("hidden_attention") => CaseKind::HiddenAttention,
        Some(k) => return Err(bad(file, "kind", format!("unknown kind `{k}`"))),
        None => return Err(bad(file, "kind", "missing or not a string")),
    };
    let delta_softplus = match obj.get("params").and_then(|p| p.get("delta_softplus")) {
        None => kind == CaseKind::HiddenAttention,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(bad(file, "params.delta_softplus", "not a boolean")),
    };
    let mut complex_inputs = Vec::new();
    let inputs = tensors(file, obj, "inputs", &mut complex_inputs)?;
    let expected = tensors(file, obj, "expected", &mut Vec::new())?;
    let (need_in, need_out): (&[&str], &[&str]) = match kind {
        CaseKind::SelectiveScan => (&["u", "delta", "A", "B", "C"], &["out"]),
        CaseKind::HiddenAttention => (&["delta", "A", "B", "C"], &["attention"]),
    };
    for k in need_in {
        if !inputs.contains_key(*k) && !complex_inputs.iter().any(|c| c == k) {
            return Err(bad(file, format!("inputs.{k}"), "missing"));
        }
    }
    for k in need_out {
        if !expected.contains_key(*k) {
            return Err(bad(file, format!("expected.{k}"), "missing"));
        }
    }
    Ok(Case {
        file: file.to_path_buf(),
        name,
        kind,
        delta_softplus,
        inputs,
        complex_inputs,
        expected,
    })
}

fn tensors(
    file: &Path,
    obj: &serde_json::Map<String, Value>,
    section: &str,
    complex: &mut Vec<String>,
) -> Result<BTreeMap<String, Tensor<f64>>> {
    let sec = obj
        .get(section)
        .and_then(Value::as_object)
        .ok_or_else(|| bad(file, section, "missing or not an object"))?;
    let mut out = BTreeMap::new();
    for (k, t) in sec {
        let field = format!("{section}.{k}");
        let is_complex = t
            .get("dtype")
            .and_then(Value::as_str)
            .is_some_and(|d| d.starts_with("complex"))
            || t.get("data")
                .and_then(Value::as_array)
                .is_some_and(|d| d.first().is_some_and(Value::is_array));
        if is_complex {
            complex.push(k.clone());
            continue;
        }
        out.insert(k.clone(), tensor(file, &field, t)?);
    }
    Ok(out)
}

fn tensor(file: &Path, field: &str, t: &Value) -> Result<Tensor<f64>> {
    let shape = t
        .get("shape")
        .and_then(Value::as_array)
        .ok_or_else(|| bad(file, format!("{field}.shape"), "missing or not an array"))?
        .iter()
        .enumerate()
        .map(|(i, d)| {
            d.as_u64().map(|d| d as usize).ok_or_else(|| {
                bad(
                    file,
                    format!("{field}.shape[{i}]"),
                    "not a non-negative integer",
                )
            })
        })
        .collect::<Result<Vec<usize>>>()?;
    let data = t
        .get("data")
        .and_then(Value::as_array)
        .ok_or_else(|| bad(file, format!("{field}.data"), "missing or not an array"))?
        .iter()
        .enumerate()
        .map(|(i, d)| {
            d.as_f64().ok_or_else(|| {
                bad(
                    file,
                    format!("{field}.data[{i}]"),
                    format!("not a number: {d}"),
                )
            })
        })
        .collect::<Result<Vec<f64>>>()?;
    Tensor::new(field, shape, data).map_err(|e| bad(file, field, e.to_string()))
}

/// Every `.json` case file under the given files and directories (recursively, sorted).
/// Directories holding a checkpoint (`model.safetensors` or a sharded index) are
/// returned in the second list: checkpoint cases, run by [`run_checkpoint_case`].
///
/// # Errors
/// [`Error::Io`] for a path that does not exist or cannot be listed.
pub fn collect_files(paths: &[PathBuf]) -> Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    for p in paths {
        walk(p, &mut files, &mut skipped)?;
    }
    Ok((files, skipped))
}

fn walk(p: &Path, files: &mut Vec<PathBuf>, skipped: &mut Vec<PathBuf>) -> Result<()> {
    let io = |source| Error::Io {
        path: p.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(p).map_err(io)?;
    if !meta.is_dir() {
        files.push(p.to_path_buf());
        return Ok(());
    }
    if p.join("model.safetensors").exists() || p.join("model.safetensors.index.json").exists() {
        skipped.push(p.to_path_buf());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
        .map_err(io)?
        .map(|e| e.map(|e| e.path()).map_err(io))
        .collect::<Result<_>>()?;
    entries.sort();
    for e in entries {
        if e.is_dir() {
            walk(&e, files, skipped)?;
        } else if e.extension().is_some_and(|x| x == "json") {
            files.push(e);
        }
    }
    Ok(())
}

/// Run one case in float type `T` and compare with its expected outputs under `tol`.
///
/// # Errors
/// [`Error::CaseFile`] naming the input at fault when the case is invalid (wrong shape,
/// non-finite value, complex A, groups not dividing dim, …).
pub fn run_case<T: Real>(case: &Case, tol: Tolerance) -> Result<CaseReport> {
    let wrap = |e: Error| -> Error {
        let field = match &e {
            Error::Shape { tensor, .. }
            | Error::Rank { tensor, .. }
            | Error::NonFinite { tensor, .. }
            | Error::GroupMismatch { tensor, .. }
            | Error::ComplexUnsupported { tensor }
            | Error::DataLength { tensor, .. } => format!("inputs.{tensor}"),
            _ => "inputs".into(),
        };
        bad(&case.file, field, e.to_string())
    };
    let input = scan_input::<T>(case).map_err(wrap)?;
    let mut cmp = Comparison::new(tol);
    match case.kind {
        CaseKind::SelectiveScan => {
            let out = selective_scan(&input).map_err(wrap)?;
            cmp.add(
                &case.file,
                "expected.out",
                out.out.data(),
                &case.expected["out"],
            )?;
            if let Some(ls) = case.expected.get("last_state") {
                cmp.add(&case.file, "expected.last_state", out.last_state.data(), ls)?;
            }
        }
        CaseKind::HiddenAttention => {
            let dims = input.validate().map_err(wrap)?;
            let mut got = Vec::with_capacity(dims.batch * dims.dim * dims.len * dims.len);
            for b in 0..dims.batch {
                for d in 0..dims.dim {
                    let ch = input.channel(dims, b, d).map_err(wrap)?;
                    got.extend_from_slice(attention_matrix(&ch).map_err(wrap)?.data());
                }
            }
            cmp.add(
                &case.file,
                "expected.attention",
                &got,
                &case.expected["attention"],
            )?;
        }
    }
    Ok(CaseReport {
        name: case.name.clone(),
        max_abs: cmp.max_abs,
        max_rel: cmp.max_rel,
        pass: cmp.pass,
        compared: cmp.compared,
    })
}

/// The case's inputs as a [`SelectiveScanInput`] in float type `T` (hidden-attention
/// cases have no `u`; a zero `u` of the right shape stands in).
fn scan_input<T: Real>(case: &Case) -> Result<SelectiveScanInput<T>> {
    let conv = |k: &str| case.inputs.get(k).map(|t| t.map(|&v| T::from_f64(v)));
    let delta = conv("delta").expect("checked at parse time");
    let a = if case
        .complex_inputs
        .iter()
        .any(|c| c == "A" || c == "B" || c == "C")
    {
        StateMatrix::Complex {
            re: Tensor::filled(vec![0], T::zero()),
            im: Tensor::filled(vec![0], T::zero()),
        }
    } else {
        StateMatrix::Real(conv("A").expect("checked at parse time"))
    };
    let u = conv("u").unwrap_or_else(|| Tensor::filled(delta.shape().to_vec(), T::zero()));
    Ok(SelectiveScanInput {
        u,
        delta,
        a,
        b: conv("B").unwrap_or_else(|| Tensor::filled(vec![0], T::zero())),
        c: conv("C").unwrap_or_else(|| Tensor::filled(vec![0], T::zero())),
        d: conv("D"),
        z: conv("z"),
        delta_bias: conv("delta_bias"),
        delta_softplus: case.delta_softplus,
    })
}

struct Comparison {
    tol: Tolerance,
    max_abs: f64,
    max_rel: f64,
    pass: bool,
    compared: usize,
}

impl Comparison {
    fn new(tol: Tolerance) -> Self {
        Self {
            tol,
            max_abs: 0.0,
            max_rel: 0.0,
            pass: true,
            compared: 0,
        }
    }

    fn add<T: Real>(
        &mut self,
        file: &Path,
        field: &str,
        got: &[T],
        expected: &Tensor<f64>,
    ) -> Result<()> {
        if got.len() != expected.data().len() {
            return Err(bad(
                file,
                format!("{field}.shape"),
                format!(
                    "{:?} holds {} values, the computation gives {}",
                    expected.shape(),
                    expected.data().len(),
                    got.len()
                ),
            ));
        }
        for (g, &e) in got.iter().zip(expected.data()) {
            let g = crate::scalar::Field::to_f64(g);
            let d = (g - e).abs();
            let d = if d.is_nan() { f64::INFINITY } else { d };
            self.max_abs = self.max_abs.max(d);
            if e.abs() >= self.tol.atol {
                self.max_rel = self.max_rel.max(d / e.abs());
            }
            // NaN fails too: the comparison is written so that it must hold.
            if d.is_nan() || d > self.tol.atol + self.tol.rtol * e.abs() {
                self.pass = false;
            }
        }
        self.compared += got.len();
        Ok(())
    }
}

/// A checkpoint case: a directory with `config.json`, `model.safetensors` (or a sharded
/// index) and `expected.json` holding `input_ids (batch, L)`, `logits (batch, L, vocab)`,
/// `hidden_states` (list of `(batch, L, d)`: embedding output, residual stream after each
/// layer but the last, output of `norm_f`) and `hidden_attention` (one `(batch, d_in, L, L)`
/// per layer, the S6 matrices of every inner channel).
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
}

/// The comparison of one part (`logits`, `hidden_states`, `hidden_attention`) of a checkpoint case.
#[derive(Debug, Clone)]
pub struct PartReport {
    /// Which part.
    pub part: String,
    /// Largest $|g - e|$.
    pub max_abs: f64,
    /// Largest $|g - e| / |e|$ over entries with $|e| \ge$ `atol`.
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
    })
}

/// Checkpoint cases: $|g - e| \le \mathrm{atol}\cdot\max|e| + \mathrm{rtol}\,|e|$ per
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

/// Load the checkpoint in float type `T`, run it on the case's tokens, and compare logits,
/// hidden states and every layer's hidden attention under `tol`, whose `atol` is taken
/// relative to each part's largest expected entry (see [`CHECKPOINT_TOLERANCE`]).
///
/// # Errors
/// Loading errors of [`crate::model::MambaModel::load`] (missing tensor, shape, dtype,
/// corrupt header, …); [`Error::CaseFile`] when an expected tensor's shape disagrees with
/// the model.
pub fn run_checkpoint_case<T: Real>(
    case: &CheckpointCase,
    tol: Tolerance,
) -> Result<Vec<PartReport>> {
    use crate::model::{Logits, MambaModel};
    let model = MambaModel::<T>::load(&case.dir)?;
    let traces = model.forward_batch(&case.input_ids, Logits::All)?;
    let file = case.dir.join("expected.json");
    let mut out = Vec::new();
    let mut part = |name: &str, got: Vec<T>, expected: &[&Tensor<f64>]| -> Result<()> {
        let scale = expected
            .iter()
            .flat_map(|t| t.data())
            .fold(0.0f64, |m, &v| m.max(v.abs()));
        let mut cmp = Comparison::new(Tolerance {
            rtol: tol.rtol,
            atol: tol.atol * scale,
        });
        let total: usize = expected.iter().map(|t| t.data().len()).sum();
        if total != got.len() {
            return Err(bad(
                &file,
                name,
                format!("holds {total} values, the model gives {}", got.len()),
            ));
        }
        let mut at = 0;
        for e in expected {
            let n = e.data().len();
            cmp.add(&file, name, &got[at..at + n], e)?;
            at += n;
        }
        out.push(PartReport {
            part: name.to_string(),
            max_abs: cmp.max_abs,
            max_rel: cmp.max_rel,
            pass: cmp.pass,
            compared: cmp.compared,
        });
        Ok(())
    };
    part(
        "logits",
        traces
            .iter()
            .flat_map(|t| t.logits.iter().copied())
            .collect(),
        &[&case.logits],
    )?;
    let n_hs = traces[0].hidden_states().len();
    if case.hidden_states.len() != n_hs {
        return Err(bad(
            &file,
            "hidden_states",
            format!("{} tensors, the model has {n_hs}", case.hidden_states.len()),
        ));
    }
    // expected hidden_states[k] is (batch, L, d): interleave the batch per state.
    let mut hs = Vec::new();
    for k in 0..n_hs {
        for t in &traces {
            hs.extend_from_slice(t.hidden_states()[k]);
        }
    }
    part(
        "hidden_states",
        hs,
        &case.hidden_states.iter().collect::<Vec<_>>(),
    )?;
    if case.hidden_attention.len() != model.layers.len() {
        return Err(bad(
            &file,
            "hidden_attention",
            format!(
                "{} tensors, the model has {} layers",
                case.hidden_attention.len(),
                model.layers.len()
            ),
        ));
    }
    let mut att = Vec::new();
    for (i, layer) in model.layers.iter().enumerate() {
        for t in &traces {
            att.extend_from_slice(
                crate::model::attention::layer_attention(&layer.mixer, &t.mixers[i], None)?.data(),
            );
        }
    }
    part(
        "hidden_attention",
        att,
        &case.hidden_attention.iter().collect::<Vec<_>>(),
    )?;
    Ok(out)
}

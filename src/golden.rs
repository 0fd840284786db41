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

/// An `allclose`-style tolerance: `$|g - e| \le \mathrm{atol} + \mathrm{rtol}\,|e|$`.
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
    /// Largest `$|g - e|$` over all compared outputs.
    pub max_abs: f64,
    /// Largest `$|g - e| / |e|$` over entries with `$|e| \ge$` `atol`.
    pub max_rel: f64,
    /// Whether every entry is within the tolerance.
    pub pass: bool,
    /// Number of compared values.
    pub compared: usize,
}

pub(crate) fn bad(file: &Path, field: impl Into<String>, reason: impl Into<String>) -> Error {
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

pub(crate) fn tensor(file: &Path, field: &str, t: &Value) -> Result<Tensor<f64>> {
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
        walk(p, &mut files, &mut skipped, true)?;
    }
    Ok((files, skipped))
}

/// A model directory found while walking is a checkpoint case only with an
/// `expected.json` (the known-answer checkpoint `selective-copy-a` has none); one named on
/// the command line always is, so that a missing `expected.json` is reported.
fn walk(p: &Path, files: &mut Vec<PathBuf>, skipped: &mut Vec<PathBuf>, top: bool) -> Result<()> {
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
        if top || p.join("expected.json").exists() {
            skipped.push(p.to_path_buf());
        }
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
        .map_err(io)?
        .map(|e| e.map(|e| e.path()).map_err(io))
        .collect::<Result<_>>()?;
    entries.sort();
    for e in entries {
        if e.is_dir() {
            walk(&e, files, skipped, false)?;
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

pub(crate) struct Comparison {
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

/// A case file of any format: a scan or hidden-attention case ([`Case`]) or a case of the
/// gated-linear family ([`crate::family::golden::FamilyCase`]), told apart by `kind`.
#[derive(Debug, Clone)]
pub enum AnyCase {
    /// `selective_scan` or `hidden_attention`.
    Scan(Case),
    /// `ssd`, `gla`, `simple_gla`, `retention`, `hgrn`, `rwkv6`, `dplr`, `delta_rule`,
    /// `gated_delta_rule`, `rglru`.
    Family(crate::family::golden::FamilyCase),
}

/// Read a case file of any format ([`AnyCase`]).
///
/// # Errors
/// [`Error::Io`]; [`Error::CaseFile`] naming the field at fault (an unknown `kind` names
/// itself).
pub fn load_any(file: &Path) -> Result<AnyCase> {
    let text = std::fs::read_to_string(file).map_err(|source| Error::Io {
        path: file.to_path_buf(),
        source,
    })?;
    let v: Value = serde_json::from_str(&text).map_err(|e| bad(file, "(json)", e.to_string()))?;
    match v.get("kind").and_then(Value::as_str) {
        Some("selective_scan" | "hidden_attention") | None => {
            parse_case(file, &text).map(AnyCase::Scan)
        }
        Some(_) => crate::family::golden::parse(file, &text).map(AnyCase::Family),
    }
}

mod checkpoint;
pub use checkpoint::{
    load_checkpoint_case, run_checkpoint_case, CheckpointCase, PartReport, CHECKPOINT_TOLERANCE,
    CHECKPOINT_TOLERANCE_F64,
};

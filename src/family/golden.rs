//! Golden cases of the gated linear family (`tests/data/golden/family/*.json`): reading,
//! running and comparing. Kind `ssd` (Mamba-2's `ssd_minimal_discrete` and `segsum`) is
//! run here, the other members through [`crate::family::linear::golden`]; every case file shares the envelope `name`, `kind`, `layout`, `semantics`,
//! `params`, `inputs`, `expected` (tensors `{"shape": [..], "data": [..]}`, row-major), so
//! another kind is one more [`FamilyKind`] variant and one more arm in [`run`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{Error, Result};
use crate::golden::Tolerance;
use crate::scalar::Real;
use crate::tensor::Tensor;

use super::linear::Member;
use super::ssd::{attention_matrix, chunked, scan, SsdHead};

/// The kinds of family case this crate runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FamilyKind {
    /// Mamba-2's SSD: `X (B,T,H,P)`, `A (B,T,H)` the log of the scalar transition
    /// (`$\Delta_t A_h$`), `B`, `C (B,T,H,N)`; expected `Y (B,T,H,P)`,
    /// `final_state (B,H,P,N)`, `attention (B,H,T,T)`; `params.block_len` the chunk size.
    Ssd,
    /// A member of the gated-linear family ([`Member`]: GLA, simple GLA, retention, HGRN,
    /// RWKV-6, DPLR, DeltaNet, Gated DeltaNet, RG-LRU), run by
    /// [`crate::family::linear::golden::run_member`]: `o` through the recurrence and as
    /// `$A v$` (T14), and `final_state` where given; `params.scale` the query scale.
    Linear(Member),
}

/// One family case, as read from its file.
#[derive(Debug, Clone)]
pub struct FamilyCase {
    /// The file it came from.
    pub file: PathBuf,
    /// Case name.
    pub name: String,
    /// Kind of case.
    pub kind: FamilyKind,
    /// `params` as written.
    pub params: serde_json::Map<String, Value>,
    /// Inputs by name.
    pub inputs: BTreeMap<String, Tensor<f64>>,
    /// Expected outputs by name.
    pub expected: BTreeMap<String, Tensor<f64>>,
}

/// The comparison of one computed tensor with its expected value.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorReport {
    /// What was compared, e.g. `Y (chunked, block_len 4)`.
    pub what: String,
    /// Largest `$|g - e|$`.
    pub max_abs: f64,
    /// Largest `$|g - e| / |e|$` over entries with `$|e| \ge$` `atol`.
    pub max_rel: f64,
    /// Every entry within `$|g - e| \le \mathrm{atol} + \mathrm{rtol}|e|$` (and finite).
    pub pass: bool,
    /// Number of compared values.
    pub compared: usize,
}

/// The result of running one family case.
#[derive(Debug, Clone, PartialEq)]
pub struct FamilyReport {
    /// Case name.
    pub name: String,
    /// Kind.
    pub kind: FamilyKind,
    /// One report per compared tensor.
    pub tensors: Vec<TensorReport>,
    /// Whether every comparison passed.
    pub pass: bool,
}

fn bad(file: &Path, field: impl Into<String>, reason: impl Into<String>) -> Error {
    Error::CaseFile {
        file: file.to_path_buf(),
        field: field.into(),
        reason: reason.into(),
    }
}

/// Read and parse one family case file.
///
/// # Errors
/// [`Error::Io`] if unreadable; [`Error::CaseFile`] naming the offending field.
pub fn load(file: &Path) -> Result<FamilyCase> {
    let text = std::fs::read_to_string(file).map_err(|source| Error::Io {
        path: file.to_path_buf(),
        source,
    })?;
    parse(file, &text)
}

/// Parse a family case from JSON text (`file` is used in error messages).
///
/// # Errors
/// [`Error::CaseFile`] naming the offending field (`kind`, `inputs.X.shape`,
/// `params.block_len`, …); an unknown or not yet supported kind names itself.
pub fn parse(file: &Path, text: &str) -> Result<FamilyCase> {
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
        Some("ssd") => FamilyKind::Ssd,
        Some(k) => match Member::parse(k) {
            Some(m) => FamilyKind::Linear(m),
            None => return Err(bad(file, "kind", format!("kind `{k}` is not supported"))),
        },
        None => return Err(bad(file, "kind", "missing or not a string")),
    };
    let params = obj
        .get("params")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let inputs = tensors(file, obj, "inputs")?;
    let expected = tensors(file, obj, "expected")?;
    let (need_in, need_out): (&[&str], &[&str]) = match kind {
        FamilyKind::Ssd => (&["X", "A", "B", "C"], &["Y", "final_state", "attention"]),
        FamilyKind::Linear(m) if m.elementwise() => (&["x"], &["o"]),
        FamilyKind::Linear(_) => (&["q", "k", "v"], &["o"]),
    };
    for (sec, map, need) in [
        ("inputs", &inputs, need_in),
        ("expected", &expected, need_out),
    ] {
        if let Some(k) = need.iter().find(|k| !map.contains_key(**k)) {
            return Err(bad(file, format!("{sec}.{k}"), "missing"));
        }
    }
    let case = FamilyCase {
        file: file.to_path_buf(),
        name,
        kind,
        params,
        inputs,
        expected,
    };
    if kind == FamilyKind::Ssd {
        block_len(&case)?;
        ssd_dims(&case)?;
    }
    Ok(case)
}

fn tensors(
    file: &Path,
    obj: &serde_json::Map<String, Value>,
    section: &str,
) -> Result<BTreeMap<String, Tensor<f64>>> {
    let sec = obj
        .get(section)
        .and_then(Value::as_object)
        .ok_or_else(|| bad(file, section, "missing or not an object"))?;
    let mut out = BTreeMap::new();
    for (k, t) in sec {
        let field = format!("{section}.{k}");
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
                d.as_f64()
                    .ok_or_else(|| bad(file, format!("{field}.data[{i}]"), "not a number"))
            })
            .collect::<Result<Vec<f64>>>()?;
        let t = Tensor::new(&field, shape, data).map_err(|e| bad(file, &field, e.to_string()))?;
        out.insert(k.clone(), t);
    }
    Ok(out)
}

/// `params.block_len`, a chunk size `$\ge 1$`.
fn block_len(case: &FamilyCase) -> Result<usize> {
    match case.params.get("block_len").and_then(Value::as_u64) {
        Some(q) if q >= 1 => Ok(q as usize),
        _ => Err(bad(
            &case.file,
            "params.block_len",
            "missing or not an integer ≥ 1",
        )),
    }
}

/// `(batch, T, H, P, N)` of an `ssd` case, every tensor's shape checked.
fn ssd_dims(case: &FamilyCase) -> Result<[usize; 5]> {
    let x = case.inputs["X"].shape();
    if x.len() != 4 {
        return Err(bad(&case.file, "inputs.X.shape", "expected (B, T, H, P)"));
    }
    let (b, t, h, p) = (x[0], x[1], x[2], x[3]);
    let n = match case.inputs["B"].shape() {
        [_, _, _, n] => *n,
        _ => return Err(bad(&case.file, "inputs.B.shape", "expected (B, T, H, N)")),
    };
    let want: [(&str, &str, Vec<usize>); 6] = [
        ("inputs", "A", vec![b, t, h]),
        ("inputs", "B", vec![b, t, h, n]),
        ("inputs", "C", vec![b, t, h, n]),
        ("expected", "Y", vec![b, t, h, p]),
        ("expected", "final_state", vec![b, h, p, n]),
        ("expected", "attention", vec![b, h, t, t]),
    ];
    for (sec, k, shape) in want {
        let map = if sec == "inputs" {
            &case.inputs
        } else {
            &case.expected
        };
        if map[k].shape() != shape.as_slice() {
            return Err(bad(
                &case.file,
                format!("{sec}.{k}.shape"),
                format!("{:?}, expected {shape:?}", map[k].shape()),
            ));
        }
    }
    if n == 0 {
        return Err(bad(&case.file, "inputs.B.shape", "state size N = 0"));
    }
    Ok([b, t, h, p, n])
}

/// Compare `got` with `want` under `tol`.
fn compare<T: Real>(what: String, got: &[T], want: &Tensor<f64>, tol: Tolerance) -> TensorReport {
    let mut r = TensorReport {
        what,
        max_abs: 0.0,
        max_rel: 0.0,
        pass: got.len() == want.data().len(),
        compared: got.len().min(want.data().len()),
    };
    for (g, &e) in got.iter().zip(want.data()) {
        let g = crate::scalar::Field::to_f64(g);
        let d = (g - e).abs();
        if !d.is_finite() || d > tol.atol + tol.rtol * e.abs() {
            r.pass = false;
        }
        r.max_abs = r.max_abs.max(if d.is_nan() { f64::INFINITY } else { d });
        if e.abs() >= tol.atol {
            r.max_rel = r.max_rel.max(d / e.abs());
        }
    }
    r
}

/// Run a family case in float type `T` and compare with its expected tensors under `tol`.
///
/// For `ssd`: every head `$(b, h)$` is the [`SsdHead`] with `$a_t = e^{A_{b,t,h}}$`,
/// `$\bar B_t = B_{b,t,h}$`, `$C_t = C_{b,t,h}$` (the case's `$X$` already carries `$\Delta$`, as
/// `ssd_minimal_discrete` is called); compared are `Y` and `final_state` through the
/// chunked algorithm with the case's `block_len` (T13) **and** through the scan,
/// `attention` (`$\tilde\alpha$`, T8), and `$\tilde\alpha X$` against `Y`.
///
/// # Errors
/// [`Error::CaseFile`] if an input is non-finite or the computation fails (naming it).
pub fn run<T: Real>(case: &FamilyCase, tol: Tolerance) -> Result<FamilyReport> {
    let tensors = match case.kind {
        FamilyKind::Ssd => run_ssd::<T>(case, tol)?,
        FamilyKind::Linear(m) => {
            let scale = case.params.get("scale").and_then(Value::as_f64);
            crate::family::linear::golden::run_member::<T>(
                m,
                &case.inputs,
                &case.expected,
                scale,
                tol,
            )
            .map_err(|e| bad(&case.file, "inputs", e.to_string()))?
        }
    };
    Ok(FamilyReport {
        name: case.name.clone(),
        kind: case.kind,
        pass: tensors.iter().all(|t| t.pass),
        tensors,
    })
}

fn run_ssd<T: Real>(case: &FamilyCase, tol: Tolerance) -> Result<Vec<TensorReport>> {
    let [batch, len, heads, hd, n] = ssd_dims(case)?;
    let q = block_len(case)?;
    let f = |k: &str| -> Vec<T> {
        case.inputs[k]
            .data()
            .iter()
            .map(|&v| T::from_f64(v))
            .collect()
    };
    let (x, a, b, c) = (f("X"), f("A"), f("B"), f("C"));
    let fail = |e: Error| bad(&case.file, "inputs", e.to_string());
    let mut y_chunk = vec![T::zero(); batch * len * heads * hd];
    let mut y_scan = y_chunk.clone();
    let mut y_attn = y_chunk.clone();
    let mut fin_chunk = vec![T::zero(); batch * heads * hd * n];
    let mut fin_scan = fin_chunk.clone();
    let mut attn = Vec::with_capacity(batch * heads * len * len);
    for bi in 0..batch {
        for h in 0..heads {
            let at = |t: usize| (bi * len + t) * heads + h;
            let head = SsdHead::new(
                len,
                n,
                (0..len).map(|t| a[at(t)].exp()).collect(),
                (0..len)
                    .flat_map(|t| b[at(t) * n..(at(t) + 1) * n].to_vec())
                    .collect(),
                (0..len)
                    .flat_map(|t| c[at(t) * n..(at(t) + 1) * n].to_vec())
                    .collect(),
            )
            .map_err(fail)?;
            let alpha = attention_matrix(&head).map_err(fail)?;
            attn.extend_from_slice(alpha.data());
            for p in 0..hd {
                let xs: Vec<T> = (0..len).map(|t| x[at(t) * hd + p]).collect();
                let rc = chunked(&head, &xs, q).map_err(fail)?;
                let rs = scan(&head, &xs).map_err(fail)?;
                let ax = alpha.mul_vec(&xs).map_err(fail)?;
                for t in 0..len {
                    y_chunk[at(t) * hd + p] = rc.y[t];
                    y_scan[at(t) * hd + p] = rs.y[t];
                    y_attn[at(t) * hd + p] = ax[t];
                }
                let o = ((bi * heads + h) * hd + p) * n;
                fin_chunk[o..o + n].copy_from_slice(&rc.last_state);
                fin_scan[o..o + n].copy_from_slice(&rs.last_state);
            }
        }
    }
    let (ye, fe) = (&case.expected["Y"], &case.expected["final_state"]);
    Ok(vec![
        compare(format!("Y (chunked, block_len {q})"), &y_chunk, ye, tol),
        compare("Y (scan)".into(), &y_scan, ye, tol),
        compare("Y (α̃ X)".into(), &y_attn, ye, tol),
        compare(
            format!("final_state (chunked, block_len {q})"),
            &fin_chunk,
            fe,
            tol,
        ),
        compare("final_state (scan)".into(), &fin_scan, fe, tol),
        compare(
            "attention (α̃)".into(),
            &attn,
            &case.expected["attention"],
            tol,
        ),
    ])
}

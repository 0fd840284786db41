//! Safetensors checkpoints: single files and sharded (`model.safetensors.index.json`),
//! tensors stored as F32, F16, BF16 or F64 and read into `f32` or `f64`.
//!
//! Every stored F32/F16/BF16 value is exactly representable in `f32` and `f64`, so the
//! conversion is exact; F64 values read into `f32` are rounded.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use safetensors::tensor::{Dtype, SafeTensorError, SafeTensors};

use crate::error::{Error, Result};
use crate::scalar::Real;

/// Where one tensor lives.
#[derive(Debug, Clone)]
struct Entry {
    file: usize,
    dtype: Dtype,
    shape: Vec<usize>,
    start: usize,
    end: usize,
}

/// The tensors of a checkpoint, with their bytes held in memory.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    /// The directory or file the checkpoint was read from.
    origin: PathBuf,
    files: Vec<(PathBuf, Vec<u8>)>,
    index: BTreeMap<String, Entry>,
}

fn describe(e: &SafeTensorError) -> String {
    match e {
        SafeTensorError::HeaderTooSmall => "shorter than the 8-byte header length".into(),
        SafeTensorError::HeaderTooLarge => "header length larger than 100 MB".into(),
        SafeTensorError::InvalidHeaderLength => {
            "header length runs past the end of the file".into()
        }
        SafeTensorError::InvalidHeader => "header is not UTF-8".into(),
        SafeTensorError::InvalidHeaderDeserialization => {
            "header is not a JSON object of {dtype, shape, data_offsets} entries".into()
        }
        SafeTensorError::InvalidOffset(name) => {
            format!("tensor `{name}`: data offsets are not contiguous or disagree with its shape and dtype")
        }
        SafeTensorError::MetadataIncompleteBuffer => {
            "data section length disagrees with the tensors' offsets (truncated or padded file)"
                .into()
        }
        SafeTensorError::ValidationOverflow => "a tensor's size overflows".into(),
        other => format!("{other:?}"),
    }
}

impl Checkpoint {
    /// Open a checkpoint directory: `model.safetensors`, or the shards listed in
    /// `model.safetensors.index.json` (`weight_map`: tensor name → shard file).
    ///
    /// # Errors
    /// [`Error::Io`] for unreadable files, [`Error::Safetensors`] for a corrupt or truncated
    /// file, [`Error::Config`] for an invalid index, [`Error::MissingTensor`] when the index
    /// names a tensor its shard lacks.
    pub fn open(dir: &Path) -> Result<Self> {
        let single = dir.join("model.safetensors");
        let index = dir.join("model.safetensors.index.json");
        if single.exists() {
            return Self::from_files(dir, &[single]);
        }
        if !index.exists() {
            return Err(Error::Io {
                path: single,
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "neither model.safetensors nor model.safetensors.index.json found",
                ),
            });
        }
        let text = std::fs::read_to_string(&index).map_err(|source| Error::Io {
            path: index.clone(),
            source,
        })?;
        let bad = |reason: String| Error::Config {
            file: index.clone(),
            key: "weight_map".into(),
            reason,
        };
        let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        let map = v
            .get("weight_map")
            .and_then(|m| m.as_object())
            .ok_or_else(|| bad("missing or not an object".into()))?;
        let mut shards: Vec<String> = Vec::new();
        for (name, f) in map {
            let f = f
                .as_str()
                .ok_or_else(|| bad(format!("`{name}` does not map to a file name")))?;
            if f.contains('/') || f.contains('\\') || f == ".." {
                return Err(bad(format!(
                    "`{name}` maps to `{f}`, which is not a file in the directory"
                )));
            }
            if !shards.iter().any(|s| s == f) {
                shards.push(f.to_string());
            }
        }
        shards.sort();
        let paths: Vec<PathBuf> = shards.iter().map(|s| dir.join(s)).collect();
        let ck = Self::from_files(dir, &paths)?;
        for (name, f) in map {
            let f = f.as_str().expect("checked above");
            match ck.index.get(name) {
                Some(e) if ck.files[e.file].0 == dir.join(f) => {}
                _ => {
                    return Err(Error::MissingTensor {
                        file: dir.join(f),
                        tensor: name.clone(),
                    })
                }
            }
        }
        Ok(ck)
    }

    /// Read safetensors files (tensor names must be unique across them).
    ///
    /// # Errors
    /// As [`Checkpoint::open`].
    pub fn from_files(origin: &Path, paths: &[PathBuf]) -> Result<Self> {
        let mut ck = Self {
            origin: origin.to_path_buf(),
            files: Vec::new(),
            index: BTreeMap::new(),
        };
        for p in paths {
            let bytes = std::fs::read(p).map_err(|source| Error::Io {
                path: p.clone(),
                source,
            })?;
            ck.add(p.clone(), bytes)?;
        }
        Ok(ck)
    }

    /// A checkpoint from the bytes of one safetensors file (`name` is used in errors).
    ///
    /// # Errors
    /// [`Error::Safetensors`] for a corrupt or truncated header.
    pub fn from_bytes(name: &Path, bytes: Vec<u8>) -> Result<Self> {
        let mut ck = Self {
            origin: name.to_path_buf(),
            files: Vec::new(),
            index: BTreeMap::new(),
        };
        ck.add(name.to_path_buf(), bytes)?;
        Ok(ck)
    }

    fn add(&mut self, path: PathBuf, bytes: Vec<u8>) -> Result<()> {
        let bad = |reason: String| Error::Safetensors {
            file: path.clone(),
            reason,
        };
        let (n, meta) = SafeTensors::read_metadata(&bytes).map_err(|e| bad(describe(&e)))?;
        let base = 8 + n;
        let file = self.files.len();
        for (name, info) in meta.tensors() {
            let (s, e) = info.data_offsets;
            let count: usize = info.shape.iter().product();
            if e < s
                || count.checked_mul(info.dtype.size()) != Some(e - s)
                || base + e > bytes.len()
            {
                return Err(bad(format!(
                    "tensor `{name}`: data offsets [{s}, {e}] disagree with shape {:?}",
                    info.shape
                )));
            }
            if self.index.contains_key(&name) {
                return Err(bad(format!("tensor `{name}` is stored twice")));
            }
            self.index.insert(
                name,
                Entry {
                    file,
                    dtype: info.dtype,
                    shape: info.shape.clone(),
                    start: base + s,
                    end: base + e,
                },
            );
        }
        self.files.push((path, bytes));
        Ok(())
    }

    /// The directory or file the checkpoint came from.
    pub fn origin(&self) -> &Path {
        &self.origin
    }

    /// Every tensor name, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.index.keys().map(String::as_str)
    }

    /// Whether a tensor is present.
    pub fn contains(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    /// The stored shape of a tensor.
    pub fn shape(&self, name: &str) -> Option<&[usize]> {
        self.index.get(name).map(|e| e.shape.as_slice())
    }

    /// The stored dtype of a tensor, as safetensors names it (`F32`, `BF16`, …).
    pub fn dtype(&self, name: &str) -> Option<String> {
        self.index.get(name).map(|e| format!("{:?}", e.dtype))
    }

    /// A tensor's values converted to `T`, after checking its shape.
    ///
    /// `hint` names the configuration keys that fix `expected` (used in the error).
    ///
    /// # Errors
    /// [`Error::MissingTensor`], [`Error::WeightShape`], [`Error::Dtype`],
    /// [`Error::NonFinite`] for a NaN/∞ weight.
    pub fn tensor<T: Real>(&self, name: &str, expected: &[usize], hint: &str) -> Result<Vec<T>> {
        let e = self.index.get(name).ok_or_else(|| Error::MissingTensor {
            file: self.origin.clone(),
            tensor: name.to_string(),
        })?;
        // A trailing or leading unit dimension (conv1d weight `(d, 1, k)`, dt_proj `(d, 1)`)
        // is matched by its squeezed form.
        let squeeze = |s: &[usize]| s.iter().copied().filter(|&d| d != 1).collect::<Vec<_>>();
        if e.shape != expected && squeeze(&e.shape) != squeeze(expected) {
            return Err(Error::WeightShape {
                tensor: name.to_string(),
                expected: expected.to_vec(),
                found: e.shape.clone(),
                hint: hint.to_string(),
            });
        }
        let raw = &self.files[e.file].1[e.start..e.end];
        let out: Vec<T> = match e.dtype {
            Dtype::F32 => raw
                .chunks_exact(4)
                .map(|b| T::from_f64(f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64))
                .collect(),
            Dtype::F64 => raw
                .chunks_exact(8)
                .map(|b| T::from_f64(f64::from_le_bytes(b.try_into().expect("8 bytes"))))
                .collect(),
            Dtype::F16 => raw
                .chunks_exact(2)
                .map(|b| T::from_f64(half::f16::from_le_bytes([b[0], b[1]]).to_f64()))
                .collect(),
            Dtype::BF16 => raw
                .chunks_exact(2)
                .map(|b| T::from_f64(half::bf16::from_le_bytes([b[0], b[1]]).to_f64()))
                .collect(),
            other => {
                return Err(Error::Dtype {
                    tensor: name.to_string(),
                    dtype: format!("{other:?}"),
                })
            }
        };
        if let Some(p) = out.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFinite {
                tensor: name.to_string(),
                index: crate::tensor::unravel(p, &e.shape),
                value: crate::scalar::Field::to_f64(&out[p]),
            });
        }
        Ok(out)
    }
}

/// Storage type of a tensor written by [`write_safetensors`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreDtype {
    /// IEEE single.
    F32,
    /// IEEE half.
    F16,
    /// bfloat16.
    BF16,
    /// IEEE double.
    F64,
}

/// Serialise named tensors (values given as `f64`, rounded to the storage type) into the
/// bytes of a safetensors file — for tests and for making small checkpoints.
///
/// # Errors
/// [`Error::DataLength`] when a tensor's data does not match its shape.
pub fn write_safetensors(
    tensors: &[(String, Vec<usize>, Vec<f64>, StoreDtype)],
) -> Result<Vec<u8>> {
    let mut header = serde_json::Map::new();
    let mut data = Vec::new();
    let mut sorted: Vec<&(String, Vec<usize>, Vec<f64>, StoreDtype)> = tensors.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, shape, values, dtype) in sorted {
        let n: usize = shape.iter().product();
        if n != values.len() {
            return Err(Error::DataLength {
                tensor: name.clone(),
                shape: shape.clone(),
                expected: n,
                found: values.len(),
            });
        }
        let start = data.len();
        for &v in values {
            match dtype {
                StoreDtype::F32 => data.extend_from_slice(&(v as f32).to_le_bytes()),
                StoreDtype::F64 => data.extend_from_slice(&v.to_le_bytes()),
                StoreDtype::F16 => data.extend_from_slice(&half::f16::from_f64(v).to_le_bytes()),
                StoreDtype::BF16 => data.extend_from_slice(&half::bf16::from_f64(v).to_le_bytes()),
            }
        }
        let name_dtype = match dtype {
            StoreDtype::F32 => "F32",
            StoreDtype::F64 => "F64",
            StoreDtype::F16 => "F16",
            StoreDtype::BF16 => "BF16",
        };
        header.insert(
            name.clone(),
            serde_json::json!({"dtype": name_dtype, "shape": shape, "data_offsets": [start, data.len()]}),
        );
    }
    let mut h = serde_json::to_vec(&serde_json::Value::Object(header)).expect("plain JSON");
    while (h.len() + 8) % 8 != 0 {
        h.push(b' ');
    }
    let mut out = Vec::with_capacity(8 + h.len() + data.len());
    out.extend_from_slice(&(h.len() as u64).to_le_bytes());
    out.extend_from_slice(&h);
    out.extend_from_slice(&data);
    Ok(out)
}

//! `.npy` output (NumPy format 1.0, little-endian, C order) — loads with `numpy.load`.

use std::path::Path;

use crate::error::{Error, Result};
use crate::scalar::Real;

/// The bytes of a `.npy` file holding `data` with `shape` (`<f4` for `f32`, `<f8` for `f64`).
///
/// # Errors
/// [`Error::DataLength`] if `data.len()` is not the product of `shape`.
///
/// # Examples
/// ```
/// let b = hidden_attention::model::npy::npy_bytes(&[2, 2], &[1.0f64, 2.0, 3.0, 4.0]).unwrap();
/// assert_eq!(&b[..6], b"\x93NUMPY");
/// assert_eq!(b.len() % 64, 32 % 64); // 64-byte aligned header, then 4 × 8 bytes
/// ```
pub fn npy_bytes<T: Real>(shape: &[usize], data: &[T]) -> Result<Vec<u8>> {
    let n: usize = shape.iter().product();
    if n != data.len() {
        return Err(Error::DataLength {
            tensor: "npy".into(),
            shape: shape.to_vec(),
            expected: n,
            found: data.len(),
        });
    }
    let wide = std::mem::size_of::<T>() == 8;
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape_s = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut header = format!(
        "{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}",
        if wide { "<f8" } else { "<f4" },
        shape_s
    );
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + data.len() * 8);
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in data {
        let x = crate::scalar::Field::to_f64(v);
        if wide {
            out.extend_from_slice(&x.to_le_bytes());
        } else {
            out.extend_from_slice(&(x as f32).to_le_bytes());
        }
    }
    Ok(out)
}

/// Write a `.npy` file.
///
/// # Errors
/// As [`npy_bytes`]; [`Error::Io`] naming the path.
pub fn write_npy<T: Real>(path: &Path, shape: &[usize], data: &[T]) -> Result<()> {
    let b = npy_bytes(shape, data)?;
    std::fs::write(path, b).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

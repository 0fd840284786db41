//! Dense row-major tensors and matrices with shape checks that name the tensor at fault.

use crate::error::{Error, Result};
use crate::scalar::Field;

/// A dense row-major (C order) tensor, the layout of `mamba_ssm` and of the golden files.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor<T> {
    shape: Vec<usize>,
    data: Vec<T>,
}

impl<T: Clone> Tensor<T> {
    /// A tensor from its shape and row-major data.
    ///
    /// # Errors
    /// [`Error::DataLength`] when `data.len()` is not the product of `shape`.
    pub fn new(name: &str, shape: Vec<usize>, data: Vec<T>) -> Result<Self> {
        let expected: usize = shape.iter().product();
        if expected != data.len() {
            return Err(Error::DataLength {
                tensor: name.to_string(),
                shape,
                expected,
                found: data.len(),
            });
        }
        Ok(Self { shape, data })
    }

    /// A tensor filled with `value`.
    pub fn filled(shape: Vec<usize>, value: T) -> Self {
        let n = shape.iter().product();
        Self {
            shape,
            data: vec![value; n],
        }
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The row-major data.
    pub fn data(&self) -> &[T] {
        &self.data
    }

    /// Mutable row-major data.
    pub fn data_mut(&mut self) -> &mut [T] {
        &mut self.data
    }

    /// Consume into the row-major data.
    pub fn into_data(self) -> Vec<T> {
        self.data
    }

    /// Row-major offset of a multi-index (no bounds check beyond debug assertions).
    #[inline]
    pub fn offset(&self, index: &[usize]) -> usize {
        debug_assert_eq!(index.len(), self.shape.len());
        let mut off = 0;
        for (i, (&ix, &d)) in index.iter().zip(&self.shape).enumerate() {
            debug_assert!(ix < d, "index {i} out of range");
            off = off * d + ix;
        }
        off
    }

    /// The element at a multi-index.
    #[inline]
    pub fn at(&self, index: &[usize]) -> &T {
        &self.data[self.offset(index)]
    }

    /// Map every element.
    pub fn map<U>(&self, f: impl Fn(&T) -> U) -> Tensor<U> {
        Tensor {
            shape: self.shape.clone(),
            data: self.data.iter().map(f).collect(),
        }
    }

    /// Check the shape against `(name, size)` pairs, naming the first mismatch.
    ///
    /// # Errors
    /// [`Error::Rank`] or [`Error::Shape`].
    pub fn expect_shape(&self, tensor: &str, dims: &[(&str, usize)]) -> Result<()> {
        let layout = layout(dims);
        if self.shape.len() != dims.len() {
            return Err(Error::Rank {
                tensor: tensor.to_string(),
                layout,
                expected: dims.len(),
                found: self.shape.len(),
            });
        }
        for (d, (&found, &(name, expected))) in self.shape.iter().zip(dims).enumerate() {
            if found != expected {
                return Err(Error::Shape {
                    tensor: tensor.to_string(),
                    dim: d,
                    name: name.to_string(),
                    expected,
                    found,
                });
            }
        }
        Ok(())
    }
}

impl<T: Field> Tensor<T> {
    /// Check every element is finite, naming the first that is not.
    ///
    /// # Errors
    /// [`Error::NonFinite`] with the multi-index of the first NaN or ±∞.
    pub fn expect_finite(&self, tensor: &str) -> Result<()> {
        match self.data.iter().position(|v| !v.is_finite_val()) {
            None => Ok(()),
            Some(p) => Err(Error::NonFinite {
                tensor: tensor.to_string(),
                index: unravel(p, &self.shape),
                value: self.data[p].to_f64(),
            }),
        }
    }
}

/// `(batch, dim, L)`-style rendering of named dimensions.
pub fn layout(dims: &[(&str, usize)]) -> String {
    let names: Vec<&str> = dims.iter().map(|d| d.0).collect();
    format!("({})", names.join(", "))
}

/// The multi-index of a row-major offset.
pub fn unravel(mut offset: usize, shape: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; shape.len()];
    for (k, &d) in shape.iter().enumerate().rev() {
        if d > 0 {
            idx[k] = offset % d;
            offset /= d;
        }
    }
    idx
}

/// A dense row-major matrix (used for the L×L hidden attention and L×N factors).
///
/// Its `Debug` form writes entries as they read (`3/4`, `-1`, `0.5`), row by row, so that
/// shrunk property-test cases are legible.
#[derive(Clone, PartialEq)]
pub struct Matrix<T> {
    rows: usize,
    cols: usize,
    data: Vec<T>,
}

impl<T: Field> Matrix<T> {
    /// The `rows × cols` zero matrix.
    pub fn zeros(rows: usize, cols: usize) -> Self {
        Self {
            rows,
            cols,
            data: vec![T::zero(); rows * cols],
        }
    }

    /// A matrix from row-major data.
    ///
    /// # Errors
    /// [`Error::DataLength`] if `data.len() != rows * cols`.
    pub fn from_row_major(rows: usize, cols: usize, data: Vec<T>) -> Result<Self> {
        if data.len() != rows * cols {
            return Err(Error::DataLength {
                tensor: "matrix".into(),
                shape: vec![rows, cols],
                expected: rows * cols,
                found: data.len(),
            });
        }
        Ok(Self { rows, cols, data })
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }
    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }
    /// Entry `$(i, j)$`.
    #[inline]
    pub fn get(&self, i: usize, j: usize) -> &T {
        &self.data[i * self.cols + j]
    }
    /// Mutable entry `$(i, j)$`.
    #[inline]
    pub fn get_mut(&mut self, i: usize, j: usize) -> &mut T {
        &mut self.data[i * self.cols + j]
    }
    /// Row `$i$`.
    pub fn row(&self, i: usize) -> &[T] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }
    /// Mutable row `$i$`.
    pub fn row_mut(&mut self, i: usize) -> &mut [T] {
        &mut self.data[i * self.cols..(i + 1) * self.cols]
    }
    /// Row-major data.
    pub fn data(&self) -> &[T] {
        &self.data
    }

    /// The product `$M x$`.
    ///
    /// # Errors
    /// [`Error::Shape`] if `x.len() != cols`.
    pub fn mul_vec(&self, x: &[T]) -> Result<Vec<T>> {
        if x.len() != self.cols {
            return Err(Error::Shape {
                tensor: "x".into(),
                dim: 0,
                name: "L".into(),
                expected: self.cols,
                found: x.len(),
            });
        }
        Ok((0..self.rows).map(|i| dot(self.row(i), x)).collect())
    }

    /// Map every entry into another field.
    pub fn map<U: Field>(&self, f: impl Fn(&T) -> U) -> Matrix<U> {
        Matrix {
            rows: self.rows,
            cols: self.cols,
            data: self.data.iter().map(f).collect(),
        }
    }
}

/// `$\langle a, b\rangle = \sum_n a_n b_n$` (left to right).
#[inline]
pub fn dot<T: Field>(a: &[T], b: &[T]) -> T {
    let mut acc = T::zero();
    for (x, y) in a.iter().zip(b) {
        acc += &(x.clone() * y);
    }
    acc
}

/// Check a computed result is finite; name the first non-finite entry.
pub(crate) fn expect_finite_result<T: Field>(
    what: &str,
    data: &[T],
    shape: &[usize],
) -> Result<()> {
    match data.iter().position(|v| !v.is_finite_val()) {
        None => Ok(()),
        Some(p) => Err(Error::NonFiniteResult {
            what: what.to_string(),
            index: unravel(p, shape),
            value: data[p].to_f64(),
        }),
    }
}

/// An entry as it reads: a rational's `Debug` form `Ratio { numer: 3, denom: 4 }` becomes
/// `3/4` (and `-1` for `Ratio { numer: -1, denom: 1 }`); floats keep their `Debug` form.
pub(crate) fn legible<T: std::fmt::Debug>(x: &T) -> String {
    let s = format!("{x:?}");
    let Some(inner) = s
        .strip_prefix("Ratio { numer: ")
        .and_then(|r| r.strip_suffix(" }"))
    else {
        return s;
    };
    match inner.split_once(", denom: ") {
        Some((n, "1")) => n.to_string(),
        Some((n, d)) => format!("{n}/{d}"),
        None => s,
    }
}

/// Rows of a row-major array, each entry written [`legible`] (`[[1/2, -1], [0, 3]]`).
pub(crate) struct DisplayRows<'a, T>(pub &'a [T], pub usize);

impl<T: std::fmt::Debug> std::fmt::Debug for DisplayRows<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let cols = self.1.max(1);
        f.write_str("[")?;
        for (i, row) in self.0.chunks(cols).enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str("[")?;
            for (j, x) in row.iter().enumerate() {
                if j > 0 {
                    f.write_str(", ")?;
                }
                f.write_str(&legible(x))?;
            }
            f.write_str("]")?;
        }
        f.write_str("]")
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Matrix<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Matrix {}×{} ", self.rows, self.cols)?;
        DisplayRows(&self.data, self.cols).fmt(f)
    }
}

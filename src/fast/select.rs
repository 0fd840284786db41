//! Only what the user needs: one row of `$\tilde\alpha$` (a query position — the paper's
//! CLS vector), a band (each query's `$K$` most recent keys), or the full matrix.

use super::chunked::{check_result, hidden_attention_into, View};
use super::{check_chunk, check_out, FastFloat};
use crate::error::{Error, Result};
use crate::ssm::Channel;

/// Which part of `$\tilde\alpha$` to compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    /// Row `$i$`: `$\tilde\alpha_{i,j}$` for `$j = 0..L$` (zeros for `$j > i$`); output length `$L$`.
    /// Costs `$O(iN)$`.
    Row(usize),
    /// The band of the `$K$` most recent keys: output `L × K` with entry `$(i, d) =
    /// \tilde\alpha_{i,\,i-d}$` for `$d = 0..K$` (0 where `$i - d < 0$`). Costs `$O(LKN)$`.
    Band(usize),
    /// All of `$\tilde\alpha$`, `L × L` row-major (the chunked kernel). Costs `$O(L^2N)$`.
    Full,
}

impl Selection {
    /// The output shape for a channel of length `len`.
    pub fn shape(&self, len: usize) -> Vec<usize> {
        match *self {
            Selection::Row(_) => vec![len],
            Selection::Band(k) => vec![len, k],
            Selection::Full => vec![len, len],
        }
    }

    /// Number of output values for a channel of length `len`.
    pub fn output_len(&self, len: usize) -> usize {
        self.shape(len).iter().product()
    }

    /// Check the selection against a length `len`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a row index `$\ge L$` or a band of width 0.
    pub fn validate(&self, len: usize) -> Result<()> {
        match *self {
            Selection::Row(i) if i >= len => Err(Error::InvalidArgument {
                name: "row".into(),
                reason: format!("query position {i} is not below L = {len}"),
            }),
            Selection::Band(0) => Err(Error::InvalidArgument {
                name: "band".into(),
                reason: "band width K must be at least 1".into(),
            }),
            _ => Ok(()),
        }
    }
}

/// Row `$i$` by the running product `$p \leftarrow p \odot \bar A_j$` from `$j = i$` down to 0.
pub(crate) fn row_into<T: FastFloat>(v: &View<'_, T>, i: usize, out: &mut [T], p: &mut [T]) {
    let n = v.state;
    p.copy_from_slice(&v.c[i * n..(i + 1) * n]);
    for j in (0..=i).rev() {
        out[j] = dot(p, &v.bbar[j * n..(j + 1) * n]);
        if j > 0 {
            for (x, &a) in p.iter_mut().zip(&v.abar[j * n..(j + 1) * n]) {
                *x *= a;
            }
        }
    }
    out[i + 1..].fill(T::zero());
}

/// The band `L × K`: row `$i$` walks `$j = i, i-1, \dots, i-K+1$`.
pub(crate) fn band_into<T: FastFloat>(v: &View<'_, T>, k: usize, out: &mut [T], p: &mut [T]) {
    let n = v.state;
    for (i, row) in out.chunks_mut(k).enumerate() {
        p.copy_from_slice(&v.c[i * n..(i + 1) * n]);
        for (d, slot) in row.iter_mut().enumerate() {
            if d > i {
                *slot = T::zero();
                continue;
            }
            let j = i - d;
            *slot = dot(p, &v.bbar[j * n..(j + 1) * n]);
            if j > 0 {
                for (x, &a) in p.iter_mut().zip(&v.abar[j * n..(j + 1) * n]) {
                    *x *= a;
                }
            }
        }
    }
}

#[inline(always)]
fn dot<T: FastFloat>(a: &[T], b: &[T]) -> T {
    let mut acc = [T::zero(); 4];
    let mut ca = a.chunks_exact(4);
    let mut cb = b.chunks_exact(4);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for t in 0..4 {
            acc[t] += x[t] * y[t];
        }
    }
    let mut s = (acc[0] + acc[2]) + (acc[1] + acc[3]);
    for (&x, &y) in ca.remainder().iter().zip(cb.remainder()) {
        s += x * y;
    }
    s
}

/// The selected part of `$\tilde\alpha$` of a float channel into `out`
/// (length [`Selection::output_len`]). `chunk` is the chunk size of [`Selection::Full`]
/// (checked for every selection, so a bad request fails the same way whatever is selected).
///
/// Accuracy: every entry satisfies (F1) of the [module docs](super) — the row and the band
/// are the running product of T1, whose entries are the same products and sums.
///
/// # Errors
/// [`Error::InvalidArgument`] for a row index `$\ge L$`, a band width 0 or `chunk = 0`;
/// [`Error::DataLength`] if `out` has the wrong length; [`Error::NonFiniteResult`] on
/// overflow (only possible when some `$|\bar A| > 1$`).
///
/// # Examples
/// ```
/// use hidden_attention::{fast::{select_into, Selection}, ssm::{self, MambaChannel, BRule}};
/// let m = MambaChannel { delta: vec![0.5f32; 6], a: vec![-1.0; 2], b: vec![1.0; 12], c: vec![1.0; 12] };
/// let ch = m.discretize(BRule::Euler).unwrap();
/// let mut row = vec![0.0f32; 6];
/// select_into(&ch, Selection::Row(5), 64, &mut row).unwrap();
/// let full = ssm::attention_matrix(&ch).unwrap();
/// assert_eq!(&row[..], full.row(5));
/// assert!(select_into(&ch, Selection::Row(6), 64, &mut row).is_err());
/// ```
pub fn select_into<T: FastFloat>(
    ch: &Channel<T>,
    sel: Selection,
    chunk: usize,
    out: &mut [T],
) -> Result<()> {
    check_chunk(chunk)?;
    let l = ch.len();
    sel.validate(l)?;
    check_out("out", &sel.shape(l), out.len())?;
    let v = View::of(ch);
    let mut p = vec![T::zero(); ch.state()];
    match sel {
        Selection::Row(i) => row_into(&v, i, out, &mut p),
        Selection::Band(k) => band_into(&v, k, out, &mut p),
        Selection::Full => return hidden_attention_into(ch, chunk, out),
    }
    check_result(&v, out, &sel.shape(l))
}

/// [`select_into`] into a new vector.
///
/// # Errors
/// As [`select_into`].
pub fn select<T: FastFloat>(ch: &Channel<T>, sel: Selection, chunk: usize) -> Result<Vec<T>> {
    sel.validate(ch.len())?;
    let mut out = vec![T::zero(); sel.output_len(ch.len())];
    select_into(ch, sel, chunk, &mut out)?;
    Ok(out)
}

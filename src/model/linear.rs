//! Dense kernels of the block: `x Wᵀ + b`, dot products with independent accumulators.

use rayon::prelude::*;

use crate::scalar::Real;

/// $\sum_i a_i b_i$ with eight interleaved partial sums (vectorises; the summation order
/// differs from a left-to-right loop only by rounding).
#[inline]
pub fn fast_dot<T: Real>(a: &[T], b: &[T]) -> T {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [T::zero(); 8];
    let chunks = n / 8;
    for c in 0..chunks {
        let (x, y) = (&a[c * 8..c * 8 + 8], &b[c * 8..c * 8 + 8]);
        for k in 0..8 {
            acc[k] = acc[k] + x[k] * y[k];
        }
    }
    let mut tail = T::zero();
    for k in chunks * 8..n {
        tail = tail + a[k] * b[k];
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// `x Wᵀ + b` for `x` of shape `(rows, inp)` and `W` of shape `(out, inp)` (PyTorch's
/// `nn.Linear` layout), row-major; parallel over rows when the product is large.
pub fn linear<T: Real>(
    x: &[T],
    rows: usize,
    w: &[T],
    out: usize,
    inp: usize,
    bias: Option<&[T]>,
) -> Vec<T> {
    debug_assert_eq!(x.len(), rows * inp);
    debug_assert_eq!(w.len(), out * inp);
    let mut y = vec![T::zero(); rows * out];
    let row = |(t, yr): (usize, &mut [T])| {
        let xt = &x[t * inp..(t + 1) * inp];
        for (o, v) in yr.iter_mut().enumerate() {
            let mut s = fast_dot(xt, &w[o * inp..(o + 1) * inp]);
            if let Some(b) = bias {
                s = s + b[o];
            }
            *v = s;
        }
    };
    if rows * out * inp > 1 << 16 && rows > 1 {
        y.par_chunks_mut(out).enumerate().for_each(row);
    } else if rows * out * inp > 1 << 16 {
        // one row, many outputs: split the outputs
        let xt = &x[..inp];
        y.par_iter_mut().enumerate().for_each(|(o, v)| {
            let mut s = fast_dot(xt, &w[o * inp..(o + 1) * inp]);
            if let Some(b) = bias {
                s = s + b[o];
            }
            *v = s;
        });
    } else {
        y.chunks_mut(out).enumerate().for_each(row);
    }
    y
}

/// `g W` for `g` of shape `(rows, out)` and `W` of shape `(out, inp)`: the input gradient
/// of [`linear`], shape `(rows, inp)`.
pub fn linear_backward<T: Real>(g: &[T], rows: usize, w: &[T], out: usize, inp: usize) -> Vec<T> {
    let mut x = vec![T::zero(); rows * inp];
    x.par_chunks_mut(inp).enumerate().for_each(|(t, xr)| {
        let gt = &g[t * out..(t + 1) * out];
        for (o, &go) in gt.iter().enumerate() {
            if go == T::zero() {
                continue;
            }
            for (xi, &wi) in xr.iter_mut().zip(&w[o * inp..(o + 1) * inp]) {
                *xi = *xi + go * wi;
            }
        }
    });
    x
}

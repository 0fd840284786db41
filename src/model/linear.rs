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
/// `nn.Linear` layout), row-major. Rows are taken in blocks of 8 so each row of `W` is
/// read once per block (from cache for the other 7); blocks run in parallel.
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
    const BLOCK: usize = 8;
    let mut y = vec![T::zero(); rows * out];
    let block = |(bi, yb): (usize, &mut [T])| {
        let r0 = bi * BLOCK;
        let nr = yb.len() / out;
        for o in 0..out {
            let wo = &w[o * inp..(o + 1) * inp];
            let b = bias.map_or(T::zero(), |b| b[o]);
            for r in 0..nr {
                let t = r0 + r;
                yb[r * out + o] = fast_dot(&x[t * inp..(t + 1) * inp], wo) + b;
            }
        }
    };
    if rows * out * inp < 1 << 16 {
        y.chunks_mut(BLOCK * out).enumerate().for_each(block);
    } else if rows >= 2 * BLOCK {
        y.par_chunks_mut(BLOCK * out).enumerate().for_each(block);
    } else {
        // few rows, many outputs: split the outputs
        y.par_chunks_mut(out).enumerate().for_each(|(t, yr)| {
            let xt = &x[t * inp..(t + 1) * inp];
            yr.par_iter_mut().enumerate().for_each(|(o, v)| {
                *v = fast_dot(xt, &w[o * inp..(o + 1) * inp]) + bias.map_or(T::zero(), |b| b[o]);
            });
        });
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

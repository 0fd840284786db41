//! Dense kernels of the block: `x Wᵀ + b`, dot products with independent accumulators.

use rayon::prelude::*;

use crate::scalar::Real;

/// `$\sum_i a_i b_i$` with eight interleaved partial sums (vectorises; the summation order
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
/// `nn.Linear` layout), row-major. Large products go to faer's GEMM (f32, f64); otherwise
/// rows are taken in blocks of 8 so each row of `W` is
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
    if rows * out * inp >= 1 << 18 && gemm(x, rows, w, out, inp, &mut y) {
        if let Some(b) = bias {
            for yr in y.chunks_mut(out) {
                for (v, &bo) in yr.iter_mut().zip(b) {
                    *v = *v + bo;
                }
            }
        }
        return y;
    }
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

macro_rules! faer_gemm {
    ($t:ty, $x:expr, $rows:expr, $w:expr, $out:expr, $inp:expr, $y:expr) => {{
        // rows split across the rayon threads, one single-threaded GEMM each
        let per = $rows.div_ceil(rayon::current_num_threads().max(1)).max(1);
        let rhs = faer::mat::from_column_major_slice::<$t>($w, $inp, $out);
        $y.par_chunks_mut(per * $out)
            .enumerate()
            .for_each(|(k, yb)| {
                let r = yb.len() / $out;
                let dst = faer::mat::from_row_major_slice_mut::<$t>(yb, r, $out);
                let lhs = faer::mat::from_row_major_slice::<$t>(
                    &$x[k * per * $inp..(k * per + r) * $inp],
                    r,
                    $inp,
                );
                faer::linalg::matmul::matmul(dst, lhs, rhs, None, 1.0, faer::Parallelism::None);
            });
    }};
}

/// `y = x Wᵀ` by faer's GEMM when `T` is `f32` or `f64`; `false` (nothing done) otherwise.
fn gemm<T: Real>(x: &[T], rows: usize, w: &[T], out: usize, inp: usize, y: &mut [T]) -> bool {
    use std::any::TypeId;
    if TypeId::of::<T>() == TypeId::of::<f64>() {
        // SAFETY: T is f64 (same type, same layout).
        let (x, w, y) = unsafe {
            (
                std::slice::from_raw_parts(x.as_ptr() as *const f64, x.len()),
                std::slice::from_raw_parts(w.as_ptr() as *const f64, w.len()),
                std::slice::from_raw_parts_mut(y.as_mut_ptr() as *mut f64, y.len()),
            )
        };
        faer_gemm!(f64, x, rows, w, out, inp, y);
        true
    } else if TypeId::of::<T>() == TypeId::of::<f32>() {
        // SAFETY: T is f32 (same type, same layout).
        let (x, w, y) = unsafe {
            (
                std::slice::from_raw_parts(x.as_ptr() as *const f32, x.len()),
                std::slice::from_raw_parts(w.as_ptr() as *const f32, w.len()),
                std::slice::from_raw_parts_mut(y.as_mut_ptr() as *mut f32, y.len()),
            )
        };
        faer_gemm!(f32, x, rows, w, out, inp, y);
        true
    } else {
        false
    }
}

//! The off-diagonal panels of the chunked form (T4 made computational): every block of
//! `$\tilde\alpha$` left of a row chunk's diagonal block is one rank-`$N$` product `$Q_c\,(K^{(c)})^\top$`,
//! a `(h × N)·(N × s)` GEMM — register-blocked SIMD kernels where the CPU has them, faer's
//! GEMM otherwise. Bound (F1) of the [module docs](super).

use faer::linalg::matmul::matmul;
use faer::Parallelism;

use super::{madd, FastFloat};
/// The off-diagonal panel `out[r·ld + j] = Σ_k q[r·n + k] · kt[k·ks + j]` for `r < h`,
/// `j < s`: a `(h × N)·(N × s)` GEMM (`ks ≥ s` the row stride of `kt`). Register-blocked SIMD kernels (AVX-512, AVX2+FMA)
/// where the CPU has them, faer's GEMM otherwise.
#[allow(clippy::too_many_arguments)]
pub(crate) fn panel<T: FastFloat>(
    q: &[T],
    n: usize,
    kt: &[T],
    ks: usize,
    s: usize,
    out: &mut [T],
    ld: usize,
    h: usize,
) {
    #[cfg(target_arch = "x86_64")]
    {
        let wide = std::mem::size_of::<T>() == 4;
        match super::simd_level() {
            // SAFETY: the CPU has the features these functions are compiled with.
            "avx512" if wide => {
                return unsafe { panel_avx512::<T, 16>(q, n, kt, ks, s, out, ld, h) }
            }
            // SAFETY: as above.
            "avx512" => return unsafe { panel_avx512::<T, 8>(q, n, kt, ks, s, out, ld, h) },
            // SAFETY: as above.
            "avx2+fma" if wide => {
                return unsafe { panel_avx2::<T, 8>(q, n, kt, ks, s, out, ld, h) }
            }
            // SAFETY: as above.
            "avx2+fma" => return unsafe { panel_avx2::<T, 4>(q, n, kt, ks, s, out, ld, h) },
            _ => {}
        }
    }
    panel_faer(q, n, kt, ks, s, out, ld, h)
}

/// [`panel`] by faer's GEMM.
#[allow(clippy::too_many_arguments)]
pub(crate) fn panel_faer<T: FastFloat>(
    q: &[T],
    n: usize,
    kt: &[T],
    ks: usize,
    s: usize,
    out: &mut [T],
    ld: usize,
    h: usize,
) {
    let dst =
        faer::mat::from_row_major_slice_with_stride_mut(&mut out[..(h - 1) * ld + s], h, s, ld);
    let lhs = faer::mat::from_row_major_slice(q, h, n);
    let rhs = faer::mat::from_row_major_slice_with_stride(&kt[..(n - 1) * ks + s], n, s, ks);
    matmul(dst, lhs, rhs, None, T::one(), Parallelism::None);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
#[allow(clippy::too_many_arguments)]
fn panel_avx512<T: FastFloat, const W: usize>(
    q: &[T],
    n: usize,
    kt: &[T],
    ks: usize,
    s: usize,
    out: &mut [T],
    ld: usize,
    h: usize,
) {
    panel_blocked::<T, W, 4, true>(q, n, kt, ks, s, out, ld, h)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
fn panel_avx2<T: FastFloat, const W: usize>(
    q: &[T],
    n: usize,
    kt: &[T],
    ks: usize,
    s: usize,
    out: &mut [T],
    ld: usize,
    h: usize,
) {
    panel_blocked::<T, W, 2, true>(q, n, kt, ks, s, out, ld, h)
}

/// Register blocking: 4 rows × `V` vectors of `W` lanes of accumulators; each row of
/// `kt` loaded once per 4 rows, each `q` entry broadcast.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn panel_blocked<T: FastFloat, const W: usize, const V: usize, const FMA: bool>(
    q: &[T],
    n: usize,
    kt: &[T],
    ks: usize,
    s: usize,
    out: &mut [T],
    ld: usize,
    h: usize,
) {
    const R: usize = 4;
    let blk = W * V;
    let jfull = s / blk * blk;
    let mut r0 = 0;
    while r0 + R <= h {
        let qr = &q[r0 * n..(r0 + R) * n];
        let mut j0 = 0;
        while j0 < jfull {
            let mut acc = [[[T::zero(); W]; V]; R];
            for k in 0..n {
                let krow = &kt[k * ks + j0..k * ks + j0 + blk];
                for v in 0..V {
                    let kv: &[T; W] = krow[v * W..(v + 1) * W].try_into().expect("W lanes");
                    for r in 0..R {
                        let qv = qr[r * n + k];
                        for w in 0..W {
                            acc[r][v][w] = madd::<T, FMA>(qv, kv[w], acc[r][v][w]);
                        }
                    }
                }
            }
            for (r, accr) in acc.iter().enumerate() {
                let o = &mut out[(r0 + r) * ld + j0..(r0 + r) * ld + j0 + blk];
                for (v, a) in accr.iter().enumerate() {
                    o[v * W..(v + 1) * W].copy_from_slice(a);
                }
            }
            j0 += blk;
        }
        for r in r0..r0 + R {
            panel_scalar_row(
                &q[r * n..(r + 1) * n],
                kt,
                ks,
                jfull,
                &mut out[r * ld..r * ld + s],
            );
        }
        r0 += R;
    }
    for r in r0..h {
        panel_scalar_row(
            &q[r * n..(r + 1) * n],
            kt,
            ks,
            0,
            &mut out[r * ld..r * ld + s],
        );
    }
}

#[inline(always)]
fn panel_scalar_row<T: FastFloat>(q: &[T], kt: &[T], ks: usize, from: usize, out: &mut [T]) {
    for (j, o) in out.iter_mut().enumerate().skip(from) {
        let mut acc = T::zero();
        for (k, &qk) in q.iter().enumerate() {
            acc += qk * kt[k * ks + j];
        }
        *o = acc;
    }
}

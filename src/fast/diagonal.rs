//! The diagonal blocks of the chunked form (T1): running products of `$\bar A$` kept in SIMD
//! lanes across the columns of a block, the same products as the generic row-by-row loop.
//! Bound (F1) of the [module docs](super).

use super::chunked::View;
use super::{madd, FastFloat};
/// The diagonal block of rows `s..s + h` and the zeros right of it, vectorised across
/// columns: `Q[n][j] = B̄_{j,n} ∏_{k=j+1}^{i} Ā_{k,n}` for every column `j ≤ i` of the
/// block is kept in SIMD lanes; row `i` is `Σ_n C_{i,n} Q[n][·]` (broadcast `C`), then
/// `Q[n][·] ⊙= Ā_{i+1,n}` and column `i + 1` is switched on. Columns not yet switched on
/// hold exact zeros, which is the upper triangle of the block. Each entry is the same
/// product of `C_i`, the `Ā`s and `B̄_j` as in T1's running product (bound (F1)).
pub(crate) fn diagonal<T: FastFloat>(v: &View<'_, T>, s: usize, h: usize, rows: &mut [T]) {
    let wide = std::mem::size_of::<T>() == 4;
    #[cfg(target_arch = "x86_64")]
    {
        match super::simd_level() {
            // SAFETY: the CPU has the features these functions are compiled with.
            "avx512" if wide => return unsafe { diagonal_avx512::<T, 16>(v, s, h, rows) },
            // SAFETY: as above.
            "avx512" => return unsafe { diagonal_avx512::<T, 8>(v, s, h, rows) },
            // SAFETY: as above.
            "avx2+fma" if wide => return unsafe { diagonal_avx2::<T, 8>(v, s, h, rows) },
            // SAFETY: as above.
            "avx2+fma" => return unsafe { diagonal_avx2::<T, 4>(v, s, h, rows) },
            _ => {}
        }
    }
    if wide {
        diagonal_lanes::<T, 4, false>(v, s, h, rows)
    } else {
        diagonal_lanes::<T, 2, false>(v, s, h, rows)
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
fn diagonal_avx512<T: FastFloat, const W: usize>(
    v: &View<'_, T>,
    s: usize,
    h: usize,
    rows: &mut [T],
) {
    diagonal_lanes::<T, W, true>(v, s, h, rows)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn diagonal_avx2<T: FastFloat, const W: usize>(
    v: &View<'_, T>,
    s: usize,
    h: usize,
    rows: &mut [T],
) {
    diagonal_lanes::<T, W, true>(v, s, h, rows)
}

#[inline(always)]
fn diagonal_lanes<T: FastFloat, const W: usize, const FMA: bool>(
    v: &View<'_, T>,
    s: usize,
    h: usize,
    rows: &mut [T],
) {
    const G: usize = 4;
    let (l, n) = (v.len, v.state);
    // vectors per state, padded to whole groups of G (the padding stays 0)
    let nv = h.div_ceil(W).div_ceil(G) * G;
    let mut qv = vec![[T::zero(); W]; n * nv];
    for r in 0..h {
        let i = s + r;
        for k in 0..n {
            qv[k * nv + r / W][r % W] = v.bbar[i * n + k];
        }
        let active = r / W + 1;
        let row = &mut rows[r * l..(r + 1) * l];
        let ci = &v.c[i * n..(i + 1) * n];
        // G independent accumulator chains (one chain is FMA-latency bound)
        for g0 in (0..active).step_by(G) {
            let (mut a0, mut a1, mut a2, mut a3) = (
                [T::zero(); W],
                [T::zero(); W],
                [T::zero(); W],
                [T::zero(); W],
            );
            for (k, &ck) in ci.iter().enumerate() {
                let b = k * nv + g0;
                let (q0, q1, q2, q3) = (&qv[b], &qv[b + 1], &qv[b + 2], &qv[b + 3]);
                for w in 0..W {
                    a0[w] = madd::<T, FMA>(ck, q0[w], a0[w]);
                    a1[w] = madd::<T, FMA>(ck, q1[w], a1[w]);
                    a2[w] = madd::<T, FMA>(ck, q2[w], a2[w]);
                    a3[w] = madd::<T, FMA>(ck, q3[w], a3[w]);
                }
            }
            let acc = [a0, a1, a2, a3];
            for (u, a) in acc.iter().enumerate().take(active - g0) {
                let lo = (g0 + u) * W;
                let cnt = W.min(h - lo);
                row[s + lo..s + lo + cnt].copy_from_slice(&a[..cnt]);
            }
        }
        let done = s + (active * W).min(h);
        row[done..].fill(T::zero());
        if r + 1 < h {
            let a = &v.abar[(i + 1) * n..(i + 2) * n];
            for (k, &ak) in a.iter().enumerate() {
                for q in &mut qv[k * nv..k * nv + active] {
                    for x in q.iter_mut() {
                        *x = T::mul_flush(*x, ak);
                    }
                }
            }
        }
    }
}

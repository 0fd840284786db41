//! A fast batched selective scan (the recurrent view) over `(batch, dim)`, f32 and f64.
//!
//! Layout: Mamba's `$B_t, C_t$` are shared by all channels of a batch element, so the
//! kernel puts `$W$` *channels* in the SIMD lanes (16 for f32, 8 for f64: one 64-byte
//! vector) and keeps the state as `$N$` vectors `$h_n \in \mathbb R^W$`. Every operation is
//! then lane-wise — `$h_n \leftarrow e^{\Delta A_n} h_n + (\Delta u) B_{t,n}$`,
//! `$y \mathrel{+}= C_{t,n} h_n$` with `$B_{t,n}$`, `$C_{t,n}$` broadcast — with no horizontal
//! reduction, and `$e^{\Delta A}$` is the branch-free [`FastFloat::exp_lanes`]. The kernel is
//! compiled for AVX-512 and AVX2+FMA and chosen at run time; blocks of channels run in
//! parallel (rayon).

use rayon::prelude::*;

pub use super::simd_level;
use super::{all_finite, check_out, madd, FastFloat};
use crate::error::{Error, Result};

/// Inputs of [`scan_into`], in `mamba_ssm`'s layout (variable `B`, `C`, real `A`, no
/// skip, gate or bias: those are elementwise and cheap).
#[derive(Debug, Clone, Copy)]
pub struct ScanParams<'a, T> {
    /// Batch size.
    pub batch: usize,
    /// Number of channels `$D$`.
    pub dim: usize,
    /// Sequence length `$L$`.
    pub len: usize,
    /// State size `$N$`.
    pub state: usize,
    /// Input `$u$`, `(batch, dim, L)`.
    pub u: &'a [T],
    /// `$\Delta$` after bias and softplus, `(batch, dim, L)`.
    pub delta: &'a [T],
    /// `$A$`, `(dim, N)`.
    pub a: &'a [T],
    /// `$B$`, `(batch, N, L)`.
    pub b: &'a [T],
    /// `$C$`, `(batch, N, L)`.
    pub c: &'a [T],
}

impl<T: FastFloat> ScanParams<'_, T> {
    /// Check sizes and finiteness.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for `$N = 0$`; [`Error::DataLength`] for an array of the
    /// wrong size; [`Error::NonFinite`] for a NaN/∞.
    pub fn validate(&self) -> Result<()> {
        self.check(true)
    }

    /// [`ScanParams::validate`] less the finiteness of the large `(batch, dim, L)` arrays
    /// `u` and `delta`, which [`scan_into`] checks as it reads them.
    fn validate_shapes(&self) -> Result<()> {
        self.check(false)
    }

    fn check(&self, large: bool) -> Result<()> {
        if self.state == 0 {
            return Err(Error::InvalidArgument {
                name: "state".into(),
                reason: "state size N must be at least 1".into(),
            });
        }
        let (bs, d, l, n) = (self.batch, self.dim, self.len, self.state);
        for (name, v, shape, big) in [
            ("u", self.u, vec![bs, d, l], true),
            ("delta", self.delta, vec![bs, d, l], true),
            ("A", self.a, vec![d, n], false),
            ("B", self.b, vec![bs, n, l], false),
            ("C", self.c, vec![bs, n, l], false),
        ] {
            check_out(name, &shape, v.len())?;
            if (big && !large) || all_finite(v) {
                continue;
            }
            if let Some(p) = v.iter().position(|x| !x.is_finite()) {
                return Err(Error::NonFinite {
                    tensor: name.into(),
                    index: crate::tensor::unravel(p, &shape),
                    value: crate::scalar::Field::to_f64(&v[p]),
                });
            }
        }
        Ok(())
    }
}

/// One block of up to `W` channels of one batch element. `bt`, `ct`: `(L, N)`;
/// `y`: the block's `(w, L)` outputs. Returns whether every `$\Delta$`, `$u$` read and every
/// output written is finite (the finiteness checks ride along with the loads and stores
/// instead of a separate pass over the inputs).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn block<T: FastFloat, const W: usize, const FMA: bool>(
    p: &ScanParams<'_, T>,
    bi: usize,
    d0: usize,
    bt: &[T],
    ct: &[T],
    y: &mut [T],
    lanes: &mut Vec<[T; W]>,
    h: &mut Vec<[T; W]>,
) -> bool {
    let (l, n, dim) = (p.len, p.state, p.dim);
    let w = y.len() / l.max(1);
    // lanes[2t] = Δ_t, lanes[2t+1] = Δ_t u_t; lanes[2L + k] = A_{·,k}
    lanes.clear();
    lanes.resize(2 * l + n, [T::zero(); W]);
    // step-major fill: each pair of lane vectors is written whole (a lane-major fill
    // touches every cache line of the scratch once per lane)
    let base = (bi * dim + d0) * l;
    let mut finite = true;
    for t in 0..l {
        let (dts, dus) = lanes[2 * t..2 * t + 2].split_at_mut(1);
        for lane in 0..w {
            let dt = p.delta[base + lane * l + t];
            let u = p.u[base + lane * l + t];
            finite &= dt.is_finite() & u.is_finite();
            dts[0][lane] = dt;
            dus[0][lane] = dt * u;
        }
    }
    for lane in 0..w {
        for k in 0..n {
            lanes[2 * l + k][lane] = p.a[(d0 + lane) * n + k];
        }
    }
    let (steps, a) = lanes.split_at(2 * l);
    if n == 16 {
        // Mamba's state size: a fixed-size local state and a loop of known trip count
        let mut hs = [[T::zero(); W]; 16];
        let a16: &[[T; W]; 16] = a.try_into().expect("16 states");
        steps_loop::<T, W, FMA, 16>(steps, a16, bt, ct, &mut hs, y, w, l);
    } else {
        h.clear();
        h.resize(n, [T::zero(); W]);
        steps_loop::<T, W, FMA, 0>(steps, a, bt, ct, h, y, w, l);
    }
    finite && super::all_finite(y)
}

/// The recurrence over all steps of a block; `NS` = the state size when known at compile
/// time (then `h` is a fixed-size local array), 0 otherwise.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn steps_loop<T: FastFloat, const W: usize, const FMA: bool, const NS: usize>(
    steps: &[[T; W]],
    a: &[[T; W]],
    bt: &[T],
    ct: &[T],
    h: &mut [[T; W]],
    y: &mut [T],
    w: usize,
    l: usize,
) {
    let n = if NS > 0 { NS } else { h.len() };
    for t in 0..l {
        let dt = steps[2 * t];
        let du = steps[2 * t + 1];
        let (bs, cs) = (&bt[t * n..(t + 1) * n], &ct[t * n..(t + 1) * n]);
        let mut acc = [T::zero(); W];
        for k in 0..n {
            let mut e = [T::zero(); W];
            for q in 0..W {
                e[q] = dt[q] * a[k][q];
            }
            T::exp_lanes_with::<W, FMA>(&mut e);
            let (bk, ck) = (bs[k], cs[k]);
            let hk = &mut h[k];
            for q in 0..W {
                hk[q] = madd::<T, FMA>(e[q], hk[q], du[q] * bk);
                acc[q] = madd::<T, FMA>(ck, hk[q], acc[q]);
            }
        }
        for (lane, yv) in acc.iter().take(w).enumerate() {
            y[lane * l + t] = *yv;
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
#[allow(clippy::too_many_arguments)]
fn block_avx512<T: FastFloat, const W: usize>(
    p: &ScanParams<'_, T>,
    bi: usize,
    d0: usize,
    bt: &[T],
    ct: &[T],
    y: &mut [T],
    lanes: &mut Vec<[T; W]>,
    h: &mut Vec<[T; W]>,
) -> bool {
    block::<T, W, true>(p, bi, d0, bt, ct, y, lanes, h)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
fn block_avx2<T: FastFloat, const W: usize>(
    p: &ScanParams<'_, T>,
    bi: usize,
    d0: usize,
    bt: &[T],
    ct: &[T],
    y: &mut [T],
    lanes: &mut Vec<[T; W]>,
    h: &mut Vec<[T; W]>,
) -> bool {
    block::<T, W, true>(p, bi, d0, bt, ct, y, lanes, h)
}

#[allow(clippy::too_many_arguments)]
fn dispatch<T: FastFloat, const W: usize>(
    p: &ScanParams<'_, T>,
    bi: usize,
    d0: usize,
    bt: &[T],
    ct: &[T],
    y: &mut [T],
    lanes: &mut Vec<[T; W]>,
    h: &mut Vec<[T; W]>,
) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        match super::simd_level() {
            // SAFETY: the CPU supports the features the function is compiled with.
            "avx512" => return unsafe { block_avx512::<T, W>(p, bi, d0, bt, ct, y, lanes, h) },
            // SAFETY: as above.
            "avx2+fma" => return unsafe { block_avx2::<T, W>(p, bi, d0, bt, ct, y, lanes, h) },
            _ => {}
        }
    }
    block::<T, W, false>(p, bi, d0, bt, ct, y, lanes, h)
}

/// Run every block; whether all inputs read and outputs written were finite.
fn scan_lanes<T: FastFloat, const W: usize>(p: &ScanParams<'_, T>, y: &mut [T]) -> bool {
    let (l, n, dim) = (p.len, p.state, p.dim);
    if l == 0 || dim == 0 {
        return true;
    }
    let mut finite = true;
    for (bi, yb) in y.chunks_mut(dim * l).enumerate() {
        let bt = super::layer::transpose(&p.b[bi * n * l..(bi + 1) * n * l], n, l);
        let ct = super::layer::transpose(&p.c[bi * n * l..(bi + 1) * n * l], n, l);
        finite &= yb
            .par_chunks_mut(W * l)
            .enumerate()
            .map_init(
                || (Vec::new(), Vec::new()),
                |(lanes, h), (blk, yo)| dispatch::<T, W>(p, bi, blk * W, &bt, &ct, yo, lanes, h),
            )
            .reduce(|| true, |x, y| x & y);
    }
    finite
}

/// **Fast batched scan.** `$h_t = e^{\Delta_t A}\odot h_{t-1} + \Delta_t B_t u_t$`, `$h_0 = 0$`,
/// `$y_t = \langle C_t, h_t\rangle$` for every `(batch, channel)`, into `y` `(batch, dim, L)`.
///
/// Accuracy (F3): against the exact [`crate::ssm::scan()`] of the channel
/// [`crate::ssm::MambaChannel::discretize`]`(Euler)` on the same input,
/// [`super::scan_bound`] (`$\gamma_{9L+N+4}$` times the exact magnitude, the `$6L$` extra units
/// covering our exponential's `$4u$` and libm's `$2u$` per step).
///
/// # Errors
/// As [`ScanParams::validate`]; [`Error::DataLength`] if `y` is not `(batch, dim, L)`;
/// [`Error::NonFiniteResult`] if an output overflows.
///
/// # Complexity
/// `$O(B\,D\,L\,N)$` time; `$O((2L+N)W)$` scratch per thread.
///
/// # Examples
/// ```
/// use hidden_attention::fast::{scan, ScanParams};
/// let p = ScanParams { batch: 1, dim: 1, len: 2, state: 1, u: &[1.0f64, 1.0],
///     delta: &[1.0, 1.0], a: &[-0.5], b: &[1.0, 1.0], c: &[1.0, 2.0] };
/// let y = scan(&p).unwrap();
/// assert!((y[1] - 2.0 * ((-0.5f64).exp() + 1.0)).abs() < 1e-14);
/// ```
pub fn scan_into<T: FastFloat>(p: &ScanParams<'_, T>, y: &mut [T]) -> Result<()> {
    p.validate_shapes()?;
    check_out("y", &[p.batch, p.dim, p.len], y.len())?;
    let finite = if std::mem::size_of::<T>() == 4 {
        scan_lanes::<T, 16>(p, y)
    } else {
        scan_lanes::<T, 8>(p, y)
    };
    if finite {
        return Ok(());
    }
    // a NaN/∞ in Δ or u (reported as such), or an output that overflowed
    p.validate()?;
    match y.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(q) => Err(Error::NonFiniteResult {
            what: "fast scan output y".into(),
            index: crate::tensor::unravel(q, &[p.batch, p.dim, p.len]),
            value: crate::scalar::Field::to_f64(&y[q]),
        }),
    }
}

/// [`scan_into`] into a new vector `(batch, dim, L)`.
///
/// # Errors
/// As [`scan_into`].
pub fn scan<T: FastFloat>(p: &ScanParams<'_, T>) -> Result<Vec<T>> {
    let mut y = vec![T::zero(); p.batch * p.dim * p.len];
    scan_into(p, &mut y)?;
    Ok(y)
}

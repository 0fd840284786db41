//! Fast float kernels (f32, f64) for the hidden attention `$\tilde\alpha$` and the scan,
//! each certified against the exact path by a stated forward error bound.
//!
//! | kernel | function | cost | bound |
//! | --- | --- | --- | --- |
//! | chunked `$\tilde\alpha$` (products) | [`chunked::hidden_attention_into`] | `$O(L^2 N)$` flops, one write of `$L^2$` | [`entry_bound`], (F1) |
//! | chunked `$\tilde\alpha$` (relative cumsums of `$\Delta A$`) | [`chunked::mamba_hidden_attention_into`] | same | [`mamba_entry_bound`], (F2) |
//! | one row / a band / all of `$\tilde\alpha$` | [`select::select_into`] | `$O(LN)$` / `$O(LKN)$` / as chunked | (F1) |
//! | whole layer into a buffer or a `.npy` stream | [`layer::layer_into`], [`layer::layer_to_npy`] | `$D\times$` the above | (F1) |
//! | batched selective scan | [`scan::scan_into`] | `$O(BDLN)$` | [`scan_bound`], (F3) |
//!
//! # The chunked form (T1 + T4)
//! Split `$0..L$` into chunks of `$T$` steps, chunk `$c$` starting at `$s_c = cT$`. For `$j \le i$`
//! in chunks `$c' < c$` the product `$\prod_{k=j+1}^{i}\bar A_k$` splits at the chunk
//! boundaries into three factors that are all `$\le 1$` in modulus for a Mamba channel
//! (`$0 < \bar A = e^{\Delta A} \le 1$`):
//!
//! ```math
//! \tilde\alpha_{ij} = \sum_n \underbrace{C_{i,n}\!\!\prod_{k=s_c+1}^{i}\!\!\bar A_{k,n}}_{Q_{i,n}}\;
//! \underbrace{\prod_{c''=c'+1}^{c-1} G_{c'',n}}_{\text{between chunks}}\;
//! \underbrace{\bar B_{j,n}\!\!\prod_{k=j+1}^{s_{c'+1}}\!\!\bar A_{k,n}}_{K_{j,n}},
//! \qquad G_{c,n} = \prod_{k=s_c+1}^{s_{c+1}} \bar A_{k,n},
//! ```
//!
//! so the whole off-diagonal panel of a row chunk is one rank-`$N$` product
//! `$Q_c\, (K^{(c)})^\top$` — a `$(T\times N)\cdot(N\times s_c)$` GEMM (faer) — which is T4
//! (`$\tilde\alpha$` is `$N$`-semiseparable) made computational. No factor is ever divided
//! by another, so nothing overflows where the naive factored form
//! `$Q_i = C_i\odot P_i,\ K_j = \bar B_j \oslash P_j$` (T2b, [`crate::ssm::factored()`]) does
//! (after a few hundred steps `$P_j$` underflows and `$K_j$` overflows). The diagonal
//! `$T\times T$` blocks use the running product of T1. Rows of chunks run in parallel once `$L^2N \ge 2^{21}$`
//! (rayon); a layer runs its channels in parallel.
//!
//! # Accuracy
//! Write `$M_{ij} = \sum_n |C_{i,n}|\prod_{k=j+1}^{i}|\bar A_{k,n}|\,|\bar B_{j,n}|$` (the
//! hidden attention of the entrywise-absolute channel), `$u$` the unit roundoff,
//! `$\gamma_m = mu/(1-mu)$` and `$\lambda$` the smallest normal number.
//!
//! **(F1) product form.** Every term of an entry is a product of `$C_{i,n}$`, `$\bar B_{j,n}$` and
//! the `$i-j$` factors `$\bar A_{k,n}$`, formed with at most `$i-j+1$` rounded multiplications
//! in some order (running products inside chunks, the between-chunk product, the scaling
//! of `$K$`), and the `$N$` terms are summed by the GEMM or a dot product in some order
//! (`$N-1$` rounded additions, FMAs only remove roundings). The standard model gives, against
//! the exact `$\tilde\alpha$` of the same float channel ([`crate::ssm::Channel::to_exact`]),
//!
//! ```math
//! |\mathrm{fl}(\tilde\alpha_{ij}) - \tilde\alpha_{ij}| \le \gamma_{i-j+N+1}\, M_{ij} + \eta,
//! \qquad \eta = 2(L+N+2)\,N\,\lambda\,\max(1,\max|C|)\max(1,\max|\bar B|)\,\hat P,
//! ```
//!
//! with `$\hat P = \max_n\prod_k \max(1, |\bar A_{k,n}|)$` (`$=1$` for every Mamba channel). The
//! term `$\eta$` is derived in the standard model **with underflow**,
//! `$\mathrm{fl}(a\circ b) = (a\circ b)(1+\delta) + \eta'$`, `$|\eta'| \le \eta_0$` (the smallest
//! subnormal; `$\eta' = 0$` for sums, which are exact when subnormal). The chunked kernel
//! keeps subnormal numbers out of its hot loops (subnormal arithmetic is one to two orders
//! of magnitude slower than normal arithmetic on x86, and a decaying channel makes most of
//! α̃ underflow): a product whose operands' exponents say it could fall below `$\lambda$` is
//! flushed to 0 ([`FastFloat::mul_flush`], off by less than `$2\lambda$`), and a state whose
//! terms in an off-diagonal block are all below `$\lambda/2$` by the block's bound is dropped
//! (off by less than `$\lambda$`). So every absolute error a term can collect — a flush, a
//! dropped state, or the rounding of a subnormal result (`$\le\eta_0 < \lambda$`) — is below
//! `$2\lambda$`; a term collects at most `$i-j+3 \le L+N+2$` of them, and each is then
//! multiplied by the factors the term multiplies in afterwards, a sub-product of
//! `$C_{i,n}$`, the `$\bar A_{k,n}$` and `$\bar B_{j,n}$` of modulus at most
//! `$\max(1, |C|)\max(1, |\bar B|)\hat P$` (and by the `$(1+\delta)$` of later roundings, which
//! the count's slack absorbs); `$N$` terms stay below `$\eta$`. This is also the bound of the
//! generic row-by-row loop ([`crate::ssm::attention_matrix()`]): chunking costs nothing in
//! accuracy. [`entry_bound`] evaluates it.
//!
//! Machine-checked for that generic loop, in its evaluation order, for binary64 and binary32
//! with gradual underflow (Flocq's FLT format): Coq: `hidden_attention_entry_error` gives
//! `$|\mathrm{fl}(\tilde\alpha_{ij}) - \tilde\alpha_{ij}| \le ((1+u)^{i-j+N+1} - 1) M_{ij} +
//! \eta_0 (1+u)^{i-j+N+1} \sum_n (|\bar B_{j,n}| V_{ijn} + 1)$`, `$V_{ijn} \le (i-j)\hat P$` the
//! absolute errors carried by the later step factors, and `pow_le_gamma` turns the first
//! factor into `$\gamma_{i-j+N+1}$`; with `$\eta_0 = 2u\lambda$` this is (F1) as stated, Coq:
//! `hidden_attention_within_fast_entry_bound` (Coq definitions `fast_eta` and
//! `fast_entry_bound` for `eta` and [`entry_bound`], the maxima given as bounds; `$C$` floats,
//! `$N \ge 1$`, `$(i-j+N+2)u \le 1$`). The chunked kernels' flushes and dropped states, (F2) and
//! (F3) are not formalised.
//!
//! **(F2) relative cumulative sums.** [`chunked::mamba_hidden_attention_into`] starts from
//! Mamba's `$(\Delta, A, B, C)$` and forms the three off-diagonal factors as
//! `$e^{x}$` of *relative* sums `$x$` of `$\Delta_k A_n$` over at most `$T+1$` steps (prefix sums from
//! the chunk start, suffix sums to the next chunk start, chunk totals), so every exponent is
//! `$\le 0$` and bounded by `$(T+1)\max|\Delta A|$`; the diagonal blocks use the step factors
//! `$\bar A_k = \mathrm{fl}(e^{\Delta_k A})$` exactly as [`crate::ssm::MambaChannel::discretize`]
//! does. Against the exact `$\tilde\alpha$` of the discretised channel (whose `$\bar A_k$` are those
//! rounded exponentials), with `$X_{ijn} = \sum_{k=j+1}^{i} |\Delta_k A_n|$` and exponentials
//! accurate to `$|\epsilon| \le 2u$` (one ulp, as glibc's `exp`/`expf`),
//!
//! ```math
//! |\mathrm{fl}(\tilde\alpha_{ij}) - \tilde\alpha_{ij}| \le \sum_n |C_{i,n}\bar B_{j,n}|\,
//! e^{-X_{ijn}}\Big[(1+\gamma_{m})^2\,e^{2\gamma_{T+2} X_{ijn}} - 1\Big] + \eta,\qquad m = 5(i-j) + N + 8
//! ```
//!
//! for `$j$` in an earlier chunk than `$i$`, and (F1) inside a diagonal block (there the step
//! factors are the exact channel's own). The factor `$e^{\gamma_{T+2}X}$` is the rounding of the
//! relative sums (each of at most `$T+1$` rounded terms `$\mathrm{fl}(\Delta_k A_n)$`) and of the
//! exact channel's own products `$\mathrm{fl}(\Delta_k A_n)$`; `$m$` counts `$2(i-j)$` units for the
//! exact channel's step exponentials, `$2$` units for each of our at most `$i-j+1$` exponentials
//! of sums, the at most `$i-j+2$` multiplications and the `$N-1$` additions; the square bounds
//! the exact entry itself by `$e^{-X}(1+\gamma_m)e^{\gamma_{T+2}X}$`. Since
//! `$X e^{-X} \le 1/e$`, the sum term adds at most about `$\gamma_{T+2}/e\,\sum_n|C_{i,n}\bar B_{j,n}|$`
//! in absolute terms however long the sequence: bounded exponents are what keep the chunked
//! form accurate where global cumulative sums (error `$\propto u\sum_{k\le i}|\Delta_k A|$`, growing
//! with `$i$`) and the naive factored form are not. [`mamba_entry_bound`] evaluates it.
//!
//! **(F3) scan.** [`scan::scan_into`] uses its own vectorised exponential (relative error at
//! most `$4u$`, checked in the tests, and 0 below `$\lambda$`) instead of libm's, and forms
//! `$\mathrm{fl}(\mathrm{fl}(\Delta_t u_t) B_{t,n})$` instead of `$\bar B_{t,n} u_t$`; against the exact
//! scan of the discretised channel on the same input,
//!
//! ```math
//! |\mathrm{fl}(y_t) - y_t| \le \gamma_{9L+N+4}\,\mathrm{mag}_t + \eta^s_t,\qquad
//! \eta^s_t = 2\lambda\Big[N + \sum_n \hat C_{t,n}\hat P_{t,n}\sum_{j\le t}\big(\hat B_{j,n} + 3
//! + 2H_{j-1,n}\big)\Big],
//! ```
//!
//! with `$\mathrm{mag}$` the exact magnitude of [`crate::theorems::bound::magnitude`],
//! `$\hat v = \max(1,|v|)$`, `$\hat P_{t,n} = \prod_{k\le t}\max(1,|\bar A_{k,n}|)$` and
//! `$H_{j,n} = \sum_{i\le j}\prod_{k=i+1}^{j}|\bar A_{k,n}|\,|\bar B_{i,n}|\,|u_i|$` the state of the
//! entrywise-absolute channel. Derivation in the standard model with underflow: per step
//! and state the kernel makes at most four absolute errors below `$\lambda$` — the roundings
//! of `$\Delta_t u_t$` (carried on multiplied by `$B_{t,n}$`), of its product with `$B_{t,n}$`, of
//! the state update, and the exponential's flush to 0 (an error below `$\lambda$` in
//! `$\bar A_t$`, multiplied by the computed state `$|\hat h_{t-1}| \le 2H_{t-1} + 1$`) — each then
//! multiplied by `$C_{t,n}$` and the later step factors; the read-out adds one per state
//! (`$N$`); the factor 2 covers the later roundings `$(1+\gamma_m) \le 2$`. [`scan_bound`]
//! evaluates it.
//!
//! All bounds are evaluated in `f64` and inflated by `$10^{-6}$` relative to absorb the
//! rounding of their own evaluation; their absolute terms are normal numbers, so no
//! absolute slack is needed. The exact checks in [`crate::theorems`] evaluate their bound
//! exactly instead ([`crate::theorems::bound::output_bound_exact`]).

pub mod chunked;
mod diagonal;
pub mod layer;
mod panel;
pub mod scan;
pub mod select;

pub use chunked::{
    attention_matrix, hidden_attention_into, mamba_hidden_attention_into, DEFAULT_CHUNK,
};
pub use layer::{layer_into, layer_to_npy, LayerParams};
pub use scan::{scan, scan_into, ScanParams};
pub use select::{select, select_into, Selection};

use crate::error::{Error, Result};
use crate::scalar::{Exact, Field, Real};
use crate::ssm::{Channel, MambaChannel};
use crate::theorems::bound::gamma;

/// The float types of the fast kernels: `f32` and `f64` (faer entities with a
/// vectorisable exponential).
pub trait FastFloat: Real + faer::ComplexField + faer::SimpleEntity + Default {
    /// `$e^x$` for every lane, branch-free so that it vectorises: Cody–Waite reduction
    /// `$x = k\ln 2 + r$`, `$|r| \le \ln 2/2$`, a Taylor polynomial of degree 7 (f32) or 13
    /// (f64) in Horner form, and `$2^k$` by exponent bits. Relative error at most `$4u$` on
    /// `$[\ln\lambda, \ln\max]$`; 0 below `$\ln\lambda$` (where `$e^x < \lambda$`); arguments
    /// above `$\ln\max$` are clamped (never used: Mamba exponents are `$\le 0$`).
    fn exp_lanes<const W: usize>(x: &mut [Self; W]) {
        Self::exp_lanes_with::<W, false>(x)
    }
    /// [`FastFloat::exp_lanes`] with its multiply-adds fused when `FMA` (one rounding
    /// instead of two: the same bound). Used by kernels compiled with the FMA feature;
    /// elsewhere `FMA = true` is correct but slow (software `fma`).
    fn exp_lanes_with<const W: usize, const FMA: bool>(x: &mut [Self; W]);
    /// `$\mathrm{fl}(x a)$`, or `$0$` when the product could fall below the normal range:
    /// `$x$` is replaced by `$0$` before the multiplication when the binary exponents of `$x$`
    /// and `$a$` sum to less than that of `$\lambda$` (then `$|xa| < 2\lambda$`). Branch-free (it
    /// vectorises) and never forms a subnormal from normal operands, whose arithmetic is
    /// one to two orders of magnitude slower on x86; the flushed product is off by less
    /// than `$2\lambda$` in absolute terms, which the `$\eta$` of (F1) covers.
    fn mul_flush(x: Self, a: Self) -> Self;
    /// The NumPy dtype string (`"<f4"`, `"<f8"`).
    const NPY_DESCR: &'static str;
    /// Append the little-endian bytes of `v` to `buf`.
    fn extend_le(v: &[Self], buf: &mut Vec<u8>);
}

impl FastFloat for f32 {
    const NPY_DESCR: &'static str = "<f4";
    #[inline(always)]
    fn mul_flush(x: f32, a: f32) -> f32 {
        // biased exponents e_x + e_a ≤ 127  ⇔  unbiased sum ≤ −127  ⇒  |x a| < 2^{−125} = 2λ
        let ex = (x.to_bits() >> 23) & 0xff;
        let ea = (a.to_bits() >> 23) & 0xff;
        let xs = if ex + ea <= 127 { 0.0 } else { x };
        xs * a
    }
    fn extend_le(v: &[f32], buf: &mut Vec<u8>) {
        buf.reserve(4 * v.len());
        for x in v {
            buf.extend_from_slice(&x.to_le_bytes());
        }
    }
    #[inline(always)]
    fn exp_lanes_with<const W: usize, const FMA: bool>(x: &mut [f32; W]) {
        const LOG2E: f32 = std::f32::consts::LOG2_E;
        const LN2_HI: f32 = 0.693_359_4; // 355/512: k · LN2_HI is exact for |k| < 2^15
        const LN2_LO: f32 = -2.121_944_4e-4;
        const MAGIC: f32 = 12_582_912.0; // 1.5 · 2^23: adding it rounds to an integer
        const LO: f32 = -87.33; // ln λ ≈ −87.336
        const HI: f32 = 88.7;
        for v in x.iter_mut() {
            let xv = v.clamp(LO, HI);
            let t = madd::<f32, FMA>(xv, LOG2E, MAGIC);
            let kf = t - MAGIC;
            let r = madd::<f32, FMA>(-kf, LN2_LO, madd::<f32, FMA>(-kf, LN2_HI, xv));
            let mut p = 1.0 / 5040.0;
            for c in [
                1.0 / 720.0,
                1.0 / 120.0,
                1.0 / 24.0,
                1.0 / 6.0,
                0.5,
                1.0,
                1.0,
            ] {
                p = madd::<f32, FMA>(p, r, c);
            }
            // k sits in the low mantissa bits of t (no float → int conversion: it vectorises)
            let k = t.to_bits().wrapping_sub(MAGIC.to_bits());
            let scale = f32::from_bits(k.wrapping_add(127) << 23);
            let y = p * scale;
            *v = if *v < LO { 0.0 } else { y };
        }
    }
}

impl FastFloat for f64 {
    const NPY_DESCR: &'static str = "<f8";
    #[inline(always)]
    fn mul_flush(x: f64, a: f64) -> f64 {
        // biased exponents e_x + e_a ≤ 1023  ⇔  unbiased sum ≤ −1023  ⇒  |x a| < 2^{−1021} = 2λ
        let ex = (x.to_bits() >> 52) & 0x7ff;
        let ea = (a.to_bits() >> 52) & 0x7ff;
        let xs = if ex + ea <= 1023 { 0.0 } else { x };
        xs * a
    }
    fn extend_le(v: &[f64], buf: &mut Vec<u8>) {
        buf.reserve(8 * v.len());
        for x in v {
            buf.extend_from_slice(&x.to_le_bytes());
        }
    }
    #[inline(always)]
    fn exp_lanes_with<const W: usize, const FMA: bool>(x: &mut [f64; W]) {
        const LOG2E: f64 = std::f64::consts::LOG2_E;
        const LN2_HI: f64 = 6.931_471_803_691_238e-1;
        const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
        const MAGIC: f64 = 6_755_399_441_055_744.0; // 1.5 · 2^52
        const LO: f64 = -708.39; // ln λ ≈ −708.396
        const HI: f64 = 709.7;
        const INV_FACT: [f64; 14] = [
            1.0,
            1.0,
            0.5,
            1.0 / 6.0,
            1.0 / 24.0,
            1.0 / 120.0,
            1.0 / 720.0,
            1.0 / 5040.0,
            1.0 / 40320.0,
            1.0 / 362_880.0,
            1.0 / 3_628_800.0,
            1.0 / 39_916_800.0,
            1.0 / 479_001_600.0,
            1.0 / 6_227_020_800.0,
        ];
        for v in x.iter_mut() {
            let xv = v.clamp(LO, HI);
            let t = madd::<f64, FMA>(xv, LOG2E, MAGIC);
            let kf = t - MAGIC;
            let r = madd::<f64, FMA>(-kf, LN2_LO, madd::<f64, FMA>(-kf, LN2_HI, xv));
            let mut p = INV_FACT[13];
            for &f in INV_FACT[..13].iter().rev() {
                p = madd::<f64, FMA>(p, r, f);
            }
            let k = t.to_bits().wrapping_sub(MAGIC.to_bits());
            let scale = f64::from_bits(k.wrapping_add(1023) << 52);
            let y = p * scale;
            *v = if *v < LO { 0.0 } else { y };
        }
    }
}

/// `$a b + c$`: fused (one rounding) when `FMA`, else two roundings.
#[inline(always)]
pub(crate) fn madd<T: FastFloat, const FMA: bool>(a: T, b: T, c: T) -> T {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// `$e^x$` of one value by [`FastFloat::exp_lanes_with`] (for tests and scalar tails).
pub fn fast_exp<T: FastFloat, const FMA: bool>(x: T) -> T {
    let mut v = [x];
    T::exp_lanes_with::<1, FMA>(&mut v);
    v[0]
}

/// Which instruction set the SIMD kernels run with on this machine (`"avx512"`,
/// `"avx2+fma"` or `"portable"`), detected once at run time.
pub fn simd_level() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        use std::sync::OnceLock;
        static LEVEL: OnceLock<&'static str> = OnceLock::new();
        LEVEL.get_or_init(|| {
            if std::arch::is_x86_feature_detected!("avx512f") {
                "avx512"
            } else if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                "avx2+fma"
            } else {
                "portable"
            }
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        "portable"
    }
}

/// `$e^x$` in place for every entry, by [`FastFloat::exp_lanes_with`] in SIMD lanes
/// (AVX-512 or AVX2+FMA where available). Relative error at most `$4u$`.
pub fn exp_in_place<T: FastFloat>(xs: &mut [T]) {
    #[cfg(target_arch = "x86_64")]
    {
        let wide = std::mem::size_of::<T>() == 4;
        match simd_level() {
            // SAFETY: the CPU has the features these functions are compiled with.
            "avx512" if wide => return unsafe { exp_avx512::<T, 16>(xs) },
            // SAFETY: as above.
            "avx512" => return unsafe { exp_avx512::<T, 8>(xs) },
            // SAFETY: as above.
            "avx2+fma" if wide => return unsafe { exp_avx2::<T, 8>(xs) },
            // SAFETY: as above.
            "avx2+fma" => return unsafe { exp_avx2::<T, 4>(xs) },
            _ => {}
        }
    }
    exp_chunks::<T, 4, false>(xs)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
fn exp_avx512<T: FastFloat, const W: usize>(xs: &mut [T]) {
    exp_chunks::<T, W, true>(xs)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn exp_avx2<T: FastFloat, const W: usize>(xs: &mut [T]) {
    exp_chunks::<T, W, true>(xs)
}

#[inline(always)]
fn exp_chunks<T: FastFloat, const W: usize, const FMA: bool>(xs: &mut [T]) {
    let mut it = xs.chunks_exact_mut(W);
    for c in &mut it {
        let v: &mut [T; W] = c.try_into().expect("W lanes");
        T::exp_lanes_with::<W, FMA>(v);
    }
    for x in it.into_remainder() {
        let mut v = [*x];
        T::exp_lanes_with::<1, FMA>(&mut v);
        *x = v[0];
    }
}

/// Discretise with the vectorised exponential: `$\bar A_t = e^{\Delta_t A}$` by
/// [`exp_in_place`] (within `$4u$` of the true exponential of `$\mathrm{fl}(\Delta_t A_n)$`),
/// `$\bar B_t = \Delta_t B_t$` (Euler), `$C_t$` unchanged. The kernels then satisfy (F1)
/// against the exact path of *this* channel; against the exact path of
/// [`MambaChannel::discretize`] (libm's `exp`, within `$2u$`) each `$\bar A$` differs by at
/// most `$6u$` relative, which adds `$6(i-j)$` to the `$\gamma$` index:
/// `$\gamma_{7(i-j)+N+1}M_{ij} + \eta$` ([`entry_bound_with`] with `per_step = 6`).
///
/// # Errors
/// As [`MambaChannel::discretize`], including [`Error::NonPositiveDelta`] for the first
/// step with `$\Delta_t \le 0$`.
pub fn discretize<T: FastFloat>(m: &MambaChannel<T>) -> Result<Channel<T>> {
    let (l, n) = (m.delta.len(), m.a.len());
    for (name, v) in [("delta", &m.delta), ("A", &m.a)] {
        if let Some(p) = v.iter().position(|x| !x.is_finite()) {
            return Err(Error::NonFinite {
                tensor: name.into(),
                index: vec![p],
                value: Field::to_f64(&v[p]),
            });
        }
    }
    if let Some(step) = m.delta.iter().position(|&d| d <= T::zero()) {
        return Err(Error::NonPositiveDelta {
            channel: None,
            step,
            value: Field::to_f64(&m.delta[step]),
        });
    }
    for (name, v) in [("B", &m.b), ("C", &m.c)] {
        check_out(name, &[l, n], v.len())?;
    }
    let mut abar = Vec::with_capacity(l * n);
    let mut bbar = Vec::with_capacity(l * n);
    for (t, &dt) in m.delta.iter().enumerate() {
        abar.extend(m.a.iter().map(|&a| dt * a));
        bbar.extend(m.b[t * n..(t + 1) * n].iter().map(|&b| dt * b));
    }
    exp_in_place(&mut abar);
    Channel::new(l, n, abar, bbar, m.c.clone())
}

/// Whether every entry is finite: a branch-free fold over blocks (it vectorises), for the
/// validation of large inputs and outputs; the index of a bad entry is then found by a
/// plain search.
pub(crate) fn all_finite<T: FastFloat>(v: &[T]) -> bool {
    v.chunks(256)
        .all(|c| c.iter().fold(true, |ok, x| ok & x.is_finite()))
}

/// Reject a zero chunk size with [`Error::InvalidArgument`].
pub(crate) fn check_chunk(chunk: usize) -> Result<()> {
    if chunk == 0 {
        return Err(Error::InvalidArgument {
            name: "chunk".into(),
            reason: "chunk size must be at least 1".into(),
        });
    }
    Ok(())
}

/// Reject a caller buffer of the wrong size with [`Error::DataLength`].
pub(crate) fn check_out(name: &str, shape: &[usize], found: usize) -> Result<()> {
    let expected = shape.iter().product();
    if found != expected {
        return Err(Error::DataLength {
            tensor: name.into(),
            shape: shape.to_vec(),
            expected,
            found,
        });
    }
    Ok(())
}

/// The underflow term `$\eta = 2(L+N+2)\,N\,\lambda\,\max(1,\max|C|)\max(1,\max|\bar B|)\,\hat P$` of
/// (F1)/(F2), with `$\hat P = \max_n \prod_k \max(1, |\bar A_{k,n}|)$` (1 for every Mamba channel),
/// evaluated in `f64` and rounded up.
fn eta<T: Field, S: Field>(ch: &Channel<S>) -> f64 {
    let (l, n) = (ch.len(), ch.state());
    let mut p_hat: f64 = 1.0;
    for k in 0..n {
        let p = (0..l).fold(1.0f64, |p, t| p * ch.abar(t)[k].to_f64().abs().max(1.0));
        p_hat = p_hat.max(p);
    }
    // the product of at most L factors ≥ 1, each rounded: inflate by (1 + 2u)^L
    let p_hat = p_hat * (1.0 + 2.0 * gamma(l, f64::EPSILON / 2.0));
    2.0 * (l + n + 2) as f64
        * n as f64
        * T::min_normal()
        * max_abs(ch.c_all()).max(1.0)
        * max_abs(ch.bbar_all()).max(1.0)
        * p_hat
}

fn max_abs<T: Field>(v: &[T]) -> f64 {
    v.iter().map(|x| x.to_f64().abs()).fold(0.0, f64::max)
}

/// Relative inflation of every bound evaluated in `f64`. Each bound has an absolute term
/// at least `$\lambda$` of its float type (`$\ge 2^{-1022}$`), over `$2^{50}$` times the absolute
/// error the `f64` evaluation can make in the subnormal range, so a relative inflation
/// covers the evaluation's own rounding: no absolute slack is added.
const SLACK_REL: f64 = 1e-6;

/// Bound (F1) for every entry of `$\tilde\alpha$` computed in the float type `T` (row-major
/// `L × L`, 0 above the diagonal): `$\gamma_{i-j+N+1} M_{ij} + \eta$`, with `$M$` computed from
/// the exact channel `exact` (the float channel lifted by [`Channel::to_exact`]). Proven for
/// the row-by-row loop [`crate::ssm::attention_matrix()`] (module docs): Coq:
/// `hidden_attention_within_fast_entry_bound`.
pub fn entry_bound<T: Field>(exact: &Channel<Exact>) -> Vec<f64> {
    entry_bound_with::<T>(exact, 0)
}

/// Bound (F1) with `per_step` extra units of roundoff per step factor:
/// `$\gamma_{(1+\text{per\_step})(i-j)+N+1} M_{ij} + \eta$` — for a channel whose `$\bar A$` each
/// differ from `exact`'s by at most `per_step`·`$u$` relative (e.g. 6 for [`discretize`]
/// against [`MambaChannel::discretize`]).
pub fn entry_bound_with<T: Field>(exact: &Channel<Exact>, per_step: usize) -> Vec<f64> {
    let (l, n) = (exact.len(), exact.state());
    let abs = exact.map(|v| v.abs_val());
    let m = crate::ssm::attention_matrix(&abs).expect("exact hidden attention cannot fail");
    let e = eta::<T, Exact>(exact);
    let mut out = vec![0.0; l * l];
    for i in 0..l {
        for j in 0..=i {
            let g = gamma((1 + per_step) * (i - j) + n + 1, T::unit_roundoff());
            out[i * l + j] = (g * m.get(i, j).to_f64() + e) * (1.0 + SLACK_REL);
        }
    }
    out
}

/// Bound (F1) evaluated entirely in `f64` from a float channel: `$M_{ij}$` by the running
/// product in `f64` (relative error at most `$\gamma_{L+N+1}$` for `$|\bar A| \le 1$`, which the
/// bound absorbs by using `$\gamma_{i-j+N+1}(1+2\gamma_{L+N+1})$`). For long sequences where the
/// exact path is too slow; `O(L²N)`.
pub fn entry_bound_f64<T: Field>(ch: &Channel<T>) -> Vec<f64> {
    let (l, n) = (ch.len(), ch.state());
    let abs = ch.map(|v| v.to_f64().abs());
    let m = crate::ssm::attention_matrix(&abs).expect("|Ā| products of finite values");
    let e = eta::<T, T>(ch);
    let inflate = 1.0 + 2.0 * gamma(l + n + 1, f64::EPSILON / 2.0);
    let mut out = vec![0.0; l * l];
    for i in 0..l {
        for j in 0..=i {
            let g = gamma(i - j + n + 1, T::unit_roundoff());
            out[i * l + j] = (g * m.get(i, j) * inflate + e) * (1.0 + SLACK_REL);
        }
    }
    out
}

/// Bound (F2) for [`chunked::mamba_hidden_attention_into`] with chunk size `chunk`, for every
/// entry (row-major `L × L`), evaluated in `f64` from the Mamba parameters `m` (in the float
/// type `T` of the computation) and the discretised channel `ch = m.discretize(Euler)`.
pub fn mamba_entry_bound<T: Real>(m: &MambaChannel<T>, ch: &Channel<T>, chunk: usize) -> Vec<f64> {
    let (l, n) = (ch.len(), ch.state());
    let u = T::unit_roundoff();
    let g_sum = gamma(chunk + 2, u);
    let e = eta::<T, T>(ch);
    let a: Vec<f64> = m.a.iter().map(Field::to_f64).collect();
    let mut out = vec![0.0; l * l];
    let mut x = vec![0.0f64; n];
    for i in 0..l {
        x.iter_mut().for_each(|v| *v = 0.0);
        for j in (0..=i).rev() {
            let same_chunk = i / chunk == j / chunk;
            let gm = if same_chunk {
                gamma(i - j + n + 1, u)
            } else {
                gamma(5 * (i - j) + n + 8, u)
            };
            let mut s = 0.0;
            for k in 0..n {
                let cb = (Field::to_f64(&ch.c(i)[k]) * Field::to_f64(&ch.bbar(j)[k])).abs();
                let grow = if same_chunk {
                    // (F1) with |Ā| products of the exact channel, ≤ e^{-X} e^{uX}
                    gm * (u * x[k]).exp() * (1.0 + gamma(2 * (i - j), u))
                } else {
                    (1.0 + gm).powi(2) * (2.0 * g_sum * x[k]).exp() - 1.0
                };
                s += cb * (-x[k]).exp() * grow;
            }
            out[i * l + j] = (s + e) * (1.0 + SLACK_REL);
            let dt = Field::to_f64(&m.delta[j]);
            for k in 0..n {
                x[k] += (dt * a[k]).abs();
            }
        }
    }
    out
}

/// Bound (F3) for [`scan::scan_into`] on one channel: `$\gamma_{9L+N+4}\,\mathrm{mag}_t +
/// \eta^{s}_t$` per output (module docs), from the Mamba parameters `m` of the channel (the
/// kernel multiplies `$\mathrm{fl}(\Delta_t u_t)$` by `$B_t$`), its exact discretisation `exact`
/// ([`MambaChannel::discretize`]`(Euler)` lifted by [`Channel::to_exact`]) and the exact
/// input `x`.
pub fn scan_bound<T: Field>(m: &MambaChannel<T>, exact: &Channel<Exact>, x: &[Exact]) -> Vec<f64> {
    let (l, n) = (exact.len(), exact.state());
    let mag = crate::theorems::bound::magnitude(exact, x);
    let g = gamma(9 * l + n + 4, T::unit_roundoff());
    // H_{t-1,k}: the state of the entrywise-absolute channel on |x| before step t
    let mut h = vec![0.0f64; n];
    let mut p_hat = vec![1.0f64; n];
    let mut inner = vec![0.0f64; n];
    let grow = 1.0 + 2.0 * gamma(2 * l + 2, f64::EPSILON / 2.0);
    let mut out = Vec::with_capacity(l);
    for (t, mt) in mag.iter().enumerate() {
        let xt = x[t].to_f64().abs();
        let mut eta = n as f64;
        for k in 0..n {
            let a = exact.abar(t)[k].to_f64().abs();
            p_hat[k] *= a.max(1.0);
            inner[k] += m.b[t * n + k].to_f64().abs().max(1.0) + 3.0 + 2.0 * h[k];
            h[k] = a * h[k] + exact.bbar(t)[k].to_f64().abs() * xt;
            eta += exact.c(t)[k].to_f64().abs().max(1.0) * p_hat[k] * inner[k];
        }
        let eta_s = 2.0 * T::min_normal() * eta * grow;
        out.push((g * mt.to_f64() + eta_s) * (1.0 + SLACK_REL));
    }
    out
}

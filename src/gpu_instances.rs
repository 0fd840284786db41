//! The random instances of the GPU theorem check, regenerated on the CPU.
//!
//! The GPU theorem check (`hattn gpu check`, module `gpu` behind the `cuda` feature)
//! generates its channels *on the device* from a seed with a counter-based generator, so
//! that millions of instances never cross the bus. This module is the same generator in
//! Rust — always compiled, no CUDA needed — so the CPU can regenerate instance `i` of seed
//! `s` bit for bit and re-check it on the exact and `f64` paths ([`crate::theorems`]).
//!
//! ## The generator
//! A SplitMix64 finaliser [`mix64`] keyed per instance ([`instance_key`]) and evaluated
//! at a counter ([`draw`]): `draw(key, stream, index)` is a pure function, so every entry
//! of every instance is computed independently, in any order, on any thread.
//!
//! Every value is built with integer operations and converted to `f32` *exactly*, so no
//! rounding, no transcendental function and no compiler flag can make the device and the
//! CPU disagree:
//!
//! - signed values (`$\bar B$`, `$C$`, `$x$`): a 24-bit integer `$m$`, `$(m - 2^{23})\,2^{-22}
//!   \in [-2, 2)$` ([`signed_value`]);
//! - transitions: per state `$n$` a decay exponent `$k_n \in [0, 24]$`, and per step a 24-bit
//!   integer `$m$`, `$d = \max(1, m \gg k_n)$`, `$\bar A = (2^{24} - d)\,2^{-24} \in [2^{-24}, 1)$`
//!   ([`transition_value`]). Large `$k_n$` gives slowly decaying states (`$1 - \bar A \approx
//!   2^{-k_n - 1}$`, the `$\bar A = e^{\Delta A}$` near 1 of trained Mamba layers), small
//!   `$k_n$` fast ones, so the factored form (T2b) is sometimes in range and sometimes
//!   refused, as on real layers.
//!
//! The CUDA text of the same generator is [`CUDA_SOURCE`]
//! (`src/gpu/kernels/instances.cu`); a test checks that its constants are these.
//!
//! ## The per-instance error measure
//! [`instance_errors`] is what the device kernel computes for each instance, here on the
//! CPU: the `f32` scan, `$\tilde\alpha x$` and factored outputs against an `f64` reference
//! scan, each as the largest ratio `$|\mathrm{fl}(y_i) - y_i| / \beta_i$` to the forward
//! error bound `$\beta_i$` of [`crate::theorems::bound`] (plus the `f64` reference's own
//! bound), and the largest error relative to the magnitude scale. A ratio above 1 is a
//! failure.

use serde::Serialize;

use crate::scalar::Field;
use crate::ssm::{attention_matrix, factored, scan, Channel};
use crate::theorems::bound::gamma;
use crate::theorems::{t1, t2, CaseResult};

/// The CUDA source of the generator (kept in step with this module by a test).
pub const CUDA_SOURCE: &str = include_str!("gpu/kernels/instances.cu");

/// `$\lfloor 2^{64}/\varphi \rfloor$`, the SplitMix64 increment.
pub const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;
/// First multiplier of the SplitMix64 finaliser.
pub const MIX1: u64 = 0xBF58_476D_1CE4_E5B9;
/// Second multiplier of the SplitMix64 finaliser.
pub const MIX2: u64 = 0x94D0_49BB_1331_11EB;

/// Stream of the per-state decay exponents `$k_n$` (index `$n$`).
pub const STREAM_DECAY: u32 = 0;
/// Stream of `$\bar A$` (index `$tN + n$`).
pub const STREAM_ABAR: u32 = 1;
/// Stream of `$\bar B$` (index `$tN + n$`).
pub const STREAM_BBAR: u32 = 2;
/// Stream of `$C$` (index `$tN + n$`).
pub const STREAM_C: u32 = 3;
/// Stream of the input `$x$` (index `$t$`).
pub const STREAM_X: u32 = 4;

/// Largest decay exponent `$k_n$` (inclusive).
pub const MAX_DECAY: u64 = 24;

/// The SplitMix64 finaliser, a bijection of `u64` with good avalanche.
#[inline]
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(MIX1);
    z = (z ^ (z >> 27)).wrapping_mul(MIX2);
    z ^ (z >> 31)
}

/// The key of instance `instance` under `seed`.
#[inline]
pub fn instance_key(seed: u64, instance: u64) -> u64 {
    mix64(seed ^ mix64(instance.wrapping_add(GOLDEN)))
}

/// The 64 random bits of entry `index` of stream `stream` of the instance with key `key`.
#[inline]
pub fn draw(key: u64, stream: u32, index: u32) -> u64 {
    let counter = (u64::from(stream) << 32) | u64::from(index);
    mix64(key.wrapping_add(counter.wrapping_mul(GOLDEN)))
}

/// A value in `$[-2, 2)$` on the grid `$2^{-22}\mathbb Z$` from the top 24 bits of `bits`
/// (exact in `f32`).
#[inline]
pub fn signed_value(bits: u64) -> f32 {
    let m = (bits >> 40) as i64 - (1 << 23);
    m as f32 * (1.0 / 4_194_304.0)
}

/// The decay exponent `$k \in [0, 24]$` of a state from its draw.
#[inline]
pub fn decay_exponent(bits: u64) -> u32 {
    ((bits >> 32) % (MAX_DECAY + 1)) as u32
}

/// A transition `$\bar A = (2^{24} - \max(1, m \gg k))\,2^{-24} \in [2^{-24}, 1)$` from the
/// top 24 bits `$m$` of `bits` and the decay exponent `k` (exact in `f32`).
#[inline]
pub fn transition_value(bits: u64, k: u32) -> f32 {
    let d = ((bits >> 40) >> k).max(1);
    ((1u64 << 24) - d) as f32 * (1.0 / 16_777_216.0)
}

/// Instance `instance` of seed `seed`: a channel with `$L$` = `len`, `$N$` = `state` and
/// its input, exactly as the device generates it.
///
/// # Panics
/// If `len * state` does not fit the 32-bit counter (`len * state >= 2^32`) or `state == 0`.
///
/// # Examples
/// ```
/// use hidden_attention::gpu_instances::instance;
/// let (ch, x) = instance(7, 123, 16, 4);
/// assert_eq!((ch.len(), ch.state(), x.len()), (16, 4, 16));
/// assert_eq!(instance(7, 123, 16, 4).1, x); // a pure function of (seed, index)
/// ```
pub fn instance(seed: u64, instance: u64, len: usize, state: usize) -> (Channel<f32>, Vec<f32>) {
    let cells = len.checked_mul(state).expect("L·N overflows");
    assert!(cells < (1usize << 32), "L·N must be below 2^32");
    let key = instance_key(seed, instance);
    let k: Vec<u32> = (0..state as u32)
        .map(|n| decay_exponent(draw(key, STREAM_DECAY, n)))
        .collect();
    let mut abar = Vec::with_capacity(cells);
    let mut bbar = Vec::with_capacity(cells);
    let mut c = Vec::with_capacity(cells);
    for idx in 0..cells as u32 {
        abar.push(transition_value(
            draw(key, STREAM_ABAR, idx),
            k[idx as usize % state],
        ));
        bbar.push(signed_value(draw(key, STREAM_BBAR, idx)));
        c.push(signed_value(draw(key, STREAM_C, idx)));
    }
    let x = (0..len as u32)
        .map(|t| signed_value(draw(key, STREAM_X, t)))
        .collect();
    let ch =
        Channel::new(len, state, abar, bbar, c).expect("generated values are finite and sized");
    (ch, x)
}

/// Per-instance result of the theorem-check kernel (and of [`instance_errors`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct InstanceErrors {
    /// Largest error-to-bound ratio of the `f32` scan (T1, left side).
    pub scan: f64,
    /// Largest error-to-bound ratio of the `f32` `$\tilde\alpha x$` (T1, right side).
    pub attention: f64,
    /// Largest error-to-bound ratio of the `f32` factored output (T2b); `None` when the
    /// factored form was refused because a factor left the normal range.
    pub factored: Option<f64>,
    /// Largest error of any view relative to the magnitude scale `$\max_i m_i$`.
    pub relative: f64,
}

impl InstanceErrors {
    /// Decode the four floats the kernel writes per instance (`factored < 0` = refused).
    pub fn from_raw(raw: [f32; 4]) -> Self {
        Self {
            scan: f64::from(raw[0]),
            attention: f64::from(raw[1]),
            factored: (raw[2] >= 0.0).then_some(f64::from(raw[2])),
            relative: f64::from(raw[3]),
        }
    }

    /// The largest ratio over the views (a failure when above 1; NaN counts as a failure).
    pub fn worst_ratio(&self) -> f64 {
        let r = self
            .scan
            .max(self.attention)
            .max(self.factored.unwrap_or(0.0));
        if self.scan.is_nan() || self.attention.is_nan() || self.factored.is_some_and(f64::is_nan) {
            f64::INFINITY
        } else {
            r
        }
    }

    /// Whether every view is within its bound.
    pub fn passed(&self) -> bool {
        self.worst_ratio() <= 1.0
    }
}

/// Reference of one instance for the error measure: the `f64` scan `$y$`, the magnitude
/// `$m$` (the `f64` scan of the absolute channel on `$|x|$`) and the bound `$\beta_i$`.
#[derive(Debug, Clone)]
pub struct InstanceReference {
    /// The `f64` scan output.
    pub y: Vec<f64>,
    /// The per-output bound `$\beta_i$` for `f32` views, plus the `f64` reference's own bound.
    pub bound: Vec<f64>,
    /// `$\max(\max_i m_i, $` `f64::MIN_POSITIVE``$)$`.
    pub scale: f64,
}

/// The reference and bounds the device kernel computes for an instance:
/// `$\beta_i = \gamma_m(u_{32})\,m_i + \eta + 2\gamma_m(u_{64})\,m_i$` with `$m = 3L + N + 4$`
/// and the underflow term `$\eta = 2(L+2)\,L N\,\eta_0\max(1,\max|C|)\max(1,\max|\bar B|)
/// \max(1,\max|x|)$` (`$\eta_0$` the smallest `f32` subnormal), which dominates
/// `$(1+\gamma_m)\,\eta_0 W_t$` of [`crate::theorems::bound`] when every `$|\bar A| \le 1$` (as in
/// every instance) and also covers the `f64` reference's own underflow.
pub fn reference(ch: &Channel<f32>, x: &[f32]) -> InstanceReference {
    let (l, n) = (ch.len(), ch.state());
    let m = 3 * l + n + 4;
    let g32 = gamma(m, f32::unit_roundoff());
    let g64 = gamma(m, f64::unit_roundoff());
    let max_abs = |v: &[f32]| v.iter().map(|e| f64::from(e.abs())).fold(0.0, f64::max);
    let eta = 2.0
        * (l + 2) as f64
        * (l * n) as f64
        * f64::from(f32::from_bits(1))
        * max_abs(ch.c_all()).max(1.0)
        * max_abs(ch.bbar_all()).max(1.0)
        * max_abs(x).max(1.0);
    let mut h = vec![0.0f64; n];
    let mut habs = vec![0.0f64; n];
    let mut y = Vec::with_capacity(l);
    let mut bound = Vec::with_capacity(l);
    let mut scale = f64::MIN_POSITIVE;
    for (t, &xt) in x.iter().enumerate() {
        let (a, b, c) = (ch.abar(t), ch.bbar(t), ch.c(t));
        let (mut yt, mut mt) = (0.0f64, 0.0f64);
        for s in 0..n {
            h[s] = h[s] * f64::from(a[s]) + f64::from(b[s]) * f64::from(xt);
            habs[s] = habs[s] * f64::from(a[s].abs()) + f64::from(b[s].abs()) * f64::from(xt.abs());
            yt += f64::from(c[s]) * h[s];
            mt += f64::from(c[s].abs()) * habs[s];
        }
        y.push(yt);
        bound.push((g32 + 2.0 * g64) * mt + eta);
        scale = scale.max(mt);
    }
    InstanceReference { y, bound, scale }
}

/// Largest error-to-bound ratio and largest scaled error of `got` (`f32` outputs).
/// A zero error has ratio 0 even where the bound is 0; a non-finite output has ratio ∞.
pub fn ratios(r: &InstanceReference, got: &[f32]) -> (f64, f64) {
    let (mut ratio, mut rel) = (0.0f64, 0.0f64);
    for (i, &g) in got.iter().enumerate() {
        let err = if g.is_finite() {
            (f64::from(g) - r.y[i]).abs()
        } else {
            f64::INFINITY
        };
        let q = if err == 0.0 { 0.0 } else { err / r.bound[i] };
        ratio = ratio.max(q);
        rel = rel.max(err / r.scale);
    }
    (ratio, rel)
}

/// The per-instance error measure of the device kernel, computed on the CPU with the
/// crate's `f32` views ([`scan()`], [`attention_matrix()`], [`factored()`]).
pub fn instance_errors(ch: &Channel<f32>, x: &[f32]) -> InstanceErrors {
    let r = reference(ch, x);
    let l = ch.len();
    let nan = vec![f32::NAN; l];
    let y = scan(ch, x).map(|o| o.y).unwrap_or_else(|_| nan.clone());
    let ax = attention_matrix(ch)
        .and_then(|a| a.mul_vec(x))
        .unwrap_or_else(|_| nan.clone());
    let fy = factored(ch)
        .ok()
        .map(|f| f.output(x).unwrap_or_else(|_| nan.clone()));
    let (s, rs) = ratios(&r, &y);
    let (a, ra) = ratios(&r, &ax);
    let (f, rf) = match fy {
        Some(fy) => {
            let (f, rf) = ratios(&r, &fy);
            (Some(f), rf)
        }
        None => (None, 0.0),
    };
    InstanceErrors {
        scan: s,
        attention: a,
        factored: f,
        relative: rs.max(ra).max(rf),
    }
}

/// Bucket of the per-instance error histogram for a worst ratio `r`: bucket 0 holds
/// `$r = 0$`, bucket `$b \ge 1$` holds `$2^{b - 1 - 40} \le r < 2^{b - 40}$` (clamped to
/// `1..HISTOGRAM_BUCKETS - 1`); ratios `$\ge 1$` (failures) land in buckets `$\ge 41$`.
pub fn histogram_bucket(r: f64) -> usize {
    if r <= 0.0 {
        return 0;
    }
    if !r.is_finite() {
        return HISTOGRAM_BUCKETS - 1;
    }
    // floor(log2 r) from the exponent bits, as `ilogb` on the device (subnormals clamp low).
    let e = ((r.to_bits() >> 52) & 0x7ff) as i64 - 1023 + 41;
    e.clamp(1, HISTOGRAM_BUCKETS as i64 - 1) as usize
}

/// The 64-bit key under which the device reduces "the worst instance" with one
/// `atomicMax`: the `f32` bits of the (non-negative) value above, `$2^{32} - 1 - i$` below,
/// so that the largest value wins and, among equal values, the **lowest** index `$i$` —
/// the instance the host's in-order scan keeps (strict `>`).
pub fn worst_key(value: f32, index: u32) -> u64 {
    (u64::from(value.to_bits()) << 32) | u64::from(u32::MAX - index)
}

/// The value and index of a [`worst_key`].
pub fn worst_from_key(key: u64) -> (f32, u32) {
    (f32::from_bits((key >> 32) as u32), u32::MAX - (key as u32))
}

/// Number of buckets of the error histogram (the device kernel uses the same).
pub const HISTOGRAM_BUCKETS: usize = 48;

/// Lower edge `$2^{b-41}$` of histogram bucket `b` (0 for bucket 0).
pub fn bucket_lower_edge(b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        2f64.powi(b as i32 - 41)
    }
}

/// The CPU re-check of one instance: the kernel's error measure recomputed with the
/// crate's `f32` views ([`instance_errors`]), and the theorem checkers T1 and T2 on the
/// exact path for the `f32` and the `f64` tier ([`t1::check_float`], [`t2::check_float`]).
#[derive(Debug, Clone, Serialize)]
pub struct Recheck {
    /// Instance index.
    pub index: u64,
    /// What the GPU reported for the instance, when known.
    pub gpu: Option<InstanceErrors>,
    /// The same measure on the CPU.
    pub cpu: InstanceErrors,
    /// Largest error of the `f32` views against the exact output, relative to the
    /// magnitude scale (T1 and T2 checkers; `None` when a checker failed).
    pub exact_f32: Option<f64>,
    /// The same for the `f64` views.
    pub exact_f64: Option<f64>,
    /// The first counterexample of the exact checks, as a report.
    pub counterexample: Option<String>,
}

impl Recheck {
    /// Whether the exact checks (`f32` and `f64`), the CPU measure and the GPU's report
    /// all pass.
    pub fn passed(&self) -> bool {
        self.counterexample.is_none() && self.cpu.passed() && self.gpu.map_or(true, |g| g.passed())
    }
}

/// Largest error of a list of checker results, or the first counterexample.
fn worst_of(results: [CaseResult; 2]) -> Result<f64, String> {
    let mut worst = 0.0f64;
    for r in results {
        match r {
            Ok(e) => worst = worst.max(e.unwrap_or(0.0)),
            Err(c) => return Err(c.to_string()),
        }
    }
    Ok(worst)
}

/// Regenerate instance `index` of `seed` and re-check it on the CPU (`gpu`: what the
/// device reported for it, kept in the result for comparison).
///
/// Cost: the exact scans of the checkers, `$O(LN)$` big-rational operations on numbers of
/// up to about `$24L$` bits, plus the `f32`/`f64` `$\tilde\alpha$` in `$O(L^2N)$`.
pub fn recheck(
    seed: u64,
    index: u64,
    len: usize,
    state: usize,
    gpu: Option<InstanceErrors>,
) -> Recheck {
    let (ch, x) = instance(seed, index, len, state);
    let cpu = instance_errors(&ch, &x);
    let ch64 = ch.map(|v| f64::from(*v));
    let x64: Vec<f64> = x.iter().map(|v| f64::from(*v)).collect();
    let e32 = worst_of([t1::check_float(&ch, &x), t2::check_float(&ch, &x)]);
    let e64 = worst_of([t1::check_float(&ch64, &x64), t2::check_float(&ch64, &x64)]);
    let counterexample = e32.as_ref().err().or(e64.as_ref().err()).cloned();
    Recheck {
        index,
        gpu,
        cpu,
        exact_f32: e32.ok(),
        exact_f64: e64.ok(),
        counterexample,
    }
}

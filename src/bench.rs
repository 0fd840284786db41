//! In-process timing for `hattn bench`: every figure is the median of repeated runs,
//! and every goal is a ratio against a baseline timed in the same run.

use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;

use crate::baseline::{authors_cubic, plain_log_space};
use crate::fast::{self, FastFloat, LayerParams, ScanParams, Selection, DEFAULT_CHUNK};
use crate::scalar::Real;
use crate::ssm::{attention_matrix, BRule, MambaChannel};

/// Median wall time in seconds of `f`, run until `min_total` seconds or `max_reps` runs
/// (at least 3).
pub fn median_seconds<R>(mut f: impl FnMut() -> R, min_total: f64, max_reps: usize) -> f64 {
    let mut times = Vec::new();
    let start = Instant::now();
    while times.len() < 3 || (start.elapsed().as_secs_f64() < min_total && times.len() < max_reps) {
        let t = Instant::now();
        std::hint::black_box(f());
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// One row of the hidden-attention benchmark.
#[derive(Debug, Clone, Serialize)]
pub struct HiddenAttentionRow {
    /// Sequence length `$L$`.
    pub len: usize,
    /// State size `$N$`.
    pub state: usize,
    /// [`attention_matrix()`] (discretisation included), seconds.
    pub ours_s: f64,
    /// [`plain_log_space`], seconds.
    pub plain_s: f64,
    /// [`authors_cubic`], seconds (`None` when skipped for size).
    pub authors_s: Option<f64>,
    /// `plain_s / ours_s`.
    pub ratio_vs_plain: f64,
    /// `authors_s / ours_s`.
    pub ratio_vs_authors: Option<f64>,
}

/// A deterministic Mamba-like channel (f64) of length `len` and state `state`.
pub fn bench_channel(len: usize, state: usize) -> MambaChannel<f64> {
    let f = |i: usize, s: f64| ((i as f64 * 0.618_033_988 + s).fract() - 0.5) * 2.0;
    MambaChannel {
        delta: (0..len).map(|t| (f(t, 0.1) * 3.0).exp().ln_1p()).collect(),
        a: (0..state).map(|s| -(1.0 + s as f64)).collect(),
        b: (0..len * state).map(|i| f(i, 0.3)).collect(),
        c: (0..len * state).map(|i| f(i, 0.7)).collect(),
    }
}

/// Time α̃ of one channel against the plain and the authors' loops at each length.
/// The authors' `$O(L^3)$` loop is skipped above `authors_max_len`.
pub fn hidden_attention_rows(
    lens: &[usize],
    state: usize,
    authors_max_len: usize,
) -> Vec<HiddenAttentionRow> {
    lens.iter()
        .map(|&len| {
            let m = bench_channel(len, state);
            let ours_s = median_seconds(
                || attention_matrix(&m.discretize(BRule::Euler).expect("finite")).expect("finite"),
                0.3,
                200,
            );
            let plain_s = median_seconds(|| plain_log_space(&m.delta, &m.a, &m.b, &m.c), 0.3, 50);
            let authors_s = (len <= authors_max_len)
                .then(|| median_seconds(|| authors_cubic(&m.delta, &m.a, &m.b, &m.c), 0.5, 5));
            HiddenAttentionRow {
                len,
                state,
                ours_s,
                plain_s,
                authors_s,
                ratio_vs_plain: plain_s / ours_s,
                ratio_vs_authors: authors_s.map(|a| a / ours_s),
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Issue 7: the fast kernels against the plain loops, faer's GEMM and the memory floor.

/// Time to write `buf.len()` floats into an already-touched buffer: the faster of one
/// thread (`fill`, i.e. `memset`-like) and all threads (rayon, one slab each). This is
/// the memory floor of any kernel that writes its output there.
pub fn write_floor_seconds<T: FastFloat>(buf: &mut [T], min_total: f64, max_reps: usize) -> f64 {
    let mut v = T::zero();
    let serial = median_seconds(
        || {
            v += T::one();
            buf.fill(std::hint::black_box(v));
        },
        min_total,
        max_reps,
    );
    let threads = rayon::current_num_threads().max(1);
    let slab = buf.len().div_ceil(threads).max(1);
    let parallel = median_seconds(
        || {
            v += T::one();
            let x = std::hint::black_box(v);
            buf.par_chunks_mut(slab).for_each(|s| s.fill(x));
        },
        min_total,
        max_reps,
    );
    serial.min(parallel)
}

/// One size of the `hidden_attention` section of `hattn bench`.
#[derive(Debug, Clone, Serialize)]
pub struct FastAlphaRow {
    /// Float type.
    pub dtype: &'static str,
    /// Sequence length `$L$`.
    pub len: usize,
    /// State size `$N$`.
    pub state: usize,
    /// [`fast::discretize`] + [`fast::hidden_attention_into`] (chunk [`DEFAULT_CHUNK`]) into a
    /// preallocated `L × L` buffer, seconds.
    pub ours_s: f64,
    /// [`plain_log_space`] (the plain `$O(L^2N)$` loop), seconds.
    pub plain_s: f64,
    /// faer's GEMM of an `(L × N)·(N × L)` product into a preallocated `L × L` buffer
    /// (one thread), seconds.
    pub gemm_s: f64,
    /// Writing `$L^2$` floats ([`write_floor_seconds`]), seconds.
    pub write_floor_s: f64,
    /// `plain_s / ours_s`.
    pub ratio_vs_plain: f64,
    /// `ours_s / write_floor_s` (1 = at the memory floor).
    pub ratio_vs_floor: f64,
    /// `ours_s / gemm_s`.
    pub ratio_vs_gemm: f64,
}

fn mamba_as<T: Real>(m: &MambaChannel<f64>) -> MambaChannel<T> {
    let f = |v: &[f64]| v.iter().map(|&x| T::from_f64(x)).collect::<Vec<T>>();
    MambaChannel {
        delta: f(&m.delta),
        a: f(&m.a),
        b: f(&m.b),
        c: f(&m.c),
    }
}

/// Time full α̃ of one channel (ours, plain loop, GEMM, write floor) at each length.
pub fn fast_alpha_rows<T: FastFloat>(lens: &[usize], state: usize) -> Vec<FastAlphaRow> {
    lens.iter()
        .map(|&len| {
            let m = mamba_as::<T>(&bench_channel(len, state));
            let mut out = vec![T::zero(); len * len];
            let ours_s = median_seconds(
                || {
                    let ch = fast::discretize(&m).expect("finite");
                    fast::hidden_attention_into(&ch, DEFAULT_CHUNK, &mut out).expect("sizes match");
                },
                0.5,
                200,
            );
            let plain_s = median_seconds(|| plain_log_space(&m.delta, &m.a, &m.b, &m.c), 0.5, 20);
            let q = faer::mat::from_row_major_slice(&m.c, len, state);
            let k = faer::mat::from_row_major_slice(&m.b, len, state);
            let gemm_s = median_seconds(
                || {
                    let dst = faer::mat::from_row_major_slice_mut(&mut out, len, len);
                    faer::linalg::matmul::matmul(
                        dst,
                        q,
                        k.transpose(),
                        None,
                        T::one(),
                        faer::Parallelism::None,
                    );
                },
                0.5,
                200,
            );
            let write_floor_s = write_floor_seconds(&mut out, 0.3, 500);
            FastAlphaRow {
                dtype: T::NAME,
                len,
                state,
                ours_s,
                plain_s,
                gemm_s,
                write_floor_s,
                ratio_vs_plain: plain_s / ours_s,
                ratio_vs_floor: ours_s / write_floor_s,
                ratio_vs_gemm: ours_s / gemm_s,
            }
        })
        .collect()
}

/// The `layer` section: every channel's full α̃ into one caller buffer.
#[derive(Debug, Clone, Serialize)]
pub struct LayerBench {
    /// Float type.
    pub dtype: &'static str,
    /// Channels `$D$`.
    pub dim: usize,
    /// Sequence length `$L$`.
    pub len: usize,
    /// State size `$N$`.
    pub state: usize,
    /// Bytes written (`$D L^2$` floats).
    pub bytes: usize,
    /// [`fast::layer_into`] (full selection), seconds.
    pub ours_s: f64,
    /// Writing the same `$D L^2$` floats ([`write_floor_seconds`]), seconds.
    pub write_floor_s: f64,
    /// `ours_s / write_floor_s`.
    pub ratio_vs_floor: f64,
    /// Output bandwidth of ours, GB/s.
    pub ours_gb_per_s: f64,
}

/// Deterministic layer parameters `(delta, A, B, C)` in `mamba_ssm`'s layout.
pub fn bench_layer(
    dim: usize,
    len: usize,
    state: usize,
) -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>) {
    let f = |i: usize, s: f64| ((i as f64 * 0.618_033_988 + s).fract() - 0.5) * 2.0;
    let delta = (0..dim * len)
        .map(|t| (f(t, 0.1) * 3.0).exp().ln_1p())
        .collect();
    let a = (0..dim * state)
        .map(|q| -(1.0 + (q % state) as f64) * (0.5 + f(q / state, 0.2).abs()))
        .collect();
    let b = (0..state * len).map(|i| f(i, 0.3)).collect();
    let c = (0..state * len).map(|i| f(i, 0.7)).collect();
    (delta, a, b, c)
}

/// Time the whole-layer extraction against the write floor of its output.
pub fn layer_bench<T: FastFloat>(dim: usize, len: usize, state: usize) -> LayerBench {
    let (delta, a, b, c) = bench_layer(dim, len, state);
    let cv = |v: Vec<f64>| v.into_iter().map(T::from_f64).collect::<Vec<T>>();
    let (delta, a, b, c) = (cv(delta), cv(a), cv(b), cv(c));
    let p = LayerParams {
        dim,
        len,
        state,
        delta: &delta,
        a: &a,
        b: &b,
        c: &c,
    };
    let mut out = vec![T::zero(); dim * len * len];
    out.par_chunks_mut(1 << 20).for_each(|s| s.fill(T::one())); // touch every page first
    let write_floor_s = write_floor_seconds(&mut out, 0.0, 3);
    let ours_s = median_seconds(
        || fast::layer_into(&p, Selection::Full, DEFAULT_CHUNK, &mut out).expect("sizes match"),
        0.0,
        3,
    );
    let bytes = out.len() * std::mem::size_of::<T>();
    LayerBench {
        dtype: T::NAME,
        dim,
        len,
        state,
        bytes,
        ours_s,
        write_floor_s,
        ratio_vs_floor: ours_s / write_floor_s,
        ours_gb_per_s: bytes as f64 / ours_s / 1e9,
    }
}

/// The `scan` section.
#[derive(Debug, Clone, Serialize)]
pub struct ScanBench {
    /// Float type.
    pub dtype: &'static str,
    /// Batch size.
    pub batch: usize,
    /// Channels `$D$`.
    pub dim: usize,
    /// Sequence length `$L$`.
    pub len: usize,
    /// State size `$N$`.
    pub state: usize,
    /// Instruction set of the kernel on this machine.
    pub simd: &'static str,
    /// [`fast::scan_into`], seconds.
    pub ours_s: f64,
    /// [`plain_scan`] (one thread, libm `exp`), seconds.
    pub plain_s: f64,
    /// `plain_s / ours_s`.
    pub ratio_vs_plain: f64,
    /// `$B D L N$` / `ours_s`.
    pub state_updates_per_s: f64,
}

/// The plain scan loop: the recurrence transcribed over `mamba_ssm`'s layout, one
/// thread, libm's `exp` per state update. `y` is `(batch, dim, L)`.
pub fn plain_scan<T: Real>(p: &ScanParams<'_, T>, y: &mut [T]) {
    let (l, n) = (p.len, p.state);
    let mut h = vec![T::zero(); n];
    for bi in 0..p.batch {
        for d in 0..p.dim {
            h.iter_mut().for_each(|x| *x = T::zero());
            let off = (bi * p.dim + d) * l;
            for t in 0..l {
                let dt = p.delta[off + t];
                let mut acc = T::zero();
                for k in 0..n {
                    let bc = (bi * n + k) * l + t;
                    h[k] = (dt * p.a[d * n + k]).exp() * h[k] + dt * p.b[bc] * p.u[off + t];
                    acc = acc + p.c[bc] * h[k];
                }
                y[off + t] = acc;
            }
        }
    }
}

/// Time the fast scan against [`plain_scan`].
pub fn scan_bench<T: FastFloat>(batch: usize, dim: usize, len: usize, state: usize) -> ScanBench {
    let (delta, a, b, c) = bench_layer(dim, len, state);
    let cv = |v: Vec<f64>| v.into_iter().map(T::from_f64).collect::<Vec<T>>();
    let rep = |v: Vec<T>| v.repeat(batch);
    let (delta, a, b, c) = (rep(cv(delta)), cv(a), rep(cv(b)), rep(cv(c)));
    let u: Vec<T> = (0..batch * dim * len)
        .map(|i| T::from_f64(((i as f64 * 0.754_877_666).fract() - 0.5) * 4.0))
        .collect();
    let p = ScanParams {
        batch,
        dim,
        len,
        state,
        u: &u,
        delta: &delta,
        a: &a,
        b: &b,
        c: &c,
    };
    let mut y = vec![T::zero(); batch * dim * len];
    let ours_s = median_seconds(
        || fast::scan_into(&p, &mut y).expect("sizes match"),
        0.5,
        200,
    );
    let plain_s = median_seconds(|| plain_scan(&p, &mut y), 0.0, 3);
    ScanBench {
        dtype: T::NAME,
        batch,
        dim,
        len,
        state,
        simd: fast::scan::simd_level(),
        ours_s,
        plain_s,
        ratio_vs_plain: plain_s / ours_s,
        state_updates_per_s: (batch * dim * len * state) as f64 / ours_s,
    }
}

/// Everything `hattn bench --json` prints.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// Rayon worker threads.
    pub threads: usize,
    /// Full α̃ of one channel (f32 and f64) at `$N = 16$`.
    pub hidden_attention: Vec<FastAlphaRow>,
    /// All channels of a layer at once.
    pub layer: Option<LayerBench>,
    /// The batched scan.
    pub scan: ScanBench,
    /// The generic row-by-row path against the authors' `$O(L^3)$` loop (issue 2).
    pub authors: Vec<HiddenAttentionRow>,
    /// Every head of one Mamba-2 layer at mamba2-130m shapes (f32 and f64).
    pub mamba2: Vec<crate::model::mamba2::bench::Mamba2Bench>,
}

/// The Mamba-2 section's shapes: mamba2-130m's 24 heads, one group, `$N = 128$`, `$L = 1024$`.
pub const MAMBA2_SHAPES: (usize, usize, usize, usize) = (24, 1, 128, 1024);

/// Run every section: `lens` are the α̃ lengths, `authors_lens` those of the comparison with
/// the authors' loop; `layer = (dim, len)` (skipped when `None`).
pub fn bench_report(
    lens: &[usize],
    authors_lens: &[usize],
    state: usize,
    layer: Option<(usize, usize)>,
) -> BenchReport {
    let mut hidden_attention = fast_alpha_rows::<f32>(lens, state);
    hidden_attention.extend(fast_alpha_rows::<f64>(lens, state));
    BenchReport {
        threads: rayon::current_num_threads(),
        hidden_attention,
        layer: layer.map(|(d, l)| layer_bench::<f32>(d, l, state)),
        scan: scan_bench::<f32>(1, 1536, 1024, state),
        authors: hidden_attention_rows(authors_lens, state, 512),
        mamba2: {
            use crate::model::mamba2::bench::mamba2_bench;
            let (h, g, n, l) = MAMBA2_SHAPES;
            vec![
                mamba2_bench::<f32>(h, g, n, l),
                mamba2_bench::<f64>(h, g, n, l),
            ]
        },
    }
}

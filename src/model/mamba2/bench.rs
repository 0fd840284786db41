//! The Mamba-2 section of `hattn bench`: per-layer extraction of every head's hidden
//! attention at mamba2-130m shapes (24 heads of dimension 64, one group, `$N = 128$`,
//! `$L = 1024$`, random values) — [`head_attention_into`] against the plain loop and the
//! memory write floor of its output, all timed in the same run.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;

use crate::bench::{median_seconds, write_floor_seconds};
use crate::fast::FastFloat;
use crate::model::mamba2::attention::{head_attention_into, step_sizes};
use crate::model::mamba2::mixer::{Mamba2Dims, Mamba2Mixer, Mamba2Trace};

/// One dtype of the Mamba-2 section.
#[derive(Debug, Clone, Serialize)]
pub struct Mamba2Bench {
    /// Float type.
    pub dtype: &'static str,
    /// Heads `$H$`.
    pub heads: usize,
    /// Groups `$G$`.
    pub groups: usize,
    /// State size `$N$`.
    pub state: usize,
    /// Sequence length `$L$`.
    pub len: usize,
    /// Bytes of the output, `$H L^2$` floats.
    pub bytes: usize,
    /// [`head_attention_into`] (Gram matrix per group by GEMM, mask per head), seconds.
    pub ours_s: f64,
    /// [`plain_heads_into`] (per entry: an `$N$`-term dot product and one exponential),
    /// seconds.
    pub plain_s: f64,
    /// Writing the output buffer once, seconds.
    pub write_floor_s: f64,
    /// `plain_s / ours_s`.
    pub ratio_vs_plain: f64,
    /// `ours_s / write_floor_s`.
    pub ratio_vs_floor: f64,
}

/// The baseline: every head's α̃ entry by entry,
/// `$\tilde\alpha^{(h)}_{ts} = (C_t\cdot B_s)\,e^{A_h\sum_{r=s+1}^{t}\Delta_r}\,\Delta_s$`, with
/// the sum carried along the row and one exponential per entry.
pub fn plain_heads_into<T: FastFloat>(
    mixer: &Mamba2Mixer<T>,
    trace: &Mamba2Trace<T>,
    out: &mut [T],
) {
    let d = mixer.dims;
    let (h, g, n, l) = (d.n_heads, d.n_groups, d.d_state, trace.len);
    let delta = step_sizes(mixer, trace);
    out.par_chunks_mut(l * l).enumerate().for_each(|(hh, m)| {
        let gi = hh / (h / g);
        for t in 0..l {
            let mut sum = T::zero();
            let ct = &trace.c[(t * g + gi) * n..(t * g + gi + 1) * n];
            for s in (0..=t).rev() {
                let bs = &trace.b[(s * g + gi) * n..(s * g + gi + 1) * n];
                let dot = ct.iter().zip(bs).fold(T::zero(), |a, (&x, &y)| a + x * y);
                m[t * l + s] = dot * (mixer.a[hh] * sum).exp() * delta[s * h + hh];
                sum += delta[s * h + hh];
            }
            m[t * l + t + 1..(t + 1) * l].fill(T::zero());
        }
    });
}

/// A mixer and a trace with mamba2-130m's head shapes and random values (seeded): only
/// what the hidden attention reads (dt, `$B$`, `$C$`, `$A$`, `dt_bias`) is filled.
pub fn bench_trace<T: FastFloat>(
    heads: usize,
    groups: usize,
    state: usize,
    len: usize,
) -> (Mamba2Mixer<T>, Mamba2Trace<T>) {
    let mut rng = ChaCha8Rng::seed_from_u64(130);
    let mut uni = |k: usize, s: f64| -> Vec<T> {
        (0..k).map(|_| T::from_f64(rng.gen_range(-s..s))).collect()
    };
    let mixer = Mamba2Mixer {
        dims: Mamba2Dims {
            d_model: 1,
            n_heads: heads,
            head_dim: 1,
            n_groups: groups,
            d_state: state,
            d_conv: 1,
            chunk_size: 256,
        },
        in_proj: Vec::new(),
        in_proj_bias: None,
        conv_w: Vec::new(),
        conv_b: None,
        dt_bias: uni(heads, 3.0),
        a: uni(heads, 1.0)
            .into_iter()
            .map(|v| -(T::one() + (v + T::one()) * T::from_f64(7.5)))
            .collect(),
        d: vec![T::one(); heads],
        norm_w: Vec::new(),
        norm_eps: 1e-5,
        dt_limit: (0.0, f64::INFINITY),
        out_proj: Vec::new(),
        out_proj_bias: None,
    };
    let trace = Mamba2Trace {
        len,
        input: Vec::new(),
        z: Vec::new(),
        xbc: Vec::new(),
        conv: Vec::new(),
        x: Vec::new(),
        b: uni(len * groups * state, 1.0),
        c: uni(len * groups * state, 1.0),
        dt: uni(len * heads, 2.0),
        y_ssd: Vec::new(),
        gated: Vec::new(),
        norm_rms: Vec::new(),
        normed: Vec::new(),
        out: Vec::new(),
    };
    (mixer, trace)
}

/// Time one layer's per-head extraction against the plain loop and the write floor.
pub fn mamba2_bench<T: FastFloat>(
    heads: usize,
    groups: usize,
    state: usize,
    len: usize,
) -> Mamba2Bench {
    let (mixer, trace) = bench_trace::<T>(heads, groups, state, len);
    let mut out = vec![T::zero(); heads * len * len];
    out.par_chunks_mut(1 << 20).for_each(|s| s.fill(T::one()));
    let write_floor_s = write_floor_seconds(&mut out, 0.0, 3);
    let ours_s = median_seconds(
        || head_attention_into(&mixer, &trace, &mut out).expect("sizes match"),
        0.0,
        3,
    );
    let plain_s = median_seconds(|| plain_heads_into(&mixer, &trace, &mut out), 0.0, 3);
    Mamba2Bench {
        dtype: T::NAME,
        heads,
        groups,
        state,
        len,
        bytes: out.len() * std::mem::size_of::<T>(),
        ours_s,
        plain_s,
        write_floor_s,
        ratio_vs_plain: plain_s / ours_s,
        ratio_vs_floor: ours_s / write_floor_s,
    }
}

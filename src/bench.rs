//! In-process timing for `hattn bench`: every figure is the median of repeated runs,
//! and every goal is a ratio against a baseline timed in the same run.

use std::time::Instant;

use serde::Serialize;

use crate::baseline::{authors_cubic, plain_log_space};
use crate::ssm::{hidden_attention, BRule, MambaChannel};

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
    /// Sequence length $L$.
    pub len: usize,
    /// State size $N$.
    pub state: usize,
    /// [`hidden_attention`] (discretisation included), seconds.
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
/// The authors' $O(L^3)$ loop is skipped above `authors_max_len`.
pub fn hidden_attention_rows(lens: &[usize], state: usize, authors_max_len: usize) -> Vec<HiddenAttentionRow> {
    lens.iter()
        .map(|&len| {
            let m = bench_channel(len, state);
            let ours_s = median_seconds(
                || hidden_attention(&m.discretize(BRule::Euler).expect("finite")).expect("finite"),
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

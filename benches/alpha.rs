//! Criterion benchmarks of the hidden attention α̃ of one channel (N = 16): ours against
//! the paper authors' O(L³) loop and a plain O(L²N) log-space loop, in the same run.
//! `hattn bench` prints the same comparison as ratios.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use hidden_attention::baseline::{authors_cubic, plain_log_space};
use hidden_attention::bench::bench_channel;
use hidden_attention::ssm::{self, BRule};

fn alpha(c: &mut Criterion) {
    let mut g = c.benchmark_group("hidden_attention");
    g.sample_size(10);
    for len in [128usize, 256, 512] {
        let m = bench_channel(len, 16);
        g.bench_with_input(BenchmarkId::new("ours", len), &m, |b, m| {
            b.iter(|| ssm::attention_matrix(&m.discretize(BRule::Euler).unwrap()).unwrap())
        });
        g.bench_with_input(BenchmarkId::new("plain", len), &m, |b, m| {
            b.iter(|| plain_log_space(&m.delta, &m.a, &m.b, &m.c))
        });
        if len <= 256 {
            g.bench_with_input(BenchmarkId::new("authors", len), &m, |b, m| {
                b.iter(|| authors_cubic(&m.delta, &m.a, &m.b, &m.c))
            });
        }
    }
    g.finish();
}

criterion_group!(benches, alpha);
criterion_main!(benches);

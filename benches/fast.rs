//! Criterion benchmarks of the fast kernels (`hidden_attention::fast`) beside the
//! baselines `hattn bench` compares them with: the plain O(L²N) loop, faer's GEMM of an
//! (L×N)·(N×L) product, the time to write L² floats, the plain scan loop.
//! Run one group with e.g. `cargo bench --bench fast -- alpha_f32`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use hidden_attention::baseline::plain_log_space;
use hidden_attention::bench::{bench_channel, bench_layer, plain_scan};
use hidden_attention::fast::{self, LayerParams, ScanParams, Selection, DEFAULT_CHUNK};
use hidden_attention::ssm::{BRule, MambaChannel};

fn f32_channel(len: usize) -> MambaChannel<f32> {
    let m = bench_channel(len, 16);
    let f = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
    MambaChannel {
        delta: f(&m.delta),
        a: f(&m.a),
        b: f(&m.b),
        c: f(&m.c),
    }
}

fn alpha_f32(c: &mut Criterion) {
    let mut g = c.benchmark_group("alpha_f32");
    g.sample_size(20);
    for len in [256usize, 1024, 2048] {
        let m = f32_channel(len);
        let mut out = vec![0.0f32; len * len];
        g.bench_with_input(BenchmarkId::new("ours", len), &m, |b, m| {
            b.iter(|| {
                let ch = fast::discretize(m).unwrap();
                fast::hidden_attention_into(&ch, DEFAULT_CHUNK, &mut out).unwrap()
            })
        });
        g.bench_with_input(BenchmarkId::new("cumsum", len), &m, |b, m| {
            b.iter(|| fast::mamba_hidden_attention_into(m, DEFAULT_CHUNK, &mut out).unwrap())
        });
        let q = faer::mat::from_row_major_slice(&m.c, len, 16);
        let k = faer::mat::from_row_major_slice(&m.b, len, 16);
        g.bench_function(BenchmarkId::new("gemm", len), |b| {
            b.iter(|| {
                let dst = faer::mat::from_row_major_slice_mut(&mut out, len, len);
                faer::linalg::matmul::matmul(
                    dst,
                    q,
                    k.transpose(),
                    None,
                    1.0,
                    faer::Parallelism::None,
                )
            })
        });
        let mut v = 0.0f32;
        g.bench_function(BenchmarkId::new("write_floor", len), |b| {
            b.iter(|| {
                v += 1.0;
                out.fill(std::hint::black_box(v))
            })
        });
        if len <= 1024 {
            g.bench_with_input(BenchmarkId::new("plain", len), &m, |b, m| {
                b.iter(|| plain_log_space(&m.delta, &m.a, &m.b, &m.c))
            });
        }
    }
    g.finish();
}

/// The chunk size trades diagonal-block work (∝ T) against rebuilding K per row chunk (∝ 1/T).
fn alpha_chunk(c: &mut Criterion) {
    let mut g = c.benchmark_group("alpha_chunk_f32");
    g.sample_size(20);
    let len = 1024;
    let ch = f32_channel(len).discretize(BRule::Euler).unwrap();
    let mut out = vec![0.0f32; len * len];
    for chunk in [16usize, 32, 64, 128] {
        g.bench_with_input(BenchmarkId::new("chunk", chunk), &chunk, |b, &chunk| {
            b.iter(|| fast::hidden_attention_into(&ch, chunk, &mut out).unwrap())
        });
    }
    g.finish();
}

fn select(c: &mut Criterion) {
    let mut g = c.benchmark_group("select_f32");
    let len = 1024;
    let ch = f32_channel(len).discretize(BRule::Euler).unwrap();
    for (name, sel) in [
        ("row", Selection::Row(len - 1)),
        ("band64", Selection::Band(64)),
    ] {
        let mut out = vec![0.0f32; sel.output_len(len)];
        g.bench_function(name, |b| {
            b.iter(|| fast::select_into(&ch, sel, DEFAULT_CHUNK, &mut out).unwrap())
        });
    }
    g.finish();
}

fn layer_and_scan(c: &mut Criterion) {
    let (dim, len, state) = (192, 1024, 16);
    let (delta, a, bb, cc) = bench_layer(dim, len, state);
    let f = |v: Vec<f64>| v.into_iter().map(|x| x as f32).collect::<Vec<f32>>();
    let (delta, a, bb, cc) = (f(delta), f(a), f(bb), f(cc));
    let mut g = c.benchmark_group("layer_f32");
    g.sample_size(10);
    let p = LayerParams {
        dim,
        len,
        state,
        delta: &delta,
        a: &a,
        b: &bb,
        c: &cc,
    };
    let mut out = vec![0.0f32; dim * len * len];
    g.bench_function("full_d192_l1024", |b| {
        b.iter(|| fast::layer_into(&p, Selection::Full, DEFAULT_CHUNK, &mut out).unwrap())
    });
    g.finish();
    let mut g = c.benchmark_group("scan_f32");
    g.sample_size(10);
    let u: Vec<f32> = (0..dim * len)
        .map(|i| ((i as f32 * 0.7548777).fract() - 0.5) * 4.0)
        .collect();
    let sp = ScanParams {
        batch: 1,
        dim,
        len,
        state,
        u: &u,
        delta: &delta,
        a: &a,
        b: &bb,
        c: &cc,
    };
    let mut y = vec![0.0f32; dim * len];
    g.bench_function("ours_d192_l1024", |b| {
        b.iter(|| fast::scan_into(&sp, &mut y).unwrap())
    });
    g.bench_function("plain_d192_l1024", |b| b.iter(|| plain_scan(&sp, &mut y)));
    g.finish();
}

criterion_group!(benches, alpha_f32, alpha_chunk, select, layer_and_scan);
criterion_main!(benches);

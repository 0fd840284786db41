//! Forward and all-layer hidden-attention extraction at the shapes of mamba-130m
//! (d_model 768, 24 layers, d_inner 1536, N = 16; random weights), L = 256.
//!
//! Prints tokens/s of the forward pass, seconds per layer of attention extraction (every
//! channel's L × L matrix materialised), and the ratio against the same extraction done
//! channel by channel with the plain O(L²N) loop
//! (`hidden_attention::baseline::plain_log_space`), timed in the same run.
//!
//! `cargo bench --bench model`. Environment: `HATTN_BENCH_LEN` (256), `HATTN_BENCH_LAYERS`
//! (24), `HATTN_BENCH_BASELINE_LAYERS` (layers timed with the baseline, 2),
//! `HATTN_BENCH_F32=1` to run in f32.

use std::time::Instant;

use hidden_attention::baseline::plain_log_space;
use hidden_attention::fast::FastFloat;
use hidden_attention::model::attention::{layer_attention, layer_attention_chunked};
use hidden_attention::model::random::mamba_130m_config;
use hidden_attention::model::{Logits, MambaModel};
use rayon::prelude::*;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn run<T: FastFloat>() {
    let len = env("HATTN_BENCH_LEN", 256);
    let mut cfg = mamba_130m_config();
    cfg.n_layer = env("HATTN_BENCH_LAYERS", 24);
    let base_layers = env("HATTN_BENCH_BASELINE_LAYERS", 2).min(cfg.n_layer);
    println!(
        "model bench ({}): d_model {}, {} layers, d_inner {}, N {}, vocab {}, L = {len}, {} threads",
        T::NAME,
        cfg.d_model,
        cfg.n_layer,
        cfg.d_inner,
        cfg.d_state,
        cfg.vocab_size,
        rayon::current_num_threads()
    );
    let t0 = Instant::now();
    let model = MambaModel::<T>::random(cfg.clone(), 130);
    println!("random weights: {:.2} s", t0.elapsed().as_secs_f64());
    let tokens: Vec<usize> = (0..len).map(|i| (i * 7919 + 13) % cfg.vocab_size).collect();
    // forward (median of 3)
    let mut fw = Vec::new();
    let mut trace = None;
    for _ in 0..3 {
        let t = Instant::now();
        let tr = model.forward(&tokens, Logits::Last).expect("finite");
        fw.push(t.elapsed().as_secs_f64());
        trace = Some(tr);
    }
    fw.sort_by(f64::total_cmp);
    let trace = trace.expect("ran");
    let fwd = fw[1];
    println!(
        "forward (embedding → {} blocks → norm_f → last-position logits): {:.3} s = {:.1} tokens/s",
        cfg.n_layer,
        fwd,
        len as f64 / fwd
    );
    // warm-up: first touch of the output buffers' pages
    std::hint::black_box(
        layer_attention_chunked(&model.layers[0].mixer, &trace.mixers[0], None).expect("finite"),
    );
    // ours: every layer, every channel — the chunked kernel, and the core's row loop
    let (mut chunked, mut core) = (Vec::new(), Vec::new());
    for (li, layer) in model.layers.iter().enumerate() {
        let t = Instant::now();
        let a = layer_attention_chunked(&layer.mixer, &trace.mixers[li], None).expect("finite");
        std::hint::black_box(&a);
        chunked.push(t.elapsed().as_secs_f64());
        drop(a);
        let t = Instant::now();
        let a = layer_attention(&layer.mixer, &trace.mixers[li], None).expect("finite");
        std::hint::black_box(&a);
        core.push(t.elapsed().as_secs_f64());
    }
    let (tc, tr) = (chunked.iter().sum::<f64>(), core.iter().sum::<f64>());
    let nl = cfg.n_layer as f64;
    println!(
        "hidden attention, all {} layers × {} channels (every L×L matrix materialised):",
        cfg.n_layer, cfg.d_inner
    );
    println!(
        "  chunked kernel (layer_attention_chunked): {tc:.3} s total, {:.3} s per layer",
        tc / nl
    );
    println!(
        "  core row loop  (layer_attention):         {tr:.3} s total, {:.3} s per layer",
        tr / nl
    );
    // baseline: the plain O(L²N) log-space loop, channel by channel, same channels
    let (mut r_chunked, mut r_core) = (Vec::new(), Vec::new());
    for (li, layer) in model.layers.iter().enumerate().take(base_layers) {
        let mix = &layer.mixer;
        let input = mix.scan_input(&[&trace.mixers[li]]);
        let dims = input.validate().expect("valid");
        let t = Instant::now();
        let mats: Vec<_> = (0..cfg.d_inner)
            .into_par_iter()
            .map(|e| {
                let m = input.mamba_channel(dims, 0, e).expect("valid");
                plain_log_space(&m.delta, &m.a, &m.b, &m.c)
            })
            .collect();
        std::hint::black_box(&mats);
        let base = t.elapsed().as_secs_f64();
        r_chunked.push(base / chunked[li]);
        r_core.push(base / core[li]);
        println!(
            "  layer {li}: plain_log_space {base:.3} s; chunked {:.3} s ({:.1}×); core {:.3} s ({:.1}×)",
            chunked[li],
            base / chunked[li],
            core[li],
            base / core[li]
        );
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    println!(
        "ratio plain_log_space / ours, mean over {} layers: chunked {:.1}×, core {:.1}×",
        r_chunked.len(),
        mean(&r_chunked),
        mean(&r_core)
    );
    println!(
        "forward + all-layer extraction (chunked): {:.3} s",
        fwd + tc
    );
}

fn main() {
    if std::env::var("HATTN_BENCH_F32").is_ok() {
        run::<f32>();
    } else {
        run::<f64>();
    }
}

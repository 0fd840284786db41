//! `hattn bench`: timings with ratios against baselines measured in the same run.

use std::process::ExitCode;

use hidden_attention::bench::{bench_report, BenchReport};

/// The α̃ lengths and the layer size of issue 7 (the `lens` argument keeps choosing the
/// lengths of the comparison with the authors' O(L³) loop, issue 2).
const ALPHA_LENS: [usize; 3] = [256, 1024, 2048];
const LAYER: (usize, usize) = (1536, 1024);

pub fn bench(json: bool, lens: &[usize], state: usize) -> ExitCode {
    // HATTN_BENCH_NO_LAYER=1 skips the 6.4 GB layer section (for small machines).
    let layer = std::env::var_os("HATTN_BENCH_NO_LAYER")
        .is_none()
        .then_some(LAYER);
    let report = bench_report(&ALPHA_LENS, lens, state, layer);
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("plain data")
        );
    } else {
        print_table(&report, state);
    }
    ExitCode::SUCCESS
}

fn print_table(r: &BenchReport, state: usize) {
    println!(
        "{} threads; median seconds; every ratio against a baseline timed in this run",
        r.threads
    );
    println!();
    println!("hidden attention α̃ of one channel, N = {state} (ours: chunked, into a buffer)");
    println!(
        "{:>5} {:>6} {:>10} {:>10} {:>10} {:>10} {:>8} {:>8} {:>8}",
        "dtype", "L", "ours", "plain", "gemm", "floor", "×plain", "/floor", "/gemm"
    );
    for a in &r.hidden_attention {
        println!(
            "{:>5} {:>6} {:>10.3e} {:>10.3e} {:>10.3e} {:>10.3e} {:>8.1} {:>8.2} {:>8.2}",
            a.dtype,
            a.len,
            a.ours_s,
            a.plain_s,
            a.gemm_s,
            a.write_floor_s,
            a.ratio_vs_plain,
            a.ratio_vs_floor,
            a.ratio_vs_gemm
        );
    }
    if let Some(l) = &r.layer {
        println!();
        println!(
            "layer: D = {}, L = {}, N = {}, {} ({:.2} GB): ours {:.3} s ({:.1} GB/s), write floor {:.3} s, ratio {:.2}",
            l.dim,
            l.len,
            l.state,
            l.dtype,
            l.bytes as f64 / 1e9,
            l.ours_s,
            l.ours_gb_per_s,
            l.write_floor_s,
            l.ratio_vs_floor
        );
    }
    let s = &r.scan;
    println!();
    println!(
        "scan: batch {}, D = {}, L = {}, N = {}, {} ({}): ours {:.3e} s, plain {:.3e} s, ×{:.1}, {:.2e} state updates/s",
        s.batch, s.dim, s.len, s.state, s.dtype, s.simd, s.ours_s, s.plain_s, s.ratio_vs_plain, s.state_updates_per_s
    );
    println!();
    println!("Mamba-2 layer: every head's α̃ (Gram matrix per group × 1-semiseparable mask)");
    println!(
        "{:>5} {:>4} {:>3} {:>4} {:>6} {:>9} {:>10} {:>10} {:>10} {:>8} {:>8}",
        "dtype", "H", "G", "N", "L", "GB", "ours", "plain", "floor", "×plain", "/floor"
    );
    for m in &r.mamba2 {
        println!(
            "{:>5} {:>4} {:>3} {:>4} {:>6} {:>9.3} {:>10.3e} {:>10.3e} {:>10.3e} {:>8.1} {:>8.2}",
            m.dtype,
            m.heads,
            m.groups,
            m.state,
            m.len,
            m.bytes as f64 / 1e9,
            m.ours_s,
            m.plain_s,
            m.write_floor_s,
            m.ratio_vs_plain,
            m.ratio_vs_floor
        );
    }
    println!();
    println!("generic row-by-row α̃ against the authors' O(L³) loop, N = {state}, f64");
    println!(
        "{:>6} {:>11} {:>11} {:>11} {:>10} {:>12}",
        "L", "ours", "plain", "authors", "×plain", "×authors"
    );
    for a in &r.authors {
        let t = a.authors_s.map_or("—".to_string(), |x| format!("{x:.3e}"));
        let ra = a
            .ratio_vs_authors
            .map_or("—".to_string(), |x| format!("{x:.0}"));
        println!(
            "{:>6} {:>11.3e} {:>11.3e} {:>11} {:>10.1} {:>12}",
            a.len, a.ours_s, a.plain_s, t, a.ratio_vs_plain, ra
        );
    }
}

//! `hattn gpu`: the GPU path (feature `cuda`). Without the feature the subcommand still
//! exists and says how to get it.

use std::process::ExitCode;

use clap::{Args, Subcommand};

#[derive(Args)]
pub struct GpuArgs {
    #[command(subcommand)]
    pub command: GpuCommand,
}

#[derive(Subcommand)]
pub enum GpuCommand {
    /// The device (name, memory, compute capability, peak bandwidth), or why there is none.
    Info {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// T1/T2 checks on random instances generated on the device; a sample is re-checked
    /// on the CPU exact and f64 paths.
    Check {
        /// Number of instances.
        #[arg(long, default_value_t = 1 << 20)]
        instances: u64,
        /// Sequence length L.
        #[arg(long, default_value_t = 256)]
        len: usize,
        /// State size N.
        #[arg(long, default_value_t = 16)]
        state: usize,
        /// Seed of the device generator (instance i of seed s is reproducible on the CPU).
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Instances re-checked on the CPU (evenly spaced; the worst one is added).
        #[arg(long, default_value_t = 8)]
        sample: usize,
        /// Instances per kernel launch.
        #[arg(long, default_value_t = 1 << 16)]
        batch: usize,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Scan and layer hidden-attention throughput, bandwidth as a fraction of peak, and
    /// theorem-check throughput.
    Bench {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Channels of the hidden-attention layer.
        #[arg(long, default_value_t = 1536)]
        channels: usize,
        /// Sequence length of the layer (and of the scan).
        #[arg(long, default_value_t = 1024)]
        len: usize,
        /// State size of the layer (and of the scan).
        #[arg(long, default_value_t = 16)]
        state: usize,
        /// Theorem-check instances timed (L = 256, N = 16).
        #[arg(long, default_value_t = 1 << 18)]
        check_instances: u64,
        /// Timed repetitions (median reported).
        #[arg(long, default_value_t = 5)]
        reps: usize,
    },
}

#[cfg(not(feature = "cuda"))]
pub fn gpu(args: &GpuArgs) -> ExitCode {
    let msg = "hattn was built without the `cuda` feature: no GPU support in this binary \
               (rebuild with `cargo build --release --features cuda`)";
    match args.command {
        GpuCommand::Info { json: true } => {
            println!(
                "{}",
                serde_json::json!({ "available": false, "reason": msg })
            );
            ExitCode::SUCCESS
        }
        GpuCommand::Info { json: false } => {
            println!("{msg}");
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("error: {msg}");
            ExitCode::from(2)
        }
    }
}

#[cfg(feature = "cuda")]
pub fn gpu(args: &GpuArgs) -> ExitCode {
    use hidden_attention::gpu::{bench, CheckConfig, Gpu};

    let open = || Gpu::new(0);
    match args.command {
        GpuCommand::Info { json } => info(json),
        GpuCommand::Check {
            instances,
            len,
            state,
            seed,
            sample,
            batch,
            json,
        } => {
            let cfg = CheckConfig {
                instances,
                len,
                state,
                seed,
                sample,
                batch,
                recheck_worst: true,
            };
            let report = match open().and_then(|g| g.theorem_check(&cfg)) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            };
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report).expect("plain data")
                );
            } else {
                print_check(&report);
            }
            if report.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        GpuCommand::Bench {
            json,
            channels,
            len,
            state,
            check_instances,
            reps,
        } => {
            let cfg = bench::BenchConfig {
                scan_len: len,
                scan_state: state,
                channels,
                len,
                state,
                check_instances,
                reps,
                ..bench::BenchConfig::default()
            };
            let report = match open().and_then(|g| bench::run(&g, &cfg)) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            };
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report).expect("plain data")
                );
            } else {
                println!("{}", report.device);
                for t in [&report.scan, &report.attention] {
                    let goal = match (t.goal, t.meets_goal) {
                        (Some(g), Some(m)) => format!(
                            " (goal ≥ {:.0}%: {})",
                            g * 100.0,
                            if m { "met" } else { "NOT met" }
                        ),
                        _ => String::new(),
                    };
                    println!(
                        "{}: {:.3} ms, {:.0} GB/s = {:.1}% of peak{goal}",
                        t.what,
                        t.seconds * 1e3,
                        t.bandwidth / 1e9,
                        t.fraction_of_peak * 100.0
                    );
                }
                let c = &report.check;
                println!(
                    "theorem checks, L {} N {}: {} instances in {:.2} s = {:.3e} per minute (goal ≥ {:.0e}: {}), {} failures",
                    c.len,
                    c.state,
                    c.instances,
                    c.seconds,
                    c.instances_per_minute,
                    c.goal,
                    if c.meets_goal { "met" } else { "NOT met" },
                    c.failures
                );
            }
            ExitCode::SUCCESS
        }
    }
}

/// `hattn gpu info`: the driver and NVRTC, each found or not (file, version), then the
/// device when both are there. Exit 0 whether or not there is a GPU; 2 when the device
/// cannot be opened although both libraries are there.
#[cfg(feature = "cuda")]
fn info(json: bool) -> ExitCode {
    use hidden_attention::gpu::{probe, Gpu, GpuError};

    let found = probe();
    let (device, reason) = match found.unavailable() {
        Some(u) => (None, Some(u.reason)),
        None => match Gpu::new(0) {
            Ok(g) => (Some(g), None),
            Err(GpuError::Unavailable(u)) => (None, Some(u.reason)),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        },
    };
    if json {
        let v = serde_json::json!({
            "available": device.is_some(),
            "reason": reason,
            "driver": found.driver_json(),
            "nvrtc": found.nvrtc_json(),
            "device": device.as_ref().map(|g| g.info()),
            "target": device.as_ref().map(|g| g.target().architecture()),
        });
        println!("{v}");
    } else {
        println!("{found}");
        match (&device, &reason) {
            (Some(g), _) => println!(
                "{}\n  kernels compiled for {}",
                g.info(),
                g.target().architecture()
            ),
            (None, Some(r)) => println!("no GPU: {r}"),
            (None, None) => {}
        }
    }
    ExitCode::SUCCESS
}

#[cfg(feature = "cuda")]
fn print_check(r: &hidden_attention::gpu::CheckReport) {
    let c = &r.config;
    println!(
        "hattn gpu check on {}: {} instances, L = {}, N = {}, seed {}",
        r.device, c.instances, c.len, c.state, c.seed
    );
    println!(
        "  {:.2} s on the device = {:.3e} instances per minute",
        r.elapsed_s, r.instances_per_minute
    );
    println!(
        "  failures (some view beyond its f32 bound): {}; factored form refused (range): {}",
        r.failures, r.factored_refused
    );
    println!(
        "  worst error/bound ratio {:.3e} (instance {}); worst relative error {:.3e} (instance {})",
        r.worst_ratio.value, r.worst_ratio.index, r.worst_relative.value, r.worst_relative.index
    );
    let q: Vec<String> = r
        .quantiles
        .iter()
        .map(|(q, v)| format!("q{q}: {v:.2e}"))
        .collect();
    println!("  per-instance worst ratio: {}", q.join(", "));
    println!("  histogram of the worst ratio (lower edge: count):");
    for b in &r.histogram {
        println!("    ≥ {:>9.2e}: {}", b.lower, b.count);
    }
    if !r.reductions_agree {
        println!("  WARNING: the device reductions disagree with the per-instance results");
    }
    println!("  CPU re-checks (exact reference; ratios are error / bound):");
    println!(
        "    {:>10}  {:>9} {:>9}  {:>9} {:>9}  {:>9} {:>9}  result",
        "instance", "gpu scan", "cpu scan", "gpu α̃x", "cpu α̃x", "exact f32", "exact f64"
    );
    let f = |v: Option<f64>| v.map_or("—".to_string(), |v| format!("{v:.2e}"));
    for k in &r.rechecks {
        println!(
            "    {:>10}  {:>9} {:>9}  {:>9} {:>9}  {:>9} {:>9}  {}",
            k.index,
            f(k.gpu.map(|g| g.scan)),
            f(Some(k.cpu.scan)),
            f(k.gpu.map(|g| g.attention)),
            f(Some(k.cpu.attention)),
            f(k.exact_f32),
            f(k.exact_f64),
            if k.passed() { "pass" } else { "FAIL" }
        );
    }
    if let Some(w) = r.rechecks.last() {
        match &w.counterexample {
            Some(cx) => println!("worst instance {}: counterexample\n{cx}", w.index),
            None if !w.passed() => println!(
                "worst instance {}: the GPU reports ratio {:.3e} > 1 but the CPU re-check passes (a GPU-side fault)",
                w.index,
                w.gpu.map_or(f64::NAN, |g| g.worst_ratio())
            ),
            None => println!(
                "worst instance {} (regenerate with gpu_instances::instance({}, {}, {}, {})): passes on the CPU",
                w.index, c.seed, w.index, c.len, c.state
            ),
        }
    }
    println!(
        "{}",
        if r.passed() {
            "all checks passed"
        } else {
            "CHECK FAILED"
        }
    );
}

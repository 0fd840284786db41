//! `hattn gpu bench`: scan and layer hidden-attention throughput, achieved memory
//! bandwidth as a fraction of the device's peak, and theorem-check throughput — each
//! against the goals of the GPU path.

use std::time::Instant;

use serde::Serialize;

use super::attention::DeviceAttention;
use super::check::CheckConfig;
use super::{DeviceInfo, Gpu, GpuResult};
use crate::gpu_instances::{draw, mix64, signed_value};
use crate::ssm::{SelectiveScanInput, StateMatrix};
use crate::tensor::Tensor;

/// Goal: fraction of peak bandwidth of the full-layer hidden attention.
pub const ATTENTION_BANDWIDTH_GOAL: f64 = 0.5;
/// Goal: theorem-check instances (`$L = 256$`, `$N = 16$`) per minute.
pub const CHECK_RATE_GOAL: f64 = 1e6;

/// Sizes of the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BenchConfig {
    /// Scan: batch size.
    pub scan_batch: usize,
    /// Scan: channels (`dim`).
    pub scan_dim: usize,
    /// Scan: `$L$`.
    pub scan_len: usize,
    /// Scan: `$N$`.
    pub scan_state: usize,
    /// Hidden attention: channels of the layer.
    pub channels: usize,
    /// Hidden attention: `$L$`.
    pub len: usize,
    /// Hidden attention: `$N$`.
    pub state: usize,
    /// Theorem check: instances.
    pub check_instances: u64,
    /// Theorem check: `$L$`.
    pub check_len: usize,
    /// Theorem check: `$N$`.
    pub check_state: usize,
    /// Timed repetitions (the median is reported).
    pub reps: usize,
}

impl Default for BenchConfig {
    /// The sizes: a 1536-channel layer at `$L = 1024$`, `$N = 16$`; the scan of a
    /// batch of 8 such sequences; `$2^{18}$` check instances at `$L = 256$`, `$N = 16$`.
    fn default() -> Self {
        Self {
            scan_batch: 8,
            scan_dim: 1536,
            scan_len: 1024,
            scan_state: 16,
            channels: 1536,
            len: 1024,
            state: 16,
            check_instances: 1 << 18,
            check_len: 256,
            check_state: 16,
            reps: 5,
        }
    }
}

/// One timed kernel.
#[derive(Debug, Clone, Serialize)]
pub struct Throughput {
    /// What was timed.
    pub what: String,
    /// Median seconds per run.
    pub seconds: f64,
    /// Bytes the kernel must move at least.
    pub bytes: f64,
    /// `bytes / seconds`.
    pub bandwidth: f64,
    /// `bandwidth` / the device's peak.
    pub fraction_of_peak: f64,
    /// Work items per second (scan: batch·dim·L·N state updates; attention: L² entries
    /// per channel, all channels).
    pub items_per_s: f64,
    /// The goal on `fraction_of_peak`, if any.
    pub goal: Option<f64>,
    /// Whether the goal is met (`None` when there is none).
    pub meets_goal: Option<bool>,
}

/// Theorem-check throughput.
#[derive(Debug, Clone, Serialize)]
pub struct CheckThroughput {
    /// Instances checked.
    pub instances: u64,
    /// `$L$`.
    pub len: usize,
    /// `$N$`.
    pub state: usize,
    /// Seconds (device part).
    pub seconds: f64,
    /// Instances per minute.
    pub instances_per_minute: f64,
    /// The goal (instances per minute).
    pub goal: f64,
    /// Whether it is met.
    pub meets_goal: bool,
    /// Failures found (should be 0).
    pub failures: u64,
}

/// Everything `hattn gpu bench --json` prints.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// The device.
    pub device: DeviceInfo,
    /// Sizes.
    pub config: BenchConfig,
    /// Batched selective scan.
    pub scan: Throughput,
    /// Full-layer hidden attention.
    pub attention: Throughput,
    /// Theorem checks.
    pub check: CheckThroughput,
}

/// Deterministic Mamba-like values: `$\bar A \in (1/2, 1)$`, others in `$[-2, 2)$`.
fn fill(n: usize, stream: u32, transition: bool) -> Vec<f32> {
    let key = mix64(u64::from(stream) + 17);
    (0..n)
        .map(|i| {
            let bits = draw(key, stream, i as u32);
            if transition {
                0.5 + 0.5 * ((bits >> 40) as f32 + 0.5) / 16_777_216.0
            } else {
                signed_value(bits)
            }
        })
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Time `run` (which queues work) `reps` times after one warm-up, synchronising each time.
fn time(gpu: &Gpu, reps: usize, mut run: impl FnMut() -> GpuResult<()>) -> GpuResult<f64> {
    run()?;
    gpu.synchronize()?;
    let mut times = Vec::with_capacity(reps.max(1));
    for _ in 0..reps.max(1) {
        let t = Instant::now();
        run()?;
        gpu.synchronize()?;
        times.push(t.elapsed().as_secs_f64());
    }
    Ok(median(times))
}

fn throughput(
    gpu: &Gpu,
    what: String,
    seconds: f64,
    bytes: f64,
    items: f64,
    goal: Option<f64>,
) -> Throughput {
    let bandwidth = bytes / seconds.max(1e-12);
    let fraction_of_peak = bandwidth / gpu.info().peak_bandwidth.max(1.0);
    Throughput {
        what,
        seconds,
        bytes,
        bandwidth,
        fraction_of_peak,
        items_per_s: items / seconds.max(1e-12),
        goal,
        meets_goal: goal.map(|g| fraction_of_peak >= g),
    }
}

/// Run the benchmark. The layer is shrunk (and the report says so in `what`) when the
/// device lacks the memory for all its `$L \times L$` matrices.
///
/// # Errors
/// As [`Gpu::launch_scan`], [`Gpu::launch_attention`] and [`Gpu::theorem_check`].
pub fn run(gpu: &Gpu, cfg: &BenchConfig) -> GpuResult<BenchReport> {
    // batched selective scan
    let (b, d, l, n) = (cfg.scan_batch, cfg.scan_dim, cfg.scan_len, cfg.scan_state);
    let t = |name: &str, shape: Vec<usize>, stream: u32| {
        let len = shape.iter().product();
        Tensor::new(name, shape, fill(len, stream, false))
    };
    let input = SelectiveScanInput {
        u: t("u", vec![b, d, l], 1)?,
        delta: t("delta", vec![b, d, l], 2)?,
        a: StateMatrix::Real(Tensor::new(
            "A",
            vec![d, n],
            fill(d * n, 3, false)
                .iter()
                .map(|v| -(1.0 + v.abs()))
                .collect(),
        )?),
        b: t("B", vec![b, n, l], 4)?,
        c: t("C", vec![b, n, l], 5)?,
        d: Some(t("D", vec![d], 6)?),
        z: Some(t("z", vec![b, d, l], 7)?),
        delta_bias: Some(t("delta_bias", vec![d], 8)?),
        delta_softplus: true,
    };
    let mut p = gpu.upload_scan(&input)?;
    drop(input);
    let secs = time(gpu, cfg.reps, || gpu.launch_scan(&mut p))?;
    let scan = throughput(
        gpu,
        format!("selective scan, batch {b} × dim {d} × L {l} × N {n}, f32"),
        secs,
        p.min_bytes(),
        (b * d * l * n) as f64,
        None,
    );
    drop(p);

    // full-layer hidden attention
    let (l, n) = (cfg.len, cfg.state);
    let (free, _) = gpu
        .context()
        .mem_get_info()
        .map_err(super::driver("reading free memory"))?;
    let mut channels = cfg.channels.max(1);
    while channels > 1 && DeviceAttention::device_bytes(channels, l, n) as f64 > 0.85 * free as f64
    {
        channels /= 2;
    }
    let cells = channels * l * n;
    let mut p = gpu.upload_attention(
        channels,
        l,
        n,
        &fill(cells, 11, true),
        &fill(cells, 12, false),
        &fill(cells, 13, false),
    )?;
    let secs = time(gpu, cfg.reps, || gpu.launch_attention(&mut p))?;
    let shrunk = if channels < cfg.channels {
        format!(" (shrunk from {} to fit memory)", cfg.channels)
    } else {
        String::new()
    };
    let attention = throughput(
        gpu,
        format!("hidden attention, {channels} channels{shrunk} × L {l} × L {l}, N {n}, f32"),
        secs,
        p.min_bytes(),
        (channels * l * l) as f64,
        Some(ATTENTION_BANDWIDTH_GOAL),
    );
    drop(p);

    // theorem checks
    let check_cfg = CheckConfig {
        instances: cfg.check_instances,
        len: cfg.check_len,
        state: cfg.check_state,
        seed: 1,
        sample: 0,
        recheck_worst: false,
        ..CheckConfig::default()
    };
    // warm-up (compilation) on a few instances, then the timed run; no CPU re-checks
    // (`hattn gpu check` does those)
    gpu.theorem_check(&CheckConfig {
        instances: 64,
        ..check_cfg
    })?;
    let r = gpu.theorem_check(&check_cfg)?;
    let check = CheckThroughput {
        instances: r.config.instances,
        len: r.config.len,
        state: r.config.state,
        seconds: r.elapsed_s,
        instances_per_minute: r.instances_per_minute,
        goal: CHECK_RATE_GOAL,
        meets_goal: r.instances_per_minute >= CHECK_RATE_GOAL,
        failures: r.failures,
    };
    Ok(BenchReport {
        device: gpu.info().clone(),
        config: *cfg,
        scan,
        attention,
        check,
    })
}

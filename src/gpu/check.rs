//! Theorem checks at scale (`kernels/check.cu`): T1 (scan `$= \tilde\alpha x$`) and T2b
//! (factored form) on random instances generated on the device, errors reduced on the
//! device, and a sample re-checked on the CPU exact and `f64` paths.
//!
//! Each instance `$i$` of seed `$s$` is [`crate::gpu_instances::instance`]`(s, i, L, N)`, bit
//! for bit: the kernel builds it from the same counter-based generator, so any instance
//! — in particular the worst — can be regenerated and re-checked on the CPU by index.
//! Per instance the kernel computes the `f32` scan, `$\tilde\alpha x$` (by rows, one running
//! product) and the factored output, an `f64` reference scan and the magnitude, and the
//! largest error-to-bound ratio of each view ([`crate::gpu_instances::instance_errors`] is
//! the same measure on the CPU). The worst ratio, the worst relative error (with their
//! instance indices) and a histogram of the per-instance worst ratio are reduced on the
//! device with atomics.

use std::time::Instant;

use cudarc::driver::{LaunchConfig, PushKernelArg};
use rayon::prelude::*;
use serde::Serialize;

use super::{driver, int_arg, Gpu, GpuResult, Program};
use crate::error::Error;
use crate::gpu_instances::{
    bucket_lower_edge, histogram_bucket, recheck, worst_from_key, InstanceErrors, Recheck,
    HISTOGRAM_BUCKETS,
};
use crate::scalar::Field;
use crate::theorems::bound::gamma;

/// Largest state size of the check kernel.
pub const MAX_STATE: usize = 64;
/// Largest sequence length of the check kernel (the input sits in shared memory).
pub const MAX_LEN: usize = 8192;
/// Threads per block of the check kernel (one block per instance at a time).
pub const THREADS: u32 = 256;

/// What to check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CheckConfig {
    /// Number of instances (indices `0..instances`, at most `$2^{32}$`).
    pub instances: u64,
    /// Sequence length `$L$`.
    pub len: usize,
    /// State size `$N$`.
    pub state: usize,
    /// Seed of the generator.
    pub seed: u64,
    /// Instances re-checked on the CPU (evenly spaced, plus the worst).
    pub sample: usize,
    /// Instances per kernel launch.
    pub batch: usize,
    /// Whether the worst instance is re-checked on the CPU too (besides the sample).
    pub recheck_worst: bool,
}

impl Default for CheckConfig {
    fn default() -> Self {
        Self {
            instances: 1 << 20,
            len: 256,
            state: 16,
            seed: 0,
            sample: 8,
            batch: 1 << 16,
            recheck_worst: true,
        }
    }
}

/// An instance singled out by the device reduction.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Worst {
    /// Instance index.
    pub index: u64,
    /// The value (ratio or relative error).
    pub value: f64,
}

/// One bucket of the error histogram.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Bucket {
    /// Lower edge of the per-instance worst ratio (`$2^{b-41}$`; 0 for bucket 0).
    pub lower: f64,
    /// Instances in the bucket.
    pub count: u64,
}

/// The result of [`Gpu::theorem_check`].
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// What was checked.
    pub config: CheckConfig,
    /// Device name.
    pub device: String,
    /// Wall time of the device part (generation, checks, reductions, copies), seconds.
    pub elapsed_s: f64,
    /// Throughput, instances per minute.
    pub instances_per_minute: f64,
    /// Instances with some view beyond its bound (ratio > 1).
    pub failures: u64,
    /// Instances whose factored form was refused (a factor left the `f32` normal range).
    pub factored_refused: u64,
    /// The device's worst error-to-bound ratio.
    pub worst_ratio: Worst,
    /// The device's worst error relative to the magnitude scale.
    pub worst_relative: Worst,
    /// Quantiles `(q, ratio)` of the per-instance worst ratio.
    pub quantiles: Vec<(f64, f64)>,
    /// Histogram of the per-instance worst ratio (device reduction; non-empty buckets).
    pub histogram: Vec<Bucket>,
    /// Whether the host's reading of the per-instance results agrees with the device's
    /// reductions (worst ratio, its index — the lowest on ties, on both sides — and the
    /// histogram).
    pub reductions_agree: bool,
    /// CPU re-checks of the sampled instances and of the worst one (last).
    pub rechecks: Vec<Recheck>,
}

impl CheckReport {
    /// Whether everything passed: no failure on the device, every re-check passed.
    pub fn passed(&self) -> bool {
        self.failures == 0 && self.rechecks.iter().all(Recheck::passed)
    }
}

fn invalid(name: &str, reason: String) -> Error {
    Error::InvalidArgument {
        name: name.into(),
        reason,
    }
}

impl Gpu {
    /// Run the theorem check of `cfg` and re-check a sample on the CPU.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for `L = 0`, `L > 8192`, `N = 0`, `N > 64` or more than
    /// `$2^{32}$` instances; [`super::GpuError::Compile`] / [`super::GpuError::Driver`].
    pub fn theorem_check(&self, cfg: &CheckConfig) -> GpuResult<CheckReport> {
        let (l, n) = (cfg.len, cfg.state);
        if l == 0 || l > MAX_LEN {
            return Err(invalid("len", format!("1 ≤ L ≤ {MAX_LEN}, found {l}")).into());
        }
        if n == 0 || n > MAX_STATE {
            return Err(invalid("state", format!("1 ≤ N ≤ {MAX_STATE}, found {n}")).into());
        }
        if cfg.instances > u64::from(u32::MAX) + 1 {
            return Err(invalid("instances", "at most 2^32 instances per run".into()).into());
        }
        let f = self.function(Program::CHECK, "theorem_check")?;
        let s = &self.stream;
        let batch = cfg.batch.max(1);
        let grid = (self.info.multiprocessors.max(1) as usize * 8)
            .min(batch)
            .max(1);
        let ln = l * n;
        let mut scratch_f = s
            .alloc_zeros::<f32>(grid * 5 * ln)
            .map_err(driver("allocating scratch"))?;
        let mut scratch_d = s
            .alloc_zeros::<f64>(grid * 2 * ln)
            .map_err(driver("allocating scratch"))?;
        let mut results = s
            .alloc_zeros::<f32>(batch * 4)
            .map_err(driver("allocating results"))?;
        let mut worst = s
            .alloc_zeros::<u64>(2)
            .map_err(driver("allocating results"))?;
        let mut hist = s
            .alloc_zeros::<u64>(HISTOGRAM_BUCKETS)
            .map_err(driver("allocating the histogram"))?;

        let m = 3 * l + n + 4;
        let (g32, g64) = (
            gamma(m, f32::unit_roundoff()),
            gamma(m, f64::unit_roundoff()),
        );
        let (li, ni) = (int_arg("L", l)?, int_arg("N", n)?);
        int_arg("L·N", 5 * ln)?;
        let sample: Vec<u64> = (0..cfg.sample as u64)
            .map(|k| k * cfg.instances / cfg.sample.max(1) as u64)
            .collect();
        let mut sampled: Vec<Option<InstanceErrors>> = vec![None; sample.len()];
        // at most one batch up front: the vector grows only as results arrive
        let mut per_instance: Vec<f32> =
            Vec::with_capacity(cfg.instances.min(batch as u64) as usize);
        let mut host_hist = vec![0u64; HISTOGRAM_BUCKETS];
        let (mut failures, mut refused) = (0u64, 0u64);
        let mut host_worst = (0u64, InstanceErrors::from_raw([0.0, 0.0, -1.0, 0.0]));

        let start = Instant::now();
        let mut first = 0u64;
        while first < cfg.instances {
            let count = (cfg.instances - first).min(batch as u64) as usize;
            let ci = int_arg("batch", count)?;
            let launch = LaunchConfig {
                grid_dim: (grid.min(count) as u32, 1, 1),
                block_dim: (THREADS, 1, 1),
                shared_mem_bytes: (4 * l) as u32,
            };
            let mut b = s.launch_builder(&f);
            b.arg(&cfg.seed)
                .arg(&first)
                .arg(&ci)
                .arg(&li)
                .arg(&ni)
                .arg(&g32)
                .arg(&g64)
                .arg(&mut scratch_f)
                .arg(&mut scratch_d)
                .arg(&mut results)
                .arg(&mut worst)
                .arg(&mut hist);
            // SAFETY: arguments match `theorem_check`; scratch holds `grid` blocks of
            // 5·L·N floats and 2·L·N doubles, results `batch` × 4 floats, shared memory L floats.
            unsafe { b.launch(launch) }.map_err(driver("launch of theorem_check"))?;
            let raw = s
                .clone_dtoh(&results)
                .map_err(driver("downloading results"))?;
            self.synchronize()?;
            for (k, r) in raw.chunks_exact(4).take(count).enumerate() {
                let idx = first + k as u64;
                let e = InstanceErrors::from_raw([r[0], r[1], r[2], r[3]]);
                let w = e.worst_ratio();
                per_instance.push(w as f32);
                host_hist[histogram_bucket(w)] += 1;
                failures += u64::from(!e.passed());
                refused += u64::from(e.factored.is_none());
                if w > host_worst.1.worst_ratio() {
                    host_worst = (idx, e);
                }
                if let Ok(p) = sample.binary_search(&idx) {
                    sampled[p] = Some(e);
                }
            }
            first += count as u64;
        }
        let w = s
            .clone_dtoh(&worst)
            .map_err(driver("downloading the worst instance"))?;
        let h = s
            .clone_dtoh(&hist)
            .map_err(driver("downloading the histogram"))?;
        self.synchronize()?;
        let elapsed_s = start.elapsed().as_secs_f64();
        let decode = |v: u64| {
            let (value, index) = worst_from_key(v);
            Worst {
                index: u64::from(index),
                value: f64::from(value),
            }
        };
        let (worst_ratio, worst_relative) = (decode(w[0]), decode(w[1]));
        let reductions_agree = h == host_hist
            && (cfg.instances == 0
                || (worst_ratio.value == host_worst.1.worst_ratio() as f32 as f64
                    && worst_ratio.index == host_worst.0 & 0xffff_ffff));

        let mut todo: Vec<(u64, Option<InstanceErrors>)> =
            sample.iter().copied().zip(sampled).collect();
        if cfg.instances > 0 && cfg.recheck_worst {
            todo.push((host_worst.0, Some(host_worst.1)));
        }
        let rechecks: Vec<Recheck> = todo
            .par_iter()
            .map(|&(i, e)| recheck(cfg.seed, i, l, n, e))
            .collect();

        Ok(CheckReport {
            config: *cfg,
            device: self.info.name.clone(),
            elapsed_s,
            instances_per_minute: cfg.instances as f64 / elapsed_s.max(1e-9) * 60.0,
            failures,
            factored_refused: refused,
            worst_ratio,
            worst_relative,
            quantiles: quantiles(&mut per_instance),
            histogram: h
                .iter()
                .enumerate()
                .filter(|(_, &c)| c > 0)
                .map(|(b, &count)| Bucket {
                    lower: bucket_lower_edge(b),
                    count,
                })
                .collect(),
            reductions_agree,
            rechecks,
        })
    }
}

/// Quantiles 0.5, 0.9, 0.99, 0.999 and 1 of the values (sorted in place).
fn quantiles(v: &mut [f32]) -> Vec<(f64, f64)> {
    if v.is_empty() {
        return Vec::new();
    }
    v.sort_by(f32::total_cmp);
    [0.5, 0.9, 0.99, 0.999, 1.0]
        .iter()
        .map(|&q| {
            let i = ((q * (v.len() - 1) as f64).round() as usize).min(v.len() - 1);
            (q, f64::from(v[i]))
        })
        .collect()
}

//! GPU path against the CPU path. Every test prints why and returns when there is no GPU
//! (no driver, no NVRTC, no device), so `cargo test --features cuda` passes anywhere.
#![cfg(feature = "cuda")]

use hidden_attention::gpu::{CheckConfig, Gpu, GpuError};
use hidden_attention::gpu_instances::{instance, instance_errors};
use hidden_attention::scalar::Field;
use hidden_attention::ssm::{self, selective_scan, Channel, SelectiveScanInput, StateMatrix};
use hidden_attention::tensor::Tensor;
use hidden_attention::theorems::bound::gamma;

/// The GPU, or `None` after printing why the test is skipped.
fn gpu(test: &str) -> Option<Gpu> {
    match Gpu::new(0) {
        Ok(g) => Some(g),
        Err(GpuError::Unavailable(u)) => {
            println!("{test}: skipped, {u}");
            None
        }
        Err(e) => panic!("{test}: GPU present but unusable: {e}"),
    }
}

#[test]
fn unavailable_is_a_typed_error_not_a_panic() {
    match Gpu::new(0) {
        Ok(g) => println!("GPU present: {}", g.info()),
        Err(GpuError::Unavailable(u)) => {
            assert!(!u.reason.is_empty());
            println!("no GPU: {}", u.reason);
        }
        Err(e) => panic!("unexpected error kind: {e}"),
    }
    // a device ordinal far beyond any machine is unavailable too
    assert!(matches!(Gpu::new(1 << 20), Err(GpuError::Unavailable(_))));
}

#[test]
fn info_has_plausible_values() {
    let Some(g) = gpu("info_has_plausible_values") else {
        return;
    };
    let i = g.info();
    assert!(i.total_memory > 0 && i.free_memory <= i.total_memory);
    assert!(i.compute_capability.0 >= 3);
    assert!(
        i.peak_bandwidth > 1e10,
        "peak bandwidth {}",
        i.peak_bandwidth
    );
}

fn channels(count: usize, len: usize, state: usize) -> Vec<Channel<f32>> {
    (0..count as u64)
        .map(|i| instance(99, i, len, state).0)
        .collect()
}

#[test]
fn hidden_attention_matches_cpu() {
    let Some(g) = gpu("hidden_attention_matches_cpu") else {
        return;
    };
    // L not a multiple of the tile, several row and column tiles, N = 16 and N = 5
    for (len, state) in [(100, 16), (37, 5), (1, 1), (64, 32)] {
        let chans = channels(6, len, state);
        let got = g.attention_matrices(&chans).expect("GPU hidden attention");
        assert_eq!(got.len(), chans.len());
        let gm = gamma(len + state + 4, f32::unit_roundoff());
        for (ch, m) in chans.iter().zip(&got) {
            let ch64 = ch.map(|v| f64::from(*v));
            let exact = ssm::attention_matrix(&ch64).unwrap();
            let mag = ssm::attention_matrix(&ch64.map(|v| v.abs())).unwrap();
            for i in 0..len {
                for j in 0..len {
                    let (e, a) = (*exact.get(i, j), f64::from(*m.get(i, j)));
                    let bound = gm * mag.get(i, j) + 1e-36;
                    if j > i {
                        assert_eq!(a, 0.0, "α̃[{i}][{j}] above the diagonal");
                    } else {
                        assert!(
                            (a - e).abs() <= bound,
                            "L {len} N {state} α̃[{i}][{j}] = {a}, f64 {e}, bound {bound}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn hidden_attention_rejects_bad_input() {
    let Some(g) = gpu("hidden_attention_rejects_bad_input") else {
        return;
    };
    let mut chans = channels(2, 8, 2);
    chans.push(instance(1, 1, 9, 2).0);
    assert!(matches!(
        g.attention_matrices(&chans),
        Err(GpuError::Input(_))
    ));
    assert!(matches!(
        g.attention_matrices(&channels(1, 8, 33)),
        Err(GpuError::Input(_))
    ));
}

fn scan_input(
    batch: usize,
    dim: usize,
    len: usize,
    state: usize,
    z: bool,
) -> SelectiveScanInput<f32> {
    let vals = |n: usize, s: u64| -> Vec<f32> {
        (0..n)
            .map(|i| instance(s, i as u64, 1, 1).1[0] * 0.5)
            .collect()
    };
    let t = |name: &str, shape: Vec<usize>, s: u64| {
        let n = shape.iter().product();
        Tensor::new(name, shape, vals(n, s)).unwrap()
    };
    SelectiveScanInput {
        u: t("u", vec![batch, dim, len], 1),
        delta: t("delta", vec![batch, dim, len], 2),
        a: StateMatrix::Real(
            Tensor::new(
                "A",
                vec![dim, state],
                vals(dim * state, 3)
                    .iter()
                    .map(|v| -(0.5 + v.abs()))
                    .collect(),
            )
            .unwrap(),
        ),
        b: t("B", vec![batch, state, len], 4),
        c: t("C", vec![batch, state, len], 5),
        d: Some(t("D", vec![dim], 6)),
        z: z.then(|| t("z", vec![batch, dim, len], 7)),
        delta_bias: Some(t("delta_bias", vec![dim], 8)),
        delta_softplus: true,
    }
}

#[test]
fn selective_scan_matches_cpu() {
    let Some(g) = gpu("selective_scan_matches_cpu") else {
        return;
    };
    for (batch, dim, len, state, z) in [
        (2, 3, 70, 16, true),
        (1, 5, 33, 40, false),
        (3, 2, 1, 1, true),
    ] {
        let input = scan_input(batch, dim, len, state, z);
        let got = g.selective_scan(&input).expect("GPU scan");
        let input64 = SelectiveScanInput {
            u: input.u.map(|v| f64::from(*v)),
            delta: input.delta.map(|v| f64::from(*v)),
            a: match &input.a {
                StateMatrix::Real(a) => StateMatrix::Real(a.map(|v| f64::from(*v))),
                StateMatrix::Complex { .. } => unreachable!(),
            },
            b: input.b.map(|v| f64::from(*v)),
            c: input.c.map(|v| f64::from(*v)),
            d: input.d.as_ref().map(|t| t.map(|v| f64::from(*v))),
            z: input.z.as_ref().map(|t| t.map(|v| f64::from(*v))),
            delta_bias: input.delta_bias.as_ref().map(|t| t.map(|v| f64::from(*v))),
            delta_softplus: true,
        };
        let want = selective_scan(&input64).unwrap();
        let cpu32 = selective_scan(&input).unwrap();
        assert_eq!(got.out.shape(), want.out.shape());
        // GPU f32 against f64: no worse than 4× the CPU f32 error plus a few ulps of scale
        let scale = want.out.data().iter().fold(1e-30f64, |m, v| m.max(v.abs()));
        let err = |a: &[f32]| {
            a.iter()
                .zip(want.out.data())
                .map(|(x, y)| (f64::from(*x) - y).abs())
                .fold(0.0, f64::max)
        };
        let (eg, ec) = (err(got.out.data()), err(cpu32.out.data()));
        assert!(
            eg <= 4.0 * ec + 64.0 * f64::from(f32::EPSILON) * scale,
            "GPU error {eg}, CPU f32 error {ec}, scale {scale}"
        );
        for (x, y) in got.last_state.data().iter().zip(want.last_state.data()) {
            assert!(
                (f64::from(*x) - y).abs() <= 1e-4 * (1.0 + y.abs()),
                "last_state {x} vs {y}"
            );
        }
    }
}

#[test]
fn theorem_check_agrees_with_cpu_mirror() {
    let Some(g) = gpu("theorem_check_agrees_with_cpu_mirror") else {
        return;
    };
    let cfg = CheckConfig {
        instances: 3000,
        len: 96,
        state: 8,
        seed: 5,
        sample: 6,
        batch: 1024,
    };
    let r = g.theorem_check(&cfg).expect("GPU theorem check");
    assert_eq!(r.failures, 0, "{r:?}");
    assert!(
        r.reductions_agree,
        "device reductions disagree with per-instance results"
    );
    assert_eq!(
        r.histogram.iter().map(|b| b.count).sum::<u64>(),
        cfg.instances
    );
    assert!(r.passed(), "{r:?}");
    for k in &r.rechecks {
        let gpu = k.gpu.expect("sampled instances carry the GPU's numbers");
        // same instance bits, same operation order, no FMA: the scan and factored
        // ratios agree with the CPU mirror up to the f32 rounding of the report
        assert!(
            (gpu.scan - k.cpu.scan).abs() <= 1e-6 * (1.0 + k.cpu.scan),
            "{k:?}"
        );
        assert_eq!(gpu.factored.is_some(), k.cpu.factored.is_some(), "{k:?}");
        let (ch, x) = instance(cfg.seed, k.index, cfg.len, cfg.state);
        assert_eq!(instance_errors(&ch, &x), k.cpu);
    }
}

#[test]
fn theorem_check_rejects_bad_sizes() {
    let Some(g) = gpu("theorem_check_rejects_bad_sizes") else {
        return;
    };
    for (len, state) in [(0, 4), (16, 0), (16, 65), (9000, 4)] {
        let cfg = CheckConfig {
            instances: 4,
            len,
            state,
            ..CheckConfig::default()
        };
        assert!(
            matches!(g.theorem_check(&cfg), Err(GpuError::Input(_))),
            "L {len} N {state}"
        );
    }
}

//! GPU path against the CPU path. Every GPU test prints why and returns when there is no
//! GPU (no driver, no NVRTC, no device), so `cargo test --features cuda` passes anywhere;
//! with `HATTN_REQUIRE_GPU=1` each of them fails instead, naming why. The rest needs no
//! GPU: the NVRTC search, launch grids, `hattn gpu info` against the NVRTC wheel named by
//! `HATTN_NVRTC_WHEEL` (CI installs it), and `scripts/gpu-check.sh` run from prebuilt
//! binaries. (Compiling every kernel with NVRTC, and the choice rules:
//! `tests/gpu_instances.rs`.)
#![cfg(feature = "cuda")]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use hidden_attention::gpu::discovery::{self, Candidate, Origin};
use hidden_attention::gpu::{CheckConfig, Gpu, GpuError, Nvrtc};
use hidden_attention::gpu_instances::{instance, instance_errors};
use hidden_attention::scalar::Field;
use hidden_attention::ssm::{self, selective_scan, Channel, SelectiveScanInput, StateMatrix};
use hidden_attention::tensor::Tensor;
use hidden_attention::theorems::bound::gamma;

/// The tests that need a GPU (each fails under `HATTN_REQUIRE_GPU=1` without one).
const GPU_TESTS: [&str; 7] = [
    "hidden_attention_matches_cpu",
    "hidden_attention_rejects_bad_input",
    "info_has_plausible_values",
    "selective_scan_matches_cpu",
    "theorem_check_agrees_with_cpu_mirror",
    "theorem_check_rejects_bad_sizes",
    "unavailable_is_a_typed_error_not_a_panic",
];

/// Whether `HATTN_REQUIRE_GPU=1`: a missing GPU is then a failure.
fn require_gpu() -> bool {
    std::env::var("HATTN_REQUIRE_GPU").is_ok_and(|v| v == "1")
}

/// The `lib` folder of the NVRTC wheel named by `HATTN_NVRTC_WHEEL` (CI sets it).
fn wheel_nvrtc() -> Option<PathBuf> {
    std::env::var_os("HATTN_NVRTC_WHEEL")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// The GPU, or `None` after printing why the test is skipped; with `HATTN_REQUIRE_GPU=1`
/// a missing GPU fails the test with the reason.
fn gpu(test: &str) -> Option<Gpu> {
    match Gpu::new(0) {
        Ok(g) => Some(g),
        Err(GpuError::Unavailable(u)) => {
            assert!(!require_gpu(), "{test}: HATTN_REQUIRE_GPU=1 but {u}");
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
            assert!(!require_gpu(), "HATTN_REQUIRE_GPU=1 but {u}");
            println!("no GPU: {}", u.reason);
        }
        Err(e) => panic!("unexpected error kind: {e}"),
    }
    // a device ordinal far beyond any machine is unavailable too
    assert!(matches!(Gpu::new(1 << 20), Err(GpuError::Unavailable(_))));
}

#[test]
fn probe_reports_driver_and_nvrtc_separately() {
    let p = hidden_attention::gpu::probe();
    let text = p.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("driver: "), "{text}");
    assert!(lines[1].starts_with("NVRTC: "), "{text}");
    assert_eq!(
        p.driver.is_ok(),
        lines[0].starts_with("driver: found"),
        "{text}"
    );
    assert_eq!(
        p.nvrtc.is_ok(),
        lines[1].starts_with("NVRTC: found"),
        "{text}"
    );
    assert_eq!(p.driver_json()["found"], p.driver.is_ok());
    assert_eq!(p.nvrtc_json()["found"], p.nvrtc.is_ok());
    if let Some(dir) = wheel_nvrtc() {
        // this process was not pointed at the wheel: finding it is the binary test's job
        println!("wheel at {}", dir.display());
    }
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
        recheck_worst: true,
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

// ---- NVRTC, discovery and launch shapes: no GPU needed ----

#[test]
fn nvrtc_search_finds_a_library_in_an_explicit_folder() {
    let dir = scratch_dir("nvrtc-search");
    std::fs::write(dir.join("libnvrtc.so.13"), b"not a library").unwrap();
    std::fs::write(dir.join("libnvrtc-builtins.so.13.0"), b"").unwrap();
    let files = discovery::nvrtc_files_in(&dir);
    assert_eq!(files, vec![dir.join("libnvrtc.so.13")]);
    assert_eq!(
        discovery::builtins_beside(&files[0], (13, 0)),
        Some(std::fs::canonicalize(dir.join("libnvrtc-builtins.so.13.0")).unwrap())
    );
    assert_eq!(discovery::builtins_beside(&files[0], (13, 1)), None);
    // a file that is not NVRTC is reported by name, not loaded blindly
    let e = Nvrtc::from_candidates(
        vec![Candidate {
            path: files[0].clone(),
            origin: Origin::Explicit,
        }],
        None,
    )
    .unwrap_err();
    assert!(e.contains("libnvrtc.so.13"), "{e}");
    let e = Nvrtc::from_candidates(Vec::new(), None).unwrap_err();
    assert!(e.contains("not found"), "{e}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn attention_grids_limit_only_the_grid() {
    use hidden_attention::gpu::attention::{launch_grids, MAX_GRID};
    // the bench's layer: 1536 channels × 32 row tiles; prepare: × 16 states / 256
    assert_eq!(launch_grids(1536, 1024, 16).unwrap(), (3072, 49152));
    // channels · L · L ≥ 2^31 is fine: the kernels use 64-bit offsets
    // (3000 · 1024 · 1024 ≈ 3.1e9 > 2^31)
    assert!(launch_grids(3000, 1024, 16).is_ok());
    // L = 0 and no channel: one (idle) block each
    assert_eq!(launch_grids(4, 0, 16).unwrap(), (1, 1));
    assert_eq!(launch_grids(0, 64, 16).unwrap(), (1, 1));
    // one block per (channel, row tile): at most 2^31 - 1 of them
    let tiles = MAX_GRID / 32;
    assert!(launch_grids(tiles, 1024, 1).is_ok());
    let e = launch_grids(tiles + 1, 1024, 1).unwrap_err().to_string();
    assert!(e.contains("attention_tiles"), "{e}");
    assert!(launch_grids(usize::MAX / 2, 1024, 16).is_err());
    assert!(launch_grids(1, 1 << 31, 1).is_err());
}

/// A fresh empty folder under the system's temporary folder.
fn scratch_dir(what: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let d = std::env::temp_dir().join(format!("hattn-{what}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn gpu_info_finds_the_wheel_nvrtc_and_no_driver() {
    let Some(dir) = wheel_nvrtc() else {
        println!(
            "gpu_info_finds_the_wheel_nvrtc_and_no_driver: skipped, HATTN_NVRTC_WHEEL is not set"
        );
        return;
    };
    if hidden_attention::gpu::probe().driver.is_ok() {
        println!(
            "gpu_info_finds_the_wheel_nvrtc_and_no_driver: skipped, this machine has a CUDA driver"
        );
        return;
    }
    let run = |json: bool| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_hattn"));
        c.args(["gpu", "info"])
            .env("LD_LIBRARY_PATH", &dir)
            .env_remove("HATTN_NVRTC");
        if json {
            c.arg("--json");
        }
        let o = c.output().unwrap();
        assert!(o.status.success(), "{o:?}");
        String::from_utf8(o.stdout).unwrap()
    };
    let text = run(false);
    println!("{text}");
    let nvrtc = text
        .lines()
        .find(|l| l.starts_with("NVRTC: "))
        .unwrap_or_default();
    assert!(nvrtc.starts_with("NVRTC: found 13."), "{text}");
    assert!(
        nvrtc.contains(dir.to_str().unwrap()) && nvrtc.contains("LD_LIBRARY_PATH"),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l.starts_with("driver: not found")),
        "{text}"
    );
    assert!(text.lines().any(|l| l.starts_with("no GPU: ")), "{text}");
    let v: serde_json::Value = serde_json::from_str(&run(true)).unwrap();
    assert_eq!(v["available"], false);
    assert_eq!(v["driver"]["found"], false);
    assert_eq!(v["nvrtc"]["found"], true);
    assert!(
        v["nvrtc"]["version"].as_str().unwrap().starts_with("13."),
        "{v}"
    );
    assert_eq!(v["nvrtc"]["origin"], "library-path");
    assert!(
        v["nvrtc"]["builtins"]
            .as_str()
            .unwrap()
            .contains("libnvrtc-builtins.so.13."),
        "{v}"
    );
}

#[test]
fn gpu_check_script_without_gpu_ends_fast_with_a_no_gpu_summary() {
    if std::env::var_os("HATTN_IN_GPU_CHECK").is_some() {
        println!("gpu_check_script: skipped inside the script itself");
        return;
    }
    if Gpu::new(0).is_ok() {
        println!("gpu_check_script: skipped, a GPU is present (the script would run in full)");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let work = scratch_dir("gpu-check");
    let (out, bin) = (work.join("out"), work.join("bin"));
    std::fs::create_dir_all(&bin).unwrap();
    // a `cargo` first on PATH that records being called
    let called = work.join("cargo-was-called");
    let fake = bin.join("cargo");
    std::fs::write(
        &fake,
        format!("#!/bin/sh\ntouch '{}'\nexit 1\n", called.display()),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let start = Instant::now();
    let o = Command::new("bash")
        .arg(root.join("scripts/gpu-check.sh"))
        .arg(&out)
        .env("HATTN", env!("CARGO_BIN_EXE_hattn"))
        .env("CUDA_TEST", std::env::current_exe().unwrap())
        .env("PATH", path)
        .output()
        .unwrap();
    let took = start.elapsed();
    let log = format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(took < Duration::from_secs(60), "took {took:?}\n{log}");
    assert!(!o.status.success(), "no GPU must not pass\n{log}");
    assert!(!called.exists(), "the script called cargo\n{log}");
    let archive = out.join("gpu-check.tar.gz");
    assert!(archive.is_file(), "{log}");
    let listing = Command::new("tar")
        .arg("-tzf")
        .arg(&archive)
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout);
    for f in [
        "summary.txt",
        "info.log",
        "info.json",
        "tests.log",
        "machine.txt",
    ] {
        assert!(
            listing.lines().any(|l| l.ends_with(f)),
            "{f} missing from the archive:\n{listing}"
        );
    }
    let summary = Command::new("tar")
        .arg("-xzOf")
        .arg(&archive)
        .arg("gpu-check/summary.txt")
        .output()
        .unwrap();
    let summary = String::from_utf8_lossy(&summary.stdout);
    assert!(
        summary.lines().next().unwrap_or("").starts_with("NO GPU: "),
        "{summary}"
    );
    // the GPU tests ran under HATTN_REQUIRE_GPU=1 and failed, saying why
    let tests = Command::new("tar")
        .arg("-xzOf")
        .arg(&archive)
        .arg("gpu-check/tests.log")
        .output()
        .unwrap();
    let tests = String::from_utf8_lossy(&tests.stdout);
    assert!(
        tests.contains("HATTN_REQUIRE_GPU=1 but GPU unavailable"),
        "{tests}"
    );
    // exactly the tests that need a GPU failed, each one
    // (the list after libtest's last `failures:` line)
    let list = tests.rsplit("\nfailures:\n").next().unwrap_or("");
    let mut failed: Vec<&str> = list
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect();
    failed.sort_unstable();
    assert_eq!(failed, GPU_TESTS, "{tests}");
    std::fs::remove_dir_all(&work).ok();
}

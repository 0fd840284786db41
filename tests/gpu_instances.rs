//! The CPU mirror of the GPU instance generator and error measure (no CUDA needed), and
//! static sanity checks of the kernel sources.

use hidden_attention::gpu_instances::{
    bucket_lower_edge, decay_exponent, draw, histogram_bucket, instance, instance_errors,
    instance_key, mix64, recheck, signed_value, transition_value, InstanceErrors, CUDA_SOURCE,
    GOLDEN, HISTOGRAM_BUCKETS, MIX1, MIX2,
};

const KERNELS: [(&str, &str); 4] = [
    (
        "instances.cu",
        include_str!("../src/gpu/kernels/instances.cu"),
    ),
    ("scan.cu", include_str!("../src/gpu/kernels/scan.cu")),
    (
        "attention.cu",
        include_str!("../src/gpu/kernels/attention.cu"),
    ),
    ("check.cu", include_str!("../src/gpu/kernels/check.cu")),
];

#[test]
fn splitmix_known_answer() {
    // The first output of SplitMix64 from state 0 (Steele, Lea, Flood 2014).
    assert_eq!(mix64(GOLDEN), 0xE220_A839_7B1D_CDAF);
    assert_eq!(mix64(0), 0);
}

#[test]
fn generator_pinned_values() {
    // Any change here changes every device instance: keep Rust and CUDA in step.
    let key = instance_key(0, 0);
    assert_eq!(key, mix64(mix64(GOLDEN)));
    let (ch, x) = instance(0, 0, 4, 2);
    let again = instance(0, 0, 4, 2);
    assert_eq!(again.0, ch);
    assert_eq!(again.1, x);
    assert_eq!(x[0], signed_value(draw(key, 4, 0)));
    let k1 = decay_exponent(draw(key, 0, 1));
    assert_eq!(ch.abar(1)[1], transition_value(draw(key, 1, 3), k1));
    assert_eq!(ch.bbar(2)[0], signed_value(draw(key, 2, 4)));
    assert_eq!(ch.c(3)[1], signed_value(draw(key, 3, 7)));
}

#[test]
fn instances_differ_by_index_and_seed() {
    let a = instance(5, 10, 8, 3);
    let b = instance(5, 11, 8, 3);
    let c = instance(6, 10, 8, 3);
    assert_ne!(a.1, b.1);
    assert_ne!(a.1, c.1);
    assert_ne!(a.0.abar_all(), b.0.abar_all());
}

#[test]
fn values_are_exact_dyadics_in_range() {
    for i in 0..20 {
        let (ch, x) = instance(42, i, 16, 8);
        for &a in ch.abar_all() {
            assert!((5.960_464_5e-8..1.0).contains(&a), "Ā = {a}");
            let m = f64::from(a) * 16_777_216.0;
            assert_eq!(m, m.round(), "Ā = {a} is not on the grid 2^-24");
        }
        for &v in ch.bbar_all().iter().chain(ch.c_all()).chain(&x) {
            assert!((-2.0..2.0).contains(&v), "value {v}");
            let m = f64::from(v) * 4_194_304.0;
            assert_eq!(m, m.round(), "value {v} is not on the grid 2^-22");
        }
    }
}

#[test]
fn value_maps_edges() {
    assert_eq!(signed_value(0), -2.0);
    assert_eq!(signed_value(u64::MAX), 2.0 - 1.0 / 4_194_304.0);
    assert_eq!(transition_value(0, 0), 1.0 - 1.0 / 16_777_216.0);
    assert_eq!(transition_value(u64::MAX, 0), 1.0 / 16_777_216.0);
    assert_eq!(transition_value(u64::MAX, 24), 1.0 - 1.0 / 16_777_216.0);
    assert!((0..200).all(|i| decay_exponent(mix64(i)) <= 24));
}

#[test]
fn cuda_source_has_the_same_constants() {
    let src: String = CUDA_SOURCE.chars().filter(|c| !c.is_whitespace()).collect();
    for (name, v) in [("HA_GOLDEN", GOLDEN), ("HA_MIX1", MIX1), ("HA_MIX2", MIX2)] {
        let want = format!("#define{name}0x{v:016X}ULL");
        assert!(src.contains(&want), "instances.cu lacks {want}");
    }
    for want in [
        "#defineHA_STREAM_DECAY0u",
        "#defineHA_STREAM_ABAR1u",
        "#defineHA_STREAM_BBAR2u",
        "#defineHA_STREAM_C3u",
        "#defineHA_STREAM_X4u",
        "#defineHA_MAX_DECAY24ULL",
        "-8388608LL",
        "*2.384185791015625e-07f",
        "16777216ULL-d",
        "*5.9604644775390625e-08f",
        "(z^(z>>30))*HA_MIX1",
        "(z^(z>>27))*HA_MIX2",
        "z^(z>>31)",
        "ha_mix64(seed^ha_mix64(instance+HA_GOLDEN))",
        "ha_mix64(key+counter*HA_GOLDEN)",
    ] {
        assert!(src.contains(want), "instances.cu lacks `{want}`");
    }
    // the decimal literals of instances.cu are exactly 2^-22 and 2^-24
    assert_eq!(2.384185791015625e-7_f64, f64::from(1.0f32 / 4_194_304.0));
    assert_eq!(
        5.960_464_477_539_063e-8_f64,
        f64::from(1.0f32 / 16_777_216.0)
    );
}

#[test]
fn kernel_sources_are_balanced_and_export_their_kernels() {
    for (name, src) in KERNELS {
        // strip comments, then check bracket balance
        let code: String = src
            .lines()
            .map(|l| l.split("//").next().unwrap_or(""))
            .collect::<Vec<_>>()
            .join("\n");
        for (open, close) in [('{', '}'), ('(', ')'), ('[', ']')] {
            let mut depth = 0i64;
            for ch in code.chars() {
                if ch == open {
                    depth += 1;
                } else if ch == close {
                    depth -= 1;
                }
                assert!(depth >= 0, "{name}: unbalanced {close}");
            }
            assert_eq!(depth, 0, "{name}: unbalanced {open}{close}");
        }
        assert!(!code.contains("#include"), "{name}: NVRTC gets no headers");
        assert!(
            !code.contains("template"),
            "{name}: keep kernels template-free"
        );
    }
    for (file, kernel) in [
        ("scan.cu", "selective_scan"),
        ("attention.cu", "attention_prepare"),
        ("attention.cu", "attention_tiles"),
        ("check.cu", "theorem_check"),
    ] {
        let src = KERNELS.iter().find(|k| k.0 == file).unwrap().1;
        // `extern "C" __global__ void [__launch_bounds__(…)] kernel(`
        assert!(
            src.lines()
                .any(|l| l.starts_with("extern \"C\" __global__ void ")
                    && l.contains(&format!(" {kernel}("))),
            "{file} does not export {kernel}"
        );
    }
}

#[test]
fn cpu_measure_passes_and_matches_exact_recheck() {
    let (mut refused, mut kept) = (0, 0);
    for i in 0..24 {
        let (ch, x) = instance(3, i, 160, 4);
        let e = instance_errors(&ch, &x);
        assert!(e.passed(), "instance {i}: {e:?}");
        assert!(e.relative < 1e-4, "instance {i}: {e:?}");
        match e.factored {
            Some(_) => kept += 1,
            None => refused += 1,
        }
    }
    // the decay exponents make both cases common
    assert!(refused > 0 && kept > 0, "refused {refused}, kept {kept}");
    for i in [0, 7] {
        let r = recheck(3, i, 32, 4, None);
        assert!(r.passed(), "{r:?}");
        assert!(r.exact_f32.is_some() && r.exact_f64.is_some());
        assert!(r.exact_f64.unwrap() < 1e-12);
    }
}

#[test]
fn gpu_report_failure_fails_the_recheck() {
    let bad = InstanceErrors {
        scan: 0.1,
        attention: 3.0,
        factored: None,
        relative: 1e-3,
    };
    let r = recheck(3, 1, 16, 2, Some(bad));
    assert!(r.counterexample.is_none());
    assert!(!r.passed());
    assert!(InstanceErrors::from_raw([0.0, f32::NAN, -1.0, 0.0])
        .worst_ratio()
        .is_infinite());
    let raw = InstanceErrors::from_raw([0.5, 0.25, -1.0, 1e-7]);
    assert_eq!(raw.factored, None);
    assert!(raw.passed());
}

#[test]
fn histogram_buckets() {
    assert_eq!(histogram_bucket(0.0), 0);
    assert_eq!(histogram_bucket(1.0), 41);
    assert_eq!(histogram_bucket(0.999), 40);
    assert_eq!(histogram_bucket(0.5), 40);
    assert_eq!(histogram_bucket(1e-300), 1);
    assert_eq!(histogram_bucket(f64::INFINITY), HISTOGRAM_BUCKETS - 1);
    assert_eq!(histogram_bucket(1e30), HISTOGRAM_BUCKETS - 1);
    for b in 1..HISTOGRAM_BUCKETS - 1 {
        assert_eq!(histogram_bucket(bucket_lower_edge(b)), b);
    }
}

#[test]
fn worst_key_prefers_larger_values_then_lower_indices() {
    use hidden_attention::gpu_instances::{worst_from_key, worst_key};
    // the device's atomicMax over these keys and the host's in-order scan with a strict
    // `>` pick the same instance: the largest value, and on ties the lowest index
    assert!(worst_key(0.5, 7) > worst_key(0.5, 8));
    assert!(worst_key(0.5, u32::MAX) > worst_key(0.25, 0));
    assert!(worst_key(f32::INFINITY, 9) > worst_key(f32::MAX, 0));
    assert!(worst_key(0.0, 0) > worst_key(0.0, 1));
    let values = [0.25f32, 0.75, 0.5, 0.75, 0.1, 0.75];
    let device = (0..values.len() as u32)
        .map(|i| worst_key(values[i as usize], i))
        .max()
        .unwrap();
    let mut host = (0usize, -1.0f32);
    for (i, &v) in values.iter().enumerate() {
        if v > host.1 {
            host = (i, v);
        }
    }
    assert_eq!(worst_from_key(device), (0.75, 1));
    assert_eq!(worst_from_key(device), (host.1, host.0 as u32));
    for (v, i) in [(0.0f32, 0u32), (1.5, 12345), (f32::INFINITY, u32::MAX)] {
        assert_eq!(worst_from_key(worst_key(v, i)), (v, i));
    }
    // check.cu encodes the key the same way
    let check = KERNELS.iter().find(|k| k.0 == "check.cu").unwrap().1;
    let code: String = check.chars().filter(|c| !c.is_whitespace()).collect();
    assert!(
        code.contains("constu64off=(u64)(0xffffffffu-(u32)(first_instance+(u64)inst));"),
        "check.cu: worst-instance key"
    );
    assert!(code.contains("((u64)__float_as_uint(wf)<<32)|off"));
}

/// Every kernel compiled by NVRTC with the options the GPU path passes, and what the PTX
/// of `attention_tiles` must not contain; no GPU needed, only an NVRTC library (required
/// when `HATTN_NVRTC_WHEEL` names the `lib` folder of the `nvidia-cuda-nvrtc` wheel). Also
/// the rules that choose an NVRTC and the compile target.
#[cfg(feature = "cuda")]
mod nvrtc_compile {
    use std::path::{Path, PathBuf};

    use hidden_attention::gpu::discovery::{self, Candidate, Origin};
    use hidden_attention::gpu::{Compiled, Nvrtc, Program, Target};

    fn wheel_nvrtc() -> Option<PathBuf> {
        std::env::var_os("HATTN_NVRTC_WHEEL")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    }

    /// NVRTC for the compile tests: the wheel's when `HATTN_NVRTC_WHEEL` is set (then it must
    /// load), else whatever the search finds, else `None` (skip).
    fn nvrtc(test: &str) -> Option<Nvrtc> {
        if let Some(dir) = wheel_nvrtc() {
            let cands: Vec<Candidate> = discovery::nvrtc_files_in(&dir)
                .into_iter()
                .map(|path| Candidate {
                    path,
                    origin: Origin::Explicit,
                })
                .collect();
            return Some(
                Nvrtc::from_candidates(cands, None)
                    .unwrap_or_else(|e| panic!("{test}: HATTN_NVRTC_WHEEL={}: {e}", dir.display())),
            );
        }
        match Nvrtc::discover(None) {
            Ok(n) => Some(n),
            Err(e) => {
                println!("{test}: skipped, {e}");
                None
            }
        }
    }

    #[test]
    fn nvrtc_compiles_every_kernel_for_ampere_and_hopper() {
        let Some(nv) = nvrtc("nvrtc_compiles_every_kernel_for_ampere_and_hopper") else {
            return;
        };
        println!("{:?}", nv.found());
        let archs = nv.supported_architectures();
        assert!(archs.contains(&80) && archs.contains(&90), "{archs:?}");
        // what Gpu::new picks on an A100 and an H100/H200: machine code for the device
        assert_eq!(Target::for_device((9, 0), &archs), Target::Cubin(90));
        assert_eq!(Target::for_device((8, 0), &archs), Target::Cubin(80));
        for program in Program::all(&[1, 5, 16, 32]) {
            for target in [Target::Cubin(80), Target::Cubin(90)] {
                let options = program.options(target);
                match nv.compile(program.file, &program.source(), &options, target) {
                    Ok(Compiled::Cubin(bin)) => {
                        assert!(
                            bin.starts_with(b"\x7fELF"),
                            "{program} {target:?}: not an ELF image"
                        )
                    }
                    Ok(other) => {
                        panic!("{program} {target:?}: expected machine code, got {other:?}")
                    }
                    Err(e) => panic!("{program} {target:?}: {e}"),
                }
            }
        }
    }

    /// The instructions of kernel `entry` in PTX text.
    fn ptx_of<'a>(ptx: &'a str, entry: &str) -> &'a str {
        let start = ptx
            .find(&format!(".entry {entry}("))
            .unwrap_or_else(|| panic!("no entry {entry}"));
        let rest = &ptx[start..];
        let end = rest[1..].find(".entry ").map_or(rest.len(), |e| e + 1);
        &rest[..end]
    }

    #[test]
    fn attention_tiles_ptx_has_no_division_one_barrier_no_local_memory() {
        let Some(nv) = nvrtc("attention_tiles_ptx_has_no_division_one_barrier_no_local_memory")
        else {
            return;
        };
        for n in [5, 16, 32] {
            let program = Program::attention(n);
            let target = Target::Ptx(90);
            let Ok(Compiled::Ptx(ptx)) = nv.compile(
                program.file,
                &program.source(),
                &program.options(target),
                target,
            ) else {
                panic!("{program}: no PTX");
            };
            let tiles = ptx_of(&ptx, "attention_tiles");
            // opcodes, past an optional predicate `@%p1` / `@!%p1`
            let ops: Vec<&str> = tiles
                .lines()
                .filter_map(|l| {
                    let mut w = l.split_whitespace();
                    let first = w.next()?;
                    if first.starts_with('@') {
                        w.next()
                    } else {
                        Some(first)
                    }
                })
                .collect();
            let count = |pat: &str| ops.iter().filter(|o| o.starts_with(pat)).count();
            // the issue-bound work the restructuring removed: divisions in the fills, three
            // barriers per column tile, register arrays in local memory
            for div in [
                "div.s64", "div.u64", "rem.s64", "rem.u64", "div.s32", "rem.s32",
            ] {
                assert_eq!(count(div), 0, "{program}: {div} in attention_tiles");
            }
            assert_eq!(count("bar.sync"), 1, "{program}: barriers");
            assert!(!tiles.contains(".local"), "{program}: local memory");
            // the column-tile loop reads the queries as 16-byte broadcasts
            assert!(count("ld.shared.v4.f32") >= 4 * n.div_ceil(4), "{program}");
        }
    }

    #[test]
    fn nvrtc_compile_errors_carry_the_log() {
        let Some(nv) = nvrtc("nvrtc_compile_errors_carry_the_log") else {
            return;
        };
        let target = Target::Cubin(90);
        // attention.cu without its state size refuses to compile, saying why
        let mut options = Program::attention(16).options(target);
        options.retain(|o| !o.starts_with("-DHA_N"));
        let e = nv
            .compile(
                "attention.cu",
                &Program::attention(16).source(),
                &options,
                target,
            )
            .unwrap_err();
        assert_eq!(e.what, "compile");
        assert!(e.log.contains("-DHA_N"), "{e}");
        let e = nv
            .compile(
                "bad.cu",
                "extern \"C\" __global__ void f() { undeclared(); }",
                &options,
                target,
            )
            .unwrap_err();
        assert!(e.log.contains("undeclared"), "{e}");
    }

    #[test]
    fn nvrtc_choice_prefers_the_version_the_driver_supports() {
        use discovery::choose;
        let v = [(13, 2), (13, 0), (12, 4), (13, 0)];
        // a 13.0 driver: the newest not newer than it, the first of equals
        assert_eq!(choose(&v, Some((13, 0))), Some(1));
        assert_eq!(choose(&v, Some((12, 8))), Some(2));
        // every candidate newer than the driver: the oldest
        assert_eq!(choose(&v, Some((12, 0))), Some(2));
        // no driver: the newest
        assert_eq!(choose(&v, None), Some(0));
        assert_eq!(choose(&[], Some((13, 0))), None);
        // names: the library and its versioned names, not the builtins, the alt build or archives
        for ok in [
            "libnvrtc.so",
            "libnvrtc.so.13",
            "libnvrtc.so.13.0.88",
            "libnvrtc.so.12",
        ] {
            assert!(discovery::is_nvrtc_file_name(ok), "{ok}");
        }
        for no in [
            "libnvrtc-builtins.so.13.0",
            "libnvrtc.alt.so.13",
            "libnvrtc_static.a",
            "libnvrtc.so.",
            "libnvrtc.so.13a",
            "libnvrtc.so.13..0",
        ] {
            assert!(!discovery::is_nvrtc_file_name(no), "{no}");
        }
        let ld = "\t4 libs found in cache `/etc/ld.so.cache'\n\
                  \tlibnvrtc.so.13 (libc6,x86-64) => /usr/local/cuda/lib64/libnvrtc.so.13\n\
                  \tlibnvrtc-builtins.so.13.0 (libc6,x86-64) => /usr/local/cuda/lib64/libnvrtc-builtins.so.13.0\n\
                  \tlibnvrtc.so (libc6,x86-64) => /usr/local/cuda/lib64/libnvrtc.so\n";
        assert_eq!(
            discovery::parse_ldconfig(ld),
            vec![
                PathBuf::from("/usr/local/cuda/lib64/libnvrtc.so.13"),
                PathBuf::from("/usr/local/cuda/lib64/libnvrtc.so")
            ]
        );
        assert_eq!(
            discovery::wheel_dirs(Path::new("site"))[0],
            Path::new("site/nvidia/cu13/lib")
        );
        // a device NVRTC does not know gets PTX for the newest architecture it knows below
        assert_eq!(
            Target::for_device((10, 0), &[75, 80, 86, 90]),
            Target::Ptx(90)
        );
        assert_eq!(
            Target::for_device((9, 0), &[75, 80, 86, 90]),
            Target::Cubin(90)
        );
        assert_eq!(Target::Ptx(90).architecture(), "compute_90");
        assert_eq!(
            Program::attention(16).options(Target::Cubin(90)),
            [
                "--gpu-architecture=sm_90",
                "--fmad=true",
                "--ftz=false",
                "--prec-div=true",
                "--prec-sqrt=true",
                "--std=c++14",
                "-DHA_N=16"
            ]
        );
        assert!(Program::CHECK
            .options(Target::Cubin(90))
            .contains(&"--fmad=false".to_string()));
    }
}

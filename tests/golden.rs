//! Golden cases from independent implementations (`mamba_ssm`'s `selective_scan_ref` and
//! the paper authors' `compute_attn_matrix_fn`), in f64 and f32.

use std::path::PathBuf;

use hidden_attention::golden::{
    collect_files, load_case, run_case, CaseKind, F32_TOLERANCE, F64_TOLERANCE,
};

/// The scan and hidden-attention cases (the family cases are `tests/family.rs`'s, the
/// checkpoints `tests/model.rs`'s and `tests/mamba2.rs`'s).
fn case_files() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/golden");
    let (files, _) =
        collect_files(&[dir.join("selective_scan"), dir.join("hidden_attention")]).unwrap();
    files
}

#[test]
fn every_golden_case_passes_in_f64() {
    let files = case_files();
    assert!(files.len() >= 15, "golden cases missing: {files:?}");
    for f in files {
        let case = load_case(&f).unwrap();
        let r = run_case::<f64>(&case, F64_TOLERANCE).unwrap();
        assert!(
            r.pass,
            "{}: max_abs {:e} max_rel {:e}",
            r.name, r.max_abs, r.max_rel
        );
        assert!(r.compared > 0);
        // Far inside the tolerance: agreement to a few ulps.
        assert!(r.max_abs < 1e-13, "{}: {:e}", r.name, r.max_abs);
    }
}

#[test]
fn every_golden_case_passes_in_f32() {
    for f in case_files() {
        let case = load_case(&f).unwrap();
        let r = run_case::<f32>(&case, F32_TOLERANCE).unwrap();
        assert!(
            r.pass,
            "{}: max_abs {:e} max_rel {:e}",
            r.name, r.max_abs, r.max_rel
        );
        // mamba_ssm's f32 tolerance is atol 2e-3; we are two orders of magnitude inside.
        assert!(r.max_abs < 1e-4, "{}: {:e}", r.name, r.max_abs);
    }
}

#[test]
fn both_kinds_and_all_bc_layouts_are_covered() {
    let cases: Vec<_> = case_files().iter().map(|f| load_case(f).unwrap()).collect();
    assert!(cases.iter().any(|c| c.kind == CaseKind::HiddenAttention));
    for rank in [2, 3, 4] {
        assert!(
            cases
                .iter()
                .any(|c| c.inputs.get("B").is_some_and(|b| b.shape().len() == rank)),
            "no case with B of rank {rank}"
        );
    }
}

#[test]
fn a_wrong_expected_value_fails() {
    let f = case_files()
        .into_iter()
        .find(|f| f.to_string_lossy().contains("scan_s67"))
        .unwrap();
    let mut case = load_case(&f).unwrap();
    let out = case.expected.get_mut("out").unwrap();
    out.data_mut()[3] += 1e-9;
    let r = run_case::<f64>(&case, F64_TOLERANCE).unwrap();
    assert!(!r.pass);
    assert!(r.max_abs > 9e-10);
}

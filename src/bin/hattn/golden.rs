//! `hattn golden`: golden cases from independent implementations.

use std::path::PathBuf;
use std::process::ExitCode;

use hidden_attention::golden::{self, F32_TOLERANCE, F64_TOLERANCE};

pub fn run_golden(paths: &[PathBuf], f32: bool) -> ExitCode {
    let (files, checkpoints) = match golden::collect_files(paths) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let (tol, dtype) = if f32 {
        (F32_TOLERANCE, "f32")
    } else {
        (F64_TOLERANCE, "f64")
    };
    println!(
        "golden cases in {dtype}: pass when |got − expected| ≤ {:e} + {:e}·|expected|",
        tol.atol, tol.rtol
    );
    let mut any_fail = false;
    for dir in &checkpoints {
        match run_checkpoint(dir, f32) {
            Ok(fail) => any_fail |= fail,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
    }
    for f in &files {
        let res = golden::load_case(f).and_then(|case| {
            if f32 {
                golden::run_case::<f32>(&case, tol)
            } else {
                golden::run_case::<f64>(&case, tol)
            }
        });
        match res {
            Ok(r) => {
                println!(
                    "{:<48} max_abs {:.3e}  max_rel {:.3e}  {}",
                    r.name,
                    r.max_abs,
                    r.max_rel,
                    if r.pass { "PASS" } else { "FAIL" }
                );
                any_fail |= !r.pass;
            }
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
    }
    if files.is_empty() && checkpoints.is_empty() {
        eprintln!("error: no case files found");
        return ExitCode::from(2);
    }
    if any_fail {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Run one checkpoint case; `Ok(true)` when a part failed.
fn run_checkpoint(dir: &std::path::Path, f32: bool) -> hidden_attention::Result<bool> {
    let case = golden::load_checkpoint_case(dir)?;
    let tol = case.tolerance(f32);
    println!(
        "checkpoint {} ({}, {}): pass when |got − expected| ≤ {:e}·max|expected| + {:e}·|expected|",
        case.name,
        case.kind.model_type(),
        if f32 { "f32" } else { "f64" },
        tol.atol,
        tol.rtol
    );
    let parts = if f32 {
        golden::run_checkpoint_case::<f32>(&case, tol)?
    } else {
        golden::run_checkpoint_case::<f64>(&case, tol)?
    };
    let mut fail = false;
    for p in parts {
        println!(
            "{:<48} max_abs {:.3e}  max_rel {:.3e}  {}",
            format!("{}/{}", case.name, p.part),
            p.max_abs,
            p.max_rel,
            if p.pass { "PASS" } else { "FAIL" }
        );
        fail |= !p.pass;
    }
    Ok(fail)
}

//! `hattn golden`: golden cases from independent implementations.

use std::path::PathBuf;
use std::process::ExitCode;

use hidden_attention::family::golden as family;
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
        let case = match golden::load_any(f) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        };
        let lines = match case {
            golden::AnyCase::Scan(case) => if f32 {
                golden::run_case::<f32>(&case, tol)
            } else {
                golden::run_case::<f64>(&case, tol)
            }
            .map(|r| vec![(r.name, r.max_abs, r.max_rel, r.pass)]),
            golden::AnyCase::Family(case) => if f32 {
                family::run::<f32>(&case, tol)
            } else {
                family::run::<f64>(&case, tol)
            }
            .map(|r| {
                r.tensors
                    .into_iter()
                    .map(|t| {
                        (
                            format!("{}/{}", r.name, t.what),
                            t.max_abs,
                            t.max_rel,
                            t.pass,
                        )
                    })
                    .collect()
            }),
        };
        match lines {
            Ok(lines) => {
                for (name, max_abs, max_rel, pass) in lines {
                    println!(
                        "{:<48} max_abs {:.3e}  max_rel {:.3e}  {}",
                        name,
                        max_abs,
                        max_rel,
                        if pass { "PASS" } else { "FAIL" }
                    );
                    any_fail |= !pass;
                }
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

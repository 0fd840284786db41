//! `hattn golden`: golden cases from independent implementations.

use std::path::PathBuf;
use std::process::ExitCode;

use hidden_attention::golden::{self, F32_TOLERANCE, F64_TOLERANCE};

pub fn run_golden(paths: &[PathBuf], f32: bool) -> ExitCode {
    let (files, skipped) = match golden::collect_files(paths) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let (tol, dtype) = if f32 { (F32_TOLERANCE, "f32") } else { (F64_TOLERANCE, "f64") };
    println!("golden cases in {dtype}: pass when |got − expected| ≤ {:e} + {:e}·|expected|", tol.atol, tol.rtol);
    for s in skipped {
        println!("SKIP {}: a checkpoint directory, not a case file", s.display());
    }
    let mut any_fail = false;
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
    if files.is_empty() {
        eprintln!("error: no case files found");
        return ExitCode::from(2);
    }
    if any_fail {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}


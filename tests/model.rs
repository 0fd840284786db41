//! Real-checkpoint tests: the golden `tiny-mamba-a` case (logits, hidden states, hidden
//! attention of every layer) in f64 and f32.

use std::path::Path;

use hidden_attention::golden::{load_checkpoint_case, run_checkpoint_case, Tolerance, CHECKPOINT_TOLERANCE};

const TINY: &str = "tests/data/golden/checkpoints/tiny-mamba-a";

fn report(tol: Tolerance, f32: bool) -> Vec<hidden_attention::golden::PartReport> {
    let case = load_checkpoint_case(Path::new(TINY)).unwrap();
    let r = if f32 {
        run_checkpoint_case::<f32>(&case, tol).unwrap()
    } else {
        run_checkpoint_case::<f64>(&case, tol).unwrap()
    };
    for p in &r {
        eprintln!("{} {:<18} max_abs {:.3e} max_rel {:.3e} pass {}", if f32 { "f32" } else { "f64" }, p.part, p.max_abs, p.max_rel, p.pass);
    }
    r
}

#[test]
fn golden_tiny_mamba_f64() {
    for p in report(CHECKPOINT_TOLERANCE, false) {
        assert!(p.pass, "{} max_abs {:e} max_rel {:e}", p.part, p.max_abs, p.max_rel);
    }
}

#[test]
fn golden_tiny_mamba_f32() {
    for p in report(CHECKPOINT_TOLERANCE, true) {
        assert!(p.pass, "{} max_abs {:e}", p.part, p.max_abs);
    }
}


//! The Coq proofs build, admit nothing, and every main theorem is closed under the global
//! context or uses only the axioms of the standard real numbers and Flocq named in
//! `proofs/axioms.allow` (`make -C proofs check`).
//!
//! Needs `coqc` with MathComp and Flocq (Debian: `coq libcoq-mathcomp-ssreflect
//! libcoq-mathcomp-fingroup libcoq-mathcomp-algebra libcoq-flocq`). Without them the test
//! says so and passes, unless `HATTN_REQUIRE_PROOFS=1` (set by `.ci/run`), where it fails.

use std::process::Command;

#[test]
fn coq_proofs_check() {
    let have_coq = Command::new("coqc")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let required = std::env::var("HATTN_REQUIRE_PROOFS").is_ok_and(|v| v == "1");
    if !have_coq {
        assert!(
            !required,
            "HATTN_REQUIRE_PROOFS=1 but coqc is not installed"
        );
        eprintln!("skipping: coqc not found (install the packages listed in proofs/README.md)");
        return;
    }
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/proofs");
    let out = Command::new("make")
        .args(["-C", dir, "check"])
        .output()
        .expect("make runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "make -C proofs check failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("Closed under the global context"),
        "{stdout}"
    );
    assert!(
        stdout.contains("assumptions: all ") && !stdout.contains("assumptions: FAILED"),
        "{stdout}"
    );
    // the float bounds, T7, the Δ → 0 bound and the exp remainder are among the checked
    // theorems
    let assumptions =
        std::fs::read_to_string(format!("{dir}/Assumptions.v")).expect("Assumptions.v");
    for name in [
        "scan_within_output_bound_binary64",
        "scan_within_output_bound_binary32",
        "alpha_x_within_output_bound_binary64",
        "alpha_x_within_output_bound_binary32",
        "gated_output_within_output_bound_binary64",
        "gated_output_within_output_bound_binary32",
        "factored_output_within_output_bound_binary64",
        "factored_output_within_output_bound_binary32",
        "hidden_attention_within_entry_bound",
        "gated_score_within_entry_bound",
        "relu_bound_sound",
        "relu_bound_exact_entry",
        "relu_gap_pos",
        "linear_limit_bound_sound",
        "exp_taylor_remainder",
    ] {
        assert!(
            assumptions.contains(&format!("\nPrint Assumptions {name}.\n")),
            "{name} is not checked by proofs/Assumptions.v"
        );
    }
}

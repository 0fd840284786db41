//! `deltanet-mamba-channel` and `dplr-mamba-channel` (T18): refuted with a proof that
//! replays, shrunk (to L ≥ 2N, the least a certificate needs), every edited number rejected naming its field,
//! and the conjecture's own `verify` naming the wrong certificate field.

use hidden_attention::refute::matrix_channel::{DELTANET, DPLR};
use hidden_attention::refute::{replay_builtin, search, Conjecture, Params};
use hidden_attention::report::Outcome;
use serde_json::json;

use super::{assert_every_edit_is_rejected, refuted_and_replayed};

#[test]
fn matrix_transition_heads_are_no_mamba_channels() {
    for (id, c) in [
        ("deltanet-mamba-channel", &DELTANET),
        ("dplr-mamba-channel", &DPLR),
    ] {
        for (state, len) in [(1usize, 4usize), (2, 6)] {
            let p = Params {
                len,
                state,
                ..Params::default()
            };
            let r = refuted_and_replayed(id, &p);
            let case = r.counterexample.as_ref().unwrap();
            let cert = r.certificate.as_ref().unwrap();
            eprintln!(
                "{id} --state {state} --len {len}: case {} of {}, shrunk to d_k = {}, L = {}, step {}",
                r.search.case_index.unwrap(),
                r.search.cases_tried,
                case["dk"],
                case["len"],
                cert["step"]
            );
            // A certificate needs two rank-N blocks on either side of the step: L ≥ 2N.
            assert_eq!(case["dk"].as_u64(), Some(state as u64));
            let l = case["len"].as_u64().unwrap();
            assert!(l >= 2 * state as u64 && l <= len as u64, "L = {l}");
            assert_eq!(cert["kind"], "invertible_step_obstruction");
            assert_eq!(cert["transition_determinant"], "0");
            assert!(cert["inner"].as_u64().unwrap() < state as u64);
            if state == 2 {
                assert_every_edit_is_rejected(&r);
                // The conjecture's own re-check names the certificate field at fault.
                for (field, value) in [
                    ("step", json!(0)),
                    ("state", json!(1)),
                    ("inner", json!(2)),
                    ("transition_determinant", json!("1")),
                ] {
                    let mut bad = cert.clone();
                    bad[field] = value;
                    let e = c.verify(case, &bad, &p).unwrap_err();
                    assert!(
                        e.starts_with(&format!("certificate.{field}")),
                        "{field}: {e}"
                    );
                }
                for key in ["before", "after"] {
                    let mut bad = cert.clone();
                    bad[key]["determinant"] = json!("123/7");
                    let e = c.verify(case, &bad, &p).unwrap_err();
                    assert!(
                        e.starts_with(&format!("certificate.{key}.determinant")),
                        "{e}"
                    );
                }
                for key in ["left", "right"] {
                    let mut bad = cert.clone();
                    bad[key][0][0] = json!("99");
                    let e = c.verify(case, &bad, &p).unwrap_err();
                    assert!(
                        e.contains(&format!("certificate.{key}")) || e.contains("left / right"),
                        "{e}"
                    );
                }
            }
        }
    }
}

#[test]
fn heads_with_invertible_steps_are_not_refuted() {
    // With L < 2 d_k no step can meet both rank conditions, so nothing is refuted.
    let p = Params {
        len: 3,
        state: 2,
        cases: 64,
        ..Params::default()
    };
    for c in [&DELTANET, &DPLR] {
        let r = search(c, &p);
        assert_eq!(r.outcome, Outcome::NoneFound, "{r:?}");
        assert!(replay_builtin(&r).is_err());
    }
}

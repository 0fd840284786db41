//! The gated-linear family (T14): every golden case of flash-linear-attention and
//! `transformers` (float64) through the recurrence and through the implicit attention
//! matrix, and the implicit attention equal to the recurrence exactly over the rationals;
//! `hattn convert --from <member>` and `hattn family-attn` on layers given as JSON.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hidden_attention::family::linear::golden::run_member;
use hidden_attention::family::linear::{FamilyHead, Member, Readout, Transition};
use hidden_attention::golden::F64_TOLERANCE;
use hidden_attention::interchange::{from_value, Object};
use hidden_attention::scalar::{Exact, Field};
use hidden_attention::tensor::Tensor;
use num_bigint::BigInt;
use serde_json::{json, Value};

type Tensors = BTreeMap<String, Tensor<f64>>;

fn tensors(v: &serde_json::Value) -> Tensors {
    v.as_object()
        .unwrap()
        .iter()
        .map(|(k, t)| {
            let shape: Vec<usize> = t["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap() as usize)
                .collect();
            let data: Vec<f64> = t["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect();
            (k.clone(), Tensor::new(k, shape, data).unwrap())
        })
        .collect()
}

fn cases() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/golden/family");
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    v.sort();
    v
}

#[test]
fn every_member_reproduces_its_golden_cases() {
    let mut seen = std::collections::HashSet::new();
    for file in cases() {
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let kind = v["kind"].as_str().unwrap();
        let Some(member) = Member::parse(kind) else {
            assert_eq!(kind, "ssd", "{}", file.display());
            continue;
        };
        seen.insert(member);
        let scale = v["params"].get("scale").and_then(serde_json::Value::as_f64);
        let reports = run_member::<f64>(
            member,
            &tensors(&v["inputs"]),
            &tensors(&v["expected"]),
            scale,
            F64_TOLERANCE,
        )
        .unwrap();
        assert!(reports.len() >= 2);
        for r in &reports {
            assert!(r.pass, "{} {}: {r:?}", file.display(), r.what);
            assert!(r.compared > 0);
        }
    }
    assert_eq!(seen.len(), Member::ALL.len(), "{seen:?}");
}

#[test]
fn a_wrong_gate_convention_fails_the_golden_case() {
    // GLA read with the gates un-exponentiated must not pass.
    let file = cases()
        .into_iter()
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("gla_s7")
        })
        .unwrap();
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    let mut inputs = tensors(&v["inputs"]);
    let gk = inputs["gk"].clone();
    inputs.insert("gk".into(), gk.map(|x| x.exp().ln() + 1e-6));
    let reports = run_member::<f64>(
        Member::Gla,
        &inputs,
        &tensors(&v["expected"]),
        Some(0.5),
        F64_TOLERANCE,
    )
    .unwrap();
    assert!(reports.iter().any(|r| !r.pass));
}

fn q(n: i64, d: i64) -> Exact {
    Exact::new(BigInt::from(n), BigInt::from(d))
}

/// T14 exactly: the recurrence equals $A v$ over the rationals for every transition kind
/// and both readouts.
#[test]
fn implicit_attention_equals_the_recurrence_exactly() {
    let (l, dk, dv) = (5, 3, 2);
    let val = |i: i64| q((i * 7919) % 23 - 11, 1 + (i * 31) % 7);
    let vecs = |off: i64, n: usize| (0..n as i64).map(|i| val(off + i)).collect::<Vec<_>>();
    let kinds: Vec<Box<dyn Fn(usize) -> Transition<Exact>>> = vec![
        Box::new(|t| Transition::Diagonal(vecs(10 + t as i64 * 3, dk))),
        Box::new(|t| Transition::Scalar(val(40 + t as i64))),
        Box::new(|t| Transition::DiagonalPlusRankOne {
            diag: vecs(50 + t as i64, dk),
            beta: vecs(60 + t as i64, dk),
            alpha: vecs(70 + t as i64, dk),
        }),
        Box::new(|t| Transition::Householder {
            gate: val(80 + t as i64),
            beta: val(90 + t as i64),
            key: vecs(100 + t as i64, dk),
        }),
        Box::new(|t| {
            if t == 2 {
                Transition::Scalar(q(0, 1))
            } else {
                Transition::Diagonal(vecs(110 + t as i64, dk))
            }
        }),
    ];
    for (ki, make) in kinds.iter().enumerate() {
        for readout in [Readout::After, Readout::BeforeWithBonus(vecs(200, dk))] {
            let head = FamilyHead {
                dk,
                q: vecs(300, l * dk),
                b: vecs(400, l * dk),
                m: (0..l).map(make).collect(),
                readout: readout.clone(),
            };
            let v = vecs(500, l * dv);
            let (o, _) = head.run(&v, dv).unwrap();
            let a = head.attention_matrix().unwrap();
            for t in 0..l {
                for c in 0..dv {
                    let mut s = q(0, 1);
                    for j in 0..l {
                        s += &(a.get(t, j).clone() * &v[j * dv + c]);
                    }
                    assert_eq!(s, o[t * dv + c], "kind {ki} {readout:?} t {t}");
                }
                for j in t + 1..l {
                    assert_eq!(*a.get(t, j), q(0, 1));
                }
            }
        }
    }
}

/// A DeltaNet head of `$d_k = 2$`, `$L = 4$` whose step 2 has `$\beta k^\top k = 1$`; the other
/// steps have `$\beta k^\top k = 1/2$`.
fn deltanet_with_singular_step_two(beta2: Exact) -> FamilyHead<Exact> {
    let keys = [[1, 0], [1, 1], [1, 2], [2, 1]];
    let betas = [q(1, 2), q(1, 4), beta2, q(1, 10)];
    let m: Vec<Transition<Exact>> = (0..4)
        .map(|t| Transition::Householder {
            gate: q(1, 1),
            beta: betas[t].clone(),
            key: keys[t].iter().map(|&x| q(x, 1)).collect(),
        })
        .collect();
    let b = (0..8)
        .map(|i| betas[i / 2].clone() * q(keys[i / 2][i % 2], 1))
        .collect();
    FamilyHead {
        dk: 2,
        q: [1, 0, 1, 2, -1, 1, 2, 3].iter().map(|&x| q(x, 1)).collect(),
        b,
        m,
        readout: Readout::After,
    }
}

/// T18 on a fixed DeltaNet head: with `$\beta_2 k_2^\top k_2 = 1$` the identity channel is
/// refused naming step 2 and the certificate at step 2 verifies; with
/// `$\beta_2 = 1/10$` the identity channel reproduces `$A$` and no certificate exists.
#[test]
fn t18_deltanet_singular_step_has_a_certificate() {
    use hidden_attention::error::Error;
    use hidden_attention::family::linear::obstruction::find_invertible_step_obstruction;
    use hidden_attention::family::linear::realise::identity_channel;
    use hidden_attention::ssm::attention_matrix;
    let head = deltanet_with_singular_step_two(q(1, 5));
    assert!(matches!(
        identity_channel(&head),
        Err(Error::SingularTransition { step: 2 })
    ));
    let a = head.attention_matrix().unwrap();
    let cert = find_invertible_step_obstruction(&a, 2).expect("a certificate at step 2");
    assert_eq!((cert.step, cert.state, cert.inner()), (2, 2, 1));
    assert!(cert.verify(&a).unwrap().contains("T18b"));
    // Any edited number of the certificate fails, naming the field.
    let mut bad = cert.clone();
    bad.before.determinant += &q(1, 1);
    assert!(bad
        .verify(&a)
        .unwrap_err()
        .starts_with("before.determinant"));
    let mut bad = cert.clone();
    *bad.right.get_mut(0, 1) += &q(1, 1);
    assert!(bad.verify(&a).unwrap_err().starts_with("left / right"));
    let mut bad = cert.clone();
    bad.step = 3;
    assert!(bad.verify(&a).is_err());
    let v: Vec<Exact> = (0..4).map(|i| q(i - 1, 1)).collect();
    let case = (head, v.clone(), 1);
    assert!(hidden_attention::theorems::t18::check_exact(&case).is_ok());
    let fine = deltanet_with_singular_step_two(q(1, 10));
    let ch = identity_channel(&fine).unwrap();
    assert_eq!(
        attention_matrix(&ch).unwrap(),
        fine.attention_matrix().unwrap()
    );
    assert!(find_invertible_step_obstruction(&fine.attention_matrix().unwrap(), 2).is_none());
    assert!(hidden_attention::theorems::t18::check_exact(&(fine, v, 1)).is_ok());
}

mod properties {
    use hidden_attention::construct::separation::certify_softmax_head;
    use hidden_attention::family::linear::any_attention::head_with_attention;
    use hidden_attention::family::linear::{Member, Readout};
    use hidden_attention::interval::softmax_enclosure;
    use hidden_attention::semiseparable::{rank_exact, submatrix};
    use hidden_attention::strategies::{
        head_and_lower_triangular, matrix_transition_head_with_values, positive_elementwise_head,
        rational_family_head_with_values, rational_softmax_head,
    };
    use hidden_attention::tensor::Matrix;
    use hidden_attention::theorems::{t14, t15, t16, t17, t18, t19};
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// T14 and T15 on the public strategy (every transition kind, both readouts).
        #[test]
        fn t14_t15_hold(case in rational_family_head_with_values(1..=8, 1..=4, 1..=2)) {
            prop_assert!(t14::check_exact(&case).is_ok(), "{:?}", t14::check_exact(&case).err().map(|c| c.what));
            prop_assert!(t15::check_exact(&case).is_ok(), "{:?}", t15::check_exact(&case).err().map(|c| c.what));
            prop_assert!(t16::check_exact(&case).is_ok(), "{:?}", t16::check_exact(&case).err().map(|c| c.what));
        }

        /// T18 on DPLR / DeltaNet / Gated DeltaNet heads with planted singular steps (and on
        /// the general family strategy, where a head read before the step is refused).
        #[test]
        fn t18_holds(case in matrix_transition_head_with_values(1..=8, 1..=4, 1..=2),
                     other in rational_family_head_with_values(1..=6, 1..=3, 1..=2)) {
            prop_assert!(t18::check_exact(&case).is_ok(), "{:?}", t18::check_exact(&case).err().map(|c| c.what));
            prop_assert!(t18::check_exact(&other).is_ok(), "{:?}", t18::check_exact(&other).err().map(|c| c.what));
        }

        /// T17: HGRN and RG-LRU heads carry the predicted row-sum certificate.
        #[test]
        fn t17_holds(head in positive_elementwise_head(1..=12)) {
            prop_assert!(t17::check_exact(&head).is_ok(), "{:?}", t17::check_exact(&head).err().map(|c| c.what));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        /// T19: the certificates verify and separate every member head of key dimension
        /// d_k; every lower-triangular matrix is a free-query/key member head with d_k = L.
        #[test]
        fn t19_holds(case in head_and_lower_triangular(1..=3, 1..=5)) {
            prop_assert!(t19::check_exact(&case).is_ok(), "{:?}", t19::check_exact(&case).err().map(|c| c.what));
        }

        /// T19 on arbitrary rational softmax heads: (a) with the certificate searched on the
        /// head itself (size k), a member head of the same length with d_k < k has a
        /// singular minor there (RWKV-6: when the minor is strictly below the diagonal);
        /// (b) the GLA head with d_k = L built from the midpoints of the head's rigorous
        /// enclosure has attention inside that enclosure, entry by entry.
        #[test]
        fn t19_against_softmax_heads(
            softmax in rational_softmax_head(3..=7, 1..=2),
            member in rational_family_head_with_values(7..=7, 1..=3, 1..=1),
        ) {
            let l = softmax.len();
            let mut head = member.0;
            let dk = head.dk;
            head.q.truncate(l * dk);
            head.b.truncate(l * dk);
            head.m.truncate(l);
            let cert = certify_softmax_head(&softmax, 96).expect("a positive entry at least");
            prop_assert!(cert.verify());
            let below = cert.cols.iter().max() < cert.rows.iter().min();
            if cert.size() > dk && (head.readout == Readout::After || below) {
                let a = head.attention_matrix().unwrap();
                let minor = submatrix(&a, &cert.rows, &cert.cols);
                prop_assert!(rank_exact(&minor).0 <= dk, "{cert:?}");
            }
            let enc = softmax_enclosure(&softmax, 64);
            let mid = Matrix::from_row_major(
                l,
                l,
                (0..l * l).map(|x| enc[x / l][x % l].mid()).collect(),
            )
            .unwrap();
            let gla = head_with_attention(Member::Gla, &mid).unwrap();
            prop_assert_eq!(gla.dk, l);
            let got = gla.attention_matrix().unwrap();
            for (i, row) in enc.iter().enumerate() {
                for (j, e) in row.iter().enumerate() {
                    prop_assert!(e.contains(got.get(i, j)), "({i}, {j})");
                }
            }
        }
    }
}

fn hattn(args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hattn"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn hattn_golden_runs_every_family_case() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/golden/family");
    for f32 in [false, true] {
        let mut args = vec!["golden", dir.to_str().unwrap()];
        if f32 {
            args.push("--f32");
        }
        let (code, out, err) = hattn(&args);
        assert_eq!(code, 0, "{out}{err}");
        // 9 members × 2 cases × (o twice + final_state, retention without it) + 2 ssd × 6
        assert_eq!(
            out.matches("PASS").count(),
            8 * 2 * 3 + 2 * 2 + 2 * 6,
            "{out}"
        );
        assert!(out.contains("o (A v, implicit attention)"), "{out}");
    }
    // an edited expected number fails (exit 1), a bad kind is an invalid case (exit 2)
    let tmp = std::env::temp_dir().join(format!("hattn-family-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let src = dir.join("delta_rule_s7_b1_h2_l9_k4_v3.json");
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(src).unwrap()).unwrap();
    let x = v["expected"]["o"]["data"][5].as_f64().unwrap();
    v["expected"]["o"]["data"][5] = serde_json::json!(x * (1.0 + 1e-9));
    let edited = tmp.join("edited.json");
    std::fs::write(&edited, v.to_string()).unwrap();
    let (code, out, _) = hattn(&["golden", edited.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(out.matches("FAIL").count(), 2, "{out}");
    v["kind"] = serde_json::json!("mamba3");
    std::fs::write(&edited, v.to_string()).unwrap();
    let (code, _, err) = hattn(&["golden", edited.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("mamba3"), "{err}");
    std::fs::remove_dir_all(tmp).ok();
}

#[path = "family/float_bound.rs"]
mod float_bound;

#[path = "family/convert.rs"]
mod convert;

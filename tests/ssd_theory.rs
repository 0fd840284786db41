//! SSD theory: T9 (semiseparable), T10 (scalar-gated linear attention), T11 (Δ → 0),
//! T12 (Mamba-1 channels) as property tests on the public strategies, and the
//! `ssd-head-of-channel` refutation with its replayable certificate.

use hidden_attention::attention::GatedLinearHead;
use hidden_attention::family::ssd::realise::{
    channel_needing_ssd_state, channel_to_ssd, find_obstruction, realise_full, scalar_gated_to_ssd,
    ssd_factored, SsdObstruction,
};
use hidden_attention::family::ssd::{attention_matrix, limit::SsdLimit, SsdHead};
use hidden_attention::refute::{self, ssd_head_of_channel::SsdHeadOfChannel, Params};
use hidden_attention::report::Outcome;
use hidden_attention::scalar::{ratio, Exact};
use hidden_attention::ssm;
use hidden_attention::strategies;
use hidden_attention::tensor::Matrix;
use hidden_attention::theorems::{t10, t11, t12, t9};
use hidden_attention::Error;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn t9_exact(case in strategies::rational_ssd_head_with_input(1..=8, 1..=5)) {
        prop_assert_eq!(t9::check_exact(&case), Ok(None));
    }

    #[test]
    fn t9_float(case in strategies::mamba2_head_with_input::<f64>(6..=20, 1..=2)) {
        prop_assert!(t9::check_float(&case).is_ok());
    }

    #[test]
    fn t10_exact(case in strategies::rational_ssd_head_with_input(1..=10, 1..=6)) {
        prop_assert_eq!(t10::check_exact(&case), Ok(None));
    }

    #[test]
    fn t11_limit(case in strategies::ssd_limit_case(1..=8, 1..=3)) {
        let r = t11::check(&case);
        prop_assert!(r.is_ok(), "{}", r.unwrap_err());
    }

    #[test]
    fn t12_exact(case in strategies::rational_channel_with_input(1..=10, 1..=4)) {
        prop_assert_eq!(t12::check_exact(&case), Ok(None));
    }
}

#[test]
fn t12c_obstruction_for_every_length() {
    for len in 3..=12 {
        assert_eq!(t12::check_obstruction(&len), Ok(None), "L = {len}");
    }
}

/// T10: the ungated factorisation is refused exactly at the first zero a_r, r ≥ 1 (a_0 = 0
/// is fine); a diagonal (non-scalar) gate is refused by the converse, naming the entry.
#[test]
fn t10_edges() {
    let one = ratio(1, 1);
    let h = |a: Vec<Exact>| {
        SsdHead::new(
            a.len(),
            1,
            a.clone(),
            vec![one.clone(); a.len()],
            vec![one.clone(); a.len()],
        )
        .unwrap()
    };
    assert!(ssd_factored(&h(vec![ratio(0, 1), ratio(1, 2), ratio(1, 3)])).is_ok());
    match ssd_factored(&h(vec![ratio(1, 2), ratio(1, 2), ratio(0, 1), ratio(0, 1)])) {
        Err(Error::ZeroTransition { step: 2, state: 0 }) => {}
        r => panic!("{r:?}"),
    }
    let m = |v: Vec<Exact>| Matrix::from_row_major(2, 2, v).unwrap();
    let g = GatedLinearHead::new(
        m(vec![one.clone(); 4]),
        m(vec![one.clone(); 4]),
        m(vec![one.clone(), one.clone(), ratio(1, 2), ratio(1, 3)]),
    )
    .unwrap();
    match scalar_gated_to_ssd(&g) {
        Err(Error::Construction { reason, .. }) => assert!(reason.contains("g[1][1]"), "{reason}"),
        r => panic!("{r:?}"),
    }
}

/// T12: the example channel; a certificate with an edited index or a wrong state is
/// rejected; the full realisation needs a lower-triangular matrix.
#[test]
fn t12_certificate_checks() {
    let ch = channel_needing_ssd_state(4).unwrap();
    assert!(matches!(
        channel_to_ssd(&ch),
        Err(Error::ZeroTransition { step: 1, state: 0 })
    ));
    let a = ssm::attention_matrix(&ch).unwrap();
    let c = find_obstruction(&a, 2).unwrap();
    assert_eq!(
        c,
        SsdObstruction {
            state: 2,
            t: 3,
            s: 0,
            indices: vec![0, 1, 2]
        }
    );
    assert!(c.verify(&a).is_ok());
    for bad in [
        SsdObstruction {
            indices: vec![0, 1, 3],
            ..c.clone()
        }, // α̃[3][0] ≠ 0 inside
        SsdObstruction {
            state: 3,
            ..c.clone()
        }, // too few indices
        SsdObstruction {
            t: 2,
            s: 1,
            ..c.clone()
        }, // α̃[2][1] = 0
        SsdObstruction {
            indices: vec![1, 0, 2],
            ..c.clone()
        }, // not increasing
    ] {
        assert!(bad.verify(&a).is_err(), "{bad:?}");
    }
    // state 1 channels are SSD heads: no certificate for N = 1 on any state-1 channel
    let one = SsdHead::new(
        3,
        1,
        vec![ratio(0, 1); 3],
        vec![ratio(1, 1); 3],
        vec![ratio(1, 1); 3],
    )
    .unwrap();
    assert!(find_obstruction(&attention_matrix(&one).unwrap(), 1).is_none());
    let mut upper = Matrix::zeros(2, 2);
    *upper.get_mut(0, 1) = ratio(1, 1);
    assert!(matches!(
        realise_full(&upper),
        Err(Error::NotLowerTriangular { row: 0, col: 1, .. })
    ));
}

/// T11: bad parameters are typed errors; the bound is 0 on the diagonal and grows with ε.
#[test]
fn t11_parameters() {
    let lim = SsdLimit {
        a_h: -1.0,
        delta: vec![0.5, 0.25],
        b: vec![1.0, 2.0],
        c: vec![3.0, -1.0],
        state: 1,
    };
    let b = lim.bound(1e-2).unwrap();
    assert_eq!(*b.get(0, 0), ratio(0, 1));
    // |C_1·B̄_0| ε |A| Δ_1 = |−1 · 0.5| · 0.01 · 0.25
    assert_eq!(
        *b.get(1, 0),
        Exact::from_float(0.5 * 0.25).unwrap() * Exact::from_float(1e-2).unwrap()
    );
    assert!(
        matches!(SsdLimit { a_h: 0.0, ..lim.clone() }.bound(1e-2), Err(Error::InvalidArgument { name, .. }) if name == "A_h")
    );
    assert!(matches!(
        SsdLimit {
            delta: vec![0.5, 0.0],
            ..lim.clone()
        }
        .bound(1e-2),
        Err(Error::NonPositiveDelta { step: 1, .. })
    ));
    assert!(matches!(lim.bound(0.0), Err(Error::InvalidArgument { name, .. }) if name == "eps"));
    // the float head at small ε is close to the linear attention matrix
    let h = lim.head(1e-6).unwrap();
    let a = attention_matrix(&h).unwrap();
    // C_1·B̄_0 = (−1)(0.5 · 1)
    assert!((a.get(1, 0) + 0.5).abs() < 1e-6);
}

/// `hattn refute ssd-head-of-channel`: found with a proof at N = 2, and the report
/// replays; an edited certificate value is rejected naming the field; state 1 is never
/// refuted.
#[test]
fn refute_ssd_head_of_channel() {
    let p = Params {
        len: 6,
        state: 2,
        cases: 2000,
        ..Params::default()
    };
    let report = refute::search(&SsdHeadOfChannel, &p);
    assert_eq!(report.outcome, Outcome::Counterexample);
    let ok = refute::replay_builtin(&report).unwrap();
    assert_eq!(ok.outcome, Outcome::Counterexample);
    let mut edited = report.clone();
    edited.certificate.as_mut().unwrap()["corner"] = serde_json::json!("7");
    let err = refute::replay_builtin(&edited).unwrap_err();
    assert_eq!(err.field().as_deref(), Some("certificate.corner"), "{err}");
    let mut edited = report.clone();
    edited.certificate.as_mut().unwrap()["indices"] = serde_json::json!([0, 1]);
    assert!(refute::replay_builtin(&edited).is_err());
    // every numeric leaf of the case, its float view and the certificate, edited in turn,
    // is rejected by replay naming that field
    let v = serde_json::to_value(&report).unwrap();
    let mut fields = Vec::new();
    for section in ["counterexample", "counterexample_float", "certificate"] {
        numeric_leaves(&v[section], section, &mut fields);
    }
    assert!(
        fields.iter().any(|f| f.starts_with("certificate.indices")),
        "{fields:?}"
    );
    for field in &fields {
        let mut w = v.clone();
        let x = w.pointer_mut(&pointer(field)).unwrap();
        *x = match &*x {
            serde_json::Value::Number(n) if n.is_u64() => (n.as_u64().unwrap() + 1).into(),
            serde_json::Value::Number(n) => (n.as_f64().unwrap() + 1.0).into(),
            serde_json::Value::String(s) => {
                let e = hidden_attention::scalar::parse_exact(s).unwrap() + ratio(1, 1);
                e.to_string().into()
            }
            other => panic!("{other}"),
        };
        let t: hidden_attention::report::Report = serde_json::from_value(w).unwrap();
        let err = refute::replay_builtin(&t).expect_err(field).to_string();
        assert!(err.contains(field.as_str()), "editing {field}: {err}");
    }
    eprintln!("{} edited fields rejected", fields.len());
    let p1 = Params {
        len: 6,
        state: 1,
        cases: 300,
        ..Params::default()
    };
    let r1 = refute::search(&SsdHeadOfChannel, &p1);
    assert_eq!(r1.outcome, Outcome::NoneFound);
}

/// Numeric leaves (numbers and `"p/q"` strings) of a JSON tree with their paths `a.b[1]`.
fn numeric_leaves(v: &serde_json::Value, path: &str, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(o) => {
            for (k, x) in o {
                numeric_leaves(x, &format!("{path}.{k}"), out);
            }
        }
        serde_json::Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                numeric_leaves(x, &format!("{path}[{i}]"), out);
            }
        }
        serde_json::Value::Number(_) => out.push(path.to_string()),
        serde_json::Value::String(s) if hidden_attention::scalar::parse_exact(s).is_some() => {
            out.push(path.to_string())
        }
        _ => {}
    }
}

/// `a.b[1][2]` as the JSON pointer `/a/b/1/2`.
fn pointer(path: &str) -> String {
    let mut out = String::new();
    for part in path.split(['.', '[']) {
        let part = part.trim_end_matches(']');
        if !part.is_empty() {
            out.push('/');
            out.push_str(part);
        }
    }
    out
}

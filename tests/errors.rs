//! Bad input gets a typed error that names what was wrong and where — never a panic and
//! never a silently wrong number.

use std::path::Path;

use hidden_attention::error::{Error, RangeLoss};
use hidden_attention::golden::parse_case;
use hidden_attention::scalar::ratio;
use hidden_attention::ssm::{
    factored, hidden_attention_row, scan, selective_scan, Channel, SelectiveScanInput, StateMatrix,
};
use hidden_attention::tensor::Tensor;

fn t(name: &str, shape: &[usize], fill: f64) -> Tensor<f64> {
    let n = shape.iter().product();
    Tensor::new(
        name,
        shape.to_vec(),
        (0..n).map(|i| fill + 0.01 * i as f64).collect(),
    )
    .unwrap()
}

/// batch 2, dim 4, L 5, N 3, grouped B/C with 2 groups.
fn valid() -> SelectiveScanInput<f64> {
    SelectiveScanInput {
        u: t("u", &[2, 4, 5], 0.1),
        delta: t("delta", &[2, 4, 5], 0.2),
        a: StateMatrix::Real(t("A", &[4, 3], -1.0)),
        b: t("B", &[2, 2, 3, 5], 0.3),
        c: t("C", &[2, 2, 3, 5], 0.4),
        d: Some(t("D", &[4], 1.0)),
        z: Some(t("z", &[2, 4, 5], 0.5)),
        delta_bias: Some(t("delta_bias", &[4], 0.0)),
        delta_softplus: true,
    }
}

#[test]
fn valid_input_runs() {
    let out = selective_scan(&valid()).unwrap();
    assert_eq!(out.out.shape(), &[2, 4, 5]);
    assert_eq!(out.last_state.shape(), &[2, 4, 3]);
}

#[test]
fn wrong_shape_names_tensor_and_dimension() {
    let mut i = valid();
    i.z = Some(t("z", &[2, 4, 6], 0.5));
    match selective_scan(&i) {
        Err(Error::Shape {
            tensor,
            dim,
            name,
            expected,
            found,
        }) => {
            assert_eq!(
                (tensor.as_str(), dim, name.as_str(), expected, found),
                ("z", 2, "L", 5, 6)
            );
        }
        r => panic!("expected a shape error, got {r:?}"),
    }
    let mut i = valid();
    i.b = t("B", &[2, 2, 4, 5], 0.3);
    match selective_scan(&i) {
        Err(Error::Shape {
            tensor, dim, name, ..
        }) => assert_eq!((tensor.as_str(), dim, name.as_str()), ("B", 2, "N")),
        r => panic!("expected a shape error, got {r:?}"),
    }
    let mut i = valid();
    i.d = Some(t("D", &[3], 1.0));
    assert!(
        matches!(selective_scan(&i), Err(Error::Shape { tensor, dim: 0, .. }) if tensor == "D")
    );
    let mut i = valid();
    i.c = t("C", &[2, 3, 5, 1, 1], 0.3);
    assert!(
        matches!(selective_scan(&i), Err(Error::Rank { tensor, found: 5, .. }) if tensor == "C")
    );
}

#[test]
fn non_finite_input_names_tensor_and_index() {
    for (which, v) in [
        ("delta", f64::NAN),
        ("u", f64::INFINITY),
        ("A", f64::NEG_INFINITY),
    ] {
        let mut i = valid();
        let target = match which {
            "delta" => &mut i.delta,
            "u" => &mut i.u,
            _ => match &mut i.a {
                StateMatrix::Real(a) => a,
                StateMatrix::Complex { .. } => unreachable!(),
            },
        };
        target.data_mut()[7] = v;
        let expect_index = hidden_attention::tensor::unravel(7, target.shape());
        match selective_scan(&i) {
            Err(Error::NonFinite { tensor, index, .. }) => {
                assert_eq!(tensor, which);
                assert_eq!(index, expect_index);
            }
            r => panic!("{which}: expected NonFinite, got {r:?}"),
        }
    }
}

#[test]
fn groups_not_dividing_dim() {
    let mut i = valid();
    i.b = t("B", &[2, 3, 3, 5], 0.3);
    match selective_scan(&i) {
        Err(Error::GroupMismatch {
            tensor,
            groups,
            dim,
        }) => assert_eq!((tensor.as_str(), groups, dim), ("B", 3, 4)),
        r => panic!("expected GroupMismatch, got {r:?}"),
    }
}

#[test]
fn complex_a_is_rejected() {
    let mut i = valid();
    i.a = StateMatrix::Complex {
        re: t("A", &[4, 3], -1.0),
        im: t("A", &[4, 3], 0.5),
    };
    assert!(
        matches!(selective_scan(&i), Err(Error::ComplexUnsupported { tensor }) if tensor == "A")
    );
}

#[test]
fn overflowing_scan_is_an_error_not_a_number() {
    // Ā = 1e200 per step: h overflows at step 2.
    let ch = Channel::new(3, 1, vec![1e200; 3], vec![1.0; 3], vec![1.0; 3]).unwrap();
    assert!(matches!(
        scan(&ch, &[1.0, 1.0, 1.0]),
        Err(Error::NonFiniteResult { .. })
    ));
    assert!(matches!(
        Channel::new(1, 1, vec![f64::NAN], vec![1.0], vec![1.0]),
        Err(Error::NonFinite { tensor, .. }) if tensor == "Abar"
    ));
    assert!(matches!(
        Channel::<f64>::new(2, 1, vec![1.0], vec![1.0; 2], vec![1.0; 2]),
        Err(Error::DataLength { .. })
    ));
    let ok = Channel::new(2, 1, vec![0.5; 2], vec![1.0; 2], vec![1.0; 2]).unwrap();
    assert!(matches!(scan(&ok, &[1.0]), Err(Error::Shape { tensor, .. }) if tensor == "x"));
    assert!(
        matches!(scan(&ok, &[1.0, f64::NAN]), Err(Error::NonFinite { tensor, index, .. }) if tensor == "x" && index == vec![1])
    );
    assert!(matches!(
        hidden_attention_row(&ok, 2),
        Err(Error::InvalidArgument { .. })
    ));
}

#[test]
fn factored_float_reports_first_underflow_step() {
    // Ā = e^{-10} per step: P_t = ∏_{k=1}^{t} Ā_k = e^{-10t} leaves the normal f64 range
    // (≈ e^{-708.4}) at step 71 and the normal f32 range (≈ e^{-87.3}) at step 9.
    let l = 100;
    let a = (-10.0f64).exp();
    let ch = Channel::new(l, 1, vec![a; l], vec![1.0; l], vec![1.0; l]).unwrap();
    match factored(&ch) {
        Err(Error::FactorRange {
            quantity,
            loss,
            step,
            state,
            ..
        }) => {
            assert_eq!((quantity, loss, state), ("P", RangeLoss::Underflow, 0));
            assert_eq!(step, 71);
        }
        r => panic!("expected FactorRange, got {:?}", r.map(|_| ())),
    }
    let ch32 = ch.map(|&v| v as f32);
    match factored(&ch32) {
        Err(Error::FactorRange { step, .. }) => assert_eq!(step, 9),
        r => panic!("expected FactorRange, got {:?}", r.map(|_| ())),
    }
    // K = B̄ / P overflows before P underflows when B̄ is large.
    let big = Channel::new(l, 1, vec![a; l], vec![1e300; l], vec![1.0; l]).unwrap();
    assert!(matches!(
        factored(&big),
        Err(Error::FactorRange {
            quantity: "K",
            loss: RangeLoss::Overflow,
            ..
        })
    ));
}

#[test]
fn factored_exact_names_zero_transition() {
    let ch = Channel::new(
        3,
        2,
        vec![
            ratio(1, 2),
            ratio(1, 1),
            ratio(1, 3),
            ratio(0, 1),
            ratio(1, 1),
            ratio(0, 1),
        ],
        vec![ratio(1, 1); 6],
        vec![ratio(1, 1); 6],
    )
    .unwrap();
    assert!(matches!(
        factored(&ch),
        Err(Error::ZeroTransition { step: 1, state: 1 })
    ));
}

/// Δ ≤ 0 is not a Mamba step size: `selective_scan` (with or without the softplus) refuses
/// it, naming the channel and the step.
#[test]
fn non_positive_delta_names_channel_and_step() {
    // without the softplus: the raw Δ at [batch 1, channel 2, step 3] is −0.5
    let mut i = valid();
    i.delta_softplus = false;
    i.delta_bias = None;
    let at = (4 + 2) * 5 + 3;
    i.delta.data_mut()[at] = -0.5;
    match selective_scan(&i) {
        Err(e @ Error::NonPositiveDelta { .. }) => {
            assert!(matches!(
                e,
                Error::NonPositiveDelta {
                    channel: Some(2),
                    step: 3,
                    value
                } if value == -0.5
            ));
            let msg = e.to_string();
            assert!(msg.contains("step 3") && msg.contains("channel 2"), "{msg}");
        }
        r => panic!("expected NonPositiveDelta, got {:?}", r.map(|_| ())),
    }
    // Δ = 0 exactly, and a softplus that underflows to 0 (pre-activation −800)
    let mut i = valid();
    i.delta_softplus = false;
    i.delta.data_mut()[1] = 0.0;
    assert!(matches!(
        selective_scan(&i),
        Err(Error::NonPositiveDelta {
            channel: Some(0),
            step: 1,
            ..
        })
    ));
    let mut i = valid();
    i.delta.data_mut()[5 + 4] = -800.0;
    assert!(matches!(
        selective_scan(&i),
        Err(Error::NonPositiveDelta {
            channel: Some(1),
            step: 4,
            value
        }) if value == 0.0
    ));
}

/// T2b's running product starts after step 0 (Ā_0 never enters α̃): a zero Ā_0 is fine,
/// a zero at step ≥ 1 is named.
#[test]
fn factored_zero_transition_only_after_step_zero() {
    let ch = Channel::new(
        2,
        2,
        vec![ratio(0, 1), ratio(1, 2), ratio(1, 3), ratio(2, 1)],
        vec![ratio(1, 1); 4],
        vec![ratio(1, 1); 4],
    )
    .unwrap();
    let f = factored(&ch).expect("Ā_0 may be 0");
    assert_eq!(f.k.row(1), &[ratio(3, 1), ratio(1, 2)]);
    let ch = Channel::new(
        2,
        2,
        vec![ratio(0, 1), ratio(1, 2), ratio(1, 3), ratio(0, 1)],
        vec![ratio(1, 1); 4],
        vec![ratio(1, 1); 4],
    )
    .unwrap();
    match factored(&ch) {
        Err(e @ Error::ZeroTransition { step: 1, state: 1 }) => {
            assert!(e.to_string().starts_with("Ā[1][1] = 0"), "{e}")
        }
        r => panic!("expected ZeroTransition at (1, 1), got {:?}", r.map(|_| ())),
    }
}

#[test]
fn case_file_errors_name_the_field() {
    let f = Path::new("case.json");
    let check = |text: &str, field: &str| match parse_case(f, text) {
        Err(Error::CaseFile { field: got, .. }) => assert_eq!(got, field, "{text}"),
        r => panic!("expected CaseFile error for {text}, got {r:?}"),
    };
    check("{", "(json)");
    check(r#"{"kind": "selective_scan"}"#, "name");
    check(r#"{"name": "x", "kind": "conv"}"#, "kind");
    check(
        r#"{"name": "x", "kind": "selective_scan", "inputs": {}}"#,
        "expected",
    );
    let tensor = |s: &str| format!(r#"{{"shape": {s}, "data": [1.0, 2.0]}}"#);
    let case = |b: String| {
        format!(
            r#"{{"name": "x", "kind": "selective_scan", "params": {{}}, "inputs": {{"u": {u}, "delta": {u}, "A": {u}, "B": {b}, "C": {u}}}, "expected": {{"out": {u}}}}}"#,
            u = tensor("[2]"),
        )
    };
    check(&case(tensor("[3]")), "inputs.B");
    check(
        &case(r#"{"shape": [2], "data": [1.0, "a"]}"#.into()),
        "inputs.B.data[1]",
    );
    check(
        &case(r#"{"shape": [-2], "data": [1.0, 2.0]}"#.into()),
        "inputs.B.shape[0]",
    );
}

//! Constructions T2–T7: exact round trips, realisation, certificates, bounds.

use hidden_attention::attention::{GatedLinearHead, LinearHead};
use hidden_attention::construct::approximation::{
    exact_attention, relu_approximation, relu_bound, relu_bound_closed,
};
use hidden_attention::construct::function::{linear_limit_bound, linear_limit_bound_closed};
use hidden_attention::construct::separation::{
    certify_softmax_rank, enclosure_is_stochastic, softmax_exceeds_state, softmax_obstruction,
    softmax_rank_family,
};
use hidden_attention::construct::*;
use hidden_attention::interval::{exp_enclosure, softmax_enclosure};
use hidden_attention::scalar::{lift, ratio, Exact, Field};
use hidden_attention::semiseparable::semiseparable_rank_exact;
use hidden_attention::ssm::{hidden_attention as alpha, scan};
use hidden_attention::strategies;
use hidden_attention::tensor::Matrix;
use proptest::prelude::*;

fn cfg(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(cfg(64))]

    /// T2 + T3 round trips: channel → head → channel and head → channel → head are the
    /// identity and preserve the attention matrix exactly.
    #[test]
    fn round_trips_exact((ch, x) in strategies::rational_channel_with_input(1..=10, 1..=4)) {
        let head = channel_to_gated_head(&ch);
        let back = gated_head_to_channel(&head).unwrap();
        prop_assert_eq!(&back, &ch);
        prop_assert_eq!(head.attention().unwrap(), alpha(&ch).unwrap());
        if let Ok(lin) = channel_to_linear_head(&ch) {
            let a = alpha(&ch).unwrap();
            prop_assert_eq!(lin.attention(), a.clone());
            prop_assert_eq!(alpha(&linear_head_to_channel(&lin).unwrap()).unwrap(), a);
            prop_assert_eq!(lin.output(&x).unwrap(), scan(&ch, &x).unwrap().y);
        }
    }

    /// T3: every gated head (diagonal, scalar, RetNet, plain) is a channel per value coordinate.
    #[test]
    fn gated_head_is_channel((head, v) in strategies::rational_gated_head_with_values(1..=10, 1..=4)) {
        let ch = gated_head_to_channel(&head).unwrap();
        prop_assert_eq!(alpha(&ch).unwrap(), head.attention().unwrap());
        prop_assert_eq!(head_output_by_channels(&head, &v).unwrap(), head_output_values(&head, &v).unwrap());
        prop_assert_eq!(channel_to_gated_head(&ch), head);
    }

    /// T5: realisations reproduce the matrix; the minimal one has N = semiseparable rank.
    #[test]
    fn realisations_reproduce(m in strategies::rational_lower_triangular(1..=7)) {
        prop_assert_eq!(alpha(&realise_full(&m).unwrap()).unwrap(), m.clone());
        let r = semiseparable_rank_exact(&m).rank.max(1);
        let min = realise_minimal(&m).unwrap();
        prop_assert_eq!(min.state(), r);
        prop_assert_eq!(min.attention(), m.clone());
        match realise_diagonal(&m).unwrap() {
            DiagonalOutcome::Found(ch) => {
                prop_assert_eq!(ch.state(), r);
                prop_assert_eq!(alpha(&ch).unwrap(), m);
            }
            DiagonalOutcome::NotFound(ce) => {
                prop_assert_eq!(ce.rank, semiseparable_rank_exact(&m).rank);
                prop_assert!(ce.best.state() > r);
                prop_assert_eq!(alpha(&ce.best).unwrap(), m);
            }
        }
    }

    /// T5 on matrices of prescribed rank: minimal realisation state equals the rank.
    #[test]
    fn prescribed_rank_minimal(m in strategies::lower_triangular_with_rank(3..=8, 1..=3)) {
        let r = semiseparable_rank_exact(&m).rank;
        let min = realise_minimal(&m).unwrap();
        prop_assert_eq!(min.state(), r);
        prop_assert_eq!(min.attention(), m);
    }

    /// T6a soundness: a softmax head's enclosure is positive and row-stochastic.
    #[test]
    fn softmax_enclosure_stochastic(h in strategies::rational_softmax_head(1..=5, 1..=2)) {
        prop_assert!(enclosure_is_stochastic(&softmax_enclosure(&h, 96)));
    }

    /// T7: error within the sharp bound, the sharp bound within the closed one.
    #[test]
    fn relu_bound_holds(p in strategies::preactivated::<f64>(1..=24, 1..=6)) {
        let exact = exact_attention(&p).unwrap();
        let approx = relu_approximation(&p).unwrap();
        let bound = relu_bound(&p).unwrap();
        let closed = relu_bound_closed(&p).unwrap();
        let mag = hidden_attention::construct::approximation::magnitude(&p);
        let l = p.z.len();
        let slack = 8.0 * (l + p.a.len() + 8) as f64 * f64::EPSILON;
        for i in 0..l {
            for j in 0..=i {
                let err = (exact.get(i, j) - approx.get(i, j)).abs();
                prop_assert!(err <= bound.get(i, j) + slack * mag.get(i, j), "({i},{j}) err {err} bound {}", bound.get(i, j));
                prop_assert!(*bound.get(i, j) <= closed.get(i, j) * (1.0 + 1e-12) + 1e-300);
            }
        }
    }
}

#[test]
fn softmax_rank_certificates() {
    for n in 1..=5 {
        let c = softmax_exceeds_state(n).expect("certificate");
        assert_eq!(c.size(), n + 1);
        assert!(c.verify());
        // exact rank of the head's (float-free) score exponent pattern agrees
        let _ = softmax_rank_family(n);
    }
    // a singular submatrix is not certified (two equal columns need distinct nodes)
    let h = softmax_rank_family(2);
    assert!(certify_softmax_rank(&h, &[2, 3], &[0, 0], 64).is_none());
}

#[test]
fn exp_enclosure_is_tight_and_correct() {
    for &(p, q) in &[(0, 1), (1, 1), (-3, 2), (20, 1), (-40, 3), (7, 1000)] {
        let x = (p as f64) / (q as f64);
        let e = exp_enclosure(&ratio(p, q), 128);
        let (lo, hi) = (e.lo().to_f64(), e.hi().to_f64());
        assert!(
            lo <= x.exp() * (1.0 + 1e-15) && hi >= x.exp() * (1.0 - 1e-15),
            "{p}/{q}: [{lo}, {hi}]"
        );
        assert!(e.width() < ratio(1, 1) * e.hi().clone() * ratio(1, 1 << 40));
    }
}

#[test]
fn obstruction_certificate_on_channel() {
    let ch = hidden_attention::ssm::Channel::new(
        2,
        1,
        vec![ratio(1, 1); 2],
        vec![ratio(1, 2); 2],
        vec![ratio(1, 1); 2],
    )
    .unwrap();
    let a = alpha(&ch).unwrap();
    let ob = softmax_obstruction(&a).expect("row 1 sums to 1, row 0 to 1/2");
    assert!(ob.verify(&a));
}

#[test]
fn linear_limit_bound_shrinks_with_delta() {
    use hidden_attention::construct::function::LinearAttentionLayer;
    let w = |r, c, s: f64| {
        Matrix::from_row_major(
            r,
            c,
            (0..r * c).map(|i| ((i as f64 + s) * 0.37).sin()).collect(),
        )
        .unwrap()
    };
    let layer = LinearAttentionLayer {
        w_q: w(3, 4, 0.1),
        w_k: w(3, 4, 1.3),
        w_v: w(2, 4, 2.2),
    };
    let x = w(12, 4, 0.7);
    let lin = layer.output(&x).unwrap();
    let head = layer.head(&x).unwrap();
    let v = layer.values(&x);
    let mut last = f64::INFINITY;
    for k in 0..5 {
        let delta = 1e-3 / 4f64.powi(k);
        let s6 = layer.to_mamba(delta, 2.0).unwrap().output(&x).unwrap();
        let bound = linear_limit_bound(&head, &v, delta, 2.0);
        let closed = linear_limit_bound_closed(&head, &v, delta, 2.0);
        let mut err: f64 = 0.0;
        for i in 0..12 {
            for (c, closed_c) in closed.iter().enumerate() {
                let e = (s6.get(i, c) - lin.get(i, c)).abs();
                assert!(
                    e <= bound.get(i, c) + 1e-12,
                    "δ = {delta}: {e} > {}",
                    bound.get(i, c)
                );
                assert!(*bound.get(i, c) <= closed_c + 1e-12);
                err = err.max(e);
            }
        }
        assert!(
            err > 0.0 && err < last / 3.0,
            "error must shrink as Δ does: {err} vs {last}"
        );
        last = err;
    }
}

#[test]
fn diagonal_realisation_of_generic_channels() {
    // generator form: a diagonal channel with nonzero Ā, N = 2, L = 6, distinct values
    let l = 6;
    let a: Vec<Exact> = (0..2 * l).map(|i| ratio(i as i64 % 5 + 1, 7)).collect();
    let b: Vec<Exact> = (0..2 * l)
        .map(|i| ratio((i * i) as i64 % 11 - 5, 3))
        .collect();
    let c: Vec<Exact> = (0..2 * l)
        .map(|i| ratio((3 * i) as i64 % 7 + 1, 2))
        .collect();
    let ch = hidden_attention::ssm::Channel::new(l, 2, a, b, c).unwrap();
    let m = alpha(&ch).unwrap();
    assert_eq!(semiseparable_rank_exact(&m).rank, 2);
    let DiagonalOutcome::Found(d) = realise_diagonal(&m).unwrap() else {
        panic!("generic generator case")
    };
    assert_eq!(d.state(), 2);
    assert_eq!(alpha(&d).unwrap(), m);
    let _ = (
        lift(1.0),
        GatedLinearHead::<Exact>::new,
        LinearHead::<Exact>::new,
    );
}

#[test]
fn timing_softmax_certificate() {
    let t = std::time::Instant::now();
    for n in 1..=6 {
        let t0 = std::time::Instant::now();
        assert!(softmax_exceeds_state(n).unwrap().verify());
        eprintln!("n = {n}: {:?}", t0.elapsed());
    }
    eprintln!("total {:?}", t.elapsed());
}

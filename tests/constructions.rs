//! Constructions T2–T7: exact round trips, realisation, certificates, bounds.

use hidden_attention::construct::approximation::{
    exact_attention, relu_approximation, relu_bound, relu_bound_closed,
};
use hidden_attention::construct::function::{
    linear_limit_bound, linear_limit_bound_closed, LinearAttentionLayer,
};
use hidden_attention::construct::separation::{
    certify_softmax_rank, enclosure_is_stochastic, softmax_exceeds_state, softmax_obstruction,
    softmax_rank_family,
};
use hidden_attention::construct::*;
use hidden_attention::interval::{exp_enclosure, softmax_enclosure, Interval};
use hidden_attention::scalar::{ratio, Exact, Field, Real};
use hidden_attention::semiseparable::semiseparable_rank_exact;
use hidden_attention::ssm::{attention_matrix as alpha, scan};
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
            prop_assert_eq!(lin.attention().unwrap(), a.clone());
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

    /// T6a: every obstruction found on a channel's α̃ re-verifies exactly and names a
    /// real defect; a positive row-stochastic matrix (what every softmax head has) has
    /// none, and an obstruction does not verify on it.
    #[test]
    fn obstruction_reverifies(
        (ch, _) in strategies::rational_channel_with_input(1..=8, 1..=3),
        w in proptest::collection::vec(1i64..=9, 36),
    ) {
        let a = alpha(&ch).unwrap();
        let l = a.rows();
        let ob = softmax_obstruction(&a);
        if let Some(ob) = &ob {
            prop_assert!(ob.verify(&a), "{ob}");
            // and independently of α̃, from scans of the channel
            prop_assert!(ob.verify_on_channel(&ch), "{ob}");
        }
        // the obstruction is found iff some causal entry is ≤ 0 or some row sum is ≠ 1
        let defect = (0..l).any(|i| {
            let row = &a.row(i)[..=i];
            row.iter().any(|v| *v <= ratio(0, 1))
                || row.iter().fold(ratio(0, 1), |s, v| s + v) != ratio(1, 1)
        });
        prop_assert_eq!(ob.is_some(), defect);
        // a positive row-stochastic lower triangle of the same size
        let mut s = Matrix::zeros(l, l);
        for i in 0..l {
            let total: i64 = (0..=i).map(|j| w[(i * 8 + j) % 36]).sum();
            for j in 0..=i {
                *s.get_mut(i, j) = ratio(w[(i * 8 + j) % 36], total);
            }
        }
        prop_assert_eq!(softmax_obstruction(&s), None);
        if let Some(ob) = ob {
            prop_assert!(!ob.verify(&s), "{ob} verifies on a stochastic matrix");
        }
    }

    /// T3 under Mamba's strict A < 0 on random linear-attention layers: the S6 layer of
    /// `to_mamba(Δ, a)` is within `linear_limit_bound` (plus rounding) of the linear
    /// layer, the per-entry bound is within the closed form, and the bound is not vacuous:
    /// dividing Δ by 8 divides the error by more than 4.
    #[test]
    fn linear_limit_bound_random(
        (layer, x) in strategies::linear_attention_layer_with_tokens::<f64>(2..=12, 1..=3, 1..=3),
        e in -4.0f64..-2.0,
        a in 0.1f64..4.0,
    ) {
        let delta = 10f64.powf(e);
        let lin = layer.output(&x).unwrap();
        let head = layer.head(&x).unwrap();
        let v = layer.values(&x);
        let l = x.rows();
        let scale = lin.data().iter().fold(1.0f64, |m, y| m.max(y.abs()));
        let slack = 64.0 * (l + 8) as f64 * f64::EPSILON * scale * l as f64;
        let err_at = |d: f64| -> f64 {
            let s6 = layer.to_mamba(d, a).unwrap().output(&x).unwrap();
            let bound = linear_limit_bound(&head, &v, d, a);
            let closed = linear_limit_bound_closed(&head, &v, d, a);
            let mut worst: f64 = 0.0;
            for i in 0..l {
                for (c, closed_c) in closed.iter().enumerate() {
                    let err = (s6.get(i, c) - lin.get(i, c)).abs();
                    assert!(err <= bound.get(i, c) + slack, "Δ = {d}: {err} > {}", bound.get(i, c));
                    assert!(*bound.get(i, c) <= closed_c * (1.0 + 1e-12) + 1e-300);
                    worst = worst.max(err);
                }
            }
            worst
        };
        let (e1, e2) = (err_at(delta), err_at(delta / 8.0));
        if e1 > 1e3 * slack && delta * a * (l - 1) as f64 <= 0.5 {
            prop_assert!(e2 < e1 / 4.0, "error does not shrink with Δ: {} then {}", e1, e2);
        }
    }

    /// T7 is not exact: on the diagonal the error is Σ_n C_{i,n} B_{i,n} ε_i with
    /// ε_i = softplus(z_i) − ReLU(z_i) = ln(1 + e^{−|z_i|}) > 0 for z_i ≤ 20 (0 above
    /// PyTorch's threshold 20), as predicted.
    #[test]
    fn relu_approximation_is_not_exact(p in strategies::preactivated::<f64>(1..=16, 1..=6)) {
        let exact = exact_attention(&p).unwrap();
        let approx = relu_approximation(&p).unwrap();
        let (l, n) = (p.z.len(), p.a.len());
        for i in 0..l {
            let cb: f64 = (0..n).map(|k| p.c[i * n + k] * p.b[i * n + k]).sum();
            let cb_abs: f64 = (0..n).map(|k| (p.c[i * n + k] * p.b[i * n + k]).abs()).sum();
            // PyTorch's softplus is the identity above 20: ε = 0 there
            let eps = if p.z[i] > 20.0 { 0.0 } else { (-p.z[i].abs()).exp().ln_1p() };
            prop_assert!(eps <= std::f64::consts::LN_2);
            prop_assert!(eps > 0.0 || p.z[i] > 20.0);
            let diff = exact.get(i, i) - approx.get(i, i);
            let slack = 8.0 * (n + 4) as f64 * f64::EPSILON * cb_abs * (p.z[i].softplus() + p.z[i].max(0.0) + 1.0);
            prop_assert!((diff - cb * eps).abs() <= slack, "row {}: {} vs {}", i, diff, cb * eps);
            if (cb * eps).abs() > 2.0 * slack {
                prop_assert!(diff != 0.0);
            }
        }
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
        // products below the normal range: the absolute allowance of theorems::t7,
        // (L N + 1)(L + 1) λ (1 + max|C, B|²)
        let n = p.a.len();
        let max_cb = p.c.iter().chain(&p.b).fold(0.0f64, |m, v| m.max(v.abs()));
        let eta = ((l * n + 1) * (l + 1)) as f64 * f64::MIN_POSITIVE * (1.0 + max_cb * max_cb);
        for i in 0..l {
            for j in 0..=i {
                let err = (exact.get(i, j) - approx.get(i, j)).abs();
                prop_assert!(err <= bound.get(i, j) + slack * mag.get(i, j) + eta, "({i},{j}) err {err} bound {}", bound.get(i, j));
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
        // the certified submatrix is rows n..=2n, columns 0..=n of the family's head
        assert_eq!(c.head, softmax_rank_family(n));
        assert_eq!(c.rows, (n..=2 * n).collect::<Vec<_>>());
        assert_eq!(c.cols, (0..=n).collect::<Vec<_>>());
        assert!(c.determinant.excludes_zero());
        // a certificate moved onto another head does not re-verify because of its values:
        // the family of n + 1 has 2n + 3 positions, so rows n..=2n and columns 0..=n lie in
        // range and inside one block (the same submatrix is certifiable there), but its
        // determinant enclosure is not the recorded one
        let mut moved = c.clone();
        moved.head = softmax_rank_family(n + 1);
        let there = certify_softmax_rank(&moved.head, &moved.rows, &moved.cols, moved.bits)
            .expect("in range, inside H_n, nonsingular");
        assert!(there.determinant.excludes_zero());
        assert_ne!(there.determinant, c.determinant);
        assert!(!moved.verify());
        // nor does one whose recorded enclosure was altered
        let mut altered = c.clone();
        altered.determinant = Interval::point(ratio(1, 1));
        assert!(!altered.verify());
    }
    // a singular submatrix is not certified (two equal columns need distinct nodes)
    let h = softmax_rank_family(2);
    assert!(certify_softmax_rank(&h, &[2, 3], &[0, 0], 64).is_none());
}

/// $e^x$ to 61 significant digits (an independent decimal evaluation, correctly rounded
/// at 80 digits), for $x = p/q$: relative error below $10^{-59}$.
const EXP_DIGITS: [(i64, i64, &str); 9] = [
    (
        0,
        1,
        "1.000000000000000000000000000000000000000000000000000000000000e+0",
    ),
    (
        1,
        1,
        "2.718281828459045235360287471352662497757247093699959574966968e+0",
    ),
    (
        -3,
        2,
        "2.231301601484298289332804707640125213421716293610793287438353e-1",
    ),
    (
        20,
        1,
        "4.851651954097902779691068305415405586846389889448472543536108e+8",
    ),
    (
        -40,
        3,
        "1.619596792312610717382700897516578279158389191484534264998205e-6",
    ),
    (
        7,
        1000,
        "1.007024557266848555231600031941337387260626958324843573515365e+0",
    ),
    (
        -700,
        1,
        "9.859676543759770856705372947849465105115600181400941710586467e-305",
    ),
    (
        -1000,
        9,
        "5.559779479953813679438676273566221772473220646742216765426528e-49",
    ),
    (
        350,
        3,
        "4.652533997942822612385186907936495564750985082237221017463884e+50",
    ),
];

/// A decimal `d.ddd…e±k` as an exact rational.
fn decimal(s: &str) -> Exact {
    let (m, e) = s.split_once('e').unwrap();
    let (int, frac) = m.split_once('.').unwrap();
    let digits: num_bigint::BigInt = format!("{int}{frac}").parse().unwrap();
    let exp = e.parse::<i64>().unwrap() - frac.len() as i64;
    let ten =
        |k: i64| Exact::from_integer(num_bigint::BigInt::from(10).pow(k.unsigned_abs() as u32));
    let v = Exact::from_integer(digits);
    if exp >= 0 {
        v * ten(exp)
    } else {
        v / ten(exp)
    }
}

/// The error bound $10^{-59}|d|$ of a 61-digit value `d`.
fn digits_error(d: &Exact) -> Exact {
    d.abs_val() / Exact::from_integer(num_bigint::BigInt::from(10).pow(59))
}

/// `x` rounded down (`up = false`) or up to `prec` significant bits (x > 0).
fn round_to(x: &Exact, prec: i64, up: bool) -> Exact {
    let k = prec - (x.numer().bits() as i64 - x.denom().bits() as i64);
    let two_k = Exact::from_integer(num_bigint::BigInt::from(2).pow(k.unsigned_abs() as u32));
    let scaled = if k >= 0 { x * &two_k } else { x / &two_k };
    let r = if up { scaled.ceil() } else { scaled.floor() };
    if k >= 0 {
        r / two_k
    } else {
        r * two_k
    }
}

/// An independent rigorous enclosure of $e^x$ (rational $x$), 300-bit endpoints:
/// $e^{|x|} = (e^y)^{2^s}$ with $y = |x|/2^s \le 1/2$, $T_{60}(y) \le e^y \le T_{60}(y) +
/// 2y^{61}/61!$ (exact rationals, Lagrange remainder with $e^y < 2$), squared $s$ times
/// with outward rounding, inverted for $x < 0$.
fn exp_reference(x: &Exact) -> (Exact, Exact) {
    let mut y = x.abs_val();
    let mut s = 0;
    while y > ratio(1, 2) {
        y /= ratio(2, 1);
        s += 1;
    }
    let (mut sum, mut term) = (ratio(1, 1), ratio(1, 1));
    for k in 1..=60 {
        term = term * &y / ratio(k, 1);
        sum += &term;
    }
    let rem = ratio(2, 1) * term * &y / ratio(61, 1);
    let (mut lo, mut hi) = (
        round_to(&sum, 300, false),
        round_to(&(sum + rem), 300, true),
    );
    for _ in 0..s {
        lo = round_to(&(&lo * &lo), 300, false);
        hi = round_to(&(&hi * &hi), 300, true);
    }
    if x < &ratio(0, 1) {
        (
            round_to(&(ratio(1, 1) / hi), 300, false),
            round_to(&(ratio(1, 1) / lo), 300, true),
        )
    } else {
        (lo, hi)
    }
}

/// Whether `e` provably contains $e^{p/q}$: it contains the reference enclosure and the
/// 61-digit decimal with its error interval (each contains the true value).
fn encloses(e: &Interval, p: i64, q: i64, digits: &str) -> bool {
    let (lo, hi) = exp_reference(&ratio(p, q));
    let d = decimal(digits);
    let delta = digits_error(&d);
    e.lo() <= &lo && &hi <= e.hi() && e.lo() <= &(&d - &delta) && &(&d + &delta) <= e.hi()
}

/// The enclosure of `exp_enclosure` is sound — it contains an independent 300-bit
/// enclosure of e^x and a 61-digit decimal value, including large negative x — and tight
/// (relative width below 2^-100).
#[test]
fn exp_enclosure_is_tight_and_correct() {
    for &(p, q, digits) in &EXP_DIGITS {
        let (lo, hi) = exp_reference(&ratio(p, q));
        // the two references agree: their error intervals overlap, and the 300-bit one is
        // far narrower than a 128-bit enclosure
        let (d, delta) = (decimal(digits), digits_error(&decimal(digits)));
        assert!(lo <= &d + &delta && hi >= &d - &delta, "{p}/{q}");
        assert!(&hi - &lo < lo / Exact::from_integer(num_bigint::BigInt::from(2).pow(250)));
        let e = exp_enclosure(&ratio(p, q), 128);
        assert!(encloses(&e, p, q, digits), "{p}/{q}: {e:?}");
        let rel = e.width() / e.hi().clone();
        assert!(
            rel < Exact::new(1.into(), num_bigint::BigInt::from(2).pow(100)),
            "{p}/{q}"
        );
    }
}

/// The comparison above detects an unsound 128-bit enclosure that a comparison with f64
/// `exp` accepts: the enclosure shifted up by 2^-90 of its value.
#[test]
fn exp_reference_detects_a_slightly_wrong_enclosure() {
    for &(p, q, digits) in &EXP_DIGITS {
        let e = exp_enclosure(&ratio(p, q), 128);
        let shift = e.hi().clone() / Exact::from_integer(num_bigint::BigInt::from(2).pow(90));
        let wrong = Interval::new(e.lo().clone() + &shift, e.hi().clone() + &shift);
        let x = (p as f64) / (q as f64);
        let (lo, hi) = (wrong.lo().to_f64(), wrong.hi().to_f64());
        // a comparison with f64 `exp` (tolerance: the rounding of x = p/q and of exp)
        // cannot tell
        let tol = 4.0 * f64::EPSILON * (1.0 + x.abs());
        assert!(
            lo <= x.exp() * (1.0 + tol) && hi >= x.exp() * (1.0 - tol),
            "{p}/{q}"
        );
        assert!(!encloses(&wrong, p, q, digits), "{p}/{q}");
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

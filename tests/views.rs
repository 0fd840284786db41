//! The three views of a channel agree: exactly over the rationals (T1, T2), within the
//! stated forward-error bound in f64 and f32.

use hidden_attention::error::Error;
use hidden_attention::scalar::{ratio, Exact};
use hidden_attention::ssm::{self, factored, gated_head, hidden_attention_row, scan, Channel};
use hidden_attention::strategies;
use hidden_attention::theorems::{t1, t2};
use proptest::prelude::*;

fn exact_config() -> ProptestConfig {
    ProptestConfig {
        cases: 96,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(exact_config())]

    /// T1: scan output = α̃ x, with `==` on rationals; Ā includes 0 and 1; L ≤ 32, N ≤ 8.
    #[test]
    fn scan_eq_alpha_x_exact((ch, x) in strategies::rational_channel_with_input(1..=32, 1..=8)) {
        let y = scan(&ch, &x).unwrap().y;
        let a = ssm::attention_matrix(&ch).unwrap();
        prop_assert_eq!(a.mul_vec(&x).unwrap(), y);
        for i in 0..ch.len() {
            for j in i + 1..ch.len() {
                prop_assert_eq!(a.get(i, j), &ratio(0, 1));
            }
            prop_assert_eq!(&hidden_attention_row(&ch, i).unwrap()[..], a.row(i));
        }
    }

    /// T2a: the gated linear attention head (g = Ā, q = C, k = B̄) has matrix α̃ and output y.
    #[test]
    fn gated_eq_scan_exact((ch, x) in strategies::rational_channel_with_input(1..=32, 1..=8)) {
        let head = gated_head(&ch);
        prop_assert_eq!(head.attention().unwrap(), ssm::attention_matrix(&ch).unwrap());
        prop_assert_eq!(head.output(&x).unwrap(), scan(&ch, &x).unwrap().y);
    }

    /// T2b: tril(QKᵀ) = α̃ and the factored output = scan output when no Ā_k (k ≥ 1) is 0;
    /// otherwise a ZeroTransition error naming the first zero at a step ≥ 1.
    #[test]
    fn factored_eq_alpha_exact((ch, x) in strategies::rational_channel_with_input(1..=32, 1..=8)) {
        let zero = (1..ch.len())
            .flat_map(|t| (0..ch.state()).map(move |s| (t, s)))
            .find(|&(t, s)| ch.abar(t)[s] == ratio(0, 1));
        match (factored(&ch), zero) {
            (Ok(f), None) => {
                prop_assert_eq!(f.attention(), ssm::attention_matrix(&ch).unwrap());
                prop_assert_eq!(f.output(&x).unwrap(), scan(&ch, &x).unwrap().y);
            }
            (Err(Error::ZeroTransition { step, state }), Some(z)) => prop_assert_eq!((step, state), z),
            (r, z) => prop_assert!(false, "factored gave {:?} with first zero {:?}", r.map(|_| ()), z),
        }
    }

    /// Random small cases on the grid {−1, 0, ½, 1}, L ≤ 4, N ≤ 2: T1 and T2 checkers pass.
    #[test]
    fn grid_cases_exact((ch, x) in strategies::grid_channel_with_input(1..=4, 1..=2)) {
        prop_assert!(t1::check_exact(&ch, &x).is_ok());
        prop_assert!(t2::check_exact(&ch, &x).is_ok());
    }
}

/// Exhaustive tiny cases: L ≤ 2, N = 1, every entry of Ā, B̄, C and x in {−1, 0, ½, 1}
/// (4⁴ + 4⁸ = 65 792 cases), checked by the T1 and T2 checkers.
#[test]
fn exhaustive_tiny_grid() {
    let mut count = 0;
    for len in 1..=2 {
        for (ch, x) in strategies::exhaustive_grid(len) {
            if let Err(c) = t1::check_exact(&ch, &x) {
                panic!("{c}");
            }
            if let Err(c) = t2::check_exact(&ch, &x) {
                panic!("{c}");
            }
            count += 1;
        }
    }
    assert_eq!(count, 256 + 65_536);
}

/// A hand-computed case: L = 3, N = 1, Ā = (2, 1/2, 3), B̄ = (1, 1, 1), C = (1, 1, 1).
/// α̃ = [[1,0,0],[1/2,1,0],[3/2,3,1]].
#[test]
fn hand_computed_alpha() {
    let one = || ratio(1, 1);
    let ch = Channel::new(
        3,
        1,
        vec![ratio(2, 1), ratio(1, 2), ratio(3, 1)],
        vec![one(), one(), one()],
        vec![one(), one(), one()],
    )
    .unwrap();
    let a = ssm::attention_matrix(&ch).unwrap();
    let expect: Vec<Exact> = [
        (1, 1),
        (0, 1),
        (0, 1),
        (1, 2),
        (1, 1),
        (0, 1),
        (3, 2),
        (3, 1),
        (1, 1),
    ]
    .iter()
    .map(|&(p, q)| ratio(p, q))
    .collect();
    assert_eq!(a.data(), &expect[..]);
    let f = factored(&ch).unwrap();
    // P_i = ∏_{k=1}^{i} Ā_k = (1, 1/2, 3/2): Q = C ⊙ P, K = B̄ ⊘ P
    assert_eq!(f.q.data(), &[ratio(1, 1), ratio(1, 2), ratio(3, 2)]);
    assert_eq!(f.k.data(), &[ratio(1, 1), ratio(2, 1), ratio(2, 3)]);
}

fn float_config() -> ProptestConfig {
    ProptestConfig {
        cases: 48,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(float_config())]

    /// f64 views (scan, α̃ x, gated, factored unless refused) against the exact result of
    /// the lifted inputs. Bound (see `theorems::bound`): |fl(y_i) − y_i| ≤ γ_m Σ_j |α̃|_ij |x_j| + η
    /// with m = 3L + N + 4: every term is a product of at most 2L + 2 rounded factors and
    /// each output sums at most L + N terms; rounding of P_i, P_j and the division in the
    /// factored form add at most L + 2 more. No cancellation happens inside a term, so the
    /// bound is relative to the sum of absolute terms, computed exactly.
    #[test]
    fn float_views_within_bound_f64((ch, x) in strategies::mamba_like_channel_with_input::<f64>(1..=48, 1..=16)) {
        if let Err(c) = t1::check_float(&ch, &x) { prop_assert!(false, "{}", c); }
        if let Err(c) = t2::check_float(&ch, &x) { prop_assert!(false, "{}", c); }
    }

    /// The same in f32 (unit roundoff 2⁻²⁴), inputs lifted from f32.
    #[test]
    fn float_views_within_bound_f32((ch, x) in strategies::mamba_like_channel_with_input::<f32>(1..=48, 1..=16)) {
        if let Err(c) = t1::check_float(&ch, &x) { prop_assert!(false, "{}", c); }
        if let Err(c) = t2::check_float(&ch, &x) { prop_assert!(false, "{}", c); }
    }
}

/// The least `f32` above the finite `v`.
fn next_up32(v: f32) -> f32 {
    if v == 0.0 {
        f32::from_bits(1)
    } else if v > 0.0 {
        f32::from_bits(v.to_bits() + 1)
    } else {
        f32::from_bits(v.to_bits() - 1)
    }
}

/// The float bound is not vacuous: the measured error is a sizeable fraction of u, and an
/// output moved by twice its bound (counted in ulps) is caught by the exact comparison.
#[test]
fn float_error_is_measured_not_vacuous() {
    use hidden_attention::scalar::Field;
    use hidden_attention::theorems::{bound, check_output};
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let s = strategies::mamba_like_channel_with_input::<f32>(40..=40, 16..=16);
    let mut worst: f64 = 0.0;
    for _ in 0..8 {
        let (ch, x) = s.new_tree(&mut runner).unwrap().current();
        worst = worst.max(t1::check_float(&ch, &x).unwrap().unwrap());
        // the bound is tight enough to catch a planted error: the largest output moved
        // by just over twice its bound (in ulps) is a certified failure, the unmoved one
        // passes
        let y = scan(&ch, &x).unwrap().y;
        assert!(check_output(&ch, &x, &y).unwrap().is_ok());
        let (ex, xe) = (
            ch.to_exact(),
            x.iter().map(Field::to_exact).collect::<Vec<_>>(),
        );
        let b = bound::output_bound::<f32>(&ex, &xe, &bound::magnitude(&ex, &xe));
        let p = (0..y.len())
            .max_by(|&i, &j| y[i].abs().total_cmp(&y[j].abs()))
            .unwrap();
        let ulp = (next_up32(y[p]) - y[p]) as f64;
        let k = (2.0 * b[p] / ulp).ceil() as usize + 1;
        assert!(k < 1 << 16, "bound {:e} is {k} ulps: vacuous", b[p]);
        let mut moved = y.clone();
        for _ in 0..k {
            moved[p] = next_up32(moved[p]);
        }
        assert!(check_output(&ch, &x, &moved).unwrap().is_err());
    }
    // f32 unit roundoff is 6e-8: some rounding must be visible, and far below 1.
    assert!(worst > 1e-9 && worst < 1e-5, "worst relative error {worst}");
}

/// T2b needs no condition on Ā_0 (it never enters α̃): with Ā_0 = 0 in every state the
/// factored form exists, P_i = ∏_{k=1}^{i} Ā_k, and reproduces α̃ and the scan exactly;
/// the T2 checker then takes the factored branch (b) and passes.
#[test]
fn factored_allows_zero_first_transition() {
    let r = |p: i64, q: i64| ratio(p, q);
    // L = 3, N = 2, Ā_0 = (0, 0), Ā_1 = (1/2, 3), Ā_2 = (2, −1)
    let ch = Channel::new(
        3,
        2,
        vec![r(0, 1), r(0, 1), r(1, 2), r(3, 1), r(2, 1), r(-1, 1)],
        vec![r(1, 1), r(2, 1), r(-1, 3), r(1, 1), r(5, 1), r(1, 2)],
        vec![r(1, 1), r(-1, 1), r(2, 1), r(1, 4), r(1, 1), r(3, 1)],
    )
    .unwrap();
    let x = vec![r(1, 1), r(-2, 1), r(1, 3)];
    let f = factored(&ch).expect("Ā_0 = 0 is allowed");
    // P_0 = 1, P_1 = Ā_1, P_2 = Ā_1 ⊙ Ā_2 = (1, −3)
    assert_eq!(f.q.row(0), &[r(1, 1), r(-1, 1)]);
    assert_eq!(f.k.row(1), &[r(-2, 3), r(1, 3)]);
    assert_eq!(f.q.row(2), &[r(1, 1), r(-9, 1)]);
    assert_eq!(f.k.row(2), &[r(5, 1), r(-1, 6)]);
    assert_eq!(f.attention(), ssm::attention_matrix(&ch).unwrap());
    assert_eq!(f.output(&x).unwrap(), scan(&ch, &x).unwrap().y);
    assert_eq!(t2::check_exact(&ch, &x), Ok(None));
    // f64 as well: Ā_0 = 0.0 is not refused, and the values match the exact ones
    let chf = ch.map(hidden_attention::scalar::Field::to_f64);
    let ff = factored(&chf).expect("Ā_0 = 0.0 is allowed in f64");
    assert_eq!(ff.q.row(2), &[1.0, -9.0]);
    assert_eq!(ff.k.row(2), &[5.0, -1.0 / 6.0]);
}

/// A zero Ā at a step ≥ 1 is still refused, naming that step — also when Ā_0 = 0 too.
#[test]
fn factored_names_first_zero_after_step_zero() {
    let r = |p: i64, q: i64| ratio(p, q);
    let ch = Channel::new(
        3,
        2,
        vec![r(0, 1), r(0, 1), r(1, 2), r(1, 1), r(1, 1), r(0, 1)],
        vec![r(1, 1); 6],
        vec![r(1, 1); 6],
    )
    .unwrap();
    assert!(matches!(
        factored(&ch),
        Err(Error::ZeroTransition { step: 2, state: 1 })
    ));
    assert_eq!(t2::check_exact(&ch, &[r(1, 1), r(1, 1), r(1, 1)]), Ok(None));
}

//! The fixed-point enclosures of `exp`, `ln` and softplus behind the T7 and T3
//! certificates, against the independent Taylor enclosure and libm.

use hidden_attention::interval::{
    exp_enclosure, exp_interval, ln_enclosure, softplus_enclosure, Interval,
};
use hidden_attention::scalar::{lift, Exact, Field};
use num_bigint::BigInt;
use num_traits::{One, Signed, Zero};

/// $2^e$.
fn pow2(e: i64) -> Exact {
    if e >= 0 {
        Exact::from_integer(BigInt::one() << e as usize)
    } else {
        Exact::new(BigInt::one(), BigInt::one() << (-e) as usize)
    }
}

fn near(iv: &Interval, v: f64, rel: f64) -> bool {
    let (lo, hi) = (iv.lo().to_f64(), iv.hi().to_f64());
    (lo - v).abs() <= rel * v.abs() && (hi - v).abs() <= rel * v.abs()
}

#[test]
fn exp_agrees_with_the_taylor_enclosure_and_libm() {
    for &x in &[
        -700.5, -30.0, -1.0, -0.125, -1e-9, 0.0, 1e-300, 0.3, 1.0, 5.5, 40.25,
    ] {
        let e = lift(x).unwrap();
        let fast = exp_interval(&Interval::point(e.clone()), 128).unwrap();
        // The independent Taylor enclosure at 256 bits lies inside the fast one at 128.
        let slow = exp_enclosure(&e, 256);
        let inside = fast.lo() <= slow.lo() && slow.hi() <= fast.hi();
        assert!(
            inside || (x == 0.0 && fast == Interval::point(Exact::one())),
            "x = {x}"
        );
        assert!(fast.width() <= fast.hi().clone() * pow2(-100), "x = {x}");
        assert!(
            near(&fast, x.exp(), 4.0 * f64::EPSILON),
            "x = {x}: {fast:?}"
        );
    }
    // Below the floor: [0, 2^-23637], which contains e^x.
    let far = exp_interval(&Interval::point(lift(-1e6).unwrap()), 128).unwrap();
    assert!(far.lo().is_zero() && far.hi() == &pow2(-23637));
    // An interval argument: the ends of e^lo and e^hi.
    let iv = exp_interval(
        &Interval::new(lift(-2.0).unwrap(), lift(-1.0).unwrap()),
        128,
    )
    .unwrap();
    assert!(near(
        &Interval::point(iv.lo().clone()),
        (-2f64).exp(),
        4.0 * f64::EPSILON
    ));
    assert!(near(
        &Interval::point(iv.hi().clone()),
        (-1f64).exp(),
        4.0 * f64::EPSILON
    ));
}

#[test]
fn ln_inverts_exp() {
    for &x in &[
        1e-300,
        1e-9,
        0.5,
        2.0 / 3.0,
        1.0,
        1.0 + 1e-12,
        4.0 / 3.0,
        3.0,
        1e300,
    ] {
        let e = lift(x).unwrap();
        let l = ln_enclosure(&e, 128).unwrap();
        assert!(
            near(&l, x.ln(), 4.0 * f64::EPSILON) || x == 1.0,
            "x = {x}: {l:?}"
        );
        // exp of the enclosure of ln x contains x, also by the independent Taylor
        // enclosure at 256 bits: e^lo ≤ x ≤ e^hi.
        assert!(exp_interval(&l, 128).unwrap().contains(&e), "x = {x}");
        if x != 1.0 {
            assert!(exp_enclosure(l.lo(), 256).hi() <= &e, "x = {x}");
            assert!(exp_enclosure(l.hi(), 256).lo() >= &e, "x = {x}");
        }
    }
    let zero = ln_enclosure(&Exact::one(), 128).unwrap();
    assert!(zero.contains(&Exact::zero()) && zero.width() < pow2(-200));
    assert!(ln_enclosure(&lift(-1.0).unwrap(), 128).is_none());
}

#[test]
fn softplus_on_both_sides_of_the_threshold() {
    for &z in &[-800.0, -60.0, -44.0, -6.0, 0.0, 3.5, 20.0, 20.5] {
        let d = softplus_enclosure(&lift(z).unwrap(), 128);
        let want = if z > 20.0 { z } else { z.exp().ln_1p() };
        assert!(
            want == 0.0 || near(&d, want, 4.0 * f64::EPSILON),
            "z = {z}: {d:?}"
        );
        assert!(d.lo().is_positive(), "z = {z}");
    }
    // The series branch (e^z ≤ 2^-64) is as tight as the logarithm branch.
    let d = softplus_enclosure(&lift(-60.0).unwrap(), 128);
    assert!(d.width() <= d.hi().clone() * pow2(-100));
}

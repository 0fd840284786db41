//! Dyadic rationals `$m \cdot 2^e$` (`$m \in \mathbb Z$`, `$e \in \mathbb Z$`): the exact values of
//! binary floating-point numbers, closed under `$+$`, `$-$` and `$\times$`.
//!
//! Sums and products of lifted floats never need a gcd: a [`Dyadic`] multiplies mantissas
//! and adds exponents, and adds by shifting to the smaller exponent. This is the exact
//! arithmetic of choice when every input is a float (e.g. comparing a float kernel with
//! its exact value, entry by entry), where [`crate::scalar::Exact`] spends most of its time
//! reducing fractions whose denominators are powers of two.

use std::cmp::Ordering;

use num_bigint::{BigInt, Sign};
use num_traits::{One, Signed, Zero};

use crate::scalar::Exact;

/// The exact value `$m \cdot 2^e$`, kept with `$m$` odd (or `$m = 0$`, `$e = 0$`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dyadic {
    m: BigInt,
    e: i64,
}

impl Dyadic {
    /// Zero.
    pub fn zero() -> Self {
        Self {
            m: BigInt::zero(),
            e: 0,
        }
    }

    /// One.
    pub fn one() -> Self {
        Self {
            m: BigInt::one(),
            e: 0,
        }
    }

    /// The exact value of a finite `f64` (`None` for ±∞ and NaN).
    pub fn from_f64(x: f64) -> Option<Self> {
        if !x.is_finite() {
            return None;
        }
        if x == 0.0 {
            return Some(Self::zero());
        }
        let bits = x.to_bits();
        let exp = ((bits >> 52) & 0x7ff) as i64;
        let frac = bits & ((1u64 << 52) - 1);
        // Subnormals: frac · 2^(−1074); normals: (2^52 + frac) · 2^(exp − 1075).
        let (mant, e) = if exp == 0 {
            (frac, -1074)
        } else {
            (frac | (1u64 << 52), exp - 1075)
        };
        let sign = if x < 0.0 { Sign::Minus } else { Sign::Plus };
        Some(Self::normalised(BigInt::from_biguint(sign, mant.into()), e))
    }

    fn normalised(m: BigInt, e: i64) -> Self {
        match m.trailing_zeros() {
            None => Self::zero(),
            Some(0) => Self { m, e },
            Some(z) => Self {
                m: m >> z,
                e: e + z as i64,
            },
        }
    }

    /// `$|x|$`.
    pub fn abs(&self) -> Self {
        Self {
            m: self.m.abs(),
            e: self.e,
        }
    }

    /// `$x + y$`, exactly.
    pub fn add(&self, y: &Self) -> Self {
        if self.m.is_zero() {
            return y.clone();
        }
        if y.m.is_zero() {
            return self.clone();
        }
        let e = self.e.min(y.e);
        let a = &self.m << (self.e - e) as u64;
        let b = &y.m << (y.e - e) as u64;
        Self::normalised(a + b, e)
    }

    /// `$x - y$`, exactly.
    pub fn sub(&self, y: &Self) -> Self {
        self.add(&Self { m: -&y.m, e: y.e })
    }

    /// `$x \cdot y$`, exactly (the product of odd mantissas is odd: no normalisation).
    pub fn mul(&self, y: &Self) -> Self {
        if self.m.is_zero() || y.m.is_zero() {
            return Self::zero();
        }
        Self {
            m: &self.m * &y.m,
            e: self.e + y.e,
        }
    }

    /// The sign: −1, 0 or 1.
    pub fn signum(&self) -> i32 {
        match self.m.sign() {
            Sign::Minus => -1,
            Sign::NoSign => 0,
            Sign::Plus => 1,
        }
    }

    /// The nearest `f64`, up to one unit in the last place (from the top 64 bits of the
    /// mantissa; ±∞ or 0 outside the range of `f64`).
    pub fn to_f64(&self) -> f64 {
        use num_traits::ToPrimitive;
        let shift = self.m.bits().saturating_sub(64);
        let top = (&self.m >> shift).to_f64().unwrap_or(0.0);
        let mut v = top;
        let mut e = self.e + shift as i64;
        while e > 1000 {
            v *= 2f64.powi(1000);
            e -= 1000;
        }
        while e < -1000 {
            v *= 2f64.powi(-1000);
            e += 1000;
        }
        v * 2f64.powi(e as i32)
    }

    /// The same value as an exact rational.
    pub fn to_exact(&self) -> Exact {
        let two = BigInt::from(2);
        if self.e >= 0 {
            Exact::from_integer(&self.m * num_traits::pow(two, self.e as usize))
        } else {
            Exact::new(self.m.clone(), num_traits::pow(two, (-self.e) as usize))
        }
    }
}

impl PartialOrd for Dyadic {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Dyadic {
    fn cmp(&self, other: &Self) -> Ordering {
        self.sub(other).signum().cmp(&0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scalar::lift;

    #[test]
    fn agrees_with_the_rationals() {
        let xs = [
            0.0,
            1.0,
            -0.1,
            3.5e300,
            -2.5e-310,
            f64::MIN_POSITIVE,
            f64::MAX,
            1.0 / 3.0,
            -7.25,
        ];
        for &x in &xs {
            let d = Dyadic::from_f64(x).unwrap();
            assert_eq!(d.to_exact(), lift(x).unwrap(), "{x}");
            for &y in &xs {
                let e = Dyadic::from_f64(y).unwrap();
                let (p, q) = (lift(x).unwrap(), lift(y).unwrap());
                assert_eq!(d.add(&e).to_exact(), &p + &q, "{x} + {y}");
                assert_eq!(d.sub(&e).to_exact(), &p - &q, "{x} - {y}");
                assert_eq!(d.mul(&e).to_exact(), &p * &q, "{x} * {y}");
                assert_eq!(d.cmp(&e), p.cmp(&q), "{x} <=> {y}");
                let (f, xy) = (d.mul(&e).to_f64(), x * y);
                if xy.is_normal() {
                    assert!((f - xy).abs() <= xy.abs() * f64::EPSILON, "{x} * {y}: {f}");
                }
            }
        }
        assert!(Dyadic::from_f64(f64::NAN).is_none());
        assert!(Dyadic::from_f64(f64::NEG_INFINITY).is_none());
    }
}

//! Numeric tiers: the [`Field`] every algebraic view is written over once, the float
//! tier [`Real`] that adds `exp`, `softplus` and `silu`, and exact lifting of floats.
//!
//! | tier | types | used by |
//! | --- | --- | --- |
//! | [`Field`] | `f32`, `f64`, [`Exact`] | scan, hidden attention (T1), gated form (T2a), factored form (T2b) |
//! | [`Real`] | `f32`, `f64` | discretisation (ZOH / Euler), `selective_scan`, softplus, silu |
//!
//! Every finite `f64` (and `f32`) is a dyadic rational `$m \cdot 2^e$`; [`lift`] converts it
//! *exactly*, so any float channel can be re-run on the exact path and its float result
//! checked against the exact one.

use std::fmt::{Debug, Display};
use std::ops::{Add, AddAssign, Div, Mul, MulAssign, Neg, Sub, SubAssign};

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{One, Signed, ToPrimitive, Zero};

/// Exact rationals: the type of the exact tier.
pub type Exact = BigRational;

/// How a value sits in its number system's range (exact values are never out of range).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Exactly zero.
    Zero,
    /// Nonzero but below the smallest normal float (precision lost).
    Subnormal,
    /// An ordinary value.
    Normal,
    /// ±∞.
    Infinite,
    /// Not a number.
    Nan,
}

/// A field with exact equality: zero, one, `+ − × ÷` on values and on references.
///
/// Implemented for `f32`, `f64` and [`Exact`] (big rationals). All algebra of the
/// crate (T1–T5) is written once over this trait. Division by zero is never performed
/// by the crate: algorithms that divide check for a zero divisor first and return
/// [`crate::Error::ZeroTransition`].
pub trait Field:
    Clone
    + PartialEq
    + Debug
    + Display
    + Send
    + Sync
    + 'static
    + Zero
    + One
    + Neg<Output = Self>
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + for<'a> Add<&'a Self, Output = Self>
    + for<'a> Sub<&'a Self, Output = Self>
    + for<'a> Mul<&'a Self, Output = Self>
    + for<'a> Div<&'a Self, Output = Self>
    + for<'a> AddAssign<&'a Self>
    + for<'a> SubAssign<&'a Self>
    + for<'a> MulAssign<&'a Self>
{
    /// Short name of the tier (`"f32"`, `"f64"`, `"exact"`).
    const NAME: &'static str;
    /// Whether arithmetic is exact (no rounding).
    const EXACT: bool;
    /// Unit roundoff `$u$` (half the machine epsilon); 0 for exact types.
    fn unit_roundoff() -> f64;
    /// Smallest positive normal value `$\lambda$` (0 for exact types).
    fn min_normal() -> f64;
    /// Smallest positive subnormal value `$\eta_0$` (0 for exact types): the largest absolute
    /// error of one rounded product, quotient or fused multiply-add whose result falls below
    /// the normal range (standard model with underflow,
    /// `$\mathrm{fl}(a \circ b) = (a \circ b)(1+\delta) + \eta$`, `$|\eta| \le \eta_0$`).
    fn min_subnormal() -> f64;
    /// Largest finite value (∞ for exact types).
    fn max_finite() -> f64;
    /// Range class of the value.
    fn class(&self) -> Class;
    /// Nearest `f64` (rounded for exact values; lossless widening for `f32`).
    fn to_f64(&self) -> f64;
    /// The value nearest to `x` (exact for [`Exact`] and `f64`, rounded for `f32`).
    ///
    /// `x` must be finite; callers check finiteness first.
    fn from_f64(x: f64) -> Self;
    /// Absolute value.
    fn abs_val(&self) -> Self;
    /// The exact rational value of `self`.
    fn to_exact(&self) -> Exact;
    /// Whether the value is finite (always true for exact values).
    fn is_finite_val(&self) -> bool {
        !matches!(self.class(), Class::Infinite | Class::Nan)
    }
}

macro_rules! float_field {
    ($t:ty, $name:literal) => {
        impl Field for $t {
            const NAME: &'static str = $name;
            const EXACT: bool = false;
            fn unit_roundoff() -> f64 {
                (<$t>::EPSILON as f64) / 2.0
            }
            fn min_normal() -> f64 {
                <$t>::MIN_POSITIVE as f64
            }
            fn min_subnormal() -> f64 {
                <$t>::from_bits(1) as f64
            }
            fn max_finite() -> f64 {
                <$t>::MAX as f64
            }
            fn class(&self) -> Class {
                use std::num::FpCategory as C;
                match self.classify() {
                    C::Zero => Class::Zero,
                    C::Subnormal => Class::Subnormal,
                    C::Normal => Class::Normal,
                    C::Infinite => Class::Infinite,
                    C::Nan => Class::Nan,
                }
            }
            fn to_f64(&self) -> f64 {
                *self as f64
            }
            fn from_f64(x: f64) -> Self {
                x as $t
            }
            fn abs_val(&self) -> Self {
                self.abs()
            }
            fn to_exact(&self) -> Exact {
                lift(*self as f64).expect("to_exact called on a non-finite float")
            }
        }
    };
}
float_field!(f32, "f32");
float_field!(f64, "f64");

impl Field for Exact {
    const NAME: &'static str = "exact";
    const EXACT: bool = true;
    fn unit_roundoff() -> f64 {
        0.0
    }
    fn min_normal() -> f64 {
        0.0
    }
    fn min_subnormal() -> f64 {
        0.0
    }
    fn max_finite() -> f64 {
        f64::INFINITY
    }
    fn class(&self) -> Class {
        if self.is_zero() {
            Class::Zero
        } else {
            Class::Normal
        }
    }
    fn to_f64(&self) -> f64 {
        ToPrimitive::to_f64(self).unwrap_or(f64::NAN)
    }
    fn from_f64(x: f64) -> Self {
        lift(x).expect("from_f64 called on a non-finite float")
    }
    fn abs_val(&self) -> Self {
        self.abs()
    }
    fn to_exact(&self) -> Exact {
        self.clone()
    }
}

/// The float tier: IEEE types with the transcendental functions Mamba needs.
pub trait Real: Field + Copy + PartialOrd + num_traits::Float {
    /// PyTorch's `softplus` (β = 1, threshold 20): `$x$` if `$x > 20$`, else `$\log(1 + e^x)$`
    /// computed as `log1p(exp(x))`.
    fn softplus(self) -> Self {
        if self > Self::from_f64(20.0) {
            self
        } else {
            self.exp().ln_1p()
        }
    }
    /// `$\mathrm{silu}(x) = x\,\sigma(x) = x / (1 + e^{-x})$`.
    fn silu(self) -> Self {
        self / (Self::one() + (-self).exp())
    }
    /// Logistic sigmoid `$\sigma(x) = 1/(1+e^{-x})$`.
    fn sigmoid(self) -> Self {
        Self::one() / (Self::one() + (-self).exp())
    }
}
impl Real for f32 {}
impl Real for f64 {}

/// Exact lifting: the rational value of a finite `f64` (a dyadic rational `$m\,2^e$`).
///
/// Returns `None` for NaN or ±∞. The conversion is exact: `lift(x).to_f64() == x`.
///
/// # Examples
/// ```
/// use hidden_attention::scalar::{lift, Exact};
/// use num_bigint::BigInt;
/// assert_eq!(lift(0.375).unwrap(), Exact::new(BigInt::from(3), BigInt::from(8)));
/// assert!(lift(f64::NAN).is_none());
/// ```
pub fn lift(x: f64) -> Option<Exact> {
    if !x.is_finite() {
        return None;
    }
    if x == 0.0 {
        return Some(Exact::zero());
    }
    let (mantissa, exponent, sign) = num_traits::float::FloatCore::integer_decode(x);
    let m = BigInt::from(mantissa) * BigInt::from(sign);
    let r = if exponent >= 0 {
        Exact::from_integer(m << (exponent as usize))
    } else {
        Exact::new(m, BigInt::one() << ((-exponent) as usize))
    };
    Some(r)
}

/// Parse a rational written as `"p/q"` or `"p"` (as in reports).
pub fn parse_exact(s: &str) -> Option<Exact> {
    let s = s.trim();
    match s.split_once('/') {
        Some((p, q)) => {
            let p: BigInt = p.trim().parse().ok()?;
            let q: BigInt = q.trim().parse().ok()?;
            if q.is_zero() {
                None
            } else {
                Some(Exact::new(p, q))
            }
        }
        None => s.parse::<BigInt>().ok().map(Exact::from_integer),
    }
}

/// A small rational `$p/q$` (convenience for examples and tests).
pub fn ratio(p: i64, q: i64) -> Exact {
    Exact::new(BigInt::from(p), BigInt::from(q))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lift_is_exact_round_trip() {
        for &x in &[
            1.0,
            -0.1,
            1e-300,
            5e-324,
            1.7976931348623157e308,
            3.0e10,
            -2.5,
        ] {
            let r = lift(x).unwrap();
            assert_eq!(Field::to_f64(&r), x);
        }
        assert_ne!(lift(0.1).unwrap() * ratio(10, 1), ratio(1, 1));
    }

    #[test]
    fn softplus_matches_pytorch_threshold() {
        assert_eq!(25.0f64.softplus(), 25.0);
        assert!((0.0f64.softplus() - std::f64::consts::LN_2).abs() < 1e-16);
        // just below the threshold: log1p(exp(20))
        let v = 20.0f64.softplus();
        assert!((v - (20.0 + (-20.0f64).exp().ln_1p())).abs() < 1e-14);
        assert!((-50.0f64).softplus() > 0.0);
    }

    #[test]
    fn parse_exact_forms() {
        assert_eq!(parse_exact("-3/6"), Some(ratio(-1, 2)));
        assert_eq!(parse_exact("7"), Some(ratio(7, 1)));
        assert_eq!(parse_exact("1/0"), None);
    }
}

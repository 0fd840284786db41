//! Rational interval arithmetic for certificates that survive rounding (T6b).
//!
//! An [`Interval`] `$[\ell, u]$` has exact rational endpoints; every operation returns an
//! interval containing every result of the operation on members of its operands, and
//! [`Interval::round_out`] widens endpoints to `bits` significant bits (outward) to keep
//! the numbers small. [`exp_enclosure`] encloses `$e^x$` for rational `$x$` with a Taylor
//! polynomial and a rigorous remainder, [`softmax_enclosure`] a softmax head's matrix and
//! [`determinant_enclosure`] a determinant. An enclosure that excludes 0 *proves* the
//! determinant nonzero — no floating-point step is trusted.

use num_bigint::BigInt;
use num_integer::Integer;
use num_traits::{One, Signed, Zero};

use crate::attention::SoftmaxHead;
use crate::scalar::Exact;

/// A closed interval `$[\ell, u]$` with rational endpoints, `$\ell \le u$`.
#[derive(Debug, Clone, PartialEq)]
pub struct Interval {
    lo: Exact,
    hi: Exact,
}

impl Interval {
    /// `$[\ell, u]$`; panics if `$\ell > u$`.
    pub fn new(lo: Exact, hi: Exact) -> Self {
        assert!(lo <= hi, "interval with lo > hi");
        Self { lo, hi }
    }
    /// The point interval `$[x, x]$`.
    pub fn point(x: Exact) -> Self {
        Self {
            lo: x.clone(),
            hi: x,
        }
    }
    /// Lower endpoint.
    pub fn lo(&self) -> &Exact {
        &self.lo
    }
    /// Upper endpoint.
    pub fn hi(&self) -> &Exact {
        &self.hi
    }
    /// Whether `$x \in [\ell, u]$`.
    pub fn contains(&self, x: &Exact) -> bool {
        &self.lo <= x && x <= &self.hi
    }
    /// Whether `$0 \notin [\ell, u]$`.
    pub fn excludes_zero(&self) -> bool {
        self.lo.is_positive() || self.hi.is_negative()
    }
    /// `$u - \ell$`.
    pub fn width(&self) -> Exact {
        self.hi.clone() - &self.lo
    }
    /// Sum.
    pub fn add(&self, o: &Self) -> Self {
        Self::new(self.lo.clone() + &o.lo, self.hi.clone() + &o.hi)
    }
    /// Difference.
    pub fn sub(&self, o: &Self) -> Self {
        Self::new(self.lo.clone() - &o.hi, self.hi.clone() - &o.lo)
    }
    /// Product (min and max of the four endpoint products).
    pub fn mul(&self, o: &Self) -> Self {
        let p = [
            self.lo.clone() * &o.lo,
            self.lo.clone() * &o.hi,
            self.hi.clone() * &o.lo,
            self.hi.clone() * &o.hi,
        ];
        let lo = p.iter().min().expect("four").clone();
        let hi = p.iter().max().expect("four").clone();
        Self::new(lo, hi)
    }
    /// Quotient; `None` when the divisor contains 0.
    pub fn div(&self, o: &Self) -> Option<Self> {
        if !o.excludes_zero() {
            return None;
        }
        let inv = Self::new(Exact::one() / &o.hi, Exact::one() / &o.lo);
        Some(self.mul(&inv))
    }
    /// Negation.
    pub fn neg(&self) -> Self {
        Self::new(-self.hi.clone(), -self.lo.clone())
    }
    /// Widen outward so both endpoints have at most `bits` significant bits.
    pub fn round_out(&self, bits: u32) -> Self {
        Self::new(round(&self.lo, bits, false), round(&self.hi, bits, true))
    }
}

/// Round `x` to a multiple of `$2^{e - \text{bits}}$` where `$2^e \approx |x|$`, down or up.
fn round(x: &Exact, bits: u32, up: bool) -> Exact {
    if x.is_zero() {
        return x.clone();
    }
    let e = x.numer().bits() as i64 - x.denom().bits() as i64;
    let q = e - bits as i64; // quantum 2^q
    let (num, den) = if q >= 0 {
        (x.numer().clone(), x.denom().clone() << (q as usize))
    } else {
        (x.numer().clone() << ((-q) as usize), x.denom().clone())
    };
    // x / 2^q = num / den; floor or ceil
    let (fl, rem) = num.div_mod_floor(&den);
    let k = if up && !rem.is_zero() { fl + 1 } else { fl };
    if q >= 0 {
        Exact::from_integer(k << (q as usize))
    } else {
        Exact::new(k, BigInt::one() << ((-q) as usize))
    }
}

/// An enclosure of `$e^x$` for rational `$x$`: with `$y = x/2^s$`, `$|y| \le 1/8$`,
/// `$e^y \in T_n(y) \pm 2|y|^{n+1}/(n+1)!$` (`$T_n$` the Taylor polynomial, remainder by
/// Lagrange with `$e^{|y|} < 2$`), then squared `$s$` times; endpoints rounded outward to
/// `bits` significant bits at each step. The lower endpoint stays positive.
///
/// Used by the T6b certificates ([`crate::construct::separation`]). The remainder is
/// machine-checked (Coq: `exp_taylor_remainder`, `$|e^y - T_n(y)| \le 2|y|^{n+1}/(n+1)!$` for
/// `$|y| \le 1/2$`, and `exp_taylor_remainder_step`, the same as `$2|y^n/n!|\,|y|/(n+1)$`, the
/// test made after each term; `proofs/ExpRemainder.v`); the outward rounding of the terms
/// and the squarings are interval analysis, not formalised.
///
/// # Examples
/// ```
/// use hidden_attention::{interval::exp_enclosure, scalar::ratio};
/// let e = exp_enclosure(&ratio(1, 1), 128);
/// assert!(e.lo() < &ratio(27183, 10000) && e.hi() > &ratio(27182, 10000));
/// ```
pub fn exp_enclosure(x: &Exact, bits: u32) -> Interval {
    let half = Exact::new(BigInt::from(1), BigInt::from(8));
    let mut s = 0u32;
    let mut y = x.clone();
    while y.abs() > half {
        y /= Exact::from_integer(BigInt::from(2));
        s += 1;
    }
    // Taylor polynomial at the exact y, each term rounded to bits + 32 significant bits
    let tol = Exact::new(BigInt::one(), BigInt::one() << (bits as usize + 8));
    let mut term = Exact::one();
    let mut sum = Exact::one();
    let mut k = 1u64;
    let slack = loop {
        term = round(
            &(term * &y / Exact::from_integer(BigInt::from(k))),
            bits + 32,
            false,
        );
        sum += &term;
        // Lagrange: the tail after term k is ≤ e^{|y|} |y|^{k+1}/(k+1)! ≤ 2 |term_k| |y|/(k+1)
        let rem = Exact::from_integer(BigInt::from(2)) * term.abs() * y.abs()
            / Exact::from_integer(BigInt::from(k + 1));
        if rem < tol || k > 400 {
            // every rounded term is off by ≤ one quantum, propagated with factor ≤ 2
            break rem + Exact::from_integer(BigInt::from(4 * k + 4)) * quantum(&sum, bits + 32);
        }
        k += 1;
    };
    let mut iv = Interval::new(sum.clone() - &slack, sum + slack).round_out(bits);
    for _ in 0..s {
        iv = iv.mul(&iv).round_out(bits);
    }
    iv
}

fn quantum(x: &Exact, bits: u32) -> Exact {
    let e = if x.is_zero() {
        0
    } else {
        x.numer().bits() as i64 - x.denom().bits() as i64
    } + 2;
    let q = e - bits as i64;
    if q >= 0 {
        Exact::from_integer(BigInt::one() << q as usize)
    } else {
        Exact::new(BigInt::one(), BigInt::one() << (-q) as usize)
    }
}

/// A rigorous enclosure of every entry of a softmax head's matrix (`$L\times L$`, rows of
/// intervals; exact zeros above the diagonal): `$a_{ij} = e^{z_{ij}}/\sum_{j'\le i}e^{z_{ij'}}$`
/// with the exact rational scores `$z$` of [`SoftmaxHead::scores`].
pub fn softmax_enclosure(head: &SoftmaxHead<Exact>, bits: u32) -> Vec<Vec<Interval>> {
    let rows: Vec<usize> = (0..head.len()).collect();
    softmax_enclosure_rows(head, &rows, bits)
}

/// [`softmax_enclosure`] of the given rows only (each a full row of length `$L$`).
/// Enclosures of equal scores are computed once.
pub fn softmax_enclosure_rows(
    head: &SoftmaxHead<Exact>,
    rows: &[usize],
    bits: u32,
) -> Vec<Vec<Interval>> {
    let z = head.scores();
    let l = head.len();
    let mut memo: std::collections::HashMap<Exact, Interval> = std::collections::HashMap::new();
    rows.iter()
        .map(|&i| {
            let e: Vec<Interval> = (0..=i)
                .map(|j| {
                    memo.entry(z.get(i, j).clone())
                        .or_insert_with(|| exp_enclosure(z.get(i, j), bits))
                        .clone()
                })
                .collect();
            let sum = e.iter().skip(1).fold(e[0].clone(), |a, b| a.add(b));
            (0..l)
                .map(|j| {
                    if j <= i {
                        e[j].div(&sum)
                            .expect("a sum of positive intervals excludes 0")
                            .round_out(bits)
                    } else {
                        Interval::point(Exact::zero())
                    }
                })
                .collect()
        })
        .collect()
}

/// An enclosure of the determinant of a square interval matrix by Gaussian elimination with
/// interval pivots (the pivot of largest lower magnitude that excludes 0); `None` when at
/// some step every candidate pivot contains 0 (inconclusive, not a proof of singularity).
///
/// # Examples
/// ```
/// use hidden_attention::{interval::{determinant_enclosure, Interval}, scalar::ratio};
/// let p = |n, d| Interval::point(ratio(n, d));
/// let m = vec![vec![p(1, 1), p(2, 1)], vec![p(3, 1), p(4, 1)]];
/// let det = determinant_enclosure(&m, 64).unwrap();
/// assert!(det.contains(&ratio(-2, 1)) && det.excludes_zero());
/// ```
pub fn determinant_enclosure(m: &[Vec<Interval>], bits: u32) -> Option<Interval> {
    let n = m.len();
    let mut a: Vec<Vec<Interval>> = m.to_vec();
    let mut det = Interval::point(Exact::one());
    for c in 0..n {
        let mag = |iv: &Interval| {
            if iv.lo.is_positive() {
                iv.lo.clone()
            } else {
                -iv.hi.clone()
            }
        };
        let p = (c..n)
            .filter(|&i| a[i][c].excludes_zero())
            .max_by(|&x, &y| mag(&a[x][c]).cmp(&mag(&a[y][c])))?;
        if p != c {
            a.swap(p, c);
            det = det.neg();
        }
        let pivot = a[c][c].clone();
        det = det.mul(&pivot).round_out(bits);
        for i in c + 1..n {
            let f = a[i][c].div(&pivot)?.round_out(bits);
            let (top, rest) = a.split_at_mut(i);
            for (x, p) in rest[0][c + 1..].iter_mut().zip(&top[c][c + 1..]) {
                *x = x.sub(&f.mul(p)).round_out(bits);
            }
        }
    }
    Some(det)
}

// ---- Fixed-point enclosures of exp, ln and softplus (T7 and T3 certificates) ----
//
// Each routine evaluates a series in integers scaled by 2^w, with a stated bound on the
// accumulated truncation error in units of 2^-w, and returns an `Interval` that contains
// the true value; no floating-point step is involved, so the result is the same on every
// platform. They are about 100× faster than `exp_enclosure` (no gcd per operation).

/// Arguments `$x < -\mathtt{EXP\_FLOOR}$` of [`exp_interval`] are enclosed by
/// `$[0, 2^{-23637}] \ni e^x$` (since `$e^{-16384} < 2^{-23637}$`), which keeps the numbers
/// small.
pub const EXP_FLOOR: i64 = 16384;

/// [`exp_interval`] does not enclose `$e^x$` for `$x > \mathtt{EXP\_CEIL} = 2^{20}$` (the
/// result would have millions of bits).
pub const EXP_CEIL: i64 = 1 << 20;

impl Interval {
    /// `$\{|x| : x \in [\ell, u]\}$`.
    pub fn abs(&self) -> Self {
        if !self.lo.is_negative() {
            self.clone()
        } else if !self.hi.is_positive() {
            self.neg()
        } else {
            Self::new(Exact::zero(), (-self.lo.clone()).max(self.hi.clone()))
        }
    }
    /// The midpoint `$(\ell + u)/2$`.
    pub fn mid(&self) -> Exact {
        (self.lo.clone() + &self.hi) / Exact::from_integer(BigInt::from(2))
    }
}

/// `$2^e$`, exactly.
fn pow2(e: i64) -> Exact {
    if e >= 0 {
        Exact::from_integer(BigInt::one() << e as usize)
    } else {
        Exact::new(BigInt::one(), BigInt::one() << (-e) as usize)
    }
}

/// `$\lfloor x\,2^w\rfloor$`.
fn floor_scaled(x: &Exact, w: i64) -> BigInt {
    if w >= 0 {
        (x.numer() << w as usize).div_floor(x.denom())
    } else {
        x.numer().div_floor(&(x.denom() << (-w) as usize))
    }
}

/// `$\lceil x\,2^w\rceil$`.
fn ceil_scaled(x: &Exact, w: i64) -> BigInt {
    -floor_scaled(&-x.clone(), w)
}

/// `$m\,2^e$` as a rational.
fn scaled(m: &BigInt, e: i64) -> Exact {
    Exact::from_integer(m.clone()) * pow2(e)
}

/// `$e^y \in [\ell, u]\,2^{-w}$` for `$y = Y 2^{-w}$`, `$|y| \le 1/8$`.
///
/// Terms `$t_k = \mathrm{trunc}(t_{k-1} Y / (k 2^w))$`: each is off by `$e_k \le e_{k-1}/8 + 1
/// < 8/7$` units, the sum by `$< 8K/7$`; after the last term (`$|t_K| \le 1$`) the tail is
/// `$< 1$` unit (the exact tail after term `$K$` is at most `$2|y^K/K!|\,|y|/(K+1)$`, Coq:
/// `exp_taylor_remainder_step`). So `$[\sum t_k - (2K+4), \sum t_k + (2K+4)]$` encloses `$e^y$`.
fn exp_taylor(y: &BigInt, w: usize) -> (BigInt, BigInt) {
    let mut term = BigInt::one() << w;
    let mut sum = term.clone();
    let mut k = 0u64;
    loop {
        k += 1;
        term = (&term * y) / (BigInt::from(k) << w);
        sum += &term;
        if term.abs() <= BigInt::one() {
            break;
        }
    }
    let err = BigInt::from(2 * k + 4);
    (&sum - &err, sum + err)
}

/// A rigorous enclosure of `$e^x$` for rational `$x$`, endpoints rounded outward to `bits`
/// significant bits: `$y = x/2^s$` with `$|y| \le 1/8$` enclosed by [`exp_taylor`] in
/// fixed point with `$w = \mathtt{bits} + s + 24$` fraction bits, then squared `$s$` times
/// with the lower end rounded down and the upper end up. For `$x < -$`[`EXP_FLOOR`] the
/// enclosure is `$[0, 2^{-23637}]$`; for `$x >$` [`EXP_CEIL`] there is none.
fn exp_point(x: &Exact, bits: u32) -> Option<Interval> {
    if x.is_zero() {
        return Some(Interval::point(Exact::one()));
    }
    if *x < Exact::from_integer(BigInt::from(-EXP_FLOOR)) {
        return Some(Interval::new(Exact::zero(), pow2(-23637)));
    }
    if *x > Exact::from_integer(BigInt::from(EXP_CEIL)) {
        return None;
    }
    // |x| < 2^(e+1), so |x| / 2^s < 1/8 with s = e + 4.
    let e = x.numer().bits() as i64 - x.denom().bits() as i64;
    let s = (e + 4).max(0);
    let w = bits as i64 + s + 24;
    let (ylo, yhi) = (floor_scaled(x, w - s), ceil_scaled(x, w - s));
    let lo = exp_taylor(&ylo, w as usize).0;
    let hi = if ylo == yhi {
        exp_taylor(&ylo, w as usize).1
    } else {
        exp_taylor(&yhi, w as usize).1
    };
    // [lo, hi]·2^ex, squared s times; keep at most w bits (lo rounded down, hi up).
    let (mut lo, mut hi, mut ex) = (lo, hi, -w);
    for _ in 0..s {
        lo = &lo * &lo;
        hi = &hi * &hi;
        ex *= 2;
        let extra = hi.bits() as i64 - w;
        if extra > 0 {
            let unit = BigInt::one() << extra as usize;
            lo >>= extra as usize;
            hi = (hi + &unit - BigInt::one()) >> extra as usize;
            ex += extra;
        }
    }
    Some(Interval::new(scaled(&lo, ex), scaled(&hi, ex)).round_out(bits))
}

/// A rigorous enclosure of `$\{e^x : x \in X\}$` (`$e^x$` is increasing: the lower end of
/// `$e^{\ell}$` and the upper end of `$e^{u}$`), endpoints with at most `bits` significant
/// bits; fixed-point arithmetic, see [`EXP_FLOOR`] for very negative arguments. `None`
/// when `$u >$` [`EXP_CEIL`].
///
/// # Examples
/// ```
/// use hidden_attention::{interval::{exp_interval, Interval}, scalar::ratio};
/// let e = exp_interval(&Interval::point(ratio(1, 1)), 128).unwrap();
/// assert!(e.lo() > &ratio(27182, 10000) && e.hi() < &ratio(27183, 10000));
/// assert!(e.width() < ratio(1, 1 << 60));
/// assert!(exp_interval(&Interval::point(ratio(1 << 21, 1)), 128).is_none());
/// ```
pub fn exp_interval(x: &Interval, bits: u32) -> Option<Interval> {
    let lo = exp_point(&x.lo, bits)?;
    if x.lo == x.hi {
        return Some(lo);
    }
    Some(Interval::new(lo.lo, exp_point(&x.hi, bits)?.hi))
}

/// `$2\,\mathrm{atanh}(s) \in [\ell, u]\,2^{-w}$` for `$s = S 2^{-w}$`, `$|s| \le 1/5$`.
///
/// `$\mathrm{atanh}(s) = \sum_i s^{2i+1}/(2i+1)$` with powers
/// `$p_i = \mathrm{trunc}(p_{i-1} S^2 / 2^{2w})$` (off by `$\le s^2 e_{i-1} + 1 < 1.05$` units)
/// and terms `$\mathrm{trunc}(p_i/(2i+1))$` (off by `$< 1.4$`); after the last power
/// (`$|p_I| \le 1$`) the tail is `$< 0.1$` unit. So the sum is off by less than `$2I + 3$`.
fn two_atanh(s: &BigInt, w: usize) -> (BigInt, BigInt) {
    let den = BigInt::one() << (2 * w);
    let s2 = s * s;
    let mut p = s.clone();
    let mut sum = s.clone();
    let mut i = 0u64;
    while p.abs() > BigInt::one() {
        i += 1;
        p = (&p * &s2) / &den;
        sum += &p / BigInt::from(2 * i + 1);
    }
    let err = BigInt::from(2 * i + 3);
    ((&sum - &err) * 2, (sum + err) * 2)
}

/// A rigorous enclosure of `$\ln x$` for rational `$x > 0$` (`None` for `$x \le 0$`):
/// `$x = m\,2^k$` with `$m \in [2/3, 4/3]$`, `$\ln m = 2\,\mathrm{atanh}\frac{m-1}{m+1}$` and
/// `$\ln 2 = 2\,\mathrm{atanh}\frac13$`, in fixed point with `$\mathtt{bits} + 96$` fraction
/// bits (more for large `$|k|$`); endpoints rounded outward to `bits` significant bits.
///
/// # Examples
/// ```
/// use hidden_attention::{interval::ln_enclosure, scalar::ratio};
/// let l = ln_enclosure(&ratio(2, 1), 128).unwrap(); // ln 2 = 0.693147180559945309…
/// assert!(l.lo() > &ratio(693147180559945, 1_000_000_000_000_000));
/// assert!(l.hi() < &ratio(693147180559946, 1_000_000_000_000_000));
/// assert!(ln_enclosure(&ratio(0, 1), 128).is_none());
/// ```
pub fn ln_enclosure(x: &Exact, bits: u32) -> Option<Interval> {
    if !x.is_positive() {
        return None;
    }
    let mut k = x.numer().bits() as i64 - x.denom().bits() as i64;
    let mut m = x.clone() * pow2(-k);
    if m > Exact::new(BigInt::from(4), BigInt::from(3)) {
        m *= pow2(-1);
        k += 1;
    } else if m < Exact::new(BigInt::from(2), BigInt::from(3)) {
        m *= pow2(1);
        k -= 1;
    }
    let s = (m.clone() - Exact::one()) / (m + Exact::one());
    let w = bits as usize + 96 + (64 - k.unsigned_abs().leading_zeros()) as usize;
    let wi = w as i64;
    let (slo, shi) = (floor_scaled(&s, wi), ceil_scaled(&s, wi));
    let mut lo = two_atanh(&slo, w).0;
    let mut hi = two_atanh(&shi, w).1;
    if k != 0 {
        let third = Exact::new(BigInt::one(), BigInt::from(3));
        let l2lo = two_atanh(&floor_scaled(&third, wi), w).0;
        let l2hi = two_atanh(&ceil_scaled(&third, wi), w).1;
        let kk = BigInt::from(k);
        if k > 0 {
            lo += &kk * l2lo;
            hi += &kk * l2hi;
        } else {
            lo += &kk * l2hi;
            hi += &kk * l2lo;
        }
    }
    Some(Interval::new(scaled(&lo, -wi), scaled(&hi, -wi)).round_out(bits))
}

/// A rigorous enclosure of PyTorch's softplus (β = 1, threshold 20):
/// `$\mathrm{softplus}(z) = z$` for `$z > 20$`, else `$\ln(1 + e^z)$` — the `$\Delta$` of Mamba's
/// parametrisation. With `$u \in [u_\ell, u_h] \ni e^z$` ([`exp_interval`]): for
/// `$u_h \le 2^{-64}$` the alternating series gives `$u - u^2/2 \le \ln(1+u) \le u - u^2/2 +
/// u^3/3$`; otherwise [`ln_enclosure`] of `$1 + u_\ell$` and `$1 + u_h$`.
///
/// # Examples
/// ```
/// use hidden_attention::{interval::softplus_enclosure, scalar::ratio};
/// let d = softplus_enclosure(&ratio(0, 1), 128); // ln 2
/// assert!(d.lo() > &ratio(6931, 10000) && d.hi() < &ratio(6932, 10000));
/// assert_eq!(softplus_enclosure(&ratio(21, 1), 128).lo(), &ratio(21, 1)); // identity above 20
/// ```
pub fn softplus_enclosure(z: &Exact, bits: u32) -> Interval {
    if *z > Exact::from_integer(BigInt::from(20)) {
        return Interval::point(z.clone());
    }
    let u = exp_point(z, bits + 16).expect("z ≤ 20 < EXP_CEIL");
    if u.hi <= pow2(-64) {
        let (a, b) = (&u.lo, &u.hi);
        let two = Exact::from_integer(BigInt::from(2));
        let three = Exact::from_integer(BigInt::from(3));
        let lo = a.clone() - a.clone() * a / &two;
        let hi = b.clone() - b.clone() * b / &two + b.clone() * b * b / &three;
        return Interval::new(lo, hi).round_out(bits);
    }
    let one = Exact::one();
    let lo = ln_enclosure(&(one.clone() + &u.lo), bits).expect("1 + e^z > 0");
    let hi = ln_enclosure(&(one + &u.hi), bits).expect("1 + e^z > 0");
    Interval::new(lo.lo, hi.hi)
}

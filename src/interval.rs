//! Rational interval arithmetic for certificates that survive rounding (T6b).
//!
//! An [`Interval`] $[\ell, u]$ has exact rational endpoints; every operation returns an
//! interval containing every result of the operation on members of its operands, and
//! [`Interval::round_out`] widens endpoints to `bits` significant bits (outward) to keep
//! the numbers small. [`exp_enclosure`] encloses $e^x$ for rational $x$ with a Taylor
//! polynomial and a rigorous remainder, [`softmax_enclosure`] a softmax head's matrix and
//! [`determinant_enclosure`] a determinant. An enclosure that excludes 0 *proves* the
//! determinant nonzero — no floating-point step is trusted.

use num_bigint::BigInt;
use num_integer::Integer;
use num_traits::{One, Signed, Zero};

use crate::attention::SoftmaxHead;
use crate::scalar::Exact;

/// A closed interval $[\ell, u]$ with rational endpoints, $\ell \le u$.
#[derive(Debug, Clone, PartialEq)]
pub struct Interval {
    lo: Exact,
    hi: Exact,
}

impl Interval {
    /// $[\ell, u]$; panics if $\ell > u$.
    pub fn new(lo: Exact, hi: Exact) -> Self {
        assert!(lo <= hi, "interval with lo > hi");
        Self { lo, hi }
    }
    /// The point interval $[x, x]$.
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
    /// Whether $x \in [\ell, u]$.
    pub fn contains(&self, x: &Exact) -> bool {
        &self.lo <= x && x <= &self.hi
    }
    /// Whether $0 \notin [\ell, u]$.
    pub fn excludes_zero(&self) -> bool {
        self.lo.is_positive() || self.hi.is_negative()
    }
    /// $u - \ell$.
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

/// Round `x` to a multiple of $2^{e - \text{bits}}$ where $2^e \approx |x|$, down or up.
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

/// An enclosure of $e^x$ for rational $x$: with $y = x/2^s$, $|y| \le 1/8$,
/// $e^y \in T_n(y) \pm 2|y|^{n+1}/(n+1)!$ ($T_n$ the Taylor polynomial, remainder by
/// Lagrange with $e^{|y|} < 2$), then squared $s$ times; endpoints rounded outward to
/// `bits` significant bits at each step. The lower endpoint stays positive.
///
/// Used by the T6b certificates ([`crate::construct::separation`]); the enclosure is
/// interval analysis, not formalised in Coq (the proofs use the exp-free form of T6).
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

/// A rigorous enclosure of every entry of a softmax head's matrix ($L\times L$, rows of
/// intervals; exact zeros above the diagonal): $a_{ij} = e^{z_{ij}}/\sum_{j'\le i}e^{z_{ij'}}$
/// with the exact rational scores $z$ of [`SoftmaxHead::scores`].
pub fn softmax_enclosure(head: &SoftmaxHead<Exact>, bits: u32) -> Vec<Vec<Interval>> {
    let rows: Vec<usize> = (0..head.len()).collect();
    softmax_enclosure_rows(head, &rows, bits)
}

/// [`softmax_enclosure`] of the given rows only (each a full row of length $L$).
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

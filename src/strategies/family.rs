//! Strategies for the gated-linear family (T14, T15): heads with every kind of transition
//! (diagonal, scalar, diagonal plus rank one, scaled Householder) and both readouts,
//! exact, with gates that include 0 and 1.

use std::ops::RangeInclusive;

use proptest::prelude::*;
use proptest::strategy::BoxedStrategy;

use super::imp::{small_rational, transition_value};
use crate::family::linear::{FamilyHead, Readout, Transition};
use crate::scalar::{Exact, Real};

/// One exact transition of dimension `dk`, of any of the four kinds.
pub fn rational_transition(dk: usize) -> BoxedStrategy<Transition<Exact>> {
    let v = move || proptest::collection::vec(transition_value(), dk);
    let w = move || proptest::collection::vec(small_rational(), dk);
    prop_oneof![
        v().prop_map(Transition::Diagonal),
        transition_value().prop_map(Transition::Scalar),
        (v(), w(), w()).prop_map(|(diag, beta, alpha)| Transition::DiagonalPlusRankOne {
            diag,
            beta,
            alpha
        }),
        (transition_value(), small_rational(), w())
            .prop_map(|(gate, beta, key)| { Transition::Householder { gate, beta, key } }),
    ]
    .boxed()
}

/// A family head of length `$L \in$` `len`, key dimension `$d_k \in$` `dk` (one transition kind
/// per head; one head in four reads before the step with a bonus, as RWKV-6) and values
/// `(L, d_v)`, `$d_v \in$` `dv`. Returns `(head, values, d_v)`.
pub fn rational_family_head_with_values(
    len: RangeInclusive<usize>,
    dk: RangeInclusive<usize>,
    dv: RangeInclusive<usize>,
) -> BoxedStrategy<(FamilyHead<Exact>, Vec<Exact>, usize)> {
    (len, dk, dv)
        .prop_flat_map(|(l, k, d)| {
            let w = move |n: usize| proptest::collection::vec(small_rational(), n);
            (
                w(l * k),
                w(l * k),
                rational_transition(k),
                0usize..4,
                w(k),
                w(l * d),
                proptest::collection::vec(rational_transition(k), l),
                any::<bool>(),
            )
                .prop_map(move |(q, b, one, readout, u, v, many, same)| {
                    // a head keeps one transition kind (as the members do) or mixes them
                    let m = if same {
                        let kind = std::mem::discriminant(&one);
                        many.into_iter()
                            .map(|t| {
                                if std::mem::discriminant(&t) == kind {
                                    t
                                } else {
                                    one.clone()
                                }
                            })
                            .collect()
                    } else {
                        many
                    };
                    let readout = if readout == 0 {
                        Readout::BeforeWithBonus(u)
                    } else {
                        Readout::After
                    };
                    (
                        FamilyHead {
                            dk: k,
                            q,
                            b,
                            m,
                            readout,
                        },
                        v,
                        d,
                    )
                })
        })
        .boxed()
}

/// An HGRN head (`$b \equiv 1$`, gates `$a_t \in (0, 2]$`) or an RG-LRU head
/// (`$a_t \in (0, 1)$`, write factors `$b_s = m_s i_s \in (0, 1)$`), `$d_k = 1$`, `$q \equiv 1$`,
/// of length `$L \in$` `len` (T17).
pub fn positive_elementwise_head(len: RangeInclusive<usize>) -> BoxedStrategy<FamilyHead<Exact>> {
    use crate::scalar::ratio;
    (len, any::<bool>())
        .prop_flat_map(move |(l, hgrn)| {
            let gate: BoxedStrategy<Exact> = if hgrn {
                (1i64..=16, 1i64..=8).prop_map(|(p, q)| ratio(p, q)).boxed()
            } else {
                (1i64..=7).prop_map(|p| ratio(p, 8)).boxed()
            };
            let write: BoxedStrategy<Exact> = if hgrn {
                Just(ratio(1, 1)).boxed()
            } else {
                (1i64..=7).prop_map(|p| ratio(p, 8)).boxed()
            };
            (
                proptest::collection::vec(gate, l),
                proptest::collection::vec(write, l),
            )
                .prop_map(move |(a, b)| FamilyHead {
                    dk: 1,
                    q: vec![ratio(1, 1); l],
                    b,
                    m: a.into_iter().map(Transition::Scalar).collect(),
                    readout: Readout::After,
                })
        })
        .boxed()
}

/// Put a head together: one transition kind (that of `one`) when `same`, else the mixed
/// `many`; readout before the step with bonus `u` when `before`.
#[allow(clippy::too_many_arguments)]
fn assemble<T: Clone>(
    dk: usize,
    q: Vec<T>,
    b: Vec<T>,
    one: Transition<T>,
    many: Vec<Transition<T>>,
    same: bool,
    before: bool,
    u: Vec<T>,
) -> FamilyHead<T> {
    let kind = std::mem::discriminant(&one);
    let m = if same {
        many.into_iter()
            .map(|t| {
                if std::mem::discriminant(&t) == kind {
                    t
                } else {
                    one.clone()
                }
            })
            .collect()
    } else {
        many
    };
    let readout = if before {
        Readout::BeforeWithBonus(u)
    } else {
        Readout::After
    };
    FamilyHead { dk, q, b, m, readout }
}

/// A float family head from per-kind value strategies: `$L \in$` `len`, `$d_k \in$` `dk`,
/// values `(L, d_v)`, `$d_v \in$` `dv`; one head in four reads before the step with a bonus.
fn float_head<T: Real>(
    len: RangeInclusive<usize>,
    dk: RangeInclusive<usize>,
    dv: RangeInclusive<usize>,
    data: fn() -> BoxedStrategy<T>,
    transition: fn(usize) -> BoxedStrategy<Transition<T>>,
) -> BoxedStrategy<(FamilyHead<T>, Vec<T>, usize)> {
    (len, dk, dv)
        .prop_flat_map(move |(l, k, d)| {
            let w = move |n: usize| proptest::collection::vec(data(), n);
            (
                (w(l * k), w(l * k), w(k), w(l * d)),
                transition(k),
                proptest::collection::vec(transition(k), l),
                any::<bool>(),
                0usize..4,
            )
                .prop_map(move |((q, b, u, v), one, many, same, readout)| {
                    (assemble(k, q, b, one, many, same, readout == 0, u), v, d)
                })
        })
        .boxed()
}

fn typical_value<T: Real>() -> BoxedStrategy<T> {
    (-2.0f64..2.0).prop_map(T::from_f64).boxed()
}

fn typical_transition<T: Real>(dk: usize) -> BoxedStrategy<Transition<T>> {
    let gate = || (-3.0f64..0.0).prop_map(|x| T::from_f64(x.exp()));
    let unit = || (-1.0f64..1.0).prop_map(T::from_f64);
    prop_oneof![
        proptest::collection::vec(gate(), dk).prop_map(Transition::Diagonal),
        gate().prop_map(Transition::Scalar),
        (
            proptest::collection::vec(gate(), dk),
            proptest::collection::vec(unit(), dk),
            proptest::collection::vec(unit(), dk),
        )
            .prop_map(|(diag, beta, alpha)| Transition::DiagonalPlusRankOne {
                diag,
                beta,
                alpha
            }),
        (gate(), (0.0f64..2.0), proptest::collection::vec(unit(), dk)).prop_map(
            |(gate, beta, key)| Transition::Householder {
                gate,
                beta: T::from_f64(beta),
                key
            }
        ),
    ]
    .boxed()
}

/// A typical float family head, as the members run: `$q$`, `$b$`, `$v$`, bonus in
/// `$[-2, 2)$`; gates `$e^{x}$`, `$x \in [-3, 0)$`; DPLR `$\beta, \alpha \in [-1, 1)$`; delta rule
/// `$\beta \in [0, 2)$`, keys in `$[-1, 1)$`; every transition kind, mixed or one per head, one
/// head in four read before the step with a bonus. Returns `(head, values, d_v)` (T14 float).
pub fn float_family_head_with_values<T: Real>(
    len: RangeInclusive<usize>,
    dk: RangeInclusive<usize>,
    dv: RangeInclusive<usize>,
) -> BoxedStrategy<(FamilyHead<T>, Vec<T>, usize)> {
    float_head(len, dk, dv, typical_value::<T>, typical_transition::<T>)
}

/// `$\pm m\,2^e$` rounded once to `T` (to the subnormal grid below the normal range).
fn scaled<T: Real>(neg: bool, m: f64, e: i32) -> T {
    let v = m * 2f64.powi(e / 2) * 2f64.powi(e - e / 2);
    T::from_f64(if neg { -v } else { v })
}

/// Transition coefficients at the edges: 0, `$\pm 1$`, `$\pm m 2^e$` with `$e$` from the smallest
/// subnormal's exponent up to 1, or near half that exponent (products straddle the
/// subnormal range).
fn edge_coefficient<T: Real>() -> BoxedStrategy<T> {
    let (e_min, e_half) = if T::unit_roundoff() < 1e-10 {
        (-1074, -537)
    } else {
        (-149, -75)
    };
    prop_oneof![
        1 => Just(T::zero()),
        1 => any::<bool>().prop_map(|n| if n { -T::one() } else { T::one() }),
        4 => (any::<bool>(), 1.0f64..2.0, e_min..=1).prop_map(|(n, m, e)| scaled(n, m, e)),
        2 => (any::<bool>(), 1.0f64..2.0, e_half - 24..=e_half + 24)
            .prop_map(|(n, m, e)| scaled(n, m, e)),
    ]
    .boxed()
}

/// A singular delta step `$g(I - \beta k k^\top)$` with `$\beta k^\top k = 1$` exactly: `$k$` has
/// `$n \in \{1, 2, 4\}$` (`$\le d_k$`) entries `$\pm 2^e$`, the rest 0, and `$\beta = 2^{-2e}/n$`.
fn singular_delta<T: Real>(dk: usize) -> BoxedStrategy<Transition<T>> {
    let e_cap = if T::unit_roundoff() < 1e-10 { 250 } else { 30 };
    let sizes: Vec<usize> = [1, 2, 4].into_iter().filter(|&n| n <= dk).collect();
    (
        proptest::sample::select(sizes),
        -e_cap..=e_cap,
        proptest::collection::vec(any::<bool>(), dk),
        super::imp::wide_transition::<T>(),
    )
        .prop_map(move |(n, e, signs, gate)| {
            let key = (0..dk)
                .map(|i| match (i < n, signs[i]) {
                    (false, _) => T::zero(),
                    (true, neg) => scaled(neg, 1.0, e),
                })
                .collect();
            let beta = scaled(false, 1.0 / n as f64, -2 * e);
            Transition::Householder { gate, beta, key }
        })
        .boxed()
}

fn edge_transition<T: Real>(dk: usize) -> BoxedStrategy<Transition<T>> {
    let gate = super::imp::wide_transition::<T>;
    let c = move || proptest::collection::vec(edge_coefficient::<T>(), dk);
    prop_oneof![
        proptest::collection::vec(gate(), dk).prop_map(Transition::Diagonal),
        gate().prop_map(Transition::Scalar),
        (proptest::collection::vec(gate(), dk), c(), c()).prop_map(|(diag, beta, alpha)| {
            Transition::DiagonalPlusRankOne { diag, beta, alpha }
        }),
        (gate(), edge_coefficient::<T>(), c())
            .prop_map(|(gate, beta, key)| Transition::Householder { gate, beta, key }),
        singular_delta::<T>(dk),
    ]
    .boxed()
}

/// Float family heads at the edges of the format (T14 float): `$q$`, `$b$`, `$v$`, bonus from
/// [`wide_value`](super::wide_value) (the whole exponent range, subnormals included, products
/// straddling the subnormal range); gates from [`wide_transition`](super::wide_transition)
/// (exactly 0 and 1, `$-1$`, subnormal); DPLR `$\beta$`, `$\alpha$` and delta-rule `$\beta$`, keys
/// from 0, `$\pm 1$` and `$\pm m 2^e$` down to the smallest subnormal; singular delta steps
/// `$\beta k^\top k = 1$`; one head in four typical ([`float_family_head_with_values`]). `$L = 1$`
/// and `$d_k \ge L/2$` are in range when `len` and `dk` allow. Runs may overflow (the check
/// refuses them by type).
pub fn edge_float_family_head_with_values<T: Real>(
    len: RangeInclusive<usize>,
    dk: RangeInclusive<usize>,
    dv: RangeInclusive<usize>,
) -> BoxedStrategy<(FamilyHead<T>, Vec<T>, usize)> {
    prop_oneof![
        1 => float_family_head_with_values::<T>(len.clone(), dk.clone(), dv.clone()),
        3 => float_head(len, dk, dv, super::imp::wide_value::<T>, edge_transition::<T>),
    ]
    .boxed()
}

//! Strategies for the gated-linear family (T14, T15): heads with every kind of transition
//! (diagonal, scalar, diagonal plus rank one, scaled Householder) and both readouts,
//! exact, with gates that include 0 and 1.

use std::ops::RangeInclusive;

use proptest::prelude::*;
use proptest::strategy::BoxedStrategy;

use super::imp::{small_rational, transition_value};
use crate::family::linear::{FamilyHead, Readout, Transition};
use crate::scalar::Exact;

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

/// A family head of key dimension `$d_k \in$` `dk` and length `$2d_k + 2$` — the least length
/// at which both T19a certificates (through the diagonal and strictly below it) have their
/// minor — with a lower-triangular rational matrix of size `$L \in$` `len` to realise (T19b).
pub fn head_and_lower_triangular(
    dk: RangeInclusive<usize>,
    len: RangeInclusive<usize>,
) -> BoxedStrategy<(FamilyHead<Exact>, crate::tensor::Matrix<Exact>)> {
    (dk, Just(len))
        .prop_flat_map(|(k, len)| {
            (
                rational_family_head_with_values(2 * k + 2..=2 * k + 2, k..=k, 1..=1)
                    .prop_map(|(head, _, _)| head),
                crate::strategies::rational_lower_triangular(len),
            )
        })
        .boxed()
}

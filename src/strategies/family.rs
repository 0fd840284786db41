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

/// A family head of length $L \in$ `len`, key dimension $d_k \in$ `dk` (one transition kind
/// per head; one head in four reads before the step with a bonus, as RWKV-6) and values
/// `(L, d_v)`, $d_v \in$ `dv`. Returns `(head, values, d_v)`.
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

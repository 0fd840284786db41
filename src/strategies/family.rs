//! Strategies for the gated-linear family (T14–T19): heads with every kind of transition
//! (diagonal, scalar, diagonal plus rank one, scaled Householder) and both readouts,
//! exact, with gates that include 0 and 1; float heads at the edges of the format (T14
//! f64 / f32); the matrix-transition members with planted singular steps (T18); heads with
//! lower-triangular matrices to realise (T19).

use std::ops::RangeInclusive;

use proptest::prelude::*;
use proptest::strategy::BoxedStrategy;

use super::imp::{small_rational, transition_value};
use crate::family::linear::{FamilyHead, Member, Readout, Transition};
use crate::scalar::{ratio, Exact, Real};
use num_traits::Zero;

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
    FamilyHead {
        dk,
        q,
        b,
        m,
        readout,
    }
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

/// A gate in `$[0, 1]$`: 0 (one time in six), 1 (two in six), else `$p/8$`.
fn unit_gate() -> BoxedStrategy<Exact> {
    prop_oneof![
        1 => Just(ratio(0, 1)),
        2 => Just(ratio(1, 1)),
        3 => (1i64..=8).prop_map(|p| ratio(p, 8)),
    ]
    .boxed()
}

/// The draws of one step: `(gate, β, diag, β vector, α, key, plant)`.
type StepDraw = (
    Exact,
    Exact,
    Vec<Exact>,
    Vec<Exact>,
    Vec<Exact>,
    Vec<Exact>,
    u8,
);

/// One step of `member` from its draws: `(M_t, b_t)`. `plant` 0 makes `$M_t$` singular
/// through `$\beta$` (delta rule: `$\beta = 1/k^\top k$`; DPLR: `$\alpha$` rescaled to
/// `$\alpha^\top \mathrm{diag}(g)^{-1}\beta = -1$`), 1 through the gate (Gated DeltaNet:
/// `$g = 0$`; DPLR: `$g_0 = 0$`, `$\alpha = 0$`; DeltaNet as 0), anything else plants nothing.
fn matrix_step(member: Member, d: StepDraw) -> (Transition<Exact>, Vec<Exact>) {
    let (gate, beta, mut diag, mut dbeta, mut alpha, mut key, plant) = d;
    let one = || ratio(1, 1);
    let unit = |n: usize| {
        (0..n)
            .map(|i| ratio(i64::from(i == 0), 1))
            .collect::<Vec<_>>()
    };
    match member {
        Member::Dplr => {
            let has_zero = diag.iter().any(Zero::is_zero);
            if plant == 1 || (plant == 0 && has_zero) {
                diag[0] = ratio(0, 1);
                alpha.iter_mut().for_each(|a| *a = ratio(0, 1));
            } else if plant == 0 {
                let s = (0..diag.len()).fold(ratio(0, 1), |acc, i| {
                    acc + alpha[i].clone() * &dbeta[i] / &diag[i]
                });
                if s.is_zero() {
                    dbeta = unit(diag.len());
                    alpha = unit(diag.len());
                    alpha[0] = -diag[0].clone();
                } else {
                    alpha = alpha.into_iter().map(|a| -(a / &s)).collect();
                }
            }
            let m = Transition::DiagonalPlusRankOne {
                diag,
                beta: dbeta,
                alpha,
            };
            (m, key)
        }
        _ => {
            let gated = member == Member::GatedDeltaRule;
            let mut gate = if gated { gate } else { one() };
            let mut beta = beta;
            if plant == 1 && gated {
                gate = ratio(0, 1);
            } else if plant <= 1 {
                let kk = crate::tensor::dot(&key, &key);
                if kk.is_zero() {
                    key = unit(key.len());
                    beta = one();
                } else {
                    beta = one() / kk;
                }
            }
            let b = key.iter().map(|k| beta.clone() * k).collect();
            (Transition::Householder { gate, beta, key }, b)
        }
    }
}

/// A head of one of the matrix-transition `members` (`Member::Dplr`:
/// `$M_t = \mathrm{diag}(g_t) + \beta_t\alpha_t^\top$`, `$b_t = k_t$`; `Member::DeltaRule`:
/// `$M_t = I - \beta_t k_tk_t^\top$`, `Member::GatedDeltaRule`: `$g_t(I - \beta_t k_tk_t^\top)$`,
/// both `$b_t = \beta_t k_t$`),
/// readout after the step, `$L \in$` `len`, `$d_k \in$` `dk`: gates `$g \in [0, 1]$` (0 and 1
/// likely), `$\beta_t = p/8 \in (0, 2]$` for the delta rule, small rationals elsewhere,
/// and one step in three planted singular (T18: `$\beta_t = 1/k_t^\top k_t$`, `$g_t = 0$`, or
/// DPLR's `$\alpha_t^\top\mathrm{diag}(g_t)^{-1}\beta_t = -1$`). Other members are drawn as
/// Gated DeltaNet.
pub fn matrix_transition_head(
    members: &[Member],
    len: RangeInclusive<usize>,
    dk: RangeInclusive<usize>,
) -> BoxedStrategy<FamilyHead<Exact>> {
    let members = members.to_vec();
    (proptest::sample::select(members), len, dk)
        .prop_flat_map(|(member, l, k)| {
            let vec = move |n: usize| proptest::collection::vec(small_rational(), n);
            let gates = move || proptest::collection::vec(unit_gate(), k);
            let step = (
                unit_gate(),
                (1i64..=16).prop_map(|p| ratio(p, 8)),
                gates(),
                vec(k),
                vec(k),
                vec(k),
                0u8..6,
            );
            (vec(l * k), proptest::collection::vec(step, l)).prop_map(move |(q, steps)| {
                let (m, b): (Vec<_>, Vec<_>) =
                    steps.into_iter().map(|d| matrix_step(member, d)).unzip();
                FamilyHead {
                    dk: k,
                    q,
                    b: b.concat(),
                    m,
                    readout: Readout::After,
                }
            })
        })
        .boxed()
}

/// [`matrix_transition_head`] of DPLR, DeltaNet and Gated DeltaNet with values `(L, d_v)`,
/// `$d_v \in$` `dv`. Returns `(head, values, d_v)` (T18).
pub fn matrix_transition_head_with_values(
    len: RangeInclusive<usize>,
    dk: RangeInclusive<usize>,
    dv: RangeInclusive<usize>,
) -> BoxedStrategy<(FamilyHead<Exact>, Vec<Exact>, usize)> {
    (
        matrix_transition_head(
            &[Member::Dplr, Member::DeltaRule, Member::GatedDeltaRule],
            len,
            dk,
        ),
        dv,
    )
        .prop_flat_map(|(head, d)| {
            let l = head.len();
            (
                Just(head),
                proptest::collection::vec(small_rational(), l * d),
                Just(d),
            )
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

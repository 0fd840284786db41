//! Strategies for SSD (Mamba-2) heads and layers (T8–T13), re-exported by
//! [`crate::strategies`].

use std::ops::RangeInclusive;

use proptest::prelude::*;
use proptest::strategy::BoxedStrategy;

use super::imp::{small_rational, transition_value, wide_transition, wide_value};
use crate::family::ssd::{SsdHead, SsdLayerInput};
use crate::scalar::{Exact, Real};
use crate::tensor::Tensor;

/// A rational SSD head with its input: `$L \in$` `len`, `$N \in$` `state`, transitions `$a_t$`
/// from [`transition_value`] (0 and 1 one time in three each), `$\bar B$`, `$C$`, `$x$` from
/// [`small_rational`]. Pass `state` reaching `$L/2$` and beyond to cover `$N \ge L/2$`.
pub fn rational_ssd_head_with_input(
    len: RangeInclusive<usize>,
    state: RangeInclusive<usize>,
) -> BoxedStrategy<(SsdHead<Exact>, Vec<Exact>)> {
    (len, state)
        .prop_flat_map(|(l, n)| {
            (
                proptest::collection::vec(transition_value(), l),
                proptest::collection::vec(small_rational(), l * n),
                proptest::collection::vec(small_rational(), l * n),
                proptest::collection::vec(small_rational(), l),
            )
                .prop_map(move |(a, b, c, x)| {
                    (
                        SsdHead::new(l, n, a, b, c).expect("sizes match by construction"),
                        x,
                    )
                })
        })
        .boxed()
}

/// [`rational_ssd_head_with_input`] with a chunk size `$Q \in [1, L + 2]$` (sizes that do
/// not divide `$L$`, `$Q = 1$`, `$Q = L$` and `$Q > L$` all occur).
pub fn rational_ssd_head_with_chunk(
    len: RangeInclusive<usize>,
    state: RangeInclusive<usize>,
) -> BoxedStrategy<(SsdHead<Exact>, Vec<Exact>, usize)> {
    rational_ssd_head_with_input(len, state)
        .prop_flat_map(|(h, x)| {
            let l = h.len();
            (Just(h), Just(x), 1..=l + 2)
        })
        .boxed()
}

/// A Mamba-2-like float head with its input: `$\Delta_t = \mathrm{softplus}(r)$`,
/// `$r \in [-6, 3]$`, `$A_h = -e^{s}$`, `$s \in [-2, 2.5]$`, `$a_t = e^{\Delta_t A_h}$`,
/// `$\bar B_t = \Delta_t B_t$`, `$B, C, x \in [-2, 2]$`, and a chunk size `$Q \in [1, L+2]$`.
pub fn mamba2_head_with_input<T: Real>(
    len: RangeInclusive<usize>,
    state: RangeInclusive<usize>,
) -> BoxedStrategy<(SsdHead<T>, Vec<T>, usize)> {
    (len, state)
        .prop_flat_map(|(l, n)| {
            (
                proptest::collection::vec(-6.0f64..3.0, l),
                -2.0f64..2.5,
                proptest::collection::vec(-2.0f64..2.0, l * n),
                proptest::collection::vec(-2.0f64..2.0, l * n),
                proptest::collection::vec(-2.0f64..2.0, l),
                1..=l + 2,
            )
                .prop_map(move |(r, s, b, c, x, q)| {
                    let f = |v: f64| T::from_f64(v);
                    let delta: Vec<T> = r.into_iter().map(|v| f(v).softplus()).collect();
                    let a_h = -f(s).exp();
                    let a = delta.iter().map(|&d| (d * a_h).exp()).collect();
                    let bbar = (0..l * n).map(|i| delta[i / n] * f(b[i])).collect();
                    let head = SsdHead::new(l, n, a, bbar, c.into_iter().map(f).collect())
                        .expect("finite by construction");
                    (head, x.into_iter().map(f).collect(), q)
                })
        })
        .boxed()
}

/// The **wide tier** for SSD heads: transitions from [`wide_transition`] (0, ±1,
/// subnormal), `$\bar B$`, `$C$`, `$x$` from [`wide_value`] (the whole exponent range,
/// subnormals included), and a chunk size `$Q \in [1, L+2]$`.
pub fn wide_ssd_head_with_input<T: Real>(
    len: RangeInclusive<usize>,
    state: RangeInclusive<usize>,
) -> BoxedStrategy<(SsdHead<T>, Vec<T>, usize)> {
    (len, state)
        .prop_flat_map(|(l, n)| {
            (
                proptest::collection::vec(wide_transition::<T>(), l),
                proptest::collection::vec(wide_value::<T>(), l * n),
                proptest::collection::vec(wide_value::<T>(), l * n),
                proptest::collection::vec(wide_value::<T>(), l),
                1..=l + 2,
            )
                .prop_map(move |(a, b, c, x, q)| {
                    let head = SsdHead::new(l, n, a, b, c).expect("sizes match by construction");
                    (head, x, q)
                })
        })
        .boxed()
}

/// A raw step size for the layer: mostly in `$[-6, 3]$`; one in four near PyTorch's
/// softplus threshold (`$[18, 26]$`, or exactly 20 — the last value still passed through
/// `$\log(1+e^x)$`).
pub fn raw_step() -> BoxedStrategy<f64> {
    prop_oneof![
        6 => -6.0f64..3.0,
        1 => 18.0f64..26.0,
        1 => Just(20.0),
    ]
    .boxed()
}

/// A float SSD layer input: batch `$\le 2$`, `$L \in$` `len`, `$G \in$` `groups` groups and
/// `$H = G\cdot k$` heads with `$k \in$` `heads_per_group`, head dim `$P \in$` `head_dim`, state `$N \in$` `state`; raw `dt` from [`raw_step`] with
/// `dt_bias = 0` (so the threshold is reached), `$A_h = -e^{s}$`, `$B, C, x \in [-2, 2]$`, `$D$`
/// per head, per channel or absent, `dt_limit` `$(0, \infty)$` or a finite `$(lo, hi)$` that
/// clamps, chunk size `$Q \in [1, L+2]$`.
pub fn ssd_layer_input<T: Real>(
    len: RangeInclusive<usize>,
    groups: RangeInclusive<usize>,
    heads_per_group: RangeInclusive<usize>,
    head_dim: RangeInclusive<usize>,
    state: RangeInclusive<usize>,
) -> BoxedStrategy<SsdLayerInput<T>> {
    (1usize..=2, len, groups, heads_per_group, head_dim, state)
        .prop_flat_map(|(bt, l, g, k, p, n)| {
            let h = g * k;
            (
                proptest::collection::vec(-2.0f64..2.0, bt * l * h * p),
                proptest::collection::vec(raw_step(), bt * l * h),
                proptest::collection::vec(-2.0f64..2.5, h),
                proptest::collection::vec(-2.0f64..2.0, bt * l * g * n),
                proptest::collection::vec(-2.0f64..2.0, bt * l * g * n),
                (0u8..3, proptest::collection::vec(-1.0f64..1.0, h * p)),
                (any::<bool>(), 0.001f64..0.1, 0.5f64..4.0),
                1..=l + 2,
            )
                .prop_map(
                    move |(x, dt, s, b, c, (dkind, dv), (finite, lo, hi), chunk)| {
                        let t = |name: &str, shape: Vec<usize>, v: Vec<f64>| {
                            Tensor::new(name, shape, v.into_iter().map(T::from_f64).collect())
                                .expect("sizes match by construction")
                        };
                        let d = match dkind {
                            0 => None,
                            1 => Some(t("D", vec![h], dv[..h].to_vec())),
                            _ => Some(t("D", vec![h * p], dv)),
                        };
                        SsdLayerInput {
                            x: t("x", vec![bt, l, h, p], x),
                            dt: t("dt", vec![bt, l, h], dt),
                            a: t("A", vec![h], s.into_iter().map(|v| -v.exp()).collect()),
                            b: t("B", vec![bt, l, g, n], b),
                            c: t("C", vec![bt, l, g, n], c),
                            d,
                            dt_bias: Some(t("dt_bias", vec![h], vec![0.0; h])),
                            dt_softplus: true,
                            dt_limit: if finite {
                                (T::from_f64(lo), T::from_f64(hi))
                            } else {
                                (T::zero(), T::infinity())
                            },
                            chunk,
                        }
                    },
                )
        })
        .boxed()
}

/// A case of the `$\Delta\to0$` limit (T11): `$A_h = -e^{s}$`, `$s \in [-2, 2.5]$` (strictly
/// negative), `$\Delta_t = \mathrm{softplus}(r)$`, `$r \in [-6, 3]$`, `$B, C \in [-2, 2]$`,
/// `$L \in$` `len`, `$N \in$` `state`, and a scale `$\varepsilon = 10^{e}$`, `$e \in [-4, 0]$`.
pub fn ssd_limit_case(
    len: RangeInclusive<usize>,
    state: RangeInclusive<usize>,
) -> BoxedStrategy<(crate::family::ssd::limit::SsdLimit, f64)> {
    (len, state)
        .prop_flat_map(|(l, n)| {
            (
                -2.0f64..2.5,
                proptest::collection::vec(-6.0f64..3.0, l),
                proptest::collection::vec(-2.0f64..2.0, l * n),
                proptest::collection::vec(-2.0f64..2.0, l * n),
                -4.0f64..0.0,
            )
                .prop_map(move |(s, r, b, c, e)| {
                    (
                        crate::family::ssd::limit::SsdLimit {
                            a_h: -s.exp(),
                            delta: r.into_iter().map(|v| v.softplus()).collect(),
                            b,
                            c,
                            state: n,
                        },
                        10f64.powf(e),
                    )
                })
        })
        .boxed()
}

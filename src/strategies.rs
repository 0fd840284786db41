//! Public proptest strategies for channels, inputs and Mamba-like parameters, so that
//! downstream property suites draw the same cases as this crate's own.
//!
//! Following the style of `nalgebra::proptest`, these are free functions returning
//! [`BoxedStrategy`] rather than `Arbitrary` impls (there is no canonical strategy for a
//! channel, and floats must stay finite). Rationals are small (numerators −8..8,
//! denominators 1..8) so shrunk counterexamples stay readable.
//!
//! # Examples
//! ```
//! use hidden_attention::{strategies, ssm::{scan, hidden_attention}};
//! use proptest::prelude::*;
//! proptest!(|((ch, x) in strategies::rational_channel_with_input(1..=4, 1..=2))| {
//!     let y = scan(&ch, &x).unwrap().y;
//!     prop_assert_eq!(hidden_attention(&ch).unwrap().mul_vec(&x).unwrap(), y);
//! });
//! ```

use std::ops::RangeInclusive;

use proptest::prelude::*;
use proptest::strategy::BoxedStrategy;

use crate::scalar::{ratio, Exact, Real};
use crate::ssm::{BRule, Channel, MambaChannel};

/// A small rational $p/q$ with $p \in [-8, 8]$, $q \in [1, 8]$.
pub fn small_rational() -> BoxedStrategy<Exact> {
    (-8i64..=8, 1i64..=8).prop_map(|(p, q)| ratio(p, q)).boxed()
}

/// The grid $\{-1, 0, \tfrac12, 1\}$ of the exhaustive tiny cases.
pub const GRID: [(i64, i64); 4] = [(-1, 1), (0, 1), (1, 2), (1, 1)];

/// A value of [`GRID`].
pub fn grid_value() -> BoxedStrategy<Exact> {
    proptest::sample::select(GRID.to_vec())
        .prop_map(|(p, q)| ratio(p, q))
        .boxed()
}

/// A transition entry: 0 and 1 with high probability (the edge cases of T2b), else
/// a small rational.
pub fn transition_value() -> BoxedStrategy<Exact> {
    prop_oneof![
        1 => Just(ratio(0, 1)),
        1 => Just(ratio(1, 1)),
        4 => small_rational(),
    ]
    .boxed()
}

fn channel_from(
    len: RangeInclusive<usize>,
    state: RangeInclusive<usize>,
    a: fn() -> BoxedStrategy<Exact>,
    bc: fn() -> BoxedStrategy<Exact>,
) -> BoxedStrategy<(Channel<Exact>, Vec<Exact>)> {
    (len, state)
        .prop_flat_map(move |(l, n)| {
            (
                proptest::collection::vec(a(), l * n),
                proptest::collection::vec(bc(), l * n),
                proptest::collection::vec(bc(), l * n),
                proptest::collection::vec(bc(), l),
            )
                .prop_map(move |(ab, bb, c, x)| {
                    (Channel::new(l, n, ab, bb, c).expect("sizes match by construction"), x)
                })
        })
        .boxed()
}

/// A random rational channel with its input: $L \in$ `len`, $N \in$ `state`, $\bar A$
/// entries from [`transition_value`] (including 0 and 1), $\bar B$, $C$, $x$ from
/// [`small_rational`].
pub fn rational_channel_with_input(
    len: RangeInclusive<usize>,
    state: RangeInclusive<usize>,
) -> BoxedStrategy<(Channel<Exact>, Vec<Exact>)> {
    channel_from(len, state, transition_value, small_rational)
}

/// A channel and input with every entry on [`GRID`] $= \{-1, 0, \tfrac12, 1\}$.
pub fn grid_channel_with_input(
    len: RangeInclusive<usize>,
    state: RangeInclusive<usize>,
) -> BoxedStrategy<(Channel<Exact>, Vec<Exact>)> {
    channel_from(len, state, grid_value, grid_value)
}

/// Every channel with $L = $ `len`, $N = 1$ and every entry of $\bar A$, $\bar B$, $C$,
/// $x$ on [`GRID`]: $4^{4L}$ cases (exhaustive tiny cases).
pub fn exhaustive_grid(len: usize) -> impl Iterator<Item = (Channel<Exact>, Vec<Exact>)> {
    let entries = 4 * len;
    (0..4usize.pow(entries as u32)).map(move |mut code| {
        let mut v = Vec::with_capacity(entries);
        for _ in 0..entries {
            let (p, q) = GRID[code % 4];
            v.push(ratio(p, q));
            code /= 4;
        }
        let x = v.split_off(3 * len);
        let c = v.split_off(2 * len);
        let b = v.split_off(len);
        (Channel::new(len, 1, v, b, c).expect("sizes match by construction"), x)
    })
}

/// Mamba-like parameters of one channel in a float type: $\Delta_t =
/// \mathrm{softplus}(r)$ with $r \in [-6, 3]$ (so $\Delta \in [0.0025, 3.05]$),
/// $A_n = -e^{s}$ with $s \in [-2, 2.5]$ (strictly negative, $|A| \le 12.2$), $B_t, C_t
/// \in [-2, 2]$ — the ranges of trained Mamba layers.
pub fn mamba_channel<T: Real>(
    len: RangeInclusive<usize>,
    state: RangeInclusive<usize>,
) -> BoxedStrategy<MambaChannel<T>> {
    (len, state)
        .prop_flat_map(|(l, n)| {
            (
                proptest::collection::vec(-6.0f64..3.0, l),
                proptest::collection::vec(-2.0f64..2.5, n),
                proptest::collection::vec(-2.0f64..2.0, l * n),
                proptest::collection::vec(-2.0f64..2.0, l * n),
            )
                .prop_map(|(r, s, b, c)| {
                    let f = |v: Vec<f64>| v.into_iter().map(T::from_f64).collect::<Vec<T>>();
                    MambaChannel {
                        delta: r.into_iter().map(|v| T::from_f64(v).softplus()).collect(),
                        a: s.into_iter().map(|v| -T::from_f64(v).exp()).collect(),
                        b: f(b),
                        c: f(c),
                    }
                })
        })
        .boxed()
}

/// A discretised Mamba-like float channel ([`mamba_channel`], Euler $\bar B$) with an
/// input $x \in [-2, 2]^L$.
pub fn mamba_like_channel_with_input<T: Real>(
    len: RangeInclusive<usize>,
    state: RangeInclusive<usize>,
) -> BoxedStrategy<(Channel<T>, Vec<T>)> {
    mamba_channel::<T>(len, state)
        .prop_flat_map(|m| {
            let l = m.delta.len();
            (Just(m), proptest::collection::vec(-2.0f64..2.0, l))
        })
        .prop_map(|(m, x)| {
            let ch = m
                .discretize(BRule::Euler)
                .expect("Mamba-like parameters are finite and e^{ΔA} ≤ 1");
            (ch, x.into_iter().map(T::from_f64).collect())
        })
        .boxed()
}

//! Public proptest strategies for channels, inputs and Mamba-like parameters, so that
//! downstream property suites draw the same cases as this crate's own.
//!
//! Following the style of `nalgebra::proptest`, these are free functions returning
//! [`BoxedStrategy`](proptest::strategy::BoxedStrategy) rather than `Arbitrary` impls (there is no canonical strategy for a
//! channel, and floats must stay finite). Rationals are small (numerators −8..8,
//! denominators 1..8) so shrunk counterexamples stay readable.
//!
//! # Examples
//! ```
//! use hidden_attention::{strategies, ssm::{self, scan}};
//! use proptest::prelude::*;
//! proptest!(|((ch, x) in strategies::rational_channel_with_input(1..=4, 1..=2))| {
//!     let y = scan(&ch, &x).unwrap().y;
//!     prop_assert_eq!(ssm::attention_matrix(&ch).unwrap().mul_vec(&x).unwrap(), y);
//! });
//! ```
//!
//! # Speed of downstream float suites
//! Float cases are checked against their exact rational counterparts, and big-rational
//! arithmetic without optimisation is slow: a downstream float property test in a plain
//! debug build runs about 30× slower than with the dependencies optimised. Two lines in
//! the downstream `Cargo.toml` fix it without slowing your own crate's builds:
//!
//! ```toml
//! [profile.test.package."*"]
//! opt-level = 2          # dependencies (this crate, num-bigint, proptest) optimised
//! [profile.dev.package.hidden-attention]
//! opt-level = 2          # also for `cargo run` / `cargo build` in debug
//! ```
//!
//! (This crate's own `Cargo.toml` does the same.) Where a whole check already exists, call
//! it instead of rewriting it: one line per case, e.g. `theorems::t1::check_float(&ch, &x)`,
//! `theorems::t2::check_float`, `theorems::t4::check_float`, `theorems::t8::check_float`
//! (each compares a float view with the exact one under the proven bound and returns a
//! `CaseResult`), or `theorems::t1::check_exact` for rationals.
//!
//! # Feature `proptest`
//! This module is public with the cargo feature `proptest` (on by default). Without it
//! (`default-features = false`) the strategies stay crate-internal — the theorem checks
//! of `hattn check` and the refutation search still draw their cases from them — and
//! this module is empty. Downstream suites enable it with
//! `hidden-attention = { version = "0.1", features = ["proptest"] }` (or keep the
//! defaults) and add `proptest` to their own dev-dependencies.

#[cfg(feature = "proptest")]
pub use self::family::*;
#[cfg(not(feature = "proptest"))]
pub(crate) use self::family::*;
#[cfg(feature = "proptest")]
pub use self::imp::*;
#[cfg(not(feature = "proptest"))]
pub(crate) use self::imp::*;
#[cfg(feature = "proptest")]
pub use self::ssd::*;
#[cfg(not(feature = "proptest"))]
pub(crate) use self::ssd::*;

#[cfg_attr(not(feature = "proptest"), allow(dead_code))]
mod family;
#[cfg_attr(not(feature = "proptest"), allow(dead_code))]
mod ssd;

// Without the feature only the strategies the checks use are reachable.
#[cfg_attr(not(feature = "proptest"), allow(dead_code))]
mod imp {
    use std::ops::RangeInclusive;

    use proptest::prelude::*;
    use proptest::strategy::BoxedStrategy;

    use crate::scalar::{ratio, Exact, Real};
    use crate::ssm::{BRule, Channel, MambaChannel};

    /// A small rational `$p/q$` with `$p \in [-8, 8]$`, `$q \in [1, 8]$`.
    pub fn small_rational() -> BoxedStrategy<Exact> {
        (-8i64..=8, 1i64..=8).prop_map(|(p, q)| ratio(p, q)).boxed()
    }

    /// The grid `$\{-1, 0, \tfrac12, 1\}$` of the exhaustive tiny cases.
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
                        (
                            Channel::new(l, n, ab, bb, c).expect("sizes match by construction"),
                            x,
                        )
                    })
            })
            .boxed()
    }

    /// A random rational channel with its input: `$L \in$` `len`, `$N \in$` `state`, `$\bar A$`
    /// entries from [`transition_value`] (including 0 and 1), `$\bar B$`, `$C$`, `$x$` from
    /// [`small_rational`].
    pub fn rational_channel_with_input(
        len: RangeInclusive<usize>,
        state: RangeInclusive<usize>,
    ) -> BoxedStrategy<(Channel<Exact>, Vec<Exact>)> {
        channel_from(len, state, transition_value, small_rational)
    }

    /// A random rational channel (no input): `$L \in$` `len`, `$N \in$` `state`, entries as
    /// in [`rational_channel_with_input`]. Shrinks towards short channels of small state
    /// with entries near 0.
    pub fn rational_channel(
        len: RangeInclusive<usize>,
        state: RangeInclusive<usize>,
    ) -> BoxedStrategy<Channel<Exact>> {
        rational_channel_with_input(len, state)
            .prop_map(|(c, _)| c)
            .boxed()
    }

    /// A channel and input with every entry on [`GRID`] `$= \{-1, 0, \tfrac12, 1\}$`.
    pub fn grid_channel_with_input(
        len: RangeInclusive<usize>,
        state: RangeInclusive<usize>,
    ) -> BoxedStrategy<(Channel<Exact>, Vec<Exact>)> {
        channel_from(len, state, grid_value, grid_value)
    }

    /// Every channel with `$L = $` `len`, `$N = 1$` and every entry of `$\bar A$`, `$\bar B$`, `$C$`,
    /// `$x$` on [`GRID`]: `$4^{4L}$` cases (exhaustive tiny cases).
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
            (
                Channel::new(len, 1, v, b, c).expect("sizes match by construction"),
                x,
            )
        })
    }

    /// Mamba-like parameters of one channel in a float type: `$\Delta_t =
    /// \mathrm{softplus}(r)$` with `$r \in [-6, 3]$` (so `$\Delta \in [0.0025, 3.05]$`),
    /// `$A_n = -e^{s}$` with `$s \in [-2, 2.5]$` (strictly negative, `$|A| \le 12.2$`), `$B_t, C_t
    /// \in [-2, 2]$` — the ranges of trained Mamba layers.
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

    /// A discretised Mamba-like float channel ([`mamba_channel`], Euler `$\bar B$`) with an
    /// input `$x \in [-2, 2]^L$`.
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

    /// `$2^k$` exactly, for `$-1074 \le k \le 1023$` (subnormal powers included).
    fn pow2(k: i32) -> f64 {
        if k >= -1022 {
            f64::from_bits(((k + 1023) as u64) << 52)
        } else {
            f64::from_bits(1u64 << (k + 1074))
        }
    }

    /// A float value of any magnitude down to the format's smallest subnormal: `$\pm m\,2^e$`
    /// with `$m \in [1, 2)$` and `$e$` uniform in `$[e_{\min}, e_{\max}]$`, where `$e_{\min}$` is the
    /// exponent of the smallest subnormal (`$-1074$` in `f64`, `$-149$` in `f32`) and
    /// `$e_{\max}$` is a third of the largest exponent less 8 (so that a product of three such
    /// values, summed `$L N \le 2^{16}$` times, stays finite); three draws in eight instead take
    /// `$e$` within 24 of half the smallest subnormal's exponent, so that products of two values
    /// straddle the subnormal range; zero one time in eight. Rounded once to `T` (subnormal
    /// values are rounded to the format's subnormal grid).
    pub fn wide_value<T: Real>() -> BoxedStrategy<T> {
        let (e_min, e_max, e_half) = if T::unit_roundoff() < 1e-10 {
            (-1074, 333, -537)
        } else {
            (-149, 34, -75)
        };
        let signed = |neg: bool, m: f64, e: i32| {
            // m·2^e with one rounding: two exact normal powers of two, the second
            // product rounds (to the subnormal grid of f64 when e < −1022)
            let v = m * pow2(e / 2) * pow2(e - e / 2);
            T::from_f64(if neg { -v } else { v })
        };
        prop_oneof![
            2 => Just(T::zero()),
            8 => (any::<bool>(), 1.0f64..2.0, e_min..=e_max)
                .prop_map(move |(neg, m, e)| signed(neg, m, e)),
            // near the square root of the smallest subnormal: products of two such
            // values straddle the subnormal range
            6 => (any::<bool>(), 1.0f64..2.0, e_half - 24..=e_half + 24)
                .prop_map(move |(neg, m, e)| signed(neg, m, e)),
        ]
        .boxed()
    }

    /// A transition of the wide tier: `$0$`, `$1$`, `$-1$`, a uniform value in `$(0, 1)$`, or a
    /// value `$2^{-k}$`-small of any magnitude down to the smallest subnormal.
    pub fn wide_transition<T: Real>() -> BoxedStrategy<T> {
        let e_min = if T::unit_roundoff() < 1e-10 {
            -1074
        } else {
            -149
        };
        prop_oneof![
            1 => Just(T::zero()),
            2 => Just(T::one()),
            1 => Just(-T::one()),
            4 => (0.0f64..1.0).prop_map(T::from_f64),
            2 => (1.0f64..2.0, e_min..=-1).prop_map(|(m, e)| {
                T::from_f64(m * pow2(e / 2) * pow2(e - e / 2) / 2.0)
            }),
        ]
        .boxed()
    }

    /// The **wide tier**: a float channel with input whose `$\bar B$`, `$C$` and `$x$` entries range
    /// over the whole exponent range, subnormals included ([`wide_value`]), and whose
    /// transitions include 0, ±1 and subnormal values ([`wide_transition`]). It reaches the
    /// regime where products of normal numbers round to subnormal results, which the
    /// Mamba-like tier (`$B, C, x \in [-2, 2]$`) never does; the float bounds of
    /// [`crate::theorems::bound`] must hold here too.
    pub fn wide_channel_with_input<T: Real>(
        len: RangeInclusive<usize>,
        state: RangeInclusive<usize>,
    ) -> BoxedStrategy<(Channel<T>, Vec<T>)> {
        (len, state)
            .prop_flat_map(|(l, n)| {
                (
                    proptest::collection::vec(wide_transition::<T>(), l * n),
                    proptest::collection::vec(wide_value::<T>(), l * n),
                    proptest::collection::vec(wide_value::<T>(), l * n),
                    proptest::collection::vec(wide_value::<T>(), l),
                )
                    .prop_map(move |(a, b, c, x)| {
                        let ch = Channel::new(l, n, a, b, c).expect("sizes match by construction");
                        (ch, x)
                    })
            })
            .boxed()
    }

    // ---- heads, layers and structured matrices (T3–T7) ----

    fn exact_matrix(
        rows: usize,
        cols: usize,
        v: BoxedStrategy<Exact>,
    ) -> BoxedStrategy<crate::tensor::Matrix<Exact>> {
        proptest::collection::vec(v, rows * cols)
            .prop_map(move |d| {
                crate::tensor::Matrix::from_row_major(rows, cols, d).expect("rows × cols")
            })
            .boxed()
    }

    fn float_matrix<T: Real>(
        rows: usize,
        cols: usize,
        lo: f64,
        hi: f64,
    ) -> BoxedStrategy<crate::tensor::Matrix<T>> {
        proptest::collection::vec(lo..hi, rows * cols)
            .prop_map(move |d| {
                crate::tensor::Matrix::from_row_major(
                    rows,
                    cols,
                    d.into_iter().map(T::from_f64).collect(),
                )
                .expect("rows × cols")
            })
            .boxed()
    }

    /// A rational causal gated linear head (`$L\in$` `len`, `$d \in$` `dim`) with value matrix
    /// `$V$` (`L × d_v`, `$d_v \in 1..=2$`). Gates are drawn per step either as full diagonal
    /// gates from [`transition_value`] (0 and 1 frequent), as one scalar per step
    /// (Mamba-2/SSD), as a constant `$\gamma$` (RetNet) or `$\equiv 1$` (plain linear attention).
    pub fn rational_gated_head_with_values(
        len: RangeInclusive<usize>,
        dim: RangeInclusive<usize>,
    ) -> BoxedStrategy<(
        crate::attention::GatedLinearHead<Exact>,
        crate::tensor::Matrix<Exact>,
    )> {
        (len, dim, 1usize..=2, 0u8..4)
            .prop_flat_map(|(l, d, dv, kind)| {
                let gates: BoxedStrategy<Vec<Exact>> = match kind {
                    0 => proptest::collection::vec(transition_value(), l * d).boxed(),
                    1 => proptest::collection::vec(transition_value(), l)
                        .prop_map(move |g| {
                            g.into_iter()
                                .flat_map(|a| std::iter::repeat(a).take(d))
                                .collect()
                        })
                        .boxed(),
                    2 => transition_value().prop_map(move |g| vec![g; l * d]).boxed(),
                    _ => Just(vec![ratio(1, 1); l * d]).boxed(),
                };
                (
                    exact_matrix(l, d, small_rational()),
                    exact_matrix(l, d, small_rational()),
                    gates,
                    exact_matrix(l, dv, small_rational()),
                )
                    .prop_map(move |(q, k, g, v)| {
                        let g = crate::tensor::Matrix::from_row_major(l, d, g).expect("L × d");
                        (
                            crate::attention::GatedLinearHead::new(q, k, g).expect("shapes agree"),
                            v,
                        )
                    })
            })
            .boxed()
    }

    /// A rational causal linear head.
    pub fn rational_linear_head(
        len: RangeInclusive<usize>,
        dim: RangeInclusive<usize>,
    ) -> BoxedStrategy<crate::attention::LinearHead<Exact>> {
        (len, dim)
            .prop_flat_map(|(l, d)| {
                (
                    exact_matrix(l, d, small_rational()),
                    exact_matrix(l, d, small_rational()),
                )
                    .prop_map(|(q, k)| {
                        crate::attention::LinearHead::new(q, k).expect("shapes agree")
                    })
            })
            .boxed()
    }

    /// A causal softmax head with small rational queries and keys and scale `$1/s$`, `$s\in 1..=4$`.
    pub fn rational_softmax_head(
        len: RangeInclusive<usize>,
        dim: RangeInclusive<usize>,
    ) -> BoxedStrategy<crate::attention::SoftmaxHead<Exact>> {
        (len, dim, 1i64..=4)
            .prop_flat_map(|(l, d, s)| {
                (
                    exact_matrix(l, d, small_rational()),
                    exact_matrix(l, d, small_rational()),
                )
                    .prop_map(move |(q, k)| {
                        crate::attention::SoftmaxHead::new(q, k, ratio(1, s)).expect("finite scale")
                    })
            })
            .boxed()
    }

    /// A float causal softmax head, `$q, k \in [-2, 2]^{L\times d}$`, scale `$1/\sqrt d$`.
    pub fn float_softmax_head<T: Real>(
        len: RangeInclusive<usize>,
        dim: RangeInclusive<usize>,
    ) -> BoxedStrategy<crate::attention::SoftmaxHead<T>> {
        (len, dim)
            .prop_flat_map(|(l, d)| {
                (
                    float_matrix::<T>(l, d, -2.0, 2.0),
                    float_matrix::<T>(l, d, -2.0, 2.0),
                )
                    .prop_map(move |(q, k)| {
                        let s = T::from_f64(1.0 / (d as f64).sqrt());
                        crate::attention::SoftmaxHead::new(q, k, s).expect("finite scale")
                    })
            })
            .boxed()
    }

    /// A Mamba-like float S6 layer (token width `$D \in$` `width`, `$d_v\in 1..=2$` channels,
    /// state `$N\in$` `state`, weights in `$[-1, 1]$`, `$b_\Delta\in[-4, 1]$`, `$A = -e^{s}$`,
    /// `$s\in[-2, 2]$`) with a token sequence `$\hat x \in [-1, 1]^{L\times D}$`.
    pub fn s6_layer_with_tokens<T: Real>(
        len: RangeInclusive<usize>,
        width: RangeInclusive<usize>,
        state: RangeInclusive<usize>,
    ) -> BoxedStrategy<(
        crate::construct::function::S6Layer<T>,
        crate::tensor::Matrix<T>,
    )> {
        (len, width, 1usize..=2, state)
            .prop_flat_map(|(l, dd, dv, n)| {
                (
                    (
                        float_matrix::<T>(dv, dd, -1.0, 1.0),
                        float_matrix::<T>(dv, dd, -1.0, 1.0),
                        proptest::collection::vec(-4.0f64..1.0, dv),
                    ),
                    (
                        float_matrix::<T>(dv, n, -2.0, 2.0),
                        float_matrix::<T>(n, dd, -1.0, 1.0),
                        float_matrix::<T>(n, dd, -1.0, 1.0),
                        float_matrix::<T>(l, dd, -1.0, 1.0),
                    ),
                )
                    .prop_map(|((w_x, w_delta, b), (s, w_b, w_c, xhat))| {
                        let layer = crate::construct::function::S6Layer {
                            w_x,
                            w_delta,
                            b_delta: b.into_iter().map(T::from_f64).collect(),
                            a: s.map(|v| -v.exp()),
                            w_b,
                            w_c,
                        };
                        (layer, xhat)
                    })
            })
            .boxed()
    }

    /// A float linear-attention layer (`$W_Q, W_K$`: `d × D`, `$W_V$`: `d_v × D`, entries in
    /// `$[-1, 1]$`) with tokens `$\hat x\in[-1,1]^{L\times D}$`.
    pub fn linear_attention_layer_with_tokens<T: Real>(
        len: RangeInclusive<usize>,
        width: RangeInclusive<usize>,
        dim: RangeInclusive<usize>,
    ) -> BoxedStrategy<(
        crate::construct::function::LinearAttentionLayer<T>,
        crate::tensor::Matrix<T>,
    )> {
        (len, width, dim, 1usize..=2)
            .prop_flat_map(|(l, dd, d, dv)| {
                (
                    float_matrix::<T>(d, dd, -1.0, 1.0),
                    float_matrix::<T>(d, dd, -1.0, 1.0),
                    float_matrix::<T>(dv, dd, -1.0, 1.0),
                    float_matrix::<T>(l, dd, -1.0, 1.0),
                )
                    .prop_map(|(w_q, w_k, w_v, x)| {
                        (
                            crate::construct::function::LinearAttentionLayer { w_q, w_k, w_v },
                            x,
                        )
                    })
            })
            .boxed()
    }

    /// A pre-activation `$z$` of `$\Delta = \mathrm{softplus}(z)$`: mostly `$z \in [-6, 4]$` (trained
    /// layers), one draw in four across PyTorch's softplus threshold, `$z \in [18, 26]$`
    /// (where `$\mathrm{softplus}(z) = z$` for `$z > 20$`), and `$z = 20$` itself.
    pub fn preactivation() -> BoxedStrategy<f64> {
        prop_oneof![
            12 => -6.0f64..4.0,
            3 => 18.0f64..26.0,
            1 => Just(20.0f64),
        ]
        .boxed()
    }

    /// A channel before the softplus (T7): pre-activations `$z$` from [`preactivation`]
    /// (crossing the softplus threshold at 20), `$A = -e^s$`, `$s\in[-2, 2.5]$`, `$B, C\in[-2,2]$`.
    pub fn preactivated<T: Real>(
        len: RangeInclusive<usize>,
        state: RangeInclusive<usize>,
    ) -> BoxedStrategy<crate::construct::approximation::Preactivated<T>> {
        (len, state)
            .prop_flat_map(|(l, n)| {
                (
                    proptest::collection::vec(preactivation(), l),
                    proptest::collection::vec(-2.0f64..2.5, n),
                    proptest::collection::vec(-2.0f64..2.0, l * n),
                    proptest::collection::vec(-2.0f64..2.0, l * n),
                )
                    .prop_map(|(z, s, b, c)| {
                        let f = |v: Vec<f64>| v.into_iter().map(T::from_f64).collect::<Vec<T>>();
                        crate::construct::approximation::Preactivated {
                            z: f(z),
                            a: s.into_iter().map(|v| -T::from_f64(v).exp()).collect(),
                            b: f(b),
                            c: f(c),
                        }
                    })
            })
            .boxed()
    }

    /// A lower-triangular rational matrix with small entries (any semiseparable rank).
    pub fn rational_lower_triangular(
        len: RangeInclusive<usize>,
    ) -> BoxedStrategy<crate::tensor::Matrix<Exact>> {
        len.prop_flat_map(|l| {
            exact_matrix(l, l, small_rational()).prop_map(move |mut m| {
                for i in 0..l {
                    for j in i + 1..l {
                        *m.get_mut(i, j) = ratio(0, 1);
                    }
                }
                m
            })
        })
        .boxed()
    }

    /// A lower-triangular rational `$L\times L$` matrix of semiseparable rank *exactly* `$r$`
    /// (`$r \in$` `rank`, `$L \in$` `len` with `$L \ge 2r - 1$`, the largest rank an `$L\times L$`
    /// matrix can have being `$\lceil L/2\rceil$`): the hidden attention of a channel with
    /// `$N = r$` and nonzero entries, of one of three kinds — nonzero `$\bar A$` (generator
    /// form), `$\bar A$` with zeros (resets), or a general time-varying realisation — kept only
    /// when its exact rank is `$r$`.
    ///
    /// # Examples
    /// A downstream property test (T5: the minimal realisation has exactly that many states):
    /// ```
    /// use hidden_attention::{construct::realise_minimal, semiseparable::semiseparable_rank_exact, strategies};
    /// use proptest::prelude::*;
    /// proptest!(ProptestConfig::with_cases(8), |(m in strategies::lower_triangular_with_rank(3..=6, 1..=2))| {
    ///     let r = semiseparable_rank_exact(&m).rank;
    ///     let realised = realise_minimal(&m).unwrap();
    ///     prop_assert_eq!(realised.state(), r);
    ///     prop_assert_eq!(realised.attention(), m);
    /// });
    /// ```
    pub fn lower_triangular_with_rank(
        len: RangeInclusive<usize>,
        rank: RangeInclusive<usize>,
    ) -> BoxedStrategy<crate::tensor::Matrix<Exact>> {
        let nonzero = || {
            (prop_oneof![-8i64..=-1, 1i64..=8], 1i64..=8)
                .prop_map(|(p, q)| ratio(p, q))
                .boxed()
        };
        (len, rank, 0u8..3)
            .prop_filter("L ≥ 2r − 1", |(l, r, _)| *l + 1 >= 2 * *r)
            .prop_flat_map(move |(l, r, kind)| {
                let a: BoxedStrategy<Exact> = match kind {
                    0 => nonzero(),
                    1 => prop_oneof![1 => Just(ratio(0, 1)), 3 => nonzero()].boxed(),
                    _ => nonzero(),
                };
                (
                    proptest::collection::vec(a, l * r * if kind == 2 { r } else { 1 }),
                    proptest::collection::vec(nonzero(), l * r),
                    proptest::collection::vec(nonzero(), l * r),
                )
                    .prop_map(move |(a, b, c)| {
                        let m = |v: Vec<Exact>| {
                            crate::tensor::Matrix::from_row_major(l, r, v).expect("L × r")
                        };
                        if kind == 2 {
                            let tv = crate::construct::TimeVaryingChannel {
                                a: a.chunks(r * r)
                                    .map(|ch| {
                                        crate::tensor::Matrix::from_row_major(r, r, ch.to_vec())
                                            .expect("r × r")
                                    })
                                    .collect(),
                                b: m(b),
                                c: m(c),
                            };
                            tv.attention()
                        } else {
                            let ch = Channel::new(l, r, a, b, c).expect("sizes");
                            crate::ssm::attention_matrix(&ch).expect("exact")
                        }
                    })
                    .prop_filter("exact semiseparable rank r", move |m| {
                        crate::semiseparable::semiseparable_rank_exact(m).rank == r
                    })
            })
            .boxed()
    }
}

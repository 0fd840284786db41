//! The fast kernels (`hidden_attention::fast`) against the exact path and the generic
//! float path, within the bounds (F1)–(F3) stated in `src/fast/mod.rs`.

use hidden_attention::fast::{
    self, entry_bound, entry_bound_f64, entry_bound_with, fast_exp, mamba_entry_bound, scan_bound,
    FastFloat, LayerParams, ScanParams, Selection,
};
use hidden_attention::scalar::{Exact, Field, Real};
use hidden_attention::ssm::{
    attention_matrix as generic_alpha, factored, scan, BRule, Channel, MambaChannel,
};
use hidden_attention::strategies::mamba_channel;
use hidden_attention::Error;
use proptest::prelude::*;

fn exact_alpha<T: Field>(ch: &Channel<T>) -> (Channel<Exact>, Vec<Exact>) {
    let ex = ch.to_exact();
    let a = generic_alpha(&ex).unwrap();
    let v = a.data().to_vec();
    (ex, v)
}

/// The exact error $|g - w|$ of a float `g` against an exact `w` (∞ for a non-finite `g`).
fn exact_err<T: Field>(g: &T, w: &Exact) -> Option<Exact> {
    g.is_finite_val().then(|| (g.to_exact() - w).abs_val())
}

/// Whether the exact error is within the `f64` bound `b` (compared exactly).
fn err_within<T: Field>(g: &T, w: &Exact, b: f64) -> bool {
    match exact_err(g, w) {
        None => false,
        Some(_) if b == f64::INFINITY => true,
        Some(e) => e <= Exact::from_f64(b),
    }
}

/// `|got - want| ≤ bound` entrywise, the error computed and compared **exactly** (no
/// rounding of the exact value or of the difference can hide an error), with the first
/// violation in the message.
fn within<T: Field>(
    got: &[T],
    want: &[Exact],
    bound: &[f64],
    what: &str,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(got.len(), want.len());
    for (p, ((g, w), b)) in got.iter().zip(want).zip(bound).enumerate() {
        prop_assert!(
            err_within(g, w, *b),
            "{what}: entry {p}: got {:e}, want {:e}, error {:e} > bound {b:e}",
            Field::to_f64(g),
            Field::to_f64(w),
            exact_err(g, w).map_or(f64::INFINITY, |e| Field::to_f64(&e))
        );
    }
    Ok(())
}

fn check_chunked_exact<T: FastFloat>(
    m: &MambaChannel<T>,
    chunk: usize,
) -> Result<(), TestCaseError> {
    let ch = m.discretize(BRule::Euler).unwrap();
    let l = ch.len();
    let (ex, want) = exact_alpha(&ch);
    let mut out = vec![T::zero(); l * l];
    fast::hidden_attention_into(&ch, chunk, &mut out).unwrap();
    within(&out, &want, &entry_bound::<T>(&ex), "chunked products")?;
    fast::mamba_hidden_attention_into(m, chunk, &mut out).unwrap();
    within(
        &out,
        &want,
        &mamba_entry_bound(m, &ch, chunk),
        "chunked cumsums",
    )?;
    // the vectorised discretisation: (F1) with 6 more units per step against libm's channel
    let fast_ch = fast::discretize(m).unwrap();
    fast::hidden_attention_into(&fast_ch, chunk, &mut out).unwrap();
    within(
        &out,
        &want,
        &entry_bound_with::<T>(&ex, 6),
        "fast discretisation",
    )?;
    // one row and a band: every entry within (F1)
    let bound = entry_bound::<T>(&ex);
    let i = l - 1;
    let row = fast::select(&ch, Selection::Row(i), chunk).unwrap();
    within(
        &row,
        &want[i * l..(i + 1) * l],
        &bound[i * l..(i + 1) * l],
        "row",
    )?;
    let k = chunk.min(l);
    let band = fast::select(&ch, Selection::Band(k), chunk).unwrap();
    for i in 0..l {
        for d in 0..k {
            let (g, w, b) = if d <= i {
                (
                    band[i * k + d],
                    want[i * l + i - d].clone(),
                    bound[i * l + i - d],
                )
            } else {
                (band[i * k + d], Exact::from_f64(0.0), 0.0)
            };
            within(&[g], &[w], &[b], "band")?;
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// (F1), (F2) in f64 against the exact path, every chunk size from 1 (all GEMM) up.
    #[test]
    fn chunked_f64_matches_exact(m in mamba_channel::<f64>(1..=40, 1..=4), chunk in 1usize..=12) {
        check_chunked_exact(&m, chunk)?;
    }

    /// (F1), (F2) in f32 against the exact path.
    #[test]
    fn chunked_f32_matches_exact(m in mamba_channel::<f32>(1..=40, 1..=4), chunk in 1usize..=12) {
        check_chunked_exact(&m, chunk)?;
    }

    /// (F3): the fast scan of every channel of a small batch against the exact scan.
    #[test]
    fn scan_matches_exact(
        batch in 1usize..=2, dim in 1usize..=19, len in 1usize..=24, state in 1usize..=5, seed in any::<u64>(),
    ) {
        check_scan::<f64>(batch, dim, len, state, seed)?;
        check_scan::<f32>(batch, dim, len, state, seed)?;
    }
}

/// Deterministic pseudo-random values in `[lo, hi)`.
fn values(seed: u64, n: usize, lo: f64, hi: f64) -> Vec<f64> {
    let mut s = seed ^ 0x9e37_79b9_7f4a_7c15;
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            lo + (hi - lo) * ((s >> 11) as f64 / (1u64 << 53) as f64)
        })
        .collect()
}

fn conv<T: FastFloat>(v: Vec<f64>) -> Vec<T> {
    v.into_iter().map(T::from_f64).collect()
}

fn check_scan<T: FastFloat>(
    batch: usize,
    dim: usize,
    len: usize,
    state: usize,
    seed: u64,
) -> Result<(), TestCaseError> {
    let u: Vec<T> = conv(values(seed, batch * dim * len, -2.0, 2.0));
    let delta: Vec<T> = conv(values(seed + 1, batch * dim * len, -6.0, 3.0))
        .into_iter()
        .map(|x: T| x.softplus())
        .collect();
    let a: Vec<T> = conv(values(seed + 2, dim * state, -2.0, 2.5))
        .into_iter()
        .map(|x: T| -x.exp())
        .collect();
    let b: Vec<T> = conv(values(seed + 3, batch * state * len, -2.0, 2.0));
    let c: Vec<T> = conv(values(seed + 4, batch * state * len, -2.0, 2.0));
    let p = ScanParams {
        batch,
        dim,
        len,
        state,
        u: &u,
        delta: &delta,
        a: &a,
        b: &b,
        c: &c,
    };
    let y = fast::scan(&p).unwrap();
    for bi in 0..batch {
        let bt: Vec<T> = (0..len * state)
            .map(|q| b[bi * state * len + (q % state) * len + q / state])
            .collect();
        let ct: Vec<T> = (0..len * state)
            .map(|q| c[bi * state * len + (q % state) * len + q / state])
            .collect();
        for d in 0..dim {
            let off = (bi * dim + d) * len;
            let m = MambaChannel {
                delta: delta[off..off + len].to_vec(),
                a: a[d * state..(d + 1) * state].to_vec(),
                b: bt.clone(),
                c: ct.clone(),
            };
            let ex = m.discretize(BRule::Euler).unwrap().to_exact();
            let x: Vec<Exact> = u[off..off + len].iter().map(|v| v.to_exact()).collect();
            let want = scan(&ex, &x).unwrap().y;
            within(
                &y[off..off + len],
                &want,
                &scan_bound::<T>(&m, &ex, &x),
                "fast scan",
            )?;
        }
    }
    Ok(())
}

/// A long Mamba-like channel (deterministic) where the naive factored form breaks.
fn long_channel<T: FastFloat>(len: usize, state: usize, seed: u64) -> MambaChannel<T> {
    MambaChannel {
        delta: conv::<T>(values(seed, len, -6.0, 3.0))
            .into_iter()
            .map(|x| x.softplus())
            .collect(),
        a: conv::<T>(values(seed + 1, state, -2.0, 2.5))
            .into_iter()
            .map(|x| -x.exp())
            .collect(),
        b: conv(values(seed + 2, len * state, -2.0, 2.0)),
        c: conv(values(seed + 3, len * state, -2.0, 2.0)),
    }
}

/// Long sequences (L = 300 … 1000): the chunked forms against the generic f64 loop, within
/// the sum of both bounds (each against the exact path); the naive factored form refuses.
fn check_long<T: FastFloat>(len: usize, state: usize, chunk: usize, seed: u64) {
    let m = long_channel::<T>(len, state, seed);
    let ch = m.discretize(BRule::Euler).unwrap();
    assert!(
        matches!(factored(&ch), Err(Error::FactorRange { .. })),
        "the naive factored form should leave the float range at L = {len}"
    );
    let ch64 = ch.map(Field::to_f64);
    let generic = generic_alpha(&ch64).unwrap();
    let b_generic = entry_bound_f64(&ch64);
    let b_ours = entry_bound_f64(&ch);
    let mut out = vec![T::zero(); len * len];
    fast::hidden_attention_into(&ch, chunk, &mut out).unwrap();
    let mut worst: f64 = 0.0;
    for p in 0..len * len {
        let w = generic.data()[p].to_exact();
        let err = exact_err(&out[p], &w).map_or(f64::INFINITY, |e| Field::to_f64(&e));
        assert!(
            err_within(&out[p], &w, b_generic[p] + b_ours[p]),
            "products, entry {p}: error {err:e}"
        );
        worst = worst.max(err / (b_generic[p] + b_ours[p]));
    }
    let b_mamba = mamba_entry_bound(&m, &ch, chunk);
    fast::mamba_hidden_attention_into(&m, chunk, &mut out).unwrap();
    for p in 0..len * len {
        let w = generic.data()[p].to_exact();
        let err = exact_err(&out[p], &w).map_or(f64::INFINITY, |e| Field::to_f64(&e));
        assert!(
            err_within(&out[p], &w, b_generic[p] + b_mamba[p]),
            "cumsums, entry {p}: error {err:e}"
        );
    }
    eprintln!("{} L = {len}: worst error / bound = {worst:.2e}", T::NAME);
}

#[test]
fn long_sequences_f64() {
    check_long::<f64>(300, 8, 64, 1);
    check_long::<f64>(1000, 16, 64, 2);
}

#[test]
fn long_sequences_f32() {
    check_long::<f32>(517, 16, 48, 3);
    check_long::<f32>(1000, 16, 64, 4);
}

/// The generic f64 path against the exact path on a moderately long channel: (F1) holds
/// for it too, which `check_long` relies on.
#[test]
fn generic_f64_within_f1_against_exact() {
    let m = long_channel::<f64>(72, 3, 5);
    let ch = m.discretize(BRule::Euler).unwrap();
    let (ex, want) = exact_alpha(&ch);
    let got = generic_alpha(&ch).unwrap();
    let bound = entry_bound::<f64>(&ex);
    let bound64 = entry_bound_f64(&ch);
    for p in 0..want.len() {
        assert!(err_within(&got.data()[p], &want[p], bound[p]));
        assert!(bound[p] <= bound64[p] * (1.0 + 1e-9));
    }
}

#[test]
fn fast_exp_within_4u() {
    for &(lo, hi, n) in &[
        (-87.0f64, 0.0, 400_001usize),
        (-1.0, 1.0, 100_001),
        (0.0, 88.0, 100_001),
    ] {
        for q in 0..n {
            let x = lo + (hi - lo) * q as f64 / (n - 1) as f64;
            let x32 = x as f32;
            let want = (x32 as f64).exp();
            for got in [fast_exp::<f32, false>(x32), fast_exp::<f32, true>(x32)] {
                let got = got as f64;
                assert!(
                    (got - want).abs() <= 4.0 * f32::unit_roundoff() * want,
                    "f32 exp({x32}) = {got}, want {want}"
                );
            }
            let x64 = x * 8.0;
            if x64 > -708.0 && x64 < 709.0 {
                // libm's exp is within one ulp (2u) of e^x: within 2u of libm's leaves ours within 4u
                let want = x64.exp();
                for got in [fast_exp::<f64, false>(x64), fast_exp::<f64, true>(x64)] {
                    assert!(
                        (got - want).abs() <= 2.0 * f64::unit_roundoff() * want,
                        "f64 exp({x64}) = {got}, want {want}"
                    );
                }
            }
        }
    }
    assert_eq!(fast_exp::<f32, false>(-1000.0), 0.0);
    assert_eq!(fast_exp::<f64, true>(-1.0e4), 0.0);
    assert_eq!(fast_exp::<f32, true>(0.0), 1.0);
}

fn layer_params(
    dim: usize,
    len: usize,
    state: usize,
    seed: u64,
) -> (Vec<f32>, Vec<f32>, Vec<f32>, Vec<f32>) {
    let delta = conv::<f32>(values(seed, dim * len, -6.0, 3.0))
        .into_iter()
        .map(|x| x.softplus())
        .collect();
    let a = conv::<f32>(values(seed + 1, dim * state, -2.0, 2.5))
        .into_iter()
        .map(|x| -x.exp())
        .collect();
    (
        delta,
        a,
        conv(values(seed + 2, state * len, -2.0, 2.0)),
        conv(values(seed + 3, state * len, -2.0, 2.0)),
    )
}

/// The layer extraction is bit-identical, channel by channel, to the single-channel kernels,
/// and the `.npy` stream holds the same numbers.
#[test]
fn layer_matches_single_channel_and_npy() {
    let (dim, len, state) = (7, 45, 4);
    let (delta, a, b, c) = layer_params(dim, len, state, 9);
    let p = LayerParams {
        dim,
        len,
        state,
        delta: &delta,
        a: &a,
        b: &b,
        c: &c,
    };
    let dir = std::env::temp_dir().join(format!("hattn-fast-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for sel in [
        Selection::Full,
        Selection::Row(44),
        Selection::Row(0),
        Selection::Band(5),
    ] {
        let per = sel.output_len(len);
        let mut out = vec![0.0f32; dim * per];
        fast::layer_into(&p, sel, 16, &mut out).unwrap();
        for d in 0..dim {
            let ch = fast::discretize(&p.channel(d)).unwrap();
            let single = fast::select(&ch, sel, 16).unwrap();
            assert_eq!(
                &out[d * per..(d + 1) * per],
                &single[..],
                "{sel:?} channel {d}"
            );
        }
        let path = dir.join("layer.npy");
        fast::layer_to_npy(&p, sel, 16, 3, &path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
        let hlen = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        assert_eq!((10 + hlen) % 64, 0);
        let header = std::str::from_utf8(&bytes[10..10 + hlen]).unwrap();
        let shape: Vec<String> = sel.shape(len).iter().map(|d| d.to_string()).collect();
        assert!(header.contains("'descr': '<f4'"), "{header}");
        assert!(
            header.contains(&format!("({dim}, {}", shape.join(", "))),
            "{header}"
        );
        let data: Vec<f32> = bytes[10 + hlen..]
            .chunks_exact(4)
            .map(|q| f32::from_le_bytes([q[0], q[1], q[2], q[3]]))
            .collect();
        assert_eq!(data, out);
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// Bad requests give typed errors.
#[test]
fn bad_requests_are_typed_errors() {
    let m = long_channel::<f64>(10, 2, 11);
    let ch = m.discretize(BRule::Euler).unwrap();
    let invalid = |r: Result<(), Error>, name: &str| match r {
        Err(Error::InvalidArgument { name: n, .. }) => assert_eq!(n, name),
        other => panic!("expected InvalidArgument({name}), got {other:?}"),
    };
    let mut full = vec![0.0; 100];
    let mut row = vec![0.0; 10];
    invalid(
        fast::select_into(&ch, Selection::Row(10), 8, &mut row),
        "row",
    );
    invalid(
        fast::select_into(&ch, Selection::Band(0), 8, &mut row),
        "band",
    );
    invalid(fast::hidden_attention_into(&ch, 0, &mut full), "chunk");
    invalid(fast::mamba_hidden_attention_into(&m, 0, &mut full), "chunk");
    invalid(
        fast::select_into(&ch, Selection::Row(3), 0, &mut row),
        "chunk",
    );
    assert!(matches!(
        fast::hidden_attention_into(&ch, 4, &mut row),
        Err(Error::DataLength {
            expected: 100,
            found: 10,
            ..
        })
    ));
    assert!(matches!(
        fast::select_into(&ch, Selection::Row(3), 4, &mut full),
        Err(Error::DataLength {
            expected: 10,
            found: 100,
            ..
        })
    ));
    let (delta, a, b, c) = layer_params(3, 10, 2, 1);
    let p = LayerParams {
        dim: 3,
        len: 10,
        state: 2,
        delta: &delta,
        a: &a,
        b: &b,
        c: &c,
    };
    let mut out = vec![0.0f32; 299];
    assert!(matches!(
        fast::layer_into(&p, Selection::Full, 4, &mut out),
        Err(Error::DataLength { .. })
    ));
    let mut out = vec![0.0f32; 30];
    invalid(fast::layer_into(&p, Selection::Row(10), 4, &mut out), "row");
    invalid(
        fast::layer_into(&p, Selection::Row(1), 0, &mut out),
        "chunk",
    );
    let path = std::env::temp_dir().join("hattn-never-written.npy");
    invalid(
        fast::layer_to_npy(&p, Selection::Row(1), 4, 0, &path),
        "group",
    );
    let bad = LayerParams { b: &b[1..], ..p };
    assert!(matches!(
        fast::layer_into(&bad, Selection::Row(1), 4, &mut out),
        Err(Error::DataLength { .. })
    ));
    let u = vec![0.0f32; 30];
    let sp = ScanParams {
        batch: 1,
        dim: 3,
        len: 10,
        state: 2,
        u: &u,
        delta: &delta,
        a: &a,
        b: &b,
        c: &c,
    };
    let mut y = vec![0.0f32; 29];
    assert!(matches!(
        fast::scan_into(&sp, &mut y),
        Err(Error::DataLength { .. })
    ));
    // Ā > 1 overflows: reported, not returned as garbage
    let grow = Channel::new(400, 1, vec![10.0f64; 400], vec![1.0; 400], vec![1.0; 400]).unwrap();
    assert!(matches!(
        fast::attention_matrix(&grow, 16),
        Err(Error::NonFiniteResult { .. })
    ));
}

/// Ā entries of 0 and negative Ā (not Mamba, but channels all the same): the product form
/// has no division, so it is exact-path-accurate there too.
#[test]
fn zero_and_negative_transitions() {
    let l = 23;
    let abar: Vec<f64> = (0..l * 2)
        .map(|q| [0.5, 0.0, -0.75, 1.0, -1.0][q % 5])
        .collect();
    let ch = Channel::new(
        l,
        2,
        abar,
        values(1, 2 * l, -2.0, 2.0),
        values(2, 2 * l, -2.0, 2.0),
    )
    .unwrap();
    let (ex, want) = exact_alpha(&ch);
    let bound = entry_bound::<f64>(&ex);
    for chunk in [1, 3, 8, 64] {
        let got = fast::attention_matrix(&ch, chunk).unwrap();
        for p in 0..l * l {
            assert!(
                err_within(&got.data()[p], &want[p], bound[p]),
                "chunk {chunk} entry {p}"
            );
        }
    }
}

/// Mamba's state size N = 16 takes the scan's register-resident path: (F3) there too.
#[test]
fn scan_state_16_matches_exact() {
    for seed in [21u64, 22] {
        check_scan::<f64>(1, 17, 40, 16, seed).unwrap();
        check_scan::<f32>(2, 9, 33, 16, seed).unwrap();
    }
}

/// NaN/∞ in the large scan inputs (checked while the kernel reads them) are reported as
/// typed errors naming the tensor and index, as before any computation.
#[test]
fn scan_non_finite_inputs_are_typed_errors() {
    let (dim, len, state) = (19, 12, 16);
    let (delta, a, b, c) = layer_params(dim, len, state, 31);
    let u = vec![0.5f32; dim * len];
    for (which, at) in [("u", 5usize), ("delta", dim * len - 1)] {
        let (mut u2, mut d2) = (u.clone(), delta.clone());
        if which == "u" {
            u2[at] = f32::NAN;
        } else {
            d2[at] = f32::INFINITY;
        }
        let p = ScanParams {
            batch: 1,
            dim,
            len,
            state,
            u: &u2,
            delta: &d2,
            a: &a,
            b: &b,
            c: &c,
        };
        match fast::scan(&p) {
            Err(Error::NonFinite { tensor, index, .. }) => {
                assert_eq!(tensor, which);
                assert_eq!(index, vec![0, at / len, at % len]);
            }
            other => panic!("expected NonFinite({which}), got {other:?}"),
        }
    }
    let p = ScanParams {
        batch: 1,
        dim,
        len,
        state: 0,
        u: &u,
        delta: &delta,
        a: &a,
        b: &b,
        c: &c,
    };
    assert!(matches!(
        fast::scan(&p),
        Err(Error::InvalidArgument { name, .. }) if name == "state"
    ));
}

/// A steeply decaying channel (|ΔA| up to 4|A_lo| per step) over many chunks: most of α̃ lies
/// below the normal range, where the kernel flushes products and skips negligible states
/// of off-diagonal blocks. Every entry stays within (F1) against the exact path, and the
/// case really exercises that regime (many exact entries are nonzero but below λ).
fn check_steep<T: FastFloat>(len: usize, state: usize, chunk: usize, a_lo: f64, seed: u64) {
    let m = MambaChannel {
        delta: conv::<T>(values(seed, len, 0.5, 4.0)),
        a: conv::<T>(values(seed + 1, state, a_lo, a_lo / 4.0)),
        b: conv(values(seed + 2, len * state, -2.0, 2.0)),
        c: conv(values(seed + 3, len * state, -2.0, 2.0)),
    };
    let ch = m.discretize(BRule::Euler).unwrap();
    let (ex, want) = exact_alpha(&ch);
    let zero = Exact::from_f64(0.0);
    let tiny = generic_alpha(&ex)
        .unwrap()
        .data()
        .iter()
        .filter(|w| **w != zero && Field::to_f64(*w).abs() < T::min_normal())
        .count();
    assert!(
        tiny > len * len / 8,
        "only {tiny} exact entries below the normal range"
    );
    let bound = entry_bound::<T>(&ex);
    let mut out = vec![T::zero(); len * len];
    fast::hidden_attention_into(&ch, chunk, &mut out).unwrap();
    within(&out, &want, &bound, "steep decay, products").unwrap();
    fast::mamba_hidden_attention_into(&m, chunk, &mut out).unwrap();
    within(
        &out,
        &want,
        &mamba_entry_bound(&m, &ch, chunk),
        "steep decay, cumsums",
    )
    .unwrap();
}

#[test]
fn steep_decay_within_bounds() {
    check_steep::<f32>(72, 3, 8, -20.0, 41);
    check_steep::<f64>(64, 2, 8, -160.0, 43);
}

/// The bounds are not vacuous: relative to the magnitude $M_{ij}$ they are of the order of
/// the unit roundoff, and an output moved by a few bounds at its largest entry is rejected.
#[test]
fn bounds_are_not_vacuous() {
    let m = long_channel::<f32>(40, 4, 51);
    let ch = m.discretize(BRule::Euler).unwrap();
    let (ex, want) = exact_alpha(&ch);
    let bound = entry_bound::<f32>(&ex);
    let mag = generic_alpha(&ex.map(|v| v.abs_val())).unwrap();
    let eta_scale = 1e-20; // η is below 1e-32 here: it cannot hide in the comparison
    let mut checked = 0;
    for (p, (b, m)) in bound.iter().zip(mag.data()).enumerate() {
        let mp = Field::to_f64(m);
        if mp > eta_scale {
            // γ_{L+N+1} · (1 + slack): about 45 u for L = 40, N = 4
            assert!(*b <= 50.0 * f32::unit_roundoff() * mp, "entry {p}");
            checked += 1;
        }
    }
    assert!(checked > 100);
    let mut out = vec![0.0f32; 40 * 40];
    fast::hidden_attention_into(&ch, 8, &mut out).unwrap();
    within(&out, &want, &bound, "unperturbed").unwrap();
    let p = (0..want.len())
        .max_by(|&x, &y| {
            Field::to_f64(&want[x])
                .abs()
                .total_cmp(&Field::to_f64(&want[y]).abs())
        })
        .unwrap();
    let moved = out[p] as f64 + 4.0 * bound[p];
    out[p] = moved as f32;
    assert!(within(&out, &want, &bound, "perturbed").is_err());
}

/// A zero chunk and zero group in the streaming path are typed errors too.
#[test]
fn npy_stream_bad_chunk_is_typed_error() {
    let (delta, a, b, c) = layer_params(2, 6, 2, 3);
    let p = LayerParams {
        dim: 2,
        len: 6,
        state: 2,
        delta: &delta,
        a: &a,
        b: &b,
        c: &c,
    };
    let path = std::env::temp_dir().join("hattn-never-written-chunk.npy");
    assert!(matches!(
        fast::layer_to_npy(&p, Selection::Full, 0, 2, &path),
        Err(Error::InvalidArgument { name, .. }) if name == "chunk"
    ));
    assert!(matches!(
        fast::layer_to_npy(&p, Selection::Row(6), 4, 2, &path),
        Err(Error::InvalidArgument { name, .. }) if name == "row"
    ));
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 48,
        failure_persistence: None,
        rng_seed: proptest::test_runner::RngSeed::Fixed(11),
        ..ProptestConfig::default()
    })]

    /// (F1) on the wide tier (magnitudes over the whole exponent range, subnormals
    /// included; transitions 0, ±1 and subnormal): every chunk size, f64 and f32.
    #[test]
    fn chunked_within_f1_wide_f64((ch, _x) in hidden_attention::strategies::wide_channel_with_input::<f64>(1..=24, 1..=4), chunk in 1usize..=9) {
        let (ex, want) = exact_alpha(&ch);
        let got = fast::attention_matrix(&ch, chunk).unwrap();
        within(got.data(), &want, &entry_bound::<f64>(&ex), "wide f64")?;
    }

    #[test]
    fn chunked_within_f1_wide_f32((ch, _x) in hidden_attention::strategies::wide_channel_with_input::<f32>(1..=24, 1..=4), chunk in 1usize..=9) {
        let (ex, want) = exact_alpha(&ch);
        let got = fast::attention_matrix(&ch, chunk).unwrap();
        within(got.data(), &want, &entry_bound::<f32>(&ex), "wide f32")?;
    }

    /// (F3) where $\Delta u B$ falls in the subnormal range: inputs and $B$ near the square
    /// root of the smallest subnormal, $C$ up to $2^{100}$.
    #[test]
    fn fast_scan_within_f3_subnormal_products(
        len in 1usize..=12,
        e_u in -560i32..=-520,
        e_b in -560i32..=-520,
        e_c in 0i32..=100,
        seed in 0u64..1000,
    ) {
        let state = 2;
        let scale = |e: i32| 2f64.powi(e / 2) * 2f64.powi(e - e / 2);
        let u: Vec<f64> = values(seed, len, -2.0, 2.0).into_iter().map(|v| v * scale(e_u)).collect();
        let delta: Vec<f64> = values(seed + 1, len, 0.1, 2.0);
        let a = values(seed + 2, state, -2.0, -0.1);
        let b: Vec<f64> = values(seed + 3, state * len, -2.0, 2.0).into_iter().map(|v| v * scale(e_b)).collect();
        let c: Vec<f64> = values(seed + 4, state * len, -2.0, 2.0).into_iter().map(|v| v * scale(e_c)).collect();
        let p = ScanParams { batch: 1, dim: 1, len, state, u: &u, delta: &delta, a: &a, b: &b, c: &c };
        let y = fast::scan(&p).unwrap();
        let bt: Vec<f64> = (0..len * state).map(|q| b[(q % state) * len + q / state]).collect();
        let ct: Vec<f64> = (0..len * state).map(|q| c[(q % state) * len + q / state]).collect();
        let m = MambaChannel { delta, a, b: bt, c: ct };
        let ex = m.discretize(BRule::Euler).unwrap().to_exact();
        let x: Vec<Exact> = u.iter().map(|v| v.to_exact()).collect();
        let want = scan(&ex, &x).unwrap().y;
        within(&y, &want, &scan_bound::<f64>(&m, &ex, &x), "fast scan, subnormal products")?;
    }
}

/// The vectorised discretisation refuses Δ ≤ 0 (−0.0 included) like `MambaChannel::discretize`.
#[test]
fn fast_discretize_refuses_non_positive_delta() {
    for bad in [0.0f64, -0.0, -1.5] {
        let m = MambaChannel {
            delta: vec![0.5, bad, 1.0],
            a: vec![-1.0],
            b: vec![1.0; 3],
            c: vec![1.0; 3],
        };
        match fast::discretize(&m) {
            Err(Error::NonPositiveDelta { step: 1, .. }) => {}
            r => panic!("Δ = {bad}: expected NonPositiveDelta at step 1, got {r:?}"),
        }
        assert!(matches!(
            m.discretize(BRule::Euler),
            Err(Error::NonPositiveDelta { step: 1, .. })
        ));
    }
}

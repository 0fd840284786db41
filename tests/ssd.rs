//! The SSD (Mamba-2) head and layer: golden cases of `mamba_ssm`'s `ssd_minimal_discrete`,
//! T8 (unrolling) and T13 (chunked = scan) as property tests, and the layer's semantics.

use std::path::PathBuf;

use hidden_attention::family::golden::{self, FamilyKind};
use hidden_attention::family::ssd::{
    attention_matrix, chunked, scan, ssd_layer, SsdHead, SsdLayerInput,
};
use hidden_attention::golden::{Tolerance, F32_TOLERANCE, F64_TOLERANCE};
use hidden_attention::scalar::{ratio, Exact, Real};
use hidden_attention::strategies;
use hidden_attention::tensor::Tensor;
use hidden_attention::theorems::{t13, t8};
use hidden_attention::Error;
use proptest::prelude::*;

fn case_files() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/golden/family");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("ssd_"))
        .collect();
    v.sort();
    v
}

/// Both golden cases pass in f64 within 1e-12 relative: Y and final_state through the
/// chunked algorithm with the case's block_len and through the scan, α̃, and α̃ X = Y.
#[test]
fn golden_ssd_cases_f64() {
    let files = case_files();
    assert_eq!(files.len(), 2, "{files:?}");
    let mut block_lens = vec![];
    for f in &files {
        let case = golden::load(f).unwrap();
        assert_eq!(case.kind, FamilyKind::Ssd);
        block_lens.push(case.params["block_len"].as_u64().unwrap());
        let r = golden::run::<f64>(&case, F64_TOLERANCE).unwrap();
        assert_eq!(r.tensors.len(), 6);
        for t in &r.tensors {
            assert!(t.pass && t.max_rel <= 1e-12, "{}: {t:?}", case.name);
            assert!(t.compared > 0);
            eprintln!(
                "{} {}: max abs {:e}, max rel {:e}",
                case.name, t.what, t.max_abs, t.max_rel
            );
        }
        assert!(r.pass);
        // f32 within mamba_ssm's f32 tolerances
        let r32 = golden::run::<f32>(&case, F32_TOLERANCE).unwrap();
        assert!(r32.pass, "{r32:?}");
        // chunk sizes that do not divide L (9 or 16) reproduce the same golden Y (T13)
        let mut other = case.clone();
        for q in [2u64, 3, 5, 7, 100] {
            other.params.insert("block_len".into(), q.into());
            let r = golden::run::<f64>(&other, F64_TOLERANCE).unwrap();
            assert!(r.pass, "block_len {q}: {r:?}");
        }
    }
    // the cases' own chunk sizes (1 of L = 9, 4 of L = 16) both divide L
    block_lens.sort();
    assert_eq!(block_lens, vec![1, 4]);
}

/// The golden comparison can fail: a perturbed expected value or a too tight tolerance
/// is reported as a failure of the tensor concerned.
#[test]
fn golden_comparison_detects_a_wrong_value() {
    let f = &case_files()[0];
    let mut case = golden::load(f).unwrap();
    let y = case.expected.get_mut("attention").unwrap();
    y.data_mut()[0] += 1e-9;
    let r = golden::run::<f64>(&case, F64_TOLERANCE).unwrap();
    assert!(!r.pass);
    let failing: Vec<&str> = r
        .tensors
        .iter()
        .filter(|t| !t.pass)
        .map(|t| t.what.as_str())
        .collect();
    assert_eq!(failing, ["attention (α̃)"]);
    let tight = Tolerance {
        rtol: 0.0,
        atol: 0.0,
    };
    let case = golden::load(f).unwrap();
    assert!(!golden::run::<f32>(&case, tight).unwrap().pass);
}

/// Bad case files are typed errors naming the field.
#[test]
fn golden_bad_files_name_the_field() {
    let text = std::fs::read_to_string(&case_files()[0]).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let p = std::path::Path::new("case.json");
    let mut w = v.clone();
    w["kind"] = "gla_v9".into();
    match golden::parse(p, &w.to_string()) {
        Err(Error::CaseFile { field, .. }) => assert_eq!(field, "kind"),
        r => panic!("{r:?}"),
    }
    let mut w = v.clone();
    w["params"]["block_len"] = 0.into();
    match golden::parse(p, &w.to_string()) {
        Err(Error::CaseFile { field, .. }) => assert_eq!(field, "params.block_len"),
        r => panic!("{r:?}"),
    }
    v["inputs"]["C"]["shape"][3] = 99.into();
    match golden::parse(p, &v.to_string()) {
        Err(Error::CaseFile { field, .. }) => assert_eq!(field, "inputs.C"),
        r => panic!("{r:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// T8 exact: scan = α̃ x and α̃ is the formula, on rational heads with a ∋ 0, 1 and N ≥ L/2.
    #[test]
    fn t8_exact(case in strategies::rational_ssd_head_with_input(1..=12, 1..=8)) {
        prop_assert_eq!(t8::check_exact(&case), Ok(None));
    }

    /// T13 exact: chunked = scan for every chunk size drawn (1..=L+2).
    #[test]
    fn t13_exact(case in strategies::rational_ssd_head_with_chunk(1..=12, 1..=8)) {
        prop_assert_eq!(t13::check_exact(&case), Ok(None));
    }

    /// T8 and T13 in f64 and f32 within the exactly evaluated bound, Mamba-2-like and wide.
    #[test]
    fn t8_t13_float(
        m64 in strategies::mamba2_head_with_input::<f64>(1..=24, 1..=8),
        m32 in strategies::mamba2_head_with_input::<f32>(1..=24, 1..=8),
        w64 in strategies::wide_ssd_head_with_input::<f64>(1..=8, 1..=3),
        w32 in strategies::wide_ssd_head_with_input::<f32>(1..=8, 1..=3),
    ) {
        prop_assert!(t8::check_float(&m64).is_ok());
        prop_assert!(t8::check_float(&m32).is_ok());
        prop_assert!(t8::check_float(&w64).is_ok());
        prop_assert!(t8::check_float(&w32).is_ok());
        prop_assert!(t13::check_float(&m64).is_ok());
        prop_assert!(t13::check_float(&w32).is_ok());
    }

    /// The layer: exact chunked = scan = α̃x + Dx on the lifted layer, float within bound.
    #[test]
    fn t8_layer(input in strategies::ssd_layer_input::<f64>(1..=8, 1..=2, 1..=2, 1..=3, 1..=4)) {
        let r = t8::check_layer(&input);
        prop_assert!(r.is_ok(), "{}", r.unwrap_err());
    }
}

/// Edges: L = 1; all a = 0 (α̃ diagonal); all a = 1 (α̃ = tril(C B̄ᵀ)).
#[test]
fn edges_l1_and_a_zero_one() {
    let h = SsdHead::new(
        1,
        2,
        vec![ratio(0, 1)],
        vec![ratio(1, 2), ratio(3, 1)],
        vec![ratio(2, 1), ratio(-1, 1)],
    )
    .unwrap();
    let x = [ratio(5, 1)];
    assert_eq!(
        scan(&h, &x).unwrap().y,
        vec![ratio(5, 1) * (ratio(1, 1) - ratio(3, 1))]
    );
    for q in 1..=3 {
        assert_eq!(chunked(&h, &x, q).unwrap(), scan(&h, &x).unwrap());
    }
    let l = 4;
    let b: Vec<Exact> = (0..l).map(|i| ratio(i as i64 + 1, 2)).collect();
    let c: Vec<Exact> = (0..l).map(|i| ratio(3 - i as i64, 1)).collect();
    let zero = SsdHead::new(l, 1, vec![ratio(0, 1); l], b.clone(), c.clone()).unwrap();
    let one = SsdHead::new(l, 1, vec![ratio(1, 1); l], b.clone(), c.clone()).unwrap();
    let (az, a1) = (
        attention_matrix(&zero).unwrap(),
        attention_matrix(&one).unwrap(),
    );
    for (t, ct) in c.iter().enumerate() {
        for (s, bs) in b.iter().enumerate() {
            let g = ct.clone() * bs;
            let z = ratio(0, 1);
            assert_eq!(*az.get(t, s), if s == t { g.clone() } else { z.clone() });
            assert_eq!(*a1.get(t, s), if s <= t { g } else { z });
        }
    }
}

fn t<T: Clone>(name: &str, shape: Vec<usize>, v: Vec<T>) -> Tensor<T> {
    Tensor::new(name, shape, v).unwrap()
}

/// A small layer with two groups, four heads, head dim 2, batch 1.
fn small_layer() -> SsdLayerInput<f64> {
    let (bt, l, h, p, g, n) = (1, 3, 4, 2, 2, 2);
    let f = |k: usize, s: f64| {
        (0..k)
            .map(|i| ((i as f64 + 1.0) * s).sin())
            .collect::<Vec<f64>>()
    };
    SsdLayerInput {
        x: t("x", vec![bt, l, h, p], f(bt * l * h * p, 0.7)),
        dt: t("dt", vec![bt, l, h], f(bt * l * h, 1.3)),
        a: t("A", vec![h], vec![-0.5, -1.0, -2.0, -0.25]),
        b: t("B", vec![bt, l, g, n], f(bt * l * g * n, 0.9)),
        c: t("C", vec![bt, l, g, n], f(bt * l * g * n, 1.1)),
        d: Some(t("D", vec![h], vec![0.5, -1.0, 2.0, 0.0])),
        dt_bias: Some(t("dt_bias", vec![h], vec![0.1, -0.2, 0.3, 0.0])),
        dt_softplus: true,
        dt_limit: (0.0, f64::INFINITY),
        chunk: 2,
    }
}

/// The layer against an independent evaluation: Δ = clamp(softplus(dt + bias)), head h
/// reads group h / (H/G), y = α̃ x + D x with α̃ from the formula with exponentials.
#[test]
fn layer_matches_independent_formula() {
    for (limit, dkind) in [((0.0, f64::INFINITY), 0), ((0.4, 0.9), 1)] {
        let mut input = small_layer();
        input.dt_limit = limit;
        if dkind == 1 {
            input.d = Some(t(
                "D",
                vec![8],
                (0..8).map(|i| i as f64 / 4.0 - 1.0).collect(),
            ));
        }
        let out = ssd_layer(&input).unwrap();
        let (l, h, p, n) = (3, 4, 2, 2);
        let delta = |t: usize, hh: usize| {
            let v: f64 = input.dt.data()[t * h + hh] + input.dt_bias.as_ref().unwrap().data()[hh];
            let sp = if v > 20.0 { v } else { v.exp().ln_1p() };
            sp.max(limit.0).min(limit.1)
        };
        for hh in 0..h {
            let g = hh / 2;
            for tt in 0..l {
                for s in 0..=tt {
                    let cb: f64 = (0..n)
                        .map(|k| {
                            input.c.data()[(tt * 2 + g) * n + k]
                                * input.b.data()[(s * 2 + g) * n + k]
                        })
                        .sum();
                    let sum: f64 = (s + 1..=tt).map(|r| delta(r, hh)).sum();
                    let want = cb * (input.a.data()[hh] * sum).exp() * delta(s, hh);
                    let got = out.attention.data()[(hh * l + tt) * l + s];
                    assert!(
                        (got - want).abs() <= 1e-13 * (1.0 + want.abs()),
                        "α̃[{hh}][{tt}][{s}] = {got} vs {want}"
                    );
                }
                for pp in 0..p {
                    let xs = |s: usize| input.x.data()[(s * h + hh) * p + pp];
                    let d = match dkind {
                        0 => input.d.as_ref().unwrap().data()[hh],
                        _ => input.d.as_ref().unwrap().data()[hh * p + pp],
                    };
                    let want: f64 = (0..=tt)
                        .map(|s| out.attention.data()[(hh * l + tt) * l + s] * xs(s))
                        .sum::<f64>()
                        + d * xs(tt);
                    let got = out.y.data()[(tt * h + hh) * p + pp];
                    assert!(
                        (got - want).abs() <= 1e-13,
                        "y[{tt}][{hh}][{pp}] = {got} vs {want}"
                    );
                }
            }
        }
    }
}

/// The softplus threshold 20: dt = 20 goes through log(1+e^x), dt = 20.5 is the identity;
/// a finite time_step_limit clamps.
#[test]
fn layer_softplus_threshold_and_clamp() {
    let mut input = small_layer();
    input.dt_bias = None;
    input.dt.data_mut()[0] = 20.0;
    input.dt.data_mut()[1] = 20.5;
    let dims = input.validate().unwrap();
    let d0 = input.delta(dims, 0, 0).unwrap()[0];
    let d1 = input.delta(dims, 0, 1).unwrap()[0];
    assert_eq!(d0, 20.0f64.exp().ln_1p());
    assert_ne!(d0, 20.0);
    assert_eq!(d1, 20.5);
    input.dt_limit = (0.0, 3.0);
    assert_eq!(input.delta(dims, 0, 1).unwrap()[0], 3.0);
    input.dt.data_mut()[4] = -30.0;
    input.dt_limit = (0.125, 3.0);
    assert_eq!(input.delta(dims, 0, 0).unwrap()[1], 0.125);
}

/// Bad input is a typed error naming the one bad thing.
#[test]
fn layer_errors_are_typed() {
    let mut i = small_layer();
    i.chunk = 0;
    assert!(matches!(ssd_layer(&i), Err(Error::InvalidArgument { name, .. }) if name == "chunk"));
    let mut i = small_layer();
    i.b = t("B", vec![1, 3, 3, 2], vec![0.0; 18]);
    i.c = i.b.clone();
    assert!(matches!(
        ssd_layer(&i),
        Err(Error::GroupMismatch {
            groups: 3,
            dim: 4,
            ..
        })
    ));
    let mut i = small_layer();
    i.c = t("C", vec![1, 3, 2, 3], vec![0.0; 18]);
    assert!(matches!(ssd_layer(&i), Err(Error::Shape { tensor, dim: 3, .. }) if tensor == "C"));
    let mut i = small_layer();
    i.x.data_mut()[5] = f64::NAN;
    assert!(
        matches!(ssd_layer(&i), Err(Error::NonFinite { tensor, index, .. }) if tensor == "x" && index == vec![0, 0, 2, 1])
    );
    let mut i = small_layer();
    i.d = Some(t("D", vec![3], vec![0.0; 3]));
    assert!(matches!(ssd_layer(&i), Err(Error::Shape { tensor, .. }) if tensor == "D"));
    let mut i = small_layer();
    i.dt_limit = (1.0, 0.5);
    assert!(
        matches!(ssd_layer(&i), Err(Error::InvalidArgument { name, .. }) if name == "dt_limit")
    );
    let mut i = small_layer();
    i.dt_softplus = false;
    i.dt.data_mut().fill(0.5);
    i.dt.data_mut()[6] = -1.0; // step 1, head 2: Δ = −1 + 0.3 < 0
    assert!(matches!(
        ssd_layer(&i),
        Err(Error::NonPositiveDelta {
            channel: Some(2),
            step: 1,
            ..
        })
    ));
}

/// f32 and f64 layers agree with the exactly lifted f64 layer (the T8 layer check).
#[test]
fn layer_f32_and_exact() {
    let input = small_layer();
    assert!(t8::check_layer(&input).unwrap().unwrap() < 1e-14);
    let i32 = SsdLayerInput::<f32> {
        x: input.x.map(|&v| v as f32),
        dt: input.dt.map(|&v| v as f32),
        a: input.a.map(|&v| v as f32),
        b: input.b.map(|&v| v as f32),
        c: input.c.map(|&v| v as f32),
        d: input.d.as_ref().map(|d| d.map(|&v| v as f32)),
        dt_bias: input.dt_bias.as_ref().map(|d| d.map(|&v| v as f32)),
        dt_softplus: true,
        dt_limit: (0.0, f32::INFINITY),
        chunk: 2,
    };
    assert!(t8::check_layer(&i32).unwrap().unwrap() < 1e-5);
    let _ = <f32 as Real>::softplus(1.0);
}

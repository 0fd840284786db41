//! Mamba-2 and Falcon-Mamba checkpoints: the golden cases of `transformers` in f64 and f32,
//! a random Mamba-2 checkpoint with two groups, a batch of two, a finite `time_step_limit`
//! and a chunk size that does not divide L (forward against the exact SSD path, per-head
//! attention against the forward), and the model kind read from `config.json`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use hidden_attention::golden::{load_checkpoint_case, run_checkpoint_case};
use hidden_attention::model::mamba2::attention::{head_attention_reference, step_sizes};
use hidden_attention::model::mamba2::{head_attention, Mamba2Config, Mamba2Model};
use hidden_attention::model::{
    write_safetensors, Logits, MambaConfig, MambaModel, ModelKind, StoreDtype,
};
use hidden_attention::scalar::Field;
use hidden_attention::Error;

const MAMBA2: &str = "tests/data/golden/checkpoints/tiny-mamba2-a";
const FALCON: &str = "tests/data/golden/checkpoints/tiny-falcon-mamba-a";

fn golden(dir: &str, f32: bool) {
    let case = load_checkpoint_case(Path::new(dir)).unwrap();
    let tol = case.tolerance(f32);
    let parts = if f32 {
        run_checkpoint_case::<f32>(&case, tol).unwrap()
    } else {
        run_checkpoint_case::<f64>(&case, tol).unwrap()
    };
    assert_eq!(parts.len(), 3);
    for p in &parts {
        assert!(
            p.pass,
            "{dir} {} in {}: {p:?}",
            p.part,
            if f32 { "f32" } else { "f64" }
        );
        assert!(p.compared > 0);
        if !f32 {
            // the float64 references are met far inside the 1e-10 tolerance
            assert!(p.max_abs < 1e-12, "{dir} {}: {p:?}", p.part);
        }
    }
}

#[test]
fn golden_mamba2_f64_and_f32() {
    golden(MAMBA2, false);
    golden(MAMBA2, true);
}

#[test]
fn golden_falcon_mamba_f64_and_f32() {
    golden(FALCON, false);
    golden(FALCON, true);
}

#[test]
fn golden_checks_fail_on_a_wrong_model() {
    // Falcon-Mamba run without its inner norms is Mamba-1 on the same weights: the check
    // must see the difference.
    let case = load_checkpoint_case(Path::new(FALCON)).unwrap();
    let mut model = MambaModel::<f64>::load(Path::new(FALCON)).unwrap();
    for l in &mut model.layers {
        l.mixer.inner_norm_eps = None;
    }
    let got = model
        .forward(&case.input_ids[0], Logits::All)
        .unwrap()
        .logits;
    let worst = got
        .iter()
        .zip(case.logits.data())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f64, f64::max);
    assert!(worst > 1e-3, "{worst}");
}

#[test]
fn kind_comes_from_the_config_and_unknown_kinds_are_refused() {
    assert_eq!(
        ModelKind::of_checkpoint(Path::new(MAMBA2)).unwrap(),
        ModelKind::Mamba2
    );
    assert_eq!(
        ModelKind::of_checkpoint(Path::new(FALCON)).unwrap(),
        ModelKind::FalconMamba
    );
    // A Mamba-2 configuration is never run as Mamba-1.
    match MambaModel::<f64>::load(Path::new(MAMBA2)) {
        Err(Error::Config { key, .. }) => assert_eq!(key, "model_type"),
        other => panic!("{other:?}"),
    }
    match hidden_attention::model::mamba2::load::<f64>(Path::new(FALCON)) {
        Err(Error::Config { key, .. }) => assert_eq!(key, "model_type"),
        other => panic!("{other:?}"),
    }
    let text =
        r#"{"model_type": "llama", "hidden_size": 8, "num_hidden_layers": 1, "vocab_size": 4}"#;
    match MambaConfig::parse("config.json".as_ref(), text) {
        Err(Error::Config { key, reason, .. }) => {
            assert_eq!(key, "model_type");
            assert!(reason.contains("llama"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    let text = r#"{"architectures": ["MambaForCausalLM"], "model_type": "mamba2"}"#;
    match MambaConfig::parse("config.json".as_ref(), text) {
        Err(Error::Config { key, .. }) => assert_eq!(key, "architectures"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn bad_mamba2_configs_name_the_key() {
    let base = serde_json::json!({"model_type": "mamba2", "hidden_size": 8,
        "num_hidden_layers": 1, "vocab_size": 4, "num_heads": 4, "head_dim": 4,
        "n_groups": 2, "state_size": 3});
    assert!(Mamba2Config::parse("c".as_ref(), &base.to_string()).is_ok());
    for (key, value) in [
        ("n_groups", serde_json::json!(3)),
        ("num_heads", serde_json::json!(3)),
        ("time_step_limit", serde_json::json!([0.1])),
        ("time_step_limit", serde_json::json!([0.2, 0.1])),
        (
            "time_step_limit",
            serde_json::json!([0.0, {"__float__": "NaN"}]),
        ),
        ("chunk_size", serde_json::json!(0)),
        ("rms_norm", serde_json::json!(false)),
    ] {
        let mut c = base.clone();
        c[key] = value.clone();
        match Mamba2Config::parse("c".as_ref(), &c.to_string()) {
            Err(Error::Config { key: k, .. }) => assert_eq!(k, key, "{key} = {value}"),
            other => panic!("{key} = {value}: {other:?}"),
        }
    }
    let mut c = base.clone();
    c["time_step_limit"] = serde_json::json!([0.001, {"__float__": "Infinity"}]);
    let parsed = Mamba2Config::parse("c".as_ref(), &c.to_string()).unwrap();
    assert_eq!(parsed.time_step_limit, (0.001, f64::INFINITY));
}

fn scratch(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = std::env::temp_dir().join(format!(
        "hattn-m2-{}-{tag}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Two groups of two heads, head dim 3, N = 5, chunk 3 with L = 7, Δ clamped to
/// [0.01, 0.05], biases on, separate lm_head; written as an f32 checkpoint and read back.
fn random_checkpoint() -> (PathBuf, Mamba2Model<f64>) {
    let config = Mamba2Config {
        d_model: 6,
        n_layer: 2,
        vocab_size: 11,
        d_state: 5,
        n_heads: 4,
        head_dim: 3,
        n_groups: 2,
        d_conv: 4,
        chunk_size: 3,
        time_step_limit: (0.01, 0.05),
        use_bias: true,
        use_conv_bias: true,
        norm_eps: 1e-5,
        tie_embeddings: false,
    };
    let model = Mamba2Model::<f64>::random(config, 7);
    let (cfg, tensors) = model.to_tensors();
    let dir = scratch("random");
    std::fs::write(dir.join("config.json"), cfg.to_string()).unwrap();
    let tensors: Vec<_> = tensors
        .into_iter()
        .map(|(n, s, v)| (n, s, v, StoreDtype::F32))
        .collect();
    std::fs::write(
        dir.join("model.safetensors"),
        write_safetensors(&tensors).unwrap(),
    )
    .unwrap();
    let loaded = hidden_attention::model::mamba2::load::<f64>(&dir).unwrap();
    (dir, loaded)
}

const BATCH: [[usize; 7]; 2] = [[1, 4, 9, 2, 10, 0, 3], [5, 5, 7, 8, 6, 1, 2]];

#[test]
fn random_grouped_checkpoint_forward_matches_the_exact_path() {
    let (dir, model) = random_checkpoint();
    assert_eq!(ModelKind::of_checkpoint(&dir).unwrap(), ModelKind::Mamba2);
    let batch: Vec<Vec<usize>> = BATCH.iter().map(|r| r.to_vec()).collect();
    let traces = model.forward_batch(&batch, Logits::All).unwrap();
    // the batch is the sequences one by one
    for (b, toks) in batch.iter().enumerate() {
        let one = model.forward(toks, Logits::All).unwrap();
        assert_eq!(one.logits, traces[b].logits);
    }
    let mut clamped = [false, false];
    for (i, layer) in model.layers.iter().enumerate() {
        for tr in &traces {
            let m = &tr.mixers[i];
            let delta = step_sizes(&layer.mixer, m);
            clamped[0] |= delta.contains(&0.01);
            clamped[1] |= delta.contains(&0.05);
            // exact: the discretised layer lifted to rationals, through the scan
            let ssd = layer.mixer.ssd_layer(m).unwrap();
            let (exact, _) = ssd.to_exact().forward(None).unwrap();
            let mut worst = 0.0f64;
            for (g, e) in m.y_ssd.iter().zip(exact.data()) {
                let e = e.to_f64();
                worst = worst.max((g - e).abs() / (1e-300 + e.abs().max(1e-3)));
            }
            assert!(worst < 1e-12, "layer {i}: {worst}");
        }
    }
    assert!(
        clamped[0] && clamped[1],
        "the clamp is exercised at both ends"
    );
}

#[test]
fn per_head_attention_reproduces_the_forward() {
    let (_dir, model) = random_checkpoint();
    let batch: Vec<Vec<usize>> = BATCH.iter().map(|r| r.to_vec()).collect();
    let traces = model.forward_batch(&batch, Logits::None).unwrap();
    let c = &model.config;
    let (h, p, l) = (c.n_heads, c.head_dim, 7);
    for (i, layer) in model.layers.iter().enumerate() {
        for tr in &traces {
            let m = &tr.mixers[i];
            let fast = head_attention(&layer.mixer, m).unwrap();
            let slow = head_attention_reference(&layer.mixer, m).unwrap();
            for (a, b) in fast.data().iter().zip(slow.data()) {
                assert!((a - b).abs() <= 1e-14 * (1.0 + b.abs()), "{a} vs {b}");
            }
            // y = α̃ x + D x per head and head coordinate
            for hh in 0..h {
                for pp in 0..p {
                    for t in 0..l {
                        let mut y = layer.mixer.d[hh] * m.x[(t * h + hh) * p + pp];
                        for s in 0..=t {
                            y += fast.data()[(hh * l + t) * l + s] * m.x[(s * h + hh) * p + pp];
                        }
                        let got = m.y_ssd[t * h * p + hh * p + pp];
                        assert!((y - got).abs() <= 1e-13 * (1.0 + got.abs()), "{y} vs {got}");
                    }
                }
            }
            // the gated RMS norm works per group of d_in / G features, after the gate
            let (di, g) = (h * p, c.n_groups);
            let gs = di / g;
            for t in 0..l {
                for gi in 0..g {
                    let o = t * di + gi * gs;
                    let ms: f64 = m.gated[o..o + gs].iter().map(|v| v * v).sum::<f64>() / gs as f64;
                    let r = 1.0 / (ms + c.norm_eps).sqrt();
                    for j in 0..gs {
                        let want = layer.mixer.norm_w[gi * gs + j] * m.gated[o + j] * r;
                        assert!((m.normed[o + j] - want).abs() <= 1e-14 * (1.0 + want.abs()));
                    }
                }
            }
            // strictly causal: nothing above the diagonal
            for hh in 0..h {
                for t in 0..l {
                    for s in t + 1..l {
                        assert_eq!(fast.data()[(hh * l + t) * l + s], 0.0);
                    }
                }
            }
        }
    }
}

#[test]
fn a_wrong_chunk_state_is_caught_by_the_exact_path() {
    // Planted fault: the forward's chunk size does not change the result (T13), but a
    // model whose SSD output is perturbed by one ulp-scale amount per entry must fail the
    // exact comparison used above.
    let (_dir, model) = random_checkpoint();
    let tr = model.forward(&BATCH[0], Logits::None).unwrap();
    let m = &tr.mixers[0];
    let ssd = model.layers[0].mixer.ssd_layer(m).unwrap();
    let (exact, _) = ssd.to_exact().forward(None).unwrap();
    let bad: Vec<f64> = m.y_ssd.iter().map(|v| v * (1.0 + 1e-9)).collect();
    let worst = bad
        .iter()
        .zip(exact.data())
        .map(|(g, e)| (g - e.to_f64()).abs() / e.to_f64().abs().max(1e-3))
        .fold(0.0f64, f64::max);
    assert!(worst > 1e-12);
}

#[test]
fn whole_mixer_operator_reproduces_the_gated_norm_output() {
    use hidden_attention::model::mamba2::operator::{layer_mixer_operators, operator_residual};
    let (_dir, model) = random_checkpoint();
    let tr = model.forward(&BATCH[1], Logits::None).unwrap();
    let di = model.config.d_inner();
    let all: Vec<usize> = (0..di).collect();
    for (i, layer) in model.layers.iter().enumerate() {
        let r = operator_residual(&layer.mixer, &tr.mixers[i], &all).unwrap();
        assert!(r < 1e-13, "layer {i}: {r}");
        let ops = layer_mixer_operators(&layer.mixer, &tr.mixers[i], Some(&[0, di - 1])).unwrap();
        assert_eq!(ops.shape(), &[2, 7, 7]);
    }
    assert!(operator_residual(&model.layers[0].mixer, &tr.mixers[0], &[di]).is_err());
    // the norm scale matters: an operator without it does not reproduce the output
    let mut no_norm = model.layers[0].mixer.clone();
    no_norm.norm_w.iter_mut().for_each(|w| *w *= 2.0);
    let r = operator_residual(&no_norm, &tr.mixers[0], &all).unwrap();
    assert!(r > 0.5, "{r}");
}

/// ∂logit/∂(embedding output) by the reverse pass and by central differences on the
/// embedding row of a token that occurs once.
fn check_embedding_gradient<M, C>(
    model: &hidden_attention::model::MambaModel<f64, M, C>,
    tokens: &[usize],
    pos: usize,
    k: usize,
    probes: &[(usize, usize)],
) where
    M: hidden_attention::model::Mixer<f64> + Clone,
    C: hidden_attention::model::BackboneConfig + Clone,
{
    use hidden_attention::model::explain::{finite_difference, logit_gradients};
    let dm = model.config.d_model();
    let tr = model.forward(tokens, Logits::All).unwrap();
    let grads = logit_gradients(model, &tr, pos, k).unwrap();
    let mut worst = 0.0f64;
    for &(t, f) in probes {
        let tok = tokens[t];
        assert_eq!(tokens.iter().filter(|&&x| x == tok).count(), 1);
        let eps = 1e-6;
        let logit_with = |d: f64| {
            let mut mm = model.clone();
            mm.embedding[tok * dm + f] += d;
            let tr = mm.forward(tokens, Logits::All).unwrap();
            mm.logit(&tr, pos, k)
        };
        let fd = (logit_with(eps) - logit_with(-eps)) / (2.0 * eps);
        let g = grads.last().unwrap()[t * dm + f];
        worst = worst.max((fd - g).abs() / g.abs().max(1e-3));
        // and through the last layer only: the residual stream after layer 0
        let fd1 = finite_difference(model, tokens, (0, t, f), pos, k, 1e-6).unwrap();
        let g1 = grads[0][t * dm + f];
        worst = worst.max((fd1 - g1).abs() / g1.abs().max(1e-3));
    }
    assert!(worst < 1e-6, "{worst:e}");
    // causality: nothing after the target
    assert!(grads.last().unwrap()[(pos + 1) * dm..]
        .iter()
        .all(|&v| v == 0.0));
}

#[test]
fn mamba2_gradients_match_finite_differences() {
    let (_dir, model) = random_checkpoint();
    // a sequence whose tokens are distinct, Δ clamped at some positions
    let tokens = [1, 4, 9, 2, 10, 0, 3];
    check_embedding_gradient(&model, &tokens, 5, 3, &[(0, 0), (2, 5), (4, 1), (5, 3)]);
}

#[test]
fn falcon_mamba_gradients_match_finite_differences() {
    let model = MambaModel::<f64>::load(Path::new(FALCON)).unwrap();
    let tokens = [3, 20, 49, 41, 5, 26, 8, 19];
    check_embedding_gradient(&model, &tokens, 6, 17, &[(0, 0), (3, 7), (6, 15), (5, 2)]);
}

fn hattn(args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hattn"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn read_npy(p: &Path) -> (String, Vec<f64>) {
    let b = std::fs::read(p).unwrap();
    let hl = u16::from_le_bytes([b[8], b[9]]) as usize;
    let header = String::from_utf8(b[10..10 + hl].to_vec()).unwrap();
    let data = b[10 + hl..]
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    (header, data)
}

#[test]
fn hattn_attn_draws_per_head_maps_of_a_mamba2_checkpoint() {
    let d = scratch("cli");
    let (png, npy) = (d.join("heads.png"), d.join("heads.npy"));
    let case = load_checkpoint_case(Path::new(MAMBA2)).unwrap();
    let ids: Vec<String> = case.input_ids[0].iter().map(|t| t.to_string()).collect();
    let toks = ids.join(",");
    let toks = toks.as_str();
    let (code, out, err) = hattn(&[
        "attn",
        "--checkpoint",
        MAMBA2,
        "--tokens",
        toks,
        "--layer",
        "1",
        "--png",
        png.to_str().unwrap(),
        "--npy",
        npy.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let b = std::fs::read(&png).unwrap();
    assert_eq!(&b[1..4], b"PNG");
    let (header, data) = read_npy(&npy);
    assert!(header.contains("(4, 12, 12)"), "{header}");
    // the golden per-head matrices of layer 1
    let want = case.hidden_attention[1].data();
    assert_eq!(data.len(), want.len());
    for (g, w) in data.iter().zip(want) {
        assert!((g - w).abs() <= 1e-12 * (1.0 + w.abs()), "{g} vs {w}");
    }
    // one head, the operator, and the mistakes
    let one = d.join("one.npy");
    let (code, _, err) = hattn(&[
        "attn",
        "--checkpoint",
        MAMBA2,
        "--tokens",
        toks,
        "--layer",
        "1",
        "--head",
        "2",
        "--npy",
        one.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let head2 = read_npy(&one).1;
    assert_eq!(head2.len(), 144);
    for (g, w) in head2.iter().zip(&want[2 * 144..3 * 144]) {
        assert!((g - w).abs() <= 1e-12 * (1.0 + w.abs()), "{g} vs {w}");
    }
    for (args, needle) in [
        (vec!["--head", "4"], "head 4 is not below num_heads = 4"),
        (vec!["--channel", "1"], "per head"),
        (vec!["--mixer", "--head", "1"], "per channel"),
        (vec!["--mixer", "--channel", "32"], "channel 32"),
    ] {
        let mut a = vec!["attn", "--checkpoint", MAMBA2, "--tokens", toks];
        a.extend(args.iter().copied());
        a.extend(["--npy", one.to_str().unwrap()]);
        let (code, _, err) = hattn(&a);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    let (code, _, err) = hattn(&[
        "attn",
        "--checkpoint",
        MAMBA2,
        "--tokens",
        toks,
        "--mixer",
        "--layer",
        "0",
        "--channel",
        "5",
        "--npy",
        one.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn hattn_explain_and_golden_run_on_both_new_kinds() {
    let toks = "3,20,49,41,5,26,8,19";
    for ck in [MAMBA2, FALCON] {
        for method in [
            "rollout",
            "attr",
            "mixer-raw-abs",
            "mixer-grad-input",
            "alpha-row",
        ] {
            let (code, out, err) = hattn(&[
                "explain",
                "--checkpoint",
                ck,
                "--tokens",
                toks,
                "--target-pos",
                "6",
                "--method",
                method,
            ]);
            assert_eq!(code, 0, "{ck} {method}: {err}");
            assert!(out.contains(&format!("method: {method}")), "{out}");
        }
        let (code, out, err) = hattn(&["golden", ck]);
        assert_eq!(code, 0, "{out}{err}");
        assert_eq!(out.matches("PASS").count(), 3, "{out}");
    }
    let (code, _, err) = hattn(&[
        "explain",
        "--checkpoint",
        MAMBA2,
        "--tokens",
        toks,
        "--target-pos",
        "6",
        "--method",
        "authors-row",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("authors-row"), "{err}");
}

#[test]
fn bench_baseline_computes_the_same_heads() {
    use hidden_attention::model::mamba2::bench::{bench_trace, plain_heads_into};
    use hidden_attention::model::mamba2::head_attention_into;
    let (mixer, trace) = bench_trace::<f64>(6, 2, 8, 33);
    let mut fast = vec![f64::NAN; 6 * 33 * 33];
    let mut plain = vec![f64::NAN; 6 * 33 * 33];
    head_attention_into(&mixer, &trace, &mut fast).unwrap();
    plain_heads_into(&mixer, &trace, &mut plain);
    let scale = plain.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    for (a, b) in fast.iter().zip(&plain) {
        assert!((a - b).abs() <= 1e-12 * scale, "{a} vs {b}");
    }
    assert!(head_attention_into(&mixer, &trace, &mut fast[1..]).is_err());
}

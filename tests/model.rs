//! Real-checkpoint tests: the golden `tiny-mamba-a` case (logits, hidden states, hidden
//! attention of every layer) in f64 and f32.

use std::path::Path;

use hidden_attention::golden::{
    load_checkpoint_case, run_checkpoint_case, Tolerance, CHECKPOINT_TOLERANCE,
};

const TINY: &str = "tests/data/golden/checkpoints/tiny-mamba-a";

fn report(tol: Tolerance, f32: bool) -> Vec<hidden_attention::golden::PartReport> {
    let case = load_checkpoint_case(Path::new(TINY)).unwrap();
    let r = if f32 {
        run_checkpoint_case::<f32>(&case, tol).unwrap()
    } else {
        run_checkpoint_case::<f64>(&case, tol).unwrap()
    };
    for p in &r {
        eprintln!(
            "{} {:<18} max_abs {:.3e} max_rel {:.3e} pass {}",
            if f32 { "f32" } else { "f64" },
            p.part,
            p.max_abs,
            p.max_rel,
            p.pass
        );
    }
    r
}

#[test]
fn golden_tiny_mamba_f64() {
    for p in report(CHECKPOINT_TOLERANCE, false) {
        assert!(
            p.pass,
            "{} max_abs {:e} max_rel {:e}",
            p.part, p.max_abs, p.max_rel
        );
    }
}

#[test]
fn golden_tiny_mamba_f32() {
    for p in report(CHECKPOINT_TOLERANCE, true) {
        assert!(p.pass, "{} max_abs {:e}", p.part, p.max_abs);
    }
}

use hidden_attention::model::attention::{
    authors_cls_row, layer_attention, layer_channels, query_row,
};
use hidden_attention::model::explain::{explain, finite_difference, logit_gradients, Method};
use hidden_attention::model::mixer_operator::{mixer_operator, operator_residual};
use hidden_attention::model::{Logits, MambaModel};

const TOKENS: [usize; 12] = [3, 20, 49, 41, 5, 26, 8, 19, 40, 63, 48, 45];

fn tiny() -> MambaModel<f64> {
    MambaModel::load(Path::new(TINY)).unwrap()
}

#[test]
fn mixer_operator_reproduces_forward_to_1e12() {
    let m = tiny();
    let tr = m.forward(&TOKENS, Logits::None).unwrap();
    let all: Vec<usize> = (0..m.config.d_inner).collect();
    for (li, layer) in m.layers.iter().enumerate() {
        let r = operator_residual(&layer.mixer, &tr.mixers[li], &all).unwrap();
        eprintln!("layer {li}: max |Mx + β − y| / max|y| = {r:.2e}");
        assert!(r < 1e-12, "layer {li}: {r:e}");
    }
    // M is lower triangular and β is nonzero with a conv bias
    let op = mixer_operator(&m.layers[0].mixer, &tr.mixers[0], 3).unwrap();
    let l = TOKENS.len();
    for i in 0..l {
        for j in i + 1..l {
            assert_eq!(op.matrix[i * l + j], 0.0);
        }
    }
    // the checkpoint's conv bias is zero: give it one and check the affine term too
    let mut m2 = m.clone();
    for layer in &mut m2.layers {
        let b = layer.mixer.conv_b.as_mut().unwrap();
        for (e, v) in b.iter_mut().enumerate() {
            *v = 0.3 * ((e as f64) * 0.77).sin();
        }
    }
    let tr2 = m2.forward(&TOKENS, Logits::None).unwrap();
    for (li, layer) in m2.layers.iter().enumerate() {
        let r = operator_residual(&layer.mixer, &tr2.mixers[li], &all).unwrap();
        assert!(r < 1e-12, "layer {li} with conv bias: {r:e}");
    }
    let op = mixer_operator(&m2.layers[0].mixer, &tr2.mixers[0], 3).unwrap();
    assert!(op.bias.iter().any(|&b| b.abs() > 1e-6));
}

#[test]
fn mixer_operator_in_f32_is_close() {
    let m = MambaModel::<f32>::load(Path::new(TINY)).unwrap();
    let tr = m.forward(&TOKENS, Logits::None).unwrap();
    let r = operator_residual(&m.layers[1].mixer, &tr.mixers[1], &[0, 7, 31]).unwrap();
    assert!(r < 1e-5, "{r:e}");
}

#[test]
fn hidden_attention_times_u_is_the_s6_output() {
    let m = tiny();
    let tr = m.forward(&TOKENS, Logits::None).unwrap();
    let l = TOKENS.len();
    let mix = &m.layers[1].mixer;
    let t = &tr.mixers[1];
    let att = layer_attention(mix, t, None).unwrap();
    for e in 0..m.config.d_inner {
        let a = &att.data()[e * l * l..(e + 1) * l * l];
        for i in 0..l {
            let ys: f64 = (0..l).map(|j| a[i * l + j] * t.u[e * l + j]).sum();
            let want = t.y1[e * l + i] - mix.d[e] * t.u[e * l + i];
            assert!(
                (ys - want).abs() < 1e-14 + 1e-12 * want.abs(),
                "channel {e} row {i}: {ys} vs {want}"
            );
        }
    }
}

#[test]
fn gradient_matches_finite_differences() {
    let m = tiny();
    let tr = m.forward(&TOKENS, Logits::All).unwrap();
    let (pos, k) = (10, 17);
    let grads = logit_gradients(&m, &tr, pos, k).unwrap();
    assert_eq!(grads.len(), m.layers.len() + 1);
    let mut worst = 0.0f64;
    for &(layer, t, f) in &[
        (0, 0, 0),
        (0, 4, 7),
        (0, 10, 15),
        (1, 9, 3),
        (1, 10, 11),
        (0, 2, 5),
    ] {
        let fd = finite_difference(&m, &TOKENS, (layer, t, f), pos, k, 1e-5).unwrap();
        let g = grads[layer][t * m.config.d_model + f];
        let err = (fd - g).abs() / (g.abs().max(1e-3));
        eprintln!("∂logit/∂h[{layer}][{t},{f}]: backward {g:.10e}, finite difference {fd:.10e}");
        worst = worst.max(err);
    }
    assert!(worst < 1e-6, "{worst:e}");
    // positions after the target get no gradient (causality)
    let dm = m.config.d_model;
    assert!(grads[0][11 * dm..].iter().all(|&v| v == 0.0));
}

#[test]
fn gradient_wrt_embedding_matches_finite_differences() {
    // perturbing the embedding output = perturbing "layer -1": check through the token
    // embedding by a direct difference on a modified embedding row
    let m = tiny();
    let tr = m.forward(&TOKENS, Logits::All).unwrap();
    let (pos, k) = (7, 3);
    let grads = logit_gradients(&m, &tr, pos, k).unwrap();
    let g_emb = grads.last().unwrap();
    let dm = m.config.d_model;
    let (t, f) = (2, 9);
    let tok = TOKENS[t];
    let eps = 1e-5;
    let logit_with = |d: f64| {
        let mut mm = m.clone();
        mm.embedding[tok * dm + f] += d;
        // the token occurs once in TOKENS, so this perturbs exactly position t
        let tr = mm.forward(&TOKENS, Logits::All).unwrap();
        mm.logit(&tr, pos, k)
    };
    assert_eq!(TOKENS.iter().filter(|&&x| x == tok).count(), 1);
    let fd = (logit_with(eps) - logit_with(-eps)) / (2.0 * eps);
    let g = g_emb[t * dm + f];
    assert!((fd - g).abs() < 1e-7 * g.abs().max(1.0), "{g} vs {fd}");
}

#[test]
fn explanations_are_well_formed() {
    let m = tiny();
    let tr = m.forward(&TOKENS, Logits::All).unwrap();
    let l = TOKENS.len();
    for method in [Method::Raw, Method::Rollout, Method::Attr] {
        let e = explain(&m, &tr, method, 11, None, 0).unwrap();
        assert_eq!(e.matrix.len(), l * l);
        assert!(e.matrix.iter().all(|v| v.is_finite() && *v >= 0.0));
        for i in 0..l {
            for j in i + 1..l {
                assert_eq!(e.matrix[i * l + j], 0.0, "{method:?} is causal");
            }
        }
        if method != Method::Raw {
            for i in 0..l {
                let s: f64 = e.matrix[i * l..(i + 1) * l].iter().sum();
                assert!(
                    method == Method::Attr || (s - 1.0).abs() < 1e-12,
                    "{method:?} row {i} sums to {s}"
                );
            }
        }
    }
    let e = explain(&m, &tr, Method::Attr, 11, None, 0).unwrap();
    let argmax = (0..64)
        .max_by(|&a, &b| tr.logits[11 * 64 + a].total_cmp(&tr.logits[11 * 64 + b]))
        .unwrap();
    assert_eq!(e.logit, Some(argmax));
    assert!(explain(&m, &tr, Method::Raw, 12, None, 0).is_err());
    assert!(explain(&m, &tr, Method::Raw, 0, None, 2).is_err());
}

#[test]
fn true_row_versus_authors_cls_row() {
    let m = tiny();
    let tr = m.forward(&TOKENS, Logits::None).unwrap();
    let ch = &layer_channels(&m.layers[0].mixer, &tr.mixers[0], Some(&[4])).unwrap()[0];
    let i = 9;
    let truth = query_row(ch, i).unwrap();
    let authors = authors_cls_row(ch, i).unwrap();
    assert_eq!(authors[i], 0.0);
    let diag: f64 = ch.c(i).iter().zip(ch.bbar(i)).map(|(c, b)| c * b).sum();
    assert!((truth[i] - diag).abs() < 1e-18);
    // with Ā_i folded into C_i, the authors' off-diagonal entries become the true ones
    let n = ch.state();
    for j in 0..i {
        let mut p: Vec<f64> = (0..n).map(|s| ch.c(i)[s] * ch.abar(i)[s]).collect();
        for k in (j + 1..i).rev() {
            for (ps, a) in p.iter_mut().zip(ch.abar(k)) {
                *ps *= a;
            }
        }
        let want: f64 = (0..n).map(|s| p[s] * ch.bbar(j)[s]).sum();
        assert!(
            (truth[j] - want).abs() < 1e-15 * (1.0 + want.abs()),
            "j = {j}"
        );
        assert!((truth[j] - authors[j]).abs() > 0.0);
    }
}

#[test]
fn batched_forward_equals_single() {
    let m = tiny();
    let a = TOKENS.to_vec();
    let b: Vec<usize> = TOKENS.iter().rev().copied().collect();
    let both = m
        .forward_batch(&[a.clone(), b.clone()], Logits::All)
        .unwrap();
    let one = m.forward(&b, Logits::All).unwrap();
    assert_eq!(both[1].logits, one.logits);
    assert_eq!(both[0].logits, m.forward(&a, Logits::All).unwrap().logits);
    let last = m.forward(&a, Logits::Last).unwrap();
    assert_eq!(last.logits[..], both[0].logits[11 * 64..]);
}

#[test]
fn bidirectional_pair_operator_and_attention() {
    use hidden_attention::model::bidirectional::BidirectionalMixer;
    let m = tiny();
    let tr = m.forward(&TOKENS, Logits::None).unwrap();
    let input = &tr.mixers[0].input;
    let l = TOKENS.len();
    for average in [false, true] {
        let bi = BidirectionalMixer {
            forward: m.layers[0].mixer.clone(),
            backward: m.layers[1].mixer.clone(),
            average,
        };
        let bt = bi.forward(input).unwrap();
        let w = if average { 0.5 } else { 1.0 };
        // the whole-pair operator reproduces the pair's gated output exactly
        for e in [0, 9, 31] {
            let (mm, beta) = bi.mixer_operator(&bt, e).unwrap();
            let x = &bt.forward.x[e * l..(e + 1) * l];
            let scale = bt.y[e * l..(e + 1) * l]
                .iter()
                .fold(0.0f64, |a, v| a.max(v.abs()));
            for i in 0..l {
                let got: f64 = beta[i] + (0..l).map(|j| mm[i * l + j] * x[j]).sum::<f64>();
                assert!(
                    (got - bt.y[e * l + i]).abs() <= 1e-12 * scale,
                    "channel {e} row {i}"
                );
            }
        }
        // the pair's S6 matrix: forward α̃ below, flipped backward α̃ above the diagonal
        let att = bi.attention(&bt, Some(&[5])).unwrap();
        let a = att.data();
        let af = layer_attention(&bi.forward, &bt.forward, Some(&[5])).unwrap();
        let ab = layer_attention(&bi.backward, &bt.backward, Some(&[5])).unwrap();
        for i in 0..l {
            for j in 0..l {
                let want = (af.data()[i * l + j] + ab.data()[(l - 1 - i) * l + (l - 1 - j)]) * w;
                assert_eq!(a[i * l + j], want);
            }
        }
        assert!(a[1] != 0.0, "the backward branch fills the upper triangle");
        // and it maps the branches' S6 inputs to the summed S6 outputs
        let e = 5;
        let uf = &bt.forward.u[e * l..(e + 1) * l];
        let ub = &bt.backward.u[e * l..(e + 1) * l];
        for i in 0..l {
            let ys_f = bt.forward.y1[e * l + i] - bi.forward.d[e] * uf[i];
            let ys_b = bt.backward.y1[e * l + (l - 1 - i)] - bi.backward.d[e] * ub[l - 1 - i];
            let lower: f64 = (0..=i).map(|j| af.data()[i * l + j] * uf[j]).sum();
            let upper: f64 = (i..l)
                .map(|j| ab.data()[(l - 1 - i) * l + (l - 1 - j)] * ub[l - 1 - j])
                .sum();
            assert!((lower - ys_f).abs() < 1e-15 && (upper - ys_b).abs() < 1e-15);
        }
    }
}

#[test]
fn chunked_extraction_matches_the_core() {
    use hidden_attention::model::attention::layer_attention_chunked;
    let m = tiny();
    let tr = m.forward(&TOKENS, Logits::None).unwrap();
    for (li, layer) in m.layers.iter().enumerate() {
        let core = layer_attention(&layer.mixer, &tr.mixers[li], None).unwrap();
        let fast = layer_attention_chunked(&layer.mixer, &tr.mixers[li], None).unwrap();
        assert_eq!(core.shape(), fast.shape());
        let scale = core.data().iter().fold(0.0f64, |a, v| a.max(v.abs()));
        let err = core
            .data()
            .iter()
            .zip(fast.data())
            .fold(0.0f64, |a, (x, y)| a.max((x - y).abs()));
        assert!(
            err <= 1e-14 * scale,
            "layer {li}: {err:e} vs scale {scale:e}"
        );
        let sub = layer_attention_chunked(&layer.mixer, &tr.mixers[li], Some(&[7, 2])).unwrap();
        let l = TOKENS.len();
        assert_eq!(&sub.data()[..l * l], &fast.data()[7 * l * l..8 * l * l]);
    }
}

#[test]
fn large_linear_uses_gemm_and_agrees_with_dots() {
    use hidden_attention::model::linear::{fast_dot, linear};
    let (rows, out, inp) = (37, 129, 70); // 334 110 ≥ 2^18 multiply-adds: the GEMM path
    let x: Vec<f64> = (0..rows * inp).map(|i| ((i as f64) * 0.37).sin()).collect();
    let w: Vec<f64> = (0..out * inp).map(|i| ((i as f64) * 0.11).cos()).collect();
    let b: Vec<f64> = (0..out).map(|i| i as f64 * 0.01).collect();
    let y = linear(&x, rows, &w, out, inp, Some(&b));
    let y32 = linear(
        &x.iter().map(|&v| v as f32).collect::<Vec<_>>(),
        rows,
        &w.iter().map(|&v| v as f32).collect::<Vec<_>>(),
        out,
        inp,
        Some(&b.iter().map(|&v| v as f32).collect::<Vec<_>>()),
    );
    for t in 0..rows {
        for o in 0..out {
            let want = fast_dot(&x[t * inp..(t + 1) * inp], &w[o * inp..(o + 1) * inp]) + b[o];
            assert!((y[t * out + o] - want).abs() < 1e-12, "({t}, {o})");
            assert!(
                (y32[t * out + o] as f64 - want).abs() < 1e-4,
                "f32 ({t}, {o})"
            );
        }
    }
}

#[test]
fn explain_reports_every_layer_and_matches_explain() {
    use hidden_attention::model::explain::explain_with;
    let m = tiny();
    let tr = m.forward(&TOKENS, Logits::All).unwrap();
    for method in [Method::Raw, Method::Rollout, Method::Attr] {
        let mut seen = Vec::new();
        let e = explain_with(&m, &tr, method, 8, None, 1, &mut |li| seen.push(li)).unwrap();
        assert_eq!(seen, (0..m.layers.len()).collect::<Vec<_>>(), "{method:?}");
        assert_eq!(e, explain(&m, &tr, method, 8, None, 1).unwrap());
    }
}

//! Faithfulness of explanations on `selective-copy-a`, a trained model whose right answer
//! and evidence are known: localisation, perturbation, baselines, the method identities,
//! the data format and its errors.

use std::path::{Path, PathBuf};
use std::process::Command;

use hidden_attention::model::attention::{authors_cls_row, layer_channels, query_row};
use hidden_attention::model::explain::{explain, logit_gradients, Method as OldMethod};
use hidden_attention::model::faithfulness::{
    best_rank, chance, evaluate, fractional_rank, FaithfulnessReport, Options,
};
use hidden_attention::model::known_answer::KnownAnswerSet;
use hidden_attention::model::linear::linear_backward;
use hidden_attention::model::mixer_operator::mixer_operator;
use hidden_attention::model::perturbation::{auc, removal_order};
use hidden_attention::model::relevance::{Explainer, Method, RECOMMENDED};
use hidden_attention::model::{Logits, MambaModel};
use hidden_attention::Error;

const CK: &str = "tests/data/checkpoints/selective-copy-a";
const TASK: &str = "tests/data/checkpoints/selective-copy-a/task.json";
/// Sequences used by the debug-build tests (the docs' table uses all 256, in release).
const SUBSET: usize = 48;

fn model() -> MambaModel<f64> {
    MambaModel::load(Path::new(CK)).unwrap()
}

fn set() -> KnownAnswerSet {
    KnownAnswerSet::load(Path::new(TASK)).unwrap()
}

fn run(methods: &[Method], seed: u64, perturbation: bool) -> FaithfulnessReport {
    let opts = Options {
        methods: methods.to_vec(),
        limit: Some(SUBSET),
        seed,
        perturbation,
        steps: 5,
    };
    evaluate(&model(), &set(), &opts, &|| {}).unwrap()
}

/// Measured on all 256 held-out sequences (docs/explain.md): the recommended method
/// `mixer-raw-abs` ranks the evidence first in 100 % of them (mean rank 1.00); perturbation
/// AUC+ 0.111 against 0.453 for random, AUC− 0.907 against 0.486. The thresholds leave
/// room for a smaller subset, and still sit far above chance (top-1 6.25 %, mean rank 8.5).
#[test]
fn recommended_method_localises_the_evidence_and_random_sits_at_chance() {
    let r = run(&[RECOMMENDED, Method::Random], 7, true);
    assert_eq!(r.sequences, SUBSET);
    assert_eq!(r.accuracy, 1.0);
    assert!((r.chance.top1 - 1.0 / 16.0).abs() < 1e-12);
    assert!((r.chance.mean_rank - 8.5).abs() < 1e-12);
    let best = r.method(RECOMMENDED.name()).unwrap();
    assert!(best.evidence.top1 >= 0.9, "top-1 {}", best.evidence.top1);
    assert!(best.evidence.top3 >= 0.95, "top-3 {}", best.evidence.top3);
    assert!(
        best.evidence.mean_rank <= 1.5,
        "rank {}",
        best.evidence.mean_rank
    );
    // the random baseline sits at chance: the mean of 48 uniform ranks on 1..16 has
    // standard deviation 4.61/√48 = 0.67, top-1 a standard deviation of 0.035
    let rnd = r.method("random").unwrap();
    assert!(
        (rnd.evidence.mean_rank - 8.5).abs() < 2.0,
        "random mean rank {}",
        rnd.evidence.mean_rank
    );
    assert!(
        rnd.evidence.top1 < 0.2,
        "random top-1 {}",
        rnd.evidence.top1
    );
    assert!(best.evidence.mean_rank + 5.0 < rnd.evidence.mean_rank);
    // perturbation: better than random in both directions, on probability and accuracy
    let (pb, pr) = (
        best.perturbation.as_ref().unwrap(),
        rnd.perturbation.as_ref().unwrap(),
    );
    assert!(
        pb.positive_prob_auc + 0.1 < pr.positive_prob_auc,
        "{pb:?} {pr:?}"
    );
    assert!(
        pb.negative_prob_auc > pr.negative_prob_auc + 0.1,
        "{pb:?} {pr:?}"
    );
    assert!(pb.positive_acc_auc < pr.positive_acc_auc);
    assert!(pb.negative_acc_auc > pr.negative_acc_auc);
    // nothing removed: the model's own probability, the same for every order
    assert_eq!(pb.positive.prob[0], pr.negative.prob[0]);
    assert!(pb.positive.prob[0] > 0.9);
}

/// The published explanations on α̃ miss the evidence on this model (measured on 256:
/// mean rank 13.4 raw, 12.5 rollout, 10.5 Mamba-Attr; chance 8.5) — the reason the default
/// moved to the whole-mixer operator.
#[test]
fn published_alpha_explanations_miss_the_evidence() {
    let r = run(&[Method::Raw, Method::Rollout, Method::Attr], 0, false);
    for m in &r.methods {
        assert_eq!(m.evidence.top1, 0.0, "{}", m.method);
        assert!(
            m.evidence.mean_rank > 9.0,
            "{} {}",
            m.method,
            m.evidence.mean_rank
        );
        assert!(m.post_conv && m.perturbation.is_none());
    }
}

#[test]
fn random_baseline_is_seeded() {
    let a = run(&[Method::Random], 3, false);
    let b = run(&[Method::Random], 3, false);
    let c = run(&[Method::Random], 4, false);
    assert_eq!(a.methods[0].evidence.ranks, b.methods[0].evidence.ranks);
    assert_ne!(a.methods[0].evidence.ranks, c.methods[0].evidence.ranks);
    // each sequence draws its own ranking: sequences with the same evidence position do
    // not all get the same rank
    let s = set();
    let ranks = &a.methods[0].evidence.ranks;
    let mut same = (0, 0);
    for i in 0..SUBSET {
        for j in i + 1..SUBSET {
            if s.sequences[i].evidence == s.sequences[j].evidence {
                same.0 += 1;
                same.1 += usize::from(ranks[i] == ranks[j]);
            }
        }
    }
    assert!(same.0 > 10 && same.1 < same.0, "{same:?}");
}

/// Raw, rollout and Mamba-Attr through the explainer are the published module's rows.
#[test]
fn explainer_agrees_with_the_explain_module() {
    let m = model();
    let toks = &set().sequences[0].tokens;
    let tr = m.forward(toks, Logits::None).unwrap();
    let p = toks.len() - 1;
    let mut ex = Explainer::new(&m, &tr, p, None, 0).unwrap();
    for (new, old) in [
        (Method::Raw, OldMethod::Raw),
        (Method::Rollout, OldMethod::Rollout),
        (Method::Attr, OldMethod::Attr),
    ] {
        let a = ex.relevance(new).unwrap().row;
        let b = explain(&m, &tr, old, p, None, 0).unwrap().row;
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() <= 1e-12, "{new:?}: {x} vs {y}");
        }
    }
}

/// `mixer-grad-input` splits each mixer's first-order effect exactly: per layer,
/// Σ_j r_j + Σ_{i,e} g_{ie} β_{ie} = Σ_{i,e} g_{ie} y_{ie} with g = ∂logit/∂y.
#[test]
fn mixer_grad_input_is_complete() {
    let m = model();
    let toks = &set().sequences[1].tokens;
    let tr = m.forward(toks, Logits::None).unwrap();
    let (l, p) = (toks.len(), toks.len() - 1);
    let mut ex = Explainer::new(&m, &tr, p, None, 0).unwrap();
    let r = ex.relevance(Method::MixerGradInput).unwrap().row;
    let grads = logit_gradients(&m, &tr, p, ex.logit()).unwrap();
    let (mut total, mut bias) = (0.0, 0.0);
    for (li, layer) in m.layers.iter().enumerate() {
        let (di, dm) = (layer.mixer.dims.d_inner, layer.mixer.dims.d_model);
        let gy = linear_backward(&grads[li], l, &layer.mixer.out_proj, dm, di);
        let mt = &tr.mixers[li];
        for e in 0..di {
            let op = mixer_operator(&layer.mixer, mt, e).unwrap();
            for i in 0..l {
                total += gy[i * di + e] * mt.y[e * l + i];
                bias += gy[i * di + e] * op.bias[i];
            }
        }
    }
    let sum: f64 = r.iter().sum();
    assert!(
        (sum + bias - total).abs() <= 1e-10 * total.abs().max(1.0),
        "{sum} + {bias} vs {total}"
    );
    let abs = ex.relevance(Method::MixerGradInputAbs).unwrap().row;
    assert!(abs.iter().zip(&r).all(|(a, s)| *a >= s.abs() - 1e-15));
}

/// The authors' CLS vector drops the diagonal and the decay Ā_P: on the trained model
/// their channel means differ from the true row's in every layer, and the evidence rank
/// moves in some sequences (measured on 256: 70 sequences, mean |Δrank| 0.22), while
/// both stay far from the evidence.
#[test]
fn authors_row_beside_the_true_row() {
    let m = model();
    let toks = &set().sequences[2].tokens;
    let tr = m.forward(toks, Logits::None).unwrap();
    let (l, p) = (toks.len(), toks.len() - 1);
    for (layer, mt) in m.layers.iter().zip(&tr.mixers) {
        let chans = layer_channels(&layer.mixer, mt, None).unwrap();
        let (mut ours, mut theirs) = (vec![0.0; l], vec![0.0; l]);
        for ch in &chans {
            for (o, v) in ours.iter_mut().zip(query_row(ch, p).unwrap()) {
                *o += v;
            }
            for (o, v) in theirs.iter_mut().zip(authors_cls_row(ch, p).unwrap()) {
                *o += v;
            }
        }
        assert_eq!(theirs[p], 0.0);
        assert!(ours[p].abs() > 1e-6, "{}", ours[p]);
        let scale = ours.iter().fold(0.0f64, |a, v| a.max(v.abs()));
        assert!((0..p).any(|j| (ours[j] - theirs[j]).abs() > 1e-3 * scale));
    }
    let r = run(&[Method::AlphaRow, Method::AuthorsRow], 0, false);
    let (a, b) = (&r.methods[0].evidence, &r.methods[1].evidence);
    assert!(a.ranks.iter().zip(&b.ranks).any(|(x, y)| x != y));
    assert!(a.mean_rank > 9.0 && b.mean_rank > 9.0);
}

#[test]
fn ranks_ties_and_chance() {
    let row = [0.5, 0.9, 0.5, 0.1, 7.0];
    assert_eq!(fractional_rank(&row, 3, 1), 1.0);
    assert_eq!(fractional_rank(&row, 3, 0), 2.5);
    assert_eq!(fractional_rank(&row, 3, 2), 2.5);
    assert_eq!(fractional_rank(&row, 3, 3), 4.0);
    assert_eq!(best_rank(&row, 3, &[3, 0]), 2.5);
    // a constant relevance puts every position at the middle rank
    assert_eq!(fractional_rank(&[1.0; 16], 15, 4), 8.5);
    // chance by enumeration: 2 evidence positions among 6
    let (n, k) = (6usize, 2usize);
    let (mut t1, mut t3, mut mean, mut cnt) = (0.0, 0.0, 0.0, 0.0);
    for a in 1..=n {
        for b in 1..=n {
            if a != b {
                let r = a.min(b) as f64;
                t1 += f64::from(u8::from(r <= 1.0));
                t3 += f64::from(u8::from(r <= 3.0));
                mean += r;
                cnt += 1.0;
            }
        }
    }
    let c = chance(n, k);
    assert!((c.top1 - t1 / cnt).abs() < 1e-12);
    assert!((c.top3 - t3 / cnt).abs() < 1e-12);
    assert!((c.mean_rank - mean / cnt).abs() < 1e-12);
}

#[test]
fn removal_orders_and_areas() {
    let rel = [0.3, 0.9, 0.1, 0.9, 5.0];
    assert_eq!(removal_order(&rel, 4, true), vec![1, 3, 0, 2]);
    assert_eq!(removal_order(&rel, 4, false), vec![2, 0, 1, 3]);
    assert!((auc(&[0.0, 0.5, 1.0], &[1.0, 1.0, 0.0]) - 0.75).abs() < 1e-15);
}

fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("hattn-faith-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn hattn(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_hattn"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn task_with(edit: impl FnOnce(&mut serde_json::Value)) -> PathBuf {
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(TASK).unwrap()).unwrap();
    edit(&mut v);
    let d = scratch("bad");
    let p = d.join(format!("{}.json", rand_name(&v)));
    std::fs::write(&p, serde_json::to_string(&v).unwrap()).unwrap();
    p
}

fn rand_name(v: &serde_json::Value) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    v.to_string().hash(&mut h);
    h.finish()
}

#[test]
fn bad_data_is_a_typed_error_naming_the_field() {
    let cases: Vec<(PathBuf, &str)> = vec![
        (
            task_with(|v| v["held_out"]["evidence_position"][3] = 16.into()),
            "held_out.evidence_position[3]",
        ),
        (
            task_with(|v| {
                v["held_out"].as_object_mut().unwrap().remove("answer");
            }),
            "held_out.answer",
        ),
        (
            task_with(|v| v["held_out"]["input_ids"][5][2] = 48.into()),
            "held_out.input_ids[5][2]",
        ),
        (
            task_with(|v| v["held_out"]["input_ids"][1][0] = (-1).into()),
            "held_out.input_ids[1][0]",
        ),
        (
            task_with(|v| v["held_out"]["mark_position"] = serde_json::json!([1, 2])),
            "held_out.mark_position",
        ),
        (task_with(|v| v["tokens"]["pad"] = 99.into()), "tokens.pad"),
    ];
    let m = model();
    for (path, field) in &cases {
        let err = KnownAnswerSet::load(path).and_then(|s| s.check_vocab(m.config.vocab_size));
        match err {
            Err(Error::CaseFile { field: f, .. }) => assert_eq!(&f, field),
            other => panic!("{field}: {other:?}"),
        }
        let (code, _, err) = hattn(&[
            "faithfulness",
            "--checkpoint",
            CK,
            "--data",
            path.to_str().unwrap(),
            "--limit",
            "1",
        ]);
        assert_eq!(code, 2, "{field}: {err}");
        assert!(err.contains(field), "{field}: {err}");
    }
    let d = scratch("junk");
    let junk = d.join("junk.json");
    std::fs::write(&junk, "{\"held_out\": [").unwrap();
    let missing = d.join("absent.json");
    for (args, needle) in [
        (vec!["--data", junk.to_str().unwrap()], "invalid JSON"),
        (vec!["--data", missing.to_str().unwrap()], "absent.json"),
        (
            vec!["--data", TASK, "--methods", "raw,bogus"],
            "unknown method `bogus`",
        ),
    ] {
        let mut a = vec!["faithfulness", "--checkpoint", CK];
        a.extend(args);
        let (code, _, err) = hattn(&a);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains(needle), "{needle}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    let (code, _, err) = hattn(&[
        "explain",
        "--checkpoint",
        CK,
        "--tokens",
        "40,3,41,25,42",
        "--target-pos",
        "4",
        "--method",
        "nope",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("unknown method"), "{err}");
}

#[test]
fn faithfulness_command_table_json_and_figures() {
    let d = scratch("cli");
    let (png, svg) = (d.join("ranks.png"), d.join("curves.svg"));
    let (code, out, err) = hattn(&[
        "faithfulness",
        "--checkpoint",
        CK,
        "--data",
        TASK,
        "--limit",
        "6",
        "--methods",
        "mixer-raw-abs,grad-input,random",
        "--steps",
        "3",
        "--png",
        png.to_str().unwrap(),
        "--svg",
        svg.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("mixer-raw-abs") && out.contains("chance"),
        "{out}"
    );
    assert!(std::fs::read(&png).unwrap().starts_with(b"\x89PNG"));
    let s = std::fs::read_to_string(&svg).unwrap();
    assert!(
        s.starts_with("<svg") && s.matches("<polyline").count() == 6,
        "{s}"
    );
    let (code, out, _) = hattn(&[
        "faithfulness",
        "--checkpoint",
        CK,
        "--data",
        TASK,
        "--limit",
        "6",
        "--methods",
        "mixer-raw-abs",
        "--json",
        "--no-perturbation",
    ]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["sequences"], 6);
    assert_eq!(
        v["methods"][0]["evidence"]["ranks"]
            .as_array()
            .unwrap()
            .len(),
        6
    );
    assert!(v["methods"][0]["perturbation"].is_null());
}

/// The default `hattn explain` names its method and ranks the evidence of held-out
/// sequence 0 (payload 25 at position 14) first.
#[test]
fn default_explain_points_at_the_evidence() {
    let s = set();
    let q = &s.sequences[0];
    let d = scratch("explain");
    let (png, npy) = (d.join("e.png"), d.join("e.npy"));
    let toks: Vec<String> = q.tokens.iter().map(ToString::to_string).collect();
    let p = (q.tokens.len() - 1).to_string();
    let (code, out, err) = hattn(&[
        "explain",
        "--checkpoint",
        CK,
        "--tokens",
        &toks.join(","),
        "--target-pos",
        &p,
        "--png",
        png.to_str().unwrap(),
        "--npy",
        npy.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(std::fs::read(&png).unwrap().starts_with(b"\x89PNG"));
    // a matrix method: the (L, L) relevance matrix after the .npy preamble and header
    let b = std::fs::read(&npy).unwrap();
    let hl = u16::from_le_bytes([b[8], b[9]]) as usize;
    assert_eq!(b.len() - 10 - hl, 8 * q.tokens.len() * q.tokens.len());
    // a row method writes the row
    let (code, _, err) = hattn(&[
        "explain",
        "--checkpoint",
        CK,
        "--tokens",
        &toks.join(","),
        "--target-pos",
        &p,
        "--method",
        "grad-input",
        "--png",
        png.to_str().unwrap(),
        "--npy",
        npy.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let b = std::fs::read(&npy).unwrap();
    let hl = u16::from_le_bytes([b[8], b[9]]) as usize;
    assert_eq!(b.len() - 10 - hl, 8 * q.tokens.len());
    assert!(
        out.contains(&format!("method: {} (the default", RECOMMENDED.name())),
        "{out}"
    );
    let rows: Vec<(usize, f64)> = out
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() != 3 {
                return None;
            }
            Some((f[0].parse().ok()?, f[2].parse().ok()?))
        })
        .collect();
    assert_eq!(rows.len(), q.tokens.len());
    let top = rows
        .iter()
        .fold(rows[0], |b, &r| if r.1 > b.1 { r } else { b });
    assert_eq!(top.0, q.evidence[0], "{out}");
}

/// A user's own set: sequences of different lengths, two evidence positions each, no mark
/// and no PAD (the perturbation test is skipped and says so).
#[test]
fn own_known_answer_set_with_varied_lengths() {
    let s = set();
    let mut ids = Vec::new();
    let mut answers = Vec::new();
    let mut evidence = Vec::new();
    for (k, q) in s.sequences.iter().take(4).enumerate() {
        // drop the first k noise tokens after BOS that are before MARK
        let m = q.mark.unwrap();
        let drop = k.min(m - 1);
        let toks: Vec<usize> = q
            .tokens
            .iter()
            .enumerate()
            .filter(|&(i, _)| i == 0 || i > drop)
            .map(|(_, &t)| t)
            .collect();
        ids.push(toks);
        answers.push(q.answer);
        evidence.push(vec![q.evidence[0] - drop, m - drop]);
    }
    let v = serde_json::json!({"held_out": {"input_ids": ids, "answer": answers,
        "evidence_position": evidence}});
    let d = scratch("own");
    let p = d.join("own.json");
    std::fs::write(&p, v.to_string()).unwrap();
    let set = KnownAnswerSet::load(&p).unwrap();
    assert_eq!(set.pad, None);
    assert_eq!(set.sequences[3].tokens.len(), 13);
    let (code, out, err) = hattn(&[
        "faithfulness",
        "--checkpoint",
        CK,
        "--data",
        p.to_str().unwrap(),
        "--methods",
        "mixer-raw-abs,random",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("perturbation test is skipped"), "{out}");
    let (code, out, _) = hattn(&[
        "faithfulness",
        "--checkpoint",
        CK,
        "--data",
        p.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code, 0);
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["sequences"], 4);
    let best = r["methods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["method"] == RECOMMENDED.name())
        .unwrap();
    assert!(best["mark"].is_null() && best["perturbation"].is_null());
    // two evidence positions: chance of the best rank is higher than with one
    assert!(r["chance"]["top1"].as_f64().unwrap() > 2.0 / 16.0);
    assert_eq!(best["evidence"]["top1"], 1.0, "{best}");
}

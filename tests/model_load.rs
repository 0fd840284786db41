//! Checkpoint loading: both naming schemes, F32/F16/BF16, sharded files, tied and separate
//! `lm_head` — and every kind of bad input, with a fuzz-style test over corrupted headers.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use hidden_attention::model::{write_safetensors, Checkpoint, Logits, MambaModel, StoreDtype};
use hidden_attention::Error;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const TINY: &str = "tests/data/golden/checkpoints/tiny-mamba-a";
const TOKENS: [usize; 12] = [3, 20, 49, 41, 5, 26, 8, 19, 40, 63, 48, 45];

type Tensors = Vec<(String, Vec<usize>, Vec<f64>, StoreDtype)>;

fn tiny_tensors(dtype: StoreDtype) -> Tensors {
    let ck = Checkpoint::open(Path::new(TINY)).unwrap();
    ck.names()
        .map(|n| {
            let shape = ck.shape(n).unwrap().to_vec();
            (
                n.to_string(),
                shape.clone(),
                ck.tensor::<f64>(n, &shape, "").unwrap(),
                dtype,
            )
        })
        .collect()
}

fn tiny_config() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(Path::new(TINY).join("config.json")).unwrap())
        .unwrap()
}

fn scratch(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = std::env::temp_dir().join(format!(
        "hattn-{}-{tag}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write_dir(tag: &str, config: &serde_json::Value, tensors: &Tensors) -> PathBuf {
    let d = scratch(tag);
    std::fs::write(
        d.join("config.json"),
        serde_json::to_string(config).unwrap(),
    )
    .unwrap();
    std::fs::write(
        d.join("model.safetensors"),
        write_safetensors(tensors).unwrap(),
    )
    .unwrap();
    d
}

fn logits(dir: &Path) -> Vec<f64> {
    MambaModel::<f64>::load(dir)
        .unwrap()
        .forward(&TOKENS, Logits::All)
        .unwrap()
        .logits
}

#[test]
fn mamba_ssm_naming_and_config() {
    let mut t = tiny_tensors(StoreDtype::F32);
    for x in &mut t {
        if x.0 == "backbone.embeddings.weight" {
            x.0 = "backbone.embedding.weight".into();
        }
    }
    let cfg = serde_json::json!({
        "d_model": 16, "n_layer": 2, "vocab_size": 61, "pad_vocab_size_multiple": 8,
        "ssm_cfg": {"d_state": 4, "dt_rank": 1}, "rms_norm": true, "tie_embeddings": true
    });
    let d = write_dir("ssm", &cfg, &t);
    let m = MambaModel::<f64>::load(&d).unwrap();
    assert_eq!(m.config.vocab_size, 64);
    assert_eq!(m.config.d_inner, 32);
    assert_eq!(
        m.forward(&TOKENS, Logits::All).unwrap().logits,
        logits(Path::new(TINY))
    );
}

#[test]
fn half_precision_weights_load_exactly() {
    for dtype in [StoreDtype::F16, StoreDtype::BF16] {
        let d = write_dir("half", &tiny_config(), &tiny_tensors(dtype));
        let ck = Checkpoint::open(&d).unwrap();
        assert_eq!(
            ck.dtype("backbone.norm_f.weight").unwrap(),
            if dtype == StoreDtype::F16 {
                "F16"
            } else {
                "BF16"
            }
        );
        let m = MambaModel::<f64>::load(&d).unwrap();
        let f32m = MambaModel::<f64>::load(Path::new(TINY)).unwrap();
        for (a, b) in m.embedding.iter().zip(&f32m.embedding) {
            let r = match dtype {
                StoreDtype::F16 => half::f16::from_f64(*b).to_f64(),
                _ => half::bf16::from_f64(*b).to_f64(),
            };
            assert_eq!(*a, r);
        }
        let l = m.forward(&TOKENS, Logits::All).unwrap().logits;
        let r = logits(Path::new(TINY));
        let err = l
            .iter()
            .zip(&r)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(err < 0.2, "{dtype:?}: {err}");
    }
}

#[test]
fn sharded_checkpoint_equals_single_file() {
    let t = tiny_tensors(StoreDtype::F32);
    let d = scratch("shard");
    std::fs::write(
        d.join("config.json"),
        serde_json::to_string(&tiny_config()).unwrap(),
    )
    .unwrap();
    let (a, b): (Tensors, Tensors) = t
        .into_iter()
        .partition(|x| x.0.contains("layers.0") || x.0.contains("embeddings"));
    std::fs::write(
        d.join("model-00001-of-00002.safetensors"),
        write_safetensors(&a).unwrap(),
    )
    .unwrap();
    std::fs::write(
        d.join("model-00002-of-00002.safetensors"),
        write_safetensors(&b).unwrap(),
    )
    .unwrap();
    let mut map = serde_json::Map::new();
    for x in &a {
        map.insert(x.0.clone(), "model-00001-of-00002.safetensors".into());
    }
    for x in &b {
        map.insert(x.0.clone(), "model-00002-of-00002.safetensors".into());
    }
    let index = serde_json::json!({"metadata": {}, "weight_map": map});
    std::fs::write(d.join("model.safetensors.index.json"), index.to_string()).unwrap();
    assert_eq!(logits(&d), logits(Path::new(TINY)));
    // an index naming a tensor its shard lacks
    let mut bad = index.clone();
    bad["weight_map"]["backbone.ghost"] = "model-00001-of-00002.safetensors".into();
    std::fs::write(d.join("model.safetensors.index.json"), bad.to_string()).unwrap();
    match MambaModel::<f64>::load(&d) {
        Err(Error::MissingTensor { tensor, .. }) => assert_eq!(tensor, "backbone.ghost"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn separate_lm_head() {
    let mut t = tiny_tensors(StoreDtype::F32);
    let emb = t
        .iter()
        .find(|x| x.0 == "backbone.embeddings.weight")
        .unwrap()
        .clone();
    t.push((
        "lm_head.weight".into(),
        emb.1,
        emb.2.iter().map(|v| 2.0 * v).collect(),
        StoreDtype::F32,
    ));
    let mut cfg = tiny_config();
    cfg["tie_word_embeddings"] = false.into();
    let d = write_dir("head", &cfg, &t);
    let l2 = logits(&d);
    let l1 = logits(Path::new(TINY));
    for (a, b) in l2.iter().zip(&l1) {
        assert!((a - 2.0 * b).abs() < 1e-12 * (1.0 + b.abs()));
    }
    // untied config without lm_head.weight
    let d = write_dir("nohead", &cfg, &tiny_tensors(StoreDtype::F32));
    assert!(
        matches!(MambaModel::<f64>::load(&d), Err(Error::MissingTensor { tensor, .. }) if tensor == "lm_head.weight")
    );
}

#[test]
fn missing_tensor_is_named() {
    let t: Tensors = tiny_tensors(StoreDtype::F32)
        .into_iter()
        .filter(|x| x.0 != "backbone.layers.1.mixer.D")
        .collect();
    let d = write_dir("missing", &tiny_config(), &t);
    let e = MambaModel::<f64>::load(&d).unwrap_err();
    assert!(e.to_string().contains("backbone.layers.1.mixer.D"), "{e}");
    assert!(matches!(e, Error::MissingTensor { .. }));
}

#[test]
fn wrong_shape_names_tensor_and_keys() {
    let mut t = tiny_tensors(StoreDtype::F32);
    for x in &mut t {
        if x.0 == "backbone.layers.0.mixer.x_proj.weight" {
            x.1 = vec![8, 36];
        }
    }
    let d = write_dir("shape", &tiny_config(), &t);
    match MambaModel::<f64>::load(&d) {
        Err(Error::WeightShape {
            tensor,
            expected,
            found,
            hint,
        }) => {
            assert_eq!(tensor, "backbone.layers.0.mixer.x_proj.weight");
            assert_eq!((expected, found), (vec![9, 32], vec![8, 36]));
            assert!(hint.contains("state_size"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn config_weights_disagreement() {
    let mut cfg = tiny_config();
    cfg["state_size"] = 8.into();
    let d = write_dir("cfg", &cfg, &tiny_tensors(StoreDtype::F32));
    assert!(
        matches!(MambaModel::<f64>::load(&d), Err(Error::WeightShape { tensor, .. }) if tensor == "backbone.layers.0.mixer.A_log")
    );
    let mut cfg = tiny_config();
    cfg["num_hidden_layers"] = 1.into();
    let d = write_dir("layers", &cfg, &tiny_tensors(StoreDtype::F32));
    let e = MambaModel::<f64>::load(&d).unwrap_err();
    assert!(
        matches!(&e, Error::Config { key, .. } if key == "num_hidden_layers"),
        "{e}"
    );
    let mut cfg = tiny_config();
    cfg["num_hidden_layers"] = 3.into();
    let d = write_dir("layers3", &cfg, &tiny_tensors(StoreDtype::F32));
    assert!(
        matches!(MambaModel::<f64>::load(&d), Err(Error::MissingTensor { tensor, .. }) if tensor.starts_with("backbone.layers.2."))
    );
    let mut cfg = tiny_config();
    cfg["hidden_size"] = "sixteen".into();
    let d = write_dir("badkey", &cfg, &tiny_tensors(StoreDtype::F32));
    assert!(
        matches!(MambaModel::<f64>::load(&d), Err(Error::Config { key, .. }) if key == "hidden_size")
    );
}

#[test]
fn unsupported_dtype_is_named() {
    let bytes = std::fs::read(Path::new(TINY).join("model.safetensors")).unwrap();
    // rewrite the header: the norm_f weight claims I32 (same byte size as F32)
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let mut header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    header["backbone.norm_f.weight"]["dtype"] = "I32".into();
    let mut h = serde_json::to_vec(&header).unwrap();
    while h.len() % 8 != 0 {
        h.push(b' ');
    }
    let mut out = (h.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&h);
    out.extend_from_slice(&bytes[8 + n..]);
    let d = scratch("dtype");
    std::fs::copy(Path::new(TINY).join("config.json"), d.join("config.json")).unwrap();
    std::fs::write(d.join("model.safetensors"), out).unwrap();
    match MambaModel::<f64>::load(&d) {
        Err(Error::Dtype { tensor, dtype }) => {
            assert_eq!(tensor, "backbone.norm_f.weight");
            assert_eq!(dtype, "I32");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn truncated_and_corrupt_files() {
    let bytes = std::fs::read(Path::new(TINY).join("model.safetensors")).unwrap();
    let p = Path::new("model.safetensors");
    for cut in [0, 5, 8, 100, bytes.len() - 1] {
        let e = Checkpoint::from_bytes(p, bytes[..cut].to_vec()).unwrap_err();
        assert!(matches!(e, Error::Safetensors { .. }), "cut {cut}: {e}");
    }
    let mut huge = bytes.clone();
    huge[..8].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(matches!(
        Checkpoint::from_bytes(p, huge),
        Err(Error::Safetensors { .. })
    ));
    let mut junk = bytes.clone();
    junk[8] = b'[';
    assert!(matches!(
        Checkpoint::from_bytes(p, junk),
        Err(Error::Safetensors { .. })
    ));
}

#[test]
fn fuzz_corrupted_headers_never_panic() {
    let bytes = std::fs::read(Path::new(TINY).join("model.safetensors")).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    let p = Path::new("fuzz.safetensors");
    let (mut errs, mut oks) = (0, 0);
    for _ in 0..400 {
        let mut b = bytes.clone();
        match rng.gen_range(0..4) {
            0 => {
                let i = rng.gen_range(0..8 + n);
                b[i] = rng.gen();
            }
            1 => {
                for _ in 0..rng.gen_range(1..8) {
                    let i = rng.gen_range(8..8 + n);
                    b[i] = b"0123456789,[]{}\":"[rng.gen_range(0..17)];
                }
            }
            2 => b.truncate(rng.gen_range(0..bytes.len())),
            _ => {
                let i = rng.gen_range(0..8);
                b[i] ^= 1 << rng.gen_range(0..8);
            }
        }
        let res = std::panic::catch_unwind(|| {
            Checkpoint::from_bytes(p, b).and_then(|ck| {
                let cfg = hidden_attention::model::MambaConfig::load(
                    &Path::new(TINY).join("config.json"),
                )?;
                MambaModel::<f64>::from_checkpoint(cfg, &ck)
            })
        });
        match res.expect("loading must not panic") {
            Ok(_) => oks += 1,
            Err(e) => {
                errs += 1;
                assert!(!e.to_string().is_empty());
            }
        }
    }
    assert!(errs > 300, "{errs} errors, {oks} benign corruptions");
}

#[test]
fn bad_tokens() {
    let m = MambaModel::<f64>::load(Path::new(TINY)).unwrap();
    match m.forward(&[1, 2, 64, 3], Logits::All) {
        Err(Error::TokenId {
            position,
            id,
            vocab,
        }) => assert_eq!((position, id, vocab), (2, 64, 64)),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        m.forward(&[], Logits::All),
        Err(Error::EmptyTokens)
    ));
    assert!(matches!(
        m.forward_batch(&[vec![1, 2], vec![3]], Logits::All),
        Err(Error::InvalidArgument { .. })
    ));
}

#[test]
fn npy_and_png_outputs() {
    use hidden_attention::model::heatmap::{grid, Heatmap};
    use hidden_attention::model::npy::npy_bytes;
    let b = npy_bytes(&[2, 3], &[1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
    assert_eq!(&b[..8], b"\x93NUMPY\x01\x00");
    let hl = u16::from_le_bytes([b[8], b[9]]) as usize;
    assert_eq!((10 + hl) % 64, 0);
    let header = std::str::from_utf8(&b[10..10 + hl]).unwrap();
    assert!(
        header.contains("'descr': '<f4'") && header.contains("'shape': (2, 3)"),
        "{header}"
    );
    assert_eq!(&b[10 + hl..10 + hl + 4], &1.0f32.to_le_bytes());
    // the format 1.0 header numpy's reader accepts: a Python dict literal with exactly
    // these keys, padded with spaces and ended by '\n', data right after, in C order
    assert_eq!(
        header.strip_suffix('\n').unwrap().trim_end_matches(' '),
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
    );
    assert_eq!(b.len(), 10 + hl + 6 * 4);
    let b = npy_bytes(&[3], &[1.0f64, -2.0, 0.5]).unwrap();
    let hl = u16::from_le_bytes([b[8], b[9]]) as usize;
    let header = std::str::from_utf8(&b[10..10 + hl]).unwrap();
    assert_eq!(
        header.strip_suffix('\n').unwrap().trim_end_matches(' '),
        "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }"
    );
    assert_eq!(&b[10 + hl + 8..10 + hl + 16], &(-2.0f64).to_le_bytes());
    assert!(npy_bytes(&[2, 2], &[1.0f64]).is_err());
    let h = Heatmap::attention(
        3,
        vec![1.0, 0.0, 0.0, -0.5, 2.0, 0.0, 0.1, 0.2, 0.3],
        "test",
    );
    let img = h.render();
    let png = img.png_bytes().unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(img.width > 100 && img.height > 100);
    let g = grid(&[h.clone(), h], 2, "grid");
    assert!(g.width > 0);
}

#[test]
fn nice_ticks_are_round_and_inside() {
    use hidden_attention::model::heatmap::nice_ticks;
    let t = nice_ticks(-2.58e-4, 2.58e-4, 5);
    let labels: Vec<&str> = t.iter().map(|x| x.1.as_str()).collect();
    assert_eq!(labels, ["-2e-4", "-1e-4", "0", "1e-4", "2e-4"]);
    let t = nice_ticks(0.0, 0.97, 5);
    let labels: Vec<&str> = t.iter().map(|x| x.1.as_str()).collect();
    assert_eq!(labels, ["0", "0.2", "0.4", "0.6", "0.8"]);
    let t = nice_ticks(-1.0, 1.0, 5);
    let labels: Vec<&str> = t.iter().map(|x| x.1.as_str()).collect();
    assert_eq!(labels, ["-1", "-0.5", "0", "0.5", "1"]);
    for (lo, hi, k) in [(0.0099, 0.207, 3), (-3.0, 1234.0, 6), (1e-9, 3e-9, 4)] {
        let t = nice_ticks(lo, hi, k);
        assert!(t.len() >= 2 && t.len() <= k.max(2), "{lo} {hi}: {t:?}");
        assert!(t.iter().all(|x| x.0 >= lo - 1e-12 && x.0 <= hi + 1e-12));
    }
}

//! `hattn attn`, `hattn explain` and `hattn golden` on checkpoint cases: outputs and exit
//! codes (0 pass, 1 mismatch, 2 invalid input).

use std::path::{Path, PathBuf};
use std::process::Command;

const TINY: &str = "tests/data/golden/checkpoints/tiny-mamba-a";
const TOKENS: &str = "3,20,49,41,5,26,8,19,40,63,48,45";

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

fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("hattn-cli-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn read_npy_f64(p: &Path) -> (String, Vec<f64>) {
    let b = std::fs::read(p).unwrap();
    assert_eq!(&b[..6], b"\x93NUMPY");
    let hl = u16::from_le_bytes([b[8], b[9]]) as usize;
    let header = String::from_utf8(b[10..10 + hl].to_vec()).unwrap();
    let data = b[10 + hl..]
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    (header, data)
}

#[test]
fn attn_writes_png_and_npy_matching_the_golden_matrix() {
    let d = scratch("attn");
    let (png, npy) = (d.join("a.png"), d.join("a.npy"));
    let (code, out, err) = hattn(&[
        "attn",
        "--checkpoint",
        TINY,
        "--tokens",
        TOKENS,
        "--layer",
        "1",
        "--channel",
        "5",
        "--png",
        png.to_str().unwrap(),
        "--npy",
        npy.to_str().unwrap(),
        "--labels",
        "the,cat,sat,on,a,mat,and,then,it,ran,far,away",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(&std::fs::read(&png).unwrap()[..8], b"\x89PNG\r\n\x1a\n");
    let (header, data) = read_npy_f64(&npy);
    assert!(header.contains("'shape': (12, 12)"), "{header}");
    let case = hidden_attention::golden::load_checkpoint_case(Path::new(TINY)).unwrap();
    let e = &case.hidden_attention[1];
    let expected = &e.data()[5 * 144..6 * 144];
    let err = data
        .iter()
        .zip(expected)
        .fold(0.0f64, |a, (x, y)| a.max((x - y).abs()));
    assert!(err < 1e-9, "{err:e}");
}

#[test]
fn attn_grids_mean_and_mixer() {
    let d = scratch("grid");
    for (extra, shape) in [
        (vec!["--layer", "0"], "(16, 12, 12)"),
        (vec!["--layer", "0", "--mean"], "(12, 12)"),
        (vec!["--mean"], "(2, 12, 12)"),
        (
            vec!["--layer", "0", "--channel", "3", "--mixer"],
            "(12, 12)",
        ),
        (vec!["--layer", "1", "--f32", "--grid", "4"], "(4, 12, 12)"),
    ] {
        let npy = d.join("g.npy");
        let png = d.join("g.png");
        let mut args = vec![
            "attn",
            "--checkpoint",
            TINY,
            "--tokens",
            TOKENS,
            "--png",
            png.to_str().unwrap(),
            "--npy",
            npy.to_str().unwrap(),
        ];
        args.extend(extra.iter());
        let (code, out, err) = hattn(&args);
        assert_eq!(code, 0, "{extra:?}: {out}{err}");
        let b = std::fs::read(&npy).unwrap();
        let hl = u16::from_le_bytes([b[8], b[9]]) as usize;
        let header = String::from_utf8(b[10..10 + hl].to_vec()).unwrap();
        assert!(header.contains(shape), "{extra:?}: {header}");
    }
}

#[test]
fn attn_and_explain_reject_bad_input() {
    let (code, _, err) = hattn(&[
        "attn",
        "--npy",
        "never-written.npy",
        "--checkpoint",
        TINY,
        "--tokens",
        "1,64",
        "--layer",
        "0",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("position 1") && err.contains("64"), "{err}");
    let (code, _, err) = hattn(&[
        "attn",
        "--npy",
        "never-written.npy",
        "--checkpoint",
        TINY,
        "--tokens",
        "1,2",
        "--layer",
        "5",
    ]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = hattn(&[
        "attn",
        "--npy",
        "never-written.npy",
        "--checkpoint",
        "/nonexistent/dir",
        "--tokens",
        "1",
    ]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = hattn(&[
        "explain",
        "--checkpoint",
        TINY,
        "--tokens",
        "1,2",
        "--method",
        "raw",
        "--target-pos",
        "2",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("target_pos"), "{err}");
}

#[test]
fn explain_methods() {
    let d = scratch("explain");
    for method in ["raw", "rollout", "attr"] {
        let (png, npy) = (
            d.join(format!("{method}.png")),
            d.join(format!("{method}.npy")),
        );
        let (code, out, err) = hattn(&[
            "explain",
            "--checkpoint",
            TINY,
            "--tokens",
            TOKENS,
            "--method",
            method,
            "--target-pos",
            "11",
            "--png",
            png.to_str().unwrap(),
            "--npy",
            npy.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{method}: {out}{err}");
        assert!(png.exists());
        let (_, data) = read_npy_f64(&npy);
        assert_eq!(data.len(), 144);
        if method == "attr" {
            assert!(out.contains("explained logit"), "{out}");
        }
    }
}

#[test]
fn golden_checkpoint_exit_codes() {
    // `tests/data/checkpoints` links to the golden copy's checkpoints: both paths work.
    for path in [TINY, "tests/data/checkpoints/tiny-mamba-a"] {
        let (code, out, err) = hattn(&["golden", path]);
        assert_eq!(code, 0, "{path}: {out}{err}");
        assert!(
            out.contains("PASS") && !out.contains("FAIL"),
            "{path}: {out}"
        );
    }
    let (code, out, _) = hattn(&["golden", TINY]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("tiny-mamba-a/logits") && out.contains("tiny-mamba-a/hidden_attention"),
        "{out}"
    );
    assert!(!out.contains("SKIP"));
    // a mismatch: exit 1
    let d = scratch("golden-bad");
    for f in ["config.json", "model.safetensors"] {
        std::fs::copy(Path::new(TINY).join(f), d.join(f)).unwrap();
    }
    let mut v: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(TINY).join("expected.json")).unwrap(),
    )
    .unwrap();
    let x = v["logits"]["data"][5].as_f64().unwrap();
    v["logits"]["data"][5] = (x + 0.01).into();
    std::fs::write(d.join("expected.json"), v.to_string()).unwrap();
    let (code, out, _) = hattn(&["golden", d.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL"));
    // invalid: a truncated safetensors file, exit 2
    let bytes = std::fs::read(Path::new(TINY).join("model.safetensors")).unwrap();
    std::fs::write(d.join("model.safetensors"), &bytes[..bytes.len() / 2]).unwrap();
    let (code, _, err) = hattn(&["golden", d.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("safetensors"), "{err}");
}

#[cfg(feature = "text")]
const MAMBA2: &str = "tests/data/golden/checkpoints/tiny-mamba2-a";

/// A word-level tokenizer built here and saved as tokenizer.json: the k-th word below gets
/// id 3 + 4k, "[UNK]" 63, and "zebra" 64 (not below the tiny models' vocabulary of 64).
#[cfg(feature = "text")]
fn tokenizer_json(d: &Path) -> PathBuf {
    use tokenizers::models::wordlevel::WordLevel;
    use tokenizers::pre_tokenizers::whitespace::Whitespace;
    use tokenizers::Tokenizer;
    let words = [
        "the", "cat", "sat", "on", "a", "mat", "and", "then", "it", "ran",
    ];
    let mut vocab: std::collections::HashMap<String, u32> = words
        .iter()
        .enumerate()
        .map(|(k, w)| (w.to_string(), 3 + 4 * k as u32))
        .collect();
    vocab.insert("[UNK]".into(), 63);
    vocab.insert("zebra".into(), 64);
    let model = WordLevel::builder()
        .vocab(vocab.into_iter().collect())
        .unk_token("[UNK]".into())
        .build()
        .unwrap();
    let mut tok = Tokenizer::new(model);
    tok.with_pre_tokenizer(Some(Whitespace {}));
    let p = d.join("tokenizer.json");
    tok.save(&p, false).unwrap();
    p
}

#[cfg(feature = "text")]
#[test]
fn text_through_a_tokenizer_labels_the_axes() {
    let d = scratch("text");
    let tj = tokenizer_json(&d);
    let text = "the cat sat on a mat";
    // the ids the tokenizer gives: 3 + 4k for the k-th word of the vocabulary
    let ids = "3,7,11,15,19,23";
    for (ckpt, unit) in [(TINY, "--channel"), (MAMBA2, "--head")] {
        let (svg, npy_t, npy_i) = (d.join("t.svg"), d.join("t.npy"), d.join("i.npy"));
        let base = ["attn", "--checkpoint", ckpt, "--layer", "0", unit, "1"];
        let mut args = base.to_vec();
        args.extend(["--text", text, "--tokenizer", tj.to_str().unwrap()]);
        args.extend([
            "--svg",
            svg.to_str().unwrap(),
            "--npy",
            npy_t.to_str().unwrap(),
        ]);
        let (code, out, err) = hattn(&args);
        assert_eq!(code, 0, "{ckpt}: {out}{err}");
        let mut args = base.to_vec();
        args.extend(["--tokens", ids, "--npy", npy_i.to_str().unwrap()]);
        let (code, out, err) = hattn(&args);
        assert_eq!(code, 0, "{ckpt}: {out}{err}");
        // the same matrix as from the ids themselves
        assert_eq!(read_npy_f64(&npy_t), read_npy_f64(&npy_i), "{ckpt}");
        let s = std::fs::read_to_string(&svg).unwrap();
        let doc = roxmltree::Document::parse(&s).unwrap();
        let texts: Vec<&str> = doc
            .descendants()
            .filter(|n| n.has_tag_name("text"))
            .filter_map(|n| n.text())
            .map(str::trim)
            .collect();
        for w in ["the", "cat", "sat", "on", "a", "mat", "query position i"] {
            assert!(texts.contains(&w), "{ckpt}: {w:?} not in {texts:?}");
        }
        let (png, npy) = (d.join("e.png"), d.join("e.npy"));
        let (code, out, err) = hattn(&[
            "explain",
            "--checkpoint",
            ckpt,
            "--text",
            text,
            "--tokenizer",
            tj.to_str().unwrap(),
            "--target-pos",
            "5",
            "--method",
            "raw",
            "--png",
            png.to_str().unwrap(),
            "--npy",
            npy.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{ckpt}: {out}{err}");
        assert!(out.contains("mat"), "{out}");
        assert_eq!(&std::fs::read(&png).unwrap()[..8], b"\x89PNG\r\n\x1a\n");
    }
    // an id the model does not have: the typed token error
    let (code, _, err) = hattn(&[
        "attn",
        "--checkpoint",
        TINY,
        "--text",
        "the zebra",
        "--tokenizer",
        tj.to_str().unwrap(),
        "--npy",
        d.join("z.npy").to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("token 64 at position 1 is not below the vocabulary size 64"),
        "{err}"
    );
    // --text excludes --tokens and needs --tokenizer; a bad tokenizer file is named
    let (code, _, err) = hattn(&[
        "attn",
        "--npy",
        "never-written.npy",
        "--checkpoint",
        TINY,
        "--tokens",
        "1",
        "--text",
        "a",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--text"), "{err}");
    let (code, _, err) = hattn(&[
        "explain",
        "--checkpoint",
        TINY,
        "--text",
        "a",
        "--target-pos",
        "0",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--tokenizer"), "{err}");
    let bogus = d.join("bogus.json");
    std::fs::write(&bogus, "{}").unwrap();
    let (code, _, err) = hattn(&[
        "attn",
        "--npy",
        "never-written.npy",
        "--checkpoint",
        TINY,
        "--text",
        "a",
        "--tokenizer",
        bogus.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("tokenizer") && err.contains("bogus.json"),
        "{err}"
    );
}

#[test]
fn figures_by_extension() {
    let d = scratch("ext");
    let (svg, png) = (d.join("m.svg"), d.join("m.PNG"));
    let (code, out, err) = hattn(&[
        "attn",
        "--checkpoint",
        TINY,
        "--tokens",
        "3,20,49,41",
        "--layer",
        "1",
        "--channel",
        "5",
        "--out",
        svg.to_str().unwrap(),
        "--png",
        png.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(std::fs::read_to_string(&svg).unwrap().starts_with("<svg"));
    assert_eq!(&std::fs::read(&png).unwrap()[..8], b"\x89PNG\r\n\x1a\n");
    for bad in ["m.jpg", "m"] {
        let p = d.join(bad);
        let (code, _, err) = hattn(&[
            "attn",
            "--checkpoint",
            TINY,
            "--tokens",
            "3,20",
            "--png",
            p.to_str().unwrap(),
        ]);
        assert_eq!(code, 2, "{err}");
        assert!(
            err.contains("`out`") && err.contains(".svg or .png"),
            "{err}"
        );
        assert!(!p.exists());
        let (code, _, err) = hattn(&[
            "explain",
            "--checkpoint",
            TINY,
            "--tokens",
            "3,20",
            "--target-pos",
            "1",
            "--svg",
            p.to_str().unwrap(),
        ]);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("`out`"), "{err}");
    }
}

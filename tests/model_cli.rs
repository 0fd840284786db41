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
        "--checkpoint",
        TINY,
        "--tokens",
        "1,2",
        "--layer",
        "5",
    ]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = hattn(&["attn", "--checkpoint", "/nonexistent/dir", "--tokens", "1"]);
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

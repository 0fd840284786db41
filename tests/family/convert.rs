//! `hattn convert --from <member>` and `hattn family-attn`.

use super::*;

fn data(rel: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(rel)
        .to_string_lossy()
        .into_owned()
}

fn family_cases() -> Vec<(String, Value)> {
    let dir = PathBuf::from(data("golden/family"));
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let v: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
            (p.to_string_lossy().into_owned(), v)
        })
        .filter(|(_, v)| v["kind"] != "ssd")
        .collect()
}

fn floats(t: &Value) -> Vec<f64> {
    t["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// The hidden attention of one converted object, in f64 (α̃ computed exactly).
fn matrix_of(doc: &Value) -> (usize, Vec<f64>) {
    let m = match from_value(doc).unwrap().object {
        Object::Matrix(m) => m,
        Object::Channel(c) => hidden_attention::ssm::attention_matrix(&c).unwrap(),
        Object::TimeVarying(t) => t.attention(),
        other => panic!("unexpected object {other:?}"),
    };
    (m.rows(), m.data().iter().map(Field::to_f64).collect())
}

/// `A v` of every converted head reproduces the case's `expected.o` to 1e-12, reading `v`
/// and `o` in the reference's own layout (time-major for GLA, simple GLA and Gated DeltaNet;
/// `(B, T, D)` with one head per feature for HGRN and RG-LRU).
fn check_against_expected(kind: &str, case: &Value, out: &Value) -> usize {
    let o = floats(&case["expected"]["o"]);
    let elementwise = matches!(kind, "hgrn" | "rglru");
    let time_major = matches!(kind, "gla" | "simple_gla" | "gated_delta_rule");
    let (v, vshape) = if elementwise {
        (floats(&case["inputs"]["x"]), &case["inputs"]["x"]["shape"])
    } else {
        (floats(&case["inputs"]["v"]), &case["inputs"]["v"]["shape"])
    };
    let sh: Vec<usize> = vshape
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect();
    let (h, dv) = (
        out["heads"].as_u64().unwrap() as usize,
        out["value_dim"].as_u64().unwrap() as usize,
    );
    let idx = |b: usize, hh: usize, t: usize, c: usize| -> usize {
        if elementwise {
            (b * sh[1] + t) * sh[2] + hh
        } else if time_major {
            ((b * sh[1] + t) * sh[2] + hh) * sh[3] + c
        } else {
            ((b * sh[1] + hh) * sh[2] + t) * sh[3] + c
        }
    };
    let objects = out["objects"].as_array().unwrap();
    assert_eq!(
        objects.len(),
        sh[0] * h,
        "{kind}: one object per (batch, head)"
    );
    let mut compared = 0;
    for obj in objects {
        let (b, hh) = (
            obj["batch"].as_u64().unwrap() as usize,
            obj["head"].as_u64().unwrap() as usize,
        );
        let (l, a) = matrix_of(&obj["document"]);
        for t in 0..l {
            for c in 0..dv {
                let got: f64 = (0..l).map(|s| a[t * l + s] * v[idx(b, hh, s, c)]).sum();
                let want = o[idx(b, hh, t, c)];
                assert!(
                    (got - want).abs() <= 1e-12 + 1e-12 * want.abs(),
                    "{kind} batch {b} head {hh} o[{t}][{c}]: {got} vs {want}"
                );
                compared += 1;
            }
        }
    }
    compared
}

/// Every member converts from its golden case (f64): `--to matrix` for every case,
/// `--to realisation` and `--to channel` for the small ones, and `A v` (α̃ v) reproduces
/// `expected.o` — for the matrix-transition members `--to channel` is the T18 channel
/// (their random transitions are invertible).
#[test]
fn convert_from_every_member_reproduces_its_golden_case() {
    let mut members = std::collections::BTreeSet::new();
    for (file, case) in family_cases() {
        let kind = case["kind"].as_str().unwrap();
        members.insert(kind.to_string());
        let small = file.contains("_s7_");
        for to in ["matrix", "realisation", "channel"] {
            if to != "matrix" && !small {
                continue;
            }
            let (code, out, err) = hattn(&["convert", "--from", kind, "--to", to, &file]);
            assert_eq!(code, 0, "{file} --to {to}: {err}");
            let out: Value = serde_json::from_str(&out).unwrap();
            assert_eq!(out["field"], "f64");
            assert_eq!(out["to"], to);
            let n = check_against_expected(kind, &case, &out);
            assert!(n > 0, "{file}");
        }
    }
    assert_eq!(members.len(), 9, "{members:?}");
}

fn write_tmp(name: &str, v: &Value) -> String {
    let dir = std::env::temp_dir().join(format!("hattn-family-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_string(v).unwrap()).unwrap();
    p.to_string_lossy().into_owned()
}

fn exact_matrix(doc: &Value) -> hidden_attention::tensor::Matrix<Exact> {
    assert_eq!(doc["field"], "rational", "{doc}");
    match from_value(doc).unwrap().object {
        Object::Matrix(m) => m,
        Object::Channel(c) => hidden_attention::ssm::attention_matrix(&c).unwrap(),
        Object::TimeVarying(t) => t.attention(),
        other => panic!("unexpected object {other:?}"),
    }
}

/// Rational layers convert exactly: the channel's α̃ and the realisation's equal the
/// implicit attention A as rationals, and A has the entries of the closed form.
#[test]
fn convert_from_rational_layers_is_exact() {
    // GLA, B = 1, T = 3, H = 1, K = 1, V = 1 (time-major); scale 1, gates given as values
    let gla = json!({"kind": "gla", "params": {"scale": "1"}, "inputs": {
        "q": {"shape": [1, 3, 1, 1], "data": ["1", "2", "-1/3"]},
        "k": {"shape": [1, 3, 1, 1], "data": ["1/2", "3", "5"]},
        "v": {"shape": [1, 3, 1, 1], "data": [1, 1, 1]},
        "gates": {"shape": [1, 3, 1, 1], "data": ["7", "1/3", "2/5"]}}});
    // RWKV-6, B = 1, H = 1, T = 3, K = 2 (head-major), default scale 2^(-1/2)·… refused,
    // so scale given; one decay entry 0 at the last step (never divided by)
    let rwkv = json!({"inputs": {
        "q": {"shape": [1, 1, 3, 2], "data": ["1", "2", "1/2", "-1", "3", "1"]},
        "k": {"shape": [1, 1, 3, 2], "data": ["2", "1", "1/3", "1", "-2", "4"]},
        "v": {"shape": [1, 1, 3, 1], "data": ["1", "1", "1"]},
        "gates": {"shape": [1, 1, 3, 2], "data": ["1/2", "3", "1/5", "2/3", "0", "1"]},
        "u": {"shape": [1, 2], "data": ["3/2", "-1"]}}, "params": {"scale": "1/2"}});
    for (member, layer) in [("gla", &gla), ("rwkv6", &rwkv)] {
        let file = write_tmp(&format!("{member}.json"), layer);
        let run = |to: &str| -> Value {
            let (code, out, err) = hattn(&["convert", "--from", member, "--to", to, &file]);
            assert_eq!(code, 0, "{member} --to {to}: {err}");
            let v: Value = serde_json::from_str(&out).unwrap();
            assert_eq!(v["objects"].as_array().unwrap().len(), 1);
            v["objects"][0]["document"].clone()
        };
        let a = exact_matrix(&run("matrix"));
        let channel = run("channel");
        assert_eq!(exact_matrix(&channel), a, "{member}: channel α̃ ≠ A");
        let real = run("realisation");
        assert_eq!(real["kind"], "sss_channel");
        assert_eq!(exact_matrix(&real), a, "{member}: realisation α̃ ≠ A");
        let r = |s: &str| hidden_attention::scalar::parse_exact(s).unwrap();
        if member == "gla" {
            // A[2][0] = q_2 g_2 g_1 k_0 = (-1/3)(2/5)(1/3)(1/2); A[1][1] = q_1 k_1 = 6
            assert_eq!(*a.get(2, 0), r("-1/45"));
            assert_eq!(*a.get(1, 1), r("6"));
            assert_eq!(channel["state"], 1);
        } else {
            // A[2][0] = (1/2)(q_2 ⊙ w_1 ⊙ k_0) = (1/2)(3·(1/5)·2 + 1·(2/3)·1) = 14/15;
            // A[1][1] = (1/2) q_1·(u ⊙ k_1) = (1/2)((1/2)(3/2)(1/3) + (-1)(-1)(1)) = 5/8
            assert_eq!(*a.get(2, 0), r("14/15"));
            assert_eq!(*a.get(1, 1), r("5/8"));
            assert_eq!(channel["state"], 4);
        }
    }
}

/// Bad input exits 2 naming the one wrong thing.
#[test]
fn convert_from_bad_layers_exit_2_naming_the_field() {
    let gla_file = data("golden/family/gla_s7_b1_h2_l9_k4_v3.json");
    let case: Value = serde_json::from_str(&std::fs::read_to_string(&gla_file).unwrap()).unwrap();
    let (code, _, err) = hattn(&["convert", "--from", "mamba", "--to", "matrix", &gla_file]);
    assert_eq!(code, 2);
    assert!(err.contains("--from") && err.contains("\"mamba\""), "{err}");
    let (code, _, err) = hattn(&["convert", "--from", "hgrn", "--to", "matrix", &gla_file]);
    assert_eq!(code, 2);
    assert!(err.contains("`kind`") && err.contains("\"gla\""), "{err}");
    let edit = |f: &dyn Fn(&mut Value)| {
        let mut c = case.clone();
        f(&mut c);
        c
    };
    let exact = json!({"inputs": {
        "q": {"shape": [1, 1, 1, 1], "data": ["1"]}, "k": {"shape": [1, 1, 1, 1], "data": ["1"]},
        "v": {"shape": [1, 1, 1, 1], "data": ["1"]}, "gates": {"shape": [1, 1, 1, 1], "data": ["1/2"]}}});
    let exact_edit = |f: &dyn Fn(&mut Value)| {
        let mut c = exact.clone();
        f(&mut c);
        c
    };
    let bad: Vec<(&str, Value, &str)> = vec![
        (
            "missing",
            edit(&|c| {
                c["inputs"].as_object_mut().unwrap().remove("v");
            }),
            "`inputs.v`",
        ),
        (
            "shape",
            edit(&|c| c["inputs"]["k"]["shape"] = json!([1, 9, 2, 2])),
            "`inputs.k.data`",
        ),
        (
            "shape2",
            edit(&|c| {
                c["inputs"]["k"]["shape"] = json!([1, 9, 4, 2]);
            }),
            "`inputs.k`",
        ),
        (
            "param",
            edit(&|c| c["params"]["chunk"] = json!(4)),
            "`params.chunk`",
        ),
        (
            "nonrational",
            exact_edit(&|c| c["inputs"]["q"]["data"][0] = json!("1/x")),
            "`inputs.q.data[0]`",
        ),
        (
            "zero",
            exact_edit(&|c| c["inputs"]["k"]["data"][0] = json!("1/0")),
            "`inputs.k.data[0]`",
        ),
        (
            "float",
            exact_edit(&|c| c["inputs"]["v"]["data"][0] = json!(0.5)),
            "`inputs.v.data[0]`",
        ),
        (
            "loggate",
            exact_edit(&|c| {
                let g = c["inputs"]["gates"].clone();
                c["inputs"]["gk"] = g;
            }),
            "`inputs.gk`",
        ),
        (
            "scale",
            exact_edit(&|c| {
                for n in ["q", "k"] {
                    c["inputs"][n] = json!({"shape": [1, 1, 1, 2], "data": ["1", "1"]});
                }
                c["inputs"]["gates"] = json!({"shape": [1, 1, 1, 2], "data": ["1", "1"]});
            }),
            "`params.scale`",
        ),
    ];
    for (what, layer, field) in bad {
        let file = write_tmp(&format!("bad-{what}.json"), &layer);
        let (code, out, err) = hattn(&["convert", "--from", "gla", "--to", "matrix", &file]);
        assert_eq!(code, 2, "{what}: {out}");
        assert!(err.contains(field), "{what}: expected {field} in {err}");
    }
}

/// `hattn family-attn` writes a PNG heatmap of one head, an SVG grid and the `.npy`, and
/// refuses a head out of range by name.
#[test]
fn family_attn_writes_heatmaps() {
    let file = data("golden/family/rwkv6_s7_b1_h2_l9_k4_v3.json");
    let dir = std::env::temp_dir().join(format!("hattn-family-attn-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (png, svg, npy) = (dir.join("a.png"), dir.join("g.svg"), dir.join("a.npy"));
    let p = |x: &PathBuf| x.to_string_lossy().into_owned();
    let (code, out, err) = hattn(&[
        "family-attn",
        "--from",
        "rwkv6",
        &file,
        "--head",
        "1",
        "--out",
        &p(&png),
        "--npy",
        &p(&npy),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(std::fs::read(&png)
        .unwrap()
        .starts_with(b"\x89PNG\r\n\x1a\n"));
    let npy_bytes = std::fs::read(&npy).unwrap();
    assert!(npy_bytes.starts_with(b"\x93NUMPY"));
    assert!(String::from_utf8_lossy(&npy_bytes[..128]).contains("(9, 9)"));
    let (code, _, err) = hattn(&["family-attn", "--from", "rwkv6", &file, "--out", &p(&svg)]);
    assert_eq!(code, 0, "{err}");
    assert!(std::fs::read_to_string(&svg).unwrap().contains("<svg"));
    let (code, _, err) = hattn(&[
        "family-attn",
        "--from",
        "rwkv6",
        &file,
        "--head",
        "2",
        "--out",
        &p(&png),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("`head`"), "{err}");
}

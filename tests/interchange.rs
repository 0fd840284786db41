//! Interchange format: round trips, typed errors naming the field, and `hattn convert`.

use std::process::Command;

use hidden_attention::construct::{channel_to_gated_head, gated_head_to_channel};
use hidden_attention::interchange::{parse, to_string_pretty, Document, NumberField, Object};
use hidden_attention::ssm::attention_matrix as alpha;
use hidden_attention::strategies;
use hidden_attention::Error;
use proptest::prelude::*;

fn round_trip(doc: &Document) -> Document {
    parse(&to_string_pretty(doc)).expect("written documents parse")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Channel → JSON → channel, head → JSON → head, and the T2a/T3 round trip through
    /// JSON, all exact.
    #[test]
    fn channel_and_head_round_trip((ch, _) in strategies::rational_channel_with_input(1..=6, 1..=3)) {
        let doc = Document { field: NumberField::Rational, object: Object::Channel(ch.clone()) };
        prop_assert_eq!(round_trip(&doc), doc);
        let head = Document { field: NumberField::Rational, object: Object::GatedHead(channel_to_gated_head(&ch)) };
        let Object::GatedHead(h) = round_trip(&head).object else { panic!("kind") };
        prop_assert_eq!(gated_head_to_channel(&h).unwrap(), ch.clone());
        let m = Document { field: NumberField::Rational, object: Object::Matrix(alpha(&ch).unwrap()) };
        prop_assert_eq!(round_trip(&m), m);
    }

    /// f64 documents keep field f64 when every value is a double.
    #[test]
    fn f64_channel_round_trip((ch, _) in strategies::mamba_like_channel_with_input::<f64>(1..=6, 1..=3)) {
        let doc = Document { field: NumberField::F64, object: Object::Channel(ch.to_exact()) };
        let back = round_trip(&doc);
        prop_assert_eq!(back.field, NumberField::F64);
        prop_assert_eq!(back, doc);
    }

    /// Softmax heads and plain linear heads round trip.
    #[test]
    fn softmax_and_linear_round_trip(h in strategies::rational_softmax_head(1..=5, 1..=2), l in strategies::rational_linear_head(1..=5, 1..=2)) {
        let d = Document { field: NumberField::Rational, object: Object::SoftmaxHead(h) };
        prop_assert_eq!(round_trip(&d), d);
        let d = Document { field: NumberField::Rational, object: Object::LinearHead(l) };
        prop_assert_eq!(round_trip(&d), d);
    }
}

fn field_of(text: &str) -> String {
    match parse(text) {
        Err(Error::Interchange { field, .. }) => field,
        other => panic!("expected an interchange error, got {other:?}"),
    }
}

#[test]
fn bad_documents_name_the_field() {
    let ch = r#"{"kind":"s6_channel","field":"rational","len":2,"state":1,"a_bar":[["1"],["1/2"]],"b_bar":[[1],[2]],"c":[[1],[1]]}"#;
    assert!(parse(ch).is_ok());
    assert_eq!(field_of(&ch.replace(r#","c":[[1],[1]]"#, "")), "c");
    assert_eq!(
        field_of(&ch.replace(
            r#""a_bar":[["1"],["1/2"]]"#,
            r#""a_bar":[["1"],["1/2","3"]]"#
        )),
        "a_bar[1]"
    );
    assert_eq!(
        field_of(&ch.replace(r#"["1/2"]"#, r#"["1/0"]"#)),
        "a_bar[1][0]"
    );
    assert_eq!(field_of(&ch.replace("s6_channel", "conv1d")), "kind");
    assert_eq!(field_of(&ch.replace(r#""rational""#, r#""f16""#)), "field");
    assert_eq!(field_of(&ch.replace(r#""len":2"#, r#""len":3"#)), "a_bar");
    assert_eq!(
        field_of(&ch.replace("[[1],[2]]", "[[0.5],[2]]")),
        "b_bar[0][0]"
    );
    assert_eq!(
        field_of(&ch.replace(r#""state":1"#, r#""state":-1"#)),
        "state"
    );
    assert_eq!(field_of("[1, 2]"), "$");
    assert_eq!(field_of("{"), "$");
    let head = r#"{"kind":"linear_head","field":"f64","len":1,"dim":1,"q":[[1.5]],"k":[[2]]}"#;
    assert_eq!(field_of(head), "gates");
    assert_eq!(
        field_of(&head.replace("[[1.5]]", r#"[["1.5"]]"#)),
        "q[0][0]"
    );
    // gated head: ragged gates, zero denominator in a gate
    let gated = r#"{"kind":"linear_head","field":"rational","len":2,"dim":2,"q":[[1,2],[3,4]],"k":[[1,0],[0,1]],"gates":[["1/2",1],[1,"1/3"]]}"#;
    assert!(matches!(parse(gated).unwrap().object, Object::GatedHead(_)));
    assert_eq!(
        field_of(&gated.replace(r#"[1,"1/3"]"#, r#"[1]"#)),
        "gates[1]"
    );
    assert_eq!(
        field_of(&gated.replace(r#""1/2""#, r#""1/0""#)),
        "gates[0][0]"
    );
    assert_eq!(field_of(&gated.replace(r#","k":[[1,0],[0,1]]"#, "")), "k");
    assert_eq!(field_of(&gated.replace(r#""dim":2,"#, "")), "dim");
    // softmax head: missing or zero-denominator scale, wrong kind for its fields
    let soft = r#"{"kind":"softmax_head","field":"rational","len":1,"dim":1,"q":[[1]],"k":[[2]],"scale":"1/2"}"#;
    assert!(matches!(
        parse(soft).unwrap().object,
        Object::SoftmaxHead(_)
    ));
    assert_eq!(field_of(&soft.replace(r#","scale":"1/2""#, "")), "scale");
    assert_eq!(field_of(&soft.replace(r#""1/2""#, r#""3/0""#)), "scale");
    assert_eq!(field_of(&soft.replace("softmax_head", "Softmax")), "kind");
    assert_eq!(
        field_of(&soft.replace(r#""kind":"softmax_head","#, "")),
        "kind"
    );
    let m = r#"{"kind":"matrix","field":"rational","rows":2,"data":[[1,0],[1]]}"#;
    assert_eq!(field_of(m), "data[1]");
    let msg = parse(m).unwrap_err().to_string();
    assert!(msg.contains("data[1]") && msg.contains("ragged"), "{msg}");
}

fn hattn(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_hattn"))
        .args(args)
        .output()
        .expect("run hattn");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn convert_command_line() {
    let dir = std::env::temp_dir().join(format!("hattn-convert-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ch = dir.join("ch.json");
    std::fs::write(
        &ch,
        r#"{"kind":"s6_channel","field":"rational","len":3,"state":2,
            "a_bar":[["1/2","1"],["1/3",0],["2","1/2"]],
            "b_bar":[[1,"1/2"],[2,1],["-1",3]],
            "c":[[1,1],["1/2",2],[3,"-1"]]}"#,
    )
    .unwrap();
    let p = |f: &std::path::Path| f.to_str().unwrap().to_string();
    // channel → matrix: the exact α̃ of docs/constructions.md
    let (rc, out, _) = hattn(&["convert", "--to", "matrix", &p(&ch)]);
    assert_eq!(rc, 0);
    let Object::Matrix(m) = parse(&out).unwrap().object else {
        panic!("matrix")
    };
    assert_eq!(m.get(2, 1).to_string(), "23/2");
    let mfile = dir.join("m.json");
    std::fs::write(&mfile, &out).unwrap();
    // matrix → minimal channel → matrix reproduces it, with N = 2
    let cfile = dir.join("min.json");
    let (rc, _, _) = hattn(&[
        "convert",
        "--to",
        "channel",
        "--minimal",
        "--out",
        &p(&cfile),
        &p(&mfile),
    ]);
    assert_eq!(rc, 0);
    let Object::Channel(c) = parse(&std::fs::read_to_string(&cfile).unwrap())
        .unwrap()
        .object
    else {
        panic!("channel")
    };
    assert_eq!(c.state(), 2);
    assert_eq!(alpha(&c).unwrap(), m);
    // channel → head → channel is the identity
    let (rc, head, _) = hattn(&["convert", "--to", "head", &p(&ch)]);
    assert_eq!(rc, 0);
    let hfile = dir.join("head.json");
    std::fs::write(&hfile, head).unwrap();
    let (rc, back, _) = hattn(&["convert", "--to", "channel", &p(&hfile)]);
    assert_eq!(rc, 0);
    assert_eq!(
        parse(&back).unwrap(),
        parse(&std::fs::read_to_string(&ch).unwrap()).unwrap()
    );
    // T2b refuses a zero transition, naming it
    let (rc, _, err) = hattn(&["convert", "--to", "head", "--ungated", &p(&ch)]);
    assert_eq!(rc, 2);
    assert!(err.contains("Ā[1][1] = 0"), "{err}");
    // a bad document is a typed error naming the field
    let bad = dir.join("bad.json");
    std::fs::write(
        &bad,
        r#"{"kind":"matrix","field":"rational","rows":2,"data":[[1,0],["1/0",1]]}"#,
    )
    .unwrap();
    let (rc, _, err) = hattn(&["convert", "--to", "channel", &p(&bad)]);
    assert_eq!(rc, 2);
    assert!(
        err.contains("data[1][0]") && err.contains("zero denominator"),
        "{err}"
    );
    // an upper entry is refused by T5
    std::fs::write(
        &bad,
        r#"{"kind":"matrix","field":"rational","rows":2,"data":[[1,5],[0,1]]}"#,
    )
    .unwrap();
    let (rc, _, err) = hattn(&["convert", "--to", "channel", &p(&bad)]);
    assert_eq!(rc, 2);
    assert!(err.contains("(0, 1)"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn check_accepts_theorem_ids() {
    let (rc, out, _) = hattn(&["check", "--cases", "3", "T5"]);
    assert_eq!(rc, 0, "{out}");
    assert!(out.contains("T5") && !out.contains("\nT1 "), "{out}");
    let (rc, _, err) = hattn(&["check", "--cases", "1", "T99"]);
    assert_eq!(rc, 2);
    assert!(err.contains("unknown theorem"), "{err}");
}

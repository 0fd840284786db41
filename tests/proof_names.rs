//! Every Coq name the API documentation cites exists in `proofs/`.
//!
//! The syntax: in a doc comment (`///` or `//!`, consecutive lines read as one text),
//! `Coq: ` followed by a list of backticked identifiers separated by `, `, e.g.
//! ``Coq: `scan_within_output_bound`, `relu_bound_sound` ``. The list ends at the first
//! item that is not a backticked identifier (a file path, a word, a parenthesis). Each
//! listed name must be declared in `proofs/*.v` as a `Theorem`, `Lemma`, `Corollary`,
//! `Proposition`, `Fact` or `Remark`, or — for docs that cite the Coq counterpart of a
//! Rust function — as a `Definition` or `Fixpoint`. The float bounds, T7's bound, the
//! Δ → 0 bound and the exp remainder must be cited this way.
//!
//! Needs no Coq installation: it reads the sources only.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The Coq declaration keywords that count as a proven statement.
const PROVEN: [&str; 6] = [
    "Theorem",
    "Lemma",
    "Corollary",
    "Proposition",
    "Fact",
    "Remark",
];
/// The keywords of a Coq definition (the counterpart of a Rust function).
const DEFINED: [&str; 2] = ["Definition", "Fixpoint"];

fn files_with_ext(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files_with_ext(&p, ext, out);
        } else if p.extension().is_some_and(|e| e == ext) {
            out.push(p);
        }
    }
}

fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '\'')
}

/// The names cited after each `Coq: ` in `text`, with their byte offsets.
fn cited_names_at(text: &str) -> Vec<(usize, String)> {
    let mut names = Vec::new();
    for (start, _) in text.match_indices("Coq: ") {
        let mut at = start + "Coq: ".len();
        loop {
            let rest = &text[at..];
            let Some(after) = rest.strip_prefix('`') else {
                break;
            };
            let Some(end) = after.find('`') else { break };
            let name = &after[..end];
            if !is_ident(name) {
                break;
            }
            names.push((at + 1, name.to_string()));
            at += 1 + end + 1;
            match text[at..].strip_prefix(", ") {
                Some(r) if r.starts_with('`') => at += 2,
                _ => break,
            }
        }
    }
    names
}

/// The names cited after each `Coq: ` in `text`.
fn cited_names(text: &str) -> Vec<String> {
    cited_names_at(text).into_iter().map(|(_, n)| n).collect()
}

/// A doc-comment block: its lines joined by spaces, and the line number at which each
/// byte offset of the joined text starts.
struct DocBlock {
    text: String,
    starts: Vec<(usize, usize)>,
}

impl DocBlock {
    /// The source line (1-based) of byte `offset` of the joined text.
    fn line_of(&self, offset: usize) -> usize {
        self.starts
            .iter()
            .take_while(|(start, _)| *start <= offset)
            .last()
            .map_or(0, |(_, line)| *line)
    }
}

/// The doc-comment blocks (`///` or `//!`, consecutive lines) of a Rust source.
fn doc_blocks(src: &str) -> Vec<DocBlock> {
    let mut blocks = Vec::new();
    let mut current: Option<DocBlock> = None;
    for (k, line) in src.lines().enumerate() {
        let t = line.trim_start();
        let doc = t.strip_prefix("///").or_else(|| t.strip_prefix("//!"));
        match (doc, current.as_mut()) {
            (Some(d), Some(b)) => {
                b.text.push(' ');
                b.starts.push((b.text.len(), k + 1));
                b.text.push_str(d.trim());
            }
            (Some(d), None) => {
                current = Some(DocBlock {
                    text: d.trim().to_string(),
                    starts: vec![(0, k + 1)],
                })
            }
            (None, _) => blocks.extend(current.take()),
        }
    }
    blocks.extend(current);
    blocks
}

/// Every declaration of `proofs/*.v`: name → keyword.
fn coq_declarations() -> BTreeMap<String, String> {
    let mut decls = BTreeMap::new();
    let mut files = Vec::new();
    files_with_ext(&Path::new(ROOT).join("proofs"), "v", &mut files);
    assert!(!files.is_empty(), "no .v file under proofs/");
    for f in files {
        let src = fs::read_to_string(&f).expect("read .v file");
        for line in src.lines() {
            let mut words = line.split_whitespace();
            let (Some(kw), Some(name)) = (words.next(), words.next()) else {
                continue;
            };
            if PROVEN.contains(&kw) || DEFINED.contains(&kw) {
                let name: String = name
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '\'')
                    .collect();
                decls.insert(name, kw.to_string());
            }
        }
    }
    decls
}

/// (file, line, name) of every citation in the docs of `src/`.
fn citations() -> Vec<(String, usize, String)> {
    let mut files = Vec::new();
    files_with_ext(&Path::new(ROOT).join("src"), "rs", &mut files);
    let mut out = Vec::new();
    for f in files {
        let src = fs::read_to_string(&f).expect("read .rs file");
        let rel = f.strip_prefix(ROOT).unwrap_or(&f).display().to_string();
        for block in doc_blocks(&src) {
            for (at, name) in cited_names_at(&block.text) {
                out.push((rel.clone(), block.line_of(at), name));
            }
        }
    }
    out
}

#[test]
fn parser_reads_the_citation_syntax() {
    assert_eq!(
        cited_names("Proven. Coq: `a_b`, `c'` (`proofs/X.v`), then `d`; Coq: `e`."),
        ["a_b", "c'", "e"]
    );
    assert_eq!(
        cited_names("Coq: not formalised (`x`)."),
        Vec::<String>::new()
    );
    assert_eq!(cited_names("Coq: `a` and `b`"), ["a"]);
    let blocks = doc_blocks("/// first Coq: `x`,\n/// `y`\nfn f() {}\n//! Coq: `z`\n");
    assert_eq!(blocks.len(), 2);
    assert_eq!(cited_names(&blocks[0].text), ["x", "y"]);
    let lines: Vec<usize> = cited_names_at(&blocks[0].text)
        .iter()
        .map(|(at, _)| blocks[0].line_of(*at))
        .collect();
    assert_eq!(lines, [1, 2]);
    assert_eq!(cited_names(&blocks[1].text), ["z"]);
    assert_eq!(blocks[1].line_of(0), 4);
}

#[test]
fn every_cited_coq_name_is_declared_in_proofs() {
    let decls = coq_declarations();
    let cites = citations();
    let missing: Vec<String> = cites
        .iter()
        .filter(|(_, _, name)| !decls.contains_key(name))
        .map(|(file, line, name)| format!("{file}:{line}: `{name}`"))
        .collect();
    assert!(
        missing.is_empty(),
        "cited in the docs but not declared in proofs/*.v:\n{}",
        missing.join("\n")
    );
    // the float bounds, T7, the Δ → 0 bound and the exp remainder are cited, as proven
    // statements (not definitions)
    for name in [
        "fmul_model",
        "fadd_model",
        "scan_within_output_bound",
        "scan_within_output_bound_binary64",
        "scan_within_output_bound_binary32",
        "alpha_x_within_output_bound",
        "gated_output_within_output_bound",
        "factored_output_within_output_bound",
        "hidden_attention_entry_error",
        "hidden_attention_within_entry_bound",
        "gated_score_within_entry_bound",
        "hidden_attention_within_fast_entry_bound",
        "pow_le_gamma",
        "relu_gap_spec",
        "relu_gap_pos",
        "relu_bound_sound",
        "relu_bound_exact_entry",
        "relu_bound_le_closed",
        "linear_limit_bound_le_closed",
        "linear_limit_bound_sound",
        "exp_taylor_remainder",
    ] {
        assert!(
            cites.iter().any(|(_, _, n)| n == name),
            "`{name}` is not cited in the docs of src/"
        );
        assert!(
            decls
                .get(name)
                .is_some_and(|kw| PROVEN.contains(&kw.as_str())),
            "`{name}` is not a Theorem/Lemma in proofs/*.v (found {:?})",
            decls.get(name)
        );
    }
}

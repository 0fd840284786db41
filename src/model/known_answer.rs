//! Known-answer sets: sequences whose prediction at the last position has a known right
//! answer and known evidence positions — the ground truth an explanation is scored against
//! ([`crate::model::faithfulness`]).
//!
//! The format is the one of `selective-copy-a`'s `task.json` (documented in
//! `docs/explain.md`):
//!
//! ```json
//! {
//!   "tokens":   {"pad": 43},                  // optional: needed by the perturbation test
//!   "held_out": {
//!     "input_ids":         [[40, 3, 41, 25, 42], ...],
//!     "answer":            [25, ...],          // the right next token at the last position
//!     "evidence_position": [3, ...],           // an index, or a list of indices, per sequence
//!     "mark_position":     [2, ...]            // optional: a second known position (a cue)
//!   }
//! }
//! ```
//!
//! Every other key (task description, training record, …) is ignored. Positions are
//! 0-based input-token indices below the sequence's length.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{Error, Result};

/// One sequence with its known answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownAnswer {
    /// The input token ids.
    pub tokens: Vec<usize>,
    /// The right prediction at the last position.
    pub answer: usize,
    /// The positions that hold the evidence for it (at least one).
    pub evidence: Vec<usize>,
    /// A second known position (selective copy: the MARK cue), if the set gives one.
    pub mark: Option<usize>,
}

/// A known-answer set read from a JSON file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownAnswerSet {
    /// The file it was read from (named in errors).
    pub file: PathBuf,
    /// The id that removes a token (`tokens.pad`), used by the perturbation test.
    pub pad: Option<usize>,
    /// The sequences.
    pub sequences: Vec<KnownAnswer>,
}

fn bad(file: &Path, field: impl Into<String>, reason: impl Into<String>) -> Error {
    Error::CaseFile {
        file: file.to_path_buf(),
        field: field.into(),
        reason: reason.into(),
    }
}

fn as_index(file: &Path, field: &str, v: &Value) -> Result<usize> {
    v.as_u64()
        .and_then(|x| usize::try_from(x).ok())
        .ok_or_else(|| {
            bad(
                file,
                field,
                format!("expected a non-negative integer, found {v}"),
            )
        })
}

fn array<'a>(file: &Path, field: &str, v: Option<&'a Value>) -> Result<&'a Vec<Value>> {
    v.ok_or_else(|| bad(file, field, "missing"))?
        .as_array()
        .ok_or_else(|| bad(file, field, "expected an array"))
}

impl KnownAnswerSet {
    /// Read and check the structure of a known-answer file.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read; [`Error::CaseFile`] naming the field
    /// (e.g. `held_out.evidence_position[3]`) for invalid JSON, a missing or mistyped
    /// field, arrays of different lengths, an empty set or sequence, or a position that is
    /// not below its sequence's length.
    pub fn load(file: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(file).map_err(|source| Error::Io {
            path: file.to_path_buf(),
            source,
        })?;
        let v: Value = serde_json::from_str(&text)
            .map_err(|e| bad(file, "(document)", format!("invalid JSON: {e}")))?;
        Self::from_json(file, &v)
    }

    /// [`KnownAnswerSet::load`] from a parsed document; `file` is named in errors.
    ///
    /// # Errors
    /// As [`KnownAnswerSet::load`].
    pub fn from_json(file: &Path, v: &Value) -> Result<Self> {
        let pad = match v.get("tokens").and_then(|t| t.get("pad")) {
            None | Some(Value::Null) => None,
            Some(p) => Some(as_index(file, "tokens.pad", p)?),
        };
        let h = v
            .get("held_out")
            .ok_or_else(|| bad(file, "held_out", "missing"))?;
        let ids = array(file, "held_out.input_ids", h.get("input_ids"))?;
        let answers = array(file, "held_out.answer", h.get("answer"))?;
        let evidence = array(
            file,
            "held_out.evidence_position",
            h.get("evidence_position"),
        )?;
        let marks = match h.get("mark_position") {
            None | Some(Value::Null) => None,
            m => Some(array(file, "held_out.mark_position", m)?),
        };
        if ids.is_empty() {
            return Err(bad(file, "held_out.input_ids", "no sequences"));
        }
        for (name, len) in [
            ("held_out.answer", answers.len()),
            ("held_out.evidence_position", evidence.len()),
            ("held_out.mark_position", marks.map_or(ids.len(), Vec::len)),
        ] {
            if len != ids.len() {
                return Err(bad(
                    file,
                    name,
                    format!("has {len} entries, held_out.input_ids has {}", ids.len()),
                ));
            }
        }
        let mut sequences = Vec::with_capacity(ids.len());
        for (s, seq) in ids.iter().enumerate() {
            let f = format!("held_out.input_ids[{s}]");
            let toks: Vec<usize> = seq
                .as_array()
                .ok_or_else(|| bad(file, &f, "expected an array of token ids"))?
                .iter()
                .enumerate()
                .map(|(t, x)| as_index(file, &format!("{f}[{t}]"), x))
                .collect::<Result<_>>()?;
            if toks.is_empty() {
                return Err(bad(file, f, "empty sequence"));
            }
            let l = toks.len();
            let pos = |field: String, x: &Value| -> Result<usize> {
                let p = as_index(file, &field, x)?;
                if p >= l {
                    return Err(bad(
                        file,
                        field,
                        format!("position {p} is not below the sequence length {l}"),
                    ));
                }
                Ok(p)
            };
            let ef = format!("held_out.evidence_position[{s}]");
            let ev: Vec<usize> = match &evidence[s] {
                Value::Array(xs) if xs.is_empty() => {
                    return Err(bad(file, ef, "no evidence position"))
                }
                Value::Array(xs) => xs
                    .iter()
                    .enumerate()
                    .map(|(k, x)| pos(format!("{ef}[{k}]"), x))
                    .collect::<Result<_>>()?,
                x => vec![pos(ef, x)?],
            };
            let mark = match marks {
                Some(m) => Some(pos(format!("held_out.mark_position[{s}]"), &m[s])?),
                None => None,
            };
            sequences.push(KnownAnswer {
                answer: as_index(file, &format!("held_out.answer[{s}]"), &answers[s])?,
                tokens: toks,
                evidence: ev,
                mark,
            });
        }
        Ok(Self {
            file: file.to_path_buf(),
            pad,
            sequences,
        })
    }

    /// Check every id (tokens, answers, `pad`) against a vocabulary size.
    ///
    /// # Errors
    /// [`Error::CaseFile`] naming the first id that is not below `vocab`.
    pub fn check_vocab(&self, vocab: usize) -> Result<()> {
        let over = |field: String, id: usize| -> Result<()> {
            if id >= vocab {
                Err(bad(
                    &self.file,
                    field,
                    format!("token id {id} is not below the model's vocabulary size {vocab}"),
                ))
            } else {
                Ok(())
            }
        };
        if let Some(p) = self.pad {
            over("tokens.pad".into(), p)?;
        }
        for (s, q) in self.sequences.iter().enumerate() {
            for (t, &id) in q.tokens.iter().enumerate() {
                over(format!("held_out.input_ids[{s}][{t}]"), id)?;
            }
            over(format!("held_out.answer[{s}]"), q.answer)?;
        }
        Ok(())
    }
}

//! Counterexample reports: a versioned JSON document and its Markdown rendering.
//!
//! Schema (version [`SCHEMA_VERSION`], documented in `docs/reports.md`):
//!
//! ```text
//! { "schema_version": 1, "toolkit_version": "0.1.0",
//!   "conjecture": { "id", "statement", "theorem" },
//!   "search": { "seed", "cases_tried", "case_index", "len", "state", "eps", "dtype", "interrupted" },
//!   "outcome": "counterexample" | "none_found",
//!   "counterexample": { ..case, exact numbers as "p/q" strings.. } | null,
//!   "counterexample_float": { ..the same case as f64 numbers.. } | null,
//!   "certificate": { "kind": .., .. } | null,
//!   "measured": { name: number },
//!   "command": "hattn refute ...", "replay": "hattn replay report.json" }
//! ```
//!
//! Reports read back losslessly: exact numbers are strings `"p/q"`, parsed by
//! [`crate::scalar::parse_exact`].

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::scalar::Exact;

/// Version of the report schema.
pub const SCHEMA_VERSION: u32 = 1;

/// The conjecture a report is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConjectureInfo {
    /// Identifier, e.g. `channel-in-softmax`.
    pub id: String,
    /// Statement, with the parameters of the search filled in.
    pub statement: String,
    /// The theorem of the toolkit it relates to (`T2`, `T6`, …).
    pub theorem: String,
}

/// How the search was run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchInfo {
    /// Seed of the case generator.
    pub seed: u64,
    /// Cases tried.
    pub cases_tried: usize,
    /// Index of the (first) failing case, if any.
    pub case_index: Option<usize>,
    /// Sequence length parameter.
    pub len: usize,
    /// State size parameter.
    pub state: usize,
    /// Tolerance parameter.
    pub eps: f64,
    /// Float type parameter (`f32`, `f64`).
    pub dtype: String,
    /// Step size Δ parameter.
    #[serde(default)]
    pub delta: f64,
    /// Whether the search was interrupted (Ctrl-C) before its budget.
    pub interrupted: bool,
}

/// A counterexample report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Version of the toolkit that wrote it.
    pub toolkit_version: String,
    /// The conjecture.
    pub conjecture: ConjectureInfo,
    /// The search.
    pub search: SearchInfo,
    /// `counterexample` or `none_found`.
    pub outcome: String,
    /// The shrunk counterexample, exact (`"p/q"` strings).
    pub counterexample: Option<Value>,
    /// The same counterexample as floats.
    pub counterexample_float: Option<Value>,
    /// The certificate that the counterexample refutes the conjecture.
    pub certificate: Option<Value>,
    /// Why the certificate refutes the conjecture (the re-check's explanation).
    #[serde(default)]
    pub explanation: Option<String>,
    /// Measured quantities.
    pub measured: BTreeMap<String, f64>,
    /// The command that reproduces the search.
    pub command: String,
    /// The command that re-checks the certificate.
    pub replay: String,
}

impl Report {
    /// Parse a report, naming the field at fault.
    ///
    /// # Errors
    /// [`Error::CaseFile`] with the JSON field (e.g. `certificate.kind`).
    pub fn from_json(file: &Path, text: &str) -> Result<Self> {
        let bad = |field: &str, reason: String| Error::CaseFile {
            file: file.to_path_buf(),
            field: field.into(),
            reason,
        };
        let v: Value = serde_json::from_str(text).map_err(|e| bad("(json)", e.to_string()))?;
        let obj = v
            .as_object()
            .ok_or_else(|| bad("(root)", "not an object".into()))?;
        for key in [
            "schema_version",
            "toolkit_version",
            "conjecture",
            "search",
            "outcome",
            "measured",
            "command",
            "replay",
        ] {
            if !obj.contains_key(key) {
                return Err(bad(key, "missing".into()));
            }
        }
        match obj["schema_version"].as_u64() {
            Some(v) if v == SCHEMA_VERSION as u64 => {}
            _ => return Err(bad("schema_version", format!("expected {SCHEMA_VERSION}"))),
        }
        for (section, keys) in [
            ("conjecture", &["id", "statement", "theorem"][..]),
            (
                "search",
                &["seed", "cases_tried", "len", "state", "eps", "dtype"][..],
            ),
        ] {
            for k in keys {
                if obj[section].get(k).is_none() {
                    return Err(bad(&format!("{section}.{k}"), "missing".into()));
                }
            }
        }
        serde_json::from_value(v).map_err(|e| bad("(schema)", e.to_string()))
    }

    /// Read a report file.
    ///
    /// # Errors
    /// [`Error::Io`] or as [`Report::from_json`].
    pub fn load(file: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(file).map_err(|source| Error::Io {
            path: file.to_path_buf(),
            source,
        })?;
        Self::from_json(file, &text)
    }

    /// Write `report.json` and `report.md` into `dir` (created if needed).
    ///
    /// # Errors
    /// [`Error::Io`].
    pub fn write(&self, dir: &Path) -> Result<()> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| Error::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let j = dir.join("report.json");
        let json = serde_json::to_string_pretty(self).expect("reports are plain data");
        std::fs::write(&j, json + "\n").map_err(io(&j))?;
        let m = dir.join("report.md");
        std::fs::write(&m, self.to_markdown()).map_err(io(&m))?;
        Ok(())
    }

    /// The Markdown rendering of the same report.
    pub fn to_markdown(&self) -> String {
        let mut s = String::new();
        let c = &self.conjecture;
        s += &format!(
            "# `{}` ({}): {}\n\n",
            c.id,
            c.theorem,
            self.outcome.replace('_', " ")
        );
        s += &format!("**Conjecture.** {}\n\n", c.statement);
        let r = &self.search;
        s += &format!(
            "**Search.** seed {}, {} cases tried{}, L = {}, N = {}, ε = {:e}, dtype {}, Δ = {:e}{}.\n\n",
            r.seed,
            r.cases_tried,
            r.case_index.map_or(String::new(), |i| format!(", failing case #{i}")),
            r.len,
            r.state,
            r.eps,
            r.dtype,
            r.delta,
            if r.interrupted { " (interrupted)" } else { "" }
        );
        match (&self.counterexample, &self.certificate) {
            (Some(ce), Some(cert)) => {
                if let Some(e) = &self.explanation {
                    s += &format!("**Why.** {e}\n\n");
                }
                s += "## Counterexample (shrunk, exact)\n\n";
                s += &render_value(ce);
                s += "\n## Certificate\n\n";
                s += &render_value(cert);
                s += "\n";
            }
            _ => s +=
                "No counterexample was found within the budget. This is evidence, not a proof.\n\n",
        }
        if !self.measured.is_empty() {
            s += "## Measured\n\n| quantity | value |\n| --- | --- |\n";
            for (k, v) in &self.measured {
                s += &format!("| {k} | {v:e} |\n");
            }
            s += "\n";
        }
        s += &format!(
            "## Reproduce\n\n```\n{}\n{}\n```\n",
            self.command, self.replay
        );
        s += &format!(
            "\n<sub>schema {} · hidden-attention {}</sub>\n",
            self.schema_version, self.toolkit_version
        );
        s
    }
}

fn render_value(v: &Value) -> String {
    let mut s = String::new();
    if let Some(o) = v.as_object() {
        for (k, x) in o {
            match x {
                Value::Array(rows) if rows.iter().all(Value::is_array) && !rows.is_empty() => {
                    s += &format!("- `{k}` =\n\n");
                    for row in rows {
                        let cells: Vec<String> =
                            row.as_array().unwrap().iter().map(plain).collect();
                        s += &format!("      [{}]\n", cells.join(", "));
                    }
                    s += "\n";
                }
                _ => s += &format!("- `{k}` = {}\n", plain(x)),
            }
        }
    }
    s
}

fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => format!("[{}]", a.iter().map(plain).collect::<Vec<_>>().join(", ")),
        other => other.to_string(),
    }
}

/// Encode an exact number as `"p/q"` (or `"p"`).
pub fn exact_json(x: &Exact) -> Value {
    Value::String(x.to_string())
}

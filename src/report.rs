//! Counterexample reports: a versioned JSON document and its Markdown rendering.
//!
//! Schema (version [`SCHEMA_VERSION`], documented in `docs/reports.md`):
//!
//! ```text
//! { "schema_version": 1, "toolkit_version": "0.1.0",
//!   "conjecture": { "id", "statement", "theorem" },
//!   "search": { "seed", "cases_tried", "case_index", "len", "state", "eps", "dtype", "delta",
//!               "interrupted" },
//!   "outcome": "counterexample" | "evidence" | "unproven_candidate" | "none_found",
//!   "counterexample": { ..case, exact numbers as "p/q" strings.. } | null,
//!   "counterexample_float": { ..the same case as f64 numbers.. } | null,
//!   "certificate": { "kind": .., .. } | null,
//!   "explanation": "why the certificate refutes the conjecture" | null,
//!   "measured": { name: number | "inf" | "-inf" | "nan" },
//!   "command": "hattn refute ...", "replay": "hattn replay report.json" }
//! ```
//!
//! Reports read back losslessly: exact numbers are strings `"p/q"`, parsed by
//! [`crate::scalar::parse_exact`].

use std::collections::BTreeMap;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::scalar::Exact;

/// Version of the report schema.
pub const SCHEMA_VERSION: u32 = 1;

/// The outcomes a report can have, as written in `report.json`.
pub const OUTCOMES: [&str; 4] = [
    "counterexample",
    "evidence",
    "unproven_candidate",
    "none_found",
];

/// What a search found (`outcome` in the schema). Only [`Outcome::Counterexample`] is a
/// proof; `docs/reports.md` says what each certificate rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Outcome {
    /// A violation with a certificate that is a proof (exact rationals, dyadic arithmetic
    /// or rigorous interval enclosures); `hattn replay` re-derives it.
    Counterexample,
    /// A violation shown by a computation that is not a proof (e.g. an enclosure too wide
    /// to decide); `hattn replay` reproduces it but exits with its own code.
    Evidence,
    /// A case where the check failed in a way that proves nothing (e.g. no construction
    /// found a realisation, which does not show that none exists).
    UnprovenCandidate,
    /// No case of the budget violated the conjecture (not a proof that it holds).
    NoneFound,
}

impl Outcome {
    /// The name written in `report.json`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Counterexample => OUTCOMES[0],
            Outcome::Evidence => OUTCOMES[1],
            Outcome::UnprovenCandidate => OUTCOMES[2],
            Outcome::NoneFound => OUTCOMES[3],
        }
    }

    /// Parse the name written in `report.json`.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Outcome::Counterexample,
            Outcome::Evidence,
            Outcome::UnprovenCandidate,
            Outcome::NoneFound,
        ]
        .into_iter()
        .find(|o| o.as_str() == s)
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The number type a search or a check computed in (`search.dtype`: `"exact"`, `"f64"`,
/// `"f32"`). [`crate::refute::Params`] defaults to [`Dtype::F64`]; `hattn refute --dtype`
/// takes `f32` or `f64`; theorem-suite reports also record the exact tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dtype {
    /// Exact rationals.
    Exact,
    /// IEEE binary64.
    #[default]
    F64,
    /// IEEE binary32.
    F32,
}

impl Dtype {
    /// The name written in reports and taken on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Dtype::Exact => "exact",
            Dtype::F64 => "f64",
            Dtype::F32 => "f32",
        }
    }
}

impl std::fmt::Display for Dtype {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Dtype {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        [Dtype::Exact, Dtype::F64, Dtype::F32]
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| format!("`{s}` is not a number type (exact, f64 or f32)"))
    }
}

/// A search parameter that a conjecture may use (`search.parameters`); the seed and the
/// case budget are always used. The report's Markdown and its command line show only the
/// parameters the conjecture uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Parameter {
    /// `len`: the largest sequence length L.
    Len,
    /// `state`: the state size N.
    State,
    /// `eps`: the tolerance ε.
    Eps,
    /// `dtype`: the float type.
    Dtype,
    /// `delta`: the step size Δ.
    Delta,
}

impl Parameter {
    /// Every parameter, in report order.
    pub const ALL: [Parameter; 5] = [
        Parameter::Len,
        Parameter::State,
        Parameter::Eps,
        Parameter::Dtype,
        Parameter::Delta,
    ];
}

fn all_parameters() -> Vec<Parameter> {
    Parameter::ALL.to_vec()
}

fn uses_all(p: &[Parameter]) -> bool {
    p == Parameter::ALL
}

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
    /// Number type parameter.
    pub dtype: Dtype,
    /// Step size Δ parameter.
    #[serde(default)]
    pub delta: f64,
    /// The parameters the conjecture uses (all of them when absent from the JSON).
    #[serde(default = "all_parameters", skip_serializing_if = "uses_all")]
    pub parameters: Vec<Parameter>,
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
    /// What the search found.
    pub outcome: Outcome,
    /// The shrunk counterexample, exact (`"p/q"` strings).
    pub counterexample: Option<Value>,
    /// The same counterexample as floats.
    pub counterexample_float: Option<Value>,
    /// The certificate that the counterexample refutes the conjecture.
    pub certificate: Option<Value>,
    /// Why the certificate refutes the conjecture (the re-check's explanation).
    #[serde(default)]
    pub explanation: Option<String>,
    /// Measured quantities (non-finite values are written as `"inf"`, `"-inf"`, `"nan"`).
    #[serde(with = "measured_value")]
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
        let root = v
            .as_object()
            .ok_or_else(|| bad("(root)", "not an object".into()))?;
        // Every field is read on its own, so that an error names it (`search.eps`, …).
        fn get<T: DeserializeOwned>(
            obj: &serde_json::Map<String, Value>,
            path: &str,
            key: &str,
            optional: bool,
        ) -> std::result::Result<T, (String, String)> {
            let name = if path.is_empty() {
                key.to_string()
            } else {
                format!("{path}.{key}")
            };
            match obj.get(key) {
                None if !optional => Err((name, "missing".into())),
                x => serde_json::from_value(x.cloned().unwrap_or(Value::Null))
                    .map_err(|e| (name, e.to_string())),
            }
        }
        fn section<'a>(
            root: &'a serde_json::Map<String, Value>,
            key: &str,
        ) -> std::result::Result<&'a serde_json::Map<String, Value>, (String, String)> {
            match root.get(key) {
                None => Err((key.into(), "missing".into())),
                Some(x) => x
                    .as_object()
                    .ok_or_else(|| (key.into(), "not an object".into())),
            }
        }
        let parse = || -> std::result::Result<Report, (String, String)> {
            let schema_version: u32 = get(root, "", "schema_version", false)?;
            if schema_version != SCHEMA_VERSION {
                return Err((
                    "schema_version".into(),
                    format!("{schema_version}: this toolkit reads version {SCHEMA_VERSION}"),
                ));
            }
            let c = section(root, "conjecture")?;
            let conjecture = ConjectureInfo {
                id: get(c, "conjecture", "id", false)?,
                statement: get(c, "conjecture", "statement", false)?,
                theorem: get(c, "conjecture", "theorem", false)?,
            };
            let r = section(root, "search")?;
            let search = SearchInfo {
                seed: get(r, "search", "seed", false)?,
                cases_tried: get(r, "search", "cases_tried", false)?,
                case_index: get(r, "search", "case_index", true)?,
                len: get(r, "search", "len", false)?,
                state: get(r, "search", "state", false)?,
                eps: get(r, "search", "eps", false)?,
                dtype: get(r, "search", "dtype", false)?,
                delta: match r.get("delta") {
                    None => 0.0,
                    Some(_) => get(r, "search", "delta", false)?,
                },
                interrupted: get(r, "search", "interrupted", false)?,
                parameters: match r.get("parameters") {
                    None => all_parameters(),
                    Some(_) => get(r, "search", "parameters", false)?,
                },
            };
            let m = section(root, "measured")?;
            let mut measured = BTreeMap::new();
            for (k, x) in m {
                let value = measured_value::parse(x)
                    .ok_or_else(|| (format!("measured.{k}"), format!("not a number: {x}")))?;
                measured.insert(k.clone(), value);
            }
            let name: String = get(root, "", "outcome", false)?;
            let outcome = Outcome::parse(&name).ok_or_else(|| {
                (
                    "outcome".to_string(),
                    format!("`{name}` is not one of {}", OUTCOMES.join(", ")),
                )
            })?;
            Ok(Report {
                schema_version,
                toolkit_version: get(root, "", "toolkit_version", false)?,
                conjecture,
                search,
                outcome,
                counterexample: get(root, "", "counterexample", true)?,
                counterexample_float: get(root, "", "counterexample_float", true)?,
                certificate: get(root, "", "certificate", true)?,
                explanation: get(root, "", "explanation", true)?,
                measured,
                command: get(root, "", "command", false)?,
                replay: get(root, "", "replay", false)?,
            })
        };
        parse().map_err(|(field, reason)| bad(&field, reason))
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
            self.outcome.as_str().replace('_', " ")
        );
        s += &format!("**Conjecture.** {}\n\n", c.statement);
        let r = &self.search;
        let used: String = r
            .parameters
            .iter()
            .map(|p| match p {
                Parameter::Len => format!(", L ≤ {}", r.len),
                Parameter::State => format!(", N = {}", r.state),
                Parameter::Eps => format!(", ε = {:e}", r.eps),
                Parameter::Dtype => format!(", dtype {}", r.dtype),
                Parameter::Delta => format!(", Δ = {:e}", r.delta),
            })
            .collect();
        s += &format!(
            "**Search.** seed {}, {} case{} tried{}{used}{}.\n\n",
            r.seed,
            r.cases_tried,
            if r.cases_tried == 1 { "" } else { "s" },
            r.case_index
                .map_or(String::new(), |i| format!(", failing case #{i}")),
            if r.interrupted { " (interrupted)" } else { "" }
        );
        match (&self.counterexample, &self.certificate) {
            (Some(ce), Some(cert)) => {
                s += match self.outcome {
                    Outcome::Counterexample => {
                        "**Proof.** The certificate below is a proof; the replay command under \
                         *Reproduce* re-derives every number in it from the counterexample.\n\n"
                    }
                    Outcome::Evidence => {
                        "**Evidence, not a proof.** The computation below shows a violation \
                         but does not prove it.\n\n"
                    }
                    _ => {
                        "**Unproven candidate.** The check failed in a way that proves \
                          nothing.\n\n"
                    }
                };
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
                s += &format!("| {k} | {} |\n", readable(*v));
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

/// A number as people read it: plain in [1e-3, 1e6) (shortest round-trip digits),
/// scientific outside.
fn readable(v: f64) -> String {
    if v == 0.0 || (1e-3..1e6).contains(&v.abs()) {
        format!("{v}")
    } else {
        format!("{v:e}")
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
        // An enclosure {lo, hi} of exact rationals: the interval, then its exact ends.
        Value::Object(o) if o.len() == 2 && o.contains_key("lo") && o.contains_key("hi") => {
            format!("[{}, {}]", plain(&o["lo"]), plain(&o["hi"]))
        }
        // A long exact rational: also its approximate value.
        Value::String(s) if s.len() > 24 => match crate::scalar::parse_exact(s) {
            Some(x) => format!("{s} (≈ {:.9e})", crate::scalar::Field::to_f64(&x)),
            None => s.clone(),
        },
        Value::String(s) => s.clone(),
        Value::Array(a) => format!("[{}]", a.iter().map(plain).collect::<Vec<_>>().join(", ")),
        other => other.to_string(),
    }
}

/// Encode an exact number as `"p/q"` (or `"p"`).
pub fn exact_json(x: &Exact) -> Value {
    Value::String(x.to_string())
}

/// JSON for measured values: finite numbers as numbers, the rest as `"inf"`, `"-inf"`,
/// `"nan"` (JSON has no literal for them, and `null` would lose which one it was).
mod measured_value {
    use std::collections::BTreeMap;

    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use serde_json::Value;

    pub fn encode(x: f64) -> Value {
        if x.is_finite() {
            Value::from(x)
        } else if x.is_nan() {
            Value::from("nan")
        } else if x > 0.0 {
            Value::from("inf")
        } else {
            Value::from("-inf")
        }
    }

    pub fn parse(v: &Value) -> Option<f64> {
        match v {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => match &s[..] {
                "inf" => Some(f64::INFINITY),
                "-inf" => Some(f64::NEG_INFINITY),
                "nan" => Some(f64::NAN),
                _ => None,
            },
            _ => None,
        }
    }

    pub fn serialize<S: Serializer>(m: &BTreeMap<String, f64>, s: S) -> Result<S::Ok, S::Error> {
        m.iter()
            .map(|(k, &x)| (k.clone(), encode(x)))
            .collect::<BTreeMap<_, _>>()
            .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, f64>, D::Error> {
        BTreeMap::<String, Value>::deserialize(d)?
            .into_iter()
            .map(|(k, v)| match parse(&v) {
                Some(x) => Ok((k, x)),
                None => Err(D::Error::custom(format!("measured.{k}: not a number: {v}"))),
            })
            .collect()
    }
}

/// One row of a [`SuiteReport`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuiteRow {
    /// Theorem id (`T1` … `T7`).
    pub theorem: String,
    /// Numeric tier (`exact`, `f64`, `f32`).
    pub tier: String,
    /// The theorem's statement.
    pub statement: String,
    /// What cases were drawn.
    pub drawn: String,
    /// Cases checked.
    pub cases: usize,
    /// Cases that passed.
    pub passed: usize,
    /// Largest float error (relative, see the row's tier), `None` for exact rows.
    pub max_float_error: Option<f64>,
    /// Wall time in seconds.
    pub seconds: f64,
    /// The counterexample report of this row's failure, relative to the suite directory.
    pub failure: Option<String>,
}

/// The report of a theorem-suite run (`hattn check --report DIR` writes `suite.json` and
/// `suite.md`; each failing row also gets a counterexample [`Report`] in a subdirectory).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuiteReport {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Version of the toolkit that wrote it.
    pub toolkit_version: String,
    /// Seed of the case generator.
    pub seed: u64,
    /// Cases per row.
    pub cases_per_row: usize,
    /// Whether every row passed.
    pub passed: bool,
    /// The rows, in order.
    pub rows: Vec<SuiteRow>,
    /// The command that reproduces the run.
    pub command: String,
}

impl SuiteReport {
    /// The Markdown rendering.
    pub fn to_markdown(&self) -> String {
        let mut s = format!(
            "# Theorem suite: {}\n\n{} cases per row, seed {}.\n\n",
            if self.passed {
                "all checks passed"
            } else {
                "FAILURES"
            },
            self.cases_per_row,
            self.seed
        );
        s += "| theorem | tier | cases | passed | float error | time | cases drawn | failure |\n";
        s += "| --- | --- | ---: | ---: | ---: | ---: | --- | --- |\n";
        for r in &self.rows {
            s += &format!(
                "| {} | {} | {} | {} | {} | {:.2} s | {} | {} |\n",
                r.theorem,
                r.tier,
                r.cases,
                r.passed,
                r.max_float_error
                    .map_or("exact (==)".into(), |e| format!("{e:.2e}")),
                r.seconds,
                r.drawn,
                r.failure
                    .as_ref()
                    .map_or(String::new(), |f| format!("[report]({f})")),
            );
        }
        s += "\nFloat error: the largest |float − exact| over the row's outputs, relative to the \
              row's magnitude scale (for T1/T2: max_i Σ_j |α̃_ij||x_j|; for T3/T7: the ratio to \
              the proven bound).\n\n";
        let mut statements: Vec<(&str, &str)> = self
            .rows
            .iter()
            .map(|r| (&r.theorem[..], &r.statement[..]))
            .collect();
        statements.dedup();
        s += "## Statements\n\n";
        for (t, st) in statements {
            s += &format!("- **{t}** {st}\n");
        }
        s += &format!(
            "\n## Reproduce\n\n```\n{}\n```\n\n<sub>schema {} · hidden-attention {}</sub>\n",
            self.command, self.schema_version, self.toolkit_version
        );
        s
    }

    /// Write `suite.json` and `suite.md` into `dir` (created if needed).
    ///
    /// # Errors
    /// [`Error::Io`].
    pub fn write(&self, dir: &Path) -> Result<()> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| Error::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let j = dir.join("suite.json");
        let json = serde_json::to_string_pretty(self).expect("reports are plain data");
        std::fs::write(&j, json + "\n").map_err(io(&j))?;
        let m = dir.join("suite.md");
        std::fs::write(&m, self.to_markdown()).map_err(io(&m))?;
        Ok(())
    }
}

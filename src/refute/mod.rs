//! Conjecture refutation: seeded search with shrinking, certificates, replayable reports.
//!
//! A [`Conjecture`] has a statement, a proptest strategy for candidate cases and a check
//! that returns a [`Refutation`] (the case, exactly, and a certificate) when a case
//! violates it. [`search`] draws cases from a seeded ChaCha RNG, shrinks the first
//! violation with proptest's value trees and writes a [`Report`]; [`replay`] re-checks a
//! report's certificate with [`Conjecture::verify`], independently of the search.
//!
//! # Example: a user-defined conjecture
//! ```
//! use hidden_attention::refute::{search, Conjecture, Params, Refutation};
//! use hidden_attention::{scalar::Exact, ssm, strategies};
//! use proptest::strategy::{BoxedStrategy, Strategy};
//! use serde_json::{json, Value};
//!
//! /// "Every channel's α̃ has a nonnegative diagonal" (false: C·B̄ can be negative).
//! struct NonnegativeDiagonal;
//! impl Conjecture for NonnegativeDiagonal {
//!     type Case = ssm::Channel<Exact>;
//!     fn id(&self) -> &'static str { "nonnegative-diagonal" }
//!     fn theorem(&self) -> &'static str { "T1" }
//!     fn statement(&self, _: &Params) -> String { "α̃_ii ≥ 0 for every channel".into() }
//!     fn strategy(&self, p: &Params) -> BoxedStrategy<Self::Case> {
//!         strategies::rational_channel_with_input(1..=p.len, 1..=p.state).prop_map(|(c, _)| c).boxed()
//!     }
//!     fn check(&self, ch: &Self::Case, _: &Params) -> Result<(), Refutation> {
//!         let a = ssm::hidden_attention(ch).unwrap();
//!         match (0..ch.len()).find(|&i| *a.get(i, i) < Exact::from_integer(0.into())) {
//!             None => Ok(()),
//!             Some(i) => Err(Refutation::new(json!({"len": ch.len()}), json!({"row": i}))),
//!         }
//!     }
//!     fn verify(&self, _: &Value, cert: &Value, _: &Params) -> Result<String, String> {
//!         cert.get("row").map(|r| format!("row {r}")).ok_or("no row".into())
//!     }
//! }
//! let report = search(&NonnegativeDiagonal, &Params { len: 3, state: 2, ..Params::default() },
//!                     &Default::default(), || {});
//! assert_eq!(report.outcome, "counterexample");
//! ```

pub mod channel_in_softmax;
pub mod diagonal_realisation;
pub mod factored_float;
pub mod mamba_strict;
pub mod paper_approx;
pub mod softmax_in_channel;
pub mod theorem_check;

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::atomic::{AtomicBool, Ordering};

use proptest::strategy::{BoxedStrategy, Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::Value;

use crate::interchange::{self, Document, NumberField, Object};
use crate::report::{ConjectureInfo, Report, SearchInfo, SCHEMA_VERSION};
use crate::theorems::seed_bytes;

/// Most re-checks spent shrinking one counterexample.
pub const MAX_SHRINK_CHECKS: usize = 512;

/// Parameters of a search (the `hattn refute` options).
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    /// Sequence length (upper bound for generated cases).
    pub len: usize,
    /// State size.
    pub state: usize,
    /// Tolerance.
    pub eps: f64,
    /// Case budget.
    pub cases: usize,
    /// Seed.
    pub seed: u64,
    /// Float type: `f32` or `f64`.
    pub dtype: String,
    /// Step size Δ (for `mamba-strict-linear-attention`).
    pub delta: f64,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            len: 4,
            state: 1,
            eps: 1e-6,
            cases: 256,
            seed: 0,
            dtype: "f64".into(),
            delta: 1e-3,
        }
    }
}

/// An object in the interchange format, exact (`"p/q"` strings).
pub fn exact_doc(object: Object) -> Value {
    interchange::to_value(&Document {
        field: NumberField::Rational,
        object,
    })
}

/// An object in the interchange format as floats (exact strings where a value is not an
/// `f64`).
pub fn float_doc(object: Object) -> Value {
    interchange::to_value(&Document {
        field: NumberField::F64,
        object,
    })
}

/// Parse an interchange object, prefixing errors with `field`.
///
/// # Errors
/// A message naming the field.
pub fn parse_doc(v: &Value, field: &str) -> Result<Object, String> {
    interchange::from_value(v)
        .map(|d| d.object)
        .map_err(|e| format!("{field}.{e}"))
}

/// A rectangular matrix as rows of exact `"p/q"` strings.
pub fn exact_matrix_json(m: &crate::tensor::Matrix<crate::scalar::Exact>) -> Value {
    Value::Array(
        (0..m.rows())
            .map(|i| Value::Array(m.row(i).iter().map(crate::report::exact_json).collect()))
            .collect(),
    )
}

/// Parse rows of `"p/q"` strings (or integers) into a matrix, naming the bad entry.
///
/// # Errors
/// A message naming `field[i][j]` or a ragged row.
pub fn parse_exact_matrix(
    v: &Value,
    field: &str,
) -> Result<crate::tensor::Matrix<crate::scalar::Exact>, String> {
    let rows = v
        .as_array()
        .ok_or(format!("{field}: not an array of rows"))?;
    let mut data = Vec::new();
    let mut cols = None;
    for (i, r) in rows.iter().enumerate() {
        let r = r.as_array().ok_or(format!("{field}[{i}]: not an array"))?;
        if *cols.get_or_insert(r.len()) != r.len() {
            return Err(format!("{field}[{i}]: ragged row"));
        }
        for (j, x) in r.iter().enumerate() {
            let e = match x {
                Value::String(s) => crate::scalar::parse_exact(s),
                Value::Number(n) => n.as_i64().map(|k| crate::scalar::ratio(k, 1)),
                _ => None,
            };
            data.push(e.ok_or(format!(
                "{field}[{i}][{j}]: not a rational \"p/q\" with q ≠ 0"
            ))?);
        }
    }
    crate::tensor::Matrix::from_row_major(rows.len(), cols.unwrap_or(0), data)
        .map_err(|e| format!("{field}: {e}"))
}

/// A non-negative integer field of a certificate.
///
/// # Errors
/// A message naming `certificate.<key>`.
pub fn cert_index(cert: &Value, key: &str) -> Result<usize, String> {
    cert.get(key)
        .and_then(Value::as_u64)
        .map(|v| v as usize)
        .ok_or(format!("certificate.{key}: missing or not an index"))
}

/// An exact rational field (`"p/q"`) of a certificate.
///
/// # Errors
/// A message naming `certificate.<key>`.
pub fn cert_exact(cert: &Value, key: &str) -> Result<crate::scalar::Exact, String> {
    cert.get(key)
        .and_then(Value::as_str)
        .and_then(crate::scalar::parse_exact)
        .ok_or(format!(
            "certificate.{key}: missing or not a rational \"p/q\""
        ))
}

/// A violation: the case (exact and float JSON), the certificate and measured values.
#[derive(Debug, Clone, PartialEq)]
pub struct Refutation {
    /// The case, exact numbers as `"p/q"` strings.
    pub case: Value,
    /// The same case as floats (`Value::Null` if not meaningful).
    pub case_float: Value,
    /// The certificate, re-checkable by [`Conjecture::verify`].
    pub certificate: Value,
    /// Measured quantities.
    pub measured: BTreeMap<String, f64>,
    /// Whether the certificate is a proof. `false` marks an *unproven candidate* (e.g. no
    /// construction found a realisation, which does not show that none exists); the search
    /// reports it with outcome `unproven_candidate` and it does not replay.
    pub certified: bool,
}

impl Refutation {
    /// A certified refutation with no float view and no measurements.
    pub fn new(case: Value, certificate: Value) -> Self {
        Self {
            case,
            case_float: Value::Null,
            certificate,
            measured: BTreeMap::new(),
            certified: true,
        }
    }
}

/// A conjecture that [`search`] can try to refute.
pub trait Conjecture {
    /// A candidate case.
    type Case: Clone + Debug;
    /// Identifier (used on the command line and in reports).
    fn id(&self) -> &'static str;
    /// The theorem of the toolkit it relates to.
    fn theorem(&self) -> &'static str;
    /// The statement with the parameters filled in.
    fn statement(&self, p: &Params) -> String;
    /// Candidate cases.
    fn strategy(&self, p: &Params) -> BoxedStrategy<Self::Case>;
    /// `Ok` if the case satisfies the conjecture, else a refutation with a certificate.
    ///
    /// # Errors
    /// The [`Refutation`].
    fn check(&self, case: &Self::Case, p: &Params) -> Result<(), Refutation>;
    /// Re-check a certificate from its JSON alone (independently of the search);
    /// `Ok` with a one-line explanation, or `Err` saying which part does not hold.
    ///
    /// # Errors
    /// A message naming the failing part.
    fn verify(&self, case: &Value, certificate: &Value, p: &Params) -> Result<String, String>;
}

/// Draw up to `p.cases` cases, stop at the first violation and shrink it; `tick` runs after
/// each case; setting `stop` ends the search early (what was found so far is reported).
pub fn search<C: Conjecture>(
    c: &C,
    p: &Params,
    stop: &AtomicBool,
    mut tick: impl FnMut(),
) -> Report {
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes(p.seed));
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    let strategy = c.strategy(p);
    let mut found = None;
    let mut tried = 0;
    let mut interrupted = false;
    for index in 0..p.cases {
        if stop.load(Ordering::Relaxed) {
            interrupted = true;
            break;
        }
        let Ok(mut tree) = strategy.new_tree(&mut runner) else {
            continue;
        };
        tried += 1;
        tick();
        if let Err(first) = c.check(&tree.current(), p) {
            let mut last = first;
            // Proptest's shrinking loop, capped at MAX_SHRINK_CHECKS re-checks.
            let mut budget = MAX_SHRINK_CHECKS;
            'shrink: loop {
                if stop.load(Ordering::Relaxed) || !tree.simplify() {
                    break;
                }
                loop {
                    if budget == 0 {
                        break 'shrink;
                    }
                    budget -= 1;
                    match c.check(&tree.current(), p) {
                        Err(r) => {
                            last = r;
                            break;
                        }
                        Ok(()) => {
                            if !tree.complicate() {
                                break 'shrink;
                            }
                        }
                    }
                }
            }
            found = Some((index, last));
            break;
        }
    }
    let command = format!(
        "hattn refute {} --len {} --state {} --eps {:e} --cases {} --seed {} --dtype {} --delta {:e}",
        c.id(),
        p.len,
        p.state,
        p.eps,
        p.cases,
        p.seed,
        p.dtype,
        p.delta
    );
    let (case_index, outcome, ce, cef, cert, measured) = match found {
        Some((i, r)) => (
            Some(i),
            if r.certified {
                "counterexample"
            } else {
                "unproven_candidate"
            },
            Some(r.case),
            Some(r.case_float),
            Some(r.certificate),
            r.measured,
        ),
        None => (None, "none_found", None, None, None, BTreeMap::new()),
    };
    let explanation = match (&ce, &cert) {
        (Some(case), Some(cert)) if outcome == "counterexample" => c.verify(case, cert, p).ok(),
        (_, Some(cert)) => cert
            .get("reason")
            .and_then(Value::as_str)
            .map(|r| format!("unproven: {r}")),
        _ => None,
    };
    Report {
        schema_version: SCHEMA_VERSION,
        toolkit_version: env!("CARGO_PKG_VERSION").into(),
        conjecture: ConjectureInfo {
            id: c.id().into(),
            statement: c.statement(p),
            theorem: c.theorem().into(),
        },
        search: SearchInfo {
            seed: p.seed,
            cases_tried: tried,
            case_index,
            len: p.len,
            state: p.state,
            eps: p.eps,
            dtype: p.dtype.clone(),
            delta: p.delta,
            interrupted,
        },
        outcome: outcome.into(),
        counterexample: ce,
        counterexample_float: cef,
        certificate: cert,
        explanation,
        measured,
        command,
        replay: "hattn replay report.json".into(),
    }
}

/// Re-check a report's certificate with `c`.
///
/// # Errors
/// A message naming the part of the report that does not hold.
pub fn replay<C: Conjecture>(c: &C, report: &Report) -> Result<String, String> {
    if report.conjecture.id != c.id() {
        return Err(format!(
            "conjecture.id is `{}`, not `{}`",
            report.conjecture.id,
            c.id()
        ));
    }
    let p = Params {
        len: report.search.len,
        state: report.search.state,
        eps: report.search.eps,
        cases: report.search.cases_tried,
        seed: report.search.seed,
        dtype: report.search.dtype.clone(),
        delta: report.search.delta,
    };
    match (
        &report.outcome[..],
        &report.counterexample,
        &report.certificate,
    ) {
        ("counterexample", Some(case), Some(cert)) => c.verify(case, cert, &p),
        ("counterexample", _, _) => {
            Err("outcome is `counterexample` but counterexample or certificate is missing".into())
        }
        (o, _, _) => Err(format!(
            "outcome is `{o}`: there is no certificate to replay"
        )),
    }
}

/// Dispatch on a built-in conjecture id.
macro_rules! builtin {
    ($id:expr, $c:ident => $body:expr, $unknown:expr) => {
        match $id {
            channel_in_softmax::ID => {
                let $c = &channel_in_softmax::ChannelInSoftmax;
                $body
            }
            diagonal_realisation::ID => {
                let $c = &diagonal_realisation::DiagonalRealisation;
                $body
            }
            factored_float::ID => {
                let $c = &factored_float::FactoredFloat;
                $body
            }
            mamba_strict::ID => {
                let $c = &mamba_strict::MambaStrict;
                $body
            }
            paper_approx::ID => {
                let $c = &paper_approx::PaperApprox;
                $body
            }
            softmax_in_channel::ID => {
                let $c = &softmax_in_channel::SoftmaxInChannel;
                $body
            }
            _ => $unknown,
        }
    };
}

/// The built-in conjectures' ids.
pub fn builtin_ids() -> &'static [&'static str] {
    &[
        softmax_in_channel::ID,
        channel_in_softmax::ID,
        diagonal_realisation::ID,
        paper_approx::ID,
        factored_float::ID,
        mamba_strict::ID,
    ]
}

/// Search with the built-in conjecture `id`.
///
/// # Errors
/// An unknown id.
pub fn search_builtin(
    id: &str,
    p: &Params,
    stop: &AtomicBool,
    tick: impl FnMut(),
) -> Result<Report, String> {
    builtin!(id, c => Ok(search(c, p, stop, tick)), Err(format!("unknown conjecture `{id}` (known: {})", builtin_ids().join(", "))))
}

/// Replay a report of a built-in conjecture or of a theorem-suite failure
/// ([`theorem_check`]).
///
/// # Errors
/// An unknown id or the failing part of the certificate.
pub fn replay_builtin(report: &Report) -> Result<String, String> {
    let id = &report.conjecture.id[..];
    if id.starts_with(theorem_check::PREFIX) {
        return theorem_check::replay(report);
    }
    builtin!(id, c => replay(c, report), Err(format!("conjecture.id: unknown conjecture `{id}`")))
}

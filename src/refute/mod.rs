//! Conjecture refutation: seeded search with shrinking, certificates, replayable reports.
//!
//! A [`Conjecture`] has a statement, a proptest strategy for candidate cases, a JSON form
//! of its cases, and a check that returns a [`Refutation`] (a certificate and its
//! [`Strength`]) when a case violates it. [`search`] draws cases from a seeded ChaCha RNG,
//! shrinks the first violation with proptest's value trees and writes a [`Report`];
//! [`replay()`] recomputes every field of a report from its case and re-checks the
//! certificate with [`Conjecture::verify`], independently of the search.
//!
//! # Example: a user-defined conjecture
//! ```
//! use hidden_attention::refute::{
//!     self, case_docs, json, parse_case_doc, replay, search, BoxedStrategy, Conjecture,
//!     Outcome, Parameter, Params, Refutation, Strategy, Value,
//! };
//! use hidden_attention::{scalar::Exact, ssm, strategies};
//!
//! /// "Every channel's α̃ has a nonnegative diagonal" (false: C·B̄ can be negative).
//! struct NonnegativeDiagonal;
//! impl Conjecture for NonnegativeDiagonal {
//!     type Case = ssm::Channel<Exact>;
//!     fn id(&self) -> &'static str { "nonnegative-diagonal" }
//!     fn theorem(&self) -> &'static str { "T1" }
//!     fn statement(&self, _: &Params) -> String { "α̃_ii ≥ 0 for every channel".into() }
//!     fn parameters(&self) -> &'static [Parameter] { &[Parameter::Len, Parameter::State] }
//!     fn program(&self) -> &'static str { "cargo run --example my_conjectures --" }
//!     fn strategy(&self, p: &Params) -> BoxedStrategy<Self::Case> {
//!         strategies::rational_channel(1..=p.len, 1..=p.state).boxed()
//!     }
//!     fn case_json(&self, ch: &Self::Case, _: &Params) -> (Value, Value) { case_docs(ch) }
//!     fn parse_case(&self, v: &Value, _: &Params) -> Result<Self::Case, String> {
//!         parse_case_doc(v, "counterexample")
//!     }
//!     fn check(&self, ch: &Self::Case, _: &Params) -> Result<(), Refutation> {
//!         let a = ssm::attention_matrix(ch).unwrap();
//!         match (0..ch.len()).find(|&i| *a.get(i, i) < Exact::from_integer(0.into())) {
//!             None => Ok(()),
//!             Some(i) => Err(Refutation::proof(json!({"row": i, "value": a.get(i, i).to_string()}))),
//!         }
//!     }
//!     fn verify(&self, case: &Value, cert: &Value, p: &Params) -> Result<String, String> {
//!         // Recompute from the case alone; the certificate's claim must hold exactly.
//!         let ch = self.parse_case(case, p)?;
//!         let i = cert["row"].as_u64().ok_or("certificate.row: missing")? as usize;
//!         let a = ssm::attention_matrix(&ch).map_err(|e| e.to_string())?;
//!         (i < ch.len() && *a.get(i, i) < Exact::from_integer(0.into()))
//!             .then(|| format!("α̃[{i}][{i}] = {} < 0", a.get(i, i)))
//!             .ok_or("certificate.row: that diagonal entry is not negative".into())
//!     }
//! }
//! let p = Params { len: 3, state: 2, ..Params::default() };
//! let report = search(&NonnegativeDiagonal, &p);
//! assert_eq!(report.outcome, Outcome::Counterexample);
//! assert_eq!(replay(&NonnegativeDiagonal, &report).unwrap().outcome, Outcome::Counterexample);
//! // The report names the user's program and only the parameters the conjecture uses.
//! assert!(report.command.starts_with("cargo run --example my_conjectures -- refute nonnegative-diagonal --len 3 --state 2"));
//! assert!(!report.to_markdown().contains("dtype"));
//! // An edited certificate is rejected, naming the field.
//! let mut edited = report.clone();
//! edited.certificate.as_mut().unwrap()["value"] = json!("-7");
//! let err = replay(&NonnegativeDiagonal, &edited).unwrap_err();
//! assert_eq!(err.field().as_deref(), Some("certificate.value"));
//! // A program of one's own conjectures replays by id; an unknown id is its own error.
//! assert!(refute::replay_any(&[&NonnegativeDiagonal], &report).is_ok());
//! let mut other = report.clone();
//! other.conjecture.id = "something-else".into();
//! assert!(matches!(
//!     refute::replay_any(&[&NonnegativeDiagonal], &other),
//!     Err(refute::ReplayError::UnknownConjecture(_))
//! ));
//! ```
//!
//! A binary that serves such conjectures on the command line (`refute`, `replay`) is one
//! line around [`cli::run`].

pub mod channel_in_softmax;
pub mod cli;
pub mod diagonal_realisation;
pub mod factored_float;
pub mod json;
pub mod mamba_strict;
pub mod matrix_channel;
pub mod paper_approx;
mod replay;
pub mod softmax_in_channel;
pub mod ssd_head_of_channel;
pub mod theorem_check;

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::atomic::{AtomicBool, Ordering};

pub use json::{
    case_docs, cert_exact, cert_index, exact_doc, exact_matrix_json, float_doc, parse_case_doc,
    parse_doc, parse_exact_matrix, InterchangeCase,
};
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
pub use replay::{compare, compare_measured, replay, short_pair, ReplayError, Replayed};

use crate::report::{ConjectureInfo, SearchInfo, SCHEMA_VERSION};
pub use crate::report::{Dtype, Outcome, Parameter, Report};
use crate::shard::Shard;
use crate::theorems::seed_bytes;
/// The proptest types a [`Conjecture::strategy`] returns, re-exported.
pub use proptest::strategy::{BoxedStrategy, Strategy};
/// The JSON types a [`Conjecture`] reads and writes, re-exported.
pub use serde_json::{json, Value};

/// Most re-checks spent shrinking one counterexample.
pub const MAX_SHRINK_CHECKS: usize = 512;

/// The `replay` field of every report of a built-in conjecture.
pub const REPLAY: &str = "hattn replay report.json";

/// Parameters of a search (the `hattn refute` options). Build one with struct update
/// syntax, e.g. `Params { len: 3, state: 2, ..Params::default() }`; the defaults are those
/// of `hattn refute`.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    /// Largest sequence length L of a generated case. Default 4.
    pub len: usize,
    /// State size N. Default 1.
    pub state: usize,
    /// Tolerance ε. Default 1e-6.
    pub eps: f64,
    /// Case budget. Default 256.
    pub cases: usize,
    /// Seed of the case generator (the same seed draws the same cases). Default 0.
    pub seed: u64,
    /// Number type of the float computations. Default [`Dtype::F64`].
    pub dtype: Dtype,
    /// Step size Δ (for `mamba-strict-linear-attention`). Default 1e-3.
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
            dtype: Dtype::F64,
            delta: 1e-3,
        }
    }
}

/// The command line that reproduces a search of conjecture `id` by `program` (`hattn` for
/// the built-in conjectures), with the flags of the parameters it uses.
pub fn command_line(program: &str, id: &str, p: &Params, uses: &[Parameter]) -> String {
    let mut s = format!("{program} refute {id}");
    for u in uses {
        s += &match u {
            Parameter::Len => format!(" --len {}", p.len),
            Parameter::State => format!(" --state {}", p.state),
            Parameter::Eps => format!(" --eps {:e}", p.eps),
            Parameter::Dtype => format!(" --dtype {}", p.dtype),
            Parameter::Delta => format!(" --delta {:e}", p.delta),
        };
    }
    // The order of `hattn refute`'s historical command: cases and seed after eps.
    let tail = format!(" --cases {} --seed {}", p.cases, p.seed);
    match s.find(" --dtype").or_else(|| s.find(" --delta")) {
        Some(at) => s.insert_str(at, &tail),
        None => s += &tail,
    }
    s
}

/// The `hattn refute` command line that reproduces a search of built-in conjecture `id`.
pub fn command(id: &str, p: &Params) -> String {
    command_line("hattn", id, p, &Parameter::ALL)
}

/// The command that replays a report, for `program`.
pub fn replay_command(program: &str) -> String {
    format!("{program} replay report.json")
}

/// How much a [`Refutation`] proves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Strength {
    /// The certificate is a proof (outcome `counterexample`).
    Proof,
    /// The certificate shows a violation without proving it (outcome `evidence`).
    Evidence,
    /// The check failed in a way that proves nothing (outcome `unproven_candidate`); the
    /// certificate's `reason` says why.
    Candidate,
}

impl Strength {
    /// The report outcome of a refutation of this strength.
    pub fn outcome(self) -> Outcome {
        match self {
            Strength::Proof => Outcome::Counterexample,
            Strength::Evidence => Outcome::Evidence,
            Strength::Candidate => Outcome::UnprovenCandidate,
        }
    }
}

/// A violation: the certificate, measured values and how much it proves.
#[derive(Debug, Clone, PartialEq)]
pub struct Refutation {
    /// The certificate, re-checkable by [`Conjecture::verify`].
    pub certificate: Value,
    /// Measured quantities, recomputed (and compared) by [`replay()`].
    pub measured: BTreeMap<String, f64>,
    /// Whether the certificate is a proof, evidence or an unproven candidate.
    pub strength: Strength,
}

impl Refutation {
    /// A refutation of the given strength with no measurements.
    pub fn new(certificate: Value, strength: Strength) -> Self {
        Self {
            certificate,
            measured: BTreeMap::new(),
            strength,
        }
    }
    /// A certificate that is a proof.
    pub fn proof(certificate: Value) -> Self {
        Self::new(certificate, Strength::Proof)
    }
    /// With these measurements.
    pub fn with_measured(mut self, measured: BTreeMap<String, f64>) -> Self {
        self.measured = measured;
        self
    }
}

/// The explanation of an unproven candidate: `unproven: ` and its certificate's `reason`.
pub fn candidate_explanation(certificate: &Value) -> String {
    format!(
        "unproven: {}",
        certificate
            .get("reason")
            .and_then(Value::as_str)
            .unwrap_or("no reason given")
    )
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
    /// The case as JSON: exact (`"p/q"` strings, the document of record) and a float view
    /// of the same structure (`Value::Null` if none).
    fn case_json(&self, case: &Self::Case, p: &Params) -> (Value, Value);
    /// The case back from its exact JSON (and a check that it fits the parameters).
    ///
    /// # Errors
    /// A message naming the field (`counterexample.…`).
    fn parse_case(&self, case: &Value, p: &Params) -> Result<Self::Case, String>;
    /// `Ok` if the case satisfies the conjecture, else a refutation with a certificate.
    /// Must be deterministic: [`replay()`] recomputes it and compares every field.
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
    /// The parameters the conjecture uses (the report shows only these); default: all.
    fn parameters(&self) -> &'static [Parameter] {
        &Parameter::ALL
    }
    /// The program whose `refute` and `replay` subcommands reproduce and replay its
    /// reports: `hattn` for the built-in conjectures; for a user's own conjectures, the
    /// command that runs their binary built on [`cli::run`], e.g.
    /// `"cargo run --example my_conjectures --"`.
    fn program(&self) -> &'static str {
        "hattn"
    }
}

/// A conjecture behind a reference, with its case type erased: what [`cli::run`] and
/// [`replay_any`] take, so that one program can hold several conjectures. Implemented for
/// every [`Conjecture`].
pub trait AnyConjecture {
    /// [`Conjecture::id`].
    fn id(&self) -> &'static str;
    /// [`search_with`] on this conjecture.
    fn search_dyn(&self, p: &Params, stop: &AtomicBool, tick: &mut dyn FnMut()) -> Report;
    /// [`replay()`] on this conjecture.
    ///
    /// # Errors
    /// As [`replay()`].
    fn replay_dyn(&self, report: &Report) -> Result<Replayed, ReplayError>;
}

impl<C: Conjecture> AnyConjecture for C {
    fn id(&self) -> &'static str {
        Conjecture::id(self)
    }
    fn search_dyn(&self, p: &Params, stop: &AtomicBool, tick: &mut dyn FnMut()) -> Report {
        search_with(self, p, stop, tick)
    }
    fn replay_dyn(&self, report: &Report) -> Result<Replayed, ReplayError> {
        replay(self, report)
    }
}

/// Replay a report with whichever of `conjectures` has its `conjecture.id`.
///
/// # Errors
/// [`ReplayError::UnknownConjecture`] if none has, else as [`replay()`].
pub fn replay_any(
    conjectures: &[&dyn AnyConjecture],
    report: &Report,
) -> Result<Replayed, ReplayError> {
    conjectures
        .iter()
        .find(|c| c.id() == report.conjecture.id)
        .ok_or_else(|| ReplayError::UnknownConjecture(report.conjecture.id.clone()))?
        .replay_dyn(report)
}

/// Draw up to `p.cases` cases, stop at the first violation and shrink it: [`search_with`]
/// without interruption or progress.
pub fn search<C: Conjecture>(c: &C, p: &Params) -> Report {
    search_with(c, p, &AtomicBool::new(false), || {})
}

/// Draw up to `p.cases` cases, stop at the first violation and shrink it; `tick` runs after
/// each case; setting `stop` ends the search early (what was found so far is reported).
pub fn search_with<C: Conjecture + ?Sized>(
    c: &C,
    p: &Params,
    stop: &AtomicBool,
    tick: impl FnMut(),
) -> Report {
    search_sharded(c, p, Shard::WHOLE, stop, tick).report
}

/// What shard `$I$` of `$N$` of a search did ([`search_sharded`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ShardSearch {
    /// The report of the whole search if this shard's violation (if any) is the first of
    /// all shards: its `case_index`, and as `cases_tried` the cases drawn through it (every
    /// case, when no shard finds one), with the unsharded `command`.
    pub report: Report,
    /// Cases this shard checked.
    pub cases_run: usize,
    /// Every case of this shard with index below this one was checked (`p.cases` when the
    /// shard ran to the end, one past the violation when it found one).
    pub checked_below: usize,
}

/// Shard `$I$` of `$N$` of [`search`]: the same draws, of which only the cases `$i$` with
/// `$i \bmod N = I$` are checked; the search of this shard stops at its first violation.
///
/// Every case is drawn (so case `$i$` is the same value as in the unsharded search), which
/// also counts the cases tried by the unsharded search up to any index. The unsharded
/// report is the shards' report of least `case_index` ([`crate::shard`]).
pub fn search_sharded<C: Conjecture + ?Sized>(
    c: &C,
    p: &Params,
    shard: Shard,
    stop: &AtomicBool,
    mut tick: impl FnMut(),
) -> ShardSearch {
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes(p.seed));
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    let strategy = c.strategy(p);
    let mut found = None;
    let (mut tried, mut cases_run, mut checked_below) = (0, 0, p.cases);
    let mut interrupted = false;
    for index in 0..p.cases {
        if stop.load(Ordering::Relaxed) {
            interrupted = true;
            checked_below = index;
            break;
        }
        let Ok(mut tree) = strategy.new_tree(&mut runner) else {
            continue;
        };
        tried += 1;
        if !shard.owns(index) {
            continue;
        }
        cases_run += 1;
        tick();
        if let Err(first) = c.check(&tree.current(), p) {
            let mut last = (tree.current(), first);
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
                    let case = tree.current();
                    match c.check(&case, p) {
                        Err(r) => {
                            last = (case, r);
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
            checked_below = index + 1;
            break;
        }
    }
    let (case_index, outcome, ce, cef, cert, measured) = match found {
        Some((i, (case, r))) => {
            let (exact, float) = c.case_json(&case, p);
            (
                Some(i),
                r.strength.outcome(),
                Some(exact),
                (!float.is_null()).then_some(float),
                Some(r.certificate),
                r.measured,
            )
        }
        None => (None, Outcome::NoneFound, None, None, None, BTreeMap::new()),
    };
    let explanation = match (outcome, &ce, &cert) {
        (Outcome::UnprovenCandidate, _, Some(cert)) => Some(candidate_explanation(cert)),
        (_, Some(case), Some(cert)) => c.verify(case, cert, p).ok(),
        _ => None,
    };
    let unused = Params::default();
    let uses = |x: Parameter| c.parameters().contains(&x);
    let report = Report {
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
            // A parameter the conjecture does not use is recorded at its default, which
            // replay requires (the command, which carries only the used ones, cannot
            // vouch for it).
            len: if uses(Parameter::Len) {
                p.len
            } else {
                unused.len
            },
            state: if uses(Parameter::State) {
                p.state
            } else {
                unused.state
            },
            eps: if uses(Parameter::Eps) {
                p.eps
            } else {
                unused.eps
            },
            dtype: if uses(Parameter::Dtype) {
                p.dtype
            } else {
                unused.dtype
            },
            delta: if uses(Parameter::Delta) {
                p.delta
            } else {
                unused.delta
            },
            interrupted,
            parameters: c.parameters().to_vec(),
        },
        outcome,
        counterexample: ce,
        counterexample_float: cef,
        certificate: cert,
        explanation,
        measured,
        command: command_line(c.program(), c.id(), p, c.parameters()),
        replay: replay_command(c.program()),
    };
    ShardSearch {
        report,
        cases_run,
        checked_below,
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
            ssd_head_of_channel::ID => {
                let $c = &ssd_head_of_channel::SsdHeadOfChannel;
                $body
            }
            matrix_channel::DELTANET_ID => {
                let $c = &matrix_channel::DELTANET;
                $body
            }
            matrix_channel::DPLR_ID => {
                let $c = &matrix_channel::DPLR;
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
        ssd_head_of_channel::ID,
        matrix_channel::DELTANET_ID,
        matrix_channel::DPLR_ID,
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
    builtin!(id, c => Ok(search_with(c, p, stop, tick)), Err(format!("unknown conjecture `{id}` (known: {})", builtin_ids().join(", "))))
}

/// Shard `shard` of [`search_builtin`] ([`search_sharded`]).
///
/// # Errors
/// An unknown id.
pub fn search_builtin_sharded(
    id: &str,
    p: &Params,
    shard: Shard,
    stop: &AtomicBool,
    tick: impl FnMut(),
) -> Result<ShardSearch, String> {
    builtin!(id, c => Ok(search_sharded(c, p, shard, stop, tick)), Err(format!("unknown conjecture `{id}` (known: {})", builtin_ids().join(", "))))
}

/// Replay a report of a built-in conjecture or of a theorem-suite failure
/// ([`theorem_check`]): every field recomputed from the case and compared (see
/// [`replay()`]).
///
/// # Errors
/// An unknown id, the first field that disagrees, or why the certificate does not hold.
pub fn replay_builtin(report: &Report) -> Result<Replayed, ReplayError> {
    let id = &report.conjecture.id[..];
    if id.starts_with(theorem_check::PREFIX) {
        return theorem_check::replay(report);
    }
    builtin!(id, c => replay(c, report), Err(ReplayError::UnknownConjecture(id.into())))
}

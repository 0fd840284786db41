//! The report of one shard, `shard.json`: which shard of which run, and what it found.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Shard;
use crate::error::{Error, Result};
use crate::report::{Report, SuiteRow, SCHEMA_VERSION};

/// The file name of a shard's report inside its directory.
pub const SHARD_FILE: &str = "shard.json";

/// The report of shard `$I$` of `$N$` of a seeded run (`shard.json`).
///
/// ```text
/// { "schema_version": 1, "toolkit_version": "0.1.0",
///   "shard": { "index": I, "count": N }, "seed": 0, "cases": C,
///   "case_indices": "i mod N = I, 0 ≤ i < C (k cases)", "cases_run": k,
///   "command": "the unsharded command", "shard_command": "… --shard I/N",
///   "kind": "check", "rows": [ { ..suite row.., "first_failure": i | null } ] }
/// | { …, "kind": "refute", "checked_below": i, "report": { ..counterexample report.. } }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardReport {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Version of the toolkit that wrote it (shards of different versions may draw
    /// different cases, so they are not merged).
    pub toolkit_version: String,
    /// Which shard.
    pub shard: Shard,
    /// Seed of the whole run.
    pub seed: u64,
    /// Cases of the whole run (per row for `check`).
    pub cases: usize,
    /// The shard's case indices in words ([`Shard::describe`]).
    pub case_indices: String,
    /// Cases this shard checked (per row for `check`).
    pub cases_run: usize,
    /// The command of the unsharded run.
    pub command: String,
    /// The command of this shard.
    pub shard_command: String,
    /// What the shard ran and found.
    #[serde(flatten)]
    pub run: ShardRun,
}

/// What a shard ran (`kind` in `shard.json`) and found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ShardRun {
    /// Rows of `hattn check`, in table order.
    Check {
        /// The rows over this shard's cases.
        rows: Vec<ShardRow>,
    },
    /// A search of `hattn refute`.
    Refute {
        /// Every case of this shard below this index was checked
        /// ([`crate::refute::ShardSearch::checked_below`]).
        checked_below: usize,
        /// The report of the whole search if this shard's violation is the first
        /// ([`crate::refute::ShardSearch::report`]).
        report: Box<Report>,
    },
}

impl ShardRun {
    /// `check` or `refute`, as written in `kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            ShardRun::Check { .. } => "check",
            ShardRun::Refute { .. } => "refute",
        }
    }
}

/// One row of `hattn check` over a shard's cases.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardRow {
    /// The row over this shard's cases: `cases`, `passed`, `max_float_error` and `seconds`
    /// of this shard; `failure` is the counterexample report of the shard's first failure,
    /// relative to the shard's directory.
    #[serde(flatten)]
    pub row: SuiteRow,
    /// Case index (in the whole run) of the shard's first failure.
    pub first_failure: Option<usize>,
}

impl ShardReport {
    /// Read a shard report: `path` is `shard.json` or a directory holding one. Returns the
    /// directory (failure reports are relative to it) and the report.
    ///
    /// # Errors
    /// [`Error::Io`] for a missing or unreadable file, [`Error::CaseFile`] naming the field
    /// at fault for one that is not a shard report of this schema version.
    pub fn load(path: &Path) -> Result<(PathBuf, Self)> {
        let file = if path.is_dir() {
            path.join(SHARD_FILE)
        } else {
            path.to_path_buf()
        };
        let text = std::fs::read_to_string(&file).map_err(|source| Error::Io {
            path: file.clone(),
            source,
        })?;
        let bad = |field: &str, reason: String| Error::CaseFile {
            file: file.clone(),
            field: field.into(),
            reason,
        };
        let v: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| bad("(json)", e.to_string()))?;
        match v.get("schema_version").and_then(serde_json::Value::as_u64) {
            Some(s) if s == u64::from(SCHEMA_VERSION) => {}
            Some(s) => {
                return Err(bad(
                    "schema_version",
                    format!("{s}: this toolkit reads version {SCHEMA_VERSION}"),
                ))
            }
            None => return Err(bad("schema_version", "missing: not a shard report".into())),
        }
        for key in ["shard", "kind"] {
            if v.get(key).is_none() {
                return Err(bad(key, "missing: not a shard report".into()));
            }
        }
        let report: Self = serde_json::from_value(v).map_err(|e| bad("(root)", e.to_string()))?;
        Shard::new(report.shard.index, report.shard.count)
            .map_err(|e| bad("shard", e.to_string()))?;
        let dir = file.parent().map_or_else(PathBuf::new, Path::to_path_buf);
        Ok((dir, report))
    }

    /// Write `shard.json` into `dir` (created if needed).
    ///
    /// # Errors
    /// [`Error::Io`].
    pub fn write(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let file = dir.join(SHARD_FILE);
        let json = serde_json::to_string_pretty(self).expect("reports are plain data");
        std::fs::write(&file, json + "\n").map_err(|source| Error::Io { path: file, source })
    }
}

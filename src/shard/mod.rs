//! Sharded runs: the cases of one seeded run split over machines, and the merge of the
//! per-shard reports into the report of the whole run.
//!
//! A seeded run — a row of `hattn check` ([`crate::theorems::run_cases`]) or a search of
//! `hattn refute` ([`crate::refute::search`]) — draws its cases `$0, 1, \dots, C-1$` one after
//! the other from one ChaCha stream seeded by [`crate::theorems::seed_bytes`]`(seed)`. The
//! case index is the unit of sharding: shard `$I$` of `$N$` (**0-based**, `$0 \le I < N$`) checks
//! exactly the cases
//!
//! ```math
//! \{\, i : 0 \le i < C,\ i \bmod N = I \,\}.
//! ```
//!
//! A shard still draws every case before its last one (drawing is cheap next to checking),
//! so case `$i$` is the same value in every shard and in the unsharded run, and the `$N$` shards
//! together check every case of the unsharded run exactly once. [`merge()`] combines their
//! reports ([`ShardReport`], `shard.json`) into the unsharded run's:
//!
//! - `check`: per row, cases and passes add up, the largest float error is the largest of
//!   the shards', the counterexample is the one of least case index (the unsharded run's
//!   first failure, shrunk the same way); only the wall times differ (their sum is reported).
//! - `refute`: the report of least `case_index` (the unsharded search's first violation),
//!   or, when no shard found one, the common "none found" report.
//!
//! # Example
//! ```
//! use hidden_attention::shard::Shard;
//! let s = Shard::parse("1/3").unwrap();
//! assert_eq!((s.index, s.count), (1, 3));
//! let mine: Vec<usize> = (0..8).filter(|&i| s.owns(i)).collect();
//! assert_eq!(mine, [1, 4, 7]);
//! assert_eq!(s.cases_below(8), 3);
//! // only the cases up to the last one of the shard are drawn
//! assert_eq!(s.draws_below(8), 8);
//! assert_eq!(Shard::parse("2/3").unwrap().draws_below(7), 6);
//! // 0-based: 3/3 is out of range, and so is any N = 0
//! assert!(Shard::parse("3/3").is_err());
//! assert!(Shard::parse("0/0").is_err());
//! ```

mod file;
mod merge;

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub use file::{ShardReport, ShardRow, ShardRun, SHARD_FILE};
pub use merge::{merge, MergeProblem, Merged};

/// Shard `index` of `count` (0-based): the cases `$i$` with `$i \bmod \text{count} = \text{index}$`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Shard {
    /// `$I$`, with `$0 \le I < N$`.
    pub index: usize,
    /// `$N \ge 1$`.
    pub count: usize,
}

impl Shard {
    /// The whole run: shard 0 of 1.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Shard `index` of `count`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming `shard` when `count = 0` or `index ≥ count`.
    pub fn new(index: usize, count: usize) -> Result<Self> {
        let bad = |reason: String| Error::InvalidArgument {
            name: "shard".into(),
            reason,
        };
        if count == 0 {
            return Err(bad("N = 0: a run has at least one shard".into()));
        }
        if index >= count {
            return Err(bad(format!(
                "I = {index} is out of range: shards are numbered from 0 to N − 1 = {}",
                count - 1
            )));
        }
        Ok(Self { index, count })
    }

    /// Parse `I/N` (0-based: `0/4` … `3/4` are the four shards of a run).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming `shard`: not of the form `I/N` with two
    /// nonnegative integers, `N = 0`, or `I ≥ N`.
    pub fn parse(s: &str) -> Result<Self> {
        let bad = |reason: String| Error::InvalidArgument {
            name: "shard".into(),
            reason,
        };
        let form = "write I/N, shard I of N counted from 0 (0 ≤ I < N), e.g. 0/4";
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| bad(format!("`{s}` is not of the form I/N: {form}")))?;
        let number = |part: &str, what: &str| {
            part.trim().parse::<usize>().map_err(|_| {
                bad(format!(
                    "{what} `{part}` is not a nonnegative integer: {form}"
                ))
            })
        };
        Self::new(number(i, "I")?, number(n, "N")?)
    }

    /// Whether case `case` belongs to this shard: `$\text{case} \bmod N = I$`.
    pub fn owns(self, case: usize) -> bool {
        case % self.count == self.index
    }

    /// Number of this shard's cases among `$0, \dots, \text{total} - 1$`:
    /// `$\lceil (\text{total} - I) / N \rceil$` when `$I < \text{total}$`, else 0.
    pub fn cases_below(self, total: usize) -> usize {
        if self.index >= total {
            0
        } else {
            (total - 1 - self.index) / self.count + 1
        }
    }

    /// Number of draws this shard makes of a run of `total` cases: one past its last case
    /// (0 when it has none).
    pub fn draws_below(self, total: usize) -> usize {
        match self.cases_below(total) {
            0 => 0,
            k => self.index + (k - 1) * self.count + 1,
        }
    }

    /// The shard's cases in words, e.g. `i mod 3 = 1, 0 ≤ i < 200 (67 cases)`.
    pub fn describe(self, total: usize) -> String {
        let k = self.cases_below(total);
        format!(
            "i mod {} = {}, 0 ≤ i < {total} ({k} case{})",
            self.count,
            self.index,
            if k == 1 { "" } else { "s" }
        )
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shards of every N ≤ 6 partition 0..C for every C ≤ 20: each case in exactly one,
    /// `cases_below` counts it, and `draws_below` is one past the shard's last case.
    #[test]
    fn shards_partition_the_cases() {
        for n in 1..=6 {
            for total in 0..=20 {
                let mut seen = vec![0; total];
                for i in 0..n {
                    let s = Shard::new(i, n).unwrap();
                    let mine: Vec<usize> = (0..total).filter(|&c| s.owns(c)).collect();
                    assert_eq!(s.cases_below(total), mine.len(), "{s} of {total}");
                    assert_eq!(s.draws_below(total), mine.last().map_or(0, |l| l + 1));
                    for c in mine {
                        seen[c] += 1;
                    }
                }
                assert!(
                    seen.iter().all(|&k| k == 1),
                    "N = {n}, C = {total}: {seen:?}"
                );
            }
        }
    }

    #[test]
    fn bad_shards_are_refused_naming_the_part() {
        for (s, says) in [
            ("3", "not of the form I/N"),
            ("a/3", "I `a`"),
            ("1/b", "N `b`"),
            ("-1/3", "I `-1`"),
            ("0/0", "N = 0"),
            ("3/3", "I = 3 is out of range"),
            ("7/3", "0 to N − 1 = 2"),
        ] {
            let e = Shard::parse(s).unwrap_err().to_string();
            assert!(e.contains("`shard`") && e.contains(says), "{s}: {e}");
        }
        assert_eq!(Shard::parse(" 2 / 5 ").unwrap(), Shard::new(2, 5).unwrap());
        assert_eq!(Shard::WHOLE.to_string(), "0/1");
    }
}

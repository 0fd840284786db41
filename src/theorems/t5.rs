//! T5 — every lower-triangular matrix is the hidden attention of a channel; minimal
//! state = semiseparable rank (general transitions), diagonal when found.
// A failing case returns the whole counterexample by value (as t1 and t2 do).
#![allow(clippy::result_large_err)]

use super::t3::fail;
use super::{CaseResult, Theorem};
use crate::construct::{realise_diagonal, realise_full, realise_minimal, DiagonalOutcome};
use crate::scalar::Exact;
use crate::semiseparable::semiseparable_rank_exact;
use crate::ssm::attention_matrix;
use crate::tensor::Matrix;

/// Statement of T5.
pub const THEOREM: Theorem = Theorem {
    id: "T5",
    statement: "every lower-triangular M = α̃ of a channel (N = L, Ā ≡ 1); minimal N = semiseparable rank (general transitions; diagonal when found)",
};

fn show(m: &Matrix<Exact>) -> String {
    let rows: Vec<String> = (0..m.rows())
        .map(|i| {
            m.row(i)
                .iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    format!("[{}]", rows.join("; "))
}

/// Exact check on one lower-triangular rational matrix: [`realise_full`] and
/// [`realise_minimal`] reproduce it exactly, the minimal state equals the semiseparable
/// rank (at least 1), and [`realise_diagonal`] either finds a diagonal channel with that
/// state reproducing it or returns a counterexample whose fallback channel reproduces it.
pub fn check_exact(m: &Matrix<Exact>) -> CaseResult {
    let f = |what: String| {
        fail(
            THEOREM.id,
            "exact",
            format!("{what}; M = {}", show(m)),
            None,
        )
    };
    let full = realise_full(m).map_err(|e| f(e.to_string()))?;
    if attention_matrix(&full).map_err(|e| f(e.to_string()))? != *m {
        return Err(f("N = L realisation does not reproduce M".into()));
    }
    let rank = semiseparable_rank_exact(m).rank.max(1);
    let min = realise_minimal(m).map_err(|e| f(e.to_string()))?;
    if min.state() != rank || min.attention() != *m {
        return Err(f(format!(
            "minimal realisation: state {} (rank {rank}) or matrix differs",
            min.state()
        )));
    }
    match realise_diagonal(m).map_err(|e| f(e.to_string()))? {
        DiagonalOutcome::Found(ch) => {
            if ch.state() != rank || attention_matrix(&ch).map_err(|e| f(e.to_string()))? != *m {
                return Err(f(format!(
                    "diagonal realisation: state {} (rank {rank}) or matrix differs",
                    ch.state()
                )));
            }
        }
        DiagonalOutcome::NotFound(ce) => {
            if ce.best.state() <= rank
                || attention_matrix(&ce.best).map_err(|e| f(e.to_string()))? != *m
            {
                return Err(f(
                    "diagonal counterexample's fallback channel is wrong".into()
                ));
            }
        }
    }
    Ok(None)
}

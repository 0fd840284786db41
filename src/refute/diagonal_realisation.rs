//! `diagonal-realisation`: "every lower-triangular matrix of semiseparable rank ≤ N has a
//! diagonal-transition channel realisation with state N" (T5).
//!
//! True for `$N = 1$` (a one-state transition is diagonal). For `$N \ge 2$` the toolkit's
//! constructions ([`realise_diagonal`]: diagonalising the minimal realisation, or the
//! generator form `$\bar A \equiv 1$`) may find none; that is reported as an
//! **unproven candidate** — *not found is not a proof that none exists* — so this
//! conjecture never produces a replayable counterexample.

use proptest::strategy::{BoxedStrategy, Strategy};
use serde_json::{json, Value};

use super::json::fits;
use super::{exact_doc, float_doc, parse_doc, Conjecture, Params, Refutation, Strength};
use crate::construct::{realise_diagonal, DiagonalOutcome};
use crate::interchange::Object;
use crate::scalar::Exact;
use crate::semiseparable::semiseparable_rank_exact;
use crate::ssm::attention_matrix;
use crate::strategies;
use crate::tensor::Matrix;

/// Identifier.
pub const ID: &str = "diagonal-realisation";

/// The conjecture.
pub struct DiagonalRealisation;

impl Conjecture for DiagonalRealisation {
    type Case = Matrix<Exact>;
    fn id(&self) -> &'static str {
        ID
    }
    fn theorem(&self) -> &'static str {
        "T5"
    }
    fn statement(&self, p: &Params) -> String {
        format!(
            "every lower-triangular L×L matrix (L ≤ {}) of semiseparable rank r ≤ {} is the hidden attention of a channel with diagonal transitions and state r",
            p.len, p.state
        )
    }
    fn strategy(&self, p: &Params) -> BoxedStrategy<Self::Case> {
        let len = p.len.max(1);
        strategies::lower_triangular_with_rank(1..=len, 1..=p.state.max(1).min(len.div_ceil(2)))
            .boxed()
    }
    fn case_json(&self, m: &Self::Case, _: &Params) -> (Value, Value) {
        (
            exact_doc(Object::Matrix(m.clone())),
            float_doc(Object::Matrix(m.clone())),
        )
    }
    fn parse_case(&self, case: &Value, p: &Params) -> Result<Self::Case, String> {
        let Object::Matrix(m) = parse_doc(case, "counterexample")? else {
            return Err("counterexample.kind: expected a matrix".into());
        };
        if m.rows() != m.cols() {
            return Err(format!(
                "counterexample: a {}×{} matrix is not square",
                m.rows(),
                m.cols()
            ));
        }
        if let Some((i, j)) = (0..m.rows())
            .flat_map(|i| (i + 1..m.cols()).map(move |j| (i, j)))
            .find(|&(i, j)| m.get(i, j) != &Exact::from_integer(0.into()))
        {
            return Err(format!(
                "counterexample.data[{i}][{j}]: the matrix is not lower triangular"
            ));
        }
        fits(m.rows(), semiseparable_rank_exact(&m).rank.max(1), p)?;
        Ok(m)
    }
    fn check(&self, m: &Self::Case, _: &Params) -> Result<(), Refutation> {
        let rank = semiseparable_rank_exact(m).rank;
        match realise_diagonal(m) {
            Ok(DiagonalOutcome::Found(ch))
                if ch.state() <= rank.max(1) && attention_matrix(&ch).ok().as_ref() == Some(m) =>
            {
                Ok(())
            }
            Ok(DiagonalOutcome::Found(ch)) => Err(candidate(
                rank,
                format!(
                    "the construction returned state {} (rank {rank})",
                    ch.state()
                ),
            )),
            Ok(DiagonalOutcome::NotFound(ce)) => Err(candidate(rank, ce.reason.clone())),
            Err(e) => Err(candidate(rank, format!("realisation failed: {e}"))),
        }
    }
    fn verify(&self, case: &Value, _: &Value, p: &Params) -> Result<String, String> {
        let m = self.parse_case(case, p)?;
        match realise_diagonal(&m) {
            Ok(DiagonalOutcome::Found(ch)) => Err(format!("certificate: a diagonal realisation with state {} exists", ch.state())),
            _ => Err("certificate: no proof of non-existence is known for diagonal realisations; the candidate is unproven".into()),
        }
    }
}

fn candidate(rank: usize, reason: String) -> Refutation {
    Refutation::new(
        json!({"kind": "no_diagonal_realisation_found", "semiseparable_rank": rank, "reason": reason}),
        Strength::Candidate,
    )
}

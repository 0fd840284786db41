//! T1 — hidden attention (unrolling): the scan equals `$\tilde\alpha x$`.

use super::{CaseResult, Counterexample, Reference, Theorem};
use crate::scalar::{Exact, Field};
use crate::ssm::{attention_matrix, scan, Channel};

/// Statement of T1.
pub const THEOREM: Theorem = Theorem {
    id: "T1",
    statement: "scan(Ā,B̄,C; x) = α̃ x with α̃_ij = ⟨C_i, (∏_{k=j+1}^i Ā_k) ⊙ B̄_j⟩ (j ≤ i)",
};

/// Exact check of T1 on one rational case: `scan(ch, x).y == attention_matrix(ch) · x`
/// (equality of rationals, no tolerance).
pub fn check_exact(ch: &Channel<Exact>, x: &[Exact]) -> CaseResult {
    let fail = |what: String| Counterexample {
        theorem: THEOREM.id,
        tier: "exact",
        what,
        channel: ch.clone(),
        input: x.to_vec(),
    };
    let y = scan(ch, x)
        .map_err(|e| fail(format!("scan failed: {e}")))?
        .y;
    let a = attention_matrix(ch).map_err(|e| fail(format!("α̃ failed: {e}")))?;
    for i in 0..ch.len() {
        for j in i + 1..ch.len() {
            if !a.get(i, j).is_zero_val() {
                return Err(fail(format!(
                    "α̃[{i}][{j}] = {} above the diagonal",
                    a.get(i, j)
                )));
            }
        }
    }
    let ax = a.mul_vec(x).map_err(|e| fail(e.to_string()))?;
    match y.iter().zip(&ax).position(|(p, q)| p != q) {
        None => Ok(None),
        Some(i) => Err(fail(format!(
            "scan y[{i}] = {} but (α̃ x)[{i}] = {}",
            y[i], ax[i]
        ))),
    }
}

/// Float check of T1: the float scan and the float `$\tilde\alpha x$` each within the bound
/// of [`super::bound`] of the exact output of the lifted case.
pub fn check_float<T: Field>(ch: &Channel<T>, x: &[T]) -> CaseResult {
    let r = Reference::new(ch, x);
    let id = THEOREM.id;
    let y = scan(ch, x)
        .map_err(|e| r.fail(id, T::NAME, format!("float scan failed: {e}")))?
        .y;
    let e1 = r.check(id, "scan y", &y)?;
    let a =
        attention_matrix(ch).map_err(|e| r.fail(id, T::NAME, format!("float α̃ failed: {e}")))?;
    let ax = a
        .mul_vec(x)
        .map_err(|e| r.fail(id, T::NAME, e.to_string()))?;
    let e2 = r.check(id, "α̃ x", &ax)?;
    Ok(Some(e1.unwrap_or(0.0).max(e2.unwrap_or(0.0))))
}

trait IsZeroVal {
    fn is_zero_val(&self) -> bool;
}
impl<T: Field> IsZeroVal for T {
    fn is_zero_val(&self) -> bool {
        self.class() == crate::scalar::Class::Zero
    }
}

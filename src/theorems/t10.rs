//! T10 — an SSD head is a scalar-gated linear attention head, both ways, and an ungated
//! one (`$\tilde\alpha = \mathrm{tril}(QK^\top)$`) iff no transition `$a_r$`, `$r \ge 1$`, is 0.
// A failing case returns the whole counterexample by value (as t1 and t2 do).
#![allow(clippy::result_large_err)]

use super::t8::head_fail;
use super::{CaseResult, Theorem};
use crate::error::Error;
use crate::family::ssd::realise::{
    retention_head, scalar_gated_to_ssd, ssd_factored, ssd_to_gated_head,
};
use crate::family::ssd::{attention_matrix, scan, SsdHead};
use crate::scalar::{Class, Exact, Field};
use crate::tensor::Matrix;

/// Statement of T10.
pub const THEOREM: Theorem = Theorem {
    id: "T10",
    statement: "SSD head = scalar-gated linear head (g_t = a_t, q = C, k = B̄) and back; α̃ = tril(QKᵀ), Q_t = C_t P_t, K_s = B̄_s/P_s iff a_r ≠ 0 for r ≥ 1",
};

/// Exact check of T10 on a rational head and input:
/// - gated form: [`ssd_to_gated_head`] has matrix `$\tilde\alpha$` and output the scan's;
/// - converse: [`scalar_gated_to_ssd`] of it is the head again, and RetNet retention
///   with fixed `$\gamma = a_{L-1}$` ([`retention_head`]) becomes the SSD head `$a \equiv \gamma$`
///   with the same matrix;
/// - ungated: if no `$a_r$` (`$r\ge1$`) is 0, [`ssd_factored`] gives
///   `$\mathrm{tril}(QK^\top) = \tilde\alpha$` and its recurrent output is the scan's;
///   otherwise it is refused with [`Error::ZeroTransition`] naming exactly the first zero.
pub fn check_exact(case: &(SsdHead<Exact>, Vec<Exact>)) -> CaseResult {
    let (head, x) = case;
    let fail = |what: String| head_fail(THEOREM.id, "exact", what, head, x);
    let alpha = attention_matrix(head).map_err(|e| fail(e.to_string()))?;
    let y = scan(head, x).map_err(|e| fail(e.to_string()))?.y;
    let gated = ssd_to_gated_head(head);
    if gated.attention().map_err(|e| fail(e.to_string()))? != alpha {
        return Err(fail("gated head matrix != α̃".into()));
    }
    if gated.output(x).map_err(|e| fail(e.to_string()))? != y {
        return Err(fail("gated head output != scan".into()));
    }
    let back = scalar_gated_to_ssd(&gated).map_err(|e| fail(e.to_string()))?;
    if back != *head {
        return Err(fail("SSD → gated → SSD is not the identity".into()));
    }
    let (l, n) = (head.len(), head.state());
    if l > 0 {
        let m = |v: &[Exact]| Matrix::from_row_major(l, n, v.to_vec()).expect("L × N");
        let gamma = head.a(l - 1).clone();
        let ret = retention_head(m(head.c_all()), m(head.bbar_all()), gamma.clone())
            .map_err(|e| fail(e.to_string()))?;
        let r = scalar_gated_to_ssd(&ret).map_err(|e| fail(e.to_string()))?;
        if r.a_all().iter().any(|a| *a != gamma)
            || attention_matrix(&r).map_err(|e| fail(e.to_string()))?
                != ret.attention().map_err(|e| fail(e.to_string()))?
        {
            return Err(fail(format!(
                "retention (γ = {gamma}) → SSD head: matrix or gates differ"
            )));
        }
    }
    let first_zero = (1..l).find(|&r| head.a(r).class() == Class::Zero);
    match (ssd_factored(head), first_zero) {
        (Ok(f), None) => {
            if f.attention() != alpha {
                return Err(fail("tril(QKᵀ) != α̃".into()));
            }
            if f.output(x).map_err(|e| fail(e.to_string()))? != y {
                return Err(fail("ungated (factored) output != scan".into()));
            }
            Ok(None)
        }
        (Err(Error::ZeroTransition { step, .. }), Some(r)) if step == r => Ok(None),
        (Ok(_), Some(r)) => Err(fail(format!("factorisation accepted although a[{r}] = 0"))),
        (Err(e), _) => Err(fail(format!(
            "factorisation refused with {e} (first zero: {first_zero:?})"
        ))),
    }
}

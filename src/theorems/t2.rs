//! T2 — a channel is a causal linear attention head: (a) gated, (b) factored.

use super::{CaseResult, Counterexample, Reference, Theorem};
use crate::error::Error;
use crate::scalar::{Class, Exact, Field};
use crate::ssm::{attention_matrix, factored, gated_head, scan, Channel};

/// Statement of T2.
pub const THEOREM: Theorem = Theorem {
    id: "T2",
    statement: "(a) channel = gated linear attention (g=Ā, q=C, k=B̄); (b) no Ā_k=0 for k≥1 ⇒ α̃ = tril(QKᵀ), Q=C⊙P, K=B̄⊘P, P_i=∏_{k=1}^{i}Ā_k",
};

/// Exact check of T2 on one rational case:
/// (a) the gated head's matrix equals `$\tilde\alpha$` and its output equals the scan;
/// (b) if no `$\bar A_k$` entry with `$k \ge 1$` is 0 (`$\bar A_0$` never enters
/// `$\tilde\alpha$`, so a zero there is allowed), `$\mathrm{tril}(QK^\top) = \tilde\alpha$` and the
/// factored recurrent output equals the scan; if some entry at a step `$\ge 1$` is 0,
/// [`factored()`] must refuse with [`Error::ZeroTransition`] naming the first such zero.
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
    let alpha = attention_matrix(ch).map_err(|e| fail(format!("α̃ failed: {e}")))?;
    let head = gated_head(ch);
    let ga = head
        .attention()
        .map_err(|e| fail(format!("gated matrix failed: {e}")))?;
    if ga != alpha {
        return Err(fail("(a) gated attention matrix != α̃".into()));
    }
    let gy = head
        .output(x)
        .map_err(|e| fail(format!("gated output failed: {e}")))?;
    if let Some(i) = gy.iter().zip(&y).position(|(p, q)| p != q) {
        return Err(fail(format!(
            "(a) gated y[{i}] = {} but scan y[{i}] = {}",
            gy[i], y[i]
        )));
    }
    let first_zero = (1..ch.len())
        .flat_map(|t| (0..ch.state()).map(move |s| (t, s)))
        .find(|&(t, s)| ch.abar(t)[s].class() == Class::Zero);
    match (factored(ch), first_zero) {
        (Ok(f), None) => {
            if f.attention() != alpha {
                return Err(fail("(b) tril(QKᵀ) != α̃".into()));
            }
            let fy = f.output(x).map_err(|e| fail(e.to_string()))?;
            if let Some(i) = fy.iter().zip(&y).position(|(p, q)| p != q) {
                return Err(fail(format!(
                    "(b) factored y[{i}] = {} but scan y[{i}] = {}",
                    fy[i], y[i]
                )));
            }
            Ok(None)
        }
        (Err(Error::ZeroTransition { step, state }), Some(z)) if (step, state) == z => Ok(None),
        (r, z) => Err(fail(format!(
            "(b) factored returned {:?} with first zero Ā at {z:?}",
            r.map(|_| "Ok")
        ))),
    }
}

/// Float check of T2: the gated output and (unless refused with a typed range error) the
/// factored output, each within the bound of [`super::bound`] of the exact output.
pub fn check_float<T: Field>(ch: &Channel<T>, x: &[T]) -> CaseResult {
    let r = Reference::new(ch, x);
    let id = THEOREM.id;
    let gy = gated_head(ch)
        .output(x)
        .map_err(|e| r.fail(id, T::NAME, format!("float gated output failed: {e}")))?;
    let e1 = r.check(id, "(a) gated y", &gy)?;
    let e2 = match factored(ch) {
        Ok(f) => match f.output(x) {
            Ok(fy) => r.check(id, "(b) factored y", &fy)?,
            // K_j = B̄_j ⊘ P_j is finite but K_j x_j, their sums or Q_i ⊙ S_i leave the
            // range: a refusal (reported, typed) only when the exact magnitudes really
            // reach the overflow threshold, a counterexample otherwise
            Err(Error::NonFiniteResult { .. }) if factored_overflows(&f, x) => None,
            Err(e) => {
                return Err(r.fail(id, T::NAME, format!("float factored output failed: {e}")))
            }
        },
        Err(Error::FactorRange { .. } | Error::ZeroTransition { .. }) => None,
        Err(e) => {
            return Err(r.fail(
                id,
                T::NAME,
                format!("float factored failed unexpectedly: {e}"),
            ))
        }
    };
    Ok(Some(e1.unwrap_or(0.0).max(e2.unwrap_or(0.0))))
}

/// Whether the factored recurrence `$S_i = S_{i-1} + K_i x_i$`, `$y_i = \langle Q_i, S_i\rangle$`
/// must overflow: some exact `$\sum_{j\le i}|K_{j,n} x_j|$` or `$|Q_{i,n}|\sum_{j\le i}|K_{j,n}x_j|$`
/// (of the float `$Q$`, `$K$`, `$x$`, computed exactly) reaches half the largest finite value.
fn factored_overflows<T: Field>(f: &crate::ssm::Factored<T>, x: &[T]) -> bool {
    let limit = Exact::from_f64(T::max_finite() / 2.0);
    let n = f.k.cols();
    let mut s = vec![Exact::from_f64(0.0); n];
    for (i, xi) in x.iter().enumerate() {
        let xe = xi.to_exact().abs_val();
        for (k, sk) in s.iter_mut().enumerate() {
            *sk += f.k.get(i, k).to_exact().abs_val() * &xe;
            let q = f.q.get(i, k).to_exact().abs_val();
            let one = Exact::from_f64(1.0);
            let qs = if q > one { q * &*sk } else { sk.clone() };
            if *sk >= limit || qs >= limit {
                return true;
            }
        }
    }
    false
}

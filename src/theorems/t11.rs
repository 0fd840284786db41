//! T11 — the `$\Delta\to0$` limit of an SSD head with strict `$A_h<0$`, with an explicit
//! bound, checked with certified interval enclosures of the exponentials.
// A failing case returns the whole counterexample by value (as t1 and t2 do).
#![allow(clippy::result_large_err)]

use super::t3::fail;
use super::{CaseResult, Theorem};
use crate::family::ssd::limit::SsdLimit;
use crate::interval::{exp_enclosure, Interval};
use crate::scalar::{ratio, Exact, Field};

/// Statement of T11.
pub const THEOREM: Theorem = Theorem {
    id: "T11",
    statement: "A_h < 0, Δ→εΔ, B→B/ε (B̄ fixed): |α̃_ε − tril(C B̄ᵀ)|_ts ≤ |C_t·B̄_s|(1 − e^{εA_h ΣΔ}) ≤ |C_t·B̄_s| ε|A_h| Σ_{r=s+1}^t Δ_r → 0",
};

/// Bits kept by the interval enclosures.
const BITS: u32 = 96;

/// Check of T11 on one case at scale `$\varepsilon$` (inputs are floats, lifted exactly):
/// for every `$s \le t$` the certified enclosure of `$|\tilde\alpha_\varepsilon -
/// \tilde\alpha_0|_{ts} = |G_{ts}|(1 - e^{x_{ts}})$` ([`exp_enclosure`]) lies below the
/// exact bound `$|G_{ts}||x_{ts}|$` of [`SsdLimit::bound`]; and the bound is not vacuous:
/// where `$G_{ts} \ne 0$` and `$|x_{ts}| \le 1/2$`, the error at `$\varepsilon$` is certified more
/// than 4 times the error at `$\varepsilon/8$` (linear convergence). Returns the largest
/// (upper end of the error enclosure) / bound.
pub fn check(case: &(SsdLimit, f64)) -> CaseResult {
    let (lim, eps) = case;
    let f = |what: String| {
        fail(
            THEOREM.id,
            "f64",
            format!(
                "{what} (ε = {eps}, A_h = {}, L = {})",
                lim.a_h,
                lim.delta.len()
            ),
            None,
        )
    };
    let (g, x) = lim.exact_parts(*eps).map_err(|e| f(e.to_string()))?;
    let (_, x8) = lim.exact_parts(eps / 8.0).map_err(|e| f(e.to_string()))?;
    let bound = lim.bound(*eps).map_err(|e| f(e.to_string()))?;
    let one = Interval::point(ratio(1, 1));
    let half = ratio(1, 2);
    // e^0 = 1 exactly: the diagonal (and any empty sum) has error 0, not an enclosure
    let err = |gts: &Exact, xts: &Exact| {
        if xts.is_zero_val() {
            Interval::point(ratio(0, 1))
        } else {
            Interval::point(gts.abs_val()).mul(&one.sub(&exp_enclosure(xts, BITS)))
        }
    };
    let mut worst: f64 = 0.0;
    for t in 0..g.rows() {
        for s in 0..=t {
            let e = err(g.get(t, s), x.get(t, s));
            let b = bound.get(t, s);
            if e.hi() > b {
                return Err(f(format!(
                    "|α̃_ε − α̃_0|[{t}][{s}] ≤ {} exceeds the bound {}",
                    e.hi().to_f64(),
                    b.to_f64()
                )));
            }
            if !b.is_zero_val() {
                worst = worst.max(e.hi().to_f64() / b.to_f64());
            }
            if !g.get(t, s).is_zero_val()
                && !x.get(t, s).is_zero_val()
                && x.get(t, s).abs_val() <= half
            {
                let e8 = err(g.get(t, s), x8.get(t, s));
                if e.lo() <= &(e8.hi() * ratio(4, 1)) {
                    return Err(f(format!(
                        "no linear convergence at [{t}][{s}]: error {} at ε, {} at ε/8",
                        e.lo().to_f64(),
                        e8.hi().to_f64()
                    )));
                }
            }
        }
    }
    Ok(Some(worst))
}

trait IsZeroVal {
    fn is_zero_val(&self) -> bool;
}
impl IsZeroVal for Exact {
    fn is_zero_val(&self) -> bool {
        self.class() == crate::scalar::Class::Zero
    }
}

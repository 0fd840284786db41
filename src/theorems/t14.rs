//! T14 — the gated-linear family is attention (unrolling): every member's recurrence
//! `$S_t = M_t S_{t-1} + b_t v_t^\top$`, `$o_t = S_t^\top q_t$` equals `$o = A v$` with
//! `$A_{ts} = q_t^\top (M_t\cdots M_{s+1})\,b_s$` (`$s \le t$`), and for RWKV-6's readout
//! `$A_{ts} = q_t^\top(M_{t-1}\cdots M_{s+1})\,k_s$` (`$s < t$`), `$A_{tt} = q_t^\top\mathrm{diag}(u)\,k_t$`
//! (Coq: `t14_matrix_transition_unrolling`, `t14_rwkv6_unrolling`,
//! `t14_diagonal_family_unrolling`, `t14_delta_rule_unrolling`).
// A failing case returns the whole counterexample by value (as t1 and t2 do).
#![allow(clippy::result_large_err)]

use super::t3::fail;
use super::{CaseResult, Theorem};
use crate::family::linear::{FamilyHead, Readout, Transition};
use crate::scalar::{Exact, Field};
use crate::ssm::Channel;
use crate::tensor::{dot, Matrix};
use num_traits::Zero;

/// Statement of T14.
pub const THEOREM: Theorem = Theorem {
    id: "T14",
    statement: "gated-linear family: S_t = M_t S_{t−1} + b_t v_tᵀ, o_t = S_tᵀ q_t equals o = A v, A_ts = q_tᵀ (M_t⋯M_{s+1}) b_s (RWKV-6: M_{t−1}⋯M_{s+1}, bonus u on the diagonal)",
};

/// The dense `$d_k \times d_k$` matrix of a transition.
pub fn dense<T: Field>(m: &Transition<T>, dk: usize) -> Matrix<T> {
    let mut out = Matrix::zeros(dk, dk);
    for j in 0..dk {
        let mut e = vec![T::zero(); dk];
        e[j] = T::one();
        // column j of M: M e_j = (e_jᵀ Mᵀ)ᵀ; apply to a dk×1 state
        let col = m.apply(&e, dk);
        for i in 0..dk {
            *out.get_mut(i, j) = col[i].clone();
        }
    }
    out
}

/// The closed form of `$A$` by explicit matrix products (independent of
/// [`FamilyHead::attention_matrix`], which carries a row vector).
pub fn closed_form(head: &FamilyHead<Exact>) -> Matrix<Exact> {
    let (l, dk) = (head.len(), head.dk);
    let ms: Vec<Matrix<Exact>> = head.m.iter().map(|m| dense(m, dk)).collect();
    let mut a = Matrix::zeros(l, l);
    for t in 0..l {
        let qt = &head.q[t * dk..(t + 1) * dk];
        for s in 0..=t {
            let bs = &head.b[s * dk..(s + 1) * dk];
            let last = match &head.readout {
                Readout::After => t,
                Readout::BeforeWithBonus(u) if s == t => {
                    let qu: Vec<Exact> = qt.iter().zip(u).map(|(x, y)| x.clone() * y).collect();
                    *a.get_mut(t, t) = dot(&qu, bs);
                    continue;
                }
                Readout::BeforeWithBonus(_) => t - 1,
            };
            // (M_last ⋯ M_{s+1}) b_s, the right-most factor first
            let mut v = bs.to_vec();
            for m in &ms[s + 1..=last] {
                v = m.mul_vec(&v).expect("square");
            }
            *a.get_mut(t, s) = dot(qt, &v);
        }
    }
    a
}

/// The S6 channel of a head whose transitions are all diagonal or scalar and whose readout
/// is after the step (T3's realisation per value coordinate), for counterexample reports.
pub fn diagonal_channel(head: &FamilyHead<Exact>) -> Option<Channel<Exact>> {
    if head.readout != Readout::After {
        return None;
    }
    let dk = head.dk;
    let mut abar = Vec::with_capacity(head.len() * dk);
    for m in &head.m {
        match m {
            Transition::Diagonal(g) => abar.extend(g.iter().cloned()),
            Transition::Scalar(g) => abar.extend((0..dk).map(|_| g.clone())),
            _ => return None,
        }
    }
    Channel::new(head.len(), dk, abar, head.b.clone(), head.q.clone()).ok()
}

/// `after` or `before, bonus u = [..]`, with rationals written as `3/4`.
pub fn readout_name(head: &FamilyHead<Exact>) -> String {
    match &head.readout {
        Readout::After => "readout after the step".into(),
        Readout::BeforeWithBonus(u) => format!(
            "readout before the step, bonus u = [{}]",
            u.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Exact check of T14 on a rational head and values `(L, d_v)`: the carried
/// [`FamilyHead::attention_matrix`] equals the [`closed_form`] entry by entry, is 0 above
/// the diagonal, and `$A v$` equals the recurrence's output for every value coordinate.
pub fn check_exact(case: &(FamilyHead<Exact>, Vec<Exact>, usize)) -> CaseResult {
    let (head, v, dv) = case;
    let f = |what: String| {
        fail(
            THEOREM.id,
            "exact",
            format!(
                "{what} (head: d_k = {}, L = {}, {})",
                head.dk,
                head.len(),
                readout_name(head)
            ),
            diagonal_channel(head),
        )
    };
    let a = head.attention_matrix().map_err(|e| f(e.to_string()))?;
    let closed = closed_form(head);
    let l = head.len();
    for t in 0..l {
        for s in 0..l {
            if a.get(t, s) != closed.get(t, s) {
                return Err(f(format!(
                    "A[{t}][{s}] = {} but the closed form gives {}",
                    a.get(t, s),
                    closed.get(t, s)
                )));
            }
        }
    }
    let (o, _) = head.run(v, *dv).map_err(|e| f(e.to_string()))?;
    for t in 0..l {
        for c in 0..*dv {
            let av = (0..l).fold(Exact::zero(), |acc, s| {
                acc + a.get(t, s).clone() * &v[s * dv + c]
            });
            if av != o[t * dv + c] {
                return Err(f(format!(
                    "recurrence o[{t}][{c}] = {} but (A v)[{t}][{c}] = {av}",
                    o[t * dv + c]
                )));
            }
        }
    }
    Ok(None)
}

/// One float view to compare: name, float values, exact values, columns, majorants and
/// the rounding count of its bound.
type ViewCheck<'a, T> = (
    &'a str,
    &'a [T],
    &'a [Exact],
    usize,
    &'a [crate::family::linear::bound::Majorant],
    usize,
);

/// Float check of T14 (`T` = `f64` or `f32`): the float [`FamilyHead::attention_matrix`],
/// recurrence output [`FamilyHead::run`] and [`FamilyHead::attention_times_values`] are each
/// within the bound of [`crate::family::linear::bound`] (standard model with underflow,
/// evaluated exactly) of the exact result on the exactly lifted head and values, decided
/// exactly. A run that overflows is refused (`Ok(None)`) when some intermediate magnitude
/// of the absolute head reaches half the largest finite value, and is a counterexample
/// otherwise. Returns the largest error divided by its bound.
///
/// **Not a verdict:** the bound is refuted in the subnormal range (see "Known gap" in
/// [`crate::family::linear::bound`]), so a failure here may be the bound's, and no
/// `hattn check` row runs this check.
pub fn check_float<T: Field>(case: &(FamilyHead<T>, Vec<T>, usize)) -> CaseResult {
    use crate::family::linear::bound::{self, Majorants};
    let (head, v, dv) = case;
    let (l, dk) = (head.len(), head.dk);
    let diag = || diagonal_channel(&head.to_exact());
    let f = |what: String| {
        fail(
            THEOREM.id,
            T::NAME,
            format!("{what} (head: d_k = {dk}, L = {l}, d_v = {dv})"),
            diag(),
        )
    };
    let views = match bound::float_views(head, v, *dv) {
        Ok(views) => views,
        Err(crate::Error::NonFinite { tensor, .. }) => {
            return Err(f(format!("input `{tensor}` is not finite")))
        }
        Err(e @ crate::Error::NonFiniteResult { .. }) => {
            let (eh, ev) = (head.to_exact(), lift(v));
            let mut rules = Majorants::new::<T>();
            let a = bound::attention_majorants(&eh, &mut rules);
            bound::output_majorants(&eh, &ev, *dv, &mut rules);
            bound::attention_output_majorants(&a, &ev, *dv, &mut rules);
            let half = Exact::from_f64(T::max_finite() / 2.0);
            return if rules.peak >= half {
                Ok(None)
            } else {
                Err(f(format!(
                    "{e}, though no magnitude reaches half the range"
                )))
            };
        }
        Err(e) => return Err(f(format!("float views failed: {e}"))),
    };
    let (eh, ev) = (head.to_exact(), lift(v));
    let a = eh.attention_matrix().map_err(|e| f(e.to_string()))?;
    let (o, _) = eh.run(&ev, *dv).map_err(|e| f(e.to_string()))?;
    let mut rules = Majorants::new::<T>();
    let am = bound::attention_majorants(&eh, &mut rules);
    let om = bound::output_majorants(&eh, &ev, *dv, &mut rules);
    let avm = bound::attention_output_majorants(&am, &ev, *dv, &mut rules);
    let a_exact: Vec<Exact> = (0..l * l).map(|p| a.get(p / l, p % l).clone()).collect();
    let a_float: Vec<T> = (0..l * l)
        .map(|p| views.attention.get(p / l, p % l).clone())
        .collect();
    let (ma, mo) = (
        bound::rounding_count_attention(l, dk),
        bound::rounding_count_output(l, dk),
    );
    let checks: [ViewCheck<'_, T>; 3] = [
        ("A", &a_float, &a_exact, l, &am, ma),
        ("o", &views.output, &o, *dv, &om, mo),
        ("A v", &views.attention_output, &o, *dv, &avm, mo),
    ];
    let mut worst: f64 = 0.0;
    for (view, got, exact, cols, maj, m) in checks {
        let Some(bounds) = bound::bound_exact::<T>(m, maj) else {
            continue;
        };
        let ratio = within(got, exact, &bounds).map_err(|p| {
            f(format!(
                "float {view}[{}][{}] = {} but the exact value is {} (error {:e} > bound {:e})",
                p / cols,
                p % cols,
                got[p],
                exact[p].to_f64(),
                (got[p].to_exact() - &exact[p]).abs_val().to_f64(),
                crate::theorems::bound::to_f64_up(&bounds[p])
            ))
        })?;
        worst = worst.max(ratio);
    }
    Ok(Some(worst))
}

fn lift<T: Field>(v: &[T]) -> Vec<Exact> {
    v.iter().map(Field::to_exact).collect()
}

/// Whether every float entry of `got` is within `bounds` of `exact` (decided exactly): the
/// largest error/bound ratio (0 where both are 0), or the first index outside.
pub fn within<T: Field>(got: &[T], exact: &[Exact], bounds: &[Exact]) -> Result<f64, usize> {
    let mut worst: f64 = 0.0;
    for (p, ((g, e), b)) in got.iter().zip(exact).zip(bounds).enumerate() {
        let err = (g.to_exact() - e).abs_val();
        if err > *b {
            return Err(p);
        }
        if !err.is_zero() {
            worst = worst.max((err / b).to_f64());
        }
    }
    Ok(worst)
}

//! `factored-float`: "the float factored form (T2b) agrees with the exact α̃ within ε up to
//! length L".
//!
//! The *naive* float factored form $\mathrm{fl}(\langle C_i \odot P_i, \bar B_j \oslash P_j\rangle)$
//! (the one [`crate::ssm::factored()`] refuses to return once $P$ leaves the normal range) is
//! compared entry by entry with the exact $\tilde\alpha$ of the same (exactly lifted)
//! channel, relative to the magnitude $\sum_n |C_{i,n}| \prod_k |\bar A_{k,n}| |\bar B_{j,n}|$.
//! The search finds the first row — the length — where it breaks, per dtype.

use proptest::strategy::{BoxedStrategy, Strategy};
use serde_json::{json, Value};

use super::channel_in_softmax::channel_of;
use super::{cert_exact, cert_index, exact_doc, float_doc, Conjecture, Params, Refutation};
use crate::dyadic::Dyadic;
use crate::interchange::Object;
use crate::report::exact_json;
use crate::scalar::{Class, Exact, Field};
use crate::ssm::{hidden_attention_row, Channel};
use crate::strategies;
use crate::theorems::bound::gamma;

/// Identifier.
pub const ID: &str = "factored-float";

/// The conjecture.
pub struct FactoredFloat;

/// The naive float entry $\langle C_i \odot P_i, \bar B_j \oslash P_j\rangle$ in `T`,
/// with $P$ the running product in `T` (no range checks).
pub fn naive_entry<T: Field>(ch: &Channel<T>, i: usize, j: usize) -> T {
    let n = ch.state();
    let mut p = vec![T::one(); n];
    let mut pj = vec![T::one(); n];
    for t in 0..=i {
        for s in 0..n {
            p[s] *= &ch.abar(t)[s];
        }
        if t == j {
            pj.clone_from(&p);
        }
    }
    let mut acc = T::zero();
    for s in 0..n {
        acc += &((ch.c(i)[s].clone() * &p[s]) * &(ch.bbar(j)[s].clone() / &pj[s]));
    }
    acc
}

/// $|\,\cdot\,|$-magnitude of entry $(i, j)$, exactly.
fn magnitude(ch: &Channel<Exact>, i: usize, j: usize) -> Exact {
    let mut acc = Exact::from_integer(0.into());
    for s in 0..ch.state() {
        let mut v = ch.c(i)[s].abs_val() * ch.bbar(j)[s].abs_val();
        for k in j + 1..=i {
            v *= &ch.abar(k)[s].abs_val();
        }
        acc += &v;
    }
    acc
}

/// The first entry, row by row, where the naive float factored form is off by more than
/// `eps` times the magnitude (or not finite).
///
/// Rows before the first step where some $P_t$, $Q_t$ or $K_t$ leaves the normal range
/// (or some product $Q_{is}K_{js}$ of row $i$ underflows) provably pass when
/// $\varepsilon \ge \gamma_{3L+N+4}$ (the forward error bound of
/// [`crate::theorems::bound`] holds there), so the exact comparison starts at that step;
/// with a smaller ε every row is compared. Each compared row costs $O(iN)$ exact operations.
fn first_break<T: Field>(ch: &Channel<T>, eps: f64) -> Option<Value> {
    let (l, n) = (ch.len(), ch.state());
    // Q_i = C_i ⊙ P_i and K_j = B̄_j ⊘ P_j in T, exactly as `naive_entry` computes them.
    let mut p = vec![T::one(); n];
    let mut q = Vec::with_capacity(l * n);
    let mut k = Vec::with_capacity(l * n);
    let mut first_abnormal = l;
    for t in 0..l {
        for s in 0..n {
            p[s] *= &ch.abar(t)[s];
            q.push(ch.c(t)[s].clone() * &p[s]);
            k.push(ch.bbar(t)[s].clone() / &p[s]);
            let normal = |v: &T| matches!(v.class(), Class::Normal | Class::Zero);
            if first_abnormal == l
                && !(p[s].class() == Class::Normal
                    && normal(&q[t * n + s])
                    && normal(&k[t * n + s]))
            {
                first_abnormal = t;
            }
        }
    }
    // The products q_is·k_js of the dot products must not underflow either (additions
    // that land in the subnormal range are exact, multiplications are not).
    let products_normal = |i: usize| {
        (0..=i).all(|j| {
            (0..n).all(|s| {
                let (a, b) = (&q[i * n + s], &k[j * n + s]);
                let c = a.clone() * b;
                match c.class() {
                    Class::Normal => true,
                    Class::Zero => a.class() == Class::Zero || b.class() == Class::Zero,
                    _ => false,
                }
            })
        })
    };
    let start = if eps >= gamma(3 * l + n + 4, T::unit_roundoff()) {
        (0..first_abnormal)
            .find(|&i| !products_normal(i))
            .unwrap_or(first_abnormal)
    } else {
        0
    };
    // Exact comparison in dyadic arithmetic: every input is a float, so no gcd is needed.
    let dy = |v: &T| Dyadic::from_f64(v.to_f64()).expect("channel entries are finite");
    let abar: Vec<Vec<Dyadic>> = (0..l)
        .map(|t| ch.abar(t).iter().map(dy).collect())
        .collect();
    let eps = Dyadic::from_f64(eps).expect("ε is finite");
    for i in start..l {
        // α̃_ij = Σ_s C_is (Π_{k=j+1..i} Ā_ks) B̄_js, for j = i, i−1, …, 0.
        let c: Vec<Dyadic> = ch.c(i).iter().map(dy).collect();
        let mut prod = vec![Dyadic::one(); n];
        for j in (0..=i).rev() {
            if j < i {
                for s in 0..n {
                    prod[s] = prod[s].mul(&abar[j + 1][s]);
                }
            }
            let (mut e, mut mag) = (Dyadic::zero(), Dyadic::zero());
            for s in 0..n {
                let term = c[s].mul(&prod[s]).mul(&dy(&ch.bbar(j)[s]));
                mag = mag.add(&term.abs());
                e = e.add(&term);
            }
            let mut f = T::zero();
            for s in 0..n {
                f += &(q[i * n + s].clone() * &k[j * n + s]);
            }
            let err = Dyadic::from_f64(f.to_f64()).map(|f| f.sub(&e).abs());
            if err.as_ref().map_or(true, |err| *err > mag.mul(&eps)) {
                let (e, mag) = (e.to_exact(), mag.to_exact());
                let rel = err.map_or(f64::INFINITY, |err| {
                    err.to_exact().to_f64() / mag.to_f64().max(f64::MIN_POSITIVE)
                });
                return Some(json!({
                    "kind": "float_disagreement", "dtype": T::NAME, "row": i, "col": j,
                    "float_value": f.to_f64(),
                    "exact_value": exact_json(&e), "magnitude": exact_json(&mag), "relative_error": rel,
                }));
            }
        }
    }
    None
}

impl Conjecture for FactoredFloat {
    type Case = (Channel<f64>, Channel<f32>);
    fn id(&self) -> &'static str {
        ID
    }
    fn theorem(&self) -> &'static str {
        "T2"
    }
    fn statement(&self, p: &Params) -> String {
        format!(
            "for Mamba-like channels with L ≤ {}, N ≤ {}, the {} factored form tril(QKᵀ) with Q = C⊙P, K = B̄⊘P agrees with the exact α̃ within ε = {:e} (relative to Σ|terms|)",
            p.len, p.state, p.dtype, p.eps
        )
    }
    fn strategy(&self, p: &Params) -> BoxedStrategy<Self::Case> {
        strategies::mamba_like_channel_with_input::<f64>(1..=p.len.max(1), 1..=p.state.max(1))
            .prop_map(|(c, _)| {
                let c32 = c.map(|&v| v as f32);
                (c, c32)
            })
            .boxed()
    }
    fn check(&self, case: &Self::Case, p: &Params) -> Result<(), Refutation> {
        let (cert, exact) = if p.dtype == "f32" {
            (first_break(&case.1, p.eps), case.1.to_exact())
        } else {
            (first_break(&case.0, p.eps), case.0.to_exact())
        };
        match cert {
            None => Ok(()),
            Some(certificate) => {
                let mut measured = std::collections::BTreeMap::new();
                measured.insert(
                    "break_length".into(),
                    certificate["row"].as_f64().unwrap_or(0.0) + 1.0,
                );
                measured.insert(
                    "relative_error".into(),
                    certificate["relative_error"]
                        .as_f64()
                        .unwrap_or(f64::INFINITY),
                );
                Err(Refutation {
                    case: exact_doc(Object::Channel(exact.clone())),
                    case_float: float_doc(Object::Channel(exact)),
                    certificate,
                    measured,
                    certified: true,
                })
            }
        }
    }
    fn verify(&self, case: &Value, cert: &Value, p: &Params) -> Result<String, String> {
        let ch = channel_of(case)?;
        let dtype = cert
            .get("dtype")
            .and_then(Value::as_str)
            .ok_or("certificate.dtype: missing")?;
        let (i, j) = (cert_index(cert, "row")?, cert_index(cert, "col")?);
        if i >= ch.len() || j > i {
            return Err(format!("certificate.row/col: ({i}, {j}) is not on or below the diagonal of a {0}×{0} matrix", ch.len()));
        }
        let exact = hidden_attention_row(&ch, i).map_err(|e| e.to_string())?[j].clone();
        if cert_exact(cert, "exact_value")? != exact {
            return Err(format!("certificate.exact_value: does not equal α̃[{i}][{j}] = {exact} recomputed from the counterexample"));
        }
        // The float channel must be exactly the counterexample (its entries are floats of `dtype`).
        let f = match dtype {
            "f32" => {
                let c32 = ch.map(|v| v.to_f64() as f32);
                if c32.to_exact() != ch {
                    return Err("counterexample: entries are not f32 values".into());
                }
                let f = naive_entry(&c32, i, j);
                (
                    f.is_finite_val(),
                    f.to_f64(),
                    f.is_finite_val().then(|| f.to_exact()),
                )
            }
            "f64" => {
                let c64 = ch.map(|v| v.to_f64());
                if c64.to_exact() != ch {
                    return Err("counterexample: entries are not f64 values".into());
                }
                let f = naive_entry(&c64, i, j);
                (
                    f.is_finite_val(),
                    f,
                    f.is_finite_val().then(|| f.to_exact()),
                )
            }
            d => return Err(format!("certificate.dtype: unknown dtype `{d}`")),
        };
        let mag = magnitude(&ch, i, j);
        match f {
            (false, v, _) => Ok(format!(
                "the {dtype} factored entry ({i}, {j}) is {v}: not finite, exact value {exact}"
            )),
            (true, v, Some(fe)) => {
                let err = (fe - &exact).abs_val();
                if err > mag.clone() * Exact::from_f64(p.eps) {
                    Ok(format!(
                        "the {dtype} factored entry ({i}, {j}) = {v:e} differs from the exact {:e} by {:e} > ε·magnitude = {:e}",
                        exact.to_f64(),
                        err.to_f64(),
                        p.eps * mag.to_f64()
                    ))
                } else {
                    Err(format!(
                        "certificate: the recomputed error {:e} is within ε·magnitude {:e}",
                        err.to_f64(),
                        p.eps * mag.to_f64()
                    ))
                }
            }
            _ => unreachable!("finite floats have an exact value"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// P, Q and K all normal, but the product Q_2·K_1 = 1e-160 · 1e-160 underflows: the
    /// row must be compared exactly, and it breaks.
    #[test]
    fn underflowing_products_are_compared() {
        let tiny = 1e-160;
        let ch = Channel::new(2, 1, vec![1.0f64, 1.0], vec![tiny, 1.0], vec![1.0, tiny]).unwrap();
        let cert = first_break(&ch, 1e-9).expect("the subnormal product breaks the bound");
        assert_eq!(
            (cert["row"].as_u64(), cert["col"].as_u64()),
            (Some(1), Some(0))
        );
        // The same channel with the product kept normal passes.
        let ok = Channel::new(
            2,
            1,
            vec![1.0f64, 1.0],
            vec![1e-100, 1.0],
            vec![1.0, 1e-100],
        )
        .unwrap();
        assert!(first_break(&ok, 1e-9).is_none());
    }
}

//! `factored-float`: "the float factored form (T2b) agrees with the exact α̃ within ε up to
//! length L".
//!
//! The *naive* float factored form `$\mathrm{fl}(\langle C_i \odot P_i, \bar B_j \oslash P_j\rangle)$`
//! (the one [`crate::ssm::factored()`] refuses to return once `$P$` leaves the normal range) is
//! compared entry by entry with the exact `$\tilde\alpha$` of the same (exactly lifted)
//! channel, relative to the magnitude `$\sum_n |C_{i,n}| \prod_k |\bar A_{k,n}| |\bar B_{j,n}|$`.
//! The search finds the first row — the length — where it breaks, per dtype.

use proptest::strategy::{BoxedStrategy, Strategy};
use serde_json::{json, Value};

use super::channel_in_softmax::channel_of;
use super::json::fits;
use super::{cert_exact, cert_index, exact_doc, float_doc, Conjecture, Dtype, Params, Refutation};
use crate::dyadic::Dyadic;
use crate::interchange::Object;
use crate::report::exact_json;
use crate::scalar::{Class, Exact, Field};
use crate::ssm::{hidden_attention_row, Channel};
use crate::strategies;

/// Identifier.
pub const ID: &str = "factored-float";

/// The conjecture.
pub struct FactoredFloat;

/// The naive float entry `$\langle C_i \odot P_i, \bar B_j \oslash P_j\rangle$` in `T`,
/// with `$P_t = \prod_{k=1}^{t} \bar A_k$` the running product in `T` as in
/// [`crate::ssm::factored()`] (no range checks).
pub fn naive_entry<T: Field>(ch: &Channel<T>, i: usize, j: usize) -> T {
    let n = ch.state();
    let mut p = vec![T::one(); n];
    let mut pj = vec![T::one(); n];
    // P_t = ∏_{k=1}^{t} Ā_k, as in `factored()` (Ā_0 never enters α̃)
    for t in 1..=i {
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

/// `$|\,\cdot\,|$`-magnitude of entry `$(i, j)$`, exactly.
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

/// Whether `$\varepsilon \ge \gamma_m = mu/(1 - mu)$`, `$m = 3L + N + 4$`, decided exactly in
/// rationals (the formula of [`crate::theorems::bound::gamma`], without its rounding).
fn eps_covers_gamma<T: Field>(l: usize, n: usize, eps: f64) -> bool {
    let mu = Exact::from_integer((3 * l + n + 4).into()) * T::unit_roundoff().to_exact();
    let one = Exact::from_integer(1.into());
    mu < one && eps.to_exact() >= mu.clone() / (one - mu)
}

/// The first entry, row by row, where the naive float factored form is off by more than
/// `eps` times the magnitude (or not finite).
///
/// **Which rows are compared.** Row `$i$` is accepted *without* an exact comparison only when
/// the forward error bound provably holds for it: `$\varepsilon \ge \gamma_{3L+N+4}$`
/// (decided in rationals), every computed `$P_{t}$` (`$t \le i$`) is a normal number, every
/// computed `$Q_{i,s}$`, `$K_{j,s}$` (`$j \le i$`) and product `$Q_{i,s}K_{j,s}$` is normal or is
/// an exact zero because an operand (for `$Q$`: `$C_{i,s}$`, for `$K$`: `$\bar B_{j,s}$`) is zero,
/// and every computed entry of the row is finite. Then each product and quotient is
/// `$\mathrm{fl}(a\circ b) = (a\circ b)(1+\delta)^{\pm1}$`, `$|\delta| \le u$` (the result is
/// normal, or it is the smallest normal rounded up from just below it), sums obey the
/// same model without underflow (a sum that lands among the subnormals is exact) and
/// without overflow (the entry is finite), so
/// `$|\mathrm{fl}(\hat\alpha_{ij}) - \tilde\alpha_{ij}| \le \gamma_{3L+N+4}\,\mathrm{magnitude}_{ij}$`
/// (Higham, Lemma 3.1; [`crate::theorems::bound`]) and the row passes. Every other row —
/// a zero from a nonzero source, a subnormal, an infinity, or a smaller ε — is compared
/// exactly in dyadic arithmetic, at `$O(iN)$` big-integer operations.
fn first_break<T: Field>(ch: &Channel<T>, eps: f64) -> Option<Value> {
    break_search(ch, eps, true)
}

/// [`first_break`], with the proven rows skipped only if `skip_proven` (the tests compare
/// both ways).
fn break_search<T: Field>(ch: &Channel<T>, eps: f64, skip_proven: bool) -> Option<Value> {
    let (l, n) = (ch.len(), ch.state());
    // Q_i = C_i ⊙ P_i and K_j = B̄_j ⊘ P_j in T, exactly as `naive_entry` computes them.
    let mut p = vec![T::one(); n];
    let mut q = Vec::with_capacity(l * n);
    let mut k = Vec::with_capacity(l * n);
    // A computed value is trustworthy if normal, or zero because its source is zero.
    let sound = |v: &T, source: &T| match v.class() {
        Class::Normal => true,
        Class::Zero => source.class() == Class::Zero,
        _ => false,
    };
    // prefix[t]: every P_s and K_s with s ≤ t is sound.
    let mut prefix = Vec::with_capacity(l);
    let mut ok = true;
    for t in 0..l {
        for s in 0..n {
            if t > 0 {
                p[s] *= &ch.abar(t)[s];
            }
            q.push(ch.c(t)[s].clone() * &p[s]);
            k.push(ch.bbar(t)[s].clone() / &p[s]);
            ok &= p[s].class() == Class::Normal && sound(&k[t * n + s], &ch.bbar(t)[s]);
        }
        prefix.push(ok);
    }
    let provable = eps_covers_gamma::<T>(l, n, eps);
    // Exact comparison in dyadic arithmetic: every input is a float, so no gcd is needed.
    let dy = |v: &T| Dyadic::from_f64(v.to_f64()).expect("channel entries are finite");
    let abar: Vec<Vec<Dyadic>> = (0..l)
        .map(|t| ch.abar(t).iter().map(dy).collect())
        .collect();
    let eps_d = Dyadic::from_f64(eps).expect("ε is finite");
    for i in 0..l {
        // The float row: f_ij = Σ_s fl(Q_is · K_js), summed in order.
        let mut products_sound = true;
        let row: Vec<T> = (0..=i)
            .map(|j| {
                let mut f = T::zero();
                for s in 0..n {
                    let (a, b) = (&q[i * n + s], &k[j * n + s]);
                    let c = a.clone() * b;
                    products_sound &= match c.class() {
                        Class::Normal => true,
                        Class::Zero => a.class() == Class::Zero || b.class() == Class::Zero,
                        _ => false,
                    };
                    f += &c;
                }
                f
            })
            .collect();
        let skip = skip_proven
            && provable
            && prefix[i]
            && products_sound
            && (0..n).all(|s| sound(&q[i * n + s], &ch.c(i)[s]))
            && row.iter().all(T::is_finite_val);
        if skip {
            continue;
        }
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
            let f = &row[j];
            let err = Dyadic::from_f64(f.to_f64()).map(|f| f.sub(&e).abs());
            if err.as_ref().map_or(true, |err| *err > mag.mul(&eps_d)) {
                let (e, mag) = (e.to_exact(), mag.to_exact());
                // ±∞ and NaN as strings, as in `measured` (JSON has no literal for them).
                let num = |x: f64| {
                    if x.is_finite() {
                        json!(x)
                    } else {
                        json!(format!("{x}"))
                    }
                };
                return Some(json!({
                    "kind": "float_disagreement", "dtype": T::NAME, "row": i, "col": j,
                    "float_value": num(f.to_f64()),
                    "exact_value": exact_json(&e), "magnitude": exact_json(&mag),
                    "relative_error": num(relative(err.map(|e| e.to_exact()), &mag)),
                }));
            }
        }
    }
    None
}

/// `$|\mathrm{fl} - \tilde\alpha| / \mathrm{magnitude}$` as the nearest `f64` (∞ for a
/// non-finite float value or a zero magnitude with a nonzero error).
fn relative(err: Option<Exact>, mag: &Exact) -> f64 {
    match err {
        None => f64::INFINITY,
        Some(e) if e.class() == Class::Zero => 0.0,
        Some(_) if mag.class() == Class::Zero => f64::INFINITY,
        Some(e) => (e / mag).to_f64(),
    }
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
    fn case_json(&self, case: &Self::Case, p: &Params) -> (Value, Value) {
        let exact = if p.dtype == Dtype::F32 {
            case.1.to_exact()
        } else {
            case.0.to_exact()
        };
        (
            exact_doc(Object::Channel(exact.clone())),
            float_doc(Object::Channel(exact)),
        )
    }
    fn parse_case(&self, case: &Value, p: &Params) -> Result<Self::Case, String> {
        let ch = channel_of(case)?;
        fits(ch.len(), ch.state(), p)?;
        match p.dtype {
            Dtype::F32 => {
                let c32 = ch.map(|v| v.to_f64() as f32);
                let finite = |c: &Channel<f32>| {
                    c.abar_all()
                        .iter()
                        .chain(c.bbar_all())
                        .chain(c.c_all())
                        .all(|v| v.is_finite())
                };
                if !finite(&c32) || c32.to_exact() != ch {
                    return Err("counterexample: entries are not f32 values".into());
                }
                Ok((c32.map(|&v| v as f64), c32))
            }
            Dtype::F64 => {
                let c64 = ch.map(|v| v.to_f64());
                if c64.to_exact() != ch {
                    return Err("counterexample: entries are not f64 values".into());
                }
                Ok((c64.clone(), c64.map(|&v| v as f32)))
            }
            Dtype::Exact => {
                Err("search.dtype: `exact` has no float factored form to break (f32 or f64)".into())
            }
        }
    }
    fn check(&self, case: &Self::Case, p: &Params) -> Result<(), Refutation> {
        let cert = if p.dtype == Dtype::F32 {
            first_break(&case.1, p.eps)
        } else {
            first_break(&case.0, p.eps)
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
                Err(Refutation::proof(certificate).with_measured(measured))
            }
        }
    }
    fn verify(&self, case: &Value, cert: &Value, p: &Params) -> Result<String, String> {
        let (c64, c32) = self.parse_case(case, p)?;
        let ch = c64.to_exact();
        let dtype = cert
            .get("dtype")
            .and_then(Value::as_str)
            .ok_or("certificate.dtype: missing")?;
        if dtype != p.dtype.as_str() {
            return Err(format!(
                "certificate.dtype: `{dtype}` differs from search.dtype = `{}`",
                p.dtype
            ));
        }
        let (i, j) = (cert_index(cert, "row")?, cert_index(cert, "col")?);
        if i >= ch.len() || j > i {
            return Err(format!("certificate.row/col: ({i}, {j}) is not on or below the diagonal of a {0}×{0} matrix", ch.len()));
        }
        let exact = hidden_attention_row(&ch, i).map_err(|e| e.to_string())?[j].clone();
        if cert_exact(cert, "exact_value")? != exact {
            return Err(format!(
                "certificate.exact_value: does not equal α̃[{i}][{j}] = {:e} recomputed from the counterexample",
                exact.to_f64()
            ));
        }
        // The float entry, in the recorded dtype (the case's entries are values of it).
        let f = if dtype == "f32" {
            let f = naive_entry(&c32, i, j);
            (f.to_f64(), f.is_finite_val().then(|| f.to_exact()))
        } else {
            let f = naive_entry(&c64, i, j);
            (f, f.is_finite_val().then(|| f.to_exact()))
        };
        let mag = magnitude(&ch, i, j);
        let (v, exact_f) = (f.0, exact.to_f64());
        let Some(fe) = f.1 else {
            return Ok(format!(
                "the {dtype} factored entry ({i}, {j}) is {v}: not finite, while the exact value is {exact_f:e}"
            ));
        };
        let err = (fe - &exact).abs_val();
        if err > mag.clone() * p.eps.to_exact() {
            Ok(format!(
                "the {dtype} factored entry ({i}, {j}) = {v:e} differs from the exact {exact_f:e} by {:e} > ε·magnitude = {:e} (relative error {:e})",
                err.to_f64(),
                p.eps * mag.to_f64(),
                relative(Some(err), &mag)
            ))
        } else {
            Err(format!(
                "certificate: the recomputed error {:e} is within ε·magnitude {:e}",
                err.to_f64(),
                p.eps * mag.to_f64()
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Values that make products and quotients under- and overflow.
    fn extreme() -> impl Strategy<Value = f64> {
        prop_oneof![
            Just(0.0),
            Just(1.0),
            Just(-1.0),
            Just(1e-30),
            Just(1e-160),
            Just(1e-300),
            Just(5e-324),
            Just(-2.5e-310),
            Just(1e160),
            Just(1e300),
            Just(1.5e308),
            -2.0f64..2.0,
        ]
    }

    fn extreme_channel() -> impl Strategy<Value = Channel<f64>> {
        (1usize..=4, 1usize..=2).prop_flat_map(|(l, n)| {
            (
                proptest::collection::vec(extreme(), l * n),
                proptest::collection::vec(extreme(), l * n),
                proptest::collection::vec(extreme(), l * n),
            )
                .prop_map(move |(a, b, c)| Channel::new(l, n, a, b, c).unwrap())
        })
    }

    proptest! {
        /// Skipping the rows the error bound proves never changes the verdict: the first
        /// break is the one an exact comparison of every row finds.
        #[test]
        fn skipped_rows_are_proven(ch in extreme_channel(), wide in any::<bool>()) {
            let eps = if wide { 1e-3 } else { 1e-9 };
            prop_assert_eq!(break_search(&ch, eps, true), break_search(&ch, eps, false));
            let c32 = ch.map(|&v| v as f32);
            if c32.abar_all().iter().chain(c32.bbar_all()).chain(c32.c_all()).all(|v| v.is_finite()) {
                prop_assert_eq!(break_search(&c32, eps, true), break_search(&c32, eps, false));
            }
        }

        #[test]
        fn skipped_rows_are_proven_on_mamba_like_channels(
            (ch, _) in crate::strategies::mamba_like_channel_with_input::<f64>(1..=24, 1..=3)
        ) {
            let c32 = ch.map(|&v| v as f32);
            prop_assert_eq!(break_search(&ch, 1e-3, true), break_search(&ch, 1e-3, false));
            prop_assert_eq!(break_search(&c32, 1e-3, true), break_search(&c32, 1e-3, false));
        }
    }

    /// The reproducer: Q = C·P underflows to 0 from a nonzero C.
    #[test]
    fn a_query_that_underflows_to_zero_is_compared() {
        // P_1 = Ā_1 = 1e-30, Q_1 = 1e-300 · 1e-30 → 0
        let ch =
            Channel::new(2, 1, vec![1.0f64, 1e-30], vec![0.0, 1.0], vec![1.0, 1e-300]).unwrap();
        let cert = first_break(&ch, 1e-3).expect("relative error 1");
        assert_eq!(cert["relative_error"].as_f64(), Some(1.0));
        // So is a key B̄/P that underflows from a nonzero B̄: P_1 = 1e300, K_1 = 1e-30/1e300 → 0
        let ch = Channel::new(
            2,
            1,
            vec![1.0f64, 1e300],
            vec![0.0, 1e-30],
            vec![1.0, 1e-300],
        )
        .unwrap();
        let cert = first_break(&ch, 1e-3).expect("relative error 1");
        assert_eq!(cert["relative_error"].as_f64(), Some(1.0));
    }

    /// Every product is normal but their sum overflows: the row is compared, and breaks.
    #[test]
    fn an_entry_that_overflows_is_compared() {
        let ch = Channel::new(1, 2, vec![1.0f64; 2], vec![1.0; 2], vec![1.5e308; 2]).unwrap();
        let cert = first_break(&ch, 1e-3).expect("the sum is +∞");
        assert_eq!(
            (&cert["float_value"], &cert["relative_error"]),
            (&json!("inf"), &json!("inf"))
        );
    }

    /// ε below γ_{3L+N+4} proves nothing: every row is compared.
    #[test]
    fn gamma_is_compared_exactly() {
        let u = f64::EPSILON / 2.0;
        let g = 8.0 * u / (1.0 - 8.0 * u); // L = N = 1: m = 8
        assert!(eps_covers_gamma::<f64>(1, 1, g * (1.0 + 1e-15)));
        assert!(!eps_covers_gamma::<f64>(1, 1, 8.0 * u));
        assert!(!eps_covers_gamma::<f32>(1 << 22, 1, 1.0));
    }

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

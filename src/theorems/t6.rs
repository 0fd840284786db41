//! T6 — softmax heads and channels separate, with exact and interval certificates.
// A failing case returns the whole counterexample by value (as t1 and t2 do).
#![allow(clippy::result_large_err)]

use num_traits::{One, Signed, ToPrimitive, Zero};

use super::t3::fail;
use super::{CaseResult, Theorem};
use crate::attention::SoftmaxHead;
use crate::construct::separation::{
    certify_softmax_head, certify_softmax_rank, enclosure_is_stochastic, softmax_obstruction,
    RankCertificate, SoftmaxObstruction,
};
use crate::interval::softmax_enclosure;
use crate::scalar::{Exact, Field};
use crate::semiseparable::semiseparable_rank_exact;
use crate::ssm::{attention_matrix, scan, Channel};
use crate::tensor::Matrix;

/// Statement of T6.
pub const THEOREM: Theorem = Theorem {
    id: "T6",
    statement: "(a) α̃ with an entry ≤ 0 or a row sum ≠ 1 is no softmax head's; (b) a softmax head whose interval-certified submatrix has size N+1 is no state-N channel's; its rank grows with L",
};

/// Exact check of T6a on a rational channel and a rational softmax head: the channel part
/// of [`check_channel_obstruction`], and the softmax head's rigorous enclosure is
/// positive and row-stochastic (so the obstruction test never fires on a softmax matrix).
pub fn check_obstruction(case: &((Channel<Exact>, Vec<Exact>), SoftmaxHead<Exact>)) -> CaseResult {
    let ((ch, x), head) = case;
    check_channel_obstruction(&(ch.clone(), x.clone()))?;
    if !enclosure_is_stochastic(&softmax_enclosure(head, 96)) {
        return Err(fail(
            THEOREM.id,
            "exact",
            format!("softmax head enclosure not positive row-stochastic: {head:?}"),
            Some(ch.clone()),
        ));
    }
    Ok(None)
}

/// Exact check of T6a on one rational channel: the obstruction [`softmax_obstruction`]
/// finds on `$\tilde\alpha$` (or its absence) is confirmed independently of `$\tilde\alpha$` —
/// it equals the first defect found from scans of the channel (column `$j$` of
/// `$\tilde\alpha$` is the output on the unit input `$e_j$`, the row sums the output on
/// `$(1,\dots,1)$`), and it re-verifies on the channel
/// ([`SoftmaxObstruction::verify_on_channel`]).
pub fn check_channel_obstruction(case: &(Channel<Exact>, Vec<Exact>)) -> CaseResult {
    let ch = &case.0;
    let a = attention_matrix(ch)
        .map_err(|e| fail(THEOREM.id, "exact", e.to_string(), Some(ch.clone())))?;
    obstruction_against(ch, &a)
}

/// The T6a check with the matrix `a` whose obstruction is to be confirmed on `ch`.
fn obstruction_against(ch: &Channel<Exact>, a: &Matrix<Exact>) -> CaseResult {
    let f = |what: String| fail(THEOREM.id, "exact", what, Some(ch.clone()));
    let found = softmax_obstruction(a);
    let independent = first_defect_by_scans(ch).map_err(|e| f(e.to_string()))?;
    if found != independent {
        let show = |o: &Option<SoftmaxObstruction>| match o {
            Some(o) => o.to_string(),
            None => "none".into(),
        };
        return Err(f(format!(
            "obstruction on α̃: {}; from scans of the channel: {}",
            show(&found),
            show(&independent)
        )));
    }
    if let Some(ob) = found {
        if !ob.verify_on_channel(ch) {
            return Err(f(format!(
                "obstruction `{ob}` does not re-verify on the channel"
            )));
        }
    }
    Ok(None)
}

/// The first obstruction in row order (entries `$j \le i$`, then the row sum), computed
/// from scans of the channel only: column `$j$` is the scan of `$e_j$` (T1).
fn first_defect_by_scans(ch: &Channel<Exact>) -> crate::error::Result<Option<SoftmaxObstruction>> {
    let l = ch.len();
    let mut cols = Vec::with_capacity(l);
    for j in 0..l {
        let mut e = vec![Exact::zero(); l];
        e[j] = Exact::one();
        cols.push(scan(ch, &e)?.y);
    }
    let sums = scan(ch, &vec![Exact::one(); l])?.y;
    for (i, sum) in sums.into_iter().enumerate() {
        for (j, col) in cols.iter().enumerate().take(i + 1) {
            if col[i].is_negative() {
                let value = col[i].clone();
                return Ok(Some(SoftmaxObstruction::NegativeEntry {
                    row: i,
                    col: j,
                    value,
                }));
            }
            if col[i].is_zero() {
                return Ok(Some(SoftmaxObstruction::ZeroEntry { row: i, col: j }));
            }
        }
        if !sum.is_one() {
            return Ok(Some(SoftmaxObstruction::RowSum { row: i, sum }));
        }
    }
    Ok(None)
}

/// A case of the T6b row: a rational softmax head whose semiseparable rank is certified.
#[derive(Debug, Clone)]
pub enum RankCase {
    /// The Vandermonde-type head on `len` positions with `$d = 1$`, `$q_i = a + b i$`,
    /// `$k_j = c + e j$` and scale `$s$` (`$b, e, s \ne 0$`). On rows `$n..=2n$` and columns
    /// `$0..=n$` its matrix is `$r_i w_i^{j}$` with `$r_i = e^{s q_i c}/Z_i$` and distinct nodes
    /// `$w_i = e^{s e q_i}$`, so the submatrix is nonsingular with
    /// `$\det = \prod_i r_i \prod_{i<i'}(w_{i'} - w_i)$` and no state-`$n$` channel
    /// reproduces the head. [`crate::construct::separation::softmax_rank_family`]`(n)` is
    /// the case `$a = c = 0$`, `$b = e = 1$`, `$s = 1/(n+1)$`, `len` `$= 2n+1$`.
    Vandermonde {
        /// The state size `$n$` to exceed.
        n: usize,
        /// `$L \ge 2n + 1$`.
        len: usize,
        /// `$(a, b, c, e, s)$`.
        params: [Exact; 5],
    },
    /// Any rational softmax head: the certificate is searched for by
    /// [`certify_softmax_head`].
    Head(SoftmaxHead<Exact>),
}

impl RankCase {
    /// The head of the case.
    pub fn head(&self) -> SoftmaxHead<Exact> {
        match self {
            Self::Head(h) => h.clone(),
            Self::Vandermonde { len, params, .. } => {
                let [a, b, c, e, s] = params;
                let col = |p: &Exact, d: &Exact| {
                    let v = (0..*len)
                        .map(|i| p.clone() + d.clone() * Exact::from_integer((i as i64).into()))
                        .collect();
                    Matrix::from_row_major(*len, 1, v).expect("L × 1")
                };
                SoftmaxHead::new(col(a, b), col(c, e), s.clone()).expect("finite scale")
            }
        }
    }
}

/// Exact check of T6b on one head, certificate computed and verified per case (nothing
/// cached). Vandermonde case: the certificate on rows `$n..=2n$`, columns `$0..=n$` exists
/// (its 64-bit interval determinant excludes 0) and has size `$n+1$`, and it is verified
/// independently of the interval code: the closed form of [`RankCase::Vandermonde`]
/// (sign and `$\ln|\det|$` in f64) has the enclosure's sign and lies in its range up to
/// `$10^{-6}$` in `$\ln$`. Any head: the certificate found by the search has size
/// `$1 \le k \le \min(\lceil L/2\rceil,$` float rank`$)$`, lies in one block and
/// re-verifies ([`RankCertificate::verify`]). In both, the f64 determinant of the
/// certified submatrix (LU of the f64 softmax matrix) lies within the enclosure up to
/// the perturbation bound `$10^{-9}\prod_i\lVert\text{row}_i\rVert_2$`.
pub fn check_rank_case(case: &RankCase) -> CaseResult {
    let head = case.head();
    let f = |what: String| fail(THEOREM.id, "exact", format!("{what}; head {head:?}"), None);
    let cert = match case {
        RankCase::Vandermonde { n, params, .. } => {
            let rows: Vec<usize> = (*n..=2 * n).collect();
            let cols: Vec<usize> = (0..=*n).collect();
            let cert = certify_softmax_rank(&head, &rows, &cols, 64).ok_or_else(|| {
                f(format!(
                    "n = {n}: the enclosure of the determinant contains 0"
                ))
            })?;
            if cert.size() != n + 1 {
                return Err(f(format!(
                    "certificate of size {} for n = {n}",
                    cert.size()
                )));
            }
            // independent verification: the closed form, not a recomputation
            closed_form_encloses(&cert, params).map_err(&f)?;
            cert
        }
        RankCase::Head(h) => {
            let cert = certify_softmax_head(h, 128)
                .ok_or_else(|| f("no certificate, not even a positive entry".into()))?;
            let a = h
                .map(Field::to_f64)
                .attention()
                .map_err(|e| f(e.to_string()))?;
            let float_rank = crate::semiseparable::semiseparable_rank_f64(&a, 0.0).rank;
            let k = cert.size();
            if k == 0 || k > h.len().div_ceil(2) || k > float_rank {
                return Err(f(format!(
                    "certificate of size {k} (L = {}, float rank {float_rank})",
                    h.len()
                )));
            }
            cert
        }
    };
    let inside = cert.rows.windows(2).all(|w| w[0] < w[1])
        && cert.cols.windows(2).all(|w| w[0] < w[1])
        && cert.rows.last().is_some_and(|&r| r < head.len())
        && cert.cols.last() <= cert.rows.first();
    if !inside {
        return Err(f(format!(
            "certificate on rows {:?}, columns {:?} is outside one block",
            cert.rows, cert.cols
        )));
    }
    if matches!(case, RankCase::Head(_)) && !cert.verify() {
        return Err(f("the searched certificate does not re-verify".into()));
    }
    float_determinant_agrees(&cert).map_err(&f)?;
    Ok(None)
}

/// T6b for the family [`crate::construct::separation::softmax_rank_family`]`(n)`: the
/// [`RankCase::Vandermonde`] case `$a = c = 0$`, `$b = e = 1$`, `$s = 1/(n+1)$`, `$L = 2n+1$`,
/// checked by [`check_rank_case`] (certificate of size `$n+1$` on rows `$n..=2n$`, columns
/// `$0..=n$`).
pub fn check_rank(n: &usize) -> CaseResult {
    let int = |v: i64| Exact::from_integer(v.into());
    check_rank_case(&RankCase::Vandermonde {
        n: *n,
        len: 2 * n + 1,
        params: [
            int(0),
            int(1),
            int(0),
            int(1),
            Exact::new(1.into(), (*n as i64 + 1).into()),
        ],
    })
}

/// The closed form of a Vandermonde-type certificate (rows `$R$`, columns `$0..=|R|-1$` of
/// the head of [`RankCase::Vandermonde`] with `params`), in f64, has the enclosure's sign and
/// its `$\ln|\det|$` lies in the enclosure's range up to `$10^{-6}$` in `$\ln$`: an
/// independent verification of the interval determinant (used by T6b and T19a).
pub(crate) fn closed_form_encloses(
    cert: &RankCertificate,
    params: &[Exact; 5],
) -> Result<(), String> {
    let cols_ok = cert.cols.iter().enumerate().all(|(i, &c)| i == c);
    if !cols_ok {
        return Err(format!(
            "columns {:?} are not 0..={}: no closed form",
            cert.cols,
            cert.size().saturating_sub(1)
        ));
    }
    let (sign, ln_det) = vandermonde_ln_det(params, &cert.rows);
    let (lo, hi) = (cert.determinant.lo(), cert.determinant.hi());
    if lo.is_positive() != (sign > 0.0) || hi.is_positive() != (sign > 0.0) {
        return Err(format!(
            "enclosure {:?} has the wrong sign (closed form: sign {sign})",
            cert.determinant
        ));
    }
    let (a, b) = (ln_abs(lo), ln_abs(hi));
    let tol = 1e-6 * ln_det.abs().max(1.0);
    if ln_det < a.min(b) - tol || ln_det > a.max(b) + tol {
        return Err(format!(
            "closed form ln|det| = {ln_det} outside the enclosure's [{}, {}]",
            a.min(b),
            a.max(b)
        ));
    }
    Ok(())
}

/// The sign and `$\ln|\det|$` of the submatrix on `rows` and columns `$0..|R|$` of the
/// Vandermonde-type head with `params` `$(a, b, c, e, s)$`, from its closed form
/// `$\prod_i r_i \prod_{i<i'}(w_{i'} - w_i)$`, in f64 (log-sum-exp for `$Z_i$`, `ln(-expm1)`
/// for the node differences).
fn vandermonde_ln_det(params: &[Exact; 5], rows: &[usize]) -> (f64, f64) {
    let [a, b, c, e, s] = params.clone().map(|v| Field::to_f64(&v));
    let q = |i: usize| a + b * i as f64;
    let k = |j: usize| c + e * j as f64;
    let ln_w = |i: usize| s * e * q(i);
    let mut ln = 0.0;
    for &i in rows {
        let z: Vec<f64> = (0..=i).map(|j| s * q(i) * k(j)).collect();
        let mx = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let ln_z = mx + z.iter().map(|v| (v - mx).exp()).sum::<f64>().ln();
        ln += s * q(i) * c - ln_z;
    }
    let mut sign = 1.0;
    for (x, &i) in rows.iter().enumerate() {
        for &i2 in &rows[x + 1..] {
            let (lw, lw2) = (ln_w(i), ln_w(i2));
            if lw2 < lw {
                sign = -sign;
            }
            ln += lw.max(lw2) + (-(-(lw - lw2).abs()).exp_m1()).ln();
        }
    }
    (sign, ln)
}

/// `$\ln|x|$` of a nonzero rational, in f64, without overflow or underflow.
fn ln_abs(x: &Exact) -> f64 {
    let part = |v: &num_bigint::BigInt| {
        let bits = v.bits();
        let shift = bits.saturating_sub(60);
        let top = (v.abs() >> shift).to_f64().unwrap_or(f64::NAN);
        top.ln() + shift as f64 * std::f64::consts::LN_2
    };
    part(x.numer()) - part(x.denom())
}

/// The f64 determinant of the certified submatrix (LU with partial pivoting of the f64
/// softmax matrix) lies within the enclosure widened by `$10^{-9}\prod_i\lVert
/// \text{row}_i\rVert_2$` (Hadamard: a relative row perturbation `$\delta$` moves the
/// determinant by at most `$((1+\delta)^k - 1)\prod_i\lVert\text{row}_i\rVert_2$`).
pub(crate) fn float_determinant_agrees(cert: &RankCertificate) -> Result<(), String> {
    let a = cert
        .head
        .map(Field::to_f64)
        .attention()
        .map_err(|e| e.to_string())?;
    let mut m: Vec<Vec<f64>> = cert
        .rows
        .iter()
        .map(|&r| cert.cols.iter().map(|&c| *a.get(r, c)).collect())
        .collect();
    let hadamard: f64 = m
        .iter()
        .map(|r| r.iter().map(|v| v * v).sum::<f64>().sqrt())
        .product();
    let k = m.len();
    let mut det = 1.0;
    for c in 0..k {
        let p = (c..k)
            .max_by(|&x, &y| m[x][c].abs().total_cmp(&m[y][c].abs()))
            .expect("c < k");
        if p != c {
            m.swap(p, c);
            det = -det;
        }
        det *= m[c][c];
        if m[c][c] == 0.0 {
            break;
        }
        for r in c + 1..k {
            let factor = m[r][c] / m[c][c];
            for j in c..k {
                m[r][j] -= factor * m[c][j];
            }
        }
    }
    let (lo, hi) = (
        Field::to_f64(cert.determinant.lo()),
        Field::to_f64(cert.determinant.hi()),
    );
    let tol = 1e-9 * hadamard + f64::MIN_POSITIVE;
    if det.is_nan() || det < lo - tol || det > hi + tol {
        return Err(format!(
            "f64 determinant {det:e} outside the enclosure [{lo:e}, {hi:e}] ± {tol:e}"
        ));
    }
    Ok(())
}

/// Consistency of T4 and T6b on one rational channel of state `$N$`: its `$\tilde\alpha$` has
/// semiseparable rank `$\le N$`, strictly below the certified `$N+1$` of the softmax family.
pub fn check_channel_below_family(case: &(Channel<Exact>, Vec<Exact>)) -> CaseResult {
    let ch = &case.0;
    let a = attention_matrix(ch)
        .map_err(|e| fail(THEOREM.id, "exact", e.to_string(), Some(ch.clone())))?;
    let r = semiseparable_rank_exact(&a).rank;
    if r > ch.state() {
        return Err(fail(
            THEOREM.id,
            "exact",
            format!("rank {r} > N"),
            Some(ch.clone()),
        ));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scalar::ratio;
    use crate::theorems::Counterexample;

    /// Ā ≡ 1, B̄ ≡ 1, C_i = c_i: with c_i = 1/(i+1), α̃ is the causal average (positive,
    /// row-stochastic: no obstruction).
    fn channel(c: [i64; 3]) -> Channel<Exact> {
        let c = c.iter().map(|&q| ratio(1, q)).collect();
        Channel::new(3, 1, vec![ratio(1, 1); 3], vec![ratio(1, 1); 3], c).expect("3 × 1")
    }

    /// A matrix with one entry's sign flipped (as a bug in α̃ would produce) yields an
    /// obstruction that re-verifies on that matrix but not on the channel: the check
    /// rejects it. A matrix that hides the channel's defect is rejected too.
    #[test]
    fn obstruction_is_confirmed_on_the_channel_not_the_matrix() {
        let ch = channel([1, 2, 3]);
        let good = attention_matrix(&ch).unwrap();
        assert_eq!(softmax_obstruction(&good), None);
        assert_eq!(obstruction_against(&ch, &good), Ok(None));
        let mut bad = good.clone();
        *bad.get_mut(1, 0) = -bad.get(1, 0).clone();
        let ob = softmax_obstruction(&bad).unwrap();
        assert!(ob.verify(&bad), "the old re-verification accepts it");
        assert!(!ob.verify_on_channel(&ch));
        let err: Counterexample = obstruction_against(&ch, &bad).unwrap_err();
        assert!(err.what.contains("from scans"), "{}", err.what);
        // row 2 of this channel sums to 3/2; the causal average hides it
        let ch2 = channel([1, 2, 2]);
        let ob2 = softmax_obstruction(&attention_matrix(&ch2).unwrap()).unwrap();
        assert!(ob2.verify_on_channel(&ch2), "{ob2}");
        assert_eq!(
            obstruction_against(&ch2, &attention_matrix(&ch2).unwrap()),
            Ok(None)
        );
        assert!(obstruction_against(&ch2, &good).is_err());
    }

    /// The T6b check fails on a tampered case: a Vandermonde case whose closed form is
    /// for other parameters.
    #[test]
    fn rank_check_detects_wrong_closed_form() {
        let fam = RankCase::Vandermonde {
            n: 2,
            len: 5,
            params: [
                ratio(0, 1),
                ratio(1, 1),
                ratio(0, 1),
                ratio(1, 1),
                ratio(1, 3),
            ],
        };
        assert_eq!(
            fam.head(),
            crate::construct::separation::softmax_rank_family(2)
        );
        assert_eq!(check_rank_case(&fam), Ok(None));
        // e = 0: equal nodes, singular submatrix: no certificate, the check fails
        let singular = RankCase::Vandermonde {
            n: 2,
            len: 5,
            params: [
                ratio(0, 1),
                ratio(1, 1),
                ratio(0, 1),
                ratio(0, 1),
                ratio(1, 3),
            ],
        };
        assert!(check_rank_case(&singular).is_err());
        let RankCase::Vandermonde { params, .. } = &fam else {
            unreachable!()
        };
        let (_, ln_fam) = vandermonde_ln_det(params, &[2, 3, 4]);
        let c = softmax_exceeds_state_det(2);
        assert!((ln_abs(&c) - ln_fam).abs() < 1e-9);
    }

    fn softmax_exceeds_state_det(n: usize) -> Exact {
        let c = crate::construct::separation::softmax_exceeds_state(n).unwrap();
        (c.determinant.lo().clone() + c.determinant.hi()) / ratio(2, 1)
    }
}

//! `softmax-in-channel`: "every causal softmax head on length L equals the hidden attention
//! of some channel with state N".
//!
//! False for every fixed `$N$` (T6b). Certificate: a `$k\times k$` submatrix, `$k = N+1$`, inside
//! one block `$H_j$` (rows `$\ge j$`, columns `$\le j$`) of the head's matrix, whose determinant,
//! enclosed in rational interval arithmetic with `exp` enclosed by a Taylor polynomial and a
//! rigorous remainder ([`crate::interval`]), excludes 0. So the block has rank `$\ge N+1$`,
//! while every block of a state-`$N$` channel's `$\tilde\alpha$` has rank `$\le N$` (T4; Coq:
//! `t4_semiseparable_rank`, `t5_state_lower_bound`).

use proptest::strategy::{BoxedStrategy, Strategy};
use serde_json::{json, Value};

use super::json::fits;
use super::{cert_index, exact_doc, float_doc, parse_doc, Conjecture, Params, Refutation};
use crate::attention::SoftmaxHead;
use crate::construct::separation::certify_softmax_rank;
use crate::interchange::Object;
use crate::interval::{exp_interval, Interval};
use crate::report::exact_json;
use crate::scalar::{Exact, Field};
use crate::strategies;
use crate::tensor::Matrix;

/// Identifier.
pub const ID: &str = "softmax-in-channel";

/// Significant bits of the interval arithmetic.
pub const BITS: u32 = 128;

/// The conjecture.
pub struct SoftmaxInChannel;

/// The head's matrix to about 19 digits, from the midpoints of rigorous 64-bit enclosures
/// of `$e^{z_{ij} - \max_{j'} z_{ij'}}$`: the same numbers on every platform (no libm), so
/// the search's choice of submatrix, and hence the certificate, is reproducible.
pub fn guide_matrix(head: &SoftmaxHead<Exact>) -> Matrix<f64> {
    let (l, z) = (head.len(), head.scores());
    let mut m = Matrix::zeros(l, l);
    for i in 0..l {
        let top = (0..=i).map(|j| z.get(i, j)).max().expect("j = 0").clone();
        let e: Vec<Exact> = (0..=i)
            .map(|j| {
                let x = Interval::point(z.get(i, j).clone() - &top);
                exp_interval(&x, 64).expect("e^x for x ≤ 0").mid()
            })
            .collect();
        let sum = e
            .iter()
            .fold(Exact::from_integer(0.into()), |acc, x| acc + x);
        for (j, x) in e.iter().enumerate() {
            *m.get_mut(i, j) = (x.clone() / &sum).to_f64();
        }
    }
    m
}

/// Rows and columns of a `k × k` submatrix of block `$H_j$` chosen by Gaussian elimination
/// with complete pivoting on the f64 block (a heuristic choice; the certificate is exact).
fn pivot_submatrix(
    a: &crate::tensor::Matrix<f64>,
    j: usize,
    k: usize,
) -> Option<(Vec<usize>, Vec<usize>)> {
    let l = a.rows();
    let mut rows: Vec<usize> = (j..l).collect();
    let mut cols: Vec<usize> = (0..=j).collect();
    if rows.len() < k || cols.len() < k {
        return None;
    }
    let mut m: Vec<Vec<f64>> = rows
        .iter()
        .map(|&r| cols.iter().map(|&c| *a.get(r, c)).collect())
        .collect();
    for step in 0..k {
        let (mut br, mut bc, mut best) = (step, step, 0.0);
        for (r, row) in m.iter().enumerate().skip(step) {
            for (c, v) in row.iter().enumerate().skip(step) {
                if v.abs() > best {
                    (br, bc, best) = (r, c, v.abs());
                }
            }
        }
        if best == 0.0 {
            return None;
        }
        m.swap(step, br);
        rows.swap(step, br);
        for row in m.iter_mut() {
            row.swap(step, bc);
        }
        cols.swap(step, bc);
        for r in step + 1..m.len() {
            let f = m[r][step] / m[step][step];
            for c in step..m[r].len() {
                m[r][c] -= f * m[step][c];
            }
        }
    }
    let (mut r, mut c) = (rows[..k].to_vec(), cols[..k].to_vec());
    r.sort_unstable();
    c.sort_unstable();
    Some((r, c))
}

impl Conjecture for SoftmaxInChannel {
    type Case = SoftmaxHead<Exact>;
    fn id(&self) -> &'static str {
        ID
    }
    fn theorem(&self) -> &'static str {
        "T6"
    }
    fn statement(&self, p: &Params) -> String {
        format!(
            "every causal softmax head on length L ≤ {} equals the hidden attention of some S6 channel with state N = {}",
            p.len, p.state
        )
    }
    fn strategy(&self, p: &Params) -> BoxedStrategy<Self::Case> {
        strategies::rational_softmax_head(1..=p.len.max(1), 1..=2).boxed()
    }
    fn case_json(&self, head: &Self::Case, _: &Params) -> (Value, Value) {
        (
            exact_doc(Object::SoftmaxHead(head.clone())),
            float_doc(Object::SoftmaxHead(head.clone())),
        )
    }
    fn parse_case(&self, case: &Value, p: &Params) -> Result<Self::Case, String> {
        let Object::SoftmaxHead(head) = parse_doc(case, "counterexample")? else {
            return Err("counterexample.kind: expected a softmax_head".into());
        };
        fits(head.len(), 1, p)?;
        Ok(head)
    }
    fn check(&self, head: &Self::Case, p: &Params) -> Result<(), Refutation> {
        let k = p.state + 1;
        if head.len() < 2 * k - 1 {
            // Every block H_j has min(L − j, j + 1) ≤ N rows or columns: no minor of size N + 1.
            return Ok(());
        }
        let approx = guide_matrix(head);
        for j in 0..head.len() {
            let Some((rows, cols)) = pivot_submatrix(&approx, j, k) else {
                continue;
            };
            if let Some(cert) = certify_softmax_rank(head, &rows, &cols, BITS) {
                let mut measured = std::collections::BTreeMap::new();
                measured.insert("certified_rank_lower_bound".into(), k as f64);
                measured.insert("determinant_lo".into(), cert.determinant.lo().to_f64());
                measured.insert("determinant_hi".into(), cert.determinant.hi().to_f64());
                // The minor itself (f64), so that a reader sees the matrix being certified.
                for &r in &rows {
                    for &c in &cols {
                        measured.insert(format!("softmax[{r}][{c}]"), *approx.get(r, c));
                    }
                }
                return Err(Refutation::proof(json!({
                    "kind": "determinant_interval", "state": p.state, "block": j,
                    "rows": rows, "cols": cols, "bits": BITS,
                    "determinant": { "lo": exact_json(cert.determinant.lo()), "hi": exact_json(cert.determinant.hi()) },
                }))
                .with_measured(measured));
            }
        }
        Ok(())
    }
    fn verify(&self, case: &Value, cert: &Value, p: &Params) -> Result<String, String> {
        let head = self.parse_case(case, p)?;
        if cert.get("kind").and_then(Value::as_str) != Some("determinant_interval") {
            return Err("certificate.kind: expected determinant_interval".into());
        }
        let list = |k: &str| -> Result<Vec<usize>, String> {
            cert.get(k)
                .and_then(Value::as_array)
                .and_then(|a| a.iter().map(|v| v.as_u64().map(|v| v as usize)).collect())
                .ok_or(format!("certificate.{k}: missing or not a list of indices"))
        };
        let (rows, cols) = (list("rows")?, list("cols")?);
        let bits = cert_index(cert, "bits")? as u32;
        let state = cert_index(cert, "state")?;
        if state != p.state {
            return Err(format!(
                "certificate.state: {state} differs from search.state = {}",
                p.state
            ));
        }
        if rows.len() <= state {
            return Err(format!(
                "certificate.rows: a {0}×{0} minor cannot exceed rank N = {state}",
                rows.len()
            ));
        }
        let recomputed = certify_softmax_rank(&head, &rows, &cols, bits).ok_or(
            "certificate.rows/cols: the recomputed determinant enclosure contains 0, or the submatrix is not square inside one block",
        )?;
        let claimed = cert
            .get("determinant")
            .ok_or("certificate.determinant: missing")?;
        let d = &recomputed.determinant;
        if claimed.get("lo") != Some(&exact_json(d.lo()))
            || claimed.get("hi") != Some(&exact_json(d.hi()))
        {
            return Err(format!(
                "certificate.determinant: differs from the recomputed enclosure [{:.6e}, {:.6e}]",
                d.lo().to_f64(),
                d.hi().to_f64()
            ));
        }
        Ok(format!(
            "the {k}×{k} minor (rows {rows:?}, cols {cols:?}) of the softmax matrix has determinant in [{:.6e}, {:.6e}] ∌ 0, so that block has rank ≥ {k} > N = {state}; every block of a state-{state} channel's α̃ has rank ≤ {state} (T4)",
            d.lo().to_f64(),
            d.hi().to_f64(),
            k = rows.len()
        ))
    }
}

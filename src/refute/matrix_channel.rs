//! `deltanet-mamba-channel` and `dplr-mamba-channel`: "every DeltaNet / Gated DeltaNet
//! (resp. DPLR) head with `$d_k$` = `--state`, `$L \le$` `--len` is the hidden attention
//! `$\tilde\alpha$` of a Mamba channel of state `$d_k$`" (T18).
//!
//! True when every transition `$M_t$`, `$1 \le t \le L-1$`, is invertible: the channel
//! `$\bar A \equiv 1$` (a Mamba channel with `$A = 0$`) of
//! [`crate::family::linear::realise::identity_channel`]. False in general: the certificate
//! of T18 (b) ([`InvertibleStepObstruction`], proof in
//! [`crate::family::linear::obstruction`]) — a step `$r$` with
//! `$\operatorname{rank} A[r-1.., ..r-1] = \operatorname{rank} A[r.., ..r] = d_k$`
//! (nonsingular minors, exact determinants) and an exact factorisation of
//! `$A[r.., ..r-1]$` through fewer than `$d_k$` dimensions — proves that no channel of state
//! `$d_k$` with an invertible `$\bar A_r$` has `$\tilde\alpha = A$`, and Mamba's
//! `$\bar A_r = e^{\Delta_r A}$` is positive. DeltaNet's `$M_r = I - \beta kk^\top$` is singular
//! iff `$\beta k^\top k = 1$`; the smallest counterexamples have `$d_k = 1$`, `$L = 2$`
//! (`$\bar A_1 = 0$` is no Mamba transition) and, for `--state 2`, `$L = 4$`. A head with a
//! singular step that meets no rank condition is neither constructed nor refuted; the
//! search passes it over (it is not evidence either way).

use num_traits::Zero;
use proptest::strategy::{BoxedStrategy, Strategy};
use serde_json::{json, Value};

use super::json::{cert_exact, cert_index, cert_kind, fits, parse_exact_matrix};
use super::{Conjecture, Params, Refutation};
use crate::family::linear::obstruction::{
    find_invertible_step_obstruction, InvertibleStepObstruction, Minor,
};
use crate::family::linear::realise::identity_channel;
use crate::family::linear::{FamilyHead, Member, Readout, Transition};
use crate::report::{exact_json, Parameter};
use crate::scalar::{Exact, Field};
use crate::semiseparable::determinant;
use crate::strategies;
use crate::tensor::Matrix;
use crate::theorems::t14::dense;

/// Identifier of the DeltaNet / Gated DeltaNet conjecture.
pub const DELTANET_ID: &str = "deltanet-mamba-channel";
/// Identifier of the DPLR conjecture.
pub const DPLR_ID: &str = "dplr-mamba-channel";

/// The conjecture for one group of matrix-transition members.
pub struct MatrixMambaChannel {
    id: &'static str,
    members: &'static [Member],
    kind: &'static str,
    name: &'static str,
}

/// "Every DeltaNet / Gated DeltaNet head is a Mamba channel of state `$d_k$`".
pub const DELTANET: MatrixMambaChannel = MatrixMambaChannel {
    id: DELTANET_ID,
    members: &[Member::DeltaRule, Member::GatedDeltaRule],
    kind: "delta_rule_head",
    name: "DeltaNet / Gated DeltaNet head (M_t = g_t(I − β_t k_t k_tᵀ), b_t = β_t k_t)",
};

/// "Every DPLR (RWKV-7) head is a Mamba channel of state `$d_k$`".
pub const DPLR: MatrixMambaChannel = MatrixMambaChannel {
    id: DPLR_ID,
    members: &[Member::Dplr],
    kind: "dplr_head",
    name: "DPLR head (M_t = diag(g_t) + β_t α_tᵀ, b_t = k_t)",
};

fn rows<T>(x: &[T], width: usize, f: &dyn Fn(&T) -> Value) -> Value {
    Value::Array(
        x.chunks(width.max(1))
            .map(|r| Value::Array(r.iter().map(f).collect()))
            .collect(),
    )
}

fn exact_value(x: &Exact) -> Value {
    exact_json(x)
}

fn float_value(x: &Exact) -> Value {
    json!(x.to_f64())
}

fn vector(v: &Value, n: usize, field: &str) -> Result<Vec<Exact>, String> {
    let m = parse_exact_matrix(&json!([v]), field)
        .map_err(|e| e.replacen(&format!("{field}[0]"), field, 1))?;
    if m.cols() != n {
        return Err(format!("{field}: {} entries, L = {n}", m.cols()));
    }
    Ok(m.row(0).to_vec())
}

fn table(v: &Value, l: usize, dk: usize, field: &str) -> Result<Vec<Exact>, String> {
    let m = parse_exact_matrix(v, field)?;
    if m.rows() != l || (l > 0 && m.cols() != dk) {
        return Err(format!(
            "{field}: {}×{}, expected L × d_k = {l}×{dk}",
            m.rows(),
            m.cols()
        ));
    }
    Ok(m.data().to_vec())
}

impl MatrixMambaChannel {
    /// The case as JSON with numbers written by `num`.
    fn case_view(&self, head: &FamilyHead<Exact>, num: &dyn Fn(&Exact) -> Value) -> Value {
        let (l, dk) = (head.len(), head.dk);
        let mut doc = json!({
            "kind": self.kind,
            "dk": dk,
            "len": l,
            "q": rows(&head.q, dk, num),
        });
        let per_step = |f: &dyn Fn(&Transition<Exact>) -> Vec<Exact>| {
            Value::Array(
                head.m
                    .iter()
                    .map(|m| Value::Array(f(m).iter().map(num).collect()))
                    .collect(),
            )
        };
        let scalar = |f: &dyn Fn(&Transition<Exact>) -> Exact| {
            Value::Array(head.m.iter().map(|m| num(&f(m))).collect())
        };
        if self.kind == DPLR.kind {
            doc["k"] = rows(&head.b, dk, num);
            let part = |i: usize| {
                move |m: &Transition<Exact>| match m {
                    Transition::DiagonalPlusRankOne { diag, beta, alpha } => {
                        [diag, beta, alpha][i].to_vec()
                    }
                    _ => vec![],
                }
            };
            doc["gate"] = per_step(&part(0));
            doc["beta"] = per_step(&part(1));
            doc["alpha"] = per_step(&part(2));
        } else {
            doc["k"] = per_step(&|m| match m {
                Transition::Householder { key, .. } => key.clone(),
                _ => vec![],
            });
            doc["beta"] = scalar(&|m| match m {
                Transition::Householder { beta, .. } => beta.clone(),
                _ => Exact::zero(),
            });
            doc["gate"] = scalar(&|m| match m {
                Transition::Householder { gate, .. } => gate.clone(),
                _ => Exact::zero(),
            });
        }
        doc
    }
}

impl Conjecture for MatrixMambaChannel {
    type Case = FamilyHead<Exact>;
    fn id(&self) -> &'static str {
        self.id
    }
    fn theorem(&self) -> &'static str {
        "T18"
    }
    fn statement(&self, p: &Params) -> String {
        format!(
            "every {} with d_k = {} and L ≤ {} is the hidden attention α̃ of a Mamba channel of state d_k",
            self.name, p.state, p.len
        )
    }
    fn parameters(&self) -> &'static [Parameter] {
        &[Parameter::Len, Parameter::State]
    }
    /// `$d_k$` = `state`, `$L \in [\lceil len/2\rceil, len]$`, one step in three planted
    /// singular ([`strategies::matrix_transition_head`]).
    fn strategy(&self, p: &Params) -> BoxedStrategy<Self::Case> {
        let (len, n) = (p.len.max(1), p.state.max(1));
        strategies::matrix_transition_head(self.members, len.div_ceil(2)..=len, n..=n).boxed()
    }
    fn case_json(&self, head: &Self::Case, _: &Params) -> (Value, Value) {
        (
            self.case_view(head, &exact_value),
            self.case_view(head, &float_value),
        )
    }
    fn parse_case(&self, v: &Value, p: &Params) -> Result<Self::Case, String> {
        if v.get("kind").and_then(Value::as_str) != Some(self.kind) {
            return Err(format!("counterexample.kind: not \"{}\"", self.kind));
        }
        let index = |key: &str| {
            v.get(key)
                .and_then(Value::as_u64)
                .map(|x| x as usize)
                .ok_or(format!("counterexample.{key}: missing or not an index"))
        };
        let (dk, l) = (index("dk")?, index("len")?);
        fits(l, dk, p)?;
        if dk != p.state {
            return Err(format!(
                "counterexample.dk: d_k = {dk} is not the searched state {} (search.state)",
                p.state
            ));
        }
        let field = |key: &str| v.get(key).unwrap_or(&Value::Null);
        let q = table(field("q"), l, dk, "counterexample.q")?;
        let k = table(field("k"), l, dk, "counterexample.k")?;
        let (m, b) = if self.kind == DPLR.kind {
            let gate = table(field("gate"), l, dk, "counterexample.gate")?;
            let beta = table(field("beta"), l, dk, "counterexample.beta")?;
            let alpha = table(field("alpha"), l, dk, "counterexample.alpha")?;
            let m = (0..l)
                .map(|t| Transition::DiagonalPlusRankOne {
                    diag: gate[t * dk..(t + 1) * dk].to_vec(),
                    beta: beta[t * dk..(t + 1) * dk].to_vec(),
                    alpha: alpha[t * dk..(t + 1) * dk].to_vec(),
                })
                .collect();
            (m, k)
        } else {
            let beta = vector(field("beta"), l, "counterexample.beta")?;
            let gate = vector(field("gate"), l, "counterexample.gate")?;
            let b = (0..l * dk).map(|i| beta[i / dk].clone() * &k[i]).collect();
            let m = (0..l)
                .map(|t| Transition::Householder {
                    gate: gate[t].clone(),
                    beta: beta[t].clone(),
                    key: k[t * dk..(t + 1) * dk].to_vec(),
                })
                .collect();
            (m, b)
        };
        Ok(FamilyHead {
            dk,
            q,
            b,
            m,
            readout: Readout::After,
        })
    }
    fn check(&self, head: &Self::Case, _: &Params) -> Result<(), Refutation> {
        if identity_channel(head).is_ok() {
            return Ok(());
        }
        let a = head
            .attention_matrix()
            .expect("A of a validated head with d_k = state");
        match find_invertible_step_obstruction(&a, head.dk) {
            Some(c) => Err(Refutation::proof(certificate(&c, head))),
            None => Ok(()),
        }
    }
    fn verify(&self, case: &Value, cert: &Value, p: &Params) -> Result<String, String> {
        let head = self.parse_case(case, p)?;
        let a = head.attention_matrix().map_err(|e| e.to_string())?;
        cert_kind(cert, &["invertible_step_obstruction"])?;
        let (l, r, n) = (
            head.len(),
            cert_index(cert, "step")?,
            cert_index(cert, "state")?,
        );
        if r == 0 || r >= l {
            return Err(format!(
                "certificate.step: r = {r} is not in 1..={}",
                l.saturating_sub(1)
            ));
        }
        if n != head.dk {
            return Err(format!(
                "certificate.state: N = {n} is not the head's d_k = {}",
                head.dk
            ));
        }
        let minor = |key: &str| -> Result<Minor, String> {
            let m = cert.get(key).unwrap_or(&Value::Null);
            let idx = |k: &str| {
                m.get(k)
                    .and_then(Value::as_array)
                    .and_then(|a| {
                        a.iter()
                            .map(|x| x.as_u64().map(|x| x as usize))
                            .collect::<Option<Vec<_>>>()
                    })
                    .ok_or(format!("certificate.{key}.{k}: not a list of indices"))
            };
            Ok(Minor {
                rows: idx("rows")?,
                cols: idx("cols")?,
                determinant: cert_exact(m, "determinant")
                    .map_err(|e| e.replacen("certificate.", &format!("certificate.{key}."), 1))?,
            })
        };
        let (before, after) = (minor("before")?, minor("after")?);
        let k = cert_index(cert, "inner")?;
        let factor = |key: &str, nrows: usize, ncols: usize| -> Result<Matrix<Exact>, String> {
            let field = format!("certificate.{key}");
            let v = cert
                .get(key)
                .and_then(Value::as_array)
                .ok_or(format!("{field}: not an array of rows"))?;
            if v.len() != nrows
                || v.iter()
                    .any(|row| row.as_array().map(Vec::len) != Some(ncols))
            {
                return Err(format!(
                    "certificate.inner: k = {k} does not fit {field}, which is not {nrows}×{ncols}"
                ));
            }
            if nrows == 0 {
                return Ok(Matrix::zeros(0, ncols));
            }
            parse_exact_matrix(&Value::Array(v.clone()), &field)
        };
        let obstruction = InvertibleStepObstruction {
            step: r,
            state: n,
            before,
            after,
            left: factor("left", l - r, k)?,
            right: factor("right", k, r)?,
        };
        let det = determinant(&dense(&head.m[r], head.dk));
        if cert_exact(cert, "transition_determinant")? != det {
            return Err(format!(
                "certificate.transition_determinant: det M_{r} is {det}"
            ));
        }
        let why = obstruction
            .verify(&a)
            .map_err(|e| format!("certificate.{e}"))?;
        Ok(format!("{why}; det M_{r} = {det}"))
    }
}

/// The certificate as JSON: the obstruction, and the head's `$\det M_r$` (0: the head is
/// itself a realisation of state `$d_k$`, so T18 (b) applies to it too).
fn certificate(c: &InvertibleStepObstruction, head: &FamilyHead<Exact>) -> Value {
    let minor = |m: &Minor| json!({"rows": m.rows, "cols": m.cols, "determinant": exact_json(&m.determinant)});
    let matrix = |m: &Matrix<Exact>| {
        Value::Array(
            (0..m.rows())
                .map(|i| Value::Array(m.row(i).iter().map(exact_json).collect()))
                .collect(),
        )
    };
    let det = determinant(&dense(&head.m[c.step], head.dk));
    json!({
        "kind": "invertible_step_obstruction",
        "step": c.step,
        "state": c.state,
        "before": minor(&c.before),
        "after": minor(&c.after),
        "inner": c.inner(),
        "left": matrix(&c.left),
        "right": matrix(&c.right),
        "transition_determinant": exact_json(&det),
        "explanation": format!(
            "rank A[{}.., ..{}] = rank A[{r}.., ..{r}] = {n} > rank A[{r}.., ..{}] ≤ {}: no channel of state {n} with an invertible Ā_{r} (no Mamba channel) has α̃ = A (T18b)",
            c.step - 1, c.step - 1, c.step - 1, c.inner(), r = c.step, n = c.state
        ),
    })
}

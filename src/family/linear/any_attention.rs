//! **T19b** — every lower-triangular matrix is the implicit attention of a family head with
//! free queries and keys and `$d_k = L$`: one key coordinate per position.
//!
//! Given a lower-triangular `$L\times L$` matrix `$A$` (in particular a causal softmax
//! matrix, over the reals), take `$k_s = e_s$`, gates `$\equiv 1$` and `$q_t = $` row `$t$` of
//! `$A$`. Then `$M_r e_s = e_s$` for every `$r \ne s$` and (T14)
//!
//! ```math
//! A^{\text{head}}_{ts} = q_t^\top (M_t\cdots M_{s+1})\, e_s = q_t^\top e_s = A_{ts}\quad(s\le t).
//! ```
//!
//! The members differ only in how the same head is spelt: RetNet's fixed decay is undone
//! in the query (`$q_{t,s} = A_{ts}\,\gamma^{s-t}$`), DeltaNet's `$\beta_t = 1/2$` in the write
//! (`$b_s = \beta_s e_s$`, `$q_t = 2 A_{t\cdot}$`; `$I - \beta_t e_te_t^\top$` fixes `$e_s$`,
//! `$s \ne t$`, and coordinate `$t$` of the state is still 0 when step `$t$` writes it), RWKV-6
//! reads before the step with the bonus `$u = 1$`, DPLR has `$\beta\alpha^\top = 0$`. HGRN and
//! RG-LRU have no query or key (`$d_k = 1$`, `$b$` fixed) and are never softmax (T17).
//!
//! Combined with T19a ([`crate::construct::separation::softmax_exceeds_key_dimension`]): a
//! member head with free queries and keys can equal a given causal softmax head when
//! `$d_k \ge L$`, and cannot when the softmax matrix has a certified nonsingular
//! `$(d_k+1)$`-minor in one block (T15).

use num_traits::{One, Zero};

use super::{FamilyHead, Member, Readout, Transition};
use crate::error::{Error, Result};
use crate::scalar::{ratio, Exact};
use crate::tensor::Matrix;

/// RetNet's decay of head 0, `$\gamma_0 = 1 - 2^{-5}$` (as [`Member::Retention`]).
fn retention_gamma() -> Exact {
    ratio(31, 32)
}

/// DeltaNet's write strength in the construction, `$\beta = 1/2$` (inside `$(0, 1)$`, the
/// range of its sigmoid).
fn delta_beta() -> Exact {
    ratio(1, 2)
}

/// **T19b**: a head of `member` with key dimension `$d_k = L$` whose implicit attention is
/// exactly the lower-triangular matrix `a` (module docs for the construction), over the
/// rationals:
///
/// ```math
/// k_s = e_s,\qquad M_t = I\ (\text{gates} \equiv 1),\qquad q_t = (A_{t0},\dots,A_{t,L-1}).
/// ```
///
/// Theorem T19b, checked exactly by `theorems::t19::check_exact` (not formalised; the
/// separation T19a is `t19_softmax_not_member`, `t19_softmax_not_rwkv6` in
/// `proofs/T19_SoftmaxFamily.v`).
///
/// # Errors
/// [`Error::InvalidArgument`] naming `a` if it is not square, naming the first entry above
/// the diagonal that is not 0, or naming `member` for HGRN and RG-LRU (no free query or
/// key: `$d_k = 1$`, T17).
///
/// # Examples
/// ```
/// use hidden_attention::family::linear::{any_attention::head_with_attention, Member};
/// use hidden_attention::{scalar::ratio, tensor::Matrix};
/// let a = Matrix::from_row_major(2, 2, vec![ratio(1, 1), ratio(0, 1), ratio(1, 3), ratio(2, 3)]).unwrap();
/// let head = head_with_attention(Member::Gla, &a).unwrap();
/// assert_eq!(head.dk, 2);
/// assert_eq!(head.attention_matrix().unwrap(), a);
/// let mut upper = a.clone();
/// *upper.get_mut(0, 1) = ratio(1, 2);
/// assert!(head_with_attention(Member::Gla, &upper).is_err());
/// ```
pub fn head_with_attention(member: Member, a: &Matrix<Exact>) -> Result<FamilyHead<Exact>> {
    let l = a.rows();
    if a.cols() != l {
        return Err(Error::InvalidArgument {
            name: "a".into(),
            reason: format!("is {l} × {}, not square", a.cols()),
        });
    }
    for i in 0..l {
        for j in i + 1..l {
            if !a.get(i, j).is_zero() {
                return Err(Error::InvalidArgument {
                    name: format!("a[{i}][{j}]"),
                    reason: format!(
                        "= {} above the diagonal: implicit attention is causal (lower triangular)",
                        a.get(i, j)
                    ),
                });
            }
        }
    }
    let dk = l;
    let ones = vec![Exact::one(); dk];
    let unit = |s: usize| -> Vec<Exact> {
        (0..dk)
            .map(|i| if i == s { Exact::one() } else { Exact::zero() })
            .collect()
    };
    let row = |t: usize| a.row(t).to_vec();
    let (mut q, mut b, mut m) = (Vec::new(), Vec::new(), Vec::new());
    let mut readout = Readout::After;
    for t in 0..l {
        let (qt, bt, mt): (Vec<Exact>, Vec<Exact>, Transition<Exact>) = match member {
            Member::Gla => (row(t), unit(t), Transition::Diagonal(ones.clone())),
            Member::SimpleGla => (row(t), unit(t), Transition::Scalar(Exact::one())),
            Member::Retention => {
                // A_ts = γ^{t−s} q_{t,s}: divide the decay out of the query
                let g = retention_gamma();
                let qt = (0..dk)
                    .map(|s| {
                        let mut v = a.get(t, s).clone();
                        for _ in s..t {
                            v /= &g;
                        }
                        v
                    })
                    .collect();
                (qt, unit(t), Transition::Scalar(g))
            }
            Member::Rwkv6 => {
                readout = Readout::BeforeWithBonus(ones.clone());
                (row(t), unit(t), Transition::Diagonal(ones.clone()))
            }
            Member::Dplr => (
                row(t),
                unit(t),
                Transition::DiagonalPlusRankOne {
                    diag: ones.clone(),
                    beta: vec![Exact::zero(); dk],
                    alpha: vec![Exact::zero(); dk],
                },
            ),
            Member::DeltaRule | Member::GatedDeltaRule => {
                let beta = delta_beta();
                let qt = row(t).into_iter().map(|v| v / &beta).collect();
                let key = unit(t);
                let bt = key.iter().map(|k| k.clone() * &beta).collect();
                (
                    qt,
                    bt,
                    Transition::Householder {
                        gate: Exact::one(),
                        beta,
                        key,
                    },
                )
            }
            Member::Hgrn | Member::Rglru => {
                return Err(Error::InvalidArgument {
                    name: "member".into(),
                    reason: format!(
                        "{} has no free query or key (d_k = 1, fixed write): never a softmax head (T17)",
                        member.name()
                    ),
                })
            }
        };
        q.extend(qt);
        b.extend(bt);
        m.push(mt);
    }
    Ok(FamilyHead {
        dk,
        q,
        b,
        m,
        readout,
    })
}

/// The members with free queries and keys, for which [`head_with_attention`] succeeds.
pub const FREE_QUERY_KEY: [Member; 7] = [
    Member::Gla,
    Member::SimpleGla,
    Member::Retention,
    Member::Rwkv6,
    Member::Dplr,
    Member::DeltaRule,
    Member::GatedDeltaRule,
];

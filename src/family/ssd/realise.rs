//! Constructions between SSD heads, scalar-gated linear attention heads (T10) and
//! Mamba-1 diagonal channels (T12), and the certificate that a lower-triangular matrix is
//! no SSD head's of a given state (T12c).
//!
//! # T12 (c): when no SSD head of state `$N'$` reproduces `$\tilde\alpha$`
//! **Claim.** Let `$\tilde\alpha$` be `$L\times L$` lower-triangular. Suppose there are
//! `$s < t$` with `$\tilde\alpha_{ts} \ne 0$` and indices `$s \le i_0 < \dots < i_{N'} \le t$` with
//! `$\tilde\alpha[i_a, i_b] = 0$` for `$a > b$` and `$\tilde\alpha[i_a, i_a] \ne 0$`. Then no SSD head
//! of state `$N'$` has hidden attention `$\tilde\alpha$`.
//!
//! **Proof.** Let a head `$(a, \bar B, C)$` of state `$N'$` have `$\tilde\alpha$` as its matrix
//! (T8). Since `$0 \ne \tilde\alpha_{ts} = (C_t\cdot\bar B_s)\prod_{r=s+1}^{t}a_r$`, every
//! `$a_r$`, `$s < r \le t$`, is nonzero. Put `$P_i = \prod_{r=s+1}^{i}a_r \ne 0$` for
//! `$i \in [s, t]$`, `$Q_i = P_i C_i$`, `$K_j = \bar B_j / P_j$`; then for `$s \le j \le i \le t$`,
//! `$\tilde\alpha_{ij} = Q_i\cdot K_j$`. The `$(N'+1)\times(N'+1)$` matrix
//! `$M_{ab} = Q_{i_a}\cdot K_{i_b}$` has rank `$\le N'$` (a product of `$(N'+1)\times N'$` and
//! `$N'\times(N'+1)$` factors). But for `$a \ge b$`, `$M_{ab} = \tilde\alpha[i_a, i_b]$`, which is 0
//! for `$a > b$` and nonzero for `$a = b$`: `$M$` is upper-triangular with nonzero diagonal, so
//! `$\det M \ne 0$` and `$\operatorname{rank} M = N' + 1$`. Contradiction. ∎
//!
//! **Example.** The diagonal channel of state 2 on `$L = N'+2$` steps with coordinate 1
//! `$\bar A \equiv 0$`, `$\bar B_{t,1} = C_{t,1} = 1$` (it writes the identity on the diagonal)
//! and coordinate 2 `$\bar A \equiv 1$`, `$\bar B_{t,2} = [t = 0]$`, `$C_{t,2} = [t = L-1]$` (it
//! carries `$x_0$` to the last row) has `$\tilde\alpha = I + E_{L-1,0}$`: the pair `$(L-1, 0)$` and
//! the indices `$0, \dots, L-2$` certify that no SSD head of state `$N' = L-2$` reproduces it
//! ([`channel_needing_ssd_state`]). So a state-2 channel may need SSD state `$\ge L-1$`,
//! while state `$L$` always suffices ([`realise_full`], as T5 for channels). With no zero
//! transition at steps `$\ge 1$` the converse holds with the same `$N$` ([`channel_to_ssd`]).

use serde::{Deserialize, Serialize};

use crate::attention::GatedLinearHead;
use crate::error::{Error, Result};
use crate::scalar::{ratio, Class, Exact, Field};
use crate::ssm::{factored, Channel, Factored};
use crate::tensor::Matrix;

use super::head::SsdHead;

/// **T10 (gated form)** — an SSD head is the causal gated linear attention head of
/// dimension `$N$` with scalar gates `$g_t = a_t\mathbf 1$`, queries `$q_t = C_t$`, keys
/// `$k_s = \bar B_s$`: `$a_{ts} = \langle q_t, (\prod_{r=s+1}^{t} g_r)\odot k_s\rangle =
/// \tilde\alpha_{ts}$`, always (no condition on `$a$`).
pub fn ssd_to_gated_head<T: Field>(head: &SsdHead<T>) -> GatedLinearHead<T> {
    let ch = head.to_channel();
    crate::ssm::gated_head(&ch)
}

/// **T10 (ungated factorisation)** — `$\tilde\alpha = \mathrm{tril}(QK^\top)$` with
/// `$P_t = \prod_{r=1}^{t}a_r$` (0-based steps, `$P_0 = 1$`), `$Q_t = P_t C_t$`,
/// `$K_s = \bar B_s / P_s$`: a plain causal linear attention head of dimension `$N$`. Valid iff
/// no `$a_r$` with `$r \ge 1$` is 0 (`$a_0$` never enters `$\tilde\alpha$`).
///
/// # Errors
/// [`Error::ZeroTransition`] naming the first step `$r \ge 1$` with `$a_r = 0$` (its `state`
/// is 0: the transition is shared by the whole state); in floats
/// [`Error::FactorRange`] when `$P$`, `$Q$` or `$K$` leaves the normal range.
pub fn ssd_factored<T: Field>(head: &SsdHead<T>) -> Result<Factored<T>> {
    factored(&head.to_channel())
}

/// **T10 (converse)** — every scalar-gated linear attention head (gates
/// `$g_t = \gamma_t\mathbf 1$`: Mamba-2, simple GLA, RetNet's fixed `$\gamma$`, plain linear
/// attention with `$\gamma \equiv 1$`) is the SSD head `$a_t = \gamma_t$`, `$\bar B = k$`, `$C = q$`.
///
/// # Errors
/// [`Error::Construction`] naming the first `$(t, n)$` where a gate row is not constant
/// (a diagonal gate; use [`crate::construct::gated_head_to_channel`] then).
pub fn scalar_gated_to_ssd<T: Field>(head: &GatedLinearHead<T>) -> Result<SsdHead<T>> {
    let (l, d) = (head.len(), head.dim());
    let g = head.gates();
    for t in 0..l {
        if let Some(n) = (1..d).find(|&n| g.get(t, n) != g.get(t, 0)) {
            return Err(Error::Construction {
                construction: "T10 scalar-gated head → SSD head",
                reason: format!(
                    "gate g[{t}][{n}] = {} differs from g[{t}][0] = {}: not a scalar gate",
                    g.get(t, n),
                    g.get(t, 0)
                ),
            });
        }
    }
    SsdHead::new(
        l,
        d,
        (0..l).map(|t| g.get(t, 0).clone()).collect(),
        head.keys().data().to_vec(),
        head.queries().data().to_vec(),
    )
}

/// RetNet retention with fixed decay `$\gamma$` as a scalar-gated head: gates
/// `$\gamma\mathbf 1$`, queries `$q$`, keys `$k$` (`L × d`); with [`scalar_gated_to_ssd`] it is
/// the SSD head `$a \equiv \gamma$` (T10).
///
/// # Errors
/// [`Error::Shape`] if `q` and `k` differ in shape.
pub fn retention_head<T: Field>(
    q: Matrix<T>,
    k: Matrix<T>,
    gamma: T,
) -> Result<GatedLinearHead<T>> {
    let gates = Matrix::from_row_major(q.rows(), q.cols(), vec![gamma; q.rows() * q.cols()])?;
    GatedLinearHead::new(q, k, gates)
}

/// **T12 (b)** — a diagonal channel whose transitions `$\bar A_k$` (`$k \ge 1$`) have no zero
/// entry is the SSD head of the same state `$N$` with `$a \equiv 1$`,
/// `$C'_t = C_t \odot P_t$`, `$\bar B'_s = \bar B_s \oslash P_s$`, `$P_t = \prod_{k=1}^{t}\bar A_k$`
/// (the factored form T2b read as an SSD head).
///
/// # Errors
/// [`Error::ZeroTransition`] naming the first zero entry at a step `$\ge 1$` (T12 (c):
/// then no SSD head of state `$N$` need exist); [`Error::FactorRange`] in floats.
pub fn channel_to_ssd<T: Field>(ch: &Channel<T>) -> Result<SsdHead<T>> {
    let f = factored(ch)?;
    SsdHead::new(
        ch.len(),
        ch.state(),
        vec![T::one(); ch.len()],
        f.k.data().to_vec(),
        f.q.data().to_vec(),
    )
}

/// Every lower-triangular `$L\times L$` matrix is the hidden attention of an SSD head of
/// state `$L$`: `$a \equiv 1$`, `$\bar B_s = e_s$`, `$C_t = \tilde\alpha_{t,\cdot}$` (as T5 for
/// channels).
///
/// # Errors
/// [`Error::NotLowerTriangular`] naming the first nonzero entry above the diagonal;
/// [`Error::InvalidArgument`] for a non-square or empty matrix.
pub fn realise_full<T: Field>(alpha: &Matrix<T>) -> Result<SsdHead<T>> {
    let l = alpha.rows();
    if alpha.cols() != l || l == 0 {
        return Err(Error::InvalidArgument {
            name: "alpha".into(),
            reason: format!(
                "expected a nonempty square matrix, got {l} × {}",
                alpha.cols()
            ),
        });
    }
    for i in 0..l {
        for j in i + 1..l {
            if alpha.get(i, j).class() != Class::Zero {
                return Err(Error::NotLowerTriangular {
                    row: i,
                    col: j,
                    value: alpha.get(i, j).to_string(),
                });
            }
        }
    }
    let mut b = vec![T::zero(); l * l];
    for s in 0..l {
        b[s * l + s] = T::one();
    }
    SsdHead::new(l, l, vec![T::one(); l], b, alpha.data().to_vec())
}

/// A certificate that no SSD head of state `state` has a given hidden attention
/// `$\tilde\alpha$` (T12 (c), proof in the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SsdObstruction {
    /// The SSD state `$N'$` ruled out.
    pub state: usize,
    /// Row `$t$` of the nonzero entry `$\tilde\alpha_{ts}$`.
    pub t: usize,
    /// Column `$s < t$`.
    pub s: usize,
    /// `$s \le i_0 < \dots < i_{N'} \le t$`: zero below the diagonal, nonzero on it.
    pub indices: Vec<usize>,
}

impl SsdObstruction {
    /// Check the certificate against `$\tilde\alpha$` exactly; `Ok` with a one-line
    /// explanation, or the first condition that fails.
    ///
    /// # Errors
    /// A message naming the failing field.
    pub fn verify(&self, alpha: &Matrix<Exact>) -> std::result::Result<String, String> {
        let l = alpha.rows();
        let (t, s) = (self.t, self.s);
        if !(s < t && t < l) {
            return Err(format!("(t, s) = ({t}, {s}): need s < t < L = {l}"));
        }
        if alpha.get(t, s).class() == Class::Zero {
            return Err(format!(
                "α̃[{t}][{s}] = 0: the gates on ({s}, {t}] may vanish"
            ));
        }
        if self.indices.len() != self.state + 1 {
            return Err(format!(
                "indices: {} given, N' + 1 = {} needed",
                self.indices.len(),
                self.state + 1
            ));
        }
        if self.indices.windows(2).any(|w| w[0] >= w[1])
            || self.indices.first().is_some_and(|&i| i < s)
            || self.indices.last().is_some_and(|&i| i > t)
        {
            return Err(format!(
                "indices {:?}: not strictly increasing within [{s}, {t}]",
                self.indices
            ));
        }
        for (a, &ia) in self.indices.iter().enumerate() {
            if alpha.get(ia, ia).class() == Class::Zero {
                return Err(format!("α̃[{ia}][{ia}] = 0 on the diagonal"));
            }
            for &ib in &self.indices[..a] {
                if alpha.get(ia, ib).class() != Class::Zero {
                    return Err(format!("α̃[{ia}][{ib}] = {} is not 0", alpha.get(ia, ib)));
                }
            }
        }
        Ok(format!(
            "α̃[{t}][{s}] = {} ≠ 0 forces nonzero gates on ({s}, {t}], so α̃ on [{s}..{t}] would be tril(QKᵀ) of rank ≤ {}; but the rows/columns {:?} give an upper-triangular completion with nonzero diagonal, rank {} (T12c)",
            alpha.get(t, s),
            self.state,
            self.indices,
            self.state + 1
        ))
    }
}

/// Search a certificate [`SsdObstruction`] for state `state`: over the pairs `$s < t$` with
/// `$\tilde\alpha_{ts} \ne 0$`, a longest chain of indices in `$[s, t]$` with nonzero diagonal
/// and zeros below it, by depth-first search (exhaustive for windows of at most 24
/// indices, greedy beyond). `None` when none is found (which proves nothing).
pub fn find_obstruction(alpha: &Matrix<Exact>, state: usize) -> Option<SsdObstruction> {
    let l = alpha.rows();
    let zero = |i: usize, j: usize| alpha.get(i, j).class() == Class::Zero;
    for t in 0..l {
        for s in 0..t {
            if zero(t, s) || t - s < state {
                continue;
            }
            let cand: Vec<usize> = (s..=t).filter(|&i| !zero(i, i)).collect();
            let mut chain = Vec::new();
            let found = if cand.len() <= 24 {
                dfs(&cand, 0, state + 1, &mut chain, &zero)
            } else {
                for &i in &cand {
                    if chain.len() <= state && chain.iter().all(|&j| zero(i, j)) {
                        chain.push(i);
                    }
                }
                chain.len() == state + 1
            };
            if found {
                return Some(SsdObstruction {
                    state,
                    t,
                    s,
                    indices: chain,
                });
            }
        }
    }
    None
}

fn dfs(
    cand: &[usize],
    from: usize,
    want: usize,
    chain: &mut Vec<usize>,
    zero: &dyn Fn(usize, usize) -> bool,
) -> bool {
    if chain.len() == want {
        return true;
    }
    if chain.len() + (cand.len() - from) < want {
        return false;
    }
    for k in from..cand.len() {
        let i = cand[k];
        if chain.iter().all(|&j| zero(i, j)) {
            chain.push(i);
            if dfs(cand, k + 1, want, chain, zero) {
                return true;
            }
            chain.pop();
        }
    }
    false
}

/// The example of T12 (c): a diagonal channel of state 2 on `len` `$\ge 2$` steps with
/// `$\tilde\alpha = I + E_{L-1,0}$`, which no SSD head of state `$L - 2$` reproduces.
///
/// # Errors
/// [`Error::InvalidArgument`] for `len < 2`.
pub fn channel_needing_ssd_state(len: usize) -> Result<Channel<Exact>> {
    if len < 2 {
        return Err(Error::InvalidArgument {
            name: "len".into(),
            reason: "the example needs L ≥ 2".into(),
        });
    }
    let (z, o) = (ratio(0, 1), ratio(1, 1));
    let mut abar = Vec::with_capacity(2 * len);
    let mut bbar = Vec::with_capacity(2 * len);
    let mut c = Vec::with_capacity(2 * len);
    for t in 0..len {
        abar.extend([z.clone(), o.clone()]);
        bbar.extend([o.clone(), if t == 0 { o.clone() } else { z.clone() }]);
        c.extend([o.clone(), if t == len - 1 { o.clone() } else { z.clone() }]);
    }
    Channel::new(len, 2, abar, bbar, c)
}

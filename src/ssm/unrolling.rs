//! The hidden attention matrix `$\tilde\alpha$` of a channel (T1), `$O(L^2 N)$`.

use crate::error::Result;
use crate::scalar::Field;
use crate::ssm::channel::Channel;
use crate::tensor::{dot, expect_finite_result, Matrix};

/// **T1 — hidden attention (unrolling).** The lower-triangular `$L\times L$` matrix
///
/// ```math
/// \tilde\alpha_{ij} = \Big\langle C_i,\ \Big(\prod_{k=j+1}^{i} \bar A_k\Big) \odot \bar B_j\Big\rangle
/// \quad (j \le i), \qquad \tilde\alpha_{ij} = 0 \quad (j > i),
/// ```
///
/// so that the channel's output is `$y = \tilde\alpha\, x$` over any commutative ring
/// (Coq: `t1_scan_eq_hidden_attention`).
///
/// Row `$i$` is computed right to left with one running product
/// `$p \leftarrow p \odot \bar A_j$`, never the `$O(L^3)$` product loop and never a division.
/// In floats this is stable: each entry is a product of at most `$i-j$` factors and an
/// `$N$`-term sum, so in the standard model with underflow
/// (`$\mathrm{fl}(a\circ b) = (a\circ b)(1+\delta) + \eta$`, `$|\eta| \le \eta_0$` the smallest
/// subnormal)
/// `$|\mathrm{fl}(\tilde\alpha_{ij}) - \tilde\alpha_{ij}| \le \gamma_{i-j+N+1} \sum_n |C_{i,n}|
/// \prod_k |\bar A_{k,n}|\, |\bar B_{j,n}| + (1+\gamma_{i-j+N+1})(i-j+1)\,N\,\eta_0
/// \max(1,|\bar B_j|)\hat P$` with `$\gamma_m = mu/(1-mu)$` and `$\hat P = \prod_k \max(1, |\bar A_k|)$`
/// (1 for Mamba). With `$|\bar A| \le 1$` (Mamba) the running product cannot overflow. It can
/// underflow: a running product below the normal range loses relative accuracy, and when
/// `$|\bar B_{j}| > 1$` the true entry may still be normal (for example `$C = 2^{-1070}$`,
/// `$\bar B = 2^{60}$`), so an underflowed entry is *not* evidence that the true one is
/// negligible; the absolute term above bounds what is lost, and the checks of
/// [`crate::theorems::bound`] compare against it exactly.
///
/// # Errors
/// [`crate::Error::NonFiniteResult`] if a float entry overflows (possible only when
/// some `$|\bar A| > 1$`).
///
/// # Complexity
/// `$O(L^2 N)$` time, `$O(L^2 + N)$` memory.
///
/// # Examples
/// ```
/// use hidden_attention::{scalar::ratio, ssm::{self, Channel}};
/// let ch = Channel::new(2, 1, vec![ratio(1, 2), ratio(1, 2)], vec![ratio(1, 1); 2],
///                       vec![ratio(1, 1), ratio(2, 1)]).unwrap();
/// let a = ssm::attention_matrix(&ch).unwrap();
/// assert_eq!(*a.get(1, 0), ratio(1, 1)); // C_2 · Ā_2 · B̄_1 = 2 · 1/2 · 1
/// assert_eq!(*a.get(0, 1), ratio(0, 1));
/// ```
pub fn attention_matrix<T: Field>(ch: &Channel<T>) -> Result<Matrix<T>> {
    let l = ch.len();
    let mut m = Matrix::zeros(l, l);
    let mut p = vec![T::zero(); ch.state()];
    for i in 0..l {
        fill_row(ch, i, m.row_mut(i), &mut p);
    }
    expect_finite_result("hidden attention", m.data(), &[l, l])?;
    Ok(m)
}

/// Row `i` of α̃ into `row[..=i]`: `p = C_i ⊙ ∏_{k=j+1}^{i} Ā_k` while `j` runs from `i` down to 0.
fn fill_row<T: Field>(ch: &Channel<T>, i: usize, row: &mut [T], p: &mut [T]) {
    p.clone_from_slice(ch.c(i));
    for j in (0..=i).rev() {
        row[j] = dot(p, ch.bbar(j));
        if j > 0 {
            for (pk, ak) in p.iter_mut().zip(ch.abar(j)) {
                *pk *= ak;
            }
        }
    }
}

/// One row `$\tilde\alpha_{i,\cdot}$` (a query position), `$O(iN)$`.
///
/// # Errors
/// [`crate::Error::InvalidArgument`] if `i >= L`; as [`attention_matrix`] otherwise.
pub fn hidden_attention_row<T: Field>(ch: &Channel<T>, i: usize) -> Result<Vec<T>> {
    if i >= ch.len() {
        return Err(crate::Error::InvalidArgument {
            name: "row".into(),
            reason: format!("query position {i} is not below L = {}", ch.len()),
        });
    }
    let mut row = vec![T::zero(); ch.len()];
    let mut p = vec![T::zero(); ch.state()];
    fill_row(ch, i, &mut row, &mut p);
    expect_finite_result("hidden attention row", &row, &[ch.len()])?;
    Ok(row)
}

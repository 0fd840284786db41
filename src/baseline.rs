//! Transcriptions of other ways to compute the hidden attention, used as baselines in
//! benchmarks and as independent oracles in tests. Not for production use.

use crate::scalar::Real;
use crate::tensor::Matrix;

/// The paper authors' algorithm (`compute_attn_matrix_fn` of the public repository),
/// transcribed: for every `$(i, j)$` with `$j \le i$` it recomputes the product
/// `$\prod_{k=j+1}^{i} e^{\Delta_k A}$` from scratch — `$O(L^3 N)$`.
///
/// Inputs are Mamba's parameters of one channel: `delta` (length `$L$`, after softplus),
/// `a` (length `$N$`) and `b`, `c` (row-major `L × N`).
pub fn authors_cubic<T: Real>(delta: &[T], a: &[T], b: &[T], c: &[T]) -> Matrix<T> {
    let (l, n) = (delta.len(), a.len());
    let mut m = Matrix::zeros(l, l);
    for i in 0..l {
        for j in 0..=i {
            let mut acc = T::zero();
            for s in 0..n {
                let mut prod = T::one();
                for k in j + 1..=i {
                    prod = prod * (delta[k] * a[s]).exp();
                }
                acc = acc + c[i * n + s] * prod * delta[j] * b[j * n + s];
            }
            *m.get_mut(i, j) = acc;
        }
    }
    m
}

/// The plain `$O(L^2 N)$` loop in log space: with cumulative sums
/// `$S_i = A\sum_{k\le i}\Delta_k$`, `$\tilde\alpha_{ij} = \sum_n C_{i,n}\, e^{S_{i,n} - S_{j,n}}\,
/// \Delta_j B_{j,n}$` — one exponential per entry and state.
pub fn plain_log_space<T: Real>(delta: &[T], a: &[T], b: &[T], c: &[T]) -> Matrix<T> {
    let (l, n) = (delta.len(), a.len());
    let mut cum = vec![T::zero(); l];
    let mut acc = T::zero();
    for (t, &d) in delta.iter().enumerate() {
        acc = acc + d;
        cum[t] = acc;
    }
    let mut m = Matrix::zeros(l, l);
    for i in 0..l {
        for j in 0..=i {
            let mut v = T::zero();
            for s in 0..n {
                v = v + c[i * n + s] * ((cum[i] - cum[j]) * a[s]).exp() * delta[j] * b[j * n + s];
            }
            *m.get_mut(i, j) = v;
        }
    }
    m
}

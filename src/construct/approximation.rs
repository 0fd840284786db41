//! T7 — the paper's approximation of the hidden attention with softplus replaced by ReLU,
//! its error against the exact $\tilde\alpha$, and a proven bound.

use crate::error::{Error, Result};
use crate::scalar::Real;
use crate::ssm::{hidden_attention, BRule, MambaChannel};
use crate::tensor::Matrix;

/// One channel in Mamba's parametrisation *before* the softplus: pre-activations
/// $z_t = W_\Delta\hat x_t + b_\Delta$ (so $\Delta_t = \mathrm{softplus}(z_t)$), $A \le 0$,
/// and $B_t$, $C_t$ (row-major `L × N`).
#[derive(Debug, Clone, PartialEq)]
pub struct Preactivated<T> {
    /// $z_t$, length $L$.
    pub z: Vec<T>,
    /// $A$, length $N$ (every entry $\le 0$).
    pub a: Vec<T>,
    /// $B_t$, `L × N`.
    pub b: Vec<T>,
    /// $C_t$, `L × N`.
    pub c: Vec<T>,
}

impl<T: Real> Preactivated<T> {
    /// $L$.
    pub fn len(&self) -> usize {
        self.z.len()
    }
    /// Whether $L = 0$.
    pub fn is_empty(&self) -> bool {
        self.z.is_empty()
    }
    /// $N$.
    pub fn state(&self) -> usize {
        self.a.len()
    }
    /// The channel with $\Delta_t = \mathrm{softplus}(z_t)$ (PyTorch's softplus).
    pub fn mamba(&self) -> MambaChannel<T> {
        MambaChannel {
            delta: self.z.iter().map(|&z| z.softplus()).collect(),
            a: self.a.clone(),
            b: self.b.clone(),
            c: self.c.clone(),
        }
    }
    fn check(&self) -> Result<()> {
        if let Some(p) = self.a.iter().position(|&a| a > T::zero()) {
            return Err(Error::InvalidArgument {
                name: format!("A[{p}]"),
                reason: "T7 (and Mamba) needs A ≤ 0".into(),
            });
        }
        Ok(())
    }
}

/// The exact hidden attention $\tilde\alpha$ of the channel ($\Delta = \mathrm{softplus}(z)$,
/// $\bar A = e^{\Delta A}$, $\bar B = \Delta B$).
///
/// # Errors
/// As [`MambaChannel::discretize`] and [`hidden_attention()`].
pub fn exact_attention<T: Real>(p: &Preactivated<T>) -> Result<Matrix<T>> {
    hidden_attention(&p.mamba().discretize(BRule::Euler)?)
}

/// **T7 — the paper's approximation** with softplus replaced by ReLU:
///
/// $$\hat\alpha_{ij} = \tilde Q_i \tilde H_{ij} \tilde K_j = \sum_n C_{i,n}\,
/// \exp\Big(A_n\sum_{k=j+1}^{i}\mathrm{ReLU}(z_k)\Big)\,\mathrm{ReLU}(z_j)\,B_{j,n}\quad(j\le i).$$
///
/// It is *not* exact: the diagonal alone differs by $\sum_n C_{i,n}B_{i,n}\,
/// (\mathrm{softplus}(z_i) - \mathrm{ReLU}(z_i))$ and $\mathrm{softplus}(z) - \mathrm{ReLU}(z)
/// = \ln(1+e^{-|z|}) \in (0, \ln 2]$. See [`relu_bound`].
///
/// Coq: not formalised (an analytic statement about $\exp$ and softplus; the exact
/// identities it approximates are `t1_scan_eq_hidden_attention` and `t2a_gated_form`).
///
/// # Errors
/// [`Error::InvalidArgument`] if some $A_n > 0$.
///
/// # Examples
/// ```
/// use hidden_attention::construct::approximation::{exact_attention, relu_approximation, relu_bound, Preactivated};
/// let p = Preactivated { z: vec![0.0f64], a: vec![-1.0], b: vec![1.0], c: vec![1.0] };
/// let (exact, approx) = (exact_attention(&p).unwrap(), relu_approximation(&p).unwrap());
/// assert_eq!(*approx.get(0, 0), 0.0); // ReLU(0) = 0
/// assert!((exact.get(0, 0) - std::f64::consts::LN_2).abs() < 1e-15); // softplus(0) = ln 2
/// assert!((relu_bound(&p).unwrap().get(0, 0) - std::f64::consts::LN_2).abs() < 1e-15); // attained
/// ```
pub fn relu_approximation<T: Real>(p: &Preactivated<T>) -> Result<Matrix<T>> {
    p.check()?;
    let relu: Vec<T> = p.z.iter().map(|&z| z.max(T::zero())).collect();
    Ok(weighted(p, &relu))
}

/// $\sum_n C_{i,n}B_{j,n}\,w_j e^{A_n S_{ij}}$ with $S_{ij} = \sum_{k=j+1}^i w_k$.
fn weighted<T: Real>(p: &Preactivated<T>, w: &[T]) -> Matrix<T> {
    let (l, n) = (p.len(), p.state());
    let mut m = Matrix::zeros(l, l);
    for i in 0..l {
        let mut s = T::zero();
        for j in (0..=i).rev() {
            let mut acc = T::zero();
            for k in 0..n {
                acc = acc + p.c[i * n + k] * p.b[j * n + k] * w[j] * (p.a[k] * s).exp();
            }
            *m.get_mut(i, j) = acc;
            s = s + w[j];
        }
    }
    m
}

/// **T7 bound** (proven): with $\varepsilon_k = \Delta_k - \mathrm{ReLU}(z_k) =
/// \ln(1+e^{-|z_k|}) \in (0,\ln 2]$, $S = \sum_{k=j+1}^i\Delta_k$, $\hat S = \sum_{k=j+1}^i
/// \mathrm{ReLU}(z_k)$ and $A_n \le 0$,
///
/// $$|\tilde\alpha_{ij} - \hat\alpha_{ij}| \le \sum_n |C_{i,n}B_{j,n}|\Big(\varepsilon_j\,
/// e^{A_n S} + \mathrm{ReLU}(z_j)\,e^{A_n\hat S}\big(1 - e^{A_n\sum_{k=j+1}^i\varepsilon_k}\big)\Big)
/// \le \sum_n |C_{i,n}B_{j,n}|\big(\ln 2 + \mathrm{ReLU}(z_j)\min(1, |A_n|(i-j)\ln 2)\big).$$
///
/// Proof: $\Delta_j e^{A S} - \mathrm{ReLU}(z_j) e^{A\hat S} = \varepsilon_j e^{AS} +
/// \mathrm{ReLU}(z_j)(e^{AS} - e^{A\hat S})$ and $0 \le e^{A\hat S} - e^{AS} = e^{A\hat S}(1 -
/// e^{A(S-\hat S)})$ because $S - \hat S = \sum\varepsilon_k \ge 0$ and $A \le 0$; then the
/// triangle inequality over $n$. The first (sharp) form is returned, `L × L`; on the
/// diagonal it is attained when every $C_{i,n}B_{i,n}$ has one sign.
///
/// Theorem T7. Coq: not formalised (the proof above is analysis about $\exp$).
///
/// # Errors
/// [`Error::InvalidArgument`] if some $A_n > 0$.
///
/// # Examples
/// $L = 2$, $N = 1$, $z = (0, 0)$, $A = -1$, $B = C = 1$: $\varepsilon = \ln 2$, $\mathrm{ReLU}(z) = 0$,
/// so the bound on $(1, 0)$ is $\ln 2\cdot e^{-\ln 2} = \ln 2/2$, attained:
/// ```
/// use hidden_attention::construct::approximation::{exact_attention, relu_approximation, relu_bound, Preactivated};
/// let p = Preactivated { z: vec![0.0f64, 0.0], a: vec![-1.0], b: vec![1.0, 1.0], c: vec![1.0, 1.0] };
/// let (bound, ln2) = (relu_bound(&p).unwrap(), std::f64::consts::LN_2);
/// assert!((bound.get(0, 0) - ln2).abs() <= 1e-15);
/// assert!((bound.get(1, 0) - ln2 / 2.0).abs() <= 1e-15);
/// assert_eq!(*relu_approximation(&p).unwrap().get(1, 0), 0.0); // ReLU(z_0) = 0
/// let err = *exact_attention(&p).unwrap().get(1, 0); // Δ_0 e^{−Δ_1} = ln 2 · e^{−ln 2}
/// assert!((err - bound.get(1, 0)).abs() <= 1e-15); // attained
/// assert_eq!(*bound.get(0, 1), 0.0);
/// ```
pub fn relu_bound<T: Real>(p: &Preactivated<T>) -> Result<Matrix<T>> {
    p.check()?;
    let n = p.state();
    let relu: Vec<T> = p.z.iter().map(|&z| z.max(T::zero())).collect();
    let delta: Vec<T> = p.z.iter().map(|&z| z.softplus()).collect();
    let eps: Vec<T> = delta.iter().zip(&relu).map(|(&d, &r)| d - r).collect();
    let mut out = Matrix::zeros(p.len(), p.len());
    for i in 0..p.len() {
        let (mut s, mut sh, mut se) = (T::zero(), T::zero(), T::zero());
        for j in (0..=i).rev() {
            let mut acc = T::zero();
            for k in 0..n {
                let a = p.a[k];
                let cb = (p.c[i * n + k] * p.b[j * n + k]).abs();
                acc = acc
                    + cb * (eps[j] * (a * s).exp() - relu[j] * (a * sh).exp() * (a * se).exp_m1());
            }
            *out.get_mut(i, j) = acc;
            s = s + delta[j];
            sh = sh + relu[j];
            se = se + eps[j];
        }
    }
    Ok(out)
}

/// The closed-form bound $\sum_n |C_{i,n}B_{j,n}|(\ln 2 + \mathrm{ReLU}(z_j)\min(1,
/// |A_n|(i-j)\ln 2))$ of [`relu_bound`], `L × L` (T7; Coq: not formalised).
///
/// # Errors
/// [`Error::InvalidArgument`] if some $A_n > 0$.
///
/// # Examples
/// ```
/// use hidden_attention::construct::approximation::{relu_bound_closed, Preactivated};
/// let p = Preactivated { z: vec![2.0f64, 0.0], a: vec![-1.0], b: vec![1.0, 1.0], c: vec![1.0, 1.0] };
/// let (b, ln2) = (relu_bound_closed(&p).unwrap(), std::f64::consts::LN_2);
/// assert_eq!(*b.get(0, 0), ln2); // i = j: min(1, |A|·0·ln 2) = 0
/// assert_eq!(*b.get(1, 0), ln2 + 2.0 * ln2); // ReLU(z_0) = 2, min(1, |A|·1·ln 2) = ln 2
/// assert_eq!(*b.get(1, 1), ln2); // ReLU(z_1) = 0
/// assert_eq!(*b.get(0, 1), 0.0); // above the diagonal
/// ```
pub fn relu_bound_closed<T: Real>(p: &Preactivated<T>) -> Result<Matrix<T>> {
    p.check()?;
    let ln2 = T::from_f64(std::f64::consts::LN_2);
    let n = p.state();
    let mut out = Matrix::zeros(p.len(), p.len());
    for i in 0..p.len() {
        for j in 0..=i {
            let relu = p.z[j].max(T::zero());
            let mut acc = T::zero();
            for k in 0..n {
                let cb = (p.c[i * n + k] * p.b[j * n + k]).abs();
                let decay = (p.a[k].abs() * T::from_f64((i - j) as f64) * ln2).min(T::one());
                acc = acc + cb * (ln2 + relu * decay);
            }
            *out.get_mut(i, j) = acc;
        }
    }
    Ok(out)
}

/// The magnitude $\sum_n |C_{i,n}B_{j,n}|(\Delta_j e^{A_nS} + \mathrm{ReLU}(z_j)e^{A_n\hat S})
/// (1 + |A_n|(S + \hat S))$ that scales the float rounding of $\tilde\alpha$ and $\hat\alpha$
/// ($e^x$ has condition number $|x|$, hence the last factor); used to add a rounding
/// allowance to the bound when both are computed in floats.
pub fn magnitude<T: Real>(p: &Preactivated<T>) -> Matrix<T> {
    let (l, n) = (p.len(), p.state());
    let relu: Vec<T> = p.z.iter().map(|&z| z.max(T::zero())).collect();
    let delta: Vec<T> = p.z.iter().map(|&z| z.softplus()).collect();
    let mut out = Matrix::zeros(l, l);
    for i in 0..l {
        let (mut s, mut sh) = (T::zero(), T::zero());
        for j in (0..=i).rev() {
            let mut acc = T::zero();
            for k in 0..n {
                let a = p.a[k];
                let cb = (p.c[i * n + k] * p.b[j * n + k]).abs();
                let cond = T::one() + a.abs() * (s + sh);
                acc = acc + cb * (delta[j] * (a * s).exp() + relu[j] * (a * sh).exp()) * cond;
            }
            *out.get_mut(i, j) = acc;
            s = s + delta[j];
            sh = sh + relu[j];
        }
    }
    out
}

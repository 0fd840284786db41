//! T7 — the paper's approximation of the hidden attention with softplus replaced by ReLU,
//! its error against the exact `$\tilde\alpha$`, and a proven bound.
//!
//! The softplus is the one Mamba uses (PyTorch's, [`crate::scalar::Real::softplus`]):
//! `$\mathrm{softplus}(z) = z$` for `$z > 20$` and `$\ln(1+e^z)$` otherwise. So the gap
//! `$\varepsilon(z) = \mathrm{softplus}(z) - \mathrm{ReLU}(z)$` ([`relu_gap`]) is exactly 0
//! above the threshold and `$\ln(1+e^{-|z|}) \in (0, \ln 2]$`, never 0, at or below it
//! (at least `$\ln(1+e^{-20})$` on `$[-20, 20]$`, less below `$-20$`): the approximation is exact
//! on every entry whose steps all lie above the threshold and inexact on the diagonal
//! wherever `$z_i \le 20$` and `$\sum_n C_{i,n}B_{i,n} \ne 0$`. Machine-checked over the reals
//! in `proofs/T7_Softplus.v` (Coq definitions `softplus`, `relu_gap`, `exact_attention`,
//! `relu_approximation`, `relu_bound` mirror the functions here).

use crate::error::{Error, Result};
use crate::scalar::{Field, Real};
use crate::ssm::{attention_matrix, BRule, MambaChannel};
use crate::tensor::Matrix;

/// One channel in Mamba's parametrisation *before* the softplus: pre-activations
/// `$z_t = W_\Delta\hat x_t + b_\Delta$` (so `$\Delta_t = \mathrm{softplus}(z_t)$`), `$A \le 0$`,
/// and `$B_t$`, `$C_t$` (row-major `L × N`).
#[derive(Debug, Clone, PartialEq)]
pub struct Preactivated<T> {
    /// `$z_t$`, length `$L$`.
    pub z: Vec<T>,
    /// `$A$`, length `$N$` (every entry `$\le 0$`).
    pub a: Vec<T>,
    /// `$B_t$`, `L × N`.
    pub b: Vec<T>,
    /// `$C_t$`, `L × N`.
    pub c: Vec<T>,
}

impl<T: Real> Preactivated<T> {
    /// `$L$`.
    pub fn len(&self) -> usize {
        self.z.len()
    }
    /// Whether `$L = 0$`.
    pub fn is_empty(&self) -> bool {
        self.z.is_empty()
    }
    /// `$N$`.
    pub fn state(&self) -> usize {
        self.a.len()
    }
    /// The channel with `$\Delta_t = \mathrm{softplus}(z_t)$` (PyTorch's softplus).
    pub fn mamba(&self) -> MambaChannel<T> {
        MambaChannel {
            delta: self.z.iter().map(|&z| z.softplus()).collect(),
            a: self.a.clone(),
            b: self.b.clone(),
            c: self.c.clone(),
        }
    }
    /// The domain of every T7 function: `b`, `c` of length `$LN$`, every value finite,
    /// `$A \le 0$`, and `$\Delta_t = \mathrm{softplus}(z_t) > 0$` in `T` (a softplus that
    /// underflows to 0 — `$z \lesssim -745$` in f64, `$-104$` in f32 — is not a Mamba step).
    ///
    /// # Errors
    /// [`Error::DataLength`], [`Error::NonFinite`], [`Error::InvalidArgument`] (some
    /// `$A_n > 0$`), [`Error::NonPositiveDelta`] (naming the step).
    pub fn validate(&self) -> Result<()> {
        let (l, n) = (self.len(), self.state());
        for (name, v) in [("B", &self.b), ("C", &self.c)] {
            if v.len() != l * n {
                return Err(Error::DataLength {
                    tensor: name.into(),
                    shape: vec![l, n],
                    expected: l * n,
                    found: v.len(),
                });
            }
        }
        for (name, v) in [
            ("z", &self.z),
            ("A", &self.a),
            ("B", &self.b),
            ("C", &self.c),
        ] {
            if let Some(p) = v.iter().position(|x| !x.is_finite()) {
                return Err(Error::NonFinite {
                    tensor: name.into(),
                    index: vec![p],
                    value: Field::to_f64(&v[p]),
                });
            }
        }
        if let Some(p) = self.a.iter().position(|&a| a > T::zero()) {
            return Err(Error::InvalidArgument {
                name: format!("A[{p}]"),
                reason: "T7 (and Mamba) needs A ≤ 0".into(),
            });
        }
        if let Some(step) = self.z.iter().position(|&z| z.softplus() <= T::zero()) {
            return Err(Error::NonPositiveDelta {
                channel: None,
                step,
                value: Field::to_f64(&self.z[step].softplus()),
            });
        }
        Ok(())
    }
}

/// PyTorch's softplus threshold (β = 1): `$\mathrm{softplus}(z) = z$` for `$z >$` this value,
/// as in [`crate::scalar::Real::softplus`] and in Mamba.
pub const SOFTPLUS_THRESHOLD: f64 = 20.0;

/// **T7's gap** `$\varepsilon(z) = \mathrm{softplus}(z) - \mathrm{ReLU}(z)$` for Mamba's
/// (PyTorch's) softplus, in closed form:
///
/// ```math
/// \varepsilon(z) = \begin{cases} 0 & z > 20,\\ \ln(1 + e^{-|z|}) \in (0, \ln 2] & z \le 20,
/// \end{cases}
/// ```
///
/// computed as `ln_1p(exp(−|z|))` (no cancellation). Above the threshold the softplus
/// *is* the ReLU, so the approximation's diagonal is exact there; at or below it the two
/// always differ, on `$[-20, 20]$` by at least `$\ln(1+e^{-20}) \approx 2.06\cdot10^{-9}$` (T7;
/// below `$-20$` the gap is `$\ln(1+e^{-|z|}) < \ln(1+e^{-20})$`, still positive).
///
/// Theorem T7, over the reals: Coq: `relu_gap_spec`, `relu_gap_zero`, `relu_gap_pos`,
/// `relu_gap_le_ln2`, `relu_gap_ge` (`proofs/T7_Softplus.v`).
///
/// # Examples
/// ```
/// use hidden_attention::construct::approximation::relu_gap;
/// assert_eq!(relu_gap(21.0f64), 0.0);
/// assert_eq!(relu_gap(20.0f64), (-20.0f64).exp().ln_1p()); // ≈ 2.06e-9: at 20 they differ
/// assert_eq!(relu_gap(0.0f64), std::f64::consts::LN_2);
/// assert_eq!(relu_gap(25.0f32), 0.0);
/// ```
pub fn relu_gap<T: Real>(z: T) -> T {
    if z > T::from_f64(SOFTPLUS_THRESHOLD) {
        T::zero()
    } else {
        (-z.abs()).exp().ln_1p()
    }
}

/// Whether entry `$(i, j)$`, `$j \le i$`, of the approximation is exact by T7: every step
/// `$k = j..=i$` is above the softplus threshold (`$z_k > 20$`), so `$\Delta_k = \mathrm{ReLU}(z_k)$`
/// and `$\hat\alpha_{ij} = \tilde\alpha_{ij}$`. Otherwise the entry is covered by the bound
/// only (and on the diagonal, `$i = j$`, the error is `$\sum_n C_{i,n}B_{i,n}\,\varepsilon(z_i)$`
/// with `$\varepsilon(z_i) > 0$`). Over the reals: Coq: `relu_bound_exact_entry`.
pub fn exact_entry<T: Real>(z: &[T], i: usize, j: usize) -> bool {
    let t = T::from_f64(SOFTPLUS_THRESHOLD);
    j <= i && i < z.len() && z[j..=i].iter().all(|&v| v > t)
}

/// The exact hidden attention `$\tilde\alpha$` of the channel (`$\Delta = \mathrm{softplus}(z)$`,
/// `$\bar A = e^{\Delta A}$`, `$\bar B = \Delta B$`).
///
/// # Errors
/// As [`Preactivated::validate`] and [`attention_matrix()`].
pub fn exact_attention<T: Real>(p: &Preactivated<T>) -> Result<Matrix<T>> {
    p.validate()?;
    attention_matrix(&p.mamba().discretize(BRule::Euler)?)
}

/// **T7 — the paper's approximation** with softplus replaced by ReLU:
///
/// ```math
/// \hat\alpha_{ij} = \tilde Q_i \tilde H_{ij} \tilde K_j = \sum_n C_{i,n}\,
/// \exp\Big(A_n\sum_{k=j+1}^{i}\mathrm{ReLU}(z_k)\Big)\,\mathrm{ReLU}(z_j)\,B_{j,n}\quad(j\le i).
/// ```
///
/// The diagonal differs by exactly `$\sum_n C_{i,n}B_{i,n}\,\varepsilon(z_i)$` with the gap
/// `$\varepsilon$` of [`relu_gap`]: 0 for `$z_i > 20$` (Mamba's softplus is the identity there,
/// so the entry is exact), `$\ln(1+e^{-|z_i|}) > 0$` for `$z_i \le 20$` (so the entry is *not*
/// exact wherever `$\sum_n C_{i,n}B_{i,n} \ne 0$`). Off the diagonal the error is within
/// [`relu_bound`], which is 0 — the entry exact — when every `$z_k$`, `$j \le k \le i$`, is
/// above 20 ([`exact_entry`]).
///
/// Over the reals (Coq definition `relu_approximation`, with `exact_attention` the channel's
/// `$\tilde\alpha$` written as `$\sum_n C_{i,n}\prod_k e^{\Delta_k A_n}\,\Delta_j B_{j,n}$`): Coq:
/// `relu_bound_sound`, `relu_bound_exact_entry`, `exact_attention_closed`; the exact
/// identities it approximates are `t1_scan_eq_hidden_attention` and `t2a_gated_form`.
///
/// # Errors
/// As [`Preactivated::validate`].
///
/// # Examples
/// ```
/// use hidden_attention::construct::approximation::{exact_attention, relu_approximation, relu_bound, Preactivated};
/// let p = Preactivated { z: vec![0.0f64], a: vec![-1.0], b: vec![1.0], c: vec![1.0] };
/// let (exact, approx) = (exact_attention(&p).unwrap(), relu_approximation(&p).unwrap());
/// assert_eq!(*approx.get(0, 0), 0.0); // ReLU(0) = 0
/// assert!((exact.get(0, 0) - std::f64::consts::LN_2).abs() < 1e-15); // softplus(0) = ln 2
/// assert!((relu_bound(&p).unwrap().get(0, 0) - std::f64::consts::LN_2).abs() < 1e-15); // attained
/// // above the threshold softplus(z) = z = ReLU(z): exact
/// let p = Preactivated { z: vec![21.0f64, 25.0], a: vec![-0.5], b: vec![1.0, 2.0], c: vec![3.0, 1.0] };
/// assert_eq!(exact_attention(&p).unwrap(), relu_approximation(&p).unwrap());
/// assert_eq!(relu_bound(&p).unwrap().data(), &[0.0; 4]);
/// ```
pub fn relu_approximation<T: Real>(p: &Preactivated<T>) -> Result<Matrix<T>> {
    p.validate()?;
    let relu: Vec<T> = p.z.iter().map(|&z| z.max(T::zero())).collect();
    Ok(weighted(p, &relu))
}

/// `$\sum_n C_{i,n}B_{j,n}\,w_j e^{A_n S_{ij}}$` with `$S_{ij} = \sum_{k=j+1}^i w_k$`.
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

/// **T7 bound** (proven): with the gap `$\varepsilon_k = \varepsilon(z_k) = \Delta_k -
/// \mathrm{ReLU}(z_k)$` of [`relu_gap`] (0 for `$z_k > 20$`, `$\ln(1+e^{-|z_k|}) \in (0,\ln 2]$`
/// otherwise), `$S = \sum_{k=j+1}^i\Delta_k$`, `$\hat S = \sum_{k=j+1}^i \mathrm{ReLU}(z_k)$` and
/// `$A_n \le 0$`,
///
/// ```math
/// |\tilde\alpha_{ij} - \hat\alpha_{ij}| \le \sum_n |C_{i,n}B_{j,n}|\Big(\varepsilon_j\,
/// e^{A_n S} + \mathrm{ReLU}(z_j)\,e^{A_n\hat S}\big(1 - e^{A_n\sum_{k=j+1}^i\varepsilon_k}\big)\Big).
/// ```
///
/// Proof: `$\Delta_j e^{A S} - \mathrm{ReLU}(z_j) e^{A\hat S} = \varepsilon_j e^{AS} +
/// \mathrm{ReLU}(z_j)(e^{AS} - e^{A\hat S})$` and `$0 \le e^{A\hat S} - e^{AS} = e^{A\hat S}(1 -
/// e^{A(S-\hat S)})$` because `$S - \hat S = \sum\varepsilon_k \ge 0$` and `$A \le 0$`; then the
/// triangle inequality over `$n$`. It is 0 — the entry exact — when `$z_k > 20$` for every
/// `$j \le k \le i$` ([`exact_entry`]); on the diagonal it is `$\sum_n|C_{i,n}B_{i,n}|\,
/// \varepsilon_i$`, attained when every `$C_{i,n}B_{i,n}$` has one sign. Returned `L × L`; see
/// [`relu_bound_closed`] for a closed form.
///
/// Theorem T7, over the reals (the proof above; Coq definition `relu_bound` in
/// `proofs/T7_Softplus.v`): Coq: `relu_bound_sound`, `relu_bound_exact_entry` (0 above the
/// threshold), with `relu_term_bound` for one state.
///
/// # Errors
/// As [`Preactivated::validate`].
///
/// # Examples
/// `$L = 2$`, `$N = 1$`, `$z = (0, 0)$`, `$A = -1$`, `$B = C = 1$`: `$\varepsilon = \ln 2$`, `$\mathrm{ReLU}(z) = 0$`,
/// so the bound on `$(1, 0)$` is `$\ln 2\cdot e^{-\ln 2} = \ln 2/2$`, attained:
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
    p.validate()?;
    let n = p.state();
    let relu: Vec<T> = p.z.iter().map(|&z| z.max(T::zero())).collect();
    let delta: Vec<T> = p.z.iter().map(|&z| z.softplus()).collect();
    let eps: Vec<T> = p.z.iter().map(|&z| relu_gap(z)).collect();
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

/// A closed form of [`relu_bound`] (T7; over the reals the sharp bound is within it for
/// `$A \le 0$`, Coq: `relu_bound_le_closed`, Coq definition `relu_bound_closed`): with
/// `$[z \le 20]$` the
/// indicator of steps at or below the softplus threshold and `$m_{ij} = \#\{k : j < k \le i,
/// z_k \le 20\}$`,
///
/// ```math
/// \sum_n |C_{i,n}B_{j,n}|\big(\ln 2\,[z_j \le 20] + \mathrm{ReLU}(z_j)\min(1,
/// |A_n|\,m_{ij}\ln 2)\big),
/// ```
///
/// from `$\varepsilon_k \le \ln 2\,[z_k \le 20]$`, `$e^{A S} \le 1$` and `$1 - e^{-x} \le \min(1, x)$`.
/// Like the sharp bound it is 0 where every `$z_k$`, `$j \le k \le i$`, is above 20.
///
/// # Errors
/// As [`Preactivated::validate`].
///
/// # Examples
/// ```
/// use hidden_attention::construct::approximation::{relu_bound_closed, Preactivated};
/// let p = Preactivated { z: vec![2.0f64, 0.0], a: vec![-1.0], b: vec![1.0, 1.0], c: vec![1.0, 1.0] };
/// let (b, ln2) = (relu_bound_closed(&p).unwrap(), std::f64::consts::LN_2);
/// assert_eq!(*b.get(0, 0), ln2); // i = j: m = 0
/// assert_eq!(*b.get(1, 0), ln2 + 2.0 * ln2); // ReLU(z_0) = 2, min(1, |A|·1·ln 2) = ln 2
/// assert_eq!(*b.get(1, 1), ln2); // ReLU(z_1) = 0
/// assert_eq!(*b.get(0, 1), 0.0); // above the diagonal
/// // above the threshold: exact, and so is the closed form 0 there
/// let p = Preactivated { z: vec![22.0f64, 30.0, 0.0], a: vec![-1.0], b: vec![1.0; 3], c: vec![1.0; 3] };
/// let b = relu_bound_closed(&p).unwrap();
/// assert_eq!((*b.get(0, 0), *b.get(1, 0), *b.get(1, 1)), (0.0, 0.0, 0.0));
/// assert_eq!(*b.get(2, 1), 30.0 * ln2); // z_2 = 0 ≤ 20: m = 1
/// ```
pub fn relu_bound_closed<T: Real>(p: &Preactivated<T>) -> Result<Matrix<T>> {
    p.validate()?;
    let ln2 = T::from_f64(std::f64::consts::LN_2);
    let below: Vec<bool> =
        p.z.iter()
            .map(|&z| z <= T::from_f64(SOFTPLUS_THRESHOLD))
            .collect();
    let n = p.state();
    let mut out = Matrix::zeros(p.len(), p.len());
    for i in 0..p.len() {
        let mut m = 0usize; // #{k : j < k ≤ i, z_k ≤ 20}
        for j in (0..=i).rev() {
            let relu = p.z[j].max(T::zero());
            let first = if below[j] { ln2 } else { T::zero() };
            let mut acc = T::zero();
            for k in 0..n {
                let cb = (p.c[i * n + k] * p.b[j * n + k]).abs();
                let decay = (p.a[k].abs() * T::from_f64(m as f64) * ln2).min(T::one());
                acc = acc + cb * (first + relu * decay);
            }
            *out.get_mut(i, j) = acc;
            m += usize::from(below[j]);
        }
    }
    Ok(out)
}

/// The magnitude `$\sum_n |C_{i,n}B_{j,n}|(\Delta_j e^{A_nS} + \mathrm{ReLU}(z_j)e^{A_n\hat S})
/// (1 + |A_n|(S + \hat S))$` that scales the float rounding of `$\tilde\alpha$` and `$\hat\alpha$`
/// (`$e^x$` has condition number `$|x|$`, hence the last factor); used to add a rounding
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

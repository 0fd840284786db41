//! Function level: an S6 layer as attention heads whose queries, keys and gates are
//! functions of the input, and a linear-attention layer as an S6 layer (T2 and T3 for
//! layers rather than one fixed sequence).

use crate::attention::{GatedLinearHead, LinearHead};
use crate::error::{Error, Result};
use crate::scalar::{Field, Real};
use crate::ssm::{BRule, Channel, MambaChannel};
use crate::tensor::{dot, Matrix};

/// An S6 layer in Mamba's parametrisation on tokens `$\hat x_t \in \mathbb R^D$` with
/// `$d_v$` channels and state `$N$` (`$B$` and `$C$` shared by the channels, as in Mamba):
///
/// ```math
/// x_{t,c} = (W_x \hat x_t)_c,\quad \Delta_{t,c} = \mathrm{softplus}(\langle w_{\Delta,c},
/// \hat x_t\rangle + b_{\Delta,c}),\quad B_t = W_B \hat x_t,\quad C_t = W_C \hat x_t,
/// ```
///
/// `$\bar A_{t,c} = \exp(\Delta_{t,c} A_c)$`, `$\bar B_{t,c} = \Delta_{t,c} B_t$` (Euler), and
/// channel `$c$` scans `$x_{\cdot,c}$`.
#[derive(Debug, Clone, PartialEq)]
pub struct S6Layer<T> {
    /// Input projection `$W_x$`, `d_v × D`.
    pub w_x: Matrix<T>,
    /// `$W_\Delta$`, `d_v × D` (row `$c$` is `$w_{\Delta,c}$`).
    pub w_delta: Matrix<T>,
    /// `$b_\Delta$`, length `$d_v$`.
    pub b_delta: Vec<T>,
    /// `$A$`, `d_v × N` (Mamba: every entry `$< 0$`).
    pub a: Matrix<T>,
    /// `$W_B$`, `N × D`.
    pub w_b: Matrix<T>,
    /// `$W_C$`, `N × D`.
    pub w_c: Matrix<T>,
}

fn mat_vec<T: Field>(w: &Matrix<T>, x: &[T]) -> Vec<T> {
    (0..w.rows()).map(|r| dot(w.row(r), x)).collect()
}

impl<T: Real> S6Layer<T> {
    /// Number of channels `$d_v$`.
    pub fn channels(&self) -> usize {
        self.w_x.rows()
    }
    /// State size `$N$`.
    pub fn state(&self) -> usize {
        self.a.cols()
    }
    /// `$\Delta_{t,c}$` as a function of the token `$\hat x_t$`.
    pub fn delta(&self, c: usize, xt: &[T]) -> T {
        (dot(self.w_delta.row(c), xt) + self.b_delta[c]).softplus()
    }
    /// The query `$q(\hat x_t) = W_C\hat x_t$` (shared by the channels).
    pub fn query(&self, xt: &[T]) -> Vec<T> {
        mat_vec(&self.w_c, xt)
    }
    /// The key of channel `$c$`: `$k_c(\hat x_t) = \mathrm{softplus}(\langle w_{\Delta,c},
    /// \hat x_t\rangle + b_{\Delta,c})\, W_B \hat x_t$`.
    pub fn key(&self, c: usize, xt: &[T]) -> Vec<T> {
        let d = self.delta(c, xt);
        mat_vec(&self.w_b, xt).into_iter().map(|b| d * b).collect()
    }
    /// The gate of channel `$c$`: `$g_c(\hat x_t) = \exp(\Delta_{t,c} A_c)$` (entrywise).
    pub fn gate(&self, c: usize, xt: &[T]) -> Vec<T> {
        let d = self.delta(c, xt);
        self.a.row(c).iter().map(|&a| (d * a).exp()).collect()
    }

    fn check(&self, xhat: &Matrix<T>, c: usize) -> Result<()> {
        if c >= self.channels() {
            return Err(Error::InvalidArgument {
                name: "channel".into(),
                reason: format!("{c} is not below d_v = {}", self.channels()),
            });
        }
        if xhat.cols() != self.w_x.cols() {
            return Err(Error::Shape {
                tensor: "xhat".into(),
                dim: 1,
                name: "D".into(),
                expected: self.w_x.cols(),
                found: xhat.cols(),
            });
        }
        Ok(())
    }

    /// Mamba's parameters of channel `$c$` on the token sequence `xhat` (`L × D`).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] / [`Error::Shape`] for a bad channel or token width.
    pub fn mamba_channel(&self, xhat: &Matrix<T>, c: usize) -> Result<MambaChannel<T>> {
        self.check(xhat, c)?;
        let l = xhat.rows();
        Ok(MambaChannel {
            delta: (0..l).map(|t| self.delta(c, xhat.row(t))).collect(),
            a: self.a.row(c).to_vec(),
            b: (0..l)
                .flat_map(|t| mat_vec(&self.w_b, xhat.row(t)))
                .collect(),
            c: (0..l).flat_map(|t| self.query(xhat.row(t))).collect(),
        })
    }

    /// The discretised channel `$c$` (Euler `$\bar B$`).
    ///
    /// # Errors
    /// As [`Self::mamba_channel`] and [`MambaChannel::discretize`].
    pub fn channel(&self, xhat: &Matrix<T>, c: usize) -> Result<Channel<T>> {
        self.mamba_channel(xhat, c)?
            .discretize(BRule::Euler)
            .map_err(|e| e.in_channel(c))
    }

    /// The scalar inputs `$x_{t,c}$` of channel `$c$`.
    pub fn input(&self, xhat: &Matrix<T>, c: usize) -> Vec<T> {
        (0..xhat.rows())
            .map(|t| dot(self.w_x.row(c), xhat.row(t)))
            .collect()
    }

    /// **T2a at function level**: channel `$c$` of the layer as the gated linear head with
    /// `$q_i = q(\hat x_i)$`, `$k_j = k_c(\hat x_j)$`, `$g_k = g_c(\hat x_k)$`. The same float
    /// operations as [`Self::channel`], so the head's matrix equals the channel's
    /// `$\tilde\alpha$` bit for bit:
    ///
    /// ```math
    /// q(\hat x) = W_C\hat x,\qquad k_c(\hat x) = \mathrm{softplus}(\langle w_{\Delta,c},
    /// \hat x\rangle + b_{\Delta,c})\,W_B\hat x,\qquad g_c(\hat x) = \exp(\Delta_c(\hat x) A_c).
    /// ```
    ///
    /// Coq: `t2a_gated_form` (`proofs/T2_LinearAttention.v`) for every fixed token
    /// sequence; that `$q$`, `$k$`, `$g$` are these functions of the token is the definition of
    /// the parametrisation, not a theorem.
    ///
    /// # Errors
    /// As [`Self::mamba_channel`].
    ///
    /// # Examples
    /// ```
    /// use hidden_attention::{construct::{function::S6Layer, gated_head_to_channel}, tensor::Matrix};
    /// let m = |r, c, v: Vec<f64>| Matrix::from_row_major(r, c, v).unwrap();
    /// let layer = S6Layer {
    ///     w_x: m(1, 2, vec![1.0, 0.0]), w_delta: m(1, 2, vec![0.5, -1.0]), b_delta: vec![0.1],
    ///     a: m(1, 2, vec![-1.0, -2.0]), w_b: m(2, 2, vec![1.0, 2.0, 0.0, 1.0]),
    ///     w_c: m(2, 2, vec![1.0, 0.0, 1.0, 1.0]),
    /// };
    /// let xhat = m(3, 2, vec![1.0, 0.0, 0.5, -1.0, 0.0, 2.0]);
    /// let head = layer.head(&xhat, 0).unwrap();
    /// // the head's (q, k, g) *are* the discretised channel's (C, B̄, Ā)
    /// assert_eq!(gated_head_to_channel(&head).unwrap(), layer.channel(&xhat, 0).unwrap());
    /// ```
    pub fn head(&self, xhat: &Matrix<T>, c: usize) -> Result<GatedLinearHead<T>> {
        self.check(xhat, c)?;
        let (l, n) = (xhat.rows(), self.state());
        let rows = |f: &dyn Fn(&[T]) -> Vec<T>| {
            Matrix::from_row_major(l, n, (0..l).flat_map(|t| f(xhat.row(t))).collect())
        };
        GatedLinearHead::new(
            rows(&|x| self.query(x))?,
            rows(&|x| self.key(c, x))?,
            rows(&|x| self.gate(c, x))?,
        )
    }

    /// The layer's output `L × d_v` (channel `$c$` scanned on its inputs).
    ///
    /// # Errors
    /// As [`Self::channel`].
    pub fn output(&self, xhat: &Matrix<T>) -> Result<Matrix<T>> {
        let (l, dv) = (xhat.rows(), self.channels());
        let mut out = Matrix::zeros(l, dv);
        for c in 0..dv {
            let y = crate::ssm::scan(&self.channel(xhat, c)?, &self.input(xhat, c))?.y;
            for (t, v) in y.into_iter().enumerate() {
                *out.get_mut(t, c) = v;
            }
        }
        Ok(out)
    }
}

/// A causal linear-attention layer `$q_t = W_Q\hat x_t$`, `$k_t = W_K \hat x_t$`,
/// `$v_t = W_V\hat x_t$`, `$y_i = \sum_{j\le i}\langle q_i, k_j\rangle v_j$`.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearAttentionLayer<T> {
    /// `$W_Q$`, `d × D`.
    pub w_q: Matrix<T>,
    /// `$W_K$`, `d × D`.
    pub w_k: Matrix<T>,
    /// `$W_V$`, `d_v × D`.
    pub w_v: Matrix<T>,
}

impl<T: Field> LinearAttentionLayer<T> {
    /// The head on a token sequence (`L × D`).
    ///
    /// # Errors
    /// [`Error::Shape`] if the token width is not `$D$`.
    pub fn head(&self, xhat: &Matrix<T>) -> Result<LinearHead<T>> {
        if xhat.cols() != self.w_q.cols() {
            return Err(Error::Shape {
                tensor: "xhat".into(),
                dim: 1,
                name: "D".into(),
                expected: self.w_q.cols(),
                found: xhat.cols(),
            });
        }
        let l = xhat.rows();
        let proj = |w: &Matrix<T>| {
            Matrix::from_row_major(
                l,
                w.rows(),
                (0..l).flat_map(|t| mat_vec(w, xhat.row(t))).collect(),
            )
        };
        LinearHead::new(proj(&self.w_q)?, proj(&self.w_k)?)
    }

    /// The values `$v_t = W_V \hat x_t$`, `L × d_v`.
    pub fn values(&self, xhat: &Matrix<T>) -> Matrix<T> {
        let l = xhat.rows();
        Matrix::from_row_major(
            l,
            self.w_v.rows(),
            (0..l)
                .flat_map(|t| mat_vec(&self.w_v, xhat.row(t)))
                .collect(),
        )
        .expect("L × d_v")
    }

    /// The layer's output `L × d_v`.
    ///
    /// # Errors
    /// As [`Self::head`].
    pub fn output(&self, xhat: &Matrix<T>) -> Result<Matrix<T>> {
        self.head(xhat)?.output_values(&self.values(xhat))
    }

    /// **T3 at function level, exact**: the layer as S6 channels in the general channel
    /// type — for every value coordinate the channel with `$\bar A \equiv 1$`,
    /// `$\bar B_t = W_K\hat x_t$`, `$C_t = W_Q\hat x_t$` (one channel, shared), scanned on
    /// `$v_{\cdot,c}$`. Its output equals [`Self::output`] exactly over the rationals:
    ///
    /// ```math
    /// y_{i,c} = \sum_{j\le i}\langle W_Q\hat x_i, W_K\hat x_j\rangle (W_V\hat x_j)_c
    /// = \big(\tilde\alpha\, v_{\cdot,c}\big)_i,\qquad \tilde\alpha = \mathrm{tril}(QK^\top).
    /// ```
    ///
    /// Coq: `t3_linear_head_is_channel` (`proofs/T3_HeadIsChannel.v`).
    ///
    /// # Errors
    /// As [`Self::head`].
    ///
    /// # Examples
    /// ```
    /// use hidden_attention::{construct::{channel_output_values, function::LinearAttentionLayer},
    ///                        scalar::ratio, tensor::Matrix};
    /// let m = |r, c, v: Vec<i64>| Matrix::from_row_major(r, c, v.into_iter().map(|p| ratio(p, 2)).collect()).unwrap();
    /// let layer = LinearAttentionLayer { w_q: m(1, 2, vec![1, 2]), w_k: m(1, 2, vec![-1, 1]), w_v: m(2, 2, vec![1, 0, 3, 1]) };
    /// let xhat = m(3, 2, vec![1, 0, 2, -1, 0, 4]);
    /// let ch = layer.channel(&xhat).unwrap(); // Ā ≡ 1
    /// assert_eq!(channel_output_values(&ch, &layer.values(&xhat)).unwrap(), layer.output(&xhat).unwrap());
    /// ```
    pub fn channel(&self, xhat: &Matrix<T>) -> Result<Channel<T>> {
        crate::construct::linear_head_to_channel(&self.head(xhat)?)
    }
}

impl<T: Real> LinearAttentionLayer<T> {
    /// **T3 under Mamba's strict `$A<0$`**: the S6 layer with `$W_x = W_V$`, `$W_\Delta = 0$`,
    /// `$b_\Delta = \mathrm{softplus}^{-1}(\delta) = \ln(e^{\delta}-1)$` (so `$\Delta \equiv
    /// \delta$` up to rounding), `$A \equiv -a$`, `$W_B = W_K/\Delta$`, `$W_C = W_Q$`. Then
    /// `$\bar B_t = W_K\hat x_t$` and `$\bar A = e^{-\Delta a} \to 1$` as `$\Delta \to 0$`.
    /// The error against the linear layer is bounded by [`linear_limit_bound`].
    ///
    /// Over the reals the bound is proven (Coq: `linear_limit_bound_sound`,
    /// `linear_limit_bound_le`); the exact `$\bar A\equiv1$` case is
    /// `t3_linear_head_is_channel`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] unless `$\delta > 0$` and `$a > 0$`.
    ///
    /// # Examples
    /// ```
    /// use hidden_attention::{construct::function::{linear_limit_bound, LinearAttentionLayer}, tensor::Matrix};
    /// let m = |r, c, v: Vec<f64>| Matrix::from_row_major(r, c, v).unwrap();
    /// let layer = LinearAttentionLayer { w_q: m(1, 1, vec![1.0]), w_k: m(1, 1, vec![1.0]), w_v: m(1, 1, vec![1.0]) };
    /// let xhat = m(2, 1, vec![1.0, 1.0]); // q = k = v = (1, 1)
    /// let lin = layer.output(&xhat).unwrap(); // y_1 = 2
    /// let s6 = layer.to_mamba(1e-3, 2.0).unwrap().output(&xhat).unwrap(); // y_1 = 1 + e^{-Δa}
    /// let bound = linear_limit_bound(&layer.head(&xhat).unwrap(), &layer.values(&xhat), 1e-3, 2.0);
    /// let err = (s6.get(1, 0) - lin.get(1, 0)).abs();
    /// assert!(err <= bound.get(1, 0) + 1e-15 && err > 0.5 * bound.get(1, 0)); // attained
    /// ```
    pub fn to_mamba(&self, delta: T, a: T) -> Result<S6Layer<T>> {
        if delta.is_nan() || a.is_nan() || delta <= T::zero() || a <= T::zero() {
            return Err(Error::InvalidArgument {
                name: "(delta, a)".into(),
                reason: format!("need Δ > 0 and a > 0, got ({delta}, {a})"),
            });
        }
        let (dv, dd, n) = (self.w_v.rows(), self.w_v.cols(), self.w_k.rows());
        let b = delta.exp_m1().ln();
        let actual = b.softplus();
        Ok(S6Layer {
            w_x: self.w_v.clone(),
            w_delta: Matrix::zeros(dv, dd),
            b_delta: vec![b; dv],
            a: Matrix::from_row_major(dv, n, vec![-a; dv * n])?,
            w_b: self.w_k.map(|v| *v / actual),
            w_c: self.w_q.clone(),
        })
    }
}

/// **The Δ → 0 bound of T3 under Mamba's parametrisation.** For the layer of
/// [`LinearAttentionLayer::to_mamba`] with step `$\Delta$` and `$A \equiv -a$`, every output
/// satisfies
///
/// ```math
/// |y^{\mathrm{S6}}_{i,c} - y^{\mathrm{lin}}_{i,c}| \le \sum_{j\le i}\bigl(1 - e^{-\Delta a(i-j)}\bigr)
/// \sum_n |q_{i,n}|\,|k_{j,n}|\,|v_{j,c}|
/// \;\le\; \Delta\, a\,(L-1)\,\max_i\lVert q_i\rVert_2\,\max_j\lVert k_j\rVert_2\,\lVert v_{\cdot,c}\rVert_1
/// ```
///
/// since `$|\bar A^{\,i-j} - 1| = 1 - e^{-\Delta a (i-j)} \le \Delta a (i-j)$`. This returns the
/// middle (per-entry) bound for every `$(i, c)$` as an `L × d_v` matrix; the right-hand
/// closed form is [`linear_limit_bound_closed`]. Both vanish linearly as `$\Delta \to 0$`.
///
/// Theorem: T3 under Mamba's parametrisation, over the reals (the layer's `$\bar A =
/// e^{-\Delta a}$`, `$\bar B_j = k_j$`, `$C_i = q_i$` exactly; Coq definition `linear_limit_bound`
/// in `proofs/T3_Limit.v`): Coq: `linear_limit_bound_sound`, `one_minus_exp_neg_le`,
/// `linear_limit_bound_le`, `linear_limit_bound_le_closed` — this middle bound,
/// `$1 - e^{-x} \le x$`, at most `$\Delta a (L-1)\sum_{j\le i}\sum_n |q_{i,n}k_{j,n}|\,|v_{j,c}|$`,
/// and (with `cauchy_schwarz`) at most [`linear_limit_bound_closed`].
///
/// # Examples
/// `$L = 2$`, `$d = d_v = 1$`, `$q = k = v = (1, 1)$`, `$\Delta a = 1/2$`:
/// ```
/// use hidden_attention::{attention::LinearHead, tensor::Matrix,
///                        construct::function::{linear_limit_bound, linear_limit_bound_closed}};
/// let ones = Matrix::from_row_major(2, 1, vec![1.0f64, 1.0]).unwrap();
/// let head = LinearHead::new(ones.clone(), ones.clone()).unwrap();
/// let b = linear_limit_bound(&head, &ones, 0.5, 1.0);
/// assert_eq!(*b.get(0, 0), 0.0); // i = j: Ā⁰ = 1, no error
/// assert_eq!(*b.get(1, 0), -(-0.5f64).exp_m1()); // 1 − e^{−Δa}
/// assert_eq!(linear_limit_bound_closed(&head, &ones, 0.5, 1.0), vec![1.0]); // Δa(L−1)·1·1·2
/// ```
pub fn linear_limit_bound(
    head: &LinearHead<f64>,
    v: &Matrix<f64>,
    delta: f64,
    a: f64,
) -> Matrix<f64> {
    let (l, dv) = (head.len(), v.cols());
    let mut out = Matrix::zeros(l, dv);
    for i in 0..l {
        for j in 0..=i {
            let w = -(-delta * a * (i - j) as f64).exp_m1();
            let qk: f64 = head
                .queries()
                .row(i)
                .iter()
                .zip(head.keys().row(j))
                .map(|(q, k)| (q * k).abs())
                .sum();
            for c in 0..dv {
                *out.get_mut(i, c) += w * qk * v.get(j, c).abs();
            }
        }
    }
    out
}

/// The closed form `$\Delta a (L-1)\max\lVert q\rVert_2\max\lVert k\rVert_2\lVert v_{\cdot,c}\rVert_1$`
/// of [`linear_limit_bound`], per value coordinate `$c$` (T3; example there). Over the reals
/// the middle bound is within it for every output (Coq definition
/// `linear_limit_bound_closed`, with the maxima and norms as computed here): Coq:
/// `linear_limit_bound_le_closed`, `cauchy_schwarz`.
pub fn linear_limit_bound_closed(
    head: &LinearHead<f64>,
    v: &Matrix<f64>,
    delta: f64,
    a: f64,
) -> Vec<f64> {
    let l = head.len();
    let norm = |m: &Matrix<f64>| {
        (0..m.rows())
            .map(|i| m.row(i).iter().map(|x| x * x).sum::<f64>().sqrt())
            .fold(0.0, f64::max)
    };
    let (qn, kn) = (norm(head.queries()), norm(head.keys()));
    (0..v.cols())
        .map(|c| {
            let v1: f64 = (0..l).map(|j| v.get(j, c).abs()).sum();
            delta * a * l.saturating_sub(1) as f64 * qn * kn * v1
        })
        .collect()
}

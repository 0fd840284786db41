//! T11 — the `$\Delta \to 0$` limit of an SSD head: with strict `$A_h < 0$`, scaling
//! `$\Delta \to \varepsilon\Delta$` and `$B \to B/\varepsilon$` keeps `$\bar B = \Delta B$` fixed and
//! sends `$\tilde\alpha_\varepsilon$` to the linear attention matrix `$\mathrm{tril}(C\bar B^\top)$`.

use crate::error::{Error, Result};
use crate::scalar::{Exact, Field};
use crate::tensor::{dot, Matrix};

use super::head::SsdHead;

/// One head in Mamba-2's parametrisation before the limit: `$A_h < 0$`, step sizes
/// `$\Delta_t > 0$`, and `$B_t, C_t \in \mathbb R^N$` (row-major `L × N`).
#[derive(Debug, Clone, PartialEq)]
pub struct SsdLimit {
    /// `$A_h$`, strictly negative.
    pub a_h: f64,
    /// `$\Delta_t > 0$`, length `$L$`.
    pub delta: Vec<f64>,
    /// `$B$`, `L × N`.
    pub b: Vec<f64>,
    /// `$C$`, `L × N`.
    pub c: Vec<f64>,
    /// `$N$`.
    pub state: usize,
}

impl SsdLimit {
    /// Check `$A_h < 0$`, `$\Delta > 0$`, finiteness and shapes.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for `$A_h \ge 0$` or `$N = 0$`; [`Error::NonPositiveDelta`];
    /// [`Error::DataLength`]; [`Error::NonFinite`].
    pub fn validate(&self) -> Result<()> {
        let l = self.delta.len();
        if self.a_h.is_nan() || self.a_h >= 0.0 {
            return Err(Error::InvalidArgument {
                name: "A_h".into(),
                reason: format!("the limit needs strict A_h < 0, got {}", self.a_h),
            });
        }
        if let Some(step) = self
            .delta
            .iter()
            .position(|&d| d.is_nan() || d <= 0.0 || !d.is_finite())
        {
            return Err(Error::NonPositiveDelta {
                channel: None,
                step,
                value: self.delta[step],
            });
        }
        // shapes and finiteness of B, C as an exact head would check them
        SsdHead::new(l, self.state, vec![1.0; l], self.b.clone(), self.c.clone()).map(|_| ())
    }

    /// The exact `$\bar B = \Delta B$` and the exact head at scale `$\varepsilon$` without its
    /// transitions (they are `$e^{\varepsilon\Delta_t A_h}$`, irrational in general): the
    /// Gram matrix `$G_{ts} = C_t\cdot\bar B_s$` and the exponents
    /// `$x_{ts} = \varepsilon A_h\sum_{r=s+1}^{t}\Delta_r \le 0$` (`$s \le t$`), exactly.
    ///
    /// # Errors
    /// As [`Self::validate`]; [`Error::InvalidArgument`] for `$\varepsilon \le 0$`.
    pub fn exact_parts(&self, eps: f64) -> Result<(Matrix<Exact>, Matrix<Exact>)> {
        self.validate()?;
        if eps.is_nan() || eps <= 0.0 || !eps.is_finite() {
            return Err(Error::InvalidArgument {
                name: "eps".into(),
                reason: format!("the scale ε must be positive and finite, got {eps}"),
            });
        }
        let (l, n) = (self.delta.len(), self.state);
        let lift = Exact::from_f64;
        let bbar: Vec<Exact> = (0..l * n)
            .map(|i| lift(self.delta[i / n]) * lift(self.b[i]))
            .collect();
        let c: Vec<Exact> = self.c.iter().map(|&v| lift(v)).collect();
        let mut g = Matrix::zeros(l, l);
        let mut x = Matrix::zeros(l, l);
        let scale = lift(eps) * lift(self.a_h);
        for t in 0..l {
            let mut sum = Exact::from_integer(0.into());
            for s in (0..=t).rev() {
                *g.get_mut(t, s) = dot(&c[t * n..(t + 1) * n], &bbar[s * n..(s + 1) * n]);
                *x.get_mut(t, s) = &scale * &sum;
                sum += lift(self.delta[s]);
            }
        }
        Ok((g, x))
    }

    /// The explicit bound of T11, exactly:
    /// `$|\tilde\alpha_\varepsilon - \tilde\alpha_0|_{ts} \le |C_t\cdot\bar B_s|\,(1 - e^{x_{ts}})
    /// \le |C_t\cdot\bar B_s|\,\varepsilon|A_h|\sum_{r=s+1}^{t}\Delta_r = |G_{ts}|\,|x_{ts}|$`
    /// (`$s \le t$`; 0 above the diagonal), where `$\tilde\alpha_0 = \mathrm{tril}(C\bar B^\top)$`.
    ///
    /// # Errors
    /// As [`Self::exact_parts`].
    pub fn bound(&self, eps: f64) -> Result<Matrix<Exact>> {
        let (g, x) = self.exact_parts(eps)?;
        let l = g.rows();
        let mut m = Matrix::zeros(l, l);
        for t in 0..l {
            for s in 0..=t {
                *m.get_mut(t, s) = g.get(t, s).abs_val() * x.get(t, s).abs_val();
            }
        }
        Ok(m)
    }

    /// The float SSD head at scale `$\varepsilon$` as Mamba-2 would form it:
    /// `$a_t = e^{(\varepsilon\Delta_t) A_h}$`, `$\bar B_t = (\varepsilon\Delta_t)(B_t/\varepsilon)$`.
    ///
    /// # Errors
    /// As [`Self::exact_parts`].
    pub fn head(&self, eps: f64) -> Result<SsdHead<f64>> {
        self.exact_parts(eps)?;
        let (l, n) = (self.delta.len(), self.state);
        SsdHead::new(
            l,
            n,
            self.delta
                .iter()
                .map(|&d| (eps * d * self.a_h).exp())
                .collect(),
            (0..l * n)
                .map(|i| (eps * self.delta[i / n]) * (self.b[i] / eps))
                .collect(),
            self.c.clone(),
        )
    }
}

//! Mamba's parametrisation → a discretised channel (zero-order hold for `$\bar A$`,
//! Euler or exact zero-order hold for `$\bar B$`).

use crate::error::{Error, Result};
use crate::scalar::Real;
use crate::ssm::channel::Channel;

/// How `$\bar B$` is obtained from `$(\Delta, A, B)$`; `$\bar A = e^{\Delta A}$` in both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BRule {
    /// Euler: `$\bar B = \Delta B$` — Mamba's (and `selective_scan_ref`'s) choice.
    #[default]
    Euler,
    /// Exact zero-order hold: `$\bar B = (\Delta A)^{-1}(e^{\Delta A} - 1)\,\Delta B
    /// = \mathrm{expm1}(\Delta A)/A \cdot B$` (and `$\Delta B$` where `$A = 0$`).
    Zoh,
}

/// One channel in Mamba's parametrisation, before discretisation: step sizes
/// `$\Delta_t$` (after bias and softplus), `$A \in \mathbb R^N$` (real; Mamba has `$A<0$`),
/// and input-dependent `$B_t, C_t \in \mathbb R^N$` (row-major `L × N`).
#[derive(Debug, Clone, PartialEq)]
pub struct MambaChannel<T> {
    /// `$\Delta_t$`, length `$L$`.
    pub delta: Vec<T>,
    /// `$A$`, length `$N$`.
    pub a: Vec<T>,
    /// `$B_t$`, row-major `L × N`.
    pub b: Vec<T>,
    /// `$C_t$`, row-major `L × N`.
    pub c: Vec<T>,
}

impl<T: Real> MambaChannel<T> {
    /// Discretise: `$\bar A_t = e^{\Delta_t A}$` (zero-order hold), `$\bar B_t$` by `rule`,
    /// `$C_t$` unchanged. Mamba's step sizes are `$\Delta_t = \mathrm{softplus}(\cdot) > 0$`;
    /// `$\Delta_t \le 0$` is refused (it would make `$\bar A_t = 1$` or a growing `$e^{\Delta A}$`
    /// and `$\bar B_t = 0$` or sign-flipped — no Mamba channel).
    ///
    /// # Errors
    /// [`Error::DataLength`] if `b`/`c` are not `L × N`; [`Error::NonFinite`] for NaN/∞
    /// inputs or if `$e^{\Delta A}$` overflows (possible only for `$\Delta A > 0$`);
    /// [`Error::NonPositiveDelta`] naming the first step with `$\Delta_t \le 0$` (channel
    /// `None`: layer-level callers add it with [`Error::in_channel`]).
    ///
    /// # Examples
    /// ```
    /// use hidden_attention::ssm::{MambaChannel, BRule};
    /// let m = MambaChannel { delta: vec![0.5f64], a: vec![-2.0], b: vec![3.0], c: vec![1.0] };
    /// let ch = m.discretize(BRule::Euler).unwrap();
    /// assert_eq!(ch.abar(0)[0], (-1.0f64).exp());
    /// assert_eq!(ch.bbar(0)[0], 1.5);
    /// ```
    pub fn discretize(&self, rule: BRule) -> Result<Channel<T>> {
        let (l, n) = (self.delta.len(), self.a.len());
        for (name, v, len) in [("delta", &self.delta, l), ("A", &self.a, n)] {
            if let Some(p) = v.iter().position(|x| !x.is_finite()) {
                return Err(Error::NonFinite {
                    tensor: name.into(),
                    index: vec![p],
                    value: crate::scalar::Field::to_f64(&v[p]),
                });
            }
            debug_assert_eq!(v.len(), len);
        }
        if let Some(step) = self.delta.iter().position(|&d| d <= T::zero()) {
            return Err(Error::NonPositiveDelta {
                channel: None,
                step,
                value: crate::scalar::Field::to_f64(&self.delta[step]),
            });
        }
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
        let mut abar = Vec::with_capacity(l * n);
        let mut bbar = Vec::with_capacity(l * n);
        for (t, &dt) in self.delta.iter().enumerate() {
            for (s, &a) in self.a.iter().enumerate() {
                let b = self.b[t * n + s];
                abar.push((dt * a).exp());
                bbar.push(match rule {
                    BRule::Euler => dt * b,
                    BRule::Zoh if a == T::zero() => dt * b,
                    BRule::Zoh => (dt * a).exp_m1() / a * b,
                });
            }
        }
        Channel::new(l, n, abar, bbar, self.c.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zoh_and_euler_b() {
        let m = MambaChannel {
            delta: vec![0.5f64, 1e-9],
            a: vec![-1.0, 0.0],
            b: vec![2.0, 3.0, 2.0, 3.0],
            c: vec![1.0; 4],
        };
        let e = m.discretize(BRule::Euler).unwrap();
        let z = m.discretize(BRule::Zoh).unwrap();
        // Euler: ΔB.
        assert_eq!(e.bbar(0), &[1.0, 1.5]);
        // ZOH: (e^{ΔA} − 1)/A · B = (1 − e^{−1/2})·2 for A = −1; ΔB for A = 0.
        assert!((z.bbar(0)[0] - 2.0 * (1.0 - (-0.5f64).exp())).abs() < 1e-15);
        assert_eq!(z.bbar(0)[1], 1.5);
        // As Δ → 0 both agree to first order: |ZOH − Euler| ≈ Δ²|A B|/2.
        assert!((z.bbar(1)[0] - e.bbar(1)[0]).abs() < 1e-17);
        // Ā = e^{ΔA} in both.
        assert_eq!(e.abar(0), z.abar(0));
        assert_eq!(e.abar(0)[1], 1.0);
    }

    #[test]
    fn rejects_bad_parameters() {
        let m = MambaChannel {
            delta: vec![f64::NAN],
            a: vec![-1.0],
            b: vec![1.0],
            c: vec![1.0],
        };
        assert!(
            matches!(m.discretize(BRule::Euler), Err(Error::NonFinite { tensor, .. }) if tensor == "delta")
        );
        let m = MambaChannel {
            delta: vec![1.0],
            a: vec![-1.0],
            b: vec![1.0, 2.0],
            c: vec![1.0],
        };
        assert!(
            matches!(m.discretize(BRule::Euler), Err(Error::DataLength { tensor, .. }) if tensor == "B")
        );
        // e^{ΔA} overflows for ΔA > 709: an error, not ∞.
        let m = MambaChannel {
            delta: vec![1000.0],
            a: vec![1.0],
            b: vec![1.0],
            c: vec![1.0],
        };
        assert!(
            matches!(m.discretize(BRule::Euler), Err(Error::NonFinite { tensor, .. }) if tensor == "Abar")
        );
    }

    /// Δ ≤ 0 is not a Mamba step size: refused with the first offending step (also −0.0
    /// and a softplus that underflowed to 0), in both B̄ rules and both float types.
    #[test]
    fn rejects_non_positive_delta() {
        let with = |delta: Vec<f64>| MambaChannel {
            b: vec![1.0; delta.len()],
            c: vec![1.0; delta.len()],
            delta,
            a: vec![-1.0],
        };
        for (delta, step) in [
            (vec![0.5, 0.0, -1.0], 1),
            (vec![-0.25], 0),
            (vec![1.0, 2.0, -0.0], 2),
            (vec![0.1, (-800.0f64).softplus()], 1),
        ] {
            let value = delta[step];
            for rule in [BRule::Euler, BRule::Zoh] {
                match with(delta.clone()).discretize(rule) {
                    Err(Error::NonPositiveDelta {
                        channel: None,
                        step: s,
                        value: v,
                    }) => assert_eq!((s, v), (step, value)),
                    r => panic!("Δ = {delta:?}: expected NonPositiveDelta, got {r:?}"),
                }
            }
        }
        let m = MambaChannel {
            delta: vec![0.5f32, (-120.0f32).softplus()],
            a: vec![-1.0],
            b: vec![1.0; 2],
            c: vec![1.0; 2],
        };
        assert!(matches!(
            m.discretize(BRule::Euler),
            Err(Error::NonPositiveDelta { step: 1, .. })
        ));
        // the smallest positive Δ is accepted
        assert!(with(vec![f64::from_bits(1)])
            .discretize(BRule::Euler)
            .is_ok());
    }
}

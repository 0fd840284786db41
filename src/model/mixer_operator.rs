//! The whole-mixer operator of a channel: conv, SiLU, S6, D skip and gate folded into one
//! `$L\times L$` matrix plus an affine term.
//!
//! For inner channel `$e$` with conv input `$x \in \mathbb R^L$` (the x half of `in_proj`):
//!
//! ```math
//! c = Kx + b_{conv}\mathbf 1,\quad u = \mathrm{SiLU}(c) = S c,\quad
//! y = G\,(\tilde\alpha + D I)\,u,
//! ```
//!
//! with `$K$` the lower-triangular Toeplitz band of the causal depthwise conv
//! (`$K_{tm} = w_{m-t+K-1}$` for `$t-K+1 \le m \le t$`), `$S = \mathrm{diag}\,\sigma(c_t)$`,
//! `$\tilde\alpha$` the channel's hidden attention, `$D$` its skip and
//! `$G = \mathrm{diag}\,\mathrm{SiLU}(z_t)$` the gate. Hence
//!
//! ```math
//! y = M x + \beta,\qquad M = G(\tilde\alpha + DI)SK,\qquad \beta = G(\tilde\alpha+DI)S\,b_{conv}\mathbf 1 .
//! ```
//!
//! **Exact:** at the given input, `$Mx + \beta$` *is* the mixer channel's output (the identity
//! `$\mathrm{SiLU}(c) = \sigma(c)\,c$` holds exactly; floats agree to rounding, ~1e-15
//! relative in f64). **Linearised:** `$M$` and `$\beta$` depend on the input through
//! `$\sigma(c)$`, Δ, B, C (which come from `$x$`) and `$z$` — they are frozen at this input, so
//! `$M$` is a data-dependent linear map like attention, not the Jacobian `$\partial y/\partial x$`.

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::model::attention::layer_channels;
use crate::model::block::{MixerTrace, MixerWeights};
use crate::scalar::Real;
use crate::ssm::{attention_matrix, Channel};
use crate::tensor::Tensor;

/// `$M$` (`L × L`, lower triangular) and `$\beta$` (`L`) of one channel.
#[derive(Debug, Clone, PartialEq)]
pub struct MixerOperator<T> {
    /// Sequence length.
    pub len: usize,
    /// `$M$`, row-major.
    pub matrix: Vec<T>,
    /// `$\beta$`, the conv bias carried through (zero without a conv bias).
    pub bias: Vec<T>,
}

impl<T: Real> MixerOperator<T> {
    /// `$Mx + \beta$`.
    pub fn apply(&self, x: &[T]) -> Vec<T> {
        let l = self.len;
        (0..l)
            .map(|i| {
                let row = &self.matrix[i * l..(i + 1) * l];
                row.iter()
                    .zip(x)
                    .fold(self.bias[i], |a, (&m, &v)| a + m * v)
            })
            .collect()
    }
}

fn fold<T: Real>(
    mixer: &MixerWeights<T>,
    trace: &MixerTrace<T>,
    e: usize,
    ch: &Channel<T>,
) -> Result<MixerOperator<T>> {
    let l = trace.len;
    let k = mixer.dims.d_conv;
    let alpha = attention_matrix(ch)?;
    let gate: Vec<T> = (0..l).map(|i| trace.z[e * l + i].silu()).collect();
    Ok(fold_parts(
        |i, j| *alpha.get(i, j),
        &mixer.conv_w[e * k..(e + 1) * k],
        mixer.conv_b.as_ref().map_or(T::zero(), |b| b[e]),
        mixer.d[e],
        &trace.conv[e * l..(e + 1) * l],
        &gate,
    ))
}

/// `$M = \mathrm{diag}(g)\,(\tilde\alpha + D I)\,\mathrm{diag}\,\sigma(c)\,K$` and
/// `$\beta = \mathrm{diag}(g)(\tilde\alpha + D I)\,\mathrm{diag}\,\sigma(c)\,b_{conv}\mathbf 1$`
/// for one channel: `alpha(i, j)` its hidden attention (`$j \le i$`), `w` its conv taps
/// (`$K$` entries), `conv` the conv output `$c$` (with bias, before SiLU), `gate` the per-token
/// output factor `$g$` (Mamba-1: `$\mathrm{SiLU}(z_t)$`; Mamba-2: also the gated norm's
/// weight and per-token scale).
pub(crate) fn fold_parts<T: Real>(
    alpha: impl Fn(usize, usize) -> T,
    w: &[T],
    conv_b: T,
    dskip: T,
    conv: &[T],
    gate: &[T],
) -> MixerOperator<T> {
    let (l, k) = (conv.len(), w.len());
    let mut q = vec![T::zero(); l * l];
    for i in 0..l {
        for j in 0..=i {
            let mut a = alpha(i, j);
            if i == j {
                a = a + dskip;
            }
            q[i * l + j] = a * conv[j].sigmoid();
        }
    }
    let mut m = vec![T::zero(); l * l];
    let mut beta = vec![T::zero(); l];
    for i in 0..l {
        let g = gate[i];
        let qi = &q[i * l..(i + 1) * l];
        for mm in 0..=i {
            let mut s = T::zero();
            for j in mm..=(mm + k - 1).min(i) {
                s = s + qi[j] * w[mm + k - 1 - j];
            }
            m[i * l + mm] = g * s;
        }
        beta[i] = g * qi[..=i].iter().fold(T::zero(), |a, &v| a + v) * conv_b;
    }
    MixerOperator {
        len: l,
        matrix: m,
        bias: beta,
    }
}

/// The whole-mixer operator `$(M, \beta)$` of channel `e` on one sequence.
///
/// # Errors
/// [`Error::InvalidArgument`] for `e ≥ d_in`; errors of the core hidden attention.
///
/// # Complexity
/// `$O(L^2 (N + K))$`.
pub fn mixer_operator<T: Real>(
    mixer: &MixerWeights<T>,
    trace: &MixerTrace<T>,
    e: usize,
) -> Result<MixerOperator<T>> {
    let ch = layer_channels(mixer, trace, Some(&[e]))?
        .pop()
        .expect("one channel");
    fold(mixer, trace, e, &ch)
}

/// The matrices `$M$` of the channels `channels` (all when `None`), `(channels, L, L)`.
///
/// # Errors
/// As [`mixer_operator`].
pub fn layer_mixer_operators<T: Real>(
    mixer: &MixerWeights<T>,
    trace: &MixerTrace<T>,
    channels: Option<&[usize]>,
) -> Result<Tensor<T>> {
    let all: Vec<usize> = (0..mixer.dims.d_inner).collect();
    let chans = channels.unwrap_or(&all);
    let channels_v = layer_channels(mixer, trace, Some(chans))?;
    let ops: Vec<MixerOperator<T>> = chans
        .par_iter()
        .zip(channels_v.par_iter())
        .map(|(&e, ch)| fold(mixer, trace, e, ch))
        .collect::<Result<_>>()?;
    let l = trace.len;
    Tensor::new(
        "mixer operator",
        vec![chans.len(), l, l],
        ops.into_iter().flat_map(|o| o.matrix).collect(),
    )
}

/// Largest `$|(Mx + \beta)_t - y_t|$` over the channels `channels`, relative to
/// `$\max_t |y_t|$` of each channel — the check that the folded operator reproduces the
/// forward pass.
///
/// # Errors
/// As [`mixer_operator`].
pub fn operator_residual<T: Real>(
    mixer: &MixerWeights<T>,
    trace: &MixerTrace<T>,
    channels: &[usize],
) -> Result<f64> {
    let l = trace.len;
    let mut worst = 0.0f64;
    for &e in channels {
        if e >= mixer.dims.d_inner {
            return Err(Error::InvalidArgument {
                name: "channel".into(),
                reason: format!("channel {e} is not below d_inner = {}", mixer.dims.d_inner),
            });
        }
        let op = mixer_operator(mixer, trace, e)?;
        let got = op.apply(&trace.x[e * l..(e + 1) * l]);
        let want = &trace.y[e * l..(e + 1) * l];
        let scale = want
            .iter()
            .fold(0.0f64, |a, v| a.max(crate::scalar::Field::to_f64(v).abs()))
            .max(f64::MIN_POSITIVE);
        for (g, w) in got.iter().zip(want) {
            let d = crate::scalar::Field::to_f64(&(*g - *w)).abs() / scale;
            worst = worst.max(if d.is_nan() { f64::INFINITY } else { d });
        }
    }
    Ok(worst)
}

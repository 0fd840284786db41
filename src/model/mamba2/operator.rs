//! The whole-mixer operator of a Mamba-2 channel: conv, SiLU, the SSD head, `$D$`, the gate
//! and the gated RMS norm folded into one `$L\times L$` matrix plus an affine term.
//!
//! Channel `$e = hP + p$` (head `$h$`, head coordinate `$p$`, group `$g = h/(H/G)$`) has conv input
//! `$x \in \mathbb R^L$` (its column of the `$x$` part of `in_proj`'s output). With `$B$`, `$C$`,
//! Δ and `$z$` frozen at the input:
//!
//! ```math
//! c = Kx + b_{conv}\mathbf 1,\quad u = \mathrm{SiLU}(c) = Sc,\quad
//! y = (\tilde\alpha^{(h)} + D_h I)\,u,\quad o = W R\, G\, y,
//! ```
//!
//! with `$K$` the causal conv band, `$S = \mathrm{diag}\,\sigma(c_t)$`, `$\tilde\alpha^{(h)}$` the
//! head's hidden attention (T8), `$G = \mathrm{diag}\,\mathrm{SiLU}(z_{t,e})$`,
//! `$R = \mathrm{diag}\,r_{t,g}$` the gated norm's per-token scale **taken from the forward**
//! and `$W = w_e I$` its weight. Hence `$o = Mx + \beta$` with
//! `$M = WRG(\tilde\alpha^{(h)} + D_hI)SK$` and `$\beta = WRG(\tilde\alpha^{(h)} + D_hI)S\,b_{conv}\mathbf 1$`.
//!
//! **Exact at the input:** because `$r_{t,g}$` is the forward's own factor, `$Mx + \beta$` *is*
//! the gated-norm output `normed` of channel `$e$` on that input (floats agree to rounding).
//! **Not a Jacobian:** `$r_{t,g}$` depends on every channel of the group, and `$S$`, Δ, `$B$`, `$C$`,
//! `$z$` on the input; `$M$` is the data-dependent linear map that reproduces the output, like
//! attention. `out_proj` mixes channels and is left out, as for Mamba-1.

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::model::mamba2::attention::head_attention;
use crate::model::mamba2::mixer::{Mamba2Mixer, Mamba2Trace};
use crate::model::mixer_operator::{fold_parts, MixerOperator};
use crate::scalar::{Field, Real};
use crate::tensor::Tensor;

fn check_channel<T: Real>(mixer: &Mamba2Mixer<T>, e: usize) -> Result<()> {
    let di = mixer.dims.d_inner();
    if e >= di {
        return Err(Error::InvalidArgument {
            name: "channel".into(),
            reason: format!("channel {e} is not below d_inner = {di} (num_heads·head_dim)"),
        });
    }
    Ok(())
}

fn fold<T: Real>(
    mixer: &Mamba2Mixer<T>,
    trace: &Mamba2Trace<T>,
    heads: &Tensor<T>,
    e: usize,
) -> MixerOperator<T> {
    let d = mixer.dims;
    let (l, k, di, cd) = (trace.len, d.d_conv, d.d_inner(), d.conv_dim());
    let h = e / d.head_dim;
    let g = e / (di / d.n_groups);
    let att = &heads.data()[h * l * l..(h + 1) * l * l];
    let conv: Vec<T> = (0..l).map(|t| trace.conv[t * cd + e]).collect();
    let gate: Vec<T> = (0..l)
        .map(|t| mixer.norm_w[e] * trace.norm_rms[t * d.n_groups + g] * trace.z[t * di + e].silu())
        .collect();
    fold_parts(
        |i, j| att[i * l + j],
        &mixer.conv_w[e * k..(e + 1) * k],
        mixer.conv_b.as_ref().map_or(T::zero(), |b| b[e]),
        mixer.d[h],
        &conv,
        &gate,
    )
}

/// The whole-mixer operator `$(M, \beta)$` of channel `e` of a Mamba-2 layer on one sequence.
///
/// # Errors
/// [`Error::InvalidArgument`] for `e ≥ d_in`; errors of [`head_attention`].
pub fn mixer_operator<T: Real>(
    mixer: &Mamba2Mixer<T>,
    trace: &Mamba2Trace<T>,
    e: usize,
) -> Result<MixerOperator<T>> {
    check_channel(mixer, e)?;
    let heads = head_attention(mixer, trace)?;
    Ok(fold(mixer, trace, &heads, e))
}

/// The matrices `$M$` of the channels `channels` (all `$d_{in}$` when `None`), `(channels, L, L)`.
///
/// # Errors
/// As [`mixer_operator`].
pub fn layer_mixer_operators<T: Real>(
    mixer: &Mamba2Mixer<T>,
    trace: &Mamba2Trace<T>,
    channels: Option<&[usize]>,
) -> Result<Tensor<T>> {
    let all: Vec<usize> = (0..mixer.dims.d_inner()).collect();
    let chans = channels.unwrap_or(&all);
    for &e in chans {
        check_channel(mixer, e)?;
    }
    let heads = head_attention(mixer, trace)?;
    let l = trace.len;
    let ops: Vec<MixerOperator<T>> = chans
        .par_iter()
        .map(|&e| fold(mixer, trace, &heads, e))
        .collect();
    Tensor::new(
        "mixer operator",
        vec![chans.len(), l, l],
        ops.into_iter().flat_map(|o| o.matrix).collect(),
    )
}

/// Largest `$|(Mx + \beta)_t - o_t|$` over `channels`, relative to `$\max_t|o_t|$` of each
/// channel, `$o$` the forward's gated-norm output — the check that the folded operator
/// reproduces the forward pass.
///
/// # Errors
/// As [`mixer_operator`].
pub fn operator_residual<T: Real>(
    mixer: &Mamba2Mixer<T>,
    trace: &Mamba2Trace<T>,
    channels: &[usize],
) -> Result<f64> {
    let (l, di, cd) = (trace.len, mixer.dims.d_inner(), mixer.dims.conv_dim());
    let heads = head_attention(mixer, trace)?;
    let mut worst = 0.0f64;
    for &e in channels {
        check_channel(mixer, e)?;
        let op = fold(mixer, trace, &heads, e);
        let x: Vec<T> = (0..l).map(|t| trace.xbc[t * cd + e]).collect();
        let got = op.apply(&x);
        let want: Vec<T> = (0..l).map(|t| trace.normed[t * di + e]).collect();
        let scale = want
            .iter()
            .fold(0.0f64, |a, v| a.max(Field::to_f64(v).abs()))
            .max(f64::MIN_POSITIVE);
        for (g, w) in got.iter().zip(&want) {
            let d = Field::to_f64(&(*g - *w)).abs() / scale;
            worst = worst.max(if d.is_nan() { f64::INFINITY } else { d });
        }
    }
    Ok(worst)
}

//! Hidden attention of a real layer: the S6 matrix `$\tilde\alpha$` of every inner channel
//! (as the paper's authors compute it), from the layer's own Δ, B, C.

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::model::block::{MixerTrace, MixerWeights};
use crate::scalar::Real;
use crate::ssm::{attention_matrix, hidden_attention_row, Channel};
use crate::tensor::Tensor;

/// The discretised channels `channels` (all when `None`) of one layer on one sequence,
/// through the core's [`crate::ssm::SelectiveScanInput::channel`].
///
/// # Errors
/// [`Error::InvalidArgument`] for a channel index ≥ `$d_{in}$`; errors of the core.
pub fn layer_channels<T: Real>(
    mixer: &MixerWeights<T>,
    trace: &MixerTrace<T>,
    channels: Option<&[usize]>,
) -> Result<Vec<Channel<T>>> {
    let di = mixer.dims.d_inner;
    let all: Vec<usize>;
    let chans = match channels {
        Some(c) => c,
        None => {
            all = (0..di).collect();
            &all
        }
    };
    if let Some(&bad) = chans.iter().find(|&&c| c >= di) {
        return Err(Error::InvalidArgument {
            name: "channel".into(),
            reason: format!("channel {bad} is not below d_inner = {di}"),
        });
    }
    let input = mixer.scan_input(&[trace]);
    let dims = input.validate()?;
    chans
        .par_iter()
        .map(|&e| input.channel(dims, 0, e))
        .collect()
}

/// **T1 on a real layer.** The hidden attention `$\tilde\alpha^{(e)}$` of the channels
/// `channels` (all when `None`), shape `(channels, L, L)`:
///
/// ```math
/// \tilde\alpha^{(e)}_{ij} = \Big\langle C_i,\ \Big(\prod_{k=j+1}^{i} e^{\Delta_{e,k} A_e}\Big)\odot \Delta_{e,j} B_j\Big\rangle\quad (j\le i),
/// ```
///
/// with `$\Delta_{e,t} = \mathrm{softplus}(W_\Delta\,\mathrm{dt}_{low,t} + b_\Delta)_e$` and the
/// layer's `x_proj` `$B_t$`, `$C_t$` — the authors' matrices (no conv, gate or D folded in;
/// see [`crate::model::mixer_operator`] for that). The S6 output of channel `$e$` is
/// `$\tilde\alpha^{(e)} u_e$`, where `$u_e$` is the channel's conv + SiLU output.
///
/// # Errors
/// As [`layer_channels`].
///
/// # Complexity
/// `$O(C L^2 N)$`, parallel over channels.
pub fn layer_attention<T: Real>(
    mixer: &MixerWeights<T>,
    trace: &MixerTrace<T>,
    channels: Option<&[usize]>,
) -> Result<Tensor<T>> {
    let chans = layer_channels(mixer, trace, channels)?;
    let l = trace.len;
    let mut data = vec![T::zero(); chans.len() * l * l];
    data.par_chunks_mut((l * l).max(1))
        .zip(chans.par_iter())
        .try_for_each(|(dst, ch)| -> Result<()> {
            dst.copy_from_slice(attention_matrix(ch)?.data());
            Ok(())
        })?;
    Tensor::new("hidden attention", vec![chans.len(), l, l], data)
}

/// The channel mean `$\frac1{d_{in}}\sum_e \tilde\alpha^{(e)}$` of one layer, `(L, L)`,
/// without holding every channel's matrix at once.
///
/// # Errors
/// As [`layer_channels`].
pub fn layer_attention_mean<T: Real>(
    mixer: &MixerWeights<T>,
    trace: &MixerTrace<T>,
) -> Result<Vec<T>> {
    let chans = layer_channels(mixer, trace, None)?;
    let l = trace.len;
    let sum = chans
        .par_iter()
        .try_fold(
            || vec![T::zero(); l * l],
            |mut acc, ch| -> Result<Vec<T>> {
                let m = attention_matrix(ch)?;
                for (a, &v) in acc.iter_mut().zip(m.data()) {
                    *a = *a + v;
                }
                Ok(acc)
            },
        )
        .try_reduce(
            || vec![T::zero(); l * l],
            |mut a, b| {
                for (x, y) in a.iter_mut().zip(&b) {
                    *x = *x + *y;
                }
                Ok(a)
            },
        )?;
    let inv = T::one() / T::from_f64(chans.len() as f64);
    Ok(sum.into_iter().map(|v| v * inv).collect())
}

/// The true query row `$\tilde\alpha_{i,\cdot}$` of a channel (core
/// [`hidden_attention_row`]): includes the diagonal term `$\langle C_i, \bar B_i\rangle$` and
/// the transition `$\bar A_i$` at the query position.
///
/// # Errors
/// As [`hidden_attention_row`].
pub fn query_row<T: Real>(ch: &Channel<T>, i: usize) -> Result<Vec<T>> {
    hidden_attention_row(ch, i)
}

/// The authors' "CLS row" vector for query position `$i$` (as their Vision Mamba code
/// forms it): `$v_j = \langle C_i, (\prod_{k=j+1}^{i-1} \bar A_k)\odot \bar B_j\rangle$` for
/// `$j < i$`, and `$v_i = 0$` — the diagonal term is dropped and the product stops before the
/// query position. The true row ([`query_row`]) is `$\tilde\alpha_{ij} =
/// \langle C_i \odot \bar A_i, (\prod_{k=j+1}^{i-1}\bar A_k)\odot\bar B_j\rangle$` for
/// `$j<i$` and `$\langle C_i, \bar B_i\rangle$` at `$j=i$`: the two differ by the per-state
/// factor `$\bar A_i = e^{\Delta_i A}$` and by the diagonal.
///
/// # Errors
/// [`Error::InvalidArgument`] if `i >= L`.
pub fn authors_cls_row<T: Real>(ch: &Channel<T>, i: usize) -> Result<Vec<T>> {
    if i >= ch.len() {
        return Err(Error::InvalidArgument {
            name: "row".into(),
            reason: format!("query position {i} is not below L = {}", ch.len()),
        });
    }
    let mut row = vec![T::zero(); ch.len()];
    let mut p: Vec<T> = ch.c(i).to_vec();
    for j in (0..i).rev() {
        // p = C_i ⊙ ∏_{k=j+1}^{i-1} Ā_k
        row[j] = crate::tensor::dot(&p, ch.bbar(j));
        for (pk, &ak) in p.iter_mut().zip(ch.abar(j)) {
            *pk = *pk * ak;
        }
    }
    Ok(row)
}

/// [`layer_attention`] through the chunked kernel of [`crate::fast`] (f32/f64): the same
/// matrices — each channel's Δ is formed exactly as the core forms it
/// (`softplus(W_Δ dt_low + b_Δ)`), so the two differ only by the rounding of the kernel
/// (bound (F1) of [`crate::fast`]) — several times faster on long sequences.
///
/// # Errors
/// As [`layer_attention`] and [`crate::fast::layer_into`].
pub fn layer_attention_chunked<T: crate::fast::FastFloat>(
    mixer: &MixerWeights<T>,
    trace: &MixerTrace<T>,
    channels: Option<&[usize]>,
) -> Result<Tensor<T>> {
    let (di, n, l) = (mixer.dims.d_inner, mixer.dims.d_state, trace.len);
    let all: Vec<usize>;
    let chans = match channels {
        Some(c) => c,
        None => {
            all = (0..di).collect();
            &all
        }
    };
    if let Some(&bad) = chans.iter().find(|&&c| c >= di) {
        return Err(Error::InvalidArgument {
            name: "channel".into(),
            reason: format!("channel {bad} is not below d_inner = {di}"),
        });
    }
    let mut delta = Vec::with_capacity(chans.len() * l);
    let mut a = Vec::with_capacity(chans.len() * n);
    for &e in chans {
        let bias = mixer.dt_proj_b[e];
        delta.extend(
            trace.delta_pre[e * l..(e + 1) * l]
                .iter()
                .map(|&v| (v + bias).softplus()),
        );
        a.extend_from_slice(&mixer.a[e * n..(e + 1) * n]);
    }
    let transpose = |x: &[T]| -> Vec<T> {
        (0..n)
            .flat_map(|s| (0..l).map(move |t| x[t * n + s]))
            .collect()
    };
    let (b, c) = (transpose(&trace.b), transpose(&trace.c));
    let params = crate::fast::LayerParams {
        dim: chans.len(),
        len: l,
        state: n,
        delta: &delta,
        a: &a,
        b: &b,
        c: &c,
    };
    let mut out = vec![T::zero(); chans.len() * l * l];
    crate::fast::layer_into(
        &params,
        crate::fast::Selection::Full,
        crate::fast::DEFAULT_CHUNK,
        &mut out,
    )?;
    Tensor::new("hidden attention", vec![chans.len(), l, l], out)
}

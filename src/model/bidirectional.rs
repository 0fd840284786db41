//! Bidirectional (Vision Mamba) layers: a forward scan and a scan over the flipped
//! sequence, each with its own conv, x_proj, dt_proj, A, D; in_proj and out_proj shared.
//!
//! With `$J$` the flip (`$J_{ij} = [i + j = L-1]$`), the backward branch computes
//! `$y_b = J\,f_b(Jx)$`, so its hidden attention in the forward frame is `$J\tilde\alpha_bJ$`
//! (upper triangular). The pair's hidden attention is
//!
//! ```math
//! \tilde\alpha_{pair} = \tilde\alpha_f + J\tilde\alpha_b J
//! \qquad(\tfrac12(\tilde\alpha_f + J\tilde\alpha_bJ)\ \text{when the outputs are averaged}),
//! ```
//!
//! a full (non-causal) matrix. The S6 matrices act on the two branches' own S6 inputs
//! (`$u_f$`, and `$J u_b$` from the flipped conv), so the sum is the authors' picture; the
//! whole-mixer operators act on the common conv input `$x$`, so `$M_f + JM_bJ$` reproduces the
//! layer's mixer output exactly (up to the affine conv-bias terms).

use crate::error::Result;
use crate::model::attention::layer_attention;
use crate::model::block::{MixerTrace, MixerWeights};
use crate::model::linear::linear;
use crate::model::mixer_operator::mixer_operator;
use crate::scalar::Real;
use crate::tensor::Tensor;

/// A bidirectional mixer: the two branches (sharing `in_proj`/`out_proj`: the backward
/// branch's copies are ignored) and whether the outputs are averaged (Vim's
/// `if_devide_out`) or summed.
#[derive(Debug, Clone, PartialEq)]
pub struct BidirectionalMixer<T> {
    /// Forward branch (its `in_proj` and `out_proj` are the layer's).
    pub forward: MixerWeights<T>,
    /// Backward branch (conv, x_proj, dt_proj, A, D of the flipped scan).
    pub backward: MixerWeights<T>,
    /// Average the branches (`true`) or sum them.
    pub average: bool,
}

/// One bidirectional mixer evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct BidirectionalTrace<T> {
    /// Forward branch trace (its `out` is unused).
    pub forward: MixerTrace<T>,
    /// Backward branch trace, in the flipped frame (position `$t$` is `$L-1-t$`).
    pub backward: MixerTrace<T>,
    /// Gated output of the pair, `$(y_f + Jy_b)\cdot w$`, `(d_in, L)`, `$w = \frac12$` or 1.
    pub y: Vec<T>,
    /// Output after `out_proj`, `(L, d)`.
    pub out: Vec<T>,
}

fn flip_rows<T: Copy>(x: &[T], width: usize) -> Vec<T> {
    let l = x.len() / width;
    (0..l)
        .rev()
        .flat_map(|t| x[t * width..(t + 1) * width].iter().copied())
        .collect()
}

fn flip_channels<T: Copy>(x: &[T], l: usize) -> Vec<T> {
    x.chunks(l).flat_map(|c| c.iter().rev().copied()).collect()
}

impl<T: Real> BidirectionalMixer<T> {
    fn weight(&self) -> T {
        if self.average {
            T::from_f64(0.5)
        } else {
            T::one()
        }
    }

    /// Run the pair on one input `(L, d)`.
    ///
    /// # Errors
    /// Errors of the core S6.
    pub fn forward(&self, input: &[T]) -> Result<BidirectionalTrace<T>> {
        let (dm, di) = (self.forward.dims.d_model, self.forward.dims.d_inner);
        let f = self.forward.forward_batch(&[input])?.pop().expect("one");
        let mut bw = self.backward.clone();
        bw.in_proj = self.forward.in_proj.clone();
        bw.in_proj_bias = self.forward.in_proj_bias.clone();
        let flipped = flip_rows(input, dm);
        let b = bw.forward_batch(&[&flipped])?.pop().expect("one");
        let l = f.len;
        let yb = flip_channels(&b.y, l);
        let w = self.weight();
        let y: Vec<T> = f.y.iter().zip(&yb).map(|(&a, &c)| (a + c) * w).collect();
        let mut y_t = vec![T::zero(); l * di];
        for e in 0..di {
            for t in 0..l {
                y_t[t * di + e] = y[e * l + t];
            }
        }
        let out = linear(
            &y_t,
            l,
            &self.forward.out_proj,
            dm,
            di,
            self.forward.out_proj_bias.as_deref(),
        );
        Ok(BidirectionalTrace {
            forward: f,
            backward: b,
            y,
            out,
        })
    }

    /// `$w(\tilde\alpha_f + J\tilde\alpha_bJ)$` for the channels `channels`, `(C, L, L)`.
    ///
    /// # Errors
    /// As [`layer_attention`].
    pub fn attention(
        &self,
        tr: &BidirectionalTrace<T>,
        channels: Option<&[usize]>,
    ) -> Result<Tensor<T>> {
        let f = layer_attention(&self.forward, &tr.forward, channels)?;
        let b = layer_attention(&self.backward, &tr.backward, channels)?;
        let l = tr.forward.len;
        let w = self.weight();
        let mut out = f.data().to_vec();
        for (c, blk) in out.chunks_mut(l * l).enumerate() {
            let bb = &b.data()[c * l * l..(c + 1) * l * l];
            for i in 0..l {
                for j in 0..l {
                    blk[i * l + j] = (blk[i * l + j] + bb[(l - 1 - i) * l + (l - 1 - j)]) * w;
                }
            }
        }
        Tensor::new(
            "bidirectional hidden attention",
            vec![f.shape()[0], l, l],
            out,
        )
    }

    /// The pair's whole-mixer operator of channel `e`: `$w(M_f + JM_bJ)$` and
    /// `$w(\beta_f + J\beta_b)$`, so that the pair's gated output is `$Mx + \beta$` exactly.
    ///
    /// # Errors
    /// As [`mixer_operator`].
    pub fn mixer_operator(&self, tr: &BidirectionalTrace<T>, e: usize) -> Result<(Vec<T>, Vec<T>)> {
        let f = mixer_operator(&self.forward, &tr.forward, e)?;
        let b = mixer_operator(&self.backward, &tr.backward, e)?;
        let l = tr.forward.len;
        let w = self.weight();
        let mut m = vec![T::zero(); l * l];
        for i in 0..l {
            for j in 0..l {
                m[i * l + j] = (f.matrix[i * l + j] + b.matrix[(l - 1 - i) * l + (l - 1 - j)]) * w;
            }
        }
        let beta = (0..l)
            .map(|i| (f.bias[i] + b.bias[l - 1 - i]) * w)
            .collect();
        Ok((m, beta))
    }
}

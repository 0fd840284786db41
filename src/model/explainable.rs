//! What an explanation needs from a mixer, for every model kind: its hidden-attention
//! matrices (Mamba-1 and Falcon-Mamba: one per inner channel, S6; Mamba-2: one per head,
//! SSD, T8), its whole-mixer operators (one per inner channel, both kinds) with their
//! inputs and the gradient w.r.t. their outputs, and the query rows.

use crate::error::{Error, Result};
use crate::model::attention::{authors_cls_row, layer_attention, layer_channels, query_row};
use crate::model::block::{MixerTrace, MixerWeights};
use crate::model::forward::Mixer;
use crate::model::linear::linear_backward;
use crate::model::mamba2::{head_attention, Mamba2Mixer, Mamba2Trace};
use crate::scalar::Real;
use crate::tensor::Tensor;

/// A mixer whose predictions [`crate::model::relevance::Explainer`] can explain.
pub trait Explainable<T: Real>: Mixer<T> {
    /// Number of hidden-attention matrices of a layer (channels or heads).
    fn attention_units(&self) -> usize;
    /// The hidden-attention matrices of `units`, `(units, L, L)`.
    ///
    /// # Errors
    /// Errors of the hidden attention.
    fn attention_block(&self, trace: &Self::Trace, units: &[usize]) -> Result<Tensor<T>>;
    /// Number of whole-mixer operators of a layer (inner channels).
    fn operator_units(&self) -> usize;
    /// The operators `$M$` of `channels`, `(channels, L, L)`.
    ///
    /// # Errors
    /// Errors of the operator.
    fn operator_block(&self, trace: &Self::Trace, channels: &[usize]) -> Result<Tensor<T>>;
    /// `$\partial\,\text{logit}/\partial o$` `(L, d_{in})` for the operator outputs `$o$` (the
    /// input of `out_proj`), from the gradient `g_out` `(L, d)` w.r.t. the mixer output.
    fn operator_output_grad(&self, trace: &Self::Trace, g_out: &[T]) -> Vec<T>;
    /// The operator input of channel `e` at position `j`.
    fn operator_input(&self, trace: &Self::Trace, e: usize, j: usize) -> T;
    /// Row `p` of every hidden-attention matrix (`authors`: the paper authors' CLS vector,
    /// defined for Mamba-1 channels only).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] where the row is not defined for this kind.
    fn query_rows(&self, trace: &Self::Trace, p: usize, authors: bool) -> Result<Vec<Vec<T>>>;
}

impl<T: Real> Explainable<T> for MixerWeights<T> {
    fn attention_units(&self) -> usize {
        self.dims.d_inner
    }
    fn attention_block(&self, trace: &MixerTrace<T>, units: &[usize]) -> Result<Tensor<T>> {
        layer_attention(self, trace, Some(units))
    }
    fn operator_units(&self) -> usize {
        self.dims.d_inner
    }
    fn operator_block(&self, trace: &MixerTrace<T>, channels: &[usize]) -> Result<Tensor<T>> {
        crate::model::mixer_operator::layer_mixer_operators(self, trace, Some(channels))
    }
    fn operator_output_grad(&self, trace: &MixerTrace<T>, g_out: &[T]) -> Vec<T> {
        let (di, dm) = (self.dims.d_inner, self.dims.d_model);
        linear_backward(g_out, trace.len, &self.out_proj, dm, di)
    }
    fn operator_input(&self, trace: &MixerTrace<T>, e: usize, j: usize) -> T {
        trace.x[e * trace.len + j]
    }
    fn query_rows(&self, trace: &MixerTrace<T>, p: usize, authors: bool) -> Result<Vec<Vec<T>>> {
        layer_channels(self, trace, None)?
            .iter()
            .map(|ch| {
                if authors {
                    authors_cls_row(ch, p)
                } else {
                    query_row(ch, p)
                }
            })
            .collect()
    }
}

impl<T: Real> Explainable<T> for Mamba2Mixer<T> {
    fn attention_units(&self) -> usize {
        self.dims.n_heads
    }
    fn attention_block(&self, trace: &Mamba2Trace<T>, units: &[usize]) -> Result<Tensor<T>> {
        let all = head_attention(self, trace)?;
        let l = trace.len;
        let mut data = Vec::with_capacity(units.len() * l * l);
        for &h in units {
            if h >= self.dims.n_heads {
                return Err(Error::InvalidArgument {
                    name: "head".into(),
                    reason: format!("head {h} is not below num_heads = {}", self.dims.n_heads),
                });
            }
            data.extend_from_slice(&all.data()[h * l * l..(h + 1) * l * l]);
        }
        Tensor::new("attention", vec![units.len(), l, l], data)
    }
    fn operator_units(&self) -> usize {
        self.dims.d_inner()
    }
    fn operator_block(&self, trace: &Mamba2Trace<T>, channels: &[usize]) -> Result<Tensor<T>> {
        crate::model::mamba2::operator::layer_mixer_operators(self, trace, Some(channels))
    }
    fn operator_output_grad(&self, trace: &Mamba2Trace<T>, g_out: &[T]) -> Vec<T> {
        let (di, dm) = (self.dims.d_inner(), self.dims.d_model);
        linear_backward(g_out, trace.len, &self.out_proj, dm, di)
    }
    fn operator_input(&self, trace: &Mamba2Trace<T>, e: usize, j: usize) -> T {
        trace.xbc[j * self.dims.conv_dim() + e]
    }
    fn query_rows(&self, trace: &Mamba2Trace<T>, p: usize, authors: bool) -> Result<Vec<Vec<T>>> {
        if authors {
            return Err(Error::InvalidArgument {
                name: "method".into(),
                reason: "authors-row is the paper authors' vector of a Mamba-1 channel; a \
                         Mamba-2 head has no such vector (use alpha-row)"
                    .into(),
            });
        }
        let all = head_attention(self, trace)?;
        let l = trace.len;
        Ok((0..self.dims.n_heads)
            .map(|h| all.data()[(h * l + p) * l..(h * l + p + 1) * l].to_vec())
            .collect())
    }
}

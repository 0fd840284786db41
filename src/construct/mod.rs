//! Constructive mappings between one S6 channel and one attention head (T2, T3, T5, T7).
//!
//! | direction | function | theorem | class / condition |
//! | --- | --- | --- | --- |
//! | channel → gated linear head | [`channel_to_gated_head`] | T2a | always, exact |
//! | channel → linear head `$Q = C\odot P$`, `$K = \bar B\oslash P$` | [`channel_to_linear_head`] | T2b | no `$\bar A = 0$` |
//! | gated / linear head → channel, `$N = d$` | [`gated_head_to_channel`], [`linear_head_to_channel`] | T3 | always, exact |
//! | S6 layer → heads that are functions of the input | [`function::S6Layer::head`] | T2a (layer) | always |
//! | linear-attention layer → S6 layer | [`function::LinearAttentionLayer::channel`] / [`function::LinearAttentionLayer::to_mamba`] | T3 (layer) | exact with `$\bar A\equiv 1$`; Mamba's `$A<0$` within [`function::linear_limit_bound`] |
//! | lower-triangular matrix → channel | [`realise_full`], [`realise_minimal`], [`realise_diagonal`] | T5 | see [`realise`] |
//! | softmax separation (obstruction, rank certificate) | [`separation::softmax_obstruction`], [`separation::softmax_exceeds_state`] | T6 | exact certificates |
//! | paper's ReLU approximation | [`approximation::relu_approximation`] | T7 | error bound [`approximation::relu_bound`] |

pub mod approximation;
pub mod function;
pub mod heads;
pub mod realise;
pub mod separation;

pub use heads::{
    channel_output_values, channel_to_gated_head, channel_to_linear_head, gated_head_to_channel,
    head_output_by_channels, head_output_values, linear_head_to_channel, scalar_gated_head,
};
pub use realise::{
    generator_form, realise_diagonal, realise_full, realise_minimal, DiagonalCounterexample,
    DiagonalOutcome, TimeVaryingChannel,
};

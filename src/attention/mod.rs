//! Attention heads: causal (gated) linear attention.

pub mod gated_linear;

pub use gated_linear::GatedLinearHead;

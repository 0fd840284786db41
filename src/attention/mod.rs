//! Attention heads: causal (gated) linear attention and causal softmax attention.

pub mod gated_linear;
pub mod linear;
pub mod softmax;

pub use gated_linear::GatedLinearHead;
pub use linear::LinearHead;
pub use softmax::SoftmaxHead;

//! The SSD head of Mamba-2 (state-space duality): a selective SSM whose transition is a
//! **scalar** per head and step, `$h_t = a_t h_{t-1} + \bar B_t x_t$`, `$y_t = C_t\cdot h_t$`.
//!
//! | item | what | theorem |
//! | --- | --- | --- |
//! | [`SsdHead`], [`scan()`] | the head and its recurrence | definition |
//! | [`attention_matrix()`] | `$\tilde\alpha_{ts} = (C_t\cdot\bar B_s)\prod_{r=s+1}^{t}a_r$` | T8 |
//! | [`chunked()`] | Mamba-2's chunked algorithm | T13 |
//! | [`layer`] | the layer: heads, groups, `$D$`, `dt_bias`, softplus, clamp | T8 |

pub mod bound;
pub mod chunked;
pub mod head;
pub mod layer;
pub mod limit;
pub mod realise;

pub use chunked::chunked;
pub use head::{attention_matrix, decay_mask, gram, scan, SsdHead};
pub use layer::{ssd_layer, SsdDims, SsdLayer, SsdLayerInput, SsdLayerOutput};

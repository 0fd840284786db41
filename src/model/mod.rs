//! Real Mamba-1 checkpoints: loading, the forward pass, hidden attention per layer and
//! channel, the whole-mixer operator, explanations and their faithfulness on known-answer
//! sets, bidirectional layers and pictures.
//!
//! The S6 inside every block is the core's [`crate::ssm::selective_scan()`]; the hidden
//! attention of a channel is the core's [`crate::ssm::attention_matrix()`] of the channel
//! [`MixerWeights::channel`] builds. See `docs/model.md` for the whole picture.

pub mod attention;
pub mod bidirectional;
pub mod block;
pub mod config;
pub mod explain;
pub mod explainable;
pub mod faithfulness;
pub mod figure;
pub mod forward;
pub mod heatmap;
pub mod heatmap_grid;
pub mod kind;
pub mod known_answer;
pub mod linear;
pub mod mamba2;
pub mod mixer_operator;
pub mod npy;
pub mod perturbation;
pub mod plot;
pub mod random;
pub mod relevance;
#[cfg(feature = "text")]
pub mod tokenize;
pub mod weights;

pub use block::{MixerDims, MixerTrace, MixerWeights};
pub use config::{MambaConfig, Naming};
pub use forward::{BackboneConfig, LayerWeights, Logits, MambaModel, Mixer, ModelTrace};
pub use kind::ModelKind;
pub use weights::{write_safetensors, Checkpoint, StoreDtype};

//! Mamba-2 checkpoints (`Mamba2ForCausalLM`): configuration, the mixer (in_proj → conv →
//! SiLU → SSD heads → gated RMS norm → out_proj), the model on the shared skeleton, and the
//! hidden attention of every head.
//!
//! A Mamba-2 head is an SSD head (T8): its hidden attention is
//! `$\tilde\alpha^{(h)}_{ts} = (C_t\cdot B_s)\,e^{A_h\sum_{r=s+1}^{t}\Delta_r}\,\Delta_s$` for
//! `$s \le t$`, and the layer's SSD output is `$\tilde\alpha^{(h)} x + D_h x$` per head and head
//! coordinate. See `docs/model.md` and `docs/ssd.md`.

pub mod attention;
pub mod backward;
pub mod bench;
pub mod config;
pub mod mixer;
pub mod model;
pub mod operator;
pub mod random;

pub use attention::{head_attention, head_attention_into};
pub use config::Mamba2Config;
pub use mixer::{Mamba2Dims, Mamba2Mixer, Mamba2Trace};
pub use model::{from_checkpoint, load, Mamba2Model, Mamba2ModelTrace};
pub use random::mamba2_130m_config;

//! The gated-linear family as attention (T14): every member is one [`FamilyHead`] — a
//! time-varying linear state-space model with a `$d_k \times d_v$` matrix state — and has an
//! implicit attention matrix `$A$` with `$o = A v$`, in closed form.
//!
//! [`head`]: the head, its transitions, recurrence and implicit attention; [`members`]: GLA,
//! simple GLA, RetNet, HGRN, RWKV-6, DPLR (RWKV-7), DeltaNet, Gated DeltaNet and RG-LRU
//! built from their inputs; [`golden`]: the golden cases of flash-linear-attention and
//! `transformers` run through both the recurrence and `$A v$`.

pub mod golden;
pub mod head;
pub mod layer;
pub mod members;
pub mod realise;

pub use head::{FamilyHead, Readout, Transition};
pub use layer::{parse_layer, LayerHeads};
pub use members::{Member, MemberLayer};

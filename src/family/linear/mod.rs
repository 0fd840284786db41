//! The gated-linear family as attention (T14): every member is one [`FamilyHead`] — a
//! time-varying linear state-space model with a `$d_k \times d_v$` matrix state — and has an
//! implicit attention matrix `$A$` with `$o = A v$`, in closed form.
//!
//! [`head`]: the head, its transitions, recurrence and implicit attention; [`members`]: GLA,
//! simple GLA, RetNet, HGRN, RWKV-6, DPLR (RWKV-7), DeltaNet, Gated DeltaNet and RG-LRU
//! built from their inputs; [`golden`]: the golden cases of flash-linear-attention and
//! `transformers` run through both the recurrence and `$A v$`; [`bound`]: the forward error
//! bound of the float head (`$A$`, `$o$`, `$A v$`) in the standard model with underflow;
//! [`realise`]: the heads as channels (T16, T18 (a)); [`obstruction`]: the certificate that
//! a head is no Mamba channel of state `$d_k$` (T18 (b)); [`any_attention`]: every
//! lower-triangular matrix as a head with `$d_k = L$` (T19b).

pub mod any_attention;
pub mod bound;
pub mod golden;
pub mod head;
pub mod layer;
pub mod members;
pub mod obstruction;
pub mod realise;

pub use head::{FamilyHead, Readout, Transition};
pub use layer::{parse_layer, LayerHeads};
pub use members::{Member, MemberLayer};

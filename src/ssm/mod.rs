//! The selective SSM (S6): channels, discretisation, and the three views —
//! recurrent [`scan()`], hidden attention [`attention_matrix()`] (T1), factored
//! [`factored()`] (T2b) — plus the gated form [`gated_head`] (T2a) and the full
//! `selective_scan_ref` operation [`selective_scan()`].

pub mod channel;
pub mod discretize;
pub mod factored;
pub mod gated;
pub mod scan;
pub mod selective_scan;
pub mod unrolling;

pub use channel::Channel;
pub use discretize::{BRule, MambaChannel};
pub use factored::{factored, Factored};
pub use gated::{gated_head, gated_output};
pub use scan::{scan, ScanOutput};
pub use selective_scan::{
    selective_scan, ScanDims, SelectiveScanInput, SelectiveScanOutput, StateMatrix,
};
pub use unrolling::{attention_matrix, hidden_attention_row};

/// The old name of [`attention_matrix()`], kept for one release.
///
/// Only the function survives: it lives in the value namespace, so importing it
/// (`use hidden_attention::ssm::hidden_attention;`, or `use hidden_attention::ssm::*;`)
/// leaves later `hidden_attention::…` paths naming the crate. The old *module* of the same
/// name shadowed them and is gone; its contents are in [`unrolling`].
///
/// # Errors
/// As [`attention_matrix()`].
#[deprecated(since = "0.1.0", note = "use `ssm::attention_matrix`")]
pub fn hidden_attention<T: crate::scalar::Field>(
    ch: &Channel<T>,
) -> crate::error::Result<crate::tensor::Matrix<T>> {
    attention_matrix(ch)
}

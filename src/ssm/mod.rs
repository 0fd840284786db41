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

/// The old name of [`unrolling`], kept for one release.
///
/// A public item named like the crate breaks later paths: after
/// `use hidden_attention::ssm::hidden_attention;`, `hidden_attention::…` names this module
/// (or function), not the crate. Use [`unrolling`] and [`attention_matrix()`].
#[deprecated(
    since = "0.1.0",
    note = "named like the crate, it shadows `hidden_attention::…` paths; use `ssm::unrolling`"
)]
pub mod hidden_attention {
    use crate::error::Result;
    use crate::scalar::Field;
    use crate::ssm::Channel;
    use crate::tensor::Matrix;

    pub use super::unrolling::hidden_attention_row;

    /// The old name of [`crate::ssm::attention_matrix()`], kept for one release.
    ///
    /// # Errors
    /// As [`crate::ssm::attention_matrix()`].
    #[deprecated(
        since = "0.1.0",
        note = "named like the crate, it shadows `hidden_attention::…` paths; use `ssm::attention_matrix`"
    )]
    pub fn hidden_attention<T: Field>(ch: &Channel<T>) -> Result<Matrix<T>> {
        super::attention_matrix(ch)
    }
}

/// The old name of [`attention_matrix()`], kept for one release (see the deprecated module
/// of the same name).
///
/// # Errors
/// As [`attention_matrix()`].
#[deprecated(
    since = "0.1.0",
    note = "named like the crate, it shadows `hidden_attention::…` paths; use `ssm::attention_matrix`"
)]
pub fn hidden_attention<T: crate::scalar::Field>(
    ch: &Channel<T>,
) -> crate::error::Result<crate::tensor::Matrix<T>> {
    attention_matrix(ch)
}

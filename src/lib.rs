//! # hidden-attention
//!
//! An exact, float and machine-checked reference of Mamba's selective SSM (S6) and of
//! its *hidden attention* (Ali, Zimerman, Wolf, *The Hidden Attention of Mamba Models*,
//! ACL 2025).
//!
//! One S6 channel on a sequence of length `$L$` with state size `$N$`:
//!
//! ```math
//! h_t = \bar A_t \odot h_{t-1} + \bar B_t x_t,\qquad h_0 = 0,\qquad y_t = \langle C_t, h_t\rangle .
//! ```
//!
//! ## The three views
//! | view | function | cost | theorem |
//! | --- | --- | --- | --- |
//! | recurrent scan | [`ssm::scan()`] | `$O(LN)$` | definition |
//! | hidden attention `$y = \tilde\alpha x$` | [`ssm::attention_matrix()`] | `$O(L^2N)$` | T1 |
//! | gated linear attention | [`ssm::gated_head`] | `$O(L^2N)$` | T2a |
//! | factored `$\tilde\alpha = \mathrm{tril}(QK^\top)$` | [`ssm::factored()`] | `$O(LN)$` | T2b |
//!
//! All are generic over [`scalar::Field`]: `f32`, `f64` and exact rationals
//! ([`scalar::Exact`]). Over the rationals they agree *exactly*; in floats within the
//! bounds stated on each function and checked in the test suite against the exact path
//! ([`scalar::lift`] converts any float exactly).
//!
//! ## Theorem index
//! - **T1** hidden attention (unrolling) — [`ssm::attention_matrix()`], checker [`theorems::t1`].
//! - **T2** a channel is a causal linear attention head — (a) gated [`ssm::gated_head`],
//!   (b) ungated factored [`ssm::factored()`]; checker [`theorems::t2`].
//! - **T3** a gated linear attention head is a channel —
//!   [`construct::gated_head_to_channel`], [`construct::linear_head_to_channel`], function
//!   level in [`construct::function`]; checker [`theorems::t3`].
//! - **T4** α̃ of a state-`$N$` channel is `$N$`-semiseparable —
//!   [`semiseparable::semiseparable_rank_exact`]; checker [`theorems::t4`].
//! - **T5** every lower-triangular matrix is realised by some channel —
//!   [`construct::realise_full`], [`construct::realise_minimal`],
//!   [`construct::realise_diagonal`]; checker [`theorems::t5`].
//! - **T6** softmax heads are separated from channels, with certificates —
//!   [`construct::separation`]; checker [`theorems::t6`].
//! - **T7** the paper's ReLU approximation and its error —
//!   [`construct::approximation`]; checker [`theorems::t7`].
//! - **T8** SSD (Mamba-2) head unrolling, `$\tilde\alpha_{ts} = (C_t\cdot\bar B_s)\prod_{r=s+1}^{t}a_r$`
//!   — [`family::ssd::attention_matrix()`], layer [`family::ssd::ssd_layer`]; checker [`theorems::t8`].
//! - **T9** SSD `$\tilde\alpha = (C\bar B^\top)\circ M$` is `$N$`-semiseparable — [`family::ssd::gram`],
//!   [`family::ssd::decay_mask`]; checker [`theorems::t9`].
//! - **T10** SSD head ⇔ scalar-gated linear attention head — [`family::ssd::realise`];
//!   checker [`theorems::t10`].
//! - **T11** SSD `$\Delta \to 0$` limit under `$A_h < 0$` — [`family::ssd::limit`]; checker [`theorems::t11`].
//! - **T12** SSD heads and Mamba-1 channels, with certificates — [`family::ssd::realise`];
//!   checker [`theorems::t12`], conjecture [`refute::ssd_head_of_channel`].
//! - **T13** Mamba-2's chunked algorithm = scan — [`family::ssd::chunked()`]; checker [`theorems::t13`].
//!
//! Counterexample search and replayable reports: [`refute`], [`report`]. Real checkpoints:
//! [`model`]; fast CPU kernels: [`fast`].
//!
//! The machine-checked proofs (Coq + MathComp) live in `proofs/`; `docs/theorems.md`
//! lists each theorem beside its Coq lemma, Rust function and property test.
#![deny(missing_docs)]
// Numerical kernels index several arrays with one loop variable (`a[i][k]`, `b[k]`),
// which reads like the formulas; counterexamples are the cold path of every check, so
// carrying them by value in `Err` is deliberate.
#![allow(clippy::needless_range_loop, clippy::result_large_err)]

pub mod attention;
pub mod baseline;
pub mod bench;
pub mod construct;
pub mod dyadic;
pub mod error;
pub mod family;
pub mod fast;
pub mod golden;
#[cfg(feature = "cuda")]
pub mod gpu;
pub mod gpu_instances;
pub mod interchange;
#[cfg(feature = "nalgebra")]
pub mod interop;
pub mod interval;
pub mod model;
pub mod refute;
pub mod report;
pub mod scalar;
pub mod semiseparable;
pub mod shard;
pub mod ssm;
pub mod strategies;
pub mod tensor;
pub mod theorems;

pub use error::{Error, Result};

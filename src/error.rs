//! The crate's one error type: every failure says what was wrong and where.

use std::path::PathBuf;

/// Which side of the representable range a float left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeLoss {
    /// The value fell below the smallest normal number (subnormal or flushed to zero).
    Underflow,
    /// The value became infinite.
    Overflow,
}

impl std::fmt::Display for RangeLoss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RangeLoss::Underflow => f.write_str("underflow"),
            RangeLoss::Overflow => f.write_str("overflow"),
        }
    }
}

/// Errors of the toolkit. Each variant names the tensor, dimension, index or value at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A tensor has the wrong number of dimensions.
    #[error("tensor `{tensor}`: expected {expected} dimensions {layout}, found {found}")]
    Rank {
        /// Name of the tensor (e.g. `"B"`).
        tensor: String,
        /// The layout that was expected, e.g. `(batch, dim, L)`.
        layout: String,
        /// Expected number of dimensions.
        expected: usize,
        /// Number of dimensions found.
        found: usize,
    },
    /// A tensor dimension has the wrong size.
    #[error("tensor `{tensor}`: dimension {dim} ({name}) should be {expected}, found {found}")]
    Shape {
        /// Name of the tensor.
        tensor: String,
        /// Index of the offending dimension (0-based).
        dim: usize,
        /// Meaning of the dimension (`batch`, `dim`, `L`, `N`, ...).
        name: String,
        /// The size that was expected.
        expected: usize,
        /// The size found.
        found: usize,
    },
    /// The data length of a tensor does not match the product of its shape.
    #[error("tensor `{tensor}`: shape {shape:?} needs {expected} values, found {found}")]
    DataLength {
        /// Name of the tensor.
        tensor: String,
        /// Declared shape.
        shape: Vec<usize>,
        /// Product of the shape.
        expected: usize,
        /// Number of values present.
        found: usize,
    },
    /// A NaN or infinite value in an input.
    #[error("tensor `{tensor}`: non-finite value {value} at index {index:?}")]
    NonFinite {
        /// Name of the tensor.
        tensor: String,
        /// Multi-index of the value.
        index: Vec<usize>,
        /// The offending value.
        value: f64,
    },
    /// Grouped `B`/`C` whose number of groups does not divide `dim`.
    #[error("tensor `{tensor}`: {groups} groups do not divide dim = {dim}")]
    GroupMismatch {
        /// Name of the tensor.
        tensor: String,
        /// Number of groups `G`.
        groups: usize,
        /// Number of channels `dim`.
        dim: usize,
    },
    /// Complex `A` (and complex `B`, `C`) are not supported yet.
    #[error("tensor `{tensor}`: complex-valued A is not supported (only real A)")]
    ComplexUnsupported {
        /// Name of the tensor.
        tensor: String,
    },
    /// A step size Δ that is not strictly positive: Mamba's parametrisation has
    /// `$\Delta = \mathrm{softplus}(\cdot) > 0$`, and discretisation refuses `$\Delta \le 0$`
    /// (also a softplus that underflowed to 0).
    #[error("Δ = {value} at step {step}{}: Mamba's step size must be > 0", channel_suffix(*.channel))]
    NonPositiveDelta {
        /// Channel index, where the caller knows it (a layer's channel `d`); `None` for a
        /// lone [`crate::ssm::MambaChannel`].
        channel: Option<usize>,
        /// Step (sequence position, 0-based).
        step: usize,
        /// The value of Δ.
        value: f64,
    },
    /// A transition entry Ā is zero where the construction divides by it (T2b: the
    /// running product `$P_i = \prod_{k=1}^{i}\bar A_k$`, so only steps `$\ge 1$`).
    #[error("Ā[{step}][{state}] = 0: the factored form (T2b) divides by the running product of Ā over steps 1..={step}")]
    ZeroTransition {
        /// Step index (0-based, at least 1).
        step: usize,
        /// State index (0-based).
        state: usize,
    },
    /// A transition matrix `$M_t$` of a family head is singular at a step where a
    /// construction inverts it (T18: the running product `$P_t = M_t\cdots M_1$`).
    #[error("transition M_{step} is singular: the identity-transition channel (T18) inverts the running product M_{step}⋯M_1")]
    SingularTransition {
        /// Step index (0-based, at least 1).
        step: usize,
    },
    /// A float running product or factor left the normal range (T2b in floats).
    #[error("{quantity} {loss} at step {step}, state {state} (value {value:e}): the float factored form cannot be trusted from here on")]
    FactorRange {
        /// Which quantity (`P` = prefix product of Ā, `K`, `Q` or the output).
        quantity: &'static str,
        /// Underflow or overflow.
        loss: RangeLoss,
        /// First step (0-based) where it happened.
        step: usize,
        /// State index.
        state: usize,
        /// The value reached.
        value: f64,
    },
    /// A computed float result is not finite (overflow or NaN in the computation).
    #[error("{what}: computed value {value} at index {index:?} is not finite")]
    NonFiniteResult {
        /// What was being computed.
        what: String,
        /// Where.
        index: Vec<usize>,
        /// The value.
        value: f64,
    },
    /// An argument outside its allowed range.
    #[error("invalid argument `{name}`: {reason}")]
    InvalidArgument {
        /// Argument name.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A golden case file that cannot be read or is invalid.
    #[error("{}: field `{field}`: {reason}", file.display())]
    CaseFile {
        /// The file.
        file: PathBuf,
        /// The offending field (JSON path, e.g. `inputs.B.shape`).
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// An I/O failure, with the path involved.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A checkpoint lacks a tensor the model needs.
    #[error("{}: missing tensor `{tensor}`", file.display())]
    MissingTensor {
        /// The checkpoint file (or directory) searched.
        file: PathBuf,
        /// The tensor name, e.g. `backbone.layers.3.mixer.A_log`.
        tensor: String,
    },
    /// A checkpoint tensor whose shape disagrees with the configuration.
    #[error(
        "tensor `{tensor}`: shape {found:?}, but the configuration implies {expected:?} ({hint})"
    )]
    WeightShape {
        /// The tensor name.
        tensor: String,
        /// The shape the configuration implies.
        expected: Vec<usize>,
        /// The shape stored in the checkpoint.
        found: Vec<usize>,
        /// Which configuration keys fix the expected shape.
        hint: String,
    },
    /// A checkpoint tensor stored in a dtype the loader does not read.
    #[error("tensor `{tensor}`: dtype {dtype} is not supported (F32, F16, BF16 and F64 are)")]
    Dtype {
        /// The tensor name.
        tensor: String,
        /// The stored dtype, as safetensors names it.
        dtype: String,
    },
    /// A safetensors file that is truncated or whose header is corrupt.
    #[error("{}: invalid safetensors file: {reason}", file.display())]
    Safetensors {
        /// The file.
        file: PathBuf,
        /// What is wrong (header length, JSON, offsets, …).
        reason: String,
    },
    /// A model configuration (`config.json`) key that is missing or invalid.
    #[error("{}: config key `{key}`: {reason}", file.display())]
    Config {
        /// The configuration file.
        file: PathBuf,
        /// The offending key.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// A token id outside the vocabulary.
    #[error("token {id} at position {position} is not below the vocabulary size {vocab}")]
    TokenId {
        /// Position in the token list (0-based).
        position: usize,
        /// The token id.
        id: usize,
        /// The vocabulary size.
        vocab: usize,
    },
    /// An empty token list (a model needs at least one token).
    #[error("empty token list: at least one token is needed")]
    EmptyTokens,
    /// A matrix that should be lower-triangular has a nonzero entry above the diagonal.
    #[error("matrix entry ({row}, {col}) = {value} is above the diagonal: a causal attention matrix is lower-triangular")]
    NotLowerTriangular {
        /// Row (0-based).
        row: usize,
        /// Column (0-based), `col > row`.
        col: usize,
        /// The entry, as written (`"p/q"` or a float).
        value: String,
    },
    /// An interchange (JSON) document that is invalid, naming the field at fault.
    #[error("interchange field `{field}`: {reason}")]
    Interchange {
        /// JSON path of the field, e.g. `a_bar[2]` or `kind`.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// A construction that needs a condition the input does not meet.
    #[error("{construction}: {reason}")]
    Construction {
        /// The construction (e.g. `"T5 diagonal realisation"`).
        construction: &'static str,
        /// Why it does not apply.
        reason: String,
    },
    /// Per-shard reports that do not combine into the report of one run (`hattn merge`).
    #[error("cannot merge the shard reports: {0}")]
    Merge(crate::shard::MergeProblem),
}

fn channel_suffix(channel: Option<usize>) -> String {
    channel.map_or_else(String::new, |d| format!(" of channel {d}"))
}

impl Error {
    /// The same error with the channel index filled in where the error names a channel
    /// but was raised without knowing it ([`Error::NonPositiveDelta`] from
    /// [`crate::ssm::MambaChannel::discretize`]); every other error is returned unchanged.
    ///
    /// # Examples
    /// ```
    /// use hidden_attention::{ssm::{BRule, MambaChannel}, Error};
    /// let m = MambaChannel { delta: vec![0.5f64, 0.0], a: vec![-1.0], b: vec![1.0; 2], c: vec![1.0; 2] };
    /// let e = m.discretize(BRule::Euler).unwrap_err().in_channel(3);
    /// assert!(matches!(e, Error::NonPositiveDelta { channel: Some(3), step: 1, .. }));
    /// assert_eq!(e.to_string(), "Δ = 0 at step 1 of channel 3: Mamba's step size must be > 0");
    /// ```
    pub fn in_channel(self, channel: usize) -> Self {
        match self {
            Error::NonPositiveDelta {
                channel: None,
                step,
                value,
            } => Error::NonPositiveDelta {
                channel: Some(channel),
                step,
                value,
            },
            e => e,
        }
    }
}

/// Result alias of the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

//! The full selective-scan operation with the semantics of `mamba_ssm`'s
//! `selective_scan_ref`: batch, dim, state, constant / variable / grouped `B` and `C`,
//! `delta_bias`, `delta_softplus`, the `D` skip, the `z` gate and `last_state`.
//!
//! <div class="warning">Complex A (and complex B, C) is not supported yet: it is
//! rejected with [`Error::ComplexUnsupported`].</div>

use crate::error::{Error, Result};
use crate::scalar::Real;
use crate::ssm::channel::Channel;
use crate::ssm::discretize::{BRule, MambaChannel};
use crate::ssm::scan::scan;
use crate::tensor::{expect_finite_result, Tensor};

/// The state matrix `$A$` of shape `(dim, N)`.
#[derive(Debug, Clone, PartialEq)]
pub enum StateMatrix<T> {
    /// Real `$A$` (Mamba: `$A = -e^{A_{\log}} < 0$`).
    Real(Tensor<T>),
    /// Complex `$A = $` `re + i·im` — not supported yet.
    Complex {
        /// Real part.
        re: Tensor<T>,
        /// Imaginary part.
        im: Tensor<T>,
    },
}

/// Inputs of [`selective_scan`], shapes as in `mamba_ssm`.
///
/// - `u`, `delta`, `z`: `(batch, dim, L)`; `A`: `(dim, N)`; `D`, `delta_bias`: `(dim,)`.
/// - `B`, `C`: constant `(dim, N)`, variable `(batch, N, L)`, or grouped `(batch, G, N, L)`
///   where group `g` serves channels `g·dim/G .. (g+1)·dim/G`. The kind is read off
///   the number of dimensions, as `mamba_ssm` does.
#[derive(Debug, Clone, PartialEq)]
pub struct SelectiveScanInput<T> {
    /// Input `u`, `(batch, dim, L)`.
    pub u: Tensor<T>,
    /// Step sizes before bias and softplus, `(batch, dim, L)`.
    pub delta: Tensor<T>,
    /// State matrix, `(dim, N)`.
    pub a: StateMatrix<T>,
    /// `B`: `(dim, N)`, `(batch, N, L)` or `(batch, G, N, L)`.
    pub b: Tensor<T>,
    /// `C`: `(dim, N)`, `(batch, N, L)` or `(batch, G, N, L)`.
    pub c: Tensor<T>,
    /// Skip `D`, `(dim,)`.
    pub d: Option<Tensor<T>>,
    /// Gate `z`, `(batch, dim, L)`: the output is multiplied by `silu(z)`.
    pub z: Option<Tensor<T>>,
    /// Bias added to `delta`, `(dim,)`.
    pub delta_bias: Option<Tensor<T>>,
    /// Apply PyTorch's softplus to `delta + delta_bias`.
    pub delta_softplus: bool,
}

/// Output of [`selective_scan`].
#[derive(Debug, Clone, PartialEq)]
pub struct SelectiveScanOutput<T> {
    /// `out`, `(batch, dim, L)`.
    pub out: Tensor<T>,
    /// `last_state`, `(batch, dim, N)`.
    pub last_state: Tensor<T>,
}

/// Sizes of a validated selective-scan problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanDims {
    /// Batch size.
    pub batch: usize,
    /// Number of channels.
    pub dim: usize,
    /// Sequence length `$L$`.
    pub len: usize,
    /// State size `$N$`.
    pub state: usize,
}

/// How `B` or `C` varies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BcKind {
    Constant,
    Variable,
    Grouped(usize),
}

impl<T: Real> SelectiveScanInput<T> {
    /// Check every shape and value, naming the first tensor and dimension at fault.
    ///
    /// # Errors
    /// [`Error::ComplexUnsupported`], [`Error::Rank`], [`Error::Shape`],
    /// [`Error::GroupMismatch`], [`Error::NonFinite`].
    pub fn validate(&self) -> Result<ScanDims> {
        let a = self.real_a()?;
        let s = self.u.shape();
        if s.len() != 3 {
            return Err(Error::Rank {
                tensor: "u".into(),
                layout: "(batch, dim, L)".into(),
                expected: 3,
                found: s.len(),
            });
        }
        let (batch, dim, len) = (s[0], s[1], s[2]);
        let a_shape = a.shape();
        if a_shape.len() != 2 {
            return Err(Error::Rank {
                tensor: "A".into(),
                layout: "(dim, N)".into(),
                expected: 2,
                found: a_shape.len(),
            });
        }
        let state = a_shape[1];
        a.expect_shape("A", &[("dim", dim), ("N", state)])?;
        let bld = [("batch", batch), ("dim", dim), ("L", len)];
        self.delta.expect_shape("delta", &bld)?;
        if let Some(z) = &self.z {
            z.expect_shape("z", &bld)?;
        }
        for (name, t) in [("D", &self.d), ("delta_bias", &self.delta_bias)] {
            if let Some(t) = t {
                t.expect_shape(name, &[("dim", dim)])?;
            }
        }
        let dims = ScanDims {
            batch,
            dim,
            len,
            state,
        };
        self.bc_kind("B", &self.b, dims)?;
        self.bc_kind("C", &self.c, dims)?;
        let optional = [
            ("D", &self.d),
            ("z", &self.z),
            ("delta_bias", &self.delta_bias),
        ];
        for (name, t) in [
            ("u", Some(&self.u)),
            ("delta", Some(&self.delta)),
            ("A", Some(a)),
        ]
        .into_iter()
        .chain([("B", Some(&self.b)), ("C", Some(&self.c))])
        .chain(optional.iter().map(|(n, t)| (*n, t.as_ref())))
        {
            if let Some(t) = t {
                t.expect_finite(name)?;
            }
        }
        Ok(dims)
    }

    fn real_a(&self) -> Result<&Tensor<T>> {
        match &self.a {
            StateMatrix::Real(a) => Ok(a),
            StateMatrix::Complex { .. } => Err(Error::ComplexUnsupported { tensor: "A".into() }),
        }
    }

    fn bc_kind(&self, name: &str, t: &Tensor<T>, d: ScanDims) -> Result<BcKind> {
        match t.shape().len() {
            2 => {
                t.expect_shape(name, &[("dim", d.dim), ("N", d.state)])?;
                Ok(BcKind::Constant)
            }
            3 => {
                t.expect_shape(name, &[("batch", d.batch), ("N", d.state), ("L", d.len)])?;
                Ok(BcKind::Variable)
            }
            4 => {
                let g = t.shape()[1];
                t.expect_shape(
                    name,
                    &[("batch", d.batch), ("G", g), ("N", d.state), ("L", d.len)],
                )?;
                if g == 0 || d.dim % g != 0 {
                    return Err(Error::GroupMismatch {
                        tensor: name.into(),
                        groups: g,
                        dim: d.dim,
                    });
                }
                Ok(BcKind::Grouped(g))
            }
            r => Err(Error::Rank {
                tensor: name.into(),
                layout: "(dim, N), (batch, N, L) or (batch, G, N, L)".into(),
                expected: if r < 2 { 2 } else { 4 },
                found: r,
            }),
        }
    }

    /// `B` or `C` of channel `(b, d)` at every step, row-major `L × N`.
    fn bc_rows(
        &self,
        name: &str,
        t: &Tensor<T>,
        dims: ScanDims,
        b: usize,
        d: usize,
    ) -> Result<Vec<T>> {
        let (l, n) = (dims.len, dims.state);
        let kind = self.bc_kind(name, t, dims)?;
        let mut out = Vec::with_capacity(l * n);
        for step in 0..l {
            for s in 0..n {
                out.push(*match kind {
                    BcKind::Constant => t.at(&[d, s]),
                    BcKind::Variable => t.at(&[b, s, step]),
                    BcKind::Grouped(g) => t.at(&[b, d / (dims.dim / g), s, step]),
                });
            }
        }
        Ok(out)
    }

    /// Mamba's parameters of channel `(b, d)`: `$\Delta$` after `delta_bias` and softplus,
    /// `$A_d$`, and that channel's `$B_t$`, `$C_t$`.
    ///
    /// # Errors
    /// As [`Self::validate`], plus [`Error::InvalidArgument`] for `b`/`d` out of range.
    pub fn mamba_channel(&self, dims: ScanDims, b: usize, d: usize) -> Result<MambaChannel<T>> {
        if b >= dims.batch || d >= dims.dim {
            return Err(Error::InvalidArgument {
                name: "(batch, dim)".into(),
                reason: format!("({b}, {d}) outside ({}, {})", dims.batch, dims.dim),
            });
        }
        let bias = self.delta_bias.as_ref().map_or(T::zero(), |t| t.data()[d]);
        let delta = (0..dims.len)
            .map(|t| {
                let v = *self.delta.at(&[b, d, t]) + bias;
                if self.delta_softplus {
                    v.softplus()
                } else {
                    v
                }
            })
            .collect();
        let a = self.real_a()?;
        Ok(MambaChannel {
            delta,
            a: (0..dims.state).map(|s| *a.at(&[d, s])).collect(),
            b: self.bc_rows("B", &self.b, dims, b, d)?,
            c: self.bc_rows("C", &self.c, dims, b, d)?,
        })
    }

    /// The discretised channel `(b, d)` (`$\bar A = e^{\Delta A}$`, `$\bar B = \Delta B$`).
    ///
    /// # Errors
    /// As [`Self::mamba_channel`] and [`MambaChannel::discretize`].
    pub fn channel(&self, dims: ScanDims, b: usize, d: usize) -> Result<Channel<T>> {
        self.mamba_channel(dims, b, d)?
            .discretize(BRule::Euler)
            .map_err(|e| e.in_channel(d))
    }
}

/// `selective_scan_ref`: for every batch element `b` and channel `d`, discretise
/// (Euler `$\bar B$`, ZOH `$\bar A$`) and [`scan`] the channel on `u[b, d, :]`, then
/// `out = y + D·u` and `out *= silu(z)`.
///
/// # Errors
/// Shape, rank, group, finiteness and complex-A errors from
/// [`SelectiveScanInput::validate`]; [`Error::NonFiniteResult`] on overflow.
///
/// # Complexity
/// `$O(B\,D\,L\,N)$`.
pub fn selective_scan<T: Real>(input: &SelectiveScanInput<T>) -> Result<SelectiveScanOutput<T>> {
    let dims = input.validate()?;
    let ScanDims {
        batch,
        dim,
        len,
        state,
    } = dims;
    let mut out = Tensor::filled(vec![batch, dim, len], T::zero());
    let mut last = Tensor::filled(vec![batch, dim, state], T::zero());
    for b in 0..batch {
        for d in 0..dim {
            let ch = input.channel(dims, b, d)?;
            let base = (b * dim + d) * len;
            let u = &input.u.data()[base..base + len];
            let r = scan(&ch, u)?;
            let skip = input.d.as_ref().map(|t| t.data()[d]);
            for t in 0..len {
                let mut v = r.y[t];
                if let Some(dd) = skip {
                    v = v + u[t] * dd;
                }
                if let Some(z) = &input.z {
                    v = v * z.data()[base + t].silu();
                }
                out.data_mut()[base + t] = v;
            }
            let sb = (b * dim + d) * state;
            last.data_mut()[sb..sb + state].copy_from_slice(&r.last_state);
        }
    }
    expect_finite_result("selective_scan out", out.data(), &[batch, dim, len])?;
    Ok(SelectiveScanOutput {
        out,
        last_state: last,
    })
}

//! The SSD (Mamba-2) layer: heads × head dim, grouped `$B$`/`$C$`, `$D$`, `dt_bias`, softplus and
//! the `time_step_limit` clamp, in floats ([`SsdLayerInput`]) and, after discretisation,
//! over any field ([`SsdLayer`], exact for [`crate::scalar::Exact`]).

use crate::error::{Error, Result};
use crate::scalar::{Exact, Field, Real};
use crate::tensor::{expect_finite_result, Tensor};

use super::chunked::{check_chunk, chunked};
use super::head::{attention_matrix, SsdHead};

/// Inputs of an SSD layer in Mamba-2's layout (`mamba_chunk_scan_combined`):
///
/// - `x`: `(batch, L, H, P)` — `$H$` heads of dimension `$P$`;
/// - `dt`: `(batch, L, H)` — raw step sizes; `dt_bias`: `(H,)`;
/// - `a`: `(H,)` — `$A_h$` (Mamba-2: `$A_h = -e^{A_{\log,h}}$`);
/// - `b`, `c`: `(batch, L, G, N)` — head `$h$` reads group `$h / (H/G)$`;
/// - `d`: `(H,)` per head or `(H·P,)` per channel (index `$hP + p$`).
///
/// Step sizes: `$\Delta_{t,h} = \mathrm{clamp}(\mathrm{softplus}(dt_{t,h} + \mathrm{bias}_h),
/// \mathrm{lo}, \mathrm{hi})$` (softplus only if `dt_softplus`; PyTorch's, the identity above
/// 20); head `$h$` is the [`SsdHead`] with `$a_t = e^{\Delta_t A_h}$`,
/// `$\bar B_t = \Delta_t B_{t,g}$`, `$C_t = C_{t,g}$`, and
/// `$y_{t,h,p} = \sum_{s\le t}\tilde\alpha^{(h)}_{ts}x_{s,h,p} + D\,x_{t,h,p}$` (T8).
#[derive(Debug, Clone, PartialEq)]
pub struct SsdLayerInput<T> {
    /// Values, `(batch, L, H, P)`.
    pub x: Tensor<T>,
    /// Raw step sizes, `(batch, L, H)`.
    pub dt: Tensor<T>,
    /// `$A_h$` per head, `(H,)`.
    pub a: Tensor<T>,
    /// `$B$`, `(batch, L, G, N)`.
    pub b: Tensor<T>,
    /// `$C$`, `(batch, L, G, N)`.
    pub c: Tensor<T>,
    /// Skip `$D$`: `(H,)` or `(H·P,)`.
    pub d: Option<Tensor<T>>,
    /// Bias added to `dt`, `(H,)`.
    pub dt_bias: Option<Tensor<T>>,
    /// Apply PyTorch's softplus to `dt + dt_bias`.
    pub dt_softplus: bool,
    /// `time_step_limit` `$(\mathrm{lo}, \mathrm{hi})$`: `$\Delta$` is clamped to it; `hi` may be
    /// `$+\infty$` (Mamba-2's default is `$(0, \infty)$`).
    pub dt_limit: (T, T),
    /// Chunk size `$Q \ge 1$` of the chunked algorithm (T13).
    pub chunk: usize,
}

/// Sizes of a validated SSD layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SsdDims {
    /// Batch size.
    pub batch: usize,
    /// Sequence length `$L$`.
    pub len: usize,
    /// Number of heads `$H$`.
    pub heads: usize,
    /// Head dimension `$P$`.
    pub head_dim: usize,
    /// Number of `$B$`/`$C$` groups `$G$` (`$G \mid H$`).
    pub groups: usize,
    /// State size `$N$`.
    pub state: usize,
}

/// Output of an SSD layer.
#[derive(Debug, Clone, PartialEq)]
pub struct SsdLayerOutput<T> {
    /// `$y$`, `(batch, L, H, P)`.
    pub y: Tensor<T>,
    /// Final states `$h_{L-1}$`, `(batch, H, P, N)` (Mamba-2's `final_states`).
    pub final_state: Tensor<T>,
    /// Per-head hidden attention `$\tilde\alpha^{(h)}$`, `(batch, H, L, L)`, without the
    /// `$D$` skip.
    pub attention: Tensor<T>,
}

impl<T: Real> SsdLayerInput<T> {
    /// Check every shape and value, naming the first tensor and dimension at fault.
    ///
    /// # Errors
    /// [`Error::Rank`], [`Error::Shape`], [`Error::GroupMismatch`] (`$G \nmid H$` or
    /// `$G = 0$`), [`Error::NonFinite`], [`Error::InvalidArgument`] for chunk size 0 or a
    /// `dt_limit` with NaN or lo > hi.
    pub fn validate(&self) -> Result<SsdDims> {
        check_chunk(self.chunk)?;
        let s = self.x.shape();
        if s.len() != 4 {
            return Err(Error::Rank {
                tensor: "x".into(),
                layout: "(batch, L, H, P)".into(),
                expected: 4,
                found: s.len(),
            });
        }
        let (batch, len, heads, head_dim) = (s[0], s[1], s[2], s[3]);
        let bs = self.b.shape();
        if bs.len() != 4 {
            return Err(Error::Rank {
                tensor: "B".into(),
                layout: "(batch, L, G, N)".into(),
                expected: 4,
                found: bs.len(),
            });
        }
        let (groups, state) = (bs[2], bs[3]);
        let dims = SsdDims {
            batch,
            len,
            heads,
            head_dim,
            groups,
            state,
        };
        let bc = [("batch", batch), ("L", len), ("G", groups), ("N", state)];
        self.b.expect_shape("B", &bc)?;
        self.c.expect_shape("C", &bc)?;
        if groups == 0 || heads % groups != 0 {
            return Err(Error::GroupMismatch {
                tensor: "B".into(),
                groups,
                dim: heads,
            });
        }
        if state == 0 {
            return Err(Error::InvalidArgument {
                name: "N".into(),
                reason: "state size N must be at least 1".into(),
            });
        }
        self.dt
            .expect_shape("dt", &[("batch", batch), ("L", len), ("H", heads)])?;
        self.a.expect_shape("A", &[("H", heads)])?;
        if let Some(t) = &self.dt_bias {
            t.expect_shape("dt_bias", &[("H", heads)])?;
        }
        if let Some(d) = &self.d {
            if d.shape() != [heads] {
                d.expect_shape("D", &[("H·P", heads * head_dim)])?;
            }
        }
        let (lo, hi) = self.dt_limit;
        if lo.is_nan() || hi.is_nan() || lo > hi || lo == T::infinity() {
            return Err(Error::InvalidArgument {
                name: "dt_limit".into(),
                reason: format!(
                    "time_step_limit ({}, {}) must satisfy lo ≤ hi, lo < ∞, no NaN",
                    Field::to_f64(&lo),
                    Field::to_f64(&hi)
                ),
            });
        }
        let optional = [("D", &self.d), ("dt_bias", &self.dt_bias)];
        for (name, t) in [
            ("x", Some(&self.x)),
            ("dt", Some(&self.dt)),
            ("A", Some(&self.a)),
            ("B", Some(&self.b)),
            ("C", Some(&self.c)),
        ]
        .into_iter()
        .chain(optional.iter().map(|(n, t)| (*n, t.as_ref())))
        {
            if let Some(t) = t {
                t.expect_finite(name)?;
            }
        }
        Ok(dims)
    }

    /// The step sizes `$\Delta_{t}$` of head `h` in batch element `b`: bias, softplus (if
    /// enabled), then the clamp to `dt_limit`.
    ///
    /// # Errors
    /// As [`Self::validate`]; [`Error::InvalidArgument`] for `(b, h)` out of range;
    /// [`Error::NonPositiveDelta`] (its `channel` is the head `h`) for a step size
    /// `$\Delta \le 0$`.
    pub fn delta(&self, dims: SsdDims, b: usize, h: usize) -> Result<Vec<T>> {
        if b >= dims.batch || h >= dims.heads {
            return Err(Error::InvalidArgument {
                name: "(batch, head)".into(),
                reason: format!("({b}, {h}) outside ({}, {})", dims.batch, dims.heads),
            });
        }
        let bias = self.dt_bias.as_ref().map_or(T::zero(), |t| t.data()[h]);
        let (lo, hi) = self.dt_limit;
        (0..dims.len)
            .map(|t| {
                let mut v = *self.dt.at(&[b, t, h]) + bias;
                if self.dt_softplus {
                    v = v.softplus();
                }
                // torch.clamp(v, lo, hi) = min(max(v, lo), hi)
                v = v.max(lo).min(hi);
                if v <= T::zero() || !v.is_finite() {
                    return Err(Error::NonPositiveDelta {
                        channel: Some(h),
                        step: t,
                        value: Field::to_f64(&v),
                    });
                }
                Ok(v)
            })
            .collect()
    }

    /// The discretised head `h` of batch element `b`: `$a_t = e^{\Delta_t A_h}$`,
    /// `$\bar B_t = \Delta_t B_{t,g}$`, `$C_t = C_{t,g}$` with `$g = h/(H/G)$`.
    ///
    /// # Errors
    /// As [`Self::delta`]; [`Error::NonFinite`] if `$e^{\Delta A_h}$` or `$\Delta B$`
    /// overflows.
    pub fn head(&self, dims: SsdDims, b: usize, h: usize) -> Result<SsdHead<T>> {
        let delta = self.delta(dims, b, h)?;
        let (l, n) = (dims.len, dims.state);
        let g = h / (dims.heads / dims.groups);
        let a_h = self.a.data()[h];
        let mut bbar = Vec::with_capacity(l * n);
        let mut c = Vec::with_capacity(l * n);
        for (t, &dt) in delta.iter().enumerate() {
            for k in 0..n {
                bbar.push(dt * *self.b.at(&[b, t, g, k]));
                c.push(*self.c.at(&[b, t, g, k]));
            }
        }
        let a = delta.iter().map(|&dt| (dt * a_h).exp()).collect();
        SsdHead::new(l, n, a, bbar, c)
    }

    /// Discretise every head: the layer over the float field, ready for
    /// [`SsdLayer::forward`] or exact lifting with [`SsdLayer::to_exact`].
    ///
    /// # Errors
    /// As [`Self::validate`] and [`Self::head`].
    pub fn discretize(&self) -> Result<SsdLayer<T>> {
        let dims = self.validate()?;
        let mut heads = Vec::with_capacity(dims.batch * dims.heads);
        for b in 0..dims.batch {
            for h in 0..dims.heads {
                heads.push(self.head(dims, b, h)?);
            }
        }
        let d = self.d.as_ref().map(|d| {
            (0..dims.heads * dims.head_dim)
                .map(|i| {
                    if d.shape() == [dims.heads] && dims.head_dim != 1 {
                        d.data()[i / dims.head_dim]
                    } else {
                        d.data()[i]
                    }
                })
                .collect()
        });
        Ok(SsdLayer {
            dims,
            heads,
            x: self.x.clone(),
            d,
            chunk: self.chunk,
        })
    }
}

/// A discretised SSD layer over a field `T`: one [`SsdHead`] per (batch, head), the
/// values `$x$` `(batch, L, H, P)` and `$D$` per channel (`H·P`).
#[derive(Debug, Clone, PartialEq)]
pub struct SsdLayer<T> {
    dims: SsdDims,
    heads: Vec<SsdHead<T>>,
    x: Tensor<T>,
    d: Option<Vec<T>>,
    chunk: usize,
}

impl<T: Field> SsdLayer<T> {
    /// Sizes.
    pub fn dims(&self) -> SsdDims {
        self.dims
    }
    /// Head `h` of batch element `b`.
    pub fn head(&self, b: usize, h: usize) -> &SsdHead<T> {
        &self.heads[b * self.dims.heads + h]
    }
    /// The values `$x$`, `(batch, L, H, P)`.
    pub fn x(&self) -> &Tensor<T> {
        &self.x
    }
    /// `$D$` per channel (`H·P`), if any.
    pub fn d(&self) -> Option<&[T]> {
        self.d.as_deref()
    }
    /// The chunk size `$Q$`.
    pub fn chunk(&self) -> usize {
        self.chunk
    }

    /// The exactly lifted layer (every float entry as its rational value).
    pub fn to_exact(&self) -> SsdLayer<Exact> {
        SsdLayer {
            dims: self.dims,
            heads: self.heads.iter().map(SsdHead::to_exact).collect(),
            x: self.x.map(Field::to_exact),
            d: self
                .d
                .as_ref()
                .map(|d| d.iter().map(Field::to_exact).collect()),
            chunk: self.chunk,
        }
    }

    /// The values `$x_{\cdot,h,p}$` of batch element `b` (length `$L$`).
    pub fn values(&self, b: usize, h: usize, p: usize) -> Vec<T> {
        let SsdDims {
            len,
            heads,
            head_dim,
            ..
        } = self.dims;
        (0..len)
            .map(|t| self.x.data()[((b * len + t) * heads + h) * head_dim + p].clone())
            .collect()
    }

    /// The layer's output `$y = \tilde\alpha x + D x$` per head and head coordinate, through
    /// the chunked algorithm (T13) with chunk size `$Q$` — or, with `chunk = None`, through
    /// the scan — and the final states `(batch, H, P, N)`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for `Some(0)`; [`Error::NonFiniteResult`] on overflow.
    pub fn forward(&self, chunk: Option<usize>) -> Result<(Tensor<T>, Tensor<T>)> {
        let SsdDims {
            batch,
            len,
            heads,
            head_dim,
            state,
            ..
        } = self.dims;
        let mut y = Tensor::filled(vec![batch, len, heads, head_dim], T::zero());
        let mut fin = Tensor::filled(vec![batch, heads, head_dim, state], T::zero());
        for b in 0..batch {
            for h in 0..heads {
                let head = self.head(b, h);
                for p in 0..head_dim {
                    let x = self.values(b, h, p);
                    let r = match chunk {
                        Some(q) => chunked(head, &x, q)?,
                        None => super::head::scan(head, &x)?,
                    };
                    let dv = self.d.as_ref().map(|d| &d[h * head_dim + p]);
                    for t in 0..len {
                        let mut v = r.y[t].clone();
                        if let Some(dv) = dv {
                            v += &(x[t].clone() * dv);
                        }
                        y.data_mut()[((b * len + t) * heads + h) * head_dim + p] = v;
                    }
                    let o = ((b * heads + h) * head_dim + p) * state;
                    fin.data_mut()[o..o + state].clone_from_slice(&r.last_state);
                }
            }
        }
        expect_finite_result("SSD layer y", y.data(), y.shape())?;
        Ok((y, fin))
    }

    /// Per-head hidden attention `$\tilde\alpha^{(h)}$` (T8), `(batch, H, L, L)`.
    ///
    /// # Errors
    /// [`Error::NonFiniteResult`] on float overflow.
    pub fn attention(&self) -> Result<Tensor<T>> {
        let SsdDims {
            batch, len, heads, ..
        } = self.dims;
        let mut data = Vec::with_capacity(batch * heads * len * len);
        for head in &self.heads {
            data.extend_from_slice(attention_matrix(head)?.data());
        }
        Tensor::new("attention", vec![batch, heads, len, len], data)
    }

    /// [`Self::forward`] with the layer's own chunk size, and [`Self::attention`].
    ///
    /// # Errors
    /// As those two.
    pub fn output(&self) -> Result<SsdLayerOutput<T>> {
        let (y, final_state) = self.forward(Some(self.chunk))?;
        Ok(SsdLayerOutput {
            y,
            final_state,
            attention: self.attention()?,
        })
    }
}

/// The SSD layer in floats: validate, discretise ([`SsdLayerInput::discretize`]), run
/// the chunked algorithm with the input's chunk size (T13) and form the per-head
/// `$\tilde\alpha$` (T8). Exact counterpart: `input.discretize()?.to_exact().output()`.
///
/// # Errors
/// As [`SsdLayerInput::discretize`] and [`SsdLayer::output`].
///
/// # Complexity
/// `$O(B\,H\,P\,L\,(Q+1)\,N)$` for `$y$`, `$O(B\,H\,L^2 N)$` for `$\tilde\alpha$`.
pub fn ssd_layer<T: Real>(input: &SsdLayerInput<T>) -> Result<SsdLayerOutput<T>> {
    input.discretize()?.output()
}

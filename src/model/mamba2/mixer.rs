//! One Mamba-2 mixer, as `transformers`' `Mamba2Mixer.torch_forward` computes it:
//!
//! 1. `in_proj` splits into `$z$` (`$d_{in}$`), `$x\|B\|C$` (`$d_{in} + 2GN$`) and raw dt (`$H$`);
//! 2. a causal depthwise convolution with SiLU over `$x$`, `$B$` and `$C$` together;
//! 3. the SSD layer ([`crate::family::ssd`], T8/T13): per head `$h$` (group `$g = h/(H/G)$`),
//!    `$\Delta_t = \mathrm{clamp}(\mathrm{softplus}(dt_t + b_h), \mathrm{lo}, \mathrm{hi})$`,
//!    `$y = \tilde\alpha^{(h)} x + D_h x$` with
//!    `$\tilde\alpha^{(h)}_{ts} = (C_t\cdot B_s)\, e^{A_h\sum_{r=s+1}^{t}\Delta_r}\,\Delta_s$`;
//! 4. the gated RMS norm, norm after the gate, over groups of `$d_{in}/G$` features:
//!    `$o = w \odot (y \odot \mathrm{SiLU}(z))\, r$`, `$r = (\overline{(y\odot\mathrm{SiLU}(z))^2}+\varepsilon)^{-1/2}$`;
//! 5. `out_proj`.

use crate::error::{Error, Result};
use crate::family::ssd::layer::{SsdLayer, SsdLayerInput};
use crate::model::block::causal_conv;
use crate::model::linear::linear;
use crate::scalar::Real;
use crate::tensor::Tensor;

/// Sizes of one Mamba-2 mixer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mamba2Dims {
    /// Model width `$d$`.
    pub d_model: usize,
    /// Heads `$H$`.
    pub n_heads: usize,
    /// Head dimension `$P$`.
    pub head_dim: usize,
    /// `$B$`/`$C$` groups `$G$`.
    pub n_groups: usize,
    /// State size `$N$`.
    pub d_state: usize,
    /// Convolution kernel size `$K$`.
    pub d_conv: usize,
    /// Chunk size `$Q$` of the chunked SSD algorithm.
    pub chunk_size: usize,
}

impl Mamba2Dims {
    /// `$d_{in} = HP$`.
    pub fn d_inner(&self) -> usize {
        self.n_heads * self.head_dim
    }
    /// `$d_{in} + 2GN$`.
    pub fn conv_dim(&self) -> usize {
        self.d_inner() + 2 * self.n_groups * self.d_state
    }
}

/// The parameters of one Mamba-2 mixer (row-major, PyTorch layouts).
#[derive(Debug, Clone, PartialEq)]
pub struct Mamba2Mixer<T> {
    /// Sizes.
    pub dims: Mamba2Dims,
    /// `in_proj.weight`, `(2 d_in + 2GN + H, d)`: rows give `$z$`, `$x\|B\|C$`, dt.
    pub in_proj: Vec<T>,
    /// `in_proj.bias`.
    pub in_proj_bias: Option<Vec<T>>,
    /// `conv1d.weight`, `(d_in + 2GN, K)` (stored `(·, 1, K)`).
    pub conv_w: Vec<T>,
    /// `conv1d.bias`.
    pub conv_b: Option<Vec<T>>,
    /// `dt_bias`, `(H)`.
    pub dt_bias: Vec<T>,
    /// `$A_h = -e^{A_{\log,h}}$`, `(H)`.
    pub a: Vec<T>,
    /// Skip `$D_h$`, `(H)`.
    pub d: Vec<T>,
    /// Gated RMS norm weight, `(d_in)`.
    pub norm_w: Vec<T>,
    /// ε of the gated RMS norm.
    pub norm_eps: f64,
    /// `time_step_limit` (lo, hi).
    pub dt_limit: (f64, f64),
    /// `out_proj.weight`, `(d, d_in)`.
    pub out_proj: Vec<T>,
    /// `out_proj.bias`.
    pub out_proj_bias: Option<Vec<T>>,
}

/// Everything a Mamba-2 mixer computed on one sequence (time-major arrays).
#[derive(Debug, Clone, PartialEq)]
pub struct Mamba2Trace<T> {
    /// Sequence length `$L$`.
    pub len: usize,
    /// The mixer input (normalised residual stream), `(L, d)`.
    pub input: Vec<T>,
    /// Gate `$z$`, `(L, d_in)`.
    pub z: Vec<T>,
    /// Convolution input `$x\|B\|C$`, `(L, d_in + 2GN)`.
    pub xbc: Vec<T>,
    /// Convolution output with bias, before SiLU, `(L, d_in + 2GN)`.
    pub conv: Vec<T>,
    /// SSD values `$x$` (after SiLU), `(L, H, P)`.
    pub x: Vec<T>,
    /// `$B$`, `(L, G, N)`.
    pub b: Vec<T>,
    /// `$C$`, `(L, G, N)`.
    pub c: Vec<T>,
    /// Raw dt (before bias, softplus and clamp), `(L, H)`.
    pub dt: Vec<T>,
    /// SSD output `$\tilde\alpha x + D x$`, `(L, d_in)`.
    pub y_ssd: Vec<T>,
    /// Gated `$y \odot \mathrm{SiLU}(z)$`, `(L, d_in)`.
    pub gated: Vec<T>,
    /// Gated-norm factors `$r_{t,g}$`, `(L, G)`.
    pub norm_rms: Vec<T>,
    /// Gated-norm output, `(L, d_in)`.
    pub normed: Vec<T>,
    /// `out_proj` output, `(L, d)`.
    pub out: Vec<T>,
}

impl<T: Real> Mamba2Mixer<T> {
    /// Stage 1: `in_proj`, the convolution and SiLU, the split into `$x$`, `$B$`, `$C$`, dt.
    fn pre_ssd(&self, input: &[T]) -> Mamba2Trace<T> {
        let Mamba2Dims {
            d_model,
            n_heads: h,
            n_groups: g,
            d_state: n,
            d_conv: k,
            ..
        } = self.dims;
        let (di, cd) = (self.dims.d_inner(), self.dims.conv_dim());
        let rows = di + cd + h;
        let l = input.len() / d_model;
        let p = linear(
            input,
            l,
            &self.in_proj,
            rows,
            d_model,
            self.in_proj_bias.as_deref(),
        );
        let mut z = Vec::with_capacity(l * di);
        let mut xbc = Vec::with_capacity(l * cd);
        let mut dt = Vec::with_capacity(l * h);
        for t in 0..l {
            let row = &p[t * rows..(t + 1) * rows];
            z.extend_from_slice(&row[..di]);
            xbc.extend_from_slice(&row[di..di + cd]);
            dt.extend_from_slice(&row[di + cd..]);
        }
        // The convolution works channel-major.
        let mut cm = vec![T::zero(); cd * l];
        for t in 0..l {
            for e in 0..cd {
                cm[e * l + t] = xbc[t * cd + e];
            }
        }
        let conv_cm = causal_conv(&cm, l, &self.conv_w, k, self.conv_b.as_deref());
        let mut conv = vec![T::zero(); l * cd];
        for e in 0..cd {
            for t in 0..l {
                conv[t * cd + e] = conv_cm[e * l + t];
            }
        }
        let (mut x, mut b, mut c) = (
            Vec::with_capacity(l * di),
            Vec::with_capacity(l * g * n),
            Vec::with_capacity(l * g * n),
        );
        for t in 0..l {
            let row = &conv[t * cd..(t + 1) * cd];
            x.extend(row[..di].iter().map(|v| v.silu()));
            b.extend(row[di..di + g * n].iter().map(|v| v.silu()));
            c.extend(row[di + g * n..].iter().map(|v| v.silu()));
        }
        Mamba2Trace {
            len: l,
            input: input.to_vec(),
            z,
            xbc,
            conv,
            x,
            b,
            c,
            dt,
            y_ssd: Vec::new(),
            gated: Vec::new(),
            norm_rms: Vec::new(),
            normed: Vec::new(),
            out: Vec::new(),
        }
    }

    /// The SSD layer input of a batch of traces (one common `$L$`): `$x$` `(batch, L, H, P)`,
    /// dt `(batch, L, H)`, `$A$`, `$B$`/`$C$` `(batch, L, G, N)`, `$D$` per head, `dt_bias`,
    /// softplus on, the clamp and the chunk size.
    pub fn ssd_input(&self, traces: &[&Mamba2Trace<T>]) -> SsdLayerInput<T> {
        let Mamba2Dims {
            n_heads: h,
            head_dim: p,
            n_groups: g,
            d_state: n,
            ..
        } = self.dims;
        let l = traces.first().map_or(0, |t| t.len);
        let bsz = traces.len();
        let cat = |f: fn(&Mamba2Trace<T>) -> &Vec<T>| -> Vec<T> {
            traces.iter().flat_map(|t| f(t).iter().copied()).collect()
        };
        let t = |name: &str, shape: Vec<usize>, v: Vec<T>| {
            Tensor::new(name, shape, v).expect("sizes agree by construction")
        };
        SsdLayerInput {
            x: t("x", vec![bsz, l, h, p], cat(|t| &t.x)),
            dt: t("dt", vec![bsz, l, h], cat(|t| &t.dt)),
            a: t("A", vec![h], self.a.clone()),
            b: t("B", vec![bsz, l, g, n], cat(|t| &t.b)),
            c: t("C", vec![bsz, l, g, n], cat(|t| &t.c)),
            d: Some(t("D", vec![h], self.d.clone())),
            dt_bias: Some(t("dt_bias", vec![h], self.dt_bias.clone())),
            dt_softplus: true,
            dt_limit: (T::from_f64(self.dt_limit.0), T::from_f64(self.dt_limit.1)),
            chunk: self.dims.chunk_size,
        }
    }

    /// The discretised SSD layer of one trace: one SSD head per Mamba-2 head.
    ///
    /// # Errors
    /// As [`SsdLayerInput::discretize`].
    pub fn ssd_layer(&self, trace: &Mamba2Trace<T>) -> Result<SsdLayer<T>> {
        self.ssd_input(&[trace]).discretize()
    }

    /// Stage 3: the gated RMS norm (norm after the gate, groups of `$d_{in}/G$`) and
    /// `out_proj`, from `y_ssd`.
    fn post_ssd(&self, tr: &mut Mamba2Trace<T>) {
        let (di, g, dm) = (self.dims.d_inner(), self.dims.n_groups, self.dims.d_model);
        let l = tr.len;
        let gs = di / g;
        tr.gated = tr
            .y_ssd
            .iter()
            .zip(&tr.z)
            .map(|(&y, &z)| y * z.silu())
            .collect();
        let eps = T::from_f64(self.norm_eps);
        let mut normed = vec![T::zero(); l * di];
        let mut rms = Vec::with_capacity(l * g);
        for t in 0..l {
            for gi in 0..g {
                let o = t * di + gi * gs;
                let v = &tr.gated[o..o + gs];
                let ms = v.iter().fold(T::zero(), |a, &x| a + x * x) / T::from_f64(gs as f64);
                let r = T::one() / (ms + eps).sqrt();
                for j in 0..gs {
                    normed[o + j] = self.norm_w[gi * gs + j] * (v[j] * r);
                }
                rms.push(r);
            }
        }
        tr.normed = normed;
        tr.norm_rms = rms;
        tr.out = linear(
            &tr.normed,
            l,
            &self.out_proj,
            dm,
            di,
            self.out_proj_bias.as_deref(),
        );
    }

    /// Run the mixer on a batch of inputs (each `(L, d)`, one common `L`).
    ///
    /// The SSD step runs the scan, `$O(LN)$` per channel; by T13 it equals the chunked
    /// algorithm Mamba-2 runs (with the configuration's chunk size) exactly over the
    /// rationals, and in floats both agree with `transformers` to about `$10^{-15}$` (golden
    /// `tiny-mamba2-a`). The chunked order costs `$O(LQN)$` per channel in the reference
    /// implementation and is checked separately (T13).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for unequal lengths; errors of the SSD layer (a
    /// non-finite value names the tensor).
    pub fn forward_batch(&self, inputs: &[&[T]]) -> Result<Vec<Mamba2Trace<T>>> {
        let mut traces: Vec<Mamba2Trace<T>> = inputs.iter().map(|x| self.pre_ssd(x)).collect();
        if let Some(p) = traces.iter().position(|t| t.len != traces[0].len) {
            return Err(Error::InvalidArgument {
                name: "batch".into(),
                reason: format!(
                    "sequence {p} has length {}, sequence 0 has {}",
                    traces[p].len, traces[0].len
                ),
            });
        }
        let layer = self
            .ssd_input(&traces.iter().collect::<Vec<_>>())
            .discretize()?;
        let (y, _) = layer.forward(None)?;
        let per = y.data().len() / traces.len().max(1);
        for (bi, tr) in traces.iter_mut().enumerate() {
            tr.y_ssd = y.data()[bi * per..(bi + 1) * per].to_vec();
            self.post_ssd(tr);
        }
        Ok(traces)
    }
}

impl<T: Real> crate::model::forward::Mixer<T> for Mamba2Mixer<T> {
    type Trace = Mamba2Trace<T>;
    fn forward_batch(&self, inputs: &[&[T]]) -> Result<Vec<Mamba2Trace<T>>> {
        Mamba2Mixer::forward_batch(self, inputs)
    }
    fn output(trace: &Mamba2Trace<T>) -> &[T] {
        &trace.out
    }
    fn backward(&self, trace: &Mamba2Trace<T>, g_out: &[T]) -> Result<Vec<T>> {
        crate::model::mamba2::backward::mixer_backward(self, trace, g_out)
    }
}

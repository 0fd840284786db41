//! One Mamba block: RMSNorm → mixer (in_proj → causal depthwise conv → SiLU → x_proj →
//! Δ, B, C → S6 with D skip → ⊙ SiLU(z) → out_proj) → residual.
//!
//! Falcon-Mamba is the same block with weightless RMS norms on the low-rank Δ input, on
//! `$B_t$` and on `$C_t$` after `x_proj` ([`MixerWeights::inner_norm_eps`]); the trace keeps the
//! normalised values, so the channels and hidden attention of a Falcon-Mamba layer are
//! those of its normalised `$B$`, `$C$`, Δ.
//!
//! The S6 itself is the core's [`selective_scan()`]: the block only prepares its inputs
//! `u`, `delta` (= `$W_\Delta\,\mathrm{dt}_{low}$`), `delta_bias` (= `$b_\Delta$`), `A`, `B`, `C`, `D`.

use crate::error::{Error, Result};
use crate::model::linear::linear;
use crate::scalar::Real;
use crate::ssm::{selective_scan, Channel, ScanDims, SelectiveScanInput, StateMatrix};
use crate::tensor::Tensor;

/// Sizes of one mixer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MixerDims {
    /// Model width `$d$`.
    pub d_model: usize,
    /// Inner width `$d_{in}$` (S6 channels).
    pub d_inner: usize,
    /// State size `$N$`.
    pub d_state: usize,
    /// Convolution kernel size `$K$`.
    pub d_conv: usize,
    /// Δ rank `$R$`.
    pub dt_rank: usize,
}

/// The parameters of one Mamba mixer (row-major, PyTorch layouts).
#[derive(Debug, Clone, PartialEq)]
pub struct MixerWeights<T> {
    /// Sizes.
    pub dims: MixerDims,
    /// `in_proj.weight`, `(2 d_in, d)`: rows `0..d_in` give x, rows `d_in..` give z.
    pub in_proj: Vec<T>,
    /// `in_proj.bias`, `(2 d_in)`.
    pub in_proj_bias: Option<Vec<T>>,
    /// `conv1d.weight`, `(d_in, K)` (stored `(d_in, 1, K)`).
    pub conv_w: Vec<T>,
    /// `conv1d.bias`, `(d_in)`.
    pub conv_b: Option<Vec<T>>,
    /// `x_proj.weight`, `(R + 2N, d_in)`: rows give dt_low, B, C.
    pub x_proj: Vec<T>,
    /// `dt_proj.weight`, `(d_in, R)`.
    pub dt_proj_w: Vec<T>,
    /// `dt_proj.bias`, `(d_in)`.
    pub dt_proj_b: Vec<T>,
    /// `$A = -e^{A_{\log}}$`, `(d_in, N)`.
    pub a: Vec<T>,
    /// Skip `D`, `(d_in)`.
    pub d: Vec<T>,
    /// `out_proj.weight`, `(d, d_in)`.
    pub out_proj: Vec<T>,
    /// `out_proj.bias`, `(d)`.
    pub out_proj_bias: Option<Vec<T>>,
    /// Falcon-Mamba: the ε of the weightless RMS norms applied to the low-rank Δ input, to
    /// `$B_t$` and to `$C_t$` (each over its own features) right after `x_proj`; `None` for
    /// Mamba-1.
    pub inner_norm_eps: Option<f64>,
}

/// Everything a mixer computed on one sequence (channel-major arrays are `(d_in, L)`).
#[derive(Debug, Clone, PartialEq)]
pub struct MixerTrace<T> {
    /// Sequence length `$L$`.
    pub len: usize,
    /// The mixer's input (the normalised residual stream), `(L, d)`.
    pub input: Vec<T>,
    /// x half of `in_proj` (the conv input), `(d_in, L)`.
    pub x: Vec<T>,
    /// z half of `in_proj` (the gate), `(d_in, L)`.
    pub z: Vec<T>,
    /// Convolution output with bias, before SiLU, `(d_in, L)`.
    pub conv: Vec<T>,
    /// `$u = \mathrm{SiLU}(\text{conv})$`: the S6 input, `(d_in, L)`.
    pub u: Vec<T>,
    /// Low-rank Δ input, `(L, R)` (Falcon-Mamba: after its RMS norm).
    pub dt_low: Vec<T>,
    /// `$W_\Delta\,\mathrm{dt}_{low}$` without bias, `(d_in, L)`.
    pub delta_pre: Vec<T>,
    /// `$B_t$`, `(L, N)` (Falcon-Mamba: after its RMS norm).
    pub b: Vec<T>,
    /// `$C_t$`, `(L, N)`.
    pub c: Vec<T>,
    /// Falcon-Mamba: the RMS factors `$r_t = (\overline{v_t^2} + \varepsilon)^{-1/2}$` of the
    /// inner norms, `(L, 3)` (Δ input, `$B$`, `$C$`); the fields above hold the normalised
    /// values. Empty for Mamba-1.
    pub inner_rms: Vec<T>,
    /// S6 output plus skip, `$y_{s} + D u$`, `(d_in, L)`.
    pub y1: Vec<T>,
    /// Gated output `$(y_s + D u) \odot \mathrm{SiLU}(z)$`, `(d_in, L)`.
    pub y: Vec<T>,
    /// `out_proj` output, `(L, d)`.
    pub out: Vec<T>,
}

/// RMSNorm of every row of `x` (`(L, d)`): `$w \odot x_t / \sqrt{\overline{x_t^2} + \varepsilon}$`.
/// Returns the normalised rows and the factors `$r_t = (\overline{x_t^2}+\varepsilon)^{-1/2}$`.
pub fn rms_norm<T: Real>(x: &[T], d: usize, w: &[T], eps: f64) -> (Vec<T>, Vec<T>) {
    let l = x.len() / d;
    let mut out = vec![T::zero(); x.len()];
    let mut rs = Vec::with_capacity(l);
    let eps = T::from_f64(eps);
    for t in 0..l {
        let row = &x[t * d..(t + 1) * d];
        let ms = row.iter().fold(T::zero(), |a, &v| a + v * v) / T::from_f64(d as f64);
        let r = T::one() / (ms + eps).sqrt();
        for k in 0..d {
            out[t * d + k] = w[k] * (row[k] * r);
        }
        rs.push(r);
    }
    (out, rs)
}

impl<T: Real> MixerWeights<T> {
    /// Stage 1 of the mixer on one sequence: everything before the S6.
    fn pre_scan(&self, input: &[T]) -> MixerTrace<T> {
        let MixerDims {
            d_model,
            d_inner: di,
            d_state: n,
            d_conv: k,
            dt_rank: r,
        } = self.dims;
        let l = input.len() / d_model;
        let xz = linear(
            input,
            l,
            &self.in_proj,
            2 * di,
            d_model,
            self.in_proj_bias.as_deref(),
        );
        let mut x = vec![T::zero(); di * l];
        let mut z = vec![T::zero(); di * l];
        for t in 0..l {
            for e in 0..di {
                x[e * l + t] = xz[t * 2 * di + e];
                z[e * l + t] = xz[t * 2 * di + di + e];
            }
        }
        let conv = causal_conv(&x, l, &self.conv_w, k, self.conv_b.as_deref());
        let u: Vec<T> = conv.iter().map(|&v| v.silu()).collect();
        let mut u_t = vec![T::zero(); l * di];
        for e in 0..di {
            for t in 0..l {
                u_t[t * di + e] = u[e * l + t];
            }
        }
        let p = linear(&u_t, l, &self.x_proj, r + 2 * n, di, None);
        let mut dt_low = Vec::with_capacity(l * r);
        let mut b = Vec::with_capacity(l * n);
        let mut c = Vec::with_capacity(l * n);
        for t in 0..l {
            let row = &p[t * (r + 2 * n)..(t + 1) * (r + 2 * n)];
            dt_low.extend_from_slice(&row[..r]);
            b.extend_from_slice(&row[r..r + n]);
            c.extend_from_slice(&row[r + n..]);
        }
        let mut inner_rms = Vec::new();
        if let Some(eps) = self.inner_norm_eps {
            let (one_r, one_n) = (vec![T::one(); r], vec![T::one(); n]);
            let (nd, rd) = rms_norm(&dt_low, r, &one_r, eps);
            let (nb, rb) = rms_norm(&b, n, &one_n, eps);
            let (nc, rc) = rms_norm(&c, n, &one_n, eps);
            (dt_low, b, c) = (nd, nb, nc);
            inner_rms = (0..l).flat_map(|t| [rd[t], rb[t], rc[t]]).collect();
        }
        let dp = linear(&dt_low, l, &self.dt_proj_w, di, r, None);
        let mut delta_pre = vec![T::zero(); di * l];
        for t in 0..l {
            for e in 0..di {
                delta_pre[e * l + t] = dp[t * di + e];
            }
        }
        MixerTrace {
            len: l,
            input: input.to_vec(),
            x,
            z,
            conv,
            u,
            dt_low,
            delta_pre,
            b,
            c,
            inner_rms,
            y1: Vec::new(),
            y: Vec::new(),
            out: Vec::new(),
        }
    }

    /// The core S6 input of a batch of traces (all of one length): `u`, `delta`
    /// `(batch, d_in, L)`, `A`, `B`/`C` variable `(batch, N, L)`, `D`, `delta_bias`,
    /// softplus on; no gate (the block applies `SiLU(z)` itself).
    pub fn scan_input(&self, traces: &[&MixerTrace<T>]) -> SelectiveScanInput<T> {
        let (di, n) = (self.dims.d_inner, self.dims.d_state);
        let l = traces.first().map_or(0, |t| t.len);
        let bsz = traces.len();
        let mut u = Vec::with_capacity(bsz * di * l);
        let mut delta = Vec::with_capacity(bsz * di * l);
        let mut bt = Vec::with_capacity(bsz * n * l);
        let mut ct = Vec::with_capacity(bsz * n * l);
        for tr in traces {
            u.extend_from_slice(&tr.u);
            delta.extend_from_slice(&tr.delta_pre);
            for s in 0..n {
                for t in 0..l {
                    bt.push(tr.b[t * n + s]);
                    ct.push(tr.c[t * n + s]);
                }
            }
        }
        let t = |name: &str, shape: Vec<usize>, v: Vec<T>| {
            Tensor::new(name, shape, v).expect("sizes agree by construction")
        };
        SelectiveScanInput {
            u: t("u", vec![bsz, di, l], u),
            delta: t("delta", vec![bsz, di, l], delta),
            a: StateMatrix::Real(t("A", vec![di, n], self.a.clone())),
            b: t("B", vec![bsz, n, l], bt),
            c: t("C", vec![bsz, n, l], ct),
            d: Some(t("D", vec![di], self.d.clone())),
            z: None,
            delta_bias: Some(t("delta_bias", vec![di], self.dt_proj_b.clone())),
            delta_softplus: true,
        }
    }

    /// The discretised S6 channel `e` of one trace (Δ after bias and softplus,
    /// `$\bar A = e^{\Delta A}$`, `$\bar B = \Delta B$`), through the core's
    /// [`SelectiveScanInput::channel`].
    ///
    /// # Errors
    /// As [`SelectiveScanInput::channel`].
    pub fn channel(&self, trace: &MixerTrace<T>, e: usize) -> Result<Channel<T>> {
        let input = self.scan_input(&[trace]);
        let dims = input.validate()?;
        input.channel(dims, 0, e)
    }

    /// Run the mixer on a batch of inputs (each `(L, d)`, one common `L`).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for unequal lengths; errors of [`selective_scan()`] (a
    /// non-finite value names the tensor).
    pub fn forward_batch(&self, inputs: &[&[T]]) -> Result<Vec<MixerTrace<T>>> {
        let mut traces: Vec<MixerTrace<T>> = inputs.iter().map(|x| self.pre_scan(x)).collect();
        if let Some(p) = traces.iter().position(|t| t.len != traces[0].len) {
            return Err(Error::InvalidArgument {
                name: "batch".into(),
                reason: format!(
                    "sequence {p} has length {}, sequence 0 has {}",
                    traces[p].len, traces[0].len
                ),
            });
        }
        let input = self.scan_input(&traces.iter().collect::<Vec<_>>());
        let out = selective_scan(&input)?;
        let (di, dm) = (self.dims.d_inner, self.dims.d_model);
        for (bi, tr) in traces.iter_mut().enumerate() {
            let l = tr.len;
            tr.y1 = out.out.data()[bi * di * l..(bi + 1) * di * l].to_vec();
            tr.y = tr
                .y1
                .iter()
                .zip(&tr.z)
                .map(|(&y, &z)| y * z.silu())
                .collect();
            let mut y_t = vec![T::zero(); l * di];
            for e in 0..di {
                for t in 0..l {
                    y_t[t * di + e] = tr.y[e * l + t];
                }
            }
            tr.out = linear(
                &y_t,
                l,
                &self.out_proj,
                dm,
                di,
                self.out_proj_bias.as_deref(),
            );
        }
        Ok(traces)
    }

    /// Validated sizes of the S6 problem of one trace.
    ///
    /// # Errors
    /// As [`SelectiveScanInput::validate`].
    pub fn scan_dims(&self, trace: &MixerTrace<T>) -> Result<ScanDims> {
        self.scan_input(&[trace]).validate()
    }
}

/// Causal depthwise convolution as PyTorch's `conv1d(padding = K-1)[..., :L]`:
/// `$c_{e,t} = b_e + \sum_{k=0}^{K-1} w_{e,k}\, x_{e,\,t+k-(K-1)}$` (terms before the start are 0).
pub fn causal_conv<T: Real>(x: &[T], l: usize, w: &[T], k: usize, bias: Option<&[T]>) -> Vec<T> {
    let di = x.len() / l.max(1);
    let mut out = vec![T::zero(); di * l];
    for e in 0..di {
        for t in 0..l {
            let mut s = T::zero();
            for j in 0..k {
                if t + j + 1 >= k {
                    s = s + w[e * k + j] * x[e * l + t + j + 1 - k];
                }
            }
            if let Some(b) = bias {
                s = s + b[e];
            }
            out[e * l + t] = s;
        }
    }
    out
}

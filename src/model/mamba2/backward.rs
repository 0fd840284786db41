//! The reverse pass through one Mamba-2 mixer (for Mamba-Attr and gradient methods):
//! `out_proj` → gated RMS norm → gate → SSD heads (states recomputed) → step sizes
//! (clamp, softplus) → SiLU → causal conv → `in_proj`. Checked against finite differences
//! in the tests.
//!
//! SSD head `$h$`, coordinate `$p$` (state `$h_t = a_t h_{t-1} + \Delta_t B_t x_t$`,
//! `$y_t = C_t\cdot h_t + D x_t$`, `$a_t = e^{\Delta_t A}$`), with the adjoint
//! `$\lambda_t = C_t\,\bar y_t + a_{t+1}\lambda_{t+1}$`:
//! `$\bar C_t \mathrel{+}= \bar y_t h_t$`, `$\bar x_t = D\bar y_t + \Delta_t B_t\cdot\lambda_t$`,
//! `$\bar B_t \mathrel{+}= \Delta_t x_t\lambda_t$`,
//! `$\bar\Delta_t \mathrel{+}= x_t B_t\cdot\lambda_t + A a_t\,\lambda_t\cdot h_{t-1}$`.

use rayon::prelude::*;

use crate::error::Result;
use crate::model::linear::linear_backward;
use crate::model::mamba2::attention::step_sizes;
use crate::model::mamba2::mixer::{Mamba2Mixer, Mamba2Trace};
use crate::scalar::Real;

fn silu_grad<T: Real>(x: T) -> T {
    let s = x.sigmoid();
    s * (T::one() + x * (T::one() - s))
}

/// Gradient of one head (all its coordinates): `$(\bar x$` `(L, P)`, `$\bar\Delta$` `(L)`,
/// `$\bar B$` `(L, N)`, `$\bar C$` `(L, N)``$)$`.
struct HeadGrad<T> {
    gx: Vec<T>,
    gdelta: Vec<T>,
    gb: Vec<T>,
    gc: Vec<T>,
}

/// `$\partial/\partial(\text{mixer input})$` `(L, d)` from `$\partial/\partial(\text{mixer output})$`
/// `g_out` `(L, d)`, at the trace's input.
///
/// # Errors
/// Never at present (the signature matches the other mixers').
pub fn mixer_backward<T: Real>(
    m: &Mamba2Mixer<T>,
    tr: &Mamba2Trace<T>,
    g_out: &[T],
) -> Result<Vec<T>> {
    let d = m.dims;
    let (dm, h, p, g, n, k) = (
        d.d_model, d.n_heads, d.head_dim, d.n_groups, d.d_state, d.d_conv,
    );
    let (di, cd) = (d.d_inner(), d.conv_dim());
    let l = tr.len;
    let gs = di / g;
    // out_proj, then the gated norm per group: n = w v r, r = (mean v² + ε)^(-1/2).
    let g_normed = linear_backward(g_out, l, &m.out_proj, dm, di);
    let mut g_gated = vec![T::zero(); l * di];
    let inv = T::one() / T::from_f64(gs as f64);
    for t in 0..l {
        for gi in 0..g {
            let o = t * di + gi * gs;
            let r = tr.norm_rms[t * g + gi];
            let v = &tr.gated[o..o + gs];
            let q: Vec<T> = (0..gs)
                .map(|j| m.norm_w[gi * gs + j] * g_normed[o + j])
                .collect();
            let qv = q.iter().zip(v).fold(T::zero(), |a, (&x, &y)| a + x * y);
            for j in 0..gs {
                g_gated[o + j] = r * (q[j] - v[j] * r * r * qv * inv);
            }
        }
    }
    // gate: gated = y ⊙ SiLU(z)
    let mut g_y = vec![T::zero(); l * di];
    let mut g_z = vec![T::zero(); l * di];
    for i in 0..l * di {
        g_y[i] = g_gated[i] * tr.z[i].silu();
        g_z[i] = g_gated[i] * tr.y_ssd[i] * silu_grad(tr.z[i]);
    }
    // SSD heads
    let delta = step_sizes(m, tr);
    let per: Vec<HeadGrad<T>> = (0..h)
        .into_par_iter()
        .map(|hh| {
            let gi = hh / (h / g);
            let a_h = m.a[hh];
            let bc = |v: &[T], t: usize| v[(t * g + gi) * n..(t * g + gi + 1) * n].to_vec();
            let mut out = HeadGrad {
                gx: vec![T::zero(); l * p],
                gdelta: vec![T::zero(); l],
                gb: vec![T::zero(); l * n],
                gc: vec![T::zero(); l * n],
            };
            let abar: Vec<T> = (0..l).map(|t| (delta[t * h + hh] * a_h).exp()).collect();
            for pp in 0..p {
                let x = |t: usize| tr.x[(t * h + hh) * p + pp];
                let gy = |t: usize| g_y[t * di + hh * p + pp];
                let mut hs = vec![T::zero(); l * n];
                let mut st = vec![T::zero(); n];
                for t in 0..l {
                    let b = bc(&tr.b, t);
                    for s in 0..n {
                        st[s] = abar[t] * st[s] + delta[t * h + hh] * b[s] * x(t);
                    }
                    hs[t * n..(t + 1) * n].copy_from_slice(&st);
                }
                let mut lam = vec![T::zero(); n];
                for t in (0..l).rev() {
                    let (b, c) = (bc(&tr.b, t), bc(&tr.c, t));
                    if t + 1 < l {
                        for v in lam.iter_mut() {
                            *v = *v * abar[t + 1];
                        }
                    }
                    for s in 0..n {
                        lam[s] = lam[s] + c[s] * gy(t);
                        out.gc[t * n + s] = out.gc[t * n + s] + gy(t) * hs[t * n + s];
                    }
                    let dt = delta[t * h + hh];
                    let blam = b
                        .iter()
                        .zip(&lam)
                        .fold(T::zero(), |acc, (&u, &v)| acc + u * v);
                    out.gx[t * p + pp] = m.d[hh] * gy(t) + dt * blam;
                    let mut hprev = T::zero();
                    for s in 0..n {
                        out.gb[t * n + s] = out.gb[t * n + s] + dt * x(t) * lam[s];
                        if t > 0 {
                            hprev = hprev + lam[s] * hs[(t - 1) * n + s];
                        }
                    }
                    out.gdelta[t] = out.gdelta[t] + x(t) * blam + a_h * abar[t] * hprev;
                }
            }
            out
        })
        .collect();
    // step sizes: Δ = clamp(softplus(dt + bias), lo, hi)
    let (lo, hi) = (T::from_f64(m.dt_limit.0), T::from_f64(m.dt_limit.1));
    let mut g_dt = vec![T::zero(); l * h];
    for t in 0..l {
        for (hh, hg) in per.iter().enumerate() {
            let pre = tr.dt[t * h + hh] + m.dt_bias[hh];
            let sp = pre.softplus();
            g_dt[t * h + hh] = if sp < lo || sp > hi {
                T::zero()
            } else if pre > T::from_f64(20.0) {
                hg.gdelta[t]
            } else {
                hg.gdelta[t] * pre.sigmoid()
            };
        }
    }
    // back to the conv output: x part, B and C parts (summed over the heads of a group)
    let mut g_post = vec![T::zero(); l * cd];
    for t in 0..l {
        for (hh, hg) in per.iter().enumerate() {
            let gi = hh / (h / g);
            for pp in 0..p {
                g_post[t * cd + hh * p + pp] = hg.gx[t * p + pp];
            }
            for s in 0..n {
                let (ob, oc) = (di + gi * n + s, di + g * n + gi * n + s);
                g_post[t * cd + ob] = g_post[t * cd + ob] + hg.gb[t * n + s];
                g_post[t * cd + oc] = g_post[t * cd + oc] + hg.gc[t * n + s];
            }
        }
    }
    // SiLU and the causal conv: conv[t,e] = b_e + Σ_j w[e,j] xbc[t + j − (K−1), e]
    let rows = di + cd + h;
    let mut g_proj = vec![T::zero(); l * rows];
    for e in 0..cd {
        let w = &m.conv_w[e * k..(e + 1) * k];
        let gconv: Vec<T> = (0..l)
            .map(|t| g_post[t * cd + e] * silu_grad(tr.conv[t * cd + e]))
            .collect();
        for s in 0..l {
            let mut acc = T::zero();
            for (j, &wj) in w.iter().enumerate() {
                let t = s + k - 1 - j;
                if t < l {
                    acc = acc + wj * gconv[t];
                }
            }
            g_proj[s * rows + di + e] = acc;
        }
    }
    for t in 0..l {
        g_proj[t * rows..t * rows + di].copy_from_slice(&g_z[t * di..(t + 1) * di]);
        g_proj[t * rows + di + cd..(t + 1) * rows].copy_from_slice(&g_dt[t * h..(t + 1) * h]);
    }
    Ok(linear_backward(&g_proj, l, &m.in_proj, rows, dm))
}

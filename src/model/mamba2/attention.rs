//! The hidden attention of every head of a Mamba-2 layer, through the SSD structure (T8,
//! T9): `$\tilde\alpha^{(h)} = (C_g B_g^\top) \circ M^{(h)}$` with the Gram matrix
//! `$C_g B_g^\top$` of rank `$\le N$` computed once per group (one GEMM, shared by the `$H/G$`
//! heads of the group) and the 1-semiseparable mask
//! `$M^{(h)}_{ts} = \big(\prod_{r=s+1}^{t} a^{(h)}_r\big)\,\Delta^{(h)}_s$`,
//! `$a^{(h)}_r = e^{\Delta^{(h)}_r A_h}$`, filled row by row: row `$t$` of the mask is row
//! `$t-1$` times `$a_t$` (one multiplication per entry, independent across the row), and
//! `$M_{tt} = \Delta_t$`.
//!
//! [`head_attention`] is the fast path; [`head_attention_reference`] forms each head's
//! `$\tilde\alpha$` from its [`crate::family::ssd::SsdHead`] by the definition. Both agree with
//! `transformers`' values (golden `tiny-mamba2-a`) to about `$10^{-15}$` in f64.

use rayon::prelude::*;

use crate::error::Result;
use crate::model::linear::linear;
use crate::model::mamba2::mixer::{Mamba2Mixer, Mamba2Trace};
use crate::scalar::Real;
use crate::tensor::{expect_finite_result, Tensor};

/// Step sizes `$\Delta_{t,h} = \mathrm{clamp}(\mathrm{softplus}(dt_{t,h} + b_h), \mathrm{lo},
/// \mathrm{hi})$` of a trace, `(L, H)` (PyTorch's softplus, the identity above 20).
pub fn step_sizes<T: Real>(mixer: &Mamba2Mixer<T>, trace: &Mamba2Trace<T>) -> Vec<T> {
    let h = mixer.dims.n_heads;
    let (lo, hi) = (T::from_f64(mixer.dt_limit.0), T::from_f64(mixer.dt_limit.1));
    trace
        .dt
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let d = (v + mixer.dt_bias[i % h]).softplus();
            if d < lo {
                lo
            } else if d > hi {
                hi
            } else {
                d
            }
        })
        .collect()
}

/// The hidden attention of every head of one layer on one sequence, `(H, L, L)`:
/// `$\tilde\alpha^{(h)}_{ts} = (C_t\cdot B_s)\,e^{A_h\sum_{r=s+1}^{t}\Delta_r}\,\Delta_s$` for
/// `$s \le t$`, 0 above (T8), with the exponential of the sum taken as the product of the
/// per-step transitions `$a_r$`.
///
/// # Errors
/// [`crate::Error::NonFiniteResult`] if an entry overflows.
///
/// # Complexity
/// `$O(G L^2 N + H L^2)$` time, `$O(H L^2)$` memory (the output).
pub fn head_attention<T: Real>(
    mixer: &Mamba2Mixer<T>,
    trace: &Mamba2Trace<T>,
) -> Result<Tensor<T>> {
    let (h, l) = (mixer.dims.n_heads, trace.len);
    let mut out = vec![T::zero(); h * l * l];
    head_attention_into(mixer, trace, &mut out)?;
    Tensor::new("attention", vec![h, l, l], out)
}

/// [`head_attention`] into a caller's buffer of `H·L·L` entries (every entry written,
/// the upper triangles with 0).
///
/// # Errors
/// [`crate::Error::InvalidArgument`] for a buffer of another size;
/// [`crate::Error::NonFiniteResult`] if an entry overflows.
pub fn head_attention_into<T: Real>(
    mixer: &Mamba2Mixer<T>,
    trace: &Mamba2Trace<T>,
    out: &mut [T],
) -> Result<()> {
    let d = mixer.dims;
    let (h, g, n, l) = (d.n_heads, d.n_groups, d.d_state, trace.len);
    let delta = step_sizes(mixer, trace);
    let group = |x: &[T], gi: usize| -> Vec<T> {
        (0..l)
            .flat_map(|t| x[(t * g + gi) * n..(t * g + gi + 1) * n].iter().copied())
            .collect()
    };
    let grams: Vec<Vec<T>> = (0..g)
        .map(|gi| {
            let (b, c) = (group(&trace.b, gi), group(&trace.c, gi));
            linear(&c, l, &b, l, n, None)
        })
        .collect();
    if out.len() != h * l * l {
        return Err(crate::Error::InvalidArgument {
            name: "out".into(),
            reason: format!("holds {} entries, H·L·L = {}", out.len(), h * l * l),
        });
    }
    out.par_chunks_mut((l * l).max(1))
        .enumerate()
        .for_each(|(hi, m)| {
            let gram = &grams[hi / (h / g)];
            let ah = mixer.a[hi];
            let dh: Vec<T> = (0..l).map(|r| delta[r * h + hi]).collect();
            // mask[s] = (∏_{r=s+1}^{t} a_r) Δ_s, updated from row t−1 by one product per
            // entry (independent across s, so it vectorises)
            let mut mask = vec![T::zero(); l];
            for t in 0..l {
                let at = (dh[t] * ah).exp();
                for v in &mut mask[..t] {
                    *v = *v * at;
                }
                mask[t] = dh[t];
                let row = &mut m[t * l..(t + 1) * l];
                for ((o, &g), &k) in row[..=t]
                    .iter_mut()
                    .zip(&gram[t * l..=t * l + t])
                    .zip(&mask)
                {
                    *o = g * k;
                }
                row[t + 1..].fill(T::zero());
            }
        });
    expect_finite_result("Mamba-2 hidden attention", out, &[h, l, l])
}

/// [`head_attention`] by the definition: the [`crate::family::ssd::SsdHead`] of every head
/// (through [`Mamba2Mixer::ssd_layer`]) and its α̃ (T8). The slow reference the fast path
/// is tested against.
///
/// # Errors
/// As [`Mamba2Mixer::ssd_layer`] and the SSD layer's attention.
pub fn head_attention_reference<T: Real>(
    mixer: &Mamba2Mixer<T>,
    trace: &Mamba2Trace<T>,
) -> Result<Tensor<T>> {
    let att = mixer.ssd_layer(trace)?.attention()?;
    let l = trace.len;
    Tensor::new(
        "attention",
        vec![mixer.dims.n_heads, l, l],
        att.data().to_vec(),
    )
}

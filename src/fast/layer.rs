//! Whole-layer extraction: the selected part of `$\tilde\alpha$` for every channel of a
//! layer (one batch element), into a caller buffer or streamed to a `.npy` file without
//! holding all channels at once. Channels run in parallel (rayon).

use std::io::Write;
use std::path::Path;

use rayon::prelude::*;

use super::chunked::{certainly_finite, product_factors, run, Factors, View};
use super::select::{band_into, row_into, Selection};
use super::{check_chunk, check_out, FastFloat};
use crate::error::{Error, Result};

/// One layer's SSM parameters for one batch element, in `mamba_ssm`'s layout:
/// `delta` `(dim, L)` (after bias and softplus), `a` `(dim, N)`, and the input-dependent
/// `b`, `c` `(N, L)` shared by all channels. Channel `$d$` is the [`crate::ssm::MambaChannel`]
/// `$(\Delta_{d,\cdot}, A_{d,\cdot}, B^\top, C^\top)$`, discretised with Euler's `$\bar B$`.
#[derive(Debug, Clone, Copy)]
pub struct LayerParams<'a, T> {
    /// Number of channels `$D$`.
    pub dim: usize,
    /// Sequence length `$L$`.
    pub len: usize,
    /// State size `$N$`.
    pub state: usize,
    /// `$\Delta$`, `(dim, L)`.
    pub delta: &'a [T],
    /// `$A$`, `(dim, N)`.
    pub a: &'a [T],
    /// `$B$`, `(N, L)`.
    pub b: &'a [T],
    /// `$C$`, `(N, L)`.
    pub c: &'a [T],
}

impl<T: FastFloat> LayerParams<'_, T> {
    /// Check sizes and finiteness.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for `$N = 0$`; [`Error::DataLength`] for an array of the
    /// wrong size; [`Error::NonFinite`] for a NaN/∞.
    pub fn validate(&self) -> Result<()> {
        if self.state == 0 {
            return Err(Error::InvalidArgument {
                name: "state".into(),
                reason: "state size N must be at least 1".into(),
            });
        }
        let (d, l, n) = (self.dim, self.len, self.state);
        for (name, v, shape) in [
            ("delta", self.delta, [d, l]),
            ("A", self.a, [d, n]),
            ("B", self.b, [n, l]),
            ("C", self.c, [n, l]),
        ] {
            check_out(name, &shape, v.len())?;
            if super::all_finite(v) {
                continue;
            }
            if let Some(p) = v.iter().position(|x| !x.is_finite()) {
                return Err(Error::NonFinite {
                    tensor: name.into(),
                    index: crate::tensor::unravel(p, &shape),
                    value: crate::scalar::Field::to_f64(&v[p]),
                });
            }
        }
        Ok(())
    }

    /// Channel `$d$` as a [`crate::ssm::MambaChannel`] (for checks against the reference).
    pub fn channel(&self, d: usize) -> crate::ssm::MambaChannel<T> {
        let (l, n) = (self.len, self.state);
        crate::ssm::MambaChannel {
            delta: self.delta[d * l..(d + 1) * l].to_vec(),
            a: self.a[d * n..(d + 1) * n].to_vec(),
            b: transpose(self.b, n, l),
            c: transpose(self.c, n, l),
        }
    }
}

/// `(rows, cols)` row-major → `(cols, rows)` row-major.
pub(crate) fn transpose<T: Copy>(x: &[T], rows: usize, cols: usize) -> Vec<T> {
    let mut out = Vec::with_capacity(x.len());
    for j in 0..cols {
        for i in 0..rows {
            out.push(x[i * cols + j]);
        }
    }
    out
}

/// Per-thread scratch: the discretised channel and the chunked factors.
struct Scratch<T> {
    abar: Vec<T>,
    bbar: Vec<T>,
    f: Factors<T>,
    p: Vec<T>,
}

impl<T: FastFloat> Scratch<T> {
    fn new() -> Self {
        Scratch {
            abar: Vec::new(),
            bbar: Vec::new(),
            f: Factors::new(),
            p: Vec::new(),
        }
    }
}

/// Channel `d` into `out`: discretise exactly as [`super::discretize`] (so the result is
/// bit-identical to the single-channel kernels on that channel), then the selection,
/// sequentially (the parallelism is over channels).
#[allow(clippy::too_many_arguments)]
fn one_channel<T: FastFloat>(
    p: &LayerParams<'_, T>,
    bt: &[T],
    ct: &[T],
    d: usize,
    sel: Selection,
    chunk: usize,
    out: &mut [T],
    s: &mut Scratch<T>,
) -> bool {
    let (l, n) = (p.len, p.state);
    let (delta, a) = (&p.delta[d * l..(d + 1) * l], &p.a[d * n..(d + 1) * n]);
    s.abar.clear();
    s.bbar.clear();
    for (t, &dt) in delta.iter().enumerate() {
        s.abar.extend(a.iter().map(|&x| dt * x));
        s.bbar
            .extend(bt[t * n..(t + 1) * n].iter().map(|&x| dt * x));
    }
    super::exp_in_place(&mut s.abar);
    s.p.resize(n, T::zero());
    let v = View {
        len: l,
        state: n,
        abar: &s.abar,
        bbar: &s.bbar,
        c: ct,
    };
    match sel {
        Selection::Row(i) => row_into(&v, i, out, &mut s.p),
        Selection::Band(k) => band_into(&v, k, out, &mut s.p),
        Selection::Full => {
            product_factors(&v, chunk, &mut s.f);
            run(&v, &s.f, chunk, out, false);
        }
    }
    certainly_finite(&v) || super::all_finite(out)
}

/// Compute channels `first..first + out.len() / per` into `out`, in parallel.
fn channels_into<T: FastFloat>(
    p: &LayerParams<'_, T>,
    bt: &[T],
    ct: &[T],
    first: usize,
    sel: Selection,
    chunk: usize,
    out: &mut [T],
) -> Result<()> {
    let per = sel.output_len(p.len);
    if per == 0 {
        return Ok(());
    }
    let bad = out
        .par_chunks_mut(per)
        .enumerate()
        .map_init(Scratch::new, |s, (k, o)| {
            let d = first + k;
            (!one_channel(p, bt, ct, d, sel, chunk, o, s)).then_some(d)
        })
        .find_any(|x| x.is_some())
        .flatten();
    match bad {
        None => Ok(()),
        Some(d) => Err(Error::NonFiniteResult {
            what: format!("hidden attention of channel {d}"),
            index: vec![d],
            value: f64::INFINITY,
        }),
    }
}

/// **Whole layer into a caller buffer.** For every channel `$d$` of the layer, the selected
/// part of its `$\tilde\alpha$` (see [`Selection`]) into `out`, laid out `(dim, …)` with
/// [`Selection::output_len`] values per channel (`(dim, L, L)` for the full matrix).
/// Channels run in parallel; each uses the chunked kernel sequentially.
///
/// Accuracy: channel `$d$`'s block is bit-identical to
/// [`super::select_into`]`(&`[`super::discretize`]`(&params.channel(d))?, sel, chunk, ..)`,
/// hence satisfies (F1) against the exact path of that channel, and (F1) with 6 more units
/// per step against [`crate::ssm::MambaChannel::discretize`]'s ([`super::entry_bound_with`]).
///
/// # Errors
/// As [`LayerParams::validate`] and [`super::select_into`]; [`Error::DataLength`] if
/// `out.len() != dim · output_len`.
///
/// # Complexity
/// `$D$` times the single-channel cost; `$O(LN)$` scratch per thread.
pub fn layer_into<T: FastFloat>(
    p: &LayerParams<'_, T>,
    sel: Selection,
    chunk: usize,
    out: &mut [T],
) -> Result<()> {
    check_chunk(chunk)?;
    p.validate()?;
    sel.validate(p.len)?;
    let mut shape = vec![p.dim];
    shape.extend(sel.shape(p.len));
    check_out("out", &shape, out.len())?;
    let bt = transpose(p.b, p.state, p.len);
    let ct = transpose(p.c, p.state, p.len);
    channels_into(p, &bt, &ct, 0, sel, chunk, out)
}

/// The `.npy` (version 1.0) header of a C-order array of `T` with this shape.
pub fn npy_header<T: FastFloat>(shape: &[usize]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut dict = format!(
        "{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}",
        T::NPY_DESCR,
        shape
    );
    let unpadded = 10 + dict.len() + 1;
    dict.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    dict.push('\n');
    let mut h = b"\x93NUMPY\x01\x00".to_vec();
    h.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    h.extend_from_slice(dict.as_bytes());
    h
}

/// **Whole layer streamed to a `.npy` file.** As [`layer_into`], but written to `path` as
/// an array of shape `(dim, …)` ([`Selection::shape`]) in groups of `group` channels
/// (computed in parallel, then written), so memory stays at `group` channels' outputs.
///
/// # Errors
/// As [`layer_into`]; [`Error::InvalidArgument`] for `group = 0`; [`Error::Io`] naming the
/// path on a write failure.
pub fn layer_to_npy<T: FastFloat>(
    p: &LayerParams<'_, T>,
    sel: Selection,
    chunk: usize,
    group: usize,
    path: &Path,
) -> Result<()> {
    check_chunk(chunk)?;
    if group == 0 {
        return Err(Error::InvalidArgument {
            name: "group".into(),
            reason: "channels per group must be at least 1".into(),
        });
    }
    p.validate()?;
    sel.validate(p.len)?;
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut shape = vec![p.dim];
    shape.extend(sel.shape(p.len));
    let file = std::fs::File::create(path).map_err(io)?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
    w.write_all(&npy_header::<T>(&shape)).map_err(io)?;
    let bt = transpose(p.b, p.state, p.len);
    let ct = transpose(p.c, p.state, p.len);
    let per = sel.output_len(p.len);
    let mut buf = vec![T::zero(); group.min(p.dim.max(1)) * per];
    let mut bytes = Vec::new();
    let mut first = 0;
    while first < p.dim {
        let g = group.min(p.dim - first);
        let out = &mut buf[..g * per];
        channels_into(p, &bt, &ct, first, sel, chunk, out)?;
        bytes.clear();
        T::extend_le(out, &mut bytes);
        w.write_all(&bytes).map_err(io)?;
        first += g;
    }
    w.flush().map_err(io)?;
    Ok(())
}

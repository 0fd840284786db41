//! Chunked hidden attention $\tilde\alpha$ (T1 + T4): diagonal blocks by running products,
//! off-diagonal panels as one rank-$N$ GEMM per row chunk (faer), rows of chunks in
//! parallel (rayon). See the [module docs](super) for the factorisation and bounds (F1), (F2).

use faer::linalg::matmul::matmul;
use faer::Parallelism;
use rayon::prelude::*;

use super::{check_chunk, check_out, FastFloat};
use crate::error::{Error, Result};
use crate::ssm::{Channel, MambaChannel};
use crate::tensor::Matrix;

/// The default chunk size $T$ (rows per GEMM panel and side of a diagonal block).
pub const DEFAULT_CHUNK: usize = 64;

/// The factors of the chunked form, row-major `L × N` (and `chunks × N` for `g`):
/// `q[i] = C_i ⊙ ∏_{k=s_c+1}^{i} Ā_k`, `k[j] = B̄_j ⊙ ∏_{k=j+1}^{s_{c+1}} Ā_k`,
/// `g[c] = ∏_{k=s_c+1}^{s_{c+1}} Ā_k` (the last chunk has no `k`, `g`).
pub(crate) struct Factors<T> {
    pub(crate) q: Vec<T>,
    pub(crate) k: Vec<T>,
    pub(crate) g: Vec<T>,
}

/// Borrowed view of a discretised channel: `abar`, `bbar`, `c` row-major `L × N`.
#[derive(Clone, Copy)]
pub(crate) struct View<'a, T> {
    pub(crate) len: usize,
    pub(crate) state: usize,
    pub(crate) abar: &'a [T],
    pub(crate) bbar: &'a [T],
    pub(crate) c: &'a [T],
}

impl<'a, T: FastFloat> View<'a, T> {
    pub(crate) fn of(ch: &'a Channel<T>) -> Self {
        View {
            len: ch.len(),
            state: ch.state(),
            abar: ch.abar_all(),
            bbar: ch.bbar_all(),
            c: ch.c_all(),
        }
    }
}

/// Factors by relative running *products* of Ā (division-free; any Ā).
pub(crate) fn product_factors<T: FastFloat>(v: &View<'_, T>, chunk: usize, f: &mut Factors<T>) {
    let (l, n) = (v.len, v.state);
    let chunks = l.div_ceil(chunk);
    f.q.resize(l * n, T::zero());
    f.k.resize(l * n, T::zero());
    f.g.resize(chunks * n, T::zero());
    let mut p = vec![T::one(); n];
    for c in 0..chunks {
        let (s, e) = (c * chunk, ((c + 1) * chunk).min(l));
        p.iter_mut().for_each(|x| *x = T::one());
        for i in s..e {
            if i > s {
                mul_assign(&mut p, &v.abar[i * n..(i + 1) * n]);
            }
            mul_into(&mut f.q[i * n..(i + 1) * n], &v.c[i * n..(i + 1) * n], &p);
        }
        if e < l {
            p.copy_from_slice(&v.abar[e * n..(e + 1) * n]);
            for j in (s..e).rev() {
                mul_into(
                    &mut f.k[j * n..(j + 1) * n],
                    &v.bbar[j * n..(j + 1) * n],
                    &p,
                );
                if j == s {
                    f.g[c * n..(c + 1) * n].copy_from_slice(&p);
                } else {
                    mul_assign(&mut p, &v.abar[j * n..(j + 1) * n]);
                }
            }
        }
    }
}

/// Factors by exponentials of relative cumulative sums of $\Delta_k A_n$ (F2).
fn cumsum_factors<T: FastFloat>(
    m: &MambaChannel<T>,
    v: &View<'_, T>,
    chunk: usize,
    f: &mut Factors<T>,
) {
    let (l, n) = (v.len, v.state);
    let chunks = l.div_ceil(chunk);
    f.q.resize(l * n, T::zero());
    f.k.resize(l * n, T::zero());
    f.g.resize(chunks * n, T::zero());
    let mut r = vec![T::zero(); n];
    for c in 0..chunks {
        let (s, e) = (c * chunk, ((c + 1) * chunk).min(l));
        r.iter_mut().for_each(|x| *x = T::zero());
        for i in s..e {
            if i > s {
                for (rk, &a) in r.iter_mut().zip(&m.a) {
                    *rk = *rk + m.delta[i] * a;
                }
            }
            for k in 0..n {
                f.q[i * n + k] = v.c[i * n + k] * r[k].exp();
            }
        }
        if e < l {
            for (rk, &a) in r.iter_mut().zip(&m.a) {
                *rk = m.delta[e] * a;
            }
            for j in (s..e).rev() {
                for k in 0..n {
                    let d = r[k].exp();
                    f.k[j * n + k] = v.bbar[j * n + k] * d;
                    if j == s {
                        f.g[c * n + k] = d;
                    }
                }
                if j > s {
                    for (rk, &a) in r.iter_mut().zip(&m.a) {
                        *rk = *rk + m.delta[j] * a;
                    }
                }
            }
        }
    }
}

#[inline(always)]
fn mul_assign<T: FastFloat>(p: &mut [T], a: &[T]) {
    for (x, &y) in p.iter_mut().zip(a) {
        *x = *x * y;
    }
}

#[inline(always)]
fn mul_into<T: FastFloat>(dst: &mut [T], a: &[T], b: &[T]) {
    for ((d, &x), &y) in dst.iter_mut().zip(a).zip(b) {
        *d = x * y;
    }
}

/// $\langle a, b\rangle$ with four partial sums (any summation order satisfies the bound).
#[inline(always)]
fn dot4<T: FastFloat>(a: &[T], b: &[T]) -> T {
    let mut acc = [T::zero(); 4];
    let mut ca = a.chunks_exact(4);
    let mut cb = b.chunks_exact(4);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for t in 0..4 {
            acc[t] = acc[t] + x[t] * y[t];
        }
    }
    let mut s = (acc[0] + acc[2]) + (acc[1] + acc[3]);
    for (&x, &y) in ca.remainder().iter().zip(cb.remainder()) {
        s = s + x * y;
    }
    s
}

/// Rows `s..e` (chunk `c`) of α̃ into `rows` (`(e - s) × L`, row-major), with scratch
/// `kbuf` (`≥ s × N`) and `p` (`N`).
#[allow(clippy::too_many_arguments)]
fn row_chunk<T: FastFloat>(
    v: &View<'_, T>,
    f: &Factors<T>,
    chunk: usize,
    c: usize,
    rows: &mut [T],
    kbuf: &mut [T],
    p: &mut [T],
) {
    let (l, n) = (v.len, v.state);
    let s = c * chunk;
    let h = rows.len() / l;
    if s > 0 {
        // K^{(c)}: columns of every earlier chunk, scaled by the between-chunk decay.
        let mut d = vec![T::one(); n];
        for cp in (0..c).rev() {
            let (s2, e2) = (cp * chunk, (cp + 1) * chunk);
            if cp + 1 == c {
                kbuf[s2 * n..e2 * n].copy_from_slice(&f.k[s2 * n..e2 * n]);
            } else {
                for j in s2..e2 {
                    mul_into(&mut kbuf[j * n..(j + 1) * n], &f.k[j * n..(j + 1) * n], &d);
                }
            }
            if cp > 0 {
                mul_assign(&mut d, &f.g[cp * n..(cp + 1) * n]);
            }
        }
        let dst =
            faer::mat::from_row_major_slice_with_stride_mut(&mut rows[..(h - 1) * l + s], h, s, l);
        let lhs = faer::mat::from_row_major_slice(&f.q[s * n..(s + h) * n], h, n);
        let rhs = faer::mat::from_row_major_slice(&kbuf[..s * n], s, n).transpose();
        matmul(dst, lhs, rhs, None, T::one(), Parallelism::None);
    }
    for r in 0..h {
        let i = s + r;
        let row = &mut rows[r * l..(r + 1) * l];
        p.copy_from_slice(&v.c[i * n..(i + 1) * n]);
        for j in (s..=i).rev() {
            row[j] = dot4(p, &v.bbar[j * n..(j + 1) * n]);
            if j > s {
                mul_assign(p, &v.abar[j * n..(j + 1) * n]);
            }
        }
        row[i + 1..].fill(T::zero());
    }
}

/// Run the chunked kernel from prepared factors into `out` (`L × L`).
pub(crate) fn run<T: FastFloat>(
    v: &View<'_, T>,
    f: &Factors<T>,
    chunk: usize,
    out: &mut [T],
    parallel: bool,
) {
    let (l, n) = (v.len, v.state);
    if l == 0 {
        return;
    }
    if parallel {
        out.par_chunks_mut(chunk * l).enumerate().for_each_init(
            || (vec![T::zero(); l * n], vec![T::zero(); n]),
            |(kbuf, p), (c, rows)| row_chunk(v, f, chunk, c, rows, kbuf, p),
        );
    } else {
        let (mut kbuf, mut p) = (vec![T::zero(); l * n], vec![T::zero(); n]);
        for (c, rows) in out.chunks_mut(chunk * l).enumerate() {
            row_chunk(v, f, chunk, c, rows, &mut kbuf, &mut p);
        }
    }
}

/// Whether α̃ of the channel is certainly finite: all $|\bar A| \le 1$ and
/// $N \max|C| \max|\bar B|$ below the overflow threshold (then every entry is bounded by it).
pub(crate) fn certainly_finite<T: FastFloat>(v: &View<'_, T>) -> bool {
    let m = |x: &[T]| x.iter().fold(T::zero(), |acc, &y| acc.max(y.abs()));
    let bound = T::from_f64(v.state as f64) * m(v.c) * m(v.bbar);
    m(v.abar) <= T::one() && bound.is_finite() && bound < T::max_value() / T::from_f64(4.0)
}

/// Unless [`certainly_finite`], check every output entry (`shape` names the index).
pub(crate) fn check_result<T: FastFloat>(
    v: &View<'_, T>,
    out: &[T],
    shape: &[usize],
) -> Result<()> {
    if certainly_finite(v) {
        return Ok(());
    }
    match out.iter().position(|x| !x.is_finite()) {
        None => Ok(()),
        Some(p) => Err(Error::NonFiniteResult {
            what: "hidden attention (fast path)".into(),
            index: crate::tensor::unravel(p, shape),
            value: crate::scalar::Field::to_f64(&out[p]),
        }),
    }
}

/// **T1 + T4, chunked.** The full hidden attention $\tilde\alpha$ of a float channel
/// written into `out` (row-major `L × L`, zeros above the diagonal), in chunks of `chunk`
/// steps: diagonal blocks by the running product of T1, each row chunk's off-diagonal
/// panel as the GEMM $Q_c (K^{(c)})^\top$ of the [module docs](super); rows of chunks in
/// parallel.
///
/// Accuracy (F1): $|\mathrm{fl}(\tilde\alpha_{ij}) - \tilde\alpha_{ij}| \le \gamma_{i-j+N+1}M_{ij}
/// + \eta$ against the exact path ([`super::entry_bound`]); no division, so no overflow for
/// $|\bar A| \le 1$ at any length.
///
/// # Errors
/// [`Error::InvalidArgument`] for `chunk = 0`; [`Error::DataLength`] if `out.len() != L²`;
/// [`Error::NonFiniteResult`] if an entry overflows (possible only when some $|\bar A| > 1$).
///
/// # Complexity
/// $O(L^2N)$ flops (half of them in the GEMM), $O(L N)$ extra memory per thread, one write
/// of each of the $L^2$ outputs.
///
/// # Examples
/// ```
/// use hidden_attention::{fast, ssm::{hidden_attention, MambaChannel, BRule}};
/// let m = MambaChannel { delta: vec![0.5f64; 5], a: vec![-1.0, -2.0],
///                        b: vec![1.0; 10], c: vec![0.5; 10] };
/// let ch = m.discretize(BRule::Euler).unwrap();
/// let mut out = vec![0.0; 25];
/// fast::hidden_attention_into(&ch, 2, &mut out).unwrap();
/// let slow = hidden_attention(&ch).unwrap();
/// for (a, b) in out.iter().zip(slow.data()) { assert!((a - b).abs() < 1e-15); }
/// ```
pub fn hidden_attention_into<T: FastFloat>(
    ch: &Channel<T>,
    chunk: usize,
    out: &mut [T],
) -> Result<()> {
    check_chunk(chunk)?;
    let l = ch.len();
    check_out("out", &[l, l], out.len())?;
    let v = View::of(ch);
    let mut f = Factors {
        q: Vec::new(),
        k: Vec::new(),
        g: Vec::new(),
    };
    product_factors(&v, chunk, &mut f);
    run(&v, &f, chunk, out, true);
    check_result(&v, out, &[l, l])
}

/// [`hidden_attention_into`] into a new [`Matrix`].
///
/// # Errors
/// As [`hidden_attention_into`].
pub fn hidden_attention<T: FastFloat>(ch: &Channel<T>, chunk: usize) -> Result<Matrix<T>> {
    let l = ch.len();
    let mut out = vec![T::zero(); l * l];
    hidden_attention_into(ch, chunk, &mut out)?;
    Matrix::from_row_major(l, l, out)
}

/// **T1 + T4 from Mamba's parameters, with relative cumulative sums.** α̃ of the channel
/// `m.discretize(Euler)` into `out` (`L × L`): the off-diagonal factors are exponentials of
/// relative sums of $\Delta_k A_n$ that never leave $[-(T+1)\max|\Delta A|, 0]$ (prefix sums
/// from each chunk start, suffix sums to the next chunk start), the diagonal blocks use
/// $\bar A_k = e^{\Delta_k A}$ exactly as [`MambaChannel::discretize`] does.
///
/// Accuracy (F2): [`super::mamba_entry_bound`] against the exact α̃ of the discretised channel.
///
/// # Errors
/// As [`hidden_attention_into`], and as [`MambaChannel::discretize`] for bad parameters.
pub fn mamba_hidden_attention_into<T: FastFloat>(
    m: &MambaChannel<T>,
    chunk: usize,
    out: &mut [T],
) -> Result<()> {
    check_chunk(chunk)?;
    let ch = m.discretize(crate::ssm::BRule::Euler)?;
    let l = ch.len();
    check_out("out", &[l, l], out.len())?;
    let v = View::of(&ch);
    let mut f = Factors {
        q: Vec::new(),
        k: Vec::new(),
        g: Vec::new(),
    };
    cumsum_factors(m, &v, chunk, &mut f);
    run(&v, &f, chunk, out, true);
    check_result(&v, out, &[l, l])
}

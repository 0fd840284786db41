//! Chunked hidden attention `$\tilde\alpha$` (T1 + T4): diagonal blocks by running products,
//! off-diagonal panels as one rank-`$N$` GEMM per row chunk (faer), rows of chunks in
//! parallel (rayon). See the [module docs](super) for the factorisation and bounds (F1), (F2).

use rayon::prelude::*;

use super::diagonal::diagonal;
use super::panel::panel;
use super::{check_chunk, check_out, FastFloat};
use crate::error::{Error, Result};
use crate::scalar::Field;
use crate::ssm::{Channel, MambaChannel};
use crate::tensor::Matrix;

/// The default chunk size `$T$` (rows per GEMM panel and side of a diagonal block).
pub const DEFAULT_CHUNK: usize = 64;

/// The factors of the chunked form: `q` row-major `L × N`, `k` transposed `N × L`
/// (contiguous in the step, as the panel kernel reads it), `g` row-major `chunks × N`:
/// `q[i] = C_i ⊙ ∏_{k=s_c+1}^{i} Ā_k`, `k[·, j] = B̄_j ⊙ ∏_{k=j+1}^{s_{c+1}} Ā_k`,
/// `g[c] = ∏_{k=s_c+1}^{s_{c+1}} Ā_k` (the last chunk has no `k`, `g`); `qmax[c]`, `kmax[c]`
/// (`chunks × N`) the largest `$|q|$`, `$|k|$` of chunk `c` per state, which bound every term of
/// an off-diagonal block and let [`row_chunk`] skip the states whose terms all lie below the
/// normal range.
pub(crate) struct Factors<T> {
    pub(crate) q: Vec<T>,
    pub(crate) k: Vec<T>,
    pub(crate) g: Vec<T>,
    pub(crate) qmax: Vec<T>,
    pub(crate) kmax: Vec<T>,
}

impl<T: FastFloat> Factors<T> {
    pub(crate) fn new() -> Self {
        Factors {
            q: Vec::new(),
            k: Vec::new(),
            g: Vec::new(),
            qmax: Vec::new(),
            kmax: Vec::new(),
        }
    }

    /// Size every array for `L = l`, `N = n` and `chunks` chunks; zero the maxima.
    fn reset(&mut self, l: usize, n: usize, chunks: usize) {
        self.q.resize(l * n, T::zero());
        self.k.resize(l * n, T::zero());
        self.g.resize(chunks * n, T::zero());
        self.qmax.clear();
        self.qmax.resize(chunks * n, T::zero());
        self.kmax.clear();
        self.kmax.resize(chunks * n, T::zero());
    }
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

/// Factors by relative running *products* of Ā (division-free; any Ā), compiled for the
/// widest instruction set of the CPU (the operations are the same multiplications in the
/// same order everywhere, so the factors are bit-identical across instruction sets).
pub(crate) fn product_factors<T: FastFloat>(v: &View<'_, T>, chunk: usize, f: &mut Factors<T>) {
    #[cfg(target_arch = "x86_64")]
    {
        match super::simd_level() {
            // SAFETY: the CPU has the features these functions are compiled with.
            "avx512" => return unsafe { product_factors_avx512(v, chunk, f) },
            // SAFETY: as above.
            "avx2+fma" => return unsafe { product_factors_avx2(v, chunk, f) },
            _ => {}
        }
    }
    product_factors_impl(v, chunk, f)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
fn product_factors_avx512<T: FastFloat>(v: &View<'_, T>, chunk: usize, f: &mut Factors<T>) {
    product_factors_impl(v, chunk, f)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn product_factors_avx2<T: FastFloat>(v: &View<'_, T>, chunk: usize, f: &mut Factors<T>) {
    product_factors_impl(v, chunk, f)
}

#[inline(always)]
fn product_factors_impl<T: FastFloat>(v: &View<'_, T>, chunk: usize, f: &mut Factors<T>) {
    let (l, n) = (v.len, v.state);
    let chunks = l.div_ceil(chunk);
    f.reset(l, n, chunks);
    let mut p = vec![T::one(); n];
    for c in 0..chunks {
        let (s, e) = (c * chunk, ((c + 1) * chunk).min(l));
        p.iter_mut().for_each(|x| *x = T::one());
        for i in s..e {
            if i > s {
                mul_assign(&mut p, &v.abar[i * n..(i + 1) * n]);
            }
            mul_into(&mut f.q[i * n..(i + 1) * n], &v.c[i * n..(i + 1) * n], &p);
            max_abs_into(&mut f.qmax[c * n..(c + 1) * n], &f.q[i * n..(i + 1) * n]);
        }
        if e < l {
            p.copy_from_slice(&v.abar[e * n..(e + 1) * n]);
            for j in (s..e).rev() {
                let km = &mut f.kmax[c * n..(c + 1) * n];
                for (k, (&b, &x)) in v.bbar[j * n..(j + 1) * n].iter().zip(p.iter()).enumerate() {
                    let kv = T::mul_flush(b, x);
                    f.k[k * l + j] = kv;
                    if kv.abs() > km[k] {
                        km[k] = kv.abs();
                    }
                }
                if j == s {
                    f.g[c * n..(c + 1) * n].copy_from_slice(&p);
                } else {
                    mul_assign(&mut p, &v.abar[j * n..(j + 1) * n]);
                }
            }
        }
    }
}

/// Factors by exponentials of relative cumulative sums of `$\Delta_k A_n$` (F2).
fn cumsum_factors<T: FastFloat>(
    m: &MambaChannel<T>,
    v: &View<'_, T>,
    chunk: usize,
    f: &mut Factors<T>,
) {
    let (l, n) = (v.len, v.state);
    let chunks = l.div_ceil(chunk);
    f.reset(l, n, chunks);
    let mut r = vec![T::zero(); n];
    for c in 0..chunks {
        let (s, e) = (c * chunk, ((c + 1) * chunk).min(l));
        r.iter_mut().for_each(|x| *x = T::zero());
        for i in s..e {
            if i > s {
                for (rk, &a) in r.iter_mut().zip(&m.a) {
                    *rk += m.delta[i] * a;
                }
            }
            for k in 0..n {
                let qv = T::mul_flush(v.c[i * n + k], r[k].exp());
                f.q[i * n + k] = qv;
                f.qmax[c * n + k] = f.qmax[c * n + k].max(qv.abs());
            }
        }
        if e < l {
            for (rk, &a) in r.iter_mut().zip(&m.a) {
                *rk = m.delta[e] * a;
            }
            for j in (s..e).rev() {
                for k in 0..n {
                    let d = r[k].exp();
                    let kv = T::mul_flush(v.bbar[j * n + k], d);
                    f.k[k * l + j] = kv;
                    f.kmax[c * n + k] = f.kmax[c * n + k].max(kv.abs());
                    if j == s {
                        f.g[c * n + k] = d;
                    }
                }
                if j > s {
                    for (rk, &a) in r.iter_mut().zip(&m.a) {
                        *rk += m.delta[j] * a;
                    }
                }
            }
        }
    }
}

/// `p ⊙= a` by [`FastFloat::mul_flush`].
#[inline(always)]
fn mul_assign<T: FastFloat>(p: &mut [T], a: &[T]) {
    for (x, &y) in p.iter_mut().zip(a) {
        *x = T::mul_flush(*x, y);
    }
}

/// `dst = a ⊙ b` by [`FastFloat::mul_flush`].
#[inline(always)]
fn mul_into<T: FastFloat>(dst: &mut [T], a: &[T], b: &[T]) {
    for ((d, &x), &y) in dst.iter_mut().zip(a).zip(b) {
        *d = T::mul_flush(x, y);
    }
}

/// `m = max(m, |x|)` entrywise.
#[inline(always)]
fn max_abs_into<T: FastFloat>(m: &mut [T], x: &[T]) {
    for (a, &b) in m.iter_mut().zip(x) {
        if b.abs() > *a {
            *a = b.abs();
        }
    }
}

/// Rows `s..e` (chunk `c`) of α̃ into `rows` (`(e - s) × L`, row-major), with scratch
/// `kbuf` (`≥ N × s`).
///
/// A state `$n$` of an earlier chunk `$c'$` whose terms are all below `$\lambda/2$` — by the bound
/// `$\max|q_{\cdot,n}|\,\max|k_{\cdot,n}|\,|d_n|$` of the block, `$d_n$` the between-chunk
/// decay — contributes zeros instead (each dropped term is off by less than `$\lambda$`, which
/// the `$\eta$` of (F1) covers); the columns left of the leftmost chunk with a live state are
/// written as zeros without a GEMM. For a decaying channel this confines the GEMM to the
/// few chunks left of the diagonal and keeps subnormal products, which are one to two
/// orders of magnitude slower than normal ones on x86, out of the panel.
fn row_chunk<T: FastFloat>(
    v: &View<'_, T>,
    f: &Factors<T>,
    chunk: usize,
    c: usize,
    rows: &mut [T],
    kbuf: &mut [T],
) {
    let (l, n) = (v.len, v.state);
    let s = c * chunk;
    let h = rows.len() / l;
    if s > 0 {
        // (K^{(c)})ᵀ, N × s: columns of every earlier chunk, scaled by the between-chunk decay.
        let half_min = 0.5 * T::min_normal();
        let qmax = &f.qmax[c * n..(c + 1) * n];
        let mut d = vec![T::one(); n];
        let mut lo = s;
        for cp in (0..c).rev() {
            let (s2, e2) = (cp * chunk, (cp + 1) * chunk);
            let kmax = &f.kmax[cp * n..(cp + 1) * n];
            let mut live = false;
            for (k, &dk) in d.iter().enumerate() {
                let dst = &mut kbuf[k * s + s2..k * s + e2];
                let worst =
                    Field::to_f64(&qmax[k]) * Field::to_f64(&kmax[k]) * Field::to_f64(&dk).abs();
                if worst < half_min {
                    dst.fill(T::zero());
                    continue;
                }
                live = true;
                let src = &f.k[k * l + s2..k * l + e2];
                if cp + 1 == c {
                    dst.copy_from_slice(src);
                } else {
                    for (o, &x) in dst.iter_mut().zip(src) {
                        *o = T::mul_flush(x, dk);
                    }
                }
            }
            if live {
                lo = s2;
            }
            if cp > 0 {
                mul_assign(&mut d, &f.g[cp * n..(cp + 1) * n]);
            }
        }
        for r in 0..h {
            rows[r * l..r * l + lo].fill(T::zero());
        }
        if lo < s {
            panel(
                &f.q[s * n..(s + h) * n],
                n,
                &kbuf[lo..n * s],
                s,
                s - lo,
                &mut rows[lo..],
                l,
                h,
            );
        }
    }
    diagonal(v, s, h, rows);
}

/// Whether α̃ of this size is worth handing to the thread pool: below about `$2^{21}$`
/// multiply-adds the hand-off (waking a worker, blocking the caller) costs more than the
/// second thread saves.
fn worth_parallel(l: usize, n: usize) -> bool {
    l * l * n >= 1 << 21
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
            || vec![T::zero(); n * l],
            |kbuf, (c, rows)| row_chunk(v, f, chunk, c, rows, kbuf),
        );
    } else {
        let mut kbuf = vec![T::zero(); n * l];
        for (c, rows) in out.chunks_mut(chunk * l).enumerate() {
            row_chunk(v, f, chunk, c, rows, &mut kbuf);
        }
    }
}

/// Whether α̃ of the channel is certainly finite: all `$|\bar A| \le 1$` and
/// `$N \max|C| \max|\bar B|$` below the overflow threshold (then every entry is bounded by it).
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

/// **T1 + T4, chunked.** The full hidden attention `$\tilde\alpha$` of a float channel
/// written into `out` (row-major `L × L`, zeros above the diagonal), in chunks of `chunk`
/// steps: diagonal blocks by the running product of T1, each row chunk's off-diagonal
/// panel as the GEMM `$Q_c (K^{(c)})^\top$` of the [module docs](super); rows of chunks in
/// parallel.
///
/// Accuracy (F1): `$|\mathrm{fl}(\tilde\alpha_{ij}) - \tilde\alpha_{ij}| \le
/// \gamma_{i-j+N+1}M_{ij} + \eta$` against the exact path ([`super::entry_bound`]); no division, so no overflow for
/// `$|\bar A| \le 1$` at any length.
///
/// # Errors
/// [`Error::InvalidArgument`] for `chunk = 0`; [`Error::DataLength`] if `out.len() != L²`;
/// [`Error::NonFiniteResult`] if an entry overflows (possible only when some `$|\bar A| > 1$`).
///
/// # Complexity
/// `$O(L^2N)$` flops (half of them in the GEMM), `$O(L N)$` extra memory per thread, one write
/// of each of the `$L^2$` outputs.
///
/// # Examples
/// ```
/// use hidden_attention::{fast, ssm::{self, MambaChannel, BRule}};
/// let m = MambaChannel { delta: vec![0.5f64; 5], a: vec![-1.0, -2.0],
///                        b: vec![1.0; 10], c: vec![0.5; 10] };
/// let ch = m.discretize(BRule::Euler).unwrap();
/// let mut out = vec![0.0; 25];
/// fast::hidden_attention_into(&ch, 2, &mut out).unwrap();
/// let slow = ssm::attention_matrix(&ch).unwrap();
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
    let mut f = Factors::new();
    product_factors(&v, chunk, &mut f);
    run(&v, &f, chunk, out, worth_parallel(l, v.state));
    check_result(&v, out, &[l, l])
}

/// [`hidden_attention_into`] into a new [`Matrix`].
///
/// # Errors
/// As [`hidden_attention_into`].
pub fn attention_matrix<T: FastFloat>(ch: &Channel<T>, chunk: usize) -> Result<Matrix<T>> {
    let l = ch.len();
    let mut out = vec![T::zero(); l * l];
    hidden_attention_into(ch, chunk, &mut out)?;
    Matrix::from_row_major(l, l, out)
}

/// **T1 + T4 from Mamba's parameters, with relative cumulative sums.** α̃ of the channel
/// `m.discretize(Euler)` into `out` (`L × L`): the off-diagonal factors are exponentials of
/// relative sums of `$\Delta_k A_n$` that never leave `$[-(T+1)\max|\Delta A|, 0]$` (prefix sums
/// from each chunk start, suffix sums to the next chunk start), the diagonal blocks use
/// `$\bar A_k = e^{\Delta_k A}$` exactly as [`MambaChannel::discretize`] does.
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
    let mut f = Factors::new();
    cumsum_factors(m, &v, chunk, &mut f);
    run(&v, &f, chunk, out, worth_parallel(l, v.state));
    check_result(&v, out, &[l, l])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fast::panel::panel_faer;

    /// The SIMD panel kernels (whichever this CPU runs) agree with faer's GEMM, for every
    /// row and column tail.
    #[test]
    fn panel_kernels_agree_with_faer() {
        for &(h, n, s) in &[
            (1usize, 16usize, 1usize),
            (4, 16, 32),
            (7, 16, 77),
            (64, 16, 128),
            (5, 3, 33),
            (9, 1, 200),
        ] {
            let q: Vec<f64> = (0..h * n)
                .map(|i| ((i * 7919) % 101) as f64 / 50.0 - 1.0)
                .collect();
            let kt: Vec<f64> = (0..n * s)
                .map(|i| ((i * 104_729) % 97) as f64 / 48.0 - 1.0)
                .collect();
            let ld = s + 3;
            let mut a = vec![0.0; h * ld];
            let mut b = vec![0.0; h * ld];
            panel(&q, n, &kt, s, s, &mut a, ld, h);
            panel_faer(&q, n, &kt, s, s, &mut b, ld, h);
            for (x, y) in a.iter().zip(&b) {
                assert!((x - y).abs() <= 1e-13, "h {h} n {n} s {s}: {x} vs {y}");
            }
            let qf: Vec<f32> = q.iter().map(|&x| x as f32).collect();
            let kf: Vec<f32> = kt.iter().map(|&x| x as f32).collect();
            let mut a = vec![0.0f32; h * ld];
            let mut b = vec![0.0f32; h * ld];
            panel(&qf, n, &kf, s, s, &mut a, ld, h);
            panel_faer(&qf, n, &kf, s, s, &mut b, ld, h);
            for (x, y) in a.iter().zip(&b) {
                assert!((x - y).abs() <= 1e-5, "f32 h {h} n {n} s {s}: {x} vs {y}");
            }
        }
    }
}

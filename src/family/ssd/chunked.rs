//! T13 — the chunked SSD algorithm, in the order Mamba-2 computes it.

use crate::error::{Error, Result};
use crate::scalar::Field;
use crate::ssm::ScanOutput;
use crate::tensor::{dot, expect_finite_result};

use super::head::SsdHead;

/// **T13 — chunked SSD = scan.** The output and final state of an SSD head computed in
/// the order of Mamba-2's `ssd_minimal_discrete`, with chunks
/// `$[c_0, c_1) = [kQ, \min((k+1)Q, L))$` of size `$Q \ge 1$` (the last one is short when
/// `$Q \nmid L$`):
///
/// 1. intra-chunk (diagonal blocks): `$Y^{\mathrm{diag}}_t = \sum_{s=c_0}^{t}
///    (\langle C_t,\bar B_s\rangle \prod_{r=s+1}^{t} a_r)\,x_s$` — the masked product
///    `$((C\bar B^\top)\circ M)\,x$` on the chunk;
/// 2. chunk states: `$S_k = \sum_{s=c_0}^{c_1-1} \big(\bar B_s x_s\big)
///    \prod_{r=s+1}^{c_1-1} a_r$`;
/// 3. inter-chunk recurrence: `$H_0 = 0$`, `$H_{k+1} = \Lambda_k H_k + S_k$` with the chunk
///    decay `$\Lambda_k = \prod_{r=c_0}^{c_1-1} a_r$` (`$H_k$` is the state entering chunk `$k$`,
///    `$H_K = h_{L-1}$` the final state);
/// 4. state to output: `$Y^{\mathrm{off}}_t = \langle C_t, H_k\rangle \prod_{r=c_0}^{t} a_r$`;
///
/// and `$y_t = Y^{\mathrm{diag}}_t + Y^{\mathrm{off}}_t$`. Over any commutative ring this
/// equals [`super::scan()`] exactly, for every `$Q \ge 1$`: unrolling step 3 gives
/// `$H_k = \sum_{s < c_0} (\prod_{r=s+1}^{c_0-1} a_r)\bar B_s x_s$`, so
/// `$Y^{\mathrm{off}}_t = \sum_{s<c_0}\tilde\alpha_{ts}x_s$` and
/// `$Y^{\mathrm{diag}}_t = \sum_{s=c_0}^{t}\tilde\alpha_{ts}x_s$` (T8) (Coq:
/// `t13_chunked_eq_scan`). Mamba-2 takes `$a = e^{\Delta A_h}$` and forms the products as
/// exponentials of sums (`segsum`); here they are products of the `$a_r$`, so the identity
/// holds over the rationals with no exponential. The float error is covered by the bound
/// of [`super::bound`].
///
/// # Errors
/// [`Error::InvalidArgument`] for chunk size `$Q = 0$`; as [`super::scan()`] for `x`.
///
/// # Complexity
/// `$O(LQN + LN)$` time, `$O(N)$` extra memory per chunk.
///
/// # Examples
/// ```
/// use hidden_attention::{family::ssd::{chunked, scan, SsdHead}, scalar::ratio};
/// let h = SsdHead::new(3, 1, vec![ratio(1, 2); 3], vec![ratio(1, 1); 3],
///                      vec![ratio(1, 1), ratio(2, 1), ratio(3, 1)]).unwrap();
/// let x = [ratio(1, 1), ratio(-1, 1), ratio(4, 1)];
/// for q in 1..=4 {
///     assert_eq!(chunked(&h, &x, q).unwrap(), scan(&h, &x).unwrap());
/// }
/// assert!(chunked(&h, &x, 0).is_err());
/// ```
pub fn chunked<T: Field>(head: &SsdHead<T>, x: &[T], chunk: usize) -> Result<ScanOutput<T>> {
    check_chunk(chunk)?;
    head.expect_input(x)?;
    let (l, n) = (head.len(), head.state());
    let mut y = vec![T::zero(); l];
    // H_k: the state entering the current chunk
    let mut state = vec![T::zero(); n];
    let mut c0 = 0;
    while c0 < l {
        let c1 = (c0 + chunk).min(l);
        // 1. intra-chunk masked products
        for t in c0..c1 {
            let mut p = T::one();
            let mut acc = T::zero();
            for s in (c0..=t).rev() {
                acc += &(dot(head.c(t), head.bbar(s)) * &p * &x[s]);
                if s > c0 {
                    p *= head.a(s);
                }
            }
            y[t] = acc;
        }
        // 2. the chunk's own state S_k, decays to the chunk's end formed right to left
        let mut s_k = vec![T::zero(); n];
        let mut d = T::one();
        for s in (c0..c1).rev() {
            let b = head.bbar(s);
            for k in 0..n {
                s_k[k] += &(b[k].clone() * &x[s] * &d);
            }
            d *= head.a(s);
        }
        // after the loop d = Λ_k = ∏_{r=c0}^{c1-1} a_r
        // 4. state to output, from the state entering the chunk
        let mut out = T::one();
        for t in c0..c1 {
            out *= head.a(t);
            let off = dot(head.c(t), &state) * &out;
            y[t] += &off;
        }
        // 3. inter-chunk recurrence H_{k+1} = Λ_k H_k + S_k
        for k in 0..n {
            state[k] *= &d;
            state[k] += &s_k[k];
        }
        c0 = c1;
    }
    expect_finite_result("chunked SSD output y", &y, &[l])?;
    expect_finite_result("chunked SSD final state", &state, &[n])?;
    Ok(ScanOutput {
        y,
        last_state: state,
    })
}

/// A chunk size must be at least 1.
pub(crate) fn check_chunk(chunk: usize) -> Result<()> {
    if chunk == 0 {
        return Err(Error::InvalidArgument {
            name: "chunk".into(),
            reason: "chunk size must be at least 1".into(),
        });
    }
    Ok(())
}

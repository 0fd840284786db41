//! The SSD (Mamba-2) head: a scalar transition shared by the whole state.

use crate::error::{Error, Result};
use crate::scalar::{Exact, Field};
use crate::ssm::{Channel, ScanOutput};
use crate::tensor::{dot, expect_finite_result, unravel, Matrix};

/// One discretised SSD head (Mamba-2's state-space dual layer, one head and one value
/// coordinate) over a field `T`, with **scalar** transitions:
///
/// ```math
/// h_t = a_t\,h_{t-1} + \bar B_t x_t,\quad h_0 = 0,\quad y_t = \langle C_t, h_t\rangle,
/// \qquad a_t \in K,\ \bar B_t, C_t \in K^N .
/// ```
///
/// In Mamba-2 `$a_t = e^{\Delta_t A_h}$` and `$\bar B_t = \Delta_t B_t$` (see
/// [`super::layer`]). Steps are 0-based in Rust (`t = 0..L`), `$1..L$` in the mathematics.
/// `$\bar B$` and `$C$` are stored row-major as `L × N`.
#[derive(Debug, Clone, PartialEq)]
pub struct SsdHead<T> {
    len: usize,
    state: usize,
    a: Vec<T>,
    bbar: Vec<T>,
    c: Vec<T>,
}

impl<T: Field> SsdHead<T> {
    /// A head from its transitions `$a$` (length `$L$`) and row-major `L × N` arrays
    /// `$\bar B$`, `$C$`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for `N = 0`; [`Error::DataLength`] when `a` is not of
    /// length `$L$` or `bbar`/`c` are not `L × N`; [`Error::NonFinite`] naming the array and
    /// index of a NaN/∞.
    ///
    /// # Examples
    /// ```
    /// use hidden_attention::{family::ssd::SsdHead, scalar::ratio};
    /// let h = SsdHead::new(2, 1, vec![ratio(1, 2); 2], vec![ratio(1, 1); 2],
    ///                      vec![ratio(1, 1), ratio(2, 1)]).unwrap();
    /// assert_eq!(h.len(), 2);
    /// assert!(SsdHead::new(2, 1, vec![0.5f64], vec![1.0; 2], vec![1.0; 2]).is_err());
    /// ```
    pub fn new(len: usize, state: usize, a: Vec<T>, bbar: Vec<T>, c: Vec<T>) -> Result<Self> {
        if state == 0 {
            return Err(Error::InvalidArgument {
                name: "state".into(),
                reason: "state size N must be at least 1".into(),
            });
        }
        for (name, v, shape) in [
            ("a", &a, vec![len]),
            ("Bbar", &bbar, vec![len, state]),
            ("C", &c, vec![len, state]),
        ] {
            let expected: usize = shape.iter().product();
            if v.len() != expected {
                return Err(Error::DataLength {
                    tensor: name.into(),
                    shape,
                    expected,
                    found: v.len(),
                });
            }
            if let Some(p) = v.iter().position(|x| !x.is_finite_val()) {
                return Err(Error::NonFinite {
                    tensor: name.into(),
                    index: unravel(p, &shape),
                    value: v[p].to_f64(),
                });
            }
        }
        Ok(Self {
            len,
            state,
            a,
            bbar,
            c,
        })
    }

    /// Sequence length `$L$`.
    pub fn len(&self) -> usize {
        self.len
    }
    /// Whether `$L = 0$`.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// State size `$N$`.
    pub fn state(&self) -> usize {
        self.state
    }
    /// The scalar transition `$a_t$`.
    #[inline]
    pub fn a(&self, t: usize) -> &T {
        &self.a[t]
    }
    /// All transitions `$a_0, \dots, a_{L-1}$`.
    pub fn a_all(&self) -> &[T] {
        &self.a
    }
    /// `$\bar B_t \in K^N$`.
    #[inline]
    pub fn bbar(&self, t: usize) -> &[T] {
        &self.bbar[t * self.state..(t + 1) * self.state]
    }
    /// `$C_t \in K^N$`.
    #[inline]
    pub fn c(&self, t: usize) -> &[T] {
        &self.c[t * self.state..(t + 1) * self.state]
    }
    /// All of `$\bar B$`, row-major `L × N`.
    pub fn bbar_all(&self) -> &[T] {
        &self.bbar
    }
    /// All of `$C$`, row-major `L × N`.
    pub fn c_all(&self) -> &[T] {
        &self.c
    }

    /// The same head with every entry mapped into another field.
    pub fn map<U: Field>(&self, f: impl Fn(&T) -> U) -> SsdHead<U> {
        SsdHead {
            len: self.len,
            state: self.state,
            a: self.a.iter().map(&f).collect(),
            bbar: self.bbar.iter().map(&f).collect(),
            c: self.c.iter().map(&f).collect(),
        }
    }

    /// Exact lifting: the head with the exact rational value of every entry.
    pub fn to_exact(&self) -> SsdHead<Exact> {
        self.map(|v| v.to_exact())
    }

    /// **T12 (a)** — the head as a Mamba-1 (diagonal) channel of the same state `$N$` with
    /// equal diagonal entries, `$\bar A_t = a_t\mathbf 1$`, same `$\bar B$` and `$C$`. Its hidden
    /// attention is the head's, exactly, and its scan runs the same operations in the same
    /// order as [`scan()`] (Coq: `t12_ssd_head_is_channel`).
    ///
    /// # Examples
    /// ```
    /// use hidden_attention::{family::ssd::{self, SsdHead}, scalar::ratio, ssm};
    /// let h = SsdHead::new(2, 2, vec![ratio(1, 3), ratio(1, 2)], vec![ratio(1, 1); 4],
    ///                      vec![ratio(2, 1); 4]).unwrap();
    /// let ch = h.to_channel();
    /// assert_eq!(ch.abar(1), &[ratio(1, 2), ratio(1, 2)]);
    /// assert_eq!(ssm::attention_matrix(&ch).unwrap(), ssd::attention_matrix(&h).unwrap());
    /// ```
    pub fn to_channel(&self) -> Channel<T> {
        let abar = self
            .a
            .iter()
            .flat_map(|a| std::iter::repeat(a.clone()).take(self.state))
            .collect();
        Channel::new(
            self.len,
            self.state,
            abar,
            self.bbar.clone(),
            self.c.clone(),
        )
        .expect("a valid head gives a valid channel")
    }

    /// Check an input sequence `x` has length `$L$` and is finite.
    pub(crate) fn expect_input(&self, x: &[T]) -> Result<()> {
        if x.len() != self.len {
            return Err(Error::Shape {
                tensor: "x".into(),
                dim: 0,
                name: "L".into(),
                expected: self.len,
                found: x.len(),
            });
        }
        if let Some(p) = x.iter().position(|v| !v.is_finite_val()) {
            return Err(Error::NonFinite {
                tensor: "x".into(),
                index: vec![p],
                value: x[p].to_f64(),
            });
        }
        Ok(())
    }
}

/// Recurrent view of an SSD head: `$h_t = a_t h_{t-1} + \bar B_t x_t$`, `$h_0 = 0$`,
/// `$y_t = \langle C_t, h_t\rangle$` — the definition T8 and T13 are checked against.
/// Per state entry it performs exactly the operations of [`crate::ssm::scan()`] on the
/// channel [`SsdHead::to_channel`] (multiply by `$a_t$`, add `$\bar B_{t,n}x_t$`, then the
/// left-to-right dot product), so the float bound of [`crate::theorems::bound`] applies
/// verbatim (T12).
///
/// # Errors
/// [`Error::Shape`] if `x.len() != L`; [`Error::NonFinite`] for a NaN/∞ in `x`;
/// [`Error::NonFiniteResult`] if a float computation overflows.
///
/// # Complexity
/// `$O(LN)$` time, `$O(N)$` extra memory.
///
/// # Examples
/// ```
/// use hidden_attention::{family::ssd::{scan, SsdHead}, scalar::ratio};
/// let h = SsdHead::new(2, 1, vec![ratio(1, 2); 2], vec![ratio(1, 1); 2],
///                      vec![ratio(1, 1), ratio(2, 1)]).unwrap();
/// assert_eq!(scan(&h, &vec![ratio(1, 1); 2]).unwrap().y, vec![ratio(1, 1), ratio(3, 1)]);
/// ```
pub fn scan<T: Field>(head: &SsdHead<T>, x: &[T]) -> Result<ScanOutput<T>> {
    head.expect_input(x)?;
    let n = head.state();
    let mut h = vec![T::zero(); n];
    let mut y = Vec::with_capacity(head.len());
    for (t, xt) in x.iter().enumerate() {
        let (a, b) = (head.a(t), head.bbar(t));
        for k in 0..n {
            h[k] *= a;
            h[k] += &(b[k].clone() * xt);
        }
        y.push(dot(head.c(t), &h));
    }
    expect_finite_result("SSD scan output y", &y, &[head.len()])?;
    expect_finite_result("SSD scan last state h_L", &h, &[n])?;
    Ok(ScanOutput { y, last_state: h })
}

/// **T8 — SSD unrolling.** The head's hidden attention, the lower-triangular `$L\times L$`
/// matrix
///
/// ```math
/// \tilde\alpha_{ts} = \langle C_t, \bar B_s\rangle \prod_{r=s+1}^{t} a_r \quad (s \le t),
/// \qquad \tilde\alpha_{ts} = 0 \quad (s > t),
/// ```
///
/// so that `$y = \tilde\alpha\,x$` over any commutative ring (Coq: `t8_ssd_unrolling`). For
/// Mamba-2 (`$\bar B_s = \Delta_s B_s$`) this is
/// `$\tilde\alpha_{ts} = (C_t\cdot B_s)\,e^{A_h\sum_{r=s+1}^{t}\Delta_r}\,\Delta_s$`: a
/// 1-semiseparable mask times the rank-`$N$` Gram matrix `$C\bar B^\top$` (T9).
///
/// Row `$t$` is computed right to left with one scalar running product
/// `$p \leftarrow p\,a_s$` and entries `$\mathrm{fl}(\langle C_t,\bar B_s\rangle)\cdot p$`: no
/// division, no `$O(L^3)$` loop. Its float error is covered by the bound of
/// [`super::bound`] (which also covers the scan and the chunked algorithm).
///
/// # Errors
/// [`Error::NonFiniteResult`] if a float entry overflows (possible only when some
/// `$|a_t| > 1$`).
///
/// # Complexity
/// `$O(L^2 N)$` time, `$O(L^2)$` memory.
///
/// # Examples
/// ```
/// use hidden_attention::{family::ssd::{attention_matrix, SsdHead}, scalar::ratio};
/// let h = SsdHead::new(2, 1, vec![ratio(1, 2); 2], vec![ratio(1, 1); 2],
///                      vec![ratio(1, 1), ratio(2, 1)]).unwrap();
/// let a = attention_matrix(&h).unwrap();
/// assert_eq!(*a.get(1, 0), ratio(1, 1)); // (C_2·B̄_1)·a_2 = 2 · 1/2
/// assert_eq!(*a.get(0, 1), ratio(0, 1));
/// ```
pub fn attention_matrix<T: Field>(head: &SsdHead<T>) -> Result<Matrix<T>> {
    let l = head.len();
    let mut m = Matrix::zeros(l, l);
    for t in 0..l {
        let row = m.row_mut(t);
        let mut p = T::one();
        for s in (0..=t).rev() {
            row[s] = dot(head.c(t), head.bbar(s)) * &p;
            if s > 0 {
                p *= head.a(s);
            }
        }
    }
    expect_finite_result("SSD hidden attention", m.data(), &[l, l])?;
    Ok(m)
}

/// The 1-semiseparable decay mask `$M_{ts} = \prod_{r=s+1}^{t} a_r$` (`$s \le t$`, 0 above
/// the diagonal) of T9: `$\tilde\alpha = (C\bar B^\top)\circ M$`.
///
/// # Errors
/// [`Error::NonFiniteResult`] on float overflow.
pub fn decay_mask<T: Field>(head: &SsdHead<T>) -> Result<Matrix<T>> {
    let l = head.len();
    let mut m = Matrix::zeros(l, l);
    for t in 0..l {
        let mut p = T::one();
        for s in (0..=t).rev() {
            *m.get_mut(t, s) = p.clone();
            if s > 0 {
                p *= head.a(s);
            }
        }
    }
    expect_finite_result("SSD decay mask", m.data(), &[l, l])?;
    Ok(m)
}

/// The Gram matrix `$G = C\bar B^\top$` (`$G_{ts} = \langle C_t, \bar B_s\rangle$`, all
/// `$t, s$`) of T9, of rank at most `$N$`.
pub fn gram<T: Field>(head: &SsdHead<T>) -> Matrix<T> {
    let l = head.len();
    let mut g = Matrix::zeros(l, l);
    for t in 0..l {
        for s in 0..l {
            *g.get_mut(t, s) = dot(head.c(t), head.bbar(s));
        }
    }
    g
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scalar::ratio;

    #[test]
    fn rejects_bad_heads() {
        assert!(matches!(
            SsdHead::new(1, 0, vec![1.0f64], vec![], vec![]),
            Err(Error::InvalidArgument { .. })
        ));
        assert!(matches!(
            SsdHead::new(2, 1, vec![1.0f64, 1.0], vec![1.0], vec![1.0; 2]),
            Err(Error::DataLength { tensor, .. }) if tensor == "Bbar"
        ));
        assert!(matches!(
            SsdHead::new(2, 2, vec![1.0f64, f64::NAN], vec![1.0; 4], vec![1.0; 4]),
            Err(Error::NonFinite { tensor, index, .. }) if tensor == "a" && index == vec![1]
        ));
        let h = SsdHead::new(
            1,
            1,
            vec![ratio(1, 1)],
            vec![ratio(1, 1)],
            vec![ratio(1, 1)],
        )
        .unwrap();
        assert!(matches!(scan(&h, &[]), Err(Error::Shape { .. })));
    }

    /// A hand-computed case: L = 3, N = 1, a = (0, 1/2, 0), B̄ = 1, C = 1:
    /// α̃ = [[1,0,0],[1/2,1,0],[0,0,1]] (a_1 = 0 never enters, a_3 = 0 cuts the past).
    #[test]
    fn hand_computed_attention() {
        let one = ratio(1, 1);
        let h = SsdHead::new(
            3,
            1,
            vec![ratio(0, 1), ratio(1, 2), ratio(0, 1)],
            vec![one.clone(); 3],
            vec![one.clone(); 3],
        )
        .unwrap();
        let a = attention_matrix(&h).unwrap();
        let z = ratio(0, 1);
        let want = [
            [one.clone(), z.clone(), z.clone()],
            [ratio(1, 2), one.clone(), z.clone()],
            [z.clone(), z.clone(), one.clone()],
        ];
        for t in 0..3 {
            assert_eq!(a.row(t), &want[t], "row {t}");
        }
        let x = [ratio(2, 1), ratio(3, 1), ratio(5, 1)];
        assert_eq!(
            scan(&h, &x).unwrap().y,
            vec![ratio(2, 1), ratio(4, 1), ratio(5, 1)]
        );
    }
}

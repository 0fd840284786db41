//! The discretised S6 channel `$(\bar A_t, \bar B_t, C_t)_{t=1..L}$` with state size `$N$`.

use crate::error::{Error, Result};
use crate::scalar::{Exact, Field};
use crate::tensor::unravel;

/// One discretised selective-SSM channel over a field `T`:
///
/// ```math
/// h_t = \bar A_t \odot h_{t-1} + \bar B_t x_t,\quad h_0 = 0,\quad y_t = \langle C_t, h_t\rangle,
/// \qquad \bar A_t, \bar B_t, C_t \in K^N.
/// ```
///
/// Steps are 0-based in Rust (`t = 0..L`); the mathematics numbers them `$1..L$`.
/// The three sequences are stored row-major as `L × N`. Its `Debug` form writes entries
/// as they read (`3/4`, `-1`), one row per step.
#[derive(Clone, PartialEq)]
pub struct Channel<T> {
    len: usize,
    state: usize,
    abar: Vec<T>,
    bbar: Vec<T>,
    c: Vec<T>,
}

impl<T: std::fmt::Debug> std::fmt::Debug for Channel<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::tensor::DisplayRows;
        f.debug_struct("Channel")
            .field("len", &self.len)
            .field("state", &self.state)
            .field("abar", &DisplayRows(&self.abar, self.state))
            .field("bbar", &DisplayRows(&self.bbar, self.state))
            .field("c", &DisplayRows(&self.c, self.state))
            .finish()
    }
}

impl<T: Field> Channel<T> {
    /// A channel from row-major `L × N` arrays `$\bar A$`, `$\bar B$`, `$C$`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for `N = 0`; [`Error::DataLength`] when an array is not
    /// `L × N`; [`Error::NonFinite`] naming the array and `(step, state)` of a NaN/∞.
    pub fn new(len: usize, state: usize, abar: Vec<T>, bbar: Vec<T>, c: Vec<T>) -> Result<Self> {
        if state == 0 {
            return Err(Error::InvalidArgument {
                name: "state".into(),
                reason: "state size N must be at least 1".into(),
            });
        }
        for (name, v) in [("Abar", &abar), ("Bbar", &bbar), ("C", &c)] {
            if v.len() != len * state {
                return Err(Error::DataLength {
                    tensor: name.into(),
                    shape: vec![len, state],
                    expected: len * state,
                    found: v.len(),
                });
            }
            if let Some(p) = v.iter().position(|x| !x.is_finite_val()) {
                return Err(Error::NonFinite {
                    tensor: name.into(),
                    index: unravel(p, &[len, state]),
                    value: v[p].to_f64(),
                });
            }
        }
        Ok(Self {
            len,
            state,
            abar,
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
    /// `$\bar A_t \in K^N$`.
    #[inline]
    pub fn abar(&self, t: usize) -> &[T] {
        &self.abar[t * self.state..(t + 1) * self.state]
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
    /// All of `$\bar A$`, row-major `L × N`.
    pub fn abar_all(&self) -> &[T] {
        &self.abar
    }
    /// All of `$\bar B$`, row-major `L × N`.
    pub fn bbar_all(&self) -> &[T] {
        &self.bbar
    }
    /// All of `$C$`, row-major `L × N`.
    pub fn c_all(&self) -> &[T] {
        &self.c
    }

    /// The same channel with every entry mapped into another field.
    pub fn map<U: Field>(&self, f: impl Fn(&T) -> U) -> Channel<U> {
        Channel {
            len: self.len,
            state: self.state,
            abar: self.abar.iter().map(&f).collect(),
            bbar: self.bbar.iter().map(&f).collect(),
            c: self.c.iter().map(&f).collect(),
        }
    }

    /// Exact lifting: the channel with the exact rational value of every entry.
    pub fn to_exact(&self) -> Channel<Exact> {
        self.map(|v| v.to_exact())
    }

    /// Check an input sequence `x` has length `$L$`.
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

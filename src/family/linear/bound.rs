//! Forward error bound of the float family head (T14 in `f64` and `f32`): the implicit
//! attention matrix `$A$` as [`FamilyHead::attention_matrix`] computes it (a row vector carried
//! from `$s = t$` down, `$r \leftarrow r M$` by [`Transition::left`]), the recurrence output
//! `$o$` of [`FamilyHead::run`] (`$S_t = M_t S_{t-1} + b_t v_t^\top$` by [`Transition::apply`]) and
//! `$A v$` of [`FamilyHead::attention_times_values`], for every transition kind — derived on
//! paper (below) in the standard model with underflow of [`crate::theorems::bound`] and
//! checked against exact arithmetic (`theorems::t14::check_float`). There is no Coq proof of
//! this bound, and it is not yet sound: see "Known gap" below.
//!
//! # The model
//! A rounded product is `$\mathrm{fl}(a b) = ab(1+\delta) + \eta$`, `$|\delta| \le u$`,
//! `$|\eta| \le \eta_0$` (the smallest subnormal); a rounded sum or difference is
//! `$\mathrm{fl}(a \pm b) = (a \pm b)(1+\delta)$` (gradual underflow makes it exact when the result
//! is subnormal). No operation is fused.
//!
//! # Evaluation-formula magnitudes
//! The matrix transitions contain a difference, `$r M = g\,(r - \beta (r\cdot k)\,k^\top)$`, so
//! `$|rM|$` may be far below the terms it is formed from. Each computed quantity is instead
//! expanded into the monomials of its *evaluation formula* (the products of data the code
//! multiplies, before any cancellation), and its magnitude `$X$` is the sum of their absolute
//! values. Per step this is `$|r|\,|M|_{\mathrm{eval}}$` with
//!
//! ```math
//! |M|_{\mathrm{eval}} = \begin{cases}
//! |\mathrm{diag}(g)| \text{ or } |g| I & \text{diagonal, scalar} \\
//! |\mathrm{diag}(g)| + |\beta|\,|\alpha|^\top & \text{DPLR } \mathrm{diag}(g) + \beta\alpha^\top \\
//! |g|\,(I + |\beta|\,|k|\,|k|^\top) & \text{delta rule } g(I - \beta k k^\top)
//! \end{cases}
//! ```
//!
//! ([`Transition::apply`] has the same monomials: `$|M|_{\mathrm{eval}} |S|$`). Hence
//! `$X$` of an output is the output of the **absolute head** — `$|q|$`, `$|M|_{\mathrm{eval}}$`,
//! `$|b|$`, `$|v|$` (and `$|u|$` for the bonus) in place of `$q, M, b, v, u$`:
//! `$X(A_{ts}) = |q_t|^\top |M_t|_{\mathrm{eval}} \cdots |M_{s+1}|_{\mathrm{eval}} |b_s|$`,
//! `$X(o_{t,c}) = X((Av)_{t,c}) = \sum_{s\le t} X(A_{ts})\,|v_{s,c}|$`.
//!
//! # Operation counts
//! Along one monomial's path (the operations whose `$1+\delta$` it carries): a step
//! `$r \leftarrow rM$` costs at most `$d_k + 5$` roundings for the delta rule (the product into
//! `$r\cdot k$`, `$d_k$` sums, `$\beta\cdot$`, `$\cdot k_i$`, the difference, the gate), `$d_k + 3$`
//! for DPLR (the product into `$r\cdot\beta$`, `$d_k$` sums, `$\cdot\alpha_i$`, the sum with
//! `$r_i g_i$`), 1 for a diagonal or scalar gate; the state update one more (the sum with the
//! new `$b v^\top$`). The final dot product with `$b_s$` costs `$d_k + 1$` (`$d_k + 2$` with the
//! bonus `$q\circ u$`); the readout `$S^\top q$` costs `$d_k + 1$` (`$+2$` with the bonus);
//! `$b_s v_s^\top$` costs 2 with its sum into the state; `$A v$` adds a product and at most
//! `$L$` sums. With at most `$L - 1$` steps on a path:
//!
//! ```math
//! m_A = L\,(d_k + 5) \ \text{ for } A, \qquad m_o = L\,(d_k + 6) \ \text{ for } o \text{ and } A v
//! ```
//!
//! ([`rounding_count_attention`], [`rounding_count_output`]).
//!
//! # Underflow weight
//! Every product also injects an `$\eta$`; the weight `$W$` of a computed quantity bounds, in
//! units of `$\eta_0$`, what they contribute. It follows the code's operations: data
//! `$W = 0$`; a sum or difference `$W_{x \pm y} = W_x + W_y$`; a product
//!
//! ```math
//! W_{xy} = W_x\,Y + X\,W_y + \eta_0\,W_x W_y + 1
//! ```
//!
//! (the injected `$\eta$` counts 1; an earlier one is multiplied by the other factor, whose
//! expansion is at most its magnitude). For a delta step on a carried row this gives
//! `$W(r') = W(r)\,|M|_{\mathrm{eval}} + |g|\,(d_k|\beta||k_i| + |k_i| + 1) + 1$` per entry, for
//! DPLR `$W(r)\,|M|_{\mathrm{eval}} + 2 + d_k|\alpha_i|$`, for a gate `$W(r)|g| + 1$`: the
//! `$\eta$`'s of every step, carried by the absolute head of the later steps. `$W \ge 1$` for
//! every output formed by a product, so the bound never falls below the one subnormal
//! rounding a case whose whole answer is subnormal needs.
//!
//! # The bound
//! By induction over the operations, each computed `$\hat x$` is
//! `$\sum_\mu \mu\,\theta_\mu + e_x$` over the monomials `$\mu$` of its formula, each
//! `$\theta_\mu$` a product of at most `$m$` factors `$1 + \delta$`, and
//! `$|e_x| \le (1+\gamma_m)\,\eta_0 W_x$` (for a product: `$e_x \hat y + \hat x e_y + e_x e_y$`,
//! `$(1+u)(1+\gamma_a)(1+\gamma_b) \le 1 + \gamma_{a+b+1}$`). With
//! `$|\theta_\mu - 1| \le \gamma_m = mu/(1-mu)$`:
//!
//! ```math
//! |\mathrm{fl}(y) - y| \le \gamma_m\,X_y + (1 + \gamma_m)\,\eta_0\,W_y,
//! \qquad m = m_A \text{ for } y = A_{ts},\quad m = m_o \text{ for } y = o_{t,c},\,(Av)_{t,c}.
//! ```
//!
//! The model has no upper exponent limit: a run that overflows is refused (a float view
//! returns [`Error::NonFiniteResult`]); when every intermediate magnitude `$X$` stays below
//! half the largest finite value (`$\gamma_m < 1/2$`) no computed quantity can overflow
//! ([`Majorants::peak`]), so a non-finite result there is a counterexample, not a refusal.
//! The bound is evaluated **exactly** and compared with the exact error of the float result
//! against the exact result on the exactly lifted inputs, with no float tolerance.
//!
//! # Known gap: not a proven bound
//! The derivation below is on paper and is **refuted by its own check**: on the edge
//! strategy `strategies::edge_float_family_head_with_values` about one head in a hundred
//! has an output `$o_t$` whose float error exceeds the bound by a fraction of one
//! subnormal ulp (e.g. in `f32`, `$d_k = 1$`, `$L = 2$`, zero gates, `$q_1 = 2^{-52}$`: error
//! `$5.7\cdot10^{-46}$`, bound `$2.4\cdot10^{-46}$`, below the one rounding `$\eta_0$` the product
//! needs). The underflow term misses a case, so no `hattn check` row uses this bound and
//! nothing may treat it as a verdict until it is repaired and proven.

use num_traits::{One, Zero};

use crate::error::{Error, Result};
use crate::scalar::{Exact, Field};
use crate::tensor::Matrix;
use crate::theorems::bound::gamma_exact;

use super::head::{FamilyHead, Readout, Transition};

/// The rounding count `$m_A = L(d_k + 5)$` of a computed `$A_{ts}$` (module docs).
pub fn rounding_count_attention(len: usize, dk: usize) -> usize {
    len * (dk + 5)
}

/// The rounding count `$m_o = L(d_k + 6)$` of a computed `$o_{t,c}$` or `$(Av)_{t,c}$`.
pub fn rounding_count_output(len: usize, dk: usize) -> usize {
    len * (dk + 6)
}

/// The magnitude `$X$` (sum of the absolute values of the monomials of the evaluation
/// formula) and underflow weight `$W$` of one computed quantity, exactly.
#[derive(Debug, Clone, PartialEq)]
pub struct Majorant {
    /// `$X$`.
    pub abs: Exact,
    /// `$W$`.
    pub weight: Exact,
}

impl Majorant {
    /// A datum `$x$`: `$X = |x|$`, `$W = 0$`.
    pub fn data(x: &Exact) -> Self {
        Self {
            abs: x.abs_val(),
            weight: Exact::zero(),
        }
    }
    fn zero() -> Self {
        Self::data(&Exact::zero())
    }
}

/// The rules of the module docs, with the largest magnitude met (for the overflow
/// criterion).
#[derive(Debug, Clone)]
pub struct Majorants {
    eta0: Exact,
    /// The largest `$X$` of any intermediate quantity so far.
    pub peak: Exact,
}

impl Majorants {
    /// Rules for the float type `T` (`$\eta_0$` its smallest subnormal).
    pub fn new<T: Field>() -> Self {
        Self {
            eta0: Exact::from_f64(T::min_subnormal()),
            peak: Exact::zero(),
        }
    }
    fn seen(&mut self, m: Majorant) -> Majorant {
        if m.abs > self.peak {
            self.peak = m.abs.clone();
        }
        m
    }
    /// A rounded product: `$XY$`, `$W_x Y + X W_y + \eta_0 W_x W_y + 1$`.
    pub fn mul(&mut self, x: &Majorant, y: &Majorant) -> Majorant {
        let weight = &x.weight * &y.abs
            + &x.abs * &y.weight
            + &self.eta0 * &x.weight * &y.weight
            + Exact::one();
        self.seen(Majorant {
            abs: &x.abs * &y.abs,
            weight,
        })
    }
    /// A rounded sum or difference: `$X + Y$`, `$W_x + W_y$`.
    pub fn add(&mut self, x: &Majorant, y: &Majorant) -> Majorant {
        self.seen(Majorant {
            abs: &x.abs + &y.abs,
            weight: &x.weight + &y.weight,
        })
    }
    /// [`crate::tensor::dot`] as it runs: products summed from the left onto 0.
    pub fn dot(&mut self, a: &[Majorant], b: &[Majorant]) -> Majorant {
        a.iter().zip(b).fold(Majorant::zero(), |acc, (x, y)| {
            let p = self.mul(x, y);
            self.add(&acc, &p)
        })
    }

    /// [`Transition::left`] as it runs, on a carried row `r`.
    pub fn left(&mut self, m: &Transition<Exact>, r: &[Majorant]) -> Vec<Majorant> {
        let d = |v: &[Exact]| v.iter().map(Majorant::data).collect::<Vec<_>>();
        match m {
            Transition::Diagonal(g) => r.iter().zip(d(g)).map(|(a, g)| self.mul(a, &g)).collect(),
            Transition::Scalar(g) => {
                let g = Majorant::data(g);
                r.iter().map(|a| self.mul(a, &g)).collect()
            }
            Transition::DiagonalPlusRankOne { diag, beta, alpha } => {
                let rb = self.dot(r, &d(beta));
                let (g, al) = (d(diag), d(alpha));
                (0..r.len())
                    .map(|i| {
                        let (x, y) = (self.mul(&r[i], &g[i]), self.mul(&rb, &al[i]));
                        self.add(&x, &y)
                    })
                    .collect()
            }
            Transition::Householder { gate, beta, key } => {
                let k = d(key);
                let rk = self.dot(r, &k);
                let (g, b) = (Majorant::data(gate), Majorant::data(beta));
                let brk = self.mul(&b, &rk);
                (0..r.len())
                    .map(|i| {
                        let t = self.mul(&brk, &k[i]);
                        let diff = self.add(&r[i], &t);
                        self.mul(&g, &diff)
                    })
                    .collect()
            }
        }
    }

    /// [`Transition::apply`] as it runs, on a state `s` (`d_k × d_v`, row-major).
    pub fn apply(&mut self, m: &Transition<Exact>, s: &[Majorant], dk: usize) -> Vec<Majorant> {
        let dv = s.len() / dk.max(1);
        let d = |v: &[Exact]| v.iter().map(Majorant::data).collect::<Vec<_>>();
        match m {
            Transition::Diagonal(g) => {
                let g = d(g);
                (0..dk * dv).map(|i| self.mul(&g[i / dv], &s[i])).collect()
            }
            Transition::Scalar(g) => {
                let g = Majorant::data(g);
                s.iter().map(|x| self.mul(&g, x)).collect()
            }
            Transition::DiagonalPlusRankOne { diag, beta, alpha } => {
                let (g, b, al) = (d(diag), d(beta), d(alpha));
                let a_s = self.columns_dot(&al, s, dv);
                (0..dk * dv)
                    .map(|i| {
                        let x = self.mul(&g[i / dv], &s[i]);
                        let y = self.mul(&b[i / dv], &a_s[i % dv]);
                        self.add(&x, &y)
                    })
                    .collect()
            }
            Transition::Householder { gate, beta, key } => {
                let (g, b, k) = (Majorant::data(gate), Majorant::data(beta), d(key));
                let k_s = self.columns_dot(&k, s, dv);
                (0..dk * dv)
                    .map(|i| {
                        let bk = self.mul(&b, &k[i / dv]);
                        let t = self.mul(&bk, &k_s[i % dv]);
                        let diff = self.add(&s[i], &t);
                        self.mul(&g, &diff)
                    })
                    .collect()
            }
        }
    }

    /// `$w^\top S$` per column, summed from row 0 as [`Transition::apply`] does.
    fn columns_dot(&mut self, w: &[Majorant], s: &[Majorant], dv: usize) -> Vec<Majorant> {
        let mut acc = vec![Majorant::zero(); dv];
        for (i, wi) in w.iter().enumerate() {
            for (c, a) in acc.iter_mut().enumerate() {
                let p = self.mul(wi, &s[i * dv + c]);
                *a = self.add(a, &p);
            }
        }
        acc
    }
}

/// The majorants of [`FamilyHead::attention_matrix`] (row-major `L × L`, zero above the
/// diagonal).
pub fn attention_majorants(head: &FamilyHead<Exact>, rules: &mut Majorants) -> Vec<Majorant> {
    let (l, dk) = (head.len(), head.dk);
    let d = |v: &[Exact]| v.iter().map(Majorant::data).collect::<Vec<_>>();
    let mut a = vec![Majorant::zero(); l * l];
    for t in 0..l {
        let mut r = d(&head.q[t * dk..(t + 1) * dk]);
        let bt = d(&head.b[t * dk..(t + 1) * dk]);
        a[t * l + t] = match &head.readout {
            Readout::After => rules.dot(&r, &bt),
            Readout::BeforeWithBonus(u) => {
                let qu: Vec<Majorant> = r.iter().zip(d(u)).map(|(x, y)| rules.mul(x, &y)).collect();
                rules.dot(&qu, &bt)
            }
        };
        for s in (0..t).rev() {
            if matches!(head.readout, Readout::After) || s + 1 < t {
                r = rules.left(&head.m[s + 1], &r);
            }
            a[t * l + s] = rules.dot(&r, &d(&head.b[s * dk..(s + 1) * dk]));
        }
    }
    a
}

/// The majorants of the outputs `$o$` of [`FamilyHead::run`] on values `v` `(L, d_v)`.
pub fn output_majorants(
    head: &FamilyHead<Exact>,
    v: &[Exact],
    dv: usize,
    rules: &mut Majorants,
) -> Vec<Majorant> {
    let (l, dk) = (head.len(), head.dk);
    let d = |v: &[Exact]| v.iter().map(Majorant::data).collect::<Vec<_>>();
    let mut s = vec![Majorant::zero(); dk * dv];
    let mut o = vec![Majorant::zero(); l * dv];
    for t in 0..l {
        let (qt, bt, vt) = (
            d(&head.q[t * dk..(t + 1) * dk]),
            d(&head.b[t * dk..(t + 1) * dk]),
            d(&v[t * dv..(t + 1) * dv]),
        );
        let read = |s: &[Majorant], rules: &mut Majorants, bonus: Option<&[Majorant]>| {
            (0..dv)
                .map(|c| {
                    (0..dk).fold(Majorant::zero(), |acc, i| {
                        let mut sic = s[i * dv + c].clone();
                        if let Some(u) = bonus {
                            let ub = rules.mul(&u[i], &bt[i]);
                            let ubv = rules.mul(&ub, &vt[c]);
                            sic = rules.add(&sic, &ubv);
                        }
                        let p = rules.mul(&qt[i], &sic);
                        rules.add(&acc, &p)
                    })
                })
                .collect::<Vec<_>>()
        };
        if let Readout::BeforeWithBonus(u) = &head.readout {
            let row = read(&s, rules, Some(&d(u)));
            o[t * dv..(t + 1) * dv].clone_from_slice(&row);
        }
        s = rules.apply(&head.m[t], &s, dk);
        for i in 0..dk {
            for c in 0..dv {
                let p = rules.mul(&bt[i], &vt[c]);
                s[i * dv + c] = rules.add(&s[i * dv + c], &p);
            }
        }
        if head.readout == Readout::After {
            let row = read(&s, rules, None);
            o[t * dv..(t + 1) * dv].clone_from_slice(&row);
        }
    }
    o
}

/// The majorants of [`FamilyHead::attention_times_values`] from those of `$A$`.
pub fn attention_output_majorants(
    a: &[Majorant],
    v: &[Exact],
    dv: usize,
    rules: &mut Majorants,
) -> Vec<Majorant> {
    let l = v.len() / dv.max(1);
    (0..l * dv)
        .map(|p| {
            let (t, c) = (p / dv, p % dv);
            (0..=t).fold(Majorant::zero(), |acc, s| {
                let x = rules.mul(&a[t * l + s], &Majorant::data(&v[s * dv + c]));
                rules.add(&acc, &x)
            })
        })
        .collect()
}

/// `$\gamma_m X + (1+\gamma_m)\eta_0 W$` for the float type `T`, exactly, per majorant;
/// `None` when `$m u \ge 1$` (no bound).
pub fn bound_exact<T: Field>(m: usize, majorants: &[Majorant]) -> Option<Vec<Exact>> {
    let g = gamma_exact(m, T::unit_roundoff())?;
    let carry = (Exact::one() + &g) * Exact::from_f64(T::min_subnormal());
    Some(
        majorants
            .iter()
            .map(|x| &g * &x.abs + &carry * &x.weight)
            .collect(),
    )
}

/// The three float views of one head: `$A$`, the recurrence output `$o$` and `$A v$`.
#[derive(Debug, Clone)]
pub struct FloatViews<T> {
    /// [`FamilyHead::attention_matrix`].
    pub attention: Matrix<T>,
    /// [`FamilyHead::run`]'s output `(L, d_v)`.
    pub output: Vec<T>,
    /// [`FamilyHead::attention_times_values`] of `attention`.
    pub attention_output: Vec<T>,
}

/// Run the three float views.
///
/// # Errors
/// As [`FamilyHead::run`]; [`Error::NonFinite`] naming the first non-finite input;
/// [`Error::NonFiniteResult`] naming the view and entry that overflowed (the refusal of the
/// module docs).
pub fn float_views<T: Field>(head: &FamilyHead<T>, v: &[T], dv: usize) -> Result<FloatViews<T>> {
    head.validate()?;
    let transitions = head.m.iter().flat_map(|m| match m {
        Transition::Diagonal(g) => g.clone(),
        Transition::Scalar(g) => vec![g.clone()],
        Transition::DiagonalPlusRankOne { diag, beta, alpha } => {
            [diag.as_slice(), beta.as_slice(), alpha.as_slice()].concat()
        }
        Transition::Householder { gate, beta, key } => {
            [&[gate.clone(), beta.clone()][..], key.as_slice()].concat()
        }
    });
    let bonus = match &head.readout {
        Readout::After => vec![],
        Readout::BeforeWithBonus(u) => u.clone(),
    };
    let inputs: [(&str, Vec<T>); 5] = [
        ("q", head.q.clone()),
        ("k", head.b.clone()),
        ("transition", transitions.collect()),
        ("u", bonus),
        ("v", v.to_vec()),
    ];
    for (name, data) in inputs {
        if let Some(p) = data.iter().position(|x| !x.is_finite_val()) {
            return Err(Error::NonFinite {
                tensor: name.into(),
                value: data[p].to_f64(),
                index: vec![p],
            });
        }
    }
    let (l, (output, _)) = (head.len(), head.run(v, dv)?);
    let attention = head.attention_matrix()?;
    let attention_output = FamilyHead::attention_times_values(&attention, v, dv)?;
    let finite = |what: &str, x: &[T], cols: usize| match x.iter().position(|e| !e.is_finite_val())
    {
        None => Ok(()),
        Some(p) => Err(Error::NonFiniteResult {
            what: what.into(),
            index: vec![p / cols.max(1), p % cols.max(1)],
            value: x[p].to_f64(),
        }),
    };
    let a_all: Vec<T> = (0..l * l)
        .map(|p| attention.get(p / l, p % l).clone())
        .collect();
    finite("implicit attention A", &a_all, l)?;
    finite("recurrence output o", &output, dv)?;
    finite("A v", &attention_output, dv)?;
    Ok(FloatViews {
        attention,
        output,
        attention_output,
    })
}

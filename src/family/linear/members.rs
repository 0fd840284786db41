//! The members of the gated-linear family as [`FamilyHead`]s, built from their inputs in
//! the conventions of the reference implementations (flash-linear-attention's naive
//! recurrences, `transformers`' RG-LRU): log-gates exponentiated, the query scaled by
//! `scale` (default `$d_k^{-1/2}$`), the delta rule's `$\beta$` folded into the write vector.
//!
//! | member | `$M_t$` | `$b_t$` | readout |
//! | --- | --- | --- | --- |
//! | [`Member::Gla`] | `$\mathrm{diag}(e^{g^k_t})$` | `$k_t$` | after |
//! | [`Member::SimpleGla`] | `$e^{g_t} I$` | `$k_t$` | after |
//! | [`Member::Retention`] | `$\gamma_h I$`, `$\gamma_h = 1 - 2^{-5-h}$` | `$k_t$` | after |
//! | [`Member::Hgrn`] | `$e^{g_t}$` (per channel, `$d_k = 1$`) | 1 | after |
//! | [`Member::Rwkv6`] | `$\mathrm{diag}(e^{w_t})$` | `$k_t$` | before, bonus `$u$` |
//! | [`Member::Dplr`] | `$\mathrm{diag}(e^{g^k_t}) + \beta_t\alpha_t^\top$` | `$k_t$` | after |
//! | [`Member::DeltaRule`] | `$I - \beta_t k_t k_t^\top$` | `$\beta_t k_t$` | after |
//! | [`Member::GatedDeltaRule`] | `$e^{g_t}(I - \beta_t k_t k_t^\top)$` | `$\beta_t k_t$` | after |
//! | [`Member::Rglru`] | `$a_t$` (per channel) | `$m_t i_t$` | after |
//!
//! RG-LRU: `$i_t = \sigma(x_t W_i + b_i)$`, `$r_t = \sigma(x_t W_a + b_a)$` blockwise over heads,
//! `$\log a_t = -8 r_t\,\mathrm{softplus}(\Lambda)$`, `$m_t = \sqrt{1 - a_t^2}$` except `$m_0 = 1$`
//! (reset at position 0); `$h_t = a_t h_{t-1} + m_t i_t x_t$` — so with the gates computed
//! from this input, `$o = A x$` per channel with `$A_{ts} = (\prod_{r=s+1}^{t} a_r)\,m_s i_s$`.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::family::linear::head::{FamilyHead, Readout, Transition};
use crate::scalar::{Field, Real};
use crate::tensor::Tensor;

/// A member of the family (the golden cases' `kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Member {
    /// Gated linear attention (diagonal key gates).
    Gla,
    /// Simple GLA (a scalar gate per head; Mamba-2's SSD without `$B$`/`$C$` naming).
    SimpleGla,
    /// RetNet's retention (a fixed decay per head).
    Retention,
    /// HGRN (elementwise, no query or key).
    Hgrn,
    /// RWKV-6 (diagonal decay, bonus `$u$` on the diagonal).
    Rwkv6,
    /// Diagonal plus rank one (RWKV-7).
    Dplr,
    /// DeltaNet.
    DeltaRule,
    /// Gated DeltaNet.
    GatedDeltaRule,
    /// Griffin's RG-LRU.
    Rglru,
}

impl Member {
    /// Every member, in table order.
    pub const ALL: [Member; 9] = [
        Member::Gla,
        Member::SimpleGla,
        Member::Retention,
        Member::Hgrn,
        Member::Rwkv6,
        Member::Dplr,
        Member::DeltaRule,
        Member::GatedDeltaRule,
        Member::Rglru,
    ];

    /// The name the golden cases and `hattn convert --from` use.
    pub fn name(self) -> &'static str {
        match self {
            Member::Gla => "gla",
            Member::SimpleGla => "simple_gla",
            Member::Retention => "retention",
            Member::Hgrn => "hgrn",
            Member::Rwkv6 => "rwkv6",
            Member::Dplr => "dplr",
            Member::DeltaRule => "delta_rule",
            Member::GatedDeltaRule => "gated_delta_rule",
            Member::Rglru => "rglru",
        }
    }

    /// The member named `s` (`-` and `_` both accepted).
    pub fn parse(s: &str) -> Option<Member> {
        let s = s.replace('-', "_");
        Member::ALL.into_iter().find(|m| m.name() == s)
    }

    /// Whether the tensors are laid out `(B, T, H, ·)` (else `(B, H, T, ·)`; HGRN and RG-LRU
    /// are `(B, T, D)`).
    fn time_major(self) -> bool {
        matches!(
            self,
            Member::Gla | Member::SimpleGla | Member::GatedDeltaRule
        )
    }

    /// Whether the member is elementwise (a channel per feature, no query or key).
    pub fn elementwise(self) -> bool {
        matches!(self, Member::Hgrn | Member::Rglru)
    }
}

/// A layer of one member, ready to run: one head per (batch, head) — for the elementwise
/// members one per (batch, channel) — with its values.
#[derive(Debug, Clone)]
pub struct MemberLayer<T> {
    /// The heads, batch-major.
    pub heads: Vec<FamilyHead<T>>,
    /// The values of each head, `(L, d_v)`.
    pub values: Vec<Vec<T>>,
    /// Value dimension `$d_v$`.
    pub dv: usize,
    /// `(batch, heads, L)` for the output layout.
    pub dims: (usize, usize, usize),
}

/// The input that holds the gate values themselves, in place of a member's log-gates
/// (see [`Member::log_gate_input`]).
pub const GATES: &str = "gates";

impl Member {
    /// The input holding the member's log-gates, exponentiated into `$M_t$`: `gk` (GLA,
    /// DPLR), `g` (simple GLA, Gated DeltaNet, HGRN), `w` (RWKV-6); none for RetNet,
    /// DeltaNet (no gate) and RG-LRU (gates computed from `x`). The input [`GATES`], of
    /// the same shape, gives the gate values `$e^{g}$` themselves instead.
    pub fn log_gate_input(self) -> Option<&'static str> {
        match self {
            Member::Gla | Member::Dplr => Some("gk"),
            Member::SimpleGla | Member::GatedDeltaRule | Member::Hgrn => Some("g"),
            Member::Rwkv6 => Some("w"),
            Member::Retention | Member::DeltaRule | Member::Rglru => None,
        }
    }
}

fn input<'a, T>(inputs: &'a BTreeMap<String, Tensor<T>>, name: &str) -> Result<&'a Tensor<T>> {
    inputs.get(name).ok_or_else(|| Error::InvalidArgument {
        name: name.into(),
        reason: "missing input".into(),
    })
}

fn shape4<T: Clone>(t: &Tensor<T>, name: &str) -> Result<[usize; 4]> {
    t.shape().try_into().map_err(|_| Error::InvalidArgument {
        name: name.into(),
        reason: format!("expected 4 dimensions, found {:?}", t.shape()),
    })
}

/// Every input of a matrix-state member has the shape `q` implies: `(B, ·, ·, K)` for keys
/// and per-key gates, `(B, ·, ·, V)` for values, `(B, ·, ·)` for per-head scalars, `(H, K)`
/// for RWKV-6's bonus.
fn expect_shapes<T: Clone>(
    member: Member,
    inputs: &BTreeMap<String, Tensor<T>>,
    [bsz, d1, d2, dk]: [usize; 4],
    dv: usize,
) -> Result<()> {
    let (key, val, scalar) = (
        vec![bsz, d1, d2, dk],
        vec![bsz, d1, d2, dv],
        vec![bsz, d1, d2],
    );
    let mut want = vec![("k", key.clone()), ("v", val)];
    match member {
        Member::Gla => want.push((GATES, key)),
        Member::Rwkv6 => {
            let h = if member.time_major() { d2 } else { d1 };
            want.extend([(GATES, key), ("u", vec![h, dk])]);
        }
        Member::SimpleGla => want.push((GATES, scalar)),
        Member::Dplr => want.extend([(GATES, key.clone()), ("alpha", key.clone()), ("beta", key)]),
        Member::DeltaRule => want.push(("beta", scalar)),
        Member::GatedDeltaRule => want.extend([(GATES, scalar.clone()), ("beta", scalar)]),
        Member::Retention | Member::Hgrn | Member::Rglru => {}
    }
    for (name, shape) in want {
        let t = input(inputs, name)?;
        if t.shape() != shape.as_slice() {
            return Err(Error::InvalidArgument {
                name: name.into(),
                reason: format!("shape {:?}, expected {shape:?} (from q and v)", t.shape()),
            });
        }
    }
    Ok(())
}

/// `$d^{-1/2}$` when it is rational (`$d$` a perfect square).
fn inverse_sqrt<T: Field>(d: usize) -> Option<T> {
    let r = (d as f64).sqrt().round() as usize;
    (r > 0 && r * r == d).then(|| T::one() / T::from_f64(r as f64))
}

impl<T: Real> MemberLayer<T> {
    /// Build the layer of `member` from named float inputs (the golden cases' `inputs`) and
    /// the query scale (`None`: `$d_k^{-1/2}$`). Log-gates are exponentiated in `T`; the
    /// input [`GATES`] replaces them when given.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming a missing input or a shape that disagrees.
    pub fn from_inputs(
        member: Member,
        inputs: &BTreeMap<String, Tensor<f64>>,
        scale: Option<f64>,
    ) -> Result<Self> {
        let mut lifted: BTreeMap<String, Tensor<T>> = inputs
            .iter()
            .map(|(k, v)| (k.clone(), v.map(|&x| T::from_f64(x))))
            .collect();
        if member == Member::Rglru {
            return Self::rglru(&lifted);
        }
        // the gates exp(g) derived here: an error about them names the log-gate input
        let mut derived_from = None;
        if let Some(g) = member.log_gate_input() {
            if !lifted.contains_key(GATES) {
                let gates = input(&lifted, g)?.map(|x| x.exp());
                lifted.insert(GATES.into(), gates);
                derived_from = Some(g);
            }
        }
        let scale = match (member.elementwise(), scale) {
            (true, _) => None,
            (false, Some(s)) => Some(T::from_f64(s)),
            (false, None) => {
                let dk = shape4(input(&lifted, "q")?, "q")?[3];
                Some(T::from_f64(1.0 / (dk as f64).sqrt()))
            }
        };
        MemberLayer::from_gates(member, &lifted, scale).map_err(|e| match (e, derived_from) {
            (Error::InvalidArgument { name, reason }, Some(g)) if name == GATES => {
                Error::InvalidArgument {
                    name: g.into(),
                    reason,
                }
            }
            (e, _) => e,
        })
    }

    /// RG-LRU: one head of `$d_k = d_v = 1$` per (batch, channel), gates from `x`.
    fn rglru(inputs: &BTreeMap<String, Tensor<T>>) -> Result<Self> {
        let x = input(inputs, "x")?;
        let [bsz, l, w] = shape3(x)?;
        let xs = |b: usize, t: usize, c: usize| x.data()[(b * l + t) * w + c];
        let gates = rglru_gates(inputs, bsz, l, w, &xs)?;
        Ok(elementwise_layer(x, &gates))
    }
}

fn shape3<T: Clone>(x: &Tensor<T>) -> Result<[usize; 3]> {
    x.shape().try_into().map_err(|_| Error::InvalidArgument {
        name: "x".into(),
        reason: format!("expected (B, T, D), found {:?}", x.shape()),
    })
}

/// One head of `$d_k = d_v = 1$` per (batch, channel) of `x` `(B, T, D)`, with the
/// transition and write factor `gates[(b, t, c)]`.
fn elementwise_layer<T: Field>(x: &Tensor<T>, gates: &[(T, T)]) -> MemberLayer<T> {
    let [bsz, l, w]: [usize; 3] = x.shape().try_into().expect("checked (B, T, D)");
    let mut heads = Vec::new();
    let mut values = Vec::new();
    for b in 0..bsz {
        for c in 0..w {
            let idx = |t: usize| (b * l + t) * w + c;
            heads.push(FamilyHead {
                dk: 1,
                q: vec![T::one(); l],
                b: (0..l).map(|t| gates[idx(t)].1.clone()).collect(),
                m: (0..l)
                    .map(|t| Transition::Scalar(gates[idx(t)].0.clone()))
                    .collect(),
                readout: Readout::After,
            });
            values.push((0..l).map(|t| x.data()[idx(t)].clone()).collect());
        }
    }
    MemberLayer {
        heads,
        values,
        dv: 1,
        dims: (bsz, w, l),
    }
}

impl<T: Field> MemberLayer<T> {
    /// Build the layer of `member` over any field from named inputs whose gates are given
    /// as values (the input [`GATES`], `$e^{g}$` of the member's log-gates, same shape) and
    /// the query scale (`None`: `$d_k^{-1/2}$`, which must then be rational: `$d_k$` a
    /// perfect square). Exact over the rationals: nothing passes through `exp`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming a missing input, a shape that disagrees, `scale`
    /// when `$d_k^{-1/2}$` is irrational, or `kind` for RG-LRU (its gates are sigmoids,
    /// softplus, exponentials and square roots of its inputs: [`Self::from_inputs`] only).
    pub fn from_gates(
        member: Member,
        inputs: &BTreeMap<String, Tensor<T>>,
        scale: Option<T>,
    ) -> Result<Self> {
        match member {
            Member::Rglru => Err(Error::InvalidArgument {
                name: "kind".into(),
                reason:
                    "RG-LRU's gates are sigmoids, softplus, exponentials and square roots of x: \
                         it has no exact path, give the layer as f64 numbers"
                        .into(),
            }),
            Member::Hgrn => {
                let x = input(inputs, "x")?;
                shape3(x)?;
                let g = input(inputs, GATES)?;
                if g.shape() != x.shape() {
                    return Err(Error::InvalidArgument {
                        name: GATES.into(),
                        reason: format!("shape {:?} differs from x {:?}", g.shape(), x.shape()),
                    });
                }
                let gates: Vec<(T, T)> = g.data().iter().map(|v| (v.clone(), T::one())).collect();
                Ok(elementwise_layer(x, &gates))
            }
            _ => Self::matrix_state(member, inputs, scale),
        }
    }

    fn matrix_state(
        member: Member,
        inputs: &BTreeMap<String, Tensor<T>>,
        scale: Option<T>,
    ) -> Result<Self> {
        let [bsz, d1, d2, dk] = shape4(input(inputs, "q")?, "q")?;
        let (h, l) = if member.time_major() {
            (d2, d1)
        } else {
            (d1, d2)
        };
        let [_, _, _, dv] = shape4(input(inputs, "v")?, "v")?;
        expect_shapes(member, inputs, [bsz, d1, d2, dk], dv)?;
        let scale = match scale {
            Some(s) => s,
            None => inverse_sqrt(dk).ok_or_else(|| Error::InvalidArgument {
                name: "scale".into(),
                reason: format!(
                    "the default d_k^(-1/2) is irrational for d_k = {dk}: give params.scale"
                ),
            })?,
        };
        let at = |b: usize, hh: usize, t: usize| {
            if member.time_major() {
                (b * l + t) * h + hh
            } else {
                (b * h + hh) * l + t
            }
        };
        let vec_of = |name: &str, b: usize, hh: usize, t: usize, w: usize| -> Result<Vec<T>> {
            let x = input(inputs, name)?;
            let o = at(b, hh, t) * w;
            x.data()
                .get(o..o + w)
                .map(<[T]>::to_vec)
                .ok_or_else(|| Error::InvalidArgument {
                    name: name.into(),
                    reason: format!("shape {:?} is too small", x.shape()),
                })
        };
        let scalar_of = |name: &str, b: usize, hh: usize, t: usize| -> Result<T> {
            Ok(vec_of(name, b, hh, t, 1)?.remove(0))
        };
        let mut heads = Vec::new();
        let mut values = Vec::new();
        for b in 0..bsz {
            for hh in 0..h {
                let (mut q, mut bv, mut m, mut vals) =
                    (Vec::new(), Vec::new(), Vec::new(), Vec::new());
                for t in 0..l {
                    q.extend(vec_of("q", b, hh, t, dk)?.into_iter().map(|x| x * &scale));
                    let k = vec_of("k", b, hh, t, dk)?;
                    vals.extend(vec_of("v", b, hh, t, dv)?);
                    let (mt, bt) = match member {
                        Member::Gla | Member::Rwkv6 => {
                            (Transition::Diagonal(vec_of(GATES, b, hh, t, dk)?), k)
                        }
                        Member::SimpleGla => (Transition::Scalar(scalar_of(GATES, b, hh, t)?), k),
                        Member::Retention => {
                            let gamma = T::one() - T::from_f64(2f64.powi(-5 - hh as i32));
                            (Transition::Scalar(gamma), k)
                        }
                        Member::Dplr => (
                            Transition::DiagonalPlusRankOne {
                                diag: vec_of(GATES, b, hh, t, dk)?,
                                beta: vec_of("beta", b, hh, t, dk)?,
                                alpha: vec_of("alpha", b, hh, t, dk)?,
                            },
                            k,
                        ),
                        Member::DeltaRule | Member::GatedDeltaRule => {
                            let beta = scalar_of("beta", b, hh, t)?;
                            let gate = if member == Member::GatedDeltaRule {
                                scalar_of(GATES, b, hh, t)?
                            } else {
                                T::one()
                            };
                            let bt = k.iter().map(|x| x.clone() * &beta).collect();
                            (Transition::Householder { gate, beta, key: k }, bt)
                        }
                        Member::Hgrn | Member::Rglru => unreachable!("elementwise members"),
                    };
                    m.push(mt);
                    bv.extend(bt);
                }
                let readout = if member == Member::Rwkv6 {
                    let u = input(inputs, "u")?;
                    let u: Vec<T> = u
                        .data()
                        .get(hh * dk..(hh + 1) * dk)
                        .ok_or_else(|| Error::InvalidArgument {
                            name: "u".into(),
                            reason: format!("shape {:?} is not (H, K) = ({h}, {dk})", u.shape()),
                        })?
                        .to_vec();
                    Readout::BeforeWithBonus(u)
                } else {
                    Readout::After
                };
                let head = FamilyHead {
                    dk,
                    q,
                    b: bv,
                    m,
                    readout,
                };
                head.validate()?;
                heads.push(head);
                values.push(vals);
            }
        }
        Ok(Self {
            heads,
            values,
            dv,
            dims: (bsz, h, l),
        })
    }

    /// Run every head: outputs in the member's output layout and final states
    /// `(B, H, K, V)` (`(B, D)` for the elementwise members), through the recurrence — or,
    /// with `via_attention`, outputs as `$A v$` from each head's implicit attention (T14).
    ///
    /// # Errors
    /// Errors of [`FamilyHead::run`] and [`FamilyHead::attention_matrix`].
    pub fn outputs(&self, member: Member, via_attention: bool) -> Result<(Vec<T>, Vec<T>)> {
        let (bsz, h, l) = self.dims;
        let dv = self.dv;
        let mut o = vec![T::zero(); bsz * h * l * dv];
        let mut fin = Vec::new();
        for (i, (head, v)) in self.heads.iter().zip(&self.values).enumerate() {
            let (b, hh) = (i / h, i % h);
            let (oh, s) = head.run(v, dv)?;
            fin.extend(s);
            let oh = if via_attention {
                FamilyHead::attention_times_values(&head.attention_matrix()?, v, dv)?
            } else {
                oh
            };
            for t in 0..l {
                for c in 0..dv {
                    let dst = if member.elementwise() {
                        (b * l + t) * h + hh
                    } else if member.time_major() {
                        ((b * l + t) * h + hh) * dv + c
                    } else {
                        ((b * h + hh) * l + t) * dv + c
                    };
                    o[dst] = oh[t * dv + c].clone();
                }
            }
        }
        Ok((o, fin))
    }
}

/// RG-LRU's gates for every (batch, time, channel): `$(a_t, m_t i_t)$`.
fn rglru_gates<T: Real>(
    inputs: &BTreeMap<String, Tensor<T>>,
    bsz: usize,
    l: usize,
    w: usize,
    xs: &dyn Fn(usize, usize, usize) -> T,
) -> Result<Vec<(T, T)>> {
    let get = |n: &str| input(inputs, n);
    let (wi, bi, wa, ba, lam) = (
        get("input_gate_weight")?,
        get("input_gate_bias")?,
        get("recurrent_gate_weight")?,
        get("recurrent_gate_bias")?,
        get("recurrent_param")?,
    );
    let nh = wi.shape().first().copied().unwrap_or(0);
    if nh == 0
        || w % nh != 0
        || wi.data().len() != w * w / nh
        || wa.data().len() != w * w / nh
        || bi.data().len() != w
        || ba.data().len() != w
        || lam.data().len() != w
    {
        return Err(Error::InvalidArgument {
            name: "input_gate_weight".into(),
            reason: format!("gate shapes do not fit width {w}"),
        });
    }
    let bw = w / nh;
    let f = |t: &Tensor<T>, i: usize| t.data()[i];
    let mut out = Vec::with_capacity(bsz * l * w);
    for b in 0..bsz {
        for t in 0..l {
            for c in 0..w {
                let (hh, j) = (c / bw, c % bw);
                let (mut gi, mut ga) = (f(bi, c), f(ba, c));
                for i in 0..bw {
                    let xv = xs(b, t, hh * bw + i);
                    gi = gi + xv * f(wi, (hh * bw + i) * bw + j);
                    ga = ga + xv * f(wa, (hh * bw + i) * bw + j);
                }
                let (ig, rg) = (gi.sigmoid(), ga.sigmoid());
                let log_a = -T::from_f64(8.0) * rg * f(lam, c).softplus();
                let a = log_a.exp();
                let m = if t == 0 {
                    T::one()
                } else {
                    (T::one() - (log_a + log_a).exp()).sqrt()
                };
                out.push((a, m * ig));
            }
        }
    }
    Ok(out)
}

//! `hattn convert --from <member>` and `hattn family-attn`: a layer of the gated-linear
//! family given as JSON (docs/interchange.md, "Layers of the family") as channels,
//! realisations or implicit attention matrices, and as heatmaps.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use hidden_attention::construct::TimeVaryingChannel;
use hidden_attention::family::linear::realise::{
    diagonal_channel, head_realisation, identity_channel, rwkv6_channel,
};
use hidden_attention::family::linear::{parse_layer, FamilyHead, LayerHeads, Member, MemberLayer};
use hidden_attention::interchange::{self, Document, NumberField, Object};
use hidden_attention::model::figure::{Figure, Format};
use hidden_attention::model::heatmap::{grid, Heatmap};
use hidden_attention::model::npy::write_npy;
use hidden_attention::scalar::{Exact, Field};
use hidden_attention::ssm::{scan, Channel};
use hidden_attention::tensor::Matrix;
use hidden_attention::{Error, Result};
use serde_json::{json, Value};

use crate::convert::Target;

/// `--from`: a member of the family (`-` or `_`).
pub fn member_arg(s: &str) -> std::result::Result<Member, String> {
    Member::parse(s).ok_or_else(|| {
        let names: Vec<String> = Member::ALL
            .iter()
            .map(|m| m.name().replace('_', "-"))
            .collect();
        format!(
            "unknown member {s:?} (expected one of {})",
            names.join(", ")
        )
    })
}

fn read_layer(path: &Path, member: Member) -> Result<LayerHeads> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::InvalidArgument {
        name: "LAYER.json".into(),
        reason: format!("{}: {e}", path.display()),
    })?;
    parse_layer(&text, member)
}

fn construction(reason: String) -> Error {
    Error::Construction {
        construction: "hattn convert --from",
        reason,
    }
}

/// The diagonal channel of a head whose transitions are matrices (DPLR, DeltaNet, Gated
/// DeltaNet): T18 (a), `$\bar A \equiv 1$`, `$\bar B_s = P_s^{-1} b_s$`, `$C_t = P_t^\top q_t$`
/// ([`identity_channel`]), which exists when every `$M_t$`, `$1 \le t \le L-1$`, is
/// invertible. A singular step is refused naming it; the realisation with general
/// transitions (`--to realisation`, [`head_realisation`]) always exists.
fn matrix_transition_channel<T: Field>(member: Member, head: &FamilyHead<T>) -> Result<Channel<T>> {
    identity_channel(head).map_err(|e| match e {
        Error::SingularTransition { step } => {
            construction(format!(
            "{}: the transition M_{step} is singular, so the T18 channel (Ā ≡ 1) does not exist \
             and a Mamba channel of state d_k may be impossible (T18 (b), hattn refute \
             {}-mamba-channel); --to realisation always works (the head itself, general \
             time-varying transitions, state d_k)",
            member.name(),
            if member == Member::Dplr { "dplr" } else { "deltanet" }
        ))
        }
        other => other,
    })
}

/// One converted head, in the layer's field.
enum Converted<T> {
    Channel(Channel<T>),
    Realisation(TimeVaryingChannel<T>),
    Matrix(Matrix<T>),
}

impl<T: Field> Converted<T> {
    /// The response to the unit input `$e_j$`: column `$j$` of its hidden attention (T1).
    fn column(&self, j: usize, l: usize) -> Result<Vec<T>> {
        let mut x = vec![T::zero(); l];
        x[j] = T::one();
        match self {
            Converted::Channel(c) => Ok(scan(c, &x)?.y),
            Converted::Realisation(r) => r.scan(&x),
            Converted::Matrix(m) => Ok((0..l).map(|i| m.get(i, j).clone()).collect()),
        }
    }

    fn values(&self) -> Vec<&T> {
        match self {
            Converted::Channel(c) => c
                .abar_all()
                .iter()
                .chain(c.bbar_all())
                .chain(c.c_all())
                .collect(),
            Converted::Realisation(r) => {
                r.a.iter()
                    .flat_map(Matrix::data)
                    .chain(r.b.data())
                    .chain(r.c.data())
                    .collect()
            }
            Converted::Matrix(m) => m.data().iter().collect(),
        }
    }

    /// The interchange object (values lifted exactly).
    fn object(&self) -> Result<Object> {
        if let Some(v) = self.values().into_iter().find(|v| !v.to_f64().is_finite()) {
            return Err(construction(format!(
                "a value of the result is not finite ({v})"
            )));
        }
        let ex = |m: &Matrix<T>| m.map(Field::to_exact);
        let v = |x: &[T]| x.iter().map(Field::to_exact).collect::<Vec<Exact>>();
        Ok(match self {
            Converted::Channel(c) => Object::Channel(Channel::new(
                c.len(),
                c.state(),
                v(c.abar_all()),
                v(c.bbar_all()),
                v(c.c_all()),
            )?),
            Converted::Realisation(r) => Object::TimeVarying(TimeVaryingChannel {
                a: r.a.iter().map(ex).collect(),
                b: ex(&r.b),
                c: ex(&r.c),
            }),
            Converted::Matrix(m) => Object::Matrix(ex(m)),
        })
    }
}

fn convert_head<T: Field>(
    member: Member,
    head: &FamilyHead<T>,
    to: Target,
) -> Result<Converted<T>> {
    Ok(match to {
        Target::Matrix => Converted::Matrix(head.attention_matrix()?),
        Target::Realisation => Converted::Realisation(head_realisation(head)?),
        Target::Channel => Converted::Channel(match member {
            Member::Dplr | Member::DeltaRule | Member::GatedDeltaRule => {
                matrix_transition_channel(member, head)?
            }
            Member::Rwkv6 => rwkv6_channel(head)?,
            _ => diagonal_channel(head)?,
        }),
        Target::Head => {
            return Err(Error::InvalidArgument {
                name: "to".into(),
                reason: "a layer converts to channel, realisation or matrix".into(),
            })
        }
    })
}

/// The check before writing, independent of the construction: the response of the result
/// to each unit input `$e_j$` equals the head's recurrence run on `$e_j$` (column `$j$` of
/// `$A$`, T14), every row (the upper triangle must be 0). Exact layers: equal as rationals;
/// `f64` layers: within `$10^{-10} L (1 + \max|A|)$`.
fn verify<T: Field>(head: &FamilyHead<T>, out: &Converted<T>, index: &str) -> Result<()> {
    let l = head.len();
    let cols: Vec<Vec<T>> = (0..l)
        .map(|j| {
            let mut x = vec![T::zero(); l];
            x[j] = T::one();
            head.run(&x, 1).map(|(o, _)| o)
        })
        .collect::<Result<_>>()?;
    let scale = cols
        .iter()
        .flatten()
        .map(|v| v.to_f64().abs())
        .fold(0.0, f64::max);
    let tol = 1e-10 * l as f64 * (1.0 + scale);
    for (j, want) in cols.iter().enumerate() {
        let got = out.column(j, l)?;
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            let ok = if T::EXACT {
                g == w
            } else {
                (g.to_f64() - w.to_f64()).abs() <= tol
            };
            if !ok {
                return Err(construction(format!(
                    "check failed for {index}: the result's hidden attention at ({i}, {j}) is {g} \
                     but the head's recurrence gives {w}; nothing written"
                )));
            }
        }
    }
    Ok(())
}

fn convert_layer<T: Field>(member: Member, layer: &MemberLayer<T>, to: Target) -> Result<Value> {
    let (bsz, h, l) = layer.dims;
    let field = if T::EXACT {
        NumberField::Rational
    } else {
        NumberField::F64
    };
    let mut objects = Vec::new();
    for (i, head) in layer.heads.iter().enumerate() {
        let (b, hh) = (i / h, i % h);
        let index = format!("batch {b}, head {hh}");
        let out = convert_head(member, head, to).map_err(|e| match e {
            Error::Construction { reason, .. } => construction(format!("{index}: {reason}")),
            e => construction(format!("{index}: {e}")),
        })?;
        verify(head, &out, &index)?;
        let doc = Document {
            field,
            object: out.object()?,
        };
        objects.push(json!({ "batch": b, "head": hh, "document": interchange::to_value(&doc) }));
    }
    let to_name = match to {
        Target::Channel => "channel",
        Target::Realisation => "realisation",
        _ => "matrix",
    };
    Ok(json!({
        "kind": "layer_conversion", "member": member.name(), "to": to_name,
        "field": field.name(), "batch": bsz, "heads": h,
        "unit": if member.elementwise() { "channel" } else { "head" },
        "len": l, "value_dim": layer.dv, "objects": objects,
    }))
}

/// `hattn convert --from MEMBER --to channel|realisation|matrix LAYER.json`.
pub fn convert_from(member: Member, to: Target, input: &Path, out: Option<&Path>) -> ExitCode {
    let res = read_layer(input, member).and_then(|layer| match &layer {
        LayerHeads::F64(l) => convert_layer(member, l, to),
        LayerHeads::Exact(l) => convert_layer(member, l, to),
    });
    let doc = match res {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {}: {e}", input.display());
            return ExitCode::from(2);
        }
    };
    let text = serde_json::to_string_pretty(&doc).expect("JSON values serialise");
    match out {
        Some(p) => {
            if let Err(e) = std::fs::write(p, text + "\n") {
                eprintln!("error: {}: {e}", p.display());
                return ExitCode::from(2);
            }
        }
        None => println!("{text}"),
    }
    ExitCode::SUCCESS
}

/// Options of `hattn family-attn`.
#[derive(Args, Debug)]
pub struct FamilyAttnArgs {
    /// The member: gla, simple-gla, retention, hgrn, rwkv6, dplr, delta-rule,
    /// gated-delta-rule, rglru.
    #[arg(long, value_parser = member_arg)]
    from: Member,
    /// One head (for HGRN and RG-LRU: one feature channel); default a grid of heads.
    #[arg(long)]
    head: Option<usize>,
    /// The batch element.
    #[arg(long, default_value_t = 0)]
    batch: usize,
    /// Heads in the grid when --head is not given.
    #[arg(long, default_value_t = 16, value_parser = crate::args::positive_usize)]
    grid: usize,
    /// Output figure, SVG or PNG by the file's extension (repeatable).
    #[arg(long, value_name = "FILE.svg|FILE.png")]
    out: Vec<PathBuf>,
    /// Output .npy: `(L, L)` for one head, `(n, L, L)` for a grid.
    #[arg(long)]
    npy: Option<PathBuf>,
    /// The layer (JSON, the golden family cases' `inputs` + `params` form).
    layer: PathBuf,
}

/// The implicit attention of the chosen heads, in `f64` (exact layers computed exactly).
fn panels<T: Field>(layer: &MemberLayer<T>, a: &FamilyAttnArgs) -> Result<Vec<(usize, Vec<f64>)>> {
    let (bsz, h, _) = layer.dims;
    let bad = |name: &str, reason: String| Error::InvalidArgument {
        name: name.into(),
        reason,
    };
    if a.batch >= bsz {
        return Err(bad(
            "batch",
            format!("batch {} is not below B = {bsz}", a.batch),
        ));
    }
    if let Some(x) = a.head.filter(|&x| x >= h) {
        return Err(bad(
            "head",
            format!("head {x} is not below the number of heads {h}"),
        ));
    }
    let chosen: Vec<usize> = match a.head {
        Some(x) => vec![x],
        None => (0..h.min(a.grid)).collect(),
    };
    chosen
        .into_iter()
        .map(|x| {
            let m = layer.heads[a.batch * h + x].attention_matrix()?;
            Ok((x, m.data().iter().map(Field::to_f64).collect()))
        })
        .collect()
}

fn family_attn_run(a: &FamilyAttnArgs) -> Result<()> {
    for p in &a.out {
        Format::of_path(p, "out")?;
    }
    let layer = read_layer(&a.layer, a.from)?;
    let (l, panels) = match &layer {
        LayerHeads::F64(x) => (x.dims.2, panels(x, a)?),
        LayerHeads::Exact(x) => (x.dims.2, panels(x, a)?),
    };
    let unit = if a.from.elementwise() {
        "channel"
    } else {
        "head"
    };
    if let Some(p) = &a.npy {
        let data: Vec<f64> = panels.iter().flat_map(|(_, m)| m.iter().copied()).collect();
        let shape = if a.head.is_some() {
            vec![l, l]
        } else {
            vec![panels.len(), l, l]
        };
        write_npy(p, &shape, &data)?;
        println!("wrote {} {:?}", p.display(), shape);
    }
    if !a.out.is_empty() {
        let name = a.from.name();
        let fig: Figure = if let [(x, m)] = panels.as_slice() {
            let title = format!(
                "{name}, batch {}, {unit} {x}: implicit attention A",
                a.batch
            );
            Heatmap::attention(l, m.clone(), title).render()
        } else {
            let hm: Vec<Heatmap> = panels
                .iter()
                .map(|(x, m)| Heatmap::attention(l, m.clone(), format!("{unit} {x}")))
                .collect();
            let ncols = (hm.len() as f64).sqrt().ceil() as usize;
            grid(
                &hm,
                ncols,
                &format!("{name}, batch {}: implicit attention A", a.batch),
            )
        };
        crate::attn::write_figure(&fig, &a.out)?;
    }
    Ok(())
}

/// `hattn family-attn`.
pub fn family_attn(a: &FamilyAttnArgs) -> ExitCode {
    if a.out.is_empty() && a.npy.is_none() {
        eprintln!("error: invalid argument `out`: nothing to write; give --out FILE.svg|FILE.png and/or --npy FILE.npy");
        return ExitCode::from(2);
    }
    match family_attn_run(a) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}: {e}", a.layer.display());
            ExitCode::from(2)
        }
    }
}

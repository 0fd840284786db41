//! `hattn convert`: constructions between channels, heads and matrices on interchange
//! documents (docs/interchange.md).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use hidden_attention::construct::{
    channel_to_gated_head, channel_to_linear_head, gated_head_to_channel, linear_head_to_channel,
    realise_diagonal, realise_full, realise_minimal, DiagonalOutcome,
};
use hidden_attention::interchange::{self, Document, NumberField, Object};
use hidden_attention::scalar::{lift, Exact, Field};
use hidden_attention::ssm::{attention_matrix as alpha, scan};
use hidden_attention::tensor::Matrix;
use num_traits::{One, Zero};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Target {
    /// A linear-attention head (T2a gated; `--ungated` for T2b).
    Head,
    /// An S6 channel (T3 from a head, T5 from a matrix).
    Channel,
    /// The exact attention matrix (α̃ of a channel, a head's matrix; with --from, each
    /// head's implicit attention A).
    Matrix,
    /// With --from: each head itself as an `sss_channel` (general time-varying
    /// transitions; every member).
    Realisation,
}

#[derive(Args, Debug)]
pub struct ConvertArgs {
    /// What to produce.
    #[arg(long)]
    to: Target,
    /// The input is a layer of this member of the gated-linear family (gla, simple-gla,
    /// retention, hgrn, rwkv6, dplr, delta-rule, gated-delta-rule, rglru) in the golden
    /// cases' `inputs` + `params` form; the output is one document per head
    /// (docs/interchange.md, "Layers of the family").
    #[arg(long, value_parser = crate::family::member_arg, conflicts_with_all = ["minimal", "ungated"])]
    from: Option<hidden_attention::family::linear::Member>,
    /// From a matrix: the minimal-state realisation (diagonal when found, else general
    /// time-varying transitions, `sss_channel`) instead of N = L.
    #[arg(long)]
    minimal: bool,
    /// Channel → head: the ungated factored head Q = C ⊙ P, K = B̄ ⊘ P (T2b).
    #[arg(long)]
    ungated: bool,
    /// Write here instead of stdout.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Input document (JSON).
    input: PathBuf,
}

pub fn convert(args: &ConvertArgs) -> ExitCode {
    if let Some(member) = args.from {
        if args.to == Target::Head {
            eprintln!(
                "error: invalid argument `to`: a layer converts to channel, realisation or matrix"
            );
            return ExitCode::from(2);
        }
        return crate::family::convert_from(member, args.to, &args.input, args.out.as_deref());
    }
    let text = match std::fs::read_to_string(&args.input) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {}: {e}", args.input.display());
            return ExitCode::from(2);
        }
    };
    let result = interchange::parse(&text).and_then(|doc| run(args, doc));
    match result {
        Ok(doc) => {
            let out = interchange::to_string_pretty(&doc);
            match &args.out {
                Some(p) => {
                    if let Err(e) = std::fs::write(p, out + "\n") {
                        eprintln!("error: {}: {e}", p.display());
                        return ExitCode::from(2);
                    }
                }
                None => println!("{out}"),
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {}: {e}", args.input.display());
            ExitCode::from(2)
        }
    }
}

fn construction(reason: String) -> hidden_attention::Error {
    hidden_attention::Error::Construction {
        construction: "hattn convert",
        reason,
    }
}

/// The exact attention matrix of an object (softmax: rounded f64, see the docs).
fn matrix_of(obj: &Object) -> hidden_attention::Result<(Matrix<Exact>, bool)> {
    Ok(match obj {
        Object::Channel(c) => (alpha(c)?, true),
        Object::LinearHead(h) => (h.attention()?, true),
        Object::GatedHead(h) => (h.attention()?, true),
        Object::Matrix(m) => (m.clone(), true),
        Object::TimeVarying(t) => (t.attention(), true),
        Object::SoftmaxHead(h) => {
            let a = h.map(Field::to_f64).attention()?;
            (a.map(|v| lift(*v).expect("finite softmax entries")), false)
        }
    })
}

/// T5: a channel whose hidden attention is `m` — N = L, or the minimal one (diagonal when
/// found, else general time-varying transitions) — verified exactly before it is written.
fn realise(m: &Matrix<Exact>, minimal: bool) -> hidden_attention::Result<Object> {
    let object = if !minimal {
        Object::Channel(realise_full(m)?)
    } else {
        match realise_diagonal(m)? {
            DiagonalOutcome::Found(ch) => Object::Channel(ch),
            DiagonalOutcome::NotFound(ce) => {
                eprintln!(
                    "note: {}; writing the minimal realisation with general transitions (sss_channel)",
                    ce.reason
                );
                Object::TimeVarying(realise_minimal(m)?)
            }
        }
    };
    verify_realisation(&object, m)?;
    Ok(object)
}

/// Exact check of a realisation, independent of the construction and of the α̃ formula:
/// scanning the unit vector `$e_j$` through the channel gives column `$j$` of its hidden
/// attention (T1: `$y = \tilde\alpha\, e_j$`), which must equal column `$j$` of `m` entry by entry
/// (above the diagonal too: the realisation must be causal). `$O(L^2N)$` for a diagonal
/// channel, `$O(L^2N^2)$` for general transitions, all in exact rationals.
fn verify_realisation(object: &Object, m: &Matrix<Exact>) -> hidden_attention::Result<()> {
    let l = m.rows();
    for j in 0..l {
        let mut x = vec![Exact::zero(); l];
        x[j] = Exact::one();
        let y = match object {
            Object::Channel(c) => scan(c, &x)?.y,
            Object::TimeVarying(t) => t.scan(&x)?,
            _ => {
                return Err(construction(
                    "realisation check: the result is not a channel".into(),
                ))
            }
        };
        if let Some(i) = (0..l).find(|&i| y[i] != *m.get(i, j)) {
            return Err(construction(format!(
                "realisation check failed: the constructed channel's hidden attention at ({i}, {j}) is {} but the matrix has {}; nothing written",
                y[i],
                m.get(i, j)
            )));
        }
    }
    Ok(())
}

fn run(args: &ConvertArgs, doc: Document) -> hidden_attention::Result<Document> {
    let mut field = doc.field;
    let object = match (args.to, doc.object) {
        (Target::Matrix, obj) => {
            let (m, exact) = matrix_of(&obj)?;
            if !exact {
                field = NumberField::F64;
            }
            Object::Matrix(m)
        }
        (Target::Head, Object::Channel(c)) if args.ungated => Object::LinearHead(channel_to_linear_head(&c)?),
        (Target::Head, Object::Channel(c)) => Object::GatedHead(channel_to_gated_head(&c)),
        (Target::Head, obj @ (Object::LinearHead(_) | Object::GatedHead(_) | Object::SoftmaxHead(_))) => obj,
        (Target::Head, Object::Matrix(m)) => match realise(&m, args.minimal)? {
            Object::Channel(c) => Object::GatedHead(channel_to_gated_head(&c)),
            _ => {
                return Err(construction(
                    "no diagonal minimal realisation found, so no gated head of that size; use --to channel --minimal for the general one".into(),
                ))
            }
        },
        (Target::Head, Object::TimeVarying(_)) => {
            return Err(construction("a channel with general (non-diagonal) transitions has no diagonal gated head".into()))
        }
        (Target::Channel, Object::GatedHead(h)) => Object::Channel(gated_head_to_channel(&h)?),
        (Target::Channel, Object::LinearHead(h)) => Object::Channel(linear_head_to_channel(&h)?),
        (Target::Channel, Object::Channel(c)) if args.minimal => realise(&alpha(&c)?, true)?,
        (Target::Channel, obj @ (Object::Channel(_) | Object::TimeVarying(_))) => obj,
        (Target::Channel, Object::Matrix(m)) => realise(&m, args.minimal)?,
        (Target::Realisation, _) => {
            return Err(construction(
                "--to realisation converts a layer of the family: give --from <member>".into(),
            ))
        }
        (Target::Channel, obj @ Object::SoftmaxHead(_)) => {
            // T5 on this one sequence: the softmax matrix (rounded to f64) as a channel's α̃
            let (m, _) = matrix_of(&obj)?;
            field = NumberField::F64;
            eprintln!("note: a channel reproducing this softmax head on this sequence only (T5); no fixed-N channel does so for every input (T6)");
            realise(&m, args.minimal)?
        }
    };
    Ok(Document { field, object })
}

#[cfg(test)]
mod tests {
    use super::*;
    use hidden_attention::scalar::ratio;
    use hidden_attention::ssm::Channel;

    /// α̃ of docs/constructions.md's running example (semiseparable rank 2).
    fn example() -> Matrix<Exact> {
        let r = ratio;
        let ch = Channel::new(
            3,
            2,
            vec![r(1, 2), r(1, 1), r(1, 3), r(0, 1), r(2, 1), r(1, 2)],
            vec![r(1, 1), r(1, 2), r(2, 1), r(1, 1), r(-1, 1), r(3, 1)],
            vec![r(1, 1), r(1, 1), r(1, 2), r(2, 1), r(3, 1), r(-1, 1)],
        )
        .unwrap();
        alpha(&ch).unwrap()
    }

    /// Every realisation `convert` writes passes the check: N = L, diagonal minimal, and
    /// general minimal (a matrix with no diagonal realisation found).
    #[test]
    fn realisations_pass_the_check() {
        let m = example();
        for minimal in [false, true] {
            let obj = realise(&m, minimal).unwrap();
            verify_realisation(&obj, &m).unwrap();
        }
        let tv = Object::TimeVarying(realise_minimal(&m).unwrap());
        verify_realisation(&tv, &m).unwrap();
    }

    /// A wrong realisation is caught, naming the entry: one changed transition entry of
    /// the minimal (time-varying) realisation, one changed B̄ of the N = L channel, and a
    /// realisation whose upper triangle is not zero.
    #[test]
    fn wrong_realisations_are_refused() {
        let m = example();
        let mut tv = realise_minimal(&m).unwrap();
        *tv.a[2].get_mut(0, 0) += &ratio(1, 7);
        let err = verify_realisation(&Object::TimeVarying(tv), &m).unwrap_err();
        assert!(
            err.to_string().contains("realisation check failed"),
            "{err}"
        );
        let full = realise_full(&m).unwrap();
        let mut bbar = full.bbar_all().to_vec();
        bbar[4] = ratio(2, 1); // B̄_1 = 2 e_1 instead of e_1
        let bad =
            Channel::new(3, 3, full.abar_all().to_vec(), bbar, full.c_all().to_vec()).unwrap();
        let err = verify_realisation(&Object::Channel(bad), &m).unwrap_err();
        assert!(err.to_string().contains("at (1, 1)"), "{err}");
        // a channel with the right lower triangle cannot have a nonzero upper one, so
        // check against a matrix that differs above the diagonal: caught at (0, 1)
        let mut upper = m.clone();
        *upper.get_mut(0, 1) = ratio(1, 1);
        let err = verify_realisation(&Object::Channel(full), &upper).unwrap_err();
        assert!(err.to_string().contains("at (0, 1)"), "{err}");
    }
}

//! `hattn explain`: the relevance of every input position for a checkpoint's prediction,
//! by any measured method (default: the best on the known-answer benchmark,
//! docs/explain.md).

use std::path::PathBuf;
use std::process::ExitCode;

use hidden_attention::model::explain::{self as ex, Method as LibMethod};
use hidden_attention::model::figure::Figure;
use hidden_attention::model::heatmap::{ColorScale, Heatmap};
use hidden_attention::model::npy::write_npy;
use hidden_attention::model::relevance::{Explainer, Method, RECOMMENDED};
use hidden_attention::model::ModelKind;

use crate::attn::{load_and_run, progress, token_input, write_figure};

/// Options of `hattn explain`.
#[derive(Clone)]
pub struct ExplainArgs {
    pub checkpoint: PathBuf,
    pub tokens: Vec<usize>,
    pub labels: Vec<String>,
    /// `--text` and `--tokenizer`.
    pub text: Option<(String, PathBuf)>,
    pub method: Option<String>,
    pub target_pos: usize,
    pub logit: Option<usize>,
    pub start_layer: usize,
    pub out: Vec<PathBuf>,
    pub npy: Option<PathBuf>,
}

pub fn explain(a: &ExplainArgs) -> ExitCode {
    let res =
        token_input(&a.tokens, &a.labels, a.text.as_ref(), &a.out).and_then(|(tokens, labels)| {
            run(&ExplainArgs {
                tokens,
                labels,
                ..a.clone()
            })
        });
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// The relevance row, its matrix (where the method has one), the logit explained, and
/// the number of layers.
type Explained = (Vec<f64>, Option<Vec<f64>>, usize, usize);

/// Mamba-2: every method through the [`Explainer`] (α̃ methods over heads).
fn explain_mamba2(a: &ExplainArgs, method: Method) -> hidden_attention::Result<Explained> {
    use hidden_attention::model::Logits;
    if a.start_layer != 0 {
        return Err(hidden_attention::Error::InvalidArgument {
            name: "start_layer".into(),
            reason: "a Mamba-2 explanation uses every layer".into(),
        });
    }
    let model = hidden_attention::model::mamba2::load::<f64>(&a.checkpoint)?;
    model.check_tokens(&a.tokens)?;
    let trace = model
        .forward_batch(std::slice::from_ref(&a.tokens), Logits::All)?
        .pop()
        .expect("one sequence");
    let mut x = Explainer::new(&model, &trace, a.target_pos, a.logit, 0)?;
    let r = x.relevance(method)?;
    Ok((r.row, r.matrix, r.logit, model.layers.len()))
}

fn run(a: &ExplainArgs) -> hidden_attention::Result<()> {
    let method = match &a.method {
        Some(m) => Method::parse(m)?,
        None => RECOMMENDED,
    };
    let (row, matrix, logit, n_layers) =
        if ModelKind::of_checkpoint(&a.checkpoint)? == ModelKind::Mamba2 {
            explain_mamba2(a, method)?
        } else {
            explain_mamba1(a, method)?
        };
    report(a, method, &row, matrix.as_deref(), logit, n_layers)
}

fn explain_mamba1(a: &ExplainArgs, method: Method) -> hidden_attention::Result<Explained> {
    let (model, trace) = load_and_run::<f64>(&a.checkpoint, &a.tokens)?;
    let lib = match method {
        Method::Raw => Some(LibMethod::Raw),
        Method::Rollout => Some(LibMethod::Rollout),
        Method::Attr => Some(LibMethod::Attr),
        _ => None,
    };
    let e = match lib {
        Some(lib) => {
            let bar = progress(model.layers.len(), "explain");
            let e = ex::explain_with(
                &model,
                &trace,
                lib,
                a.target_pos,
                a.logit,
                a.start_layer,
                &mut |_| bar.inc(1),
            )?;
            bar.finish_and_clear();
            let k = e
                .logit
                .unwrap_or_else(|| ex::predicted_token(&model, &trace, a.target_pos));
            (e.row, Some(e.matrix), k)
        }
        None => {
            if a.start_layer != 0 {
                return Err(hidden_attention::Error::InvalidArgument {
                    name: "start_layer".into(),
                    reason: format!(
                        "only raw, rollout and attr take a first layer; `{}` uses every layer",
                        method.name()
                    ),
                });
            }
            let mut x = Explainer::new(&model, &trace, a.target_pos, a.logit, 0)?;
            let r = x.relevance(method)?;
            (r.row, r.matrix, r.logit)
        }
    };
    Ok((e.0, e.1, e.2, model.layers.len()))
}

/// Print the relevance and write the `.npy` and figure outputs.
fn report(
    a: &ExplainArgs,
    method: Method,
    row: &[f64],
    matrix: Option<&[f64]>,
    logit: usize,
    n_layers: usize,
) -> hidden_attention::Result<()> {
    let l = a.tokens.len();
    let name = method.name();
    let default = if a.method.is_none() {
        " (the default: the best measured method, docs/explain.md)"
    } else {
        ""
    };
    println!("method: {name}{default}");
    println!("explained logit: {logit}");
    let positions = if method.post_conv() {
        "post-conv positions"
    } else {
        "input positions"
    };
    println!(
        "relevance of {positions} for the prediction at position {} (layers {}-{}):",
        a.target_pos,
        a.start_layer,
        n_layers - 1
    );
    for (j, v) in row.iter().enumerate().take(a.target_pos + 1) {
        let lab = a
            .labels
            .get(j)
            .cloned()
            .unwrap_or_else(|| a.tokens[j].to_string());
        println!("  {j:>4} {lab:>12} {v:.4e}");
    }
    if let Some(p) = &a.npy {
        match matrix {
            Some(m) => {
                write_npy(p, &[l, l], m)?;
                println!("wrote {} [{l}, {l}]", p.display());
            }
            None => {
                write_npy(p, &[l], row)?;
                println!("wrote {} [{l}]", p.display());
            }
        }
    }
    if !a.out.is_empty() {
        // ticks: the token strings when given, else the positions (as `hattn attn`)
        let labels: Vec<String> = if a.labels.len() == l {
            a.labels.clone()
        } else {
            (0..l).map(|j| j.to_string()).collect()
        };
        let layers = match n_layers - 1 {
            last if last == a.start_layer => format!("layer {last}"),
            last => format!("layers {}-{last}", a.start_layer),
        };
        let signed = row.iter().any(|&v| v < 0.0);
        let scale = if signed {
            ColorScale::Auto
        } else {
            ColorScale::FromZero
        };
        let mut figures = Vec::new();
        if let Some(m) = matrix {
            let mut top =
                Heatmap::attention(l, m.to_vec(), format!("{name}, {layers}")).with_labels(&labels);
            top.scale = scale;
            top.bar_label = "relevance".into();
            top.highlight_row = Some(a.target_pos);
            figures.push(top.render());
        }
        // the explanation: row `target_pos`, over the keys it can see (0..=target_pos)
        let p1 = a.target_pos + 1;
        let strip = Heatmap {
            rows: 1,
            cols: p1,
            data: row[..p1].to_vec(),
            title: format!(
                "{name}: relevance for the prediction at position {}, logit {logit}",
                a.target_pos
            ),
            row_labels: vec![labels[a.target_pos].clone()],
            col_labels: labels[..p1].to_vec(),
            x_label: "key position j".into(),
            y_label: String::new(),
            bar_label: String::new(),
            scale,
            causal: false,
            highlight_row: None,
        };
        figures.push(strip.render());
        write_figure(&Figure::stack(&figures), &a.out)?;
    }
    Ok(())
}

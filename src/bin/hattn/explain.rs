//! `hattn explain`: raw attention, rollout or Mamba-Attr of a checkpoint's prediction.

use std::path::PathBuf;
use std::process::ExitCode;

use hidden_attention::model::explain::{self as ex, Method as LibMethod};
use hidden_attention::model::heatmap::{ColorScale, Heatmap, Image};
use hidden_attention::model::npy::write_npy;

use crate::attn::{load_and_run, progress};

/// Explanation method on the command line.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Method {
    /// Mean of the per-layer normalised channel-mean hidden attention.
    Raw,
    /// Attention rollout: product over layers of row-normalised (I + A).
    Rollout,
    /// Mamba-Attr: gradient-weighted attention, rolled out.
    Attr,
}

/// Options of `hattn explain`.
pub struct ExplainArgs {
    pub checkpoint: PathBuf,
    pub tokens: Vec<usize>,
    pub labels: Vec<String>,
    pub method: Method,
    pub target_pos: usize,
    pub logit: Option<usize>,
    pub start_layer: usize,
    pub png: Option<PathBuf>,
    pub npy: Option<PathBuf>,
}

pub fn explain(a: &ExplainArgs) -> ExitCode {
    match run(a) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(a: &ExplainArgs) -> hidden_attention::Result<()> {
    let (model, trace) = load_and_run::<f64>(&a.checkpoint, &a.tokens)?;
    let method = match a.method {
        Method::Raw => LibMethod::Raw,
        Method::Rollout => LibMethod::Rollout,
        Method::Attr => LibMethod::Attr,
    };
    let bar = progress(model.layers.len(), "explain");
    let e = ex::explain_with(
        &model,
        &trace,
        method,
        a.target_pos,
        a.logit,
        a.start_layer,
        &mut |_| bar.inc(1),
    )?;
    bar.finish_and_clear();
    let l = e.len;
    let name = match a.method {
        Method::Raw => "raw attention",
        Method::Rollout => "attention rollout",
        Method::Attr => "Mamba-Attr",
    };
    println!(
        "{name} of position {} (layers {}-{}):",
        a.target_pos,
        a.start_layer,
        model.layers.len() - 1
    );
    if let Some(k) = e.logit {
        println!("explained logit: {k}");
    }
    for (j, v) in e.row.iter().enumerate().take(a.target_pos + 1) {
        let lab = a
            .labels
            .get(j)
            .cloned()
            .unwrap_or_else(|| a.tokens[j].to_string());
        println!("  {j:>4} {lab:>12} {v:.4e}");
    }
    if let Some(p) = &a.npy {
        write_npy(p, &[l, l], &e.matrix)?;
        println!("wrote {} [{l}, {l}]", p.display());
    }
    if let Some(p) = &a.png {
        let labels: Vec<String> = if a.labels.len() == l {
            a.labels.clone()
        } else {
            a.tokens.iter().map(|t| t.to_string()).collect()
        };
        let layers = match model.layers.len() - 1 {
            last if last == a.start_layer => format!("layer {last}"),
            last => format!("layers {}-{last}", a.start_layer),
        };
        let logit = e.logit.map_or(String::new(), |k| format!(", logit {k}"));
        let mut top = Heatmap::attention(l, e.matrix.clone(), format!("{name}, {layers}"))
            .with_labels(&labels);
        top.scale = ColorScale::FromZero;
        top.bar_label = "relevance".into();
        top.highlight_row = Some(a.target_pos);
        // the explanation: row `target_pos`, over the tokens it can see (0..=target_pos)
        let p1 = a.target_pos + 1;
        let strip = Heatmap {
            rows: 1,
            cols: p1,
            data: e.row[..p1].to_vec(),
            title: format!(
                "relevance for the prediction at position {}{logit}",
                a.target_pos
            ),
            row_labels: vec![labels[a.target_pos].clone()],
            col_labels: labels[..p1].to_vec(),
            x_label: "token j".into(),
            y_label: String::new(),
            bar_label: String::new(),
            scale: ColorScale::FromZero,
            causal: false,
            highlight_row: None,
        };
        let img = Image::stack(&[top.render(), strip.render()]);
        img.write_png(p)?;
        println!("wrote {} ({}×{})", p.display(), img.width, img.height);
    }
    Ok(())
}

//! `hattn faithfulness`: score explanation methods on a known-answer set (localisation of
//! the evidence, perturbation curves), as a table, JSON and figures.

use std::path::PathBuf;
use std::process::ExitCode;

use hidden_attention::model::faithfulness::{evaluate, Options};
use hidden_attention::model::known_answer::KnownAnswerSet;
use hidden_attention::model::plot::{rank_distribution, write_perturbation_svg};
use hidden_attention::model::relevance::Method;
use hidden_attention::model::MambaModel;

use crate::attn::progress;

/// Options of `hattn faithfulness`.
#[derive(clap::Args, Debug)]
pub struct FaithfulnessArgs {
    /// Checkpoint directory.
    #[arg(long, value_parser = crate::args::checkpoint_dir)]
    pub checkpoint: PathBuf,
    /// Known-answer set (the format of selective-copy-a's task.json, docs/explain.md).
    #[arg(long)]
    pub data: PathBuf,
    /// Methods, comma separated, from: raw, rollout, attr, raw-abs, rollout-abs, attr-abs, raw-signed, alpha-row, authors-row, mixer-raw, mixer-rollout, mixer-attr, mixer-raw-abs, mixer-rollout-abs, mixer-attr-abs, mixer-raw-signed, mixer-first, mixer-grad-input, mixer-grad-input-abs, grad-input, grad-input-abs, saliency, random, recency. Default: every method.
    #[arg(long, value_delimiter = ',')]
    pub methods: Vec<String>,
    /// Use only the first N sequences.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Seed of the random baseline.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Steps of the perturbation curves.
    #[arg(long, default_value_t = 10)]
    pub steps: usize,
    /// Skip the perturbation test.
    #[arg(long)]
    pub no_perturbation: bool,
    /// Print JSON instead of the table.
    #[arg(long)]
    pub json: bool,
    /// The rank distribution per method, as PNG or SVG (the file's extension decides).
    #[arg(long, value_name = "FILE.png|FILE.svg")]
    pub png: Option<PathBuf>,
    /// SVG of the perturbation curves.
    #[arg(long)]
    pub svg: Option<PathBuf>,
}

pub fn faithfulness(a: &FaithfulnessArgs) -> ExitCode {
    match run(a) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(a: &FaithfulnessArgs) -> hidden_attention::Result<()> {
    if let Some(p) = &a.png {
        hidden_attention::model::figure::Format::of_path(p, "png")?;
    }
    let methods: Vec<Method> = if a.methods.is_empty() {
        Method::ALL.to_vec()
    } else {
        a.methods
            .iter()
            .map(|s| Method::parse(s))
            .collect::<hidden_attention::Result<_>>()?
    };
    if a.steps == 0 {
        return Err(hidden_attention::Error::InvalidArgument {
            name: "steps".into(),
            reason: "at least one step is needed".into(),
        });
    }
    let set = KnownAnswerSet::load(&a.data)?;
    let model = MambaModel::<f64>::load(&a.checkpoint)?;
    set.check_vocab(model.config.vocab_size)?;
    if set.pad.is_none() && !a.no_perturbation && !a.json {
        println!("no `tokens.pad` in the data: the perturbation test is skipped");
    }
    let n = a.limit.unwrap_or(usize::MAX).min(set.sequences.len());
    let bar = progress(n, "sequences");
    let opts = Options {
        methods,
        limit: a.limit,
        seed: a.seed,
        perturbation: !a.no_perturbation,
        steps: a.steps,
    };
    let report = evaluate(&model, &set, &opts, &|| bar.inc(1))?;
    bar.finish_and_clear();
    if a.json {
        let text = serde_json::to_string_pretty(&report).map_err(|e| {
            hidden_attention::Error::InvalidArgument {
                name: "report".into(),
                reason: format!("cannot serialise: {e}"),
            }
        })?;
        println!("{text}");
    } else {
        print!("{}", report.table());
    }
    if let Some(p) = &a.png {
        let img = rank_distribution(&report);
        img.write(p, "png")?;
        if !a.json {
            println!("wrote {} ({}×{})", p.display(), img.width, img.height);
        }
    }
    if let Some(p) = &a.svg {
        write_perturbation_svg(&report, p)?;
        if !a.json {
            println!("wrote {}", p.display());
        }
    }
    Ok(())
}

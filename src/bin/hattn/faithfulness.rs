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
pub struct FaithfulnessArgs {
    pub checkpoint: PathBuf,
    pub data: PathBuf,
    pub methods: Vec<String>,
    pub limit: Option<usize>,
    pub seed: u64,
    pub steps: usize,
    pub no_perturbation: bool,
    pub json: bool,
    pub png: Option<PathBuf>,
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
        img.write_png(p)?;
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

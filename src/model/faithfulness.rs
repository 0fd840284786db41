//! Faithfulness of explanations on a known-answer set: does the explanation of the
//! prediction at the last position point at the evidence?
//!
//! For each sequence (length `$L$`, target `$P = L-1$`, candidates `$0..P$`, `$n = L$` of them) and
//! each [`Method`], the relevance row `$r$` is ranked with fractional ranks (ties share the
//! mean of their ranks):
//!
//! ```math
//! \mathrm{rank}(j) = 1 + \#\{k \le P: r_k > r_j\} + \tfrac12\,\#\{k \le P,\ k \ne j: r_k = r_j\}.
//! ```
//!
//! The rank of the evidence is the best rank among the evidence positions. Reported per
//! method: **top-1** and **top-3** (fraction of sequences with evidence rank ≤ 1, ≤ 3), the
//! **mean rank**, the same for the MARK position where the set gives one, and the
//! perturbation areas of [`crate::model::perturbation`]. Chance, for `$k$` evidence positions
//! among `$n$`: `$P(\text{best rank} \le t) = 1 - \binom{n-k}{t}/\binom{n}{t}$` and mean best
//! rank `$(n+1)/(k+1)$` (8.5 for `$n = 16$`, `$k = 1$`), averaged over the sequences.

use rayon::prelude::*;
use serde::Serialize;

use crate::error::Result;
use crate::model::forward::{Logits, MambaModel};
use crate::model::known_answer::KnownAnswerSet;
use crate::model::perturbation::{removal_curve, removal_order, Curve};
use crate::model::relevance::{Explainer, Method};
use crate::scalar::Real;

/// Localisation scores of one method for one kind of position (evidence or mark).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Localisation {
    /// Fraction of sequences whose position is ranked first.
    pub top1: f64,
    /// Fraction ranked in the first three.
    pub top3: f64,
    /// Mean (fractional) rank, 1 = best.
    pub mean_rank: f64,
    /// The rank in every sequence.
    pub ranks: Vec<f64>,
}

impl Localisation {
    /// Scores of a list of ranks.
    pub fn from_ranks(ranks: Vec<f64>) -> Self {
        let n = ranks.len().max(1) as f64;
        Self {
            top1: ranks.iter().filter(|&&r| r <= 1.0).count() as f64 / n,
            top3: ranks.iter().filter(|&&r| r <= 3.0).count() as f64 / n,
            mean_rank: ranks.iter().sum::<f64>() / n,
            ranks,
        }
    }
}

/// Perturbation scores of one method: mean curves and their areas.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PerturbationScore {
    /// Most relevant removed first (lower area = more faithful).
    pub positive: Curve,
    /// Least relevant removed first (higher area = more faithful).
    pub negative: Curve,
    /// Area under the positive probability curve.
    pub positive_prob_auc: f64,
    /// Area under the negative probability curve.
    pub negative_prob_auc: f64,
    /// Area under the positive accuracy curve.
    pub positive_acc_auc: f64,
    /// Area under the negative accuracy curve.
    pub negative_acc_auc: f64,
}

/// All scores of one method.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MethodScore {
    /// The method's name.
    pub method: String,
    /// Whether its positions are post-conv positions (α̃ methods).
    pub post_conv: bool,
    /// Localisation of the evidence positions.
    pub evidence: Localisation,
    /// Localisation of the mark position, where the set gives one.
    pub mark: Option<Localisation>,
    /// Perturbation scores, where the set gives a PAD id and they were asked for.
    pub perturbation: Option<PerturbationScore>,
}

/// What a random ranking scores, averaged over the sequences.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Chance {
    /// Expected top-1.
    pub top1: f64,
    /// Expected top-3.
    pub top3: f64,
    /// Expected mean rank.
    pub mean_rank: f64,
}

/// The result of [`evaluate`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FaithfulnessReport {
    /// Sequences evaluated.
    pub sequences: usize,
    /// The model's accuracy on them (arg max at the last position = answer).
    pub accuracy: f64,
    /// Seed of the random baseline.
    pub seed: u64,
    /// Chance level of the evidence localisation.
    pub chance: Chance,
    /// One entry per method, in the order asked for.
    pub methods: Vec<MethodScore>,
}

/// Options of [`evaluate`].
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Methods to measure.
    pub methods: Vec<Method>,
    /// Use only the first `limit` sequences.
    pub limit: Option<usize>,
    /// Seed of the random baseline (sequence `s` uses `seed + s`).
    pub seed: u64,
    /// Run the perturbation test (needs the set's PAD id).
    pub perturbation: bool,
    /// Perturbation steps.
    pub steps: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            methods: Method::ALL.to_vec(),
            limit: None,
            seed: 0,
            perturbation: true,
            steps: 10,
        }
    }
}

/// Fractional rank of position `j` among `0..=p` by descending `row` (module docs).
pub fn fractional_rank(row: &[f64], p: usize, j: usize) -> f64 {
    let (mut above, mut ties) = (0usize, 0usize);
    for (k, &v) in row.iter().enumerate().take(p + 1) {
        if v > row[j] {
            above += 1;
        } else if v == row[j] && k != j {
            ties += 1;
        }
    }
    1.0 + above as f64 + ties as f64 / 2.0
}

/// Best fractional rank among `positions`.
pub fn best_rank(row: &[f64], p: usize, positions: &[usize]) -> f64 {
    positions
        .iter()
        .map(|&j| fractional_rank(row, p, j))
        .fold(f64::INFINITY, f64::min)
}

fn binom(n: usize, k: usize) -> f64 {
    if k > n {
        return 0.0;
    }
    (0..k).fold(1.0, |a, i| a * (n - i) as f64 / (i + 1) as f64)
}

/// Chance level of the best rank of `k` positions among `n` candidates.
pub fn chance(n: usize, k: usize) -> Chance {
    let at_most = |t: usize| 1.0 - binom(n - k, t.min(n)) / binom(n, t.min(n));
    Chance {
        top1: at_most(1),
        top3: at_most(3),
        mean_rank: (n + 1) as f64 / (k + 1) as f64,
    }
}

struct PerSequence {
    correct: bool,
    evidence: Vec<f64>,
    mark: Vec<Option<f64>>,
    curves: Vec<Option<(Curve, Curve)>>,
}

/// Measure `opts.methods` on `set`: each sequence explained at its last position.
/// `on_sequence` is called once per finished sequence (progress bars).
///
/// # Errors
/// Errors of [`KnownAnswerSet::check_vocab`] (ids outside the model's vocabulary), of the
/// forward pass, the explanations and the perturbation curves.
pub fn evaluate<T: Real>(
    model: &MambaModel<T>,
    set: &KnownAnswerSet,
    opts: &Options,
    on_sequence: &(dyn Fn() + Sync),
) -> Result<FaithfulnessReport> {
    set.check_vocab(model.config.vocab_size)?;
    let seqs = &set.sequences[..opts.limit.unwrap_or(usize::MAX).min(set.sequences.len())];
    let pad = if opts.perturbation { set.pad } else { None };
    let per: Vec<PerSequence> = seqs
        .par_iter()
        .enumerate()
        .map(|(s, q)| -> Result<PerSequence> {
            let trace = model.forward(&q.tokens, Logits::None)?;
            let p = q.tokens.len() - 1;
            let mut ex = Explainer::new(model, &trace, p, None, opts.seed.wrapping_add(s as u64))?;
            let correct = ex.logit() == q.answer;
            let mut out = PerSequence {
                correct,
                evidence: Vec::new(),
                mark: Vec::new(),
                curves: Vec::new(),
            };
            for &m in &opts.methods {
                let r = ex.relevance(m)?;
                out.evidence.push(best_rank(&r.row, p, &q.evidence));
                out.mark.push(q.mark.map(|j| fractional_rank(&r.row, p, j)));
                out.curves.push(match pad {
                    Some(pad) => {
                        let c = |pos| {
                            removal_curve(
                                model,
                                &q.tokens,
                                q.answer,
                                &removal_order(&r.row, p, pos),
                                pad,
                                opts.steps,
                            )
                        };
                        Some((c(true)?, c(false)?))
                    }
                    None => None,
                });
            }
            on_sequence();
            Ok(out)
        })
        .collect::<Result<_>>()?;
    let n = per.len() as f64;
    let methods = opts
        .methods
        .iter()
        .enumerate()
        .map(|(k, &m)| {
            let marks: Option<Vec<f64>> = per.iter().map(|s| s.mark[k]).collect();
            let perturbation = pad.map(|_| {
                let (mut pos, mut neg) = (Curve::zeros(opts.steps), Curve::zeros(opts.steps));
                for s in &per {
                    let (a, b) = s.curves[k].as_ref().expect("computed with a pad");
                    pos.add_scaled(a, n);
                    neg.add_scaled(b, n);
                }
                PerturbationScore {
                    positive_prob_auc: pos.prob_auc(),
                    negative_prob_auc: neg.prob_auc(),
                    positive_acc_auc: pos.acc_auc(),
                    negative_acc_auc: neg.acc_auc(),
                    positive: pos,
                    negative: neg,
                }
            });
            MethodScore {
                method: m.name().to_string(),
                post_conv: m.post_conv(),
                evidence: Localisation::from_ranks(per.iter().map(|s| s.evidence[k]).collect()),
                mark: marks.map(Localisation::from_ranks),
                perturbation,
            }
        })
        .collect();
    let mut ch = Chance {
        top1: 0.0,
        top3: 0.0,
        mean_rank: 0.0,
    };
    for q in seqs {
        let c = chance(q.tokens.len(), q.evidence.len());
        ch.top1 += c.top1 / n;
        ch.top3 += c.top3 / n;
        ch.mean_rank += c.mean_rank / n;
    }
    Ok(FaithfulnessReport {
        sequences: per.len(),
        accuracy: per.iter().filter(|s| s.correct).count() as f64 / n,
        seed: opts.seed,
        chance: ch,
        methods,
    })
}

impl FaithfulnessReport {
    /// The report as a terminal table: one row per method.
    pub fn table(&self) -> String {
        let mut s = format!(
            "{} sequences, model accuracy {:.1} %, evidence rank among every position up to the prediction\n\
             chance: top-1 {:.1} %, top-3 {:.1} %, mean rank {:.2}\n\n",
            self.sequences,
            100.0 * self.accuracy,
            100.0 * self.chance.top1,
            100.0 * self.chance.top3,
            self.chance.mean_rank
        );
        s += &format!(
            "{:<22} {:>6} {:>6} {:>6}  {:>6} {:>6} {:>6}  {:>7} {:>7} {:>7} {:>7}\n",
            "method",
            "top1",
            "top3",
            "rank",
            "M-top1",
            "M-top3",
            "M-rank",
            "AUC+p",
            "AUC-p",
            "AUC+acc",
            "AUC-acc"
        );
        for m in &self.methods {
            let name = if m.post_conv {
                format!("{}*", m.method)
            } else {
                m.method.clone()
            };
            s += &format!(
                "{:<22} {:>5.1}% {:>5.1}% {:>6.2}",
                name,
                100.0 * m.evidence.top1,
                100.0 * m.evidence.top3,
                m.evidence.mean_rank
            );
            s += &match &m.mark {
                Some(k) => format!(
                    "  {:>5.1}% {:>5.1}% {:>6.2}",
                    100.0 * k.top1,
                    100.0 * k.top3,
                    k.mean_rank
                ),
                None => format!("  {:>6} {:>6} {:>6}", "-", "-", "-"),
            };
            s += &match &m.perturbation {
                Some(p) => format!(
                    "  {:>7.3} {:>7.3} {:>7.3} {:>7.3}\n",
                    p.positive_prob_auc,
                    p.negative_prob_auc,
                    p.positive_acc_auc,
                    p.negative_acc_auc
                ),
                None => "\n".into(),
            };
        }
        s += "\n* post-conv positions (α̃ acts on the conv output). M- = the MARK position.\n\
              AUC+ removes the most relevant first (lower is better), AUC- the least relevant first (higher is better).\n";
        s
    }

    /// The score of a method, by name.
    pub fn method(&self, name: &str) -> Option<&MethodScore> {
        self.methods.iter().find(|m| m.method == name)
    }
}

//! Perturbation tests: remove input tokens in the order an explanation ranks them and
//! watch the probability of the right answer.
//!
//! For a sequence of length `$L$` explained at its last position `$P = L-1$`, the removable
//! positions are `$0..P-1$` (`$n = L-1$` of them; the query token itself is kept, since
//! removing it changes the question). "Removing" replaces a token by the set's PAD id.
//! With `$S$` steps, step `$s$` removes the first `$\mathrm{round}(s\,n/S)$` positions of the
//! order:
//!
//! - **positive** order: most relevant first — a faithful explanation makes the
//!   probability fall fast (low area under the curve is good);
//! - **negative** order: least relevant first — the probability should stay up (high area
//!   is good).
//!
//! Ties in relevance are broken by position (earlier first), so a constant relevance gives
//! the same order in both directions. The curves are `$p_s = \mathrm{softmax}(\text{logits}_P)[a]$`
//! for the right answer `$a$` and `$\mathrm{acc}_s = [\arg\max \text{logits}_P = a]$`, and the
//! areas are trapezoids over the removed fraction `$s/S \in [0, 1]$`.

use crate::error::{Error, Result};
use crate::model::forward::{Logits, MambaModel};
use crate::scalar::{Field, Real};

/// One removal curve: the mean probability of the right answer and the mean accuracy after
/// each step.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Curve {
    /// Removed fraction `$s/S$` of each point.
    pub fractions: Vec<f64>,
    /// Probability of the right answer.
    pub prob: Vec<f64>,
    /// Accuracy (0 or 1 per sequence; the mean over sequences in a summary).
    pub acc: Vec<f64>,
}

impl Curve {
    /// A curve of `steps + 1` zero points (an accumulator).
    pub fn zeros(steps: usize) -> Self {
        Self {
            fractions: (0..=steps).map(|s| s as f64 / steps as f64).collect(),
            prob: vec![0.0; steps + 1],
            acc: vec![0.0; steps + 1],
        }
    }

    /// Add `other / n` point by point (for means over sequences).
    pub fn add_scaled(&mut self, other: &Curve, n: f64) {
        for (a, b) in self.prob.iter_mut().zip(&other.prob) {
            *a += b / n;
        }
        for (a, b) in self.acc.iter_mut().zip(&other.acc) {
            *a += b / n;
        }
    }

    /// Area under the probability curve.
    pub fn prob_auc(&self) -> f64 {
        auc(&self.fractions, &self.prob)
    }

    /// Area under the accuracy curve.
    pub fn acc_auc(&self) -> f64 {
        auc(&self.fractions, &self.acc)
    }
}

/// Trapezoidal area `$\sum_s \frac{(x_{s+1}-x_s)(y_s + y_{s+1})}{2}$`.
pub fn auc(x: &[f64], y: &[f64]) -> f64 {
    x.windows(2)
        .zip(y.windows(2))
        .map(|(xs, ys)| (xs[1] - xs[0]) * (ys[0] + ys[1]) / 2.0)
        .sum()
}

/// The removal order of positions `0..target` by `relevance`: most relevant first when
/// `positive`, least relevant first otherwise; ties broken by position.
pub fn removal_order(relevance: &[f64], target: usize, positive: bool) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..target).collect();
    idx.sort_by(|&a, &b| {
        let o = relevance[a].total_cmp(&relevance[b]);
        let o = if positive { o.reverse() } else { o };
        o.then(a.cmp(&b))
    });
    idx
}

/// The removal curve of one sequence explained at its last position: `steps + 1` forward
/// passes (one batch), step `s` with the first `round(s·n/steps)` positions of `order`
/// replaced by `pad`.
///
/// # Errors
/// [`Error::InvalidArgument`] for `steps = 0`, an `order` position outside `0..L-1`, or
/// `answer`/`pad` outside the vocabulary; errors of the forward pass.
pub fn removal_curve<T: Real>(
    model: &MambaModel<T>,
    tokens: &[usize],
    answer: usize,
    order: &[usize],
    pad: usize,
    steps: usize,
) -> Result<Curve> {
    let l = tokens.len();
    let vocab = model.config.vocab_size;
    if steps == 0 {
        return Err(Error::InvalidArgument {
            name: "steps".into(),
            reason: "at least one step is needed".into(),
        });
    }
    for (name, id) in [("answer", answer), ("pad", pad)] {
        if id >= vocab {
            return Err(Error::InvalidArgument {
                name: name.into(),
                reason: format!("token id {id} is not below the vocabulary size {vocab}"),
            });
        }
    }
    if let Some(&bad) = order.iter().find(|&&p| p + 1 >= l) {
        return Err(Error::InvalidArgument {
            name: "order".into(),
            reason: format!("position {bad} is not a removable position (0..{})", l - 1),
        });
    }
    let n = order.len();
    let batch: Vec<Vec<usize>> = (0..=steps)
        .map(|s| {
            let k = ((s * n) as f64 / steps as f64).round() as usize;
            let mut t = tokens.to_vec();
            for &p in &order[..k.min(n)] {
                t[p] = pad;
            }
            t
        })
        .collect();
    let traces = model.forward_batch(&batch, Logits::Last)?;
    let mut curve = Curve::zeros(steps);
    for (s, tr) in traces.iter().enumerate() {
        let logits: Vec<f64> = tr.logits.iter().map(Field::to_f64).collect();
        let mx = logits.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b));
        let z: f64 = logits.iter().map(|v| (v - mx).exp()).sum();
        curve.prob[s] = (logits[answer] - mx).exp() / z;
        let arg = logits
            .iter()
            .enumerate()
            .fold(
                (0, f64::NEG_INFINITY),
                |b, (i, &v)| if v > b.1 { (i, v) } else { b },
            )
            .0;
        curve.acc[s] = if arg == answer { 1.0 } else { 0.0 };
    }
    Ok(curve)
}

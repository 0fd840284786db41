//! `hattn attn`: hidden attention (or the whole-mixer operator) of a real checkpoint,
//! as heatmaps (SVG or PNG) and `.npy` arrays.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use hidden_attention::fast::FastFloat;
use hidden_attention::model::attention::layer_attention_chunked as layer_attention;
use hidden_attention::model::figure::{Figure, Format};
use hidden_attention::model::heatmap::{grid, Heatmap};
use hidden_attention::model::mamba2::head_attention;
use hidden_attention::model::mixer_operator::layer_mixer_operators;
use hidden_attention::model::npy::write_npy;
use hidden_attention::model::{Logits, MambaModel, ModelKind, ModelTrace};
use hidden_attention::scalar::Real;
use hidden_attention::Result;
use indicatif::{ProgressBar, ProgressStyle};

/// Options of `hattn attn`.
#[derive(Clone)]
pub struct AttnArgs {
    pub checkpoint: PathBuf,
    pub tokens: Vec<usize>,
    pub labels: Vec<String>,
    /// `--text` and `--tokenizer`.
    pub text: Option<(String, PathBuf)>,
    pub layer: Option<usize>,
    pub channel: Option<usize>,
    pub head: Option<usize>,
    pub mean: bool,
    pub mixer: bool,
    pub grid_channels: usize,
    pub out: Vec<PathBuf>,
    pub npy: Option<PathBuf>,
    pub f32: bool,
}

/// The token ids and axis labels: `--tokens` (and `--labels`) as given, or `--text`
/// through `--tokenizer`; every output path's extension checked first.
pub fn token_input(
    tokens: &[usize],
    labels: &[String],
    text: Option<&(String, PathBuf)>,
    out: &[PathBuf],
) -> Result<(Vec<usize>, Vec<String>)> {
    for p in out {
        Format::of_path(p, "out")?;
    }
    if text.is_none() && !labels.is_empty() && labels.len() != tokens.len() {
        return Err(hidden_attention::Error::InvalidArgument {
            name: "labels".into(),
            reason: format!(
                "{} labels for {} tokens: give one label per token",
                labels.len(),
                tokens.len()
            ),
        });
    }
    match text {
        #[cfg(feature = "text")]
        Some((text, tokenizer)) => {
            let t = hidden_attention::model::tokenize::tokenize(tokenizer, text)?;
            Ok((t.ids, t.labels))
        }
        #[cfg(not(feature = "text"))]
        Some(_) => Err(hidden_attention::Error::InvalidArgument {
            name: "text".into(),
            reason: "this hattn was built without the `text` feature (the tokenizer)".into(),
        }),
        None => Ok((tokens.to_vec(), labels.to_vec())),
    }
}

/// Write `fig` to every path of `out` (format by extension) and say so.
pub fn write_figure(fig: &Figure, out: &[PathBuf]) -> Result<()> {
    for p in out {
        fig.write(p, "out")?;
        println!("wrote {} ({}×{})", p.display(), fig.width, fig.height);
    }
    Ok(())
}

pub fn progress(len: usize, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len as u64).with_style(
        ProgressStyle::with_template("{prefix:>12} {bar:30} {pos}/{len} {elapsed}")
            .expect("static template"),
    );
    bar.set_prefix(what.to_string());
    bar
}

pub fn attn(args: &AttnArgs) -> ExitCode {
    if args.out.is_empty() && args.npy.is_none() {
        eprintln!(
            "error: invalid argument `out`: nothing to write; give --out FILE.svg|FILE.png \
             (or --png/--svg) and/or --npy FILE.npy"
        );
        return ExitCode::from(2);
    }
    let res = token_input(&args.tokens, &args.labels, args.text.as_ref(), &args.out).and_then(
        |(tokens, labels)| {
            let args = &AttnArgs {
                tokens,
                labels,
                ..args.clone()
            };
            ModelKind::of_checkpoint(&args.checkpoint).and_then(|kind| match (kind, args.f32) {
                (ModelKind::Mamba2, true) => run_mamba2::<f32>(args),
                (ModelKind::Mamba2, false) => run_mamba2::<f64>(args),
                (_, true) => run::<f32>(args),
                (_, false) => run::<f64>(args),
            })
        },
    );
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

pub fn load_and_run<T: Real>(
    checkpoint: &Path,
    tokens: &[usize],
) -> Result<(MambaModel<T>, ModelTrace<T>)> {
    let model = MambaModel::<T>::load(checkpoint)?;
    model.check_tokens(tokens)?;
    let bar = progress(model.layers.len(), "forward");
    let trace = model
        .forward_batch_with(&[tokens.to_vec()], Logits::None, &mut |_| bar.inc(1))?
        .pop()
        .expect("one sequence");
    bar.finish_and_clear();
    Ok((model, trace))
}

fn check_layer(a: &AttnArgs, n_layer: usize) -> Result<Vec<usize>> {
    if let Some(l) = a.layer {
        if l >= n_layer {
            return Err(hidden_attention::Error::InvalidArgument {
                name: "layer".into(),
                reason: format!("layer {l} is not below the number of layers {n_layer}"),
            });
        }
    }
    Ok(match a.layer {
        Some(x) => vec![x],
        None => (0..n_layer).collect(),
    })
}

fn to64<T: Real>(v: &[T]) -> Vec<f64> {
    v.iter()
        .map(hidden_attention::scalar::Field::to_f64)
        .collect()
}

/// Mean of a stack of `(L × L)` matrices.
fn stack_mean<T: Real>(t: &[T], l: usize) -> Vec<f64> {
    let n = (t.len() / (l * l).max(1)).max(1) as f64;
    let mut acc = vec![0.0; l * l];
    for m in t.chunks(l * l) {
        for (x, v) in acc.iter_mut().zip(m) {
            *x += hidden_attention::scalar::Field::to_f64(v) / n;
        }
    }
    acc
}

/// Mamba-2: per-head hidden attention (T8) or per-channel whole-mixer operators.
fn run_mamba2<T: Real>(a: &AttnArgs) -> Result<()> {
    use hidden_attention::model::mamba2::operator::layer_mixer_operators as m2_operators;
    let bad = |name: &str, reason: String| hidden_attention::Error::InvalidArgument {
        name: name.into(),
        reason,
    };
    let model = hidden_attention::model::mamba2::load::<T>(&a.checkpoint)?;
    model.check_tokens(&a.tokens)?;
    let (h, di) = (model.config.n_heads, model.config.d_inner());
    if a.channel.is_some() && !a.mixer {
        return Err(bad(
            "channel",
            "a Mamba-2 layer's hidden attention is per head: use --head (--channel selects a \
             channel of the whole-mixer operator, with --mixer)"
                .into(),
        ));
    }
    if a.head.is_some() && a.mixer {
        return Err(bad(
            "head",
            "the whole-mixer operator is per channel: use --channel with --mixer".into(),
        ));
    }
    if let Some(x) = a.head.filter(|&x| x >= h) {
        return Err(bad(
            "head",
            format!("head {x} is not below num_heads = {h}"),
        ));
    }
    if let Some(x) = a.channel.filter(|&x| x >= di) {
        return Err(bad(
            "channel",
            format!("channel {x} is not below d_inner = {di}"),
        ));
    }
    let layers = check_layer(a, model.layers.len())?;
    let bar = progress(model.layers.len(), "forward");
    let trace = model
        .forward_batch_with(&[a.tokens.to_vec()], Logits::None, &mut |_| bar.inc(1))?
        .pop()
        .expect("one sequence");
    bar.finish_and_clear();
    let l = a.tokens.len();
    let (unit, what) = if a.mixer {
        ("channel", "mixer operator M")
    } else {
        ("head", "hidden attention")
    };
    let mut panels: Vec<(String, Vec<f64>)> = Vec::new();
    for &li in &layers {
        let (mixer, tr) = (&model.layers[li].mixer, &trace.mixers[li]);
        let one = a.head.or(a.channel);
        if let Some(x) = one {
            let t = if a.mixer {
                m2_operators(mixer, tr, Some(&[x]))?
            } else {
                let all = head_attention(mixer, tr)?;
                hidden_attention::tensor::Tensor::new(
                    "head",
                    vec![1, l, l],
                    all.data()[x * l * l..(x + 1) * l * l].to_vec(),
                )?
            };
            panels.push((format!("layer {li}, {unit} {x}"), to64(t.data())));
        } else if a.mean || a.layer.is_none() {
            let t = if a.mixer {
                m2_operators(mixer, tr, None)?
            } else {
                head_attention(mixer, tr)?
            };
            panels.push((format!("layer {li}, {unit} mean"), stack_mean(t.data(), l)));
        } else {
            let k = a.grid_channels.min(if a.mixer { di } else { h });
            let t = if a.mixer {
                m2_operators(mixer, tr, Some(&(0..k).collect::<Vec<_>>()))?
            } else {
                head_attention(mixer, tr)?
            };
            for (c, m) in t.data().chunks(l * l).take(k).enumerate() {
                panels.push((format!("{unit} {c}"), to64(m)));
            }
        }
    }
    emit(a, l, &panels, &layers, what, unit)
}

fn run<T: FastFloat>(a: &AttnArgs) -> Result<()> {
    if a.head.is_some() {
        return Err(hidden_attention::Error::InvalidArgument {
            name: "head".into(),
            reason: "a Mamba-1 layer has channels, not heads: use --channel".into(),
        });
    }
    let (model, trace) = load_and_run::<T>(&a.checkpoint, &a.tokens)?;
    let layers = check_layer(a, model.layers.len())?;
    let l = a.tokens.len();
    let what = if a.mixer {
        "mixer operator M"
    } else {
        "hidden attention"
    };
    let bar = progress(layers.len(), "attention");
    // One (L × L) matrix per panel, or a stack of channels.
    let mut panels: Vec<(String, Vec<f64>)> = Vec::new();
    for &li in &layers {
        let mixer = &model.layers[li].mixer;
        let tr = &trace.mixers[li];
        let conv = |v: &[T]| {
            v.iter()
                .map(hidden_attention::scalar::Field::to_f64)
                .collect::<Vec<f64>>()
        };
        if let Some(c) = a.channel {
            let t = if a.mixer {
                layer_mixer_operators(mixer, tr, Some(&[c]))?
            } else {
                layer_attention(mixer, tr, Some(&[c]))?
            };
            panels.push((format!("layer {li}, channel {c}"), conv(t.data())));
        } else if a.mean || a.layer.is_none() {
            let m = if a.mixer {
                let t = layer_mixer_operators(mixer, tr, None)?;
                let c = t.shape()[0] as f64;
                let mut acc = vec![0.0; l * l];
                for ch in t.data().chunks(l * l) {
                    for (x, v) in acc.iter_mut().zip(ch) {
                        *x += hidden_attention::scalar::Field::to_f64(v) / c;
                    }
                }
                acc
            } else {
                // channel mean, a block of channels at a time (bounded memory)
                let di = mixer.dims.d_inner;
                let mut acc = vec![0.0; l * l];
                for c0 in (0..di).step_by(256) {
                    let chans: Vec<usize> = (c0..(c0 + 256).min(di)).collect();
                    let t = layer_attention(mixer, tr, Some(&chans))?;
                    for ch in t.data().chunks(l * l) {
                        for (x, v) in acc.iter_mut().zip(ch) {
                            *x += hidden_attention::scalar::Field::to_f64(v) / di as f64;
                        }
                    }
                }
                acc
            };
            panels.push((format!("layer {li}, channel mean"), m));
        } else {
            let k = a.grid_channels.min(mixer.dims.d_inner);
            let chans: Vec<usize> = (0..k).collect();
            let t = if a.mixer {
                layer_mixer_operators(mixer, tr, Some(&chans))?
            } else {
                layer_attention(mixer, tr, Some(&chans))?
            };
            for (c, m) in t.data().chunks(l * l).enumerate() {
                panels.push((format!("channel {c}"), conv(m)));
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    emit(a, l, &panels, &layers, what, "channel")
}

/// Write the panels: one `.npy` stack and/or one figure (a grid when several).
fn emit(
    a: &AttnArgs,
    l: usize,
    panels: &[(String, Vec<f64>)],
    layers: &[usize],
    what: &str,
    unit: &str,
) -> Result<()> {
    if let Some(p) = &a.npy {
        let data: Vec<f64> = panels.iter().flat_map(|(_, m)| m.iter().copied()).collect();
        let shape = if panels.len() == 1 {
            vec![l, l]
        } else {
            vec![panels.len(), l, l]
        };
        write_npy(p, &shape, &data)?;
        println!("wrote {} {:?}", p.display(), shape);
    }
    if !a.out.is_empty() {
        let labels = if a.labels.len() == l {
            a.labels.clone()
        } else {
            Vec::new()
        };
        let img: Figure = if panels.len() == 1 {
            let title = format!("{}: {what}", panels[0].0);
            Heatmap::attention(l, panels[0].1.clone(), title)
                .with_labels(&labels)
                .render()
        } else {
            let hm: Vec<Heatmap> = panels
                .iter()
                .enumerate()
                .map(|(k, (t, m))| {
                    // short panel captions: "layer k" across layers, "channel c" within one
                    let cap = if a.layer.is_none() {
                        format!("layer {}", layers[k])
                    } else {
                        t.clone()
                    };
                    Heatmap::attention(l, m.clone(), cap).with_labels(&labels)
                })
                .collect();
            let title = match a.layer {
                Some(li) => format!("layer {li}: {what}, {} {unit}s", hm.len()),
                None => format!(
                    "{what}, every layer ({})",
                    if a.channel.is_some() || a.head.is_some() {
                        format!("one {unit}")
                    } else {
                        format!("{unit} mean")
                    }
                ),
            };
            let ncols = (hm.len() as f64).sqrt().ceil() as usize;
            grid(&hm, ncols, &title)
        };
        write_figure(&img, &a.out)?;
    }
    Ok(())
}

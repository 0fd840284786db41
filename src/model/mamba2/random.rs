//! Randomly initialised Mamba-2 models of any shape (benchmarks, tests), seeded, and their
//! tensors under `transformers`' names (to write a checkpoint).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::model::forward::LayerWeights;
use crate::model::mamba2::config::Mamba2Config;
use crate::model::mamba2::mixer::{Mamba2Dims, Mamba2Mixer};
use crate::model::mamba2::model::Mamba2Model;
use crate::scalar::Real;

/// Tensors by name with their shapes, values as `f64`.
pub type NamedTensors = Vec<(String, Vec<usize>, Vec<f64>)>;

/// The configuration of mamba2-130m: `$d = 768$`, 24 layers, 24 heads of dimension 64
/// (`$d_{in} = 1536$`), one group, `$N = 128$`, conv kernel 4, chunk size 256, vocabulary
/// 50288, tied embeddings.
pub fn mamba2_130m_config() -> Mamba2Config {
    Mamba2Config {
        d_model: 768,
        n_layer: 24,
        vocab_size: 50288,
        d_state: 128,
        n_heads: 24,
        head_dim: 64,
        n_groups: 1,
        d_conv: 4,
        chunk_size: 256,
        time_step_limit: (0.0, f64::INFINITY),
        use_bias: false,
        use_conv_bias: true,
        norm_eps: 1e-5,
        tie_embeddings: true,
    }
}

impl<T: Real> Mamba2Model<T> {
    /// A model with `config`'s shapes and weights drawn as Mamba-2 initialises them
    /// (uniform fan-in scaled projections, `$A_{\log} = \log U(1, 16)$`, `$D = 1$`, `dt_bias`
    /// the inverse softplus of a log-uniform step in `$[10^{-3}, 10^{-1}]$`, norm weights 1),
    /// from `seed`.
    pub fn random(config: Mamba2Config, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let c = &config;
        let (dm, h, v) = (c.d_model, c.n_heads, c.vocab_size);
        let (di, cd, rows, k) = (c.d_inner(), c.conv_dim(), c.in_proj_rows(), c.d_conv);
        let mut uni = |len: usize, s: f64| -> Vec<T> {
            (0..len)
                .map(|_| T::from_f64(rng.gen_range(-s..s)))
                .collect()
        };
        let embedding = uni(v * dm, 0.1);
        let mut layers = Vec::with_capacity(c.n_layer);
        for _ in 0..c.n_layer {
            let in_proj = uni(rows * dm, 1.0 / (dm as f64).sqrt());
            let in_proj_bias = c.use_bias.then(|| uni(rows, 0.1));
            let conv_w = uni(cd * k, 1.0 / (k as f64).sqrt());
            let conv_b = c.use_conv_bias.then(|| uni(cd, 0.1));
            let out_proj = uni(dm * di, 1.0 / (di as f64).sqrt());
            let out_proj_bias = c.use_bias.then(|| uni(dm, 0.1));
            let u = uni(2 * h, 1.0);
            let dt_bias = u[..h]
                .iter()
                .map(|&u| {
                    let dt = (T::from_f64(0.001f64.ln())
                        + (u + T::one()) / T::from_f64(2.0) * T::from_f64(100f64.ln()))
                    .exp();
                    dt + (-(-dt).exp_m1()).ln() // inverse softplus
                })
                .collect();
            let a = u[h..]
                .iter()
                .map(|&u| -(T::one() + (u + T::one()) * T::from_f64(7.5)))
                .collect();
            layers.push(LayerWeights {
                norm: vec![T::one(); dm],
                mixer: Mamba2Mixer {
                    dims: Mamba2Dims {
                        d_model: dm,
                        n_heads: h,
                        head_dim: c.head_dim,
                        n_groups: c.n_groups,
                        d_state: c.d_state,
                        d_conv: k,
                        chunk_size: c.chunk_size,
                    },
                    in_proj,
                    in_proj_bias,
                    conv_w,
                    conv_b,
                    dt_bias,
                    a,
                    d: vec![T::one(); h],
                    norm_w: vec![T::one(); di],
                    norm_eps: c.norm_eps,
                    dt_limit: c.time_step_limit,
                    out_proj,
                    out_proj_bias,
                },
            });
        }
        let lm_head = (!c.tie_embeddings).then(|| uni(v * dm, 0.1));
        Self {
            config,
            embedding,
            layers,
            norm_f: vec![T::one(); dm],
            lm_head,
        }
    }

    /// Every weight under its `transformers` name and PyTorch shape, as
    /// [`crate::model::write_safetensors`] takes them (values as `f64`), and the
    /// `config.json` that describes them: together, a `Mamba2ForCausalLM` checkpoint.
    pub fn to_tensors(&self) -> (serde_json::Value, NamedTensors) {
        let c = &self.config;
        let f = |v: &[T]| {
            v.iter()
                .map(crate::scalar::Field::to_f64)
                .collect::<Vec<_>>()
        };
        let mut out = vec![(
            "backbone.embeddings.weight".to_string(),
            vec![c.vocab_size, c.d_model],
            f(&self.embedding),
        )];
        for (i, layer) in self.layers.iter().enumerate() {
            let m = &layer.mixer;
            let p = format!("backbone.layers.{i}.mixer");
            let mut push = |name: &str, shape: Vec<usize>, v: &[T]| {
                out.push((format!("{p}.{name}"), shape, f(v)));
            };
            push(
                "in_proj.weight",
                vec![c.in_proj_rows(), c.d_model],
                &m.in_proj,
            );
            if let Some(b) = &m.in_proj_bias {
                push("in_proj.bias", vec![c.in_proj_rows()], b);
            }
            push("conv1d.weight", vec![c.conv_dim(), 1, c.d_conv], &m.conv_w);
            if let Some(b) = &m.conv_b {
                push("conv1d.bias", vec![c.conv_dim()], b);
            }
            push("dt_bias", vec![c.n_heads], &m.dt_bias);
            let a_log: Vec<T> = m.a.iter().map(|&a| (-a).ln()).collect();
            push("A_log", vec![c.n_heads], &a_log);
            push("D", vec![c.n_heads], &m.d);
            push("norm.weight", vec![c.d_inner()], &m.norm_w);
            push("out_proj.weight", vec![c.d_model, c.d_inner()], &m.out_proj);
            if let Some(b) = &m.out_proj_bias {
                push("out_proj.bias", vec![c.d_model], b);
            }
            out.push((
                format!("backbone.layers.{i}.norm.weight"),
                vec![c.d_model],
                f(&layer.norm),
            ));
        }
        out.push((
            "backbone.norm_f.weight".into(),
            vec![c.d_model],
            f(&self.norm_f),
        ));
        if let Some(w) = &self.lm_head {
            out.push(("lm_head.weight".into(), vec![c.vocab_size, c.d_model], f(w)));
        }
        let hi = if c.time_step_limit.1.is_finite() {
            serde_json::json!(c.time_step_limit.1)
        } else {
            serde_json::json!({"__float__": "Infinity"})
        };
        let config = serde_json::json!({
            "architectures": ["Mamba2ForCausalLM"],
            "model_type": "mamba2",
            "hidden_size": c.d_model,
            "num_hidden_layers": c.n_layer,
            "vocab_size": c.vocab_size,
            "state_size": c.d_state,
            "num_heads": c.n_heads,
            "head_dim": c.head_dim,
            "expand": c.d_inner() / c.d_model,
            "intermediate_size": c.d_inner(),
            "n_groups": c.n_groups,
            "conv_kernel": c.d_conv,
            "chunk_size": c.chunk_size,
            "time_step_limit": [c.time_step_limit.0, hi],
            "use_bias": c.use_bias,
            "use_conv_bias": c.use_conv_bias,
            "layer_norm_epsilon": c.norm_eps,
            "tie_word_embeddings": c.tie_embeddings,
            "rms_norm": true,
        });
        (config, out)
    }
}

//! Randomly initialised models of any shape (for benchmarks and tests), seeded.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::model::block::{MixerDims, MixerWeights};
use crate::model::config::{MambaConfig, Naming};
use crate::model::forward::{LayerWeights, MambaModel};
use crate::model::kind::ModelKind;
use crate::scalar::Real;

/// The configuration of mamba-130m: `$d = 768$`, 24 layers, `$d_{in} = 1536$`, `$N = 16$`,
/// `$R = 48$`, conv kernel 4, vocabulary 50280, tied embeddings.
pub fn mamba_130m_config() -> MambaConfig {
    MambaConfig {
        d_model: 768,
        n_layer: 24,
        vocab_size: 50280,
        d_state: 16,
        d_inner: 1536,
        d_conv: 4,
        dt_rank: 48,
        use_bias: false,
        use_conv_bias: true,
        norm_eps: 1e-5,
        tie_embeddings: true,
        naming: Naming::MambaSsm,
        kind: ModelKind::Mamba,
        mixer_rms_eps: None,
    }
}

impl<T: Real> MambaModel<T> {
    /// A model with `config`'s shapes and weights drawn as Mamba initialises them
    /// (uniform fan-in scaled projections, `$A_{\log} = \log(1..N)$`, `$D = 1$`, `$\Delta$` bias
    /// the inverse softplus of a log-uniform step in `$[10^{-3}, 10^{-1}]$`), from `seed`.
    pub fn random(config: MambaConfig, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let c = &config;
        let (dm, di, n, k, r, v) = (
            c.d_model,
            c.d_inner,
            c.d_state,
            c.d_conv,
            c.dt_rank,
            c.vocab_size,
        );
        let mut uni = |len: usize, s: f64| -> Vec<T> {
            (0..len)
                .map(|_| T::from_f64(rng.gen_range(-s..s)))
                .collect()
        };
        let embedding = uni(v * dm, 0.1);
        let mut layers = Vec::with_capacity(c.n_layer);
        for _ in 0..c.n_layer {
            let in_proj = uni(2 * di * dm, 1.0 / (dm as f64).sqrt());
            let conv_w = uni(di * k, 1.0 / (k as f64).sqrt());
            let conv_b = c.use_conv_bias.then(|| uni(di, 0.1));
            let x_proj = uni((r + 2 * n) * di, 1.0 / (di as f64).sqrt());
            let dt_proj_w = uni(di * r, 1.0 / (r as f64).sqrt());
            let out_proj = uni(dm * di, 1.0 / (di as f64).sqrt());
            let steps = uni(di, 1.0);
            let dt_proj_b = steps
                .iter()
                .map(|&u| {
                    let dt = (T::from_f64(0.001f64.ln())
                        + (u + T::one()) / T::from_f64(2.0) * T::from_f64(100f64.ln()))
                    .exp();
                    dt + (-(-dt).exp_m1()).ln() // inverse softplus
                })
                .collect();
            let a = (0..di * n)
                .map(|i| -T::from_f64((1 + i % n) as f64))
                .collect();
            layers.push(LayerWeights {
                norm: vec![T::one(); dm],
                mixer: MixerWeights {
                    dims: MixerDims {
                        d_model: dm,
                        d_inner: di,
                        d_state: n,
                        d_conv: k,
                        dt_rank: r,
                    },
                    in_proj,
                    in_proj_bias: c.use_bias.then(|| vec![T::zero(); 2 * di]),
                    conv_w,
                    conv_b,
                    x_proj,
                    dt_proj_w,
                    dt_proj_b,
                    a,
                    d: vec![T::one(); di],
                    out_proj,
                    out_proj_bias: c.use_bias.then(|| vec![T::zero(); dm]),
                    inner_norm_eps: c.mixer_rms_eps,
                },
            });
        }
        Self {
            config,
            embedding,
            layers,
            norm_f: vec![T::one(); dm],
            lm_head: None,
        }
    }
}

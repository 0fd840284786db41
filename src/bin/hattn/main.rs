//! `hattn` — the command line of hidden-attention.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod args;
mod attn;
mod bench;
mod check;
mod convert;
mod explain;
mod faithfulness;
mod family;
mod golden;
mod gpu;
mod merge;
mod refute;

#[derive(Parser)]
#[command(
    name = "hattn",
    version,
    about = "Mamba's hidden attention: exact, float and checked"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run every theorem check on seeded random cases (or on one case, `--case`), exact and
    /// float, and print a table.
    #[command(allow_negative_numbers = true)]
    Check {
        /// Cases per row.
        #[arg(long, default_value_t = 200, value_parser = args::positive_usize)]
        cases: usize,
        /// Seed of the case generator (the same seed replays the same cases).
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Theorems to check: `all` (the default), ids such as `T3 T5` or row names such as
        /// `T6b`.
        theorems: Vec<String>,
        /// Write `suite.json` and `suite.md` (and a counterexample report per failing row)
        /// into this directory.
        #[arg(long, value_name = "DIR")]
        report: Option<std::path::PathBuf>,
        /// Check one case instead of drawn ones: an `s6_channel` document (docs/interchange.md)
        /// with its input `x`, field `rational` (the exact checks), `f64` or `f32` (the float
        /// checks of T1, T2, T4 on that tier and the exact checks on the lifted case). Exit 1
        /// if a check fails, 2 on a bad file.
        #[arg(long, value_name = "FILE.json")]
        case: Option<std::path::PathBuf>,
        /// Run shard I of N (0-based, 0 ≤ I < N): only the cases i with i mod N = I, drawn
        /// as the unsharded run draws them; writes `shard.json` into the --report directory
        /// for `hattn merge` (docs/sharding.md).
        #[arg(long, value_name = "I/N", value_parser = args::shard, allow_hyphen_values = true, requires = "report", conflicts_with = "case")]
        shard: Option<hidden_attention::shard::Shard>,
    },
    /// Convert between channels, heads and matrices (JSON, docs/interchange.md).
    Convert(convert::ConvertArgs),
    /// Run golden case files (files or directories, recursively) and compare.
    Golden {
        /// Case files or directories.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Compute in f32 instead of f64.
        #[arg(long)]
        f32: bool,
    },
    /// Benchmarks of α̃, a whole layer and the scan, with baselines timed in the same run.
    ///
    /// α̃ of one channel against the authors' O(L³) loop and the plain O(L²N) loop; the chunked kernel (L = 256, 1024, 2048) against the
    /// plain loop, faer's GEMM and the memory write floor; a whole layer (D = 1536,
    /// L = 1024) against the write floor; the batched scan against a plain loop.
    Bench {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Sequence lengths of the comparison with the authors' loop (the other sections
        /// use the fixed sizes above).
        #[arg(long, value_delimiter = ',', default_values_t = vec![128, 256, 512])]
        lens: Vec<usize>,
        /// State size N.
        #[arg(long, default_value_t = 16)]
        state: usize,
    },
    /// Hidden attention of a checkpoint's layers as heatmaps (SVG, PNG) and .npy arrays.
    #[command(allow_negative_numbers = true)]
    Attn {
        /// Checkpoint directory (config.json + model.safetensors or a sharded index).
        #[arg(long, value_parser = args::checkpoint_dir)]
        checkpoint: PathBuf,
        /// Token ids, comma separated.
        #[arg(
            long,
            value_delimiter = ',',
            required_unless_present = "text",
            conflicts_with = "text"
        )]
        tokens: Vec<usize>,
        /// Token strings for the axes, comma separated (one per token).
        #[arg(long, value_delimiter = ',', conflicts_with = "text")]
        labels: Vec<String>,
        /// Text to tokenize with --tokenizer (instead of --tokens); its tokens label the axes.
        #[arg(long, requires = "tokenizer")]
        text: Option<String>,
        /// The checkpoint's tokenizer.json (Hugging Face `tokenizers` format), for --text.
        #[arg(long, value_name = "tokenizer.json", requires = "text")]
        tokenizer: Option<PathBuf>,
        /// Layer (default: every layer, one panel each).
        #[arg(long)]
        layer: Option<usize>,
        /// One inner channel (Mamba-1, Falcon-Mamba; Mamba-2 with --mixer).
        #[arg(long, conflicts_with = "mean")]
        channel: Option<usize>,
        /// One head (Mamba-2: its hidden attention).
        #[arg(long, conflicts_with_all = ["mean", "channel"])]
        head: Option<usize>,
        /// The channel mean (Mamba-2: the head mean, or the channel mean with --mixer).
        #[arg(long)]
        mean: bool,
        /// The whole-mixer operator M (conv, SiLU, D and gate folded in) instead of α̃.
        #[arg(long)]
        mixer: bool,
        /// Channels (Mamba-2: heads) in the grid when neither --channel/--head nor --mean is given.
        #[arg(long, default_value_t = 16, value_parser = args::positive_usize)]
        grid: usize,
        /// Output figure, SVG or PNG by the file's extension (repeatable; `--png` and
        /// `--svg` are other names of this option).
        #[arg(long, value_name = "FILE.svg|FILE.png", visible_aliases = ["png", "svg"])]
        out: Vec<PathBuf>,
        /// Output .npy.
        #[arg(long)]
        npy: Option<PathBuf>,
        /// Compute in f32 instead of f64.
        #[arg(long)]
        f32: bool,
    },
    /// The implicit attention A of a layer of the gated-linear family given as JSON
    /// (`--from <member>`, the golden cases' form) as heatmaps (SVG, PNG) and .npy arrays.
    FamilyAttn(family::FamilyAttnArgs),
    /// Score explanation methods on a known-answer set: localisation of the evidence
    /// (top-1, top-3, mean rank) and perturbation curves (docs/explain.md).
    Faithfulness(faithfulness::FaithfulnessArgs),
    /// The GPU path (feature `cuda`): device info, theorem checks at scale, benchmarks.
    Gpu(gpu::GpuArgs),
    /// Search for a counterexample to a conjecture; write report.json and report.md.
    Refute(refute::RefuteArgs),
    /// Re-check the certificate of a report, independently of the search.
    Replay(refute::ReplayArgs),
    /// Combine the reports of the shards of one run (`--shard I/N`) into the report of the
    /// unsharded run (docs/sharding.md).
    Merge(merge::MergeArgs),
    /// Explain a checkpoint's prediction: the relevance of every input position.
    #[command(allow_negative_numbers = true)]
    Explain {
        /// Checkpoint directory.
        #[arg(long, value_parser = args::checkpoint_dir)]
        checkpoint: PathBuf,
        /// Token ids, comma separated.
        #[arg(
            long,
            value_delimiter = ',',
            required_unless_present = "text",
            conflicts_with = "text"
        )]
        tokens: Vec<usize>,
        /// Token strings for the axes, comma separated.
        #[arg(long, value_delimiter = ',', conflicts_with = "text")]
        labels: Vec<String>,
        /// Text to tokenize with --tokenizer (instead of --tokens); its tokens label the axes.
        #[arg(long, requires = "tokenizer")]
        text: Option<String>,
        /// The checkpoint's tokenizer.json (Hugging Face `tokenizers` format), for --text.
        #[arg(long, value_name = "tokenizer.json", requires = "text")]
        tokenizer: Option<PathBuf>,
        /// Method, one of: raw, rollout, attr, raw-abs, rollout-abs, attr-abs, raw-signed, alpha-row, authors-row, mixer-raw, mixer-rollout, mixer-attr, mixer-raw-abs, mixer-rollout-abs, mixer-attr-abs, mixer-raw-signed, mixer-first, mixer-grad-input, mixer-grad-input-abs, grad-input, grad-input-abs, saliency, random, recency. Default: the best measured one, mixer-raw-abs
        /// (docs/explain.md).
        #[arg(long)]
        method: Option<String>,
        /// Position whose prediction is explained.
        #[arg(long)]
        target_pos: usize,
        /// Logit explained by attr (default: the arg max at the target position).
        #[arg(long)]
        logit: Option<usize>,
        /// First layer used (raw, rollout and attr only).
        #[arg(long, default_value_t = 0)]
        start_layer: usize,
        /// Output figure, SVG or PNG by the file's extension (repeatable; `--png` and
        /// `--svg` are other names of this option).
        #[arg(long, value_name = "FILE.svg|FILE.png", visible_aliases = ["png", "svg"])]
        out: Vec<PathBuf>,
        /// Output .npy (the L × L relevance matrix, or the row (L,) for row methods).
        #[arg(long)]
        npy: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    // Restore the default SIGPIPE action (Rust ignores it, so writing to a closed pipe
    // would panic in `println!`): `hattn … | head` then ends quietly.
    #[cfg(unix)]
    // SAFETY: called first thing in `main`, before any other thread exists; setting a
    // signal's disposition to its default has no other precondition.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    match Cli::parse().command {
        Command::Check {
            cases,
            seed,
            theorems,
            report,
            case,
            shard,
        } => check::check(
            cases,
            seed,
            &theorems,
            report.as_deref(),
            case.as_deref(),
            shard,
        ),
        Command::Convert(a) => convert::convert(&a),
        Command::Golden { paths, f32 } => golden::run_golden(&paths, f32),
        Command::Bench { json, lens, state } => bench::bench(json, &lens, state),
        Command::Faithfulness(a) => faithfulness::faithfulness(&a),
        Command::FamilyAttn(a) => family::family_attn(&a),
        Command::Gpu(a) => gpu::gpu(&a),
        Command::Refute(a) => refute::refute(&a),
        Command::Replay(a) => refute::replay(&a),
        Command::Merge(a) => merge::merge(&a),
        Command::Attn {
            checkpoint,
            tokens,
            labels,
            text,
            tokenizer,
            layer,
            channel,
            head,
            mean,
            mixer,
            grid,
            out,
            npy,
            f32,
        } => attn::attn(&attn::AttnArgs {
            checkpoint,
            tokens,
            labels,
            text: text.zip(tokenizer),
            layer,
            channel,
            head,
            mean,
            mixer,
            grid_channels: grid,
            out,
            npy,
            f32,
        }),
        Command::Explain {
            checkpoint,
            tokens,
            labels,
            text,
            tokenizer,
            method,
            target_pos,
            logit,
            start_layer,
            out,
            npy,
        } => explain::explain(&explain::ExplainArgs {
            checkpoint,
            tokens,
            labels,
            text: text.zip(tokenizer),
            method,
            target_pos,
            logit,
            start_layer,
            out,
            npy,
        }),
    }
}

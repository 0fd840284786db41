//! The NVRTC programs of the GPU path and the exact options each is compiled with.
//!
//! A [`Program`] is one kernel file with its compile-time settings; [`Program::options`]
//! is the one place the NVRTC options are made, used by [`super::Gpu`] at run time and by
//! the tests that compile every program without a GPU.

use serde::Serialize;

use super::nvrtc::Target;
use super::{ATTENTION_CU, CHECK_CU, INSTANCES_CU, SCAN_CU};

/// One NVRTC program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Program {
    /// The kernel file, e.g. `attention.cu`.
    pub file: &'static str,
    /// Whether NVRTC may contract `$a b + c$` into one fused rounding (`--fmad`); `false`
    /// keeps every float operation one IEEE rounding, the error model of
    /// [`crate::theorems::bound`].
    pub fmad: bool,
    /// The state size `$N$` compiled in (`-DHA_N=N`), for kernels specialised on it.
    pub state: Option<usize>,
}

impl Program {
    /// The batched selective scan (`scan.cu`).
    pub const SCAN: Program = Program {
        file: "scan.cu",
        fmad: true,
        state: None,
    };

    /// The theorem check (`instances.cu` + `check.cu`), without contraction.
    pub const CHECK: Program = Program {
        file: "check.cu",
        fmad: false,
        state: None,
    };

    /// The chunked hidden attention (`attention.cu`) for state size `$N$` = `state`: every
    /// loop over the states has a compile-time trip count.
    pub fn attention(state: usize) -> Program {
        Program {
            file: "attention.cu",
            fmad: true,
            state: Some(state),
        }
    }

    /// Every program the GPU path compiles, the attention kernels for the state sizes
    /// `states`.
    pub fn all(states: &[usize]) -> Vec<Program> {
        let mut v = vec![Program::SCAN, Program::CHECK];
        v.extend(states.iter().map(|&n| Program::attention(n)));
        v
    }

    /// The CUDA source.
    pub fn source(&self) -> String {
        match self.file {
            "scan.cu" => SCAN_CU.to_string(),
            "check.cu" => format!("{INSTANCES_CU}\n{CHECK_CU}"),
            _ => ATTENTION_CU.to_string(),
        }
    }

    /// The NVRTC options for `target`: architecture, `--fmad`, no flush to zero, IEEE
    /// division and square root, C++14, and `-DHA_N=N` where specialised.
    pub fn options(&self, target: Target) -> Vec<String> {
        let mut o = vec![
            format!("--gpu-architecture={}", target.architecture()),
            format!("--fmad={}", self.fmad),
            "--ftz=false".into(),
            "--prec-div=true".into(),
            "--prec-sqrt=true".into(),
            "--std=c++14".into(),
        ];
        if let Some(n) = self.state {
            o.push(format!("-DHA_N={n}"));
        }
        o
    }
}

impl std::fmt::Display for Program {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.state {
            Some(n) => write!(f, "{} (N = {n})", self.file),
            None => f.write_str(self.file),
        }
    }
}

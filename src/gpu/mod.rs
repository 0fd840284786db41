//! The GPU path (feature `cuda`): batched selective scan, chunked hidden attention of
//! many channels, and theorem checks over millions of device-generated instances.
//!
//! Built on `cudarc`'s driver API with *dynamic loading* and pinned CUDA 12.4 bindings
//! (which every later driver, CUDA 13 included, serves): the crate builds and its tests
//! run on machines with no CUDA at all. NVRTC is found and opened by this crate
//! ([`discovery`], [`nvrtc`]), so that a CUDA 13 toolkit's `libnvrtc.so.13` is found and
//! the version matching the driver is preferred. [`Gpu::new`] first looks for both
//! ([`device::probe`], which reports each on its own); without them, or without a
//! device, every entry point returns [`GpuError::Unavailable`] with the reason — never a
//! panic.
//!
//! The kernels are CUDA C text in `src/gpu/kernels/*.cu`, compiled at run time by NVRTC
//! ([`Program`]) to machine code for the device's architecture (PTX when NVRTC does not
//! know it); a compile failure is [`GpuError::Compile`] with NVRTC's log.
//!
//! | entry point | kernel | CPU reference |
//! | --- | --- | --- |
//! | [`Gpu::selective_scan`] | `scan.cu` | [`crate::ssm::selective_scan()`] |
//! | [`Gpu::attention_matrices`] | `attention.cu` | [`crate::ssm::attention_matrix`] |
//! | [`Gpu::theorem_check`] | `check.cu` + `instances.cu` | [`crate::gpu_instances`], [`crate::theorems`] |
//! | [`bench::run`] | all | — |

pub mod attention;
pub mod bench;
pub mod check;
pub mod device;
pub mod discovery;
pub mod nvrtc;
pub mod program;
pub mod scan;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use cudarc::driver::{CudaContext, CudaFunction, CudaModule, CudaStream};
use cudarc::nvrtc::Ptx;

pub use check::{CheckConfig, CheckReport};
pub use device::{probe, DeviceInfo, Probe};
pub use nvrtc::{Compiled, Nvrtc, Target};
pub use program::Program;

/// Source of the instance generator (shared by the check kernel and the CPU mirror).
pub const INSTANCES_CU: &str = include_str!("kernels/instances.cu");
/// Source of the batched selective-scan kernel.
pub const SCAN_CU: &str = include_str!("kernels/scan.cu");
/// Source of the chunked hidden-attention kernels.
pub const ATTENTION_CU: &str = include_str!("kernels/attention.cu");
/// Source of the theorem-check kernel (compiled after [`INSTANCES_CU`]).
pub const CHECK_CU: &str = include_str!("kernels/check.cu");

/// No usable GPU: the driver or NVRTC library is missing, or there is no device.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("GPU unavailable: {reason}")]
pub struct GpuUnavailable {
    /// Why, in words (e.g. `the CUDA driver library (libcuda) was not found`).
    pub reason: String,
}

/// Errors of the GPU path.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GpuError {
    /// No usable GPU (see [`GpuUnavailable`]).
    #[error(transparent)]
    Unavailable(#[from] GpuUnavailable),
    /// NVRTC rejected a kernel; `log` is its compile log.
    #[error("NVRTC could not compile `{kernel}` (options {options}):\n{log}")]
    Compile {
        /// The kernel file, e.g. `scan.cu`.
        kernel: &'static str,
        /// The options passed to NVRTC.
        options: String,
        /// NVRTC's compile log (or the error when there is no log).
        log: String,
    },
    /// A CUDA driver call failed.
    #[error("CUDA driver error during {what}: {message}")]
    Driver {
        /// What was being done (e.g. `launch of attention_tiles`).
        what: String,
        /// The driver's error.
        message: String,
    },
    /// An input the kernels cannot take (shape, size, unsupported layout).
    #[error(transparent)]
    Input(#[from] crate::Error),
}

/// Result alias of the GPU path.
pub type GpuResult<T> = std::result::Result<T, GpuError>;

/// A closure mapping a driver error to [`GpuError::Driver`] naming `what`.
pub(crate) fn driver<E: std::fmt::Display>(what: impl Into<String>) -> impl FnOnce(E) -> GpuError {
    let what = what.into();
    move |e| GpuError::Driver {
        what,
        message: e.to_string(),
    }
}

/// One CUDA device with a context, a stream and the kernels compiled so far.
pub struct Gpu {
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    info: DeviceInfo,
    nvrtc: Arc<Nvrtc>,
    target: Target,
    modules: Mutex<HashMap<Program, Arc<CudaModule>>>,
}

impl std::fmt::Debug for Gpu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gpu")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

impl Gpu {
    /// Open device `ordinal`: check the libraries ([`probe`]), then create a context.
    ///
    /// # Errors
    /// [`GpuError::Unavailable`] with the reason when the driver or NVRTC library is
    /// missing, the driver fails to initialise, or there is no such device;
    /// [`GpuError::Driver`] when creating the context fails.
    pub fn new(ordinal: usize) -> GpuResult<Self> {
        let found = probe();
        if let Some(u) = found.unavailable() {
            return Err(u.into());
        }
        let (Ok(drv), Ok(nvrtc)) = (found.driver, found.nvrtc) else {
            unreachable!("`unavailable` is None only when both were found")
        };
        if ordinal >= drv.device_count {
            return Err(GpuUnavailable {
                reason: format!(
                    "device {ordinal} requested but {} present",
                    drv.device_count
                ),
            }
            .into());
        }
        let ctx = CudaContext::new(ordinal).map_err(driver("context creation"))?;
        let info = device::device_info(&ctx, &drv, nvrtc.found())?;
        let target = Target::for_device(info.compute_capability, &nvrtc.supported_architectures());
        let stream = ctx.default_stream();
        Ok(Self {
            ctx,
            stream,
            info,
            nvrtc,
            target,
            modules: Mutex::new(HashMap::new()),
        })
    }

    /// What the kernels are compiled to on this device.
    pub fn target(&self) -> Target {
        self.target
    }

    /// What the device is (name, memory, compute capability, peak bandwidth).
    pub fn info(&self) -> &DeviceInfo {
        &self.info
    }

    /// The stream every launch goes to.
    pub fn stream(&self) -> &Arc<CudaStream> {
        &self.stream
    }

    /// The context.
    pub fn context(&self) -> &Arc<CudaContext> {
        &self.ctx
    }

    /// Wait for all queued work.
    ///
    /// # Errors
    /// [`GpuError::Driver`] (a failed kernel reports here).
    pub fn synchronize(&self) -> GpuResult<()> {
        self.stream
            .synchronize()
            .map_err(driver("stream synchronisation"))
    }

    /// Kernel `function` of `program`, compiling the program with NVRTC for this device
    /// on first use ([`Program::options`]).
    pub(crate) fn function(&self, program: Program, function: &str) -> GpuResult<CudaFunction> {
        let module = {
            let mut modules = self.modules.lock().unwrap_or_else(|p| p.into_inner());
            match modules.get(&program) {
                Some(m) => m.clone(),
                None => {
                    let m = self.compile(program)?;
                    modules.insert(program, m.clone());
                    m
                }
            }
        };
        module
            .load_function(function)
            .map_err(driver(format!("loading kernel {function} from {program}")))
    }

    fn compile(&self, program: Program) -> GpuResult<Arc<CudaModule>> {
        let options = program.options(self.target);
        let code = self
            .nvrtc
            .compile(program.file, &program.source(), &options, self.target)
            .map_err(|e| GpuError::Compile {
                kernel: program.file,
                options: options.join(" "),
                log: format!("{}: {}\n{}", e.what, e.status, e.log),
            })?;
        let image = match code {
            Compiled::Cubin(bytes) => Ptx::from_binary(bytes),
            Compiled::Ptx(text) => Ptx::from_src(text),
        };
        self.ctx
            .load_module(image)
            .map_err(driver(format!("loading the module of {program}")))
    }
}

/// Grid size for `threads` threads in blocks of `block` (at least one block).
pub(crate) fn blocks_for(threads: usize, block: u32) -> GpuResult<u32> {
    let b = threads.div_ceil(block as usize).max(1);
    u32::try_from(b).map_err(|_| {
        GpuError::Input(crate::Error::InvalidArgument {
            name: "size".into(),
            reason: format!("{threads} threads need more than 2^32 blocks"),
        })
    })
}

/// An `i32` kernel argument from a size, or an input error naming it.
pub(crate) fn int_arg(name: &str, v: usize) -> GpuResult<i32> {
    i32::try_from(v).map_err(|_| {
        GpuError::Input(crate::Error::InvalidArgument {
            name: name.into(),
            reason: format!("{v} does not fit a 32-bit kernel argument"),
        })
    })
}

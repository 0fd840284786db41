//! Finding the GPU: the driver and NVRTC, each reported on its own, then device facts.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use cudarc::driver::sys::CUdevice_attribute as Attr;
use cudarc::driver::CudaContext;
use serde::Serialize;

use super::nvrtc::{Nvrtc, NvrtcFound};
use super::{driver, GpuResult, GpuUnavailable};

/// The CUDA driver library, as found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DriverFound {
    /// The library file the driver calls go to (when the platform can say).
    pub file: Option<PathBuf>,
    /// The CUDA version the driver supports, e.g. `(13, 0)`.
    pub version: (i32, i32),
    /// Number of CUDA devices.
    pub device_count: usize,
}

/// What [`probe`] found: the driver and NVRTC, each found or not, separately.
#[derive(Debug, Clone)]
pub struct Probe {
    /// The driver, or why it is unusable.
    pub driver: Result<DriverFound, String>,
    /// NVRTC, or why there is none.
    pub nvrtc: Result<Arc<Nvrtc>, String>,
}

impl Probe {
    /// Why no GPU can be used (`None` when the driver has a device and NVRTC is there).
    pub fn unavailable(&self) -> Option<GpuUnavailable> {
        let reason = match (&self.driver, &self.nvrtc) {
            (Err(d), _) => d.clone(),
            (Ok(d), _) if d.device_count == 0 => {
                "the CUDA driver is installed but reports no device".into()
            }
            (Ok(_), Err(n)) => n.clone(),
            (Ok(_), Ok(_)) => return None,
        };
        Some(GpuUnavailable { reason })
    }

    /// The driver part as JSON: `{"found": true, "file", "version", "devices"}` or
    /// `{"found": false, "reason"}`.
    pub fn driver_json(&self) -> serde_json::Value {
        match &self.driver {
            Ok(d) => serde_json::json!({
                "found": true,
                "file": d.file,
                "version": format!("{}.{}", d.version.0, d.version.1),
                "devices": d.device_count,
            }),
            Err(r) => serde_json::json!({ "found": false, "reason": r }),
        }
    }

    /// The NVRTC part as JSON: `{"found": true, "file", "version", "origin", "builtins",
    /// "others"}` or `{"found": false, "reason"}`.
    pub fn nvrtc_json(&self) -> serde_json::Value {
        match &self.nvrtc {
            Ok(n) => {
                let f = n.found();
                serde_json::json!({
                    "found": true,
                    "file": f.path,
                    "version": format!("{}.{}", f.version.0, f.version.1),
                    "origin": f.origin,
                    "builtins": f.builtins,
                    "others": f.others.iter().map(|(p, v)| serde_json::json!({
                        "file": p,
                        "version": v.map(|v| format!("{}.{}", v.0, v.1)),
                    })).collect::<Vec<_>>(),
                })
            }
            Err(r) => serde_json::json!({ "found": false, "reason": r }),
        }
    }
}

impl std::fmt::Display for Probe {
    /// Two lines: `driver: found CUDA 13.0 (file), 1 device(s)` or `driver: not found
    /// (reason)`; `NVRTC: found 13.0 (file, from origin)` or `NVRTC: not found (reason)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.driver {
            Ok(d) => writeln!(
                f,
                "driver: found CUDA {}.{} ({}), {} device(s)",
                d.version.0,
                d.version.1,
                d.file
                    .as_ref()
                    .map_or("file unknown".into(), |p| p.display().to_string()),
                d.device_count
            )?,
            Err(r) => writeln!(f, "driver: not found ({r})")?,
        }
        match &self.nvrtc {
            Ok(n) => {
                let x = n.found();
                write!(
                    f,
                    "NVRTC: found {}.{} ({}, from {})",
                    x.version.0,
                    x.version.1,
                    x.path.display(),
                    x.origin
                )?;
                for (p, v) in &x.others {
                    let v = v.map_or("?".into(), |v| format!("{}.{}", v.0, v.1));
                    write!(f, "\n  also seen: NVRTC {v} ({})", p.display())?;
                }
                Ok(())
            }
            Err(r) => write!(f, "NVRTC: not found ({r})"),
        }
    }
}

/// The driver library file, from the address of one of its functions.
#[cfg(unix)]
fn driver_file() -> Option<PathBuf> {
    // SAFETY: the driver library is present (checked by the caller); `culib` opens it
    // once and keeps it; only a symbol address is read.
    let lib = unsafe { cudarc::driver::sys::culib() };
    // SAFETY: the symbol exists in every CUDA driver; it is not called here.
    let sym = unsafe { lib.get::<unsafe extern "C" fn()>(b"cuDriverGetVersion\0") }.ok()?;
    let addr = *sym as *const std::ffi::c_void;
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    // SAFETY: `addr` is a code address inside a loaded library; `info` is a valid out pointer.
    if unsafe { libc::dladdr(addr, &mut info) } == 0 || info.dli_fname.is_null() {
        return None;
    }
    // SAFETY: `dli_fname` is a NUL-terminated path owned by the dynamic linker.
    let name = unsafe { std::ffi::CStr::from_ptr(info.dli_fname) };
    Some(PathBuf::from(name.to_string_lossy().into_owned()))
}

#[cfg(not(unix))]
fn driver_file() -> Option<PathBuf> {
    None
}

/// The driver: present, its version, initialised, its devices counted.
fn probe_driver() -> Result<DriverFound, String> {
    // SAFETY: only tries to open the shared library; no symbol is called.
    if !unsafe { cudarc::driver::sys::is_culib_present() } {
        return Err(
            "the CUDA driver library (libcuda.so / nvcuda.dll) was not found: no NVIDIA driver is installed \
             or it is not on the library path"
                .into(),
        );
    }
    let file = driver_file();
    let mut v = 0i32;
    // SAFETY: the driver library is present; `v` is a valid out pointer (callable
    // before initialisation).
    let r = unsafe { cudarc::driver::sys::cuDriverGetVersion(&mut v) };
    r.result()
        .map_err(|e| format!("cuDriverGetVersion failed: {e}"))?;
    let version = (v / 1000, (v % 1000) / 10);
    cudarc::driver::result::init().map_err(|e| {
        format!(
            "the CUDA driver (CUDA {}.{}) failed to initialise: {e}",
            version.0, version.1
        )
    })?;
    let count = CudaContext::device_count().map_err(|e| format!("counting devices failed: {e}"))?;
    Ok(DriverFound {
        file,
        version,
        device_count: count.max(0) as usize,
    })
}

/// Look for the CUDA driver and NVRTC, each on its own: the driver library is opened
/// (no symbol of a missing one is touched), initialised and its devices counted; NVRTC is
/// searched for and chosen for the driver's CUDA version ([`super::discovery`]), once per
/// process.
pub fn probe() -> Probe {
    static NVRTC: OnceLock<Result<Arc<Nvrtc>, String>> = OnceLock::new();
    let driver = probe_driver();
    let version = driver.as_ref().ok().map(|d| d.version);
    let nvrtc = NVRTC
        .get_or_init(|| Nvrtc::discover(version).map(Arc::new))
        .clone();
    Probe { driver, nvrtc }
}

/// Facts about one device, as `hattn gpu info` prints them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeviceInfo {
    /// Device ordinal.
    pub ordinal: usize,
    /// Marketing name, e.g. `NVIDIA H100 80GB HBM3`.
    pub name: String,
    /// Compute capability `(major, minor)`.
    pub compute_capability: (i32, i32),
    /// Total device memory, bytes.
    pub total_memory: usize,
    /// Free device memory when the context was created, bytes.
    pub free_memory: usize,
    /// Streaming multiprocessors.
    pub multiprocessors: i32,
    /// Memory clock, kHz (as the driver reports it).
    pub memory_clock_khz: i32,
    /// Memory bus width, bits.
    pub bus_width_bits: i32,
    /// Peak memory bandwidth `$2 \times$` clock `$\times$` bus width / 8, bytes per second
    /// (double data rate; the figure the bandwidth goal is a fraction of).
    pub peak_bandwidth: f64,
    /// The driver.
    pub driver: DriverFound,
    /// The NVRTC the kernels are compiled with.
    pub nvrtc: NvrtcFound,
}

/// Device facts from an open context.
pub(crate) fn device_info(
    ctx: &Arc<CudaContext>,
    driver_found: &DriverFound,
    nvrtc: &NvrtcFound,
) -> GpuResult<DeviceInfo> {
    let attr = |a: Attr| ctx.attribute(a).map_err(driver(format!("reading {a:?}")));
    let (free, total) = ctx.mem_get_info().map_err(driver("reading memory"))?;
    let memory_clock_khz = attr(Attr::CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE)?;
    let bus_width_bits = attr(Attr::CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH)?;
    Ok(DeviceInfo {
        ordinal: ctx.ordinal(),
        name: ctx.name().map_err(driver("reading the device name"))?,
        compute_capability: ctx
            .compute_capability()
            .map_err(driver("reading the compute capability"))?,
        total_memory: total,
        free_memory: free,
        multiprocessors: attr(Attr::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT)?,
        memory_clock_khz,
        bus_width_bits,
        peak_bandwidth: peak_bandwidth(memory_clock_khz, bus_width_bits),
        driver: driver_found.clone(),
        nvrtc: nvrtc.clone(),
    })
}

/// Peak bandwidth in bytes per second: `$2 \times$` `clock_khz``$\cdot 10^3 \times$`
/// `bus_bits` / 8 (double data rate).
pub fn peak_bandwidth(clock_khz: i32, bus_bits: i32) -> f64 {
    2.0 * f64::from(clock_khz) * 1e3 * f64::from(bus_bits) / 8.0
}

impl std::fmt::Display for DeviceInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let gib = |b: usize| b as f64 / (1u64 << 30) as f64;
        writeln!(f, "device {}: {}", self.ordinal, self.name)?;
        writeln!(
            f,
            "  compute capability {}.{}, {} multiprocessors",
            self.compute_capability.0, self.compute_capability.1, self.multiprocessors
        )?;
        writeln!(
            f,
            "  memory {:.1} GiB ({:.1} GiB free), peak bandwidth {:.0} GB/s ({} MHz × {} bit × 2)",
            gib(self.total_memory),
            gib(self.free_memory),
            self.peak_bandwidth / 1e9,
            self.memory_clock_khz / 1000,
            self.bus_width_bits
        )?;
        write!(
            f,
            "  driver CUDA {}.{}, {} device(s); NVRTC {}.{} ({})",
            self.driver.version.0,
            self.driver.version.1,
            self.driver.device_count,
            self.nvrtc.version.0,
            self.nvrtc.version.1,
            self.nvrtc.path.display()
        )
    }
}

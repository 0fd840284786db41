//! Finding the GPU: library presence checks before any CUDA call, then device facts.

use std::sync::Arc;

use cudarc::driver::sys::CUdevice_attribute as Attr;
use cudarc::driver::CudaContext;
use serde::Serialize;

use super::{driver, GpuResult, GpuUnavailable};

/// What [`probe`] found: the libraries and the number of devices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Drivers {
    /// The driver's CUDA version, e.g. `(12, 4)`.
    pub driver_version: (i32, i32),
    /// NVRTC's version.
    pub nvrtc_version: (i32, i32),
    /// Number of CUDA devices.
    pub device_count: usize,
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
    /// Peak memory bandwidth $2 \times$ clock $\times$ bus width / 8, bytes per second
    /// (double data rate; the figure the bandwidth goal is a fraction of).
    pub peak_bandwidth: f64,
    /// Libraries and device count.
    pub drivers: Drivers,
}

/// Check for the CUDA driver and NVRTC libraries (without loading any symbol from a
/// missing one), initialise the driver and count devices.
///
/// # Errors
/// [`GpuUnavailable`] naming the missing library, the failed initialisation, or
/// "no CUDA device".
pub fn probe() -> Result<Drivers, GpuUnavailable> {
    let unavailable = |reason: String| GpuUnavailable { reason };
    // SAFETY: only tries to open the shared library; no symbol is called.
    if !unsafe { cudarc::driver::sys::is_culib_present() } {
        return Err(unavailable(
            "the CUDA driver library (libcuda.so / nvcuda.dll) was not found: no NVIDIA driver is installed \
             or it is not on the library path"
                .into(),
        ));
    }
    // SAFETY: as above.
    if !unsafe { cudarc::nvrtc::sys::is_culib_present() } {
        return Err(unavailable(
            "the NVRTC library (libnvrtc.so, CUDA 12.x) was not found: install the CUDA toolkit's NVRTC \
             and put it on LD_LIBRARY_PATH"
                .into(),
        ));
    }
    cudarc::driver::result::init()
        .map_err(|e| unavailable(format!("the CUDA driver failed to initialise: {e}")))?;
    let mut v = 0i32;
    // SAFETY: the driver library is present and initialised; `v` is a valid out pointer.
    let r = unsafe { cudarc::driver::sys::cuDriverGetVersion(&mut v) };
    r.result()
        .map_err(|e| unavailable(format!("cuDriverGetVersion failed: {e}")))?;
    let (mut major, mut minor) = (0i32, 0i32);
    // SAFETY: the NVRTC library is present; both are valid out pointers.
    let r = unsafe { cudarc::nvrtc::sys::nvrtcVersion(&mut major, &mut minor) };
    r.result()
        .map_err(|e| unavailable(format!("nvrtcVersion failed: {e}")))?;
    let count = CudaContext::device_count()
        .map_err(|e| unavailable(format!("counting devices failed: {e}")))?;
    if count <= 0 {
        return Err(unavailable(
            "the CUDA driver is installed but reports no device".into(),
        ));
    }
    Ok(Drivers {
        driver_version: (v / 1000, (v % 1000) / 10),
        nvrtc_version: (major, minor),
        device_count: count as usize,
    })
}

/// Device facts from an open context.
pub(crate) fn device_info(ctx: &Arc<CudaContext>, drivers: &Drivers) -> GpuResult<DeviceInfo> {
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
        drivers: drivers.clone(),
    })
}

/// Peak bandwidth in bytes per second: $2 \times$ `clock_khz`$\cdot 10^3 \times$
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
            "  driver CUDA {}.{}, NVRTC {}.{}, {} device(s)",
            self.drivers.driver_version.0,
            self.drivers.driver_version.1,
            self.drivers.nvrtc_version.0,
            self.drivers.nvrtc_version.1,
            self.drivers.device_count
        )
    }
}

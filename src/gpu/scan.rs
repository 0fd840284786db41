//! Batched selective scan on the GPU (`kernels/scan.cu`).

use cudarc::driver::{CudaSlice, LaunchConfig, PushKernelArg};

use super::{blocks_for, driver, int_arg, Gpu, GpuError, GpuResult, Program};
use crate::error::Error;
use crate::ssm::{ScanDims, SelectiveScanInput, SelectiveScanOutput, StateMatrix};
use crate::tensor::Tensor;

/// Largest state size the scan kernel takes (4 states per lane of a warp).
pub const MAX_STATE: usize = 128;
/// Threads per block of the scan kernel (8 channels per block, one warp each).
pub const THREADS: u32 = 256;

/// The inputs of a selective scan, on the device (variable `B`, `C`; `D`, `delta_bias`
/// zero when absent; `z` a one-element dummy when absent).
pub struct DeviceScan {
    /// Sizes.
    pub dims: ScanDims,
    u: CudaSlice<f32>,
    delta: CudaSlice<f32>,
    a: CudaSlice<f32>,
    b: CudaSlice<f32>,
    c: CudaSlice<f32>,
    d: CudaSlice<f32>,
    z: CudaSlice<f32>,
    delta_bias: CudaSlice<f32>,
    has_z: bool,
    softplus: bool,
    out: CudaSlice<f32>,
    last: CudaSlice<f32>,
}

impl DeviceScan {
    /// Bytes the kernel must move at least: `u`, `delta`, `z` and `out` per step and
    /// channel, `B` and `C` once per batch element, `A`, `D`, `delta_bias`, `last_state`.
    pub fn min_bytes(&self) -> f64 {
        let ScanDims {
            batch,
            dim,
            len,
            state,
        } = self.dims;
        let per_channel = (3 + usize::from(self.has_z)) * len;
        let bc = 2 * batch * state * len;
        ((batch * dim * per_channel + bc + dim * (state + 2) + batch * dim * state) * 4) as f64
    }
}

impl Gpu {
    /// Upload a selective-scan problem. The GPU kernel takes real `A` and *variable* `B`,
    /// `C` of shape `(batch, N, L)` (Mamba-1's layout), `N ≤ 128`.
    ///
    /// # Errors
    /// As [`SelectiveScanInput::validate`]; [`Error::InvalidArgument`] for constant or
    /// grouped `B`/`C` or `N > 128`; [`GpuError::Driver`] on allocation failure.
    pub fn upload_scan(&self, input: &SelectiveScanInput<f32>) -> GpuResult<DeviceScan> {
        let dims = input.validate()?;
        for (name, t) in [("B", &input.b), ("C", &input.c)] {
            if t.shape().len() != 3 {
                return Err(Error::InvalidArgument {
                    name: name.into(),
                    reason: "the GPU scan takes variable B and C of shape (batch, N, L) only"
                        .into(),
                }
                .into());
            }
        }
        if dims.state > MAX_STATE {
            return Err(Error::InvalidArgument {
                name: "N".into(),
                reason: format!("the GPU scan takes N ≤ {MAX_STATE}, found {}", dims.state),
            }
            .into());
        }
        let StateMatrix::Real(a) = &input.a else {
            return Err(Error::ComplexUnsupported { tensor: "A".into() }.into());
        };
        let s = &self.stream;
        let up =
            |v: &[f32], what: &str| s.clone_htod(v).map_err(driver(format!("uploading {what}")));
        let opt = |t: &Option<Tensor<f32>>, n: usize| {
            t.as_ref()
                .map_or_else(|| vec![0.0; n], |t| t.data().to_vec())
        };
        let out_len = dims.batch * dims.dim * dims.len;
        Ok(DeviceScan {
            dims,
            u: up(input.u.data(), "u")?,
            delta: up(input.delta.data(), "delta")?,
            a: up(a.data(), "A")?,
            b: up(input.b.data(), "B")?,
            c: up(input.c.data(), "C")?,
            d: up(&opt(&input.d, dims.dim), "D")?,
            z: up(input.z.as_ref().map_or(&[0.0f32][..], |z| z.data()), "z")?,
            delta_bias: up(&opt(&input.delta_bias, dims.dim), "delta_bias")?,
            has_z: input.z.is_some(),
            softplus: input.delta_softplus,
            out: s
                .alloc_zeros(out_len.max(1))
                .map_err(driver("allocating out"))?,
            last: s
                .alloc_zeros((dims.batch * dims.dim * dims.state).max(1))
                .map_err(driver("allocating last_state"))?,
        })
    }

    /// Queue one run of the scan kernel on uploaded inputs (no synchronisation).
    ///
    /// # Errors
    /// [`GpuError::Compile`] on first use if NVRTC rejects the kernel;
    /// [`GpuError::Driver`] if the launch fails.
    pub fn launch_scan(&self, p: &mut DeviceScan) -> GpuResult<()> {
        let f = self.function(Program::SCAN, "selective_scan")?;
        let ScanDims {
            batch,
            dim,
            len,
            state,
        } = p.dims;
        let channels = batch * dim;
        if channels == 0 || len == 0 {
            return Ok(());
        }
        let cfg = LaunchConfig {
            grid_dim: (blocks_for(channels * 32, THREADS)?, 1, 1),
            block_dim: (THREADS, 1, 1),
            shared_mem_bytes: 0,
        };
        let (bi, di, li, ni) = (
            int_arg("batch", batch)?,
            int_arg("dim", dim)?,
            int_arg("L", len)?,
            int_arg("N", state)?,
        );
        int_arg("batch·dim·L", channels * len)?;
        let (has_z, softplus) = (i32::from(p.has_z), i32::from(p.softplus));
        let mut l = self.stream.launch_builder(&f);
        l.arg(&p.u)
            .arg(&p.delta)
            .arg(&p.a)
            .arg(&p.b)
            .arg(&p.c)
            .arg(&p.d)
            .arg(&p.z)
            .arg(&p.delta_bias)
            .arg(&bi)
            .arg(&di)
            .arg(&li)
            .arg(&ni)
            .arg(&has_z)
            .arg(&softplus)
            .arg(&mut p.out)
            .arg(&mut p.last);
        // SAFETY: the argument list matches `selective_scan` in scan.cu; every buffer has
        // the size the kernel indexes (checked by `upload_scan`).
        unsafe { l.launch(cfg) }.map_err(driver("launch of selective_scan"))?;
        Ok(())
    }

    /// `selective_scan_ref` on the GPU in `f32`: same semantics as
    /// [`crate::ssm::selective_scan()`] (Euler `$\bar B$`, ZOH `$\bar A$`, `D`, `z`,
    /// `delta_bias`, softplus, `last_state`), within `f32` rounding of it.
    ///
    /// # Errors
    /// As [`Gpu::upload_scan`] and [`Gpu::launch_scan`].
    pub fn selective_scan(
        &self,
        input: &SelectiveScanInput<f32>,
    ) -> GpuResult<SelectiveScanOutput<f32>> {
        let mut p = self.upload_scan(input)?;
        self.launch_scan(&mut p)?;
        let ScanDims {
            batch,
            dim,
            len,
            state,
        } = p.dims;
        let s = &self.stream;
        let mut out = s.clone_dtoh(&p.out).map_err(driver("downloading out"))?;
        let mut last = s
            .clone_dtoh(&p.last)
            .map_err(driver("downloading last_state"))?;
        self.synchronize()?;
        out.truncate(batch * dim * len);
        last.truncate(batch * dim * state);
        Ok(SelectiveScanOutput {
            out: Tensor::new("out", vec![batch, dim, len], out).map_err(GpuError::Input)?,
            last_state: Tensor::new("last_state", vec![batch, dim, state], last)
                .map_err(GpuError::Input)?,
        })
    }
}

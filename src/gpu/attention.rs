//! Chunked hidden attention on the GPU (`kernels/attention.cu`): the full `$L\times L$`
//! matrix `$\tilde\alpha$` of many channels at once.
//!
//! Positions are cut into tiles of [`TILE`] steps. For `$i$` in row tile `$I$` and `$j$` in an
//! earlier column tile `$J$`, the product `$\prod_{k=j+1}^{i}\bar A_k$` splits into a prefix
//! inside `$I$`, the whole tiles between (`$G_{IJ}$`) and a suffix inside `$J$`, so
//! `$\tilde\alpha_{ij} = \sum_n q_{i,n}\,G_{IJ,n}\,k_{j,n}$` with `$q = C \odot$` prefix and
//! `$k = \bar B \odot$` suffix — products only, never a division (unlike the factored form
//! T2b, nothing can overflow when `$|\bar A| \le 1$`), with at most `$i - j + 3$` roundings per
//! term, inside the bound of [`crate::theorems::bound`]. Diagonal tiles use running
//! products down each column; the upper triangle is written as zeros. The state size is
//! compiled into the kernels ([`Program::attention`]).

use cudarc::driver::{CudaSlice, LaunchConfig, PushKernelArg};

use super::{driver, int_arg, Gpu, GpuError, GpuResult, Program};
use crate::error::Error;
use crate::ssm::Channel;
use crate::tensor::Matrix;

/// Tile size (steps) of the chunked kernel.
pub const TILE: usize = 32;
/// Largest state size the attention kernel takes (keys are held in registers).
pub const MAX_STATE: usize = 32;
/// Threads per block of `attention_tiles`.
pub const THREADS: u32 = 256;

/// Threads per block of `attention_prepare`.
pub const PREPARE_THREADS: u32 = 256;

/// Largest grid (blocks along x) of one launch, `$2^{31} - 1$`.
pub const MAX_GRID: usize = (1 << 31) - 1;

/// The launch grids of the two kernels for `channels` channels of length `len` and state
/// `state`: `attention_prepare` runs one thread per (channel, tile, state),
/// `$\lceil C\,\lceil L/32\rceil N / 256\rceil$` blocks; `attention_tiles` one block per
/// (channel, row tile), `$C\,\lceil L/32\rceil$` blocks. Only these grids limit the size:
/// both kernels address the `$(C, L, L)$` output with 64-bit offsets.
///
/// # Errors
/// [`Error::InvalidArgument`] when a grid exceeds [`MAX_GRID`] blocks or `$L$` does not
/// fit a 32-bit kernel argument.
pub fn launch_grids(channels: usize, len: usize, state: usize) -> Result<(u32, u32), Error> {
    let too_big = |what: &str, blocks: Option<usize>| {
        Error::InvalidArgument {
        name: "channels".into(),
        reason: format!(
            "{channels} channels × L {len} × N {state} need {} blocks of {what}, more than one grid's {MAX_GRID}",
            blocks.map_or("over 2^64".to_string(), |b| b.to_string())
        ),
    }
    };
    if i32::try_from(len).is_err() {
        return Err(Error::InvalidArgument {
            name: "L".into(),
            reason: format!("{len} does not fit a 32-bit kernel argument"),
        });
    }
    let tiles = len.div_ceil(TILE);
    let rows = channels.checked_mul(tiles);
    let prepare = rows
        .and_then(|r| r.checked_mul(state))
        .map(|t| t.div_ceil(PREPARE_THREADS as usize).max(1));
    let prepare = match prepare {
        Some(b) if b <= MAX_GRID => b as u32,
        b => return Err(too_big("attention_prepare", b)),
    };
    let tiles_grid = match rows {
        Some(b) if b <= MAX_GRID => b.max(1) as u32,
        b => return Err(too_big("attention_tiles", b)),
    };
    Ok((prepare, tiles_grid))
}

/// Channels on the device and room for their `$\tilde\alpha$` matrices.
pub struct DeviceAttention {
    /// Number of channels.
    pub channels: usize,
    /// Sequence length `$L$`.
    pub len: usize,
    /// State size `$N$`.
    pub state: usize,
    abar: CudaSlice<f32>,
    bbar: CudaSlice<f32>,
    c: CudaSlice<f32>,
    q: CudaSlice<f32>,
    k: CudaSlice<f32>,
    blockprod: CudaSlice<f32>,
    alpha: CudaSlice<f32>,
}

impl DeviceAttention {
    /// Bytes moved at least: the `$L\times L$` output of every channel, the inputs, and the
    /// prepared `$q$`, `$k$` (written once, read once).
    pub fn min_bytes(&self) -> f64 {
        let (ch, l, n) = (self.channels, self.len, self.state);
        ((ch * l * l + 3 * ch * l * n + 4 * ch * l * n) * 4) as f64
    }

    /// Device memory this problem needs, in bytes.
    pub fn device_bytes(channels: usize, len: usize, state: usize) -> usize {
        let tiles = len.div_ceil(TILE);
        4 * (channels * len * len + 5 * channels * len * state + channels * tiles * state)
    }
}

impl Gpu {
    /// Upload `channels` channels of length `len` and state `state`, each of `abar`,
    /// `bbar`, `c` laid out `(channels, L, N)` row-major, and allocate their matrices.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for `N > 32` or `N = 0`, or a problem too large for one
    /// grid ([`launch_grids`]); [`Error::DataLength`] for arrays of the wrong size;
    /// [`GpuError::Driver`] when device memory runs out. Empty problems (`$L = 0$` or no
    /// channel) allocate one-element buffers (the driver refuses zero bytes).
    pub fn upload_attention(
        &self,
        channels: usize,
        len: usize,
        state: usize,
        abar: &[f32],
        bbar: &[f32],
        c: &[f32],
    ) -> GpuResult<DeviceAttention> {
        if state == 0 || state > MAX_STATE {
            return Err(Error::InvalidArgument {
                name: "N".into(),
                reason: format!(
                    "the GPU hidden attention takes 1 ≤ N ≤ {MAX_STATE}, found {state}"
                ),
            }
            .into());
        }
        let cells = channels * len * state;
        for (name, v) in [("Abar", abar), ("Bbar", bbar), ("C", c)] {
            if v.len() != cells {
                return Err(Error::DataLength {
                    tensor: name.into(),
                    shape: vec![channels, len, state],
                    expected: cells,
                    found: v.len(),
                }
                .into());
            }
        }
        launch_grids(channels, len, state)?;
        let s = &self.stream;
        let up = |v: &[f32], what: &str| {
            if v.is_empty() {
                s.alloc_zeros::<f32>(1)
            } else {
                s.clone_htod(v)
            }
            .map_err(driver(format!("uploading {what}")))
        };
        let zeros = |n: usize, what: &str| {
            s.alloc_zeros::<f32>(n.max(1))
                .map_err(driver(format!("allocating {what} ({} bytes)", 4 * n)))
        };
        let tiles = len.div_ceil(TILE);
        Ok(DeviceAttention {
            channels,
            len,
            state,
            abar: up(abar, "Abar")?,
            bbar: up(bbar, "Bbar")?,
            c: up(c, "C")?,
            q: zeros(cells, "q")?,
            k: zeros(cells, "k")?,
            blockprod: zeros(channels * tiles * state, "tile products")?,
            alpha: zeros(channels * len * len, "the α̃ matrices")?,
        })
    }

    /// Queue the two kernels (prepare, tiles) on uploaded channels (no synchronisation).
    ///
    /// # Errors
    /// [`GpuError::Compile`] on first use if NVRTC rejects the kernels;
    /// [`GpuError::Driver`] if a launch fails.
    pub fn launch_attention(&self, p: &mut DeviceAttention) -> GpuResult<()> {
        if p.channels == 0 || p.len == 0 {
            return Ok(());
        }
        let program = Program::attention(p.state);
        let prepare = self.function(program, "attention_prepare")?;
        let tiles_fn = self.function(program, "attention_tiles")?;
        let (prepare_grid, tiles_grid) = launch_grids(p.channels, p.len, p.state)?;
        let (ci, li, ni) = (
            int_arg("channels", p.channels)?,
            int_arg("L", p.len)?,
            int_arg("N", p.state)?,
        );
        let cfg = LaunchConfig {
            grid_dim: (prepare_grid, 1, 1),
            block_dim: (PREPARE_THREADS, 1, 1),
            shared_mem_bytes: 0,
        };
        let mut l = self.stream.launch_builder(&prepare);
        l.arg(&p.abar)
            .arg(&p.bbar)
            .arg(&p.c)
            .arg(&ci)
            .arg(&li)
            .arg(&ni)
            .arg(&mut p.q)
            .arg(&mut p.k)
            .arg(&mut p.blockprod);
        // SAFETY: arguments match `attention_prepare`; buffers are (channels, L, N) and
        // (channels, tiles, N) as the kernel indexes them.
        unsafe { l.launch(cfg) }.map_err(driver("launch of attention_prepare"))?;
        let cfg = LaunchConfig {
            grid_dim: (tiles_grid, 1, 1),
            block_dim: (THREADS, 1, 1),
            shared_mem_bytes: 0,
        };
        let mut l = self.stream.launch_builder(&tiles_fn);
        l.arg(&p.abar)
            .arg(&p.bbar)
            .arg(&p.c)
            .arg(&p.q)
            .arg(&p.k)
            .arg(&p.blockprod)
            .arg(&ci)
            .arg(&li)
            .arg(&ni)
            .arg(&mut p.alpha);
        // SAFETY: arguments match `attention_tiles`; `alpha` is (channels, L, L).
        unsafe { l.launch(cfg) }.map_err(driver("launch of attention_tiles"))?;
        Ok(())
    }

    /// Download the matrices, `(channels, L, L)` row-major.
    ///
    /// # Errors
    /// [`GpuError::Driver`].
    pub fn download_attention(&self, p: &DeviceAttention) -> GpuResult<Vec<f32>> {
        let mut v = self
            .stream
            .clone_dtoh(&p.alpha)
            .map_err(driver("downloading α̃"))?;
        self.synchronize()?;
        v.truncate(p.channels * p.len * p.len);
        Ok(v)
    }

    /// The old name of [`Gpu::attention_matrices`], kept for one release (a public item
    /// named like the crate shadows `hidden_attention::…` paths).
    ///
    /// # Errors
    /// As [`Gpu::attention_matrices`].
    #[deprecated(
        since = "0.1.0",
        note = "named like the crate; use `Gpu::attention_matrices`"
    )]
    pub fn hidden_attention(&self, channels: &[Channel<f32>]) -> GpuResult<Vec<Matrix<f32>>> {
        self.attention_matrices(channels)
    }

    /// `$\tilde\alpha$` of every channel (all of one length and state size), in `f32`:
    /// within the bound of [`crate::ssm::attention_matrix`] of the exact matrix.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if the channels differ in `$L$` or `$N$`, or `$N > 32$`; as
    /// [`Gpu::launch_attention`].
    pub fn attention_matrices(&self, channels: &[Channel<f32>]) -> GpuResult<Vec<Matrix<f32>>> {
        let Some(first) = channels.first() else {
            return Ok(Vec::new());
        };
        let (len, state) = (first.len(), first.state());
        if let Some(i) = channels
            .iter()
            .position(|c| c.len() != len || c.state() != state)
        {
            return Err(Error::InvalidArgument {
                name: "channels".into(),
                reason: format!(
                    "channel {i} has L = {}, N = {} but channel 0 has L = {len}, N = {state}",
                    channels[i].len(),
                    channels[i].state()
                ),
            }
            .into());
        }
        if len == 0 && (1..=MAX_STATE).contains(&state) {
            // nothing to compute, nothing to upload
            return Ok(channels.iter().map(|_| Matrix::zeros(0, 0)).collect());
        }
        let cat = |f: fn(&Channel<f32>) -> &[f32]| {
            channels
                .iter()
                .flat_map(|c| f(c).iter().copied())
                .collect::<Vec<_>>()
        };
        let mut p = self.upload_attention(
            channels.len(),
            len,
            state,
            &cat(Channel::abar_all),
            &cat(Channel::bbar_all),
            &cat(Channel::c_all),
        )?;
        self.launch_attention(&mut p)?;
        let all = self.download_attention(&p)?;
        all.chunks_exact(len * len)
            .map(|m| Matrix::from_row_major(len, len, m.to_vec()).map_err(GpuError::Input))
            .collect()
    }
}

//! NVRTC, loaded from a file chosen by [`super::discovery`], and kernel compilation.
//!
//! cudarc's own NVRTC loader opens fixed library names (`libnvrtc.so`, `libnvrtc.so.12`,
//! …), which miss `libnvrtc.so.13` of a CUDA 13 toolkit and cannot prefer one file over
//! another. This module opens the chosen file by path, together with the builtins library
//! beside it (which NVRTC itself opens by name at compile time), and calls the few
//! functions the kernels need: version, supported architectures, compile, log, PTX and
//! machine code (CUBIN).

use std::ffi::{c_char, c_int, CStr, CString};
use std::path::{Path, PathBuf};

use libloading::Library;
use serde::Serialize;

use super::discovery::{self, Candidate, Origin};

type Program = *mut std::ffi::c_void;
type Status = c_int;

/// What the kernels are compiled to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Target {
    /// Machine code for `sm_XY` (`XY` = 10 × major + minor): loaded by the driver as it
    /// is, so an NVRTC newer than the driver (same major version) still works.
    Cubin(i32),
    /// PTX for `compute_XY`, compiled further by the driver at load time (for a device
    /// newer than this NVRTC knows).
    Ptx(i32),
}

impl Target {
    /// The target for a device of compute capability `cc` given the architectures this
    /// NVRTC supports (`10 × major + minor`): machine code when the device's own
    /// architecture is supported, else PTX for the newest supported one below it, else
    /// PTX for the device's (NVRTC will refuse it and say so).
    pub fn for_device(cc: (i32, i32), supported: &[i32]) -> Self {
        let arch = 10 * cc.0 + cc.1;
        if supported.contains(&arch) {
            return Target::Cubin(arch);
        }
        Target::Ptx(
            supported
                .iter()
                .copied()
                .filter(|&a| a <= arch)
                .max()
                .unwrap_or(arch),
        )
    }

    /// NVRTC's `--gpu-architecture` value (`sm_90`, `compute_90`).
    pub fn architecture(&self) -> String {
        match self {
            Target::Cubin(a) => format!("sm_{a}"),
            Target::Ptx(a) => format!("compute_{a}"),
        }
    }
}

/// A compiled program: machine code or PTX text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Compiled {
    /// CUBIN bytes.
    Cubin(Vec<u8>),
    /// PTX text.
    Ptx(String),
}

/// NVRTC rejected a program (or a call failed): the log and the options used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("NVRTC {what} failed ({status}) with options {options:?}:\n{log}")]
pub struct CompileFailure {
    /// Which call failed (`compile`, `create`, …).
    pub what: &'static str,
    /// NVRTC's status text.
    pub status: String,
    /// The options passed.
    pub options: Vec<String>,
    /// NVRTC's compile log (empty when there is none).
    pub log: String,
}

/// The NVRTC in use: which file, where it was found, which version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NvrtcFound {
    /// The library file.
    pub path: PathBuf,
    /// Where it was found.
    pub origin: Origin,
    /// `(major, minor)`.
    pub version: (i32, i32),
    /// The builtins library loaded beside it, if found there.
    pub builtins: Option<PathBuf>,
    /// Every other candidate seen, with its version (`None`: could not be opened).
    pub others: Vec<(PathBuf, Option<(i32, i32)>)>,
}

struct Functions {
    version: unsafe extern "C" fn(*mut c_int, *mut c_int) -> Status,
    error_string: unsafe extern "C" fn(Status) -> *const c_char,
    create: unsafe extern "C" fn(
        *mut Program,
        *const c_char,
        *const c_char,
        c_int,
        *const *const c_char,
        *const *const c_char,
    ) -> Status,
    compile: unsafe extern "C" fn(Program, c_int, *const *const c_char) -> Status,
    destroy: unsafe extern "C" fn(*mut Program) -> Status,
    log_size: unsafe extern "C" fn(Program, *mut usize) -> Status,
    log: unsafe extern "C" fn(Program, *mut c_char) -> Status,
    ptx_size: unsafe extern "C" fn(Program, *mut usize) -> Status,
    ptx: unsafe extern "C" fn(Program, *mut c_char) -> Status,
    cubin_size: Option<unsafe extern "C" fn(Program, *mut usize) -> Status>,
    cubin: Option<unsafe extern "C" fn(Program, *mut c_char) -> Status>,
    num_archs: Option<unsafe extern "C" fn(*mut c_int) -> Status>,
    archs: Option<unsafe extern "C" fn(*mut c_int) -> Status>,
}

/// An opened NVRTC library.
pub struct Nvrtc {
    found: NvrtcFound,
    f: Functions,
    _lib: Library,
    _builtins: Option<Library>,
}

impl std::fmt::Debug for Nvrtc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.found.fmt(f)
    }
}

/// A loader error with its cause (libloading's text alone says only "dlopen failed").
fn loader_error(path: &Path, e: &libloading::Error) -> String {
    use std::error::Error as _;
    match e.source() {
        Some(cause) => format!("{}: {e}: {cause}", path.display()),
        None => format!("{}: {e}", path.display()),
    }
}

/// Open `path` and resolve the functions (`None` for the optional ones a library lacks).
fn open(path: &Path) -> Result<(Library, Functions), String> {
    // SAFETY: opening NVRTC runs its initialisers only; it is a plain C library.
    let lib = unsafe { Library::new(path) }.map_err(|e| loader_error(path, &e))?;
    macro_rules! sym {
        ($name:literal) => {
            // SAFETY: the type is NVRTC's documented signature of this function.
            *unsafe { lib.get($name) }.map_err(|e| loader_error(path, &e))?
        };
    }
    macro_rules! opt {
        ($name:literal) => {
            // SAFETY: as above.
            unsafe { lib.get($name) }.ok().map(|s| *s)
        };
    }
    let f = Functions {
        version: sym!(b"nvrtcVersion\0"),
        error_string: sym!(b"nvrtcGetErrorString\0"),
        create: sym!(b"nvrtcCreateProgram\0"),
        compile: sym!(b"nvrtcCompileProgram\0"),
        destroy: sym!(b"nvrtcDestroyProgram\0"),
        log_size: sym!(b"nvrtcGetProgramLogSize\0"),
        log: sym!(b"nvrtcGetProgramLog\0"),
        ptx_size: sym!(b"nvrtcGetPTXSize\0"),
        ptx: sym!(b"nvrtcGetPTX\0"),
        cubin_size: opt!(b"nvrtcGetCUBINSize\0"),
        cubin: opt!(b"nvrtcGetCUBIN\0"),
        num_archs: opt!(b"nvrtcGetNumSupportedArchs\0"),
        archs: opt!(b"nvrtcGetSupportedArchs\0"),
    };
    Ok((lib, f))
}

fn version_of(f: &Functions) -> Option<(i32, i32)> {
    let (mut major, mut minor) = (0, 0);
    // SAFETY: valid out pointers.
    (unsafe { (f.version)(&mut major, &mut minor) } == 0).then_some((major, minor))
}

impl Nvrtc {
    /// Find and open NVRTC: every candidate of [`discovery::candidates`] is opened for its
    /// version, and [`discovery::choose`] picks one for a driver supporting CUDA `driver`.
    ///
    /// # Errors
    /// A sentence naming what was searched, when no candidate opens.
    pub fn discover(driver: Option<(i32, i32)>) -> Result<Self, String> {
        Self::from_candidates(discovery::candidates(), driver)
    }

    /// As [`Nvrtc::discover`], over the given candidates.
    ///
    /// # Errors
    /// As [`Nvrtc::discover`].
    pub fn from_candidates(
        cands: Vec<Candidate>,
        driver: Option<(i32, i32)>,
    ) -> Result<Self, String> {
        let mut versions = Vec::new();
        let mut usable = Vec::new();
        let mut others = Vec::new();
        let mut errors = Vec::new();
        for c in &cands {
            match open(&c.path).map(|(_, f)| version_of(&f)) {
                Ok(Some(v)) => {
                    versions.push(v);
                    usable.push(c.clone());
                }
                Ok(None) => errors.push(format!("{}: nvrtcVersion failed", c.path.display())),
                Err(e) => errors.push(e),
            }
        }
        let Some(pick) = discovery::choose(&versions, driver) else {
            let searched = if cands.is_empty() {
                format!(
                    "no libnvrtc.so* in {}, LD_LIBRARY_PATH, the ldconfig cache, the CUDA toolkit folders or python3's nvidia/*/lib",
                    discovery::NVRTC_ENV
                )
            } else {
                errors.join("; ")
            };
            return Err(format!("the NVRTC library was not found: {searched}"));
        };
        for (i, c) in usable.iter().enumerate() {
            if i != pick {
                others.push((c.path.clone(), Some(versions[i])));
            }
        }
        let chosen = &usable[pick];
        let version = versions[pick];
        let builtins_path = discovery::builtins_beside(&chosen.path, version);
        // Load the builtins first, by path: NVRTC opens them by name at compile time, and
        // the dynamic linker then finds the one already loaded (same soname).
        let builtins = match &builtins_path {
            // SAFETY: a plain C library without initialisers of consequence.
            Some(p) => Some(unsafe { Library::new(p) }.map_err(|e| loader_error(p, &e))?),
            None => None,
        };
        let (lib, f) = open(&chosen.path)?;
        Ok(Self {
            found: NvrtcFound {
                path: chosen.path.clone(),
                origin: chosen.origin,
                version,
                builtins: builtins_path,
                others,
            },
            f,
            _lib: lib,
            _builtins: builtins,
        })
    }

    /// Which file, version and origin.
    pub fn found(&self) -> &NvrtcFound {
        &self.found
    }

    /// The architectures this NVRTC compiles for (`10 × major + minor`; empty when it
    /// cannot say).
    pub fn supported_architectures(&self) -> Vec<i32> {
        let (Some(num), Some(archs)) = (self.f.num_archs, self.f.archs) else {
            return Vec::new();
        };
        let mut n = 0;
        // SAFETY: valid out pointer.
        if unsafe { num(&mut n) } != 0 || n <= 0 {
            return Vec::new();
        }
        let mut v = vec![0; n as usize];
        // SAFETY: `v` has room for the `n` entries NVRTC writes.
        if unsafe { archs(v.as_mut_ptr()) } != 0 {
            return Vec::new();
        }
        v
    }

    fn status(&self, s: Status) -> String {
        // SAFETY: NVRTC returns a static C string for any status.
        let p = unsafe { (self.f.error_string)(s) };
        if p.is_null() {
            format!("status {s}")
        } else {
            // SAFETY: non-null, NUL-terminated, static.
            unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
        }
    }

    /// Compile `source` (program name `name`) with `options` for `target`
    /// (`options` must hold the matching `--gpu-architecture`).
    ///
    /// # Errors
    /// [`CompileFailure`] with NVRTC's log.
    pub fn compile(
        &self,
        name: &str,
        source: &str,
        options: &[String],
        target: Target,
    ) -> Result<Compiled, CompileFailure> {
        let fail = |what, status: String, log: String| CompileFailure {
            what,
            status,
            options: options.to_vec(),
            log,
        };
        let text = |s: &str, what| {
            CString::new(s).map_err(|_| fail(what, "interior NUL".into(), String::new()))
        };
        let (src, cname) = (text(source, "source")?, text(name, "name")?);
        let opts = options
            .iter()
            .map(|o| text(o, "option"))
            .collect::<Result<Vec<_>, _>>()?;
        let ptrs: Vec<*const c_char> = opts.iter().map(|o| o.as_ptr()).collect();
        let mut prog: Program = std::ptr::null_mut();
        // SAFETY: valid C strings, no headers.
        let s = unsafe {
            (self.f.create)(
                &mut prog,
                src.as_ptr(),
                cname.as_ptr(),
                0,
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        if s != 0 {
            return Err(fail("create", self.status(s), String::new()));
        }
        // SAFETY: `prog` was created above; `ptrs` outlives the call.
        let s = unsafe { (self.f.compile)(prog, ptrs.len() as c_int, ptrs.as_ptr()) };
        let log = self
            .read(prog, self.f.log_size, self.f.log)
            .unwrap_or_default();
        let result = if s != 0 {
            Err(fail(
                "compile",
                self.status(s),
                String::from_utf8_lossy(trim_nul(&log)).into_owned(),
            ))
        } else {
            match target {
                Target::Ptx(_) => self
                    .read(prog, self.f.ptx_size, self.f.ptx)
                    .map(|b| Compiled::Ptx(String::from_utf8_lossy(trim_nul(&b)).into_owned()))
                    .ok_or_else(|| fail("reading PTX", String::new(), String::new())),
                Target::Cubin(_) => match (self.f.cubin_size, self.f.cubin) {
                    (Some(size), Some(get)) => self
                        .read(prog, size, get)
                        .map(Compiled::Cubin)
                        .ok_or_else(|| fail("reading CUBIN", String::new(), String::new())),
                    _ => Err(fail(
                        "reading CUBIN",
                        "this NVRTC has no nvrtcGetCUBIN".into(),
                        String::new(),
                    )),
                },
            }
        };
        // SAFETY: created above, destroyed once.
        unsafe { (self.f.destroy)(&mut prog) };
        result
    }

    fn read(
        &self,
        prog: Program,
        size: unsafe extern "C" fn(Program, *mut usize) -> Status,
        get: unsafe extern "C" fn(Program, *mut c_char) -> Status,
    ) -> Option<Vec<u8>> {
        let mut n = 0usize;
        // SAFETY: valid program and out pointer.
        if unsafe { size(prog, &mut n) } != 0 {
            return None;
        }
        let mut buf = vec![0u8; n];
        if n == 0 {
            return Some(buf);
        }
        // SAFETY: `buf` has the `n` bytes NVRTC said it writes.
        (unsafe { get(prog, buf.as_mut_ptr().cast()) } == 0).then_some(buf)
    }
}

fn trim_nul(b: &[u8]) -> &[u8] {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    &b[..end]
}

//! Where NVRTC may be, and which one to take.
//!
//! A CUDA 13 machine can hold several NVRTC libraries: the toolkit's
//! (`/usr/local/cuda/lib64/libnvrtc.so.13`), one per Python wheel
//! (`site-packages/nvidia/cu13/lib`), one on `LD_LIBRARY_PATH`. They need not be the same
//! version, and a version newer than the driver emits PTX the driver cannot load. So the
//! search collects every candidate file ([`candidates`]), reads each one's version, and
//! [`choose`] takes the newest that is *not newer than the driver*; only when all are
//! newer does it take the oldest (the kernels are then compiled to machine code, which a
//! driver of the same major version loads — see [`super::nvrtc::Target`]).
//!
//! Search order (earlier wins a tie of versions):
//!
//! | origin | where |
//! | --- | --- |
//! | [`Origin::Explicit`] | `HATTN_NVRTC` (a file, or a folder holding one) — only this, when set |
//! | [`Origin::LibraryPath`] | each folder of `LD_LIBRARY_PATH` |
//! | [`Origin::Ldconfig`] | the dynamic linker's cache, `ldconfig -p` |
//! | [`Origin::Toolkit`] | `$CUDA_HOME`, `$CUDA_PATH`, `/usr/local/cuda`, `/usr/local/cuda-*`: `lib64`, `lib`, `targets/*/lib` |
//! | [`Origin::Python`] | `nvidia/{cu13,cu12,cuda_nvrtc}/lib` under every folder of `python3`'s `sys.path` |

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Serialize;

/// The environment variable naming an NVRTC library (file or folder) to use instead of
/// searching.
pub const NVRTC_ENV: &str = "HATTN_NVRTC";

/// Where a candidate was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// Named by `HATTN_NVRTC`.
    Explicit,
    /// A folder of `LD_LIBRARY_PATH`.
    LibraryPath,
    /// The dynamic linker's cache (`ldconfig -p`).
    Ldconfig,
    /// A CUDA toolkit folder.
    Toolkit,
    /// A Python wheel (`nvidia/*/lib` under `sys.path`).
    Python,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Origin::Explicit => "HATTN_NVRTC",
            Origin::LibraryPath => "LD_LIBRARY_PATH",
            Origin::Ldconfig => "ldconfig cache",
            Origin::Toolkit => "CUDA toolkit",
            Origin::Python => "Python wheel",
        })
    }
}

/// A file that may be NVRTC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Candidate {
    /// The file.
    pub path: PathBuf,
    /// Where it was found.
    pub origin: Origin,
}

/// Whether `name` is an NVRTC library file: `libnvrtc.so` or `libnvrtc.so.<digits>[.<digits>…]`
/// (not the builtins, not the `.alt` variant, not a static archive).
pub fn is_nvrtc_file_name(name: &str) -> bool {
    match name.strip_prefix("libnvrtc.so") {
        Some("") => true,
        Some(rest) => rest.strip_prefix('.').is_some_and(|v| {
            v.split('.')
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        }),
        None => false,
    }
}

/// The NVRTC files of folder `dir`, most specific name first (`libnvrtc.so.13.0.88` before
/// `libnvrtc.so.13` before `libnvrtc.so`); the same file under several names is kept once
/// by [`candidates`].
pub fn nvrtc_files_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(is_nvrtc_file_name)
                && p.is_file()
        })
        .collect();
    files.sort_by_key(|p| std::cmp::Reverse(p.as_os_str().len()));
    files
}

/// The NVRTC paths in the output of `ldconfig -p` (lines `libnvrtc.so.13 (libc6,x86-64) => /path`).
pub fn parse_ldconfig(output: &str) -> Vec<PathBuf> {
    output
        .lines()
        .filter_map(|line| {
            let (name, rest) = line.trim().split_once(' ')?;
            if !is_nvrtc_file_name(name) {
                return None;
            }
            let (_, path) = rest.split_once("=>")?;
            Some(PathBuf::from(path.trim()))
        })
        .collect()
}

/// The toolkit folders to search under `roots` (each a CUDA installation root).
fn toolkit_dirs(roots: &[PathBuf]) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    for root in roots {
        dirs.push(root.join("lib64"));
        dirs.push(root.join("lib"));
        if let Ok(targets) = std::fs::read_dir(root.join("targets")) {
            let mut t: Vec<PathBuf> = targets
                .filter_map(|e| e.ok())
                .map(|e| e.path().join("lib"))
                .collect();
            t.sort();
            dirs.extend(t);
        }
    }
    dirs
}

/// CUDA installation roots: `$CUDA_HOME`, `$CUDA_PATH`, `/usr/local/cuda`, then every
/// `/usr/local/cuda-*` (newest name last).
fn toolkit_roots() -> Vec<PathBuf> {
    let mut roots: Vec<PathBuf> = ["CUDA_HOME", "CUDA_PATH"]
        .iter()
        .filter_map(std::env::var_os)
        .map(PathBuf::from)
        .collect();
    roots.push(PathBuf::from("/usr/local/cuda"));
    if let Ok(entries) = std::fs::read_dir("/usr/local") {
        let mut versioned: Vec<PathBuf> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("cuda-"))
            })
            .collect();
        versioned.sort();
        roots.extend(versioned);
    }
    roots
}

/// Folders of `python3`'s `sys.path` (none when there is no `python3`).
fn python_paths() -> Vec<PathBuf> {
    let out = Command::new("python3")
        .args(["-c", "import sys; print('\\n'.join(sys.path))"])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output();
    match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(PathBuf::from)
            .collect(),
        _ => Vec::new(),
    }
}

/// The wheel folders below one `sys.path` entry that may hold NVRTC.
pub fn wheel_dirs(site: &Path) -> Vec<PathBuf> {
    ["cu13", "cu12", "cuda_nvrtc"]
        .iter()
        .map(|w| site.join("nvidia").join(w).join("lib"))
        .collect()
}

/// Every candidate NVRTC file, in search order (see the module docs), each file once
/// (by its canonical path).
pub fn candidates() -> Vec<Candidate> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut push = |path: PathBuf, origin: Origin, out: &mut Vec<Candidate>| {
        let key = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
        if path.is_file() && seen.insert(key) {
            out.push(Candidate { path, origin });
        }
    };
    if let Some(v) = std::env::var_os(NVRTC_ENV).filter(|v| !v.is_empty()) {
        let p = PathBuf::from(v);
        if p.is_dir() {
            for f in nvrtc_files_in(&p) {
                push(f, Origin::Explicit, &mut out);
            }
        } else {
            // a named file is taken as it is, whatever its name
            out.push(Candidate {
                path: p,
                origin: Origin::Explicit,
            });
        }
        return out;
    }
    if let Some(lp) = std::env::var_os("LD_LIBRARY_PATH") {
        for dir in std::env::split_paths(&lp).filter(|d| !d.as_os_str().is_empty()) {
            for f in nvrtc_files_in(&dir) {
                push(f, Origin::LibraryPath, &mut out);
            }
        }
    }
    for ldconfig in ["ldconfig", "/sbin/ldconfig", "/usr/sbin/ldconfig"] {
        let Ok(o) = Command::new(ldconfig)
            .arg("-p")
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output()
        else {
            continue;
        };
        for f in parse_ldconfig(&String::from_utf8_lossy(&o.stdout)) {
            push(f, Origin::Ldconfig, &mut out);
        }
        break;
    }
    for dir in toolkit_dirs(&toolkit_roots()) {
        for f in nvrtc_files_in(&dir) {
            push(f, Origin::Toolkit, &mut out);
        }
    }
    for site in python_paths() {
        for dir in wheel_dirs(&site) {
            for f in nvrtc_files_in(&dir) {
                push(f, Origin::Python, &mut out);
            }
        }
    }
    out
}

/// Index of the NVRTC to use among `versions` (each candidate's `(major, minor)`, in
/// search order), for a driver supporting CUDA `driver` (`None`: no driver, treated as
/// newer than any): the newest version `$\le$` `driver`; when every version is newer, the
/// oldest. Ties go to the earlier candidate. `None` for an empty list.
pub fn choose(versions: &[(i32, i32)], driver: Option<(i32, i32)>) -> Option<usize> {
    let fits = |v: (i32, i32)| driver.map_or(true, |d| v <= d);
    let best_fit = versions.iter().enumerate().filter(|(_, v)| fits(**v)).fold(
        None::<(usize, (i32, i32))>,
        |best, (i, &v)| match best {
            Some((_, b)) if b >= v => best,
            _ => Some((i, v)),
        },
    );
    if let Some((i, _)) = best_fit {
        return Some(i);
    }
    versions
        .iter()
        .enumerate()
        .fold(None::<(usize, (i32, i32))>, |best, (i, &v)| match best {
            Some((_, b)) if b <= v => best,
            _ => Some((i, v)),
        })
        .map(|(i, _)| i)
}

/// The builtins library NVRTC `version` loads at compile time, next to `nvrtc`:
/// `libnvrtc-builtins.so.<major>.<minor>` in the same folder, if there.
pub fn builtins_beside(nvrtc: &Path, version: (i32, i32)) -> Option<PathBuf> {
    let dir = std::fs::canonicalize(nvrtc).ok()?.parent()?.to_path_buf();
    let p = dir.join(format!("libnvrtc-builtins.so.{}.{}", version.0, version.1));
    p.is_file().then_some(p)
}

//! Value parsers shared by the subcommands: a bad value is a clap error naming the one
//! option at fault (exit 2), never a silent accept.

use std::path::PathBuf;

/// An integer ≥ 1 (`--cases 0`, `--len 0` are refused; `-3` is read as a value and refused,
/// not mistaken for a flag).
pub fn positive_usize(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(_) if s.trim_start().starts_with('-') => Err("must be a positive integer".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// A finite number > 0.
pub fn positive_f64(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x > 0.0 && x.is_finite() => Ok(x),
        Ok(x) => Err(format!("must be a finite number > 0, not {x}")),
        Err(e) => Err(e.to_string()),
    }
}

/// A checkpoint directory (holding `config.json`), not a file inside it.
pub fn checkpoint_dir(s: &str) -> Result<PathBuf, String> {
    let p = PathBuf::from(s);
    if p.is_file() {
        let hint = p
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .map_or(String::new(), |d| {
                format!(" (its directory is {})", d.display())
            });
        return Err(format!(
            "is a file; give the checkpoint directory that holds config.json{hint}"
        ));
    }
    if !p.exists() {
        return Err("no such directory".into());
    }
    Ok(p)
}

/// A shard `I/N` (0-based: 0 ≤ I < N).
pub fn shard(s: &str) -> Result<hidden_attention::shard::Shard, String> {
    hidden_attention::shard::Shard::parse(s).map_err(|e| match e {
        hidden_attention::Error::InvalidArgument { reason, .. } => reason,
        other => other.to_string(),
    })
}

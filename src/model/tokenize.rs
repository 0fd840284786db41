//! Text to token ids with a checkpoint's `tokenizer.json` (the Hugging Face `tokenizers`
//! format), keeping a readable label per token for the axes of figures.

use std::path::Path;

use tokenizers::Tokenizer;

use crate::error::{Error, Result};

/// The tokens of a text: ids for the model, one label per id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tokens {
    /// Token ids, in order.
    pub ids: Vec<usize>,
    /// For each id, the span of the text it covers (trimmed), or the token's own string
    /// where that span is empty (special tokens, pure whitespace).
    pub labels: Vec<String>,
}

/// Tokenize `text` with the tokenizer stored in `path` (with the special tokens its
/// post-processor adds, as `transformers` does by default).
///
/// # Errors
/// [`Error::Io`] naming the path if it cannot be read; [`Error::InvalidArgument`]
/// (`tokenizer`) if it is not a tokenizer file or the encoding fails;
/// [`Error::EmptyTokens`] if the text gives no token.
pub fn tokenize(path: &Path, text: &str) -> Result<Tokens> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let bad = |e: tokenizers::Error| Error::InvalidArgument {
        name: "tokenizer".into(),
        reason: format!("{}: {e}", path.display()),
    };
    let tok = Tokenizer::from_bytes(&bytes).map_err(bad)?;
    let enc = tok.encode(text, true).map_err(bad)?;
    if enc.get_ids().is_empty() {
        return Err(Error::EmptyTokens);
    }
    let labels = enc
        .get_offsets()
        .iter()
        .zip(enc.get_tokens())
        .map(|(&(a, b), t)| {
            let span = text.get(a..b).unwrap_or("").trim();
            if span.is_empty() {
                t.clone()
            } else {
                span.to_string()
            }
        })
        .collect();
    Ok(Tokens {
        ids: enc.get_ids().iter().map(|&i| i as usize).collect(),
        labels,
    })
}

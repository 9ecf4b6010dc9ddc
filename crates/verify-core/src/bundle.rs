//! Reading and parsing a Sigstore bundle, bounded in size.
//!
//! A bundle is refused before it is parsed when it is larger than
//! [`crate::Limits::max_bundle_bytes`]; files are read through a bounded
//! reader so a huge or endless file never lands in memory.

use std::io::Read;
use std::path::Path;

use sigstore_types::Bundle;

/// Bundle media types this verifier understands (v0.1 to v0.3).
pub(crate) const BUNDLE_MEDIA_TYPES: &[&str] = &[
    "application/vnd.dev.sigstore.bundle+json;version=0.1",
    "application/vnd.dev.sigstore.bundle+json;version=0.2",
    "application/vnd.dev.sigstore.bundle+json;version=0.3",
    "application/vnd.dev.sigstore.bundle.v0.3+json",
];

/// Why a bundle could not be read or parsed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// The bundle file could not be read.
    #[error("cannot read bundle {path}: {source}")]
    Read {
        /// The path given.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The bundle is larger than the limit; it was not parsed.
    #[error("bundle is larger than the {limit}-byte limit (found {found} bytes or more); refusing to parse it")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
        /// The size found (at least).
        found: usize,
    },
    /// The bundle is not valid bundle JSON.
    #[error("bundle is malformed: {detail}")]
    Malformed {
        /// The parser's message, with line and column.
        detail: String,
    },
    /// The bundle declares a media type this verifier does not know.
    #[error("bundle media type: expected one of {expected}, found {found:?}")]
    UnsupportedVersion {
        /// The accepted media types.
        expected: String,
        /// The media type found.
        found: String,
    },
}

/// Parse a bundle from JSON bytes, refusing it unparsed when it is too large.
pub fn parse(json: &[u8], max_bytes: usize) -> Result<Bundle, BundleError> {
    if json.len() > max_bytes {
        return Err(BundleError::TooLarge {
            limit: max_bytes,
            found: json.len(),
        });
    }
    let text = std::str::from_utf8(json).map_err(|e| BundleError::Malformed {
        detail: format!("not UTF-8: {e}"),
    })?;
    // An unknown version gets its own error rather than whatever field the
    // typed parser trips over. The typed parse comes first (one pass over a
    // good bundle); only when it fails is the media type read on its own.
    let unsupported = |media_type: String| BundleError::UnsupportedVersion {
        expected: BUNDLE_MEDIA_TYPES.join(", "),
        found: media_type,
    };
    match Bundle::from_json(text) {
        Ok(bundle) if BUNDLE_MEDIA_TYPES.contains(&bundle.media_type.as_str()) => Ok(bundle),
        Ok(bundle) => Err(unsupported(bundle.media_type.as_str().to_string())),
        Err(e) => {
            #[derive(serde::Deserialize)]
            #[serde(rename_all = "camelCase")]
            struct Head {
                media_type: Option<String>,
            }
            let head: Head = serde_json::from_str(text).map_err(|e| BundleError::Malformed {
                detail: e.to_string(),
            })?;
            let media_type = head.media_type.unwrap_or_default();
            if !BUNDLE_MEDIA_TYPES.contains(&media_type.as_str()) {
                return Err(unsupported(media_type));
            }
            Err(BundleError::Malformed {
                detail: match e {
                    sigstore_types::Error::Json(e) => e.to_string(),
                    other => other.to_string(),
                },
            })
        }
    }
}

/// Read a bundle file (bounded) and parse it.
pub fn read_file(path: &Path, max_bytes: usize) -> Result<Vec<u8>, BundleError> {
    read_bounded(path, max_bytes).map_err(|e| match e {
        ReadError::Io(source) => BundleError::Read {
            path: path.display().to_string(),
            source,
        },
        ReadError::TooLarge { limit, found } => BundleError::TooLarge { limit, found },
    })
}

/// Why a bounded read failed.
#[derive(Debug)]
pub enum ReadError {
    /// The underlying I/O failed.
    Io(std::io::Error),
    /// More than `limit` bytes were available.
    TooLarge {
        /// The limit in bytes.
        limit: usize,
        /// Bytes seen (at least).
        found: usize,
    },
}

/// Read at most `limit` bytes of a file; more is an error, not a truncation.
/// The file's metadata is consulted first so an oversized file is refused
/// without reading it.
pub fn read_bounded(path: &Path, limit: usize) -> Result<Vec<u8>, ReadError> {
    let file = std::fs::File::open(path).map_err(ReadError::Io)?;
    if let Ok(meta) = file.metadata() {
        let len = usize::try_from(meta.len()).unwrap_or(usize::MAX);
        if meta.is_file() && len > limit {
            return Err(ReadError::TooLarge { limit, found: len });
        }
    }
    let mut buf = Vec::new();
    file.take(limit as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(ReadError::Io)?;
    if buf.len() > limit {
        return Err(ReadError::TooLarge {
            limit,
            found: buf.len(),
        });
    }
    Ok(buf)
}

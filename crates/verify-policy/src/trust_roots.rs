//! Trust material by name.

use std::path::Path;
use std::sync::Arc;

use verify_core::Verifier;

/// The default verifier and named ones.
#[derive(Clone)]
pub struct TrustRoots {
    default: Arc<Verifier>,
    hash: String,
}

/// Why named trust roots could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrustRootsError {
    /// The directory or a file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

impl TrustRoots {
    /// Only the default root.
    pub fn new(default: Arc<Verifier>) -> Self {
        Self {
            default,
            hash: String::new(),
        }
    }

    /// Add the named roots `<name>.json` from `dir`.
    pub fn load_dir(self, dir: &Path) -> Result<Self, TrustRootsError> {
        let _ = (dir, &self.default);
        todo!()
    }

    /// `sha256:<hex>` over all roots' JSON.
    pub fn hash(&self) -> &str {
        &self.hash
    }
}

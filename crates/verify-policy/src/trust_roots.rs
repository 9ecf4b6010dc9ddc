//! Trust material by name: the default root and the named roots that
//! `keyless.trustRootRef` / `ctlog.trustRootRef` select.
//!
//! A named root is a Sigstore `trusted_root.json` (the format
//! policy-controller's `TrustRoot` resource carries in spirit), read from
//! `<dir>/<name>.json`. Each root is one shared [`Verifier`], built once,
//! with its own verdict cache.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use verify_core::digest::Sha256;
use verify_core::{TrustRoot, TrustRootError, Verifier, VerifyError};

/// Verdicts each named root's verifier remembers.
const NAMED_ROOT_CACHE: usize = 4096;
/// Most named roots read from a directory.
const MAX_ROOTS: usize = 100;

/// The default verifier and the named ones. Cheap to clone.
#[derive(Clone)]
pub struct TrustRoots {
    default: Arc<Verifier>,
    named: Arc<BTreeMap<String, Arc<Verifier>>>,
    hash: String,
}

impl std::fmt::Debug for TrustRoots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustRoots")
            .field("named", &self.named.keys().collect::<Vec<_>>())
            .field("hash", &self.hash)
            .finish()
    }
}

/// Why named trust roots could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrustRootsError {
    /// The directory could not be read.
    #[error("cannot read trust-root directory {path}: {source}")]
    Read {
        /// The directory.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A root file is not a valid trusted root.
    #[error("trust root {name:?} ({path}): {source}")]
    Invalid {
        /// The root's name.
        name: String,
        /// Its file.
        path: String,
        /// Why.
        source: Box<TrustRootError>,
    },
    /// A verifier could not be built for a root.
    #[error("trust root {name:?}: {source}")]
    Verifier {
        /// The root's name.
        name: String,
        /// Why.
        source: Box<VerifyError>,
    },
    /// More root files than the bound.
    #[error("more than {limit} trust roots in {path}")]
    TooMany {
        /// The directory.
        path: String,
        /// The bound.
        limit: usize,
    },
}

impl TrustRootsError {
    /// A stable, machine-readable reason code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Read { .. } => "trust-roots-unreadable",
            Self::Invalid { .. } => "trust-root-invalid",
            Self::Verifier { source, .. } => source.code(),
            Self::TooMany { .. } => "trust-roots-too-many",
        }
    }
}

impl TrustRoots {
    /// Only the default root (the built-in public-good root, or
    /// `--trusted-root`).
    pub fn new(default: Arc<Verifier>) -> Self {
        let mut roots = Self {
            default,
            named: Arc::new(BTreeMap::new()),
            hash: String::new(),
        };
        roots.rehash();
        roots
    }

    /// Add the named roots `<name>.json` from `dir` (hidden entries are
    /// skipped, as in a mounted ConfigMap or Secret).
    pub fn load_dir(mut self, dir: &Path) -> Result<Self, TrustRootsError> {
        let read_err = |source| TrustRootsError::Read {
            path: dir.display().to_string(),
            source,
        };
        let mut named = (*self.named).clone();
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(read_err)? {
            let entry = entry.map_err(read_err)?;
            let file = entry.file_name().to_string_lossy().into_owned();
            let Some(name) = file.strip_suffix(".json") else {
                continue;
            };
            if name.is_empty() || file.starts_with('.') {
                continue;
            }
            files.push((name.to_string(), entry.path()));
        }
        if files.len() > MAX_ROOTS {
            return Err(TrustRootsError::TooMany {
                path: dir.display().to_string(),
                limit: MAX_ROOTS,
            });
        }
        let limits = *self.default.limits();
        for (name, path) in files {
            // Every chain is checked when the set is loaded (a reload with
            // a broken root is refused and the last good set kept).
            let root = TrustRoot::from_file(&path, &limits)
                .and_then(|root| root.check_all_chains().map(|()| root))
                .map_err(|source| TrustRootsError::Invalid {
                    name: name.clone(),
                    path: path.display().to_string(),
                    source: Box::new(source),
                })?;
            let verifier = Verifier::new(root)
                .map_err(|source| TrustRootsError::Verifier {
                    name: name.clone(),
                    source: Box::new(source),
                })?
                .with_limits(limits)
                .with_cache(NAMED_ROOT_CACHE);
            named.insert(name, Arc::new(verifier));
        }
        self.named = Arc::new(named);
        self.rehash();
        Ok(self)
    }

    /// The same named roots around another default verifier (a default
    /// trust root refreshed through TUF); the hash changes with it.
    pub fn with_default(&self, default: Arc<Verifier>) -> Self {
        let mut roots = Self {
            default,
            named: Arc::clone(&self.named),
            hash: String::new(),
        };
        roots.rehash();
        roots
    }

    /// `sha256:<hex>` over every root's fingerprint and name, for cache keys.
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// The default verifier.
    pub fn default_root(&self) -> &Arc<Verifier> {
        &self.default
    }

    /// The named root `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<Verifier>> {
        self.named.get(name)
    }

    /// The names of the named roots, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.named.keys().map(String::as_str)
    }

    /// `name`'s verifier, or the default for `None`.
    pub(crate) fn select(&self, name: Option<&str>) -> Option<&Arc<Verifier>> {
        match name {
            None => Some(&self.default),
            Some(n) => self.get(n),
        }
    }

    fn rehash(&mut self) {
        let mut h = Sha256::new();
        h.update(b"default\0");
        h.update(self.default.trust_root().fingerprint_hex().as_bytes());
        for (name, verifier) in self.named.iter() {
            h.update(b"\0named\0");
            h.update(name.as_bytes());
            h.update(b"\0");
            h.update(verifier.trust_root().fingerprint_hex().as_bytes());
        }
        self.hash = format!("sha256:{}", hex::encode(h.finish()));
    }
}

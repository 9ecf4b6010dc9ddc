//! Where `verify npm-package` takes npm's registry keys from.
//!
//! `--npm-registry-keys FILE` when given; else the TUF target
//! `registry.npmjs.org/keys.json` in the TUF cache that `verify initialize`
//! filled (the same cache, and the same `VERIFY_TUF_CACHE_DIR` /
//! `XDG_CACHE_HOME` / `HOME` rules, as the trusted root). The cached keys
//! are not read blindly: the cached TUF metadata is replayed from the
//! bootstrap root without the network, the delegated role
//! `registry.npmjs.org` is verified under it, and the file must have the
//! length and hashes that role pins. When neither source gives the keys, the
//! command fails closed with [`NpmKeysError`]: a publish attestation is never
//! accepted unverified.

use std::path::Path;

use verify_core::bundle::{read_bounded, ReadError};
use verify_core::slsa::npm_keys::NpmRegistryKeys;
use verify_tuf::{TrustRootUpdater, TufError, NPM_REGISTRY_KEYS_TARGET};

/// A keys file is small; anything larger is refused unread.
const MAX_KEYS_BYTES: usize = 1 << 20;

/// Where the keys in use came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeysSource {
    /// `--npm-registry-keys FILE`.
    File,
    /// The TUF cache (`verify initialize`).
    TufCache,
}

impl KeysSource {
    /// The name in JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::File => "file",
            Self::TufCache => "tuf-cache",
        }
    }
}

/// Why npm's registry keys are not available.
#[derive(Debug, thiserror::Error)]
pub enum NpmKeysError {
    /// `--npm-registry-keys FILE` cannot be read.
    #[error("cannot read --npm-registry-keys {path}: {detail}")]
    Unreadable {
        /// The file.
        path: String,
        /// The I/O error.
        detail: String,
    },
    /// `--npm-registry-keys FILE` is larger than a keys file may be.
    #[error("--npm-registry-keys {path} is larger than {limit} bytes")]
    TooLarge {
        /// The file.
        path: String,
        /// The most bytes read.
        limit: usize,
    },
    /// The keys (from either source) are not a keys file.
    #[error("npm registry keys from {origin}: {source}")]
    Invalid {
        /// `--npm-registry-keys FILE` or the TUF target.
        origin: String,
        /// The parser's error.
        source: Box<verify_core::slsa::npm::NpmError>,
    },
    /// No `--npm-registry-keys` and no initialised TUF cache.
    #[error("npm's registry keys are needed to verify the publish attestation: give --npm-registry-keys FILE, or run `verify initialize` to fetch Sigstore's TUF target {target} into the cache ({cache})", target = NPM_REGISTRY_KEYS_TARGET)]
    Unavailable {
        /// The cache directory looked in, or why there is none.
        cache: String,
    },
    /// The TUF cache exists but does not give verified keys: not in the
    /// repository, not cached yet, or refused (tampered, malformed).
    #[error("npm's registry keys from the TUF cache at {cache}: {source}{hint}", hint = tuf_hint(source.as_ref()))]
    Tuf {
        /// The cache directory.
        cache: String,
        /// Why.
        source: Box<TufError>,
    },
}

fn tuf_hint(error: &TufError) -> &'static str {
    match error {
        TufError::Missing { .. } | TufError::NotInitialized { .. } => {
            "; run `verify initialize` to fetch them, or give --npm-registry-keys FILE"
        }
        TufError::TargetMissing { .. } => {
            "; this TUF repository does not distribute them: give --npm-registry-keys FILE"
        }
        _ => "",
    }
}

impl NpmKeysError {
    /// A stable reason code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unreadable { .. } => "npm-registry-keys-unreadable",
            Self::TooLarge { .. } => "npm-registry-keys-too-large",
            Self::Invalid { .. } => "npm-registry-keys-invalid",
            Self::Unavailable { .. } => "npm-registry-keys-unavailable",
            Self::Tuf { source, .. } => source.code(),
        }
    }

    /// Whether this is missing or unreadable input (exit 2) rather than trust
    /// material that failed verification (exit 1).
    pub fn is_input_error(&self) -> bool {
        match self {
            Self::Tuf { source, .. } => matches!(
                **source,
                TufError::Missing { .. }
                    | TufError::NotInitialized { .. }
                    | TufError::TargetMissing { .. }
                    | TufError::Cache { .. }
            ),
            _ => true,
        }
    }
}

/// The keys from `file`, else from the TUF cache.
pub fn load(file: Option<&Path>) -> Result<(NpmRegistryKeys, KeysSource), NpmKeysError> {
    match file {
        Some(path) => Ok((from_file(path)?, KeysSource::File)),
        None => Ok((from_tuf_cache()?, KeysSource::TufCache)),
    }
}

fn from_file(path: &Path) -> Result<NpmRegistryKeys, NpmKeysError> {
    let bytes = read_bounded(path, MAX_KEYS_BYTES).map_err(|e| match e {
        ReadError::Io(e) => NpmKeysError::Unreadable {
            path: path.display().to_string(),
            detail: e.to_string(),
        },
        ReadError::TooLarge { limit, .. } => NpmKeysError::TooLarge {
            path: path.display().to_string(),
            limit,
        },
    })?;
    NpmRegistryKeys::parse(&bytes).map_err(|source| NpmKeysError::Invalid {
        origin: format!("--npm-registry-keys {}", path.display()),
        source: Box::new(source),
    })
}

fn from_tuf_cache() -> Result<NpmRegistryKeys, NpmKeysError> {
    let Some(dir) = verify_tuf::default_cache_dir() else {
        return Err(NpmKeysError::Unavailable {
            cache: "none: VERIFY_TUF_CACHE_DIR, XDG_CACHE_HOME and HOME are unset".into(),
        });
    };
    let cache = dir.display().to_string();
    let tuf = |source| NpmKeysError::Tuf {
        cache: cache.clone(),
        source: Box::new(source),
    };
    let options = match verify_tuf::initialized_options(&dir).map_err(tuf)? {
        Some(options) => options.extra_target(NPM_REGISTRY_KEYS_TARGET),
        None => {
            return Err(NpmKeysError::Unavailable {
                cache: format!("{cache}, not initialised"),
            })
        }
    };
    // Files only (the offline updater has no transport): driven to
    // completion on this thread, as the cached trust root is (trust.rs).
    let state = TrustRootUpdater::offline(options)
        .and_then(|updater| futures_executor::block_on(updater.load_cached()))
        .map_err(tuf)?;
    let bytes = state.target(NPM_REGISTRY_KEYS_TARGET).map_err(tuf)?;
    NpmRegistryKeys::parse(&bytes).map_err(|source| NpmKeysError::Invalid {
        origin: format!("the TUF target {NPM_REGISTRY_KEYS_TARGET}"),
        source: Box::new(source),
    })
}

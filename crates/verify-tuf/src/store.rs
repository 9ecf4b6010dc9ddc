//! The on-disk cache of verified TUF metadata and the trust root it names.
//!
//! What is written here was verified before it was written, and nothing read
//! back is believed before it is verified again: the cache is replayed through
//! sigstore-tuf from the embedded root on every load (see
//! [`crate::TrustRootUpdater::load_cached`]). Reads are bounded in size, so a
//! cache file replaced by something huge cannot exhaust memory.
//!
//! Layout: `<cache dir>/<mirror URL, percent-encoded>/` holds sigstore-tuf's
//! files (`root.json`, `root_history/N.root.json`, `timestamp.json`,
//! `snapshot.json`, `targets.json`, `targets/trusted_root.json`; with npm's
//! keys asked for, `registry.npmjs.org.json` (the delegated role) and
//! `targets/registry.npmjs.org/keys.json`) and
//! `state.json`, which records when the last refresh succeeded.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sigstore_tuf::MetadataStore;

use crate::{TufError, UpdaterOptions};

/// Environment variable that overrides the cache directory.
pub const CACHE_DIR_ENV: &str = "VERIFY_TUF_CACHE_DIR";

/// Largest file the cache will read back (the largest TUF role limit, 5 MB,
/// rounded up; Sigstore's files are a few KB).
const MAX_CACHED_FILE: u64 = 8 * 1024 * 1024;

/// Largest `state.json` read back.
const MAX_STATE_FILE: u64 = 64 * 1024;

/// The cache directory to use: `$VERIFY_TUF_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/verify/tuf`, else `$HOME/.cache/verify/tuf`. `None` when
/// none of them is set (the caller then has no cache).
pub fn default_cache_dir() -> Option<PathBuf> {
    let env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(dir) = env(CACHE_DIR_ENV) {
        return Some(PathBuf::from(dir));
    }
    if let Some(xdg) = env("XDG_CACHE_HOME").map(PathBuf::from) {
        // The XDG spec says relative values are to be ignored.
        if xdg.is_absolute() {
            return Some(xdg.join("verify").join("tuf"));
        }
    }
    env("HOME").map(|home| {
        PathBuf::from(home)
            .join(".cache")
            .join("verify")
            .join("tuf")
    })
}

/// The directory, under `cache_dir`, that holds one mirror's files.
pub fn mirror_dir(cache_dir: &Path, mirror: &str) -> PathBuf {
    let trimmed = mirror.trim_end_matches('/');
    let mut name = String::with_capacity(trimmed.len() * 3);
    for byte in trimmed.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.".contains(&byte) {
            name.push(byte as char);
        } else {
            name.push_str(&format!("%{byte:02X}"));
        }
    }
    cache_dir.join(name)
}

/// sigstore-tuf's metadata store, on disk, with bounded reads and names kept
/// inside the directory. Writes are atomic (temporary file, then rename).
#[derive(Debug, Clone)]
pub(crate) struct DiskStore {
    dir: PathBuf,
}

impl DiskStore {
    pub(crate) fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, name: &str) -> sigstore_tuf::Result<PathBuf> {
        let rel = Path::new(name);
        let unsafe_name = rel.is_absolute()
            || rel
                .components()
                .any(|c| !matches!(c, std::path::Component::Normal(_)));
        if unsafe_name || name.is_empty() {
            return Err(sigstore_tuf::Error::Malformed(format!(
                "unsafe cache name {name:?}"
            )));
        }
        Ok(self.dir.join(rel))
    }

    pub(crate) fn read_state(&self) -> Option<CacheState> {
        let bytes = read_bounded(&self.dir.join("state.json"), MAX_STATE_FILE).ok()??;
        serde_json::from_slice(&bytes).ok()
    }

    pub(crate) fn write_state(&self, state: &CacheState) -> std::io::Result<()> {
        let bytes = serde_json::to_vec_pretty(state).map_err(std::io::Error::other)?;
        write_atomic(&self.dir.join("state.json"), &bytes)
    }
}

/// What the cache records beside the metadata. Not security-relevant: it
/// only dates the last success (for the root's age); the metadata itself is
/// re-verified on load.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CacheState {
    /// The mirror the metadata came from.
    pub mirror: String,
    /// When the last refresh succeeded.
    pub last_success: jiff::Timestamp,
}

impl MetadataStore for DiskStore {
    fn load(&self, name: &str) -> sigstore_tuf::Result<Option<Vec<u8>>> {
        let path = self.path(name)?;
        read_bounded(&path, MAX_CACHED_FILE)
            .map_err(|e| sigstore_tuf::Error::io(format!("reading {}", path.display()), e))
    }

    fn store(&self, name: &str, bytes: &[u8]) -> sigstore_tuf::Result<()> {
        let path = self.path(name)?;
        write_atomic(&path, bytes)
            .map_err(|e| sigstore_tuf::Error::io(format!("writing {}", path.display()), e))
    }
}

/// Read at most `limit` bytes; a longer file is an error, a missing one `None`.
fn read_bounded(path: &Path, limit: u64) -> std::io::Result<Option<Vec<u8>>> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(std::io::Error::other(format!(
            "{} is larger than {limit} bytes",
            path.display()
        )));
    }
    Ok(Some(bytes))
}

fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// What `verify initialize` records at the top of the cache directory, so
/// later runs know which mirror (and which bootstrap root) the cache is for.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Initialized {
    mirror: String,
    /// Whether `bootstrap-root.json` beside it is the root to start from
    /// (otherwise the embedded public-good root is).
    custom_root: bool,
}

const INITIALIZED_FILE: &str = "config.json";
const BOOTSTRAP_ROOT_FILE: &str = "bootstrap-root.json";

/// Record that `cache_dir` was initialised from `mirror`, starting trust from
/// `custom_root` (or the embedded root when `None`).
///
/// A custom bootstrap root is kept in the cache, as cosign keeps the root
/// given to `cosign initialize`: whoever can write the cache directory can
/// then choose the root, so it must be writable only by its user.
pub fn remember_initialization(
    cache_dir: &Path,
    mirror: &str,
    custom_root: Option<&[u8]>,
) -> Result<(), TufError> {
    let fail = |path: &Path, e: std::io::Error| TufError::Cache {
        path: path.display().to_string(),
        detail: e.to_string(),
    };
    let root_path = cache_dir.join(BOOTSTRAP_ROOT_FILE);
    match custom_root {
        Some(root) => write_atomic(&root_path, root).map_err(|e| fail(&root_path, e))?,
        None => match std::fs::remove_file(&root_path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(fail(&root_path, e)),
        },
    }
    let config = Initialized {
        mirror: mirror.trim_end_matches('/').to_string(),
        custom_root: custom_root.is_some(),
    };
    let path = cache_dir.join(INITIALIZED_FILE);
    let bytes =
        serde_json::to_vec_pretty(&config).map_err(|e| fail(&path, std::io::Error::other(e)))?;
    write_atomic(&path, &bytes).map_err(|e| fail(&path, e))
}

/// The options `cache_dir` was initialised with, or `None` when it never
/// was. The cached metadata is not trusted by this: it is verified when the
/// updater loads it.
pub fn initialized_options(cache_dir: &Path) -> Result<Option<UpdaterOptions>, TufError> {
    let path = cache_dir.join(INITIALIZED_FILE);
    let fail = |path: &Path, detail: String| TufError::Cache {
        path: path.display().to_string(),
        detail,
    };
    let Some(bytes) =
        read_bounded(&path, MAX_STATE_FILE).map_err(|e| fail(&path, e.to_string()))?
    else {
        return Ok(None);
    };
    let config: Initialized =
        serde_json::from_slice(&bytes).map_err(|e| fail(&path, e.to_string()))?;
    let mut options = UpdaterOptions::public_good()
        .mirror(config.mirror)
        .cache_dir(cache_dir);
    if config.custom_root {
        let root_path = cache_dir.join(BOOTSTRAP_ROOT_FILE);
        let root = read_bounded(&root_path, MAX_CACHED_FILE)
            .map_err(|e| fail(&root_path, e.to_string()))?
            .ok_or_else(|| fail(&root_path, "missing".into()))?;
        options = options.root(root);
    }
    Ok(Some(options))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_escape() {
        let store = DiskStore::new(PathBuf::from("/nonexistent"));
        assert!(store.path("../x").is_err());
        assert!(store.path("/etc/passwd").is_err());
        assert!(store.path("root_history/2.root.json").is_ok());
    }

    #[test]
    fn mirror_dirs_are_flat() {
        let dir = mirror_dir(Path::new("/c"), "https://tuf-repo-cdn.sigstore.dev/");
        assert_eq!(dir, Path::new("/c/https%3A%2F%2Ftuf-repo-cdn.sigstore.dev"));
    }

    #[test]
    fn oversized_cache_files_are_refused() {
        let dir = std::env::temp_dir().join(format!("verify-tuf-store-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("big");
        std::fs::write(&path, vec![b'x'; 100]).unwrap();
        assert!(read_bounded(&path, 99).is_err());
        assert_eq!(
            read_bounded(&path, 100).unwrap().map(|b| b.len()),
            Some(100)
        );
        assert!(read_bounded(&dir.join("absent"), 10).unwrap().is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }
}

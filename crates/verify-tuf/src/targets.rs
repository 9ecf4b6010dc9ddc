//! Optional targets beside `trusted_root.json`, such as npm's registry keys
//! ([`crate::NPM_REGISTRY_KEYS_TARGET`]).
//!
//! What is checked, and by whom: the target is resolved by sigstore-tuf's
//! delegation walk (Sigstore's public-good repository delegates
//! `registry.npmjs.org/*` to the role `registry.npmjs.org`, signed by npm's
//! own key), the delegated role's metadata is verified by sigstore-tuf
//! (signature threshold of the keys its delegator names, expiry, and the
//! version, length and hashes the snapshot pins), and the target's bytes are
//! checked against the length and hashes that role pins. Nothing here
//! verifies TUF itself; it only asks sigstore-tuf for the target and types
//! the outcome.
//!
//! A target the repository does not list is absent, not an error: a private
//! Sigstore's TUF repository has no npm keys. A target that is listed but
//! whose bytes do not match fails the refresh (or the cache load).

use std::collections::BTreeMap;
use std::sync::Arc;

use sigstore_tuf::transport::{FetchFuture, Repository};
use sigstore_tuf::{MetadataStore, Updater};

use crate::error::{FetchError, TufError};

/// The largest optional target fetched (npm's keys.json is about 2 KB).
pub const MAX_EXTRA_TARGET_BYTES: u64 = 1 << 20;

/// The optional targets verified with a trust root, by TUF target path:
/// `None` when the repository does not list the target.
pub type ExtraTargets = BTreeMap<String, Option<Arc<[u8]>>>;

/// Resolve `name` through the delegation tree and download it, verified.
pub(crate) async fn fetch(
    updater: &mut Updater,
    name: &str,
    now: jiff::Timestamp,
) -> Result<Option<Vec<u8>>, TufError> {
    let Some(info) = resolve(updater, name, now).await? else {
        return Ok(None);
    };
    if let Some(bytes) = updater.find_cached_target(&info, name) {
        return Ok(Some(bytes));
    }
    let bytes = updater
        .download_target(&info, name)
        .await
        .map_err(TufError::from_tuf)?;
    Ok(Some(bytes))
}

/// The cached copy of `name`, checked against the pins of the cached (and
/// re-verified) metadata. A cached file that no longer matches is
/// [`TufError::Integrity`]; a listed target with no cached copy (a cache
/// made before the target was asked for) is [`TufError::Missing`].
pub(crate) async fn cached(
    updater: &mut Updater,
    store: &Arc<dyn MetadataStore>,
    name: &str,
    now: jiff::Timestamp,
) -> Result<Option<Vec<u8>>, TufError> {
    let Some(info) = resolve(updater, name, now).await? else {
        return Ok(None);
    };
    if let Some(bytes) = updater.find_cached_target(&info, name) {
        return Ok(Some(bytes));
    }
    let path = format!("targets/{name}");
    match store.load(&path) {
        Ok(Some(_)) => Err(TufError::Integrity {
            detail: format!(
                "the cached {name} does not match the length and hashes its TUF metadata pins"
            ),
        }),
        _ => Err(TufError::Missing { file: path }),
    }
}

async fn resolve(
    updater: &mut Updater,
    name: &str,
    now: jiff::Timestamp,
) -> Result<Option<sigstore_tuf::TargetFile>, TufError> {
    let info = updater
        .get_target_info(name, now)
        .await
        .map_err(TufError::from_tuf)?;
    match info {
        Some(info) if info.length > MAX_EXTRA_TARGET_BYTES => {
            Err(TufError::Fetch(FetchError::TooLarge {
                url: name.to_string(),
                limit: MAX_EXTRA_TARGET_BYTES,
            }))
        }
        other => Ok(other),
    }
}

/// The cache as a repository, for replaying verified metadata without the
/// network (sigstore-tuf's `StoreRepository`, plus one name mapping).
///
/// sigstore-tuf caches a delegated role's metadata as `<role>.json`, but
/// with consistent snapshots it asks the repository for
/// `<version>.<role>.json`. When that name is not cached, the unprefixed
/// copy is served instead; sigstore-tuf then checks it against the
/// snapshot's pin (version, length, hashes) and its delegator's keys, so a
/// stale or edited copy is refused, never believed. Root files are never
/// mapped: `<N>.root.json` must exist under its own name (the root chain).
pub(crate) struct CacheReplay {
    store: Arc<dyn MetadataStore>,
}

impl CacheReplay {
    pub(crate) fn new(store: Arc<dyn MetadataStore>) -> Self {
        Self { store }
    }

    fn read(&self, name: &str, max_length: u64) -> sigstore_tuf::Result<Option<Vec<u8>>> {
        let bytes = match self.store.load(name)? {
            Some(bytes) => Some(bytes),
            None => match unversioned(name) {
                Some(plain) => self.store.load(plain)?,
                None => None,
            },
        };
        match bytes {
            Some(bytes) if bytes.len() as u64 > max_length => Err(sigstore_tuf::Error::transport(
                format!("cached {name} exceeds max length {max_length}"),
            )),
            other => Ok(other),
        }
    }
}

/// `snapshot.json` for `12.snapshot.json`; `None` for root files and names
/// without a version prefix.
fn unversioned(name: &str) -> Option<&str> {
    let (version, rest) = name.split_once('.')?;
    let numeric = !version.is_empty() && version.bytes().all(|b| b.is_ascii_digit());
    (numeric && rest != "root.json" && !rest.is_empty()).then_some(rest)
}

impl Repository for CacheReplay {
    fn fetch_metadata<'a>(&'a self, name: &'a str, max_length: u64) -> FetchFuture<'a> {
        let result = self.read(name, max_length);
        Box::pin(async move { result })
    }

    fn fetch_target<'a>(&'a self, path: &'a str, max_length: u64) -> FetchFuture<'a> {
        let result = self.read(&format!("targets/{path}"), max_length);
        Box::pin(async move { result })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_versioned_non_root_names_are_mapped() {
        assert_eq!(
            unversioned("3.registry.npmjs.org.json"),
            Some("registry.npmjs.org.json")
        );
        assert_eq!(unversioned("12.snapshot.json"), Some("snapshot.json"));
        assert_eq!(unversioned("2.root.json"), None);
        assert_eq!(unversioned("registry.npmjs.org.json"), None);
        assert_eq!(unversioned("timestamp.json"), None);
        assert_eq!(unversioned("1."), None);
    }

    #[test]
    fn replay_serves_the_unprefixed_copy_and_bounds_it() {
        let store: Arc<dyn MetadataStore> = Arc::new(sigstore_tuf::MemoryStore::new());
        store.store("registry.npmjs.org.json", b"{}").unwrap();
        store.store("root.json", b"root").unwrap();
        let replay = CacheReplay::new(Arc::clone(&store));
        assert_eq!(
            replay.read("4.registry.npmjs.org.json", 10).unwrap(),
            Some(b"{}".to_vec())
        );
        assert_eq!(replay.read("2.root.json", 10).unwrap(), None);
        assert!(replay.read("4.registry.npmjs.org.json", 1).is_err());
    }
}

//! [`TrustRootUpdater`]: the trust root in force, refreshed through TUF, the
//! last good one kept when a refresh fails.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use serde::Serialize;
use sigstore_tuf::transport::{FetchFuture, Repository};
use sigstore_tuf::{MemoryStore, MetadataStore, Updater, UpdaterConfig};
use verify_core::{Limits, TrustRoot};

use crate::error::TufError;
use crate::http::HttpMirror;
use crate::store::{mirror_dir, CacheState, DiskStore};
use crate::targets::{self, CacheReplay, ExtraTargets};
use crate::{PUBLIC_GOOD_MIRROR, PUBLIC_GOOD_ROOT, TRUSTED_ROOT_TARGET};

/// Default deadline for one whole refresh (every fetch of it together).
pub const DEFAULT_REFRESH_TIMEOUT: Duration = Duration::from_secs(60);

/// Where the trust root in force came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TrustRootSource {
    /// The public-good root compiled into the binary.
    BuiltIn,
    /// Fetched and verified through TUF by a refresh in this process.
    Tuf,
    /// Loaded from the TUF cache and verified again against the cached
    /// metadata.
    TufCache,
    /// Handed over by the caller ([`TrustRootUpdater::install_trusted_root`]),
    /// checked as a trusted root but not through TUF.
    Supplied,
}

impl TrustRootSource {
    /// The name used in JSON output and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BuiltIn => "built-in",
            Self::Tuf => "tuf",
            Self::TufCache => "tuf-cache",
            Self::Supplied => "supplied",
        }
    }
}

/// The versions of the TUF metadata a root was verified under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TufVersions {
    /// `root.json` version.
    pub root: u64,
    /// `timestamp.json` version.
    pub timestamp: u64,
    /// `snapshot.json` version.
    pub snapshot: u64,
    /// `targets.json` version.
    pub targets: u64,
}

/// One trust root in force, with where it came from. Held in an [`Arc`]:
/// a verification keeps the one it started with even if a refresh swaps in
/// a new one meanwhile.
#[derive(Debug)]
pub struct TrustState {
    /// The checked trust root.
    pub root: TrustRoot,
    /// Where it came from.
    pub source: TrustRootSource,
    /// When it was last verified fresh through TUF (`None` for the built-in
    /// and supplied roots).
    pub verified_at: Option<jiff::Timestamp>,
    /// The TUF metadata versions it was verified under, if any.
    pub tuf: Option<TufVersions>,
    /// The optional extra targets ([`UpdaterOptions::extra_target`])
    /// verified under the same metadata, by name: `None` when the
    /// repository lists no such target. Empty for the built-in and supplied
    /// roots. Read them with [`TrustState::target`].
    pub targets: ExtraTargets,
}

impl TrustState {
    /// Time since the root was last verified fresh, at `now`.
    pub fn age_at(&self, now: jiff::Timestamp) -> Option<Duration> {
        let at = self.verified_at?;
        Some(Duration::try_from(now.duration_since(at)).unwrap_or(Duration::ZERO))
    }

    /// The extra target `name`, verified through TUF with this root (its
    /// length and hashes as the targets role that delegates it pins them).
    ///
    /// [`TufError::TargetMissing`] when the repository lists no such target,
    /// when it was not asked for ([`UpdaterOptions::extra_target`]), or when
    /// this root did not come through TUF (built-in or supplied).
    pub fn target(&self, name: &str) -> Result<Arc<[u8]>, TufError> {
        match self.targets.get(name) {
            Some(Some(bytes)) => Ok(Arc::clone(bytes)),
            _ => Err(TufError::TargetMissing {
                target: name.to_string(),
            }),
        }
    }
}

/// What a successful refresh did.
#[derive(Debug, Clone, Serialize)]
pub struct RefreshOutcome {
    /// Whether the trust root changed (its SHA-256 differs from the previous
    /// one in force).
    pub changed: bool,
    /// SHA-256 of the new trusted root, hex.
    pub fingerprint: String,
    /// The TUF versions it was verified under.
    pub versions: TufVersions,
    /// Whether the repository's `trusted_root.json` is the built-in one.
    pub builtin_is_current: bool,
    /// Each extra target asked for, with its SHA-256 (hex), or `None` when
    /// the repository does not list it.
    pub extra_targets: BTreeMap<String, Option<String>>,
}

/// The last failure, for logs, metrics and health endpoints.
#[derive(Debug, Clone, Serialize)]
pub struct LastError {
    /// When it happened.
    pub at: jiff::Timestamp,
    /// [`TufError::code`].
    pub code: &'static str,
    /// The message.
    pub message: String,
}

/// A point-in-time report of the updater, for metrics and health checks.
#[derive(Debug, Clone, Serialize)]
pub struct UpdaterStatus {
    /// Where the root in force came from.
    pub source: TrustRootSource,
    /// When it was last verified fresh through TUF.
    pub verified_at: Option<jiff::Timestamp>,
    /// Seconds since then (the metric to alert on).
    pub age_seconds: Option<u64>,
    /// Refreshes that succeeded.
    pub refreshes_succeeded: u64,
    /// Refreshes (and cache loads) that failed, in total.
    pub failures_total: u64,
    /// Failures since the last success.
    pub consecutive_failures: u64,
    /// The most recent failure.
    pub last_error: Option<LastError>,
}

/// How to reach and trust the TUF repository.
#[derive(Debug, Clone)]
pub struct UpdaterOptions {
    mirror: String,
    root: Vec<u8>,
    cache_dir: Option<PathBuf>,
    fetch_timeout: Duration,
    refresh_timeout: Duration,
    max_age: Option<Duration>,
    limits: Limits,
    extra_targets: Vec<String>,
}

impl Default for UpdaterOptions {
    fn default() -> Self {
        Self::public_good()
    }
}

impl UpdaterOptions {
    /// Sigstore's public-good repository, from the embedded `root.json`, with
    /// no cache directory and no maximum age.
    pub fn public_good() -> Self {
        Self {
            mirror: PUBLIC_GOOD_MIRROR.to_string(),
            root: PUBLIC_GOOD_ROOT.to_vec(),
            cache_dir: None,
            fetch_timeout: crate::http::DEFAULT_FETCH_TIMEOUT,
            refresh_timeout: DEFAULT_REFRESH_TIMEOUT,
            max_age: None,
            limits: Limits::default(),
            extra_targets: Vec::new(),
        }
    }

    /// Also fetch, verify and cache the target `name` (a TUF target path,
    /// e.g. [`crate::NPM_REGISTRY_KEYS_TARGET`]) with every refresh and cache
    /// load. Optional: a repository that does not list it is not an error
    /// (the target is then absent, [`TrustState::target`]); one that lists
    /// it with bytes that do not match its pinned length and hashes fails
    /// the refresh or load, as a bad `trusted_root.json` does. Bounded by
    /// [`targets::MAX_EXTRA_TARGET_BYTES`].
    pub fn extra_target(mut self, name: impl Into<String>) -> Self {
        let name = name.into();
        if !self.extra_targets.contains(&name) {
            self.extra_targets.push(name);
        }
        self
    }

    /// Use another mirror (an `http(s)://` URL).
    pub fn mirror(mut self, url: impl Into<String>) -> Self {
        self.mirror = url.into();
        self
    }

    /// Start trust from this `root.json` instead of the embedded one.
    pub fn root(mut self, root_json: impl Into<Vec<u8>>) -> Self {
        self.root = root_json.into();
        self
    }

    /// Keep verified metadata under `dir` (see [`crate::store`]). Without
    /// one, rollback protection lasts as long as the updater.
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_dir = Some(dir.into());
        self
    }

    /// Deadline for each file fetched.
    pub fn fetch_timeout(mut self, timeout: Duration) -> Self {
        self.fetch_timeout = timeout;
        self
    }

    /// Deadline for a whole refresh.
    pub fn refresh_timeout(mut self, timeout: Duration) -> Self {
        self.refresh_timeout = timeout;
        self
    }

    /// Refuse ([`TufError::TooOld`]) a trust root not verified fresh within
    /// `max`. Off by default: a mirror outage then never stops verification.
    pub fn max_age(mut self, max: Duration) -> Self {
        self.max_age = Some(max);
        self
    }

    /// Limits for parsing the trusted root.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The mirror URL.
    pub fn mirror_url(&self) -> &str {
        &self.mirror
    }
}

/// Shares one transport between refreshes (sigstore-tuf's `Updater` owns
/// its repository).
struct Shared(Arc<dyn Repository>);

impl Repository for Shared {
    fn fetch_metadata<'a>(&'a self, name: &'a str, max_length: u64) -> FetchFuture<'a> {
        self.0.fetch_metadata(name, max_length)
    }

    fn fetch_target<'a>(&'a self, path: &'a str, max_length: u64) -> FetchFuture<'a> {
        self.0.fetch_target(path, max_length)
    }
}

/// A store that reads through and writes nothing (loading the cache).
struct ReadOnly(Arc<dyn MetadataStore>);

impl MetadataStore for ReadOnly {
    fn load(&self, name: &str) -> sigstore_tuf::Result<Option<Vec<u8>>> {
        self.0.load(name)
    }

    fn store(&self, _name: &str, _bytes: &[u8]) -> sigstore_tuf::Result<()> {
        Ok(())
    }
}

/// The transport of [`TrustRootUpdater::offline`]: refuses every fetch.
struct Offline;

impl Offline {
    fn refuse(name: &str) -> FetchFuture<'static> {
        let error = crate::FetchError::Unreachable {
            url: name.to_string(),
            detail: "offline: the network is not used".into(),
        };
        Box::pin(async move {
            Err(sigstore_tuf::Error::transport_with_source(
                error.to_string(),
                error,
            ))
        })
    }
}

impl Repository for Offline {
    fn fetch_metadata<'a>(&'a self, name: &'a str, _max_length: u64) -> FetchFuture<'a> {
        Self::refuse(name)
    }

    fn fetch_target<'a>(&'a self, path: &'a str, _max_length: u64) -> FetchFuture<'a> {
        Self::refuse(path)
    }
}

/// The trust root in force for a long-running caller.
///
/// Starts with the built-in root. [`refresh`](Self::refresh) fetches and
/// verifies the whole TUF chain and swaps the new root in atomically; when
/// it fails, the root in force stays and the failure is counted. It starts
/// no task or thread: a webhook calls `refresh` from its own timer, a C ABI
/// host calls it when it likes (or hands over a root it fetched itself with
/// [`install_trusted_root`](Self::install_trusted_root)).
pub struct TrustRootUpdater {
    options: UpdaterOptions,
    transport: Arc<dyn Repository>,
    /// Where verified metadata persists (disk, or memory without a cache).
    store: Arc<dyn MetadataStore>,
    disk: Option<DiskStore>,
    current: ArcSwap<TrustState>,
    refresh_lock: tokio::sync::Mutex<()>,
    succeeded: AtomicU64,
    failures: AtomicU64,
    consecutive: AtomicU64,
    last_error: Mutex<Option<LastError>>,
}

impl std::fmt::Debug for TrustRootUpdater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustRootUpdater")
            .field("mirror", &self.options.mirror)
            .field("cache", &self.disk.as_ref().map(|d| d.dir().to_path_buf()))
            .field("source", &self.current.load().source)
            .finish()
    }
}

impl TrustRootUpdater {
    /// An updater over HTTP(S), starting with the built-in trust root.
    pub fn new(options: UpdaterOptions) -> Result<Self, TufError> {
        let mirror = HttpMirror::new(&options.mirror)?.with_timeout(options.fetch_timeout);
        Self::with_transport(options, Arc::new(mirror))
    }

    /// An updater that never touches the network: it can only
    /// [`load_cached`](Self::load_cached) or take a supplied root; a refresh
    /// fails with [`FetchError::Unreachable`](crate::FetchError). This is what
    /// `--offline` uses.
    pub fn offline(options: UpdaterOptions) -> Result<Self, TufError> {
        // The bootstrap root is verified when the cache is loaded; not twice.
        Self::build(options, Arc::new(Offline))
    }

    /// An updater over any sigstore-tuf transport (a host's own HTTP stack,
    /// files on disk...). The bootstrap root is checked here.
    pub fn with_transport(
        options: UpdaterOptions,
        transport: Arc<dyn Repository>,
    ) -> Result<Self, TufError> {
        sigstore_tuf::TrustedMetadataSet::from_root(&options.root).map_err(TufError::from_tuf)?;
        Self::build(options, transport)
    }

    fn build(options: UpdaterOptions, transport: Arc<dyn Repository>) -> Result<Self, TufError> {
        let builtin = TrustRoot::production()?;
        let disk = options
            .cache_dir
            .as_ref()
            .map(|dir| DiskStore::new(mirror_dir(dir, &options.mirror)));
        let store: Arc<dyn MetadataStore> = match &disk {
            Some(disk) => Arc::new(disk.clone()),
            None => Arc::new(MemoryStore::new()),
        };
        Ok(Self {
            options,
            transport,
            store,
            disk,
            current: ArcSwap::from_pointee(TrustState {
                root: builtin,
                source: TrustRootSource::BuiltIn,
                verified_at: None,
                tuf: None,
                targets: ExtraTargets::new(),
            }),
            refresh_lock: tokio::sync::Mutex::new(()),
            succeeded: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            consecutive: AtomicU64::new(0),
            last_error: Mutex::new(None),
        })
    }

    /// The trust root in force, whatever its age. Lock-free.
    pub fn current(&self) -> Arc<TrustState> {
        self.current.load_full()
    }

    /// The trust root in force, refused when a maximum age is configured and
    /// the root was not verified fresh within it (the built-in root never
    /// was).
    pub fn current_checked(&self) -> Result<Arc<TrustState>, TufError> {
        self.current_checked_at(jiff::Timestamp::now())
    }

    /// [`current_checked`](Self::current_checked) at a given time.
    pub fn current_checked_at(&self, now: jiff::Timestamp) -> Result<Arc<TrustState>, TufError> {
        let state = self.current();
        if let Some(max) = self.options.max_age {
            match state.age_at(now) {
                Some(age) if age <= max => {}
                age => return Err(TufError::TooOld { age, max }),
            }
        }
        Ok(state)
    }

    /// Counters and ages, for metrics.
    pub fn status(&self) -> UpdaterStatus {
        self.status_at(jiff::Timestamp::now())
    }

    /// [`status`](Self::status) at a given time.
    pub fn status_at(&self, now: jiff::Timestamp) -> UpdaterStatus {
        let state = self.current();
        UpdaterStatus {
            source: state.source,
            verified_at: state.verified_at,
            age_seconds: state.age_at(now).map(|d| d.as_secs()),
            refreshes_succeeded: self.succeeded.load(Ordering::Relaxed),
            failures_total: self.failures.load(Ordering::Relaxed),
            consecutive_failures: self.consecutive.load(Ordering::Relaxed),
            last_error: self.last_error.lock().ok().and_then(|e| e.clone()),
        }
    }

    /// The cache directory of this mirror, if there is one.
    pub fn cache_dir(&self) -> Option<&std::path::Path> {
        self.disk.as_ref().map(|d| d.dir())
    }

    /// Fetch and verify the whole TUF chain now, and swap the new root in.
    /// On failure the root in force is kept and the failure counted.
    pub async fn refresh(&self) -> Result<RefreshOutcome, TufError> {
        self.refresh_at(jiff::Timestamp::now()).await
    }

    /// [`refresh`](Self::refresh), checking expiry against `now`.
    pub async fn refresh_at(&self, now: jiff::Timestamp) -> Result<RefreshOutcome, TufError> {
        let _serialised = self.refresh_lock.lock().await;
        let transport = Shared(Arc::clone(&self.transport));
        let timeout = self.options.refresh_timeout;
        let chain = self.verify_chain(transport, &self.store, now, false);
        let result = match tokio::time::timeout(timeout, chain).await {
            Ok(result) => result,
            Err(_) => Err(TufError::RefreshTimeout { after: timeout }),
        };
        let result = result.map(|(root, versions, extras)| {
            if let Some(disk) = &self.disk {
                let state = CacheState {
                    mirror: self.options.mirror.clone(),
                    last_success: now,
                };
                // The metadata is cached already; only the recorded age of
                // the cache is lost if this fails.
                if let Err(e) = disk.write_state(&state) {
                    tracing::warn!(cache = %disk.dir().display(), error = %e, "cannot record the refresh time in the TUF cache");
                }
            }
            self.swap_in(root, versions, extras, TrustRootSource::Tuf, now)
        });
        match &result {
            Ok(_) => self.record_success(),
            Err(e) => self.record_failure(e, now),
        }
        result
    }

    /// Load the cached trust root, verifying it again against the cached
    /// metadata from the bootstrap root, without touching the network.
    ///
    /// Cached metadata that has since expired still authenticates the root
    /// (it is then checked as of the last successful refresh, and its age
    /// says how old it is): an expired cache is the last good root, not a
    /// reason to stop verifying. Use [`UpdaterOptions::max_age`] to refuse
    /// old roots.
    pub async fn load_cached(&self) -> Result<Arc<TrustState>, TufError> {
        self.load_cached_at(jiff::Timestamp::now()).await
    }

    /// [`load_cached`](Self::load_cached) at a given time.
    pub async fn load_cached_at(&self, now: jiff::Timestamp) -> Result<Arc<TrustState>, TufError> {
        let result = self.load_cached_inner(now).await;
        if let Err(e) = &result {
            self.record_failure(e, now);
        }
        result
    }

    async fn load_cached_inner(&self, now: jiff::Timestamp) -> Result<Arc<TrustState>, TufError> {
        let Some(disk) = &self.disk else {
            return Err(TufError::NotInitialized {
                path: "(no cache directory)".into(),
            });
        };
        let not_initialized = || TufError::NotInitialized {
            path: disk.dir().display().to_string(),
        };
        let state = disk.read_state().ok_or_else(not_initialized)?;
        if !matches!(disk.load("timestamp.json"), Ok(Some(_))) {
            return Err(not_initialized());
        }
        // Loading writes nothing: a one-shot CLI run costs no disk writes and
        // works on a read-only cache.
        let store: Arc<dyn MetadataStore> = Arc::new(ReadOnly(Arc::clone(&self.store)));
        let offline = || Shared(Arc::new(CacheReplay::new(Arc::clone(&store))));
        let (root, versions, extras) = match self.verify_chain(offline(), &store, now, true).await {
            Err(TufError::Expired { .. }) if state.last_success < now => {
                tracing::warn!(
                    last_success = %state.last_success,
                    "cached TUF metadata has expired; using it as of the last successful refresh"
                );
                self.verify_chain(offline(), &store, state.last_success, true)
                    .await?
            }
            other => other?,
        };
        self.swap_in(
            root,
            versions,
            extras,
            TrustRootSource::TufCache,
            state.last_success,
        );
        Ok(self.current())
    }

    /// Put a trusted root the caller obtained itself in force (a C ABI host
    /// that fetches on its own schedule). It is checked as any
    /// `trusted_root.json` is, but not through TUF, and it counts as
    /// verified at `verified_at` for the maximum age.
    pub fn install_trusted_root(
        &self,
        json: &[u8],
        verified_at: jiff::Timestamp,
    ) -> Result<Arc<TrustState>, TufError> {
        let root = TrustRoot::from_json(json, &self.options.limits)?;
        root.check_all_chains()?;
        self.current.store(Arc::new(TrustState {
            root,
            source: TrustRootSource::Supplied,
            verified_at: Some(verified_at),
            tuf: None,
            targets: ExtraTargets::new(),
        }));
        Ok(self.current())
    }

    /// Run sigstore-tuf's client workflow over `transport` and return the
    /// checked trust root and the extra targets asked for.
    async fn verify_chain(
        &self,
        transport: Shared,
        store: &Arc<dyn MetadataStore>,
        now: jiff::Timestamp,
        cached: bool,
    ) -> Result<(TrustRoot, TufVersions, ExtraTargets), TufError> {
        // sigstore-tuf's per-role bounds (python-tuf's), and targets no larger
        // than a trusted root may be.
        let mut config = UpdaterConfig::default();
        config.target_max_length = self.options.limits.max_trust_root_bytes as u64;
        let mut updater = Updater::new(transport, &self.options.root)
            .map_err(TufError::from_tuf)?
            .with_config(config)
            .with_store(Arc::clone(store));
        updater.refresh(now).await.map_err(TufError::from_tuf)?;
        let bytes = updater
            .get_target(TRUSTED_ROOT_TARGET, now)
            .await
            .map_err(TufError::from_tuf)?;
        let mut extras = ExtraTargets::new();
        for name in &self.options.extra_targets {
            let bytes = if cached {
                targets::cached(&mut updater, store, name, now).await?
            } else {
                targets::fetch(&mut updater, name, now).await?
            };
            extras.insert(name.clone(), bytes.map(Arc::from));
        }
        let trusted = updater.trusted();
        let versions = TufVersions {
            root: trusted.root().version,
            timestamp: trusted.timestamp().map_or(0, |t| t.version),
            snapshot: trusted.snapshot().map_or(0, |s| s.version),
            targets: trusted.targets_role("targets").map_or(0, |t| t.version),
        };
        let root = if cached {
            // The cached target's pinned hash was just checked again, and the
            // same bytes passed every check when they were fetched.
            TrustRoot::from_json_checked_before(&bytes, &self.options.limits)?
        } else {
            // Every chain now, not at first use: a refresh that brings a
            // broken chain is refused and the last good root kept.
            let root = TrustRoot::from_json(&bytes, &self.options.limits)?;
            root.check_all_chains()?;
            root
        };
        Ok((root, versions, extras))
    }

    fn swap_in(
        &self,
        root: TrustRoot,
        versions: TufVersions,
        extras: ExtraTargets,
        source: TrustRootSource,
        verified_at: jiff::Timestamp,
    ) -> RefreshOutcome {
        let fingerprint = root.fingerprint_hex();
        let previous = self.current.load().root.fingerprint_hex();
        let builtin = { hex::encode(verify_core::digest::sha256(TrustRoot::production_json())) };
        let extra_targets = extras
            .iter()
            .map(|(name, bytes)| {
                let sha256 = bytes
                    .as_ref()
                    .map(|b| hex::encode(verify_core::digest::sha256(b)));
                (name.clone(), sha256)
            })
            .collect();
        self.current.store(Arc::new(TrustState {
            root,
            source,
            verified_at: Some(verified_at),
            tuf: Some(versions),
            targets: extras,
        }));
        RefreshOutcome {
            extra_targets,
            changed: previous != fingerprint,
            builtin_is_current: builtin == fingerprint,
            fingerprint,
            versions,
        }
    }

    fn record_success(&self) {
        self.succeeded.fetch_add(1, Ordering::Relaxed);
        self.consecutive.store(0, Ordering::Relaxed);
    }

    fn record_failure(&self, e: &TufError, now: jiff::Timestamp) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        self.consecutive.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(code = e.code(), error = %e, "TUF refresh failed; keeping the trust root in force");
        if let Ok(mut last) = self.last_error.lock() {
            *last = Some(LastError {
                at: now,
                code: e.code(),
                message: e.to_string(),
            });
        }
    }
}

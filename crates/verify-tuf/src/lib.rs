//! Sigstore trust roots kept fresh through TUF, with a safe fallback.
//!
//! The built-in public-good `trusted_root.json` is a snapshot: when Sigstore
//! rotates a key (a new Rekor shard, a new Fulcio intermediate, a new CT
//! log), bundles signed after the rotation fail until the binary is rebuilt.
//! Sigstore publishes its trust root through [TUF] for this reason; this crate
//! is the client.
//!
//! # What is checked, and by whom
//!
//! TUF itself is not implemented here: every check is made by the
//! sigstore-rust family's `sigstore-tuf` client, starting from an embedded
//! `root.json` ([`PUBLIC_GOOD_ROOT`], or one the caller gives):
//!
//! - root rotation: each new `N.root.json` must be signed by a threshold of
//!   both the old and the new root keys, and its version must be the old
//!   one plus one;
//! - `timestamp`, `snapshot`, `targets`: signature thresholds of the keys
//!   the root names, expiry (freeze protection: an old but validly signed
//!   timestamp is refused once expired), no version going backwards
//!   (rollback protection, also across runs through the cache), and each
//!   file's length, hashes and version as pinned by the role above it;
//! - the target `trusted_root.json`: its length and hashes as the targets
//!   metadata pins them;
//! - optional extra targets ([`UpdaterOptions::extra_target`], e.g. npm's
//!   registry keys, [`NPM_REGISTRY_KEYS_TARGET`]): resolved through the
//!   delegations (each delegated role's signatures, expiry and snapshot pin),
//!   then their length and hashes as the role that lists them pins them.
//!   See [`targets`].
//!
//! Only then are the bytes parsed as a trusted root, and checked again as
//! any trusted root is ([`verify_core::TrustRoot::from_json`]: windows, keys,
//! certificate chains).
//!
//! What this crate adds around it: an HTTP transport where every file is
//! bounded in bytes while it streams and every fetch has a deadline, with
//! typed failures ([`FetchError`]); a deadline on a whole refresh; a cache
//! whose reads are bounded and whose contents are verified again on every
//! load; and the long-running-caller API below.
//!
//! # Long-running callers
//!
//! [`TrustRootUpdater`] holds the trust root in force in an [`std::sync::Arc`]
//! swapped atomically: a verification keeps the root it started with, and a
//! refresh never waits for one. It starts with the built-in root; then
//!
//! - [`TrustRootUpdater::load_cached`] loads the cached root after verifying
//!   it again (no network);
//! - [`TrustRootUpdater::refresh`] runs the TUF workflow against the mirror.
//!   When it fails (mirror down, expired metadata, a rollback attempt, a
//!   hash that does not match) the root in force is kept, the failure is
//!   logged (`tracing`) and counted, and the typed error is returned;
//! - [`TrustRootUpdater::status`] reports the root's source, when it was last
//!   verified fresh, its age in seconds, and failure counters and the last
//!   error: what a metrics exporter or health endpoint needs;
//! - an optional maximum age ([`UpdaterOptions::max_age`], off by default)
//!   makes [`TrustRootUpdater::current_checked`] refuse a stale root with
//!   [`TufError::TooOld`], so verification fails closed with a clear reason.
//!   Off by default because a webhook that refuses everything when the
//!   mirror is unreachable turns a CDN outage into a cluster outage.
//!
//! No task, thread or runtime is started here: the futures run on the
//! caller's tokio runtime. A webhook calls `refresh` from its own timer; a C
//! ABI host calls it when it chooses, or hands over a trusted root it
//! fetched itself ([`TrustRootUpdater::install_trusted_root`]), or supplies
//! its own transport ([`TrustRootUpdater::with_transport`]).
//!
//! ```no_run
//! # async fn example() -> Result<(), verify_tuf::TufError> {
//! use verify_tuf::{TrustRootUpdater, UpdaterOptions};
//!
//! let updater = TrustRootUpdater::new(
//!     UpdaterOptions::public_good().cache_dir("/var/cache/verify/tuf"),
//! )?;
//! let _ = updater.load_cached().await; // best effort: built-in otherwise
//! if let Err(e) = updater.refresh().await {
//!     eprintln!("keeping the trust root in force: {e} [{}]", e.code());
//! }
//! let state = updater.current_checked()?;
//! let verifier = verify_core::Verifier::new(state.root.clone());
//! # let _ = verifier;
//! # Ok(())
//! # }
//! ```
//!
//! # The cache
//!
//! [`default_cache_dir`]: `$VERIFY_TUF_CACHE_DIR`, else
//! `$XDG_CACHE_HOME/verify/tuf`, else `~/.cache/verify/tuf`; one directory per
//! mirror. Only verified metadata is written there, and it is replayed
//! through `sigstore-tuf` from the bootstrap root whenever it is loaded, so a
//! tampered cache is refused rather than believed. Its files also carry
//! rollback protection across runs: a mirror cannot serve versions older than
//! the cached ones.
//!
//! [TUF]: https://theupdateframework.io/

#![forbid(unsafe_code)]

pub mod error;
pub mod http;
pub mod store;
pub mod targets;
pub mod updater;

pub use error::{FetchError, TufError};
pub use http::HttpMirror;
pub use store::{default_cache_dir, initialized_options, remember_initialization, CACHE_DIR_ENV};
pub use targets::ExtraTargets;
pub use updater::{
    LastError, RefreshOutcome, TrustRootSource, TrustRootUpdater, TrustState, TufVersions,
    UpdaterOptions, UpdaterStatus,
};

/// Sigstore's public-good TUF repository.
pub const PUBLIC_GOOD_MIRROR: &str = "https://tuf-repo-cdn.sigstore.dev";

/// The public-good TUF `root.json` trust starts from (version 16). Taken
/// byte for byte from the `sigstore-trust-root` 0.15.1 crate on crates.io
/// (`repository/tuf_root.json`); see `data/README.md`.
pub const PUBLIC_GOOD_ROOT: &[u8] = include_bytes!("../data/root.json");

/// Sigstore's signed public-good TUF `targets.json` (version 14), byte for
/// byte from the `sigstore/root-signing` repository (`metadata/targets.json`),
/// signed by the targets keys [`PUBLIC_GOOD_ROOT`] names. It pins the
/// `trusted_root.json` target that the built-in trust root must be; the
/// tests verify its signatures with `sigstore-tuf` and compare the pin with
/// [`BUILTIN_TARGET`] and the built-in root's bytes. See `data/README.md`.
pub const PUBLIC_GOOD_TARGETS: &[u8] = include_bytes!("../data/targets.json");

/// The TUF target that holds Sigstore's trusted root.
pub const TRUSTED_ROOT_TARGET: &str = "trusted_root.json";

/// The TUF target that holds npm's registry keys (the keys that sign npm's
/// publish attestations), in the format of
/// `https://registry.npmjs.org/-/npm/v1/keys`.
///
/// Sigstore's public-good `targets.json` does not pin it itself: it
/// delegates `registry.npmjs.org/*` to the role `registry.npmjs.org`
/// (terminating, threshold 1, npm's key), whose own metadata
/// (`registry.npmjs.org.json`, pinned by the snapshot) pins this target's
/// length and hashes. Ask for it with
/// [`UpdaterOptions::extra_target`]; read it with [`TrustState::target`].
pub const NPM_REGISTRY_KEYS_TARGET: &str = "registry.npmjs.org/keys.json";

/// Length and SHA-256 of the `trusted_root.json` target that the built-in
/// trust root must be, so the two cannot drift apart (checked by this
/// crate's tests against the signed [`PUBLIC_GOOD_TARGETS`] and the
/// built-in root). See `data/README.md`.
pub const BUILTIN_TARGET: BuiltinTarget = BuiltinTarget {
    length: 6787,
    sha256: "6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66",
};

/// A target's length and hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuiltinTarget {
    /// Length in bytes.
    pub length: u64,
    /// SHA-256, lowercase hex.
    pub sha256: &'static str,
}

//! The trust roots in force, and Sigstore's trust root kept fresh through
//! TUF in the background (`serve --tuf-mirror`).
//!
//! Every check takes one snapshot of the trust roots ([`LiveTrust::checked`])
//! and uses it to the end: a refresh swaps in a new snapshot atomically, so
//! it never waits for a verification and never changes one in progress; the
//! next check uses the new root. The verdict cache keys on the snapshot's
//! hash, so verdicts reached under the old root are not served after a
//! rotation.
//!
//! The TUF work itself (root chaining, expiry, rollback and freeze
//! protection, bounded fetches) is verify-tuf's [`TrustRootUpdater`]; this
//! module owns only the timer. A failed refresh (mirror down, expired
//! metadata, a rollback) keeps the last good root, is logged by the updater
//! and counted here by result and code. With `--trust-root-max-age` a root
//! not verified fresh within it fails every verification closed with
//! `trust-root-too-old`; off by default, because a webhook with
//! `failurePolicy: Fail` that refuses everything while the mirror is
//! unreachable turns a CDN outage into a cluster outage.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::{Duration, SystemTime};

use clap::Args;
use serde_json::{json, Value};
use verify_core::{Limits, Verifier};
use verify_policy::TrustRoots;
use verify_tuf::{TrustRootUpdater, UpdaterOptions};

use crate::metrics::Metrics;

/// `serve`'s TUF flags (cosign's `initialize` names, prefixed).
#[derive(Debug, Clone, Args)]
pub struct TufArgs {
    /// Keep Sigstore's trust root fresh from this TUF mirror (e.g. https://tuf-repo-cdn.sigstore.dev); off when not given.
    #[arg(long, value_name = "URL")]
    pub tuf_mirror: Option<String>,
    /// The TUF root.json trust starts from (default: the embedded public-good root).
    #[arg(long, value_name = "FILE", requires = "tuf_mirror")]
    pub tuf_root: Option<PathBuf>,
    /// Directory for verified TUF metadata (rollback protection across restarts; its root is used at start).
    #[arg(long, value_name = "DIR", requires = "tuf_mirror")]
    pub tuf_cache: Option<PathBuf>,
    /// How often the trust root is refreshed (e.g. 30s, 10m, 1h, 1d).
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = parse_duration)]
    pub trust_root_refresh: Duration,
    /// Refuse to verify (fail closed) with a trust root not verified fresh within this; off by default.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, requires = "tuf_mirror")]
    pub trust_root_max_age: Option<Duration>,
}

/// `90s`, `10m`, `1h30m`, `2d`, `500ms`: one or more number-unit pairs.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("{text:?} is not a duration such as 30s, 10m, 1h or 1d");
    let mut total = Duration::ZERO;
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let number: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "ms" => Duration::from_millis(1),
            "s" => Duration::from_secs(1),
            "m" => Duration::from_secs(60),
            "h" => Duration::from_secs(3600),
            "d" => Duration::from_secs(86_400),
            _ => return Err(bad()),
        };
        rest = &rest[unit_len..];
        total = unit
            .checked_mul(u32::try_from(number).map_err(|_| bad())?)
            .and_then(|d| total.checked_add(d))
            .ok_or_else(bad)?;
    }
    if total.is_zero() || total > Duration::from_secs(86_400 * 365) {
        return Err(bad());
    }
    Ok(total)
}

/// The trust roots in force: fixed at start, or refreshed through TUF.
pub struct LiveTrust {
    current: RwLock<Arc<TrustRoots>>,
    /// Where the default root came from when there is no updater.
    fixed_source: &'static str,
    updater: OnceLock<Arc<TrustRootUpdater>>,
    limits: Limits,
}

impl std::fmt::Debug for LiveTrust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveTrust")
            .field("hash", &self.load().hash().to_string())
            .field("source", &self.source())
            .finish()
    }
}

impl LiveTrust {
    /// Roots that never change (`--trusted-root`, or the built-in root
    /// without `--tuf-mirror`); `source` names where the default came from.
    pub fn fixed(roots: TrustRoots, source: &'static str, limits: Limits) -> Self {
        Self {
            current: RwLock::new(Arc::new(roots)),
            fixed_source: source,
            updater: OnceLock::new(),
            limits,
        }
    }

    /// The snapshot in force, whatever its age.
    pub fn load(&self) -> Arc<TrustRoots> {
        Arc::clone(&self.current.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// The snapshot for one verification, or why none may be used (the
    /// maximum age is exceeded): the message of the denial.
    pub fn checked(&self) -> Result<Arc<TrustRoots>, String> {
        if let Some(updater) = self.updater.get() {
            if let Err(e) = updater.current_checked() {
                return Err(format!(
                    "{e}; no image is verified until a TUF refresh succeeds (--trust-root-max-age)"
                ));
            }
        }
        Ok(self.load())
    }

    /// Where the default root in force came from: `tuf`, `tuf-cache`,
    /// `built-in`, `file`.
    pub fn source(&self) -> &'static str {
        match self.updater.get() {
            Some(u) => u.current().source.as_str(),
            None => self.fixed_source,
        }
    }

    /// What `/readyz` says about the trust roots. Two different hashes, so
    /// named apart:
    ///
    /// - `defaultTrustRootSha256`: the SHA-256 (hex) of the default root's
    ///   `trusted_root.json`, the one keyless policies without `trustRootRef`
    ///   use; the same value `verify initialize` prints, comparable with
    ///   `sha256sum trusted_root.json`. `defaultTrustRootSource` says where
    ///   that root came from.
    /// - `trustRootSetHash`: `sha256:<hex>` over the default root and every
    ///   named root (`--trust-roots DIR`), names included; it keys the
    ///   verdict cache, so it changes whenever any root in force changes.
    pub fn describe(&self) -> Value {
        let roots = self.load();
        let mut out = json!({
            "trustRootSetHash": roots.hash(),
            "namedTrustRoots": roots.names().collect::<Vec<_>>(),
            "defaultTrustRootSource": self.source(),
            "defaultTrustRootSha256": roots.default_root().trust_root().fingerprint_hex(),
        });
        if let Some(updater) = self.updater.get() {
            let status = updater.status();
            let state = updater.current();
            out["tuf"] = json!({
                "versions": state.tuf,
                "verifiedAt": status.verified_at,
                "ageSeconds": status.age_seconds,
                "consecutiveFailures": status.consecutive_failures,
                "lastError": status.last_error,
                "fresh": updater.current_checked().is_ok(),
            });
        }
        out
    }

    /// Make `updater` the source of the default root (once, at start).
    pub fn attach(&self, updater: Arc<TrustRootUpdater>, metrics: &Metrics) {
        let _ = self.updater.set(updater);
        self.sync(metrics);
    }

    /// Put the updater's current root in force if it is not already.
    fn sync(&self, metrics: &Metrics) {
        let Some(updater) = self.updater.get() else {
            return;
        };
        let state = updater.current();
        if let Some(at) = state.verified_at {
            let at = SystemTime::UNIX_EPOCH
                + Duration::from_secs(u64::try_from(at.as_second()).unwrap_or_default());
            metrics.set_trust_root_time(at);
        }
        let roots = self.load();
        if roots.default_root().trust_root().fingerprint_hex() == state.root.fingerprint_hex() {
            return;
        }
        let verifier = match Verifier::new(state.root.clone()) {
            Ok(v) => v.with_limits(self.limits),
            Err(e) => {
                metrics.trust_root_refresh("failure", e.code());
                tracing::error!(event = "trust-root-refresh", code = e.code(), error = %e, "the refreshed trust root cannot be used; keeping the one in force");
                return;
            }
        };
        let next = Arc::new(roots.with_default(Arc::new(verifier)));
        tracing::info!(
            event = "trust-root-refresh",
            result = "rotated",
            old_trust_root_set_hash = %roots.hash(),
            trust_root_set_hash = %next.hash(),
            source = state.source.as_str(),
            "a new trust root is in force"
        );
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = next;
    }

    /// One refresh: fetch and verify, put a new root in force, count it.
    pub async fn refresh(&self, metrics: &Metrics) {
        let Some(updater) = self.updater.get() else {
            return;
        };
        match updater.refresh().await {
            Ok(outcome) => {
                metrics.trust_root_refresh("success", "");
                tracing::debug!(event = "trust-root-refresh", result = "success", changed = outcome.changed, fingerprint = %outcome.fingerprint, "trust root refreshed");
            }
            // The updater logged it and kept the root in force.
            Err(e) => metrics.trust_root_refresh("failure", e.code()),
        }
        self.sync(metrics);
    }

    /// Refresh now, then every `interval`, forever (spawned by `serve`).
    pub async fn watch(self: Arc<Self>, metrics: Arc<Metrics>, interval: Duration) {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            self.refresh(&metrics).await;
        }
    }
}

/// Why the TUF flags cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TufSetupError {
    /// `--tuf-mirror` with `--trusted-root`.
    #[error("--tuf-mirror and --trusted-root exclude each other: a trust root given as a file is never refreshed")]
    Conflict,
    /// `--tuf-root` unreadable.
    #[error("--tuf-root {path}: {source}")]
    Root {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The updater refused its options (bad URL, bad root.json).
    #[error("--tuf-mirror: {0} [{code}]", code = .0.code())]
    Updater(#[from] verify_tuf::TufError),
}

/// The updater for `args`, its cache loaded when there is one (a cache
/// that does not verify is logged and the built-in root stays).
pub async fn updater(
    args: &TufArgs,
    trusted_root_given: bool,
) -> Result<Option<Arc<TrustRootUpdater>>, TufSetupError> {
    let Some(mirror) = &args.tuf_mirror else {
        return Ok(None);
    };
    if trusted_root_given {
        return Err(TufSetupError::Conflict);
    }
    let mut options = UpdaterOptions::public_good().mirror(mirror.clone());
    if let Some(path) = &args.tuf_root {
        let root = std::fs::read(path).map_err(|source| TufSetupError::Root {
            path: path.display().to_string(),
            source,
        })?;
        options = options.root(root);
    }
    if let Some(dir) = &args.tuf_cache {
        options = options.cache_dir(dir.clone());
    }
    if let Some(max) = args.trust_root_max_age {
        options = options.max_age(max);
    }
    let updater = Arc::new(TrustRootUpdater::new(options)?);
    if updater.cache_dir().is_some() {
        match updater.load_cached().await {
            Ok(state) => tracing::info!(
                event = "trust-root-cache",
                source = state.source.as_str(),
                "trust root loaded from the TUF cache"
            ),
            Err(e) => {
                tracing::info!(event = "trust-root-cache", code = e.code(), error = %e, "no usable TUF cache; starting from the built-in trust root")
            }
        }
    }
    Ok(Some(updater))
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("2d"), Ok(Duration::from_secs(172_800)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        for bad in [
            "",
            "10",
            "s",
            "1y",
            "0s",
            "-1s",
            "1.5h",
            "99999999999999h",
            "400d",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}

//! The verdict cache: one verification per (image digest, policies, trust
//! roots), however many requests ask for it at once.
//!
//! - Keyed by [`Key`]: the repository and digest, the names of the policies
//!   that matched, the policy set's hash and the trust roots' hash. A
//!   digest's verdict cannot change while those stay the same, so a policy
//!   reload or a new trust root simply stops hitting old entries.
//! - Bounded in entries and in (estimated) bytes: moka's weigher counts each
//!   entry as at least `max_bytes / max_entries`, so neither bound is passed.
//! - Admits live for the positive TTL, denials for the (short) negative
//!   TTL; transient failures (registry unreachable, rate-limited, out of
//!   time) are not cached at all, but are shared with every request that
//!   was waiting on the same verification.
//! - Concurrent requests for one key are coalesced by moka's
//!   `try_get_with`: one runs the verification, the others wait for it.
//! - Stale-if-error: admits are also kept in a second map for
//!   `stale_max_age`; when a fresh verification fails transiently, that
//!   admit is served instead (the digest's verdict has not changed; only
//!   the registry is out of reach).

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::future::Cache;

use crate::config::CacheConfig;
use crate::verify::Verdict;

/// What a verdict is the verdict on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    /// `host/repository@sha256:...`.
    pub image: String,
    /// Names of the matching policies, sorted.
    pub policies: Vec<String>,
    /// The policy set's hash.
    pub policy_hash: String,
    /// The trust roots' hash.
    pub trust_hash: String,
}

/// How a verdict was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CacheStatus {
    /// Served from the cache.
    Hit,
    /// Verified for this request.
    Miss,
    /// Another request's verification, waited for.
    Coalesced,
    /// A cached admit served because a fresh verification failed transiently.
    Stale,
    /// No cache involved (no matching policy, bad reference, ...).
    None,
}

impl CacheStatus {
    /// Stable name for logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hit => "hit",
            Self::Miss => "miss",
            Self::Coalesced => "coalesced",
            Self::Stale => "stale",
            Self::None => "none",
        }
    }
}

struct ByVerdict {
    ttl: Duration,
    negative_ttl: Duration,
}

impl moka::Expiry<Key, Arc<Verdict>> for ByVerdict {
    fn expire_after_create(&self, _: &Key, value: &Arc<Verdict>, _: Instant) -> Option<Duration> {
        Some(if value.allowed {
            self.ttl
        } else {
            self.negative_ttl
        })
    }
}

/// The verdict cache (cheap to clone).
#[derive(Clone)]
pub struct VerdictCache {
    fresh: Cache<Key, Arc<Verdict>>,
    stale: Cache<Key, Arc<Verdict>>,
}

impl VerdictCache {
    /// A cache bounded as `config` says.
    pub fn new(config: &CacheConfig) -> Self {
        let floor = (config.max_bytes / config.max_entries.max(1)).clamp(1, u32::MAX as u64) as u32;
        let weigher = move |k: &Key, v: &Arc<Verdict>| -> u32 {
            let bytes = k.image.len()
                + k.policy_hash.len()
                + k.trust_hash.len()
                + k.policies.iter().map(String::len).sum::<usize>()
                + v.weight();
            (bytes.min(u32::MAX as usize) as u32).max(floor)
        };
        let fresh = Cache::builder()
            .max_capacity(config.max_bytes)
            .weigher(weigher)
            .expire_after(ByVerdict {
                ttl: config.ttl,
                negative_ttl: config.negative_ttl,
            })
            .build();
        let stale = Cache::builder()
            .max_capacity(config.max_bytes)
            .weigher(weigher)
            .time_to_live(config.stale_max_age.max(Duration::from_millis(1)))
            .build();
        Self { fresh, stale }
    }

    /// The verdict for `key`: cached, or `verify`'s (run once for all
    /// concurrent callers). `verify` answers `Err` for a transient failure,
    /// which is not cached.
    pub async fn get_or_verify<F>(&self, key: Key, verify: F) -> (Arc<Verdict>, CacheStatus)
    where
        F: Future<Output = Result<Verdict, Verdict>> + Send,
    {
        if let Some(v) = self.fresh.get(&key).await {
            return (v, CacheStatus::Hit);
        }
        let ran = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&ran);
        let result = self
            .fresh
            .try_get_with(key.clone(), async move {
                flag.store(true, Ordering::SeqCst);
                verify.await.map(Arc::new)
            })
            .await;
        let status = if ran.load(Ordering::SeqCst) {
            CacheStatus::Miss
        } else {
            CacheStatus::Coalesced
        };
        match result {
            Ok(verdict) => {
                if verdict.allowed && status == CacheStatus::Miss {
                    self.stale.insert(key, Arc::clone(&verdict)).await;
                }
                (verdict, status)
            }
            Err(failure) => match self.stale.get(&key).await {
                Some(admit) => (admit, CacheStatus::Stale),
                None => (Arc::new((*failure).clone()), status),
            },
        }
    }

    /// Entries in the fresh cache (approximate; for tests and metrics).
    pub fn entry_count(&self) -> u64 {
        self.fresh.entry_count()
    }
}

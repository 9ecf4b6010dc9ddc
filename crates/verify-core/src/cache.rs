//! A bounded cache of verdicts, so a bundle already verified under the same
//! trust root and policy is not verified again.
//!
//! The key is SHA-256 over the bundle's bytes, the artifact digest and the
//! policy's fingerprint; the trust root is fixed for a [`crate::Verifier`], so
//! it need not be part of the key. Only successes are cached: a failure may
//! be transient (an unreadable artifact) and is cheap to reproduce anyway.
//! A cached success stays true: verification is judged at the signing time
//! the bundle proves, not at the time of the check.
//!
//! The cache is sharded by the key's first byte so concurrent callers (the
//! admission webhook's worker threads) rarely contend on one lock; each shard
//! evicts its oldest entry first once it is full.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use crate::outcome::Verified;

const SHARDS: usize = 16;

/// Cache key: SHA-256 of (bundle bytes, artifact digest, policy fingerprint).
pub type CacheKey = [u8; 32];

#[derive(Default)]
struct Shard {
    map: HashMap<CacheKey, Arc<Verified>>,
    order: VecDeque<CacheKey>,
}

/// A bounded, thread-safe verdict cache.
pub struct VerdictCache {
    shards: Vec<Mutex<Shard>>,
    per_shard: usize,
}

impl VerdictCache {
    /// A cache holding at most about `capacity` verdicts (at least one per
    /// shard).
    pub fn new(capacity: usize) -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            per_shard: capacity.div_ceil(SHARDS).max(1),
        }
    }

    fn shard(&self, key: &CacheKey) -> &Mutex<Shard> {
        &self.shards[usize::from(key[0]) % SHARDS]
    }

    /// The cached verdict for `key`, if any.
    pub fn get(&self, key: &CacheKey) -> Option<Arc<Verified>> {
        let shard = self.shard(key).lock().unwrap_or_else(|p| p.into_inner());
        shard.map.get(key).cloned()
    }

    /// Remember a verdict, evicting the shard's oldest when full.
    pub fn insert(&self, key: CacheKey, verdict: Arc<Verified>) {
        let mut shard = self.shard(&key).lock().unwrap_or_else(|p| p.into_inner());
        if shard.map.insert(key, verdict).is_none() {
            shard.order.push_back(key);
            while shard.order.len() > self.per_shard {
                if let Some(old) = shard.order.pop_front() {
                    shard.map.remove(&old);
                }
            }
        }
    }

    /// Number of cached verdicts.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).map.len())
            .sum()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

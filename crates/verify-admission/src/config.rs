//! Settings derived from the flags, validated once at start.

use std::time::Duration;

use crate::cli::{CommonArgs, NoMatch, ServeArgs};

/// A flag value that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("--{flag}: {message}")]
pub struct ConfigError {
    /// The flag, without dashes.
    pub flag: &'static str,
    /// Why.
    pub message: String,
}

/// Seconds given on the command line as a positive, finite duration.
pub fn seconds(flag: &'static str, value: f64) -> Result<Duration, ConfigError> {
    if !value.is_finite() || value <= 0.0 || value > 86_400.0 * 365.0 {
        return Err(ConfigError {
            flag,
            message: format!("{value} is not a positive number of seconds"),
        });
    }
    Ok(Duration::from_secs_f64(value))
}

/// How the verdict cache is bounded.
#[derive(Debug, Clone, Copy)]
pub struct CacheConfig {
    /// Lifetime of an admit.
    pub ttl: Duration,
    /// Lifetime of a denial.
    pub negative_ttl: Duration,
    /// How long an admit is served while the registry is unreachable.
    pub stale_max_age: Duration,
    /// Most entries.
    pub max_entries: u64,
    /// Most bytes (estimated).
    pub max_bytes: u64,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(3600),
            negative_ttl: Duration::from_secs(30),
            stale_max_age: Duration::from_secs(86400),
            max_entries: 10_000,
            max_bytes: 64 * 1024 * 1024,
        }
    }
}

/// What the engine needs to decide, for `serve` and `review` alike.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Images no policy covers.
    pub no_match: NoMatch,
    /// Every request is answered within this.
    pub budget: Duration,
    /// One image's verification, in the background included.
    pub verify_timeout: Duration,
    /// The verdict cache.
    pub cache: CacheConfig,
    /// How long a tag's resolution is reused (coalesces a burst of pods).
    pub tag_ttl: Duration,
    /// `--flux-audit`: Flux's best practices on Flux Deployments.
    pub flux_audit: Option<std::sync::Arc<crate::flux_audit::FluxAudit>>,
}

impl EngineConfig {
    /// From `review`'s flags: no budget beyond the verification timeout.
    pub fn from_common(common: &CommonArgs) -> Result<Self, ConfigError> {
        let verify_timeout = seconds("verify-timeout", common.verify_timeout)?;
        Ok(Self {
            no_match: common.no_match,
            budget: verify_timeout,
            verify_timeout,
            cache: CacheConfig::default(),
            tag_ttl: Duration::from_secs(5),
            flux_audit: match &common.flux_audit {
                Some(path) => Some(std::sync::Arc::new(
                    crate::flux_audit::FluxAudit::load(path).map_err(|e| ConfigError {
                        flag: "flux-audit",
                        message: format!("{e} [{}]", e.code()),
                    })?,
                )),
                None => None,
            },
        })
    }

    /// From `serve`'s flags.
    pub fn from_serve(args: &ServeArgs) -> Result<Self, ConfigError> {
        let mut config = Self::from_common(&args.common)?;
        config.budget = seconds("budget", args.budget)?;
        if args.negative_cache_ttl > args.cache_ttl {
            return Err(ConfigError {
                flag: "negative-cache-ttl",
                message: "must not exceed --cache-ttl".into(),
            });
        }
        if args.cache_entries == 0 || args.cache_bytes < 1024 {
            return Err(ConfigError {
                flag: "cache-entries",
                message: "the cache needs at least one entry and 1 KiB".into(),
            });
        }
        config.cache = CacheConfig {
            ttl: Duration::from_secs(args.cache_ttl.max(1)),
            negative_ttl: Duration::from_secs(args.negative_cache_ttl),
            stale_max_age: Duration::from_secs(args.stale_max_age),
            max_entries: args.cache_entries,
            max_bytes: args.cache_bytes,
        };
        Ok(config)
    }
}

//! How an [`crate::Engine`] is built: its JSON configuration.
//!
//! ```json
//! {"trust_root": {"builtin": true} | {"file": "/etc/verify/trusted_root.json"} | {"json": {...}},
//!  "registry": {"allowed": ["ghcr.io/fluxcd", "127.0.0.1:5000"], "ca_pem": ["-----BEGIN CERTIFICATE-----..."],
//!               "allow_http": false, "timeout_ms": 30000,
//!               "proxy": {"url": "http://user:password@proxy:3128", "no_proxy": "10.0.0.0/8,.internal"}},
//!  "rekor_url": "https://rekor.sigstore.dev",
//!  "cache": {"capacity": 10000, "ttl_seconds": 300},
//!  "limits": {"max_request_bytes": 8388608, "max_concurrent_calls": 64}}
//! ```
//!
//! Every field is optional; `{}` is the public-good Sigstore root, any
//! registry, anonymous access, no proxy, no transparency-log lookups, a
//! 10,000-entry cache kept 5 minutes.
//!
//! The engine reads nothing from the process's environment: without
//! `registry.proxy` it connects directly even when `HTTPS_PROXY` is set
//! (a host passes its proxy explicitly; the Go package maps its
//! `WithProxy` option here).

use serde::Deserialize;

/// The engine's configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineConfig {
    /// The Sigstore trust root.
    #[serde(default)]
    pub trust_root: TrustRootSource,
    /// How registries are reached.
    #[serde(default)]
    pub registry: RegistrySettings,
    /// The image-verdict cache.
    #[serde(default)]
    pub cache: CacheSettings,
    /// Bounds.
    #[serde(default)]
    pub limits: ApiLimits,
    /// Look up, in this Rekor log, the entry of a signature or attestation
    /// that carries no log evidence (the CLI's `--rekor-url`). `None` (the
    /// default): no lookup; such signatures fail.
    #[serde(default)]
    pub rekor_url: Option<String>,
}

/// Where the trust root comes from.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum TrustRootSource {
    /// The public-good Sigstore root built into the core (`true`).
    Builtin(bool),
    /// A `trusted_root.json` file.
    File(std::path::PathBuf),
    /// An inline `trusted_root.json` (an object, or its text).
    Json(serde_json::Value),
}

impl Default for TrustRootSource {
    fn default() -> Self {
        Self::Builtin(true)
    }
}

/// Registry access. No credentials: callers send them per call.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrySettings {
    /// Registries (`host[:port]`) or repository prefixes
    /// (`host[:port]/path`) that may be fetched from; `None`: any. The
    /// HTTPS API refuses to start without one.
    #[serde(default)]
    pub allowed: Option<Vec<String>>,
    /// Extra trusted CA certificates (PEM).
    #[serde(default)]
    pub ca_pem: Vec<String>,
    /// Speak plain HTTP to every registry.
    #[serde(default)]
    pub allow_http: bool,
    /// Time allowed for one registry request.
    #[serde(default = "default_request_ms")]
    pub timeout_ms: u64,
    /// The proxy registry (and Rekor) requests go through; `None`: direct.
    #[serde(default)]
    pub proxy: Option<ProxySettings>,
}

/// A proxy for every registry and log request, loopback registries
/// included (Go's `http.ProxyURL`, as Flux's `proxySecretRef` configures),
/// except the hosts of `no_proxy`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProxySettings {
    /// `http://[user:password@]host:port`. The user information is sent
    /// to the proxy only (`Proxy-Authorization`), never to a registry.
    pub url: String,
    /// Hosts reached directly (`NO_PROXY` syntax: comma-separated hosts,
    /// `.domain` suffixes, IPs, CIDRs).
    #[serde(default)]
    pub no_proxy: Option<String>,
}

impl Default for RegistrySettings {
    fn default() -> Self {
        Self {
            allowed: None,
            ca_pem: Vec::new(),
            allow_http: false,
            timeout_ms: default_request_ms(),
            proxy: None,
        }
    }
}

fn default_request_ms() -> u64 {
    30_000
}

/// The image-verdict cache.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheSettings {
    /// Verdicts kept (0: no cache).
    #[serde(default = "default_capacity")]
    pub capacity: u64,
    /// How long a verdict is believed, in seconds.
    #[serde(default = "default_ttl")]
    pub ttl_seconds: u64,
}

impl Default for CacheSettings {
    fn default() -> Self {
        Self {
            capacity: default_capacity(),
            ttl_seconds: default_ttl(),
        }
    }
}

fn default_capacity() -> u64 {
    10_000
}

fn default_ttl() -> u64 {
    300
}

/// Bounds on what the engine accepts.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiLimits {
    /// Largest request accepted, in bytes.
    #[serde(default = "default_request_bytes")]
    pub max_request_bytes: usize,
    /// Verifications running at once; more wait (within their deadline).
    #[serde(default = "default_concurrent")]
    pub max_concurrent_calls: usize,
    /// Largest trust root a request may carry (`trusted_root`), in bytes.
    #[serde(default = "default_trust_root_bytes")]
    pub max_trusted_root_bytes: usize,
    /// Caller-supplied trust roots kept parsed, by hash.
    #[serde(default = "default_trust_roots_cached")]
    pub trusted_roots_cached: u64,
}

impl Default for ApiLimits {
    fn default() -> Self {
        Self {
            max_request_bytes: default_request_bytes(),
            max_concurrent_calls: default_concurrent(),
            max_trusted_root_bytes: default_trust_root_bytes(),
            trusted_roots_cached: default_trust_roots_cached(),
        }
    }
}

fn default_request_bytes() -> usize {
    8 * 1024 * 1024
}

fn default_concurrent() -> usize {
    64
}

fn default_trust_root_bytes() -> usize {
    1024 * 1024
}

fn default_trust_roots_cached() -> u64 {
    16
}

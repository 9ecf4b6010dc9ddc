//! Prometheus metrics (prometheus-client), served at `/metrics`.
//!
//! | metric | labels |
//! |---|---|
//! | `verify_admission_requests_total` | endpoint, kind, decision |
//! | `verify_admission_request_duration_seconds` (histogram) | endpoint |
//! | `verify_admission_verifications_total` | result, reason |
//! | `verify_admission_cache_total` | result (hit, miss, coalesced, stale) |
//! | `verify_admission_registry_requests_total` (every HTTP request sent) | operation (manifest, blob, referrers, token, log), status |
//! | `verify_admission_policy_reloads_total` | result |
//! | `verify_admission_policy_set_info` (1 for the set in force) | hash |
//! | `verify_admission_trust_root_age_seconds` | |
//! | `verify_admission_trust_root_refreshes_total` (TUF) | result, code |

use std::sync::atomic::AtomicU64;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    endpoint: String,
    kind: String,
    decision: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EndpointLabels {
    endpoint: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VerificationLabels {
    result: String,
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RegistryLabels {
    operation: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HashLabels {
    hash: String,
}

/// Every metric the server exports.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<EndpointLabels, Histogram>,
    verifications: Family<VerificationLabels, Counter>,
    cache: Family<ResultLabels, Counter>,
    registry_requests: Family<RegistryLabels, Counter>,
    reloads: Family<ResultLabels, Counter>,
    policy_set: Family<HashLabels, Gauge>,
    trust_root_age: Gauge<f64, AtomicU64>,
    trust_root_time: Mutex<Option<SystemTime>>,
    trust_refreshes: Family<RefreshLabels, Counter>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RefreshLabels {
    result: String,
    code: String,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registered, all zero.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("verify_admission");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "requests",
            "Admission requests answered, by endpoint, kind and decision",
            requests.clone(),
        );
        let latency = Family::<EndpointLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                10.0,
            ])
        });
        registry.register(
            "request_duration_seconds",
            "Time to answer an admission request",
            latency.clone(),
        );
        let verifications = Family::<VerificationLabels, Counter>::default();
        registry.register(
            "verifications",
            "Image verifications run (cache misses), by result and reason code",
            verifications.clone(),
        );
        let cache = Family::<ResultLabels, Counter>::default();
        registry.register(
            "cache",
            "Verdict cache look-ups: hit, miss, coalesced, stale",
            cache.clone(),
        );
        let registry_requests = Family::<RegistryLabels, Counter>::default();
        registry.register(
            "registry_requests",
            "Registry and log HTTP requests sent (each retry too), by operation (manifest, blob, referrers, token, log) and status",
            registry_requests.clone(),
        );
        let reloads = Family::<ResultLabels, Counter>::default();
        registry.register(
            "policy_reloads",
            "Policy directory reloads, by result (success, failure)",
            reloads.clone(),
        );
        let policy_set = Family::<HashLabels, Gauge>::default();
        registry.register(
            "policy_set_info",
            "The hash of the policy set in force (value 1)",
            policy_set.clone(),
        );
        let trust_root_age = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "trust_root_age_seconds",
            "Seconds since the trusted root in use was written",
            trust_root_age.clone(),
        );
        let trust_refreshes = Family::<RefreshLabels, Counter>::default();
        registry.register(
            "trust_root_refreshes",
            "TUF refreshes of the trust root, by result (success, failure) and failure code",
            trust_refreshes.clone(),
        );
        Self {
            trust_refreshes,
            registry,
            requests,
            latency,
            verifications,
            cache,
            registry_requests,
            reloads,
            policy_set,
            trust_root_age,
            trust_root_time: Mutex::new(None),
        }
    }

    /// One answered request.
    pub fn request(&self, endpoint: &str, kind: &str, decision: &str, took: Duration) {
        self.requests
            .get_or_create(&RequestLabels {
                endpoint: endpoint.into(),
                kind: kind.into(),
                decision: decision.into(),
            })
            .inc();
        self.latency
            .get_or_create(&EndpointLabels {
                endpoint: endpoint.into(),
            })
            .observe(took.as_secs_f64());
    }

    /// One verification run.
    pub fn verification(&self, allowed: bool, reason: &str) {
        self.verifications
            .get_or_create(&VerificationLabels {
                result: if allowed { "admitted" } else { "denied" }.into(),
                reason: reason.into(),
            })
            .inc();
    }

    /// One cache look-up.
    pub fn cache(&self, result: &str) {
        self.cache
            .get_or_create(&ResultLabels {
                result: result.into(),
            })
            .inc();
    }

    /// One registry (or log) request sent.
    pub fn registry(&self, operation: &str, status: &str) {
        self.registry_requests
            .get_or_create(&RegistryLabels {
                operation: operation.into(),
                status: status.into(),
            })
            .inc();
    }

    /// One policy reload.
    pub fn policy_reloaded(&self, ok: bool) {
        self.reloads
            .get_or_create(&ResultLabels {
                result: if ok { "success" } else { "failure" }.into(),
            })
            .inc();
    }

    /// The set in force changed from `old` to `new`.
    pub fn set_policy_hash(&self, old: &str, new: &str) {
        if old != new {
            self.policy_set.remove(&HashLabels { hash: old.into() });
        }
        self.policy_set
            .get_or_create(&HashLabels { hash: new.into() })
            .set(1);
    }

    /// When the trusted root in use was written.
    pub fn set_trust_root_time(&self, at: SystemTime) {
        *self
            .trust_root_time
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(at);
    }

    /// One TUF refresh of the trust root (`code` empty on success).
    pub fn trust_root_refresh(&self, result: &str, code: &str) {
        self.trust_refreshes
            .get_or_create(&RefreshLabels {
                result: result.into(),
                code: code.into(),
            })
            .inc();
    }

    /// The text exposition format.
    pub fn encode(&self) -> String {
        if let Some(at) = *self
            .trust_root_time
            .lock()
            .unwrap_or_else(|p| p.into_inner())
        {
            let age = SystemTime::now()
                .duration_since(at)
                .unwrap_or_default()
                .as_secs_f64();
            self.trust_root_age.set(age);
        }
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

//! The one place that reads registries and runs the core's verification.
//!
//! Everything is async on the server's runtime (`verify-registry` owns no
//! runtime): dropping a check's future cancels its registry traffic. Each
//! verification gets one [`Budget`] (a deadline and a byte bound) shared by
//! its registry and log requests.
//!
//! Credentials: one shared client reads `--docker-config` (for registries
//! every tenant uses); a tenant's pull-secret credential is passed with the
//! repository for that verification only, for the registry it was written
//! for, and the Docker configuration is then not consulted.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use verify_core::oci::{ImageSource, ManifestRef, SourceError};
use verify_core::ArtifactDigest;
use verify_policy::{Decision, EvalContext, ImageAtDigest, Policy, TrustRoots};
use verify_registry::{
    Budget, Credential, Credentials, ImageReference, RegistryClient, RegistryConfig, Repository,
    RequestKind, RequestObserver, RequestOutcome, RetryPolicy, Timeouts,
};

use crate::metrics::Metrics;
use crate::pull_secrets::RegistryCredential;

/// Largest manifest read to resolve a tag.
const MAX_MANIFEST: usize = 4 * 1024 * 1024;

/// How registries are reached.
#[derive(Debug, Clone, Default)]
pub struct RegistrySettings {
    /// `--docker-config`.
    pub docker_config: Option<PathBuf>,
    /// `--allow-http-registry`.
    pub allow_http: bool,
    /// `--tlog` with this Rekor URL.
    pub tlog_url: Option<String>,
    /// `--secrets-dir`.
    pub secrets_dir: Option<PathBuf>,
    /// Bound on one image's verification.
    pub verify_timeout: Duration,
}

/// A failure reading a registry, with the reason code it is reported under.
#[derive(Debug, Clone)]
pub struct RegistryFailure {
    /// Reason code (`registry-unreachable`, `rate-limited`, `image-not-found`, ...).
    pub code: String,
    /// What happened.
    pub message: String,
}

impl RegistryFailure {
    fn from_source(e: &SourceError) -> Self {
        let code = match e {
            // 429s are retried honouring Retry-After within the budget; one
            // still refused, or asking to wait past the deadline, is this.
            SourceError::Http { status: 429, .. }
            | SourceError::RetryAfterBeyondDeadline { .. } => "rate-limited",
            other => other.code(),
        };
        Self {
            code: code.into(),
            message: e.to_string(),
        }
    }

    /// Whether trying again later could give another answer.
    pub fn transient(&self) -> bool {
        is_transient(&self.code)
    }
}

/// Reason codes that say nothing about the image, only about reaching it.
pub fn is_transient(code: &str) -> bool {
    matches!(
        code,
        "registry-unreachable"
            | "registry-timeout"
            | "registry-error"
            | "rate-limited"
            | "deadline"
            | "image-deadline-exceeded"
            | "internal"
    )
}

/// The registry client and the settings every check uses.
pub struct Registries {
    settings: RegistrySettings,
    shared: RegistryClient,
}

/// Most bytes one image's verification may read.
const MAX_VERIFY_BYTES: u64 = 256 * 1024 * 1024;

/// Counts every request the registry client sends (manifests, blobs,
/// referrers, tokens, log lookups; each retry too) in
/// `verify_admission_registry_requests_total`, by kind and HTTP status
/// (`timeout` and `transport-error` when there was no answer).
struct CountRequests(Arc<Metrics>);

impl RequestObserver for CountRequests {
    fn request(&self, kind: RequestKind, outcome: RequestOutcome) {
        let status = match outcome {
            RequestOutcome::Status(code) => code.to_string(),
            RequestOutcome::Timeout => "timeout".into(),
            _ => "transport-error".into(),
        };
        self.0.registry(kind.as_str(), &status);
    }
}

impl Registries {
    /// The client for `settings`, counting its requests in `metrics`; no
    /// connection is made yet.
    pub fn new(settings: RegistrySettings, metrics: Arc<Metrics>) -> Result<Self, String> {
        let config = RegistryConfig {
            docker_config: settings.docker_config.clone(),
            no_docker_config: settings.docker_config.is_none(),
            allow_http: settings.allow_http,
            timeouts: Self::timeouts(&settings),
            retry: RetryPolicy {
                attempts: 3,
                base_delay: Duration::from_millis(100),
                max_delay: Duration::from_secs(5),
            },
            ..RegistryConfig::default()
        };
        let shared = RegistryClient::with_observer(config, Arc::new(CountRequests(metrics)))
            .map_err(|e| e.to_string())?;
        Ok(Self { settings, shared })
    }

    fn timeouts(settings: &RegistrySettings) -> Timeouts {
        let total = settings.verify_timeout;
        Timeouts {
            connect: total.min(Duration::from_secs(5)),
            request: total.min(Duration::from_secs(15)),
            total,
        }
    }

    /// The repository of `reference` under a fresh budget, read with
    /// `credential` (already chosen for this registry) or the shared
    /// configuration.
    pub fn repository(
        &self,
        reference: &ImageReference,
        credential: Option<&RegistryCredential>,
    ) -> Result<(Repository, Budget), RegistryFailure> {
        let budget = Budget::new(self.settings.verify_timeout, MAX_VERIFY_BYTES);
        let mut repository = self.shared.repository(reference).with_budget(&budget);
        if let Some(c) = credential {
            debug_assert_eq!(c.registry, canonical(&reference.api_host));
            let only = Credentials::new().with(
                &reference.api_host,
                Credential::Basic {
                    username: c.username.clone(),
                    password: c.password.clone(),
                },
            );
            repository = repository.with_credentials(Arc::new(only));
        }
        Ok((repository, budget))
    }

    /// The digest `tag` names in `repository`.
    pub async fn resolve(
        &self,
        repository: &Repository,
        tag: &str,
    ) -> Result<ArtifactDigest, RegistryFailure> {
        match repository
            .manifest(&ManifestRef::Tag(tag.to_string()), MAX_MANIFEST)
            .await
        {
            Ok(Some(m)) => Ok(ArtifactDigest::of(&m.bytes)),
            Ok(None) => Err(RegistryFailure {
                code: "image-not-found".into(),
                message: format!("{}:{tag} not found", repository.name()),
            }),
            Err(e) => Err(RegistryFailure::from_source(&e)),
        }
    }

    /// A hash of the mounted `key.secretRef` secrets `names` (every file of
    /// `<secrets-dir>/<name>/`): their content is not in the policy hash, so
    /// it goes into the verdict cache's key, and a rotated key is never
    /// answered from verdicts made with the old one.
    pub async fn secrets_hash(&self, names: &[String]) -> String {
        use verify_core::digest::Sha256;
        let Some(dir) = &self.settings.secrets_dir else {
            return String::new();
        };
        if names.is_empty() {
            return String::new();
        }
        let mut h = Sha256::new();
        for name in names {
            h.update(name.as_bytes());
            h.update([0]);
            let mut files = Vec::new();
            if let Ok(mut entries) = tokio::fs::read_dir(dir.join(name)).await {
                while let Ok(Some(e)) = entries.next_entry().await {
                    files.push(e.path());
                }
            }
            files.sort();
            for f in files.iter().take(64) {
                h.update(f.as_os_str().as_encoded_bytes());
                match tokio::fs::metadata(f).await {
                    Ok(m) if m.is_file() && m.len() <= 1024 * 1024 => {
                        h.update(tokio::fs::read(f).await.unwrap_or_default())
                    }
                    _ => h.update(b"-"),
                }
            }
        }
        format!("sha256:{}", hex::encode(h.finish()))
    }

    /// Evaluate `policies` for `image` read from `repository`.
    pub async fn evaluate(
        &self,
        policies: &[&Policy],
        trust: &TrustRoots,
        repository: &Repository,
        budget: &Budget,
        image: &ImageAtDigest,
    ) -> Decision {
        let rekor = self
            .settings
            .tlog_url
            .as_deref()
            .map(|url| self.shared.rekor(url).with_budget(budget));
        let ctx = EvalContext {
            trust_roots: trust,
            source: repository,
            tlog: rekor
                .as_ref()
                .map(|t| t as &dyn verify_core::tlog_lookup::TransparencyLogLookup),
            secrets_dir: self.settings.secrets_dir.as_deref(),
        };
        verify_policy::evaluate(policies, image, &ctx).await
    }
}

/// The registry host as credentials name it.
pub fn canonical(host: &str) -> String {
    match host {
        "docker.io" | "registry-1.docker.io" => "index.docker.io".into(),
        h => h.to_ascii_lowercase(),
    }
}

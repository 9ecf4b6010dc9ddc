//! The one place that reads registries and runs the core's verification.
//!
//! `verify-registry`'s client is synchronous today (it blocks on a private
//! runtime), so every call here runs on tokio's blocking pool and never on a
//! runtime thread. When the async registry API lands (branch `net`), this
//! module is what switches to it.
//!
//! Credentials: the shared client reads `--docker-config` (for registries
//! every tenant uses); a tenant's pull-secret credential gets a client of
//! its own that knows only that credential and is used only for
//! repositories of the registry the credential was written for.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use verify_core::oci::{ImageSource, ManifestRef, SourceError};
use verify_core::ArtifactDigest;
use verify_policy::{Decision, EvalContext, ImageAtDigest, PolicySet, TrustRoots};
use verify_registry::{
    ImageReference, RegistryClient, RegistryConfig, RekorClient, Repository, RetryPolicy, Timeouts,
};

use crate::pull_secrets::RegistryCredential;

/// Largest manifest read to resolve a tag.
const MAX_MANIFEST: usize = 4 * 1024 * 1024;
/// Most tenant clients kept (each holds its connections).
const MAX_TENANT_CLIENTS: u64 = 64;

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
            SourceError::Http { status: 429, .. } => "rate-limited",
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

/// Registry clients: the shared one and per-credential ones.
pub struct Registries {
    settings: RegistrySettings,
    shared: RegistryClient,
    tenants: moka::sync::Cache<String, RegistryClient>,
    tlog: Option<Arc<RekorClient>>,
}

impl Registries {
    /// Clients for `settings`; no connection is made yet.
    pub fn new(settings: RegistrySettings) -> Result<Self, String> {
        let shared =
            RegistryClient::new(Self::config(&settings, None)).map_err(|e| e.to_string())?;
        let tlog = match &settings.tlog_url {
            Some(url) => Some(Arc::new(
                RekorClient::new(url, Self::timeouts(&settings), RetryPolicy::default())
                    .map_err(|e| e.to_string())?,
            )),
            None => None,
        };
        Ok(Self {
            settings,
            shared,
            tenants: moka::sync::Cache::builder()
                .max_capacity(MAX_TENANT_CLIENTS)
                .time_to_idle(Duration::from_secs(600))
                .build(),
            tlog,
        })
    }

    fn timeouts(settings: &RegistrySettings) -> Timeouts {
        let total = settings.verify_timeout;
        Timeouts {
            connect: total.min(Duration::from_secs(5)),
            request: total.min(Duration::from_secs(15)),
            total,
        }
    }

    fn config(
        settings: &RegistrySettings,
        credential: Option<&RegistryCredential>,
    ) -> RegistryConfig {
        RegistryConfig {
            username: credential.map(|c| c.username.clone()),
            password: credential.map(|c| c.password.clone()),
            docker_config: settings.docker_config.clone(),
            // A tenant's client knows its own credential and nothing else.
            no_docker_config: credential.is_some() || settings.docker_config.is_none(),
            allow_http: settings.allow_http,
            ca_certificates_pem: Vec::new(),
            timeouts: Self::timeouts(settings),
            retry: RetryPolicy {
                attempts: 3,
                base_delay: Duration::from_millis(100),
                max_delay: Duration::from_secs(5),
            },
        }
    }

    /// The repository of `reference`, read with `credential` (already
    /// chosen for this registry) or the shared configuration.
    pub fn repository(
        &self,
        reference: &ImageReference,
        credential: Option<&RegistryCredential>,
    ) -> Result<Repository, RegistryFailure> {
        let client = match credential {
            None => self.shared.clone(),
            Some(c) => {
                debug_assert_eq!(c.registry, canonical(&reference.api_host));
                let key = format!("{}\0{}", reference.api_host, c.fingerprint());
                self.tenants
                    .try_get_with(key, || {
                        RegistryClient::new(Self::config(&self.settings, Some(c)))
                    })
                    .map_err(|e| RegistryFailure {
                        code: "internal".into(),
                        message: e.to_string(),
                    })?
            }
        };
        Ok(client
            .repository(reference)
            .with_deadline(self.settings.verify_timeout))
    }

    /// The digest `tag` names in `repository`.
    pub async fn resolve(
        &self,
        repository: Repository,
        tag: String,
    ) -> Result<ArtifactDigest, RegistryFailure> {
        let name = repository.name();
        let result = tokio::task::spawn_blocking(move || {
            repository
                .manifest(&ManifestRef::Tag(tag.clone()), MAX_MANIFEST)
                .map(|m| m.map(|m| ArtifactDigest::of(&m.bytes)))
                .map_err(|e| RegistryFailure::from_source(&e))
                .and_then(|m| {
                    m.ok_or_else(|| RegistryFailure {
                        code: "image-not-found".into(),
                        message: format!("{name}:{tag} not found"),
                    })
                })
        })
        .await;
        result.unwrap_or_else(|e| {
            Err(RegistryFailure {
                code: "internal".into(),
                message: format!("tag resolution task failed: {e}"),
            })
        })
    }

    /// Evaluate the policies named `names` of `set` for `image` read from
    /// `repository`.
    pub async fn evaluate(
        &self,
        set: Arc<PolicySet>,
        names: Vec<String>,
        trust: Arc<TrustRoots>,
        repository: Repository,
        image: ImageAtDigest,
    ) -> Result<Decision, RegistryFailure> {
        let tlog = self.tlog.clone();
        let secrets_dir = self.settings.secrets_dir.clone();
        let handle = tokio::runtime::Handle::current();
        let task = tokio::task::spawn_blocking(move || {
            let policies: Vec<_> = set
                .policies()
                .iter()
                .filter(|p| names.contains(&p.name))
                .collect();
            let ctx = EvalContext {
                trust_roots: &trust,
                source: &repository,
                tlog: tlog
                    .as_deref()
                    .map(|t| t as &dyn verify_core::tlog_lookup::TransparencyLogLookup),
                secrets_dir: secrets_dir.as_deref(),
            };
            // The evaluation reads the registry through the blocking source:
            // it runs here, on a blocking thread, never on a runtime thread.
            handle.block_on(verify_policy::evaluate(&policies, &image, &ctx))
        });
        task.await.map_err(|e| RegistryFailure {
            code: "internal".into(),
            message: format!("verification task failed: {e}"),
        })
    }
}

/// The registry host as credentials name it.
pub fn canonical(host: &str) -> String {
    match host {
        "docker.io" | "registry-1.docker.io" => "index.docker.io".into(),
        h => h.to_ascii_lowercase(),
    }
}

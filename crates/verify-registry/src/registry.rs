//! The OCI distribution API client: one [`Repository`] per image name, an
//! async [`ImageSource`] for `verify-core`.
//!
//! - Image references are parsed and normalised as the distribution
//!   project does ([`crate::reference`]).
//! - Requests go out anonymously first; a `401` answer's challenge decides
//!   the rest ([`crate::auth`]: Basic, or a Bearer token from the realm the
//!   challenge names, with the credentials of *that registry* only, read as
//!   one more bounded request under the same deadline and byte budget).
//! - Credentials are scoped to their registry host: the explicit ones given
//!   for a host ([`RegistryConfig::credentials`]), else the Docker
//!   configuration's `credHelpers`, `auths` and `credsStore` for that host;
//!   or, for a server, those passed with each repository
//!   ([`Repository::with_credentials`]), which replace every other source so
//!   one tenant's pull secret is never used for another's request. Tokens
//!   are cached per (credential, host, repository), bounded and expiring.
//! - Registries are spoken to over HTTPS, except loopback hosts
//!   (`localhost`, `127.0.0.1`, `[::1]`) given no extra CA, which are spoken
//!   to in plain HTTP, and every registry with `allow_http`
//!   (`--allow-http-registry`). There is no fallback from HTTPS to plain
//!   HTTP on a TLS or connection error, and credentials are never sent over
//!   plain HTTP unless `allow_http` asked for it.
//! - Every GET is bounded in size and time and retried (see [`RetryPolicy`]
//!   and [`Timeouts`]), and a repository given a [`Budget`]
//!   ([`Repository::with_budget`]) stops every request, retry and token
//!   exchange once the verification's time or bytes are spent; the bytes of
//!   a manifest must hash to the `Docker-Content-Digest` the registry
//!   announces (and `verify-core` checks them against the digest requested).
//!
//! Nothing here owns a runtime: every method is a future on the caller's
//! (tokio) runtime, and dropping it cancels its requests.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::CONTENT_TYPE;
use reqwest::StatusCode;
use verify_core::oci::{ImageSource, ManifestRef, RawManifest, SourceError, MANIFEST_MEDIA_TYPES};

pub use crate::reference::ImageReference;
use verify_core::ArtifactDigest;

pub use crate::auth::MAX_TOKEN_BYTES;
use crate::auth::{authorized_get, Token, TOKEN_TTL};
use crate::credentials::{self, Credential, Credentials};
use crate::http::{error_chain, Budget, FetchError, Fetched, Http, RetryPolicy, Timeouts};
use crate::observe::{RequestKind, RequestObserver};
pub use crate::proxy::ProxySetting;

/// Most tokens cached (per credential, host and repository).
const TOKEN_CACHE_ENTRIES: u64 = 4096;

/// Most registries whose Docker-configuration credentials are cached.
const CREDENTIAL_CACHE_ENTRIES: u64 = 256;
/// How long a credential read from the Docker configuration (or its
/// helper) is kept.
const CREDENTIAL_TTL: Duration = Duration::from_secs(300);

/// How to reach registries.
#[derive(Debug, Clone, Default)]
pub struct RegistryConfig {
    /// Credentials given explicitly, each for its own registry host (the
    /// CLI puts `--registry-username/--registry-password` here for the
    /// registry of the images named). A host listed here is never looked up
    /// in the Docker configuration.
    pub credentials: Credentials,
    /// The Docker configuration to read credentials from; `None`: the one
    /// [`credentials::docker_config_path`] names.
    pub docker_config: Option<PathBuf>,
    /// Ignore the Docker configuration entirely (a server passing
    /// credentials per call sets this).
    pub no_docker_config: bool,
    /// Speak plain HTTP to every registry, and allow credentials over it
    /// (`--allow-http-registry`).
    pub allow_http: bool,
    /// Extra trusted CA certificates, PEM (`--registry-cacert`).
    pub ca_certificates_pem: Vec<Vec<u8>>,
    /// Time bounds.
    pub timeouts: Timeouts,
    /// Retries.
    pub retry: RetryPolicy,
    /// Which proxy registry and log requests go through.
    pub proxy: ProxySetting,
}

/// Why the client could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// A CA certificate is unusable.
    #[error("--registry-cacert: {detail}")]
    CaCertificate {
        /// Why.
        detail: String,
    },
    /// The HTTP machinery could not start.
    #[error("{detail}")]
    Setup {
        /// Why.
        detail: String,
    },
}

/// A registry client, cheap to clone and to share between threads and
/// tasks: build one per process and open a [`Repository`] per
/// verification.
#[derive(Clone)]
pub struct RegistryClient {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) http: Http,
    pub(crate) config: RegistryConfig,
    has_extra_roots: bool,
    /// Docker-configuration credentials by host (bounded, expiring).
    docker_credentials: moka::sync::Cache<String, Credential>,
    /// Authorization headers by (credential fingerprint, host, repository).
    pub(crate) tokens: moka::sync::Cache<String, Token>,
}

impl RegistryClient {
    /// A client with this configuration. No connection is made yet.
    pub fn new(config: RegistryConfig) -> Result<Self, RegistryError> {
        Self::build(config, None)
    }

    /// A client with this configuration that tells `observer` of every
    /// request it sends (registry and log, token exchanges and retries
    /// included), e.g. to count them in a server's metrics.
    pub fn with_observer(
        config: RegistryConfig,
        observer: Arc<dyn RequestObserver>,
    ) -> Result<Self, RegistryError> {
        Self::build(config, Some(observer))
    }

    fn build(
        config: RegistryConfig,
        observer: Option<Arc<dyn RequestObserver>>,
    ) -> Result<Self, RegistryError> {
        let mut roots = Vec::new();
        for pem in &config.ca_certificates_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| {
                RegistryError::CaCertificate {
                    detail: error_chain(&e),
                }
            })?;
            if certs.is_empty() {
                return Err(RegistryError::CaCertificate {
                    detail: "no PEM certificate found".into(),
                });
            }
            roots.extend(certs);
        }
        let http = Http::new(
            config.timeouts,
            config.retry,
            &roots,
            observer,
            &config.proxy,
        )
        .map_err(|detail| RegistryError::Setup { detail })?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                has_extra_roots: !roots.is_empty(),
                config,
                docker_credentials: moka::sync::Cache::builder()
                    .max_capacity(CREDENTIAL_CACHE_ENTRIES)
                    .time_to_live(CREDENTIAL_TTL)
                    .build(),
                tokens: moka::sync::Cache::builder()
                    .max_capacity(TOKEN_CACHE_ENTRIES)
                    .time_to_live(TOKEN_TTL)
                    .build(),
            }),
        })
    }

    /// The repository `reference` names, with the client's credentials and
    /// no overall bound (see [`Repository::with_budget`]).
    pub fn repository(&self, reference: &ImageReference) -> Repository {
        Repository {
            inner: Arc::clone(&self.inner),
            path: format!("{}/v2/{}", reference.api_host, reference.repository),
            reference: reference.clone(),
            budget: None,
            credentials: None,
        }
    }

    /// A Rekor client for `url` sharing this client's connections and
    /// bounds.
    pub fn rekor(&self, url: &str) -> crate::rekor::RekorClient {
        crate::rekor::RekorClient::with_inner(Arc::clone(&self.inner), url)
    }
}

impl Inner {
    /// The scheme for `host`: plain HTTP when allowed for every registry,
    /// or for a loopback host given no extra CA; HTTPS otherwise. Never a
    /// fallback from one to the other.
    fn scheme_for(&self, host: &str) -> &'static str {
        if self.config.allow_http || (is_loopback(host) && !self.has_extra_roots) {
            "http"
        } else {
            "https"
        }
    }

    /// The credential for `registry`: from `per_call` alone when given;
    /// else the explicit ones; else the Docker configuration (cached).
    /// No lock is held while a credential helper runs.
    pub(crate) async fn credential(
        &self,
        registry: &str,
        per_call: Option<&Credentials>,
    ) -> Result<Credential, SourceError> {
        if let Some(set) = per_call {
            return Ok(set.get(registry).cloned().unwrap_or(Credential::Anonymous));
        }
        if let Some(c) = self.config.credentials.get(registry) {
            return Ok(c.clone());
        }
        if self.config.no_docker_config {
            return Ok(Credential::Anonymous);
        }
        if let Some(c) = self.docker_credentials.get(registry) {
            return Ok(c);
        }
        let path = self
            .config
            .docker_config
            .clone()
            .or_else(credentials::docker_config_path);
        let credential = credentials::from_docker_config(path.as_deref(), registry)
            .await
            .map_err(|e| SourceError::Unauthorized {
                what: registry.to_string(),
                status: 401,
                detail: e.to_string(),
            })?;
        self.docker_credentials
            .insert(registry.to_string(), credential.clone());
        Ok(credential)
    }
}

/// Hosts spoken to in plain HTTP without asking.
pub(crate) fn is_loopback(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or(rest)
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    matches!(name, "localhost" | "127.0.0.1" | "::1") || name.ends_with(".localhost")
}

/// One repository of a registry, as an [`ImageSource`].
///
/// Cheap to clone; clones share the budget. Open one per verification
/// with [`Repository::with_budget`] (and, in a server,
/// [`Repository::with_credentials`]).
#[derive(Clone)]
pub struct Repository {
    pub(crate) inner: Arc<Inner>,
    /// `host/v2/repository`, without the scheme.
    path: String,
    pub(crate) reference: ImageReference,
    /// The time and bytes allowed for everything read through this
    /// repository (and its clones, and the log client given the same
    /// budget).
    pub(crate) budget: Option<Budget>,
    /// Credentials passed for this verification only.
    pub(crate) credentials: Option<Arc<Credentials>>,
}

impl Repository {
    /// This repository with an overall time limit starting now and no
    /// byte budget: [`Repository::with_budget`] with
    /// `Budget::new(limit, u64::MAX)`.
    pub fn with_deadline(self, limit: Duration) -> Self {
        self.with_budget(&Budget::new(limit, u64::MAX))
    }

    /// This repository under `budget`: every request waits at most
    /// `min(per-request timeout, time left)`, no retry or token exchange
    /// starts after the deadline, and every body counts against the bytes.
    /// A request cut short is [`SourceError::DeadlineExceeded`] or
    /// [`SourceError::BudgetExceeded`]. Give the same budget to the log
    /// client ([`crate::RekorClient::with_budget`]) so one verification has
    /// one deadline and one budget in all.
    pub fn with_budget(mut self, budget: &Budget) -> Self {
        self.budget = Some(budget.clone());
        self
    }

    /// Use these credentials, and only these, for this repository's
    /// requests (and the token realm its registry names): the client's own
    /// credentials and the Docker configuration are not consulted. For a
    /// server verifying for many tenants with one shared client: each
    /// verification passes its tenant's pull secrets; nothing is stored
    /// across calls except tokens, which are cached under a fingerprint of
    /// the credential that obtained them.
    pub fn with_credentials(mut self, credentials: Arc<Credentials>) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// The reference this repository was opened with.
    pub fn reference(&self) -> &ImageReference {
        &self.reference
    }

    async fn get(
        &self,
        kind: RequestKind,
        path: String,
        accept: Option<String>,
        limit: usize,
        what: String,
    ) -> Result<Fetched, SourceError> {
        let scheme = self.inner.scheme_for(&self.reference.api_host);
        let url = format!("{scheme}://{}/{path}", self.path);
        let request = authorized_get(self, kind, scheme, url, accept, limit, &what);
        let Some(budget) = &self.budget else {
            return request.await;
        };
        let deadline = budget.deadline();
        let expired = SourceError::DeadlineExceeded {
            what: what.clone(),
            seconds: deadline.limit().as_secs(),
        };
        if deadline.remaining().is_zero() {
            return Err(expired);
        }
        // The requests themselves stop at the deadline; this bounds the
        // whole exchange (token request and retries included) once more.
        tokio::time::timeout(deadline.remaining(), request)
            .await
            .unwrap_or(Err(expired))
    }
}

pub(crate) fn map_fetch_error(e: FetchError, what: &str) -> SourceError {
    match e {
        FetchError::Timeout { seconds } => SourceError::Timeout {
            what: what.to_string(),
            seconds,
        },
        FetchError::Deadline { seconds } => SourceError::DeadlineExceeded {
            what: what.to_string(),
            seconds,
        },
        FetchError::Transport(detail) => SourceError::Transport {
            what: what.to_string(),
            detail,
        },
        FetchError::TooLarge { limit, found } => SourceError::TooLarge {
            what: what.to_string(),
            limit,
            found,
        },
        FetchError::Exhausted { status, detail } => SourceError::Http {
            what: what.to_string(),
            status,
            detail: format!("{detail} (retries exhausted)"),
        },
        FetchError::RetryAfter {
            status,
            wait,
            remaining,
        } => SourceError::RetryAfterBeyondDeadline {
            what: what.to_string(),
            status,
            wait_seconds: wait.as_secs(),
            remaining_seconds: remaining.as_secs(),
        },
        FetchError::Budget { limit } => SourceError::BudgetExceeded {
            what: what.to_string(),
            limit,
        },
    }
}

/// A non-success status as an error.
pub(crate) fn status_error(fetched: &Fetched, what: &str) -> SourceError {
    let detail = String::from_utf8_lossy(&fetched.body[..fetched.body.len().min(512)])
        .trim()
        .to_string();
    match fetched.status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => SourceError::Unauthorized {
            what: what.to_string(),
            status: fetched.status.as_u16(),
            detail,
        },
        StatusCode::NOT_FOUND => SourceError::NotFound {
            what: what.to_string(),
        },
        status => SourceError::Http {
            what: what.to_string(),
            status: status.as_u16(),
            detail,
        },
    }
}

/// The registry's `Docker-Content-Digest` must describe the bytes it sent.
fn check_announced_digest(fetched: &Fetched, what: &str) -> Result<(), SourceError> {
    let Some(announced) = fetched
        .headers
        .get("docker-content-digest")
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(());
    };
    if !announced.starts_with("sha256:") {
        return Ok(());
    }
    let found = ArtifactDigest::of(&fetched.body).to_string();
    if !announced.eq_ignore_ascii_case(&found) {
        return Err(SourceError::DigestMismatch {
            what: what.to_string(),
            expected: announced.to_string(),
            found,
        });
    }
    Ok(())
}

#[async_trait::async_trait]
impl ImageSource for Repository {
    fn name(&self) -> String {
        self.reference.name()
    }

    async fn manifest(
        &self,
        reference: &ManifestRef,
        max_bytes: usize,
    ) -> Result<Option<RawManifest>, SourceError> {
        let what = format!("manifest {}{reference}", self.name());
        let path = match reference {
            ManifestRef::Tag(tag) => format!("manifests/{tag}"),
            ManifestRef::Digest(digest) => format!("manifests/{digest}"),
        };
        let fetched = self
            .get(
                RequestKind::Manifest,
                path,
                Some(MANIFEST_MEDIA_TYPES.join(", ")),
                max_bytes,
                what.clone(),
            )
            .await?;
        if fetched.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !fetched.status.is_success() {
            return Err(status_error(&fetched, &what));
        }
        check_announced_digest(&fetched, &what)?;
        let media_type = fetched
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        Ok(Some(RawManifest {
            bytes: fetched.body,
            media_type,
        }))
    }

    async fn blob(
        &self,
        digest: &ArtifactDigest,
        max_bytes: usize,
    ) -> Result<Vec<u8>, SourceError> {
        let what = format!("blob {}@{digest}", self.name());
        let fetched = self
            .get(
                RequestKind::Blob,
                format!("blobs/{digest}"),
                None,
                max_bytes,
                what.clone(),
            )
            .await?;
        // The bytes must be the blob asked for; checked here as they are
        // read (and again by verify-core).
        if fetched.status.is_success() && ArtifactDigest::of(&fetched.body) != *digest {
            return Err(SourceError::DigestMismatch {
                what,
                expected: digest.to_string(),
                found: ArtifactDigest::of(&fetched.body).to_string(),
            });
        }
        // A manifest names this blob: its absence is not a missing image.
        if fetched.status == StatusCode::NOT_FOUND {
            return Err(SourceError::BlobNotFound { what });
        }
        if !fetched.status.is_success() {
            return Err(status_error(&fetched, &what));
        }
        Ok(fetched.body)
    }

    async fn referrers(
        &self,
        subject: &ArtifactDigest,
        max_bytes: usize,
    ) -> Result<Option<RawManifest>, SourceError> {
        let what = format!("referrers of {}@{subject}", self.name());
        let fetched = self
            .get(
                RequestKind::Referrers,
                format!("referrers/{subject}"),
                Some(verify_core::oci::OCI_INDEX.to_string()),
                max_bytes,
                what.clone(),
            )
            .await?;
        match fetched.status {
            // No referrers API: the caller falls back to the tag schema.
            StatusCode::NOT_FOUND
            | StatusCode::METHOD_NOT_ALLOWED
            | StatusCode::NOT_IMPLEMENTED => Ok(None),
            s if s.is_success() => Ok(Some(RawManifest {
                media_type: fetched
                    .headers
                    .get(CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string),
                bytes: fetched.body,
            })),
            _ => Err(status_error(&fetched, &what)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_caches_are_bounded_and_expire() {
        let client = RegistryClient::new(RegistryConfig::default()).unwrap();
        let tokens = client.inner.tokens.policy();
        assert_eq!(tokens.max_capacity(), Some(TOKEN_CACHE_ENTRIES));
        assert_eq!(tokens.time_to_live(), Some(TOKEN_TTL));
        let credentials = client.inner.docker_credentials.policy();
        assert_eq!(credentials.max_capacity(), Some(CREDENTIAL_CACHE_ENTRIES));
        assert_eq!(credentials.time_to_live(), Some(CREDENTIAL_TTL));
    }

    #[test]
    fn plain_http_only_for_loopback_or_when_asked() {
        let client = RegistryClient::new(RegistryConfig::default()).unwrap();
        assert_eq!(client.inner.scheme_for("ghcr.io"), "https");
        assert_eq!(client.inner.scheme_for("10.0.0.1:5000"), "https");
        assert_eq!(client.inner.scheme_for("127.0.0.1:5000"), "http");
        let client = RegistryClient::new(RegistryConfig {
            allow_http: true,
            ..RegistryConfig::default()
        })
        .unwrap();
        assert_eq!(client.inner.scheme_for("ghcr.io"), "http");
    }

    #[test]
    fn loopback_hosts_use_http() {
        for host in [
            "localhost:5000",
            "127.0.0.1:1234",
            "[::1]:5000",
            "127.0.0.1",
            "x.localhost",
        ] {
            assert!(is_loopback(host), "{host}");
        }
        for host in ["ghcr.io", "127.0.0.2:5000", "localhost.example.com"] {
            assert!(!is_loopback(host), "{host}");
        }
    }
}

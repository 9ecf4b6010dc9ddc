//! The OCI distribution API client: one [`Repository`] per image name, an
//! [`ImageSource`] for `verify-core`.
//!
//! - Image references are parsed and normalised by `oci-client`
//!   (`alpine` is `docker.io/library/alpine:latest`, served by
//!   `index.docker.io`).
//! - Requests go out anonymously first; a `401` answer's challenge decides
//!   the rest: `Basic` sends the registry's credentials, `Bearer` obtains a
//!   token through `oci-client`'s token exchange (with the credentials, or
//!   anonymously) and the request is repeated once with it. Tokens are kept
//!   per repository and renewed on the next `401`.
//! - Registries are spoken to over HTTPS, except `localhost`, `127.0.0.1`
//!   and `[::1]`, which are spoken to in plain HTTP, or, when extra CA
//!   certificates are given (`--registry-cacert`, trusted besides the
//!   system's), tried over HTTPS first and over plain HTTP when no TLS
//!   server answers; the scheme that worked is kept for the host.
//!   `allow_http` (`--allow-http-registry`) speaks plain HTTP to every
//!   registry.
//! - Every GET is bounded in size and time and retried (see [`RetryPolicy`]
//!   and [`Timeouts`]), and a repository opened
//!   [`with_deadline`](Repository::with_deadline) stops every request, retry
//!   and token exchange once the time allowed for the whole image is spent;
//!   the bytes of a manifest must hash to the `Docker-Content-Digest` the
//!   registry announces (and `verify-core` checks them against the digest
//!   requested).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use reqwest::StatusCode;
use verify_core::oci::{ImageSource, ManifestRef, RawManifest, SourceError, MANIFEST_MEDIA_TYPES};

pub use crate::reference::ImageReference;
use verify_core::ArtifactDigest;

use crate::credentials::{self, Credential};
use crate::http::{
    error_chain, Deadline, FetchError, Fetched, Http, MakeRequest, RetryPolicy, Timeouts,
};

/// How to reach registries.
#[derive(Debug, Clone, Default)]
pub struct RegistryConfig {
    /// User name for every registry (`--registry-username`).
    pub username: Option<String>,
    /// Password or token for every registry (`--registry-password`).
    pub password: Option<String>,
    /// The Docker configuration to read credentials from; `None`: the one
    /// [`credentials::docker_config_path`] names.
    pub docker_config: Option<PathBuf>,
    /// Ignore the Docker configuration entirely.
    pub no_docker_config: bool,
    /// Speak plain HTTP to every registry (`--allow-http-registry`).
    pub allow_http: bool,
    /// Extra trusted CA certificates, PEM (`--registry-cacert`).
    pub ca_certificates_pem: Vec<Vec<u8>>,
    /// Time bounds.
    pub timeouts: Timeouts,
    /// Retries.
    pub retry: RetryPolicy,
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

/// A registry client, cheap to clone and to share between threads.
#[derive(Clone)]
pub struct RegistryClient {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) http: Http,
    config: RegistryConfig,
    extra_roots: Vec<oci_client::client::Certificate>,
    oci_https: OnceLock<oci_client::Client>,
    oci_http: OnceLock<oci_client::Client>,
    credentials: Mutex<HashMap<String, Credential>>,
    authorization: Mutex<HashMap<String, String>>,
    schemes: Mutex<HashMap<String, &'static str>>,
}

impl RegistryClient {
    /// A client with this configuration. No connection is made yet.
    pub fn new(config: RegistryConfig) -> Result<Self, RegistryError> {
        let mut roots = Vec::new();
        let mut extra_roots = Vec::new();
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
            extra_roots.push(oci_client::client::Certificate {
                encoding: oci_client::client::CertificateEncoding::Pem,
                data: pem.clone(),
            });
        }
        let http = Http::new(config.timeouts, config.retry, &roots)
            .map_err(|detail| RegistryError::Setup { detail })?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                config,
                extra_roots,
                oci_https: OnceLock::new(),
                oci_http: OnceLock::new(),
                credentials: Mutex::new(HashMap::new()),
                authorization: Mutex::new(HashMap::new()),
                schemes: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The repository `reference` names.
    pub fn repository(&self, reference: &ImageReference) -> Repository {
        Repository {
            inner: Arc::clone(&self.inner),
            path: format!("{}/v2/{}", reference.api_host, reference.repository),
            reference: reference.clone(),
            deadline: None,
        }
    }

    /// A Rekor client for `url` sharing this client's connections and
    /// bounds.
    pub fn rekor(&self, url: &str) -> crate::rekor::RekorClient {
        crate::rekor::RekorClient::with_inner(Arc::clone(&self.inner), url)
    }
}

impl Inner {
    /// The schemes to try for `host`, in order: the one that worked
    /// before; else plain HTTP when allowed for every registry; else HTTPS,
    /// then plain HTTP for a loopback host.
    fn schemes_for(&self, host: &str) -> Vec<&'static str> {
        if let Some(scheme) = self
            .schemes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(host)
        {
            return vec![scheme];
        }
        if self.config.allow_http {
            vec!["http"]
        } else if is_loopback(host) && !self.extra_roots.is_empty() {
            // A private CA was given: a local registry may well speak TLS.
            vec!["https", "http"]
        } else if is_loopback(host) {
            // Probing for TLS costs a handshake (and seeding the random
            // generator): local registries speak plain HTTP.
            vec!["http"]
        } else {
            vec!["https"]
        }
    }

    fn scheme_worked(&self, host: &str, scheme: &'static str) {
        self.schemes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(host.to_string(), scheme);
    }

    fn credential(&self, registry: &str) -> Result<Credential, SourceError> {
        if let (Some(username), Some(password)) = (&self.config.username, &self.config.password) {
            return Ok(Credential::Basic {
                username: username.clone(),
                password: password.clone(),
            });
        }
        let mut cache = self.credentials.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = cache.get(registry) {
            return Ok(c.clone());
        }
        let credential = if self.config.no_docker_config {
            Credential::Anonymous
        } else {
            let path = self
                .config
                .docker_config
                .clone()
                .or_else(credentials::docker_config_path);
            credentials::from_docker_config(path.as_deref(), registry).map_err(|e| {
                SourceError::Unauthorized {
                    what: registry.to_string(),
                    status: 401,
                    detail: e.to_string(),
                }
            })?
        };
        cache.insert(registry.to_string(), credential.clone());
        Ok(credential)
    }

    fn oci_client(&self, scheme: &str) -> &oci_client::Client {
        let cell = if scheme == "http" {
            &self.oci_http
        } else {
            &self.oci_https
        };
        cell.get_or_init(|| {
            oci_client::Client::new(oci_client::client::ClientConfig {
                protocol: if scheme == "http" {
                    oci_client::client::ClientProtocol::Http
                } else {
                    oci_client::client::ClientProtocol::Https
                },
                // Plain HTTP needs no system roots (loading them is slow).
                tls_certs_only: if scheme == "http" {
                    self.extra_roots.clone()
                } else {
                    Vec::new()
                },
                extra_root_certificates: self.extra_roots.clone(),
                connect_timeout: Some(self.config.timeouts.connect),
                read_timeout: Some(self.config.timeouts.request),
                ..Default::default()
            })
        })
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

/// One repository of a registry.
#[derive(Clone)]
pub struct Repository {
    inner: Arc<Inner>,
    /// `host/v2/repository`, without the scheme.
    path: String,
    reference: ImageReference,
    /// The end of the time allowed for everything read through this
    /// repository (and its clones).
    deadline: Option<Deadline>,
}

impl Repository {
    /// This repository with an overall time limit starting now: every
    /// request waits at most `min(per-request timeout, time left)`, no retry
    /// or token exchange starts after it, and a request cut short by it is
    /// [`SourceError::DeadlineExceeded`] (naming the limit and what was
    /// being fetched). Without it, a registry answering each request slowly
    /// but within its timeout could stretch a run over many manifests,
    /// blobs and candidates without bound.
    pub fn with_deadline(mut self, limit: Duration) -> Self {
        self.deadline = Some(Deadline::after(limit));
        self
    }

    /// The reference this repository was opened with.
    pub fn reference(&self) -> &ImageReference {
        &self.reference
    }

    fn get(
        &self,
        path: String,
        accept: Option<String>,
        limit: usize,
        what: String,
    ) -> Result<Fetched, SourceError> {
        let inner = Arc::clone(&self.inner);
        let url = format!("{}/{path}", self.path);
        let reference = self.reference.clone();
        let Some(deadline) = self.deadline else {
            return self.inner.http.block(authorized_get(
                inner, reference, url, accept, limit, what, None,
            ));
        };
        let expired = SourceError::DeadlineExceeded {
            what: what.clone(),
            seconds: deadline.limit().as_secs(),
        };
        if deadline.remaining().is_zero() {
            return Err(expired);
        }
        let request = authorized_get(inner, reference, url, accept, limit, what, Some(deadline));
        // The requests themselves stop at the deadline; this also bounds
        // what they do not cover (the token exchange).
        self.inner.http.block(async move {
            tokio::time::timeout(deadline.remaining(), request)
                .await
                .unwrap_or(Err(expired))
        })
    }
}

/// GET with the repository's authorization, obtaining it on a `401`.
async fn authorized_get(
    inner: Arc<Inner>,
    reference: ImageReference,
    path: String,
    accept: Option<String>,
    limit: usize,
    what: String,
    deadline: Option<Deadline>,
) -> Result<Fetched, SourceError> {
    let schemes = inner.schemes_for(&reference.api_host);
    let mut probe_error = None;
    for (i, scheme) in schemes.iter().enumerate() {
        let probing = i + 1 < schemes.len();
        let result = scheme_get(
            &inner, &reference, scheme, &path, &accept, limit, &what, probing, deadline,
        )
        .await;
        match (result, probe_error.take()) {
            // No TLS server (or no server) there: try the next scheme.
            (Err(e @ SourceError::Transport { .. }), _) if probing => probe_error = Some(e),
            (Ok(fetched), None) => {
                inner.scheme_worked(&reference.api_host, scheme);
                return Ok(fetched);
            }
            // The fallback reached a server that is not a registry speaking
            // plain HTTP (a TLS server answers 400): the HTTPS failure is
            // the one to report, e.g. an untrusted certificate.
            (Ok(fetched), Some(https)) if fetched.status == StatusCode::BAD_REQUEST => {
                return Err(https)
            }
            (Err(SourceError::Transport { .. }), Some(https)) => return Err(https),
            // A server speaking plain HTTP answered: its answer stands.
            (Err(e), Some(_)) => {
                inner.scheme_worked(&reference.api_host, scheme);
                return Err(e);
            }
            (Ok(fetched), Some(_)) => {
                inner.scheme_worked(&reference.api_host, scheme);
                return Ok(fetched);
            }
            (Err(e), None) => return Err(e),
        }
    }
    Err(probe_error.unwrap_or_else(|| SourceError::Transport {
        what,
        detail: "no scheme to try".into(),
    }))
}

/// GET `scheme://path`; `probing`: a single attempt, to find out whether
/// the scheme is spoken at all.
#[allow(clippy::too_many_arguments)]
async fn scheme_get(
    inner: &Arc<Inner>,
    reference: &ImageReference,
    scheme: &'static str,
    path: &str,
    accept: &Option<String>,
    limit: usize,
    what: &str,
    probing: bool,
    deadline: Option<Deadline>,
) -> Result<Fetched, SourceError> {
    let key = reference.name();
    let url = format!("{scheme}://{path}");
    let mut authorized = false;
    let retry = if probing {
        RetryPolicy {
            attempts: 1,
            ..inner.http.retry
        }
    } else {
        inner.http.retry
    };
    loop {
        let authorization = inner
            .authorization
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
            .cloned();
        let (u, a) = (url.to_string(), accept.clone());
        let make: Arc<MakeRequest> = Arc::new(move |client: &reqwest::Client| {
            let mut request = client.get(&u);
            if let Some(a) = &a {
                request = request.header(ACCEPT, a);
            }
            if let Some(h) = &authorization {
                request = request.header(AUTHORIZATION, h);
            }
            request
        });
        let client = inner
            .http
            .client(&url)
            .map_err(|detail| SourceError::Transport {
                what: what.to_string(),
                detail,
            })?;
        let fetched = Http::fetch(client, inner.http.timeouts, retry, make, limit, deadline)
            .await
            .map_err(|e| map_fetch_error(e, what))?;
        if fetched.status == StatusCode::UNAUTHORIZED && !authorized {
            authorized = true;
            let header = authorize(inner, reference, scheme, &fetched, what).await?;
            inner
                .authorization
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(key.clone(), header);
            continue;
        }
        return Ok(fetched);
    }
}

/// The `Authorization` header a `401` challenge asks for.
async fn authorize(
    inner: &Inner,
    reference: &ImageReference,
    scheme: &'static str,
    unauthorized: &Fetched,
    what: &str,
) -> Result<String, SourceError> {
    let challenge = unauthorized
        .headers
        .get(WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let credential = inner.credential(&reference.api_host)?;
    let denied = |detail: String| SourceError::Unauthorized {
        what: what.to_string(),
        status: 401,
        detail,
    };
    let kind = challenge
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    match kind.as_str() {
        "basic" => match credential {
            Credential::Basic { username, password } => Ok(format!(
                "Basic {}",
                STANDARD.encode(format!("{username}:{password}"))
            )),
            Credential::Anonymous => Err(denied(
                "the registry requires credentials (--registry-username/--registry-password, or docker login)".into(),
            )),
        },
        "bearer" => {
            let auth = match &credential {
                Credential::Basic { username, password } => {
                    oci_client::secrets::RegistryAuth::Basic(username.clone(), password.clone())
                }
                Credential::Anonymous => oci_client::secrets::RegistryAuth::Anonymous,
            };
            let oci_reference = oci_client::Reference::with_tag(
                reference.registry.clone(),
                reference.repository.clone(),
                "latest".into(),
            );
            let client = inner.oci_client(scheme);
            let token = tokio::time::timeout(
                inner.config.timeouts.total,
                client.auth(
                    &oci_reference,
                    &auth,
                    oci_client::RegistryOperation::Pull,
                ),
            )
            .await
            .map_err(|_| SourceError::Timeout {
                what: format!("token for {what}"),
                seconds: inner.config.timeouts.total.as_secs(),
            })?
            .map_err(|e| denied(format!("token request failed: {}", error_chain(&e))))?;
            match token {
                Some(token) => Ok(format!("Bearer {token}")),
                None => Err(denied(format!(
                    "the registry's token service granted no token ({credential:?})"
                ))),
            }
        }
        _ => Err(denied(format!(
            "unsupported authentication challenge {challenge:?}"
        ))),
    }
}

fn map_fetch_error(e: FetchError, what: &str) -> SourceError {
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
    }
}

/// A non-success status as an error.
fn status_error(fetched: &Fetched, what: &str) -> SourceError {
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

impl ImageSource for Repository {
    fn name(&self) -> String {
        self.reference.name()
    }

    fn manifest(
        &self,
        reference: &ManifestRef,
        max_bytes: usize,
    ) -> Result<Option<RawManifest>, SourceError> {
        let what = format!("manifest {}{reference}", self.name());
        let path = match reference {
            ManifestRef::Tag(tag) => format!("manifests/{tag}"),
            ManifestRef::Digest(digest) => format!("manifests/{digest}"),
        };
        let fetched = self.get(
            path,
            Some(MANIFEST_MEDIA_TYPES.join(", ")),
            max_bytes,
            what.clone(),
        )?;
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

    fn blob(&self, digest: &ArtifactDigest, max_bytes: usize) -> Result<Vec<u8>, SourceError> {
        let what = format!("blob {}@{digest}", self.name());
        let fetched = self.get(format!("blobs/{digest}"), None, max_bytes, what.clone())?;
        // A manifest names this blob: its absence is not a missing image.
        if fetched.status == StatusCode::NOT_FOUND {
            return Err(SourceError::BlobNotFound { what });
        }
        if !fetched.status.is_success() {
            return Err(status_error(&fetched, &what));
        }
        Ok(fetched.body)
    }

    fn referrers(
        &self,
        subject: &ArtifactDigest,
        max_bytes: usize,
    ) -> Result<Option<RawManifest>, SourceError> {
        let what = format!("referrers of {}@{subject}", self.name());
        let fetched = self.get(
            format!("referrers/{subject}"),
            Some(verify_core::oci::OCI_INDEX.to_string()),
            max_bytes,
            what.clone(),
        )?;
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

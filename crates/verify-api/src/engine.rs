//! The engine: one per C handle or HTTPS server, built once from an
//! [`EngineConfig`], shared by every call (`Engine: Send + Sync`, cheap to
//! clone).
//!
//! It owns the core [`Verifier`] (trust root parsed once), an anonymous
//! registry client (connections and the registry's scheme kept between
//! calls), and a bounded cache of image verdicts keyed by trust root,
//! repository, digest and everything the request checks — so verifying a
//! digest already verified is a hash and a cache lookup, no registry round
//! trip. A tag is always resolved first (one round trip), then the digest's
//! verdict is looked up.
//!
//! Credentials sent with a request are used for that call only, for the
//! reference's registry only (`verify_registry::Credentials` scoped to its
//! API host, on that call's repository). Nothing the engine keeps was read
//! with them except the verdict, which is a fact about the digest, not
//! about the caller; registry tokens are cached by the client under a
//! fingerprint of the credential that obtained them.
//!
//! The engine creates no async runtime and no thread; its `verify_*`
//! methods are futures for the caller's runtime (at most
//! `limits.max_concurrent_calls` run at once), and dropping one cancels its
//! registry requests.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use base64::Engine as _;
use tokio::sync::Semaphore;
use verify_core::digest::Sha256;
use verify_core::identity::KeyPolicy;
use verify_core::{
    ArtifactDigest, IdentityPolicy, Limits, Policy, StringMatcher, TrustRoot, Verifier,
};
use verify_registry::{ImageReference, ProxySetting, RegistryClient, RegistryConfig, Timeouts};

use crate::config::{EngineConfig, TrustRootSource};
use crate::core_call::{self, ImageCheck, ImageJob};
use crate::report::{ApiError, ArtifactReport, ImageReport, ImageVerdict};
use crate::request::{ArtifactRequest, ImageRequest, SignerSpec};

/// Bundle verdicts the core verifier itself keeps (blob calls).
const BUNDLE_CACHE: usize = 1024;

/// A verification engine.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    trust: RwLock<Arc<Trust>>,
    registry: RegistryClient,
    allowed: Option<Vec<String>>,
    cache: Option<moka::sync::Cache<[u8; 32], Arc<ImageVerdict>>>,
    permits: Arc<Semaphore>,
    max_request_bytes: usize,
    /// Trust roots callers sent with their requests, parsed once, by the
    /// SHA-256 of their bytes.
    request_roots: moka::sync::Cache<[u8; 32], Arc<Trust>>,
    max_trusted_root_bytes: usize,
    rekor_url: Option<String>,
}

/// The verifier and its trust root's fingerprint (part of every cache key).
struct Trust {
    verifier: Arc<Verifier>,
    fingerprint: String,
}

impl Engine {
    /// Build an engine from its JSON configuration.
    pub fn from_json(config: &[u8]) -> Result<Self, ApiError> {
        let config: EngineConfig =
            serde_json::from_slice(config).map_err(|e| ApiError::InvalidConfig {
                detail: e.to_string(),
            })?;
        Self::new(config)
    }

    /// Build an engine.
    pub fn new(config: EngineConfig) -> Result<Self, ApiError> {
        let limits = Limits::default();
        let root = match &config.trust_root {
            TrustRootSource::Builtin(true) => TrustRoot::production(),
            TrustRootSource::Builtin(false) => {
                return Err(ApiError::InvalidConfig {
                    detail: "trust_root: give builtin true, a file or inline json".into(),
                })
            }
            TrustRootSource::File(path) => TrustRoot::from_file(path, &limits),
            TrustRootSource::Json(value) => TrustRoot::from_json(&json_bytes(value), &limits),
        }
        .map_err(trust_root_error)?;
        // Every chain is checked once, when the root is taken in: a broken
        // root is refused here rather than at the first verification.
        root.check_all_chains().map_err(trust_root_error)?;
        let trust = Trust::new(root)?;
        let request = Duration::from_millis(config.registry.timeout_ms.max(1));
        let registry_config = RegistryConfig {
            // The engine has no credentials of its own, not even the
            // host's Docker configuration.
            no_docker_config: true,
            allow_http: config.registry.allow_http,
            ca_certificates_pem: config
                .registry
                .ca_pem
                .iter()
                .map(|p| p.as_bytes().to_vec())
                .collect(),
            timeouts: Timeouts {
                connect: request.min(Duration::from_secs(10)),
                request,
                total: request * 4,
            },
            proxy: match &config.registry.proxy {
                None => ProxySetting::Direct,
                Some(p) => ProxySetting::Url {
                    url: p.url.clone(),
                    no_proxy: p.no_proxy.clone(),
                },
            },
            ..RegistryConfig::default()
        };
        let registry =
            RegistryClient::new(registry_config).map_err(|e| ApiError::InvalidConfig {
                detail: e.to_string(),
            })?;
        let cache = (config.cache.capacity > 0).then(|| {
            moka::sync::Cache::builder()
                .max_capacity(config.cache.capacity)
                .time_to_live(Duration::from_secs(config.cache.ttl_seconds.max(1)))
                .build()
        });
        Ok(Self {
            inner: Arc::new(Inner {
                trust: RwLock::new(Arc::new(trust)),
                registry,
                allowed: config.registry.allowed.clone(),
                cache,
                permits: Arc::new(Semaphore::new(config.limits.max_concurrent_calls.max(1))),
                max_request_bytes: config.limits.max_request_bytes,
                request_roots: moka::sync::Cache::builder()
                    .max_capacity(config.limits.trusted_roots_cached)
                    .build(),
                max_trusted_root_bytes: config.limits.max_trusted_root_bytes,
                rekor_url: config.rekor_url.clone(),
            }),
        })
    }

    /// Replace the trust root (a `trusted_root.json` a host fetched, e.g.
    /// through TUF). Cached verdicts made under the old root no longer
    /// match; calls already running finish with the root they started with.
    pub fn set_trusted_root(&self, json: &[u8]) -> Result<(), ApiError> {
        let root = TrustRoot::from_json(json, &Limits::default()).map_err(trust_root_error)?;
        root.check_all_chains().map_err(trust_root_error)?;
        let trust = Trust::new(root)?;
        *self.inner.trust.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(trust);
        if let Some(cache) = &self.inner.cache {
            cache.invalidate_all();
        }
        Ok(())
    }

    /// Whether this engine has a registry allowlist.
    pub fn has_allowlist(&self) -> bool {
        self.inner.allowed.as_ref().is_some_and(|a| !a.is_empty())
    }

    /// The largest request accepted, in bytes.
    pub fn max_request_bytes(&self) -> usize {
        self.inner.max_request_bytes
    }

    /// Parse a request, bounded in size.
    pub fn parse_image_request(&self, bytes: &[u8]) -> Result<ImageRequest, ApiError> {
        self.check_size(bytes)?;
        serde_json::from_slice(bytes).map_err(|e| ApiError::request(e.to_string()))
    }

    /// Parse an artifact request, bounded in size.
    pub fn parse_artifact_request(&self, bytes: &[u8]) -> Result<ArtifactRequest, ApiError> {
        self.check_size(bytes)?;
        serde_json::from_slice(bytes).map_err(|e| ApiError::request(e.to_string()))
    }

    fn check_size(&self, bytes: &[u8]) -> Result<(), ApiError> {
        if bytes.len() > self.inner.max_request_bytes {
            return Err(ApiError::request(format!(
                "{} bytes, more than the {} allowed",
                bytes.len(),
                self.inner.max_request_bytes
            )));
        }
        Ok(())
    }

    fn trust(&self) -> Arc<Trust> {
        Arc::clone(&self.inner.trust.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// The trust root a request asks for: its own `trusted_root` (bounded
    /// in size, parsed once and kept by hash), else the engine's.
    fn trust_for(&self, root: Option<&serde_json::Value>) -> Result<Arc<Trust>, ApiError> {
        let Some(root) = root else {
            return Ok(self.trust());
        };
        let bytes = json_bytes(root);
        if bytes.len() > self.inner.max_trusted_root_bytes {
            return Err(ApiError::request(format!(
                "trusted_root: {} bytes, more than the {} allowed",
                bytes.len(),
                self.inner.max_trusted_root_bytes
            )));
        }
        let key: [u8; 32] = verify_core::digest::sha256(&bytes);
        if let Some(trust) = self.inner.request_roots.get(&key) {
            return Ok(trust);
        }
        let limits = Limits::default();
        let root = TrustRoot::from_json(&bytes, &limits).map_err(trust_root_error)?;
        root.check_all_chains().map_err(trust_root_error)?;
        let trust = Arc::new(Trust::new(root)?);
        self.inner.request_roots.insert(key, Arc::clone(&trust));
        Ok(trust)
    }

    /// The cached verdict for a digest reference, without any I/O: `None`
    /// for a tag, a miss, or no cache. Errors only for unusable requests.
    pub fn cached_image(&self, request: &ImageRequest) -> Result<Option<ImageReport>, ApiError> {
        let reference = self.reference(request)?;
        let Some(digest) = core_call::pinned(&reference) else {
            return Ok(None);
        };
        let trust = self.trust_for(request.trusted_root.as_ref())?;
        Ok(self
            .lookup(&trust, &reference, &digest, request)
            .map(|verdict| ImageReport {
                reference: request.reference.clone(),
                cached: true,
                summary: request.summary,
                verdict,
            }))
    }

    fn lookup(
        &self,
        trust: &Trust,
        reference: &ImageReference,
        digest: &ArtifactDigest,
        request: &ImageRequest,
    ) -> Option<Arc<ImageVerdict>> {
        let cache = self.inner.cache.as_ref()?;
        cache.get(&cache_key(trust, reference, digest, request))
    }

    fn reference(&self, request: &ImageRequest) -> Result<ImageReference, ApiError> {
        let reference = ImageReference::parse(&request.reference)
            .map_err(|e| ApiError::request(e.to_string()))?;
        if let Some(allowed) = &self.inner.allowed {
            let name = reference.name();
            if !allowed
                .iter()
                .any(|prefix| repository_allowed(prefix, &reference, &name))
            {
                return Err(ApiError::RegistryNotAllowed {
                    reference: request.reference.clone(),
                    registry: name,
                });
            }
        }
        Ok(reference)
    }

    /// Verify an image: resolve a tag to its digest, then answer from the
    /// cache or verify. `deadline` bounds the whole call, registry requests
    /// included.
    pub async fn verify_image(
        &self,
        request: ImageRequest,
        deadline: Duration,
    ) -> Result<ImageReport, ApiError> {
        let reference = self.reference(&request)?;
        let trust = self.trust_for(request.trusted_root.as_ref())?;
        if let Some(digest) = core_call::pinned(&reference) {
            if let Some(verdict) = self.lookup(&trust, &reference, &digest, &request) {
                return Ok(ImageReport {
                    reference: request.reference,
                    cached: true,
                    summary: request.summary,
                    verdict,
                });
            }
        }
        let check = match (&request.slsa, &request.predicate_type, &request.signer) {
            (Some(slsa), None, _) => ImageCheck::Slsa(slsa.clone()),
            (None, Some(predicate), Some(signer)) => {
                ImageCheck::Attestations(policies(signer)?, predicate.clone())
            }
            (None, None, Some(signer)) => ImageCheck::Signatures(policies(signer)?),
            (Some(_), Some(_), _) => {
                return Err(ApiError::request("give slsa or predicate_type, not both"))
            }
            (None, _, None) => return Err(ApiError::request("a signer is required")),
        };
        let job = ImageJob {
            verifier: Arc::clone(&trust.verifier),
            client: self.inner.registry.clone(),
            credentials: request
                .credentials
                .as_ref()
                .map(|c| (c.username.clone(), c.password.clone())),
            reference,
            asked: request.reference.clone(),
            check,
            check_claims: request.check_claims,
            annotations: request.annotations.clone(),
            rekor_url: self.inner.rekor_url.clone(),
            budget: ImageJob::new_budget(deadline),
        };
        let (verdict, cached) = self
            .bounded(deadline, async {
                let digest = core_call::resolve(&job).await?;
                if let Some(verdict) = self.lookup(&trust, &job.reference, &digest, &request) {
                    return Ok((verdict, true));
                }
                let verdict = Arc::new(core_call::verify(&job, &digest).await?);
                if let Some(cache) = &self.inner.cache {
                    cache.insert(
                        cache_key(&trust, &job.reference, &digest, &request),
                        Arc::clone(&verdict),
                    );
                }
                Ok((verdict, false))
            })
            .await?;
        Ok(ImageReport {
            reference: request.reference,
            cached,
            summary: request.summary,
            verdict,
        })
    }

    /// Verify a file: a blob against its bundle, or SLSA provenance.
    pub async fn verify_artifact(
        &self,
        request: ArtifactRequest,
        deadline: Duration,
    ) -> Result<ArtifactReport, ApiError> {
        match request {
            ArtifactRequest::Blob {
                artifact_base64,
                artifact_sha256,
                bundle,
                signer,
                trusted_root,
            } => {
                let verifier = Arc::clone(&self.trust_for(trusted_root.as_ref())?.verifier);
                let digest =
                    artifact_digest(artifact_base64.as_deref(), artifact_sha256.as_deref())?;
                let policies = policies(&signer)?;
                let bundle = json_bytes(&bundle);
                self.bounded(deadline, async {
                    core_call::verify_blob(&verifier, &digest, &bundle, &policies)
                })
                .await
            }
            ArtifactRequest::Slsa {
                artifact_base64,
                artifact_sha256,
                provenance,
                slsa,
                trusted_root,
            } => {
                let verifier = Arc::clone(&self.trust_for(trusted_root.as_ref())?.verifier);
                let digest =
                    artifact_digest(artifact_base64.as_deref(), artifact_sha256.as_deref())?;
                let provenance = json_bytes(&provenance);
                self.bounded(deadline, async {
                    core_call::verify_file_provenance(&verifier, &digest, &provenance, &slsa)
                })
                .await
            }
        }
    }

    /// Run `work` within `deadline`, holding one of the engine's permits
    /// (verifications at once) while it runs. Dropping the future cancels
    /// the work and its registry requests.
    async fn bounded<T>(
        &self,
        deadline: Duration,
        work: impl std::future::Future<Output = Result<T, ApiError>>,
    ) -> Result<T, ApiError> {
        let ms = u64::try_from(deadline.as_millis()).unwrap_or(u64::MAX);
        let run = async {
            let _permit =
                self.inner
                    .permits
                    .acquire()
                    .await
                    .map_err(|_| ApiError::Unavailable {
                        detail: "the engine is shutting down".into(),
                    })?;
            work.await
        };
        tokio::time::timeout(deadline, run)
            .await
            .map_err(|_| ApiError::DeadlineExceeded { ms })?
    }
}

impl Trust {
    fn new(root: TrustRoot) -> Result<Self, ApiError> {
        let fingerprint = root.fingerprint_hex();
        let verifier = Verifier::new(root)
            .map_err(|e| ApiError::TrustRoot {
                code: e.code(),
                message: e.to_string(),
            })?
            .with_cache(BUNDLE_CACHE);
        Ok(Self {
            verifier: Arc::new(verifier),
            fingerprint,
        })
    }
}

fn trust_root_error(e: verify_core::TrustRootError) -> ApiError {
    let e = verify_core::VerifyError::from(e);
    ApiError::TrustRoot {
        code: e.code(),
        message: e.to_string(),
    }
}

/// A JSON value given either as an object or as its text.
fn json_bytes(value: &serde_json::Value) -> Vec<u8> {
    match value {
        serde_json::Value::String(text) => text.as_bytes().to_vec(),
        other => serde_json::to_vec(other).unwrap_or_default(),
    }
}

fn artifact_digest(base64: Option<&str>, sha256: Option<&str>) -> Result<ArtifactDigest, ApiError> {
    match (base64, sha256) {
        (Some(b64), None) => base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map(|bytes| ArtifactDigest::of(&bytes))
            .map_err(|e| ApiError::request(format!("artifact_base64: {e}"))),
        (None, Some(hex)) => {
            let text = if hex.starts_with("sha256:") {
                hex.to_string()
            } else {
                format!("sha256:{hex}")
            };
            ArtifactDigest::parse(&text)
                .map_err(|e| ApiError::request(format!("artifact_sha256: {e}")))
        }
        _ => Err(ApiError::request(
            "give exactly one of artifact_base64 and artifact_sha256",
        )),
    }
}

/// The core policies for a signer spec, in the order they are tried.
fn policies(signer: &SignerSpec) -> Result<Vec<Policy>, ApiError> {
    match signer {
        SignerSpec::Keys(keys) if keys.is_empty() => Err(ApiError::request("signer.keys is empty")),
        SignerSpec::Keys(keys) => keys
            .iter()
            .enumerate()
            .map(|(i, k)| {
                let mut key = KeyPolicy::from_pem(&k.pem)
                    .map_err(|e| ApiError::request(format!("signer.keys[{i}]: {e}")))?;
                key.insecure_ignore_tlog = k.ignore_tlog;
                Ok(Policy::Key(key))
            })
            .collect(),
        SignerSpec::Keyless { identities } if identities.is_empty() => {
            Ok(vec![Policy::Identity(IdentityPolicy::any_identity())])
        }
        SignerSpec::Keyless { identities } => identities
            .iter()
            .map(|id| {
                // Flux's messages for a bad pattern.
                let issuer = StringMatcher::regex("issuer", &id.issuer).map_err(|e| {
                    ApiError::request(format!("malformed issuer in identity: {} : {e}", id.issuer))
                })?;
                let subject = StringMatcher::regex("subject", &id.subject).map_err(|e| {
                    ApiError::request(format!(
                        "malformed subject in identity: {} : {e}",
                        id.subject
                    ))
                })?;
                Ok(Policy::Identity(IdentityPolicy::new(subject, issuer)))
            })
            .collect(),
    }
}

/// Whether `prefix` (`host[:port]` or `host[:port]/path`) allows the
/// repository `name` (`registry/repository`).
fn repository_allowed(prefix: &str, reference: &ImageReference, name: &str) -> bool {
    let prefix = prefix.trim_end_matches('/');
    if !prefix.contains('/') {
        return reference.registry == prefix || reference.api_host == prefix;
    }
    name == prefix
        || name
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Everything a verdict depends on.
fn cache_key(
    trust: &Trust,
    reference: &ImageReference,
    digest: &ArtifactDigest,
    request: &ImageRequest,
) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(trust.fingerprint.as_bytes());
    h.update(b"\0");
    h.update(reference.name().as_bytes());
    h.update(b"\0");
    h.update(digest.0);
    // The checks asked for (credentials are not serialised).
    let checks = serde_json::to_vec(&(
        &request.signer,
        &request.predicate_type,
        &request.slsa,
        request.check_claims,
        &request.annotations,
    ))
    .unwrap_or_default();
    h.update(&checks);
    h.finish()
}

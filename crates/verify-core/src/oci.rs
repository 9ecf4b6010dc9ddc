//! OCI content: manifests, descriptors, and where they come from.
//!
//! Images, their signatures and their attestations are OCI manifests and
//! blobs, addressed by the SHA-256 of their bytes. This module parses them
//! (bounded in size, checked against their digest) and defines
//! [`ImageSource`], the trait through which verification reads them: the HTTP
//! registry client lives in another crate (`verify-registry`), a local OCI
//! layout in [`crate::oci_layout`], and callers (tests, an admission webhook
//! with its own cache) can supply their own.
//!
//! Nothing read through an [`ImageSource`] is trusted because of where it came
//! from: [`fetch_manifest`] and `fetch_blob` recompute every digest, and
//! everything a signature manifest says is believed only once the signature in
//! it has been verified (see [`crate::cosign`]).

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::artifact::ArtifactDigest;

/// OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Docker image manifest, schema 2.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list.
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// Every manifest media type verification reads, for `Accept` headers.
pub const MANIFEST_MEDIA_TYPES: &[&str] = &[
    OCI_MANIFEST,
    OCI_INDEX,
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
];

/// Bounds on what is read from an image source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OciLimits {
    /// Largest manifest or index accepted (the OCI distribution spec lets
    /// registries refuse manifests over 4 MiB).
    pub max_manifest_bytes: usize,
    /// Largest signature payload, DSSE envelope or bundle blob accepted
    /// (SBOM attestations reach a few megabytes).
    pub max_payload_bytes: usize,
    /// Largest image config blob accepted (read only to match `--platform`
    /// on single-platform images).
    pub max_config_bytes: usize,
    /// Most signature layers, attestation layers or referrers considered
    /// for one image; more is an error, not a truncation.
    pub max_signatures: usize,
    /// Most bytes of candidate payloads (the declared sizes of a signature
    /// manifest's layers, summed; for bundle referrers, each referrer
    /// manifest's and bundle layer's, charged before each read) considered
    /// for one signature or attestation search of one image: bounds the
    /// work per image (candidates × payload size), so that a hostile image
    /// cannot make one verification parse and check gigabytes. More is an
    /// error before any layer is read.
    pub max_candidate_bytes: u64,
}

impl Default for OciLimits {
    fn default() -> Self {
        Self {
            max_manifest_bytes: 4 * 1024 * 1024,
            max_payload_bytes: 32 * 1024 * 1024,
            max_config_bytes: 4 * 1024 * 1024,
            max_signatures: 256,
            max_candidate_bytes: 64 * 1024 * 1024,
        }
    }
}

/// A manifest reference within one repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestRef {
    /// A tag, e.g. `v1.2.3` or cosign's `sha256-<hex>.sig`.
    Tag(String),
    /// A manifest digest.
    Digest(ArtifactDigest),
}

impl std::fmt::Display for ManifestRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Tag(tag) => write!(f, ":{tag}"),
            Self::Digest(digest) => write!(f, "@{digest}"),
        }
    }
}

/// Manifest bytes as served, with the media type the source declared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawManifest {
    /// The bytes, exactly as served.
    pub bytes: Vec<u8>,
    /// The `Content-Type` (or layout descriptor media type), if any.
    pub media_type: Option<String>,
}

/// Where images, signatures and attestations are read from: one repository
/// of a registry, or a local OCI layout.
///
/// Implementations must bound what they read (`max_bytes`) and time out
/// rather than hang; they need not check digests, which
/// [`fetch_manifest`] and `fetch_blob` recompute anyway.
///
/// The methods are `async` (through `async_trait`, so that the trait stays
/// object-safe and its futures `Send`): the core starts no runtime and
/// blocks no thread; the caller's runtime drives the I/O, and dropping a
/// verification's future cancels its requests. What was fetched is checked
/// synchronously.
#[async_trait::async_trait]
pub trait ImageSource: Send + Sync {
    /// A human-readable name for messages, e.g. `ghcr.io/fluxcd/flux-cli`
    /// or `oci:/path/to/layout`.
    fn name(&self) -> String;

    /// The manifest for `reference`, or `Ok(None)` when it does not exist.
    async fn manifest(
        &self,
        reference: &ManifestRef,
        max_bytes: usize,
    ) -> Result<Option<RawManifest>, SourceError>;

    /// The blob with this digest (its bytes need not be checked here); a
    /// blob the source does not have is [`SourceError::BlobNotFound`].
    async fn blob(&self, digest: &ArtifactDigest, max_bytes: usize)
        -> Result<Vec<u8>, SourceError>;

    /// The OCI 1.1 referrers index of `subject` (`GET /v2/<name>/referrers/<digest>`),
    /// or `Ok(None)` when the source has no referrers API, in which case the
    /// caller falls back to the referrers tag schema (`sha256-<hex>`).
    async fn referrers(
        &self,
        subject: &ArtifactDigest,
        max_bytes: usize,
    ) -> Result<Option<RawManifest>, SourceError>;
}

/// Why content could not be read from an image source.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// The image (tag or digest) does not exist.
    #[error("{what} not found")]
    NotFound {
        /// What was looked up.
        what: String,
    },
    /// A blob the content refers to is absent (HTTP 404 / no file): the
    /// referring manifest names content the source does not have.
    #[error("{what} is missing (referenced, but not present)")]
    BlobNotFound {
        /// What was looked up.
        what: String,
    },
    /// The overall time allowed for one image (`--timeout`) ran out while
    /// `what` was being fetched: however quickly each request is answered,
    /// a run over many manifests, blobs and candidates ends at this bound.
    #[error("{what}: the {seconds} s limit for verifying this image expired (--timeout)")]
    DeadlineExceeded {
        /// What was being fetched when the time ran out.
        what: String,
        /// The limit, in seconds.
        seconds: u64,
    },
    /// The byte budget for one verification (every manifest, blob,
    /// referrers list, token and log answer it read) ran out while `what`
    /// was being read: a hostile image cannot make one verification read
    /// without bound, however small each object is.
    #[error("{what}: the {limit}-byte budget for verifying this image is spent")]
    BudgetExceeded {
        /// What was being read.
        what: String,
        /// The budget, in bytes.
        limit: u64,
    },
    /// The source asked to be retried (`Retry-After`) later than the time
    /// left for this verification allows: failing now rather than waiting.
    #[error("{what}: the registry answered HTTP {status} and asks to retry after {wait_seconds} s, more than the {remaining_seconds} s left for this image (--timeout)")]
    RetryAfterBeyondDeadline {
        /// What was requested.
        what: String,
        /// 429 or 5xx.
        status: u16,
        /// The wait asked for, in seconds.
        wait_seconds: u64,
        /// The time left, in seconds.
        remaining_seconds: u64,
    },
    /// The content is larger than the limit; it was not read further.
    #[error("{what} is larger than the {limit}-byte limit (at least {found} bytes)")]
    TooLarge {
        /// What was read.
        what: String,
        /// The limit in bytes.
        limit: u64,
        /// Bytes seen or announced.
        found: u64,
    },
    /// The bytes served do not hash to the digest they were requested by
    /// (or that the source announced for them).
    #[error("{what}: content does not match its digest: expected {expected}, found {found}")]
    DigestMismatch {
        /// What was read.
        what: String,
        /// The digest requested or announced.
        expected: String,
        /// The digest of the bytes served.
        found: String,
    },
    /// The registry refused the credentials (or demanded some).
    #[error("{what}: access denied (HTTP {status}): {detail}")]
    Unauthorized {
        /// What was requested.
        what: String,
        /// 401 or 403.
        status: u16,
        /// The registry's message, or what credentials were tried.
        detail: String,
    },
    /// The source answered with an unexpected HTTP status, after retries.
    #[error("{what}: registry answered HTTP {status}: {detail}")]
    Http {
        /// What was requested.
        what: String,
        /// The status code.
        status: u16,
        /// The registry's message.
        detail: String,
    },
    /// The source did not answer in time, after retries.
    #[error("{what}: no answer within {seconds} s")]
    Timeout {
        /// What was requested.
        what: String,
        /// The time waited, in seconds.
        seconds: u64,
    },
    /// The connection failed (DNS, TCP, TLS), after retries.
    #[error("{what}: {detail}")]
    Transport {
        /// What was requested.
        what: String,
        /// Why.
        detail: String,
    },
    /// The content is not what it claims to be.
    #[error("{what} is malformed: {detail}")]
    Malformed {
        /// What was read.
        what: String,
        /// Why.
        detail: String,
    },
    /// A local file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The request cannot be made (a bad reference, an unusable setting).
    #[error("{detail}")]
    Invalid {
        /// Why.
        detail: String,
    },
}

impl SourceError {
    /// A stable, machine-readable reason code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound { .. } => "image-not-found",
            Self::BlobNotFound { .. } => "blob-not-found",
            Self::DeadlineExceeded { .. } => "image-deadline-exceeded",
            Self::TooLarge { .. } => "registry-content-too-large",
            Self::BudgetExceeded { .. } => "image-byte-budget-exceeded",
            Self::RetryAfterBeyondDeadline { .. } => "registry-retry-after-beyond-deadline",
            Self::DigestMismatch { .. } => "registry-digest-mismatch",
            Self::Unauthorized { .. } => "registry-unauthorized",
            Self::Http { .. } => "registry-error",
            Self::Timeout { .. } => "registry-timeout",
            Self::Transport { .. } => "registry-unreachable",
            Self::Malformed { .. } => "registry-content-malformed",
            Self::Io { .. } => "layout-unreadable",
            Self::Invalid { .. } => "usage",
        }
    }
}

/// A content descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// The content's media type.
    #[serde(default)]
    pub media_type: String,
    /// `sha256:<hex>` (other algorithms are refused when used).
    pub digest: String,
    /// The size in bytes.
    #[serde(default)]
    pub size: i64,
    /// Annotations.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// The artifact type (OCI 1.1), on index entries and referrers.
    #[serde(default)]
    pub artifact_type: Option<String>,
    /// The platform, on index entries.
    #[serde(default)]
    pub platform: Option<Platform>,
}

impl Descriptor {
    /// The descriptor's digest, which must be SHA-256.
    pub fn sha256(&self) -> Result<ArtifactDigest, SourceError> {
        ArtifactDigest::parse(&self.digest).map_err(|_| SourceError::Malformed {
            what: "descriptor".into(),
            detail: format!("digest {:?} is not sha256:<64 hex digits>", self.digest),
        })
    }
}

/// An image platform.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
pub struct Platform {
    /// CPU architecture, e.g. `amd64`.
    #[serde(default)]
    pub architecture: String,
    /// Operating system, e.g. `linux`.
    #[serde(default)]
    pub os: String,
    /// CPU variant, e.g. `v8`.
    #[serde(default)]
    pub variant: Option<String>,
}

impl Platform {
    /// Parse `os/arch[/variant]`.
    pub fn parse(text: &str) -> Result<Self, SourceError> {
        let parts: Vec<&str> = text.split('/').collect();
        let bad = || SourceError::Invalid {
            detail: format!("--platform {text:?}: expected os/arch[/variant], e.g. linux/amd64"),
        };
        match parts.as_slice() {
            [os, arch] if !os.is_empty() && !arch.is_empty() => Ok(Self {
                os: (*os).into(),
                architecture: (*arch).into(),
                variant: None,
            }),
            [os, arch, variant] if !os.is_empty() && !arch.is_empty() && !variant.is_empty() => {
                Ok(Self {
                    os: (*os).into(),
                    architecture: (*arch).into(),
                    variant: Some((*variant).into()),
                })
            }
            _ => Err(bad()),
        }
    }

    /// Whether `candidate` is this platform; a variant is compared only when
    /// this platform names one.
    pub fn matches(&self, candidate: &Platform) -> bool {
        self.os == candidate.os
            && self.architecture == candidate.architecture
            && self
                .variant
                .as_ref()
                .is_none_or(|v| candidate.variant.as_deref() == Some(v.as_str()))
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(variant) = &self.variant {
            write!(f, "/{variant}")?;
        }
        Ok(())
    }
}

/// An image manifest (OCI or Docker schema 2).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageManifest {
    /// Always 2.
    pub schema_version: u32,
    /// The declared media type, if any.
    #[serde(default)]
    pub media_type: Option<String>,
    /// The artifact type (OCI 1.1).
    #[serde(default)]
    pub artifact_type: Option<String>,
    /// The config blob.
    pub config: Descriptor,
    /// The layers.
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    /// The manifest this one refers to (OCI 1.1).
    #[serde(default)]
    pub subject: Option<Descriptor>,
    /// Annotations.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

/// An image index (OCI) or manifest list (Docker).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageIndex {
    /// Always 2.
    pub schema_version: u32,
    /// The declared media type, if any.
    #[serde(default)]
    pub media_type: Option<String>,
    /// The manifests.
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
    /// Annotations.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

/// A parsed manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Manifest {
    /// A single image (or artifact) manifest.
    Image(Box<ImageManifest>),
    /// An index of manifests.
    Index(ImageIndex),
}

impl Manifest {
    /// Parse manifest bytes; the media type comes from the document or, when
    /// it has none, from the source's `Content-Type`.
    pub fn parse(
        bytes: &[u8],
        content_type: Option<&str>,
        what: &str,
    ) -> Result<Self, SourceError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Head {
            schema_version: Option<u32>,
            media_type: Option<String>,
            manifests: Option<serde_json::Value>,
        }
        let malformed = |detail: String| SourceError::Malformed {
            what: what.to_string(),
            detail,
        };
        let head: Head =
            serde_json::from_slice(bytes).map_err(|e| malformed(format!("not JSON: {e}")))?;
        if head.schema_version != Some(2) {
            return Err(malformed(format!(
                "schemaVersion: expected 2, found {:?}",
                head.schema_version
            )));
        }
        let media_type = head
            .media_type
            .as_deref()
            .or(content_type.map(|c| c.split(';').next().unwrap_or(c).trim()));
        let is_index = match media_type {
            Some(OCI_INDEX | DOCKER_MANIFEST_LIST) => true,
            Some(OCI_MANIFEST | DOCKER_MANIFEST) => false,
            _ => head.manifests.is_some(),
        };
        if is_index {
            serde_json::from_slice(bytes)
                .map(Self::Index)
                .map_err(|e| malformed(format!("not an image index: {e}")))
        } else {
            serde_json::from_slice(bytes)
                .map(|m| Self::Image(Box::new(m)))
                .map_err(|e| malformed(format!("not an image manifest: {e}")))
        }
    }

    /// The media type the manifest declares, or the one implied by its shape.
    pub fn media_type(&self) -> &str {
        match self {
            Self::Image(m) => m.media_type.as_deref().unwrap_or(OCI_MANIFEST),
            Self::Index(i) => i.media_type.as_deref().unwrap_or(OCI_INDEX),
        }
    }
}

/// A manifest read and checked: its bytes hash to [`FetchedManifest::digest`].
#[derive(Debug, Clone)]
pub struct FetchedManifest {
    /// The digest of the bytes (the one requested, for digest references).
    pub digest: ArtifactDigest,
    /// The bytes as served.
    pub bytes: Vec<u8>,
    /// The parsed manifest.
    pub manifest: Manifest,
}

/// Read a manifest, recompute its digest and parse it.
///
/// A manifest requested by digest must hash to that digest; one requested
/// by tag gets the digest of its bytes. `Ok(None)`: it does not exist.
pub async fn fetch_manifest(
    source: &dyn ImageSource,
    reference: &ManifestRef,
    limits: &OciLimits,
) -> Result<Option<FetchedManifest>, SourceError> {
    let what = format!("manifest {}{reference}", source.name());
    let Some(raw) = source
        .manifest(reference, limits.max_manifest_bytes)
        .await?
    else {
        return Ok(None);
    };
    if raw.bytes.len() > limits.max_manifest_bytes {
        return Err(SourceError::TooLarge {
            what,
            limit: limits.max_manifest_bytes as u64,
            found: raw.bytes.len() as u64,
        });
    }
    let digest = ArtifactDigest::of(&raw.bytes);
    if let ManifestRef::Digest(expected) = reference {
        if *expected != digest {
            return Err(SourceError::DigestMismatch {
                what,
                expected: expected.to_string(),
                found: digest.to_string(),
            });
        }
    }
    let manifest = Manifest::parse(&raw.bytes, raw.media_type.as_deref(), &what)?;
    Ok(Some(FetchedManifest {
        digest,
        bytes: raw.bytes,
        manifest,
    }))
}

/// Read a blob described by `descriptor`, bounded by `max_bytes` and by the
/// descriptor's size, and check that it hashes to the descriptor's digest.
pub(crate) async fn fetch_blob(
    source: &dyn ImageSource,
    descriptor: &Descriptor,
    max_bytes: usize,
) -> Result<Vec<u8>, SourceError> {
    let digest = descriptor.sha256()?;
    let what = format!("blob {}@{digest}", source.name());
    if descriptor.size < 0 || descriptor.size as u64 > max_bytes as u64 {
        return Err(SourceError::TooLarge {
            what,
            limit: max_bytes as u64,
            found: descriptor.size.max(0) as u64,
        });
    }
    // A blob is read no further than its descriptor says it is long.
    let max_bytes = match usize::try_from(descriptor.size) {
        Ok(size) if size > 0 => size.min(max_bytes),
        _ => max_bytes,
    };
    let bytes = source.blob(&digest, max_bytes).await?;
    if bytes.len() > max_bytes {
        return Err(SourceError::TooLarge {
            what,
            limit: max_bytes as u64,
            found: bytes.len() as u64,
        });
    }
    let found = ArtifactDigest::of(&bytes);
    if found != digest {
        return Err(SourceError::DigestMismatch {
            what,
            expected: digest.to_string(),
            found: found.to_string(),
        });
    }
    Ok(bytes)
}

/// cosign's tag for the signatures of `digest`: `sha256-<hex>.sig`.
pub(crate) fn signature_tag(digest: &ArtifactDigest) -> String {
    format!("sha256-{}.sig", hex::encode(digest.0))
}

/// cosign's tag for the attestations of `digest`: `sha256-<hex>.att`.
pub(crate) fn attestation_tag(digest: &ArtifactDigest) -> String {
    format!("sha256-{}.att", hex::encode(digest.0))
}

/// The OCI referrers tag schema's tag for `digest`: `sha256-<hex>`.
pub(crate) fn referrers_tag(digest: &ArtifactDigest) -> String {
    format!("sha256-{}", hex::encode(digest.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_index_and_manifest_by_shape_and_type() {
        let index = br#"{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","size":1,"platform":{"os":"linux","architecture":"arm64","variant":"v8"}}]}"#;
        let Manifest::Index(i) = Manifest::parse(index, None, "t").unwrap() else {
            panic!("expected an index")
        };
        let want = Platform::parse("linux/arm64").unwrap();
        assert!(want.matches(i.manifests[0].platform.as_ref().unwrap()));
        assert!(!Platform::parse("linux/arm64/v7")
            .unwrap()
            .matches(i.manifests[0].platform.as_ref().unwrap()));
        let manifest = br#"{"schemaVersion":2,"config":{"mediaType":"x","digest":"sha256:00","size":2},"layers":[]}"#;
        assert!(matches!(
            Manifest::parse(manifest, Some(OCI_MANIFEST), "t").unwrap(),
            Manifest::Image(_)
        ));
        assert!(matches!(
            Manifest::parse(br#"{"schemaVersion":1}"#, None, "t"),
            Err(SourceError::Malformed { .. })
        ));
    }

    #[test]
    fn bad_platforms_are_refused() {
        for bad in ["linux", "linux/", "/amd64", "a/b/c/d", ""] {
            assert!(Platform::parse(bad).is_err(), "{bad}");
        }
    }
}

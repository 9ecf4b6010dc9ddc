//! The one place evaluation calls the core's image verification.
//!
//! The core's image functions are async (their I/O goes through the
//! caller's [`ImageSource`] and transparency-log client, on the caller's
//! runtime; dropping the future cancels it). Every call goes through this
//! module, so what evaluation asks of the core is in one place.
//!
//! [`FormatFilter`] restricts a source to one signature format, so that an
//! authority with `signatureFormat: legacy` never accepts a bundle
//! referrer and one with `bundle` never accepts cosign's tag scheme
//! (policy-controller reads only the format asked for).

use verify_core::buildkit::{
    verify_in_index_statement, BuildkitError, InIndexRequest, InIndexStatement,
};
use verify_core::cosign::{self, Check, ImageError, VerifiedAttestation, VerifiedSignature};
use verify_core::oci::{
    fetch_manifest, ImageSource, Manifest, ManifestRef, OciLimits, Platform, RawManifest,
    SourceError,
};
use verify_core::ArtifactDigest;

use crate::model::SignatureFormat;

/// Verified signatures of `image` in the format asked for.
pub(crate) async fn signatures(
    check: &Check<'_>,
    image: &ArtifactDigest,
    format: SignatureFormat,
) -> Result<Vec<VerifiedSignature>, ImageError> {
    let source = FormatFilter {
        inner: check.source,
        format,
    };
    let check = Check {
        source: &source,
        ..*check
    };
    cosign::verify_image_signatures(&check, image).await
}

/// Verified attestations of `image` (every predicate type) in the format
/// asked for.
pub(crate) async fn attestations(
    check: &Check<'_>,
    image: &ArtifactDigest,
    format: SignatureFormat,
) -> Result<Vec<VerifiedAttestation>, ImageError> {
    let source = FormatFilter {
        inner: check.source,
        format,
    };
    let check = Check {
        source: &source,
        ..*check
    };
    cosign::verify_image_attestations(&check, image, None).await
}

/// The platforms of the image index `index` (attestation manifests
/// excluded), or why it is not an index.
pub(crate) async fn index_platforms(
    source: &dyn ImageSource,
    index: &ArtifactDigest,
    limits: &OciLimits,
) -> Result<Vec<Platform>, BuildkitError> {
    let name = format!("{}@{index}", source.name());
    let fetched = fetch_manifest(source, &ManifestRef::Digest(*index), limits)
        .await?
        .ok_or_else(|| SourceError::NotFound { what: name.clone() })?;
    let Manifest::Index(image_index) = fetched.manifest else {
        return Err(BuildkitError::NotAnIndex {
            image: name,
            found: fetched.manifest.media_type().to_string(),
        });
    };
    Ok(image_index
        .manifests
        .iter()
        .filter(|d| {
            d.annotations
                .get(verify_core::buildkit::REFERENCE_TYPE)
                .map(String::as_str)
                != Some(verify_core::buildkit::ATTESTATION_MANIFEST)
        })
        .filter_map(|d| d.platform.clone())
        .collect())
}

/// BuildKit's statement of `predicate_type` for `platform`, vouched for by
/// the index signature.
pub(crate) async fn in_index(
    check: &Check<'_>,
    request: &InIndexRequest<'_>,
    format: SignatureFormat,
) -> Result<InIndexStatement, BuildkitError> {
    let source = FormatFilter {
        inner: check.source,
        format,
    };
    let check = Check {
        source: &source,
        ..*check
    };
    verify_in_index_statement(&check, request).await
}

/// A source that hides the signature format not asked for.
struct FormatFilter<'a> {
    inner: &'a dyn ImageSource,
    format: SignatureFormat,
}

/// `sha256-<hex>.sig` / `.att`: cosign's tag scheme.
fn is_cosign_tag(tag: &str) -> bool {
    tag.starts_with("sha256-") && (tag.ends_with(".sig") || tag.ends_with(".att"))
}

/// `sha256-<hex>`: the OCI referrers tag schema (the fallback for
/// registries without the referrers API).
fn is_referrers_tag(tag: &str) -> bool {
    tag.strip_prefix("sha256-")
        .is_some_and(|hex| hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit()))
}

#[async_trait::async_trait]
impl ImageSource for FormatFilter<'_> {
    fn name(&self) -> String {
        self.inner.name()
    }

    async fn manifest(
        &self,
        reference: &ManifestRef,
        max_bytes: usize,
    ) -> Result<Option<RawManifest>, SourceError> {
        if let ManifestRef::Tag(tag) = reference {
            let hidden = match self.format {
                SignatureFormat::Legacy => is_referrers_tag(tag),
                SignatureFormat::Bundle => is_cosign_tag(tag),
            };
            if hidden {
                return Ok(None);
            }
        }
        self.inner.manifest(reference, max_bytes).await
    }

    async fn blob(
        &self,
        digest: &ArtifactDigest,
        max_bytes: usize,
    ) -> Result<Vec<u8>, SourceError> {
        self.inner.blob(digest, max_bytes).await
    }

    async fn referrers(
        &self,
        subject: &ArtifactDigest,
        max_bytes: usize,
    ) -> Result<Option<RawManifest>, SourceError> {
        match self.format {
            // No referrers API and, above, no referrers tag: no bundles.
            SignatureFormat::Legacy => Ok(Some(RawManifest {
                bytes: EMPTY_INDEX.to_vec(),
                media_type: Some("application/vnd.oci.image.index.v1+json".into()),
            })),
            SignatureFormat::Bundle => self.inner.referrers(subject, max_bytes).await,
        }
    }
}

/// An empty referrers index.
const EMPTY_INDEX: &[u8] =
    br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#;

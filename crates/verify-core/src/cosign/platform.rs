//! One image reference, verified end to end: the tag resolved to a digest,
//! the signatures (or attestations) of that digest verified, and, with a
//! platform asked for (`--platform`), the platform's image found in the
//! index (or checked against a single image's config) and, when required
//! (`--require-platform-signature`), its own signatures verified too.
//!
//! The semantics are cosign's: a digest-pinned reference needs only the
//! signature manifests; a tag, or a platform, needs the image's manifest.
//! The platform's image is reported; its signature is checked only when
//! required, since cosign signs the index a multi-platform image is pushed
//! as.

use crate::artifact::ArtifactDigest;
use crate::oci::{fetch_blob, Manifest, ManifestRef, Platform, SourceError};

use super::{
    resolve, verify_image_attestations, verify_image_signatures, Check, ImageError,
    VerifiedAttestation, VerifiedSignature,
};

/// What is verified for an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Evidence {
    /// Its signatures.
    Signatures,
    /// Its attestations of this predicate type (a URI), or all of them.
    Attestations {
        /// The predicate type asked for.
        predicate_type: Option<String>,
    },
}

/// How one image reference is verified.
#[derive(Debug, Clone)]
pub struct ImageRequest {
    /// The tag or digest to verify.
    pub reference: ManifestRef,
    /// Signatures or attestations.
    pub evidence: Evidence,
    /// For a multi-platform index, also find this platform's image.
    pub platform: Option<Platform>,
    /// With [`ImageRequest::platform`]: the platform's image must carry its
    /// own valid signature (attestation) as well.
    pub require_platform_signature: bool,
}

/// What verified for one image; serialises to JSON for every front end.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ImageVerdict {
    /// The source's name (`registry/repository`, `oci:PATH`).
    pub name: String,
    /// The digest verified (the tag's, for tag references).
    pub digest: ArtifactDigest,
    /// Verified signatures ([`Evidence::Signatures`]).
    pub signatures: Vec<VerifiedSignature>,
    /// Verified attestations ([`Evidence::Attestations`]).
    pub attestations: Vec<VerifiedAttestation>,
    /// The platform asked for, if any.
    pub platform: Option<PlatformVerdict>,
}

/// The platform's image within a verified index.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PlatformVerdict {
    /// The platform asked for.
    pub platform: Platform,
    /// Its image's digest (the index's own digest for a single image).
    pub digest: ArtifactDigest,
    /// That image's own verdict, when its signature was required and it is
    /// not the index itself.
    pub verdict: Option<Box<ImageVerdict>>,
}

/// Verify `request` in `check.source`. A platform that the image does not
/// have is [`SourceError::NotFound`].
pub async fn verify_image(
    check: &Check<'_>,
    request: &ImageRequest,
) -> Result<ImageVerdict, ImageError> {
    let source = check.source;
    let limits = &check.options.limits;
    let verdict = |digest: ArtifactDigest, (signatures, attestations)| ImageVerdict {
        name: source.name(),
        digest,
        signatures,
        attestations,
        platform: None,
    };
    if let (ManifestRef::Digest(digest), None) = (&request.reference, &request.platform) {
        let found = verify_digest(check, digest, request).await?;
        return Ok(verdict(*digest, found));
    }
    let fetched = resolve(source, &request.reference, limits).await?;
    let digest = fetched.digest;
    let found = verify_digest(check, &digest, request).await?;
    let mut report = verdict(digest, found);
    let Some(platform) = &request.platform else {
        return Ok(report);
    };
    let child = match &fetched.manifest {
        Manifest::Index(index) => {
            let found = index
                .manifests
                .iter()
                .find(|d| d.platform.as_ref().is_some_and(|p| platform.matches(p)));
            let Some(found) = found else {
                return Err(SourceError::NotFound {
                    what: format!("platform {platform} in {}@{digest}", source.name()),
                }
                .into());
            };
            found.sha256()?
        }
        Manifest::Image(manifest) => {
            // A single-platform image: its config says which platform.
            let config = fetch_blob(source, &manifest.config, limits.max_config_bytes).await?;
            let found: Platform =
                serde_json::from_slice(&config).map_err(|e| SourceError::Malformed {
                    what: format!("config of {}@{digest}", source.name()),
                    detail: e.to_string(),
                })?;
            if !platform.matches(&found) {
                return Err(SourceError::NotFound {
                    what: format!(
                        "platform {platform} ({}@{digest} is a single {found} image)",
                        source.name()
                    ),
                }
                .into());
            }
            digest
        }
    };
    let child_verdict = if request.require_platform_signature && child != digest {
        let found = verify_digest(check, &child, request).await?;
        Some(Box::new(verdict(child, found)))
    } else {
        None
    };
    report.platform = Some(PlatformVerdict {
        platform: platform.clone(),
        digest: child,
        verdict: child_verdict,
    });
    Ok(report)
}

async fn verify_digest(
    check: &Check<'_>,
    digest: &ArtifactDigest,
    request: &ImageRequest,
) -> Result<(Vec<VerifiedSignature>, Vec<VerifiedAttestation>), ImageError> {
    Ok(match &request.evidence {
        Evidence::Signatures => (verify_image_signatures(check, digest).await?, Vec::new()),
        Evidence::Attestations { predicate_type } => (
            Vec::new(),
            verify_image_attestations(check, digest, predicate_type.as_deref()).await?,
        ),
    })
}

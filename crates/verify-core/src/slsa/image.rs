//! Provenance for container images (slsa-verifier's `verify-image`).
//!
//! The SLSA container generator attaches its provenance to the image as a
//! cosign attestation (`sha256-<hex>.att`, or a Sigstore bundle referrer).
//! Verification has the same two halves as for files:
//!
//! 1. cryptography: [`crate::cosign::verify_image_attestations`] with
//!    [`IdentityPolicy::any_identity`], since the signer is authorized by
//!    the SLSA builder rules, not by a user-supplied identity. Each
//!    attestation must verify on its own (log evidence, Fulcio chain, SCT,
//!    DSSE signature); cosign's claim check is off because the subject is a
//!    SLSA rule, checked in slsa-verifier's order with its own error
//!    ([`SlsaError::MismatchHash`]). Rekor is never asked: attestations
//!    must carry their log evidence, as slsa-verifier requires;
//! 2. the rules of [`super::verify::verify_provenance`], with the builders
//!    trusted for images ([`TrustedBuilders::IMAGE`]: the container
//!    generator) and the image's manifest digest as the subject.
//!
//! Attestations are tried in the order found; the first that passes every
//! rule wins. When none does, the *first* attestation's error is reported,
//! as slsa-verifier does, with the number of others that failed too.
//!
//! The image must be named by digest: a tag can move between verification
//! and use ([`ImageProvenanceError::MutableImage`]).

use crate::artifact::ArtifactDigest;
use crate::cosign::{self, CheckOptions, ImageError, Origin, VerifiedAttestation};
use crate::identity::{IdentityPolicy, Policy};
use crate::oci::{ImageSource, ManifestRef, OciLimits};
use crate::verifier::Verifier;

use super::builder::{check_builder_id_supported, TrustedBuilders};
use super::error::SlsaError;
use super::verify::{verify_provenance, ProvenanceCheck, ProvenanceOptions, VerifiedProvenance};

/// Which image's provenance [`verify_image_provenance`] verifies, and what
/// it must say.
#[derive(Clone, Copy)]
pub struct ImageProvenanceRequest<'a> {
    /// Where the image and its attestations are read.
    pub source: &'a dyn ImageSource,
    /// The image's manifest digest (the provenance subject).
    pub image: &'a ArtifactDigest,
    /// Size and count bounds for what is read.
    pub limits: OciLimits,
    /// What the provenance must say (slsa-verifier's flags).
    pub options: &'a ProvenanceOptions,
}

/// Provenance that verified for an image, and where it was found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct VerifiedImageProvenance {
    /// The image's manifest digest (the provenance subject).
    pub image: ArtifactDigest,
    /// Where the attestation was found.
    pub origin: Origin,
    /// What the SLSA rules established.
    pub provenance: VerifiedProvenance,
    /// How many attestations verified cryptographically (all were tried in
    /// order until one passed the rules).
    pub attestations: usize,
}

/// Why an image's provenance was rejected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImageProvenanceError {
    /// The image is named by tag: expected an `@sha256:` digest.
    #[error("image {found}: expected an immutable reference ending in @sha256:<hex>, found none")]
    MutableImage {
        /// The reference given.
        found: String,
    },
    /// `--builder-id` (or another option) is refused before anything is read.
    #[error(transparent)]
    Options(SlsaError),
    /// No attestation verified cryptographically (none found, none signed
    /// validly, or the image could not be read).
    #[error("no verified attestation: {0}")]
    Attestations(#[source] ImageError),
    /// Attestations verified, but none passed the SLSA rules: the first
    /// one's reason (slsa-verifier's choice).
    #[error("{origin}: {error}{}", if *others > 0 { format!(" (and {others} other attestation(s) failed)") } else { String::new() })]
    Rules {
        /// Where the first attestation was found.
        origin: Origin,
        /// Why it was rejected.
        error: Box<SlsaError>,
        /// How many further attestations failed the rules.
        others: usize,
    },
}

impl ImageProvenanceError {
    /// A stable, machine-readable reason code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MutableImage { .. } => "slsa-mutable-image",
            Self::Options(e) => e.code(),
            Self::Rules { error, .. } => error.code(),
            Self::Attestations(e) => e.code(),
        }
    }

    /// slsa-verifier's sentinel error name for this failure.
    pub fn upstream_name(&self) -> &'static str {
        match self {
            Self::MutableImage { .. } => "ErrorMutableImage",
            Self::Options(e) => e.upstream_name(),
            Self::Rules { error, .. } => error.upstream_name(),
            Self::Attestations(_) => "ErrorNoValidSignature",
        }
    }

    /// Whether this is an input problem rather than a verification failure.
    pub fn is_input_error(&self) -> bool {
        match self {
            Self::MutableImage { .. } => true,
            Self::Options(e) => e.is_input_error(),
            Self::Rules { error, .. } => error.is_input_error(),
            Self::Attestations(ImageError::Source(crate::oci::SourceError::Invalid { .. })) => true,
            Self::Attestations(_) => false,
        }
    }
}

/// The digest of a digest-pinned reference; a tag is refused.
pub fn pinned_digest(
    reference: &ManifestRef,
    name: &str,
) -> Result<ArtifactDigest, ImageProvenanceError> {
    match reference {
        ManifestRef::Digest(d) => Ok(*d),
        ManifestRef::Tag(_) => Err(ImageProvenanceError::MutableImage {
            found: format!("{name}{reference}"),
        }),
    }
}

/// Verify the SLSA provenance attached to the image `request.image` in
/// `request.source`, with `verifier`'s trust material.
pub async fn verify_image_provenance(
    verifier: &Verifier,
    request: &ImageProvenanceRequest<'_>,
) -> Result<VerifiedImageProvenance, ImageProvenanceError> {
    let &ImageProvenanceRequest {
        source,
        image,
        limits,
        options,
    } = request;
    check_builder_id_supported(options.builder_id.as_deref())
        .map_err(ImageProvenanceError::Options)?;
    let check = CheckOptions {
        limits,
        // The subject is a SLSA rule, checked below with slsa-verifier's
        // error; the cryptography is checked in full.
        insecure_skip_claims: true,
        offline: true,
        tlog: None,
        ..CheckOptions::default()
    };
    let policy = Policy::Identity(IdentityPolicy::any_identity());
    let check = cosign::Check {
        verifier,
        source,
        policy: &policy,
        options: &check,
    };
    let attestations = cosign::verify_image_attestations(&check, image, None)
        .await
        .map_err(ImageProvenanceError::Attestations)?;
    let count = attestations.len();
    let expected_hex = [hex::encode(image.0)];
    let mut first_error: Option<(Origin, SlsaError)> = None;
    let mut others = 0;
    for attestation in attestations {
        match check_attestation(&attestation, &expected_hex, options) {
            Ok(provenance) => {
                return Ok(VerifiedImageProvenance {
                    image: *image,
                    origin: attestation.origin,
                    provenance,
                    attestations: count,
                })
            }
            Err(error) if first_error.is_none() => {
                first_error = Some((attestation.origin, error));
            }
            Err(_) => others += 1,
        }
    }
    match first_error {
        Some((origin, error)) => Err(ImageProvenanceError::Rules {
            origin,
            error: Box::new(error),
            others,
        }),
        // verify_image_attestations returns at least one attestation.
        None => Err(ImageProvenanceError::Attestations(ImageError::NotFound {
            kind: cosign::Kind::Attestation,
            image: format!("{}@{image}", source.name()),
        })),
    }
}

/// The SLSA rules on one cryptographically verified attestation.
fn check_attestation(
    attestation: &VerifiedAttestation,
    expected_hex: &[String],
    options: &ProvenanceOptions,
) -> Result<VerifiedProvenance, SlsaError> {
    let claims =
        attestation
            .verified
            .certificate
            .as_ref()
            .ok_or(SlsaError::InvalidCertificate {
                expected: "a Fulcio certificate",
                found: "a key-signed attestation".into(),
            })?;
    // The bytes whose signature verified, not a re-decoding of the
    // envelope's JSON copy.
    verify_provenance(&ProvenanceCheck {
        claims,
        payload_type: &attestation.payload_type,
        payload: &attestation.payload,
        expected_digests: expected_hex,
        options,
        trusted: &TrustedBuilders::IMAGE,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_refused() {
        let err = pinned_digest(&ManifestRef::Tag("v1".into()), "r.example/app").unwrap_err();
        assert!(
            matches!(err, ImageProvenanceError::MutableImage { ref found } if found == "r.example/app:v1")
        );
        assert_eq!(err.upstream_name(), "ErrorMutableImage");
        let d = ArtifactDigest::of(b"x");
        assert_eq!(pinned_digest(&ManifestRef::Digest(d), "r").unwrap(), d);
    }
}

//! Sigstore bundle referrers: the referrer manifest is read by digest, its
//! **subject must be the image** ([`CandidateError::SubjectMismatch`]
//! otherwise), its bundle verified, and its statement checked; as a
//! signature it must be cosign's signing statement, shown as cosign shows
//! it.

use sigstore_types::SignatureContent;

use super::*;
use crate::artifact::{Artifact, ArtifactDigest};
use crate::error::VerifyError;
use crate::identity::Policy;
use crate::oci::{
    fetch_blob, fetch_manifest, Descriptor, ImageSource, Manifest, ManifestRef, SourceError,
};
use crate::outcome::Verified;
use crate::Verifier;

/// The first SHA-256 subject of a statement.
pub(super) fn first_subject(statement: &serde_json::Value) -> Option<ArtifactDigest> {
    crate::intoto::subjects(statement)
        .iter()
        .find_map(|s| s.digest.get("sha256"))
        .and_then(|hex| ArtifactDigest::parse(&format!("sha256:{hex}")).ok())
}

/// A verified Sigstore bundle referrer.
pub(super) struct BundleReferrer {
    pub(super) envelope: serde_json::Value,
    pub(super) statement: serde_json::Value,
    pub(super) payload_type: String,
    pub(super) payload: Vec<u8>,
    pub(super) predicate_type: String,
    pub(super) verified: Verified,
}

/// The bytes the referrers of one image may make us read in all (the
/// declared sizes of each referrer manifest and of its bundle layer):
/// [`crate::oci::OciLimits::max_candidate_bytes`], the same bound on the
/// work per image as the tag scheme's layers have. Charged before each read.
pub(super) struct ReferrerWork {
    limit: u64,
    spent: u64,
    /// Set (to the total that would have been read) once the bound is hit:
    /// the image then fails with [`ImageError::CandidatesTooLarge`].
    pub(super) exceeded: Option<u64>,
}

impl ReferrerWork {
    pub(super) fn new(limits: &crate::oci::OciLimits) -> Self {
        Self {
            limit: limits.max_candidate_bytes,
            spent: 0,
            exceeded: None,
        }
    }

    /// Charge `size` declared bytes; past the bound, record it and refuse.
    fn charge(&mut self, size: i64) -> Result<(), CandidateError> {
        let size = u64::try_from(size).unwrap_or(u64::MAX);
        self.spent = self.spent.saturating_add(size);
        if self.spent > self.limit {
            self.exceeded = Some(self.spent);
            return Err(malformed(format!(
                "the referrers declare {} bytes in all, more than the {} bytes verified per image",
                self.spent, self.limit
            )));
        }
        Ok(())
    }

    /// The image's error once the bound was hit.
    pub(super) fn error(&self, kind: Kind, image: &str) -> Option<ImageError> {
        self.exceeded.map(|found| ImageError::CandidatesTooLarge {
            kind,
            image: image.to_string(),
            limit: self.limit,
            found,
        })
    }
}

pub(super) async fn verify_bundle_referrer(
    source: &dyn ImageSource,
    image: &ArtifactDigest,
    verifier: &Verifier,
    policy: &Policy,
    options: &CheckOptions<'_>,
    descriptor: &Descriptor,
    work: &mut ReferrerWork,
) -> Result<BundleReferrer, CandidateError> {
    let limits = &options.limits;
    let digest = descriptor.sha256()?;
    work.charge(descriptor.size)?;
    let fetched = fetch_manifest(source, &ManifestRef::Digest(digest), limits)
        .await?
        .ok_or_else(|| SourceError::NotFound {
            what: format!("referrer {}@{digest}", source.name()),
        })?;
    let Manifest::Image(manifest) = fetched.manifest else {
        return Err(malformed("the referrer is an index, not a bundle manifest"));
    };
    match manifest.subject.as_ref().map(|s| s.digest.as_str()) {
        Some(subject) if subject == image.to_string() => {}
        other => {
            return Err(CandidateError::SubjectMismatch {
                expected: image.to_string(),
                found: other.map(str::to_string),
            })
        }
    }
    let layer = manifest
        .layers
        .iter()
        .find(|l| {
            l.media_type
                .starts_with("application/vnd.dev.sigstore.bundle")
        })
        .ok_or_else(|| malformed("the referrer has no Sigstore bundle layer"))?;
    work.charge(layer.size)?;
    let bytes = fetch_blob(source, layer, limits.max_payload_bytes).await?;
    let bundle = crate::bundle::parse(&bytes, verifier.limits().max_bundle_bytes)
        .map_err(VerifyError::from)?;
    let SignatureContent::DsseEnvelope(envelope) = &bundle.content else {
        return Err(malformed("the bundle does not contain a DSSE envelope"));
    };
    if envelope.payload_type != IN_TOTO_PAYLOAD_TYPE {
        return Err(malformed(format!(
            "DSSE payload type is {:?}, expected {IN_TOTO_PAYLOAD_TYPE}",
            envelope.payload_type
        )));
    }
    let statement: serde_json::Value = serde_json::from_slice(envelope.payload.as_bytes())
        .map_err(|e| malformed(format!("the DSSE payload is not an in-toto statement: {e}")))?;
    let binding = if options.insecure_skip_claims {
        first_subject(&statement).unwrap_or(*image)
    } else {
        *image
    };
    let verified = verifier.verify_bundle(&bytes, Artifact::Digest(binding), policy)?;
    if !options.insecure_skip_claims {
        claims::check_statement(&statement, image, &options.annotations)?;
    }
    let predicate_type = statement
        .get("predicateType")
        .and_then(|p| p.as_str())
        .unwrap_or_default()
        .to_string();
    Ok(BundleReferrer {
        envelope: serde_json::to_value(envelope).unwrap_or(serde_json::Value::Null),
        statement,
        payload_type: envelope.payload_type.clone(),
        payload: envelope.payload.as_bytes().to_vec(),
        predicate_type,
        verified: (*verified).clone(),
    })
}

/// A bundle referrer as an image signature: it must be cosign's signing
/// statement. Its claims are shown as cosign shows them.
pub(super) fn signature_from_bundle(
    source: &dyn ImageSource,
    image: &ArtifactDigest,
    r: BundleReferrer,
) -> Result<VerifiedSignature, CandidateError> {
    if r.predicate_type != COSIGN_SIGN_PREDICATE {
        return Err(malformed(format!(
            "the bundle is an attestation of type {}, not an image signature ({COSIGN_SIGN_PREDICATE})",
            r.predicate_type
        )));
    }
    let subjects = crate::intoto::subjects(&r.statement);
    let annotations = crate::intoto::find(&subjects, "sha256", &hex::encode(image.0))
        .and_then(|s| s.annotations.clone());
    let claims = serde_json::json!({
        "critical": {
            "identity": {"docker-reference": source.name()},
            "image": {"docker-manifest-digest": image.to_string()},
            "type": r.predicate_type,
        },
        "optional": annotations.map_or(serde_json::Value::Null, serde_json::Value::Object),
    });
    Ok(VerifiedSignature {
        origin: Origin::Referrer { manifest: *image },
        payload: serde_json::to_vec(&r.statement).unwrap_or_default(),
        claims,
        verified: r.verified,
        rekor_bundle: None,
        rfc3161_timestamp: None,
    })
}

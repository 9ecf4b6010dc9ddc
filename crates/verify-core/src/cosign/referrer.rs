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
    statement
        .get("subject")?
        .as_array()?
        .iter()
        .find_map(|s| s.pointer("/digest/sha256")?.as_str())
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

pub(super) async fn verify_bundle_referrer(
    source: &dyn ImageSource,
    image: &ArtifactDigest,
    verifier: &Verifier,
    policy: &Policy,
    options: &CheckOptions<'_>,
    descriptor: &Descriptor,
) -> Result<BundleReferrer, CandidateError> {
    let limits = &options.limits;
    let digest = descriptor.sha256()?;
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
    let subject = r
        .statement
        .get("subject")
        .and_then(|s| s.as_array())
        .and_then(|s| {
            s.iter().find(|s| {
                s.pointer("/digest/sha256").and_then(|d| d.as_str())
                    == Some(hex::encode(image.0).as_str())
            })
        })
        .cloned()
        .unwrap_or(serde_json::Value::Null);
    let claims = serde_json::json!({
        "critical": {
            "identity": {"docker-reference": source.name()},
            "image": {"docker-manifest-digest": image.to_string()},
            "type": r.predicate_type,
        },
        "optional": subject.get("annotations").cloned().unwrap_or(serde_json::Value::Null),
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

//! Verifying one layer of cosign's tag-scheme manifest: a signature
//! (simple-signing payload) or an attestation (DSSE envelope), its evidence
//! in the layer's annotations; then its claims.

use super::claims::{ClaimError, SimpleSigning};

use super::legacy::{Envelope, LayerEvidence, Signed};
use super::*;
use crate::artifact::ArtifactDigest;
use crate::error::VerifyError;
use crate::identity::{Policy, PolicyError};
use crate::oci::{fetch_blob, Descriptor, ImageSource};
use crate::Verifier;

pub(super) async fn verify_legacy_signature(
    source: &dyn ImageSource,
    image: &ArtifactDigest,
    verifier: &Verifier,
    policy: &Policy,
    options: &CheckOptions<'_>,
    layer: &Descriptor,
) -> Result<VerifiedSignature, CandidateError> {
    let payload = fetch_blob(source, layer, options.limits.max_payload_bytes).await?;
    let evidence = LayerEvidence::from_annotations(&layer.annotations, true).map_err(malformed)?;
    let keyless = matches!(policy, Policy::Identity(_));
    if keyless && evidence.certificate.is_none() {
        return Err(VerifyError::from(PolicyError::WrongBundleKind {
            expected: "a keyless signature with a Fulcio certificate",
            found: "a signature without a certificate",
        })
        .into());
    }
    let payload_sha256 = *sigstore_crypto::sha256(&payload).as_bytes();
    let verified = verify_with_log_evidence(
        verifier,
        policy,
        options,
        &evidence,
        &payload_sha256,
        &payload_sha256,
        &|entries, with_timestamps| {
            let mut evidence = evidence.clone();
            if !with_timestamps {
                evidence.rfc3161 = None;
            }
            vec![legacy::synthesize(
                &evidence,
                keyless,
                Signed::Message(&payload),
                entries,
            )]
        },
        Bound::Bytes(&payload),
        &|| direct_message_signature(policy, &evidence.signature, &payload),
    )
    .await?;
    let claims: serde_json::Value = serde_json::from_slice(&payload).map_err(|e| {
        CandidateError::Claims(ClaimError::Malformed {
            detail: e.to_string(),
        })
    })?;
    if !options.insecure_skip_claims {
        SimpleSigning::parse(&payload)?.check(image, &options.annotations)?;
    }
    Ok(VerifiedSignature {
        origin: Origin::Referrer { manifest: *image },
        payload,
        claims,
        verified,
        rekor_bundle: evidence.rekor_json.clone(),
        rfc3161_timestamp: evidence.rfc3161_json.clone(),
    })
}

pub(super) async fn verify_legacy_attestation(
    source: &dyn ImageSource,
    image: &ArtifactDigest,
    verifier: &Verifier,
    policy: &Policy,
    options: &CheckOptions<'_>,
    layer: &Descriptor,
) -> Result<VerifiedAttestation, CandidateError> {
    let bytes = fetch_blob(source, layer, options.limits.max_payload_bytes).await?;
    let mut evidence =
        LayerEvidence::from_annotations(&layer.annotations, false).map_err(malformed)?;
    let envelope = Envelope::parse(&bytes).map_err(malformed)?;
    if envelope.payload_type != IN_TOTO_PAYLOAD_TYPE {
        return Err(malformed(format!(
            "DSSE payload type is {:?}, expected {IN_TOTO_PAYLOAD_TYPE}",
            envelope.payload_type
        )));
    }
    let statement: serde_json::Value = serde_json::from_slice(&envelope.payload)
        .map_err(|e| malformed(format!("the DSSE payload is not an in-toto statement: {e}")))?;
    let predicate_type = statement
        .get("predicateType")
        .and_then(|p| p.as_str())
        .ok_or_else(|| malformed("the in-toto statement has no predicateType"))?
        .to_string();
    let keyless = matches!(policy, Policy::Identity(_));
    if keyless && evidence.certificate.is_none() {
        return Err(VerifyError::from(PolicyError::WrongBundleKind {
            expected: "a keyless attestation with a Fulcio certificate",
            found: "an attestation without a certificate",
        })
        .into());
    }
    // cosign timestamps an attestation's envelope, not its signature: verify
    // it here, against the envelope bytes; it is not part of the bundle.
    let tsa_time = match evidence.rfc3161.take() {
        Some(token) => Some(verify_envelope_timestamp(
            verifier,
            &token,
            &bytes,
            evidence.certificate.as_ref(),
        )?),
        None => None,
    };
    let binding = if options.insecure_skip_claims {
        first_subject(&statement).unwrap_or(*image)
    } else {
        *image
    };
    let envelope_sha256 = *sigstore_crypto::sha256(&bytes).as_bytes();
    let payload_sha256 = *sigstore_crypto::sha256(&envelope.payload).as_bytes();
    let mut verified = match (&evidence.rekor, policy, tsa_time) {
        (Some(rekor), _, _)
            if rekor
                .kind()
                .is_some_and(|(k, v)| k == "intoto" && v == "0.0.1") =>
        {
            intoto_v001::verify(verifier, policy, &bytes, &envelope, &evidence, rekor)?
        }
        // No log evidence, --insecure-ignore-tlog, keyless: the verified
        // RFC 3161 time is the signing time, as cosign accepts it.
        (None, Policy::Identity(identity), Some(time)) if identity.insecure_ignore_tlog => {
            super::timestamp::verify_keyless_envelope_at(
                verifier, identity, &envelope, &evidence, time,
            )?
        }
        _ => {
            verify_with_log_evidence(
                verifier,
                policy,
                options,
                &evidence,
                &envelope_sha256,
                &payload_sha256,
                &|entries, _| {
                    (0..envelope.signatures.len())
                        .filter_map(|i| envelope.with_signature(i))
                        .map(|env| {
                            legacy::synthesize(
                                &evidence,
                                keyless,
                                Signed::Dsse(env),
                                entries.clone(),
                            )
                        })
                        .collect()
                },
                Bound::Digest(binding),
                &|| direct_dsse_signature(policy, &envelope),
            )
            .await?
        }
    };
    // A verified RFC 3161 time is reported as such, besides the log's.
    if let Some(time) = tsa_time.map(|t| t.to_string()) {
        if !verified.signed_timestamps.contains(&time) {
            verified.signed_timestamps.push(time);
        }
    }
    if !options.insecure_skip_claims {
        claims::check_statement(&statement, image, &options.annotations)?;
    }
    Ok(VerifiedAttestation {
        origin: Origin::Referrer { manifest: *image },
        envelope: serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
        statement,
        predicate_type,
        payload_type: envelope.payload_type.clone(),
        payload: envelope.payload.clone(),
        verified,
    })
}

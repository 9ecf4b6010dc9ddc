//! Timestamp checks: RFC 3161 tokens over attestation envelopes, and the
//! keyless attestation whose only verified time is such a token
//! (`--insecure-ignore-tlog`, as cosign allows).

use jiff::Timestamp;
use sigstore_types::SignatureBytes;

use super::legacy::{Envelope, LayerEvidence};
use crate::error::{CertificateError, TimestampError, VerifyError};
use crate::identity::IdentityPolicy;
use crate::outcome::{CertificateClaims, SignerKind, Verified};
use crate::Verifier;

/// Verify an RFC 3161 timestamp over an attestation envelope with the
/// trusted root's timestamp authorities; the time must fall within the
/// certificate's validity.
pub(super) fn verify_envelope_timestamp(
    verifier: &Verifier,
    token: &[u8],
    envelope: &[u8],
    certificate: Option<&sigstore_types::DerCertificate>,
) -> Result<Timestamp, VerifyError> {
    let token = sigstore_types::TimestampToken::new(token.to_vec());
    let data = sigstore_types::SignatureBytes::new(envelope.to_vec());
    let mut last = String::from("the trusted root has no timestamp authority");
    for authority in verifier.trust_root().as_sigstore().tsa_authorities() {
        match crate::tsa::verify_timestamp(&token, &data, &authority) {
            Ok(time) => {
                if let Some(cert) = certificate {
                    let info = sigstore_crypto::parse_certificate_info(cert).map_err(|e| {
                        crate::error::CertificateError::Malformed {
                            detail: e.to_string(),
                        }
                    })?;
                    crate::error::CertificateError::check_validity(
                        time,
                        info.not_before,
                        info.not_after,
                    )?;
                }
                verifier.trust_root().check_tsa_chains()?;
                return Ok(time);
            }
            Err(e) => last = e.to_string(),
        }
    }
    // A broken TSA chain in the trusted root is the reason, if there is one.
    verifier.trust_root().check_tsa_chains()?;
    Err(TimestampError::Invalid { detail: last }.into())
}

/// A keyless attestation with no log evidence, verified at the time its
/// RFC 3161 timestamp proves (`tsa_time`, already verified over the
/// envelope): the certificate chains to a Fulcio CA valid then, was valid
/// then, names the identity `policy` asks for (and carries a valid SCT
/// unless the policy ignores it), and signed the envelope. The verdict
/// reports the timestamp as the signing time, and no log entry.
pub(super) fn verify_keyless_envelope_at(
    verifier: &Verifier,
    policy: &IdentityPolicy,
    envelope: &Envelope,
    evidence: &LayerEvidence,
    tsa_time: Timestamp,
) -> Result<Verified, VerifyError> {
    let leaf = evidence
        .certificate
        .as_ref()
        .ok_or_else(|| CertificateError::Malformed {
            detail: "the attestation has no certificate".into(),
        })?;
    let info =
        sigstore_crypto::parse_certificate_info(leaf).map_err(|e| CertificateError::Malformed {
            detail: e.to_string(),
        })?;
    policy.check(&info)?;
    crate::fips::check_certificate_key(leaf.as_bytes())?;
    verifier.trust_root().check_ca_chains_for(leaf.as_bytes())?;
    let root = verifier.trust_root().as_sigstore();
    let issuer = crate::fulcio::verify_chain(root, leaf, &evidence.chain, tsa_time)?;
    CertificateError::check_validity(tsa_time, info.not_before, info.not_after)?;
    if !policy.insecure_ignore_sct {
        crate::fulcio::verify_sct(root, leaf, &issuer)?;
    }
    let scheme = info.key_algorithm.default_signing_scheme();
    let pae = sigstore_types::pae(&envelope.payload_type, &envelope.payload);
    let mut last = String::from("no signature");
    let signed =
        envelope.signatures.iter().any(|(sig, _)| {
            match sigstore_crypto::verify_signature(
                &info.public_key,
                &pae,
                &SignatureBytes::new(sig.clone()),
                scheme,
            ) {
                Ok(()) => true,
                Err(e) => {
                    last = e.to_string();
                    false
                }
            }
        });
    if !signed {
        return Err(VerifyError::Signature {
            detail: format!("DSSE signature verification failed: {last}"),
        });
    }
    Ok(Verified {
        bundle_media_type: "application/vnd.dsse.envelope.v1+json".into(),
        signer: SignerKind::Certificate,
        identity: info.identity.as_ref().map(|s| s.as_str().to_string()),
        issuer: info.issuer.clone(),
        log_index: None,
        integrated_time: None,
        signed_timestamps: vec![tsa_time.to_string()],
        artifact_digest: None,
        tlog_verified: false,
        sct_verified: !policy.insecure_ignore_sct,
        certificate: Some(CertificateClaims::from_info(&info)),
    })
}

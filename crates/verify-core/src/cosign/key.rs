//! Key checks without a log (`--insecure-ignore-tlog` with `--key`).

use super::legacy::Envelope;
use crate::artifact::ArtifactDigest;
use crate::error::VerifyError;
use crate::identity::{Policy, PolicyError};
use crate::outcome::{SignerKind, Verified};

/// The policy's public key and the signing scheme its algorithm implies;
/// an identity policy cannot check a signature without a certificate.
fn key_and_scheme(
    policy: &Policy,
) -> Result<(&crate::identity::KeyPolicy, sigstore_crypto::SigningScheme), VerifyError> {
    let Policy::Key(key) = policy else {
        return Err(PolicyError::WrongBundleKind {
            expected: "a key policy",
            found: "an identity policy",
        }
        .into());
    };
    crate::fips::check_key(key.key.as_bytes())?;
    let scheme = sigstore_crypto::KeyAlgorithm::from_spki(&key.key)
        .map_err(|e| PolicyError::InvalidKey {
            detail: e.to_string(),
        })?
        .default_signing_scheme();
    Ok((key, scheme))
}

/// A key-based signature checked without a log (`--insecure-ignore-tlog`).
pub(super) fn direct_message_signature(
    policy: &Policy,
    signature: &[u8],
    payload: &[u8],
) -> Result<Verified, VerifyError> {
    let (key, scheme) = key_and_scheme(policy)?;
    sigstore_crypto::verify_signature(
        &key.key,
        payload,
        &sigstore_types::SignatureBytes::new(signature.to_vec()),
        scheme,
    )
    .map_err(|e| VerifyError::Signature {
        detail: e.to_string(),
    })?;
    Ok(key_only_verdict(Some(ArtifactDigest::of(payload))))
}

/// A key-based DSSE envelope checked without a log.
pub(super) fn direct_dsse_signature(
    policy: &Policy,
    envelope: &Envelope,
) -> Result<Verified, VerifyError> {
    let (key, scheme) = key_and_scheme(policy)?;
    let pae = sigstore_types::pae(&envelope.payload_type, &envelope.payload);
    let mut last = String::from("no signature");
    for (sig, _) in &envelope.signatures {
        match sigstore_crypto::verify_signature(
            &key.key,
            &pae,
            &sigstore_types::SignatureBytes::new(sig.clone()),
            scheme,
        ) {
            Ok(()) => return Ok(key_only_verdict(None)),
            Err(e) => last = e.to_string(),
        }
    }
    Err(VerifyError::Signature {
        detail: format!("DSSE signature verification failed: {last}"),
    })
}

pub(super) fn key_only_verdict(artifact: Option<ArtifactDigest>) -> Verified {
    Verified {
        bundle_media_type: "application/vnd.dev.cosign.simplesigning.v1+json".into(),
        signer: SignerKind::PublicKey,
        identity: None,
        issuer: None,
        log_index: None,
        integrated_time: None,
        signed_timestamps: Vec::new(),
        artifact_digest: artifact.map(|d| d.to_string()),
        tlog_verified: false,
        sct_verified: false,
        certificate: None,
    }
}

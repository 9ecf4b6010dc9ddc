//! The message-signature content checks of [`super`], as sigstore-verify
//! 0.15.1 performs them (its `verify.rs` and `verify_impl::hashedrekord`):
//!
//! - [`scheme`]: the signing scheme from the signer's key algorithm and the
//!   bundle's `messageDigest` algorithm (`signing_scheme_for_message_signature`);
//! - [`verify_digest_binding`]: the bundle's `messageDigest`, when present,
//!   is the artifact's digest by that algorithm (`verify_message_digest_binding`);
//! - [`verify_signature`]: the signature over the artifact, prehashed by the
//!   scheme's hash when the scheme has one, over the bytes otherwise; only a
//!   digest and a scheme that cannot verify a prehash (Ed25519) is refused
//!   (`verify_signature_over_artifact`, `ArtifactRequirements::check_reader`);
//! - [`verify_consistency`]: every log entry is `hashedrekord` v0.0.1 or
//!   v0.0.2 and records the artifact's SHA-256, the bundle's certificate
//!   (or the policy's key) and the bundle's signature; a v0.0.1 entry's
//!   integrated time is inside the certificate's validity
//!   (`verify_hashedrekord_entry`).

use jiff::Timestamp;
use sigstore_crypto::{KeyAlgorithm, SigningScheme};
use sigstore_rekor::body::RekorEntryBody;
use sigstore_types::bundle::{MessageSignature, VerificationMaterialContent};
use sigstore_types::{
    Bundle, DerPublicKey, HashAlgorithm, KindVersion, Sha256Hash, SignatureBytes, SignatureContent,
};

use super::log::{malformed, mismatch, unsupported};
use super::Given;
use crate::artifact::{ArtifactError, DigestAlgorithm};
use crate::error::{CertificateError, TlogError, VerifyError};
use crate::identity::{Policy, PolicyError};

/// The signing scheme for `message` signed by a `key_algorithm` key.
pub(super) fn scheme(
    key_algorithm: KeyAlgorithm,
    message: &MessageSignature,
) -> Result<SigningScheme, VerifyError> {
    match &message.message_digest {
        Some(digest) => key_algorithm
            .resolve_signing_scheme(digest.algorithm)
            .map_err(|e| sigstore_verify::Error::Crypto(e).into()),
        None => Ok(key_algorithm.default_signing_scheme()),
    }
}

/// The digests a message-signature `bundle` needs of its artifact (SHA-256
/// first, for the log entry; the `messageDigest`'s; the scheme's hash), as
/// the delegate's `ArtifactRequirements`; for a DSSE bundle, SHA-256 and
/// whichever of SHA-512 and SHA-384 its subjects carry.
pub(crate) fn needed_algorithms(
    bundle: &Bundle,
    policy: &Policy,
) -> Result<Vec<DigestAlgorithm>, VerifyError> {
    let mut algorithms = vec![DigestAlgorithm::Sha256];
    let mut add = |a: HashAlgorithm| -> Result<(), VerifyError> {
        let a = DigestAlgorithm::from_sigstore(a)
            .ok_or_else(|| unsupported(format!("unsupported artifact digest algorithm {a}")))?;
        if !algorithms.contains(&a) {
            algorithms.push(a);
        }
        Ok(())
    };
    match &bundle.content {
        SignatureContent::MessageSignature(message) => {
            if let Some(digest) = &message.message_digest {
                add(digest.algorithm)?;
            }
            if let Some(a) = message_scheme(bundle, message, policy)?.hash_algorithm() {
                add(a)?;
            }
        }
        SignatureContent::DsseEnvelope(envelope) => {
            let subjects = crate::intoto::subjects_of_payload(envelope.payload.as_bytes());
            for (name, a) in [
                ("sha512", HashAlgorithm::Sha2512),
                ("sha384", HashAlgorithm::Sha2384),
            ] {
                if subjects.iter().any(|s| s.digest.contains_key(name)) {
                    add(a)?;
                }
            }
        }
        _ => {}
    }
    Ok(algorithms)
}

/// For a message signature whose scheme cannot verify a prehash (Ed25519),
/// the delegate's refusal to take the artifact as a digest or a reader
/// (`ArtifactRequirements::check_reader`).
pub(crate) fn needs_blob(bundle: &Bundle, policy: &Policy) -> Result<(), VerifyError> {
    if let SignatureContent::MessageSignature(message) = &bundle.content {
        let scheme = message_scheme(bundle, message, policy)?;
        if !scheme.supports_prehashed() {
            return Err(no_prehash(scheme));
        }
    }
    Ok(())
}

fn no_prehash(scheme: SigningScheme) -> VerifyError {
    unsupported(format!(
        "cannot verify signature from a digest or reader - scheme {} does not support prehashed mode",
        scheme.name()
    ))
}

fn message_scheme(
    bundle: &Bundle,
    message: &MessageSignature,
    policy: &Policy,
) -> Result<SigningScheme, VerifyError> {
    let key_algorithm = match policy {
        Policy::Key(key) => {
            KeyAlgorithm::from_spki(&key.key).map_err(|e| PolicyError::InvalidKey {
                detail: e.to_string(),
            })?
        }
        Policy::Identity(_) => {
            let leaf = bundle
                .signing_certificate()
                .ok_or_else(|| unsupported("bundle has no signing certificate"))?;
            sigstore_crypto::parse_certificate_info(leaf)
                .map_err(|e| CertificateError::Malformed {
                    detail: format!("failed to parse certificate: {e}"),
                })?
                .key_algorithm
        }
    };
    scheme(key_algorithm, message)
}

/// The bundle's `messageDigest`, when present, is the artifact's.
pub(super) fn verify_digest_binding(
    message: &MessageSignature,
    artifact: &Given<'_>,
) -> Result<(), VerifyError> {
    if let Some(digest) = &message.message_digest {
        let algorithm = DigestAlgorithm::from_sigstore(digest.algorithm).ok_or_else(|| {
            unsupported(format!(
                "unsupported message digest algorithm {}",
                digest.algorithm
            ))
        })?;
        if digest.digest.as_bytes() != artifact.get(algorithm)?.as_bytes() {
            return Err(ArtifactError::Mismatch {
                detail: "message digest in bundle does not match artifact hash".into(),
            }
            .into());
        }
    }
    Ok(())
}

/// The signature over the artifact with `key`: over the scheme's prehash
/// when it has one, else over the bytes, which must then be known.
pub(super) fn verify_signature(
    key: &DerPublicKey,
    scheme: SigningScheme,
    signature: &SignatureBytes,
    artifact: &Given<'_>,
) -> Result<(), VerifyError> {
    let result = match (scheme.hash_algorithm(), artifact.blob) {
        (Some(algorithm), _) => {
            let algorithm = DigestAlgorithm::from_sigstore(algorithm).ok_or_else(|| {
                unsupported(format!("unsupported signature hash algorithm {algorithm}"))
            })?;
            let digest = artifact.get(algorithm)?;
            sigstore_crypto::verify_signature_prehashed(key, digest.as_bytes(), signature, scheme)
        }
        (None, Some(blob)) => sigstore_crypto::verify_signature(key, blob, signature, scheme),
        (None, None) => return Err(no_prehash(scheme)),
    };
    result.map_err(|e| VerifyError::Signature {
        detail: format!("signature verification failed: {e}"),
    })
}

/// Every log entry is a `hashedrekord` describing this artifact, signer and
/// signature (CVE-2022-36056); `validity` is the certificate's, for a
/// keyless bundle.
pub(super) fn verify_consistency(
    bundle: &Bundle,
    message: &MessageSignature,
    artifact: &Given<'_>,
    managed_key: Option<&DerPublicKey>,
    validity: Option<(Timestamp, Timestamp)>,
) -> Result<(), VerifyError> {
    for entry in &bundle.verification_material.tlog_entries {
        if !matches!(
            entry.kind_version,
            KindVersion::HashedRekordV001 | KindVersion::HashedRekordV002
        ) {
            return Err(unsupported(format!(
                "Rekor entry {}/{} is incompatible with a message signature",
                entry.kind_version.kind(),
                entry.kind_version.version()
            )));
        }
        let body = RekorEntryBody::parse(&entry.canonicalized_body, entry.kind_version)
            .map_err(|e| malformed(format!("failed to parse Rekor body: {e}")))?;
        let hash = artifact.get(DigestAlgorithm::Sha256)?;
        let (logged_hash, logged_signature) = match &body {
            RekorEntryBody::HashedRekordV001(rekord) => (
                Sha256Hash::from_hex(rekord.spec.data.hash.value.as_str())
                    .map_err(|e| malformed(format!("invalid hash in Rekor entry: {e}")))?,
                &rekord.spec.signature.content,
            ),
            RekorEntryBody::HashedRekordV002(rekord) => {
                let logged = &rekord.spec.hashed_rekord_v002;
                if logged.data.algorithm != HashAlgorithm::Sha2256 {
                    return Err(unsupported(format!(
                        "unsupported Rekor v2 digest algorithm: {}",
                        logged.data.algorithm
                    )));
                }
                (
                    Sha256Hash::try_from(&logged.data.digest)
                        .map_err(|e| malformed(format!("invalid digest in Rekor entry: {e}")))?,
                    &logged.signature.content,
                )
            }
            _ => {
                return Err(malformed(format!(
                    "expected HashedRekord body, got different type for version {}",
                    entry.kind_version.version()
                )))
            }
        };
        if hash.as_bytes() != logged_hash.as_bytes() {
            return Err(ArtifactError::Mismatch {
                detail: "artifact hash mismatch for hashedrekord entry".into(),
            }
            .into());
        }
        verify_verifier(&body, bundle, managed_key)?;
        if &message.signature != logged_signature {
            return Err(mismatch(
                "signature in bundle does not match signature in Rekor entry",
            ));
        }
        if let (KindVersion::HashedRekordV001, Some(time), Some((not_before, not_after))) =
            (entry.kind_version, entry.integrated_time, validity)
        {
            if time < not_before || time > not_after {
                return Err(TlogError::IntegratedTime {
                    detail: format!(
                        "integrated time {time} is outside certificate validity period ({not_before} to {not_after})"
                    ),
                }
                .into());
            }
        }
    }
    Ok(())
}

/// The entry's verifier is the bundle's certificate, or the policy's key
/// for a key-based bundle.
fn verify_verifier(
    body: &RekorEntryBody,
    bundle: &Bundle,
    managed_key: Option<&DerPublicKey>,
) -> Result<(), VerifyError> {
    let cert = match &bundle.verification_material.content {
        VerificationMaterialContent::X509CertificateChain { certificates } => {
            certificates.first().map(|c| &c.raw_bytes)
        }
        VerificationMaterialContent::Certificate(cert) => Some(&cert.raw_bytes),
        VerificationMaterialContent::PublicKey(_) => None,
        _ => return Err(unsupported("unsupported bundle verification material")),
    };
    let Some(cert) = cert else {
        let expected = managed_key.ok_or_else(|| {
            mismatch("Rekor verifier cannot be bound without the managed public key")
        })?;
        let logged = match body {
            RekorEntryBody::HashedRekordV001(rekord) => rekord
                .spec
                .signature
                .public_key
                .parse_public_key()
                .map_err(|e| malformed(e.to_string()))?,
            RekorEntryBody::HashedRekordV002(rekord) => rekord
                .spec
                .hashed_rekord_v002
                .signature
                .verifier
                .public_key
                .as_ref()
                .map(|key| key.raw_bytes.clone())
                .ok_or_else(|| {
                    mismatch("managed-key Rekor entry contains no public-key verifier")
                })?,
            _ => return Err(unsupported("unsupported Rekor verifier type")),
        };
        if logged.as_bytes() != expected.as_bytes() {
            return Err(mismatch(
                "public key in Rekor entry does not match managed key",
            ));
        }
        return Ok(());
    };
    let logged: Option<Vec<u8>> = match body {
        RekorEntryBody::HashedRekordV001(rekord) => Some(
            rekord
                .spec
                .signature
                .public_key
                .parse_certificate()
                .map_err(|e| malformed(e.to_string()))?
                .as_bytes()
                .to_vec(),
        ),
        RekorEntryBody::HashedRekordV002(rekord) => rekord
            .spec
            .hashed_rekord_v002
            .signature
            .verifier
            .x509_certificate
            .as_ref()
            .map(|c| c.raw_bytes.as_bytes().to_vec()),
        _ => None,
    };
    let logged =
        logged.ok_or_else(|| mismatch("certificate-backed Rekor entry contains no certificate"))?;
    if cert.as_bytes() != logged.as_slice() {
        return Err(mismatch(
            "certificate in bundle does not match certificate in Rekor entry",
        ));
    }
    Ok(())
}

//! The DSSE content checks of [`super`], as sigstore-verify 0.15.1 performs
//! them: the in-toto statement binds the artifact (its
//! `ArtifactRequirements`, with SHA-384 subjects too), the signature over
//! the PAE (`verify_dsse_envelope_signature`), and each log entry's body
//! describes this envelope and signer (its `verify_impl::rekor` and
//! `hashedrekord`): `dsse` v0.0.1, `intoto` v0.0.2, or Rekor v2
//! `hashedrekord` v0.0.2 over the PAE; any other kind is unsupported.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use der::{Decode, Encode};
use sigstore_rekor::body::RekorEntryBody;
use sigstore_types::bundle::VerificationMaterialContent;
use sigstore_types::{
    Bundle, DerCertificate, DerPublicKey, DsseEnvelope, HashAlgorithm, KindVersion, Sha256Hash,
    Statement,
};

use super::log::{malformed, mismatch, unsupported};
use super::Given;
use crate::artifact::ArtifactError;
use crate::error::{CertificateError, VerifyError};

/// The payload is an in-toto statement (as the delegate parses it) with
/// subjects, one of which carries one of the artifact's digests (tried in
/// the order given; a miss is reported by the first).
pub(super) fn bind(envelope: &DsseEnvelope, artifact: &Given<'_>) -> Result<(), VerifyError> {
    if envelope.payload_type != crate::intoto::IN_TOTO_PAYLOAD_TYPE {
        return Err(unsupported(format!(
            "unsupported DSSE payload type {:?}: cannot bind artifact to attestation",
            envelope.payload_type
        )));
    }
    let statement: Statement = serde_json::from_slice(envelope.payload.as_bytes())
        .map_err(|e| unsupported(format!("failed to parse in-toto statement: {e}")))?;
    if statement.subject.is_empty() {
        return Err(unsupported(
            "in-toto statement has no subjects: cannot bind artifact to attestation",
        ));
    }
    let subjects = crate::intoto::subjects_of_payload(envelope.payload.as_bytes());
    let bound = artifact.digests.iter().any(|d| {
        crate::intoto::find(&subjects, d.algorithm().name(), &hex::encode(d.as_bytes())).is_some()
    });
    if bound {
        return Ok(());
    }
    let first = artifact
        .digests
        .first()
        .ok_or_else(|| unsupported("no artifact digest to bind"))?;
    let name = first.algorithm().name();
    Err(ArtifactError::NotASubject {
        subjects: subjects.iter().filter_map(|s| s.describe(name)).collect(),
        found: first.to_string(),
    }
    .into())
}

/// The envelope's signature over its PAE.
pub(super) fn verify_pae_signature(
    envelope: &DsseEnvelope,
    key: &DerPublicKey,
    scheme: sigstore_crypto::SigningScheme,
) -> Result<(), VerifyError> {
    sigstore_crypto::verify_signature(key, &envelope.pae(), &envelope.signature.sig, scheme)
        .map_err(|e| VerifyError::Signature {
            detail: format!("DSSE signature verification failed: {e}"),
        })
}

/// Every entry's body describes `envelope` and its signer: the bundle's
/// certificate, or `managed_key` for a key-based bundle (CVE-2022-36056).
pub(super) fn verify_consistency(
    bundle: &Bundle,
    envelope: &DsseEnvelope,
    managed_key: Option<&DerPublicKey>,
) -> Result<(), VerifyError> {
    for entry in &bundle.verification_material.tlog_entries {
        let parse = || {
            RekorEntryBody::parse(&entry.canonicalized_body, entry.kind_version)
                .map_err(|e| malformed(format!("failed to parse Rekor body: {e}")))
        };
        match entry.kind_version {
            KindVersion::DsseV001 => match parse()? {
                RekorEntryBody::DsseV001(body) => dsse_v001(&body, envelope, bundle, managed_key)?,
                _ => return Err(malformed("expected a dsse v0.0.1 body")),
            },
            KindVersion::IntotoV002 => match parse()? {
                RekorEntryBody::IntotoV002(body) => {
                    intoto_v002(&body, envelope, bundle, managed_key)?
                }
                _ => return Err(malformed("expected an intoto v0.0.2 body")),
            },
            KindVersion::HashedRekordV002 => match parse()? {
                RekorEntryBody::HashedRekordV002(body) => {
                    hashedrekord_v002(&body, envelope, bundle, managed_key)?
                }
                _ => return Err(malformed("expected a hashedrekord v0.0.2 body")),
            },
            other => {
                return Err(unsupported(format!(
                    "Rekor entry {}/{} is incompatible with a DSSE envelope",
                    other.kind(),
                    other.version()
                )))
            }
        }
    }
    Ok(())
}

/// `dsse` v0.0.1: payload hash, one signature equal to the envelope's, its
/// verifier the bundle's certificate (or the managed key).
fn dsse_v001(
    body: &sigstore_rekor::body::DsseV001Body,
    envelope: &DsseEnvelope,
    bundle: &Bundle,
    managed_key: Option<&DerPublicKey>,
) -> Result<(), VerifyError> {
    let payload_hash = &body.spec.payload_hash;
    if payload_hash.algorithm != HashAlgorithm::Sha2256 {
        return Err(unsupported("unsupported DSSE payload hash algorithm"));
    }
    let computed = hex::encode(sigstore_crypto::sha256(envelope.payload.as_bytes()));
    if computed != payload_hash.value {
        return Err(mismatch(format!(
            "DSSE payload hash mismatch: computed {computed}, the log records {}",
            payload_hash.value
        )));
    }
    let [logged] = body.spec.signatures.as_slice() else {
        return Err(mismatch(format!(
            "DSSE signature count mismatch: bundle has 1, Rekor entry has {}",
            body.spec.signatures.len()
        )));
    };
    if envelope.signature.sig.as_bytes() != logged.signature.as_bytes() {
        return Err(mismatch(
            "the DSSE signature in the bundle is not the one in the Rekor entry",
        ));
    }
    match bundle.signing_certificate() {
        Some(cert) => {
            let logged_cert = logged
                .parse_certificate()
                .map_err(|e| malformed(e.to_string()))?;
            if cert.as_bytes() != logged_cert.as_bytes() {
                return Err(mismatch(
                    "the Rekor entry's verifier is not the bundle's certificate",
                ));
            }
        }
        None => {
            let expected = managed_key.ok_or_else(|| {
                mismatch("DSSE Rekor signature cannot be bound without the managed public key")
            })?;
            let logged_key = match logged.parse_certificate() {
                Ok(cert) => certificate_public_key(&cert)?,
                Err(_) => {
                    let pem = std::str::from_utf8(logged.verifier.as_bytes())
                        .map_err(|e| malformed(format!("invalid DSSE verifier: {e}")))?;
                    DerPublicKey::from_pem(pem)
                        .map_err(|e| malformed(format!("invalid DSSE verifier: {e}")))?
                }
            };
            if logged_key != *expected {
                return Err(mismatch(
                    "the Rekor entry's verifier is not the managed public key",
                ));
            }
        }
    }
    Ok(())
}

/// `intoto` v0.0.2: payload hash, payload type, one signature (base64 in
/// the body) equal to the envelope's, its key the signer's.
fn intoto_v002(
    body: &sigstore_rekor::body::IntotoV002Body,
    envelope: &DsseEnvelope,
    bundle: &Bundle,
    managed_key: Option<&DerPublicKey>,
) -> Result<(), VerifyError> {
    let content = &body.spec.content;
    if content.payload_hash.algorithm != HashAlgorithm::Sha2256 {
        return Err(unsupported(format!(
            "unsupported intoto payload hash algorithm: {}",
            content.payload_hash.algorithm
        )));
    }
    let logged_hash = content
        .payload_hash
        .value
        .decode()
        .map_err(|e| malformed(format!("invalid intoto payload hash: {e}")))?;
    if sigstore_crypto::sha256(envelope.payload.as_bytes()).as_bytes() != logged_hash.as_slice() {
        return Err(mismatch(
            "DSSE payload hash does not match the intoto entry",
        ));
    }
    if envelope.payload_type != content.envelope.payload_type {
        return Err(mismatch(format!(
            "DSSE payload type mismatch: bundle has {:?}, Rekor entry has {:?}",
            envelope.payload_type, content.envelope.payload_type
        )));
    }
    let expected = match &bundle.verification_material.content {
        VerificationMaterialContent::X509CertificateChain { certificates } => {
            let leaf = certificates
                .first()
                .ok_or_else(|| unsupported("bundle certificate chain is empty"))?;
            certificate_public_key(&leaf.raw_bytes)?
        }
        VerificationMaterialContent::Certificate(cert) => certificate_public_key(&cert.raw_bytes)?,
        VerificationMaterialContent::PublicKey(_) => managed_key.cloned().ok_or_else(|| {
            mismatch("intoto Rekor signature cannot be bound without the managed public key")
        })?,
        _ => return Err(unsupported("unsupported bundle verification material")),
    };
    let [logged] = content.envelope.signatures.as_slice() else {
        return Err(mismatch(format!(
            "DSSE signature count mismatch: bundle has 1, Rekor entry has {}",
            content.envelope.signatures.len()
        )));
    };
    // Canonical intoto v0.0.2 bodies base64 the signature once more.
    let logged_sig = STANDARD
        .decode(logged.sig.as_bytes())
        .map_err(|e| malformed(format!("failed to decode the Rekor signature: {e}")))?;
    if envelope.signature.sig.as_bytes() != logged_sig.as_slice() {
        return Err(mismatch(
            "the DSSE signature in the bundle is not the intoto entry's",
        ));
    }
    let logged_key = match logged.parse_certificate() {
        Ok(cert) => certificate_public_key(&cert)?,
        Err(_) => logged
            .parse_public_key()
            .map_err(|e| malformed(e.to_string()))?,
    };
    if logged_key.as_bytes() != expected.as_bytes() {
        return Err(mismatch(
            "the intoto entry's verifier is not the bundle's signer",
        ));
    }
    Ok(())
}

/// Rekor v2 `hashedrekord` v0.0.2 over a DSSE envelope: the logged SHA-256
/// is that of the PAE, the verifier is the signer, the signature the
/// envelope's.
fn hashedrekord_v002(
    body: &sigstore_rekor::body::HashedRekordV002Body,
    envelope: &DsseEnvelope,
    bundle: &Bundle,
    managed_key: Option<&DerPublicKey>,
) -> Result<(), VerifyError> {
    let logged = &body.spec.hashed_rekord_v002;
    if logged.data.algorithm != HashAlgorithm::Sha2256 {
        return Err(unsupported(format!(
            "unsupported Rekor v2 digest algorithm: {}",
            logged.data.algorithm
        )));
    }
    let expected = Sha256Hash::try_from(&logged.data.digest)
        .map_err(|e| malformed(format!("invalid digest in Rekor entry: {e}")))?;
    if sigstore_crypto::sha256(&envelope.pae()) != expected {
        return Err(crate::artifact::ArtifactError::Mismatch {
            detail: "artifact hash mismatch for hashedrekord entry".into(),
        }
        .into());
    }
    let verifier = &logged.signature.verifier;
    match &bundle.verification_material.content {
        VerificationMaterialContent::X509CertificateChain { .. }
        | VerificationMaterialContent::Certificate(_) => {
            let cert = bundle
                .signing_certificate()
                .ok_or_else(|| unsupported("bundle has no signing certificate"))?;
            let logged_cert = verifier.x509_certificate.as_ref().ok_or_else(|| {
                mismatch("certificate-backed Rekor entry contains no certificate")
            })?;
            if cert.as_bytes() != logged_cert.raw_bytes.as_bytes() {
                return Err(mismatch(
                    "certificate in bundle does not match certificate in Rekor entry",
                ));
            }
        }
        VerificationMaterialContent::PublicKey(_) => {
            let expected = managed_key.ok_or_else(|| {
                mismatch("Rekor verifier cannot be bound without the managed public key")
            })?;
            let logged_key = verifier.public_key.as_ref().ok_or_else(|| {
                mismatch("managed-key Rekor entry contains no public-key verifier")
            })?;
            if logged_key.raw_bytes.as_bytes() != expected.as_bytes() {
                return Err(mismatch(
                    "public key in Rekor entry does not match managed key",
                ));
            }
        }
        _ => return Err(unsupported("unsupported bundle verification material")),
    }
    if envelope.signature.sig != logged.signature.content {
        return Err(mismatch(
            "DSSE signature in bundle does not match signature in Rekor entry",
        ));
    }
    Ok(())
}

/// The SubjectPublicKeyInfo (DER) of a certificate.
pub(super) fn certificate_public_key(cert: &DerCertificate) -> Result<DerPublicKey, VerifyError> {
    let malformed = |e: der::Error| {
        VerifyError::from(CertificateError::Malformed {
            detail: format!("signing certificate: {e}"),
        })
    };
    let parsed = x509_cert::Certificate::from_der(cert.as_bytes()).map_err(malformed)?;
    let spki = parsed
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(malformed)?;
    Ok(DerPublicKey::new(spki))
}

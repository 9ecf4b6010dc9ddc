//! The transparency-log checks of [`super`], as sigstore-verify 0.15.1
//! performs them on a DSSE bundle (its `verify_impl::tlog` and
//! `verify_impl::rekor`, which are `pub(crate)` there):
//!
//! - [`verify_entry_inclusion`]: the Merkle inclusion proof of the entry's
//!   canonicalized body (RFC 6962 leaf hash), the signed checkpoint (Rekor
//!   v1: its root equals the proof's root; Rekor v2: index from the entry,
//!   size and root from the checkpoint), and the SET when present;
//! - [`verify_set`]: the SET over the canonical JSON of body, integrated
//!   time, log ID and log index, with the trusted log key valid at the
//!   integrated time;
//! - [`check_integrated_time`]: not in the future, inside the certificate's
//!   validity;
//! - [`verify_consistency`]: the entry's body describes this envelope
//!   (`dsse` v0.0.1, `intoto` v0.0.2, or Rekor v2 `hashedrekord` v0.0.2
//!   over the PAE) and this signer; any other kind is unsupported.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use der::{Decode, Encode};
use jiff::Timestamp;
use sigstore_crypto::Keyring;
use sigstore_rekor::body::RekorEntryBody;
use sigstore_types::bundle::VerificationMaterialContent;
use sigstore_types::{
    Bundle, DerCertificate, DerPublicKey, DsseEnvelope, HashAlgorithm, KindVersion, Sha256Hash,
    TransparencyLogEntry,
};

use crate::error::{CertificateError, TlogError, VerifyError};

/// Rekor v1 entry kinds: their integrated time is authenticated by a SET.
pub(super) fn is_rekor_v1(entry: &TransparencyLogEntry) -> bool {
    matches!(
        entry.kind_version,
        KindVersion::HashedRekordV001 | KindVersion::DsseV001 | KindVersion::IntotoV002
    )
}

fn is_rekor_v2(entry: &TransparencyLogEntry) -> bool {
    entry.kind_version == KindVersion::HashedRekordV002
}

fn mismatch(detail: impl Into<String>) -> VerifyError {
    TlogError::EntryMismatch {
        detail: detail.into(),
    }
    .into()
}

fn malformed(detail: impl Into<String>) -> VerifyError {
    TlogError::MalformedEntry {
        detail: detail.into(),
    }
    .into()
}

fn unsupported(detail: impl Into<String>) -> VerifyError {
    VerifyError::Unsupported {
        detail: detail.into(),
    }
}

/// Inclusion proof and checkpoint (if a proof is present), then the SET (if
/// present).
pub(super) fn verify_entry_inclusion(
    entry: &TransparencyLogEntry,
    keys: &Keyring,
) -> Result<(), VerifyError> {
    if let Some(proof) = &entry.inclusion_proof {
        let proof_error = |detail: String| VerifyError::from(TlogError::InclusionProof { detail });
        let checkpoint_error = |detail: &str| {
            VerifyError::from(TlogError::Checkpoint {
                detail: detail.into(),
            })
        };
        // The Merkle proof; Rekor v2 ignores the proof's own (unsigned)
        // index, size and root.
        let (index, size, root) = if is_rekor_v2(entry) {
            let checkpoint = proof
                .checkpoint
                .checkpoint()
                .ok_or_else(|| checkpoint_error("Rekor v2 inclusion proof has no checkpoint"))?;
            (
                entry.log_index.get(),
                checkpoint.tree_size(),
                *checkpoint.root_hash(),
            )
        } else {
            (proof.log_index.get(), proof.tree_size, proof.root_hash)
        };
        let leaf = sigstore_merkle::hash_leaf(entry.canonicalized_body.as_bytes());
        sigstore_merkle::verify_inclusion_proof(&leaf, index, size, &proof.hashes, &root)
            .map_err(|e| proof_error(format!("inclusion proof verification failed: {e}")))?;

        // The checkpoint: signed by a trusted log key (every key under the
        // signature's hint is tried: four-byte hints may collide).
        let checkpoint = sigstore_crypto::Checkpoint::from_text(proof.checkpoint.envelope())
            .map_err(|e| {
                VerifyError::from(TlogError::Checkpoint {
                    detail: format!("checkpoint does not parse: {e}"),
                })
            })?;
        if !is_rekor_v2(entry) && checkpoint.root_hash().as_bytes() != proof.root_hash.as_bytes() {
            return Err(TlogError::Checkpoint {
                detail: format!(
                    "checkpoint root {} is not the proof's root {}",
                    checkpoint.root_hash().to_hex(),
                    proof.root_hash.to_hex()
                ),
            }
            .into());
        }
        let message = checkpoint.signed_data();
        let now = Timestamp::now();
        let mut matching_key = false;
        let signed = checkpoint.signatures().iter().any(|sig| {
            keys.keys_by_hint(&sig.key_id, now).any(|key| {
                matching_key = true;
                key.verify(message, &sig.signature).is_ok()
            })
        });
        if !signed {
            return Err(checkpoint_error(if matching_key {
                "no valid Rekor signature on the checkpoint"
            } else {
                "no trusted Rekor key matches the checkpoint's signatures"
            }));
        }
    }
    if entry.inclusion_promise.is_some() {
        verify_set(entry, keys)?;
    }
    Ok(())
}

/// The entry's SET, with the trusted log key valid at its integrated time
/// (or, without one, a key already valid now).
pub(super) fn verify_set(entry: &TransparencyLogEntry, keys: &Keyring) -> Result<(), VerifyError> {
    let promise_error = |detail: String| VerifyError::from(TlogError::InclusionPromise { detail });
    let promise = entry
        .inclusion_promise
        .as_ref()
        .ok_or_else(|| promise_error("the entry has no inclusion promise".into()))?;
    let log_id = entry.log_id.key_id.as_bytes();
    let key_id =
        Sha256Hash::try_from(log_id).map_err(|e| malformed(format!("invalid log ID: {e}")))?;
    let key = match entry.integrated_time {
        Some(time) => keys.key_at(&key_id, time).ok_or_else(|| {
            promise_error(format!(
                "no trusted log key valid at integrated time {time} for log ID {}",
                entry.log_id.key_id
            ))
        })?,
        None => keys
            .key_started_by(&key_id, Timestamp::now())
            .ok_or_else(|| {
                VerifyError::from(TlogError::UnknownLog {
                    log_id: hex::encode(log_id),
                })
            })?,
    };
    crate::cosign::intoto_v001::verify_set_signature(
        key,
        entry.canonicalized_body.as_bytes(),
        // The SET payload is Rekor v1 wire JSON: an absent time is 0.
        entry.integrated_time.map_or(0, |t| t.as_second()),
        log_id,
        entry.log_index.as_i64(),
        promise.signed_entry_timestamp.as_bytes(),
    )
}

/// An integrated time is not in the future.
pub(super) fn check_not_in_future(time: Timestamp) -> Result<(), VerifyError> {
    let now = Timestamp::now();
    if time > now {
        return Err(TlogError::IntegratedTime {
            detail: format!("integrated time {time} is in the future (current time: {now})"),
        }
        .into());
    }
    Ok(())
}

/// An integrated time is not in the future and inside the certificate's
/// validity `[not_before, not_after]`.
pub(super) fn check_integrated_time(
    time: Timestamp,
    not_before: Timestamp,
    not_after: Timestamp,
) -> Result<(), VerifyError> {
    check_not_in_future(time)?;
    if time < not_before || time > not_after {
        return Err(TlogError::IntegratedTime {
            detail: format!(
                "integrated time {time} is outside the certificate's validity ({not_before} to {not_after})"
            ),
        }
        .into());
    }
    Ok(())
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
fn certificate_public_key(cert: &DerCertificate) -> Result<DerPublicKey, VerifyError> {
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

//! DSSE bundles whose in-toto statement names the artifact by SHA-384 only.
//!
//! ## Why this exists
//!
//! Sigstore bundles are verified by `sigstore-verify`. Its 0.15.1 release
//! binds a DSSE statement to the artifact by SHA-256 or SHA-512 subjects
//! only: its (private) `ArtifactRequirements::new` refuses, before any other
//! check, a statement without such subjects, and its per-check functions
//! (`verify_impl::*`) are `pub(crate)`, so they cannot be called one by one
//! around that refusal. in-toto also allows SHA-384 subject digests. This
//! module verifies exactly that case, and is entered ONLY when the delegate
//! cannot bind: a DSSE bundle with payload type
//! `application/vnd.in-toto+json` whose subject naming the artifact carries
//! a SHA-384 digest and neither a SHA-256 nor a SHA-512 one (see
//! `crate::artifact::check_typed_binding`). Every other bundle goes to the
//! delegate.
//!
//! ## What it checks, in the delegate's order
//!
//! With the same primitives (sigstore-crypto signatures and checkpoints,
//! sigstore-merkle proofs, sigstore-rekor bodies, rustls-webpki chains, the
//! trusted root's keyrings) and reusing this crate's copies for the legacy
//! evidence ([`crate::fulcio`], the SET of [`crate::cosign`], [`crate::tsa`]):
//!
//! 0. (prepare) the bundle's structure (`sigstore_bundle`'s validation, an
//!    inclusion proof required unless the policy skips the log); the
//!    certificate parses (keyless) or the policy's key is usable; the
//!    payload type is in-toto, the statement parses, has subjects, and one
//!    of them carries the artifact's digest;
//!
//! For a certificate (identity policy, already checked by the verifier
//! before any cryptography):
//!
//! 1. the verified times: every RFC 3161 timestamp verifies against a
//!    trusted TSA (fractional `genTime` included), and each Rekor v1 entry
//!    with a SET and an integrated time has its SET verified and that time
//!    not in the future; at least one time is required;
//! 2. at every verified time, the leaf chains to a Fulcio CA valid then,
//!    with the code-signing usage, and is itself valid; then the SCT
//!    (unless `insecure_ignore_sct`);
//! 3. unless `insecure_ignore_tlog`: each entry's inclusion proof and
//!    checkpoint, its SET, and (Rekor v1 with a SET) its integrated time
//!    not in the future and inside the certificate's validity;
//! 4. the DSSE signature over the PAE with the certificate's key;
//! 5. every log entry's consistency with the envelope and the signer.
//!
//! For a key (key policy): unless `insecure_ignore_tlog`, each entry's
//! inclusion proof, checkpoint and SET, and the integrated time of Rekor v1
//! entries with a SET not in the future; every RFC 3161 timestamp verifies;
//! the signature with the policy's key; the entries' consistency with the
//! envelope and that key.

mod log;

#[cfg(test)]
mod tests;

use jiff::Timestamp;
use sigstore_crypto::KeyAlgorithm;
use sigstore_trust_root::TrustedRoot;
use sigstore_types::bundle::VerificationMaterialContent;
use sigstore_types::{Bundle, DerCertificate, DsseEnvelope, SignatureContent, Statement};

use crate::artifact::{ArtifactError, TypedDigest};
use crate::error::{CertificateError, TimestampError, VerifyError};
use crate::identity::{Policy, PolicyError};
use crate::outcome::{CertificateClaims, SignerKind, Verified};

/// Verify a DSSE `bundle` whose statement names `subject`, for `policy`
/// (whose identity, for a keyless bundle, the caller has checked).
pub(crate) fn verify(
    root: &TrustedRoot,
    bundle: &Bundle,
    policy: &Policy,
    subject: &TypedDigest,
) -> Result<Verified, VerifyError> {
    let unsupported = |detail: String| VerifyError::Unsupported { detail };
    let SignatureContent::DsseEnvelope(envelope) = &bundle.content else {
        return Err(unsupported("not a DSSE bundle".into()));
    };
    let verify_tlog = match policy {
        Policy::Identity(p) => !p.insecure_ignore_tlog,
        Policy::Key(p) => !p.insecure_ignore_tlog,
    };
    // 0. Structure, signer material, statement and binding.
    sigstore_bundle::validate_bundle_with_options(
        bundle,
        &sigstore_bundle::ValidationOptions::new()
            .with_require_inclusion_proof(verify_tlog)
            .with_require_timestamp(false),
    )
    .map_err(|e| VerifyError::from(sigstore_verify::Error::Bundle(e)))?;
    let cert = match policy {
        Policy::Identity(_) => {
            let leaf = bundle
                .signing_certificate()
                .ok_or_else(|| unsupported("bundle has no signing certificate".into()))?;
            let info = sigstore_crypto::parse_certificate_info(leaf).map_err(|e| {
                CertificateError::Malformed {
                    detail: format!("failed to parse certificate: {e}"),
                }
            })?;
            Some((leaf, info))
        }
        Policy::Key(_) => None,
    };
    bind(envelope, subject)?;
    let keys = root
        .rekor_keys()
        .map_err(|e| VerifyError::from(sigstore_verify::Error::from(e)))?;

    let mut facts = Facts::default();
    match (policy, cert) {
        (Policy::Identity(identity), Some((leaf, info))) => {
            // 1. Verified times.
            let signature = &envelope.signature.sig;
            let mut times = tsa_times(root, bundle, signature)?;
            for entry in &bundle.verification_material.tlog_entries {
                if !log::is_rekor_v1(entry) || entry.inclusion_promise.is_none() {
                    continue;
                }
                if let Some(time) = entry.integrated_time {
                    log::verify_set(entry, &keys)?;
                    log::check_not_in_future(time)?;
                    times.push(time);
                }
            }
            if times.is_empty() {
                return Err(TimestampError::NoVerifiedTime {
                    detail: "no verified timestamp: the bundle needs an RFC 3161 timestamp or a Rekor v1 entry with an integrated time and a SET".into(),
                }
                .into());
            }
            // 2. The chain and the certificate's validity at every time,
            //    then the SCT.
            let intermediates = intermediates_of(bundle);
            let mut issuer = None;
            for &time in &times {
                issuer = Some(crate::fulcio::verify_chain(
                    root,
                    leaf,
                    &intermediates,
                    time,
                )?);
                CertificateError::check_validity(time, info.not_before, info.not_after)?;
            }
            let issuer = issuer.ok_or_else(|| TimestampError::NoVerifiedTime {
                detail: "no verified timestamp to check the certificate at".into(),
            })?;
            if !identity.insecure_ignore_sct {
                crate::fulcio::verify_sct(root, leaf, &issuer)?;
                facts.sct_verified = true;
            }
            facts.timestamps = times;
            // 3. The log.
            if verify_tlog {
                for entry in &bundle.verification_material.tlog_entries {
                    log::verify_entry_inclusion(entry, &keys)?;
                    if entry.kind_version != sigstore_types::KindVersion::HashedRekordV002
                        && entry.inclusion_promise.is_some()
                    {
                        if let Some(time) = entry.integrated_time {
                            log::check_integrated_time(time, info.not_before, info.not_after)?;
                            facts.earliest(time);
                        }
                    }
                }
                facts.tlog_verified = true;
            }
            // 4. The signature.
            verify_pae_signature(
                envelope,
                &info.public_key,
                info.key_algorithm.default_signing_scheme(),
            )?;
            // 5. The log entries describe this envelope and certificate.
            log::verify_consistency(bundle, envelope, None)?;
            let claims = CertificateClaims::from_certificate(leaf.as_bytes(), &info);
            Ok(facts.verdict(bundle, subject, Some((info.issuer.clone(), claims))))
        }
        (Policy::Key(key), None) => {
            let scheme = KeyAlgorithm::from_spki(&key.key)
                .map_err(|e| PolicyError::InvalidKey {
                    detail: e.to_string(),
                })?
                .default_signing_scheme();
            if verify_tlog {
                for entry in &bundle.verification_material.tlog_entries {
                    log::verify_entry_inclusion(entry, &keys)?;
                    if log::is_rekor_v1(entry) && entry.inclusion_promise.is_some() {
                        if let Some(time) = entry.integrated_time {
                            log::check_not_in_future(time)?;
                            facts.earliest(time);
                            facts.timestamps.push(time);
                        }
                    }
                }
                facts.tlog_verified = true;
            }
            facts
                .timestamps
                .extend(tsa_times(root, bundle, &envelope.signature.sig)?);
            verify_pae_signature(envelope, &key.key, scheme)?;
            log::verify_consistency(bundle, envelope, Some(&key.key))?;
            Ok(facts.verdict(bundle, subject, None))
        }
        _ => Err(unsupported(
            "the bundle's verification material does not fit the policy".into(),
        )),
    }
}

/// The payload is an in-toto statement (as the delegate parses it) with
/// subjects, one of which carries `subject`.
fn bind(envelope: &DsseEnvelope, subject: &TypedDigest) -> Result<(), VerifyError> {
    let unsupported = |detail: String| VerifyError::Unsupported { detail };
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
            "in-toto statement has no subjects: cannot bind artifact to attestation".into(),
        ));
    }
    let subjects = crate::intoto::subjects_of_payload(envelope.payload.as_bytes());
    let name = subject.algorithm().name();
    if crate::intoto::find(&subjects, name, &hex::encode(subject.as_bytes())).is_none() {
        return Err(ArtifactError::NotASubject {
            subjects: subjects.iter().filter_map(|s| s.describe(name)).collect(),
            found: subject.to_string(),
        }
        .into());
    }
    Ok(())
}

/// Every RFC 3161 timestamp of the bundle, verified over `signature`.
fn tsa_times(
    root: &TrustedRoot,
    bundle: &Bundle,
    signature: &sigstore_types::SignatureBytes,
) -> Result<Vec<Timestamp>, VerifyError> {
    let tokens = &bundle
        .verification_material
        .timestamp_verification_data
        .rfc3161_timestamps;
    if tokens.is_empty() {
        return Ok(Vec::new());
    }
    let authorities = root.tsa_authorities();
    tokens
        .iter()
        .map(|t| {
            crate::tsa::verify_against_authorities(&t.signed_timestamp, signature, &authorities)
                .map_err(VerifyError::from)
        })
        .collect()
}

/// The intermediates shipped with the leaf (a v0.1/v0.2 chain).
fn intermediates_of(bundle: &Bundle) -> Vec<DerCertificate> {
    match &bundle.verification_material.content {
        VerificationMaterialContent::X509CertificateChain { certificates } => certificates
            .iter()
            .skip(1)
            .map(|c| c.raw_bytes.clone())
            .collect(),
        _ => Vec::new(),
    }
}

/// The envelope's signature over its PAE.
fn verify_pae_signature(
    envelope: &DsseEnvelope,
    key: &sigstore_types::DerPublicKey,
    scheme: sigstore_crypto::SigningScheme,
) -> Result<(), VerifyError> {
    sigstore_crypto::verify_signature(key, &envelope.pae(), &envelope.signature.sig, scheme)
        .map_err(|e| VerifyError::Signature {
            detail: format!("DSSE signature verification failed: {e}"),
        })
}

/// What the checks established, for the verdict.
#[derive(Default)]
struct Facts {
    timestamps: Vec<Timestamp>,
    integrated_time: Option<Timestamp>,
    tlog_verified: bool,
    sct_verified: bool,
}

impl Facts {
    fn earliest(&mut self, time: Timestamp) {
        self.integrated_time = Some(self.integrated_time.map_or(time, |t| t.min(time)));
    }

    /// The verdict, shaped as the verifier's for the delegate's results.
    fn verdict(
        self,
        bundle: &Bundle,
        subject: &TypedDigest,
        certificate: Option<(Option<String>, CertificateClaims)>,
    ) -> Verified {
        let (issuer, claims) = certificate.unzip();
        Verified {
            bundle_media_type: bundle.media_type.as_str().to_string(),
            signer: if claims.is_some() {
                SignerKind::Certificate
            } else {
                SignerKind::PublicKey
            },
            identity: claims.as_ref().and_then(|c| c.subject.clone()),
            issuer: issuer.flatten(),
            log_index: bundle
                .verification_material
                .tlog_entries
                .first()
                .map(|e| e.log_index.get()),
            integrated_time: self.integrated_time.map(|t| t.to_string()),
            signed_timestamps: self.timestamps.iter().map(|t| t.to_string()).collect(),
            artifact_digest: Some(subject.to_string()),
            tlog_verified: self.tlog_verified,
            sct_verified: self.sct_verified,
            certificate: claims,
        }
    }
}

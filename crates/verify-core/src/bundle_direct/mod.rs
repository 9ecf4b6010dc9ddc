//! Sigstore bundles verified here, check by check, because sigstore-verify
//! 0.15.1 cannot take them.
//!
//! ## Why this exists, and when it is entered
//!
//! Sigstore bundles are verified by `sigstore-verify`. Its per-check
//! functions (`verify_impl::*`) are `pub(crate)`, so they cannot be called
//! one by one around what it refuses; this module performs every check it
//! performs, in its order, with the same primitives, for exactly two shapes
//! of bundle it refuses (every other bundle goes to the delegate):
//!
//! - a DSSE bundle whose in-toto statement names the artifact by SHA-384
//!   and neither SHA-256 nor SHA-512 (its `ArtifactRequirements::new` binds
//!   by those two only; see `crate::artifact::check_typed_binding`);
//! - a DSSE or message-signature bundle whose only verified times are RFC
//!   3161 timestamps with a fractional `genTime` (RFC 3161 §2.4.2 allows
//!   them, real TSAs emit them; sigstore-tsa cannot read them). Rekor v2
//!   bundles (`hashedrekord` v0.0.2, no SET) and GitHub's attestations for
//!   private repositories (no log entry) have that shape. With the
//!   fractional tokens taken out the delegate has no time of its own (it
//!   refuses a keyless bundle without one, and any bundle with neither a
//!   log entry nor a timestamp), so the whole bundle is verified here; see
//!   `Verifier::verify_timed` for the routing.
//!
//! What the content checks are is in [`dsse`] (PAE signature, in-toto
//! binding, `dsse` / `intoto` / `hashedrekord` v0.0.2 entries) and
//! [`message`] (message digest binding, the signature over the artifact,
//! `hashedrekord` v0.0.1 / v0.0.2 entries); the log checks are in [`log`].
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
//!    signing scheme; for DSSE, the statement and its binding;
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
//! 4. the signature with the certificate's key (message signatures: the
//!    message digest binding first);
//! 5. every log entry's consistency with the signed content and the signer.
//!
//! For a key (key policy): unless `insecure_ignore_tlog`, each entry's
//! inclusion proof, checkpoint and SET, and the integrated time of Rekor v1
//! entries with a SET not in the future; every RFC 3161 timestamp verifies;
//! the signature with the policy's key; the entries' consistency with the
//! content and that key.

mod dsse;
mod log;
mod message;

#[cfg(test)]
mod message_tests;
#[cfg(test)]
mod tests;

use jiff::Timestamp;
use sigstore_crypto::KeyAlgorithm;
use sigstore_trust_root::TrustedRoot;
use sigstore_types::bundle::VerificationMaterialContent;
use sigstore_types::{Bundle, DerCertificate, SignatureContent};

use crate::artifact::{DigestAlgorithm, TypedDigest};
use crate::error::{CertificateError, TimestampError, VerifyError};
use crate::identity::{Policy, PolicyError};
use crate::outcome::{CertificateClaims, SignerKind, Verified};

pub(crate) use message::{needed_algorithms, needs_blob};

/// Whether `bundle` has RFC 3161 timestamps with a fractional `genTime` and,
/// with them taken out (the delegate cannot read them), the delegate would
/// refuse it for want of a time: no log entry and no other timestamp (its
/// structural check), or, for a keyless bundle, no other timestamp and no
/// Rekor v1 entry with an integrated time and a SET (its verified times).
/// Nothing is verified here: the caller routes the bundle on this.
pub(crate) fn delegate_lacks_time(bundle: &Bundle, policy: &Policy) -> bool {
    let material = &bundle.verification_material;
    let tokens = &material.timestamp_verification_data.rfc3161_timestamps;
    let fractional = |t: &&sigstore_types::bundle::Rfc3161Timestamp| {
        crate::tsa::has_fractional_gen_time(t.signed_timestamp.as_bytes())
    };
    if !tokens.iter().any(|t| fractional(&t)) {
        return false;
    }
    let other_tokens = tokens.iter().any(|t| !fractional(&t));
    if other_tokens {
        return false;
    }
    if material.tlog_entries.is_empty() {
        return true;
    }
    match policy {
        Policy::Identity(_) => !material.tlog_entries.iter().any(|e| {
            log::is_rekor_v1(e) && e.inclusion_promise.is_some() && e.integrated_time.is_some()
        }),
        Policy::Key(_) => false,
    }
}

/// The artifact as this path sees it: its bytes when the caller gave them
/// (schemes that cannot verify a prehash, such as Ed25519, need them), and
/// the digests computed or given, the one to report first.
pub(crate) struct Given<'a> {
    blob: Option<&'a [u8]>,
    digests: Vec<TypedDigest>,
}

impl<'a> Given<'a> {
    /// Only a digest is known.
    pub(crate) fn digest(digest: TypedDigest) -> Self {
        Self {
            blob: None,
            digests: vec![digest],
        }
    }

    /// The bytes, hashed with each of `algorithms` (the first is reported),
    /// except by SHA-256 when the caller already knows `sha256`.
    pub(crate) fn bytes(
        blob: &'a [u8],
        algorithms: &[DigestAlgorithm],
        sha256: Option<crate::ArtifactDigest>,
    ) -> Self {
        Self {
            blob: Some(blob),
            digests: algorithms
                .iter()
                .map(|&a| match (a, sha256) {
                    (DigestAlgorithm::Sha256, Some(known)) => known.into(),
                    _ => TypedDigest::of(a, blob),
                })
                .collect(),
        }
    }

    /// `reader` streamed to its end (constant memory) through each of
    /// `algorithms`; the bytes are not kept.
    pub(crate) fn read(
        reader: &mut dyn std::io::Read,
        algorithms: &[DigestAlgorithm],
    ) -> Result<Self, VerifyError> {
        let mut hashers = algorithms
            .iter()
            .map(|a| sigstore_crypto::ArtifactHasher::new(a.sigstore()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| VerifyError::Unsupported {
                detail: e.to_string(),
            })?;
        sigstore_crypto::hash_reader(reader, &mut hashers).map_err(VerifyError::ArtifactRead)?;
        Ok(Self {
            blob: None,
            digests: hashers
                .into_iter()
                .filter_map(|h| TypedDigest::from_sigstore(&h.finalize()))
                .collect(),
        })
    }

    /// The digest by `algorithm`, or the delegate's refusal
    /// (`PreparedArtifact::digest`).
    fn get(&self, algorithm: DigestAlgorithm) -> Result<&TypedDigest, VerifyError> {
        self.digests
            .iter()
            .find(|d| d.algorithm() == algorithm)
            .ok_or_else(|| VerifyError::Unsupported {
                detail: format!(
                    "verification requires a {} artifact digest; supplied: {}",
                    algorithm.name(),
                    self.digests
                        .iter()
                        .map(|d| d.algorithm().name())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })
    }

    /// The SHA-256 digest, when known.
    pub(crate) fn sha256(&self) -> Option<crate::ArtifactDigest> {
        self.digests.iter().find_map(TypedDigest::as_sha256)
    }
}

/// The signed content and how its signature is checked.
enum Signed<'b> {
    Dsse(&'b sigstore_types::DsseEnvelope),
    Message(&'b sigstore_types::bundle::MessageSignature),
}

impl Signed<'_> {
    fn signature(&self) -> &sigstore_types::SignatureBytes {
        match self {
            Self::Dsse(envelope) => &envelope.signature.sig,
            Self::Message(message) => &message.signature,
        }
    }

    /// Step 4: the signature with `key`.
    fn verify_signature(
        &self,
        key: &sigstore_types::DerPublicKey,
        scheme: sigstore_crypto::SigningScheme,
        artifact: &Given<'_>,
    ) -> Result<(), VerifyError> {
        match self {
            Self::Dsse(envelope) => dsse::verify_pae_signature(envelope, key, scheme),
            Self::Message(message) => {
                message::verify_digest_binding(message, artifact)?;
                message::verify_signature(key, scheme, &message.signature, artifact)
            }
        }
    }

    /// Step 5: every entry describes this content and signer.
    fn verify_consistency(
        &self,
        bundle: &Bundle,
        artifact: &Given<'_>,
        managed_key: Option<&sigstore_types::DerPublicKey>,
        validity: Option<(Timestamp, Timestamp)>,
    ) -> Result<(), VerifyError> {
        match self {
            Self::Dsse(envelope) => dsse::verify_consistency(bundle, envelope, managed_key),
            Self::Message(message) => {
                message::verify_consistency(bundle, message, artifact, managed_key, validity)
            }
        }
    }
}

/// Verify `bundle` against `artifact` for `policy` (whose identity, for a
/// keyless bundle, the caller has checked).
pub(crate) fn verify(
    root: &TrustedRoot,
    bundle: &Bundle,
    policy: &Policy,
    artifact: &Given<'_>,
) -> Result<Verified, VerifyError> {
    let unsupported = |detail: String| VerifyError::Unsupported { detail };
    let signed = match &bundle.content {
        SignatureContent::DsseEnvelope(envelope) => Signed::Dsse(envelope),
        SignatureContent::MessageSignature(message) => Signed::Message(message),
        _ => return Err(unsupported("unsupported bundle signature content".into())),
    };
    let verify_tlog = match policy {
        Policy::Identity(p) => !p.insecure_ignore_tlog,
        Policy::Key(p) => !p.insecure_ignore_tlog,
    };
    // 0. Structure, signer material, scheme, statement and binding.
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
    let key_algorithm = match (policy, &cert) {
        (_, Some((_, info))) => info.key_algorithm,
        (Policy::Key(key), None) => {
            KeyAlgorithm::from_spki(&key.key).map_err(|e| PolicyError::InvalidKey {
                detail: e.to_string(),
            })?
        }
        _ => return Err(unsupported("bundle has no signing certificate".into())),
    };
    let scheme = match &signed {
        Signed::Dsse(envelope) => {
            dsse::bind(envelope, artifact)?;
            key_algorithm.default_signing_scheme()
        }
        Signed::Message(message) => message::scheme(key_algorithm, message)?,
    };
    let keys = root
        .rekor_keys()
        .map_err(|e| VerifyError::from(sigstore_verify::Error::from(e)))?;

    let mut facts = Facts::default();
    match (policy, cert) {
        (Policy::Identity(identity), Some((leaf, info))) => {
            // 1. Verified times.
            let mut times = tsa_times(root, bundle, signed.signature())?;
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
            signed.verify_signature(&info.public_key, scheme, artifact)?;
            // 5. The log entries describe this content and certificate.
            signed.verify_consistency(
                bundle,
                artifact,
                None,
                Some((info.not_before, info.not_after)),
            )?;
            let claims = CertificateClaims::from_certificate(leaf.as_bytes(), &info);
            Ok(facts.verdict(bundle, artifact, Some((info.issuer.clone(), claims))))
        }
        (Policy::Key(key), None) => {
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
                .extend(tsa_times(root, bundle, signed.signature())?);
            signed.verify_signature(&key.key, scheme, artifact)?;
            signed.verify_consistency(bundle, artifact, Some(&key.key), None)?;
            Ok(facts.verdict(bundle, artifact, None))
        }
        _ => Err(unsupported(
            "the bundle's verification material does not fit the policy".into(),
        )),
    }
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
        artifact: &Given<'_>,
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
            artifact_digest: artifact.digests.first().map(ToString::to_string),
            tlog_verified: self.tlog_verified,
            sct_verified: self.sct_verified,
            certificate: claims,
        }
    }
}

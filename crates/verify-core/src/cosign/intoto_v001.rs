//! Attestations logged as Rekor `intoto` v0.0.1 entries (cosign before
//! v2.0, e.g. the SLSA container generator up to v1.9), which a Sigstore
//! bundle cannot carry, verified with the same primitives `sigstore-verify`
//! uses, in this order:
//!
//! 1. the body is an `intoto` v0.0.1 entry whose `content.hash` is the
//!    SHA-256 of the attestation layer (the DSSE envelope as stored), whose
//!    `payloadHash` (when present) is the SHA-256 of the envelope's payload,
//!    and whose `publicKey` is the layer's certificate (or the caller's key);
//! 2. the SET: the trusted log key for the entry's log ID, valid at the
//!    integrated time, signed the canonical JSON of body, integrated time,
//!    log ID and log index; the integrated time is not in the future;
//! 3. for a certificate: the identity policy, the chain to a Fulcio CA valid
//!    at the integrated time, the certificate's validity at that time, and
//!    an embedded SCT (unless `--insecure-ignore-sct`);
//! 4. one of the envelope's signatures verifies over its DSSE PAE with the
//!    certificate's (or the caller's) key.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use jiff::Timestamp;
use serde::Deserialize;
use sigstore_crypto::KeyAlgorithm;
use sigstore_types::{DerCertificate, DerPublicKey, Sha256Hash, SignatureBytes};

use super::legacy::{decode_b64, Envelope, LayerEvidence, RekorBundle};
use crate::error::{CertificateError, TlogError, VerifyError};
use crate::identity::{Policy, PolicyError};
use crate::outcome::{CertificateClaims, SignerKind, Verified};
use crate::Verifier;

/// What [`Verified::bundle_media_type`] says for this path.
pub const MEDIA_TYPE: &str = "application/vnd.dev.cosign.attestation+rekor.intoto.v0.0.1";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Body {
    api_version: String,
    kind: String,
    spec: Spec,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Spec {
    content: Content,
    public_key: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Content {
    hash: Hash,
    #[serde(default)]
    payload_hash: Option<Hash>,
}

#[derive(Deserialize)]
struct Hash {
    algorithm: String,
    value: String,
}

/// Verify an attestation layer (`envelope_bytes` as stored) whose log entry
/// is `rekor`, an `intoto` v0.0.1 entry.
pub fn verify(
    verifier: &Verifier,
    policy: &Policy,
    envelope_bytes: &[u8],
    envelope: &Envelope,
    evidence: &LayerEvidence,
    rekor: &RekorBundle,
) -> Result<Verified, VerifyError> {
    let mismatch = |detail: String| VerifyError::from(TlogError::EntryMismatch { detail });
    let malformed = |detail: String| VerifyError::from(TlogError::MalformedEntry { detail });

    // 1. The body describes this envelope and this signer.
    let body: Body = serde_json::from_slice(&rekor.body)
        .map_err(|e| malformed(format!("intoto v0.0.1 body: {e}")))?;
    if body.kind != "intoto" || body.api_version != "0.0.1" {
        return Err(malformed(format!(
            "expected an intoto 0.0.1 body, found {} {}",
            body.kind, body.api_version
        )));
    }
    let check_hash = |what: &str, hash: &Hash, bytes: &[u8]| {
        if hash.algorithm != "sha256" {
            return Err(mismatch(format!(
                "{what} uses {}, expected sha256",
                hash.algorithm
            )));
        }
        let found = hex::encode(sigstore_crypto::sha256(bytes).as_bytes());
        if !hash.value.eq_ignore_ascii_case(&found) {
            return Err(mismatch(format!(
                "{what}: the log records {}, the layer hashes to {found}",
                hash.value
            )));
        }
        Ok(())
    };
    check_hash("content hash", &body.spec.content.hash, envelope_bytes)?;
    if let Some(payload_hash) = &body.spec.content.payload_hash {
        check_hash("payload hash", payload_hash, &envelope.payload)?;
    }
    let logged_pem = String::from_utf8(
        decode_b64(&body.spec.public_key).map_err(|e| malformed(format!("publicKey: {e}")))?,
    )
    .map_err(|_| malformed("publicKey is not PEM".into()))?;

    // 2. The SET authenticates the entry and its integrated time.
    let time = verify_set(verifier, rekor)?;

    // 3. The signer.
    let signer = verify_signer(verifier, policy, evidence, &logged_pem, time, "attestation")?;
    let (key, scheme) = (signer.key.clone(), signer.scheme);

    // 4. The envelope's signature.
    let pae = sigstore_types::pae(&envelope.payload_type, &envelope.payload);
    let mut last = None;
    for (sig, _) in &envelope.signatures {
        match sigstore_crypto::verify_signature(
            &key,
            &pae,
            &SignatureBytes::new(sig.clone()),
            scheme,
        ) {
            Ok(()) => {
                last = None;
                break;
            }
            Err(e) => last = Some(e.to_string()),
        }
    }
    if let Some(detail) = last {
        return Err(VerifyError::Signature {
            detail: format!("DSSE signature verification failed: {detail}"),
        });
    }

    Ok(verdict(MEDIA_TYPE, policy, rekor, time, signer))
}

/// Verify a cosign bundle annotation's SET against the trusted root and
/// return the integrated time it authenticates.
pub fn verify_set(verifier: &Verifier, rekor: &RekorBundle) -> Result<Timestamp, VerifyError> {
    let promise = |detail: String| VerifyError::from(TlogError::InclusionPromise { detail });
    let time = Timestamp::from_second(rekor.integrated_time).map_err(|e| {
        VerifyError::from(TlogError::IntegratedTime {
            detail: format!("{}: {e}", rekor.integrated_time),
        })
    })?;
    let now = Timestamp::now();
    if time > now {
        return Err(TlogError::IntegratedTimeInFuture { time, now }.into());
    }
    let log_id = Sha256Hash::try_from(rekor.log_id.as_slice()).map_err(|_| {
        VerifyError::from(TlogError::MalformedEntry {
            detail: "log ID is not 32 bytes".into(),
        })
    })?;
    let keyring = verifier
        .trust_root()
        .as_sigstore()
        .rekor_keys()
        .map_err(|e| promise(format!("trusted log keys are unusable: {e}")))?;
    let key = keyring.key_at(&log_id, time).ok_or_else(|| {
        VerifyError::from(TlogError::UnknownLog {
            log_id: hex::encode(&rekor.log_id),
        })
    })?;
    verify_set_signature(
        key,
        &rekor.body,
        rekor.integrated_time,
        &rekor.log_id,
        rekor.log_index,
        &rekor.signed_entry_timestamp,
    )?;
    Ok(time)
}

/// Check that `set` is `key`'s signature over the canonical JSON of an
/// entry's `body` (base64), `integrated_time`, `log_id` (hex) and
/// `log_index`: what a SET signs. Shared by the legacy layers' SET above
/// and the bundle entries of [`crate::bundle_direct`], whose callers choose
/// the key (and report a missing one) as their format requires.
pub(crate) fn verify_set_signature(
    key: &sigstore_crypto::VerificationKey,
    body: &[u8],
    integrated_time: i64,
    log_id: &[u8],
    log_index: i64,
    set: &[u8],
) -> Result<(), VerifyError> {
    let promise = |detail: String| VerifyError::from(TlogError::InclusionPromise { detail });
    let payload = serde_json::json!({
        "body": STANDARD.encode(body),
        "integratedTime": integrated_time,
        "logID": hex::encode(log_id),
        "logIndex": log_index,
    });
    let canonical = serde_json_canonicalizer::to_vec(&payload)
        .map_err(|e| promise(format!("cannot canonicalize the SET payload: {e}")))?;
    key.verify(&canonical, &SignatureBytes::new(set.to_vec()))
        .map_err(|e| promise(format!("SET does not verify: {e}")))
}

/// Who signed a legacy layer, checked at the log's `time`.
pub(super) struct Signer {
    pub(super) key: DerPublicKey,
    pub(super) scheme: sigstore_crypto::SigningScheme,
    info: Option<sigstore_crypto::CertificateInfo>,
    claims: Option<CertificateClaims>,
}

/// Check the signer of a legacy layer whose log entry records `logged_pem`
/// (a PEM certificate or public key) and was integrated at `time` (SET
/// verified): for a certificate, that it is the layer's, the identity
/// policy, the chain to a Fulcio CA valid at `time`, the certificate's
/// validity at `time` and an embedded SCT (unless `--insecure-ignore-sct`);
/// for a key, that the log records the caller's key. `what` names the layer
/// (`signature`, `attestation`) in errors.
pub(super) fn verify_signer(
    verifier: &Verifier,
    policy: &Policy,
    evidence: &LayerEvidence,
    logged_pem: &str,
    time: Timestamp,
    what: &'static str,
) -> Result<Signer, VerifyError> {
    let mismatch = |detail: String| VerifyError::from(TlogError::EntryMismatch { detail });
    let malformed = |detail: String| VerifyError::from(TlogError::MalformedEntry { detail });
    let (key, scheme, info) = match policy {
        Policy::Identity(identity) => {
            let leaf = evidence.certificate.as_ref().ok_or_else(|| {
                VerifyError::from(PolicyError::WrongBundleKind {
                    expected: if what == "signature" {
                        "a keyless signature with a Fulcio certificate"
                    } else {
                        "a keyless attestation with a Fulcio certificate"
                    },
                    found: if what == "signature" {
                        "a signature without a certificate"
                    } else {
                        "an attestation without a certificate"
                    },
                })
            })?;
            let logged = DerCertificate::from_pem(logged_pem)
                .map_err(|e| mismatch(format!("the log records no certificate: {e}")))?;
            if logged.as_bytes() != leaf.as_bytes() {
                return Err(mismatch(
                    "the log records another certificate than the layer's".into(),
                ));
            }
            let info = sigstore_crypto::parse_certificate_info(leaf).map_err(|e| {
                CertificateError::Malformed {
                    detail: e.to_string(),
                }
            })?;
            identity.check_identity(
                crate::identity::certificate_identity(leaf.as_bytes(), &info).as_deref(),
                &info,
            )?;
            crate::fips::check_certificate_key(leaf.as_bytes())?;
            verifier.trust_root().check_ca_chains_for(leaf.as_bytes())?;
            let root = verifier.trust_root().as_sigstore();
            let issuer = crate::fulcio::verify_chain(root, leaf, &evidence.chain, time)?;
            CertificateError::check_validity(time, info.not_before, info.not_after)?;
            if !identity.insecure_ignore_sct {
                crate::fulcio::verify_sct(root, leaf, &issuer)?;
            }
            let scheme = info.key_algorithm.default_signing_scheme();
            let claims = CertificateClaims::from_certificate(leaf.as_bytes(), &info);
            (info.public_key.clone(), scheme, Some((info, claims)))
        }
        Policy::Key(key_policy) => {
            crate::fips::check_key(key_policy.key.as_bytes())?;
            let logged = match DerCertificate::from_pem(logged_pem) {
                Ok(cert) => sigstore_crypto::parse_certificate_info(&cert)
                    .map(|i| i.public_key)
                    .map_err(|e| malformed(format!("logged certificate: {e}")))?,
                Err(_) => DerPublicKey::from_pem(logged_pem)
                    .map_err(|e| malformed(format!("logged public key: {e}")))?,
            };
            if logged != key_policy.key {
                return Err(mismatch("the log records another key than --key".into()));
            }
            let scheme = KeyAlgorithm::from_spki(&key_policy.key)
                .map_err(|e| PolicyError::InvalidKey {
                    detail: e.to_string(),
                })?
                .default_signing_scheme();
            (key_policy.key.clone(), scheme, None)
        }
    };

    let (info, claims) = info.unzip();
    Ok(Signer {
        key,
        scheme,
        info,
        claims,
    })
}

/// The verdict for a legacy layer verified with its SET at `time`.
pub(super) fn verdict(
    media_type: &str,
    policy: &Policy,
    rekor: &RekorBundle,
    time: Timestamp,
    signer: Signer,
) -> Verified {
    Verified {
        bundle_media_type: media_type.into(),
        signer: if signer.info.is_some() {
            SignerKind::Certificate
        } else {
            SignerKind::PublicKey
        },
        identity: signer.claims.as_ref().and_then(|c| c.subject.clone()),
        issuer: signer.info.as_ref().and_then(|i| i.issuer.clone()),
        log_index: u64::try_from(rekor.log_index).ok(),
        integrated_time: Some(time.to_string()),
        signed_timestamps: vec![time.to_string()],
        artifact_digest: None,
        tlog_verified: true,
        sct_verified: matches!(policy, Policy::Identity(p) if !p.insecure_ignore_sct),
        certificate: signer.claims,
    }
}

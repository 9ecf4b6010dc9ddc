//! cosign's OCI signature formats, made from the test Sigstore's bundles.
//!
//! cosign (before v3) stores an image's signatures as the layers of the
//! manifest tagged `sha256-<hex>.sig`, and its attestations as the layers of
//! `sha256-<hex>.att`; the evidence a Sigstore bundle would carry sits in
//! each layer's annotations instead. [`signature_layer`] and
//! [`attestation_layer`] turn a [`SignedBundle`] into such a layer (blob,
//! media type, annotations), with or without the `dev.sigstore.cosign/bundle`
//! annotation (the Rekor entry and its SET); [`intoto_v001_attestation`]
//! makes an attestation logged as a Rekor `intoto` v0.0.1 entry, as cosign
//! did before v2.0; [`rekord_v001_signature`] makes a signature logged as
//! Rekor `rekord` v0.0.1, as cosign 1.x did. Assembling layers into manifests and pushing them is the
//! caller's business.
//!
//! The negative knobs of [`crate::SignOptions`] carry over: the annotations
//! are read from the bundle, so a corrupted SET or signature stays corrupted.

use std::collections::BTreeMap;

use base64::{engine::general_purpose::STANDARD, Engine as _};
use jiff::{SignedDuration, Timestamp};
use serde_json::json;
use sigstore_types::{KindVersion, SignatureContent};

use crate::{pem, Content, Error, Result, SignOptions, SignedBundle, TestSigstore};

/// Media type of a simple-signing payload layer.
pub const SIMPLE_SIGNING_MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// Media type of a DSSE attestation layer.
pub const DSSE_MEDIA_TYPE: &str = "application/vnd.dsse.envelope.v1+json";
/// The signature annotation.
pub const SIGNATURE: &str = "dev.cosignproject.cosign/signature";
/// The certificate annotation.
pub const CERTIFICATE: &str = "dev.sigstore.cosign/certificate";
/// The chain annotation.
pub const CHAIN: &str = "dev.sigstore.cosign/chain";
/// The Rekor bundle annotation.
pub const BUNDLE: &str = "dev.sigstore.cosign/bundle";
/// The RFC 3161 timestamp annotation.
pub const RFC3161: &str = "dev.sigstore.cosign/rfc3161timestamp";

/// One layer of a cosign `.sig` or `.att` manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CosignLayer {
    /// The layer's media type.
    pub media_type: String,
    /// The layer's bytes (the signed payload, or the DSSE envelope).
    pub blob: Vec<u8>,
    /// The layer's annotations.
    pub annotations: BTreeMap<String, String>,
}

/// The simple-signing payload `cosign sign` signs for an image.
pub fn simple_signing_payload(
    docker_reference: &str,
    manifest_digest: &str,
    optional: Option<serde_json::Value>,
) -> Vec<u8> {
    let mut payload = json!({
        "critical": {
            "identity": {"docker-reference": docker_reference},
            "image": {"docker-manifest-digest": manifest_digest},
            "type": "cosign container image signature",
        },
        "optional": optional,
    });
    if payload["optional"].is_null() {
        if let Some(map) = payload.as_object_mut() {
            map.remove("optional");
        }
    }
    serde_json::to_vec(&payload).unwrap_or_default()
}

/// The layer `cosign sign` writes for `signed`, a message-signature bundle
/// over `payload`. `with_bundle`: include the Rekor entry (and SET) as the
/// bundle annotation; without it a verifier must look the entry up.
pub fn signature_layer(
    sigstore: &TestSigstore,
    payload: &[u8],
    signed: &SignedBundle,
    with_bundle: bool,
) -> Result<CosignLayer> {
    let SignatureContent::MessageSignature(message) = &signed.bundle.content else {
        return Err(Error::InvalidOptions(
            "a signature layer needs a message-signature bundle".into(),
        ));
    };
    let mut annotations = evidence(sigstore, signed, with_bundle)?;
    annotations.insert(
        SIGNATURE.into(),
        STANDARD.encode(message.signature.as_bytes()),
    );
    Ok(CosignLayer {
        media_type: SIMPLE_SIGNING_MEDIA_TYPE.into(),
        blob: payload.to_vec(),
        annotations,
    })
}

/// The layer `cosign attest` writes for `signed`, a DSSE bundle: the
/// envelope as logged (canonical JSON), an empty signature annotation, the
/// certificate, chain, bundle and predicate type.
pub fn attestation_layer(
    sigstore: &TestSigstore,
    signed: &SignedBundle,
    with_bundle: bool,
) -> Result<CosignLayer> {
    let SignatureContent::DsseEnvelope(envelope) = &signed.bundle.content else {
        return Err(Error::InvalidOptions(
            "an attestation layer needs a DSSE bundle".into(),
        ));
    };
    let blob = crate::rekor::canonical_json(&serde_json::to_value(envelope)?)?;
    let mut annotations = evidence(sigstore, signed, with_bundle)?;
    annotations.insert(SIGNATURE.into(), String::new());
    if let Some(predicate_type) = signed
        .dsse_payload
        .as_deref()
        .and_then(|p| serde_json::from_slice::<serde_json::Value>(p).ok())
        .and_then(|s| {
            s.get("predicateType")
                .and_then(|p| p.as_str())
                .map(str::to_string)
        })
    {
        annotations.insert("predicateType".into(), predicate_type);
    }
    Ok(CosignLayer {
        media_type: DSSE_MEDIA_TYPE.into(),
        blob,
        annotations,
    })
}

/// A keyless attestation whose in-toto subject is `subject` (e.g. an image
/// manifest's bytes), logged as Rekor `intoto` v0.0.1 as cosign did before
/// v2.0: the body records the SHA-256 of the envelope layer and of its
/// payload, and the certificate. `corrupt_content_hash` records another
/// envelope hash.
pub fn intoto_v001_attestation(
    sigstore: &TestSigstore,
    subject: &[u8],
    options: &SignOptions,
    corrupt_content_hash: bool,
) -> Result<CosignLayer> {
    let signed = sigstore.sign(
        subject,
        &SignOptions {
            content: Content::Dsse,
            tlog_entry: false,
            inclusion_promise: false,
            inclusion_proof: false,
            ..options.clone()
        },
    )?;
    let SignatureContent::DsseEnvelope(envelope) = &signed.bundle.content else {
        return Err(Error::InvalidOptions("expected a DSSE bundle".into()));
    };
    let certificate = signed
        .certificate
        .as_deref()
        .ok_or_else(|| Error::InvalidOptions("intoto v0.0.1 attestations are keyless".into()))?;
    let blob = crate::rekor::canonical_json(&serde_json::to_value(envelope)?)?;
    let mut hashed = blob.clone();
    if corrupt_content_hash {
        hashed.push(b' ');
    }
    let body = json!({
        "apiVersion": "0.0.1",
        "kind": "intoto",
        "spec": {
            "content": {
                "hash": {"algorithm": "sha256", "value": sigstore_crypto::sha256(&hashed).to_hex()},
                "payloadHash": {
                    "algorithm": "sha256",
                    "value": sigstore_crypto::sha256(envelope.payload.as_bytes()).to_hex(),
                },
            },
            "publicKey": STANDARD.encode(pem::encode("CERTIFICATE", certificate)),
        },
    });
    let signing_time = options
        .signing_time
        .unwrap_or_else(|| Timestamp::now() - SignedDuration::from_mins(1));
    // The kind is only a label in the test log; the body says intoto 0.0.1.
    let entry = sigstore.rekor().append(
        KindVersion::IntotoV002,
        crate::rekor::canonical_json(&body)?,
        signing_time + SignedDuration::from_secs(1),
        Vec::new(),
    )?;
    let mut annotations = chain_annotations(sigstore, &signed);
    annotations.insert(SIGNATURE.into(), String::new());
    annotations.insert(
        BUNDLE.into(),
        json!({
            "SignedEntryTimestamp": STANDARD.encode(&entry.signed_entry_timestamp),
            "Payload": {
                "body": STANDARD.encode(&entry.body),
                "integratedTime": entry.integrated_time.as_second(),
                "logIndex": entry.log_index,
                "logID": hex::encode(sigstore.rekor().log_id()),
            },
        })
        .to_string(),
    );
    Ok(CosignLayer {
        media_type: DSSE_MEDIA_TYPE.into(),
        blob,
        annotations,
    })
}

/// A `cosign sign` layer over `payload` logged as Rekor `rekord` v0.0.1, as
/// cosign 1.x did before `hashedrekord` (2021 and 2022): the body records
/// the payload's SHA-256, the signature (`format: x509`) and the verifier
/// (base64 of the PEM certificate, or of the PEM public key for a key-based
/// `options.signer`), and the bundle annotation carries it with its SET.
/// `corrupt_body_hash` records another payload hash. Returns the layer and
/// the bundle it was made from (its key, for key-based signatures).
pub fn rekord_v001_signature(
    sigstore: &TestSigstore,
    payload: &[u8],
    options: &SignOptions,
    corrupt_body_hash: bool,
) -> Result<(CosignLayer, SignedBundle)> {
    let signed = sigstore.sign(
        payload,
        &SignOptions {
            content: Content::MessageSignature,
            tlog_entry: false,
            inclusion_promise: false,
            inclusion_proof: false,
            ..options.clone()
        },
    )?;
    let SignatureContent::MessageSignature(message) = &signed.bundle.content else {
        return Err(Error::InvalidOptions("expected a message signature".into()));
    };
    let verifier_pem = match &signed.certificate {
        Some(cert) => pem::encode("CERTIFICATE", cert),
        None => signed.public_key_pem.clone(),
    };
    let mut hashed = payload.to_vec();
    if corrupt_body_hash {
        hashed.push(b' ');
    }
    let body = json!({
        "apiVersion": "0.0.1",
        "kind": "rekord",
        "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": sigstore_crypto::sha256(&hashed).to_hex()}},
            "signature": {
                "content": STANDARD.encode(message.signature.as_bytes()),
                "format": "x509",
                "publicKey": {"content": STANDARD.encode(&verifier_pem)},
            },
        },
    });
    let signing_time = options
        .signing_time
        .unwrap_or_else(|| Timestamp::now() - SignedDuration::from_mins(1));
    // The kind is only a label in the test log; the body says rekord 0.0.1.
    let entry = sigstore.rekor().append(
        KindVersion::HashedRekordV001,
        crate::rekor::canonical_json(&body)?,
        signing_time + SignedDuration::from_secs(1),
        vec![sigstore_crypto::sha256(payload).to_hex()],
    )?;
    let mut annotations = chain_annotations(sigstore, &signed);
    annotations.insert(
        SIGNATURE.into(),
        STANDARD.encode(message.signature.as_bytes()),
    );
    annotations.insert(
        BUNDLE.into(),
        json!({
            "SignedEntryTimestamp": STANDARD.encode(&entry.signed_entry_timestamp),
            "Payload": {
                "body": STANDARD.encode(&entry.body),
                "integratedTime": entry.integrated_time.as_second(),
                "logIndex": entry.log_index,
                "logID": hex::encode(sigstore.rekor().log_id()),
            },
        })
        .to_string(),
    );
    let layer = CosignLayer {
        media_type: SIMPLE_SIGNING_MEDIA_TYPE.into(),
        blob: payload.to_vec(),
        annotations,
    };
    Ok((layer, signed))
}

/// The certificate and chain annotations of a keyless bundle.
fn chain_annotations(sigstore: &TestSigstore, signed: &SignedBundle) -> BTreeMap<String, String> {
    let mut annotations = BTreeMap::new();
    if let Some(cert) = &signed.certificate {
        annotations.insert(CERTIFICATE.into(), pem::encode("CERTIFICATE", cert));
        annotations.insert(
            CHAIN.into(),
            format!(
                "{}{}",
                pem::encode("CERTIFICATE", sigstore.fulcio().intermediate_der()),
                pem::encode("CERTIFICATE", sigstore.fulcio().root_der())
            ),
        );
    }
    annotations
}

/// Certificate, chain, Rekor bundle and RFC 3161 annotations of a bundle.
fn evidence(
    sigstore: &TestSigstore,
    signed: &SignedBundle,
    with_bundle: bool,
) -> Result<BTreeMap<String, String>> {
    let mut annotations = chain_annotations(sigstore, signed);
    let material = &signed.bundle.verification_material;
    if with_bundle {
        let entry = material.tlog_entries.first().ok_or_else(|| {
            Error::InvalidOptions("the bundle annotation needs a tlog entry".into())
        })?;
        let promise = entry.inclusion_promise.as_ref().ok_or_else(|| {
            Error::InvalidOptions("the bundle annotation needs an inclusion promise".into())
        })?;
        annotations.insert(
            BUNDLE.into(),
            json!({
                "SignedEntryTimestamp": STANDARD.encode(promise.signed_entry_timestamp.as_bytes()),
                "Payload": {
                    "body": STANDARD.encode(entry.canonicalized_body.as_bytes()),
                    "integratedTime": entry.integrated_time.map(|t| t.as_second()).unwrap_or(0),
                    "logIndex": entry.log_index.get(),
                    "logID": hex::encode(entry.log_id.key_id.as_bytes()),
                },
            })
            .to_string(),
        );
    }
    if let Some(ts) = material
        .timestamp_verification_data
        .rfc3161_timestamps
        .first()
    {
        annotations.insert(
            RFC3161.into(),
            json!({"SignedRFC3161Timestamp": STANDARD.encode(ts.signed_timestamp.as_bytes())})
                .to_string(),
        );
    }
    Ok(annotations)
}

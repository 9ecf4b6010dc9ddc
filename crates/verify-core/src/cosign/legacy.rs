//! cosign's pre-bundle format: a signature or attestation is one layer of
//! the `sha256-<hex>.sig` / `.att` manifest, and its evidence lives in the
//! layer's annotations:
//!
//! | annotation | content |
//! |---|---|
//! | `dev.cosignproject.cosign/signature` | base64 signature over the layer (empty for attestations, whose DSSE envelope carries it) |
//! | `dev.sigstore.cosign/certificate` | the Fulcio leaf, PEM |
//! | `dev.sigstore.cosign/chain` | its issuing chain, PEM |
//! | `dev.sigstore.cosign/bundle` | the Rekor entry: `{"SignedEntryTimestamp", "Payload": {"body", "integratedTime", "logIndex", "logID"}}` |
//! | `dev.sigstore.cosign/rfc3161timestamp` | `{"SignedRFC3161Timestamp"}`: an RFC 3161 response |
//!
//! None of it is believed as read. [`synthesize`] assembles it into a
//! Sigstore bundle v0.1 (certificate chain, the log entry with its SET as
//! inclusion promise and its canonicalized body, the RFC 3161 timestamp, and
//! the message signature or DSSE envelope) which the [`crate::Verifier`]
//! then verifies like any other bundle: the SET with the trusted log key,
//! the chain at the log's integrated time, the SCT, the signature, and the
//! body's consistency with the signature, key and payload.

use std::collections::BTreeMap;

use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use base64::Engine as _;
use serde::Deserialize;
use sigstore_types::bundle::{
    MessageDigest, MessageSignature, PublicKeyIdentifier, Rfc3161Timestamp,
    TimestampVerificationData, VerificationMaterial, VerificationMaterialContent, X509Certificate,
};
use sigstore_types::{
    Bundle, DerCertificate, DigestBytes, DsseEnvelope, DsseSignature, HashAlgorithm, KeyId,
    MediaType, PayloadBytes, SignatureBytes, SignatureContent, TimestampToken,
    TransparencyLogEntry,
};

/// The base64 signature annotation.
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
/// The PEM certificate annotation.
pub const CERTIFICATE_ANNOTATION: &str = "dev.sigstore.cosign/certificate";
/// The PEM chain annotation.
pub const CHAIN_ANNOTATION: &str = "dev.sigstore.cosign/chain";
/// The Rekor bundle (SET) annotation.
pub const BUNDLE_ANNOTATION: &str = "dev.sigstore.cosign/bundle";
/// The RFC 3161 timestamp annotation.
pub const RFC3161_ANNOTATION: &str = "dev.sigstore.cosign/rfc3161timestamp";

pub use crate::rekor_entry::{body_content_hash, RekorBundle};

/// Most certificates read from a chain annotation.
const MAX_CHAIN: usize = 4;

/// A layer's annotations, decoded (not verified).
#[derive(Debug, Clone, Default)]
pub struct LayerEvidence {
    /// The signature (empty for attestations).
    pub signature: Vec<u8>,
    /// The Fulcio leaf.
    pub certificate: Option<DerCertificate>,
    /// Its chain.
    pub chain: Vec<DerCertificate>,
    /// The Rekor entry with its SET.
    pub rekor: Option<RekorBundle>,
    /// The bundle annotation as JSON (for cosign's output).
    pub rekor_json: Option<serde_json::Value>,
    /// The RFC 3161 response.
    pub rfc3161: Option<Vec<u8>>,
    /// The timestamp annotation as JSON (for cosign's output).
    pub rfc3161_json: Option<serde_json::Value>,
}

impl LayerEvidence {
    /// Decode a layer's annotations; `require_signature` for image
    /// signatures, whose signature annotation is mandatory.
    pub fn from_annotations(
        annotations: &BTreeMap<String, String>,
        require_signature: bool,
    ) -> Result<Self, String> {
        let mut evidence = Self::default();
        match annotations.get(SIGNATURE_ANNOTATION) {
            Some(b64) if !b64.is_empty() => {
                evidence.signature =
                    decode_b64(b64).map_err(|e| format!("{SIGNATURE_ANNOTATION}: {e}"))?;
            }
            _ if require_signature => {
                return Err(format!(
                    "the layer has no {SIGNATURE_ANNOTATION} annotation"
                ))
            }
            _ => {}
        }
        if let Some(pem) = annotations
            .get(CERTIFICATE_ANNOTATION)
            .filter(|p| !p.is_empty())
        {
            let certs =
                pem_certificates(pem).map_err(|e| format!("{CERTIFICATE_ANNOTATION}: {e}"))?;
            evidence.certificate = certs.into_iter().next();
            if evidence.certificate.is_none() {
                return Err(format!("{CERTIFICATE_ANNOTATION}: no certificate"));
            }
        }
        if let Some(pem) = annotations.get(CHAIN_ANNOTATION).filter(|p| !p.is_empty()) {
            evidence.chain =
                pem_certificates(pem).map_err(|e| format!("{CHAIN_ANNOTATION}: {e}"))?;
            if evidence.chain.len() > MAX_CHAIN {
                return Err(format!(
                    "{CHAIN_ANNOTATION}: {} certificates, more than {MAX_CHAIN}",
                    evidence.chain.len()
                ));
            }
        }
        if let Some(json) = annotations.get(BUNDLE_ANNOTATION).filter(|p| !p.is_empty()) {
            let value: serde_json::Value =
                serde_json::from_str(json).map_err(|e| format!("{BUNDLE_ANNOTATION}: {e}"))?;
            evidence.rekor = Some(
                RekorBundle::from_json(&value).map_err(|e| format!("{BUNDLE_ANNOTATION}: {e}"))?,
            );
            evidence.rekor_json = Some(value);
        }
        if let Some(json) = annotations
            .get(RFC3161_ANNOTATION)
            .filter(|p| !p.is_empty())
        {
            #[derive(Deserialize)]
            struct Ts {
                #[serde(rename = "SignedRFC3161Timestamp")]
                signed: String,
            }
            let value: serde_json::Value =
                serde_json::from_str(json).map_err(|e| format!("{RFC3161_ANNOTATION}: {e}"))?;
            let ts: Ts = serde_json::from_value(value.clone())
                .map_err(|e| format!("{RFC3161_ANNOTATION}: {e}"))?;
            evidence.rfc3161 =
                Some(decode_b64(&ts.signed).map_err(|e| format!("{RFC3161_ANNOTATION}: {e}"))?);
            evidence.rfc3161_json = Some(value);
        }
        Ok(evidence)
    }
}

/// A DSSE envelope as cosign stores it in an attestation layer.
#[derive(Debug, Clone)]
pub struct Envelope {
    /// `payloadType`.
    pub payload_type: String,
    /// The decoded payload.
    pub payload: Vec<u8>,
    /// The signatures, decoded, with their key IDs.
    pub signatures: Vec<(Vec<u8>, String)>,
}

impl Envelope {
    /// Parse `{"payloadType","payload","signatures":[{"keyid","sig"}]}`.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Wire {
            payload_type: String,
            payload: String,
            #[serde(default)]
            signatures: Vec<Sig>,
        }
        #[derive(Deserialize)]
        struct Sig {
            #[serde(default)]
            keyid: String,
            sig: String,
        }
        let wire: Wire =
            serde_json::from_slice(bytes).map_err(|e| format!("not a DSSE envelope: {e}"))?;
        if wire.signatures.is_empty() {
            return Err("the DSSE envelope has no signature".into());
        }
        let signatures = wire
            .signatures
            .into_iter()
            .map(|s| decode_b64(&s.sig).map(|sig| (sig, s.keyid)))
            .collect::<Result<_, _>>()
            .map_err(|e| format!("DSSE signature: {e}"))?;
        Ok(Self {
            payload_type: wire.payload_type,
            payload: decode_b64(&wire.payload).map_err(|e| format!("DSSE payload: {e}"))?,
            signatures,
        })
    }

    /// The sigstore envelope for one of the signatures.
    pub fn with_signature(&self, index: usize) -> Option<DsseEnvelope> {
        let (sig, keyid) = self.signatures.get(index)?;
        Some(DsseEnvelope::new(
            self.payload_type.clone(),
            PayloadBytes::new(self.payload.clone()),
            DsseSignature::new(SignatureBytes::new(sig.clone()), KeyId::new(keyid.clone())),
        ))
    }
}

/// What a synthesized bundle signs.
pub enum Signed<'a> {
    /// A message signature over these bytes (a simple-signing payload).
    Message(&'a [u8]),
    /// A DSSE envelope.
    Dsse(DsseEnvelope),
}

/// Assemble a Sigstore bundle v0.1 from a layer's evidence: `keyless`
/// selects the certificate (and chain) as verification material, otherwise
/// a public-key hint stands for the caller's key.
pub fn synthesize(
    evidence: &LayerEvidence,
    keyless: bool,
    signed: Signed<'_>,
    tlog_entries: Vec<TransparencyLogEntry>,
) -> Result<Bundle, String> {
    let material = if keyless {
        let leaf = evidence
            .certificate
            .clone()
            .ok_or("no certificate found on the signature")?;
        let mut certificates = vec![X509Certificate::new(leaf)];
        certificates.extend(evidence.chain.iter().cloned().map(X509Certificate::new));
        VerificationMaterialContent::X509CertificateChain { certificates }
    } else {
        VerificationMaterialContent::PublicKey(PublicKeyIdentifier::new(""))
    };
    let timestamps = evidence
        .rfc3161
        .iter()
        .map(|t| Rfc3161Timestamp::new(TimestampToken::new(t.clone())))
        .collect();
    let content = match signed {
        Signed::Message(payload) => SignatureContent::MessageSignature(
            MessageSignature::new(SignatureBytes::new(evidence.signature.clone()))
                .with_message_digest(MessageDigest::new(
                    HashAlgorithm::Sha2256,
                    DigestBytes::new(sigstore_crypto::sha256(payload).as_bytes().to_vec()),
                )),
        ),
        Signed::Dsse(envelope) => SignatureContent::DsseEnvelope(envelope),
    };
    Ok(Bundle::new(
        MediaType::Bundle0_1,
        VerificationMaterial::new(material)
            .with_tlog_entries(tlog_entries)
            .with_timestamp_verification_data(TimestampVerificationData::new(timestamps)),
        content,
    ))
}

/// Decode base64, standard alphabet first, URL-safe as a fallback (DSSE
/// allows either).
pub fn decode_b64(text: &str) -> Result<Vec<u8>, String> {
    STANDARD
        .decode(text.trim())
        .or_else(|_| URL_SAFE.decode(text.trim()))
        .map_err(|e| format!("invalid base64: {e}"))
}

/// Every `CERTIFICATE` block of a PEM text.
pub fn pem_certificates(text: &str) -> Result<Vec<DerCertificate>, String> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let mut certs = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(BEGIN) {
        let after = &rest[start..];
        let end = after
            .find(END)
            .ok_or("unterminated PEM certificate block")?;
        let block = &after[..end + END.len()];
        certs.push(DerCertificate::from_pem(block).map_err(|e| e.to_string())?);
        rest = &after[end + END.len()..];
        if certs.len() > MAX_CHAIN + 1 {
            return Err(format!("more than {} certificates", MAX_CHAIN + 1));
        }
    }
    Ok(certs)
}

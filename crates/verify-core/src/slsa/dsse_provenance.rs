//! Provenance as a DSSE envelope rather than a Sigstore bundle: what
//! slsa-github-generator v1.x wrote to `.intoto.jsonl` files.
//!
//! The envelope is `{"payloadType", "payload", "signatures": [{"keyid",
//! "sig", "cert"}]}` with exactly one signature whose `cert` is the PEM
//! Fulcio leaf (optionally followed by its chain). Its Rekor entry is
//! either
//!
//! - **embedded** in the envelope, verified offline, under one of:
//!   - `tlogEntries`: Sigstore-bundle transparency-log entries (protobuf
//!     JSON, as in a bundle's `verificationMaterial`);
//!   - `rekorEntry`: a Rekor v1 log entry, either as the log serves it
//!     (`{"<uuid>": {body, integratedTime, logID, logIndex, verification}}`,
//!     the UUID checked against the body's leaf hash) or unwrapped;
//!   - `rekorBundle`: cosign's `{"SignedEntryTimestamp", "Payload": {body,
//!     integratedTime, logIndex, logID}}`;
//! - or **looked up** in Rekor ([`TransparencyLogLookup`]) by the SHA-256 of
//!   the payload (Rekor's index for `dsse` and `intoto` entries), then by
//!   the artifact's digest (the statement's subject).
//!
//! Nothing is believed as read: the envelope, certificate and entry are
//! assembled into a Sigstore bundle v0.1 and verified by [`crate::Verifier`]
//! like any bundle (Fulcio chain at the integrated time, SCT, SET, inclusion
//! proof when present, DSSE signature, and the body's consistency with the
//! envelope's payload, signature and certificate). Before that, each entry
//! must be of a kind that records a DSSE envelope (`dsse` 0.0.1, `intoto`
//! 0.0.2) and its body must name this envelope's payload hash, so that an
//! entry for another envelope is refused with
//! [`SlsaError::RekorEntryMismatch`] and never tried.

use serde::Deserialize;
use sigstore_types::bundle::{VerificationMaterial, VerificationMaterialContent, X509Certificate};
use sigstore_types::{
    Bundle, DerCertificate, DsseEnvelope, DsseSignature, KeyId, MediaType, PayloadBytes,
    SignatureBytes, SignatureContent, TransparencyLogEntry,
};

use crate::artifact::ArtifactDigest;
use crate::cosign::legacy::{decode_b64, pem_certificates};
use crate::rekor_entry::{body_payload_hash, embedded_entry, RekorBundle};
use crate::tlog_lookup::{find_entries, LookupError, TransparencyLogLookup};

use super::error::SlsaError;

/// Most embedded log entries read.
const MAX_EMBEDDED_ENTRIES: usize = 4;

/// A DSSE provenance envelope with its signing certificate and any embedded
/// log entries (none of it verified yet).
#[derive(Debug, Clone)]
pub struct DsseProvenance {
    /// The envelope (one signature).
    pub envelope: DsseEnvelope,
    /// The signing certificate, then its chain (DER).
    pub certificates: Vec<DerCertificate>,
    /// The embedded Rekor entries; empty for a bare envelope.
    pub tlog_entries: Vec<TransparencyLogEntry>,
}

fn malformed(detail: impl std::fmt::Display) -> SlsaError {
    SlsaError::UnrecognizedProvenance {
        found: format!("a malformed DSSE envelope: {detail}"),
    }
}

impl DsseProvenance {
    /// Parse the envelope. It must have exactly one signature carrying a
    /// PEM certificate; embedded entries are read as the module describes.
    pub fn parse(bytes: &[u8]) -> Result<Self, SlsaError> {
        #[derive(Deserialize)]
        struct Sig {
            #[serde(default)]
            keyid: String,
            sig: String,
            #[serde(default)]
            cert: Option<String>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Env {
            payload_type: String,
            payload: String,
            signatures: Vec<Sig>,
            #[serde(default)]
            tlog_entries: Option<Vec<serde_json::Value>>,
            #[serde(default)]
            rekor_entry: Option<serde_json::Value>,
            #[serde(default)]
            rekor_bundle: Option<serde_json::Value>,
        }
        let env: Env = serde_json::from_slice(bytes).map_err(malformed)?;
        let [sig]: [Sig; 1] = env.signatures.try_into().map_err(|v: Vec<Sig>| {
            malformed(format_args!(
                "expected exactly one signature, found {}",
                v.len()
            ))
        })?;
        let pem =
            sig.cert
                .filter(|c| !c.trim().is_empty())
                .ok_or(SlsaError::InvalidCertificate {
                    expected: "a PEM Fulcio certificate in the envelope's signature (`cert`)",
                    found: "none".into(),
                })?;
        let certificates = pem_certificates(&pem).map_err(|e| SlsaError::InvalidCertificate {
            expected: "a PEM Fulcio certificate in the envelope's signature (`cert`)",
            found: e,
        })?;
        if certificates.is_empty() {
            return Err(SlsaError::InvalidCertificate {
                expected: "a PEM Fulcio certificate in the envelope's signature (`cert`)",
                found: "no CERTIFICATE block".into(),
            });
        }
        let payload = decode_b64(&env.payload).map_err(|e| malformed(format!("payload: {e}")))?;
        let signature = decode_b64(&sig.sig).map_err(|e| malformed(format!("signature: {e}")))?;
        let envelope = DsseEnvelope::new(
            env.payload_type,
            PayloadBytes::new(payload),
            DsseSignature::new(SignatureBytes::new(signature), KeyId::new(sig.keyid)),
        );

        let mut tlog_entries = Vec::new();
        for value in env.tlog_entries.unwrap_or_default() {
            let entry: TransparencyLogEntry = serde_json::from_value(value)
                .map_err(|e| malformed(format!("tlogEntries: {e}")))?;
            tlog_entries.push(entry);
        }
        if let Some(value) = env.rekor_entry {
            let entry = embedded_entry(value)
                .map_err(|e| malformed(format!("rekorEntry: {e}")))?
                .ok_or_else(|| unsupported_kind(None))?;
            tlog_entries.push(entry);
        }
        if let Some(value) = env.rekor_bundle {
            let bundle = RekorBundle::from_json(&value)
                .map_err(|e| malformed(format!("rekorBundle: {e}")))?;
            let entry = bundle
                .tlog_entry()
                .map_err(|e| malformed(format!("rekorBundle: {e}")))?
                .ok_or_else(|| unsupported_kind(bundle.kind()))?;
            tlog_entries.push(entry);
        }
        if tlog_entries.len() > MAX_EMBEDDED_ENTRIES {
            return Err(malformed(format!(
                "more than {MAX_EMBEDDED_ENTRIES} embedded log entries ({})",
                tlog_entries.len()
            )));
        }
        Ok(Self {
            envelope,
            certificates,
            tlog_entries,
        })
    }

    /// The SHA-256 of the payload, under which Rekor indexes the entry.
    pub fn payload_sha256(&self) -> [u8; 32] {
        *sigstore_crypto::sha256(self.envelope.payload.as_bytes()).as_bytes()
    }

    /// A Sigstore bundle v0.1 of the envelope, its certificate chain and
    /// `entry`, for [`crate::Verifier`].
    pub fn bundle(&self, entry: TransparencyLogEntry) -> Bundle {
        let certificates = self
            .certificates
            .iter()
            .cloned()
            .map(X509Certificate::new)
            .collect();
        Bundle::new(
            MediaType::Bundle0_1,
            VerificationMaterial::new(VerificationMaterialContent::X509CertificateChain {
                certificates,
            })
            .with_tlog_entries(vec![entry]),
            SignatureContent::DsseEnvelope(self.envelope.clone()),
        )
    }

    /// Check that `entry` records this envelope: a `dsse` 0.0.1 or `intoto`
    /// 0.0.2 body whose payload hash is the SHA-256 of this payload. (The
    /// signature and certificate in the body are compared by the verifier.)
    pub fn check_entry(&self, entry: &TransparencyLogEntry) -> Result<(), SlsaError> {
        let (algorithm, found) = match body_payload_hash(entry) {
            Ok(hash) => hash.unzip(),
            Err(other) => {
                return Err(SlsaError::RekorEntryMismatch {
                    expected: "a dsse 0.0.1 or intoto 0.0.2 entry".into(),
                    found: format!("a {} {} entry", other.kind(), other.version()),
                })
            }
        };
        let expected = hex::encode(self.payload_sha256());
        match (algorithm.as_deref(), found) {
            (Some("sha256"), Some(found)) if found == expected => Ok(()),
            (algorithm, found) => Err(SlsaError::RekorEntryMismatch {
                expected: format!("an entry for payload sha256:{expected}"),
                found: format!(
                    "an entry for payload {}:{}",
                    algorithm.unwrap_or("<none>"),
                    found.unwrap_or_else(|| "<none>".into())
                ),
            }),
        }
    }

    /// Look the envelope's entries up in `lookup`: by payload hash, then by
    /// the artifact's digest. Entries that do not record this envelope are
    /// dropped; if none is left, the first mismatch is the error.
    pub async fn look_up(
        &self,
        lookup: &dyn TransparencyLogLookup,
        artifact: &ArtifactDigest,
    ) -> Result<Vec<TransparencyLogEntry>, SlsaError> {
        let mut found = match find_entries(lookup, &self.payload_sha256()).await {
            Err(LookupError::NotFound { .. }) => Vec::new(),
            other => other.map_err(SlsaError::RekorLookup)?,
        };
        if found.is_empty() {
            found = find_entries(lookup, &artifact.0)
                .await
                .map_err(SlsaError::RekorLookup)?;
        }
        let mut first_mismatch = None;
        let mut matching = Vec::new();
        for entry in found {
            match self.check_entry(&entry) {
                Ok(()) => matching.push(entry),
                Err(e) => {
                    first_mismatch.get_or_insert(e);
                }
            }
        }
        if matching.is_empty() {
            return Err(first_mismatch.unwrap_or_else(|| {
                SlsaError::RekorLookup(LookupError::NotFound {
                    url: lookup.url(),
                    digest: hex::encode(self.payload_sha256()),
                })
            }));
        }
        Ok(matching)
    }
}

fn unsupported_kind(kind: Option<(String, String)>) -> SlsaError {
    let (kind, version) = kind.unwrap_or_else(|| ("unknown".into(), String::new()));
    SlsaError::RekorEntryMismatch {
        expected: "a dsse 0.0.1 or intoto 0.0.2 entry".into(),
        found: format!("a {kind} {version} entry"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sigstore_types::KindVersion;

    #[test]
    fn an_envelope_without_a_certificate_is_refused() {
        let err = DsseProvenance::parse(
            br#"{"payloadType":"t","payload":"e30=","signatures":[{"keyid":"","sig":"AA=="}]}"#,
        )
        .unwrap_err();
        assert!(matches!(err, SlsaError::InvalidCertificate { .. }), "{err}");
    }

    #[test]
    fn an_envelope_with_two_signatures_is_refused() {
        let err = DsseProvenance::parse(
            br#"{"payloadType":"t","payload":"e30=","signatures":[{"sig":"AA=="},{"sig":"AA=="}]}"#,
        )
        .unwrap_err();
        assert!(
            matches!(err, SlsaError::UnrecognizedProvenance { ref found } if found.contains("exactly one")),
            "{err}"
        );
    }

    #[test]
    fn an_entry_must_record_this_payload() {
        use sigstore_types::bundle::LogId;
        use sigstore_types::{CanonicalizedBody, LogIndex, LogKeyId};
        let provenance = DsseProvenance {
            envelope: DsseEnvelope::new(
                "t",
                PayloadBytes::new(b"{}".to_vec()),
                DsseSignature::new(SignatureBytes::new(vec![0]), KeyId::default()),
            ),
            certificates: Vec::new(),
            tlog_entries: Vec::new(),
        };
        let entry = |kind: KindVersion, body: serde_json::Value| {
            TransparencyLogEntry::new(
                LogIndex::new(0).unwrap(),
                LogId::new(LogKeyId::new(vec![0; 32])),
                kind,
                CanonicalizedBody::new(serde_json::to_vec(&body).unwrap()),
            )
        };
        let ours = hex::encode(provenance.payload_sha256());
        let hash = |v: &str| serde_json::json!({"algorithm": "sha256", "value": v});
        provenance
            .check_entry(&entry(
                KindVersion::DsseV001,
                serde_json::json!({"spec": {"payloadHash": hash(&ours)}}),
            ))
            .unwrap();
        provenance
            .check_entry(&entry(
                KindVersion::IntotoV002,
                serde_json::json!({"spec": {"content": {"payloadHash": hash(&ours.to_uppercase())}}}),
            ))
            .unwrap();
        for bad in [
            entry(
                KindVersion::DsseV001,
                serde_json::json!({"spec": {"payloadHash": hash(&"00".repeat(32))}}),
            ),
            entry(KindVersion::DsseV001, serde_json::json!({"spec": {}})),
            entry(
                KindVersion::HashedRekordV001,
                serde_json::json!({"spec": {"payloadHash": hash(&ours)}}),
            ),
        ] {
            let err = provenance.check_entry(&bad).unwrap_err();
            assert!(matches!(err, SlsaError::RekorEntryMismatch { .. }), "{err}");
        }
    }
}

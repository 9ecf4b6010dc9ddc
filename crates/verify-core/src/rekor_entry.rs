//! Rekor v1 log entries, read in one place for every path that meets them:
//! entries looked up in the log ([`crate::tlog_lookup`]), cosign's SET
//! annotation on image layers ([`RekorBundle`], `cosign::legacy`), and the
//! entries slsa-github-generator embeds in `.intoto.jsonl` envelopes
//! (`slsa::dsse_provenance`).
//!
//! Reading is not believing: these functions decode the wire forms into
//! bundle log entries (or the fields a caller compares), and check only what
//! the wire form itself promises (an entry ID is the RFC 6962 leaf hash of
//! its body). The SET, inclusion proof and the body's consistency with the
//! signature are verified afterwards, by the verifier, like any bundle's.

use std::collections::BTreeMap;

use serde::Deserialize;
use sigstore_types::bundle::{InclusionPromise, LogId};
use sigstore_types::{
    CanonicalizedBody, KindVersion, LogIndex, LogKeyId, SignedTimestamp, TransparencyLogEntry,
};

use crate::cosign::legacy::decode_b64;
use crate::tlog_lookup::LookupError;

/// The Rekor entry of a cosign bundle annotation.
#[derive(Debug, Clone)]
pub struct RekorBundle {
    /// The SET.
    pub signed_entry_timestamp: Vec<u8>,
    /// The canonicalized body.
    pub body: Vec<u8>,
    /// The integrated time (Unix seconds).
    pub integrated_time: i64,
    /// The log index.
    pub log_index: i64,
    /// The log ID (SHA-256 of the log key).
    pub log_id: Vec<u8>,
}

impl RekorBundle {
    /// Decode `{"SignedEntryTimestamp": b64, "Payload": {"body": b64,
    /// "integratedTime": n, "logIndex": n, "logID": hex}}`.
    pub fn from_json(value: &serde_json::Value) -> Result<Self, String> {
        #[derive(Deserialize)]
        struct Wire {
            #[serde(rename = "SignedEntryTimestamp")]
            set: String,
            #[serde(rename = "Payload")]
            payload: Payload,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Payload {
            body: String,
            integrated_time: i64,
            log_index: i64,
            #[serde(rename = "logID")]
            log_id: String,
        }
        let wire: Wire = serde_json::from_value(value.clone()).map_err(|e| e.to_string())?;
        Ok(Self {
            signed_entry_timestamp: decode_b64(&wire.set)
                .map_err(|e| format!("SignedEntryTimestamp: {e}"))?,
            body: decode_b64(&wire.payload.body).map_err(|e| format!("body: {e}"))?,
            integrated_time: wire.payload.integrated_time,
            log_index: wire.payload.log_index,
            log_id: hex::decode(&wire.payload.log_id).map_err(|e| format!("logID: {e}"))?,
        })
    }

    /// The bundle log entry, if its kind is one bundles can carry.
    pub fn tlog_entry(&self) -> Result<Option<TransparencyLogEntry>, String> {
        let Some(kind_version) = kind_version_of(&self.body) else {
            return Ok(None);
        };
        let index = u64::try_from(self.log_index)
            .map_err(|_| format!("negative log index {}", self.log_index))?;
        let time = jiff::Timestamp::from_second(self.integrated_time)
            .map_err(|e| format!("integratedTime {}: {e}", self.integrated_time))?;
        Ok(Some(
            TransparencyLogEntry::new(
                LogIndex::new(index).map_err(|e| e.to_string())?,
                LogId::new(LogKeyId::new(self.log_id.clone())),
                kind_version,
                CanonicalizedBody::new(self.body.clone()),
            )
            .with_integrated_time(time)
            .with_inclusion_promise(InclusionPromise::new(SignedTimestamp::new(
                self.signed_entry_timestamp.clone(),
            ))),
        ))
    }

    /// The body's declared kind and version.
    pub fn kind(&self) -> Option<(String, String)> {
        body_kind(&self.body)
    }
}

/// The SHA-256 (hex) a Rekor body records for the signed content
/// (`hashedrekord` data hash, `dsse` envelope hash, `intoto` content hash),
/// with its algorithm.
pub fn body_content_hash(body: &[u8]) -> Option<(String, String)> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let spec = value.get("spec")?;
    let hash = spec
        .pointer("/data/hash")
        .or_else(|| spec.get("envelopeHash"))
        .or_else(|| spec.pointer("/content/hash"))?;
    Some((
        hash.get("algorithm")?.as_str()?.to_string(),
        hash.get("value")?.as_str()?.to_ascii_lowercase(),
    ))
}

/// Parse one Rekor v1 entry answer and check that it is the entry `uuid`
/// names: the last 64 hex digits of the ID are the RFC 6962 leaf hash of
/// the body. `Ok(None)`: a kind bundles cannot carry.
pub fn parse_entry(uuid: &str, bytes: &[u8]) -> Result<Option<TransparencyLogEntry>, LookupError> {
    let malformed = |detail: String| LookupError::Malformed { detail };
    let answer: BTreeMap<String, sigstore_rekor::LogEntry> =
        serde_json::from_slice(bytes).map_err(|e| malformed(format!("entry {uuid}: {e}")))?;
    let [(id, entry)]: [(String, sigstore_rekor::LogEntry); 1] = answer
        .into_iter()
        .collect::<Vec<_>>()
        .try_into()
        .map_err(|v: Vec<_>| {
            malformed(format!("entry {uuid}: {} entries in the answer", v.len()))
        })?;
    let leaf = hex::encode(sigstore_merkle::hash_leaf(entry.body.as_bytes()).as_bytes());
    let wanted = uuid.to_ascii_lowercase();
    let id = id.to_ascii_lowercase();
    if !id.ends_with(&leaf) || !wanted.ends_with(&leaf) {
        return Err(malformed(format!(
            "entry {uuid}: the log answered entry {id} whose body hashes to {leaf}"
        )));
    }
    let Some(kind_version) = kind_version_of(entry.body.as_bytes()) else {
        return Ok(None);
    };
    entry
        .to_bundle_entry(kind_version)
        .map(Some)
        .map_err(|e| malformed(format!("entry {uuid}: {e}")))
}

/// The kind and version a Rekor body declares, if bundles can carry it.
pub fn kind_version_of(body: &[u8]) -> Option<KindVersion> {
    let (kind, version) = body_kind(body)?;
    match (kind.as_str(), version.as_str()) {
        ("hashedrekord", "0.0.1") => Some(KindVersion::HashedRekordV001),
        ("hashedrekord", "0.0.2") => Some(KindVersion::HashedRekordV002),
        ("dsse", "0.0.1") => Some(KindVersion::DsseV001),
        ("intoto", "0.0.2") => Some(KindVersion::IntotoV002),
        _ => None,
    }
}

/// The `kind` and `apiVersion` of a Rekor body.
pub fn body_kind(body: &[u8]) -> Option<(String, String)> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Head {
        api_version: String,
        kind: String,
    }
    let head: Head = serde_json::from_slice(body).ok()?;
    Some((head.kind, head.api_version))
}

/// A Rekor v1 entry embedded in a document, either as the log serves it
/// (one `{"<uuid>": entry}` pair, the UUID checked against the body as
/// [`parse_entry`] does) or unwrapped (`{body, integratedTime, logID,
/// logIndex, verification}`, its UUID then being its body's leaf hash).
/// `Ok(None)`: a kind bundles cannot carry.
pub(crate) fn embedded_entry(
    value: serde_json::Value,
) -> Result<Option<TransparencyLogEntry>, String> {
    let (uuid, wrapped) = if value.get("body").is_some() {
        let entry: sigstore_rekor::LogEntry =
            serde_json::from_value(value.clone()).map_err(|e| e.to_string())?;
        let uuid = hex::encode(sigstore_merkle::hash_leaf(entry.body.as_bytes()).as_bytes());
        let mut wrapped = serde_json::Map::new();
        wrapped.insert(uuid.clone(), value);
        (uuid, serde_json::Value::Object(wrapped))
    } else {
        let uuid = match value.as_object() {
            Some(map) if map.len() == 1 => map.keys().next().cloned().unwrap_or_default(),
            _ => return Err("expected one {\"<uuid>\": entry} pair".into()),
        };
        (uuid, value)
    };
    let bytes = serde_json::to_vec(&wrapped).map_err(|e| e.to_string())?;
    parse_entry(&uuid, &bytes).map_err(|e| e.to_string())
}

/// The payload hash (algorithm, lower-case hex) a DSSE-recording body
/// names: `spec.payloadHash` of `dsse` 0.0.1, `spec.content.payloadHash` of
/// `intoto` 0.0.2. `Err` carries the kind for an entry of another kind;
/// `Ok(None)` is a body of the right kind without the field.
pub(crate) fn body_payload_hash(
    entry: &TransparencyLogEntry,
) -> Result<Option<(String, String)>, KindVersion> {
    let pointer = match entry.kind_version {
        KindVersion::DsseV001 => "/spec/payloadHash",
        KindVersion::IntotoV002 => "/spec/content/payloadHash",
        other => return Err(other),
    };
    let value: serde_json::Value =
        serde_json::from_slice(entry.canonicalized_body.as_bytes()).unwrap_or_default();
    let Some(hash) = value.pointer(pointer) else {
        return Ok(None);
    };
    Ok((|| {
        Some((
            hash.get("algorithm")?.as_str()?.to_string(),
            hash.get("value")?.as_str()?.to_ascii_lowercase(),
        ))
    })())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        assert_eq!(
            kind_version_of(br#"{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{}}"#),
            Some(KindVersion::HashedRekordV001)
        );
        assert_eq!(
            kind_version_of(br#"{"apiVersion":"0.0.1","kind":"intoto","spec":{}}"#),
            None
        );
        assert_eq!(kind_version_of(b"nonsense"), None);
    }

    #[test]
    fn an_answer_for_another_entry_is_refused() {
        let body = br#"{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{}}"#;
        use base64::Engine as _;
        let answer = serde_json::json!({
            "00": {
                "body": base64::engine::general_purpose::STANDARD.encode(body),
                "integratedTime": 1,
                "logID": "c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d",
                "logIndex": 1,
            }
        });
        let err = parse_entry("00", &serde_json::to_vec(&answer).unwrap()).unwrap_err();
        assert!(matches!(err, LookupError::Malformed { .. }), "{err}");
    }
}

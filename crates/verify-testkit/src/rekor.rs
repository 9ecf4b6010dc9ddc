//! A Rekor v1-shaped transparency log.
//!
//! [`RekorLog`] keeps entries in an RFC 6962 Merkle tree, signs a Signed Entry
//! Timestamp (SET, the "inclusion promise") for each, answers inclusion and
//! consistency proofs for any tree size, and signs checkpoints (signed notes).
//! Entry bodies are `hashedrekord` v0.0.1 and `dsse` v0.0.1 exactly as Rekor v1
//! writes them: RFC 8785 canonical JSON.
//!
//! It is a cheap, cloneable handle (`Arc` inside) so the same log can be
//! shared with a test HTTP server and looked up by index, UUID or digest.

use crate::keys::{KeyKind, TestKey};
use crate::{Error, Result};
use base64::{engine::general_purpose::STANDARD, Engine as _};
use jiff::Timestamp;
use serde_json::json;
use sigstore_types::bundle::{InclusionPromise, InclusionProof, LogId};
use sigstore_types::{
    CanonicalizedBody, CheckpointData, KindVersion, LogIndex, LogKeyId, Sha256Hash,
    SignedTimestamp, TransparencyLogEntry,
};
use std::sync::{Arc, Mutex, MutexGuard};

/// One entry of the log, as Rekor stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// Position in the log (0-based). This log has a single shard, so the
    /// global log index and the tree index coincide.
    pub log_index: u64,
    /// The entry kind and version.
    pub kind_version: KindVersion,
    /// The canonicalized body (RFC 8785 JSON bytes).
    pub body: Vec<u8>,
    /// When the log integrated the entry (whole seconds, as Rekor v1).
    pub integrated_time: Timestamp,
    /// RFC 6962 leaf hash of the body, `SHA-256(0x00 || body)`; its hex form is
    /// the Rekor entry UUID.
    pub leaf_hash: [u8; 32],
    /// The Signed Entry Timestamp: the log key's signature over the canonical
    /// JSON `{"body","integratedTime","logID","logIndex"}`.
    pub signed_entry_timestamp: Vec<u8>,
    /// Digests Rekor's search index would find this entry by: the artifact's
    /// SHA-256 for `hashedrekord`, the payload's SHA-256 for `dsse` (hex).
    pub indexed_digests: Vec<String>,
}

impl LogEntry {
    /// The Rekor entry UUID: the hex RFC 6962 leaf hash.
    pub fn uuid(&self) -> String {
        hex::encode(self.leaf_hash)
    }
}

struct Inner {
    key: TestKey,
    hostname: String,
    tree_id: u64,
    base_url: String,
    entries: Mutex<Vec<LogEntry>>,
}

/// A Rekor v1-shaped transparency log with an ECDSA P-256 log key.
#[derive(Clone)]
pub struct RekorLog {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for RekorLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RekorLog")
            .field("origin", &self.origin())
            .field("size", &self.size())
            .finish_non_exhaustive()
    }
}

impl RekorLog {
    /// A new, empty log. Checkpoints name it `<hostname> - <tree_id>`, and are
    /// signed as `<hostname>`, as Rekor v1 does.
    pub fn new(hostname: &str, tree_id: u64, base_url: &str) -> Result<Self> {
        if hostname.is_empty() || hostname.contains(char::is_whitespace) {
            return Err(Error::InvalidOptions(
                "the log hostname must be non-empty without whitespace".into(),
            ));
        }
        Ok(Self {
            inner: Arc::new(Inner {
                key: TestKey::generate(KeyKind::EcdsaP256)?,
                hostname: hostname.into(),
                tree_id,
                base_url: base_url.into(),
                entries: Mutex::new(Vec::new()),
            }),
        })
    }

    fn entries(&self) -> MutexGuard<'_, Vec<LogEntry>> {
        // A panic while holding the lock cannot leave the Vec inconsistent
        // (entries are only pushed whole), so a poisoned lock is still usable.
        self.inner
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The log's signing key.
    pub fn key(&self) -> &TestKey {
        &self.inner.key
    }

    /// The log ID: SHA-256 of the log key's SubjectPublicKeyInfo.
    pub fn log_id(&self) -> [u8; 32] {
        self.inner.key.key_id()
    }

    /// The base URL listed in the trusted root.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The tree ID (the shard's Trillian tree ID in real Rekor).
    pub fn tree_id(&self) -> u64 {
        self.inner.tree_id
    }

    /// The checkpoint origin line: `<hostname> - <tree_id>`.
    pub fn origin(&self) -> String {
        format!("{} - {}", self.inner.hostname, self.inner.tree_id)
    }

    /// Number of entries.
    pub fn size(&self) -> u64 {
        self.entries().len() as u64
    }

    /// Append a raw canonicalized body integrated at `integrated_time`
    /// (truncated to whole seconds), signing its SET.
    pub fn append(
        &self,
        kind_version: KindVersion,
        body: Vec<u8>,
        integrated_time: Timestamp,
        indexed_digests: Vec<String>,
    ) -> Result<LogEntry> {
        let integrated_time = Timestamp::from_second(integrated_time.as_second())?;
        let leaf_hash = *sigstore_merkle::hash_leaf(&body).as_bytes();
        let mut entries = self.entries();
        let log_index = entries.len() as u64;
        let signed_entry_timestamp = self.sign_set(&body, integrated_time, log_index)?;
        let entry = LogEntry {
            log_index,
            kind_version,
            body,
            integrated_time,
            leaf_hash,
            signed_entry_timestamp,
            indexed_digests,
        };
        entries.push(entry.clone());
        Ok(entry)
    }

    /// Append a `hashedrekord` v0.0.1 entry: the artifact's SHA-256, the
    /// signature, and the verifier (a PEM certificate or public key), as
    /// `{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{"data":{"hash":
    /// {"algorithm":"sha256","value":<hex>}},"signature":{"content":<b64>,
    /// "publicKey":{"content":<b64 PEM>}}}}`.
    pub fn append_hashedrekord(
        &self,
        artifact_sha256: &[u8; 32],
        signature: &[u8],
        verifier_pem: &str,
        integrated_time: Timestamp,
    ) -> Result<LogEntry> {
        let digest_hex = hex::encode(artifact_sha256);
        let body = json!({
            "apiVersion": "0.0.1",
            "kind": "hashedrekord",
            "spec": {
                "data": {"hash": {"algorithm": "sha256", "value": digest_hex}},
                "signature": {
                    "content": STANDARD.encode(signature),
                    "publicKey": {"content": STANDARD.encode(verifier_pem)},
                },
            },
        });
        self.append(
            KindVersion::HashedRekordV001,
            canonical_json(&body)?,
            integrated_time,
            vec![digest_hex],
        )
    }

    /// Append a `dsse` v0.0.1 entry: the SHA-256 of the submitted envelope
    /// JSON and of the payload (hex), and each signature with its verifier
    /// (base64 of a PEM certificate or public key).
    pub fn append_dsse(
        &self,
        envelope_json: &[u8],
        payload: &[u8],
        signature: &[u8],
        verifier_pem: &str,
        integrated_time: Timestamp,
    ) -> Result<LogEntry> {
        let payload_hex = sigstore_crypto::sha256(payload).to_hex();
        let body = json!({
            "apiVersion": "0.0.1",
            "kind": "dsse",
            "spec": {
                "envelopeHash": {
                    "algorithm": "sha256",
                    "value": sigstore_crypto::sha256(envelope_json).to_hex(),
                },
                "payloadHash": {"algorithm": "sha256", "value": payload_hex},
                "signatures": [{
                    "signature": STANDARD.encode(signature),
                    "verifier": STANDARD.encode(verifier_pem),
                }],
            },
        });
        self.append(
            KindVersion::DsseV001,
            canonical_json(&body)?,
            integrated_time,
            vec![payload_hex],
        )
    }

    /// The entry at `log_index`.
    pub fn entry(&self, log_index: u64) -> Option<LogEntry> {
        let index = usize::try_from(log_index).ok()?;
        self.entries().get(index).cloned()
    }

    /// All entries, in log order.
    pub fn all_entries(&self) -> Vec<LogEntry> {
        self.entries().clone()
    }

    /// Look an entry up by its UUID (64 hex digits), or by its entry ID (the
    /// 16-hex-digit tree ID followed by the UUID), case-insensitively.
    pub fn entry_by_uuid(&self, uuid: &str) -> Option<LogEntry> {
        let uuid = uuid.to_ascii_lowercase();
        let uuid = match uuid.len() {
            64 => uuid.as_str(),
            80 if uuid[..16] == format!("{:016x}", self.inner.tree_id) => &uuid[16..],
            _ => return None,
        };
        let leaf = hex::decode(uuid).ok()?;
        self.entries()
            .iter()
            .find(|entry| entry.leaf_hash.as_slice() == leaf)
            .cloned()
    }

    /// The entry ID Rekor returns: tree ID (16 hex digits) then UUID.
    pub fn entry_id(&self, entry: &LogEntry) -> String {
        format!("{:016x}{}", self.inner.tree_id, entry.uuid())
    }

    /// Entries indexed under a SHA-256 digest (hex, with or without a
    /// `sha256:` prefix), like Rekor's `/api/v1/index/retrieve`.
    pub fn find_by_digest(&self, digest: &str) -> Vec<LogEntry> {
        let digest = digest
            .strip_prefix("sha256:")
            .unwrap_or(digest)
            .to_ascii_lowercase();
        self.entries()
            .iter()
            .filter(|entry| entry.indexed_digests.contains(&digest))
            .cloned()
            .collect()
    }

    fn leaves(&self, tree_size: u64) -> Result<Vec<[u8; 32]>> {
        let entries = self.entries();
        let size = usize::try_from(tree_size)
            .ok()
            .filter(|size| *size <= entries.len())
            .ok_or_else(|| {
                Error::InvalidOptions(format!(
                    "tree size {tree_size} exceeds log size {}",
                    entries.len()
                ))
            })?;
        Ok(entries[..size].iter().map(|e| e.leaf_hash).collect())
    }

    /// The RFC 6962 Merkle tree hash of the first `tree_size` entries.
    pub fn root_hash(&self, tree_size: u64) -> Result<[u8; 32]> {
        let leaves = self.leaves(tree_size)?;
        if leaves.is_empty() {
            return Ok(*sigstore_crypto::sha256(b"").as_bytes());
        }
        Ok(merkle::root(&leaves))
    }

    /// The RFC 6962 audit path for `log_index` in the tree of `tree_size`.
    pub fn inclusion_proof(&self, log_index: u64, tree_size: u64) -> Result<Vec<[u8; 32]>> {
        let leaves = self.leaves(tree_size)?;
        let index = usize::try_from(log_index)
            .ok()
            .filter(|index| *index < leaves.len())
            .ok_or_else(|| {
                Error::InvalidOptions(format!(
                    "log index {log_index} is outside a tree of size {tree_size}"
                ))
            })?;
        Ok(merkle::path(index, &leaves))
    }

    /// The RFC 6962 consistency proof from `old_size` to `new_size`.
    pub fn consistency_proof(&self, old_size: u64, new_size: u64) -> Result<Vec<[u8; 32]>> {
        let leaves = self.leaves(new_size)?;
        let old = usize::try_from(old_size)
            .ok()
            .filter(|old| *old <= leaves.len())
            .ok_or_else(|| Error::InvalidOptions("old size exceeds new size".into()))?;
        if old == 0 || old == leaves.len() {
            return Ok(Vec::new());
        }
        Ok(merkle::consistency(old, &leaves))
    }

    /// A checkpoint (signed note) for `tree_size`, signed by the log key:
    /// `<origin>\n<size>\n<base64 root>\n\n— <hostname> <base64(key hint ||
    /// signature)>\n`, the key hint being the first 4 bytes of the log ID.
    pub fn checkpoint(&self, tree_size: u64) -> Result<String> {
        self.checkpoint_signed_by(tree_size, &self.inner.key, self.key_hint())
    }

    /// The checkpoint's 4-byte key hint: the first four bytes of the log ID.
    pub fn key_hint(&self) -> [u8; 4] {
        let id = self.log_id();
        [id[0], id[1], id[2], id[3]]
    }

    /// A checkpoint for `tree_size` signed by an arbitrary key under an
    /// arbitrary key hint (for negative tests).
    pub fn checkpoint_signed_by(
        &self,
        tree_size: u64,
        key: &TestKey,
        key_hint: [u8; 4],
    ) -> Result<String> {
        let root = self.root_hash(tree_size)?;
        let note = format!(
            "{}\n{}\n{}\n",
            self.origin(),
            tree_size,
            STANDARD.encode(root)
        );
        let signature = key.sign(note.as_bytes())?;
        let mut hint_and_sig = key_hint.to_vec();
        hint_and_sig.extend_from_slice(&signature);
        Ok(format!(
            "{note}\n\u{2014} {} {}\n",
            self.inner.hostname,
            STANDARD.encode(hint_and_sig)
        ))
    }

    fn sign_set(&self, body: &[u8], integrated_time: Timestamp, log_index: u64) -> Result<Vec<u8>> {
        let payload = json!({
            "body": STANDARD.encode(body),
            "integratedTime": integrated_time.as_second(),
            "logID": hex::encode(self.log_id()),
            "logIndex": log_index,
        });
        self.inner.key.sign(&canonical_json(&payload)?)
    }

    /// The bundle `TransparencyLogEntry` for `entry`: log index and ID,
    /// kind/version, integrated time, canonicalized body, and optionally the
    /// inclusion promise (SET) and an inclusion proof with a checkpoint
    /// against the current tree.
    pub fn tlog_entry(
        &self,
        entry: &LogEntry,
        with_promise: bool,
        with_proof: bool,
    ) -> Result<TransparencyLogEntry> {
        let mut tlog = TransparencyLogEntry::new(
            LogIndex::new(entry.log_index)?,
            LogId::new(LogKeyId::new(self.log_id().to_vec())),
            entry.kind_version,
            CanonicalizedBody::new(entry.body.clone()),
        )
        .with_integrated_time(entry.integrated_time);
        if with_promise {
            tlog = tlog.with_inclusion_promise(InclusionPromise::new(SignedTimestamp::new(
                entry.signed_entry_timestamp.clone(),
            )));
        }
        if with_proof {
            let tree_size = self.size();
            let hashes = self
                .inclusion_proof(entry.log_index, tree_size)?
                .into_iter()
                .map(Sha256Hash::new)
                .collect();
            tlog = tlog.with_inclusion_proof(InclusionProof::new(
                LogIndex::new(entry.log_index)?,
                Sha256Hash::new(self.root_hash(tree_size)?),
                tree_size,
                hashes,
                CheckpointData::new(self.checkpoint(tree_size)?)?,
            ));
        }
        Ok(tlog)
    }

    /// The entry as Rekor v1's REST API returns it (`GET
    /// /api/v1/log/entries/{uuid}`): `{<entry ID>: {body, integratedTime,
    /// logID, logIndex, verification: {inclusionProof, signedEntryTimestamp}}}`
    /// with hex hashes, proven against the current tree.
    pub fn rekor_v1_entry_json(&self, entry: &LogEntry) -> Result<serde_json::Value> {
        let tree_size = self.size();
        let hashes: Vec<String> = self
            .inclusion_proof(entry.log_index, tree_size)?
            .iter()
            .map(hex::encode)
            .collect();
        Ok(json!({
            self.entry_id(entry): {
                "body": STANDARD.encode(&entry.body),
                "integratedTime": entry.integrated_time.as_second(),
                "logID": hex::encode(self.log_id()),
                "logIndex": entry.log_index,
                "verification": {
                    "inclusionProof": {
                        "checkpoint": self.checkpoint(tree_size)?,
                        "hashes": hashes,
                        "logIndex": entry.log_index,
                        "rootHash": hex::encode(self.root_hash(tree_size)?),
                        "treeSize": tree_size,
                    },
                    "signedEntryTimestamp": STANDARD.encode(&entry.signed_entry_timestamp),
                },
            }
        }))
    }

    /// The log state as Rekor's `GET /api/v1/log` returns it: `{rootHash (hex),
    /// signedTreeHead (checkpoint), treeID (string), treeSize}`.
    pub fn log_info_json(&self) -> Result<serde_json::Value> {
        let tree_size = self.size();
        Ok(json!({
            "rootHash": hex::encode(self.root_hash(tree_size)?),
            "signedTreeHead": self.checkpoint(tree_size)?,
            "treeID": self.inner.tree_id.to_string(),
            "treeSize": tree_size,
        }))
    }

    /// The log's public key as Rekor's `GET /api/v1/log/publicKey` returns it
    /// (PEM).
    pub fn public_key_pem(&self) -> String {
        self.inner.key.public_key_pem()
    }
}

/// RFC 8785 canonical JSON, as Rekor canonicalizes bodies and SET payloads.
pub(crate) fn canonical_json(value: &serde_json::Value) -> Result<Vec<u8>> {
    serde_json_canonicalizer::to_vec(value).map_err(|e| Error::Json(e.to_string()))
}

/// RFC 6962 section 2.1 tree algorithms over leaf hashes, using
/// `sigstore_merkle`'s node hashing.
mod merkle {
    use sigstore_types::Sha256Hash;

    fn node(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
        *sigstore_merkle::hash_children(&Sha256Hash::new(*left), &Sha256Hash::new(*right))
            .as_bytes()
    }

    /// Largest power of two strictly less than `n` (`n >= 2`).
    fn split(n: usize) -> usize {
        let mut k = 1;
        while k * 2 < n {
            k *= 2;
        }
        k
    }

    /// MTH(D[n]) for non-empty `leaves`.
    pub(super) fn root(leaves: &[[u8; 32]]) -> [u8; 32] {
        if leaves.len() == 1 {
            return leaves[0];
        }
        let k = split(leaves.len());
        node(&root(&leaves[..k]), &root(&leaves[k..]))
    }

    /// PATH(m, D[n]).
    pub(super) fn path(m: usize, leaves: &[[u8; 32]]) -> Vec<[u8; 32]> {
        if leaves.len() <= 1 {
            return Vec::new();
        }
        let k = split(leaves.len());
        if m < k {
            let mut proof = path(m, &leaves[..k]);
            proof.push(root(&leaves[k..]));
            proof
        } else {
            let mut proof = path(m - k, &leaves[k..]);
            proof.push(root(&leaves[..k]));
            proof
        }
    }

    /// PROOF(m, D[n]) = SUBPROOF(m, D[n], true).
    pub(super) fn consistency(m: usize, leaves: &[[u8; 32]]) -> Vec<[u8; 32]> {
        subproof(m, leaves, true)
    }

    fn subproof(m: usize, leaves: &[[u8; 32]], complete: bool) -> Vec<[u8; 32]> {
        let n = leaves.len();
        if m == n {
            return if complete {
                Vec::new()
            } else {
                vec![root(leaves)]
            };
        }
        let k = split(n);
        if m <= k {
            let mut proof = subproof(m, &leaves[..k], complete);
            proof.push(root(&leaves[k..]));
            proof
        } else {
            let mut proof = subproof(m - k, &leaves[k..], false);
            proof.push(root(&leaves[..k]));
            proof
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log_with(n: usize) -> RekorLog {
        let log = RekorLog::new("rekor.test", 42, "https://rekor.test").unwrap();
        for i in 0..n {
            log.append(
                KindVersion::HashedRekordV001,
                format!("{{\"entry\":{i}}}").into_bytes(),
                Timestamp::from_second(1_700_000_000).unwrap(),
                vec![],
            )
            .unwrap();
        }
        log
    }

    #[test]
    fn inclusion_proofs_verify_for_every_leaf_and_size() {
        let log = log_with(13);
        for size in 1..=13u64 {
            let root = Sha256Hash::new(log.root_hash(size).unwrap());
            for index in 0..size {
                let entry = log.entry(index).unwrap();
                let proof: Vec<Sha256Hash> = log
                    .inclusion_proof(index, size)
                    .unwrap()
                    .into_iter()
                    .map(Sha256Hash::new)
                    .collect();
                sigstore_merkle::verify_inclusion_proof(
                    &Sha256Hash::new(entry.leaf_hash),
                    index,
                    size,
                    &proof,
                    &root,
                )
                .unwrap_or_else(|e| panic!("index {index} size {size}: {e}"));
            }
        }
    }

    #[test]
    fn consistency_proofs_verify() {
        let log = log_with(11);
        for new in 1..=11u64 {
            for old in 1..=new {
                let proof: Vec<Sha256Hash> = log
                    .consistency_proof(old, new)
                    .unwrap()
                    .into_iter()
                    .map(Sha256Hash::new)
                    .collect();
                sigstore_merkle::verify_consistency_proof(
                    old,
                    new,
                    &proof,
                    &Sha256Hash::new(log.root_hash(old).unwrap()),
                    &Sha256Hash::new(log.root_hash(new).unwrap()),
                )
                .unwrap_or_else(|e| panic!("{old} -> {new}: {e}"));
            }
        }
    }

    #[test]
    fn checkpoint_parses_and_verifies() {
        use sigstore_crypto::CheckpointVerifyExt;
        let log = log_with(3);
        let text = log.checkpoint(3).unwrap();
        let checkpoint = sigstore_types::Checkpoint::from_text(&text).unwrap();
        assert_eq!(checkpoint.origin(), "rekor.test - 42");
        assert_eq!(checkpoint.tree_size(), 3);
        assert_eq!(
            checkpoint.root_hash().as_bytes(),
            &log.root_hash(3).unwrap()
        );
        checkpoint
            .verify_signature(&log.key().public_key())
            .unwrap();
    }

    #[test]
    fn lookups() {
        let log = log_with(4);
        let entry = log.entry(2).unwrap();
        assert_eq!(log.entry_by_uuid(&entry.uuid()), Some(entry.clone()));
        assert_eq!(
            log.entry_by_uuid(&log.entry_id(&entry).to_uppercase()),
            Some(entry.clone())
        );
        assert_eq!(log.entry_by_uuid("00"), None);
        let json = log.rekor_v1_entry_json(&entry).unwrap();
        assert_eq!(json[log.entry_id(&entry)]["logIndex"], 2);
    }
}

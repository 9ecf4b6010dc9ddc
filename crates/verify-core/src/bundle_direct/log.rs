//! The transparency-log checks of [`super`], as sigstore-verify 0.15.1
//! performs them (its `verify_impl::tlog` and
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
//!   validity.
//!
//! Whether an entry's body describes the bundle is the content's concern
//! ([`super::dsse`], [`super::message`]).

use jiff::Timestamp;
use sigstore_crypto::Keyring;
use sigstore_types::{KindVersion, Sha256Hash, TransparencyLogEntry};

use crate::error::{TlogError, VerifyError};

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

pub(super) fn mismatch(detail: impl Into<String>) -> VerifyError {
    TlogError::EntryMismatch {
        detail: detail.into(),
    }
    .into()
}

pub(super) fn malformed(detail: impl Into<String>) -> VerifyError {
    TlogError::MalformedEntry {
        detail: detail.into(),
    }
    .into()
}

pub(super) fn unsupported(detail: impl Into<String>) -> VerifyError {
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

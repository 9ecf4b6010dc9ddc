//! Online transparency-log evidence, for signatures that carry none.
//!
//! cosign signatures made before bundles existed (or with `--tlog-upload`
//! and no bundle annotation) prove nothing about the log by themselves. The
//! log is then asked: [`TransparencyLogLookup`] finds the entries indexed
//! under the signed payload's SHA-256 (`POST /api/v1/index/retrieve`) and
//! fetches each (`GET /api/v1/log/entries/{uuid}`) with its inclusion proof,
//! signed checkpoint and SET. `find_entries` turns the answers into bundle
//! log entries after checking that each one is what was asked for (its UUID
//! is the leaf hash of its body); the entries are then verified like any
//! bundle's: inclusion proof against the signed checkpoint, SET, and the
//! body's consistency with the signature.
//!
//! The HTTP client lives outside the core (`verify-registry`); tests and
//! callers supply their own through the trait.

use sigstore_types::TransparencyLogEntry;

use crate::rekor_entry::parse_entry;

/// Looks entries up in a Rekor v1 log.
///
/// Async like [`crate::oci::ImageSource`] (object-safe, `Send` futures,
/// driven by the caller's runtime; dropping the future cancels the lookup).
#[async_trait::async_trait]
pub trait TransparencyLogLookup: Send + Sync {
    /// The log's URL, for messages.
    fn url(&self) -> String;

    /// UUIDs (or entry IDs) of the entries indexed under `sha256`.
    async fn search_sha256(&self, sha256: &[u8; 32]) -> Result<Vec<String>, LookupError>;

    /// The entry as Rekor v1 serves it: `{"<entry id>": {body, integratedTime,
    /// logID, logIndex, verification}}`.
    async fn entry(&self, uuid: &str) -> Result<Vec<u8>, LookupError>;
}

/// Why the log could not be asked, or answered nonsense.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LookupError {
    /// `--offline`: the log may not be asked.
    #[error("the signature carries no transparency-log bundle and --offline forbids looking it up in the log")]
    Offline,
    /// No log client was configured.
    #[error("the signature carries no transparency-log bundle and no log is configured to look it up in")]
    NoLog,
    /// The log could not be reached (after retries).
    #[error("transparency log {url} is unreachable: {detail}")]
    Unreachable {
        /// The log URL.
        url: String,
        /// Why.
        detail: String,
    },
    /// The log answered with an error status.
    #[error("transparency log {url} answered HTTP {status}: {detail}")]
    Http {
        /// The request URL.
        url: String,
        /// The status.
        status: u16,
        /// The log's message.
        detail: String,
    },
    /// The verification's deadline or byte budget ran out during the
    /// lookup (the log is read under the same bounds as the registry).
    #[error("transparency log {url}: {detail}")]
    Budget {
        /// The request URL.
        url: String,
        /// Which bound, and its value.
        detail: String,
    },
    /// The answer is not what was asked for.
    #[error("transparency log answer is malformed: {detail}")]
    Malformed {
        /// Why.
        detail: String,
    },
    /// More entries are indexed under the digest than are considered: the
    /// genuine one may be among those left out, so this is not reported as
    /// "no entry". Anyone can log entries under a public digest; a bound
    /// keeps such flooding from costing unbounded work.
    #[error("transparency log {url} indexes {found} entries under payload sha256:{digest}, more than the {limit} considered")]
    TooManyEntries {
        /// The log URL.
        url: String,
        /// The payload digest (hex).
        digest: String,
        /// How many the search returned.
        found: usize,
        /// The bound.
        limit: usize,
    },
    /// The log has no entry for the signature.
    #[error("transparency log {url} has no entry for payload sha256:{digest}")]
    NotFound {
        /// The log URL.
        url: String,
        /// The payload digest (hex).
        digest: String,
    },
}

/// Most entries fetched for one digest (the same payload may be logged a few
/// times; more than this is not a legitimate use of the index and is
/// [`LookupError::TooManyEntries`]).
pub const MAX_ENTRIES_PER_DIGEST: usize = 64;

/// Largest entry answer accepted, in bytes.
pub const MAX_ENTRY_BYTES: usize = 4 * 1024 * 1024;

/// The entries indexed under `sha256`, as bundle log entries with their
/// inclusion proofs and SETs (not yet verified: the caller verifies them
/// with the signature).
///
/// Every entry the search returns is considered, up to
/// [`MAX_ENTRIES_PER_DIGEST`]; more is [`LookupError::TooManyEntries`]
/// rather than a silent truncation (by sorted UUID, an attacker logging
/// entries under a public digest could push the genuine one out). An entry
/// that cannot be fetched or parsed, or whose body is of a kind bundles
/// cannot carry, is skipped: one bad entry does not hide the good ones. When
/// none is left, the first failure is the error (or
/// [`LookupError::NotFound`]). The verification's deadline or byte budget
/// running out ([`LookupError::Budget`]) ends the fetching: the entries
/// fetched so far are returned, or, if none was, that error.
pub(crate) async fn find_entries(
    lookup: &dyn TransparencyLogLookup,
    sha256: &[u8; 32],
) -> Result<Vec<TransparencyLogEntry>, LookupError> {
    let mut uuids = lookup.search_sha256(sha256).await?;
    uuids.sort();
    uuids.dedup();
    let not_found = || LookupError::NotFound {
        url: lookup.url(),
        digest: hex::encode(sha256),
    };
    if uuids.is_empty() {
        return Err(not_found());
    }
    if uuids.len() > MAX_ENTRIES_PER_DIGEST {
        return Err(LookupError::TooManyEntries {
            url: lookup.url(),
            digest: hex::encode(sha256),
            found: uuids.len(),
            limit: MAX_ENTRIES_PER_DIGEST,
        });
    }
    let mut entries = Vec::new();
    let mut first_error = None;
    for uuid in &uuids {
        let parsed = match lookup.entry(uuid).await {
            // The verification's time or bytes are spent: every later fetch
            // would fail the same way. What was fetched is still checked;
            // with nothing fetched, the budget is the error.
            Err(e @ LookupError::Budget { .. }) if entries.is_empty() => return Err(e),
            Err(LookupError::Budget { .. }) => break,
            Ok(bytes) if bytes.len() > MAX_ENTRY_BYTES => Err(LookupError::Malformed {
                detail: format!("entry {uuid} is larger than {MAX_ENTRY_BYTES} bytes"),
            }),
            Ok(bytes) => parse_entry(uuid, &bytes),
            Err(e) => Err(e),
        };
        match parsed {
            Ok(Some(entry)) => entries.push(entry),
            Ok(None) => {}
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    if entries.is_empty() {
        return Err(first_error.unwrap_or_else(not_found));
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A log whose search finds `ids`, and whose every entry fetch fails
    /// with `error`, counting the fetches.
    struct Failing {
        ids: Vec<String>,
        error: LookupError,
        fetches: std::sync::atomic::AtomicUsize,
    }

    #[async_trait::async_trait]
    impl TransparencyLogLookup for Failing {
        fn url(&self) -> String {
            "http://log.test".into()
        }
        async fn search_sha256(&self, _: &[u8; 32]) -> Result<Vec<String>, LookupError> {
            Ok(self.ids.clone())
        }
        async fn entry(&self, _: &str) -> Result<Vec<u8>, LookupError> {
            self.fetches
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Err(self.error.clone())
        }
    }

    fn run(log: &Failing) -> LookupError {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(find_entries(log, &[1; 32])).unwrap_err()
    }

    #[test]
    fn a_spent_budget_ends_the_fetching_with_its_own_error() {
        let budget = LookupError::Budget {
            url: "http://log.test".into(),
            detail: "the 3 s limit for this verification expired".into(),
        };
        let log = Failing {
            ids: (0..10).map(|i| format!("{i:02x}")).collect(),
            error: budget.clone(),
            fetches: Default::default(),
        };
        assert_eq!(run(&log), budget);
        assert_eq!(log.fetches.into_inner(), 1);

        // Other failures are skipped: every entry is tried, the first
        // failure is reported.
        let http = LookupError::Http {
            url: "http://log.test".into(),
            status: 404,
            detail: String::new(),
        };
        let log = Failing {
            ids: (0..10).map(|i| format!("{i:02x}")).collect(),
            error: http.clone(),
            fetches: Default::default(),
        };
        assert_eq!(run(&log), http);
        assert_eq!(log.fetches.into_inner(), 10);

        let log = Failing {
            ids: (0..=MAX_ENTRIES_PER_DIGEST)
                .map(|i| format!("{i:04x}"))
                .collect(),
            error: http,
            fetches: Default::default(),
        };
        assert!(matches!(
            run(&log),
            LookupError::TooManyEntries { found, limit, .. }
                if found == MAX_ENTRIES_PER_DIGEST + 1 && limit == MAX_ENTRIES_PER_DIGEST
        ));
        assert_eq!(log.fetches.into_inner(), 0);
    }
}

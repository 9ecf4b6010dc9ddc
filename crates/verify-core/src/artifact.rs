//! The artifact being verified, and its binding to the bundle.
//!
//! An artifact is given as bytes, as a `sha256:<hex>` digest, or as a reader
//! that is streamed (constant memory). Before any cryptography runs, the
//! bundle must name the artifact: a message-signature bundle's
//! `messageDigest`, or one of a DSSE in-toto statement's subjects, must equal
//! the artifact's digest. A mismatch is reported with both digests.

use std::io::Read;

use sha2::{Digest, Sha256};
use sigstore_types::{Bundle, HashAlgorithm, SignatureContent, Statement};

/// A SHA-256 artifact digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ArtifactDigest(pub [u8; 32]);

impl ArtifactDigest {
    /// Digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }

    /// Parse `sha256:<64 hex digits>`.
    pub fn parse(text: &str) -> Result<Self, ArtifactError> {
        let bad = || ArtifactError::BadDigest {
            found: text.to_string(),
        };
        let hex_part = text.strip_prefix("sha256:").ok_or_else(bad)?;
        let mut out = [0u8; 32];
        hex::decode_to_slice(hex_part, &mut out).map_err(|_| bad())?;
        Ok(Self(out))
    }
}

impl std::fmt::Display for ArtifactDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "sha256:{}", hex::encode(self.0))
    }
}

/// The artifact a bundle is verified against.
pub enum Artifact<'a> {
    /// The artifact's bytes.
    Bytes(&'a [u8]),
    /// The artifact's digest; the bytes are not needed.
    Digest(ArtifactDigest),
    /// A reader streamed to its end; its SHA-256 is computed on the way.
    Reader(&'a mut dyn Read),
}

/// Why the artifact does not match the bundle.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ArtifactError {
    /// A digest argument is not `sha256:<64 hex digits>`.
    #[error("artifact digest: expected sha256:<64 hex digits>, found {found:?}")]
    BadDigest {
        /// The text given.
        found: String,
    },
    /// The bundle's message digest is not the artifact's.
    #[error("artifact digest mismatch: bundle signs {expected}, artifact is {found}")]
    DigestMismatch {
        /// The digest in the bundle.
        expected: String,
        /// The artifact's digest.
        found: String,
    },
    /// No subject of the DSSE statement is the artifact.
    #[error("artifact is not a subject of the attestation: subjects are [{}], artifact is {found}", subjects.join(", "))]
    NotASubject {
        /// The statement's subjects as `name sha256:hex`.
        subjects: Vec<String>,
        /// The artifact's digest.
        found: String,
    },
    /// The bundle cannot be bound to the artifact (details from the verifier).
    #[error("artifact does not match the bundle: {detail}")]
    Mismatch {
        /// Why.
        detail: String,
    },
}

/// Check, before any cryptography, that `bundle` names `digest`.
///
/// Only SHA-256 is compared here; a bundle that binds the artifact by another
/// algorithm only (e.g. a SHA-512 DSSE subject) is left to the full
/// verification, which computes that digest itself.
pub fn check_binding(bundle: &Bundle, digest: &ArtifactDigest) -> Result<(), ArtifactError> {
    match &bundle.content {
        SignatureContent::MessageSignature(sig) => {
            if let Some(md) = &sig.message_digest {
                if md.algorithm == HashAlgorithm::Sha2256 && md.digest.as_bytes() != digest.0 {
                    return Err(ArtifactError::DigestMismatch {
                        expected: format!("sha256:{}", hex::encode(md.digest.as_bytes())),
                        found: digest.to_string(),
                    });
                }
            }
            Ok(())
        }
        SignatureContent::DsseEnvelope(env) => {
            let Ok(statement) = serde_json::from_slice::<Statement>(env.payload.as_bytes()) else {
                // A payload that is not a statement is reported by the
                // verifier with its own, more precise, error.
                return Ok(());
            };
            let sha256_subjects: Vec<_> = statement
                .subject
                .iter()
                .filter_map(|s| s.digest.sha256.as_ref().map(|d| (s, d)))
                .collect();
            if sha256_subjects.is_empty()
                || sha256_subjects
                    .iter()
                    .any(|(_, d)| d.as_bytes() == &digest.0)
            {
                return Ok(());
            }
            Err(ArtifactError::NotASubject {
                subjects: sha256_subjects
                    .iter()
                    .map(|(s, d)| format!("{} sha256:{}", s.name, d.to_hex()))
                    .collect(),
                found: digest.to_string(),
            })
        }
        _ => Ok(()),
    }
}

/// A reader that hashes what passes through it.
pub(crate) struct HashingReader<'a> {
    pub(crate) inner: &'a mut dyn Read,
    pub(crate) hasher: Sha256,
}

impl Read for HashingReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

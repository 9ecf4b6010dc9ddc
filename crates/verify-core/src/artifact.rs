//! The artifact being verified, and its binding to the bundle.
//!
//! An artifact is given as bytes, as a `sha256:<hex>` digest, as a
//! `sha384:` or `sha512:` digest ([`TypedDigest`]; npm's provenance names
//! packages by SHA-512), or as a reader that is streamed (constant memory). Before any cryptography runs, the
//! bundle must name the artifact: a message-signature bundle's
//! `messageDigest`, or one of a DSSE in-toto statement's subjects, must equal
//! the artifact's digest. A mismatch is reported with both digests.

use std::io::Read;

use crate::digest::Sha256;
use sigstore_types::{Bundle, HashAlgorithm, SignatureContent, Statement};

/// A SHA-256 artifact digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ArtifactDigest(pub [u8; 32]);

impl ArtifactDigest {
    /// Digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self(crate::digest::sha256(bytes))
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

/// Serialised as its text form, `sha256:<hex>`.
impl serde::Serialize for ArtifactDigest {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl std::fmt::Display for ArtifactDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "sha256:{}", hex::encode(self.0))
    }
}

/// A digest algorithm an artifact may be named by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DigestAlgorithm {
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl DigestAlgorithm {
    /// The name in-toto and `verify blob` use: `sha256`, `sha384`, `sha512`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::Sha384 => "sha384",
            Self::Sha512 => "sha512",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        [Self::Sha256, Self::Sha384, Self::Sha512]
            .into_iter()
            .find(|a| a.name() == name)
    }

    /// Digest length in bytes.
    pub fn size(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }

    /// The algorithm sigstore-types names `algorithm`, if it is one of ours.
    pub(crate) fn from_sigstore(algorithm: HashAlgorithm) -> Option<Self> {
        match algorithm {
            HashAlgorithm::Sha2256 => Some(Self::Sha256),
            HashAlgorithm::Sha2384 => Some(Self::Sha384),
            HashAlgorithm::Sha2512 => Some(Self::Sha512),
            _ => None,
        }
    }

    pub(crate) fn sigstore(self) -> HashAlgorithm {
        match self {
            Self::Sha256 => HashAlgorithm::Sha2256,
            Self::Sha384 => HashAlgorithm::Sha2384,
            Self::Sha512 => HashAlgorithm::Sha2512,
        }
    }
}

/// A digest with its algorithm: `sha256:`, `sha384:` or `sha512:` and
/// lowercase or uppercase hex of the algorithm's length.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TypedDigest {
    algorithm: DigestAlgorithm,
    bytes: Vec<u8>,
}

impl TypedDigest {
    /// Parse `<algorithm>:<hex>`. An algorithm other than SHA-256, SHA-384
    /// or SHA-512 is [`ArtifactError::UnsupportedAlgorithm`]; a wrong length
    /// or non-hex value is [`ArtifactError::BadDigest`].
    pub fn parse(text: &str) -> Result<Self, ArtifactError> {
        let bad = || ArtifactError::BadDigest {
            found: text.to_string(),
        };
        let (name, hex_part) = text.split_once(':').ok_or_else(bad)?;
        let algorithm =
            DigestAlgorithm::from_name(&name.to_ascii_lowercase()).ok_or_else(|| {
                ArtifactError::UnsupportedAlgorithm {
                    algorithm: name.to_string(),
                }
            })?;
        let mut bytes = vec![0u8; algorithm.size()];
        hex::decode_to_slice(hex_part, &mut bytes).map_err(|_| bad())?;
        Ok(Self { algorithm, bytes })
    }

    /// The `algorithm` digest of `bytes`.
    pub(crate) fn of(algorithm: DigestAlgorithm, bytes: &[u8]) -> Self {
        let bytes = match algorithm {
            DigestAlgorithm::Sha256 => crate::digest::sha256(bytes).to_vec(),
            DigestAlgorithm::Sha384 => crate::digest::sha384(bytes).to_vec(),
            DigestAlgorithm::Sha512 => crate::digest::sha512(bytes).to_vec(),
        };
        Self { algorithm, bytes }
    }

    /// A digest sigstore-crypto computed (its length matches its algorithm).
    pub(crate) fn from_sigstore(digest: &sigstore_types::ArtifactDigest) -> Option<Self> {
        Some(Self {
            algorithm: DigestAlgorithm::from_sigstore(digest.algorithm())?,
            bytes: digest.as_bytes().to_vec(),
        })
    }

    /// The SHA-384 digest of `bytes`.
    pub(crate) fn sha384_of(bytes: &[u8]) -> Self {
        Self::sha384(crate::digest::sha384(bytes))
    }

    /// A SHA-384 digest.
    pub(crate) fn sha384(bytes: [u8; 48]) -> Self {
        Self {
            algorithm: DigestAlgorithm::Sha384,
            bytes: bytes.to_vec(),
        }
    }

    /// The algorithm.
    pub fn algorithm(&self) -> DigestAlgorithm {
        self.algorithm
    }

    /// The digest bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The SHA-256 digest, when this is one.
    pub fn as_sha256(&self) -> Option<ArtifactDigest> {
        (self.algorithm == DigestAlgorithm::Sha256)
            .then(|| self.bytes.as_slice().try_into().ok().map(ArtifactDigest))
            .flatten()
    }

    pub(crate) fn to_sigstore(&self) -> sigstore_types::ArtifactDigest {
        // The length was checked at parse time.
        sigstore_types::ArtifactDigest::new(self.algorithm.sigstore(), self.bytes.clone())
            .expect("digest length matches its algorithm")
    }

    fn hex(&self) -> String {
        hex::encode(&self.bytes)
    }
}

impl std::fmt::Display for TypedDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.algorithm.name(), self.hex())
    }
}

impl From<ArtifactDigest> for TypedDigest {
    fn from(d: ArtifactDigest) -> Self {
        Self {
            algorithm: DigestAlgorithm::Sha256,
            bytes: d.0.to_vec(),
        }
    }
}

/// The artifact a bundle is verified against.
pub enum Artifact<'a> {
    /// The artifact's bytes.
    Bytes(&'a [u8]),
    /// The artifact's digest; the bytes are not needed.
    Digest(ArtifactDigest),
    /// A reader streamed to its end; its SHA-256 is computed on the way
    /// (its SHA-384 instead for a DSSE statement whose subjects are named by
    /// SHA-384 alone).
    Reader(&'a mut dyn Read),
    /// The artifact's digest by any supported algorithm. A SHA-384 or
    /// SHA-512 digest can bind a DSSE statement that names the artifact by
    /// that algorithm; a message signature is bound by SHA-256 only.
    TypedDigest(TypedDigest),
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
    /// A digest argument names an algorithm other than SHA-256, SHA-384 or
    /// SHA-512.
    #[error("artifact digest algorithm {algorithm:?} is not supported: expected sha256, sha384 or sha512")]
    UnsupportedAlgorithm {
        /// The algorithm given.
        algorithm: String,
    },
    /// The bundle cannot bind the artifact by the algorithm of the digest
    /// given (e.g. a message signature and a SHA-512 digest).
    #[error("the bundle binds its artifact by {bound_by}, not by the {algorithm} digest given: give the artifact itself or its {bound_by} digest")]
    AlgorithmNotBound {
        /// The given digest's algorithm.
        algorithm: &'static str,
        /// What the bundle binds by.
        bound_by: &'static str,
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
pub(crate) fn check_binding(bundle: &Bundle, digest: &ArtifactDigest) -> Result<(), ArtifactError> {
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

/// How a bundle binds an artifact given by a typed digest.
#[derive(Debug)]
pub(crate) enum Binding {
    /// `sigstore-verify` binds it: hand it this digest.
    Delegate(sigstore_types::ArtifactDigest),
    /// The subject naming the artifact carries neither a SHA-256 nor a
    /// SHA-512 digest, which sigstore-verify 0.15.1 needs: verified by
    /// [`crate::bundle_direct`].
    Own,
}

/// Check, before any cryptography, that `bundle` names `digest` by its
/// algorithm, and say how the binding is verified.
///
/// sigstore-verify 0.15.1 binds DSSE subjects by SHA-256 and SHA-512 only.
/// A subject matched here by SHA-384 is handed on by another digest the
/// same subject carries (the signed statement itself binds them together);
/// a subject named by SHA-384 alone cannot be, and goes to this crate's
/// own path ([`Binding::Own`]).
pub(crate) fn check_typed_binding(
    bundle: &Bundle,
    digest: &TypedDigest,
) -> Result<Binding, crate::VerifyError> {
    if let Some(sha256) = digest.as_sha256() {
        check_binding(bundle, &sha256)?;
        return Ok(Binding::Delegate(digest.to_sigstore()));
    }
    let SignatureContent::DsseEnvelope(env) = &bundle.content else {
        return Err(ArtifactError::AlgorithmNotBound {
            algorithm: digest.algorithm.name(),
            bound_by: "sha256",
        }
        .into());
    };
    let subjects = crate::intoto::subjects_of_payload(env.payload.as_bytes());
    let name = digest.algorithm.name();
    let Some(subject) = crate::intoto::find(&subjects, name, &digest.hex()) else {
        return Err(ArtifactError::NotASubject {
            subjects: subjects.iter().filter_map(|s| s.describe(name)).collect(),
            found: digest.to_string(),
        }
        .into());
    };
    if digest.algorithm == DigestAlgorithm::Sha512 {
        return Ok(Binding::Delegate(digest.to_sigstore()));
    }
    Ok(["sha512", "sha256"]
        .into_iter()
        .find_map(|alg| {
            let value = subject.digest.get(alg)?;
            TypedDigest::parse(&format!("{alg}:{value}")).ok()
        })
        .map_or(Binding::Own, |d| Binding::Delegate(d.to_sigstore())))
}

/// Which digests the subjects of a DSSE bundle's statement carry: whether
/// one is named by SHA-384 and neither SHA-256 nor SHA-512 (only then is an
/// artifact given as bytes also hashed with SHA-384, see [`Binding::Own`]),
/// and whether any carries a SHA-256 or SHA-512 the delegate can bind.
pub(crate) fn sha384_subjects(bundle: &Bundle) -> (bool, bool) {
    let SignatureContent::DsseEnvelope(env) = &bundle.content else {
        return (false, true);
    };
    let subjects = crate::intoto::subjects_of_payload(env.payload.as_bytes());
    let delegate = |s: &crate::intoto::Subject| {
        s.digest.contains_key("sha256") || s.digest.contains_key("sha512")
    };
    (
        subjects
            .iter()
            .any(|s| s.digest.contains_key("sha384") && !delegate(s)),
        subjects.iter().any(delegate),
    )
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

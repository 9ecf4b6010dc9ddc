//! Why a candidate, or an image, did not verify: one error per concern,
//! each with a stable reason code.

use super::claims::ClaimError;

use super::*;
use crate::error::VerifyError;
use crate::oci::SourceError;
use crate::tlog_lookup::LookupError;

/// Why one candidate signature or attestation was rejected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CandidateError {
    /// Its cryptographic verification or signer policy failed.
    #[error(transparent)]
    Verify(#[from] VerifyError),
    /// It verified but does not claim this image (or the annotations).
    #[error(transparent)]
    Claims(#[from] ClaimError),
    /// Its log evidence could not be looked up.
    #[error(transparent)]
    Lookup(#[from] LookupError),
    /// Its content could not be read.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// A referrer whose `subject` is not the image (or is missing): listed
    /// for this image, but made for another.
    #[error("the referrer's subject is {}, not the image {expected}", found.as_deref().unwrap_or("missing"))]
    SubjectMismatch {
        /// The image's digest.
        expected: String,
        /// The subject the referrer names, if any.
        found: Option<String>,
    },
    /// It is not a well-formed cosign signature, attestation or bundle.
    #[error("{detail}")]
    Malformed {
        /// Why.
        detail: String,
    },
}

impl CandidateError {
    /// A stable, machine-readable reason code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Verify(e) => e.code(),
            Self::Claims(ClaimError::DigestMismatch { .. } | ClaimError::NotASubject { .. }) => {
                "claims-image-mismatch"
            }
            Self::Claims(ClaimError::Annotation { .. }) => "claims-annotation-mismatch",
            Self::Claims(_) => "claims-malformed",
            Self::Lookup(LookupError::Offline | LookupError::NoLog) => "tlog-lookup-offline",
            Self::Lookup(LookupError::NotFound { .. }) => "tlog-entry-not-found",
            Self::Lookup(LookupError::TooManyEntries { .. }) => "tlog-too-many-entries",
            Self::Lookup(LookupError::Budget { .. }) => "tlog-lookup-budget-exceeded",
            Self::Lookup(_) => "tlog-lookup-failed",
            // Content a candidate refers to is missing: say so, rather than
            // suggesting that the image itself is absent.
            Self::Source(SourceError::BlobNotFound { .. }) => "signature-blob-missing",
            Self::Source(SourceError::NotFound { .. }) => "signature-manifest-missing",
            Self::Source(e) => e.code(),
            Self::SubjectMismatch { .. } => "referrer-subject-mismatch",
            Self::Malformed { .. } => "signature-malformed",
        }
    }
}

pub(super) fn malformed(detail: impl Into<String>) -> CandidateError {
    CandidateError::Malformed {
        detail: detail.into(),
    }
}

/// One rejected candidate.
#[derive(Debug)]
pub struct CandidateFailure {
    /// Where it was found.
    pub origin: Origin,
    /// Why it was rejected.
    pub error: CandidateError,
}

/// Why an image did not verify.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImageError {
    /// The image, its signatures or its referrers could not be read.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// Nothing was found where signatures (attestations) live.
    #[error("no {kind}s found for {image}")]
    NotFound {
        /// Signatures or attestations.
        kind: Kind,
        /// The image.
        image: String,
    },
    /// Candidates were found but none verified.
    #[error("{} {kind}(s) found for {image}, none matched:{}", failures.len(), failures.iter().map(|f| format!("\n  - {}: {} [{}]", f.origin, f.error, f.error.code())).collect::<String>())]
    NoneVerified {
        /// Signatures or attestations.
        kind: Kind,
        /// The image.
        image: String,
        /// Why each candidate was rejected, in the order found.
        failures: Vec<CandidateFailure>,
    },
    /// Attestations verified but none has the predicate type asked for.
    #[error("{image}: none of the verified attestations has predicate type {wanted}; found: {}", if found.is_empty() { "none".to_string() } else { found.join(", ") })]
    NoMatchingPredicate {
        /// The image.
        image: String,
        /// The predicate type asked for.
        wanted: String,
        /// The predicate types of the attestations that verified.
        found: Vec<String>,
    },
    /// The candidates' payloads, together, are larger than the bound on
    /// the work per image ([`OciLimits::max_candidate_bytes`]).
    #[error("{image}: its {kind}s declare {found} bytes of payload in all, more than the {limit} bytes verified per image")]
    CandidatesTooLarge {
        /// Signatures or attestations.
        kind: Kind,
        /// The image.
        image: String,
        /// The bound.
        limit: u64,
        /// The declared total.
        found: u64,
    },
    /// More candidates than the limit.
    #[error("{image} has more than {limit} {kind}s; refusing to verify them all")]
    TooMany {
        /// Signatures or attestations.
        kind: Kind,
        /// The image.
        image: String,
        /// The limit.
        limit: usize,
    },
}

impl ImageError {
    /// A stable, machine-readable reason code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Source(e) => e.code(),
            Self::NotFound {
                kind: Kind::Signature,
                ..
            } => "no-signatures",
            Self::NotFound { .. } => "no-attestations",
            Self::NoneVerified {
                kind: Kind::Signature,
                ..
            } => "no-matching-signatures",
            Self::NoneVerified { .. } => "no-matching-attestations",
            Self::NoMatchingPredicate { .. } => "no-matching-predicate",
            Self::TooMany { .. } => "too-many-signatures",
            Self::CandidatesTooLarge { .. } => "signature-payloads-too-large",
        }
    }
}

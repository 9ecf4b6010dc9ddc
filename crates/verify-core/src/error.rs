//! The verification error: one enum per concern, gathered in [`VerifyError`].
//!
//! The cryptographic checks are delegated to `sigstore-verify`; its errors are
//! mapped here into this crate's own types so that callers never depend on
//! the delegate's, and every variant says what was expected and what was
//! found. [`VerifyError::code`] gives a stable reason code for JSON output.

use crate::artifact::ArtifactError;
use crate::bundle::BundleError;
use crate::identity::PolicyError;
use crate::trust_root::TrustRootError;

/// Why a bundle did not verify.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The bundle could not be read or parsed.
    #[error(transparent)]
    Bundle(#[from] BundleError),
    /// The trusted root is unusable.
    #[error(transparent)]
    TrustRoot(#[from] TrustRootError),
    /// The signer does not satisfy the policy.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// The bundle does not describe the artifact.
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
    /// The artifact could not be read.
    #[error("cannot read artifact: {0}")]
    ArtifactRead(#[source] std::io::Error),
    /// The signing certificate was rejected.
    #[error(transparent)]
    Certificate(#[from] CertificateError),
    /// The transparency-log evidence was rejected.
    #[error(transparent)]
    TransparencyLog(#[from] TlogError),
    /// A timestamp was rejected, or no trusted signing time exists.
    #[error(transparent)]
    Timestamp(#[from] TimestampError),
    /// The signature does not verify.
    #[error("signature does not verify: {detail}")]
    Signature {
        /// Why.
        detail: String,
    },
    /// The bundle is well formed but uses something this verifier does not
    /// support, or is internally inconsistent.
    #[error("unsupported or inconsistent bundle: {detail}")]
    Unsupported {
        /// Why.
        detail: String,
    },
    /// The FIPS build refuses the signer's key algorithm.
    #[error(transparent)]
    NotFipsApproved(#[from] crate::fips::NotApproved),
}

/// Why the signing certificate was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertificateError {
    /// The certificate does not parse.
    #[error("certificate is malformed: {detail}")]
    Malformed {
        /// Why.
        detail: String,
    },
    /// The certificate does not chain to a trusted Fulcio CA.
    #[error("certificate does not chain to a trusted Fulcio CA: {detail}")]
    Untrusted {
        /// Why.
        detail: String,
    },
    /// No trusted CA was valid at the signing time.
    #[error("no trusted certificate authority was valid at the signing time {time}")]
    NoValidAuthority {
        /// The signing time.
        time: jiff::Timestamp,
    },
    /// The signing time precedes the certificate's validity.
    #[error("certificate not yet valid at signing time {time} (notBefore {not_before})")]
    NotYetValid {
        /// The signing time.
        time: jiff::Timestamp,
        /// The certificate's notBefore.
        not_before: jiff::Timestamp,
    },
    /// The certificate had expired at the signing time.
    #[error("certificate expired: signed at {time}, after its notAfter {not_after}")]
    Expired {
        /// The signing time.
        time: jiff::Timestamp,
        /// The certificate's notAfter.
        not_after: jiff::Timestamp,
    },
    /// The embedded SCT is missing or invalid.
    #[error("signed certificate timestamp is invalid: {detail}")]
    Sct {
        /// Why.
        detail: String,
    },
}

/// Why the transparency-log evidence was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TlogError {
    /// The entry names a log that the trusted root does not list.
    #[error("transparency log {log_id} is not in the trusted root")]
    UnknownLog {
        /// The entry's log ID.
        log_id: String,
    },
    /// The inclusion proof does not prove inclusion.
    #[error("inclusion proof is invalid: {detail}")]
    InclusionProof {
        /// Why.
        detail: String,
    },
    /// The checkpoint is missing, malformed or not signed by the log.
    #[error("checkpoint is invalid: {detail}")]
    Checkpoint {
        /// Why.
        detail: String,
    },
    /// The SET (inclusion promise) is missing or invalid.
    #[error("signed entry timestamp (SET) is invalid: {detail}")]
    InclusionPromise {
        /// Why.
        detail: String,
    },
    /// The log entry describes another signature, key or artifact.
    #[error("log entry does not match the bundle: {detail}")]
    EntryMismatch {
        /// Why.
        detail: String,
    },
    /// The integrated time is in the future or outside the certificate's
    /// validity.
    #[error("integrated time is invalid: {detail}")]
    IntegratedTime {
        /// Why.
        detail: String,
    },
    /// The integrated time is later than the verifier's clock.
    #[error("integrated time {time} is in the future (now {now})")]
    IntegratedTimeInFuture {
        /// The entry's integrated time.
        time: jiff::Timestamp,
        /// The verifier's clock.
        now: jiff::Timestamp,
    },
    /// The log entry is malformed or of an unsupported kind.
    #[error("log entry is malformed: {detail}")]
    MalformedEntry {
        /// Why.
        detail: String,
    },
}

/// Why a timestamp was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimestampError {
    /// An RFC 3161 timestamp does not verify against any trusted TSA.
    #[error("RFC 3161 timestamp is invalid: {detail}")]
    Invalid {
        /// Why.
        detail: String,
    },
    /// The timestamp is outside its TSA's validity window.
    #[error("RFC 3161 timestamp {time} is outside the validity window of its timestamp authority")]
    OutsideAuthorityValidity {
        /// The timestamp.
        time: jiff::Timestamp,
    },
    /// No trusted signing time was established.
    #[error("no verified signing time: {detail}")]
    NoVerifiedTime {
        /// Why.
        detail: String,
    },
}

impl VerifyError {
    /// A stable, machine-readable reason code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Bundle(BundleError::Read { .. }) => "bundle-unreadable",
            Self::Bundle(BundleError::TooLarge { .. }) => "bundle-too-large",
            Self::Bundle(BundleError::UnsupportedVersion { .. }) => "bundle-unsupported-version",
            Self::Bundle(_) => "bundle-malformed",
            Self::TrustRoot(_) => "trusted-root-invalid",
            Self::Policy(PolicyError::IdentityMismatch { .. }) => "identity-mismatch",
            Self::Policy(PolicyError::IssuerMismatch { .. }) => "issuer-mismatch",
            Self::Policy(PolicyError::ClaimMismatch { .. }) => "claim-mismatch",
            Self::Policy(PolicyError::WrongBundleKind { .. }) => "bundle-kind-mismatch",
            Self::Policy(_) => "policy-invalid",
            Self::Artifact(ArtifactError::BadDigest { .. }) => "artifact-digest-invalid",
            Self::Artifact(ArtifactError::UnsupportedAlgorithm { .. }) => {
                "artifact-digest-unsupported"
            }
            Self::Artifact(ArtifactError::AlgorithmNotBound { .. }) => {
                "artifact-digest-algorithm-mismatch"
            }
            Self::Artifact(_) => "artifact-mismatch",
            Self::ArtifactRead(_) => "artifact-unreadable",
            Self::Certificate(CertificateError::Expired { .. }) => "certificate-expired",
            Self::Certificate(CertificateError::NotYetValid { .. }) => "certificate-not-yet-valid",
            Self::Certificate(CertificateError::Sct { .. }) => "sct-invalid",
            Self::Certificate(_) => "certificate-untrusted",
            Self::TransparencyLog(TlogError::UnknownLog { .. }) => "tlog-unknown-log",
            Self::TransparencyLog(TlogError::InclusionProof { .. }) => {
                "tlog-inclusion-proof-invalid"
            }
            Self::TransparencyLog(TlogError::Checkpoint { .. }) => "tlog-checkpoint-invalid",
            Self::TransparencyLog(TlogError::InclusionPromise { .. }) => "tlog-set-invalid",
            Self::TransparencyLog(TlogError::EntryMismatch { .. }) => "tlog-entry-mismatch",
            Self::TransparencyLog(
                TlogError::IntegratedTime { .. } | TlogError::IntegratedTimeInFuture { .. },
            ) => "tlog-integrated-time-invalid",
            Self::TransparencyLog(_) => "tlog-entry-malformed",
            Self::Timestamp(TimestampError::OutsideAuthorityValidity { .. }) => {
                "timestamp-outside-authority-validity"
            }
            Self::Timestamp(TimestampError::NoVerifiedTime { .. }) => "no-verified-time",
            Self::Timestamp(_) => "timestamp-invalid",
            Self::Signature { .. } => "signature-invalid",
            Self::Unsupported { .. } => "bundle-unsupported",
            Self::NotFipsApproved(e) => e.code(),
        }
    }

    /// Whether this is a usage or input problem (exit status 2 in the CLI)
    /// rather than a verification failure (exit status 1).
    pub fn is_input_error(&self) -> bool {
        matches!(
            self,
            Self::Bundle(BundleError::Read { .. })
                | Self::TrustRoot(_)
                | Self::ArtifactRead(_)
                | Self::Artifact(
                    ArtifactError::BadDigest { .. }
                        | ArtifactError::UnsupportedAlgorithm { .. }
                        | ArtifactError::AlgorithmNotBound { .. }
                )
                | Self::Policy(PolicyError::InvalidRegex { .. } | PolicyError::InvalidKey { .. })
        )
    }
}

/// Map the delegate's error into ours.
impl From<sigstore_verify::Error> for VerifyError {
    fn from(e: sigstore_verify::Error) -> Self {
        use sigstore_verify::error as se;
        use sigstore_verify::Error as E;
        match e {
            E::IdentityMismatch { expected, actual } => PolicyError::IdentityMismatch {
                expected: expected.to_string(),
                found: actual.map(|a| a.to_string()),
            }
            .into(),
            E::IssuerMismatch { expected, actual } => PolicyError::IssuerMismatch {
                expected,
                found: actual,
            }
            .into(),
            E::SignatureInvalid(detail) => Self::Signature { detail },
            E::ArtifactMismatch(detail) => ArtifactError::Mismatch { detail }.into(),
            E::UnsupportedArtifact(detail) => Self::Unsupported { detail },
            E::Certificate(c) => match c {
                se::CertificateError::Malformed(detail) => {
                    CertificateError::Malformed { detail }.into()
                }
                // A leaf used outside its validity surfaces here as webpki's
                // error in text; the verifier re-checks the validity from
                // the parsed certificate to say so with structure (see
                // `Verifier::certificate_validity_error`).
                se::CertificateError::ChainInvalid(detail) => {
                    CertificateError::Untrusted { detail }.into()
                }
                se::CertificateError::NoValidAuthority { time } => {
                    CertificateError::NoValidAuthority { time }.into()
                }
                se::CertificateError::NotYetValid { time, not_before } => {
                    CertificateError::NotYetValid { time, not_before }.into()
                }
                se::CertificateError::Expired { time, not_after } => {
                    CertificateError::Expired { time, not_after }.into()
                }
                se::CertificateError::Sct(detail) => CertificateError::Sct { detail }.into(),
                other => CertificateError::Untrusted {
                    detail: other.to_string(),
                }
                .into(),
            },
            E::TransparencyLog(t) => match t {
                se::TransparencyLogError::UnknownLog { log_id } => {
                    TlogError::UnknownLog { log_id }.into()
                }
                se::TransparencyLogError::InclusionProof(detail) => {
                    TlogError::InclusionProof { detail }.into()
                }
                se::TransparencyLogError::Checkpoint(detail) => {
                    TlogError::Checkpoint { detail }.into()
                }
                se::TransparencyLogError::InclusionPromise(detail) => {
                    TlogError::InclusionPromise { detail }.into()
                }
                se::TransparencyLogError::EntryMismatch(detail) => {
                    TlogError::EntryMismatch { detail }.into()
                }
                se::TransparencyLogError::IntegratedTime(detail) => {
                    TlogError::IntegratedTime { detail }.into()
                }
                other => TlogError::MalformedEntry {
                    detail: other.to_string(),
                }
                .into(),
            },
            E::Timestamp(t) => match t {
                se::TimestampError::Invalid(detail) => TimestampError::Invalid { detail }.into(),
                se::TimestampError::OutsideAuthorityValidity { time } => {
                    TimestampError::OutsideAuthorityValidity { time }.into()
                }
                other => TimestampError::NoVerifiedTime {
                    detail: other.to_string(),
                }
                .into(),
            },
            E::InvalidBundle(detail) => Self::Unsupported { detail },
            E::UnsupportedBundle(detail) => Self::Unsupported { detail },
            E::InvalidTrustRoot(detail) => TrustRootError::Unusable { detail }.into(),
            E::TrustRoot(e) => TrustRootError::Unusable {
                detail: e.to_string(),
            }
            .into(),
            E::TrustedCertificate(e) => TrustRootError::Unusable {
                detail: e.to_string(),
            }
            .into(),
            E::ArtifactRead(e) => Self::ArtifactRead(e),
            other => Self::Unsupported {
                detail: other.to_string(),
            },
        }
    }
}

impl CertificateError {
    /// Check that `time` is inside a certificate's validity window
    /// `[not_before, not_after]` (RFC 5280 §4.1.2.5: both bounds inclusive).
    pub(crate) fn check_validity(
        time: jiff::Timestamp,
        not_before: jiff::Timestamp,
        not_after: jiff::Timestamp,
    ) -> Result<(), Self> {
        if time < not_before {
            return Err(Self::NotYetValid { time, not_before });
        }
        if time > not_after {
            return Err(Self::Expired { time, not_after });
        }
        Ok(())
    }
}

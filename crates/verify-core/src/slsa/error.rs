//! Why SLSA provenance was rejected.
//!
//! One variant per failure slsa-verifier distinguishes, named after its
//! sentinel error (`ErrorMismatchSource` is [`SlsaError::MismatchSource`]),
//! so a user moving from slsa-verifier recognises each one;
//! [`SlsaError::upstream_name`] gives the sentinel's name and
//! [`SlsaError::code`] a stable machine-readable reason. Every variant says
//! what was expected and what was found.

use crate::error::{TlogError, VerifyError};

/// Why SLSA provenance was rejected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SlsaError {
    /// The provenance is larger than the limit; it was not parsed.
    #[error("provenance is larger than the {limit}-byte limit (found {found} bytes or more)")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
        /// The size found (at least).
        found: usize,
    },
    /// The provenance is neither a Sigstore bundle nor a DSSE envelope.
    #[error("provenance: expected one Sigstore bundle or one DSSE envelope (JSON), found {found}")]
    UnrecognizedProvenance {
        /// What the input looks like.
        found: String,
    },
    /// The provenance is a bare DSSE envelope: its signature can only be
    /// tied to a log entry by searching Rekor, which `--offline` forbids
    /// (slsa-verifier's online path).
    #[error("provenance is a bare DSSE envelope {found}; verifying it needs an online Rekor lookup, which --offline forbids: expected a Sigstore bundle or an envelope that embeds its Rekor entry")]
    NeedsOnlineLookup {
        /// Which bare form: with or without an embedded certificate.
        found: &'static str,
    },
    /// Rekor could not be searched for the envelope's entry, or has none.
    #[error("searching Rekor for the provenance's entry: {0}")]
    RekorLookup(#[source] crate::tlog_lookup::LookupError),
    /// A Rekor entry (embedded or looked up) does not record this envelope.
    #[error("Rekor entry: expected {expected}, found {found}")]
    RekorEntryMismatch {
        /// What the entry must record.
        expected: String,
        /// What it records.
        found: String,
    },
    /// The bundle signs a message, not a DSSE envelope.
    #[error("provenance bundle content: expected a DSSE envelope, found {found}")]
    UnexpectedBundleContent {
        /// The content found.
        found: &'static str,
    },
    /// npm's publish attestation does not verify (its signature by the
    /// registry key, its Rekor entry); see the wrapped error.
    #[error("npm publish attestation does not verify: {0}")]
    PublishBundle(#[source] Box<VerifyError>),
    /// An npm package's attestations or names were rejected.
    #[error(transparent)]
    Npm(#[from] super::npm::NpmError),
    /// The bundle does not verify (certificate chain, SCT, Rekor entry,
    /// signature); see the wrapped error.
    #[error("provenance bundle does not verify: {0}")]
    Bundle(#[source] Box<VerifyError>),
    /// The signing certificate is not a GitHub Actions workflow certificate.
    #[error("signing certificate: expected {expected}, found {found}")]
    InvalidCertificate {
        /// What the certificate must carry.
        expected: &'static str,
        /// What it carries.
        found: String,
    },
    /// A value does not have the format its rule requires.
    #[error("{what}: expected {expected}, found {found:?}")]
    InvalidFormat {
        /// Which value (a flag, a certificate claim, a provenance field).
        what: &'static str,
        /// The format required.
        expected: &'static str,
        /// The value found.
        found: String,
    },
    /// `--builder-id` names a builder that is not on GitHub, so no verifier
    /// here can vouch for it.
    #[error("--builder-id: expected a builder on https://github.com/, found {found:?}")]
    VerifierNotSupported {
        /// The builder ID given.
        found: String,
    },
    /// The certificate was not issued for a GitHub Actions token.
    #[error("certificate OIDC issuer: expected {expected}, found {found:?}")]
    InvalidOidcIssuer {
        /// The GitHub Actions issuer.
        expected: &'static str,
        /// The certificate's issuer.
        found: String,
    },
    /// A URI is empty, not a git URI, not on GitHub, or lacks its ref.
    #[error("{what}: expected {expected}, found {found:?}")]
    MalformedUri {
        /// Which URI.
        what: &'static str,
        /// What it must look like.
        expected: &'static str,
        /// The URI found.
        found: String,
    },
    /// The workflow that signed is not a trusted builder (or not the one
    /// `--builder-id` names).
    #[error("untrusted reusable workflow: expected {expected}, found {found}")]
    UntrustedReusableWorkflow {
        /// The trusted builders, or the `--builder-id` given.
        expected: String,
        /// The certificate's workflow, `name@ref`.
        found: String,
    },
    /// A git ref is not of the kind a rule needs (a builder at a release
    /// tag, a branch for `--source-branch`, a tag for `--source-tag`).
    #[error("{what}: expected {expected}, found {found:?}")]
    InvalidRef {
        /// Which ref.
        what: &'static str,
        /// What it must be.
        expected: &'static str,
        /// The ref found.
        found: String,
    },
    /// The source repository differs from `--source-uri`.
    #[error("source mismatch in {what}: expected {expected:?}, found {found:?}")]
    MismatchSource {
        /// Where the source was read (certificate, trigger, materials).
        what: &'static str,
        /// The source expected (normalised `--source-uri`).
        expected: String,
        /// The source found.
        found: String,
    },
    /// The DSSE payload is not SLSA provenance this verifier can read.
    #[error("invalid DSSE payload: expected {expected}, found {found}")]
    InvalidDssePayload {
        /// What was required.
        expected: String,
        /// What was found.
        found: String,
    },
    /// The builder is unknown to the provenance reader, or a delegated
    /// builder's ID is malformed. slsa-verifier reports it inside
    /// `ErrorInvalidDssePayload`.
    #[error("builder ID: expected {expected}, found {found:?}")]
    InvalidBuilderId {
        /// What was required.
        expected: String,
        /// The builder ID found.
        found: String,
    },
    /// The builder does not produce this build type. slsa-verifier reports
    /// it inside `ErrorInvalidDssePayload`.
    #[error("buildType for builder {builder}: expected one of [{}], found {found:?}", expected.join(", "))]
    InvalidBuildType {
        /// The certificate's builder.
        builder: String,
        /// The build types that builder produces.
        expected: Vec<&'static str>,
        /// The build type found.
        found: String,
    },
    /// The provenance's builder ID differs from the certificate's (or from
    /// `--builder-id` for delegated builders).
    #[error("provenance builder ID: expected {expected:?}, found {found:?}")]
    MismatchBuilderId {
        /// The builder ID expected.
        expected: String,
        /// The provenance's builder ID.
        found: String,
    },
    /// A field the rules read is absent.
    #[error("provenance field {field}: expected present, found absent")]
    NotPresent {
        /// The field.
        field: &'static str,
    },
    /// The expected digest is shorter than 256 bits.
    #[error("artifact digest: expected at least 256 bits of hex, found {found:?}")]
    InvalidHash {
        /// The digest given.
        found: String,
    },
    /// No subject of the provenance has the artifact's digest.
    #[error("no provenance subject has the artifact's digest: expected {expected}, subjects are [{}]", found.join(", "))]
    MismatchHash {
        /// `alg:hex` of the artifact.
        expected: String,
        /// The subjects' digests of that algorithm, `name alg:hex`.
        found: Vec<String>,
    },
    /// The build ran on another branch than `--source-branch`.
    #[error("source branch: expected {expected:?}, found {found:?}")]
    MismatchBranch {
        /// `--source-branch`.
        expected: String,
        /// The provenance's branch.
        found: String,
    },
    /// The build ran for another tag than `--source-tag`.
    #[error("source tag: expected {expected:?}, found {found:?}")]
    MismatchTag {
        /// `--source-tag`.
        expected: String,
        /// The provenance's tag.
        found: String,
    },
    /// A version is not a semantic version.
    #[error("{what}: expected a semantic version (vMAJOR[.MINOR[.PATCH]]), found {found:?}")]
    InvalidSemver {
        /// Which version (`--source-versioned-tag` or the provenance tag).
        what: &'static str,
        /// The version found.
        found: String,
    },
    /// The build's tag is not the version `--source-versioned-tag` asks for.
    #[error("source versioned tag: {part} version expected {expected:?}, found {found:?} (provenance tag {tag:?})")]
    MismatchVersionedTag {
        /// `major`, `minor` or `patch`.
        part: &'static str,
        /// That part of `--source-versioned-tag`.
        expected: String,
        /// That part of the provenance tag.
        found: String,
        /// The provenance tag.
        tag: String,
    },
    /// A `--build-workflow-input` does not match the provenance.
    #[error("workflow input {key}: expected {expected:?}, found {}", found.as_deref().map_or("no such string input".to_string(), |f| format!("{f:?}")))]
    MismatchWorkflowInputs {
        /// The input's name (`github_event_name` when the build was not a
        /// `workflow_dispatch`).
        key: String,
        /// The value expected.
        expected: String,
        /// The provenance's value.
        found: Option<String>,
    },
    /// Several artifacts verified under different builders.
    #[error("artifacts were built by different builders: expected {expected}, found {found}")]
    BuilderIdsDiffer {
        /// The first artifact's builder.
        expected: String,
        /// A later artifact's builder.
        found: String,
    },
}

impl From<VerifyError> for SlsaError {
    fn from(e: VerifyError) -> Self {
        Self::Bundle(Box::new(e))
    }
}

impl SlsaError {
    /// A stable, machine-readable reason code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "provenance-too-large",
            Self::UnrecognizedProvenance { .. } => "provenance-malformed",
            Self::NeedsOnlineLookup { .. } => "provenance-needs-online-lookup",
            Self::RekorLookup(_) => "provenance-rekor-lookup",
            Self::RekorEntryMismatch { .. } => "provenance-rekor-entry-mismatch",
            Self::UnexpectedBundleContent { .. } => "provenance-unexpected-bundle-content",
            Self::Bundle(e) | Self::PublishBundle(e) => e.code(),
            Self::Npm(e) => e.code(),
            Self::InvalidCertificate { .. } => "slsa-invalid-certificate",
            Self::InvalidFormat { .. } => "slsa-invalid-format",
            Self::VerifierNotSupported { .. } => "slsa-verifier-not-supported",
            Self::InvalidOidcIssuer { .. } => "slsa-invalid-oidc-issuer",
            Self::MalformedUri { .. } => "slsa-malformed-uri",
            Self::UntrustedReusableWorkflow { .. } => "slsa-untrusted-reusable-workflow",
            Self::InvalidRef { .. } => "slsa-invalid-ref",
            Self::MismatchSource { .. } => "slsa-mismatch-source",
            Self::InvalidDssePayload { .. } => "slsa-invalid-dsse-payload",
            Self::InvalidBuilderId { .. } => "slsa-invalid-builder-id",
            Self::InvalidBuildType { .. } => "slsa-invalid-build-type",
            Self::MismatchBuilderId { .. } => "slsa-mismatch-builder-id",
            Self::NotPresent { .. } => "slsa-not-present",
            Self::InvalidHash { .. } => "slsa-invalid-hash",
            Self::MismatchHash { .. } => "slsa-mismatch-hash",
            Self::MismatchBranch { .. } => "slsa-mismatch-branch",
            Self::MismatchTag { .. } => "slsa-mismatch-tag",
            Self::InvalidSemver { .. } => "slsa-invalid-semver",
            Self::MismatchVersionedTag { .. } => "slsa-mismatch-versioned-tag",
            Self::MismatchWorkflowInputs { .. } => "slsa-mismatch-workflow-inputs",
            Self::BuilderIdsDiffer { .. } => "slsa-builder-ids-differ",
        }
    }

    /// The name of slsa-verifier's sentinel error for this failure, for
    /// users and scripts that know slsa-verifier's messages.
    pub fn upstream_name(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } | Self::UnrecognizedProvenance { .. } => "ErrorInvalidFormat",
            Self::NeedsOnlineLookup { .. } => "ErrorRekorSearch",
            Self::RekorLookup(_) => "ErrorRekorSearch",
            Self::RekorEntryMismatch { .. } => "ErrorNoValidRekorEntries",
            Self::UnexpectedBundleContent { .. } => "ErrorUnexpectedBundleContent",
            Self::Npm(e) => e.upstream_name(),
            Self::Bundle(e) | Self::PublishBundle(e) => match e.as_ref() {
                VerifyError::Signature { .. } => "ErrorInvalidSignature",
                VerifyError::TransparencyLog(TlogError::UnknownLog { .. }) => "ErrorRekorPubKey",
                VerifyError::TransparencyLog(_) => "ErrorInvalidRekorEntry",
                _ => "ErrorInvalidCertificate",
            },
            Self::InvalidCertificate { .. } => "ErrorInvalidCertificate",
            Self::InvalidFormat { .. } => "ErrorInvalidFormat",
            Self::VerifierNotSupported { .. } => "ErrorVerifierNotSupported",
            Self::InvalidOidcIssuer { .. } => "ErrorInvalidOIDCIssuer",
            Self::MalformedUri { .. } => "ErrorMalformedURI",
            Self::UntrustedReusableWorkflow { .. } => "ErrorUntrustedReusableWorkflow",
            Self::InvalidRef { .. } => "ErrorInvalidRef",
            Self::MismatchSource { .. } => "ErrorMismatchSource",
            Self::InvalidDssePayload { .. } => "ErrorInvalidDssePayload",
            Self::InvalidBuilderId { .. } => "ErrorInvalidBuilderID",
            Self::InvalidBuildType { .. } => "ErrorInvalidBuildType",
            Self::MismatchBuilderId { .. } => "ErrorMismatchBuilderID",
            Self::NotPresent { .. } => "ErrorNotPresent",
            Self::InvalidHash { .. } => "ErrorInvalidHash",
            Self::MismatchHash { .. } => "ErrorMismatchHash",
            Self::MismatchBranch { .. } => "ErrorMismatchBranch",
            Self::MismatchTag { .. } => "ErrorMismatchTag",
            Self::InvalidSemver { .. } => "ErrorInvalidSemver",
            Self::MismatchVersionedTag { .. } => "ErrorMismatchVersionedTag",
            Self::MismatchWorkflowInputs { .. } => "ErrorMismatchWorkflowInputs",
            Self::BuilderIdsDiffer { .. } => "ErrorInvalidBuilderID",
        }
    }

    /// Whether this is an input problem (exit status 2 in the CLI) rather
    /// than a verification failure.
    pub fn is_input_error(&self) -> bool {
        match self {
            Self::Bundle(e) | Self::PublishBundle(e) => e.is_input_error(),
            Self::VerifierNotSupported { .. } => true,
            Self::Npm(e) => matches!(e, super::npm::NpmError::InvalidRegistryKeys { .. }),
            Self::InvalidFormat { what, .. } => what.starts_with("--"),
            _ => false,
        }
    }
}

//! Why an SBOM could not be read at all.
//!
//! These are the failures that stop validation before it starts: the input
//! is unreadable, too large, not JSON of the expected shape (reported with
//! the JSON path, line and column of the offending value), or not an SPDX
//! 2.2/2.3 document. Everything that *can* be judged is a
//! [`super::Finding`] in the report instead.

/// Why an SBOM could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SbomError {
    /// The input could not be read.
    #[error("cannot read SBOM {what}: {source}")]
    Read {
        /// What was being read (a path, or `input`).
        what: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The input is larger than the limit.
    #[error("SBOM is larger than the {limit}-byte limit (found {found} bytes or more)")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
        /// The size found (at least).
        found: u64,
    },
    /// The input is not JSON, or a field has the wrong JSON type.
    #[error("SBOM is malformed at {path} (line {line}, column {column}): {detail}")]
    Malformed {
        /// JSON path of the offending value, e.g. `$.packages[3].versionInfo`.
        path: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What was wrong, with what was expected and found.
        detail: String,
    },
    /// The input is JSON but not an SPDX document (nor an in-toto statement
    /// carrying one).
    #[error("not an SPDX document: expected {expected}, found {found}")]
    NotSpdx {
        /// What an SPDX input has.
        expected: &'static str,
        /// What this input has.
        found: String,
    },
    /// The document is SPDX, but of a version this reader does not validate.
    #[error("SPDX version: expected SPDX-2.2 or SPDX-2.3, found {found:?}")]
    UnsupportedVersion {
        /// The `spdxVersion` found.
        found: String,
    },
}

impl SbomError {
    /// A stable, machine-readable reason code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Read { .. } => "sbom-unreadable",
            Self::TooLarge { .. } => "sbom-too-large",
            Self::Malformed { .. } => "sbom-malformed",
            Self::NotSpdx { .. } => "sbom-not-spdx",
            Self::UnsupportedVersion { .. } => "sbom-unsupported-version",
        }
    }

    /// Whether this is an input problem (exit status 2 in the CLI) rather
    /// than a document that fails validation.
    pub fn is_input_error(&self) -> bool {
        matches!(self, Self::Read { .. })
    }
}

//! Why a TUF refresh (or loading the verified cache) did not produce a trust
//! root. One enum, structured fields, a stable [`TufError::code`] per variant.

use std::time::Duration;

use verify_core::TrustRootError;

/// A failure fetching one file from the mirror.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The mirror could not be reached or the connection broke.
    #[error("{url}: mirror unreachable: {detail}")]
    Unreachable {
        /// The URL fetched.
        url: String,
        /// The HTTP client's message.
        detail: String,
    },
    /// The fetch did not finish within its deadline.
    #[error("{url}: no complete answer within {after:?}")]
    Timeout {
        /// The URL fetched.
        url: String,
        /// The deadline that passed.
        after: Duration,
    },
    /// The body is longer than the file may be (a declared length over the
    /// limit, or more bytes streamed than allowed: the download is cut there).
    #[error("{url}: more than {limit} bytes")]
    TooLarge {
        /// The URL fetched.
        url: String,
        /// The most bytes this file may have.
        limit: u64,
    },
    /// The mirror answered with an HTTP status other than 200 or 404.
    #[error("{url}: HTTP status {status}")]
    Status {
        /// The URL fetched.
        url: String,
        /// The status code.
        status: u16,
    },
    /// The mirror URL is not usable.
    #[error("mirror URL {url:?} is not usable: {detail}")]
    BadUrl {
        /// The URL given.
        url: String,
        /// Why.
        detail: String,
    },
}

/// Why a refresh failed or a cached trust root was not believed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TufError {
    /// Fetching a file from the mirror failed (down, slow, oversized, lying
    /// about status).
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The whole refresh took longer than its deadline.
    #[error("refresh did not finish within {after:?}")]
    RefreshTimeout {
        /// The deadline that passed.
        after: Duration,
    },
    /// Metadata is older than what is already trusted (a rollback attack, or a
    /// stale mirror).
    #[error(
        "rollback refused: {role} version {offered} is older than the trusted version {trusted}"
    )]
    Rollback {
        /// The role (and, for pins, through which role it was seen).
        role: String,
        /// The version already trusted.
        trusted: u64,
        /// The version offered.
        offered: u64,
    },
    /// Metadata has expired (an expired repository, or a freeze attack: a
    /// mirror serving metadata that is no longer fresh).
    #[error("{role} metadata expired at {expires}")]
    Expired {
        /// The role.
        role: String,
        /// When it expired.
        expires: jiff::Timestamp,
    },
    /// Not enough valid signatures from the role's keys.
    #[error("{role} metadata: {found} valid signatures, {threshold} needed")]
    Threshold {
        /// The role.
        role: String,
        /// Valid signatures found.
        found: usize,
        /// Signatures required.
        threshold: usize,
    },
    /// A new root's version is not the trusted one plus one.
    #[error("root version {offered} does not follow the trusted version {trusted}")]
    RootVersion {
        /// The trusted root's version.
        trusted: u64,
        /// The version offered.
        offered: u64,
    },
    /// A file's length, hashes or version do not match what the role above it
    /// pins (e.g. a target whose hash does not match the targets metadata).
    #[error("integrity check failed: {detail}")]
    Integrity {
        /// What did not match (sigstore-tuf's message).
        detail: String,
    },
    /// A file the metadata requires is not on the mirror (or not in the
    /// cache, when loading it).
    #[error("{file} is missing")]
    Missing {
        /// The file.
        file: String,
    },
    /// The targets metadata does not list `trusted_root.json`.
    #[error("the TUF repository has no target {target:?}")]
    TargetMissing {
        /// The target looked for.
        target: String,
    },
    /// Metadata does not parse or is not of the shape TUF requires.
    #[error("malformed TUF metadata: {detail}")]
    Malformed {
        /// The parser's message.
        detail: String,
    },
    /// The target verified under TUF but is not a usable Sigstore trusted root.
    #[error("the TUF target is not a usable trusted root: {0}")]
    TrustRoot(#[from] TrustRootError),
    /// The cache directory could not be read or written.
    #[error("TUF cache {path}: {detail}")]
    Cache {
        /// The path concerned.
        path: String,
        /// The I/O error.
        detail: String,
    },
    /// There is no verified cache to load (run `verify initialize`).
    #[error("no initialised TUF cache at {path}")]
    NotInitialized {
        /// The cache directory looked in.
        path: String,
    },
    /// The trust root in force is older than the configured maximum age.
    #[error("trust root {}, more than the maximum age of {}s", match age {
        Some(age) => format!("was last verified fresh {}s ago", age.as_secs()),
        None => "was never verified fresh through TUF (the built-in root)".to_string(),
    }, max.as_secs())]
    TooOld {
        /// Time since the root was last verified fresh (`None`: never).
        age: Option<Duration>,
        /// The configured maximum.
        max: Duration,
    },
    /// Another TUF failure (a key that does not parse, an unknown role...).
    #[error("TUF metadata refused: {detail}")]
    Refused {
        /// sigstore-tuf's message.
        detail: String,
    },
}

impl TufError {
    /// A stable reason code, for JSON output, logs and metrics labels.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Fetch(FetchError::Unreachable { .. }) => "tuf-mirror-unreachable",
            Self::Fetch(FetchError::Timeout { .. }) => "tuf-fetch-timeout",
            Self::Fetch(FetchError::TooLarge { .. }) => "tuf-metadata-too-large",
            Self::Fetch(FetchError::Status { .. }) => "tuf-mirror-status",
            Self::Fetch(FetchError::BadUrl { .. }) => "tuf-mirror-url",
            Self::RefreshTimeout { .. } => "tuf-refresh-timeout",
            Self::Rollback { .. } => "tuf-rollback",
            Self::Expired { .. } => "tuf-expired",
            Self::Threshold { .. } => "tuf-signature-threshold",
            Self::RootVersion { .. } => "tuf-root-version",
            Self::Integrity { .. } => "tuf-integrity",
            Self::Missing { .. } => "tuf-file-missing",
            Self::TargetMissing { .. } => "tuf-target-missing",
            Self::Malformed { .. } => "tuf-malformed",
            Self::TrustRoot(_) => "tuf-target-not-trusted-root",
            Self::Cache { .. } => "tuf-cache",
            Self::NotInitialized { .. } => "tuf-not-initialized",
            Self::TooOld { .. } => "trust-root-too-old",
            Self::Refused { .. } => "tuf-refused",
        }
    }

    /// Map sigstore-tuf's error to ours, keeping the structure it has.
    pub(crate) fn from_tuf(error: sigstore_tuf::Error) -> Self {
        use sigstore_tuf::Error as E;
        match error {
            E::Rollback { role, trusted, new } => Self::Rollback {
                role,
                trusted,
                offered: new,
            },
            E::Expired { role, expires } => Self::Expired { role, expires },
            E::ThresholdNotMet {
                role,
                found,
                threshold,
            } => Self::Threshold {
                role,
                found,
                threshold,
            },
            E::BadRootVersion { trusted, new } => Self::RootVersion {
                trusted,
                offered: new,
            },
            E::IntegrityMismatch(detail) => Self::Integrity { detail },
            E::TargetNotFound(target) => Self::TargetMissing { target },
            E::Json(e) => Self::Malformed {
                detail: e.to_string(),
            },
            E::Malformed(detail) => Self::Malformed { detail },
            E::NonIntegerNumber => Self::Malformed {
                detail: "a non-integer number".into(),
            },
            E::Io { context, source } => Self::Cache {
                path: context,
                detail: source.to_string(),
            },
            E::Transport { message, source } => {
                // Our transport puts its typed error in the source.
                match source.map(|s| s.downcast::<FetchError>()) {
                    Some(Ok(fetch)) => Self::Fetch(*fetch),
                    Some(Err(other)) => Self::Refused {
                        detail: format!("{message}: {other}"),
                    },
                    None => match message.strip_suffix(" not found") {
                        Some(file) => Self::Missing {
                            file: file.trim_start_matches("target ").to_string(),
                        },
                        None => Self::Refused { detail: message },
                    },
                }
            }
            other => Self::Refused {
                detail: other.to_string(),
            },
        }
    }
}

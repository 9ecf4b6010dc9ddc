//! What a successful verification established, as a serialisable value.

use serde::Serialize;

/// The facts a verified bundle establishes. Serialises to the stable JSON the
/// CLI prints with `--output json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verified {
    /// The bundle's media type.
    pub bundle_media_type: String,
    /// `certificate` (keyless, Fulcio) or `public-key` (managed key).
    pub signer: SignerKind,
    /// The certificate identity (SAN), for keyless bundles.
    pub identity: Option<String>,
    /// The certificate's OIDC issuer, for keyless bundles.
    pub issuer: Option<String>,
    /// The Rekor log index of the first transparency-log entry.
    pub log_index: Option<u64>,
    /// The Rekor integrated time (RFC 3339), when authenticated by a SET.
    pub integrated_time: Option<String>,
    /// RFC 3161 and log timestamps that were verified (RFC 3339).
    pub signed_timestamps: Vec<String>,
    /// The artifact's digest, `sha256:<hex>`, when known.
    pub artifact_digest: Option<String>,
    /// Whether transparency-log inclusion was verified.
    pub tlog_verified: bool,
    /// Whether the certificate's SCT was verified.
    pub sct_verified: bool,
}

/// Who vouched for the signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignerKind {
    /// A Fulcio certificate.
    Certificate,
    /// A caller-supplied public key.
    PublicKey,
}

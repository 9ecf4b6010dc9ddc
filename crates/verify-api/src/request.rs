//! What a caller asks: the JSON requests of the C ABI and the HTTPS API.
//!
//! Every request is parsed strictly (`deny_unknown_fields`), so a typo in a
//! field name is an `invalid-request` error rather than a silently weaker
//! check. Shapes:
//!
//! ```json
//! {"reference": "ghcr.io/acme/app:v1",
//!  "signer": {"keyless": {"identities": [{"issuer": "^https://token\\.actions\\.githubusercontent\\.com$",
//!                                          "subject": "^https://github\\.com/acme/"}]}},
//!  "credentials": {"username": "u", "password": "p"}}
//! {"reference": "...@sha256:...", "signer": {"keys": [{"pem": "-----BEGIN PUBLIC KEY-----...", "ignore_tlog": true}]}}
//! {"reference": "...", "signer": {...}, "predicate_type": "slsaprovenance"}
//! {"reference": "...@sha256:...", "slsa": {"source_uri": "github.com/acme/app"}}
//! {"reference": "...", "signer": {...}, "trusted_root": {...trusted_root.json...}}
//! {"kind": "blob", "artifact_base64": "...", "bundle": {...}, "signer": {...}}
//! {"kind": "slsa", "artifact_sha256": "<hex>", "provenance": {...}, "slsa": {"source_uri": "..."}}
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use verify_core::slsa::ProvenanceOptions;

/// Verify an image (or OCI artifact) in a registry.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ImageRequest {
    /// `registry/repository[:tag][@sha256:hex]`. A tag is resolved to its
    /// digest, and the digest is what is verified and reported.
    pub reference: String,
    /// Who must have signed (not used with `slsa`, whose trusted builders
    /// are the signers).
    #[serde(default)]
    pub signer: Option<SignerSpec>,
    /// Verify attestations with this predicate type (a URI or cosign's
    /// short name, e.g. `slsaprovenance`) instead of signatures.
    #[serde(default)]
    pub predicate_type: Option<String>,
    /// Verify the image's SLSA provenance attestation with slsa-verifier's
    /// rules instead of signatures.
    #[serde(default)]
    pub slsa: Option<SlsaSpec>,
    /// Registry credentials for this reference's registry only, used for
    /// this call and never kept.
    #[serde(default, skip_serializing)]
    pub credentials: Option<Credentials>,
    /// Check that the signed payload names the image (cosign's default).
    #[serde(default = "yes")]
    pub check_claims: bool,
    /// Annotations every signature must carry.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// Answer with the verdict only (no signatures or attestations): for
    /// callers that need the digest and the outcome, it keeps the hot path
    /// (a cached digest) short.
    #[serde(default)]
    pub summary: bool,
    /// A `trusted_root.json` (an object, or its text) to verify against
    /// instead of the engine's (Flux's `trustedRootSecretRef`). Bounded in
    /// size (`limits.max_trusted_root_bytes`), parsed once and kept by
    /// hash; verdicts are cached under the root's fingerprint, so one
    /// root's verdict never answers for another.
    #[serde(default, skip_serializing)]
    pub trusted_root: Option<serde_json::Value>,
}

fn yes() -> bool {
    true
}

/// Who may have signed.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum SignerSpec {
    /// Public keys, tried in turn; the first that verifies wins (Flux's
    /// `.pub` entries of `secretRef`).
    Keys(Vec<KeySpec>),
    /// Fulcio certificates matching one of the identities (pairs OR-ed);
    /// an empty list accepts any identity the trust root's Fulcio certifies
    /// (Flux's empty `matchOIDCIdentity`).
    Keyless {
        /// Issuer/subject regexp pairs.
        #[serde(default)]
        identities: Vec<IdentitySpec>,
    },
}

/// One public key.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KeySpec {
    /// PEM `PUBLIC KEY`.
    pub pem: String,
    /// Do not require transparency-log evidence (Flux's key mode, which is
    /// offline).
    #[serde(default)]
    pub ignore_tlog: bool,
}

/// One `matchOIDCIdentity` pair: RE2 regexps searched (unanchored) in the
/// certificate's OIDC issuer and SAN.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IdentitySpec {
    /// Pattern for the OIDC issuer.
    pub issuer: String,
    /// Pattern for the subject (SAN).
    pub subject: String,
}

/// Registry credentials for one call.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// User name.
    pub username: String,
    /// Password or token.
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// slsa-verifier's options.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SlsaSpec {
    /// The repository the build must come from (`github.com/owner/name`).
    pub source_uri: String,
    /// Expected branch.
    #[serde(default)]
    pub source_branch: Option<String>,
    /// Expected tag.
    #[serde(default)]
    pub source_tag: Option<String>,
    /// Expected versioned tag (semver prefix).
    #[serde(default)]
    pub source_versioned_tag: Option<String>,
    /// Expected builder id.
    #[serde(default)]
    pub builder_id: Option<String>,
    /// Expected workflow inputs.
    #[serde(default)]
    pub workflow_inputs: BTreeMap<String, String>,
}

impl SlsaSpec {
    pub(crate) fn options(&self) -> ProvenanceOptions {
        ProvenanceOptions {
            source_uri: self.source_uri.clone(),
            source_branch: self.source_branch.clone(),
            source_tag: self.source_tag.clone(),
            source_versioned_tag: self.source_versioned_tag.clone(),
            builder_id: self.builder_id.clone(),
            workflow_inputs: self.workflow_inputs.clone(),
        }
    }
}

/// Verify a file: a blob against a Sigstore bundle, or SLSA provenance.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ArtifactRequest {
    /// A blob against its Sigstore bundle.
    Blob {
        /// The artifact's bytes, base64.
        #[serde(default)]
        artifact_base64: Option<String>,
        /// The artifact's SHA-256, hex (or `sha256:<hex>`).
        #[serde(default)]
        artifact_sha256: Option<String>,
        /// The bundle (a JSON object, or its text).
        bundle: serde_json::Value,
        /// Who must have signed.
        signer: SignerSpec,
        /// A trust root instead of the engine's (as for images).
        #[serde(default)]
        trusted_root: Option<serde_json::Value>,
    },
    /// A file against its SLSA provenance (slsa-verifier's
    /// `verify-artifact`).
    Slsa {
        /// The artifact's bytes, base64.
        #[serde(default)]
        artifact_base64: Option<String>,
        /// The artifact's SHA-256, hex (or `sha256:<hex>`).
        #[serde(default)]
        artifact_sha256: Option<String>,
        /// The provenance: a Sigstore bundle or a DSSE envelope with its
        /// certificate (a JSON object, or its text).
        provenance: serde_json::Value,
        /// slsa-verifier's options.
        slsa: SlsaSpec,
        /// A trust root instead of the engine's (as for images).
        #[serde(default)]
        trusted_root: Option<serde_json::Value>,
    },
}

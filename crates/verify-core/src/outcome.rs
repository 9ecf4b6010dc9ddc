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
    /// The Fulcio certificate's claims about the workload that signed, for
    /// keyless bundles. Claims, not authorization: a policy decides.
    pub certificate: Option<CertificateClaims>,
}

/// What a verified Fulcio certificate says about its signer: the SAN, the
/// OIDC issuer and the CI claims (OIDs 1.3.6.1.4.1.57264.1.*).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CertificateClaims {
    /// The Subject Alternative Name (email, URI, or Fulcio username
    /// `otherName`).
    pub subject: Option<String>,
    /// The OIDC issuer.
    pub issuer: Option<String>,
    /// `.1.9` Build Signer URI (the workflow that signed, with its ref).
    pub build_signer_uri: Option<String>,
    /// `.1.10` Build Signer Digest.
    pub build_signer_digest: Option<String>,
    /// `.1.11` Runner Environment.
    pub runner_environment: Option<String>,
    /// `.1.12` Source Repository URI.
    pub source_repository_uri: Option<String>,
    /// `.1.13` Source Repository Digest (commit).
    pub source_repository_digest: Option<String>,
    /// `.1.14` Source Repository Ref.
    pub source_repository_ref: Option<String>,
    /// `.1.15` Source Repository Identifier.
    pub source_repository_identifier: Option<String>,
    /// `.1.16` Source Repository Owner URI.
    pub source_repository_owner_uri: Option<String>,
    /// `.1.17` Source Repository Owner Identifier.
    pub source_repository_owner_identifier: Option<String>,
    /// `.1.18` Build Config URI.
    pub build_config_uri: Option<String>,
    /// `.1.19` Build Config Digest.
    pub build_config_digest: Option<String>,
    /// `.1.20` Build Trigger.
    pub build_trigger: Option<String>,
    /// `.1.21` Run Invocation URI.
    pub run_invocation_uri: Option<String>,
    /// `.1.22` Source Repository Visibility At Signing.
    pub source_repository_visibility_at_signing: Option<String>,
    /// `.1.2` (deprecated) GitHub Workflow Trigger.
    pub github_workflow_trigger: Option<String>,
    /// `.1.3` (deprecated) GitHub Workflow SHA.
    pub github_workflow_sha: Option<String>,
    /// `.1.4` (deprecated) GitHub Workflow Name.
    pub github_workflow_name: Option<String>,
    /// `.1.5` (deprecated) GitHub Workflow Repository.
    pub github_workflow_repository: Option<String>,
    /// `.1.6` (deprecated) GitHub Workflow Ref.
    pub github_workflow_ref: Option<String>,
}

impl CertificateClaims {
    /// Read the claims of a certificate (`der`, parsed as `info`), its
    /// username `otherName` included (see
    /// [`crate::identity::certificate_identity`]).
    pub(crate) fn from_certificate(der: &[u8], info: &sigstore_crypto::CertificateInfo) -> Self {
        Self {
            subject: crate::identity::certificate_identity(der, info),
            ..Self::from_info(info)
        }
    }

    /// Read the claims of a parsed certificate (email and URI SANs only).
    pub(crate) fn from_info(info: &sigstore_crypto::CertificateInfo) -> Self {
        let c = &info.ci_claims;
        let g = &c.deprecated_github;
        Self {
            subject: info.identity.as_ref().map(|s| s.as_str().to_string()),
            issuer: info.issuer.clone(),
            build_signer_uri: c.build_signer_uri.clone(),
            build_signer_digest: c.build_signer_digest.clone(),
            runner_environment: c.runner_environment.clone(),
            source_repository_uri: c.source_repository_uri.clone(),
            source_repository_digest: c.source_repository_digest.clone(),
            source_repository_ref: c.source_repository_ref.clone(),
            source_repository_identifier: c.source_repository_identifier.clone(),
            source_repository_owner_uri: c.source_repository_owner_uri.clone(),
            source_repository_owner_identifier: c.source_repository_owner_identifier.clone(),
            build_config_uri: c.build_config_uri.clone(),
            build_config_digest: c.build_config_digest.clone(),
            build_trigger: c.build_trigger.clone(),
            run_invocation_uri: c.run_invocation_uri.clone(),
            source_repository_visibility_at_signing: c
                .source_repository_visibility_at_signing
                .clone(),
            github_workflow_trigger: g.workflow_trigger.clone(),
            github_workflow_sha: g.workflow_sha.clone(),
            github_workflow_name: g.workflow_name.clone(),
            github_workflow_repository: g.workflow_repository.clone(),
            github_workflow_ref: g.workflow_ref.clone(),
        }
    }
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

//! Command-line flags, named as cosign's and slsa-verifier's so `verify` can
//! replace them in an existing pipeline.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "verify",
    version,
    about = "Verify that software is what it claims: Sigstore bundles, signed by the right identity and logged in Rekor",
    after_help = "Exit status: 0 verified, 1 verification failed, 2 usage error or unreadable input."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Verify a file (or a sha256 digest) against a Sigstore bundle.
    #[command(
        alias = "verify-bundle",
        alias = "verify-blob",
        after_help = BLOB_EXAMPLES
    )]
    Blob(BlobArgs),
}

const BLOB_EXAMPLES: &str = "\
Examples:
  # keyless, as `cosign verify-blob --bundle`:
  verify blob --bundle artifact.sigstore.json \\
    --certificate-identity https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.0.0 \\
    --certificate-oidc-issuer https://token.actions.githubusercontent.com \\
    artifact.tar.gz

  # any workflow of one repository (anchor the pattern yourself, as with cosign):
  verify blob --bundle artifact.sigstore.json \\
    --certificate-identity-regexp '^https://github\\.com/acme/app/\\.github/workflows/.*$' \\
    --certificate-oidc-issuer https://token.actions.githubusercontent.com artifact.tar.gz

  # a digest instead of the file:
  verify blob --bundle artifact.sigstore.json --certificate-identity I --certificate-oidc-issuer O sha256:<hex>

  # key-based:
  verify blob --bundle artifact.sigstore.json --key cosign.pub artifact.tar.gz

  # a private Sigstore deployment:
  verify blob --bundle b.json --trusted-root trusted_root.json --certificate-identity I --certificate-oidc-issuer O file

Exit status: 0 verified, 1 verification failed, 2 usage error or unreadable input.";

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    Text,
    Json,
}

/// Who must have signed, and against which trust material.
#[derive(Args, Debug)]
pub struct SignerArgs {
    /// The certificate identity (SAN) expected, exactly.
    #[arg(long, value_name = "IDENTITY", conflicts_with_all = ["certificate_identity_regexp", "key"])]
    pub certificate_identity: Option<String>,
    /// A regular expression (RE2 syntax) searched in the certificate identity.
    /// Not implicitly anchored, as in cosign: use ^ and $ to match it whole.
    #[arg(long, value_name = "REGEXP", conflicts_with = "key")]
    pub certificate_identity_regexp: Option<String>,
    /// The OIDC issuer expected, exactly.
    #[arg(long, value_name = "ISSUER", conflicts_with_all = ["certificate_oidc_issuer_regexp", "key"])]
    pub certificate_oidc_issuer: Option<String>,
    /// A regular expression searched in the OIDC issuer (see above).
    #[arg(long, value_name = "REGEXP", conflicts_with = "key")]
    pub certificate_oidc_issuer_regexp: Option<String>,
    /// GitHub workflow trigger the certificate must carry (e.g. push).
    #[arg(long, value_name = "TRIGGER")]
    pub certificate_github_workflow_trigger: Option<String>,
    /// GitHub workflow commit SHA the certificate must carry.
    #[arg(long, value_name = "SHA")]
    pub certificate_github_workflow_sha: Option<String>,
    /// GitHub workflow name the certificate must carry.
    #[arg(long, value_name = "NAME")]
    pub certificate_github_workflow_name: Option<String>,
    /// GitHub repository (owner/name) the certificate must carry.
    #[arg(long, value_name = "OWNER/NAME")]
    pub certificate_github_workflow_repository: Option<String>,
    /// GitHub ref the certificate must carry (e.g. refs/heads/main).
    #[arg(long, value_name = "REF")]
    pub certificate_github_workflow_ref: Option<String>,
    /// Verify with this PEM public key instead of a certificate identity.
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// Sigstore trusted_root.json to trust (default: the built-in public-good root).
    #[arg(long, value_name = "FILE", env = "SIGSTORE_ROOT_FILE")]
    pub trusted_root: Option<PathBuf>,
    /// Do not require transparency-log inclusion (unsafe).
    #[arg(long)]
    pub insecure_ignore_tlog: bool,
    /// Do not require the certificate's SCT (unsafe).
    #[arg(long)]
    pub insecure_ignore_sct: bool,
}

#[derive(Args, Debug)]
pub struct BlobArgs {
    /// The Sigstore bundle (v0.1 to v0.3).
    #[arg(long, value_name = "FILE")]
    pub bundle: PathBuf,
    #[command(flatten)]
    pub signer: SignerArgs,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value = "text")]
    pub output: OutputFormat,
    /// The artifact: a file path, or `sha256:<hex>`.
    #[arg(value_name = "FILE|sha256:HEX")]
    pub artifact: String,
}

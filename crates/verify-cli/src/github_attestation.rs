//! `verify github-attestation`: a file against its GitHub artifact
//! attestation (slsa-verifier's `verify-github-attestation`, same flags).

use std::fs::File;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use verify_core::bundle::{read_bounded, ReadError};
use verify_core::slsa::github_attestation::verify_github_attestation;
use verify_core::slsa::{
    ArtifactProvenanceRequest, FileDigest, FileDigests, ProvenanceOptions, SlsaError,
};
use verify_core::Limits;

use crate::cli::OutputFormat;
use crate::output;

#[derive(Args, Debug)]
pub struct GithubAttestationArgs {
    /// The attestation: a Sigstore bundle from actions/attest-build-provenance.
    #[arg(long, value_name = "FILE")]
    pub attestation_path: PathBuf,
    /// The reusable workflow that must have signed, NAME or NAME@VERSION.
    #[arg(long, value_name = "ID")]
    pub builder_id: String,
    /// The source repository expected, e.g. github.com/owner/repo.
    #[arg(long, value_name = "URI")]
    pub source_uri: String,
    /// Print the verified in-toto statement on stdout.
    #[arg(long)]
    pub print_attestation: bool,
    /// Sigstore trusted_root.json to trust (default: the built-in public-good root).
    #[arg(long, value_name = "FILE", env = "SIGSTORE_ROOT_FILE")]
    pub trusted_root: Option<PathBuf>,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value = "text")]
    pub output: OutputFormat,
    /// The file to verify; it must be a subject of the attestation.
    #[arg(value_name = "ARTIFACT")]
    pub artifact: PathBuf,
}

pub fn run(args: &GithubAttestationArgs) -> ExitCode {
    let format = args.output;
    let limits = Limits::default();
    let verifier = match crate::trust::load_verifier(args.trusted_root.as_deref(), &limits) {
        Ok(v) => v,
        Err(e) => return output::usage(format, &e.to_string()),
    };
    let attestation = match read_bounded(&args.attestation_path, limits.max_bundle_bytes) {
        Ok(bytes) => bytes,
        Err(ReadError::Io(e)) => {
            return output::usage(
                format,
                &format!(
                    "cannot read --attestation-path {}: {e}",
                    args.attestation_path.display()
                ),
            )
        }
        Err(ReadError::TooLarge { limit, found }) => {
            return output::slsa_failure(format, None, &SlsaError::TooLarge { limit, found })
        }
    };
    let digests = match File::open(&args.artifact).and_then(FileDigests::of_reader) {
        Ok(d) => d,
        Err(e) => {
            return output::usage(
                format,
                &format!("cannot read artifact {}: {e}", args.artifact.display()),
            )
        }
    };
    let options = ProvenanceOptions {
        source_uri: args.source_uri.clone(),
        builder_id: Some(args.builder_id.clone()),
        ..ProvenanceOptions::default()
    };
    let request = ArtifactProvenanceRequest {
        provenance: &attestation,
        artifact: FileDigest::Both(&digests),
        options: &options,
    };
    match verify_github_attestation(&verifier, &request) {
        Ok(v) => {
            output::slsa_artifact_passed(format, &args.artifact, &v);
            output::slsa_success(
                format,
                std::slice::from_ref(&args.artifact),
                std::slice::from_ref(&v),
                args.print_attestation,
            )
        }
        Err(e) => output::slsa_failure(format, Some(&args.artifact), &e),
    }
}

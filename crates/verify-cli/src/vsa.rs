//! `verify vsa`: a SLSA Verification Summary Attestation signed with a key
//! (slsa-verifier's `verify-vsa`, same flags).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use verify_core::bundle::{read_bounded, ReadError};
use verify_core::slsa::vsa::{verify_vsa, VsaError, VsaKey, VsaOptions, VsaRequest, MAX_VSA_BYTES};

use crate::cli::OutputFormat;
use crate::output;

#[derive(Args, Debug)]
pub struct VsaArgs {
    /// A digest the VSA must name as a subject, `<type>:<value>` (repeatable).
    // Not required by the parser: as in slsa-verifier, none is
    // ErrorEmptyRequiredField.
    #[arg(long, value_name = "TYPE:VALUE")]
    pub subject_digest: Vec<String>,
    /// The VSA: a DSSE envelope (JSON).
    #[arg(long, value_name = "FILE")]
    pub attestation_path: PathBuf,
    /// The verifier that must have issued the VSA (`predicate.verifier.id`).
    #[arg(long, value_name = "ID")]
    pub verifier_id: String,
    /// The resource the VSA must be about (`predicate.resourceUri`).
    #[arg(long, value_name = "URI")]
    pub resource_uri: String,
    /// A level the VSA must record (repeatable): SLSA_<TRACK>_LEVEL_<n> is met
    /// by that level or higher on the same track.
    #[arg(long, value_name = "LEVEL")]
    pub verified_level: Vec<String>,
    /// The PEM public key the VSA must be signed with.
    #[arg(long, value_name = "FILE")]
    pub public_key_path: PathBuf,
    /// The key's ID: signatures naming another keyid are skipped (default:
    /// the key's OpenSSH SHA256 fingerprint, as slsa-verifier).
    #[arg(long, value_name = "ID")]
    pub public_key_id: Option<String>,
    /// Print the verified VSA statement on stdout.
    #[arg(long)]
    pub print_attestation: bool,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value = "text")]
    pub output: OutputFormat,
}

pub fn run(args: &VsaArgs) -> ExitCode {
    let format = args.output;
    let pem = match std::fs::read_to_string(&args.public_key_path) {
        Ok(p) => p,
        Err(e) => {
            return output::usage(
                format,
                &format!(
                    "cannot read --public-key-path {}: {e}",
                    args.public_key_path.display()
                ),
            )
        }
    };
    let key = match VsaKey::from_pem(&pem, args.public_key_id.as_deref()) {
        Ok(k) => k,
        Err(e) => return failure(format, &e),
    };
    let envelope = match read_bounded(&args.attestation_path, MAX_VSA_BYTES) {
        Ok(b) => b,
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
            return failure(
                format,
                &VsaError::InvalidEnvelope {
                    found: format!("{found} bytes or more, over the {limit}-byte limit"),
                },
            )
        }
    };
    let options = VsaOptions {
        subject_digests: args.subject_digest.clone(),
        verifier_id: args.verifier_id.clone(),
        resource_uri: args.resource_uri.clone(),
        verified_levels: args.verified_level.clone(),
    };
    match verify_vsa(&VsaRequest {
        envelope: &envelope,
        key: &key,
        options: &options,
    }) {
        Ok(v) => {
            let statement: Option<serde_json::Value> = args
                .print_attestation
                .then(|| serde_json::from_slice(&v.statement).ok())
                .flatten();
            match format {
                OutputFormat::Json => println!(
                    "{}",
                    serde_json::json!({"verified": true, "vsa": v, "statement": statement})
                ),
                OutputFormat::Text => {
                    if let Some(s) = statement {
                        println!("{s}");
                    }
                    eprintln!(
                        "Verified VSA by {} for {} (levels {}), key {}",
                        v.verifier_id,
                        v.resource_uri,
                        v.verified_levels.join(", "),
                        v.key_id
                    );
                    eprintln!("PASSED: SLSA verification passed");
                }
            }
            ExitCode::SUCCESS
        }
        Err(e) => failure(format, &e),
    }
}

/// Print why the VSA was rejected: exit 1, or 2 for the user's input.
fn failure(format: OutputFormat, error: &VsaError) -> ExitCode {
    let status = if error.is_input_error() {
        output::EXIT_USAGE
    } else {
        output::EXIT_FAILED
    };
    match format {
        OutputFormat::Json => println!(
            "{}",
            serde_json::json!({
                "verified": false,
                "reason": {
                    "code": error.code(),
                    "slsa_verifier_error": error.upstream_name(),
                    "message": error.to_string(),
                },
            })
        ),
        OutputFormat::Text => eprintln!(
            "FAILED: SLSA verification failed: {error} [{}, {}]",
            error.code(),
            error.upstream_name()
        ),
    }
    ExitCode::from(status)
}

//! `verify provenance IMAGE` (alias `verify-image`): a container image
//! against the SLSA provenance attached to it as a cosign attestation
//! (slsa-verifier's `verify-image`).
//!
//! The image is opened like `verify image` opens it (a registry, or a local
//! layout `oci:PATH@sha256:HEX`) and must be named by digest; every check is
//! in `verify_core::slsa::image`.

use std::process::ExitCode;

use serde_json::json;
use verify_core::oci::OciLimits;
use verify_core::slsa::image::{pinned_digest, ImageProvenanceError};
use verify_core::slsa::{verify_image_provenance, ImageProvenanceRequest, VerifiedImageProvenance};
use verify_core::Limits;

use crate::artifact::provenance_options;
use crate::cli::{OutputFormat, ProvenanceArgs};
use crate::image::{open_source, Failure, LazyRegistry};
use crate::output::{self, EXIT_FAILED, EXIT_USAGE};

pub async fn run(args: &ProvenanceArgs) -> ExitCode {
    let format = args.output;
    let limits = Limits::default();
    let verifier = match crate::trust::load_verifier(args.trusted_root.as_deref(), &limits) {
        Ok(v) => v,
        Err(e) => return output::failure(format, &e),
    };
    // As slsa-verifier: the argument itself must pin the digest (a layout's
    // default image is as mutable as a tag).
    if !args.image.contains("@sha256:") {
        let error = ImageProvenanceError::MutableImage {
            found: args.image.clone(),
        };
        return failure(format, &args.image, &error);
    }
    let registry = match LazyRegistry::new(&args.registry, std::slice::from_ref(&args.image)) {
        Ok(r) => r,
        Err(msg) => return output::usage(format, &msg),
    };
    let budget = registry.budget();
    let (source, reference) = match open_source(&args.image, &registry, &budget) {
        Ok(opened) => opened,
        Err(Failure::Usage(msg)) => {
            return output::usage(format, &format!("{}: {msg}", args.image))
        }
        Err(Failure::Image(e)) => {
            return failure(format, &args.image, &ImageProvenanceError::Attestations(e))
        }
    };
    let outcome = match pinned_digest(&reference, &source.name()) {
        Ok(digest) => {
            let options = provenance_options(&args.slsa);
            let request = ImageProvenanceRequest {
                source: source.as_ref(),
                image: &digest,
                limits: OciLimits::default(),
                options: &options,
            };
            verify_image_provenance(&verifier, &request).await
        }
        Err(e) => Err(e),
    };
    match outcome {
        Ok(verified) => success(format, &args.image, &verified, args.slsa.print_provenance),
        Err(e) => failure(format, &args.image, &e),
    }
}

/// The image passed: slsa-verifier's lines on stderr (and the statement on
/// stdout with `--print-provenance`), or one JSON object on stdout.
fn success(
    format: OutputFormat,
    image: &str,
    verified: &VerifiedImageProvenance,
    print_provenance: bool,
) -> ExitCode {
    let provenance = &verified.provenance;
    match format {
        OutputFormat::Json => {
            let mut out = json!({
                "verified": true,
                "path": "slsa-cosign-attestation",
                "image": image,
                "digest": verified.image.to_string(),
                "attestation": verified.origin.to_string(),
                "provenance": provenance,
            });
            if print_provenance {
                out["statement"] =
                    serde_json::from_slice(&provenance.statement).unwrap_or_default();
            }
            println!("{out}");
        }
        OutputFormat::Text => {
            if print_provenance {
                println!("{}", String::from_utf8_lossy(&provenance.statement));
            }
            eprintln!(
                "Verified build using builder {:?} at commit {}",
                provenance.build.builder_id, provenance.build.source_commit
            );
            eprintln!(
                "Verified image {image} ({}) with the provenance in {}",
                verified.image, verified.origin
            );
            eprintln!("PASSED: SLSA verification passed");
        }
    }
    ExitCode::SUCCESS
}

/// The image failed: print why and return exit status 1 (2 for input
/// errors).
fn failure(format: OutputFormat, image: &str, error: &ImageProvenanceError) -> ExitCode {
    let status = if error.is_input_error() {
        EXIT_USAGE
    } else {
        EXIT_FAILED
    };
    match format {
        OutputFormat::Json => println!(
            "{}",
            json!({
                "verified": false,
                "image": image,
                "reason": {
                    "code": error.code(),
                    "slsa_verifier_error": error.upstream_name(),
                    "message": error.to_string(),
                },
            })
        ),
        OutputFormat::Text => eprintln!(
            "FAILED: SLSA verification failed: {image}: {error} [{}, {}]",
            error.code(),
            error.upstream_name()
        ),
    }
    ExitCode::from(status)
}

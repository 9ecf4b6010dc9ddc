//! `verify buildkit-provenance IMAGE --platform P` and `verify sbom IMAGE
//! --platform P`: BuildKit's in-index attestations, vouched for by the
//! cosign signature on the image index (`verify_core::buildkit`).
//!
//! The signer is whoever signed the index, as the identity flags require,
//! not a trusted SLSA builder; every output names the path
//! (`buildkit-in-index`), the digests walked and the identity that vouched.

use std::io::Cursor;
use std::process::ExitCode;

use serde_json::{json, Value};
use verify_core::buildkit::{
    verify_in_index_statement, BuildkitError, InIndexRequest, InIndexStatement, PATH,
    SLSA_PROVENANCE_V02, SPDX_DOCUMENT,
};
use verify_core::cosign::{Check, CheckOptions, ImageError};
use verify_core::oci::{OciLimits, Platform};
use verify_core::sbom::{read_seekable, SbomLimits, SbomRequest};
use verify_core::Limits;

use crate::blob::{build_policy, Usage};
use crate::cli::{BuildkitProvenanceArgs, OutputFormat, RegistryArgs, SignerArgs};
use crate::image::{open_source, Failure, LazyRegistry};
use crate::output::{self, EXIT_FAILED, EXIT_USAGE};

/// Why the statement could not be had.
enum Fail {
    Usage(String),
    Verify(verify_core::VerifyError),
    Buildkit(BuildkitError),
}

/// Verify the index signature and walk to `platform`'s statement of
/// `predicate_type`.
async fn verify(
    image: &str,
    platform: &str,
    predicate_type: &str,
    signer: &SignerArgs,
    registry: &RegistryArgs,
) -> Result<InIndexStatement, Fail> {
    let limits = Limits::default();
    let platform = Platform::parse(platform).map_err(|e| Fail::Usage(e.to_string()))?;
    let policy = build_policy(signer, &limits).map_err(|Usage(msg)| Fail::Usage(msg))?;
    let verifier = crate::trust::load_verifier(signer.trusted_root.as_deref(), &limits)
        .map_err(Fail::Verify)?;
    let images = [image.to_string()];
    let registry = LazyRegistry::new(registry, &images).map_err(Fail::Usage)?;
    let budget = registry.budget();
    let (source, reference) = open_source(image, &registry, &budget).map_err(|e| match e {
        Failure::Usage(msg) => Fail::Usage(msg),
        Failure::Image(e) => Fail::Buildkit(BuildkitError::IndexNotSigned(e)),
    })?;
    let options = CheckOptions {
        limits: OciLimits::default(),
        // The signatures must carry their log evidence (cosign's bundle
        // annotation, or a Sigstore bundle).
        offline: true,
        tlog: None,
        ..CheckOptions::default()
    };
    let index = verify_core::cosign::resolve(source.as_ref(), &reference, &options.limits)
        .await
        .map_err(|e| Fail::Buildkit(BuildkitError::IndexNotSigned(ImageError::Source(e))))?
        .digest;
    let check = Check {
        verifier: &verifier,
        source: source.as_ref(),
        policy: &policy,
        options: &options,
    };
    let request = InIndexRequest {
        index: &index,
        platform: &platform,
        predicate_type,
    };
    verify_in_index_statement(&check, &request)
        .await
        .map_err(Fail::Buildkit)
}

pub async fn run_provenance(args: &BuildkitProvenanceArgs) -> ExitCode {
    let format = args.output;
    match verify(
        &args.image,
        &args.platform,
        SLSA_PROVENANCE_V02,
        &args.signer,
        &args.registry,
    )
    .await
    {
        Ok(found) => {
            let statement: Value = serde_json::from_slice(&found.statement).unwrap_or_default();
            match format {
                OutputFormat::Json => {
                    let mut out = facts(&args.image, &found);
                    out["verified"] = json!(true);
                    out["statement"] = statement;
                    println!("{out}");
                }
                OutputFormat::Text => {
                    describe(&args.image, &found);
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&statement).unwrap_or_default()
                    );
                    eprintln!(
                        "PASSED: BuildKit provenance verified (path {PATH}; not slsa-verifier's trusted-builder check)"
                    );
                }
            }
            ExitCode::SUCCESS
        }
        Err(fail) => failure(format, &args.image, fail),
    }
}

/// `verify sbom IMAGE --platform P`: the SPDX SBOM BuildKit attached to
/// the platform's image, once verified; then its validation report.
pub async fn run_sbom(
    image: &str,
    platform: &str,
    signer: &SignerArgs,
    registry: &RegistryArgs,
    format: OutputFormat,
    require_ntia: bool,
) -> ExitCode {
    let found = match verify(image, platform, SPDX_DOCUMENT, signer, registry).await {
        Ok(found) => found,
        Err(fail) => return failure(format, image, fail),
    };
    let what = format!("SBOM layer {}", found.chain.layer);
    let sbom = match read_seekable(SbomRequest {
        reader: Cursor::new(&found.statement),
        what: &what,
        limits: SbomLimits::default(),
    }) {
        Ok(sbom) => sbom,
        Err(e) => {
            if format == OutputFormat::Text {
                describe(image, &found);
            }
            return output::sbom_failure(format, &e);
        }
    };
    let report = sbom.validate();
    match format {
        OutputFormat::Json => {
            let ok = report.is_valid() && (!require_ntia || report.ntia.conformant);
            let statement: Value = serde_json::from_slice(&found.statement).unwrap_or_default();
            let mut out = facts(image, &found);
            out["verified"] = json!(ok);
            out["valid"] = json!(report.is_valid());
            out["ntia_required"] = json!(require_ntia);
            out["report"] = serde_json::to_value(&report).unwrap_or_default();
            out["document"] = statement.get("predicate").cloned().unwrap_or_default();
            println!("{out}");
            if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(EXIT_FAILED)
            }
        }
        OutputFormat::Text => {
            describe(image, &found);
            output::sbom_report(format, &report, require_ntia)
        }
    }
}

/// What vouched for the statement, and how it is tied to it.
fn facts(image: &str, found: &InIndexStatement) -> Value {
    json!({
        "path": PATH,
        "image": image,
        "platform": found.platform.to_string(),
        "predicate_type": found.predicate_type,
        "chain": {
            "index": found.chain.index.to_string(),
            "platform_image": found.chain.platform_image.to_string(),
            "attestation_manifest": found.chain.attestation_manifest.to_string(),
            "layer": found.chain.layer.to_string(),
        },
        "signers": found.signatures.iter().map(|s| json!({
            "identity": s.verified.identity,
            "issuer": s.verified.issuer,
            "log_index": s.verified.log_index,
            "integrated_time": s.verified.integrated_time,
            "origin": s.origin.to_string(),
        })).collect::<Vec<_>>(),
    })
}

/// The path taken and who vouched, on stderr.
fn describe(image: &str, found: &InIndexStatement) {
    let chain = &found.chain;
    eprintln!(
        "Path {PATH}: {} statement for {} of {image}",
        found.predicate_type, found.platform
    );
    for s in &found.signatures {
        let who = match &s.verified.identity {
            Some(id) => format!(
                "identity {id}, issuer {}",
                s.verified.issuer.as_deref().unwrap_or("?")
            ),
            None => "a public key".to_string(),
        };
        eprintln!("  index {} signed by {who} ({})", chain.index, s.origin);
    }
    eprintln!(
        "  index -> attestation manifest {} -> layer {}",
        chain.attestation_manifest, chain.layer
    );
    eprintln!("  subject: platform image {}", chain.platform_image);
}

fn failure(format: OutputFormat, image: &str, fail: Fail) -> ExitCode {
    let error = match fail {
        Fail::Usage(msg) => return output::usage(format, &format!("{image}: {msg}")),
        Fail::Verify(e) => return output::failure(format, &e),
        Fail::Buildkit(e) => e,
    };
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
                "path": PATH,
                "image": image,
                "reason": {"code": error.code(), "message": error.to_string()},
            })
        ),
        OutputFormat::Text => eprintln!("FAILED: {image} ({PATH}): {error} [{}]", error.code()),
    }
    ExitCode::from(status)
}

//! Printing image verification results as cosign does.
//!
//! - `text`: on stderr, what was checked and each certificate's subject and
//!   issuer; on stdout, each verified payload (a signature's simple-signing
//!   document, an attestation's DSSE envelope), one per line.
//! - `json`: on stdout, cosign's list of signature payloads, each with the
//!   verified certificate identity (`Subject`, `Issuer`, the GitHub workflow
//!   claims) and the log `Bundle` in `optional`; attestations as DSSE
//!   envelopes, one per line, as cosign prints them. A failure is one JSON
//!   object with the reason and, when signatures were found, why each was
//!   rejected.

use std::process::ExitCode;

use serde_json::Value;
use verify_core::cosign::{ImageError, VerifiedAttestation, VerifiedSignature};
use verify_core::oci::Platform;
use verify_core::{ArtifactDigest, SignerKind, Verified};

use crate::cli::OutputFormat;
use crate::output::{EXIT_FAILED, EXIT_USAGE};

/// What verified for one image.
pub struct ImageReport {
    /// `registry/repository` or `oci:PATH`.
    pub name: String,
    /// The digest verified (the tag's, for tag references).
    pub digest: ArtifactDigest,
    /// Verified signatures (`verify image`).
    pub signatures: Vec<VerifiedSignature>,
    /// Verified attestations (`verify attestation`).
    pub attestations: Vec<VerifiedAttestation>,
    /// `--platform`: the platform, its image's digest, and that image's own
    /// report when its signature was required.
    pub platform: Option<(Platform, ArtifactDigest, Option<Box<ImageReport>>)>,
}

impl ImageReport {
    fn verdicts(&self) -> impl Iterator<Item = &Verified> {
        self.signatures
            .iter()
            .map(|s| &s.verified)
            .chain(self.attestations.iter().map(|a| &a.verified))
    }
}

/// Print a verified image; exit status 0.
pub fn success(format: OutputFormat, report: &ImageReport, claims_checked: bool) -> ExitCode {
    let child = report
        .platform
        .as_ref()
        .and_then(|(_, _, child)| child.as_deref());
    if format == OutputFormat::Text {
        print_header(report, claims_checked);
        if let Some((platform, digest, child)) = &report.platform {
            match child {
                Some(child) => {
                    eprintln!(
                        "Platform {platform}: {}@{digest}, {} verified on its own digest",
                        report.name,
                        count(child)
                    );
                }
                None => eprintln!(
                    "Platform {platform}: {}@{digest} (covered by the index's signature)",
                    report.name
                ),
            }
        }
    }
    let mut signatures: Vec<Value> = report.signatures.iter().map(cosign_payload).collect();
    if let Some(child) = child {
        signatures.extend(child.signatures.iter().map(cosign_payload));
    }
    let attestations = report
        .attestations
        .iter()
        .chain(child.into_iter().flat_map(|c| c.attestations.iter()));
    match format {
        OutputFormat::Json if !report.signatures.is_empty() => {
            println!("{}", Value::Array(signatures));
        }
        OutputFormat::Text => {
            for sig in report
                .signatures
                .iter()
                .chain(child.into_iter().flat_map(|c| c.signatures.iter()))
            {
                print_certificate(&sig.verified);
                println!("{}", String::from_utf8_lossy(&sig.payload));
            }
        }
        OutputFormat::Json => {}
    }
    for att in attestations {
        if format == OutputFormat::Text {
            print_certificate(&att.verified);
        }
        println!("{}", att.envelope);
    }
    ExitCode::SUCCESS
}

fn count(report: &ImageReport) -> String {
    match (report.signatures.len(), report.attestations.len()) {
        (n, 0) => format!("{n} signature(s)"),
        (_, n) => format!("{n} attestation(s)"),
    }
}

fn print_header(report: &ImageReport, claims_checked: bool) {
    let kind = if report.attestations.is_empty() {
        "signatures"
    } else {
        "attestations"
    };
    eprintln!("\nVerification for {}@{} --", report.name, report.digest);
    eprintln!("The following checks were performed on each of these {kind}:");
    if claims_checked {
        eprintln!("  - The cosign claims were validated");
    }
    let verdicts: Vec<&Verified> = report.verdicts().collect();
    if verdicts.iter().any(|v| v.tlog_verified) {
        eprintln!("  - Existence of the claims in the transparency log was verified");
        eprintln!("  - The signatures were integrated into the transparency log when the certificate was valid");
    }
    if verdicts.iter().any(|v| v.signer == SignerKind::PublicKey) {
        eprintln!("  - The signatures were verified against the specified public key");
    }
    if verdicts.iter().any(|v| v.signer == SignerKind::Certificate) {
        eprintln!("  - The code-signing certificate was verified using trusted certificate authority certificates");
    }
}

fn print_certificate(verified: &Verified) {
    let Some(cert) = &verified.certificate else {
        return;
    };
    eprintln!(
        "Certificate subject: {}",
        cert.subject.as_deref().unwrap_or("")
    );
    if let Some(issuer) = &cert.issuer {
        eprintln!("Certificate issuer URL: {issuer}");
    }
    for (label, value) in [
        ("GitHub Workflow Trigger", &cert.github_workflow_trigger),
        ("GitHub Workflow SHA", &cert.github_workflow_sha),
        ("GitHub Workflow Name", &cert.github_workflow_name),
        (
            "GitHub Workflow Repository",
            &cert.github_workflow_repository,
        ),
        ("GitHub Workflow Ref", &cert.github_workflow_ref),
    ] {
        if let Some(value) = value {
            eprintln!("{label}: {value}");
        }
    }
}

/// A signature payload as cosign's JSON output shows it (shared with the
/// C ABI and the HTTPS API).
fn cosign_payload(sig: &VerifiedSignature) -> Value {
    verify_api::report::cosign_payload(sig)
}

/// Print why an image failed; exit status 1 (2 for an unusable reference or
/// an unreadable layout).
pub fn failure(format: OutputFormat, image: &str, error: &ImageError) -> ExitCode {
    match format {
        OutputFormat::Json => {
            println!("{}", verify_api::report::image_failure_json(image, error));
        }
        OutputFormat::Text => eprintln!("Error: {error} [{}]", error.code()),
    }
    // A bad reference or an unreadable layout is unusable input.
    let usage = matches!(
        error,
        ImageError::Source(
            verify_core::oci::SourceError::Invalid { .. }
                | verify_core::oci::SourceError::Io { .. }
        )
    );
    ExitCode::from(if usage { EXIT_USAGE } else { EXIT_FAILED })
}

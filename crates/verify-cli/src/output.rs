//! Printing results: one readable line on stderr, or stable JSON on stdout.

use std::process::ExitCode;

use serde::Serialize;
use verify_core::{Verified, VerifyError};

use crate::cli::OutputFormat;

/// Exit status for a verification failure.
pub const EXIT_FAILED: u8 = 1;
/// Exit status for a usage error or unreadable input.
pub const EXIT_USAGE: u8 = 2;

#[derive(Serialize)]
struct Failure<'a> {
    verified: bool,
    reason: Reason<'a>,
}

#[derive(Serialize)]
struct Reason<'a> {
    code: &'a str,
    message: String,
}

#[derive(Serialize)]
struct Success<'a> {
    verified: bool,
    /// Which trust root verified it: `file`, `tuf-cache` or `built-in`.
    #[serde(skip_serializing_if = "Option::is_none")]
    trust_root_source: Option<&'static str>,
    /// Whether this binary is the FIPS build, and its module.
    fips: verify_core::fips::FipsStatus,
    #[serde(flatten)]
    facts: &'a Verified,
}

/// Print a success and return exit status 0.
pub fn success(format: OutputFormat, verified: &Verified) -> ExitCode {
    match format {
        OutputFormat::Json => println!(
            "{}",
            serde_json::to_string(&Success {
                verified: true,
                trust_root_source: crate::trust::source(),
                fips: verify_core::fips::status(),
                facts: verified,
            })
            .unwrap_or_default()
        ),
        OutputFormat::Text => {
            let who = verified
                .identity
                .as_deref()
                .map(|id| {
                    format!(
                        " (identity {id}, issuer {})",
                        verified.issuer.as_deref().unwrap_or("?")
                    )
                })
                .unwrap_or_else(|| " (public key)".to_string());
            eprintln!("Verified OK{who}");
        }
    }
    ExitCode::SUCCESS
}

/// Print a failure and return exit status 1 (or 2 for input errors).
pub fn failure(format: OutputFormat, error: &VerifyError) -> ExitCode {
    let status = if error.is_input_error() {
        EXIT_USAGE
    } else {
        EXIT_FAILED
    };
    report(format, error.code(), &error.to_string());
    ExitCode::from(status)
}

/// Print a usage problem found after flag parsing and return exit status 2.
pub fn usage(format: OutputFormat, message: &str) -> ExitCode {
    report(format, "usage", message);
    ExitCode::from(EXIT_USAGE)
}

/// Print a failure with its reason code and return `status`.
pub fn coded_failure(format: OutputFormat, code: &str, message: &str, status: u8) -> ExitCode {
    report(format, code, message);
    ExitCode::from(status)
}

fn report(format: OutputFormat, code: &str, message: &str) {
    match format {
        OutputFormat::Json => println!(
            "{}",
            serde_json::to_string(&Failure {
                verified: false,
                reason: Reason {
                    code,
                    message: message.to_string(),
                },
            })
            .unwrap_or_default()
        ),
        OutputFormat::Text => eprintln!("Error: {message} [{code}]"),
    }
}

/// One artifact passed its SLSA checks (slsa-verifier's progress lines).
pub fn slsa_artifact_passed(
    format: OutputFormat,
    path: &std::path::Path,
    verified: &verify_core::slsa::VerifiedProvenance,
) {
    if format == OutputFormat::Text {
        eprintln!(
            "Verified build using builder {:?} at commit {}",
            verified.build.builder_id, verified.build.source_commit
        );
        eprintln!("Verifying artifact {}: PASSED", path.display());
    }
}

#[derive(Serialize)]
struct SlsaArtifact<'a> {
    path: String,
    #[serde(flatten)]
    provenance: &'a verify_core::slsa::VerifiedProvenance,
    #[serde(skip_serializing_if = "Option::is_none")]
    statement: Option<serde_json::Value>,
}

/// All artifacts passed: print the verdict (and the statements when asked)
/// and return exit status 0.
pub fn slsa_success(
    format: OutputFormat,
    paths: &[std::path::PathBuf],
    results: &[verify_core::slsa::VerifiedProvenance],
    print_provenance: bool,
) -> ExitCode {
    match format {
        OutputFormat::Json => {
            let artifacts: Vec<SlsaArtifact<'_>> = paths
                .iter()
                .zip(results)
                .map(|(path, provenance)| SlsaArtifact {
                    path: path.display().to_string(),
                    provenance,
                    statement: print_provenance
                        .then(|| serde_json::from_slice(&provenance.statement).ok())
                        .flatten(),
                })
                .collect();
            println!(
                "{}",
                serde_json::json!({
                    "verified": true,
                    "trust_root_source": crate::trust::source(),
                    "fips": verify_core::fips::status(),
                    "artifacts": artifacts,
                })
            );
        }
        OutputFormat::Text => {
            if print_provenance {
                for r in results {
                    println!("{}", String::from_utf8_lossy(&r.statement));
                }
            }
            eprintln!("PASSED: SLSA verification passed");
        }
    }
    ExitCode::SUCCESS
}

/// SLSA verification failed (for `artifact`, when given): print why and
/// return exit status 1 (2 for input errors).
pub fn slsa_failure(
    format: OutputFormat,
    artifact: Option<&std::path::Path>,
    error: &verify_core::slsa::SlsaError,
) -> ExitCode {
    let status = if error.is_input_error() {
        EXIT_USAGE
    } else {
        EXIT_FAILED
    };
    match format {
        OutputFormat::Json => println!(
            "{}",
            serde_json::json!({
                "verified": false,
                "artifact": artifact.map(|p| p.display().to_string()),
                "reason": {
                    "code": error.code(),
                    "slsa_verifier_error": error.upstream_name(),
                    "message": error.to_string(),
                },
            })
        ),
        OutputFormat::Text => {
            if let Some(path) = artifact {
                eprintln!("Verifying artifact {}: FAILED: {error}", path.display());
            }
            eprintln!(
                "FAILED: SLSA verification failed: {error} [{}, {}]",
                error.code(),
                error.upstream_name()
            );
        }
    }
    ExitCode::from(status)
}

/// Findings printed in text mode; `--output json` has them all (up to the
/// report's own bound).
const TEXT_FINDINGS: usize = 20;

/// Print an SBOM validation report and return exit status 0 when the
/// document is valid (and NTIA-conformant when required), 1 otherwise.
pub fn sbom_report(
    format: OutputFormat,
    report: &verify_core::sbom::SbomReport,
    require_ntia: bool,
) -> ExitCode {
    let ok = report.is_valid() && (!require_ntia || report.ntia.conformant);
    match format {
        OutputFormat::Json => println!(
            "{}",
            serde_json::json!({
                "verified": ok,
                "fips": verify_core::fips::status(),
                "valid": report.is_valid(),
                "ntia_required": require_ntia,
                "report": report,
            })
        ),
        OutputFormat::Text => {
            eprintln!(
                "SBOM {} ({}{}): {} packages, {} files, {} relationships",
                report.name.as_deref().unwrap_or("(unnamed)"),
                report.spdx_version,
                if report.in_toto_statement {
                    ", in an in-toto statement"
                } else {
                    ""
                },
                report.packages,
                report.files,
                report.relationships
            );
            if let Some(ns) = &report.document_namespace {
                eprintln!("  namespace {ns}");
            }
            eprintln!(
                "  created {} by {}",
                report.created.as_deref().unwrap_or("(unknown)"),
                if report.creators.is_empty() {
                    "(nobody)".to_string()
                } else {
                    report.creators.join("; ")
                }
            );
            for f in report.findings.iter().take(TEXT_FINDINGS) {
                let severity = match f.severity {
                    verify_core::sbom::Severity::Error => "error",
                    verify_core::sbom::Severity::Warning => "warning",
                };
                eprintln!("{severity} {}: {} [{}]", f.path, f.message, f.rule);
            }
            let total = report.errors + report.warnings;
            if total > TEXT_FINDINGS {
                eprintln!(
                    "... and {} more (--output json lists up to {})",
                    total - TEXT_FINDINGS,
                    verify_core::sbom::validate::MAX_FINDINGS
                );
            }
            eprintln!(
                "NTIA minimum elements: {}",
                if report.ntia.conformant {
                    "all present"
                } else {
                    "not all present"
                }
            );
            for e in &report.ntia.elements {
                if e.satisfied {
                    eprintln!("  ok      {}", e.element);
                } else {
                    eprintln!(
                        "  missing {}: {} (e.g. {})",
                        e.element,
                        e.missing,
                        e.examples.join(", ")
                    );
                }
            }
            let verdict = if report.is_valid() {
                format!("Valid SPDX ({} warnings)", report.warnings)
            } else {
                format!(
                    "Invalid SPDX: {} errors, {} warnings",
                    report.errors, report.warnings
                )
            };
            if require_ntia && !report.ntia.conformant {
                eprintln!("{verdict}; NTIA minimum elements required but not all present");
            } else {
                eprintln!("{verdict}");
            }
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILED)
    }
}

/// The SBOM could not be read: print why and return exit status 1 (2 when
/// the file is unreadable).
pub fn sbom_failure(format: OutputFormat, error: &verify_core::sbom::SbomError) -> ExitCode {
    let status = if error.is_input_error() {
        EXIT_USAGE
    } else {
        EXIT_FAILED
    };
    report(format, error.code(), &error.to_string());
    ExitCode::from(status)
}

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

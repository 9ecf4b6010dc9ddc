//! `verify`: supply-chain verification for CI.
//!
//! Exit status: 0 verified, 1 verification failed, 2 usage error or
//! unreadable input. The CLI is thin: it parses flags, reads files (bounded)
//! and prints; every check lives in `verify-core`.

#![forbid(unsafe_code)]

mod artifact;
mod blob;
mod cli;
mod github_attestation;
mod image;
mod image_output;
mod in_index;
mod output;
mod provenance;
mod sbom;
mod trust;
mod vsa;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match cli.command {
        cli::Command::Blob(args) => blob::run(&args),
        cli::Command::Image(args) => image::run_signatures(&args),
        cli::Command::Attestation(args) => image::run_attestations(&args),
        cli::Command::Artifact(args) => artifact::run(&args),
        cli::Command::Sbom(args) => sbom::run(&args),
        cli::Command::Provenance(args) => provenance::run(&args),
        cli::Command::BuildkitProvenance(args) => in_index::run_provenance(&args),
        cli::Command::Vsa(args) => vsa::run(&args),
        cli::Command::GithubAttestation(args) => github_attestation::run(&args),
    }
}

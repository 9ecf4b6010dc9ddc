//! `verify`: supply-chain verification for CI.
//!
//! Exit status: 0 verified, 1 verification failed, 2 usage error or
//! unreadable input. The CLI is thin: it parses flags, reads files (bounded)
//! and prints; every check lives in `verify-core`.

#![forbid(unsafe_code)]

mod artifact;
mod blob;
mod cli;
mod flux_audit;
mod github_attestation;
mod image;
mod image_output;
mod in_index;
mod initialize;
mod npm_keys;
mod npm_package;
mod output;
mod provenance;
mod sbom;
mod trust;
mod vsa;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

fn main() -> ExitCode {
    // `--version`: `verify <version>`, then `fips: on (<module>)` or
    // `fips: off`.
    let version = format!(
        "{}\nfips: {}",
        env!("CARGO_PKG_VERSION"),
        verify_core::fips::status()
    );
    // clap takes a `&'static str` (no `string` feature): leaked once, here.
    let version: &'static str = Box::leak(version.into_boxed_str());
    let matches = cli::Cli::command()
        .version(version)
        .long_version(version)
        .get_matches();
    let cli = match cli::Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    // The FIPS build refuses to start unless the module is in FIPS mode.
    if let Err(e) = verify_core::fips::check_mode() {
        eprintln!("Error: {e} [{}]", e.code());
        return ExitCode::from(output::EXIT_USAGE);
    }
    match cli.command {
        // Offline by construction: no runtime, no TLS.
        cli::Command::Blob(args) => blob::run(&args),
        cli::Command::Image(args) => net(image::run_signatures(&args)),
        cli::Command::Attestation(args) => net(image::run_attestations(&args)),
        cli::Command::Artifact(args) => net(artifact::run(&args)),
        // `sbom --file` is offline; `sbom IMAGE --platform` calls `net`.
        cli::Command::Sbom(args) => sbom::run(&args),
        cli::Command::Provenance(args) => net(provenance::run(&args)),
        cli::Command::BuildkitProvenance(args) => net(in_index::run_provenance(&args)),
        // Builds its own runtime; with --offline it touches no network.
        cli::Command::Initialize(args) => initialize::run(&args),
        // Offline unless --verify-images (which calls `net`).
        cli::Command::FluxAudit(args) => flux_audit::run(&args),
        // Offline: key-signed VSAs; bundles carrying their own log entries.
        cli::Command::Vsa(args) => vsa::run(&args),
        cli::Command::GithubAttestation(args) => github_attestation::run(&args),
        cli::Command::NpmPackage(args) => npm_package::run(&args),
    }
}

/// Run a command that may touch the network on the process's one runtime,
/// created here and only for such commands (the libraries create none). A
/// single thread: the CLI verifies one image at a time, and the CPU-bound
/// checks run inline between reads.
pub(crate) fn net(command: impl std::future::Future<Output = ExitCode>) -> ExitCode {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(command),
        Err(e) => {
            eprintln!("Error: cannot start the I/O runtime: {e}");
            ExitCode::from(output::EXIT_USAGE)
        }
    }
}

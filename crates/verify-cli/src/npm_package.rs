//! `verify npm-package`: an npm tarball against npm's attestations
//! (slsa-verifier's `verify-npm-package`, same flags, no experimental
//! switch).
//!
//! `--source-branch`, `--source-tag`, `--source-versioned-tag` and
//! `--print-provenance` are accepted by the parser and refused, with
//! slsa-verifier's message (`--source-tag not supported`). npm's registry
//! keys come from `--npm-registry-keys FILE` (Sigstore's TUF target
//! `registry.npmjs.org/keys.json`, or `https://registry.npmjs.org/-/npm/v1/keys`),
//! else from that TUF target in the cache `verify initialize` filled,
//! verified again (see [`crate::npm_keys`]); without either the command
//! fails closed. Offline: both bundles carry their Rekor entries.

use std::fs::File;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use serde::Serialize;
use verify_core::bundle::{read_bounded, ReadError};
use verify_core::slsa::npm_package::{
    verify_npm_package, NpmPackageOptions, NpmPackageRequest, VerifiedNpmPackage,
};
use verify_core::slsa::{FileDigests, SlsaError};
use verify_core::Limits;

use crate::cli::OutputFormat;
use crate::output;

#[derive(Args, Debug)]
pub struct NpmPackageArgs {
    /// npm's attestations for the package (the registry's
    /// /-/npm/v1/attestations/NAME@VERSION response).
    #[arg(long, value_name = "FILE")]
    pub attestations_path: PathBuf,
    /// The package name expected, e.g. @scope/name.
    #[arg(long, value_name = "NAME")]
    pub package_name: String,
    /// The package version expected.
    #[arg(long, value_name = "VERSION")]
    pub package_version: String,
    /// The source repository expected, e.g. github.com/owner/repo.
    #[arg(long, value_name = "URI")]
    pub source_uri: String,
    /// The builder: https://github.com/actions/runner/github-hosted (npm CLI)
    /// or the builder a BYOB delegator ran, NAME[@VERSION].
    #[arg(long, value_name = "ID")]
    pub builder_id: String,
    /// A workflow_dispatch input the build must have had (repeatable).
    #[arg(long, value_name = "KEY=VALUE", value_parser = crate::cli::parse_workflow_input)]
    pub build_workflow_input: Vec<(String, String)>,
    /// npm's registry public keys (Sigstore's registry.npmjs.org/keys.json
    /// TUF target, or registry.npmjs.org/-/npm/v1/keys). Default: that TUF
    /// target from the cache `verify initialize` filled, verified again.
    #[arg(long, value_name = "FILE")]
    pub npm_registry_keys: Option<PathBuf>,
    /// Sigstore trusted_root.json to trust (default: the built-in public-good root).
    #[arg(long, value_name = "FILE", env = "SIGSTORE_ROOT_FILE")]
    pub trusted_root: Option<PathBuf>,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value = "text")]
    pub output: OutputFormat,
    /// Refused, as by slsa-verifier for npm packages.
    #[arg(long, value_name = "BRANCH", hide = true)]
    pub source_branch: Option<String>,
    /// Refused, as by slsa-verifier for npm packages.
    #[arg(long, value_name = "TAG", hide = true)]
    pub source_tag: Option<String>,
    /// Refused, as by slsa-verifier for npm packages.
    #[arg(long, value_name = "VERSION", hide = true)]
    pub source_versioned_tag: Option<String>,
    /// Refused, as by slsa-verifier for npm packages.
    #[arg(long, hide = true)]
    pub print_provenance: bool,
    /// The package tarball.
    #[arg(value_name = "TARBALL")]
    pub tarball: PathBuf,
}

#[derive(Serialize)]
struct Package<'a> {
    path: String,
    #[serde(flatten)]
    verified: &'a VerifiedNpmPackage,
}

/// slsa-verifier's refusal of a flag given to this command.
fn refused(args: &NpmPackageArgs) -> Option<&'static str> {
    [
        (args.source_branch.is_some(), "--source-branch"),
        (args.source_tag.is_some(), "--source-tag"),
        (
            args.source_versioned_tag.is_some(),
            "--source-versioned-tag",
        ),
        (args.print_provenance, "--print-provenance"),
    ]
    .into_iter()
    .find_map(|(given, flag)| given.then_some(flag))
}

pub fn run(args: &NpmPackageArgs) -> ExitCode {
    let format = args.output;
    if let Some(flag) = refused(args) {
        return output::usage(format, &format!("{flag} not supported"));
    }
    let limits = Limits::default();
    let verifier = match crate::trust::load_verifier(args.trusted_root.as_deref(), &limits) {
        Ok(v) => v,
        Err(e) => return output::usage(format, &e.to_string()),
    };
    let (keys, keys_source) = match crate::npm_keys::load(args.npm_registry_keys.as_deref()) {
        Ok(k) => k,
        Err(e) => {
            let status = if e.is_input_error() {
                output::EXIT_USAGE
            } else {
                output::EXIT_FAILED
            };
            return output::coded_failure(format, e.code(), &e.to_string(), status);
        }
    };
    let attestations = match read_bounded(&args.attestations_path, 2 * limits.max_bundle_bytes) {
        Ok(bytes) => bytes,
        Err(ReadError::Io(e)) => {
            return output::usage(
                format,
                &format!(
                    "cannot read --attestations-path {}: {e}",
                    args.attestations_path.display()
                ),
            )
        }
        Err(ReadError::TooLarge { limit, found }) => {
            return output::slsa_failure(format, None, &SlsaError::TooLarge { limit, found })
        }
    };
    let digests = match File::open(&args.tarball).and_then(FileDigests::of_reader) {
        Ok(d) => d,
        Err(e) => {
            return output::usage(
                format,
                &format!("cannot read tarball {}: {e}", args.tarball.display()),
            )
        }
    };
    let options = NpmPackageOptions {
        source_uri: args.source_uri.clone(),
        builder_id: Some(args.builder_id.clone()),
        package_name: Some(args.package_name.clone()),
        package_version: Some(args.package_version.clone()),
        // Later keys overwrite earlier ones, as with slsa-verifier.
        workflow_inputs: args.build_workflow_input.iter().cloned().collect(),
    };
    let request = NpmPackageRequest {
        attestations: &attestations,
        digests: &digests,
        options: &options,
        keys: &keys,
    };
    match verify_npm_package(&verifier, &request) {
        Ok(v) => {
            match format {
                OutputFormat::Json => println!(
                    "{}",
                    serde_json::json!({
                        "verified": true,
                        "trust_root_source": crate::trust::source(),
                        "npm_registry_keys_source": keys_source.as_str(),
                        "package": Package {
                            path: args.tarball.display().to_string(),
                            verified: &v,
                        },
                    })
                ),
                OutputFormat::Text => {
                    eprintln!(
                        "Verified build using builder {:?} at commit {}",
                        v.build.builder_id, v.build.source_commit
                    );
                    eprintln!("Verifying npm package {}: PASSED", args.tarball.display());
                    eprintln!("PASSED: SLSA verification passed");
                }
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            if format == OutputFormat::Text {
                eprintln!(
                    "Verifying npm package {}: FAILED: {e}",
                    args.tarball.display()
                );
            }
            let json = format == OutputFormat::Json;
            output::slsa_failure(format, json.then_some(args.tarball.as_path()), &e)
        }
    }
}

//! `verify-admission`: the admission webhook and its offline commands.

#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};
use verify_admission::cli::{Cli, Command};

fn main() -> ExitCode {
    // `--version`: `verify-admission <version>`, then `fips: on (<module>)`
    // or `fips: off`.
    let version = format!(
        "{}\nfips: {}",
        env!("CARGO_PKG_VERSION"),
        verify_core::fips::status()
    );
    // clap takes a `&'static str` (no `string` feature): leaked once, here.
    let version: &'static str = Box::leak(version.into_boxed_str());
    let matches = Cli::command()
        .version(version)
        .long_version(version)
        .get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    // The FIPS build refuses to start unless the module is in FIPS mode.
    if let Err(e) = verify_core::fips::check_mode() {
        eprintln!("verify-admission: {e} [{}]", e.code());
        return ExitCode::from(2);
    }
    let json = matches!(cli.command, Command::Serve(_) | Command::Api(_));
    let filter = tracing_subscriber::EnvFilter::try_from_env("VERIFY_ADMISSION_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .init();
    } else {
        builder.with_target(false).without_time().init();
    }
    // One process-wide crypto provider, for every rustls user (the TLS
    // server, the Kubernetes client).
    // In the FIPS build (`rustls/fips`) it has only FIPS cipher suites and
    // key exchanges, and must say so.
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    if verify_core::fips::ENABLED && !provider.fips() {
        eprintln!("verify-admission: the TLS provider is not in FIPS mode [fips-mode-off]");
        return ExitCode::from(2);
    }
    let _ = provider.install_default();
    if let Command::Lint(args) = &cli.command {
        return verify_admission::review::lint(args);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("verify-admission")
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("verify-admission: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match cli.command {
        Command::Serve(args) => match runtime.block_on(verify_admission::server::run(*args)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                tracing::error!(error = %e, "cannot serve");
                ExitCode::from(2)
            }
        },
        Command::Review(args) => runtime.block_on(verify_admission::review::review(args)),
        Command::Api(args) => match runtime.block_on(verify_admission::api_mode::run(args)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                tracing::error!(error = %e, "cannot serve the verify API");
                ExitCode::from(2)
            }
        },
        Command::Lint(_) => ExitCode::SUCCESS,
    }
}

//! `verify-admission`: the admission webhook and its offline commands.

#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;
use verify_admission::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
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
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
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

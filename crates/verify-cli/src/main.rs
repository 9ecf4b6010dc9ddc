//! `verify`: supply-chain verification for CI.
//!
//! Exit status: 0 verified, 1 verification failed, 2 usage error or
//! unreadable input. The CLI is thin: it parses flags, reads files (bounded)
//! and prints; every check lives in `verify-core`.

#![forbid(unsafe_code)]

mod blob;
mod cli;
mod output;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match cli.command {
        cli::Command::Blob(args) => blob::run(&args),
    }
}

//! A test server for the HTTPS verify API (what `verify-admission api`
//! will run): serves [`verify_api::server::serve_api`] on a loopback port
//! and prints `listening on ADDR` once it accepts connections.
//!
//! `verify-api-server --config ENGINE.json --cert CERT.pem --key KEY.pem
//! --client-ca CA.pem [--addr 127.0.0.1:0]`; stops when stdin closes.

#![forbid(unsafe_code)]

use std::io::Write;
use std::path::PathBuf;

use clap::Parser;
use verify_api::server::{serve_api, ServerOptions, ServerTls};
use verify_api::Engine;

#[derive(Parser)]
struct Args {
    /// The engine's JSON configuration.
    #[arg(long)]
    config: PathBuf,
    /// The server's certificate chain (PEM).
    #[arg(long)]
    cert: PathBuf,
    /// The server's key (PEM).
    #[arg(long)]
    key: PathBuf,
    /// The CA client certificates must chain to (PEM).
    #[arg(long)]
    client_ca: PathBuf,
    /// Where to listen.
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: String,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let engine = Engine::from_json(&std::fs::read(&args.config)?)?;
    let tls = ServerTls {
        cert_chain_pem: std::fs::read(&args.cert)?,
        key_pem: std::fs::read(&args.key)?,
        client_ca_pem: std::fs::read(&args.client_ca)?,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&args.addr).await?;
        println!("listening on {}", listener.local_addr()?);
        std::io::stdout().flush()?;
        // Stop when the parent closes our stdin (or dies).
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
            let _ = tx.send(());
        });
        serve_api(listener, engine, tls, ServerOptions::default(), async {
            let _ = rx.await;
        })
        .await?;
        Ok::<_, Box<dyn std::error::Error>>(())
    })
}

//! `verify-admission api`: the HTTPS verify API for Go controllers built
//! with `CGO_ENABLED=0`, served by [`verify_api::server::serve_api`].
//!
//! A mode of its own, run as a separate Deployment (`deploy/verify-api/`):
//! controller load must never slow admission, whose failure policy is Fail.
//! Every call needs a client certificate chaining to `--client-ca`; the
//! engine holds no registry credentials (callers send theirs per call) and
//! refuses to start without a registry allowlist.

use std::time::Duration;

use verify_api::server::{serve_api, ServerOptions, ServerTls};
use verify_api::Engine;

use crate::cli::VerifyApiArgs;

/// Largest configuration or PEM file read.
const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// Why the API could not be served.
#[derive(Debug, thiserror::Error)]
pub enum ApiModeError {
    /// A file could not be read, or is larger than 1 MiB.
    #[error("{path}: {detail}")]
    File {
        /// The file.
        path: String,
        /// Why.
        detail: String,
    },
    /// The engine configuration is invalid.
    #[error("--config: {0}")]
    Config(String),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {detail}")]
    Listen {
        /// The address.
        addr: String,
        /// Why.
        detail: String,
    },
    /// The server stopped with an error.
    #[error("{0}")]
    Serve(String),
}

async fn read(path: &std::path::Path) -> Result<Vec<u8>, ApiModeError> {
    let err = |detail: String| ApiModeError::File {
        path: path.display().to_string(),
        detail,
    };
    let meta = tokio::fs::metadata(path)
        .await
        .map_err(|e| err(e.to_string()))?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(err(format!("larger than {MAX_FILE_BYTES} bytes")));
    }
    tokio::fs::read(path).await.map_err(|e| err(e.to_string()))
}

/// Serve until SIGTERM or Ctrl-C.
pub async fn run(args: VerifyApiArgs) -> Result<(), ApiModeError> {
    let engine = Engine::from_json(&read(&args.config).await?)
        .map_err(|e| ApiModeError::Config(e.to_string()))?;
    let tls = ServerTls {
        cert_chain_pem: read(&args.cert).await?,
        key_pem: read(&args.key).await?,
        client_ca_pem: read(&args.client_ca).await?,
    };
    let listener = tokio::net::TcpListener::bind(&args.addr)
        .await
        .map_err(|e| ApiModeError::Listen {
            addr: args.addr.clone(),
            detail: e.to_string(),
        })?;
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "verify API listening (mTLS)");
    }
    serve_api(listener, engine, tls, ServerOptions::default(), shutdown())
        .await
        .map_err(|e| ApiModeError::Serve(e.to_string()))
}

/// SIGTERM (the kubelet's stop) or Ctrl-C; then a short grace period is
/// left to the server's own connection handling.
async fn shutdown() {
    let term = async {
        #[cfg(unix)]
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
            return;
        }
        std::future::pending::<()>().await
    };
    tokio::select! {
        _ = term => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
}

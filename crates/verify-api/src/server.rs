//! The HTTPS verify API, for controllers built without cgo.
//!
//! `POST /v1/verify/image` and `POST /v1/verify/artifact` take the same JSON
//! as the C ABI's `verify_image` / `verify_artifact` and answer with the
//! same JSON. Status: `200` for a verdict (`"verified": true` or `false`
//! with the core's reason), `400` for an unusable request (or a registry
//! not on the allowlist), `413` for a body over the limit, `504` when the
//! call's deadline passed, `503`/`500` otherwise. The deadline is the
//! `X-Verify-Timeout-Ms` header's, capped by [`ServerOptions::max_call`].
//!
//! The API is not open to the cluster: TLS 1.2+ with a client certificate
//! required, verified against the configured client CA (rustls'
//! `WebPkiClientVerifier`); a client without one fails the handshake. The
//! server holds no registry credentials (callers send theirs per request)
//! and refuses to start without a registry allowlist, so it cannot be used
//! to fetch from anywhere with anyone's rights. Bodies, handshakes, header
//! reads and connections are bounded.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{self, RootCertStore, ServerConfig};
use tokio_rustls::TlsAcceptor;

use crate::report::ApiError;
use crate::Engine;

/// The server's TLS material (PEM).
pub struct ServerTls {
    /// The server's certificate chain, leaf first.
    pub cert_chain_pem: Vec<u8>,
    /// The server's private key.
    pub key_pem: Vec<u8>,
    /// The CA(s) client certificates must chain to.
    pub client_ca_pem: Vec<u8>,
}

/// Bounds.
#[derive(Debug, Clone, Copy)]
pub struct ServerOptions {
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
    /// Longest deadline a caller may ask for (and the default).
    pub max_call: Duration,
    /// Connections served at once; more wait to be accepted.
    pub max_connections: usize,
    /// Time allowed for a TLS handshake and for reading a request's headers.
    pub handshake: Duration,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            max_call: Duration::from_secs(60),
            max_connections: 1024,
            handshake: Duration::from_secs(10),
        }
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The TLS material is unusable.
    #[error("TLS: {detail}")]
    Tls {
        /// Why.
        detail: String,
    },
    /// The engine has no registry allowlist.
    #[error("the verify API needs a registry allowlist (registry.allowed in the engine config)")]
    NoAllowlist,
}

/// The rustls configuration: the server's certificate, client
/// certificates required and verified against `client_ca_pem`.
pub fn tls_config(tls: &ServerTls) -> Result<ServerConfig, ServerError> {
    let bad = |what: &str, e: &dyn std::fmt::Display| ServerError::Tls {
        detail: format!("{what}: {e}"),
    };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&tls.cert_chain_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| bad("server certificate", &e))?;
    if chain.is_empty() {
        return Err(bad("server certificate", &"no PEM certificate"));
    }
    let key = PrivateKeyDer::from_pem_slice(&tls.key_pem).map_err(|e| bad("server key", &e))?;
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&tls.client_ca_pem) {
        let cert = cert.map_err(|e| bad("client CA", &e))?;
        roots.add(cert).map_err(|e| bad("client CA", &e))?;
    }
    if roots.is_empty() {
        return Err(bad("client CA", &"no PEM certificate"));
    }
    let verifier =
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
            .build()
            .map_err(|e| bad("client verifier", &e))?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad("protocol versions", &e))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| bad("server certificate", &e))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Serve the API on `listener` until `shutdown` completes.
pub async fn serve_api(
    listener: TcpListener,
    engine: Engine,
    tls: ServerTls,
    options: ServerOptions,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServerError> {
    if !engine.has_allowlist() {
        return Err(ServerError::NoAllowlist);
    }
    let acceptor = TlsAcceptor::from(Arc::new(tls_config(&tls)?));
    let connections = Arc::new(Semaphore::new(options.max_connections.max(1)));
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            _ = &mut shutdown => return Ok(()),
            p = Arc::clone(&connections).acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => return Ok(()),
            },
        };
        let (stream, _) = tokio::select! {
            _ = &mut shutdown => return Ok(()),
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                // A failed accept (e.g. too many open files) is not fatal.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let acceptor = acceptor.clone();
        let engine = engine.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let Ok(Ok(tls)) =
                tokio::time::timeout(options.handshake, acceptor.accept(stream)).await
            else {
                // No client certificate, an untrusted one, or a stalled
                // handshake: the connection is dropped.
                return;
            };
            let service = hyper::service::service_fn(move |req| {
                let engine = engine.clone();
                async move { Ok::<_, Infallible>(handle(&engine, req, &options).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(options.handshake)
                .serve_connection(TokioIo::new(tls), service)
                .await;
        });
    }
}

async fn handle(
    engine: &Engine,
    req: Request<Incoming>,
    options: &ServerOptions,
) -> Response<Full<Bytes>> {
    let image = match (req.method(), req.uri().path()) {
        (&Method::POST, "/v1/verify/image") => true,
        (&Method::POST, "/v1/verify/artifact") => false,
        (_, "/v1/verify/image" | "/v1/verify/artifact") => {
            return reply(
                StatusCode::METHOD_NOT_ALLOWED,
                &ApiError::request("use POST").to_json(),
            )
        }
        _ => {
            return reply(
                StatusCode::NOT_FOUND,
                &ApiError::request("no such endpoint").to_json(),
            )
        }
    };
    let deadline = req
        .headers()
        .get("x-verify-timeout-ms")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .map(Duration::from_millis)
        .map_or(options.max_call, |d| d.min(options.max_call));
    let limit = options.max_body_bytes.min(engine.max_request_bytes());
    let body = match Limited::new(req.into_body(), limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            let error = ApiError::request(format!("request body: {e}"));
            let status = if e
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                StatusCode::PAYLOAD_TOO_LARGE
            } else {
                StatusCode::BAD_REQUEST
            };
            return reply(status, &error.to_json());
        }
    };
    let outcome = if image {
        match engine.parse_image_request(&body) {
            Ok(request) => engine
                .verify_image(request, deadline)
                .await
                .map(|r| r.to_json()),
            Err(e) => Err(e),
        }
    } else {
        match engine.parse_artifact_request(&body) {
            Ok(request) => engine
                .verify_artifact(request, deadline)
                .await
                .map(|r| r.to_json()),
            Err(e) => Err(e),
        }
    };
    match outcome {
        Ok(json) => reply(StatusCode::OK, &json),
        Err(e) => reply(status_of(&e), &e.to_json()),
    }
}

/// The HTTP status of an error answer.
fn status_of(error: &ApiError) -> StatusCode {
    match error {
        e if e.is_input_error() => StatusCode::BAD_REQUEST,
        ApiError::DeadlineExceeded { .. } => StatusCode::GATEWAY_TIMEOUT,
        ApiError::Unavailable { .. } | ApiError::Cancelled => StatusCode::SERVICE_UNAVAILABLE,
        ApiError::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        // A verdict: the evidence did not verify.
        _ => StatusCode::OK,
    }
}

fn reply(status: StatusCode, json: &serde_json::Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(json.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

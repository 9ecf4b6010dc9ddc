//! The HTTP endpoints and the state they share.
//!
//! | endpoint | what |
//! |---|---|
//! | `POST /validate` | ValidatingAdmissionWebhook |
//! | `POST /mutate` | MutatingAdmissionWebhook (tags to digests) |
//! | `GET /healthz` | the process answers |
//! | `GET /readyz` | policies and trust roots are loaded; names the policy hash |
//! | `GET /metrics` | Prometheus text format (unless `--metrics-listen` moves it) |

mod handlers;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};

use crate::metrics::Metrics;
use crate::pull_secrets::PullSecrets;
use crate::verify::Engine;

/// Largest AdmissionReview body accepted (an UPDATE carries object and
/// oldObject, each up to the API server's 1.5 MiB).
pub const MAX_BODY: usize = 8 * 1024 * 1024;

/// What every request handler shares.
pub struct AppState {
    /// The checks; `None` for the benchmark's no-op server.
    pub engine: Option<Arc<Engine>>,
    /// Tenants' pull secrets.
    pub pull_secrets: PullSecrets,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Every request is answered within this.
    pub budget: Duration,
    /// Whether `/metrics` is served on this listener.
    pub metrics_here: bool,
}

/// The response body type.
pub type Body = Full<Bytes>;

/// Route one request.
pub async fn route(
    state: Arc<AppState>,
    request: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let path = request.uri().path().to_string();
    let response = match (request.method(), path.as_str()) {
        (&Method::POST, "/validate") => handlers::admission(state, request, false).await,
        (&Method::POST, "/mutate") => handlers::admission(state, request, true).await,
        (&Method::GET, "/healthz") => text(StatusCode::OK, "ok\n"),
        (&Method::GET, "/readyz") => handlers::readyz(&state),
        (&Method::GET, "/metrics") if state.metrics_here => handlers::metrics(&state),
        (_, "/validate" | "/mutate" | "/healthz" | "/readyz") => {
            text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n")
        }
        _ => text(StatusCode::NOT_FOUND, "not found\n"),
    };
    Ok(response)
}

/// Route the plain-HTTP metrics listener.
pub async fn route_metrics(
    state: Arc<AppState>,
    request: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    Ok(match (request.method(), request.uri().path()) {
        (&Method::GET, "/metrics") => handlers::metrics(&state),
        (&Method::GET, "/healthz") => text(StatusCode::OK, "ok\n"),
        _ => text(StatusCode::NOT_FOUND, "not found\n"),
    })
}

pub(crate) fn text(status: StatusCode, body: impl Into<String>) -> Response<Body> {
    respond(
        status,
        "text/plain; charset=utf-8",
        body.into().into_bytes(),
    )
}

pub(crate) fn respond(status: StatusCode, content_type: &str, body: Vec<u8>) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    if let Ok(v) = content_type.parse() {
        response
            .headers_mut()
            .insert(hyper::header::CONTENT_TYPE, v);
    }
    response
}

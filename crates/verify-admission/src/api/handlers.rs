//! `/validate`, `/mutate`, `/readyz`, `/metrics`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use kube::core::admission::{AdmissionRequest, AdmissionResponse, Operation};
use kube::core::DynamicObject;
use serde_json::{json, Value};

use super::{respond, text, AppState, Body, MAX_BODY};
use crate::admission::{self, Plan};
use crate::pull_secrets::TenantCredentials;
use crate::verify::ImageCheck;
use crate::{decision, mutate};

/// Time kept back from the budget for writing the answer.
const ANSWER_MARGIN: Duration = Duration::from_millis(25);

pub(super) async fn admission(
    state: Arc<AppState>,
    request: Request<Incoming>,
    mutating: bool,
) -> Response<Body> {
    let started = Instant::now();
    let endpoint = if mutating { "mutate" } else { "validate" };
    let deadline = started
        + state
            .budget
            .saturating_sub(ANSWER_MARGIN)
            .max(ANSWER_MARGIN);
    let body = match read_body(request, deadline).await {
        Ok(b) => b,
        Err(response) => {
            state
                .metrics
                .request(endpoint, "", "bad-request", started.elapsed());
            return response;
        }
    };
    let review = match admission::parse(&body) {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(endpoint, error = %e, "malformed AdmissionReview");
            state
                .metrics
                .request(endpoint, "", "bad-request", started.elapsed());
            return text(StatusCode::BAD_REQUEST, format!("{e}\n"));
        }
    };
    let (response, log) = decide(&state, &review, mutating, deadline).await;
    let response = match &state.engine {
        Some(engine) if !mutating => {
            crate::flux_audit::apply(engine.config.flux_audit.as_deref(), &review, response)
        }
        _ => response,
    };
    let took = started.elapsed();
    let decision = match (&response.allowed, &response.patch) {
        (false, _) => "denied",
        (true, Some(_)) => "patched",
        (true, None) if response.warnings.is_some() => "warned",
        (true, None) => "admitted",
    };
    state
        .metrics
        .request(endpoint, &review.kind.kind, decision, took);
    log.emit(&review, endpoint, decision, took, &response);
    respond(StatusCode::OK, "application/json", encode(response))
}

/// The AdmissionReview JSON for `response`. kube's `AdmissionResponse`
/// serialises `patch` (`Vec<u8>`) as an array of numbers; the API server
/// reads it as Go's `[]byte`, a base64 string, so it is written that way
/// here.
pub(crate) fn encode(response: AdmissionResponse) -> Vec<u8> {
    use base64::Engine as _;
    let patch = response.patch.clone();
    let mut review = serde_json::to_value(response.into_review()).unwrap_or_default();
    if let (Some(patch), Some(slot)) = (patch, review.pointer_mut("/response/patch")) {
        *slot = serde_json::Value::String(base64::engine::general_purpose::STANDARD.encode(patch));
    }
    serde_json::to_vec(&review).unwrap_or_default()
}

/// Most bytes of an oversized body read (and discarded) before answering
/// 413, so that a client still sending sees the answer rather than a reset.
const MAX_DRAIN: u64 = 4 * MAX_BODY as u64;

async fn read_body(
    request: Request<Incoming>,
    deadline: Instant,
) -> Result<Vec<u8>, Response<Body>> {
    let too_large = || {
        text(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is larger than {MAX_BODY} bytes\n"),
        )
    };
    let announced = request
        .headers()
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|len| len > MAX_DRAIN) {
        return Err(too_large());
    }
    let mut body = request.into_body();
    let read = async {
        let mut out = Vec::new();
        let mut seen: u64 = 0;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| {
                text(
                    StatusCode::BAD_REQUEST,
                    format!("cannot read the body: {e}\n"),
                )
            })?;
            let Ok(data) = frame.into_data() else {
                continue;
            };
            seen += data.len() as u64;
            if seen > MAX_DRAIN {
                return Err(too_large());
            }
            if seen <= MAX_BODY as u64 {
                out.extend_from_slice(&data);
            }
        }
        if seen > MAX_BODY as u64 {
            return Err(too_large());
        }
        Ok(out)
    };
    match tokio::time::timeout_at(deadline.into(), read).await {
        Ok(result) => result,
        Err(_) => Err(text(
            StatusCode::REQUEST_TIMEOUT,
            "the body did not arrive within the budget\n",
        )),
    }
}

/// What the decision log line says besides the response.
#[derive(Default)]
struct Log {
    skip: Option<&'static str>,
    checks: Vec<ImageCheck>,
    policy_hash: String,
    error: Option<String>,
}

impl Log {
    fn emit(
        &self,
        review: &AdmissionRequest<DynamicObject>,
        endpoint: &str,
        decision: &str,
        took: Duration,
        response: &AdmissionResponse,
    ) {
        let images: Vec<_> = self
            .checks
            .iter()
            .map(|c| json!({"image": c.image.image, "digest": c.digest, "allowed": c.allowed, "cache": c.cache}))
            .collect();
        let reasons: Vec<&str> = if response.allowed {
            Vec::new()
        } else {
            response.result.message.lines().collect()
        };
        let cache_hit = !self.checks.is_empty()
            && self
                .checks
                .iter()
                .all(|c| matches!(c.cache, crate::cache::CacheStatus::Hit));
        let name = review
            .object
            .as_ref()
            .and_then(|o| o.metadata.name.clone())
            .unwrap_or_else(|| review.name.clone());
        tracing::info!(
            event = "decision",
            endpoint,
            uid = %review.uid,
            namespace = review.namespace.as_deref().unwrap_or(""),
            kind = %review.kind.kind,
            name = %name,
            operation = ?review.operation,
            dry_run = review.dry_run,
            decision,
            skip = self.skip.unwrap_or(""),
            images = %serde_json::Value::Array(images),
            reasons = ?reasons,
            warnings = ?response.warnings.as_deref().unwrap_or_default(),
            error = self.error.as_deref().unwrap_or(""),
            duration_ms = took.as_secs_f64() * 1000.0,
            cache_hit,
            policy_hash = %self.policy_hash,
        );
    }
}

async fn decide(
    state: &AppState,
    review: &AdmissionRequest<DynamicObject>,
    mutating: bool,
    deadline: Instant,
) -> (AdmissionResponse, Log) {
    let response = AdmissionResponse::from(review);
    let mut log = Log::default();
    let Some(engine) = &state.engine else {
        log.skip = Some("noop");
        return (response, log);
    };
    let set = engine.policies.current();
    log.policy_hash = set.hash().to_string();
    let plan: Plan = match admission::plan(review) {
        Ok(p) => p,
        Err(e) => {
            log.error = Some(e.to_string());
            if mutating {
                return (response, log);
            }
            return (response.deny(format!("malformed-object: {e}")), log);
        }
    };
    if let Some(skip) = plan.skip {
        log.skip = Some(skip.as_str());
        return (response, log);
    }
    if mutating && (plan.operation != Operation::Create || plan.owned_by_deployment) {
        log.skip = Some(if plan.owned_by_deployment {
            "owned-by-deployment"
        } else {
            "not-create"
        });
        return (response, log);
    }
    let credentials = if state.pull_secrets.enabled() {
        // Out of time reading them: go on without (the registry decides).
        tokio::time::timeout_at(
            deadline.into(),
            state.pull_secrets.for_pod(&plan.namespace, &plan.pod_spec),
        )
        .await
        .unwrap_or_default()
    } else {
        TenantCredentials::default()
    };
    let checks = engine
        .check_all(&plan.images, Arc::new(credentials), deadline)
        .await;
    let response = if mutating {
        let patch = mutate::patch(&checks);
        if patch.0.is_empty() {
            response
        } else {
            match response.clone().with_patch(patch) {
                Ok(r) => r,
                Err(e) => {
                    log.error = Some(e.to_string());
                    response
                }
            }
        }
    } else {
        decision::validation(response, &checks, set.hash())
    };
    log.checks = checks;
    (response, log)
}

pub(super) fn readyz(state: &AppState) -> Response<Body> {
    let body = match &state.engine {
        Some(engine) => {
            let mut body = json!({
                "status": "ready",
                "policyHash": engine.policies.current().hash(),
                "fips": verify_core::fips::status(),
            });
            if let (Some(out), Value::Object(trust)) =
                (body.as_object_mut(), engine.trust.describe())
            {
                out.extend(trust);
            }
            body
        }
        None => json!({"status": "ready", "noop": true, "fips": verify_core::fips::status()}),
    };
    respond(
        StatusCode::OK,
        "application/json",
        body.to_string().into_bytes(),
    )
}

pub(super) fn metrics(state: &AppState) -> Response<Body> {
    respond(
        StatusCode::OK,
        "application/openmetrics-text; version=1.0.0; charset=utf-8",
        state.metrics.encode().into_bytes(),
    )
}

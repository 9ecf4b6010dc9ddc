//! Bounded, retried HTTP GETs and POSTs, async, on the caller's runtime.
//!
//! Every request has a per-attempt timeout, every response body is read
//! against a byte limit (a `Content-Length` over it is refused before
//! reading; a body that grows past it is cut off), and 429 / 5xx answers and
//! connection failures are retried with exponential backoff, honouring
//! `Retry-After` (seconds or an HTTP date) up to a cap, within an overall
//! deadline. A caller may also give a [`Deadline`] shared by many requests
//! (all those for one image): each attempt then waits at most what is left
//! of it, and no retry is started after it; a [`Budget`] adds a byte budget
//! shared the same way (every body read counts against it).
//!
//! This crate owns no runtime and spawns no task: every request is a future
//! driven by the caller, and dropping it cancels the request.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;
use reqwest::StatusCode;

use crate::observe::{Observe, RequestKind, RequestObserver, RequestOutcome};

/// Time bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Establishing a connection (TCP and TLS).
    pub connect: Duration,
    /// One request, from sending it to the last byte of the body.
    pub request: Duration,
    /// One operation, retries and backoff included.
    pub total: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(10),
            request: Duration::from_secs(30),
            total: Duration::from_secs(120),
        }
    }
}

/// How failed requests are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all (1: no retry).
    pub attempts: u32,
    /// First backoff; doubled after each attempt.
    pub base_delay: Duration,
    /// Longest wait between attempts, `Retry-After` included.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 4,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(20),
        }
    }
}

/// The end of the time allowed for a whole piece of work (one image's
/// verification), shared by all its requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    at: Instant,
    limit: Duration,
}

impl Deadline {
    /// A deadline `limit` from now.
    pub fn after(limit: Duration) -> Self {
        Self {
            at: Instant::now() + limit,
            limit,
        }
    }

    /// The time allowed in all.
    pub fn limit(&self) -> Duration {
        self.limit
    }

    /// The time left (zero once it has passed).
    pub fn remaining(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }

    pub(crate) fn expired(&self) -> bool {
        self.remaining().is_zero()
    }

    pub(crate) fn at(&self) -> Instant {
        self.at
    }

    pub(crate) fn error(&self) -> FetchError {
        FetchError::Deadline {
            seconds: self.limit.as_secs(),
        }
    }
}

/// What one verification may spend: one [`Deadline`] and one byte budget,
/// shared (cheap clones) by every request it makes — manifests, blobs,
/// referrers, token requests and transparency-log lookups. Bytes are counted
/// as they arrive, so a body is cut off the moment the budget runs out.
#[derive(Debug, Clone)]
pub struct Budget {
    deadline: Deadline,
    max_bytes: u64,
    left: Arc<AtomicU64>,
}

impl Budget {
    /// `limit` of time from now, and `max_bytes` of response bodies in all.
    pub fn new(limit: Duration, max_bytes: u64) -> Self {
        Self {
            deadline: Deadline::after(limit),
            max_bytes,
            left: Arc::new(AtomicU64::new(max_bytes)),
        }
    }

    /// The deadline.
    pub fn deadline(&self) -> Deadline {
        self.deadline
    }

    /// The byte budget in all.
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// Bytes not yet spent.
    pub fn bytes_left(&self) -> u64 {
        self.left.load(Ordering::Relaxed)
    }

    /// Spend `n` bytes; `false` (and nothing spent) when fewer are left.
    pub(crate) fn spend(&self, n: u64) -> bool {
        self.left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                left.checked_sub(n)
            })
            .is_ok()
    }
}

/// A response read in full (within the limit).
#[derive(Debug)]
pub(crate) struct Fetched {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// Why a request produced no response.
#[derive(Debug)]
pub(crate) enum FetchError {
    /// No answer in time (after retries).
    Timeout { seconds: u64 },
    /// The caller's [`Deadline`] passed.
    Deadline { seconds: u64 },
    /// The connection failed (after retries).
    Transport(String),
    /// The body is larger than the limit.
    TooLarge { limit: u64, found: u64 },
    /// Still 429/5xx after every retry.
    Exhausted { status: u16, detail: String },
    /// The server asked to wait (`Retry-After`) longer than the deadline
    /// leaves.
    RetryAfter {
        status: u16,
        wait: Duration,
        remaining: Duration,
    },
    /// The verification's byte budget ran out.
    Budget { limit: u64 },
}

/// A request to make (rebuilt for each attempt).
pub(crate) type MakeRequest = dyn Fn(&reqwest::Client) -> reqwest::RequestBuilder + Send + Sync;

/// The HTTP machinery shared by registry and log clients.
///
/// Two clients are built on first use: one trusting the system's roots (and
/// the extra ones), for the world; one trusting only the extra roots, for
/// loopback hosts, which spares a local run the cost of loading the system
/// root store (tens of milliseconds).
///
/// Redirects are followed a few times ([`redirect_policy`]), never from
/// HTTPS to plain HTTP; reqwest drops `Authorization` when a redirect
/// leaves the host, so a credential never follows a blob to its CDN.
pub(crate) struct Http {
    public: OnceLock<Result<reqwest::Client, String>>,
    local: OnceLock<Result<reqwest::Client, String>>,
    extra_roots: Vec<reqwest::Certificate>,
    /// `None`: the environment's proxies (reqwest's default).
    proxy: Option<Option<reqwest::Proxy>>,
    pub timeouts: Timeouts,
    pub retry: RetryPolicy,
    /// Told of every attempt ([`crate::observe`]).
    pub observer: Option<Arc<dyn RequestObserver>>,
}

/// A proxy URL without its user information (for messages).
fn redact(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.rsplit_once('@') {
            Some((_, host)) => format!("{scheme}://<redacted>@{host}"),
            None => url.to_string(),
        },
        None => url
            .rsplit_once('@')
            .map_or(url, |(_, host)| host)
            .to_string(),
    }
}

impl Http {
    pub fn new(
        timeouts: Timeouts,
        retry: RetryPolicy,
        extra_roots: &[reqwest::Certificate],
        observer: Option<Arc<dyn RequestObserver>>,
        proxy: &crate::registry::ProxySetting,
    ) -> Result<Self, String> {
        use crate::registry::ProxySetting;
        let proxy = match proxy {
            ProxySetting::Environment => None,
            ProxySetting::Direct => Some(None),
            ProxySetting::Url { url, no_proxy } => {
                let proxy = reqwest::Proxy::all(url.as_str())
                    .map_err(|e| format!("proxy {}: {}", redact(url), error_chain(&e)))?
                    .no_proxy(no_proxy.as_deref().and_then(reqwest::NoProxy::from_string));
                Some(Some(proxy))
            }
        };
        Ok(Self {
            public: OnceLock::new(),
            local: OnceLock::new(),
            extra_roots: extra_roots.to_vec(),
            proxy,
            timeouts,
            retry,
            observer,
        })
    }

    /// What a request of `kind` reports to.
    pub fn observe(&self, kind: RequestKind) -> Observe<'_> {
        Observe {
            observer: self.observer.as_deref(),
            kind,
        }
    }

    /// The client for `url`'s host.
    pub fn client(&self, url: &str) -> Result<reqwest::Client, String> {
        let host = url
            .split_once("://")
            .map_or(url, |(_, rest)| rest)
            .split('/')
            .next()
            .unwrap_or("");
        let local = crate::registry::is_loopback(host);
        let cell = if local { &self.local } else { &self.public };
        cell.get_or_init(|| {
            let mut builder = reqwest::Client::builder()
                .connect_timeout(self.timeouts.connect)
                .timeout(self.timeouts.request)
                .redirect(redirect_policy())
                .user_agent(concat!("verify/", env!("CARGO_PKG_VERSION")));
            builder = match &self.proxy {
                None => builder,
                Some(None) => builder.no_proxy(),
                Some(Some(proxy)) => builder.proxy(proxy.clone()),
            };
            if local {
                builder = builder.tls_certs_only(self.extra_roots.iter().cloned());
            } else {
                for cert in &self.extra_roots {
                    builder = builder.add_root_certificate(cert.clone());
                }
            }
            builder
                .build()
                .map_err(|e| format!("cannot build the HTTP client: {}", error_chain(&e)))
        })
        .clone()
    }

    /// Fetch with retries: any final status is returned with its body
    /// (bounded by `limit`, and by `budget`'s bytes), except 429/5xx, which
    /// are retried and become [`FetchError::Exhausted`]. A `Retry-After`
    /// longer than what `budget`'s deadline leaves fails at once
    /// ([`FetchError::RetryAfter`]). Every attempt is reported to
    /// `observe`.
    pub async fn fetch(
        client: reqwest::Client,
        timeouts: Timeouts,
        retry: RetryPolicy,
        make: Arc<MakeRequest>,
        limit: usize,
        budget: Option<&Budget>,
        observe: Observe<'_>,
    ) -> Result<Fetched, FetchError> {
        let overall = budget.map(Budget::deadline);
        let own = Instant::now() + timeouts.total;
        let deadline = match overall {
            Some(d) if d.at() < own => d.at(),
            _ => own,
        };
        let mut delay = retry.base_delay;
        let mut attempt = 0;
        loop {
            if let Some(d) = overall.filter(Deadline::expired) {
                return Err(d.error());
            }
            attempt += 1;
            let last = attempt >= retry.attempts.max(1);
            let request_timeout =
                overall.map_or(timeouts.request, |d| d.remaining().min(timeouts.request));
            let sent = make(&client).timeout(request_timeout).send().await;
            observe.report(match &sent {
                Ok(response) => RequestOutcome::Status(response.status().as_u16()),
                Err(e) if e.is_timeout() => RequestOutcome::Timeout,
                Err(_) => RequestOutcome::Transport,
            });
            let outcome: Result<(), (Duration, Option<reqwest::Error>)> =
                match sent {
                    Ok(response) => {
                        let status = response.status();
                        if is_retryable(status) && !last {
                            let asked = retry_after(response.headers());
                            if let Some(wait) = asked {
                                let remaining = deadline.saturating_duration_since(Instant::now());
                                if wait > remaining {
                                    return Err(FetchError::RetryAfter {
                                        status: status.as_u16(),
                                        wait,
                                        remaining,
                                    });
                                }
                            }
                            Err((asked.unwrap_or(delay).min(retry.max_delay), None))
                        } else if is_retryable(status) {
                            let detail = read_body(response, 512, budget, 0)
                                .await
                                .map(|b| String::from_utf8_lossy(&b.1).into_owned())
                                .unwrap_or_default();
                            return Err(FetchError::Exhausted {
                                status: status.as_u16(),
                                detail: detail.trim().to_string(),
                            });
                        } else {
                            let headers = response.headers().clone();
                            let (status, body) =
                                read_body(response, limit, budget, timeouts.request.as_secs())
                                    .await?;
                            return Ok(Fetched {
                                status,
                                headers,
                                body,
                            });
                        }
                    }
                    Err(e) if e.is_redirect() => {
                        return Err(FetchError::Transport(format!(
                            "redirect refused (a loop, more than {MAX_REDIRECTS} hops, or HTTPS to plain HTTP): {}",
                            error_chain(&e)
                        )))
                    }
                    Err(e) if last => {
                        return Err(if e.is_timeout() {
                            timeout_error(overall, timeouts.request.as_secs())
                        } else {
                            FetchError::Transport(error_chain(&e))
                        })
                    }
                    Err(e) => Err((delay, Some(e))),
                };
            if let Err((wait, error)) = outcome {
                if Instant::now() + wait > deadline {
                    if let Some(d) = overall.filter(|d| d.at() <= own) {
                        return Err(d.error());
                    }
                    return Err(match error {
                        Some(e) if e.is_timeout() => FetchError::Timeout {
                            seconds: timeouts.total.as_secs(),
                        },
                        Some(e) => FetchError::Transport(error_chain(&e)),
                        None => FetchError::Timeout {
                            seconds: timeouts.total.as_secs(),
                        },
                    });
                }
                tokio::time::sleep(wait).await;
                delay = (delay * 2).min(retry.max_delay);
            }
        }
    }
}

/// Most redirects followed for one request.
pub(crate) const MAX_REDIRECTS: usize = 5;

/// Follow at most [`MAX_REDIRECTS`] redirects, none from HTTPS to plain
/// HTTP.
fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let downgrade = attempt.url().scheme() == "http"
            && attempt.previous().iter().any(|u| u.scheme() == "https");
        if downgrade {
            attempt.error("redirect from HTTPS to plain HTTP")
        } else if attempt.previous().len() > MAX_REDIRECTS {
            attempt.error("too many redirects")
        } else {
            attempt.follow()
        }
    })
}

fn is_retryable(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::INTERNAL_SERVER_ERROR
        || status == StatusCode::BAD_GATEWAY
        || status == StatusCode::SERVICE_UNAVAILABLE
        || status == StatusCode::GATEWAY_TIMEOUT
}

/// `Retry-After`: delta-seconds or an HTTP date.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
    let now = jiff::Timestamp::now();
    let wait = when.duration_since(now);
    Some(Duration::from_secs(wait.as_secs().max(0) as u64))
}

/// A timeout is the overall deadline's when that has passed.
fn timeout_error(overall: Option<Deadline>, seconds: u64) -> FetchError {
    match overall {
        Some(d) if d.expired() => d.error(),
        _ => FetchError::Timeout { seconds },
    }
}

/// Read a body, refusing more than `limit` bytes; a body that stops
/// arriving in time is a timeout of `seconds` (or the `overall` deadline).
async fn read_body(
    mut response: reqwest::Response,
    limit: usize,
    budget: Option<&Budget>,
    seconds: u64,
) -> Result<(StatusCode, Vec<u8>), FetchError> {
    let overall = budget.map(Budget::deadline);
    let status = response.status();
    if let Some(length) = response.content_length() {
        if length > limit as u64 {
            return Err(FetchError::TooLarge {
                limit: limit as u64,
                found: length,
            });
        }
    }
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > limit {
                    return Err(FetchError::TooLarge {
                        limit: limit as u64,
                        found: (body.len() + chunk.len()) as u64,
                    });
                }
                if let Some(b) = budget.filter(|b| !b.spend(chunk.len() as u64)) {
                    return Err(FetchError::Budget {
                        limit: b.max_bytes(),
                    });
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok((status, body)),
            Err(e) if e.is_timeout() => return Err(timeout_error(overall, seconds)),
            Err(e) => return Err(FetchError::Transport(error_chain(&e))),
        }
    }
}

/// An error and its causes on one line.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        let mut h = HeaderMap::new();
        h.insert(reqwest::header::RETRY_AFTER, "3".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        h.insert(
            reqwest::header::RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
        h.insert(reqwest::header::RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&h), None);
    }
}

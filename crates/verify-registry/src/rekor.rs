//! A Rekor v1 REST client for [`TransparencyLogLookup`]: the search index
//! (`POST /api/v1/index/retrieve`) and entries (`GET
//! /api/v1/log/entries/{uuid}`), bounded, retried and timed out like the
//! registry client, and, given the verification's [`Budget`]
//! ([`RekorClient::with_budget`]), under the same deadline and byte budget
//! as its registry reads. What the log answers is verified by `verify-core`
//! (UUID = leaf hash of the body, inclusion proof, signed checkpoint, SET).

use std::sync::Arc;

use reqwest::header::{ACCEPT, CONTENT_TYPE};
use verify_core::tlog_lookup::{LookupError, TransparencyLogLookup, MAX_ENTRY_BYTES};

use crate::http::{Budget, FetchError, Fetched, Http, MakeRequest, RetryPolicy, Timeouts};
use crate::observe::RequestKind;
use crate::registry::{Inner, RegistryConfig, RegistryError};

/// Largest search answer accepted (a list of UUIDs).
const MAX_SEARCH_BYTES: usize = 1024 * 1024;

/// The Rekor URL cosign uses by default.
pub const DEFAULT_REKOR_URL: &str = "https://rekor.sigstore.dev";

/// A Rekor v1 client.
#[derive(Clone)]
pub struct RekorClient {
    inner: Arc<Inner>,
    base: String,
    budget: Option<Budget>,
}

impl RekorClient {
    /// A client for the log at `url`, with its own connections.
    pub fn new(url: &str, timeouts: Timeouts, retry: RetryPolicy) -> Result<Self, RegistryError> {
        let client = crate::registry::RegistryClient::new(RegistryConfig {
            timeouts,
            retry,
            no_docker_config: true,
            ..RegistryConfig::default()
        })?;
        Ok(client.rekor(url))
    }

    pub(crate) fn with_inner(inner: Arc<Inner>, url: &str) -> Self {
        Self {
            inner,
            base: url.trim_end_matches('/').to_string(),
            budget: None,
        }
    }

    /// This client under `budget` (shared with the verification's
    /// registry reads): lookups stop at its deadline and count against its
    /// bytes.
    pub fn with_budget(mut self, budget: &Budget) -> Self {
        self.budget = Some(budget.clone());
        self
    }

    async fn request(
        &self,
        make: Arc<MakeRequest>,
        limit: usize,
        url: String,
    ) -> Result<Fetched, LookupError> {
        let http = &self.inner.http;
        let client = http
            .client(&url)
            .map_err(|detail| LookupError::Unreachable {
                url: url.clone(),
                detail,
            })?;
        let (timeouts, retry) = (http.timeouts, http.retry);
        let request = Http::fetch(
            client,
            timeouts,
            retry,
            make,
            limit,
            self.budget.as_ref(),
            http.observe(RequestKind::Log),
        );
        let result = match &self.budget {
            Some(budget) => tokio::time::timeout(budget.deadline().remaining(), request)
                .await
                .unwrap_or(Err(FetchError::Deadline {
                    seconds: budget.deadline().limit().as_secs(),
                })),
            None => request.await,
        };
        let fetched = result.map_err(|e| match e {
            FetchError::Timeout { seconds } => LookupError::Unreachable {
                url: url.clone(),
                detail: format!("no answer within {seconds} s"),
            },
            FetchError::Deadline { seconds } => LookupError::Budget {
                url: url.clone(),
                detail: format!("the {seconds} s limit for this verification expired"),
            },
            FetchError::Budget { limit } => LookupError::Budget {
                url: url.clone(),
                detail: format!("the {limit}-byte budget for this verification is spent"),
            },
            FetchError::RetryAfter {
                status,
                wait,
                remaining,
            } => LookupError::Budget {
                url: url.clone(),
                detail: format!(
                    "HTTP {status}, asked to retry after {} s, more than the {} s left",
                    wait.as_secs(),
                    remaining.as_secs()
                ),
            },
            FetchError::Transport(detail) => LookupError::Unreachable {
                url: url.clone(),
                detail,
            },
            FetchError::TooLarge { limit, .. } => LookupError::Malformed {
                detail: format!("{url}: answer larger than {limit} bytes"),
            },
            FetchError::Exhausted { status, detail } => LookupError::Http {
                url: url.clone(),
                status,
                detail,
            },
        })?;
        if !fetched.status.is_success() {
            return Err(LookupError::Http {
                url,
                status: fetched.status.as_u16(),
                detail: String::from_utf8_lossy(&fetched.body[..fetched.body.len().min(512)])
                    .trim()
                    .to_string(),
            });
        }
        Ok(fetched)
    }
}

#[async_trait::async_trait]
impl TransparencyLogLookup for RekorClient {
    fn url(&self) -> String {
        self.base.clone()
    }

    async fn search_sha256(&self, sha256: &[u8; 32]) -> Result<Vec<String>, LookupError> {
        let url = format!("{}/api/v1/index/retrieve", self.base);
        let body =
            serde_json::json!({"hash": format!("sha256:{}", hex::encode(sha256))}).to_string();
        let u = url.clone();
        let make: Arc<MakeRequest> = Arc::new(move |client: &reqwest::Client| {
            client
                .post(&u)
                .header(CONTENT_TYPE, "application/json")
                .header(ACCEPT, "application/json")
                .body(body.clone())
        });
        let fetched = self.request(make, MAX_SEARCH_BYTES, url.clone()).await?;
        serde_json::from_slice(&fetched.body).map_err(|e| LookupError::Malformed {
            detail: format!("{url}: {e}"),
        })
    }

    async fn entry(&self, uuid: &str) -> Result<Vec<u8>, LookupError> {
        if uuid.is_empty() || !uuid.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(LookupError::Malformed {
                detail: format!("the log returned an invalid entry ID {uuid:?}"),
            });
        }
        let url = format!("{}/api/v1/log/entries/{uuid}", self.base);
        let u = url.clone();
        let make: Arc<MakeRequest> = Arc::new(move |client: &reqwest::Client| {
            client.get(&u).header(ACCEPT, "application/json")
        });
        Ok(self.request(make, MAX_ENTRY_BYTES, url).await?.body)
    }
}

//! The mirror transport: HTTP GETs that are bounded in bytes while they stream
//! and bounded in time, with typed failures.
//!
//! sigstore-tuf's own `HttpRepository` is not used: it gives no per-fetch
//! deadline and its errors are strings. This implements its `Repository`
//! trait instead, so all TUF verification stays in sigstore-tuf.

use std::time::Duration;

use sigstore_tuf::transport::{FetchFuture, Repository};

use crate::error::FetchError;

/// Default deadline for one file (connect, headers and body).
pub const DEFAULT_FETCH_TIMEOUT: Duration = Duration::from_secs(20);

/// A TUF mirror over HTTP(S): metadata at `<base>/<name>`, targets at
/// `<base>/targets/<path>`, as Sigstore's repository lays them out.
#[derive(Debug, Clone)]
pub struct HttpMirror {
    base: String,
    client: reqwest::Client,
    timeout: Duration,
}

impl HttpMirror {
    /// A mirror at `base` (an `http://` or `https://` URL), with the default
    /// per-fetch deadline.
    pub fn new(base: &str) -> Result<Self, FetchError> {
        let trimmed = base.trim_end_matches('/');
        let bad = |detail: &str| FetchError::BadUrl {
            url: base.to_string(),
            detail: detail.to_string(),
        };
        if !(trimmed.starts_with("https://") || trimmed.starts_with("http://")) {
            return Err(bad("must start with https:// or http://"));
        }
        if trimmed.contains(['?', '#']) || trimmed.chars().any(char::is_whitespace) {
            return Err(bad("must not carry a query, fragment or whitespace"));
        }
        let client = reqwest::Client::builder()
            // A mirror that redirects elsewhere is not followed: TUF metadata
            // is verified anyway, but nothing should be fetched from a host
            // the operator did not name.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(DEFAULT_FETCH_TIMEOUT)
            .build()
            .map_err(|e| bad(&e.to_string()))?;
        Ok(Self {
            base: trimmed.to_string(),
            client,
            timeout: DEFAULT_FETCH_TIMEOUT,
        })
    }

    /// Set the deadline for each file.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The mirror's base URL (without a trailing slash).
    pub fn base(&self) -> &str {
        &self.base
    }

    async fn get(&self, url: String, max_length: u64) -> sigstore_tuf::Result<Option<Vec<u8>>> {
        let timeout = self.timeout;
        match tokio::time::timeout(timeout, self.get_bounded(&url, max_length)).await {
            Ok(Ok(body)) => Ok(body),
            Ok(Err(e)) => Err(wrap(e)),
            Err(_) => Err(wrap(FetchError::Timeout {
                url,
                after: timeout,
            })),
        }
    }

    async fn get_bounded(&self, url: &str, max_length: u64) -> Result<Option<Vec<u8>>, FetchError> {
        let unreachable = |e: reqwest::Error| FetchError::Unreachable {
            url: url.to_string(),
            detail: error_chain(&e),
        };
        let mut response = self.client.get(url).send().await.map_err(unreachable)?;
        let status = response.status().as_u16();
        match status {
            200 => {}
            // Not found ends the root chain; sigstore-tuf decides what a
            // missing file means for every other role.
            404 | 403 => return Ok(None),
            _ => {
                return Err(FetchError::Status {
                    url: url.to_string(),
                    status,
                })
            }
        }
        let too_large = || FetchError::TooLarge {
            url: url.to_string(),
            limit: max_length,
        };
        if response.content_length().is_some_and(|n| n > max_length) {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
            if (body.len() as u64).saturating_add(chunk.len() as u64) > max_length {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Some(body))
    }
}

fn wrap(error: FetchError) -> sigstore_tuf::Error {
    sigstore_tuf::Error::transport_with_source(error.to_string(), error)
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Refuse file names that could leave the repository's URL space.
fn safe_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('/')
        && !name.split('/').any(|part| part == ".." || part == ".")
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.~/%".contains(&b))
}

impl Repository for HttpMirror {
    fn fetch_metadata<'a>(&'a self, name: &'a str, max_length: u64) -> FetchFuture<'a> {
        Box::pin(async move {
            if !safe_name(name) {
                return Err(sigstore_tuf::Error::Malformed(format!(
                    "unsafe metadata name {name:?}"
                )));
            }
            self.get(format!("{}/{name}", self.base), max_length).await
        })
    }

    fn fetch_target<'a>(&'a self, path: &'a str, max_length: u64) -> FetchFuture<'a> {
        Box::pin(async move {
            if !safe_name(path) {
                return Err(sigstore_tuf::Error::Malformed(format!(
                    "unsafe target path {path:?}"
                )));
            }
            self.get(format!("{}/targets/{path}", self.base), max_length)
                .await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_stay_inside_the_repository() {
        assert!(safe_name("12.root.json"));
        assert!(safe_name("abc.trusted_root.json"));
        assert!(safe_name("registry.npmjs.org%2Fkeys.json"));
        assert!(!safe_name("../etc/passwd"));
        assert!(!safe_name("/abs"));
        assert!(!safe_name("a/./b"));
        assert!(!safe_name("a?b"));
        assert!(!safe_name(""));
    }

    #[test]
    fn mirror_urls_are_checked() {
        assert!(HttpMirror::new("https://tuf-repo-cdn.sigstore.dev/").is_ok());
        assert!(matches!(
            HttpMirror::new("ftp://x"),
            Err(FetchError::BadUrl { .. })
        ));
        assert!(matches!(
            HttpMirror::new("https://x/?a=b"),
            Err(FetchError::BadUrl { .. })
        ));
    }
}

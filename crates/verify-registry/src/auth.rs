//! Registry authorization: a `401` answer's challenge decides what is sent.
//! `Basic` sends the registry's own credential; `Bearer` obtains a token
//! from the realm the challenge names, with the credential of *that
//! registry* (the one whose `401` named the realm) or anonymously, and the
//! request is repeated once with it. Tokens are cached per (credential
//! fingerprint, host, repository), bounded and expiring.
//!
//! The token exchange is made here rather than by `oci-client`, whose token
//! flow reads the answer without a size bound or per-request timeout: here
//! it is one more bounded request ([`MAX_TOKEN_BYTES`], the per-request
//! timeout) under the verification's deadline and byte budget.
//! Credentials never travel over plain HTTP unless `allow_http` asked for
//! it, and a token realm must be HTTPS (or loopback, or `allow_http`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use reqwest::header::{ACCEPT, AUTHORIZATION, WWW_AUTHENTICATE};
use reqwest::StatusCode;
use verify_core::oci::SourceError;

use crate::credentials::Credential;
use crate::http::{Fetched, Http, MakeRequest};
use crate::observe::RequestKind;
use crate::registry::{is_loopback, map_fetch_error, Repository};

/// Largest token answer accepted (registry tokens are a few kilobytes).
pub const MAX_TOKEN_BYTES: usize = 64 * 1024;
/// Longest a token is kept, whatever its `expires_in` says.
pub(crate) const TOKEN_TTL: Duration = Duration::from_secs(300);

/// A cached token: the header, and when it stops being used.
#[derive(Clone)]
pub(crate) struct Token {
    header: String,
    until: Instant,
}

/// GET with the repository's authorization, obtaining it on a `401`.
pub(crate) async fn authorized_get(
    repo: &Repository,
    kind: RequestKind,
    scheme: &'static str,
    url: String,
    accept: Option<String>,
    limit: usize,
    what: &str,
) -> Result<Fetched, SourceError> {
    let inner = &repo.inner;
    let host = &repo.reference.api_host;
    let credential = inner.credential(host, repo.credentials.as_deref()).await?;
    let key = format!(
        "{}\n{host}\n{}",
        credential.fingerprint(),
        repo.reference.repository
    );
    let mut renewed = false;
    loop {
        let authorization = inner
            .tokens
            .get(&key)
            .filter(|t| t.until > Instant::now())
            .map(|t| t.header);
        let (u, a) = (url.clone(), accept.clone());
        let make: Arc<MakeRequest> = Arc::new(move |client: &reqwest::Client| {
            let mut request = client.get(&u);
            if let Some(a) = &a {
                request = request.header(ACCEPT, a);
            }
            if let Some(h) = &authorization {
                request = request.header(AUTHORIZATION, h);
            }
            request
        });
        let fetched = fetch(repo, &url, make, limit, kind, what).await?;
        if fetched.status == StatusCode::UNAUTHORIZED && !renewed {
            renewed = true;
            let token = authorize(repo, scheme, &credential, &fetched, what).await?;
            inner.tokens.insert(key.clone(), token);
            continue;
        }
        return Ok(fetched);
    }
}

/// One request for `url` through the client for its scheme, with the
/// client's timeouts and retries, at most `limit` bytes, charged to the
/// repository's budget and counted as `kind`.
async fn fetch(
    repo: &Repository,
    url: &str,
    make: Arc<MakeRequest>,
    limit: usize,
    kind: RequestKind,
    what: &str,
) -> Result<Fetched, SourceError> {
    let http = &repo.inner.http;
    let client = http.client(url).map_err(|detail| SourceError::Transport {
        what: what.to_string(),
        detail,
    })?;
    Http::fetch(
        client,
        http.timeouts,
        http.retry,
        make,
        limit,
        repo.budget.as_ref(),
        http.observe(kind),
    )
    .await
    .map_err(|e| map_fetch_error(e, what))
}

/// The `Authorization` a `401` challenge asks for, with `credential` (the
/// credential of this repository's registry, and no other).
async fn authorize(
    repo: &Repository,
    scheme: &'static str,
    credential: &Credential,
    unauthorized: &Fetched,
    what: &str,
) -> Result<Token, SourceError> {
    let inner = &repo.inner;
    let challenge = unauthorized
        .headers
        .get(WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let denied = |detail: String| SourceError::Unauthorized {
        what: what.to_string(),
        status: 401,
        detail,
    };
    // Credentials never travel in clear unless plain HTTP was asked for.
    if scheme == "http" && !inner.config.allow_http && *credential != Credential::Anonymous {
        return Err(denied(format!(
            "refusing to send the credentials for {} over plain HTTP; pass --allow-http-registry to allow it",
            repo.reference.api_host
        )));
    }
    let (kind, params) = parse_challenge(&challenge);
    match kind.as_str() {
        "basic" => match credential {
            Credential::Basic { username, password } => Ok(Token {
                header: format!(
                    "Basic {}",
                    STANDARD.encode(format!("{username}:{password}"))
                ),
                until: Instant::now() + TOKEN_TTL,
            }),
            Credential::Anonymous => Err(denied(
                "the registry requires credentials (--registry-username/--registry-password, or docker login)".into(),
            )),
        },
        "bearer" => bearer_token(repo, credential, &params, what).await,
        _ => Err(denied(format!(
            "unsupported authentication challenge {challenge:?}"
        ))),
    }
}

/// The scheme and parameters of a `WWW-Authenticate` challenge.
fn parse_challenge(challenge: &str) -> (String, Vec<(String, String)>) {
    let challenge = challenge.trim();
    let (kind, rest) = challenge.split_once(' ').unwrap_or((challenge, ""));
    let mut params = Vec::new();
    let mut rest = rest.trim();
    while !rest.is_empty() {
        let Some((key, after)) = rest.split_once('=') else {
            break;
        };
        let key = key
            .trim()
            .trim_start_matches(',')
            .trim()
            .to_ascii_lowercase();
        let after = after.trim_start();
        let (value, next) = if let Some(quoted) = after.strip_prefix('"') {
            match quoted.find('"') {
                Some(end) => (&quoted[..end], &quoted[end + 1..]),
                None => (quoted, ""),
            }
        } else {
            match after.find(',') {
                Some(end) => (&after[..end], &after[end..]),
                None => (after, ""),
            }
        };
        params.push((key, value.to_string()));
        rest = next.trim_start().trim_start_matches(',').trim_start();
    }
    (kind.to_ascii_lowercase(), params)
}

/// The distribution token flow: `GET realm?service=..&scope=..`, with
/// Basic credentials when there are some, read bounded like every other
/// answer ([`MAX_TOKEN_BYTES`], the per-request timeout, the budget).
async fn bearer_token(
    repo: &Repository,
    credential: &Credential,
    params: &[(String, String)],
    what: &str,
) -> Result<Token, SourceError> {
    let inner = &repo.inner;
    let denied = |detail: String| SourceError::Unauthorized {
        what: what.to_string(),
        status: 401,
        detail,
    };
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let realm =
        param("realm").ok_or_else(|| denied("the Bearer challenge names no realm".into()))?;
    let mut url = reqwest::Url::parse(realm)
        .map_err(|e| denied(format!("the token realm {realm:?} is not a URL: {e}")))?;
    let realm_host = url.host_str().unwrap_or_default().to_string();
    match url.scheme() {
        "https" => {}
        "http" if inner.config.allow_http || is_loopback(&realm_host) => {
            if *credential != Credential::Anonymous && !inner.config.allow_http {
                return Err(denied(format!(
                    "refusing to send the credentials for {} to the plain-HTTP token realm {realm}; pass --allow-http-registry to allow it",
                    repo.reference.api_host
                )));
            }
        }
        other => {
            return Err(denied(format!(
                "the token realm {realm} uses {other}, not HTTPS"
            )))
        }
    }
    {
        let mut query = url.query_pairs_mut();
        if let Some(service) = param("service") {
            query.append_pair("service", service);
        }
        let scope = param("scope")
            .map(str::to_string)
            .unwrap_or_else(|| format!("repository:{}:pull", repo.reference.repository));
        query.append_pair("scope", &scope);
    }
    let url = url.to_string();
    let basic = match credential {
        Credential::Basic { username, password } => Some(format!(
            "Basic {}",
            STANDARD.encode(format!("{username}:{password}"))
        )),
        Credential::Anonymous => None,
    };
    let u = url.clone();
    let make: Arc<MakeRequest> = Arc::new(move |client: &reqwest::Client| {
        let mut request = client.get(&u).header(ACCEPT, "application/json");
        if let Some(b) = &basic {
            request = request.header(AUTHORIZATION, b);
        }
        request
    });
    let token_what = format!("token for {what}");
    let fetched = fetch(
        repo,
        &url,
        make,
        MAX_TOKEN_BYTES,
        RequestKind::Token,
        &token_what,
    )
    .await?;
    if !fetched.status.is_success() {
        return Err(denied(format!(
            "the token service answered HTTP {} ({credential:?})",
            fetched.status.as_u16()
        )));
    }
    #[derive(serde::Deserialize)]
    struct Answer {
        #[serde(default)]
        token: Option<String>,
        #[serde(default)]
        access_token: Option<String>,
        #[serde(default)]
        expires_in: Option<u64>,
    }
    let answer: Answer =
        serde_json::from_slice(&fetched.body).map_err(|e| SourceError::Malformed {
            what: token_what.clone(),
            detail: format!("not a token answer: {e}"),
        })?;
    let token = answer
        .token
        .or(answer.access_token)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            denied(format!(
                "the token service granted no token ({credential:?})"
            ))
        })?;
    if token.len() > 16 * 1024 || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(SourceError::Malformed {
            what: token_what,
            detail: "the token is not a printable header value".into(),
        });
    }
    let ttl = answer
        .expires_in
        .map_or(Duration::from_secs(60), Duration::from_secs)
        .min(TOKEN_TTL);
    Ok(Token {
        header: format!("Bearer {token}"),
        until: Instant::now() + ttl,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_are_parsed() {
        let (kind, params) = parse_challenge(
            r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push""#,
        );
        assert_eq!(kind, "bearer");
        assert_eq!(
            params,
            vec![
                ("realm".into(), "https://auth.example/token".into()),
                ("service".into(), "registry.example".into()),
                ("scope".into(), "repository:a/b:pull,push".into()),
            ]
        );
        let (kind, params) = parse_challenge("Basic realm=x");
        assert_eq!(kind, "basic");
        assert_eq!(params, vec![("realm".into(), "x".into())]);
        assert_eq!(parse_challenge("").0, "");
    }
}

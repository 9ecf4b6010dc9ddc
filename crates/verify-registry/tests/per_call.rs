//! The registry client as a server uses it: one client shared by
//! concurrent verifications on a multi-threaded runtime, each passing its
//! own (tenant's) credentials and budget. A token obtained with one
//! tenant's credential is never used for another's request, credentials go
//! only to their host, and dropping a verification's future cancels its
//! request at once.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use verify_core::oci::{ImageSource, ManifestRef, SourceError};
use verify_registry::{
    Budget, Credential, Credentials, ImageReference, RegistryClient, RegistryConfig,
};

/// What the test registry saw: (path, authorization header).
type Seen = Arc<Mutex<Vec<(String, Option<String>)>>>;

/// A registry requiring a Bearer token from its own `/token`, which grants
/// `token-for-<user>` to Basic `<user>:pw-<user>`; manifests answer 404 for
/// any valid token (enough to prove authorization passed), `/slow` never.
async fn registry() -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let seen: Seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let me = addr.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let (log, me) = (Arc::clone(&log), me.clone());
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut reader = BufReader::new(read);
                let mut line = String::new();
                if reader.read_line(&mut line).await.is_err() {
                    return;
                }
                let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
                let mut headers = BTreeMap::new();
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).await.is_err() || h.trim().is_empty() {
                        break;
                    }
                    if let Some((k, v)) = h.split_once(':') {
                        headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
                    }
                }
                let auth = headers.get("authorization").cloned();
                log.lock().unwrap().push((path.clone(), auth.clone()));
                if path.contains("/slow") {
                    // Never answer; record when the client hangs up.
                    let mut byte = [0u8; 1];
                    let read = tokio::time::timeout(
                        Duration::from_secs(60),
                        tokio::io::AsyncReadExt::read(&mut reader, &mut byte),
                    )
                    .await;
                    if matches!(read, Ok(Ok(0))) {
                        log.lock().unwrap().push(("hung up".into(), None));
                    }
                    return;
                }
                let (status, extra, body) = if path.starts_with("/v2/open/")
                    || path.starts_with("/api/v1/")
                {
                    // No authorization: 600 bytes of JSON array.
                    let body = format!("[{} 0]", "0,".repeat(298));
                    ("200 OK", String::new(), body)
                } else if path.starts_with("/token") {
                    let user = auth
                        .as_deref()
                        .and_then(|a| a.strip_prefix("Basic "))
                        .and_then(|b| {
                            use base64::Engine as _;
                            base64::engine::general_purpose::STANDARD.decode(b).ok()
                        })
                        .and_then(|b| String::from_utf8(b).ok())
                        .and_then(|s| {
                            let (u, p) = s.split_once(':')?;
                            (p == format!("pw-{u}")).then(|| u.to_string())
                        });
                    match user {
                        Some(u) => (
                            "200 OK",
                            String::new(),
                            format!(r#"{{"token":"token-for-{u}"}}"#),
                        ),
                        None => ("401 Unauthorized", String::new(), "{}".into()),
                    }
                } else if auth
                    .as_deref()
                    .is_some_and(|a| a.starts_with("Bearer token-for-"))
                {
                    ("404 Not Found", String::new(), "{}".into())
                } else {
                    (
                        "401 Unauthorized",
                        format!("WWW-Authenticate: Bearer realm=\"http://{me}/token\",service=\"t\"\r\n"),
                        "{}".into(),
                    )
                };
                let _ = write
                    .write_all(
                        format!(
                            "HTTP/1.1 {status}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        )
                        .as_bytes(),
                    )
                    .await;
            });
        }
    });
    (addr, seen)
}

fn client() -> RegistryClient {
    RegistryClient::new(RegistryConfig {
        no_docker_config: true,
        allow_http: true,
        ..RegistryConfig::default()
    })
    .unwrap()
}

fn tenant(host: &str, user: &str) -> Arc<Credentials> {
    Arc::new(Credentials::new().with(
        host,
        Credential::Basic {
            username: user.into(),
            password: format!("pw-{user}"),
        },
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_share_a_client_but_never_a_credential_or_a_token() {
    let (addr, seen) = registry().await;
    let client = client();
    let reference = ImageReference::parse(&format!("{addr}/app:v1")).unwrap();
    let budget = Budget::new(Duration::from_secs(10), 1 << 20);

    let mut tasks = Vec::new();
    for user in ["alice", "bob", "alice", "bob"] {
        let repo = client
            .repository(&reference)
            .with_budget(&budget)
            .with_credentials(tenant(&addr, user));
        tasks.push(tokio::spawn(async move {
            repo.manifest(&ManifestRef::Tag("v1".into()), 1 << 20).await
        }));
    }
    for task in tasks {
        // Authorized (the registry answers 404 only to a valid token).
        assert!(matches!(task.await.unwrap(), Ok(None)));
    }
    // A tenant without credentials for this host gets no token, even
    // though others' tokens are cached in the same client.
    let anonymous = client
        .repository(&reference)
        .with_credentials(Arc::new(Credentials::new()));
    let err = anonymous
        .manifest(&ManifestRef::Tag("v1".into()), 1 << 20)
        .await
        .unwrap_err();
    assert!(matches!(err, SourceError::Unauthorized { .. }), "{err}");
    // Credentials for another host are not sent here.
    let elsewhere = client
        .repository(&reference)
        .with_credentials(tenant("registry.elsewhere.test", "carol"));
    assert!(elsewhere
        .manifest(&ManifestRef::Tag("v1".into()), 1 << 20)
        .await
        .is_err());

    let seen = seen.lock().unwrap().clone();
    for (path, auth) in &seen {
        if path.contains("/manifests/") {
            // A manifest request carries nothing, or a Bearer token: the
            // tokens of alice and bob each went with their own requests.
            assert!(
                auth.as_deref()
                    .is_none_or(|a| a.starts_with("Bearer token-for-")),
                "{path}: {auth:?}"
            );
        }
        if let Some(a) = auth {
            assert!(!a.contains("carol"), "carol's credential was sent: {a}");
        }
    }
    let tokens: Vec<_> = seen
        .iter()
        .filter(|(p, a)| p.starts_with("/token") && a.is_some())
        .collect();
    assert!(tokens.len() >= 2, "one token exchange per tenant: {seen:?}");
}

#[tokio::test]
async fn dropping_the_future_cancels_the_request() {
    let (addr, seen) = registry().await;
    let client = client();
    let reference = ImageReference::parse(&format!("{addr}/slow:v1")).unwrap();
    let repo = client
        .repository(&reference)
        .with_credentials(Arc::new(Credentials::new()));
    let started = Instant::now();
    let outcome = tokio::time::timeout(
        Duration::from_millis(300),
        repo.manifest(&ManifestRef::Tag("v1".into()), 1 << 20),
    )
    .await;
    assert!(outcome.is_err(), "the server never answers");
    assert!(started.elapsed() < Duration::from_secs(2));
    // The request was cancelled, not left running: the connection is
    // closed, and the server sees it (waited for at most 10 s).
    let hung_up = || seen.lock().unwrap().iter().any(|(p, _)| p == "hung up");
    for _ in 0..100 {
        if hung_up() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(hung_up(), "the dropped request kept its connection open");

    // And a budget's deadline ends it with its own error.
    let budget = Budget::new(Duration::from_millis(500), 1 << 20);
    let started = Instant::now();
    let err = repo
        .clone()
        .with_budget(&budget)
        .manifest(&ManifestRef::Tag("v1".into()), 1 << 20)
        .await
        .unwrap_err();
    assert!(matches!(err, SourceError::DeadlineExceeded { .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn one_byte_budget_covers_every_read_of_a_verification_registry_and_log_alike() {
    use verify_core::tlog_lookup::{LookupError, TransparencyLogLookup};
    let (addr, _) = registry().await;
    let client = client();
    let reference = ImageReference::parse(&format!("{addr}/open/app:v1")).unwrap();
    // 1000 bytes in all; each answer is 600.
    let budget = Budget::new(Duration::from_secs(10), 1000);
    let repo = client
        .repository(&reference)
        .with_budget(&budget)
        .with_credentials(Arc::new(Credentials::new()));
    let first = repo
        .manifest(&ManifestRef::Tag("v1".into()), 1 << 20)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.bytes.len(), 600);
    assert_eq!(budget.bytes_left(), 400);
    // Each object is small; together they are over the budget.
    let err = repo
        .manifest(&ManifestRef::Tag("v2".into()), 1 << 20)
        .await
        .unwrap_err();
    assert!(
        matches!(err, SourceError::BudgetExceeded { limit: 1000, .. }),
        "{err}"
    );

    // The log client given the same budget finds it spent too.
    let budget = Budget::new(Duration::from_secs(10), 1000);
    let repo = client
        .repository(&reference)
        .with_budget(&budget)
        .with_credentials(Arc::new(Credentials::new()));
    repo.manifest(&ManifestRef::Tag("v1".into()), 1 << 20)
        .await
        .unwrap();
    let rekor = client.rekor(&format!("http://{addr}")).with_budget(&budget);
    let err = rekor.search_sha256(&[7; 32]).await.unwrap_err();
    assert!(matches!(err, LookupError::Budget { .. }), "{err}");
    // A fresh budget lets the same lookup through (600 bytes of UUIDs that
    // are not strings: malformed, but read).
    let rekor = client
        .rekor(&format!("http://{addr}"))
        .with_budget(&Budget::new(Duration::from_secs(10), 1000));
    let err = rekor.search_sha256(&[7; 32]).await.unwrap_err();
    assert!(matches!(err, LookupError::Malformed { .. }), "{err}");
}

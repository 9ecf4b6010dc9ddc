//! The image tests' world: a real registry (Debian's `docker-registry`)
//! started on a free loopback port, images pushed to it through the
//! registry API or `skopeo`, cosign signatures made by the test Sigstore, a
//! Rekor-shaped HTTP log serving the test Sigstore's log, and an HTTP proxy
//! in front of the registry that enforces authentication or injects faults
//! (tampered bytes, 429s, 5xx, slowness).
//!
//! Everything started here is stopped when its handle is dropped.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::{engine::general_purpose::STANDARD, Engine as _};
use serde_json::json;
use verify_testkit::RekorLog;

// The registry and what is pushed to it live in verify-testkit (shared with
// the webhook and policy tests).
#[allow(unused_imports)]
pub use verify_testkit::oci::{
    digest, image_manifest, OciSink, Pushed, TempDir, BUNDLE_TYPE, OCI_INDEX, OCI_MANIFEST,
};
#[allow(unused_imports)]
pub use verify_testkit::registry::{skopeo_push, Pusher, Registry};

/// A parsed HTTP request.
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

/// A response to write.
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

type Handler = dyn Fn(Request) -> Response + Send + Sync;

/// A server on 127.0.0.1:0 that hands each connection, on its own thread,
/// to `handle(stream, own address)`; stopped when dropped. The tests'
/// Rekor log and registry proxy ([`Server`]) and the faulty registries that
/// write raw bytes (trickles, lying lengths) are all built on it.
pub struct RawServer {
    pub addr: String,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

type Handle = dyn Fn(TcpStream, &str) + Send + Sync;

impl RawServer {
    pub fn start(handle: impl Fn(TcpStream, &str) + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().unwrap().to_string();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let handle: Arc<Handle> = Arc::new(handle);
        let me = addr.clone();
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (handle, me) = (Arc::clone(&handle), me.clone());
                        std::thread::spawn(move || handle(stream, &me));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Self {
            addr,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A request's line and headers, read from its connection (waiting at most
/// 30 s); `reader` is left at the body.
pub struct Head {
    pub method: String,
    pub path: String,
    /// Header names in lower case.
    pub headers: BTreeMap<String, String>,
    pub reader: BufReader<TcpStream>,
}

pub fn read_head(stream: &TcpStream) -> Option<Head> {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next()?.to_string(), parts.next()?.to_string());
    let mut headers = BTreeMap::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    Some(Head {
        method,
        path,
        headers,
        reader,
    })
}

/// A minimal HTTP/1.1 server (one request per connection), for the tests'
/// Rekor log and registry proxy.
pub struct Server {
    pub addr: String,
    _raw: RawServer,
}

impl Server {
    pub fn start(handler: Arc<Handler>) -> Self {
        let raw = RawServer::start(move |stream, _| serve(stream, &*handler));
        Self {
            addr: raw.addr.clone(),
            _raw: raw,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

fn serve(stream: TcpStream, handler: &Handler) {
    let Some(Head {
        method,
        path,
        headers,
        mut reader,
    }) = read_head(&stream)
    else {
        return;
    };
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let response = handler(Request {
        method,
        path,
        headers,
        body,
    });
    let mut out = stream;
    let mut head = format!("HTTP/1.1 {} X\r\n", response.status);
    for (k, v) in &response.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        response.body.len()
    ));
    let _ = out.write_all(head.as_bytes());
    let _ = out.write_all(&response.body);
    let _ = out.flush();
}

/// The test Sigstore's log as Rekor v1's REST API.
pub fn rekor_server(log: RekorLog) -> Server {
    Server::start(Arc::new(move |request: Request| {
        if request.method == "POST" && request.path == "/api/v1/index/retrieve" {
            let query: serde_json::Value =
                serde_json::from_slice(&request.body).unwrap_or_default();
            let hash = query["hash"].as_str().unwrap_or_default();
            let ids: Vec<String> = log
                .find_by_digest(hash)
                .iter()
                .map(|e| log.entry_id(e))
                .collect();
            return Response::new(200, serde_json::to_vec(&ids).unwrap())
                .header("content-type", "application/json");
        }
        if let Some(uuid) = request.path.strip_prefix("/api/v1/log/entries/") {
            return match log.entry_by_uuid(uuid) {
                Some(entry) => Response::new(
                    200,
                    serde_json::to_vec(&log.rekor_v1_entry_json(&entry).unwrap()).unwrap(),
                )
                .header("content-type", "application/json"),
                None => Response::new(404, "{}"),
            };
        }
        Response::new(404, "not found")
    }))
}

/// What the proxy does to the traffic.
#[derive(Clone)]
pub enum Fault {
    /// Nothing: a transparent proxy.
    None,
    /// Require HTTP Basic credentials.
    Basic { user: String, password: String },
    /// Require a bearer token from the proxy's token service, which wants
    /// these Basic credentials (or none, for anonymous pulls).
    Bearer {
        credentials: Option<(String, String)>,
    },
    /// Flip one byte of every manifest body whose path ends with this
    /// suffix; keep (or drop) the registry's `Docker-Content-Digest`.
    TamperManifest {
        suffix: String,
        keep_digest_header: bool,
    },
    /// Flip one byte of every blob body.
    TamperBlobs,
    /// Answer 429 with `Retry-After` to the first `count` requests.
    TooManyRequests {
        count: Arc<AtomicU32>,
        retry_after: u64,
    },
    /// Answer 503 to everything.
    Unavailable,
    /// Wait this long before answering.
    Slow(Duration),
    /// Answer 404 to every blob request (manifests pass).
    MissingBlobs,
}

/// A registry proxy injecting `fault`, counting requests.
pub struct Proxy {
    pub server: Server,
    pub requests: Arc<AtomicU32>,
    pub log: Arc<Mutex<Vec<String>>>,
}

impl Proxy {
    pub fn start(upstream: &str, fault: Fault) -> Self {
        let upstream = format!("http://{upstream}");
        let requests = Arc::new(AtomicU32::new(0));
        let log = Arc::new(Mutex::new(Vec::new()));
        let (count, seen) = (Arc::clone(&requests), Arc::clone(&log));
        let token = "test-token-0123456789".to_string();
        let self_addr: Arc<Mutex<String>> = Arc::new(Mutex::new(String::new()));
        let realm_addr = Arc::clone(&self_addr);
        let client = reqwest::blocking::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let server = Server::start(Arc::new(move |request: Request| {
            count.fetch_add(1, Ordering::SeqCst);
            seen.lock()
                .unwrap()
                .push(format!("{} {}", request.method, request.path));
            let auth = request
                .headers
                .get("authorization")
                .cloned()
                .unwrap_or_default();
            match &fault {
                Fault::Basic { user, password } => {
                    let want = format!("Basic {}", STANDARD.encode(format!("{user}:{password}")));
                    if auth != want {
                        return Response::new(401, r#"{"errors":[{"code":"UNAUTHORIZED"}]}"#)
                            .header("www-authenticate", "Basic realm=\"test\"");
                    }
                }
                Fault::Bearer { credentials } => {
                    if request.path.starts_with("/token") {
                        let ok = match credentials {
                            None => true,
                            Some((u, p)) => {
                                auth == format!("Basic {}", STANDARD.encode(format!("{u}:{p}")))
                            }
                        };
                        return if ok {
                            Response::new(200, format!(r#"{{"token":"{token}"}}"#))
                                .header("content-type", "application/json")
                        } else {
                            Response::new(401, "bad credentials")
                        };
                    }
                    if auth != format!("Bearer {token}") {
                        let realm = format!("http://{}/token", realm_addr.lock().unwrap());
                        return Response::new(401, r#"{"errors":[{"code":"UNAUTHORIZED"}]}"#).header(
                            "www-authenticate",
                            &format!("Bearer realm=\"{realm}\",service=\"test\",scope=\"repository:x:pull\""),
                        );
                    }
                }
                Fault::TooManyRequests { count, retry_after }
                    if count
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |c| c.checked_sub(1))
                        .is_ok() =>
                {
                    return Response::new(429, "slow down")
                        .header("retry-after", &retry_after.to_string());
                }
                Fault::Unavailable => return Response::new(503, "unavailable"),
                Fault::Slow(delay) => std::thread::sleep(*delay),
                Fault::MissingBlobs if request.path.contains("/blobs/") => {
                    return Response::new(404, r#"{"errors":[{"code":"BLOB_UNKNOWN"}]}"#)
                }
                _ => {}
            }
            forward(&client, &upstream, request, &fault)
        }));
        *self_addr.lock().unwrap() = server.addr.clone();
        Self {
            server,
            requests,
            log,
        }
    }

    pub fn addr(&self) -> &str {
        &self.server.addr
    }
}

fn forward(
    client: &reqwest::blocking::Client,
    upstream: &str,
    request: Request,
    fault: &Fault,
) -> Response {
    let method = reqwest::Method::from_bytes(request.method.as_bytes()).unwrap();
    let mut builder = client.request(method, format!("{upstream}{}", request.path));
    for (k, v) in &request.headers {
        if matches!(
            k.as_str(),
            "host" | "authorization" | "content-length" | "connection"
        ) {
            continue;
        }
        builder = builder.header(k, v);
    }
    let upstream_response = match builder.body(request.body).send() {
        Ok(r) => r,
        Err(e) => return Response::new(502, e.to_string()),
    };
    let status = upstream_response.status().as_u16();
    let mut headers: Vec<(String, String)> = upstream_response
        .headers()
        .iter()
        .filter(|(k, _)| {
            !matches!(
                k.as_str(),
                "content-length" | "connection" | "transfer-encoding"
            )
        })
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let mut body = upstream_response
        .bytes()
        .map(|b| b.to_vec())
        .unwrap_or_default();
    let is_manifest = request.path.contains("/manifests/");
    match fault {
        Fault::TamperManifest {
            suffix,
            keep_digest_header,
        } if is_manifest && request.path.ends_with(suffix.as_str()) && !body.is_empty() => {
            // Change the content but keep it valid JSON: add a space.
            body.insert(body.len() - 1, b' ');
            if !keep_digest_header {
                headers.retain(|(k, _)| k != "docker-content-digest");
            }
        }
        Fault::TamperBlobs if request.path.contains("/blobs/") && !body.is_empty() => {
            let last = body.len() - 1;
            body[last] ^= 1;
        }
        _ => {}
    }
    Response {
        status,
        headers,
        body,
    }
}

/// Run the `verify` binary.
pub fn verify(args: &[&str]) -> Output {
    verify_env(args, &[])
}

/// Run the `verify` binary with extra environment variables (and an empty
/// Docker configuration unless one is given).
pub fn verify_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    // option_env!: this module is also compiled into verify-admission's tests.
    let mut command = Command::new(option_env!("CARGO_BIN_EXE_verify").unwrap_or("verify"));
    command.args(args);
    command.env_remove("VERIFY_REGISTRY_USERNAME");
    command.env_remove("VERIFY_REGISTRY_PASSWORD");
    command.env_remove("SIGSTORE_ROOT_FILE");
    if !env.iter().any(|(k, _)| *k == "DOCKER_CONFIG") {
        command.env("DOCKER_CONFIG", "/nonexistent-verify-test-docker-config");
    }
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("run verify")
}

/// The JSON object a failing `-o json` run prints.
pub fn failure_json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// What the tests' own registry serves, by path under `/v2/<repo>/`.
#[derive(Default)]
struct MiniContent {
    /// `manifests/<reference>`: media type and bytes.
    manifests: BTreeMap<String, (String, Vec<u8>)>,
    /// `blobs/<digest>`.
    blobs: BTreeMap<String, Vec<u8>>,
    /// `referrers/<digest>`: an OCI image index.
    referrers: BTreeMap<String, Vec<u8>>,
}

/// A registry served by the tests, for what Debian's `docker-registry` 2.8
/// lacks: the OCI 1.1 referrers API (`GET /v2/<repo>/referrers/<digest>`
/// answering an image index, 200). One repository, from memory; manifests
/// may be served under any digest, so that a registry serving bytes that
/// do not match the digest asked for can be played.
pub struct MiniRegistry {
    pub server: Server,
    repo: String,
    content: Arc<Mutex<MiniContent>>,
    pub log: Arc<Mutex<Vec<String>>>,
}

impl MiniRegistry {
    pub fn start(repo: &str) -> Self {
        let content = Arc::new(Mutex::new(MiniContent::default()));
        let log = Arc::new(Mutex::new(Vec::new()));
        let prefix = format!("/v2/{repo}/");
        let (served, seen) = (Arc::clone(&content), Arc::clone(&log));
        let server = Server::start(Arc::new(move |request: Request| {
            seen.lock()
                .unwrap()
                .push(format!("{} {}", request.method, request.path));
            let path = request.path.split('?').next().unwrap_or_default();
            if path == "/v2/" {
                return Response::new(200, "{}");
            }
            let Some(rest) = path.strip_prefix(&prefix) else {
                return Response::new(404, r#"{"errors":[{"code":"NAME_UNKNOWN"}]}"#);
            };
            let content = served.lock().unwrap();
            if let Some(reference) = rest.strip_prefix("manifests/") {
                return match content.manifests.get(reference) {
                    Some((media_type, bytes)) => Response::new(200, bytes.clone())
                        .header("content-type", media_type)
                        .header("docker-content-digest", &digest(bytes)),
                    None => Response::new(404, r#"{"errors":[{"code":"MANIFEST_UNKNOWN"}]}"#),
                };
            }
            if let Some(d) = rest.strip_prefix("blobs/") {
                return match content.blobs.get(d) {
                    Some(bytes) => Response::new(200, bytes.clone()),
                    None => Response::new(404, r#"{"errors":[{"code":"BLOB_UNKNOWN"}]}"#),
                };
            }
            if let Some(d) = rest.strip_prefix("referrers/") {
                let empty = serde_json::to_vec(
                    &json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}),
                )
                .unwrap();
                let index = content.referrers.get(d).cloned().unwrap_or(empty);
                return Response::new(200, index).header("content-type", OCI_INDEX);
            }
            Response::new(404, "not found")
        }));
        Self {
            server,
            repo: repo.to_string(),
            content,
            log,
        }
    }

    pub fn addr(&self) -> &str {
        &self.server.addr
    }

    /// `addr/repo@digest`.
    pub fn by_digest(&self, image: &Pushed) -> String {
        format!("{}/{}@{}", self.addr(), self.repo, image.digest)
    }

    /// Serve `bytes` as a blob; its digest.
    pub fn blob(&self, bytes: &[u8]) -> String {
        let d = digest(bytes);
        self.content
            .lock()
            .unwrap()
            .blobs
            .insert(d.clone(), bytes.to_vec());
        d
    }

    /// Serve `bytes` as the manifest `reference` (a tag or any digest).
    pub fn manifest(&self, reference: &str, media_type: &str, bytes: &[u8]) {
        self.content.lock().unwrap().manifests.insert(
            reference.to_string(),
            (media_type.to_string(), bytes.to_vec()),
        );
    }

    /// A random single-platform image, served by its digest.
    pub fn image(&self) -> Pushed {
        let (manifest, blobs) = image_manifest("linux", "amd64");
        for blob in &blobs {
            self.blob(blob);
        }
        let pushed = Pushed {
            digest: digest(&manifest),
            bytes: manifest,
            media_type: OCI_MANIFEST.into(),
        };
        self.manifest(&pushed.digest, OCI_MANIFEST, &pushed.bytes);
        pushed
    }

    /// A cosign v3 referrer manifest carrying `bundle` for `subject`, with
    /// its layers served; the manifest itself is not served (see
    /// [`MiniRegistry::manifest`]).
    pub fn bundle_referrer(&self, subject: &Pushed, bundle: &[u8]) -> Pushed {
        let empty_digest = self.blob(b"{}");
        let layer = self.blob(bundle);
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": BUNDLE_TYPE,
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty_digest, "size": 2},
            "layers": [{"mediaType": BUNDLE_TYPE, "digest": layer, "size": bundle.len()}],
            "subject": subject.descriptor(),
        });
        let bytes = serde_json::to_vec(&manifest).unwrap();
        Pushed {
            digest: digest(&bytes),
            bytes,
            media_type: OCI_MANIFEST.into(),
        }
    }

    /// Answer the referrers API for `subject` with an index of these
    /// referrers (as bundle artifacts).
    pub fn referrers(&self, subject: &Pushed, referrers: &[Pushed]) {
        let index = json!({
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": referrers.iter().map(|r| {
                let mut d = r.descriptor();
                d["artifactType"] = json!(BUNDLE_TYPE);
                d
            }).collect::<Vec<_>>(),
        });
        self.content
            .lock()
            .unwrap()
            .referrers
            .insert(subject.digest.clone(), serde_json::to_vec(&index).unwrap());
    }

    /// The requests served so far, as `METHOD PATH`.
    pub fn requests(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

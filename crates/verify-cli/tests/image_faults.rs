//! `verify image` against hostile registries and logs: a small faulty
//! server started by each test on 127.0.0.1:0, one fault each (bytes that
//! do not match their digest, 429 with a short and an absurd `Retry-After`,
//! a trickle, a manifest of hundreds of megabytes, a redirect loop, token
//! endpoints answering garbage, huge or slowly, an index of 10,000
//! children, a signature manifest of 10,000 layers, a lying
//! `Content-Length`, a slow Rekor). Each run must end within its deadline
//! with its typed reason code, and nothing may be reported verified.

mod image_env;

use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use image_env::*;
use serde_json::json;
use verify_testkit::cosign::{signature_layer, simple_signing_payload};
use verify_testkit::{SignOptions, TestSigstore};

const ISSUER: &str = verify_testkit::GITHUB_ACTIONS_ISSUER;

/// What the faulty server is asked.
struct Asked {
    path: String,
}

/// A registry-shaped server: `/v2/` answers 200, every other request is
/// answered by the fault.
struct FaultyServer {
    addr: String,
    _raw: RawServer,
    /// Body bytes written, for faults that stream.
    sent: Arc<AtomicU64>,
}

impl FaultyServer {
    fn start(fault: impl Fn(&Asked, &mut TcpStream, &str) + Send + Sync + 'static) -> Self {
        let raw = RawServer::start(move |stream, me| {
            let Some(head) = read_head(&stream) else {
                return;
            };
            let mut out = stream;
            if head.path == "/v2/" {
                let _ = out.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
                );
                return;
            }
            fault(&Asked { path: head.path }, &mut out, me);
        });
        Self {
            addr: raw.addr.clone(),
            _raw: raw,
            sent: Arc::new(AtomicU64::new(0)),
        }
    }
}

fn answer(out: &mut TcpStream, status: &str, headers: &[(&str, String)], body: &[u8]) {
    let mut head = format!("HTTP/1.1 {status}\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    let _ = out.write_all(head.as_bytes());
    let _ = out.write_all(body);
}

/// A trusted root and keyless flags (no signature is ever reached).
struct Flags {
    _dir: TempDir,
    args: Vec<String>,
}

fn flags() -> Flags {
    let dir = TempDir::new("faults");
    let root = dir.path().join("trusted_root.json");
    std::fs::write(&root, TestSigstore::new().trusted_root_json()).unwrap();
    let args = vec![
        "--certificate-identity".into(),
        "someone@example.com".into(),
        "--certificate-oidc-issuer".into(),
        ISSUER.into(),
        "--trusted-root".into(),
        root.display().to_string(),
        "-o".into(),
        "json".into(),
    ];
    Flags { _dir: dir, args }
}

const DIGEST: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

/// Run `verify image <image> <flags> <extra>`; assert it failed (exit 1)
/// within `within`, reported nothing verified, and return its JSON.
fn run_fails(image: &str, extra: &[&str], within: Duration) -> serde_json::Value {
    let flags = flags();
    let mut args: Vec<&str> = vec!["image", image];
    args.extend(flags.args.iter().map(String::as_str));
    args.extend_from_slice(extra);
    let started = Instant::now();
    let output = verify(&args);
    let took = started.elapsed();
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert_eq!(
        output.status.code(),
        Some(1),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(took < within, "took {took:?} (bound {within:?}): {stdout}");
    assert!(!stdout.contains(r#""verified":true"#), "{stdout}");
    let json = failure_json(&output);
    assert_eq!(json["verified"], false, "{json}");
    json
}

fn code(json: &serde_json::Value) -> &str {
    json["reason"]["code"].as_str().unwrap_or_default()
}

#[test]
fn bytes_that_do_not_match_their_announced_digest() {
    let server = FaultyServer::start(|_, out, _| {
        answer(
            out,
            "200 OK",
            &[
                ("Content-Type", OCI_MANIFEST.into()),
                ("Docker-Content-Digest", DIGEST.into()),
            ],
            br#"{"schemaVersion":2,"config":{"mediaType":"x","digest":"sha256:00","size":1},"layers":[]}"#,
        )
    });
    let json = run_fails(
        &format!("{}/app@{DIGEST}", server.addr),
        &[],
        Duration::from_secs(20),
    );
    assert_eq!(code(&json), "registry-digest-mismatch", "{json}");
}

#[test]
fn a_short_retry_after_is_honoured_then_the_answer_stands() {
    let first = Arc::new(AtomicBool::new(true));
    let server = FaultyServer::start(move |_, out, _| {
        if first.swap(false, Ordering::SeqCst) {
            answer(
                out,
                "429 Too Many Requests",
                &[("Retry-After", "1".into())],
                b"",
            );
        } else {
            answer(out, "404 Not Found", &[], br#"{"errors":[]}"#);
        }
    });
    let started = Instant::now();
    let json = run_fails(
        &format!("{}/app@{DIGEST}", server.addr),
        &[],
        Duration::from_secs(20),
    );
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After not honoured"
    );
    assert_eq!(code(&json), "no-signatures", "{json}");
}

#[test]
fn a_retry_after_beyond_the_deadline_fails_at_once_and_says_so() {
    let server = FaultyServer::start(|_, out, _| {
        answer(
            out,
            "429 Too Many Requests",
            &[("Retry-After", "86400".into())],
            b"",
        )
    });
    let json = run_fails(
        &format!("{}/app@{DIGEST}", server.addr),
        &["--timeout", "30"],
        Duration::from_secs(10),
    );
    assert_eq!(
        code(&json),
        "registry-retry-after-beyond-deadline",
        "{json}"
    );
    let message = json["reason"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("86400"), "{message}");
}

#[test]
fn a_trickling_body_ends_at_the_deadline() {
    let server = FaultyServer::start(|_, out, _| {
        let _ = out.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\nContent-Length: 100000\r\n\r\n",
        );
        for _ in 0..100_000 {
            if out.write_all(b" ").is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    });
    let json = run_fails(
        &format!("{}/app@{DIGEST}", server.addr),
        &["--timeout", "3"],
        Duration::from_secs(10),
    );
    assert_eq!(code(&json), "image-deadline-exceeded", "{json}");
}

#[test]
fn a_manifest_of_hundreds_of_megabytes_is_cut_off() {
    // Announced: refused before reading.
    let server = FaultyServer::start(|_, out, _| {
        let _ = out.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\nContent-Length: 400000000\r\n\r\n",
        );
        let chunk = vec![b' '; 1 << 20];
        for _ in 0..400 {
            if out.write_all(&chunk).is_err() {
                return;
            }
        }
    });
    let json = run_fails(
        &format!("{}/app@{DIGEST}", server.addr),
        &[],
        Duration::from_secs(20),
    );
    assert_eq!(code(&json), "registry-content-too-large", "{json}");

    // Unannounced (no Content-Length, streamed until the connection
    // closes): read no further than the limit.
    let sent = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&sent);
    let server = FaultyServer::start(move |_, out, _| {
        let _ = out.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\nConnection: close\r\n\r\n",
        );
        let chunk = vec![b' '; 1 << 20];
        for _ in 0..400 {
            if out.write_all(&chunk).is_err() {
                return;
            }
            counter.fetch_add(chunk.len() as u64, Ordering::SeqCst);
        }
    });
    let json = run_fails(
        &format!("{}/app@{DIGEST}", server.addr),
        &[],
        Duration::from_secs(20),
    );
    assert_eq!(code(&json), "registry-content-too-large", "{json}");
    // The client hung up near the 4 MiB limit (plus socket buffers), not
    // after reading the 400 MB offered.
    let sent = sent.load(Ordering::SeqCst);
    assert!(sent < 64 << 20, "the server could send {sent} bytes");
    let _ = server.sent.load(Ordering::SeqCst);
}

#[test]
fn a_redirect_loop_ends_with_its_own_error() {
    let server = FaultyServer::start(|asked, out, me| {
        answer(
            out,
            "302 Found",
            &[("Location", format!("http://{me}{}", asked.path))],
            b"",
        )
    });
    let json = run_fails(
        &format!("{}/app@{DIGEST}", server.addr),
        &[],
        Duration::from_secs(20),
    );
    assert_eq!(code(&json), "registry-unreachable", "{json}");
    let message = json["reason"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("redirect"), "{message}");
}

/// A registry whose every request wants a token from its own `/token`,
/// which `token` answers.
fn token_server(token: impl Fn(&mut TcpStream) + Send + Sync + 'static) -> FaultyServer {
    FaultyServer::start(move |asked, out, me| {
        if asked.path.starts_with("/token") {
            token(out);
        } else {
            answer(
                out,
                "401 Unauthorized",
                &[(
                    "WWW-Authenticate",
                    format!(r#"Bearer realm="http://{me}/token",service="test""#),
                )],
                b"",
            )
        }
    })
}

#[test]
fn token_endpoints_answering_garbage_huge_or_slowly_are_bounded() {
    let server = token_server(|out| answer(out, "200 OK", &[], b"<<<not a token>>>"));
    let json = run_fails(
        &format!("{}/app@{DIGEST}", server.addr),
        &[],
        Duration::from_secs(20),
    );
    assert_eq!(code(&json), "registry-content-malformed", "{json}");

    // 1.5 GiB of token, streamed: cut off at the token limit.
    let server = token_server(|out| {
        let _ =
            out.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1610612736\r\n\r\n{\"token\":\"");
        let chunk = vec![b'a'; 1 << 20];
        for _ in 0..1536 {
            if out.write_all(&chunk).is_err() {
                return;
            }
        }
    });
    let json = run_fails(
        &format!("{}/app@{DIGEST}", server.addr),
        &[],
        Duration::from_secs(20),
    );
    assert_eq!(code(&json), "registry-content-too-large", "{json}");

    // A byte a second: the per-request timeout holds it, not --timeout.
    let server = token_server(|out| {
        let _ = out.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
        for _ in 0..1000 {
            if out.write_all(b" ").is_err() {
                return;
            }
            std::thread::sleep(Duration::from_secs(1));
        }
    });
    let json = run_fails(
        &format!("{}/app@{DIGEST}", server.addr),
        &["--registry-timeout", "2", "--timeout", "60"],
        Duration::from_secs(20),
    );
    assert_eq!(code(&json), "registry-timeout", "{json}");
}

#[test]
fn an_index_with_ten_thousand_children_is_bounded() {
    let children: Vec<serde_json::Value> = (0..10_000)
        .map(|i| {
            json!({
                "mediaType": OCI_MANIFEST,
                "digest": format!("sha256:{:064x}", i),
                "size": 500,
                "platform": {"os": "linux", "architecture": format!("arch{i}")},
            })
        })
        .collect();
    let index = serde_json::to_vec(
        &json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": children}),
    )
    .unwrap();
    let index_digest = digest(&index);
    let server = FaultyServer::start(move |asked, out, _| {
        if asked.path.ends_with("/manifests/v1") {
            answer(
                out,
                "200 OK",
                &[
                    ("Content-Type", OCI_INDEX.into()),
                    ("Docker-Content-Digest", index_digest.clone()),
                ],
                &index,
            );
        } else {
            answer(out, "404 Not Found", &[], b"{}");
        }
    });
    let json = run_fails(
        &format!("{}/app:v1", server.addr),
        &["--platform", "linux/none"],
        Duration::from_secs(20),
    );
    assert_eq!(code(&json), "no-signatures", "{json}");
}

#[test]
fn a_signature_manifest_with_ten_thousand_layers_is_refused_unread() {
    let layers: Vec<serde_json::Value> = (0..10_000)
        .map(|i| {
            json!({
                "mediaType": "application/vnd.dev.cosign.simplesigning.v1+json",
                "digest": format!("sha256:{:064x}", i),
                "size": 300,
                "annotations": {"dev.cosignproject.cosign/signature": "AAAA"},
            })
        })
        .collect();
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": format!("sha256:{:064x}", 0), "size": 2},
        "layers": layers,
    }))
    .unwrap();
    let blob_requests = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&blob_requests);
    let server = FaultyServer::start(move |asked, out, _| {
        if asked.path.contains("/manifests/sha256-") && asked.path.ends_with(".sig") {
            answer(
                out,
                "200 OK",
                &[("Content-Type", OCI_MANIFEST.into())],
                &manifest,
            );
        } else {
            if asked.path.contains("/blobs/") {
                counter.fetch_add(1, Ordering::SeqCst);
            }
            answer(out, "404 Not Found", &[], b"{}");
        }
    });
    let json = run_fails(
        &format!("{}/app@{DIGEST}", server.addr),
        &[],
        Duration::from_secs(20),
    );
    assert_eq!(code(&json), "too-many-signatures", "{json}");
    assert_eq!(blob_requests.load(Ordering::SeqCst), 0);
}

#[test]
fn a_lying_content_length_is_a_transport_error() {
    let server = FaultyServer::start(|_, out, _| {
        let _ = out.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\nContent-Length: 5000\r\nConnection: close\r\n\r\n{\"schemaVersion\":2}",
        );
    });
    let json = run_fails(
        &format!("{}/app@{DIGEST}", server.addr),
        &[],
        Duration::from_secs(30),
    );
    assert_eq!(code(&json), "registry-unreachable", "{json}");
}

#[test]
fn a_slow_rekor_ends_at_the_image_deadline() {
    // A real registry holding a signature without log evidence, so that
    // the log must be asked; the log never answers in time.
    let sigstore = TestSigstore::new();
    let registry = Registry::start();
    let pusher = registry.pusher();
    let image = pusher.image("app", "v1", "linux", "amd64");
    let payload = simple_signing_payload(&format!("{}/app", registry.addr), &image.digest, None);
    let signed = sigstore.sign(&payload, &SignOptions::default()).unwrap();
    let layer = signature_layer(&sigstore, &payload, &signed, false).unwrap();
    pusher.cosign_manifest("app", &format!("sha256-{}.sig", image.hex()), &[layer]);
    let rekor = FaultyServer::start(|_, _out, _| std::thread::sleep(Duration::from_secs(60)));

    let dir = TempDir::new("slow-rekor");
    let root = dir.path().join("trusted_root.json");
    std::fs::write(&root, sigstore.trusted_root_json()).unwrap();
    let identity = SignOptions::default()
        .effective_identity()
        .as_str()
        .to_string();
    let reference = format!("{}/app@{}", registry.addr, image.digest);
    let rekor_url = format!("http://{}", rekor.addr);
    let started = Instant::now();
    let output = verify(&[
        "image",
        &reference,
        "--certificate-identity",
        &identity,
        "--certificate-oidc-issuer",
        ISSUER,
        "--trusted-root",
        root.to_str().unwrap(),
        "--rekor-url",
        &rekor_url,
        "--timeout",
        "3",
        "-o",
        "json",
    ]);
    let took = started.elapsed();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    let json = failure_json(&output);
    assert_eq!(json["verified"], false);
    // The lookup is cut short by the image's deadline; the image ends
    // there too (the referrers read after it finds the time spent).
    assert_eq!(code(&json), "image-deadline-exceeded", "{json}");
}

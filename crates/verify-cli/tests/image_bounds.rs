//! The work and memory one image may cost, whatever its registry serves:
//! the declared payload bytes of its candidates (tag-scheme layers and
//! bundle referrers alike) are bounded before they are read, and a token
//! endpoint or manifest streaming gigabytes without a `Content-Length` is
//! cut off at its limit with the process's peak memory measured
//! (`VmHWM`, read from `/proc` while it runs).

mod image_env;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use image_env::*;
use serde_json::json;
use verify_testkit::TestSigstore;

const ISSUER: &str = verify_testkit::GITHUB_ACTIONS_ISSUER;
const MIB: u64 = 1 << 20;

/// Keyless flags and a trusted root (no signature is ever reached).
fn flags(dir: &TempDir) -> Vec<String> {
    let root = dir.path().join("trusted_root.json");
    std::fs::write(&root, TestSigstore::new().trusted_root_json()).unwrap();
    [
        "--certificate-identity",
        "someone@example.com",
        "--certificate-oidc-issuer",
        ISSUER,
        "--trusted-root",
        root.to_str().unwrap(),
        "-o",
        "json",
    ]
    .map(String::from)
    .to_vec()
}

/// `verify image <image> <flags>`, with its peak resident memory in bytes
/// (the largest `VmHWM` seen while it ran). Killed after 120 s.
fn verify_measured(image: &str) -> (Output, u64) {
    let dir = TempDir::new("bounds");
    let mut child = Command::new(env!("CARGO_BIN_EXE_verify"))
        .arg("image")
        .arg(image)
        .args(flags(&dir))
        .env("DOCKER_CONFIG", "/nonexistent-verify-test-docker-config")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = stdout.read_to_end(&mut b);
        b
    });
    let err = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = stderr.read_to_end(&mut b);
        b
    });
    let status_file = format!("/proc/{}/status", child.id());
    let started = Instant::now();
    let mut peak = 0u64;
    let status = loop {
        if let Ok(text) = std::fs::read_to_string(&status_file) {
            if let Some(kb) = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            {
                peak = peak.max(kb * 1024);
            }
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("verify did not end within 120 s");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let output = Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    };
    assert!(peak > 0, "no VmHWM read for the verify process");
    eprintln!(
        "verify image {image}: peak resident memory {} KiB",
        peak / 1024
    );
    (output, peak)
}

fn code(json: &serde_json::Value) -> &str {
    json["reason"]["code"].as_str().unwrap_or_default()
}

/// Failed (exit 1), nothing verified; its JSON.
fn failed(output: &Output) -> serde_json::Value {
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let json = failure_json(output);
    assert_eq!(json["verified"], false, "{json}");
    json
}

/// A server answering every request with `respond(path, stream, own
/// address)`.
fn raw_server(respond: impl Fn(&str, &mut TcpStream, &str) + Send + Sync + 'static) -> RawServer {
    RawServer::start(move |stream, me| {
        if let Some(head) = read_head(&stream) {
            let mut out = stream;
            respond(&head.path, &mut out, me);
        }
    })
}

/// Write `head`, then up to `total` bytes of `fill` in 1 MiB chunks until
/// the client hangs up; count what was written in `sent`.
fn stream(out: &mut TcpStream, head: &[u8], fill: u8, total: u64, sent: &AtomicU64) {
    if out.write_all(head).is_err() {
        return;
    }
    let chunk = vec![fill; MIB as usize];
    for _ in 0..total / MIB {
        if out.write_all(&chunk).is_err() {
            return;
        }
        sent.fetch_add(MIB, Ordering::SeqCst);
    }
}

const DIGEST: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

#[test]
fn a_token_streamed_without_a_length_is_cut_off_and_memory_stays_bounded() {
    // 1.5 GiB of token, no Content-Length, until the connection closes.
    let sent = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&sent);
    let server = raw_server(move |path, out, me| {
        if !path.starts_with("/token") {
            let challenge = format!(
                "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm=\"http://{me}/token\",service=\"test\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            let _ = out.write_all(challenge.as_bytes());
            return;
        }
        stream(
            out,
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{\"token\":\"",
            b'a',
            1536 * MIB,
            &counter,
        );
    });
    let (output, peak) = verify_measured(&format!("{}/app@{DIGEST}", server.addr));
    let json = failed(&output);
    assert_eq!(code(&json), "registry-content-too-large", "{json}");
    let sent = sent.load(Ordering::SeqCst);
    assert!(
        sent < 64 * MIB,
        "the token endpoint could send {sent} bytes"
    );
    // The 64 KiB token limit, not the 1.5 GiB offered: the whole process
    // stays far below what buffering the answer would take.
    assert!(peak < 200 * MIB, "peak resident memory {peak} bytes");
}

#[test]
fn a_manifest_streamed_without_a_length_is_cut_off_and_memory_stays_bounded() {
    let sent = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&sent);
    let server = raw_server(move |path, out, _| {
        if path == "/v2/" {
            let _ = out
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}");
            return;
        }
        stream(
            out,
            b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\nConnection: close\r\n\r\n",
            b' ',
            1536 * MIB,
            &counter,
        );
    });
    let (output, peak) = verify_measured(&format!("{}/app@{DIGEST}", server.addr));
    let json = failed(&output);
    assert_eq!(code(&json), "registry-content-too-large", "{json}");
    let sent = sent.load(Ordering::SeqCst);
    assert!(sent < 64 * MIB, "the registry could send {sent} bytes");
    assert!(peak < 200 * MIB, "peak resident memory {peak} bytes");
}

/// `count` signature layers (or bundle layers) each declaring `size` bytes.
fn declared_layers(count: usize, size: u64, media_type: &str) -> Vec<serde_json::Value> {
    (0..count)
        .map(|i| {
            json!({
                "mediaType": media_type,
                "digest": format!("sha256:{:064x}", i + 1),
                "size": size,
                "annotations": {"dev.cosignproject.cosign/signature": "AAAA"},
            })
        })
        .collect()
}

fn blob_requests(registry: &MiniRegistry) -> usize {
    registry
        .requests()
        .iter()
        .filter(|r| r.contains("/blobs/"))
        .count()
}

#[test]
fn signature_layers_declaring_more_payload_than_the_work_bound_are_refused_unread() {
    let registry = MiniRegistry::start("app");
    let image = registry.image();
    // 100 layers of 1 MiB each: under the count bound (256), over the
    // 64 MiB of candidate payload verified per image.
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": registry.blob(b"{}"), "size": 2},
        "layers": declared_layers(100, MIB, "application/vnd.dev.cosign.simplesigning.v1+json"),
    }))
    .unwrap();
    registry.manifest(
        &format!("sha256-{}.sig", image.hex()),
        OCI_MANIFEST,
        &manifest,
    );
    let (output, _) = verify_measured(&registry.by_digest(&image));
    let json = failed(&output);
    assert_eq!(code(&json), "signature-payloads-too-large", "{json}");
    assert_eq!(blob_requests(&registry), 0, "{:?}", registry.requests());
}

#[test]
fn bundle_referrers_declaring_more_than_the_work_bound_end_the_image() {
    let registry = MiniRegistry::start("app");
    let image = registry.image();
    // Three referrers whose bundle layers declare 30 MiB each (under the
    // 32 MiB payload limit): the third would take the image past 64 MiB.
    // The bundles are not served, so the first two fail as missing.
    let config = registry.blob(b"{}");
    let referrers: Vec<Pushed> = (0..3)
        .map(|i| {
            let manifest = serde_json::to_vec(&json!({
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "artifactType": BUNDLE_TYPE,
                "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": config, "size": 2},
                "layers": [{"mediaType": BUNDLE_TYPE, "digest": format!("sha256:{:064x}", i + 1), "size": 30 * MIB}],
                "subject": image.descriptor(),
            }))
            .unwrap();
            let pushed = Pushed {
                digest: digest(&manifest),
                bytes: manifest,
                media_type: OCI_MANIFEST.into(),
            };
            registry.manifest(&pushed.digest, OCI_MANIFEST, &pushed.bytes);
            pushed
        })
        .collect();
    registry.referrers(&image, &referrers);
    let (output, _) = verify_measured(&registry.by_digest(&image));
    let json = failed(&output);
    assert_eq!(code(&json), "signature-payloads-too-large", "{json}");
    assert_eq!(blob_requests(&registry), 2, "{:?}", registry.requests());
}

//! `verify-admission api`, as a controller's Deployment runs it: the real
//! binary over real TLS. A call without a client certificate is refused at
//! the handshake (the mTLS gate); a configuration without a registry
//! allowlist refuses to start. Authenticated calls through the same server
//! code are exercised by the Go package's tests (go/).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use verify_testkit::tls::TlsIdentity;

fn write(dir: &std::path::Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn a_call_without_a_client_certificate_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let tls = TlsIdentity::localhost().unwrap();
    let config = write(
        dir.path(),
        "engine.json",
        r#"{"registry": {"allowed": ["127.0.0.1"]}}"#,
    );
    let cert = write(dir.path(), "tls.crt", &tls.cert_pem);
    let key = write(dir.path(), "tls.key", &tls.key_pem);
    let ca = write(dir.path(), "ca.crt", &tls.ca_pem);
    let mut child = Command::new(env!("CARGO_BIN_EXE_verify-admission"))
        .args(["api", "--config", &config, "--cert", &cert, "--key", &key])
        .args(["--client-ca", &ca, "--addr", "127.0.0.1:0"])
        .env("VERIFY_ADMISSION_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The JSON log line names the bound address.
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("the server logs before exiting")
            .unwrap();
        if let Some(i) = line.find("\"addr\":\"") {
            let rest = &line[i + 8..];
            break rest[..rest.find('"').unwrap()].to_string();
        }
    };
    let client = reqwest::blocking::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(tls.ca_pem.as_bytes()).unwrap())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let port = addr.rsplit(':').next().unwrap();
    let result = client
        .post(format!("https://localhost:{port}/v1/verify/image"))
        .body("{}")
        .send();
    let _ = child.kill();
    let _ = child.wait();
    let err = result.expect_err("an unauthenticated call must not be answered");
    assert!(
        !err.is_status(),
        "refused at the TLS handshake, not with an HTTP status: {err}"
    );
}

#[test]
fn a_configuration_without_a_registry_allowlist_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let tls = TlsIdentity::localhost().unwrap();
    let config = write(dir.path(), "engine.json", "{}");
    let cert = write(dir.path(), "tls.crt", &tls.cert_pem);
    let key = write(dir.path(), "tls.key", &tls.key_pem);
    let ca = write(dir.path(), "ca.crt", &tls.ca_pem);
    let out = Command::new(env!("CARGO_BIN_EXE_verify-admission"))
        .args(["api", "--config", &config, "--cert", &cert, "--key", &key])
        .args(["--client-ca", &ca, "--addr", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("allowlist"), "{log}");
}

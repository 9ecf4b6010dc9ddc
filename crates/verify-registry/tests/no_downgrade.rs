//! Never from HTTPS to plain HTTP: a registry spoken to over HTTPS (a
//! loopback host given an extra CA, as with `--registry-cacert`) is not
//! retried in plain HTTP when TLS fails, and a redirect to plain HTTP is not
//! followed. A plain-HTTP server records every request line it can read,
//! so a downgrade would show as a `GET` it received.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use verify_core::oci::{ImageSource, ManifestRef, SourceError};
use verify_registry::{ImageReference, RegistryClient, RegistryConfig, RetryPolicy};
use verify_testkit::tls::TlsIdentity;

/// Every request line a server received.
type Lines = Arc<Mutex<Vec<String>>>;

/// A plain-HTTP server answering 404 to everything, recording each first
/// line it reads (a TLS ClientHello is recorded as what it is not: no line
/// that starts with `GET `).
async fn plain_server() -> (String, Lines) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let lines: Lines = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&lines);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let log = Arc::clone(&log);
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut reader = BufReader::new(read);
                let mut line = Vec::new();
                let _ = tokio::time::timeout(
                    Duration::from_secs(5),
                    reader.read_until(b'\n', &mut line),
                )
                .await;
                log.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&line).into_owned());
                let _ = write
                    .write_all(
                        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    )
                    .await;
            });
        }
    });
    (addr, lines)
}

/// An HTTPS server (certificate for 127.0.0.1) answering every request
/// with a redirect to `location` + the path asked for.
async fn redirecting_tls_server(tls: &TlsIdentity, location: String) -> String {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let certs = rustls::pki_types::CertificateDer::pem_slice_iter(tls.cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = rustls::pki_types::PrivateKeyDer::from_pem_slice(tls.key_pem.as_bytes()).unwrap();
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (acceptor, location) = (acceptor.clone(), location.clone());
            tokio::spawn(async move {
                let Ok(stream) = acceptor.accept(stream).await else {
                    return;
                };
                let (read, mut write) = tokio::io::split(stream);
                let mut reader = BufReader::new(read);
                let mut line = String::new();
                if reader.read_line(&mut line).await.is_err() {
                    return;
                }
                let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).await.is_err() || h.trim().is_empty() {
                        break;
                    }
                }
                let answer = format!(
                    "HTTP/1.1 302 Found\r\nLocation: {location}{path}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
                let _ = write.write_all(answer.as_bytes()).await;
                let _ = write.shutdown().await;
            });
        }
    });
    addr
}

fn https_client(tls: &TlsIdentity) -> RegistryClient {
    RegistryClient::new(RegistryConfig {
        no_docker_config: true,
        ca_certificates_pem: vec![tls.ca_pem.clone().into_bytes()],
        retry: RetryPolicy {
            attempts: 1,
            ..RetryPolicy::default()
        },
        ..RegistryConfig::default()
    })
    .unwrap()
}

async fn read_manifest(client: &RegistryClient, addr: &str) -> Result<(), SourceError> {
    let reference = ImageReference::parse(&format!("{addr}/app:v1")).unwrap();
    client
        .repository(&reference)
        .manifest(&ManifestRef::Tag("v1".into()), 1 << 20)
        .await
        .map(|_| ())
}

fn got_a_request(lines: &Lines) -> bool {
    lines.lock().unwrap().iter().any(|l| l.starts_with("GET "))
}

#[tokio::test]
async fn a_tls_failure_is_not_retried_in_plain_http() {
    let tls = TlsIdentity::localhost().unwrap();
    // A plain-HTTP server where HTTPS is expected.
    let (addr, lines) = plain_server().await;
    let err = read_manifest(&https_client(&tls), &addr).await.unwrap_err();
    assert!(matches!(err, SourceError::Transport { .. }), "{err}");
    // It was spoken to (in TLS), and never asked anything in plain HTTP.
    assert!(
        !lines.lock().unwrap().is_empty(),
        "the server was not reached"
    );
    assert!(!got_a_request(&lines), "{:?}", lines.lock().unwrap());

    // The same server with plain HTTP asked for: a request, a 404.
    let client = RegistryClient::new(RegistryConfig {
        no_docker_config: true,
        allow_http: true,
        ..RegistryConfig::default()
    })
    .unwrap();
    assert!(read_manifest(&client, &addr).await.is_ok());
    assert!(got_a_request(&lines));
}

#[tokio::test]
async fn a_redirect_from_https_to_plain_http_is_not_followed() {
    let tls = TlsIdentity::localhost().unwrap();
    let (plain, lines) = plain_server().await;
    let https = redirecting_tls_server(&tls, format!("http://{plain}")).await;
    let err = read_manifest(&https_client(&tls), &https)
        .await
        .unwrap_err();
    let SourceError::Transport { detail, .. } = &err else {
        panic!("expected a transport error, got {err}");
    };
    assert!(detail.contains("redirect"), "{detail}");
    assert!(!got_a_request(&lines), "{:?}", lines.lock().unwrap());
}

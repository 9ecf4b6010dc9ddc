//! The serving certificate, re-read when its files change.
//!
//! cert-manager renews a Secret in place and kubelet updates the mounted
//! files; the server must pick the new pair up without a restart and
//! without dropping connections. [`ReloadingCert`] is a rustls
//! `ResolvesServerCert`: each handshake takes the pair in force (a cheap
//! `Arc` clone), and [`ReloadingCert::watch`] checks the files' modification
//! times and sizes and swaps in a new pair once both parse and the key
//! matches the certificate. A pair that does not load (a half-written
//! renewal) is logged and the old one stays; established connections are
//! never touched.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// Largest certificate or key file read.
const MAX_PEM: u64 = 1024 * 1024;

/// Why a certificate and key cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    /// A file cannot be read.
    #[error("{path}: {detail}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        detail: String,
    },
    /// The certificate file holds no certificate, or a bad one.
    #[error("{path}: no usable PEM certificate: {detail}")]
    Certificate {
        /// The file.
        path: String,
        /// Why.
        detail: String,
    },
    /// The key file holds no usable private key.
    #[error("{path}: no usable PEM private key: {detail}")]
    Key {
        /// The file.
        path: String,
        /// Why.
        detail: String,
    },
    /// The key is not the certificate's.
    #[error("the private key does not match the certificate: {detail}")]
    Mismatch {
        /// Why.
        detail: String,
    },
}

type Stamp = Option<(SystemTime, u64)>;

/// A certificate resolver reloading its files.
#[derive(Debug)]
pub struct ReloadingCert {
    cert_path: PathBuf,
    key_path: PathBuf,
    provider: Arc<CryptoProvider>,
    current: RwLock<Arc<CertifiedKey>>,
    stamps: RwLock<(Stamp, Stamp)>,
}

impl ReloadingCert {
    /// Load the pair; it must be usable.
    pub fn load(
        cert_path: &Path,
        key_path: &Path,
        provider: Arc<CryptoProvider>,
    ) -> Result<Self, CertError> {
        let stamps = (stamp(cert_path), stamp(key_path));
        let key = load_pair(cert_path, key_path, &provider)?;
        Ok(Self {
            cert_path: cert_path.to_path_buf(),
            key_path: key_path.to_path_buf(),
            provider,
            current: RwLock::new(Arc::new(key)),
            stamps: RwLock::new(stamps),
        })
    }

    /// Reload if either file changed; `Ok(true)` when a new pair is in force.
    /// Blocking (file reads).
    pub fn check(&self) -> Result<bool, CertError> {
        let now = (stamp(&self.cert_path), stamp(&self.key_path));
        if *self.stamps.read().unwrap_or_else(|p| p.into_inner()) == now {
            return Ok(false);
        }
        let key = load_pair(&self.cert_path, &self.key_path, &self.provider)?;
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(key);
        *self.stamps.write().unwrap_or_else(|p| p.into_inner()) = now;
        Ok(true)
    }

    /// Check every `interval`, forever.
    pub async fn watch(self: Arc<Self>, interval: Duration) {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let me = Arc::clone(&self);
            match tokio::task::spawn_blocking(move || me.check()).await {
                Ok(Ok(true)) => {
                    tracing::info!(event = "certificate-reload", result = "success", cert = %self.cert_path.display(), "serving certificate reloaded")
                }
                Ok(Ok(false)) => {}
                Ok(Err(e)) => {
                    tracing::warn!(event = "certificate-reload", result = "failure", error = %e, "new certificate not usable yet; the old one stays")
                }
                Err(_) => {}
            }
        }
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(
            &self.current.read().unwrap_or_else(|p| p.into_inner()),
        ))
    }
}

fn stamp(path: &Path) -> Stamp {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}

fn read(path: &Path) -> Result<Vec<u8>, CertError> {
    let err = |detail: String| CertError::Read {
        path: path.display().to_string(),
        detail,
    };
    let len = std::fs::metadata(path)
        .map_err(|e| err(e.to_string()))?
        .len();
    if len > MAX_PEM {
        return Err(err(format!("larger than {MAX_PEM} bytes")));
    }
    std::fs::read(path).map_err(|e| err(e.to_string()))
}

fn load_pair(
    cert_path: &Path,
    key_path: &Path,
    provider: &CryptoProvider,
) -> Result<CertifiedKey, CertError> {
    let cert_pem = read(cert_path)?;
    let key_pem = read(key_path)?;
    let cert_err = |detail: String| CertError::Certificate {
        path: cert_path.display().to_string(),
        detail,
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| cert_err(e.to_string()))?;
    if certs.is_empty() {
        return Err(cert_err("the file has no CERTIFICATE block".into()));
    }
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| CertError::Key {
        path: key_path.display().to_string(),
        detail: e.to_string(),
    })?;
    let signing = provider
        .key_provider
        .load_private_key(key)
        .map_err(|e| CertError::Key {
            path: key_path.display().to_string(),
            detail: e.to_string(),
        })?;
    let pair = CertifiedKey::new(certs, signing);
    pair.keys_match().map_err(|e| CertError::Mismatch {
        detail: e.to_string(),
    })?;
    Ok(pair)
}

/// The TLS configuration: TLS 1.3 and 1.2 only, HTTP/2 and HTTP/1.1.
pub fn server_config(
    resolver: Arc<ReloadingCert>,
    provider: Arc<CryptoProvider>,
) -> Result<rustls::ServerConfig, rustls::Error> {
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

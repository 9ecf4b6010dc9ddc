//! A real registry for tests: Debian's `docker-registry` started on a
//! loopback port (plain HTTP, HTTPS with a test CA, or htpasswd
//! authentication), and a [`Pusher`] that writes through its API what
//! [`crate::oci`] builds. Feature `registry`.
//!
//! The registry runs with filesystem storage in a temporary directory and
//! is killed when the [`Registry`] is dropped. Every wait is bounded (15 s
//! for it to answer `/v2/`, five ports tried).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::cosign::CosignLayer;
use crate::oci::{self, digest, image_manifest, OciSink, Pushed, TempDir, OCI_MANIFEST};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A running `docker-registry`.
pub struct Registry {
    child: Child,
    /// `127.0.0.1:<port>`.
    pub addr: String,
    /// `http` or `https`.
    pub scheme: &'static str,
    /// The CA that issued its TLS certificate, for HTTPS.
    ca_pem: Option<String>,
    /// The user and password it requires (htpasswd), if any.
    pub auth: Option<(String, String)>,
    _dir: TempDir,
}

impl Registry {
    /// Start a registry with filesystem storage in a temporary directory.
    pub fn start() -> Self {
        Self::start_with(None, None)
    }

    /// Start a registry serving HTTPS with this identity.
    pub fn start_tls(tls: &crate::tls::TlsIdentity) -> Self {
        Self::start_with(Some(tls), None)
    }

    /// Start a registry requiring HTTP Basic credentials (its `htpasswd`
    /// authentication, bcrypt-hashed as it wants them).
    pub fn start_htpasswd(user: &str, password: &str) -> Self {
        Self::start_with(None, Some((user, password)))
    }

    fn start_with(tls: Option<&crate::tls::TlsIdentity>, htpasswd: Option<(&str, &str)>) -> Self {
        let dir = TempDir::new("registry");
        let mut tls_config = String::new();
        let mut auth_config = String::new();
        if let Some((user, password)) = htpasswd {
            let file = dir.path().join("htpasswd");
            let hash = bcrypt::hash(password, 5).expect("bcrypt");
            std::fs::write(&file, format!("{user}:{hash}\n")).unwrap();
            auth_config = format!(
                "auth:\n  htpasswd:\n    realm: verify-test\n    path: {}\n",
                file.display()
            );
        }
        let mut client = reqwest::blocking::Client::builder();
        if let Some(tls) = tls {
            let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
            std::fs::write(&cert, &tls.cert_pem).unwrap();
            std::fs::write(&key, &tls.key_pem).unwrap();
            tls_config = format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                cert.display(),
                key.display()
            );
            client = client.add_root_certificate(
                reqwest::Certificate::from_pem(tls.ca_pem.as_bytes()).unwrap(),
            );
        }
        let client = client.build().unwrap();
        let scheme = if tls.is_some() { "https" } else { "http" };
        for _ in 0..5 {
            let port = free_port();
            let config = dir.path().join("config.yml");
            std::fs::write(
                &config,
                format!(
                    "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n{tls_config}{auth_config}",
                    dir.path().join("data").display()
                ),
            )
            .expect("write registry config");
            let mut child = Command::new("docker-registry")
                .arg("serve")
                .arg(&config)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("docker-registry must be installed (apt install docker-registry)");
            let addr = format!("127.0.0.1:{port}");
            let deadline = Instant::now() + Duration::from_secs(15);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if client
                    .get(format!("{scheme}://{addr}/v2/"))
                    .send()
                    .map(|r| r.status().is_success() || r.status().as_u16() == 401)
                    .unwrap_or(false)
                {
                    return Self {
                        child,
                        addr,
                        scheme,
                        ca_pem: tls.map(|t| t.ca_pem.clone()),
                        auth: htpasswd.map(|(u, p)| (u.to_string(), p.to_string())),
                        _dir: dir,
                    };
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("docker-registry did not start");
    }

    /// The registry's filesystem storage (for tests that tamper with it).
    pub fn storage(&self) -> PathBuf {
        self._dir.path().join("data")
    }

    /// A pusher with this registry's CA and credentials.
    pub fn pusher(&self) -> Pusher {
        let mut client = reqwest::blocking::Client::builder();
        if let Some(ca) = &self.ca_pem {
            client =
                client.add_root_certificate(reqwest::Certificate::from_pem(ca.as_bytes()).unwrap());
        }
        let mut headers = reqwest::header::HeaderMap::new();
        if let Some((user, password)) = &self.auth {
            use base64::Engine as _;
            let basic =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            headers.insert(
                reqwest::header::AUTHORIZATION,
                format!("Basic {basic}").parse().unwrap(),
            );
        }
        Pusher {
            base: format!("{}://{}", self.scheme, self.addr),
            http: client.default_headers(headers).build().unwrap(),
        }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One repository of a registry, as an [`OciSink`].
pub struct Repo<'a> {
    pusher: &'a Pusher,
    repo: &'a str,
}

impl OciSink for Repo<'_> {
    fn blob(&self, bytes: &[u8]) -> String {
        self.pusher.blob(self.repo, bytes)
    }

    fn manifest(&self, reference: &str, media_type: &str, bytes: &[u8]) -> Pushed {
        self.pusher
            .manifest(self.repo, reference, media_type, bytes)
    }
}

/// Pushes blobs and manifests through the registry API.
pub struct Pusher {
    /// `http(s)://127.0.0.1:<port>`.
    pub base: String,
    http: reqwest::blocking::Client,
}

impl Pusher {
    /// `repo` as an [`OciSink`].
    pub fn repo<'a>(&'a self, repo: &'a str) -> Repo<'a> {
        Repo { pusher: self, repo }
    }

    /// A pusher for a plain-HTTP registry at `addr` started elsewhere
    /// (verify-admission's demo and benchmark seeding).
    pub fn for_addr(addr: &str) -> Self {
        Self {
            base: format!("http://{addr}"),
            http: reqwest::blocking::Client::new(),
        }
    }
}

impl Pusher {
    /// Upload a blob to `repo` (POST then PUT); its digest.
    pub fn blob(&self, repo: &str, bytes: &[u8]) -> String {
        let d = digest(bytes);
        let response = self
            .http
            .post(format!("{}/v2/{repo}/blobs/uploads/", self.base))
            .send()
            .expect("start upload");
        assert_eq!(response.status().as_u16(), 202, "start upload");
        let location = response.headers()["location"].to_str().unwrap().to_string();
        let location = if location.starts_with('/') {
            format!("{}{location}", self.base)
        } else {
            location
        };
        let sep = if location.contains('?') { '&' } else { '?' };
        let response = self
            .http
            .put(format!("{location}{sep}digest={d}"))
            .header("content-type", "application/octet-stream")
            .body(bytes.to_vec())
            .send()
            .expect("upload blob");
        assert_eq!(response.status().as_u16(), 201, "upload blob {d}");
        d
    }

    /// Put a manifest in `repo` under `reference` (a tag or digest).
    pub fn manifest(&self, repo: &str, reference: &str, media_type: &str, bytes: &[u8]) -> Pushed {
        let response = self
            .http
            .put(format!("{}/v2/{repo}/manifests/{reference}", self.base))
            .header("content-type", media_type)
            .body(bytes.to_vec())
            .send()
            .expect("put manifest");
        let status = response.status().as_u16();
        assert_eq!(
            status,
            201,
            "put manifest {repo}:{reference}: {:?}",
            response.text()
        );
        Pushed {
            digest: digest(bytes),
            bytes: bytes.to_vec(),
            media_type: media_type.into(),
        }
    }

    /// A small random image (config and one layer) for `os/arch`.
    pub fn image(&self, repo: &str, tag: &str, os: &str, arch: &str) -> Pushed {
        oci::image(&self.repo(repo), tag, os, arch)
    }

    /// A multi-platform index over fresh images, tagged `tag`.
    pub fn index(
        &self,
        repo: &str,
        tag: &str,
        platforms: &[(&str, &str)],
    ) -> (Pushed, Vec<Pushed>) {
        oci::index(&self.repo(repo), tag, platforms)
    }

    /// cosign's `.sig`/`.att` manifest of these layers, under `tag`.
    pub fn cosign_manifest(&self, repo: &str, tag: &str, layers: &[CosignLayer]) -> Pushed {
        oci::cosign_manifest(&self.repo(repo), tag, layers)
    }

    /// Attach Sigstore bundles to `subject` as OCI referrers, listed in the
    /// referrers tag schema (`sha256-<hex>`), as cosign v3 does on a
    /// registry without the referrers API.
    pub fn bundle_referrers(
        &self,
        repo: &str,
        subject: &Pushed,
        bundles: &[Vec<u8>],
    ) -> Vec<Pushed> {
        let sink = self.repo(repo);
        let referrers: Vec<Pushed> = bundles
            .iter()
            .map(|bundle| oci::bundle_referrer(&sink, subject, bundle))
            .collect();
        oci::referrers_index(&sink, subject, &referrers);
        referrers
    }

    /// Push an OCI layout (cosign save format) byte for byte: every manifest
    /// it lists (with what they reference), the image by digest and as
    /// `tag`, its signatures and attestations under cosign's tags.
    pub fn layout(&self, repo: &str, layout: &Path, tag: &str) -> String {
        let index: serde_json::Value =
            serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
        let read = |d: &str| {
            std::fs::read(
                layout
                    .join("blobs/sha256")
                    .join(d.trim_start_matches("sha256:")),
            )
            .unwrap()
        };
        let mut image = None;
        let mut tagged = Vec::new();
        for entry in index["manifests"].as_array().unwrap() {
            let d = entry["digest"].as_str().unwrap().to_string();
            let media_type = entry["mediaType"].as_str().unwrap().to_string();
            self.push_tree(repo, &d, &media_type, &read);
            match entry["annotations"]["kind"].as_str() {
                Some("dev.cosignproject.cosign/imageIndex") => image = Some(d),
                Some("dev.cosignproject.cosign/image") if image.is_none() => image = Some(d),
                Some("dev.cosignproject.cosign/atts") => tagged.push((d, media_type, "att")),
                Some("dev.cosignproject.cosign/sigs") => tagged.push((d, media_type, "sig")),
                _ => {}
            }
        }
        let image = image.expect("layout has an image");
        let image_bytes = read(&image);
        let media_type = serde_json::from_slice::<serde_json::Value>(&image_bytes).unwrap()
            ["mediaType"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| "application/vnd.docker.distribution.manifest.v2+json".into());
        self.manifest(repo, tag, &media_type, &image_bytes);
        for (d, media_type, suffix) in tagged {
            self.manifest(
                repo,
                &format!("sha256-{}.{suffix}", image.trim_start_matches("sha256:")),
                &media_type,
                &read(&d),
            );
        }
        image
    }

    fn push_tree(&self, repo: &str, d: &str, media_type: &str, read: &dyn Fn(&str) -> Vec<u8>) {
        let bytes = read(d);
        let manifest: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        if let Some(children) = manifest["manifests"].as_array() {
            for child in children {
                self.push_tree(
                    repo,
                    child["digest"].as_str().unwrap(),
                    child["mediaType"].as_str().unwrap(),
                    read,
                );
            }
        } else {
            let mut blobs = vec![manifest["config"]["digest"].as_str().unwrap().to_string()];
            for layer in manifest["layers"].as_array().into_iter().flatten() {
                blobs.push(layer["digest"].as_str().unwrap().to_string());
            }
            for blob in blobs {
                let data = read(&blob);
                assert_eq!(digest(&data), blob, "layout blob");
                self.blob(repo, &data);
            }
        }
        self.manifest(repo, d, media_type, &bytes);
    }
}

/// Write a one-image OCI layout (tag `latest`) and push it with `skopeo`.
pub fn skopeo_push(registry: &Registry, repo: &str, tag: &str) -> Pushed {
    let dir = TempDir::new("skopeo");
    let (manifest, blobs) = image_manifest("linux", "amd64");
    let blob_dir = dir.path().join("blobs/sha256");
    std::fs::create_dir_all(&blob_dir).unwrap();
    for blob in blobs.iter().chain(std::iter::once(&manifest)) {
        std::fs::write(
            blob_dir.join(digest(blob).trim_start_matches("sha256:")),
            blob,
        )
        .unwrap();
    }
    std::fs::write(
        dir.path().join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();
    let index = json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": OCI_MANIFEST, "digest": digest(&manifest), "size": manifest.len(),
            "annotations": {"org.opencontainers.image.ref.name": "latest"},
        }],
    });
    std::fs::write(
        dir.path().join("index.json"),
        serde_json::to_vec(&index).unwrap(),
    )
    .unwrap();
    let output = Command::new("skopeo")
        .args([
            "copy",
            "--quiet",
            "--preserve-digests",
            "--dest-tls-verify=false",
        ])
        .arg(format!("oci:{}:latest", dir.path().display()))
        .arg(format!("docker://{}/{repo}:{tag}", registry.addr))
        .output()
        .expect("skopeo must be installed (apt install skopeo)");
    assert!(
        output.status.success(),
        "skopeo copy: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Pushed {
        digest: digest(&manifest),
        bytes: manifest,
        media_type: OCI_MANIFEST.into(),
    }
}

/// What an image test starts from: a [`Registry`] on loopback with its
/// [`Pusher`], a [`TestSigstore`](crate::TestSigstore), and that
/// Sigstore's trusted root written to `root` in a temporary directory.
pub struct World {
    /// The Sigstore that signs.
    pub sigstore: crate::TestSigstore,
    /// The running registry.
    pub registry: Registry,
    /// Writes to the registry.
    pub pusher: Pusher,
    /// The world's temporary directory (removed when dropped).
    pub dir: TempDir,
    /// The Sigstore's `trusted_root.json`, in `dir`.
    pub root: PathBuf,
}

impl World {
    /// A new world; `label` names its temporary directory.
    pub fn new(label: &str) -> Self {
        let sigstore = crate::TestSigstore::new();
        let registry = Registry::start();
        let pusher = registry.pusher();
        let dir = TempDir::new(label);
        let root = dir.path().join("trusted_root.json");
        std::fs::write(&root, sigstore.trusted_root_json()).expect("write the trusted root");
        Self {
            sigstore,
            registry,
            pusher,
            dir,
            root,
        }
    }

    /// `127.0.0.1:<port>` of the registry.
    pub fn addr(&self) -> &str {
        &self.registry.addr
    }
}

/// Sign `image` (pushed as `repo` on the registry at `addr`) keylessly as
/// `options` say, and push the signature, its bundle annotation included,
/// under cosign's `.sig` tag.
pub fn sign_image(
    sigstore: &crate::TestSigstore,
    pusher: &Pusher,
    addr: &str,
    repo: &str,
    image: &Pushed,
    options: &crate::SignOptions,
) {
    let payload =
        crate::cosign::simple_signing_payload(&format!("{addr}/{repo}"), &image.digest, None);
    let signed = sigstore.sign(&payload, options).expect("sign");
    let layer = crate::cosign::signature_layer(sigstore, &payload, &signed, true).expect("layer");
    pusher.cosign_manifest(repo, &format!("sha256-{}.sig", image.hex()), &[layer]);
}

//! Registry credentials, found as `docker` and cosign find them.
//!
//! In order: the explicit `--registry-username`/`--registry-password`; then
//! the Docker client configuration (`$DOCKER_CONFIG/config.json`, else
//! `~/.docker/config.json`): a credential helper for the registry
//! (`credHelpers`), an `auths` entry (`auth` = base64 `user:password`, or
//! `username`/`password`, or an `identitytoken`), then the default helper
//! (`credsStore`); else anonymous.
//!
//! Helpers are the `docker-credential-<name>` programs, run with `get` and
//! the registry on standard input, bounded in time and output. They run as
//! child processes awaited on the caller's runtime (`tokio::process`): no
//! thread sleeps or blocks waiting for them, no lock is held meanwhile, and
//! one that overruns its time is killed.
//!
//! Every credential is for one registry host: [`Credentials`] maps hosts to
//! credentials, and a lookup for a host never answers with another's.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::Deserialize;

/// Credentials for one registry.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// No credentials.
    Anonymous,
    /// A user name and password (or token) for Basic auth and token requests.
    Basic {
        /// User name.
        username: String,
        /// Password or token.
        password: String,
    },
}

impl Credential {
    /// A stable, non-reversible name for this credential (SHA-256 of its
    /// parts), under which the tokens it obtained are cached: a token is
    /// reused only for the same credential.
    pub fn fingerprint(&self) -> String {
        match self {
            Self::Anonymous => "anonymous".into(),
            Self::Basic { username, password } => {
                let mut h = verify_core::digest::Sha256::new();
                h.update(username.as_bytes());
                h.update([0]);
                h.update(password.as_bytes());
                hex::encode(h.finish())
            }
        }
    }
}

/// Credentials by registry host, each used for its own host only.
///
/// A server builds one per verification from the tenant's pull secrets
/// ([`Credentials::from_docker_config_json`], the `.dockerconfigjson` of a
/// Kubernetes secret) and passes it with the repository
/// ([`crate::Repository::with_credentials`]).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    by_host: BTreeMap<String, Credential>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.by_host.iter()).finish()
    }
}

impl Credentials {
    /// No credentials: every registry anonymously.
    pub fn new() -> Self {
        Self::default()
    }

    /// `credential` for `registry` (a host with its port, as in image
    /// references; Docker Hub as `docker.io` or `index.docker.io`).
    pub fn insert(&mut self, registry: &str, credential: Credential) {
        self.by_host.insert(canonical_host(registry), credential);
    }

    /// This set with `credential` for `registry`.
    pub fn with(mut self, registry: &str, credential: Credential) -> Self {
        self.insert(registry, credential);
        self
    }

    /// The credential for `registry`, if one was given for it.
    pub fn get(&self, registry: &str) -> Option<&Credential> {
        self.by_host.get(&canonical_host(registry))
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.by_host.is_empty()
    }

    /// The `auths` of a Docker configuration (a Kubernetes
    /// `.dockerconfigjson` pull secret): each entry for its host. Helpers
    /// and `credsStore` are not run: a server's credentials come with the
    /// request, not from programs on the server.
    pub fn from_docker_config_json(bytes: &[u8]) -> Result<Self, CredentialError> {
        let bad = |detail: String| CredentialError::Config {
            path: "<docker config json>".into(),
            detail,
        };
        if bytes.len() as u64 > MAX_CONFIG_BYTES {
            return Err(bad(format!("larger than {MAX_CONFIG_BYTES} bytes")));
        }
        let config: DockerConfig = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
        let mut set = Self::new();
        for (key, entry) in &config.auths {
            if let Some(credential) =
                decode_entry(entry).map_err(|d| bad(format!("auths[{key}]: {d}")))?
            {
                set.insert(&host_of_key(key), credential);
            }
        }
        Ok(set)
    }
}

/// The host an `auths` key names (`https://host/v1/` → `host`).
fn host_of_key(key: &str) -> String {
    let rest = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    rest.split('/').next().unwrap_or(rest).to_string()
}

/// One name per host: Docker Hub's aliases are one registry.
fn canonical_host(registry: &str) -> String {
    let host = host_of_key(registry).to_ascii_lowercase();
    match host.as_str() {
        "docker.io" | "registry-1.docker.io" => "index.docker.io".into(),
        _ => host,
    }
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Anonymous => f.write_str("Anonymous"),
            Self::Basic { username, .. } => write!(f, "Basic({username}, <redacted>)"),
        }
    }
}

/// Why credentials could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialError {
    /// The Docker configuration could not be read or parsed.
    #[error("docker config {path}: {detail}")]
    Config {
        /// The file.
        path: String,
        /// Why.
        detail: String,
    },
    /// A credential helper failed.
    #[error("credential helper docker-credential-{helper} for {registry}: {detail}")]
    Helper {
        /// The helper name.
        helper: String,
        /// The registry.
        registry: String,
        /// Why.
        detail: String,
    },
}

/// Largest Docker configuration read.
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;
/// Longest a credential helper may run.
const HELPER_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest helper output read.
const MAX_HELPER_OUTPUT: u64 = 64 * 1024;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct DockerConfig {
    #[serde(default)]
    auths: std::collections::BTreeMap<String, AuthEntry>,
    #[serde(default)]
    cred_helpers: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    creds_store: Option<String>,
}

#[derive(Deserialize, Default)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
}

/// The Docker configuration file in effect: `$DOCKER_CONFIG/config.json`,
/// else `$HOME/.docker/config.json`.
pub fn docker_config_path() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".docker").join("config.json"))
}

/// The credentials for `registry` (a host, with port if any, as it appears
/// in image references; Docker Hub as `index.docker.io`) from the Docker
/// configuration at `config` (absent: anonymous).
pub async fn from_docker_config(
    config: Option<&Path>,
    registry: &str,
) -> Result<Credential, CredentialError> {
    let Some(path) = config else {
        return Ok(Credential::Anonymous);
    };
    // `tokio::fs` runs the reads on the caller's runtime's blocking pool
    // (current-thread runtimes have one too), so a slow file system stalls
    // no task; at most one byte past the limit is read.
    let config = match tokio::fs::File::open(path).await {
        Ok(file) => {
            let mut bytes = Vec::new();
            file.take(MAX_CONFIG_BYTES + 1)
                .read_to_end(&mut bytes)
                .await
                .map_err(|e| CredentialError::Config {
                    path: path.display().to_string(),
                    detail: e.to_string(),
                })?;
            if bytes.len() as u64 > MAX_CONFIG_BYTES {
                return Err(CredentialError::Config {
                    path: path.display().to_string(),
                    detail: format!("larger than {MAX_CONFIG_BYTES} bytes"),
                });
            }
            serde_json::from_slice::<DockerConfig>(&bytes).map_err(|e| CredentialError::Config {
                path: path.display().to_string(),
                detail: e.to_string(),
            })?
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Credential::Anonymous),
        Err(e) => {
            return Err(CredentialError::Config {
                path: path.display().to_string(),
                detail: e.to_string(),
            })
        }
    };
    let keys = config_keys(registry);
    if let Some(helper) = keys.iter().find_map(|k| config.cred_helpers.get(k)) {
        return run_helper(helper, &keys[0]).await;
    }
    if let Some(entry) = keys.iter().find_map(|k| config.auths.get(k)) {
        if let Some(credential) = decode_entry(entry).map_err(|detail| CredentialError::Config {
            path: path.display().to_string(),
            detail: format!("auths[{registry}]: {detail}"),
        })? {
            return Ok(credential);
        }
    }
    if let Some(store) = config.creds_store.as_deref().filter(|s| !s.is_empty()) {
        return run_helper(store, &keys[0]).await;
    }
    Ok(Credential::Anonymous)
}

/// The keys a registry may be filed under in `config.json`.
fn config_keys(registry: &str) -> Vec<String> {
    if matches!(
        registry,
        "index.docker.io" | "docker.io" | "registry-1.docker.io"
    ) {
        return vec![
            "https://index.docker.io/v1/".into(),
            "index.docker.io".into(),
            "docker.io".into(),
            "registry-1.docker.io".into(),
        ];
    }
    vec![
        registry.to_string(),
        format!("https://{registry}"),
        format!("http://{registry}"),
        format!("https://{registry}/v1/"),
        format!("https://{registry}/v2/"),
    ]
}

fn decode_entry(entry: &AuthEntry) -> Result<Option<Credential>, String> {
    if let Some(auth) = entry.auth.as_deref().filter(|a| !a.is_empty()) {
        let decoded = STANDARD
            .decode(auth.trim())
            .map_err(|e| format!("auth is not base64: {e}"))?;
        let decoded = String::from_utf8(decoded).map_err(|_| "auth is not UTF-8".to_string())?;
        let (username, password) = decoded.split_once(':').ok_or("auth is not user:password")?;
        return Ok(Some(Credential::Basic {
            username: username.into(),
            password: password.into(),
        }));
    }
    if let (Some(username), Some(password)) = (&entry.username, &entry.password) {
        return Ok(Some(Credential::Basic {
            username: username.clone(),
            password: password.clone(),
        }));
    }
    if let Some(token) = entry.identitytoken.as_deref().filter(|t| !t.is_empty()) {
        return Ok(Some(Credential::Basic {
            username: "<token>".into(),
            password: token.into(),
        }));
    }
    Ok(None)
}

/// Run `docker-credential-<helper> get` for `server`, on the caller's
/// runtime, killed after [`HELPER_TIMEOUT`].
async fn run_helper(helper: &str, server: &str) -> Result<Credential, CredentialError> {
    let fail = |detail: String| CredentialError::Helper {
        helper: helper.to_string(),
        registry: server.to_string(),
        detail,
    };
    if helper.is_empty() || helper.contains(['/', '\\']) {
        return Err(fail("not a helper name".into()));
    }
    let mut child = tokio::process::Command::new(format!("docker-credential-{helper}"))
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| fail(format!("cannot run it: {e}")))?;
    let mut stdin = child.stdin.take();
    let mut stdout = child
        .stdout
        .take()
        .ok_or_else(|| fail("no output".into()))?;
    let run = async {
        if let Some(stdin) = stdin.as_mut() {
            stdin.write_all(server.as_bytes()).await?;
        }
        drop(stdin.take());
        let mut out = Vec::new();
        (&mut stdout)
            .take(MAX_HELPER_OUTPUT)
            .read_to_end(&mut out)
            .await?;
        let status = child.wait().await?;
        Ok::<_, std::io::Error>((status, out))
    };
    let (status, out) = match tokio::time::timeout(HELPER_TIMEOUT, run).await {
        Ok(Ok(done)) => done,
        Ok(Err(e)) => return Err(fail(e.to_string())),
        // The child is killed when dropped (kill_on_drop).
        Err(_) => {
            return Err(fail(format!(
                "no answer within {} s",
                HELPER_TIMEOUT.as_secs()
            )))
        }
    };
    if !status.success() {
        let text = String::from_utf8_lossy(&out);
        // "credentials not found in native keychain": no credentials.
        if text.to_ascii_lowercase().contains("not found") {
            return Ok(Credential::Anonymous);
        }
        return Err(fail(format!("exited with {status}: {}", text.trim())));
    }
    #[derive(Deserialize)]
    struct Answer {
        #[serde(rename = "Username", default)]
        username: String,
        #[serde(rename = "Secret", default)]
        secret: String,
    }
    let answer: Answer =
        serde_json::from_slice(&out).map_err(|e| fail(format!("unreadable answer: {e}")))?;
    if answer.secret.is_empty() {
        return Ok(Credential::Anonymous);
    }
    Ok(Credential::Basic {
        username: answer.username,
        password: answer.secret,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reads_auths_entries() {
        let dir = std::env::temp_dir().join(format!("verify-cred-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("config.json");
        std::fs::write(
            &path,
            serde_json::json!({
                "auths": {
                    "registry.test:5000": {"auth": STANDARD.encode("alice:s3cret")},
                    "https://index.docker.io/v1/": {"username": "bob", "password": "pw"},
                }
            })
            .to_string(),
        )
        .unwrap();
        assert_eq!(
            from_docker_config(Some(&path), "registry.test:5000")
                .await
                .unwrap(),
            Credential::Basic {
                username: "alice".into(),
                password: "s3cret".into()
            }
        );
        assert_eq!(
            from_docker_config(Some(&path), "index.docker.io")
                .await
                .unwrap(),
            Credential::Basic {
                username: "bob".into(),
                password: "pw".into()
            }
        );
        assert_eq!(
            from_docker_config(Some(&path), "other.test").await.unwrap(),
            Credential::Anonymous
        );
        assert_eq!(
            from_docker_config(Some(&dir.join("missing.json")), "x")
                .await
                .unwrap(),
            Credential::Anonymous
        );
        std::fs::write(&path, "{not json").unwrap();
        assert!(matches!(
            from_docker_config(Some(&path), "x").await,
            Err(CredentialError::Config { .. })
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// The file is read on the test's current-thread runtime (as the CLI's)
    /// through `tokio::fs`, up to the limit and not one byte further.
    #[tokio::test]
    async fn the_configuration_is_bounded() {
        let dir = std::env::temp_dir().join(format!("verify-cred-max-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("config.json");
        let auths =
            serde_json::json!({"auths": {"registry.test": {"username": "u", "password": "p"}}})
                .to_string();
        let padded = |len: u64| format!("{auths}{}", " ".repeat(len as usize - auths.len()));
        std::fs::write(&path, padded(MAX_CONFIG_BYTES)).unwrap();
        assert_eq!(
            from_docker_config(Some(&path), "registry.test")
                .await
                .unwrap(),
            Credential::Basic {
                username: "u".into(),
                password: "p".into()
            }
        );
        std::fs::write(&path, padded(MAX_CONFIG_BYTES + 1)).unwrap();
        match from_docker_config(Some(&path), "registry.test").await {
            Err(CredentialError::Config { detail, .. }) => {
                assert_eq!(detail, format!("larger than {MAX_CONFIG_BYTES} bytes"))
            }
            other => panic!("expected a size error, got {other:?}"),
        }
        // A directory cannot be read: an error, not anonymous.
        assert!(matches!(
            from_docker_config(Some(&dir), "registry.test").await,
            Err(CredentialError::Config { .. })
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn credentials_are_per_host() {
        let set = Credentials::from_docker_config_json(
            serde_json::json!({"auths": {
                "https://index.docker.io/v1/": {"auth": STANDARD.encode("hub:pw")},
                "registry.a:5000": {"username": "a", "password": "pa"},
            }})
            .to_string()
            .as_bytes(),
        )
        .unwrap();
        assert!(
            matches!(set.get("docker.io"), Some(Credential::Basic { username, .. }) if username == "hub")
        );
        assert!(
            matches!(set.get("registry.a:5000"), Some(Credential::Basic { username, .. }) if username == "a")
        );
        assert_eq!(set.get("registry.a"), None);
        assert_eq!(set.get("registry.b:5000"), None);
        let a = Credential::Basic {
            username: "u".into(),
            password: "p".into(),
        };
        let b = Credential::Basic {
            username: "u".into(),
            password: "q".into(),
        };
        assert_ne!(a.fingerprint(), b.fingerprint());
        assert!(!format!("{set:?}").contains("pa"), "{set:?}");
    }

    #[tokio::test]
    async fn a_missing_helper_is_an_error() {
        let dir = std::env::temp_dir().join(format!("verify-helper-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("config.json");
        std::fs::write(
            &path,
            r#"{"credHelpers":{"registry.test":"verify-test-no-such-helper"}}"#,
        )
        .unwrap();
        assert!(matches!(
            from_docker_config(Some(&path), "registry.test").await,
            Err(CredentialError::Helper { .. })
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }
}

//! Registry credentials per tenant: the pod's `imagePullSecrets` and its
//! ServiceAccount's, read through the Kubernetes API, as kubelet would use
//! them to pull.
//!
//! Each credential is kept with the registry (and path prefix) it was
//! written for and is offered only to that registry; credentials are read
//! per request from the request's own namespace, so one tenant's secret is
//! never used for another tenant's pod. Secrets or ServiceAccounts that do
//! not exist are skipped (kubelet pulls without them); an API server that
//! cannot be read is logged and the check goes on with what is left: the
//! verification itself still has to pass, so nothing is admitted unproven.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use k8s_openapi::api::core::v1::{Secret, ServiceAccount};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};
use serde::Deserialize;
use serde_json::Value;
use verify_core::digest::Sha256;

/// Most pull secrets read for one pod (pod and ServiceAccount together).
const MAX_SECRETS: usize = 32;
/// Time allowed for each API server GET.
const API_TIMEOUT: Duration = Duration::from_secs(3);

/// One registry credential and where it may be sent.
#[derive(Clone, PartialEq, Eq)]
pub struct RegistryCredential {
    /// The registry host (`index.docker.io` for Docker Hub).
    pub registry: String,
    /// Repository path prefix the entry was written for ("" for the whole registry).
    pub path: String,
    /// User name.
    pub username: String,
    /// Password or token.
    pub password: String,
    /// Where it came from (`namespace/secret`), for logs.
    pub source: String,
}

impl std::fmt::Debug for RegistryCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "RegistryCredential({}/{} from {}, user {}, <redacted>)",
            self.registry, self.path, self.source, self.username
        )
    }
}

impl RegistryCredential {
    /// A stable, non-reversible name for the secret (for cache keys).
    pub fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        for part in [&self.registry, &self.username, &self.password] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        hex::encode(&h.finish()[..12])
    }
}

/// The credentials one pod may use, most preferred first.
#[derive(Debug, Clone, Default)]
pub struct TenantCredentials {
    /// Pod secrets first, then the ServiceAccount's.
    pub entries: Vec<RegistryCredential>,
}

impl TenantCredentials {
    /// The credential for `repository` on `host`: the entry with the
    /// longest matching path prefix, earlier entries winning ties.
    pub fn for_image(&self, host: &str, repository: &str) -> Option<&RegistryCredential> {
        let host = canonical_host(host);
        let mut best: Option<&RegistryCredential> = None;
        for entry in &self.entries {
            if entry.registry != host || !path_matches(&entry.path, repository) {
                continue;
            }
            if best.is_none_or(|b| entry.path.len() > b.path.len()) {
                best = Some(entry);
            }
        }
        best
    }
}

fn path_matches(prefix: &str, repository: &str) -> bool {
    prefix.is_empty()
        || repository == prefix
        || repository
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('/'))
}

fn canonical_host(host: &str) -> String {
    let host = host.to_ascii_lowercase();
    match host.as_str() {
        "docker.io" | "registry-1.docker.io" => "index.docker.io".into(),
        _ => host,
    }
}

/// Why a pull secret cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PullSecretError {
    /// Not a Docker config.
    #[error("{source_name}: not a Docker config: {detail}")]
    Malformed {
        /// `namespace/secret`.
        source_name: String,
        /// Why.
        detail: String,
    },
    /// The Kubernetes client could not be configured.
    #[error("kubernetes client: {0}")]
    Client(String),
}

#[derive(Deserialize)]
struct DockerConfig {
    #[serde(default)]
    auths: std::collections::BTreeMap<String, AuthEntry>,
}

#[derive(Deserialize, Default)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

/// The credentials in a `.dockerconfigjson` (`{"auths": {...}}`) or legacy
/// `.dockercfg` (the `auths` map itself) document.
pub fn parse_docker_config(
    bytes: &[u8],
    legacy: bool,
    source_name: &str,
) -> Result<Vec<RegistryCredential>, PullSecretError> {
    let malformed = |detail: String| PullSecretError::Malformed {
        source_name: source_name.into(),
        detail,
    };
    let auths = if legacy {
        serde_json::from_slice(bytes).map_err(|e| malformed(e.to_string()))?
    } else {
        serde_json::from_slice::<DockerConfig>(bytes)
            .map_err(|e| malformed(e.to_string()))?
            .auths
    };
    let mut out = Vec::new();
    for (key, entry) in auths {
        let (username, password) = match (&entry.auth, &entry.username, &entry.password) {
            (Some(auth), _, _) if !auth.is_empty() => {
                let decoded = STANDARD
                    .decode(auth.trim())
                    .map_err(|e| malformed(format!("{key}: auth: {e}")))?;
                let text = String::from_utf8(decoded)
                    .map_err(|_| malformed(format!("{key}: auth is not UTF-8")))?;
                let (u, p) = text
                    .split_once(':')
                    .ok_or_else(|| malformed(format!("{key}: auth is not user:password")))?;
                (u.to_string(), p.to_string())
            }
            (_, Some(u), Some(p)) => (u.clone(), p.clone()),
            _ => continue,
        };
        let (registry, path) = split_key(&key);
        out.push(RegistryCredential {
            registry,
            path,
            username,
            password,
            source: source_name.into(),
        });
    }
    Ok(out)
}

/// `https://index.docker.io/v1/` → (`index.docker.io`, ""); `host/a/b` → (`host`, `a/b`).
fn split_key(key: &str) -> (String, String) {
    let rest = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let path = path.trim_end_matches('/');
    let path = match path {
        "v1" | "v2" => "",
        p => p,
    };
    (canonical_host(host), path.to_string())
}

/// Reads pull secrets through the Kubernetes API.
#[derive(Clone)]
pub struct PullSecrets {
    client: Option<Client>,
}

impl PullSecrets {
    /// No API access: only the shared Docker config is used.
    pub fn disabled() -> Self {
        Self { client: None }
    }

    /// A client from `--kubeconfig` (and `--kube-api`, which overrides its
    /// server), or the in-cluster configuration when running in a pod.
    pub async fn connect(
        kube_api: Option<&str>,
        kubeconfig: Option<&Path>,
    ) -> Result<Self, PullSecretError> {
        let err = |e: &dyn std::fmt::Display| PullSecretError::Client(e.to_string());
        let mut config = match kubeconfig {
            Some(path) => {
                let kc = Kubeconfig::read_from(path).map_err(|e| err(&e))?;
                Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
                    .await
                    .map_err(|e| err(&e))?
            }
            None => match kube_api {
                Some(url) => Config::new(url.parse().map_err(|e| err(&e))?),
                None => Config::incluster().map_err(|e| err(&e))?,
            },
        };
        if let Some(url) = kube_api {
            config.cluster_url = url.parse().map_err(|e| err(&e))?;
        }
        config.read_timeout = Some(API_TIMEOUT);
        config.connect_timeout = Some(API_TIMEOUT);
        let client = Client::try_from(config).map_err(|e| err(&e))?;
        Ok(Self {
            client: Some(client),
        })
    }

    /// Whether the API is read at all.
    pub fn enabled(&self) -> bool {
        self.client.is_some()
    }

    /// The credentials the pod in `namespace` with `pod_spec` may use.
    pub async fn for_pod(&self, namespace: &str, pod_spec: &Value) -> TenantCredentials {
        let Some(client) = &self.client else {
            return TenantCredentials::default();
        };
        if namespace.is_empty() {
            return TenantCredentials::default();
        }
        let mut names: Vec<String> = secret_names(pod_spec.get("imagePullSecrets"));
        let account = pod_spec
            .get("serviceAccountName")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .unwrap_or("default");
        let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), namespace);
        match tokio::time::timeout(API_TIMEOUT, accounts.get_opt(account)).await {
            Ok(Ok(Some(sa))) => {
                let listed = serde_json::to_value(&sa.image_pull_secrets).unwrap_or(Value::Null);
                names.extend(secret_names(Some(&listed)));
            }
            Ok(Ok(None)) => {}
            Ok(Err(e)) => {
                tracing::warn!(namespace, account, error = %e, "cannot read the ServiceAccount's imagePullSecrets")
            }
            Err(_) => tracing::warn!(namespace, account, "reading the ServiceAccount timed out"),
        }
        let mut seen = BTreeSet::new();
        names.retain(|n| seen.insert(n.clone()));
        names.truncate(MAX_SECRETS);
        let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
        let mut out = TenantCredentials::default();
        for name in names {
            let source = format!("{namespace}/{name}");
            let secret = match tokio::time::timeout(API_TIMEOUT, secrets.get_opt(&name)).await {
                Ok(Ok(Some(s))) => s,
                Ok(Ok(None)) => continue,
                Ok(Err(e)) => {
                    tracing::warn!(secret = %source, error = %e, "cannot read pull secret");
                    continue;
                }
                Err(_) => {
                    tracing::warn!(secret = %source, "reading pull secret timed out");
                    continue;
                }
            };
            let data = secret.data.unwrap_or_default();
            let parsed = match (data.get(".dockerconfigjson"), data.get(".dockercfg")) {
                (Some(json), _) => parse_docker_config(&json.0, false, &source),
                (None, Some(cfg)) => parse_docker_config(&cfg.0, true, &source),
                (None, None) => continue,
            };
            match parsed {
                Ok(entries) => out.entries.extend(entries),
                Err(e) => tracing::warn!(error = %e, "unusable pull secret"),
            }
        }
        out
    }
}

fn secret_names(list: Option<&Value>) -> Vec<String> {
    list.and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i.get("name").and_then(Value::as_str))
                .filter(|n| !n.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_scoped_to_their_registry_and_path() {
        let config = serde_json::json!({"auths": {
            "https://index.docker.io/v1/": {"auth": STANDARD.encode("hub:pw")},
            "127.0.0.1:5000/team-a": {"username": "a", "password": "pa"},
            "127.0.0.1:5000": {"username": "any", "password": "p"},
        }});
        let entries = parse_docker_config(config.to_string().as_bytes(), false, "ns/s").unwrap();
        let creds = TenantCredentials { entries };
        assert_eq!(
            creds.for_image("docker.io", "library/x").unwrap().username,
            "hub"
        );
        assert_eq!(
            creds
                .for_image("127.0.0.1:5000", "team-a/app")
                .unwrap()
                .username,
            "a"
        );
        assert_eq!(
            creds
                .for_image("127.0.0.1:5000", "team-ab/app")
                .unwrap()
                .username,
            "any"
        );
        assert!(creds.for_image("127.0.0.1:5001", "team-a/app").is_none());
        assert!(creds.for_image("ghcr.io", "x").is_none());
    }
}

//! The webhook tests' world: the real `verify-admission` binary serving
//! HTTPS on a loopback port, Debian's `docker-registry` (started by
//! verify-testkit's `registry` helpers), images signed by
//! the test Sigstore, and AdmissionReviews shaped as the API server sends
//! them, built from the real Flux controller Deployments in `../shared/flux`.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use verify_testkit::tls::TlsIdentity;
use verify_testkit::{SignOptions, TestSigstore};

#[path = "../../../verify-cli/tests/image_env/mod.rs"]
pub mod image_env;
pub mod oci;

#[allow(unused_imports)]
pub use image_env::{Fault, Proxy};
pub use verify_testkit::oci::{Pushed, TempDir};
pub use verify_testkit::registry::{self, Pusher, Registry};

pub const ISSUER: &str = verify_testkit::GITHUB_ACTIONS_ISSUER;

/// The repository root (tests run in the crate's directory).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The identity the test Sigstore signs as by default.
pub fn identity() -> String {
    SignOptions::default()
        .effective_identity()
        .as_str()
        .to_string()
}

/// A keyless policy for `glob` trusting the test Sigstore's default identity.
pub fn keyless_policy(name: &str, glob: &str, mode: &str) -> String {
    format!(
        "apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\nmetadata:\n  name: {name}\nspec:\n  mode: {mode}\n  images:\n  - glob: \"{glob}\"\n  authorities:\n  - name: test-keyless\n    keyless:\n      identities:\n      - issuer: {ISSUER}\n        subject: {}\n",
        identity()
    )
}

/// A registry and a test Sigstore with its trusted root on disk
/// (verify-testkit's [`registry::World`]), and what the webhook tests do
/// with them.
pub struct World(registry::World);

impl std::ops::Deref for World {
    type Target = registry::World;
    fn deref(&self) -> &registry::World {
        &self.0
    }
}

impl World {
    pub fn new() -> Self {
        Self(registry::World::new("admission-world"))
    }

    /// A world around a registry already running at `addr` (no process
    /// started; for the demo and benchmark seeding).
    pub fn with_registry_addr(addr: &str) -> WorldAt {
        let sigstore = TestSigstore::new();
        let pusher = Pusher::for_addr(addr);
        WorldAt {
            sigstore,
            pusher,
            addr: addr.to_string(),
        }
    }

    /// Push a one-platform image as `repo:tag`.
    pub fn image(&self, repo: &str, tag: &str) -> Pushed {
        self.pusher.image(repo, tag, "linux", "amd64")
    }

    /// Sign `image` keylessly as `options` say, bundle annotation included.
    pub fn sign(&self, repo: &str, image: &Pushed, options: &SignOptions) {
        registry::sign_image(
            &self.sigstore,
            &self.pusher,
            self.addr(),
            repo,
            image,
            options,
        );
    }
}

/// A test Sigstore and a pusher for a registry started elsewhere.
pub struct WorldAt {
    pub sigstore: TestSigstore,
    pub pusher: Pusher,
    pub addr: String,
}

impl WorldAt {
    /// Sign `image` keylessly, bundle annotation included.
    pub fn sign(&self, repo: &str, image: &Pushed, options: &SignOptions) {
        registry::sign_image(
            &self.sigstore,
            &self.pusher,
            &self.addr,
            repo,
            image,
            options,
        );
    }
}

/// How to start the webhook.
pub struct Options {
    pub policies: Vec<(String, String)>,
    /// `--trusted-root`; an empty path for none (the production root).
    pub trusted_root: PathBuf,
    pub args: Vec<String>,
}

/// The `verify-admission serve` process.
pub struct Webhook {
    child: Child,
    pub addr: SocketAddr,
    pub logs: Arc<Mutex<Vec<String>>>,
    pub client: reqwest::blocking::Client,
    pub dir: TempDir,
    pub tls: TlsIdentity,
}

static UID: AtomicU32 = AtomicU32::new(0);

impl Webhook {
    pub fn start(options: Options) -> Self {
        let dir = TempDir::new("admission-webhook");
        let tls = TlsIdentity::localhost().unwrap();
        std::fs::write(dir.path().join("tls.crt"), &tls.cert_pem).unwrap();
        std::fs::write(dir.path().join("tls.key"), &tls.key_pem).unwrap();
        let policies = dir.path().join("policies");
        std::fs::create_dir_all(&policies).unwrap();
        for (name, text) in &options.policies {
            std::fs::write(policies.join(name), text).unwrap();
        }
        let mut args: Vec<String> = vec![
            "serve".into(),
            "--listen".into(),
            "127.0.0.1:0".into(),
            "--tls-cert".into(),
            dir.path().join("tls.crt").display().to_string(),
            "--tls-key".into(),
            dir.path().join("tls.key").display().to_string(),
            "--policies".into(),
            policies.display().to_string(),
            "--reload-interval".into(),
            "0.2".into(),
        ];
        // An empty path: no --trusted-root: the built-in production root, or
        // the one the TUF tests refresh.
        if !options.trusted_root.as_os_str().is_empty() {
            args.push("--trusted-root".into());
            args.push(options.trusted_root.display().to_string());
        }
        args.extend(options.args.iter().cloned());
        let mut child = Command::new(
            option_env!("CARGO_BIN_EXE_verify-admission").unwrap_or("verify-admission"),
        )
        .args(&args)
        .env("DOCKER_CONFIG", "/nonexistent-verify-test-docker-config")
        .env("VERIFY_ADMISSION_LOG", "info")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start verify-admission");
        let stderr = child.stderr.take().unwrap();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let sink = Arc::clone(&logs);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<Value>(&line) {
                    if v["message"] == "serving HTTPS" {
                        let _ = tx.send(v["addr"].as_str().unwrap_or_default().to_string());
                    }
                }
                sink.lock().unwrap().push(line);
            }
        });
        let addr: SocketAddr = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(a) => a.parse().unwrap(),
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "verify-admission did not start:\n{}",
                    logs.lock().unwrap().join("\n")
                );
            }
        };
        let client = reqwest::blocking::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(tls.ca_pem.as_bytes()).unwrap())
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        Self {
            child,
            addr,
            logs,
            client,
            dir,
            tls,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.addr.port())
    }

    pub fn policies_dir(&self) -> PathBuf {
        self.dir.path().join("policies")
    }

    /// POST `body`; the status and the body.
    pub fn post(&self, path: &str, body: Vec<u8>) -> (u16, String) {
        let r = self
            .client
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .expect("POST");
        let status = r.status().as_u16();
        (status, r.text().unwrap_or_default())
    }

    pub fn get(&self, path: &str) -> (u16, String) {
        let r = self.client.get(self.url(path)).send().expect("GET");
        let status = r.status().as_u16();
        (status, r.text().unwrap_or_default())
    }

    /// The AdmissionReview `response` for `review` at `path`.
    pub fn admit(&self, path: &str, review: &Value) -> Value {
        let (status, body) = self.post(path, serde_json::to_vec(review).unwrap());
        assert_eq!(status, 200, "{body}");
        let answer: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(answer["apiVersion"], "admission.k8s.io/v1");
        assert_eq!(answer["kind"], "AdmissionReview");
        assert_eq!(answer["response"]["uid"], review["request"]["uid"]);
        // Every parsed review is logged, but the log is read from the server's
        // stderr by another thread: wait (bounded) for this review's line so
        // that what a test reads next includes it.
        let uid = review["request"]["uid"].clone();
        let until = std::time::Instant::now() + Duration::from_secs(10);
        while !self.decisions().iter().any(|d| d["uid"] == uid) && std::time::Instant::now() < until
        {
            std::thread::sleep(Duration::from_millis(5));
        }
        answer["response"].clone()
    }

    pub fn validate(&self, review: &Value) -> Value {
        self.admit("/validate", review)
    }

    /// Decision log lines (JSON).
    pub fn decisions(&self) -> Vec<Value> {
        self.logs
            .lock()
            .unwrap()
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v["event"] == "decision")
            .collect()
    }

    pub fn log_text(&self) -> String {
        self.logs.lock().unwrap().join("\n")
    }

    /// The value of the metric sample whose line starts with `prefix`.
    pub fn metric(&self, prefix: &str) -> f64 {
        let (_, text) = self.get("/metrics");
        text.lines()
            .filter(|l| l.starts_with(prefix))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }
}

impl Drop for Webhook {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The Flux controller Deployment `name` from `../shared/flux/install/flux-system.yaml`,
/// with its image moved from `ghcr.io` to `registry`.
pub fn flux_deployment(name: &str, registry: &str) -> Value {
    let path = repo_root().join("../shared/flux/install/flux-system.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    for doc in serde_yaml_ng::Deserializer::from_str(&text) {
        let mut v: Value = serde::Deserialize::deserialize(doc).unwrap();
        if v["kind"] == "Deployment" && v["metadata"]["name"] == name {
            let containers = v["spec"]["template"]["spec"]["containers"]
                .as_array_mut()
                .unwrap();
            for c in containers {
                let image = c["image"].as_str().unwrap().to_string();
                let moved = image.replacen("ghcr.io", registry, 1);
                assert_ne!(image, moved, "{name}'s image is not on ghcr.io");
                c["image"] = json!(moved);
            }
            return v;
        }
    }
    panic!("no Deployment {name} in {}", path.display());
}

/// The image (`registry/fluxcd/<name>:<tag>`) of a Flux Deployment, and its repository and tag.
pub fn flux_image(deployment: &Value) -> (String, String, String) {
    let image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap()
        .to_string();
    let (name, tag) = image.rsplit_once(':').unwrap();
    let repo = name.split_once('/').unwrap().1.to_string();
    (image.clone(), repo, tag.to_string())
}

/// The Pod the ReplicaSet controller creates from `deployment`.
pub fn pod_of(deployment: &Value) -> Value {
    let name = deployment["metadata"]["name"].as_str().unwrap();
    let ns = deployment["metadata"]["namespace"].as_str().unwrap();
    let template = &deployment["spec"]["template"];
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "generateName": format!("{name}-6d8f7c9b5-"),
            "namespace": ns,
            "labels": template["metadata"]["labels"],
            "annotations": template["metadata"]["annotations"],
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                "name": format!("{name}-6d8f7c9b5"), "uid": "5b0c3f6e-1f0e-4a59-9e59-0c7c6c2d9a10",
                "controller": true, "blockOwnerDeletion": true}],
        },
        "spec": template["spec"],
    })
}

/// group, version, resource of a kind.
fn gvr(kind: &str) -> (&'static str, &'static str, &'static str) {
    match kind {
        "Pod" => ("", "v1", "pods"),
        "ReplicationController" => ("", "v1", "replicationcontrollers"),
        "Deployment" => ("apps", "v1", "deployments"),
        "ReplicaSet" => ("apps", "v1", "replicasets"),
        "StatefulSet" => ("apps", "v1", "statefulsets"),
        "DaemonSet" => ("apps", "v1", "daemonsets"),
        "Job" => ("batch", "v1", "jobs"),
        "CronJob" => ("batch", "v1", "cronjobs"),
        "ConfigMap" => ("", "v1", "configmaps"),
        other => panic!("no resource for {other}"),
    }
}

/// An AdmissionReview as the API server sends it.
pub fn review(operation: &str, object: &Value, old: &Value, sub_resource: Option<&str>) -> Value {
    let source = if object.is_null() { old } else { object };
    let kind = source["kind"].as_str().unwrap();
    let (group, version, resource) = gvr(kind);
    let namespace = source["metadata"]["namespace"]
        .as_str()
        .unwrap_or("default");
    let name = source["metadata"]["name"].as_str().unwrap_or("");
    let options = match operation {
        "CREATE" => {
            json!({"kind": "CreateOptions", "apiVersion": "meta.k8s.io/v1", "fieldManager": "kustomize-controller"})
        }
        "UPDATE" => {
            json!({"kind": "UpdateOptions", "apiVersion": "meta.k8s.io/v1", "fieldManager": "kustomize-controller"})
        }
        _ => {
            json!({"kind": "DeleteOptions", "apiVersion": "meta.k8s.io/v1", "propagationPolicy": "Background"})
        }
    };
    let uid = format!(
        "7f3c2a1e-{:04x}-4b7d-9c1a-{:012x}",
        std::process::id() & 0xffff,
        UID.fetch_add(1, Ordering::SeqCst)
    );
    let mut request = json!({
        "uid": uid,
        "kind": {"group": group, "version": version, "kind": kind},
        "resource": {"group": group, "version": version, "resource": resource},
        "requestKind": {"group": group, "version": version, "kind": kind},
        "requestResource": {"group": group, "version": version, "resource": resource},
        "name": name,
        "namespace": namespace,
        "operation": operation,
        "userInfo": {
            "username": "system:serviceaccount:flux-system:kustomize-controller",
            "uid": "0b6a7d3e-3a8e-4f0e-8c55-1f2b3c4d5e6f",
            "groups": ["system:serviceaccounts", "system:serviceaccounts:flux-system", "system:authenticated"],
        },
        "object": object,
        "oldObject": old,
        "dryRun": false,
        "options": options,
    });
    if let Some(sub) = sub_resource {
        request["subResource"] = json!(sub);
        request["requestSubResource"] = json!(sub);
        request["resource"]["resource"] = json!("pods");
    }
    json!({"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1", "request": request})
}

/// The reason lines of a denial.
pub fn message(response: &Value) -> String {
    response["status"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Run `verify-admission` with `args`.
pub fn run(args: &[&str]) -> std::process::Output {
    Command::new(option_env!("CARGO_BIN_EXE_verify-admission").unwrap_or("verify-admission"))
        .args(args)
        .env("DOCKER_CONFIG", "/nonexistent-verify-test-docker-config")
        .output()
        .expect("run verify-admission")
}

/// A webhook enforcing the keyless `flux-test` policy on the `fluxcd/**`
/// images of the registry behind `proxy`.
pub fn keyless_webhook_behind(world: &World, proxy: &Proxy, args: &[&str]) -> Webhook {
    Webhook::start(Options {
        policies: vec![(
            "flux.yaml".into(),
            keyless_policy(
                "flux-test",
                &format!("{}/fluxcd/**", proxy.addr()),
                "enforce",
            ),
        )],
        trusted_root: world.root.clone(),
        args: args.iter().map(|s| s.to_string()).collect(),
    })
}

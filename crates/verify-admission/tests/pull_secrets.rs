//! imagePullSecrets per tenant, read through a Kubernetes API served over
//! HTTPS by the test (answering the two GETs as the API server does, from
//! objects the test creates), against a registry that demands credentials.

mod support;

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use k8s_openapi::api::core::v1::{LocalObjectReference, Secret, ServiceAccount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Status};
use k8s_openapi::ByteString;
use rustls::pki_types::pem::PemObject;
use serde_json::{json, Value};
use support::*;
use verify_testkit::tls::TlsIdentity;
use verify_testkit::SignOptions;

const TOKEN: &str = "test-serviceaccount-token-8c1f";

/// An HTTPS server answering `GET /api/v1/namespaces/<ns>/{secrets,serviceaccounts}/<name>`.
struct FakeApi {
    url: String,
    seen: Arc<Mutex<Vec<String>>>,
    _runtime: tokio::runtime::Runtime,
}

impl FakeApi {
    fn start(objects: HashMap<String, Value>, tls: &TlsIdentity) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let certs = rustls::pki_types::CertificateDer::pem_slice_iter(tls.cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = rustls::pki_types::PrivateKeyDer::from_pem_slice(tls.key_pem.as_bytes()).unwrap();
        let mut config = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let url = format!("https://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (objects, log) = (Arc::new(objects), Arc::clone(&seen));
        runtime.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (acceptor, objects, log) =
                    (acceptor.clone(), Arc::clone(&objects), Arc::clone(&log));
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(stream).await else {
                        return;
                    };
                    let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let (objects, log) = (Arc::clone(&objects), Arc::clone(&log));
                        async move {
                            let path = req.uri().path().to_string();
                            log.lock().unwrap().push(format!("{} {path}", req.method()));
                            let authorized = req
                                .headers()
                                .get("authorization")
                                .and_then(|v| v.to_str().ok())
                                == Some(&format!("Bearer {TOKEN}"));
                            let (code, body) = if !authorized {
                                (401, status(401, "Unauthorized", "Unauthorized"))
                            } else if req.method() != hyper::Method::GET {
                                (405, status(405, "MethodNotAllowed", "only GET"))
                            } else {
                                match objects.get(&path) {
                                    Some(v) => (200, v.clone()),
                                    None => {
                                        (404, status(404, "NotFound", &format!("{path} not found")))
                                    }
                                }
                            };
                            let mut r =
                                hyper::Response::new(Full::new(Bytes::from(body.to_string())));
                            *r.status_mut() = hyper::StatusCode::from_u16(code).unwrap();
                            r.headers_mut()
                                .insert("content-type", "application/json".parse().unwrap());
                            Ok::<_, Infallible>(r)
                        }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        Self {
            url,
            seen,
            _runtime: runtime,
        }
    }
}

fn status(code: u16, reason: &str, message: &str) -> Value {
    let mut v = serde_json::to_value(Status {
        code: Some(code as i32),
        reason: Some(reason.into()),
        message: Some(message.into()),
        status: Some("Failure".into()),
        ..Status::default()
    })
    .unwrap();
    v["kind"] = json!("Status");
    v["apiVersion"] = json!("v1");
    v
}

fn pull_secret(
    namespace: &str,
    name: &str,
    registry: &str,
    user: &str,
    password: &str,
) -> (String, Value) {
    let config =
        json!({"auths": {registry: {"auth": STANDARD.encode(format!("{user}:{password}"))}}});
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some(namespace.into()),
            ..ObjectMeta::default()
        },
        type_: Some("kubernetes.io/dockerconfigjson".into()),
        data: Some(BTreeMap::from([(
            ".dockerconfigjson".to_string(),
            ByteString(config.to_string().into_bytes()),
        )])),
        ..Secret::default()
    };
    (
        format!("/api/v1/namespaces/{namespace}/secrets/{name}"),
        serde_json::to_value(secret).unwrap(),
    )
}

fn service_account(namespace: &str, name: &str, secrets: &[&str]) -> (String, Value) {
    let sa = ServiceAccount {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some(namespace.into()),
            ..ObjectMeta::default()
        },
        image_pull_secrets: Some(
            secrets
                .iter()
                .map(|s| LocalObjectReference {
                    name: s.to_string(),
                })
                .collect(),
        ),
        ..ServiceAccount::default()
    };
    (
        format!("/api/v1/namespaces/{namespace}/serviceaccounts/{name}"),
        serde_json::to_value(sa).unwrap(),
    )
}

fn pod(namespace: &str, image: &str, account: &str, secrets: &[&str]) -> Value {
    let secrets: Vec<Value> = secrets.iter().map(|s| json!({"name": s})).collect();
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": format!("app-{namespace}"), "namespace": namespace},
        "spec": {"serviceAccountName": account, "imagePullSecrets": secrets,
                 "containers": [{"name": "app", "image": image}]}})
}

#[test]
fn each_tenant_pulls_with_its_own_secrets_only() {
    let world = World::new();
    let proxy = Proxy::start(
        &world.registry.addr,
        Fault::Basic {
            user: "team-a".into(),
            password: "s3cret".into(),
        },
    );
    let pushed = world.image("fluxcd/source-controller", "v1.9.4");
    world.sign("fluxcd/source-controller", &pushed, &SignOptions::default());
    let host = proxy.addr().to_string();

    let objects = HashMap::from([
        pull_secret("team-a", "regcred", &host, "team-a", "s3cret"),
        service_account("team-a", "default", &[]),
        // team-c's ServiceAccount lists a secret that works.
        pull_secret("team-c", "sa-cred", &host, "team-a", "s3cret"),
        service_account("team-c", "builder", &["sa-cred"]),
        // team-d has the right password, written for another registry.
        pull_secret(
            "team-d",
            "regcred",
            "registry.example.com",
            "team-a",
            "s3cret",
        ),
    ]);
    let api_tls = TlsIdentity::localhost().unwrap();
    let api = FakeApi::start(objects, &api_tls);
    let dir = TempDir::new("kubeconfig");
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    server: {}\n    certificate-authority-data: {}\nusers:\n- name: test\n  user:\n    token: {TOKEN}\ncontexts:\n- name: test\n  context:\n    cluster: test\n    user: test\ncurrent-context: test\n",
            api.url,
            STANDARD.encode(&api_tls.ca_pem)
        ),
    )
    .unwrap();
    let w = Webhook::start(Options {
        policies: vec![(
            "flux.yaml".into(),
            keyless_policy("flux-test", &format!("{host}/fluxcd/**"), "enforce"),
        )],
        trusted_root: world.root.clone(),
        // Credentials over plain HTTP (the loopback proxy) only when allowed.
        args: vec![
            "--kubeconfig".into(),
            kubeconfig.display().to_string(),
            "--allow-http-registry".into(),
        ],
    });
    let image = format!("{host}/fluxcd/source-controller:v1.9.4");

    // team-b names team-a's secret: it does not exist in team-b.
    let r = w.validate(&review(
        "CREATE",
        &pod("team-b", &image, "default", &["regcred"]),
        &Value::Null,
        None,
    ));
    assert_eq!(r["allowed"], false, "{r}");
    assert!(message(&r).contains("registry-unauthorized"), "{r}");

    let r = w.validate(&review(
        "CREATE",
        &pod("team-a", &image, "default", &["regcred"]),
        &Value::Null,
        None,
    ));
    assert_eq!(r["allowed"], true, "{r}\n{}", w.log_text());

    let r = w.validate(&review(
        "CREATE",
        &pod("team-c", &image, "builder", &[]),
        &Value::Null,
        None,
    ));
    assert_eq!(r["allowed"], true, "{r}\n{}", w.log_text());

    let r = w.validate(&review(
        "CREATE",
        &pod("team-d", &image, "default", &["regcred"]),
        &Value::Null,
        None,
    ));
    assert_eq!(r["allowed"], false, "{r}");
    assert!(message(&r).contains("registry-unauthorized"), "{r}");

    let seen = api.seen.lock().unwrap().clone();
    for want in [
        "GET /api/v1/namespaces/team-b/serviceaccounts/default",
        "GET /api/v1/namespaces/team-b/secrets/regcred",
        "GET /api/v1/namespaces/team-a/secrets/regcred",
        "GET /api/v1/namespaces/team-c/serviceaccounts/builder",
        "GET /api/v1/namespaces/team-c/secrets/sa-cred",
    ] {
        assert!(seen.iter().any(|s| s == want), "{want} not in {seen:#?}");
    }
    // Only the two GETs, only in the pod's own namespace.
    assert!(
        seen.iter()
            .all(|s| s.starts_with("GET /api/v1/namespaces/")),
        "{seen:#?}"
    );
}

//! `--flux-audit`: Flux's best practices at admission, over real HTTPS,
//! on the real Flux Deployments of `../shared/flux`, and offline with
//! `review`.

mod support;

use serde_json::{json, Value};
use support::{message, repo_root, review, run, Options, TempDir, Webhook};
use verify_testkit::TestSigstore;

/// The Deployment `name` of the stock Flux install, unchanged.
fn stock(name: &str) -> Value {
    let path = repo_root().join("../shared/flux/install/flux-system.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    for doc in serde_yaml_ng::Deserializer::from_str(&text) {
        let v: Value = serde::Deserialize::deserialize(doc).unwrap();
        if v["kind"] == "Deployment" && v["metadata"]["name"] == name {
            return v;
        }
    }
    panic!("no Deployment {name} in {}", path.display());
}

fn manager(d: &mut Value) -> &mut Value {
    d["spec"]["template"]["spec"]["containers"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|c| c["name"] == "manager")
        .unwrap()
}

fn with_arg(mut d: Value, arg: &str) -> Value {
    manager(&mut d)["args"]
        .as_array_mut()
        .unwrap()
        .push(json!(arg));
    d
}

fn in_namespace(mut d: Value, ns: &str) -> Value {
    d["metadata"]["namespace"] = json!(ns);
    d
}

/// A webhook with no image policy (`--no-match allow`: only the Flux audit
/// decides) and `--flux-audit FILE`.
fn webhook(flux_audit: &std::path::Path, dir: &TempDir) -> Webhook {
    let root = dir.path().join("trusted_root.json");
    std::fs::write(&root, TestSigstore::new().trusted_root_json()).unwrap();
    Webhook::start(Options {
        policies: Vec::new(),
        trusted_root: root,
        args: vec![
            "--no-match".into(),
            "allow".into(),
            "--no-pull-secrets".into(),
            "--flux-audit".into(),
            flux_audit.display().to_string(),
        ],
    })
}

fn shipped_policy() -> std::path::PathBuf {
    repo_root().join("deploy/flux-audit/flux-system.yaml")
}

const TWO_POLICIES: &str = "\
apiVersion: verify-admission.dev/v1alpha1
kind: FluxAuditPolicy
metadata: {name: strict}
spec:
  mode: enforce
  namespaces: [flux-system]
  rules:
    exclude: [kustomize-controller/no-remote-bases]
---
apiVersion: verify-admission.dev/v1alpha1
kind: FluxAuditPolicy
metadata: {name: advisory}
spec:
  mode: warn
  namespaces: [flux-staging]
";

#[test]
fn stock_kustomize_controller_is_denied_for_no_remote_bases() {
    let dir = TempDir::new("flux-audit");
    let hook = webhook(&shipped_policy(), &dir);
    let r = hook.validate(&review(
        "CREATE",
        &stock("kustomize-controller"),
        &Value::Null,
        None,
    ));
    assert_eq!(r["allowed"], false, "{r}");
    let msg = message(&r);
    assert_eq!(msg.lines().count(), 1, "{msg}");
    assert!(
        msg.starts_with("flux-audit flux-system: kustomize-controller/no-remote-bases: Deployment flux-system/kustomize-controller container manager: "),
        "{msg}"
    );
    assert_eq!(r["status"]["code"], 403);
    assert_eq!(
        r["auditAnnotations"]["flux-audit"],
        "kustomize-controller/no-remote-bases"
    );
    // The other stock controllers pass every rule.
    for name in [
        "source-controller",
        "helm-controller",
        "notification-controller",
    ] {
        let r = hook.validate(&review("CREATE", &stock(name), &Value::Null, None));
        assert_eq!(r["allowed"], true, "{name}: {r}");
    }
    // Fixed as Flux advises: admitted.
    let fixed = with_arg(stock("kustomize-controller"), "--no-remote-bases=true");
    let r = hook.validate(&review("CREATE", &fixed, &Value::Null, None));
    assert_eq!(r["allowed"], true, "{r}");
    // Another namespace is not reviewed.
    let elsewhere = in_namespace(stock("kustomize-controller"), "apps");
    let r = hook.validate(&review("CREATE", &elsewhere, &Value::Null, None));
    assert_eq!(r["allowed"], true, "{r}");
    let denied = hook
        .decisions()
        .into_iter()
        .filter(|d| d["decision"] == "denied")
        .count();
    assert_eq!(denied, 1);
}

#[test]
fn enforce_and_warn_by_namespace() {
    let dir = TempDir::new("flux-audit");
    let file = dir.path().join("flux-audit.yaml");
    std::fs::write(&file, TWO_POLICIES).unwrap();
    let hook = webhook(&file, &dir);

    // The rule excluded: stock kustomize-controller is admitted, silently.
    let r = hook.validate(&review(
        "CREATE",
        &stock("kustomize-controller"),
        &Value::Null,
        None,
    ));
    assert_eq!(r["allowed"], true, "{r}");
    assert!(r["warnings"].is_null(), "{r}");

    // insecure-kubeconfig-exec, each way pflag reads it, on CREATE and on
    // an UPDATE that changes only the flags (images unchanged).
    for arg in [
        "--insecure-kubeconfig-exec",
        "--insecure-kubeconfig-exec=true",
    ] {
        let bad = with_arg(stock("kustomize-controller"), arg);
        let r = hook.validate(&review("CREATE", &bad, &Value::Null, None));
        assert_eq!(r["allowed"], false, "{arg}: {r}");
        let msg = message(&r);
        assert!(
            msg.contains("flux-audit strict: kustomize-controller/insecure-kubeconfig-exec: ")
                && msg.contains(arg),
            "{msg}"
        );
        let r = hook.validate(&review(
            "UPDATE",
            &bad,
            &stock("kustomize-controller"),
            None,
        ));
        assert_eq!(r["allowed"], false, "UPDATE {arg}: {r}");
    }
    // `--flag false` does not set a boolean flag to false in pflag: still true.
    let mut spaced = stock("helm-controller");
    let args = manager(&mut spaced)["args"].as_array_mut().unwrap();
    args.push(json!("--insecure-kubeconfig-tls"));
    args.push(json!("false"));
    let r = hook.validate(&review("CREATE", &spaced, &Value::Null, None));
    assert!(
        message(&r).contains("helm-controller/insecure-kubeconfig-tls"),
        "{r}"
    );

    // Pod security: a field dropped at container level but set at pod level
    // passes; one that exists at container level only is denied.
    let mut d = stock("source-controller");
    d["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] = json!(true);
    let sc = &mut manager(&mut d)["securityContext"];
    sc.as_object_mut().unwrap().remove("runAsNonRoot");
    sc.as_object_mut().unwrap().remove("readOnlyRootFilesystem");
    let r = hook.validate(&review("CREATE", &d, &Value::Null, None));
    let msg = message(&r);
    assert_eq!(r["allowed"], false);
    assert_eq!(msg.lines().count(), 1, "{msg}");
    assert!(
        msg.contains("pod-security/read-only-root-filesystem"),
        "{msg}"
    );

    // A scale subresource is never blocked.
    let bad = with_arg(stock("kustomize-controller"), "--insecure-kubeconfig-exec");
    let mut scale = review("UPDATE", &bad, &bad, None);
    scale["request"]["subResource"] = json!("scale");
    let r = hook.validate(&scale);
    assert_eq!(r["allowed"], true, "{r}");

    // Warn mode in flux-staging: admitted, with the findings as warnings.
    let staged = in_namespace(
        with_arg(stock("kustomize-controller"), "--insecure-kubeconfig-exec"),
        "flux-staging",
    );
    let r = hook.validate(&review("CREATE", &staged, &Value::Null, None));
    assert_eq!(r["allowed"], true, "{r}");
    let warnings: Vec<&str> = r["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings
        .iter()
        .any(|w| w
            .starts_with("flux-audit advisory: kustomize-controller/insecure-kubeconfig-exec: ")));
    assert!(warnings
        .iter()
        .any(|w| w.starts_with("flux-audit advisory: kustomize-controller/no-remote-bases: ")));
    let warned = hook
        .decisions()
        .into_iter()
        .filter(|d| d["decision"] == "warned")
        .count();
    assert_eq!(warned, 1);
}

#[test]
fn a_bad_policy_file_stops_the_server_from_starting() {
    let dir = TempDir::new("flux-audit");
    let file = dir.path().join("typo.yaml");
    std::fs::write(
        &file,
        TWO_POLICIES.replace(
            "kustomize-controller/no-remote-bases",
            "kustomize-controller/no-remote-base",
        ),
    )
    .unwrap();
    let root = dir.path().join("trusted_root.json");
    std::fs::write(&root, TestSigstore::new().trusted_root_json()).unwrap();
    let policies = dir.path().join("policies");
    std::fs::create_dir_all(&policies).unwrap();
    let out = run(&[
        "review",
        "--policies",
        policies.to_str().unwrap(),
        "--trusted-root",
        root.to_str().unwrap(),
        "--flux-audit",
        file.to_str().unwrap(),
        repo_root()
            .join("../shared/flux/install/flux-system.yaml")
            .to_str()
            .unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no-remote-base\"") && err.contains("flux-audit-unknown-rule"),
        "{err}"
    );
}

#[test]
fn review_gives_the_same_decisions_offline() {
    let dir = TempDir::new("flux-audit");
    let root = dir.path().join("trusted_root.json");
    std::fs::write(&root, TestSigstore::new().trusted_root_json()).unwrap();
    let policies = dir.path().join("policies");
    std::fs::create_dir_all(&policies).unwrap();
    let install = repo_root().join("../shared/flux/install/flux-system.yaml");
    let review = |file: &std::path::Path| {
        run(&[
            "review",
            "--policies",
            policies.to_str().unwrap(),
            "--trusted-root",
            root.to_str().unwrap(),
            "--no-match",
            "allow",
            "--flux-audit",
            file.to_str().unwrap(),
            "-o",
            "json",
            install.to_str().unwrap(),
        ])
    };
    let out = review(&shipped_policy());
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let denied: Vec<(&str, &str)> = v["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["allowed"] == false)
        .map(|o| (o["name"].as_str().unwrap(), o["message"].as_str().unwrap()))
        .collect();
    assert_eq!(denied.len(), 1, "{denied:?}");
    assert_eq!(denied[0].0, "kustomize-controller");
    assert!(denied[0].1.contains("kustomize-controller/no-remote-bases"));

    let file = dir.path().join("flux-audit.yaml");
    std::fs::write(&file, TWO_POLICIES).unwrap();
    let out = review(&file);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

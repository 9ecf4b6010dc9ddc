//! `/validate` and `/mutate` over real HTTPS with AdmissionReviews built
//! from the Flux controller Deployments, images in a real registry signed
//! by the test Sigstore.

mod support;

use serde_json::{json, Value};
use support::*;
use verify_testkit::SanIdentity;
use verify_testkit::SignOptions;

/// A world with source-controller (signed), kustomize-controller (unsigned)
/// and helm-controller (signed by another identity) pushed, and a webhook
/// whose policy covers `<registry>/fluxcd/**`.
struct Flux {
    _world: World,
    webhook: Webhook,
    signed: Value,
    unsigned: Value,
    wrong_identity: Value,
    signed_digest: String,
}

fn flux(extra_policies: Vec<(String, String)>, args: &[&str]) -> Flux {
    let world = World::new();
    let addr = world.registry.addr.clone();
    let signed = flux_deployment("source-controller", &addr);
    let unsigned = flux_deployment("kustomize-controller", &addr);
    let wrong_identity = flux_deployment("helm-controller", &addr);
    let mut signed_digest = String::new();
    for (d, how) in [(&signed, 0), (&unsigned, 1), (&wrong_identity, 2)] {
        let (_, repo, tag) = flux_image(d);
        let pushed = world.image(&repo, &tag);
        match how {
            0 => {
                world.sign(&repo, &pushed, &SignOptions::default());
                signed_digest = pushed.digest.clone();
            }
            2 => world.sign(
                &repo,
                &pushed,
                &SignOptions {
                    identity: Some(SanIdentity::Uri(
                        "https://github.com/evil/repo/.github/workflows/x.yml@refs/heads/main"
                            .into(),
                    )),
                    ..SignOptions::default()
                },
            ),
            _ => {}
        }
    }
    let mut policies = vec![(
        "flux.yaml".to_string(),
        keyless_policy("flux-test", &format!("{addr}/fluxcd/**"), "enforce"),
    )];
    policies.extend(extra_policies);
    let webhook = Webhook::start(Options {
        policies,
        trusted_root: world.root.clone(),
        args: args.iter().map(|s| s.to_string()).collect(),
    });
    Flux {
        _world: world,
        webhook,
        signed,
        unsigned,
        wrong_identity,
        signed_digest,
    }
}

fn create(object: &Value) -> Value {
    review("CREATE", object, &Value::Null, None)
}

#[test]
fn admits_signed_denies_unsigned_and_wrong_identity_with_reason_codes() {
    let f = flux(Vec::new(), &[]);
    let w = &f.webhook;

    let admitted = w.validate(&create(&f.signed));
    assert_eq!(admitted["allowed"], true, "{admitted}");
    let audit = admitted["auditAnnotations"]["image-0"].as_str().unwrap();
    assert!(audit.contains(&f.signed_digest), "{audit}");
    assert!(audit.contains("policy=flux-test"), "{audit}");
    assert!(audit.contains(&identity()), "{audit}");
    assert!(admitted["auditAnnotations"]["policy-hash"]
        .as_str()
        .unwrap()
        .starts_with("sha256:"));

    // The Pod the ReplicaSet creates from it is admitted too (from the cache).
    let pod = w.validate(&create(&pod_of(&f.signed)));
    assert_eq!(pod["allowed"], true, "{pod}");

    let unsigned = w.validate(&create(&f.unsigned));
    assert_eq!(unsigned["allowed"], false);
    assert_eq!(unsigned["status"]["code"], 403);
    let m = message(&unsigned);
    assert_eq!(m.lines().count(), 1, "{m}");
    assert!(
        m.contains("fluxcd/kustomize-controller:v1.9.4@sha256:"),
        "{m}"
    );
    assert!(
        m.contains("policy flux-test, authority test-keyless"),
        "{m}"
    );
    assert!(
        m.contains("no-signatures") || m.contains("signature-not-found"),
        "{m}"
    );

    let wrong = w.validate(&create(&f.wrong_identity));
    assert_eq!(wrong["allowed"], false);
    assert!(
        message(&wrong).contains("identity-mismatch"),
        "{}",
        message(&wrong)
    );

    // One line per decision, with uid, kind/name, digest, duration, cache.
    let decisions = w.decisions();
    assert_eq!(decisions.len(), 4, "{}", w.log_text());
    let first = &decisions[0];
    assert_eq!(first["kind"], "Deployment");
    assert_eq!(first["name"], "source-controller");
    assert_eq!(first["namespace"], "flux-system");
    assert_eq!(first["decision"], "admitted");
    assert!(first["images"].as_str().unwrap().contains(&f.signed_digest));
    assert!(first["duration_ms"].as_f64().is_some());
    assert_eq!(decisions[1]["cache_hit"], true, "{}", decisions[1]);
    assert_eq!(decisions[2]["decision"], "denied");

    let text = w.get("/metrics").1;
    assert!(text.contains("verify_admission_requests_total{endpoint=\"validate\",kind=\"Deployment\",decision=\"denied\"} 2"), "{text}");
    assert!(
        text.contains("verify_admission_cache_total{result=\"hit\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("verify_admission_policy_set_info{hash=\"sha256:"),
        "{text}"
    );
    let (status, ready) = w.get("/readyz");
    assert_eq!(status, 200);
    let ready: Value = serde_json::from_str(&ready).unwrap();
    assert!(text.contains(ready["policyHash"].as_str().unwrap()));
    // Whether this is the FIPS build (README, "FIPS build").
    assert_eq!(ready["fips"]["enabled"], cfg!(feature = "fips"), "{ready}");
}

#[test]
fn no_match_deny_warn_allow_and_warn_mode() {
    let f = flux(
        vec![(
            "warn.yaml".to_string(),
            keyless_policy("warn-only", "**/fluxcd/kustomize-controller:*", "warn"),
        )],
        &[],
    );
    let w = &f.webhook;
    let other = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "other", "namespace": "apps"},
        "spec": {"containers": [{"name": "c", "image": "127.0.0.1:1/other/app:v1"}]}});
    let denied = w.validate(&create(&other));
    assert_eq!(denied["allowed"], false);
    assert!(message(&denied).contains("no-matching-policy"), "{denied}");

    // kustomize-controller is matched by the enforce policy (unsigned: denied)
    // and by the warn policy; the enforce failure wins.
    let unsigned = w.validate(&create(&f.unsigned));
    assert_eq!(unsigned["allowed"], false);
    drop(f);

    // Only a warn-mode policy: admitted with a warning.
    let world = World::new();
    let d = flux_deployment("kustomize-controller", &world.registry.addr);
    let (_, repo, tag) = flux_image(&d);
    world.image(&repo, &tag);
    for (no_match, allowed, warned) in [("warn", true, true), ("allow", true, false)] {
        let w = Webhook::start(Options {
            policies: vec![(
                "warn.yaml".into(),
                keyless_policy("warn-only", "**/fluxcd/kustomize-controller:*", "warn"),
            )],
            trusted_root: world.root.clone(),
            args: vec!["--no-match".into(), no_match.into()],
        });
        let r = w.validate(&create(&d));
        assert_eq!(r["allowed"], true, "{r}");
        let warnings = r["warnings"].as_array().cloned().unwrap_or_default();
        assert!(
            warnings
                .iter()
                .any(|x| x.as_str().unwrap().contains("warn-only")),
            "{r}"
        );
        let r = w.validate(&create(&other));
        assert_eq!(r["allowed"], allowed, "{r}");
        assert_eq!(r["warnings"].is_array(), warned, "{r}");
    }
}

#[test]
fn mutate_pins_tags_to_digests_once_and_never_replicasets_of_deployments() {
    let f = flux(Vec::new(), &[]);
    let w = &f.webhook;
    let r = w.admit("/mutate", &create(&f.signed));
    assert_eq!(r["allowed"], true);
    assert_eq!(r["patchType"], "JSONPatch");
    let patch: Value =
        serde_json::from_slice(&base64_decode(r["patch"].as_str().unwrap())).unwrap();
    let (image, _, _) = flux_image(&f.signed);
    assert_eq!(
        patch,
        json!([{"op": "replace", "path": "/spec/template/spec/containers/0/image",
                "value": format!("{image}@{}", f.signed_digest)}])
    );
    // Reinvocation (IfNeeded) on the patched object: nothing more to do.
    let mut pinned = f.signed.clone();
    pinned["spec"]["template"]["spec"]["containers"][0]["image"] =
        json!(format!("{image}@{}", f.signed_digest));
    let again = w.admit("/mutate", &create(&pinned));
    assert_eq!(again["allowed"], true);
    assert!(again.get("patch").is_none(), "{again}");
    // And the pinned object validates.
    assert_eq!(w.validate(&create(&pinned))["allowed"], true);

    // A ReplicaSet owned by a Deployment is never patched.
    let mut rs = f.signed.clone();
    rs["kind"] = json!("ReplicaSet");
    rs["metadata"]["name"] = json!("source-controller-6d8f7c9b5");
    rs["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": "Deployment",
        "name": "source-controller", "uid": "1d6f3f8e-0c1b-4c56-9d7a-2b1c0e9f8a7b", "controller": true}]);
    let r = w.admit("/mutate", &create(&rs));
    assert_eq!(r["allowed"], true);
    assert!(r.get("patch").is_none(), "{r}");

    // Never denies, never patches what is not admitted; UPDATE is not mutated.
    let r = w.admit("/mutate", &create(&f.unsigned));
    assert_eq!(r["allowed"], true);
    assert!(r.get("patch").is_none(), "{r}");
    let mut changed = f.signed.clone();
    changed["spec"]["replicas"] = json!(3);
    let r = w.admit("/mutate", &review("UPDATE", &changed, &f.unsigned, None));
    assert!(r.get("patch").is_none(), "{r}");
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

#[test]
fn ephemeral_containers_cronjobs_jobs_and_image_volumes() {
    let f = flux(Vec::new(), &[]);
    let w = &f.webhook;
    let (signed_image, _, _) = flux_image(&f.signed);
    let (unsigned_image, _, _) = flux_image(&f.unsigned);

    // kubectl debug: an UPDATE of pods/ephemeralcontainers.
    let pod = pod_of(&f.signed);
    let mut debugged = pod.clone();
    debugged["metadata"]["name"] = json!("source-controller-6d8f7c9b5-x7k2p");
    let mut old = debugged.clone();
    old["spec"]["ephemeralContainers"] = json!([]);
    debugged["spec"]["ephemeralContainers"] = json!([{"name": "debugger-abcde", "image": unsigned_image, "stdin": true, "tty": true, "targetContainerName": "manager"}]);
    let r = w.validate(&review(
        "UPDATE",
        &debugged,
        &old,
        Some("ephemeralcontainers"),
    ));
    assert_eq!(r["allowed"], false, "{r}");
    assert!(message(&r).contains("kustomize-controller"), "{r}");
    debugged["spec"]["ephemeralContainers"][0]["image"] = json!(signed_image);
    let r = w.validate(&review(
        "UPDATE",
        &debugged,
        &old,
        Some("ephemeralcontainers"),
    ));
    assert_eq!(r["allowed"], true, "{r}");

    let template = f.unsigned["spec"]["template"].clone();
    let job = json!({"apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "migrate", "namespace": "flux-system"},
        "spec": {"template": template}});
    let r = w.validate(&create(&job));
    assert_eq!(r["allowed"], false, "{r}");
    let cron = json!({"apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": {"name": "nightly", "namespace": "flux-system"},
        "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": template}}}});
    let r = w.validate(&create(&cron));
    assert_eq!(r["allowed"], false, "{r}");
    assert!(message(&r).contains("kustomize-controller"), "{r}");
    let mut good = cron.clone();
    good["spec"]["jobTemplate"]["spec"]["template"] = f.signed["spec"]["template"].clone();
    assert_eq!(w.validate(&create(&good))["allowed"], true);

    // An image volume and an init container are checked like containers.
    let mut with_volume = pod.clone();
    with_volume["spec"]["volumes"] = json!([{"name": "data", "image": {"reference": unsigned_image, "pullPolicy": "IfNotPresent"}}]);
    let r = w.validate(&create(&with_volume));
    assert_eq!(r["allowed"], false, "{r}");
    let mut with_init = pod.clone();
    with_init["spec"]["initContainers"] = json!([{"name": "init", "image": unsigned_image}]);
    assert_eq!(w.validate(&create(&with_init))["allowed"], false);

    // Other kinds are allowed unchanged (and logged).
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "flux-system"}, "data": {"a": "b"}});
    assert_eq!(w.validate(&create(&cm))["allowed"], true);
    assert!(w.decisions().iter().any(|d| d["skip"] == "other-kind"));
}

#[test]
fn malformed_reviews_get_400_and_oversized_bodies_413() {
    let f = flux(Vec::new(), &[]);
    let w = &f.webhook;
    let (status, body) = w.post("/validate", b"{\"apiVersion\": ".to_vec());
    assert_eq!(status, 400);
    assert!(body.contains("not an AdmissionReview"), "{body}");
    let (status, body) = w.post(
        "/validate",
        serde_json::to_vec(&json!({"apiVersion": "admission.k8s.io/v1beta1", "kind": "AdmissionReview", "request": {}})).unwrap(),
    );
    assert_eq!(status, 400, "{body}");
    let (status, _) = w.post("/validate", vec![b' '; 9 * 1024 * 1024]);
    assert_eq!(status, 413);
    // A review whose object is of the wrong shape is denied, not admitted.
    let mut bad = f.signed.clone();
    bad["spec"]["template"]["spec"]["containers"] = json!("nope");
    let r = w.validate(&create(&bad));
    assert_eq!(r["allowed"], false, "{r}");
    // The server is still up.
    assert_eq!(w.get("/healthz").0, 200);
}

#[test]
fn review_gives_the_servers_decisions_offline() {
    let f = flux(Vec::new(), &[]);
    let w = &f.webhook;
    let dir = TempDir::new("review");
    let list =
        json!({"apiVersion": "v1", "kind": "List", "items": [pod_of(&f.signed), f.wrong_identity]});
    let docs = [&f.signed, &f.unsigned, &list]
        .iter()
        .map(|v| serde_yaml_ng::to_string(v).unwrap())
        .collect::<Vec<_>>()
        .join("---\n");
    let manifests = dir.path().join("flux.yaml");
    std::fs::write(&manifests, docs).unwrap();
    let reviewed = dir.path().join("review.json");
    std::fs::write(
        &reviewed,
        serde_json::to_vec(&create(&pod_of(&f.unsigned))).unwrap(),
    )
    .unwrap();
    let policies = w.policies_dir();
    let root = f._world.root.clone();
    let args = |files: &[&std::path::Path]| -> std::process::Output {
        let mut a: Vec<String> = vec![
            "review".into(),
            "--policies".into(),
            policies.display().to_string(),
            "--trusted-root".into(),
            root.display().to_string(),
            "-o".into(),
            "json".into(),
        ];
        a.extend(files.iter().map(|p| p.display().to_string()));
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        run(&a)
    };
    let out = args(&[&manifests, &reviewed]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let objects = report["objects"].as_array().unwrap();
    let expected = [
        &f.signed,
        &f.unsigned,
        &pod_of(&f.signed),
        &f.wrong_identity,
        &pod_of(&f.unsigned),
    ];
    assert_eq!(objects.len(), expected.len(), "{report:#}");
    for (object, manifest) in objects.iter().zip(expected) {
        let server = w.validate(&create(manifest));
        assert_eq!(object["allowed"], server["allowed"], "{object:#}");
        assert_eq!(
            object["message"].as_str().unwrap_or(""),
            message(&server),
            "{object:#}"
        );
    }
    assert_eq!(report["admitted"], false);

    let signed_only = dir.path().join("signed.yaml");
    std::fs::write(&signed_only, serde_yaml_ng::to_string(&f.signed).unwrap()).unwrap();
    assert_eq!(args(&[&signed_only]).status.code(), Some(0));
    let garbage = dir.path().join("garbage.yaml");
    std::fs::write(&garbage, "kind: [unterminated").unwrap();
    assert_eq!(args(&[&garbage]).status.code(), Some(2));

    // lint: the shipped policies are valid; a broken one names its field.
    let shipped = repo_root().join("deploy/policies");
    let out = run(&["lint", "--policies", shipped.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    std::fs::write(
        dir.path().join("bad.yaml"),
        "apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\nmetadata:\n  name: bad\nspec:\n  images:\n  - glob: \"**\"\n  authorities:\n  - key:\n      kms: awskms:///alias/x\n",
    )
    .unwrap();
    let out = run(&["lint", "--policies", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("bad.yaml") && text.contains("kms"), "{text}");
}

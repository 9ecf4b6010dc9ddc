//! Every kind of evidence at `/validate` over real HTTPS, from a real
//! `docker-registry`: the real keyless SLSA container images of the SLSA
//! GitHub generator (pushed byte for byte with skopeo, checked against the
//! production trust root), key-signed images, Sigstore bundles attached as
//! OCI referrers; and the registry-request metric against the requests a
//! proxy counted.

mod support;

use std::sync::atomic::Ordering;

use serde_json::{json, Value};
use support::oci::skopeo_push_layout;
use support::*;
use verify_testkit::cosign::{signature_layer, simple_signing_payload};
use verify_testkit::{Content, KeyKind, SanIdentity, SignOptions, Signer, TestKey};

fn pod(name: &str, image: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "apps", "labels": {"app": name}},
        "spec": {"containers": [{"name": "app", "image": image}]}})
}

fn create(object: &Value) -> Value {
    review("CREATE", object, &Value::Null, None)
}

/// The shipped SLSA policy (`deploy/policies/slsa-container-generator.yaml`)
/// for `<registry>/<prefix>/example-package*`, with `edit` applied to it.
fn slsa_policy(
    registry: &str,
    prefix: &str,
    name: &str,
    edit: &dyn Fn(String) -> String,
) -> String {
    let path = repo_root().join("deploy/policies/slsa-container-generator.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let text = text
        .replace(
            "ghcr.io/slsa-framework/example-package*",
            &format!("{registry}/{prefix}/example-package*"),
        )
        .replace("name: slsa-example-package", &format!("name: {name}"));
    assert!(text.contains(&format!("{registry}/{prefix}/")), "{text}");
    edit(text)
}

/// The generator's container images, one per release: (version, layout, digest).
fn slsa_layouts() -> Vec<(String, std::path::PathBuf, String)> {
    let base = repo_root().join("../shared/conformance/slsa/data/gha_generic_container");
    let mut out: Vec<_> = std::fs::read_dir(&base)
        .unwrap_or_else(|e| panic!("{}: {e}", base.display()))
        .map(|e| {
            let dir = e.unwrap().path();
            let layout = dir.join("container_workflow_dispatch");
            let digest = std::fs::read_to_string(layout.with_extension("digest")).unwrap();
            (
                dir.file_name().unwrap().to_string_lossy().into_owned(),
                layout,
                digest.trim().to_string(),
            )
        })
        .collect();
    out.sort();
    assert!(out.len() >= 9, "{} generator releases", out.len());
    out
}

#[test]
fn real_slsa_generator_images_are_admitted_against_the_production_root() {
    let registry = Registry::start();
    let addr = registry.addr.clone();
    let layouts = slsa_layouts();
    for (version, layout, digest) in &layouts {
        let pushed = skopeo_push_layout(
            &registry,
            layout,
            &format!("slsa-framework/example-package-{version}"),
            "main",
        );
        assert_eq!(&pushed, digest);
    }
    // The newest release's image again, for the policies that must refuse it.
    let (_, newest, newest_digest) = layouts.last().unwrap();
    for prefix in ["wrong-source", "wrong-builder"] {
        skopeo_push_layout(
            &registry,
            newest,
            &format!("{prefix}/example-package"),
            "main",
        );
    }
    let other_builder = "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/builder_go_slsa3.yml";
    let policies = vec![
        (
            "slsa.yaml".to_string(),
            slsa_policy(&addr, "slsa-framework", "slsa-example-package", &|t| t),
        ),
        (
            "wrong-source.yaml".to_string(),
            slsa_policy(&addr, "wrong-source", "slsa-wrong-source", &|t| {
                t.replace(
                    "sourceURI: github.com/slsa-framework/example-package",
                    "sourceURI: github.com/slsa-framework/other-package",
                )
            }),
        ),
        (
            "wrong-builder.yaml".to_string(),
            slsa_policy(&addr, "wrong-builder", "slsa-wrong-builder", &|t| {
                t.replace(
                    "builderID: https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml",
                    &format!("builderID: {other_builder}"),
                )
            }),
        ),
    ];
    // No --trusted-root: the built-in production root.
    let webhook = Webhook::start(Options {
        policies,
        trusted_root: std::path::PathBuf::new(),
        args: Vec::new(),
    });
    for (version, _, digest) in &layouts {
        let image = format!("{addr}/slsa-framework/example-package-{version}:main");
        let r = webhook.validate(&create(&pod("slsa", &image)));
        assert_eq!(r["allowed"], true, "{version}: {r}");
        let audit = r["auditAnnotations"]["image-0"].as_str().unwrap();
        assert!(audit.contains(digest.as_str()), "{version}: {audit}");
        assert!(audit.contains("policy=slsa-example-package"), "{audit}");
        assert!(
            audit.contains("builder=https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@"),
            "{version}: {audit}"
        );
    }
    for (prefix, code) in [
        ("wrong-source", "slsa-mismatch-source"),
        ("wrong-builder", "slsa-untrusted-reusable-workflow"),
    ] {
        let image = format!("{addr}/{prefix}/example-package:main");
        let r = webhook.validate(&create(&pod(prefix, &image)));
        assert_eq!(r["allowed"], false, "{prefix}: {r}");
        // One line per failing authority of the policy (v0.2 and v1.0
        // provenance), each naming the image at its digest.
        let m = message(&r);
        assert_eq!(m.lines().count(), 2, "{m}");
        let at = format!("{image}@{newest_digest}: policy slsa-{prefix}, authority ");
        assert!(m.lines().all(|l| l.starts_with(&at)), "{m}");
        assert!(
            m.lines().any(|l| l.contains(&format!(
                "authority slsa-generator-container-v0.2: {code}: "
            ))),
            "{prefix}: {m}"
        );
    }

    // `review` decides the same offline, with the same built-in root.
    let dir = TempDir::new("slsa-review");
    let (newest_version, _, _) = layouts.last().unwrap();
    for (file, image, code) in [
        (
            "good.yaml",
            format!("{addr}/slsa-framework/example-package-{newest_version}:main"),
            0,
        ),
        (
            "bad.yaml",
            format!("{addr}/wrong-source/example-package:main"),
            1,
        ),
    ] {
        let path = dir.path().join(file);
        std::fs::write(
            &path,
            serde_yaml_ng::to_string(&pod("slsa", &image)).unwrap(),
        )
        .unwrap();
        let policies = webhook.policies_dir();
        let out = run(&[
            "review",
            "--policies",
            policies.to_str().unwrap(),
            "-o",
            "json",
            path.to_str().unwrap(),
        ]);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{file}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn key_policy(name: &str, glob: &str, pem: &str) -> String {
    let data: String = pem.lines().map(|l| format!("        {l}\n")).collect();
    format!(
        "apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\nmetadata:\n  name: {name}\nspec:\n  images:\n  - glob: \"{glob}\"\n  authorities:\n  - name: release-key\n    key:\n      data: |\n{data}"
    )
}

#[test]
fn key_signed_images_are_admitted_and_tampered_or_other_key_signatures_denied() {
    let world = World::new();
    let addr = world.registry.addr.clone();
    let options = SignOptions {
        signer: Signer::Key(KeyKind::EcdsaP256),
        ..SignOptions::default()
    };
    let sign = |repo: &str, image: &Pushed| {
        let payload = simple_signing_payload(&format!("{addr}/{repo}"), &image.digest, None);
        let signed = world.sigstore.sign(&payload, &options).unwrap();
        (
            signature_layer(&world.sigstore, &payload, &signed, true).unwrap(),
            signed,
        )
    };
    let good = world.image("keyed/app", "v1");
    let (layer, signed) = sign("keyed/app", &good);
    world
        .pusher
        .cosign_manifest("keyed/app", &format!("sha256-{}.sig", good.hex()), &[layer]);

    // Tampered: the signature of another payload under this image's payload.
    let tampered = world.image("keyed/tampered", "v1");
    let (mut layer, _) = sign("keyed/tampered", &tampered);
    let (other, _) = sign("keyed/tampered", &good);
    let key = "dev.cosignproject.cosign/signature";
    layer
        .annotations
        .insert(key.into(), other.annotations[key].clone());
    world.pusher.cosign_manifest(
        "keyed/tampered",
        &format!("sha256-{}.sig", tampered.hex()),
        &[layer],
    );

    // Signed properly, but the policy trusts another key.
    let foreign = world.image("foreign/app", "v1");
    let (layer, _) = sign("foreign/app", &foreign);
    world.pusher.cosign_manifest(
        "foreign/app",
        &format!("sha256-{}.sig", foreign.hex()),
        &[layer],
    );
    let other_key = TestKey::generate(KeyKind::EcdsaP256).unwrap();

    let webhook = Webhook::start(Options {
        policies: vec![
            (
                "keyed.yaml".into(),
                key_policy("keyed", &format!("{addr}/keyed/**"), &signed.public_key_pem),
            ),
            (
                "foreign.yaml".into(),
                key_policy(
                    "foreign",
                    &format!("{addr}/foreign/**"),
                    &other_key.public_key_pem(),
                ),
            ),
        ],
        trusted_root: world.root.clone(),
        args: Vec::new(),
    });
    let r = webhook.validate(&create(&pod("keyed", &format!("{addr}/keyed/app:v1"))));
    assert_eq!(r["allowed"], true, "{r}");
    let audit = r["auditAnnotations"]["image-0"].as_str().unwrap();
    assert!(audit.contains(&good.digest), "{audit}");
    assert!(audit.contains("authority=release-key"), "{audit}");
    assert!(audit.contains("key=sha256:"), "{audit}");

    for (image, policy) in [
        (format!("{addr}/keyed/tampered:v1"), "keyed"),
        (format!("{addr}/foreign/app:v1"), "foreign"),
    ] {
        let r = webhook.validate(&create(&pod("denied", &image)));
        assert_eq!(r["allowed"], false, "{image}: {r}");
        let m = message(&r);
        assert!(
            m.contains(&format!("policy {policy}, authority release-key")),
            "{m}"
        );
        assert!(m.contains("signature-invalid"), "{image}: {m}");
    }
}

/// A cosign v3 bundle (DSSE over the image manifest) for `subject`.
fn v3_bundle(world: &World, subject: &Pushed, identity: Option<SanIdentity>) -> Vec<u8> {
    world
        .sigstore
        .sign(
            &subject.bytes,
            &SignOptions {
                content: Content::Dsse,
                predicate_type: "https://sigstore.dev/cosign/sign/v1".into(),
                identity,
                ..SignOptions::default()
            },
        )
        .unwrap()
        .to_json()
        .into_bytes()
}

#[test]
fn bundle_referrers_are_admitted_and_wrong_bundles_denied() {
    let world = World::new();
    let addr = world.registry.addr.clone();
    let good = world.image("bundled/app", "v1");
    world
        .pusher
        .bundle_referrers("bundled/app", &good, &[v3_bundle(&world, &good, None)]);
    // A bundle made for another image, attached to this one.
    let misattached = world.image("bundled/misattached", "v1");
    world.pusher.bundle_referrers(
        "bundled/misattached",
        &misattached,
        &[v3_bundle(&world, &good, None)],
    );
    // Signed by another workflow.
    let wrong = world.image("bundled/wrong-identity", "v1");
    let evil = SanIdentity::Uri(
        "https://github.com/evil/repo/.github/workflows/x.yml@refs/heads/main".into(),
    );
    world.pusher.bundle_referrers(
        "bundled/wrong-identity",
        &wrong,
        &[v3_bundle(&world, &wrong, Some(evil))],
    );
    // Signed the legacy way only: a bundle policy does not read `.sig`.
    let legacy = world.image("bundled/legacy", "v1");
    world.sign("bundled/legacy", &legacy, &SignOptions::default());

    let policy = keyless_policy("bundles", &format!("{addr}/bundled/**"), "enforce").replace(
        "  - name: test-keyless\n",
        "  - name: test-keyless\n    signatureFormat: bundle\n",
    );
    assert!(policy.contains("signatureFormat: bundle"), "{policy}");
    let webhook = Webhook::start(Options {
        policies: vec![("bundles.yaml".into(), policy)],
        trusted_root: world.root.clone(),
        args: Vec::new(),
    });
    let r = webhook.validate(&create(&pod("bundled", &format!("{addr}/bundled/app:v1"))));
    assert_eq!(r["allowed"], true, "{r}");
    let audit = r["auditAnnotations"]["image-0"].as_str().unwrap();
    assert!(audit.contains(&good.digest), "{audit}");
    assert!(audit.contains(&identity()), "{audit}");

    for (repo, code) in [
        ("bundled/misattached", "artifact-mismatch"),
        ("bundled/wrong-identity", "identity-mismatch"),
        ("bundled/legacy", "no-signatures"),
    ] {
        let r = webhook.validate(&create(&pod("denied", &format!("{addr}/{repo}:v1"))));
        assert_eq!(r["allowed"], false, "{repo}: {r}");
        let m = message(&r);
        assert!(m.contains("policy bundles, authority test-keyless"), "{m}");
        assert!(m.contains(code), "{repo}: {m}");
    }
}

/// The value of every `verify_admission_registry_requests_total` sample
/// whose labels include `label`.
fn registry_requests(webhook: &Webhook, label: &str) -> f64 {
    let (_, text) = webhook.get("/metrics");
    text.lines()
        .filter(|l| l.starts_with("verify_admission_registry_requests_total{") && l.contains(label))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[test]
fn every_registry_request_is_counted_by_operation_and_status() {
    let world = World::new();
    // Anonymous Bearer tokens, as public registries hand them out.
    let proxy = Proxy::start(&world.registry.addr, Fault::Bearer { credentials: None });
    let image = world.image("fluxcd/source-controller", "v1.9.4");
    world.sign("fluxcd/source-controller", &image, &SignOptions::default());
    let webhook = keyless_webhook_behind(&world, &proxy, &[]);
    assert_eq!(registry_requests(&webhook, ""), 0.0);
    proxy.requests.store(0, Ordering::SeqCst);
    let p = pod(
        "source-controller",
        &format!("{}/fluxcd/source-controller:v1.9.4", proxy.addr()),
    );
    let r = webhook.validate(&create(&p));
    assert_eq!(r["allowed"], true, "{r}");
    let seen = proxy.requests.load(Ordering::SeqCst);
    let log = proxy.log.lock().unwrap().clone();
    assert!(seen >= 4, "{log:?}");
    assert_eq!(
        registry_requests(&webhook, ""),
        f64::from(seen),
        "the proxy saw {log:?}\n{}",
        webhook.get("/metrics").1
    );
    // By operation and status, as the proxy saw them.
    let count = |f: &dyn Fn(&str) -> bool| log.iter().filter(|l| f(l)).count() as f64;
    assert_eq!(
        registry_requests(&webhook, "operation=\"token\",status=\"200\""),
        count(&|l| l.starts_with("GET /token"))
    );
    assert!(registry_requests(&webhook, "operation=\"token\"") >= 1.0);
    assert!(registry_requests(&webhook, "status=\"401\"") >= 1.0);
    assert_eq!(
        registry_requests(&webhook, "operation=\"manifest\""),
        count(&|l| l.contains("/manifests/"))
    );
    assert_eq!(
        registry_requests(&webhook, "operation=\"blob\""),
        count(&|l| l.contains("/blobs/"))
    );
    assert_eq!(
        registry_requests(&webhook, "operation=\"referrers\""),
        count(&|l| l.contains("/referrers/"))
    );
    assert!(registry_requests(&webhook, "operation=\"blob\",status=\"200\"") >= 1.0);

    // A second Pod of the same image: answered from the caches, no request.
    let before = registry_requests(&webhook, "");
    let r = webhook.validate(&create(&p));
    assert_eq!(r["allowed"], true, "{r}");
    assert_eq!(registry_requests(&webhook, ""), before);
    assert_eq!(proxy.requests.load(Ordering::SeqCst), seen);
}

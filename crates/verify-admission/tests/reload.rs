//! Policy directory and serving certificate reloads, while serving.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::*;
use verify_testkit::tls::TlsIdentity;
use verify_testkit::SignOptions;

fn ready_hash(w: &Webhook) -> String {
    let (status, body) = w.get("/readyz");
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    v["policyHash"].as_str().unwrap().to_string()
}

fn wait_for(mut f: impl FnMut() -> bool, what: &str) {
    for _ in 0..100 {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out waiting for {what}");
}

#[test]
fn a_good_policy_set_replaces_the_old_one_and_a_bad_one_is_refused() {
    let world = World::new();
    let addr = world.registry.addr.clone();
    let d = flux_deployment("source-controller", &addr);
    let (_, repo, tag) = flux_image(&d);
    let pushed = world.image(&repo, &tag);
    world.sign(&repo, &pushed, &SignOptions::default());
    let w = Webhook::start(Options {
        policies: vec![(
            "flux.yaml".into(),
            keyless_policy("flux-test", &format!("{addr}/fluxcd/**"), "enforce"),
        )],
        trusted_root: world.root.clone(),
        args: Vec::new(),
    });
    let create = review("CREATE", &d, &Value::Null, None);
    assert_eq!(w.validate(&create)["allowed"], true);
    let first = ready_hash(&w);

    // A new set whose policy no longer covers the image: no-match, denied.
    std::fs::write(
        w.policies_dir().join("flux.yaml"),
        keyless_policy("flux-test", &format!("{addr}/other/**"), "enforce"),
    )
    .unwrap();
    wait_for(|| ready_hash(&w) != first, "the reload");
    let second = ready_hash(&w);
    let r = w.validate(&create);
    assert_eq!(r["allowed"], false);
    assert!(message(&r).contains("no-matching-policy"), "{r}");
    assert_eq!(r["auditAnnotations"]["policy-hash"], second.as_str());
    assert_eq!(
        w.metric("verify_admission_policy_reloads_total{result=\"success\"}"),
        1.0
    );
    let metrics = w.get("/metrics").1;
    assert!(
        metrics.contains(&format!(
            "verify_admission_policy_set_info{{hash=\"{second}\"}} 1"
        )),
        "{metrics}"
    );
    assert!(!metrics.contains(&first), "{metrics}");

    // An invalid set (an unsupported field) is refused; the last good one stays.
    std::fs::write(
        w.policies_dir().join("broken.yaml"),
        "apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\nmetadata:\n  name: broken\nspec:\n  images:\n  - glob: \"**\"\n  authorities:\n  - static:\n      action: pass\n  policy:\n    type: cue\n",
    )
    .unwrap();
    wait_for(
        || w.metric("verify_admission_policy_reloads_total{result=\"failure\"}") == 1.0,
        "the refused reload",
    );
    assert_eq!(ready_hash(&w), second);
    let r = w.validate(&create);
    assert_eq!(r["allowed"], false);
    assert!(message(&r).contains("no-matching-policy"), "{r}");
    assert!(w.log_text().contains("spec.policy"), "{}", w.log_text());
}

#[test]
fn a_renewed_certificate_is_served_without_dropping_connections() {
    let world = World::new();
    let w = Webhook::start(Options {
        policies: vec![(
            "flux.yaml".into(),
            keyless_policy("flux-test", "127.0.0.1:1/fluxcd/**", "enforce"),
        )],
        trusted_root: world.root.clone(),
        args: Vec::new(),
    });
    // A connection made with the first certificate, kept alive.
    assert_eq!(w.get("/healthz").0, 200);

    let renewed = TlsIdentity::localhost().unwrap();
    std::fs::write(w.dir.path().join("tls.key.new"), &renewed.key_pem).unwrap();
    std::fs::write(w.dir.path().join("tls.crt.new"), &renewed.cert_pem).unwrap();
    std::fs::rename(
        w.dir.path().join("tls.key.new"),
        w.dir.path().join("tls.key"),
    )
    .unwrap();
    std::fs::rename(
        w.dir.path().join("tls.crt.new"),
        w.dir.path().join("tls.crt"),
    )
    .unwrap();

    let client_for = |ca: &str| {
        reqwest::blocking::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(ca.as_bytes()).unwrap())
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap()
    };
    let renewed_client = client_for(&renewed.ca_pem);
    wait_for(
        || renewed_client.get(w.url("/healthz")).send().is_ok(),
        "the renewed certificate",
    );
    // New handshakes get the new certificate only.
    assert!(client_for(&w.tls.ca_pem)
        .get(w.url("/healthz"))
        .send()
        .is_err());
    // The connection opened before the renewal still answers: its client
    // trusts only the old CA, so this request can only have used it.
    let r = w
        .client
        .get(w.url("/readyz"))
        .send()
        .expect("kept-alive connection");
    assert_eq!(r.status(), 200);
    assert!(w.log_text().contains("certificate-reload"));

    // A half-written renewal (a key that is not the certificate's) is not taken.
    let other = TlsIdentity::localhost().unwrap();
    std::fs::write(w.dir.path().join("tls.key"), &other.key_pem).unwrap();
    wait_for(
        || w.log_text().contains("does not match"),
        "the refused pair",
    );
    let fresh = client_for(&renewed.ca_pem);
    assert_eq!(fresh.get(w.url("/healthz")).send().unwrap().status(), 200);
}

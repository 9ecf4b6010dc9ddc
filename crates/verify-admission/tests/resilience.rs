//! The webhook when the registry is slow, down or hammered: the time
//! budget, the background verification filling the cache, coalescing,
//! stale-if-error, and what is admitted without a registry at all.

mod support;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::*;
use verify_testkit::SignOptions;

fn pod(name: &str, image: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "flux-system", "labels": {"app": name}},
        "spec": {"serviceAccountName": "source-controller",
                 "containers": [{"name": "manager", "image": image,
                                 "imagePullPolicy": "IfNotPresent",
                                 "securityContext": {"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true,
                                     "runAsNonRoot": true, "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}}]}})
}

fn create(object: &Value) -> Value {
    review("CREATE", object, &Value::Null, None)
}

/// A signed Flux image in the registry, served through `proxy`, and the
/// webhook's policy for `<proxy>/fluxcd/**`.
fn signed_image(world: &World, repo: &str, tag: &str) -> Pushed {
    let pushed = world.image(repo, tag);
    world.sign(repo, &pushed, &SignOptions::default());
    pushed
}

#[test]
fn registry_slower_than_the_budget_is_answered_in_time_then_admitted_from_the_cache() {
    let world = World::new();
    let proxy = Proxy::start(
        &world.registry.addr,
        Fault::Slow(Duration::from_millis(700)),
    );
    signed_image(&world, "fluxcd/source-controller", "v1.9.4");
    let w = keyless_webhook_behind(&world, &proxy, &["--budget", "1"]);
    let image = format!("{}/fluxcd/source-controller:v1.9.4", proxy.addr());
    let p = pod("source-controller-a", &image);

    let started = Instant::now();
    let first = w.validate(&create(&p));
    let took = started.elapsed();
    assert!(
        took < Duration::from_millis(1500),
        "answered after {took:?}"
    );
    assert_eq!(first["allowed"], false, "{first}");
    let m = message(&first);
    assert!(m.contains("deadline") && m.contains("background"), "{m}");

    // The ReplicaSet controller retries: the verification that went on in
    // the background has filled the cache by then.
    let mut admitted = None;
    for _ in 0..40 {
        std::thread::sleep(Duration::from_millis(500));
        let started = Instant::now();
        let r = w.validate(&create(&p));
        assert!(started.elapsed() < Duration::from_millis(1500));
        if r["allowed"] == true {
            admitted = Some(r);
            break;
        }
    }
    assert!(admitted.is_some(), "never admitted:\n{}", w.log_text());
    // Admitted from the verification started by the first request (joined
    // while still running, or read from the cache): there was only one.
    let last = w.decisions().pop().unwrap();
    let images = last["images"].as_str().unwrap();
    assert!(
        images.contains("\"hit\"") || images.contains("\"coalesced\""),
        "{last}"
    );
    assert_eq!(w.metric("verify_admission_verifications_total"), 1.0);
}

#[test]
fn a_hundred_concurrent_identical_requests_cause_one_verification() {
    let world = World::new();
    let proxy = Proxy::start(&world.registry.addr, Fault::None);
    signed_image(&world, "fluxcd/source-controller", "v1.9.4");
    signed_image(&world, "fluxcd/helm-controller", "v1.6.3");
    let w = Arc::new(keyless_webhook_behind(&world, &proxy, &[]));

    // What one cold verification costs in registry requests.
    let one = pod(
        "helm-controller-a",
        &format!("{}/fluxcd/helm-controller:v1.6.3", proxy.addr()),
    );
    proxy.requests.store(0, Ordering::SeqCst);
    assert_eq!(w.validate(&create(&one))["allowed"], true);
    let single = proxy.requests.load(Ordering::SeqCst);
    assert!(single >= 2, "{single}");

    let p = pod(
        "source-controller-a",
        &format!("{}/fluxcd/source-controller:v1.9.4", proxy.addr()),
    );
    let body = serde_json::to_vec(&create(&p)).unwrap();
    proxy.requests.store(0, Ordering::SeqCst);
    let barrier = Arc::new(std::sync::Barrier::new(100));
    let threads: Vec<_> = (0..100)
        .map(|_| {
            let (w, body, barrier) = (Arc::clone(&w), body.clone(), Arc::clone(&barrier));
            std::thread::spawn(move || {
                barrier.wait();
                let (status, text) = w.post("/validate", body);
                assert_eq!(status, 200, "{text}");
                let v: Value = serde_json::from_str(&text).unwrap();
                v["response"]["allowed"] == true
            })
        })
        .collect();
    let admitted = threads
        .into_iter()
        .map(|t| t.join().unwrap())
        .filter(|a| *a)
        .count();
    assert_eq!(admitted, 100);
    assert_eq!(
        proxy.requests.load(Ordering::SeqCst),
        single,
        "{:#?}",
        proxy.log.lock().unwrap()
    );
    assert_eq!(w.metric("verify_admission_verifications_total"), 2.0);
    let coalesced_or_hit = w.metric("verify_admission_cache_total{result=\"coalesced\"}")
        + w.metric("verify_admission_cache_total{result=\"hit\"}");
    assert_eq!(coalesced_or_hit, 99.0);
}

#[test]
fn registry_outage_stale_if_error_update_unchanged_and_delete() {
    let world = World::new();
    let proxy = Proxy::start(&world.registry.addr, Fault::None);
    let source = signed_image(&world, "fluxcd/source-controller", "v1.9.4");
    let helm = signed_image(&world, "fluxcd/helm-controller", "v1.6.3");
    let w = keyless_webhook_behind(
        &world,
        &proxy,
        &[
            "--cache-ttl",
            "1",
            "--negative-cache-ttl",
            "1",
            "--stale-max-age",
            "600",
            "--budget",
            "5",
        ],
    );
    let host = proxy.addr().to_string();
    let pinned = format!("{host}/fluxcd/source-controller:v1.9.4@{}", source.digest);
    let p = pod("source-controller-a", &pinned);
    assert_eq!(w.validate(&create(&p))["allowed"], true);

    drop(proxy);
    std::thread::sleep(Duration::from_millis(1500));

    // The fresh verdict expired and the registry is gone: the admit is served stale.
    let r = w.validate(&create(&p));
    assert_eq!(r["allowed"], true, "{r}");
    let last = w.decisions().pop().unwrap();
    assert!(
        last["images"].as_str().unwrap().contains("\"stale\""),
        "{last}"
    );

    // An image never verified is denied, saying why.
    let never = pod(
        "helm-controller-a",
        &format!("{host}/fluxcd/helm-controller:v1.6.3@{}", helm.digest),
    );
    let r = w.validate(&create(&never));
    assert_eq!(r["allowed"], false);
    assert!(message(&r).contains("registry-unreachable"), "{r}");
    let tagged = pod(
        "helm-controller-b",
        &format!("{host}/fluxcd/helm-controller:v1.6.3"),
    );
    let r = w.validate(&create(&tagged));
    assert_eq!(r["allowed"], false);
    assert!(message(&r).contains("registry-unreachable"), "{r}");

    // An UPDATE that runs no new image (a label change) is admitted.
    let mut relabelled = tagged.clone();
    relabelled["metadata"]["labels"]["tier"] = json!("control-plane");
    let r = w.validate(&review("UPDATE", &relabelled, &tagged, None));
    assert_eq!(r["allowed"], true, "{r}");
    // DELETE, and finalizer removal on an object being deleted, are admitted.
    let r = w.validate(&review("DELETE", &Value::Null, &tagged, None));
    assert_eq!(r["allowed"], true, "{r}");
    let mut deleting = tagged.clone();
    deleting["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
    deleting["spec"]["containers"][0]["image"] = json!(format!("{host}/fluxcd/other:v1"));
    let r = w.validate(&review("UPDATE", &deleting, &tagged, None));
    assert_eq!(r["allowed"], true, "{r}");
    assert!(w.metric("verify_admission_cache_total{result=\"stale\"}") >= 1.0);
}

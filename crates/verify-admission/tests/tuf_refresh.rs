//! `serve --tuf-mirror`: the trust root refreshed in the background from a
//! real TUF repository (python-tuf, verify-tuf's test helper) served over
//! loopback HTTP, holding trust roots made by the test Sigstore.

mod support;

#[path = "../../verify-tuf/tests/common/mod.rs"]
mod tuf;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::*;
use tuf::{down_url, sha256_hex, Mirror, Mode, TufRepo};
use verify_testkit::{SignOptions, TestSigstore};

fn root_json(value: &Value) -> Vec<u8> {
    let mut text = serde_json::to_string_pretty(value).unwrap();
    text.push('\n');
    text.into_bytes()
}

/// `new`'s trust root with `old`'s transparency logs only (`both`: both).
fn tlogs_of(new: &TestSigstore, old: &TestSigstore, both: bool) -> Vec<u8> {
    let mut root = new.trusted_root_value();
    let mut tlogs = old.trusted_root_value()["tlogs"]
        .as_array()
        .unwrap()
        .clone();
    if both {
        tlogs.extend(root["tlogs"].as_array().unwrap().iter().cloned());
    }
    root["tlogs"] = Value::Array(tlogs);
    root_json(&root)
}

/// A webhook refreshing from `mirror` every 200 ms, trusting `tuf_root`.
fn start(world: &World, mirror: &str, tuf_root: &std::path::Path, extra: &[&str]) -> Webhook {
    let addr = &world.registry.addr;
    let cache = world.dir.path().join("tuf-cache");
    let mut args: Vec<String> = [
        "--tuf-mirror",
        mirror,
        "--tuf-root",
        tuf_root.to_str().unwrap(),
        "--tuf-cache",
        cache.to_str().unwrap(),
        "--trust-root-refresh",
        "200ms",
        "--no-pull-secrets",
        "--negative-cache-ttl",
        "30",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    Webhook::start(Options {
        policies: vec![(
            "test.yaml".into(),
            keyless_policy("tuf-test", &format!("{addr}/**"), "enforce"),
        )],
        trusted_root: PathBuf::new(),
        args,
    })
}

fn readyz(hook: &Webhook) -> Value {
    let (status, body) = hook.get("/readyz");
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

/// Wait (bounded) until `/readyz` satisfies `ok`.
fn wait_ready(hook: &Webhook, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        let r = readyz(hook);
        if ok(&r) {
            return r;
        }
        assert!(
            Instant::now() < until,
            "{what} never happened: {r}\n{}",
            hook.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Wait (bounded) until the metric sample `prefix` is at least `min`.
fn wait_metric(hook: &Webhook, prefix: &str, min: f64) {
    let until = Instant::now() + Duration::from_secs(60);
    while hook.metric(prefix) < min {
        assert!(
            Instant::now() < until,
            "{prefix} stayed below {min}:\n{}",
            hook.get("/metrics").1
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `apps/app:v1` pushed and signed by the world's Sigstore; its reference by digest.
fn signed_app(world: &World) -> String {
    let pushed = world.image("apps/app", "v1");
    world.sign("apps/app", &pushed, &SignOptions::default());
    format!("{}/apps/app@{}", world.registry.addr, pushed.digest)
}

/// The repository's first root, written where `--tuf-root` reads it.
fn write_tuf_root(world: &World, repo: &TufRepo) -> std::path::PathBuf {
    let path = world.dir.path().join("root.json");
    std::fs::write(&path, repo.root_v1()).unwrap();
    path
}

fn pod(image: &str) -> Value {
    serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "app", "namespace": "apps"},
        "spec": {"containers": [{"name": "app", "image": image}]}
    })
}

#[test]
fn a_new_rekor_key_is_denied_before_the_refresh_and_admitted_after() {
    // `old` runs the log the webhook knows; the world's Sigstore logs the
    // image's signature under a Rekor key published only later.
    let old = TestSigstore::new();
    let world = World::new();
    let before = tlogs_of(&world.sigstore, &old, false);
    let after = tlogs_of(&world.sigstore, &old, true);
    let repo = TufRepo::init(&before);
    let mirror = Mirror::start(Mode::Serve(repo.served()));
    let tuf_root = write_tuf_root(&world, &repo);

    let image = signed_app(&world);

    let hook = start(&world, mirror.url(), &tuf_root, &[]);
    let first = wait_ready(&hook, "the first refresh", |r| {
        r["defaultTrustRootSha256"] == sha256_hex(&before)
    });
    assert_eq!(first["defaultTrustRootSource"], "tuf", "{first}");
    // Two different hashes, named apart: the default root's file SHA-256,
    // and the hash of the whole set of roots that keys the verdict cache.
    let set_hash = first["trustRootSetHash"].as_str().expect("set hash");
    assert!(set_hash.starts_with("sha256:"), "{first}");
    assert_ne!(set_hash.trim_start_matches("sha256:"), sha256_hex(&before));
    assert_eq!(first["namedTrustRoots"], serde_json::json!([]), "{first}");
    assert!(first.get("trustRootHash").is_none() && first.get("trustRootFingerprint").is_none());
    assert_eq!(first["tuf"]["versions"]["targets"], 1, "{first}");

    let r = hook.validate(&review("CREATE", &pod(&image), &Value::Null, None));
    assert_eq!(r["allowed"], false, "{r}");
    // Denied because the log's key is unknown to the root in force.
    assert!(message(&r).contains("tlog-set-invalid"), "{r}");
    // Denials are cached for 30 s; a verdict reached under the old root
    // must not answer under the new one.
    let r = hook.validate(&review("CREATE", &pod(&image), &Value::Null, None));
    assert_eq!(r["allowed"], false, "{r}");
    assert_eq!(
        hook.metric("verify_admission_cache_total{result=\"hit\"}"),
        1.0
    );

    repo.publish(&after);
    let second = wait_ready(&hook, "the rotation", |r| {
        r["defaultTrustRootSha256"] == sha256_hex(&after)
    });
    assert_ne!(first["trustRootSetHash"], second["trustRootSetHash"]);
    assert_eq!(second["tuf"]["versions"]["targets"], 2, "{second}");
    let r = hook.validate(&review("CREATE", &pod(&image), &Value::Null, None));
    assert_eq!(r["allowed"], true, "{r}\n{}", hook.log_text());
    assert!(hook.metric("verify_admission_trust_root_refreshes_total{result=\"success\"") >= 2.0);
    assert!(hook.log_text().contains("a new trust root is in force"));

    // A failed refresh (the timestamp served has expired) keeps the root in
    // force, and is counted by its code.
    repo.timestamp(-60, None);
    wait_metric(
        &hook,
        "verify_admission_trust_root_refreshes_total{result=\"failure\",code=\"tuf-expired\"}",
        1.0,
    );
    let kept = readyz(&hook);
    assert_eq!(kept["defaultTrustRootSha256"], sha256_hex(&after));
    assert_eq!(kept["defaultTrustRootSource"], "tuf");
    assert_eq!(kept["tuf"]["lastError"]["code"], "tuf-expired", "{kept}");
    let r = hook.validate(&review("CREATE", &pod(&image), &Value::Null, None));
    assert_eq!(r["allowed"], true, "{r}");

    // A restart against another mirror URL, which is down: the cache is per
    // mirror, this one has none, so the built-in root is in force and the
    // failures are counted (the next test restarts on a cached mirror).
    drop(hook);
    let hook = start(&world, &down_url(), &tuf_root, &[]);
    let cached = readyz(&hook);
    assert_eq!(cached["defaultTrustRootSource"], "built-in", "{cached}");
    wait_metric(
        &hook,
        "verify_admission_trust_root_refreshes_total{result=\"failure\",code=\"tuf-mirror-unreachable\"}",
        1.0,
    );
}

#[test]
fn the_verified_cache_is_used_at_start_when_the_mirror_fails() {
    let world = World::new();
    let target = world.sigstore.trusted_root_json().into_bytes();
    let repo = TufRepo::init(&target);
    let mirror = Mirror::start(Mode::Serve(repo.served()));
    let tuf_root = write_tuf_root(&world, &repo);
    let image = signed_app(&world);

    let hook = start(&world, mirror.url(), &tuf_root, &[]);
    wait_ready(&hook, "the first refresh", |r| {
        r["defaultTrustRootSource"] == "tuf"
    });
    drop(hook);

    // Same mirror URL, now hanging: the cached root is in force at once.
    mirror.set(Mode::Hang);
    let hook = start(&world, mirror.url(), &tuf_root, &[]);
    let r = readyz(&hook);
    assert_eq!(r["defaultTrustRootSource"], "tuf-cache", "{r}");
    assert_eq!(r["defaultTrustRootSha256"], sha256_hex(&target));
    let r = hook.validate(&review("CREATE", &pod(&image), &Value::Null, None));
    assert_eq!(r["allowed"], true, "{r}");
}

#[test]
fn past_the_maximum_age_every_verification_fails_closed() {
    let world = World::new();
    let image = signed_app(&world);
    // A mirror that is down: the built-in root is never verified fresh.
    let repo = TufRepo::init(world.sigstore.trusted_root_json().as_bytes());
    let tuf_root = write_tuf_root(&world, &repo);
    let hook = start(
        &world,
        &down_url(),
        &tuf_root,
        &["--trust-root-max-age", "1h"],
    );

    let r = hook.validate(&review("CREATE", &pod(&image), &Value::Null, None));
    assert_eq!(r["allowed"], false, "{r}");
    let msg = message(&r);
    assert!(msg.contains("trust-root-too-old: "), "{msg}");
    assert!(msg.contains("never verified fresh through TUF"), "{msg}");
    assert!(msg.contains("--trust-root-max-age"), "{msg}");
    let ready = readyz(&hook);
    assert_eq!(ready["defaultTrustRootSource"], "built-in");
    assert_eq!(ready["tuf"]["fresh"], false, "{ready}");
}

#[test]
fn tuf_flags_are_checked_at_start() {
    let dir = TempDir::new("tuf-flags");
    let policies = dir.path().join("policies");
    std::fs::create_dir_all(&policies).unwrap();
    let root = dir.path().join("trusted_root.json");
    std::fs::write(&root, TestSigstore::new().trusted_root_json()).unwrap();
    let common = [
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--tls-cert",
        "/nonexistent/tls.crt",
        "--tls-key",
        "/nonexistent/tls.key",
        "--policies",
        policies.to_str().unwrap(),
        "--no-pull-secrets",
    ];
    let with = |extra: &[&str]| {
        let mut args = common.to_vec();
        args.extend_from_slice(extra);
        let out = run(&args);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = with(&[
        "--tuf-mirror",
        "http://127.0.0.1:9",
        "--trusted-root",
        root.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("--tuf-mirror and --trusted-root exclude each other"),
        "{err}"
    );
    let (code, err) = with(&[
        "--tuf-mirror",
        "http://127.0.0.1:9",
        "--trust-root-refresh",
        "soon",
    ]);
    assert_eq!(code, Some(2));
    assert!(err.contains("not a duration"), "{err}");
    let (code, err) = with(&["--trust-root-max-age", "1h"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("--tuf-mirror"), "{err}");
    let bad_root = dir.path().join("root.json");
    std::fs::write(&bad_root, b"{\"signed\": 1}").unwrap();
    let (code, err) = with(&[
        "--tuf-mirror",
        "http://127.0.0.1:9",
        "--tuf-root",
        bad_root.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(2));
    assert!(err.contains("--tuf-mirror: "), "{err}");
}

#[test]
fn readyz_names_the_default_root_and_the_set_of_roots_apart() {
    let world = World::new();
    let target = world.sigstore.trusted_root_json().into_bytes();
    let repo = TufRepo::init(&target);
    let mirror = Mirror::start(Mode::Serve(repo.served()));
    let tuf_root = write_tuf_root(&world, &repo);
    let named = world.dir.path().join("named-roots");
    std::fs::create_dir_all(&named).unwrap();
    std::fs::write(
        named.join("private.json"),
        TestSigstore::new().trusted_root_json(),
    )
    .unwrap();

    let with_named = start(
        &world,
        mirror.url(),
        &tuf_root,
        &["--trust-roots", named.to_str().unwrap()],
    );
    let r = wait_ready(&with_named, "the first refresh", |r| {
        r["defaultTrustRootSource"] == "tuf"
    });
    // The default root's file hash, as `sha256sum trusted_root.json` prints it.
    assert_eq!(r["defaultTrustRootSha256"], sha256_hex(&target), "{r}");
    assert_eq!(r["namedTrustRoots"], serde_json::json!(["private"]), "{r}");
    let set_hash = r["trustRootSetHash"].as_str().unwrap().to_string();
    assert!(set_hash.starts_with("sha256:"), "{r}");
    drop(with_named);

    // The same default root without the named one: the default root's
    // hash is the same, the set's is not.
    let alone = start(&world, mirror.url(), &tuf_root, &[]);
    let r = wait_ready(&alone, "the first refresh", |r| {
        r["defaultTrustRootSource"] != "built-in"
    });
    assert_eq!(r["defaultTrustRootSha256"], sha256_hex(&target), "{r}");
    assert_eq!(r["namedTrustRoots"], serde_json::json!([]), "{r}");
    assert_ne!(r["trustRootSetHash"], set_hash.as_str(), "{r}");
}

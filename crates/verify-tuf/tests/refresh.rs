//! TrustRootUpdater against a real TUF repository (python-tuf) holding trust
//! roots made by the test Sigstore, served over loopback HTTP.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{down_url, sha256_hex, Mirror, Mode, TempDir, TufRepo, DAY};
use serde_json::Value;
use verify_core::identity::IdentityPolicy;
use verify_core::{Artifact, Policy, Verifier};
use verify_testkit::TestSigstore;
use verify_tuf::{FetchError, TrustRootSource, TrustRootUpdater, TufError, UpdaterOptions};

fn root_json(value: &Value) -> Vec<u8> {
    let mut text = serde_json::to_string_pretty(value).expect("json");
    text.push('\n');
    text.into_bytes()
}

/// An updater over `mirror`, trusting the repository's v1 root, caching in
/// `cache`.
fn updater(repo: &TufRepo, mirror: &str, cache: &TempDir) -> TrustRootUpdater {
    TrustRootUpdater::new(
        UpdaterOptions::public_good()
            .mirror(mirror)
            .root(repo.root_v1())
            .cache_dir(cache.path())
            .fetch_timeout(Duration::from_secs(5)),
    )
    .expect("updater")
}

fn builtin_fingerprint() -> String {
    sha256_hex(verify_core::TrustRoot::production_json())
}

#[tokio::test(flavor = "current_thread")]
async fn first_initialisation_fetches_verifies_and_caches() {
    let sigstore = TestSigstore::new();
    let target = sigstore.trusted_root_json().into_bytes();
    let repo = TufRepo::init(&target);
    let mirror = Mirror::start(Mode::Serve(repo.served()));
    let cache = TempDir::new("cache");
    let updater = updater(&repo, mirror.url(), &cache);

    assert_eq!(updater.current().source, TrustRootSource::BuiltIn);
    assert_eq!(
        updater.current().root.fingerprint_hex(),
        builtin_fingerprint()
    );

    let outcome = updater.refresh().await.expect("refresh");
    assert!(outcome.changed);
    assert!(!outcome.builtin_is_current);
    assert_eq!(outcome.fingerprint, sha256_hex(&target));
    assert_eq!(
        (
            outcome.versions.root,
            outcome.versions.timestamp,
            outcome.versions.snapshot,
            outcome.versions.targets
        ),
        (1, 1, 1, 1)
    );
    let state = updater.current();
    assert_eq!(state.source, TrustRootSource::Tuf);
    assert_eq!(state.root.fingerprint_hex(), sha256_hex(&target));
    let status = updater.status();
    assert_eq!((status.refreshes_succeeded, status.failures_total), (1, 0));
    assert!(status.age_seconds.is_some_and(|age| age < 60));

    // A second process loads the cache, verified again, without the network.
    let before = mirror.requests();
    let offline = updater_for_cache(&repo, &cache);
    let loaded = offline.load_cached().await.expect("cache loads");
    assert_eq!(loaded.source, TrustRootSource::TufCache);
    assert_eq!(loaded.root.fingerprint_hex(), sha256_hex(&target));
    assert_eq!(mirror.requests(), before, "loading the cache made requests");
}

/// Same mirror URL (the cache is per mirror) but a transport that must never
/// be used.
fn updater_for_cache(repo: &TufRepo, cache: &TempDir) -> TrustRootUpdater {
    let dir = std::fs::read_dir(cache.path())
        .expect("cache dir")
        .next()
        .expect("one mirror dir")
        .expect("entry")
        .file_name();
    let name = dir
        .to_string_lossy()
        .replace("%3A", ":")
        .replace("%2F", "/");
    TrustRootUpdater::new(
        UpdaterOptions::public_good()
            .mirror(name)
            .root(repo.root_v1())
            .cache_dir(cache.path()),
    )
    .expect("updater")
}

#[tokio::test(flavor = "current_thread")]
async fn a_new_rekor_key_applies_after_refresh() {
    // `old` runs the log the clients know; `new` is the instance whose Rekor
    // key is then published. Everything but the log key is `new`'s in both
    // roots, so only the Rekor key decides.
    let old = TestSigstore::new();
    let new = TestSigstore::new();
    let mut before = new.trusted_root_value();
    before["tlogs"] = old.trusted_root_value()["tlogs"].clone();
    let mut after = new.trusted_root_value();
    let mut tlogs = old.trusted_root_value()["tlogs"]
        .as_array()
        .expect("tlogs")
        .clone();
    tlogs.extend(after["tlogs"].as_array().expect("tlogs").iter().cloned());
    after["tlogs"] = Value::Array(tlogs);

    let artifact = b"released under the new log";
    let bundle = new.sign_blob(artifact).expect("sign").to_json();
    let policy = Policy::Identity(IdentityPolicy::any_identity());
    let verify = |state: &verify_tuf::TrustState| {
        Verifier::new(state.root.clone())
            .expect("verifier")
            .verify_bundle(bundle.as_bytes(), Artifact::Bytes(artifact), &policy)
    };

    let repo = TufRepo::init(&root_json(&before));
    let mirror = Mirror::start(Mode::Serve(repo.served()));
    let cache = TempDir::new("cache");
    let updater = updater(&repo, mirror.url(), &cache);
    updater.refresh().await.expect("first refresh");
    let held = updater.current();
    let err = verify(&held).expect_err("unknown Rekor key must fail");
    assert!(
        err.code().contains("tlog") || err.code().contains("log"),
        "unexpected failure {}: {err}",
        err.code()
    );

    repo.publish(&root_json(&after));
    let outcome = updater.refresh().await.expect("second refresh");
    assert!(outcome.changed);
    assert_eq!(outcome.versions.targets, 2);
    verify(&updater.current()).expect("verifies once the new key is published");
    // A verification holding the previous root is not affected by the swap.
    assert!(verify(&held).is_err());
}

#[tokio::test(flavor = "current_thread")]
async fn root_rotation_signed_by_both_is_followed() {
    let sigstore = TestSigstore::new();
    let repo = TufRepo::init(sigstore.trusted_root_json().as_bytes());
    let mirror = Mirror::start(Mode::Serve(repo.served()));
    let cache = TempDir::new("cache");
    let updater = updater(&repo, mirror.url(), &cache);
    assert_eq!(updater.refresh().await.expect("v1").versions.root, 1);

    repo.rotate_root(false);
    let next = TestSigstore::new();
    repo.publish(next.trusted_root_json().as_bytes());
    let outcome = updater.refresh().await.expect("v2");
    assert_eq!(outcome.versions.root, 2);
    assert_eq!(
        outcome.fingerprint,
        sha256_hex(next.trusted_root_json().as_bytes())
    );
}

#[tokio::test(flavor = "current_thread")]
async fn root_signed_only_by_the_new_key_is_refused() {
    let sigstore = TestSigstore::new();
    let target = sigstore.trusted_root_json().into_bytes();
    let repo = TufRepo::init(&target);
    let mirror = Mirror::start(Mode::Serve(repo.served()));
    let cache = TempDir::new("cache");
    let updater = updater(&repo, mirror.url(), &cache);
    updater.refresh().await.expect("v1");

    repo.rotate_root(true);
    match updater.refresh().await {
        Err(TufError::Threshold {
            role,
            found,
            threshold,
        }) => {
            assert_eq!(role, "root");
            assert!(found < threshold);
        }
        other => panic!("expected a threshold failure, got {other:?}"),
    }
    assert_eq!(
        updater.current().root.fingerprint_hex(),
        sha256_hex(&target)
    );
}

#[tokio::test(flavor = "current_thread")]
async fn rollback_is_refused_and_the_last_good_root_kept() {
    let first = TestSigstore::new();
    let second = TestSigstore::new();
    let repo = TufRepo::init(first.trusted_root_json().as_bytes());
    let old_state = TempDir::new("old-state");
    repo.copy_served(old_state.path());
    let mirror = Mirror::start(Mode::Serve(repo.served()));
    let cache = TempDir::new("cache");
    let updater = updater(&repo, mirror.url(), &cache);
    updater.refresh().await.expect("v1");
    repo.publish(second.trusted_root_json().as_bytes());
    updater.refresh().await.expect("v2");
    let good = sha256_hex(second.trusted_root_json().as_bytes());

    // A timestamp (validly signed) that points back at snapshot 1.
    repo.timestamp(DAY, Some(1));
    match updater.refresh().await {
        Err(TufError::Rollback {
            role,
            trusted,
            offered,
        }) => {
            assert!(role.contains("snapshot"), "{role}");
            assert_eq!((trusted, offered), (2, 1));
        }
        other => panic!("expected a snapshot rollback, got {other:?}"),
    }
    assert_eq!(updater.current().root.fingerprint_hex(), good);

    // The whole older repository state, served by a stale or hostile mirror,
    // to a fresh process: the cache's versions are the floor.
    mirror.set(Mode::Serve(old_state.path().to_path_buf()));
    let restarted = TrustRootUpdater::new(
        UpdaterOptions::public_good()
            .mirror(mirror.url())
            .root(repo.root_v1())
            .cache_dir(cache.path()),
    )
    .expect("updater");
    match restarted.refresh().await {
        Err(TufError::Rollback {
            role,
            trusted,
            offered,
        }) => {
            assert_eq!(role, "timestamp");
            assert!(offered < trusted);
        }
        other => panic!("expected a timestamp rollback, got {other:?}"),
    }
    assert_eq!(restarted.status().failures_total, 1);
    assert_eq!(
        restarted.status().last_error.map(|e| e.code),
        Some("tuf-rollback")
    );
}

#[tokio::test(flavor = "current_thread")]
async fn expired_timestamp_is_refused_and_counted() {
    let sigstore = TestSigstore::new();
    let target = sigstore.trusted_root_json().into_bytes();
    let repo = TufRepo::init(&target);
    let mirror = Mirror::start(Mode::Serve(repo.served()));
    let cache = TempDir::new("cache");
    let updater = updater(&repo, mirror.url(), &cache);
    updater.refresh().await.expect("v1");

    repo.timestamp(-60, None);
    for attempt in 1..=2u64 {
        match updater.refresh().await {
            Err(TufError::Expired { role, expires }) => {
                assert_eq!(role, "timestamp");
                assert!(expires < jiff::Timestamp::now());
            }
            other => panic!("expected an expired timestamp, got {other:?}"),
        }
        let status = updater.status();
        assert_eq!(status.failures_total, attempt);
        assert_eq!(status.consecutive_failures, attempt);
        assert_eq!(status.refreshes_succeeded, 1);
        assert_eq!(status.last_error.map(|e| e.code), Some("tuf-expired"));
    }
    let state = updater.current();
    assert_eq!(state.source, TrustRootSource::Tuf);
    assert_eq!(state.root.fingerprint_hex(), sha256_hex(&target));

    // A good timestamp again: the failure streak ends.
    repo.timestamp(DAY, None);
    updater.refresh().await.expect("fresh again");
    assert_eq!(updater.status().consecutive_failures, 0);
    assert_eq!(updater.status().failures_total, 2);
}

#[tokio::test(flavor = "current_thread")]
async fn freeze_attack_is_refused() {
    // The mirror keeps serving what was valid yesterday; two days later the
    // (validly signed) timestamp has expired and must not be believed.
    let sigstore = TestSigstore::new();
    let target = sigstore.trusted_root_json().into_bytes();
    let repo = TufRepo::init(&target);
    let mirror = Mirror::start(Mode::Serve(repo.served()));
    let cache = TempDir::new("cache");
    let updater = updater(&repo, mirror.url(), &cache);
    let now = jiff::Timestamp::now();
    updater.refresh_at(now).await.expect("fresh");

    let later = now + jiff::SignedDuration::from_hours(48);
    match updater.refresh_at(later).await {
        Err(TufError::Expired { role, .. }) => assert_eq!(role, "timestamp"),
        other => panic!("expected a frozen timestamp to be refused, got {other:?}"),
    }
    assert_eq!(
        updater.current().root.fingerprint_hex(),
        sha256_hex(&target)
    );
    assert_eq!(updater.status_at(later).age_seconds, Some(48 * 3600));
}

#[tokio::test(flavor = "current_thread")]
async fn target_hash_mismatch_is_refused() {
    let sigstore = TestSigstore::new();
    let repo = TufRepo::init(sigstore.trusted_root_json().as_bytes());
    repo.tamper_target();
    let mirror = Mirror::start(Mode::Serve(repo.served()));
    let cache = TempDir::new("cache");
    let updater = updater(&repo, mirror.url(), &cache);
    match updater.refresh().await {
        Err(TufError::Integrity { detail }) => {
            assert!(detail.contains("trusted_root.json"), "{detail}")
        }
        other => panic!("expected a hash mismatch, got {other:?}"),
    }
    assert_eq!(updater.current().source, TrustRootSource::BuiltIn);
    assert!(std::fs::read_dir(cache.path())
        .into_iter()
        .flatten()
        .flatten()
        .all(|d| !d.path().join("targets").join("trusted_root.json").exists()));
}

#[tokio::test(flavor = "current_thread")]
async fn mirror_down_keeps_the_last_good_root() {
    let sigstore = TestSigstore::new();
    let target = sigstore.trusted_root_json().into_bytes();
    let repo = TufRepo::init(&target);
    let cache = TempDir::new("cache");
    let good = {
        let mirror = Mirror::start(Mode::Serve(repo.served()));
        let updater = updater(&repo, mirror.url(), &cache);
        updater.refresh().await.expect("fresh");
        updater.current()
    };

    let down = down_url();
    let updater = updater(&repo, &down, &cache);
    match updater.refresh().await {
        Err(TufError::Fetch(FetchError::Unreachable { url, .. })) => {
            assert!(url.starts_with(&down))
        }
        other => panic!("expected the mirror to be unreachable, got {other:?}"),
    }
    assert_eq!(
        updater.status().last_error.map(|e| e.code),
        Some("tuf-mirror-unreachable")
    );
    assert_eq!(updater.current().source, TrustRootSource::BuiltIn);
    assert_eq!(good.root.fingerprint_hex(), sha256_hex(&target));
}

#[tokio::test(flavor = "current_thread")]
async fn a_mirror_that_never_answers_hits_the_deadline() {
    let sigstore = TestSigstore::new();
    let repo = TufRepo::init(sigstore.trusted_root_json().as_bytes());
    let mirror = Mirror::start(Mode::Hang);
    let cache = TempDir::new("cache");
    let updater = TrustRootUpdater::new(
        UpdaterOptions::public_good()
            .mirror(mirror.url())
            .root(repo.root_v1())
            .cache_dir(cache.path())
            .fetch_timeout(Duration::from_millis(300)),
    )
    .expect("updater");
    let start = Instant::now();
    match updater.refresh().await {
        Err(TufError::Fetch(FetchError::Timeout { after, .. })) => {
            assert_eq!(after, Duration::from_millis(300))
        }
        other => panic!("expected a fetch timeout, got {other:?}"),
    }
    assert!(start.elapsed() < Duration::from_secs(10));
}

#[tokio::test(flavor = "current_thread")]
async fn gigabytes_of_metadata_are_cut_off() {
    let sigstore = TestSigstore::new();
    let repo = TufRepo::init(sigstore.trusted_root_json().as_bytes());
    let cache = TempDir::new("cache");
    for mode in [Mode::Endless, Mode::HugeLength] {
        let mirror = Mirror::start(mode.clone());
        let updater = updater(&repo, mirror.url(), &cache);
        match updater.refresh().await {
            // The first file fetched is 2.root.json, bounded at 512 000 bytes.
            Err(TufError::Fetch(FetchError::TooLarge { url, limit })) => {
                assert!(url.ends_with("/2.root.json"), "{url}");
                assert_eq!(limit, 512_000);
            }
            other => panic!("{mode:?}: expected the body to be cut off, got {other:?}"),
        }
        assert_eq!(updater.current().source, TrustRootSource::BuiltIn);
    }
}

#[tokio::test(flavor = "current_thread")]
async fn max_age_fails_closed_with_a_typed_reason() {
    let sigstore = TestSigstore::new();
    let repo = TufRepo::init(sigstore.trusted_root_json().as_bytes());
    let mirror = Mirror::start(Mode::Serve(repo.served()));
    let cache = TempDir::new("cache");
    let updater = TrustRootUpdater::new(
        UpdaterOptions::public_good()
            .mirror(mirror.url())
            .root(repo.root_v1())
            .cache_dir(cache.path())
            .max_age(Duration::from_secs(3600)),
    )
    .expect("updater");
    match updater.current_checked() {
        Err(TufError::TooOld { age: None, max }) => assert_eq!(max, Duration::from_secs(3600)),
        other => panic!("the built-in root is never fresh: {other:?}"),
    }
    let now = jiff::Timestamp::now();
    updater.refresh_at(now).await.expect("fresh");
    updater.current_checked_at(now).expect("fresh root passes");
    let later = now + jiff::SignedDuration::from_hours(2);
    match updater.current_checked_at(later) {
        Err(e @ TufError::TooOld { age: Some(_), .. }) => {
            assert_eq!(e.code(), "trust-root-too-old")
        }
        other => panic!("expected too old, got {other:?}"),
    }
    // Without a maximum age the same root stays usable.
    let lenient = updater_for_cache(&repo, &cache);
    lenient.load_cached().await.expect("cache");
    lenient
        .current_checked_at(later)
        .expect("no maximum age by default");
}

#[tokio::test(flavor = "current_thread")]
async fn a_tampered_cache_is_not_believed() {
    let sigstore = TestSigstore::new();
    let repo = TufRepo::init(sigstore.trusted_root_json().as_bytes());
    let mirror = Mirror::start(Mode::Serve(repo.served()));
    let cache = TempDir::new("cache");
    updater(&repo, mirror.url(), &cache)
        .refresh()
        .await
        .expect("fresh");

    let other = TestSigstore::new();
    let mirror_dir = std::fs::read_dir(cache.path())
        .expect("cache")
        .next()
        .expect("mirror dir")
        .expect("entry")
        .path();
    std::fs::write(
        mirror_dir.join("targets").join("trusted_root.json"),
        other.trusted_root_json(),
    )
    .expect("tamper");
    let loader = updater_for_cache(&repo, &cache);
    let err = loader
        .load_cached()
        .await
        .expect_err("tampered cache refused");
    assert_eq!(err.code(), "tuf-file-missing", "{err}");
    assert_eq!(loader.current().source, TrustRootSource::BuiltIn);
    assert_eq!(loader.status().failures_total, 1);
}

#[tokio::test(flavor = "current_thread")]
async fn a_supplied_root_is_checked_and_installed() {
    let sigstore = TestSigstore::new();
    let updater = TrustRootUpdater::new(UpdaterOptions::public_good()).expect("updater");
    let before = updater.current();
    let state = updater
        .install_trusted_root(
            sigstore.trusted_root_json().as_bytes(),
            jiff::Timestamp::now(),
        )
        .expect("install");
    assert_eq!(state.source, TrustRootSource::Supplied);
    assert!(updater
        .install_trusted_root(b"{\"mediaType\":1}", jiff::Timestamp::now())
        .is_err());
    assert_eq!(updater.current().source, TrustRootSource::Supplied);
    assert_eq!(
        before.source,
        TrustRootSource::BuiltIn,
        "held state unchanged"
    );
    let _ = Arc::strong_count(&before);
}

#[tokio::test(flavor = "current_thread")]
async fn malformed_metadata_gets_a_typed_error_not_a_panic() {
    let sigstore = TestSigstore::new();
    let repo = TufRepo::init(sigstore.trusted_root_json().as_bytes());
    let deep = format!("{}{}", "[".repeat(8_000), "]".repeat(8_000));
    let good = std::fs::read(repo.served().join("timestamp.json")).expect("timestamp");
    let truncated = good[..good.len() / 2].to_vec();
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("truncated", truncated),
        ("not json", b"\xff\xfe not json".to_vec()),
        ("deeply nested", deep.into_bytes()),
        (
            "wrong shape",
            br#"{"signed": 1, "signatures": "x"}"#.to_vec(),
        ),
        (
            "huge version",
            String::from_utf8_lossy(&good)
                .replace("\"version\": 1\n", "\"version\": 184467440737095516150\n")
                .into_bytes(),
        ),
        (
            "float",
            String::from_utf8_lossy(&good)
                .replace("\"version\": 1\n", "\"version\": 1.5\n")
                .into_bytes(),
        ),
    ];
    for (label, body) in bodies {
        let served = TempDir::new("served");
        repo.copy_served(served.path());
        std::fs::write(served.path().join("timestamp.json"), &body).expect("write");
        let mirror = Mirror::start(Mode::Serve(served.path().to_path_buf()));
        let cache = TempDir::new("cache");
        let updater = updater(&repo, mirror.url(), &cache);
        let err = updater.refresh().await.expect_err(label);
        assert!(
            matches!(
                err,
                TufError::Malformed { .. } | TufError::Threshold { .. } | TufError::Refused { .. }
            ),
            "{label}: {err:?}"
        );
        assert_eq!(
            updater.current().source,
            TrustRootSource::BuiltIn,
            "{label}"
        );
    }
}

#[tokio::test(flavor = "current_thread")]
async fn readers_are_not_blocked_by_a_refresh_in_progress() {
    let sigstore = TestSigstore::new();
    let repo = TufRepo::init(sigstore.trusted_root_json().as_bytes());
    let mirror = Mirror::start(Mode::Hang);
    let cache = TempDir::new("cache");
    let updater = updater(&repo, mirror.url(), &cache);
    let refresh = updater.refresh();
    let reader = async {
        // Let the refresh start and block on the silent mirror first.
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        (0..1000).map(|_| updater.current().source).last()
    };
    tokio::select! {
        biased;
        source = reader => assert_eq!(source, Some(TrustRootSource::BuiltIn)),
        result = refresh => panic!("the refresh finished before the readers: {result:?}"),
    }
}

#[tokio::test(flavor = "current_thread")]
async fn loading_the_cache_writes_nothing() {
    let sigstore = TestSigstore::new();
    let repo = TufRepo::init(sigstore.trusted_root_json().as_bytes());
    let mirror = Mirror::start(Mode::Serve(repo.served()));
    let cache = TempDir::new("cache");
    updater(&repo, mirror.url(), &cache)
        .refresh()
        .await
        .expect("fresh");
    let listing = |dir: &std::path::Path| {
        let mut files = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).expect("dir").flatten() {
                let meta = e.metadata().expect("meta");
                if meta.is_dir() {
                    stack.push(e.path());
                } else {
                    files.push((e.path(), meta.modified().expect("mtime")));
                }
            }
        }
        files.sort();
        files
    };
    let before = listing(cache.path());
    updater_for_cache(&repo, &cache)
        .load_cached()
        .await
        .expect("load");
    assert_eq!(listing(cache.path()), before);
}

//! Optional targets beside `trusted_root.json`: npm's registry keys, laid out
//! as Sigstore's public-good repository has them (a delegated role
//! `registry.npmjs.org` with its own key, holding `registry.npmjs.org/keys.json`),
//! in a real TUF repository made by python-tuf and served over loopback HTTP.

mod common;

use std::time::Duration;

use common::{sha256_hex, Mirror, Mode, TempDir, TufRepo};
use verify_testkit::TestSigstore;
use verify_tuf::{
    TrustRootSource, TrustRootUpdater, TufError, UpdaterOptions, NPM_REGISTRY_KEYS_TARGET,
};

/// npm's keys.json shape (the bytes are opaque to verify-tuf).
const KEYS: &[u8] = br#"{"keys":[{"keyId":"SHA256:test","keyUsage":"npm:attestations","publicKey":{"rawBytes":"MFkw","keyDetails":"PKIX_ECDSA_P256_SHA256_ASN1","validFor":{"start":"1999-01-01T00:00:00.000Z"}}}]}"#;

fn options(repo: &TufRepo, mirror: &str, cache: &TempDir) -> UpdaterOptions {
    UpdaterOptions::public_good()
        .mirror(mirror)
        .root(repo.root_v1())
        .cache_dir(cache.path())
        .fetch_timeout(Duration::from_secs(5))
        .extra_target(NPM_REGISTRY_KEYS_TARGET)
}

/// The cached keys file of `cache` (one mirror directory).
fn cached_keys(cache: &TempDir) -> std::path::PathBuf {
    let mirror_dir = std::fs::read_dir(cache.path())
        .expect("cache dir")
        .next()
        .expect("one mirror dir")
        .expect("entry")
        .path();
    mirror_dir.join("targets").join(NPM_REGISTRY_KEYS_TARGET)
}

#[tokio::test(flavor = "current_thread")]
async fn npm_keys_are_fetched_through_the_delegation_verified_and_cached() {
    let sigstore = TestSigstore::new();
    let repo = TufRepo::init(sigstore.trusted_root_json().as_bytes());
    repo.add_npm_keys(KEYS);
    let mirror = Mirror::start(Mode::Serve(repo.served()));
    let cache = TempDir::new("cache");
    let updater = TrustRootUpdater::new(options(&repo, mirror.url(), &cache)).expect("updater");

    let outcome = updater.refresh().await.expect("refresh");
    assert_eq!(
        outcome.extra_targets.get(NPM_REGISTRY_KEYS_TARGET),
        Some(&Some(sha256_hex(KEYS)))
    );
    let state = updater.current();
    assert_eq!(
        &*state.target(NPM_REGISTRY_KEYS_TARGET).expect("keys"),
        KEYS
    );
    assert_eq!(std::fs::read(cached_keys(&cache)).expect("cached"), KEYS);

    // Another process, without the network: the delegated role and the keys
    // are replayed from the cache and verified again.
    let before = mirror.requests();
    let offline =
        TrustRootUpdater::offline(options(&repo, mirror.url(), &cache)).expect("offline updater");
    let loaded = offline.load_cached().await.expect("cache loads");
    assert_eq!(loaded.source, TrustRootSource::TufCache);
    assert_eq!(
        &*loaded
            .target(NPM_REGISTRY_KEYS_TARGET)
            .expect("cached keys"),
        KEYS
    );
    assert_eq!(mirror.requests(), before, "loading the cache made requests");
}

#[tokio::test(flavor = "current_thread")]
async fn a_tampered_keys_file_on_the_mirror_is_refused() {
    let sigstore = TestSigstore::new();
    let repo = TufRepo::init(sigstore.trusted_root_json().as_bytes());
    repo.add_npm_keys(KEYS);
    repo.tamper_npm_keys();
    let mirror = Mirror::start(Mode::Serve(repo.served()));
    let cache = TempDir::new("cache");
    let updater = TrustRootUpdater::new(options(&repo, mirror.url(), &cache)).expect("updater");
    match updater.refresh().await {
        Err(TufError::Integrity { detail }) => {
            assert!(detail.contains(NPM_REGISTRY_KEYS_TARGET), "{detail}")
        }
        other => panic!("expected a hash mismatch, got {other:?}"),
    }
    assert_eq!(updater.current().source, TrustRootSource::BuiltIn);
    assert!(updater.current().target(NPM_REGISTRY_KEYS_TARGET).is_err());
    assert!(!cached_keys(&cache).exists(), "tampered keys were cached");
}

#[tokio::test(flavor = "current_thread")]
async fn a_tampered_cached_keys_file_is_refused() {
    let sigstore = TestSigstore::new();
    let repo = TufRepo::init(sigstore.trusted_root_json().as_bytes());
    repo.add_npm_keys(KEYS);
    let mirror = Mirror::start(Mode::Serve(repo.served()));
    let cache = TempDir::new("cache");
    TrustRootUpdater::new(options(&repo, mirror.url(), &cache))
        .expect("updater")
        .refresh()
        .await
        .expect("refresh");
    let mut edited = KEYS.to_vec();
    edited[10] ^= 0x01;
    std::fs::write(cached_keys(&cache), &edited).expect("tamper");

    let offline =
        TrustRootUpdater::offline(options(&repo, mirror.url(), &cache)).expect("offline updater");
    let err = offline.load_cached().await.expect_err("tampered keys");
    assert_eq!(err.code(), "tuf-integrity", "{err}");
    assert!(err.to_string().contains(NPM_REGISTRY_KEYS_TARGET), "{err}");
    assert_eq!(offline.current().source, TrustRootSource::BuiltIn);
}

#[tokio::test(flavor = "current_thread")]
async fn a_repository_without_the_target_refreshes_and_says_it_is_absent() {
    let sigstore = TestSigstore::new();
    let target = sigstore.trusted_root_json().into_bytes();
    let repo = TufRepo::init(&target);
    let mirror = Mirror::start(Mode::Serve(repo.served()));
    let cache = TempDir::new("cache");
    let updater = TrustRootUpdater::new(options(&repo, mirror.url(), &cache)).expect("updater");

    let outcome = updater.refresh().await.expect("the target is optional");
    assert_eq!(outcome.fingerprint, sha256_hex(&target));
    assert_eq!(
        outcome.extra_targets.get(NPM_REGISTRY_KEYS_TARGET),
        Some(&None)
    );
    match updater.current().target(NPM_REGISTRY_KEYS_TARGET) {
        Err(e @ TufError::TargetMissing { .. }) => {
            assert_eq!(e.code(), "tuf-target-missing");
            assert!(e.to_string().contains(NPM_REGISTRY_KEYS_TARGET), "{e}");
        }
        other => panic!("expected the target to be missing, got {other:?}"),
    }
    // The cache says the same, offline.
    let offline =
        TrustRootUpdater::offline(options(&repo, mirror.url(), &cache)).expect("offline updater");
    let loaded = offline.load_cached().await.expect("cache loads");
    assert!(matches!(
        loaded.target(NPM_REGISTRY_KEYS_TARGET),
        Err(TufError::TargetMissing { .. })
    ));
}

#[tokio::test(flavor = "current_thread")]
async fn a_cache_made_without_the_target_is_not_taken_for_one_with_it() {
    let sigstore = TestSigstore::new();
    let repo = TufRepo::init(sigstore.trusted_root_json().as_bytes());
    repo.add_npm_keys(KEYS);
    let mirror = Mirror::start(Mode::Serve(repo.served()));
    let cache = TempDir::new("cache");
    // Initialised by a caller that did not ask for the keys.
    let plain = UpdaterOptions::public_good()
        .mirror(mirror.url())
        .root(repo.root_v1())
        .cache_dir(cache.path());
    TrustRootUpdater::new(plain)
        .expect("updater")
        .refresh()
        .await
        .expect("refresh");
    assert!(!cached_keys(&cache).exists());

    let offline =
        TrustRootUpdater::offline(options(&repo, mirror.url(), &cache)).expect("offline updater");
    let err = offline.load_cached().await.expect_err("keys not cached");
    // The delegated role's metadata was never cached: named in the error.
    assert_eq!(err.code(), "tuf-file-missing", "{err}");
    assert!(err.to_string().contains("registry.npmjs.org"), "{err}");
}

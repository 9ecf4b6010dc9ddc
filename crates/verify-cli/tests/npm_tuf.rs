//! `verify npm-package` without `--npm-registry-keys`: npm's registry keys
//! from the TUF cache that `verify initialize` filled from a real TUF
//! repository (python-tuf, served over loopback) laid out as Sigstore's: the
//! role `registry.npmjs.org` delegated by `targets`, holding
//! `registry.npmjs.org/keys.json`. A pass, a tampered keys file on the mirror
//! and in the cache, a repository without the target, and no cache at all:
//! every failure closed, with a typed reason.

#[path = "../../verify-tuf/tests/common/mod.rs"]
mod common;
mod npm_env;

use std::path::Path;
use std::process::{Command, Output};

use common::{sha256_hex, Mirror, Mode, TufRepo};
use npm_env::*;
use serde_json::Value;
use verify_testkit::TestSigstore;

/// A TUF repository whose trusted root is `sigstore`'s, with `keys` as npm's
/// registry keys when given, and a cache initialised from it in the
/// fixture's directory.
struct Tuf {
    repo: TufRepo,
    mirror: Mirror,
    cache: String,
}

impl Tuf {
    fn new(fixture: &Fixture, sigstore: &TestSigstore, keys: Option<&[u8]>) -> Self {
        let repo = TufRepo::init(sigstore.trusted_root_json().as_bytes());
        if let Some(keys) = keys {
            repo.add_npm_keys(keys);
        }
        let mirror = Mirror::start(Mode::Serve(repo.served()));
        let cache = fixture.dir.join("tuf-cache").display().to_string();
        Self {
            repo,
            mirror,
            cache,
        }
    }

    fn initialize(&self, fixture: &Fixture) -> Output {
        let root = fixture.dir.join("tuf-root.json");
        std::fs::write(&root, self.repo.root_v1()).unwrap();
        Command::new(env!("CARGO_BIN_EXE_verify"))
            .args(["initialize", "--mirror", self.mirror.url(), "--root"])
            .arg(&root)
            .args(["--cache-dir", &self.cache, "--output", "json"])
            .env("HOME", &fixture.dir)
            .env_remove("XDG_CACHE_HOME")
            .env_remove("VERIFY_TUF_CACHE_DIR")
            .output()
            .expect("runs verify initialize")
    }

    fn env(&self) -> [(&str, &str); 1] {
        [("VERIFY_TUF_CACHE_DIR", self.cache.as_str())]
    }

    /// The cached keys file.
    fn cached_keys(&self) -> std::path::PathBuf {
        let mirror_dir = std::fs::read_dir(&self.cache)
            .unwrap()
            .flatten()
            .find(|e| e.path().is_dir())
            .expect("a mirror directory")
            .path();
        mirror_dir.join("targets/registry.npmjs.org/keys.json")
    }
}

fn stdout_json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// A good attestation set and the keys file that verifies it.
fn good_set(fixture: &Fixture, sigstore: &TestSigstore) -> (String, Vec<u8>) {
    let (set, keys) = fixture.attestations(
        "good",
        sigstore,
        &provenance_options("https://slsa.dev/provenance/v1", npm_v1_predicate()),
        Some(&publish_options("@acme/pkg", "1.2.3", PURL)),
    );
    (set, std::fs::read(keys).unwrap())
}

#[test]
fn keys_and_trust_root_come_from_the_verified_tuf_cache() {
    let sigstore = TestSigstore::new();
    let fixture = Fixture::new("tuf-pass", &sigstore);
    let (set, keys) = good_set(&fixture, &sigstore);
    let tuf = Tuf::new(&fixture, &sigstore, Some(&keys));
    let init = tuf.initialize(&fixture);
    assert_eq!(init.status.code(), Some(0), "{}", stdout_json(&init));
    let report = stdout_json(&init);
    assert_eq!(report["npm_registry_keys"], sha256_hex(&keys), "{report}");

    let (code, out) = fixture.run_env(&set, &[], &[], &tuf.env());
    assert_eq!(code, 0, "{out}");
    assert_eq!(out["verified"], true);
    assert_eq!(out["npm_registry_keys_source"], "tuf-cache", "{out}");
    assert_eq!(out["trust_root_source"], "tuf-cache", "{out}");

    // A repository whose keys name no key with the attestation's key ID:
    // the publish attestation no longer verifies (the TUF keys are used).
    let another = sigstore
        .sign(TARBALL, &publish_options("@acme/pkg", "1.2.3", PURL))
        .unwrap();
    let unknown = tuf_keys("SHA256:other", &der_b64(&another.public_key_pem));
    let other = Tuf::new(&fixture, &sigstore, Some(unknown.to_string().as_bytes()));
    let other = Tuf {
        cache: fixture.dir.join("other-cache").display().to_string(),
        ..other
    };
    assert_eq!(other.initialize(&fixture).status.code(), Some(0));
    let (code, out) = fixture.run_env(&set, &[], &[], &other.env());
    assert_eq!(code, 1, "{out}");
    assert_eq!(out["reason"]["code"], "npm-missing-registry-key", "{out}");

    // --npm-registry-keys still wins over the cache.
    let file = fixture.write("file.keys.json", &String::from_utf8(keys).unwrap());
    let (code, out) = fixture.run_env(&set, &[], &["--npm-registry-keys", &file], &tuf.env());
    assert_eq!(code, 0, "{out}");
    assert_eq!(out["npm_registry_keys_source"], "file");
}

#[test]
fn a_tampered_keys_file_is_refused_on_the_mirror_and_in_the_cache() {
    let sigstore = TestSigstore::new();
    let fixture = Fixture::new("tuf-tampered", &sigstore);
    let (set, keys) = good_set(&fixture, &sigstore);

    // Served tampered: `verify initialize` refuses it and caches nothing.
    let tuf = Tuf::new(&fixture, &sigstore, Some(&keys));
    tuf.repo.tamper_npm_keys();
    let init = tuf.initialize(&fixture);
    assert_eq!(init.status.code(), Some(1));
    assert_eq!(stdout_json(&init)["reason"]["code"], "tuf-integrity");
    let (code, out) = fixture.run_env(&set, &[], &[], &tuf.env());
    assert_eq!(code, 2, "{out}");
    assert_eq!(
        out["reason"]["code"], "npm-registry-keys-unavailable",
        "{out}"
    );

    // Cached, then edited in the cache: refused when read back.
    let fixture = Fixture::new("tuf-tampered-cache", &sigstore);
    let (set, keys) = good_set(&fixture, &sigstore);
    let tuf = Tuf::new(&fixture, &sigstore, Some(&keys));
    assert_eq!(tuf.initialize(&fixture).status.code(), Some(0));
    let mut edited = keys.clone();
    let at = edited.len() / 2;
    edited[at] ^= 0x01;
    std::fs::write(tuf.cached_keys(), &edited).unwrap();
    let (code, out) = fixture.run_env(&set, &[], &[], &tuf.env());
    assert_eq!(code, 1, "{out}");
    assert_eq!(out["reason"]["code"], "tuf-integrity", "{out}");
    assert_eq!(out["verified"], false);
}

#[test]
fn a_repository_without_the_keys_fails_closed_with_a_clear_reason() {
    let sigstore = TestSigstore::new();
    let fixture = Fixture::new("tuf-absent", &sigstore);
    let (set, _) = good_set(&fixture, &sigstore);
    let tuf = Tuf::new(&fixture, &sigstore, None);
    let init = tuf.initialize(&fixture);
    assert_eq!(init.status.code(), Some(0), "the keys are optional");
    assert!(stdout_json(&init)["npm_registry_keys"].is_null());

    let (code, out) = fixture.run_env(&set, &[], &[], &tuf.env());
    assert_eq!(code, 2, "{out}");
    assert_eq!(out["reason"]["code"], "tuf-target-missing", "{out}");
    let message = out["reason"]["message"].as_str().unwrap();
    assert!(
        message.contains("registry.npmjs.org/keys.json"),
        "{message}"
    );
    assert!(message.contains("--npm-registry-keys"), "{message}");
}

#[test]
fn no_keys_file_and_no_cache_fails_closed() {
    let sigstore = TestSigstore::new();
    let fixture = Fixture::new("tuf-none", &sigstore);
    let (set, _) = good_set(&fixture, &sigstore);
    let empty = fixture.dir.join("empty-cache");
    let (code, out) = fixture.run_env(
        &set,
        &[],
        &["--trusted-root", &fixture.root],
        &[("VERIFY_TUF_CACHE_DIR", empty.to_str().unwrap())],
    );
    assert_eq!(code, 2, "{out}");
    assert_eq!(out["reason"]["code"], "npm-registry-keys-unavailable");
    let message = out["reason"]["message"].as_str().unwrap();
    assert!(message.contains("verify initialize"), "{message}");
    assert!(message.contains("--npm-registry-keys"), "{message}");
    assert!(!Path::new(&empty).exists(), "nothing is written");
}

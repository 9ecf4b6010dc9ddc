//! `verify initialize` and the cached, TUF-verified trust root, against a
//! real TUF repository (python-tuf) served over loopback.

#[path = "../../verify-tuf/tests/common/mod.rs"]
mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{sha256_hex, Mirror, Mode, TempDir, TufRepo};
use serde_json::Value;
use verify_testkit::{GithubWorkflowClaims, TestSigstore, GITHUB_ACTIONS_ISSUER};

/// Runs `verify` with HOME in `home` and no other cache setting, so the
/// developer's own cache is never used.
fn verify(home: &Path, args: &[&str], cache: Option<&Path>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_verify"));
    command
        .args(args)
        .env("HOME", home)
        .env_remove("XDG_CACHE_HOME")
        .env_remove("VERIFY_TUF_CACHE_DIR")
        .env_remove("SIGSTORE_ROOT_FILE");
    if let Some(cache) = cache {
        command.env("VERIFY_TUF_CACHE_DIR", cache);
    }
    command.output().expect("run verify")
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

fn code(output: &Output) -> i32 {
    output.status.code().unwrap_or(-1)
}

/// A keyless bundle by `sigstore` over an artifact, written to `dir`;
/// returns the `verify blob` arguments.
fn blob_args(dir: &Path, sigstore: &TestSigstore, name: &str) -> Vec<String> {
    let artifact = dir.join(format!("{name}.txt"));
    std::fs::write(&artifact, name.as_bytes()).expect("artifact");
    let bundle = dir.join(format!("{name}.sigstore.json"));
    let signed = sigstore.sign_blob(name.as_bytes()).expect("sign");
    std::fs::write(&bundle, signed.to_json()).expect("bundle");
    vec![
        "blob".into(),
        "--bundle".into(),
        bundle.display().to_string(),
        "--certificate-identity".into(),
        GithubWorkflowClaims::default().workflow_identity(),
        "--certificate-oidc-issuer".into(),
        GITHUB_ACTIONS_ISSUER.into(),
        "--output".into(),
        "json".into(),
        artifact.display().to_string(),
    ]
}

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

struct Setup {
    work: TempDir,
    repo: TufRepo,
    mirror: Mirror,
    root_file: String,
    cache: String,
}

impl Setup {
    fn new(target: &[u8]) -> Self {
        let work = TempDir::new("cli");
        let repo = TufRepo::init(target);
        let mirror = Mirror::start(Mode::Serve(repo.served()));
        let root_file = work.path().join("root.json");
        std::fs::write(&root_file, repo.root_v1()).expect("root file");
        let cache = work.path().join("cache").display().to_string();
        Self {
            root_file: root_file.display().to_string(),
            cache,
            work,
            repo,
            mirror,
        }
    }

    fn home(&self) -> &Path {
        self.work.path()
    }

    fn cache(&self) -> &Path {
        Path::new(&self.cache)
    }

    fn initialize(&self, extra: &[&str]) -> Output {
        let mut args = vec![
            "initialize",
            "--mirror",
            self.mirror.url(),
            "--root",
            &self.root_file,
            "--cache-dir",
            &self.cache,
            "--output",
            "json",
        ];
        args.extend_from_slice(extra);
        verify(self.home(), &args, None)
    }
}

#[test]
fn initialize_then_commands_use_the_verified_cache() {
    let sigstore = TestSigstore::new();
    let target = sigstore.trusted_root_json().into_bytes();
    let setup = Setup::new(&target);

    let out = setup.initialize(&[]);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    let report = json(&out);
    assert_eq!(report["initialized"], true);
    assert_eq!(report["trust_root_source"], "tuf");
    assert_eq!(report["fingerprint"], sha256_hex(&target));
    assert_eq!(report["builtin_is_current"], false);
    assert_eq!(report["versions"]["root"], 1);

    let args = blob_args(setup.home(), &sigstore, "cached");
    let requests = setup.mirror.requests();
    let out = verify(setup.home(), &strs(&args), Some(setup.cache()));
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(json(&out)["trust_root_source"], "tuf-cache");
    assert_eq!(
        setup.mirror.requests(),
        requests,
        "verification fetched TUF metadata"
    );

    // Without the cache: the built-in root, which does not trust the test
    // Sigstore.
    let out = verify(setup.home(), &strs(&args), None);
    assert_eq!(code(&out), 1, "{}", String::from_utf8_lossy(&out.stderr));

    // --trusted-root still wins over the cache.
    let other = TestSigstore::new();
    let other_root = setup.home().join("other-root.json");
    std::fs::write(&other_root, other.trusted_root_json()).expect("write");
    let mut with_file = args.clone();
    with_file.extend(["--trusted-root".into(), other_root.display().to_string()]);
    let out = verify(setup.home(), &strs(&with_file), Some(setup.cache()));
    assert_eq!(code(&out), 1, "the other root does not trust this bundle");
    let other_args = blob_args(setup.home(), &other, "other");
    let mut other_with_file = other_args.clone();
    other_with_file.extend(["--trusted-root".into(), other_root.display().to_string()]);
    let out = verify(setup.home(), &strs(&other_with_file), Some(setup.cache()));
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(json(&out)["trust_root_source"], "file");
}

#[test]
fn the_default_cache_is_under_xdg_cache_home() {
    let sigstore = TestSigstore::new();
    let setup = Setup::new(sigstore.trusted_root_json().as_bytes());
    // No --cache-dir: $HOME/.cache/verify/tuf.
    let out = verify(
        setup.home(),
        &[
            "initialize",
            "--mirror",
            setup.mirror.url(),
            "--root",
            &setup.root_file,
        ],
        None,
    );
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("differs from the built-in"), "{text}");
    assert!(setup.home().join(".cache/verify/tuf/config.json").exists());
    let args = blob_args(setup.home(), &sigstore, "default-cache");
    let out = verify(setup.home(), &strs(&args), None);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(json(&out)["trust_root_source"], "tuf-cache");
}

#[test]
fn a_published_rekor_key_is_trusted_after_initialize() {
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

    let setup = Setup::new(serde_json::to_string(&before).expect("json").as_bytes());
    assert_eq!(code(&setup.initialize(&[])), 0);
    let args = blob_args(setup.home(), &new, "rotated");
    let out = verify(setup.home(), &strs(&args), Some(setup.cache()));
    assert_eq!(code(&out), 1, "logged under a key not yet published");

    setup
        .repo
        .publish(serde_json::to_string(&after).expect("json").as_bytes());
    let out = setup.initialize(&[]);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(json(&out)["versions"]["targets"], 2);
    let out = verify(setup.home(), &strs(&args), Some(setup.cache()));
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn offline_never_touches_the_network() {
    let sigstore = TestSigstore::new();
    let target = sigstore.trusted_root_json().into_bytes();
    let setup = Setup::new(&target);

    // Nothing cached yet: a typed refusal, and no request.
    let out = setup.initialize(&["--offline"]);
    assert_eq!(code(&out), 1);
    assert_eq!(json(&out)["reason"]["code"], "tuf-not-initialized");
    assert_eq!(setup.mirror.requests(), 0);

    assert_eq!(code(&setup.initialize(&[])), 0);
    let requests = setup.mirror.requests();
    assert!(requests > 0);
    let out = setup.initialize(&["--offline"]);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    let report = json(&out);
    assert_eq!(report["trust_root_source"], "tuf-cache");
    assert_eq!(report["fingerprint"], sha256_hex(&target));
    assert_eq!(setup.mirror.requests(), requests, "--offline made requests");

    // Without --mirror and --root: the ones the cache was initialised with.
    let out = verify(
        setup.home(),
        &[
            "initialize",
            "--offline",
            "--cache-dir",
            &setup.cache,
            "-o",
            "json",
        ],
        None,
    );
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    let report = json(&out);
    assert_eq!(report["mirror"], setup.mirror.url());
    assert_eq!(report["trust_root_source"], "tuf-cache");
    assert_eq!(setup.mirror.requests(), requests, "--offline made requests");
}

#[test]
fn a_failed_refresh_leaves_the_cache_in_force() {
    let sigstore = TestSigstore::new();
    let setup = Setup::new(sigstore.trusted_root_json().as_bytes());
    assert_eq!(code(&setup.initialize(&[])), 0);

    setup.repo.timestamp(-60, None);
    let out = setup.initialize(&[]);
    assert_eq!(code(&out), 1);
    assert_eq!(json(&out)["reason"]["code"], "tuf-expired");

    let args = blob_args(setup.home(), &sigstore, "still-good");
    let out = verify(setup.home(), &strs(&args), Some(setup.cache()));
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(json(&out)["trust_root_source"], "tuf-cache");
}

#[test]
fn a_tampered_cache_falls_back_to_the_builtin_root_with_a_warning() {
    let sigstore = TestSigstore::new();
    let setup = Setup::new(sigstore.trusted_root_json().as_bytes());
    assert_eq!(code(&setup.initialize(&[])), 0);
    let mirror_dir = std::fs::read_dir(setup.cache())
        .expect("cache")
        .flatten()
        .find(|e| e.path().is_dir())
        .expect("mirror dir")
        .path();
    // Swap in another trust root the attacker controls.
    let attacker = TestSigstore::new();
    std::fs::write(
        mirror_dir.join("targets").join("trusted_root.json"),
        attacker.trusted_root_json(),
    )
    .expect("tamper");
    let args = blob_args(setup.home(), &attacker, "attacker");
    let out = verify(setup.home(), &strs(&args), Some(setup.cache()));
    assert_eq!(code(&out), 1, "the attacker's root must not be believed");
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("was not used"), "{text}");
}

#[test]
fn initialize_against_a_dead_mirror_fails_with_a_typed_reason() {
    let work = TempDir::new("cli-down");
    let out = verify(
        work.path(),
        &[
            "initialize",
            "--mirror",
            &common::down_url(),
            "--cache-dir",
            &work.path().join("cache").display().to_string(),
            "--output",
            "json",
        ],
        None,
    );
    assert_eq!(code(&out), 1);
    assert_eq!(json(&out)["reason"]["code"], "tuf-mirror-unreachable");
    let out = verify(
        work.path(),
        &["initialize", "--mirror", "ftp://x", "-o", "json"],
        None,
    );
    assert_eq!(code(&out), 1);
    assert_eq!(json(&out)["reason"]["code"], "tuf-mirror-url");
}

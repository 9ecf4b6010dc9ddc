//! `verify image` and `verify attestation` against a real registry
//! (Debian's `docker-registry`, started per test on a loopback port), with
//! images pushed through the registry API or `skopeo`, signed by the test
//! Sigstore in every format cosign writes, and a Rekor-shaped log and a
//! fault-injecting proxy served by the tests.

mod image_env;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use image_env::*;
use serde_json::json;
use verify_testkit::cosign::{
    attestation_layer, intoto_v001_attestation, signature_layer, simple_signing_payload,
    CosignLayer,
};
use verify_testkit::{Content, KeyKind, SignOptions, SignedBundle, Signer, TestSigstore};

const ISSUER: &str = verify_testkit::GITHUB_ACTIONS_ISSUER;

/// A registry, a test Sigstore and its trusted root on disk.
struct World {
    sigstore: TestSigstore,
    registry: Registry,
    pusher: Pusher,
    dir: TempDir,
    root: PathBuf,
}

impl World {
    fn new() -> Self {
        let sigstore = TestSigstore::new();
        let registry = Registry::start();
        let pusher = registry.pusher();
        let dir = TempDir::new("image-test");
        let root = dir.path().join("trusted_root.json");
        std::fs::write(&root, sigstore.trusted_root_json()).unwrap();
        Self {
            sigstore,
            registry,
            pusher,
            dir,
            root,
        }
    }

    fn addr(&self) -> &str {
        &self.registry.addr
    }

    fn by_digest(&self, repo: &str, image: &Pushed) -> String {
        format!("{}/{repo}@{}", self.addr(), image.digest)
    }

    fn identity() -> String {
        SignOptions::default()
            .effective_identity()
            .as_str()
            .to_string()
    }

    /// Keyless identity flags and the test trusted root.
    fn keyless_args(&self) -> Vec<String> {
        vec![
            "--certificate-identity".into(),
            Self::identity(),
            "--certificate-oidc-issuer".into(),
            ISSUER.into(),
            "--trusted-root".into(),
            self.root.display().to_string(),
        ]
    }

    /// A cosign signature layer over the simple-signing payload for
    /// `digest`, signed as `options` say.
    fn signature(
        &self,
        repo: &str,
        digest: &str,
        optional: Option<serde_json::Value>,
        options: &SignOptions,
        with_bundle: bool,
    ) -> (CosignLayer, SignedBundle) {
        let payload = simple_signing_payload(&format!("{}/{repo}", self.addr()), digest, optional);
        let signed = self.sigstore.sign(&payload, options).unwrap();
        let layer = signature_layer(&self.sigstore, &payload, &signed, with_bundle).unwrap();
        (layer, signed)
    }

    /// Sign `image` keylessly (bundle annotation included) under its
    /// `.sig` tag.
    fn sign(&self, repo: &str, image: &Pushed) {
        let (layer, _) = self.signature(repo, &image.digest, None, &SignOptions::default(), true);
        self.pusher
            .cosign_manifest(repo, &format!("sha256-{}.sig", image.hex()), &[layer]);
    }

    fn run(&self, command: &str, image: &str, extra: &[&str]) -> std::process::Output {
        let mut args: Vec<String> = vec![command.into(), image.into()];
        args.extend(self.keyless_args());
        args.extend(extra.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        verify(&args)
    }
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn assert_status(output: &std::process::Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&output.stdout),
        stderr(output)
    );
}

/// The per-signature failure codes of a `-o json` failure.
fn failure_codes(output: &std::process::Output) -> (String, Vec<String>) {
    let json = failure_json(output);
    (
        json["reason"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        json["failures"]
            .as_array()
            .map(|f| {
                f.iter()
                    .map(|x| x["code"].as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default(),
    )
}

#[test]
fn keyless_signature_of_a_skopeo_pushed_image_verifies_on_its_digest() {
    let w = World::new();
    let image = skopeo_push(&w.registry, "app", "v1");
    w.sign("app", &image);

    // By tag: resolved to the digest, which the output names.
    let output = w.run("image", &format!("{}/app:v1", w.addr()), &["-o", "json"]);
    assert_status(&output, 0);
    let payloads: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let payloads = payloads.as_array().expect("cosign's list of payloads");
    assert_eq!(payloads.len(), 1);
    let p = &payloads[0];
    assert_eq!(
        p["critical"]["image"]["docker-manifest-digest"],
        image.digest
    );
    assert_eq!(p["critical"]["type"], "cosign container image signature");
    assert_eq!(p["optional"]["Subject"], World::identity());
    assert_eq!(p["optional"]["Issuer"], ISSUER);
    assert!(p["optional"]["Bundle"]["Payload"]["logIndex"].is_u64());

    // Text: the checks and the digest on stderr, the payload on stdout.
    let output = w.run("image", &format!("{}/app:v1", w.addr()), &[]);
    assert_status(&output, 0);
    assert!(stderr(&output).contains(&format!(
        "Verification for {}/app@{}",
        w.addr(),
        image.digest
    )));
    assert!(stderr(&output).contains(&format!("Certificate subject: {}", World::identity())));
    let payload: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        payload["critical"]["image"]["docker-manifest-digest"],
        image.digest
    );
}

#[test]
fn the_wrong_identity_is_reported_once_per_signature() {
    let w = World::new();
    let image = w.pusher.image("app", "v1", "linux", "amd64");
    let layers: Vec<CosignLayer> = (0..2)
        .map(|_| {
            w.signature("app", &image.digest, None, &SignOptions::default(), true)
                .0
        })
        .collect();
    w.pusher
        .cosign_manifest("app", &format!("sha256-{}.sig", image.hex()), &layers);
    let output = verify(&[
        "image",
        &w.by_digest("app", &image),
        "--certificate-identity-regexp",
        "^https://github\\.com/someone-else/",
        "--certificate-oidc-issuer",
        ISSUER,
        "--trusted-root",
        w.root.to_str().unwrap(),
        "-o",
        "json",
    ]);
    assert_status(&output, 1);
    let (code, failures) = failure_codes(&output);
    assert_eq!(code, "no-matching-signatures");
    assert_eq!(failures, vec!["identity-mismatch", "identity-mismatch"]);

    let output = verify(&[
        "image",
        &w.by_digest("app", &image),
        "--certificate-identity",
        &World::identity(),
        "--certificate-oidc-issuer",
        "https://accounts.example.com",
        "--trusted-root",
        w.root.to_str().unwrap(),
    ]);
    assert_status(&output, 1);
    let text = stderr(&output);
    assert!(text.contains("2 signature(s) found"), "{text}");
    assert_eq!(text.matches("[issuer-mismatch]").count(), 2, "{text}");
}

#[test]
fn no_signatures_and_no_matching_signatures_are_different_errors() {
    let w = World::new();
    let image = w.pusher.image("app", "v1", "linux", "amd64");
    let output = w.run("image", &w.by_digest("app", &image), &["-o", "json"]);
    assert_status(&output, 1);
    assert_eq!(failure_codes(&output).0, "no-signatures");

    // A signature made by a CA outside the trusted root.
    let (layer, _) = w.signature(
        "app",
        &image.digest,
        None,
        &SignOptions {
            untrusted_ca: true,
            ..SignOptions::default()
        },
        true,
    );
    w.pusher
        .cosign_manifest("app", &format!("sha256-{}.sig", image.hex()), &[layer]);
    let output = w.run("image", &w.by_digest("app", &image), &["-o", "json"]);
    assert_status(&output, 1);
    assert_eq!(
        failure_codes(&output),
        (
            "no-matching-signatures".into(),
            vec!["certificate-untrusted".into()]
        )
    );
}

#[test]
fn a_signature_of_another_image_is_rejected_unless_claims_are_not_checked() {
    let w = World::new();
    let image = w.pusher.image("app", "v1", "linux", "amd64");
    let other = w.pusher.image("app", "v2", "linux", "amd64");
    // A valid signature whose payload names the other image, copied here.
    let (layer, _) = w.signature("app", &other.digest, None, &SignOptions::default(), true);
    w.pusher
        .cosign_manifest("app", &format!("sha256-{}.sig", image.hex()), &[layer]);
    let output = w.run("image", &w.by_digest("app", &image), &["-o", "json"]);
    assert_status(&output, 1);
    assert_eq!(
        failure_codes(&output),
        (
            "no-matching-signatures".into(),
            vec!["claims-image-mismatch".into()]
        )
    );
    let output = w.run(
        "image",
        &w.by_digest("app", &image),
        &["--check-claims=false"],
    );
    assert_status(&output, 0);
}

#[test]
fn annotations_must_be_signed() {
    let w = World::new();
    let image = w.pusher.image("app", "v1", "linux", "amd64");
    let (layer, _) = w.signature(
        "app",
        &image.digest,
        Some(json!({"env": "prod", "team": "flux"})),
        &SignOptions::default(),
        true,
    );
    w.pusher
        .cosign_manifest("app", &format!("sha256-{}.sig", image.hex()), &[layer]);
    let reference = w.by_digest("app", &image);
    assert_status(
        &w.run("image", &reference, &["-a", "env=prod", "-a", "team=flux"]),
        0,
    );
    assert_status(
        &w.run("image", &reference, &["-a", "env=prod,team=flux"]),
        0,
    );
    let output = w.run("image", &reference, &["-a", "env=dev", "-o", "json"]);
    assert_status(&output, 1);
    assert_eq!(failure_codes(&output).1, vec!["claims-annotation-mismatch"]);
    assert_status(&w.run("image", &reference, &["-a", "novalue"]), 2);
}

#[test]
fn a_signature_without_bundle_is_looked_up_in_the_log_unless_offline() {
    let w = World::new();
    let image = w.pusher.image("app", "v1", "linux", "amd64");
    let (layer, _) = w.signature("app", &image.digest, None, &SignOptions::default(), false);
    w.pusher
        .cosign_manifest("app", &format!("sha256-{}.sig", image.hex()), &[layer]);
    let reference = w.by_digest("app", &image);

    let rekor = rekor_server(w.sigstore.rekor().clone());
    let output = w.run(
        "image",
        &reference,
        &["--rekor-url", &rekor.url(), "-o", "json"],
    );
    assert_status(&output, 0);
    let payloads: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(payloads[0]["optional"]["Subject"], World::identity());

    let output = w.run("image", &reference, &["--offline", "-o", "json"]);
    assert_status(&output, 1);
    assert_eq!(failure_codes(&output).1, vec!["tlog-lookup-offline"]);

    // A log that never saw the signature.
    let empty = rekor_server(TestSigstore::new().rekor().clone());
    let output = w.run(
        "image",
        &reference,
        &["--rekor-url", &empty.url(), "-o", "json"],
    );
    assert_status(&output, 1);
    assert_eq!(failure_codes(&output).1, vec!["tlog-entry-not-found"]);
}

#[test]
fn key_based_signatures_verify_with_their_key_only() {
    let w = World::new();
    let image = w.pusher.image("app", "v1", "linux", "amd64");
    let options = SignOptions {
        signer: Signer::Key(KeyKind::EcdsaP256),
        ..SignOptions::default()
    };
    let (layer, signed) = w.signature("app", &image.digest, None, &options, true);
    w.pusher
        .cosign_manifest("app", &format!("sha256-{}.sig", image.hex()), &[layer]);
    let key = w.dir.path().join("cosign.pub");
    std::fs::write(&key, &signed.public_key_pem).unwrap();
    let root = w.root.to_str().unwrap();
    let reference = w.by_digest("app", &image);
    let output = verify(&[
        "image",
        &reference,
        "--key",
        key.to_str().unwrap(),
        "--trusted-root",
        root,
    ]);
    assert_status(&output, 0);
    assert!(stderr(&output).contains("verified against the specified public key"));

    let other = w.dir.path().join("other.pub");
    let other_key = verify_testkit::TestKey::generate(KeyKind::EcdsaP256).unwrap();
    std::fs::write(&other, other_key.public_key_pem()).unwrap();
    let output = verify(&[
        "image",
        &reference,
        "--key",
        other.to_str().unwrap(),
        "--trusted-root",
        root,
        "-o",
        "json",
    ]);
    assert_status(&output, 1);
    assert_eq!(failure_codes(&output).0, "no-matching-signatures");

    // A keyless policy does not accept a key-signed signature.
    let output = w.run("image", &reference, &["-o", "json"]);
    assert_status(&output, 1);
    assert_eq!(failure_codes(&output).1, vec!["bundle-kind-mismatch"]);
}

#[test]
fn a_corrupted_set_is_rejected() {
    let w = World::new();
    let image = w.pusher.image("app", "v1", "linux", "amd64");
    let (layer, _) = w.signature(
        "app",
        &image.digest,
        None,
        &SignOptions {
            corrupt_set: true,
            ..SignOptions::default()
        },
        true,
    );
    w.pusher
        .cosign_manifest("app", &format!("sha256-{}.sig", image.hex()), &[layer]);
    let output = w.run("image", &w.by_digest("app", &image), &["-o", "json"]);
    assert_status(&output, 1);
    assert_eq!(failure_codes(&output).1, vec!["tlog-set-invalid"]);
}

/// A cosign v3 bundle over `subject` (a DSSE in-toto statement naming it).
fn v3_bundle(w: &World, subject: &Pushed, predicate_type: &str) -> Vec<u8> {
    w.sigstore
        .sign(
            &subject.bytes,
            &SignOptions {
                content: Content::Dsse,
                predicate_type: predicate_type.into(),
                ..SignOptions::default()
            },
        )
        .unwrap()
        .to_json()
        .into_bytes()
}

#[test]
fn cosign_v3_bundles_attached_through_the_referrers_tag_schema_verify() {
    let w = World::new();
    let image = w.pusher.image("app", "v1", "linux", "amd64");
    let signature = v3_bundle(&w, &image, "https://sigstore.dev/cosign/sign/v1");
    let provenance = v3_bundle(&w, &image, "https://slsa.dev/provenance/v1");
    w.pusher
        .bundle_referrers("app", &image, &[signature, provenance]);
    let reference = format!("{}/app:v1", w.addr());

    let output = w.run("image", &reference, &["-o", "json"]);
    assert_status(&output, 0);
    let payloads: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        payloads.as_array().unwrap().len(),
        1,
        "only the signing statement is a signature"
    );
    assert_eq!(
        payloads[0]["critical"]["image"]["docker-manifest-digest"],
        image.digest
    );
    assert_eq!(
        payloads[0]["critical"]["type"],
        "https://sigstore.dev/cosign/sign/v1"
    );

    let output = w.run("attestation", &reference, &["--type", "slsaprovenance1"]);
    assert_status(&output, 0);
    let envelope: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(envelope["payloadType"], "application/vnd.in-toto+json");

    // A bundle whose statement names another image does not count.
    let other = w.pusher.image("app", "v2", "linux", "amd64");
    let foreign = v3_bundle(&w, &image, "https://sigstore.dev/cosign/sign/v1");
    w.pusher.bundle_referrers("app", &other, &[foreign]);
    let output = w.run("image", &format!("{}/app:v2", w.addr()), &["-o", "json"]);
    assert_status(&output, 1);
    assert_eq!(failure_codes(&output).1, vec!["artifact-mismatch"]);
}

#[test]
fn legacy_attestations_verify_and_are_selected_by_predicate_type() {
    let w = World::new();
    let image = w.pusher.image("app", "v1", "linux", "amd64");
    let signed = w
        .sigstore
        .sign(
            &image.bytes,
            &SignOptions {
                content: Content::Dsse,
                ..SignOptions::default()
            },
        )
        .unwrap();
    let dsse = attestation_layer(&w.sigstore, &signed, true).unwrap();
    let intoto =
        intoto_v001_attestation(&w.sigstore, &image.bytes, &SignOptions::default(), false).unwrap();
    w.pusher.cosign_manifest(
        "app",
        &format!("sha256-{}.att", image.hex()),
        &[dsse, intoto],
    );
    let reference = w.by_digest("app", &image);

    let output = w.run("attestation", &reference, &["--type", "slsaprovenance1"]);
    assert_status(&output, 0);
    let lines: Vec<&str> = std::str::from_utf8(&output.stdout)
        .unwrap()
        .lines()
        .collect();
    assert_eq!(
        lines.len(),
        2,
        "both the dsse and the intoto v0.0.1 attestation verify"
    );

    let output = w.run(
        "attestation",
        &reference,
        &["--type", "spdxjson", "-o", "json"],
    );
    assert_status(&output, 1);
    assert_eq!(failure_codes(&output).0, "no-matching-predicate");
    assert_status(
        &w.run("attestation", &reference, &["--type", "nonsense"]),
        2,
    );
}

#[test]
fn an_intoto_v001_entry_that_logs_other_content_is_rejected() {
    let w = World::new();
    let image = w.pusher.image("app", "v1", "linux", "amd64");
    let att =
        intoto_v001_attestation(&w.sigstore, &image.bytes, &SignOptions::default(), true).unwrap();
    w.pusher
        .cosign_manifest("app", &format!("sha256-{}.att", image.hex()), &[att]);
    let output = w.run(
        "attestation",
        &w.by_digest("app", &image),
        &["--type", "slsaprovenance1", "-o", "json"],
    );
    assert_status(&output, 1);
    assert_eq!(failure_codes(&output).1, vec!["tlog-entry-mismatch"]);
}

#[test]
fn a_platform_image_needs_its_own_signature_only_when_required() {
    let w = World::new();
    let (index, children) = w
        .pusher
        .index("app", "v1", &[("linux", "amd64"), ("linux", "arm64")]);
    w.sign("app", &index);
    let reference = format!("{}/app:v1", w.addr());

    let output = w.run("image", &reference, &["--platform", "linux/arm64"]);
    assert_status(&output, 0);
    assert!(
        stderr(&output).contains(&children[1].digest),
        "{}",
        stderr(&output)
    );

    let output = w.run(
        "image",
        &reference,
        &[
            "--platform",
            "linux/arm64",
            "--require-platform-signature",
            "-o",
            "json",
        ],
    );
    assert_status(&output, 1);
    assert_eq!(failure_codes(&output).0, "no-signatures");
    assert!(failure_json(&output)["reason"]["message"]
        .as_str()
        .unwrap()
        .contains(&children[1].digest));

    w.sign("app", &children[1]);
    let output = w.run(
        "image",
        &reference,
        &[
            "--platform",
            "linux/arm64",
            "--require-platform-signature",
            "-o",
            "json",
        ],
    );
    assert_status(&output, 0);
    let payloads: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let digests: Vec<&str> = payloads
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            p["critical"]["image"]["docker-manifest-digest"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(
        digests,
        vec![index.digest.as_str(), children[1].digest.as_str()]
    );

    let output = w.run(
        "image",
        &reference,
        &["--platform", "windows/amd64", "-o", "json"],
    );
    assert_status(&output, 1);
    assert_eq!(failure_codes(&output).0, "image-not-found");
}

#[test]
fn a_registry_serving_tampered_content_is_refused() {
    let w = World::new();
    let image = w.pusher.image("app", "v1", "linux", "amd64");
    w.sign("app", &image);

    // The tag's manifest changed in transit; the registry's digest header stays.
    let proxy = Proxy::start(
        w.addr(),
        Fault::TamperManifest {
            suffix: "/manifests/v1".into(),
            keep_digest_header: true,
        },
    );
    let output = w.run(
        "image",
        &format!("{}/app:v1", proxy.addr()),
        &["-o", "json"],
    );
    assert_status(&output, 1);
    assert_eq!(failure_codes(&output).0, "registry-digest-mismatch");

    // Asked by digest, without a header to compare with.
    let proxy = Proxy::start(
        w.addr(),
        Fault::TamperManifest {
            suffix: image.digest.clone(),
            keep_digest_header: false,
        },
    );
    // (A digest-pinned reference needs only the signatures; --platform
    // makes the image manifest itself needed.)
    let output = w.run(
        "image",
        &format!("{}/app@{}", proxy.addr(), image.digest),
        &["--platform", "linux/amd64", "-o", "json"],
    );
    assert_status(&output, 1);
    assert_eq!(failure_codes(&output).0, "registry-digest-mismatch");

    // The signature payload blob changed in transit.
    let proxy = Proxy::start(w.addr(), Fault::TamperBlobs);
    let output = w.run(
        "image",
        &format!("{}/app@{}", proxy.addr(), image.digest),
        &["-o", "json"],
    );
    assert_status(&output, 1);
    assert_eq!(failure_codes(&output).1, vec!["registry-digest-mismatch"]);
}

#[test]
fn rate_limits_are_retried_after_the_delay_the_registry_asks_for() {
    let w = World::new();
    let image = w.pusher.image("app", "v1", "linux", "amd64");
    w.sign("app", &image);
    let proxy = Proxy::start(
        w.addr(),
        Fault::TooManyRequests {
            count: Arc::new(AtomicU32::new(2)),
            retry_after: 1,
        },
    );
    let started = Instant::now();
    let output = w.run("image", &format!("{}/app:v1", proxy.addr()), &[]);
    assert_status(&output, 0);
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "waited {:?}",
        started.elapsed()
    );
}

#[test]
fn an_unavailable_or_slow_registry_fails_within_bounds() {
    let w = World::new();
    let image = w.pusher.image("app", "v1", "linux", "amd64");
    let proxy = Proxy::start(w.addr(), Fault::Unavailable);
    let started = Instant::now();
    let output = w.run(
        "image",
        &format!("{}/app:v1", proxy.addr()),
        &["-o", "json"],
    );
    assert_status(&output, 1);
    assert_eq!(failure_codes(&output).0, "registry-error");
    assert_eq!(
        proxy.requests.load(std::sync::atomic::Ordering::SeqCst),
        4,
        "bounded retries"
    );
    assert!(started.elapsed() < Duration::from_secs(20));

    let proxy = Proxy::start(w.addr(), Fault::Slow(Duration::from_secs(5)));
    let started = Instant::now();
    let output = w.run(
        "image",
        &format!("{}/app@{}", proxy.addr(), image.digest),
        &["--registry-timeout", "1", "-o", "json"],
    );
    assert_status(&output, 1);
    assert_eq!(failure_codes(&output).0, "registry-timeout");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn basic_auth_credentials_come_from_flags_or_the_docker_config() {
    let w = World::new();
    let image = w.pusher.image("app", "v1", "linux", "amd64");
    w.sign("app", &image);
    let proxy = Proxy::start(
        w.addr(),
        Fault::Basic {
            user: "alice".into(),
            password: "s3cret".into(),
        },
    );
    let reference = format!("{}/app:v1", proxy.addr());
    let output = w.run("image", &reference, &["-o", "json"]);
    assert_status(&output, 1);
    assert_eq!(failure_codes(&output).0, "registry-unauthorized");

    // Plain HTTP (a loopback registry): the password is not sent unless
    // plain HTTP was asked for explicitly.
    let output = w.run(
        "image",
        &reference,
        &[
            "--registry-username",
            "alice",
            "--registry-password",
            "s3cret",
            "-o",
            "json",
        ],
    );
    assert_status(&output, 1);
    assert_eq!(failure_codes(&output).0, "registry-unauthorized");
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("--allow-http-registry"),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let output = w.run(
        "image",
        &reference,
        &[
            "--registry-username",
            "alice",
            "--registry-password",
            "s3cret",
            "--allow-http-registry",
        ],
    );
    assert_status(&output, 0);

    let config_dir = w.dir.path().join("docker");
    std::fs::create_dir_all(&config_dir).unwrap();
    std::fs::write(
        config_dir.join("config.json"),
        json!({"auths": {proxy.addr(): {"auth": base64_encode("alice:s3cret")}}}).to_string(),
    )
    .unwrap();
    let mut args = vec![
        "image".to_string(),
        reference.clone(),
        "--allow-http-registry".into(),
    ];
    args.extend(w.keyless_args());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = verify_env(&args, &[("DOCKER_CONFIG", config_dir.to_str().unwrap())]);
    assert_status(&output, 0);

    // A credential helper named in credHelpers answers for the registry.
    let helper_dir = w.dir.path().join("bin");
    std::fs::create_dir_all(&helper_dir).unwrap();
    let helper = helper_dir.join("docker-credential-verifytest");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\nread server\n[ \"$server\" = \"{}\" ] || exit 1\necho '{{\"ServerURL\":\"'$server'\",\"Username\":\"alice\",\"Secret\":\"s3cret\"}}'\n",
            proxy.addr()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(
        config_dir.join("config.json"),
        json!({"credHelpers": {proxy.addr(): "verifytest"}}).to_string(),
    )
    .unwrap();
    let path = format!(
        "{}:{}",
        helper_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = verify_env(
        &args,
        &[
            ("DOCKER_CONFIG", config_dir.to_str().unwrap()),
            ("PATH", path.as_str()),
        ],
    );
    assert_status(&output, 0);
}

fn base64_encode(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}

#[test]
fn bearer_tokens_are_obtained_from_the_registry_token_service() {
    let w = World::new();
    let image = w.pusher.image("app", "v1", "linux", "amd64");
    w.sign("app", &image);

    let proxy = Proxy::start(
        w.addr(),
        Fault::Bearer {
            credentials: Some(("bob".into(), "hunter2".into())),
        },
    );
    let reference = format!("{}/app:v1", proxy.addr());
    let output = w.run(
        "image",
        &reference,
        &[
            "--registry-username",
            "bob",
            "--registry-password",
            "hunter2",
            "--allow-http-registry",
        ],
    );
    assert_status(&output, 0);
    let output = w.run(
        "image",
        &reference,
        &[
            "--registry-username",
            "bob",
            "--registry-password",
            "wrong",
            "--allow-http-registry",
            "-o",
            "json",
        ],
    );
    assert_status(&output, 1);
    assert_eq!(failure_codes(&output).0, "registry-unauthorized");

    // Anonymous pulls with a token, as public registries do.
    let proxy = Proxy::start(w.addr(), Fault::Bearer { credentials: None });
    let output = w.run("image", &format!("{}/app:v1", proxy.addr()), &[]);
    assert_status(&output, 0);
}

#[test]
fn several_images_in_one_run_fail_if_one_fails_and_stay_quiet_when_piped() {
    let w = World::new();
    let signed = w.pusher.image("app", "v1", "linux", "amd64");
    w.sign("app", &signed);
    let unsigned = w.pusher.image("app", "v2", "linux", "amd64");
    let mut args = vec![
        "image".to_string(),
        w.by_digest("app", &signed),
        w.by_digest("app", &unsigned),
    ];
    args.extend(w.keyless_args());
    args.extend(["-o".into(), "json".into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = verify(&args);
    assert_status(&output, 1);
    let lines: Vec<serde_json::Value> = std::str::from_utf8(&output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[0].is_array());
    assert_eq!(lines[1]["reason"]["code"], "no-signatures");
    assert!(!stderr(&output).contains("[1/2]"), "no progress when piped");
}

/// Write a cosign-save layout: `image` (its manifest and blobs from the
/// registry) and its `.sig` manifest.
fn save_layout(w: &World, dir: &Path, repo: &str, image: &Pushed) {
    let fetch = |path: String| {
        reqwest::blocking::Client::new()
            .get(format!("http://{}/v2/{repo}/{path}", w.addr()))
            .header("accept", OCI_MANIFEST)
            .send()
            .unwrap()
            .bytes()
            .unwrap()
            .to_vec()
    };
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |bytes: &[u8]| {
        std::fs::write(
            blobs.join(digest(bytes).trim_start_matches("sha256:")),
            bytes,
        )
        .unwrap();
    };
    let sig = fetch(format!("manifests/sha256-{}.sig", image.hex()));
    for manifest in [&image.bytes, &sig] {
        let m: serde_json::Value = serde_json::from_slice(manifest).unwrap();
        put(manifest);
        put(&fetch(format!(
            "blobs/{}",
            m["config"]["digest"].as_str().unwrap()
        )));
        for layer in m["layers"].as_array().unwrap() {
            put(&fetch(format!(
                "blobs/{}",
                layer["digest"].as_str().unwrap()
            )));
        }
    }
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let index = json!({"schemaVersion": 2, "manifests": [
        {"mediaType": OCI_MANIFEST, "digest": image.digest, "size": image.bytes.len(),
         "annotations": {"kind": "dev.cosignproject.cosign/image"}},
        {"mediaType": OCI_MANIFEST, "digest": digest(&sig), "size": sig.len(),
         "annotations": {"kind": "dev.cosignproject.cosign/sigs"}},
    ]});
    std::fs::write(dir.join("index.json"), index.to_string()).unwrap();
}

#[test]
fn a_cosign_saved_layout_verifies_offline() {
    let w = World::new();
    let image = w.pusher.image("app", "v1", "linux", "amd64");
    w.sign("app", &image);
    let layout = w.dir.path().join("layout");
    save_layout(&w, &layout, "app", &image);
    let by_digest = format!("oci:{}@{}", layout.display(), image.digest);
    assert_status(&w.run("image", &by_digest, &["--offline"]), 0);
    let output = w.run(
        "image",
        &format!("oci:{}", layout.display()),
        &["--offline"],
    );
    assert_status(&output, 0);
    assert!(stderr(&output).contains(&image.digest));
    let output = w.run("image", "oci:/nonexistent-layout", &["-o", "json"]);
    assert_status(&output, 2);
    assert_eq!(failure_codes(&output).0, "layout-unreadable");
}

/// The SLSA container generator's real images (cosign save layouts with
/// keyless attestations in the public-good Sigstore), pushed byte for byte.
#[test]
fn real_slsa_container_attestations_verify_from_the_registry_and_the_layout() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/conformance/slsa/data/gha_generic_container");
    let registry = Registry::start();
    let pusher = registry.pusher();
    let mut versions: Vec<PathBuf> = std::fs::read_dir(&data)
        .unwrap_or_else(|e| panic!("{}: {e}", data.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    versions.sort();
    assert!(versions.len() >= 9, "{versions:?}");
    let identity = [
        "--certificate-identity-regexp",
        r"^https://github\.com/slsa-framework/slsa-github-generator/\.github/workflows/generator_container_slsa3\.yml@refs/tags/v\d+\.\d+\.\d+$",
        "--certificate-oidc-issuer",
        ISSUER,
        "--type",
        "slsaprovenance",
    ];
    for version in versions {
        let layout = version.join("container_workflow_dispatch");
        let expected =
            std::fs::read_to_string(version.join("container_workflow_dispatch.digest")).unwrap();
        let name = version
            .file_name()
            .unwrap()
            .to_string_lossy()
            .replace('.', "-");
        let repo = format!("slsa/{name}");
        let pushed = pusher.layout(&repo, &layout, "latest");
        assert_eq!(pushed, expected.trim());

        for image in [
            format!("{}/{repo}:latest", registry.addr),
            format!("{}/{repo}@{}", registry.addr, expected.trim()),
            format!("oci:{}@{}", layout.display(), expected.trim()),
        ] {
            let mut args = vec!["attestation", image.as_str()];
            args.extend(identity);
            let output = verify(&args);
            assert_status(&output, 0);
            let envelope: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
            assert_eq!(
                envelope["payloadType"], "application/vnd.in-toto+json",
                "{image}"
            );
        }
        // Another builder's identity is refused.
        let image = format!("{}/{repo}:latest", registry.addr);
        let output = verify(&[
            "attestation",
            &image,
            "--certificate-identity-regexp",
            "^https://github\\.com/acme/",
            "--certificate-oidc-issuer",
            ISSUER,
            "--type",
            "slsaprovenance",
            "-o",
            "json",
        ]);
        assert_status(&output, 1);
        assert_eq!(failure_codes(&output).1, vec!["identity-mismatch"]);
    }
}

#[test]
fn a_registry_with_a_private_ca_is_trusted_only_with_registry_cacert() {
    let tls = verify_testkit::tls::TlsIdentity::localhost().unwrap();
    let sigstore = TestSigstore::new();
    let registry = Registry::start_tls(&tls);
    let pusher = registry.pusher();
    let dir = TempDir::new("tls-test");
    let root = dir.path().join("trusted_root.json");
    std::fs::write(&root, sigstore.trusted_root_json()).unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &tls.ca_pem).unwrap();

    let image = pusher.image("app", "v1", "linux", "amd64");
    let payload = simple_signing_payload(&format!("{}/app", registry.addr), &image.digest, None);
    let signed = sigstore.sign(&payload, &SignOptions::default()).unwrap();
    let layer = signature_layer(&sigstore, &payload, &signed, true).unwrap();
    pusher.cosign_manifest("app", &format!("sha256-{}.sig", image.hex()), &[layer]);

    let reference = format!("{}/app:v1", registry.addr);
    let identity = World::identity();
    let args = |extra: &[&str]| {
        let mut args = vec![
            "image",
            reference.as_str(),
            "--certificate-identity",
            identity.as_str(),
            "--certificate-oidc-issuer",
            ISSUER,
            "--trusted-root",
            root.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        verify(&args)
    };
    assert_status(&args(&["--registry-cacert", ca.to_str().unwrap()]), 0);

    // Without the CA, a loopback registry is spoken to in plain HTTP, which
    // this one refuses.
    let output = args(&["-o", "json"]);
    assert_status(&output, 1);
    assert_eq!(failure_json(&output)["reason"]["code"], "registry-error");

    // With another CA, its certificate is not trusted.
    let other = dir.path().join("other-ca.pem");
    std::fs::write(
        &other,
        verify_testkit::tls::TlsIdentity::localhost()
            .unwrap()
            .ca_pem,
    )
    .unwrap();
    let output = args(&["--registry-cacert", other.to_str().unwrap(), "-o", "json"]);
    assert_status(&output, 1);
    let json = failure_json(&output);
    assert_eq!(json["reason"]["code"], "registry-unreachable");
    assert!(
        json["reason"]["message"]
            .as_str()
            .unwrap()
            .to_ascii_lowercase()
            .contains("certificate"),
        "{json}"
    );
    let not_pem = dir.path().join("not.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    assert_status(&args(&["--registry-cacert", not_pem.to_str().unwrap()]), 2);
}

#[test]
fn the_whole_wait_for_one_image_is_bounded_by_timeout() {
    let w = World::new();
    let image = w.pusher.image("app", "v1", "linux", "amd64");
    w.sign("app", &image);
    // Every answer comes well within the per-request timeout...
    let proxy = Proxy::start(w.addr(), Fault::Slow(Duration::from_millis(1200)));
    let reference = format!("{}/app@{}", proxy.addr(), image.digest);
    let output = w.run("image", &reference, &["--registry-timeout", "5"]);
    assert_status(&output, 0);

    // ...but the image needs several (the `.sig` manifest, then its
    // layer): two seconds for all of them is not enough.
    let started = Instant::now();
    let output = w.run(
        "image",
        &reference,
        &["--registry-timeout", "5", "--timeout", "2", "-o", "json"],
    );
    assert_status(&output, 1);
    let json = failure_json(&output);
    assert_eq!(
        failure_codes(&output).0,
        "image-deadline-exceeded",
        "{json}"
    );
    // It names the limit and what was being fetched: the `.sig` layer.
    let message = json["reason"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("2 s limit"), "{message}");
    assert!(message.contains("blob "), "{message}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn a_missing_signature_blob_has_its_own_code() {
    let w = World::new();
    let image = w.pusher.image("app", "v1", "linux", "amd64");
    w.sign("app", &image);
    let proxy = Proxy::start(w.addr(), Fault::MissingBlobs);
    let output = w.run(
        "image",
        &format!("{}/app@{}", proxy.addr(), image.digest),
        &["-o", "json"],
    );
    assert_status(&output, 1);
    assert_eq!(
        failure_codes(&output),
        (
            "no-matching-signatures".to_string(),
            vec!["signature-blob-missing".to_string()]
        )
    );
}

/// A cosign `.att` layer: an SPDX SBOM statement naming `subject`.
fn spdx_attestation(w: &World, subject: &Pushed) -> CosignLayer {
    let signed = w
        .sigstore
        .sign(
            &subject.bytes,
            &SignOptions {
                content: Content::Dsse,
                predicate_type: "https://spdx.dev/Document".into(),
                predicate: json!({
                    "spdxVersion": "SPDX-2.3",
                    "dataLicense": "CC0-1.0",
                    "SPDXID": "SPDXRef-DOCUMENT",
                    "name": "app",
                    "documentNamespace": "https://example.com/app",
                    "creationInfo": {"created": "2024-01-01T00:00:00Z", "creators": ["Tool: test"]},
                    "packages": [],
                }),
                ..SignOptions::default()
            },
        )
        .unwrap();
    attestation_layer(&w.sigstore, &signed, true).unwrap()
}

#[test]
fn spdx_sbom_attestations_verify_by_type_and_must_name_the_image() {
    use base64::Engine as _;
    let w = World::new();
    let image = w.pusher.image("app", "v1", "linux", "amd64");
    w.pusher.cosign_manifest(
        "app",
        &format!("sha256-{}.att", image.hex()),
        &[spdx_attestation(&w, &image)],
    );
    let reference = w.by_digest("app", &image);

    let output = w.run("attestation", &reference, &["--type", "spdxjson"]);
    assert_status(&output, 0);
    let envelope: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let payload = base64::engine::general_purpose::STANDARD
        .decode(envelope["payload"].as_str().unwrap())
        .unwrap();
    let statement: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(statement["predicateType"], "https://spdx.dev/Document");
    assert_eq!(statement["subject"][0]["digest"]["sha256"], image.hex());

    let output = w.run(
        "attestation",
        &reference,
        &["--type", "cyclonedx", "-o", "json"],
    );
    assert_status(&output, 1);
    assert_eq!(failure_codes(&output).0, "no-matching-predicate");

    // The SBOM of v1 attached to v2: it verifies, but names another image.
    let other = w.pusher.image("app", "v2", "linux", "amd64");
    w.pusher.cosign_manifest(
        "app",
        &format!("sha256-{}.att", other.hex()),
        &[spdx_attestation(&w, &image)],
    );
    let output = w.run(
        "attestation",
        &w.by_digest("app", &other),
        &["--type", "spdxjson", "-o", "json"],
    );
    assert_status(&output, 1);
    assert_eq!(
        failure_codes(&output),
        (
            "no-matching-attestations".to_string(),
            vec!["artifact-mismatch".to_string()]
        )
    );
}

#[test]
fn bundles_found_through_the_referrers_api_verify_and_tampered_ones_are_refused() {
    let w = World::new();
    let registry = MiniRegistry::start("app");
    let image = registry.image();
    let bundle = v3_bundle(&w, &image, "https://sigstore.dev/cosign/sign/v1");
    let referrer = registry.bundle_referrer(&image, &bundle);
    registry.manifest(&referrer.digest, OCI_MANIFEST, &referrer.bytes);
    registry.referrers(&image, std::slice::from_ref(&referrer));

    let output = w.run("image", &registry.by_digest(&image), &["-o", "json"]);
    assert_status(&output, 0);
    let payloads: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        payloads[0]["critical"]["image"]["docker-manifest-digest"],
        image.digest
    );
    let requests = registry.requests();
    assert!(
        requests.contains(&format!("GET /v2/app/referrers/{}", image.digest)),
        "{requests:?}"
    );
    assert!(
        !requests
            .iter()
            .any(|r| r.ends_with(&format!("manifests/sha256-{}", image.hex()))),
        "the referrers API answered: no tag-schema fallback: {requests:?}"
    );

    // A referrer served with bytes other than its descriptor's digest.
    let other = registry.image();
    let bundle = v3_bundle(&w, &other, "https://sigstore.dev/cosign/sign/v1");
    let referrer = registry.bundle_referrer(&other, &bundle);
    let mut altered = referrer.bytes.clone();
    altered.insert(altered.len() - 1, b' ');
    registry.manifest(&referrer.digest, OCI_MANIFEST, &altered);
    registry.referrers(&other, std::slice::from_ref(&referrer));
    let output = w.run("image", &registry.by_digest(&other), &["-o", "json"]);
    assert_status(&output, 1);
    assert_eq!(
        failure_codes(&output),
        (
            "no-matching-signatures".to_string(),
            vec!["registry-digest-mismatch".to_string()]
        )
    );

    // A referrer listed but absent.
    let third = registry.image();
    let bundle = v3_bundle(&w, &third, "https://sigstore.dev/cosign/sign/v1");
    let referrer = registry.bundle_referrer(&third, &bundle);
    registry.referrers(&third, std::slice::from_ref(&referrer));
    let output = w.run("image", &registry.by_digest(&third), &["-o", "json"]);
    assert_status(&output, 1);
    assert_eq!(
        failure_codes(&output).1,
        vec!["signature-manifest-missing".to_string()]
    );
    // A referrer listed for one image whose subject is another: its own
    // reason, not "malformed".
    let fourth = registry.image();
    let elsewhere = registry.image();
    let bundle = v3_bundle(&w, &elsewhere, "https://sigstore.dev/cosign/sign/v1");
    let referrer = registry.bundle_referrer(&elsewhere, &bundle);
    registry.manifest(&referrer.digest, OCI_MANIFEST, &referrer.bytes);
    registry.referrers(&fourth, std::slice::from_ref(&referrer));
    let output = w.run("image", &registry.by_digest(&fourth), &["-o", "json"]);
    assert_status(&output, 1);
    assert_eq!(
        failure_codes(&output).1,
        vec!["referrer-subject-mismatch".to_string()]
    );
}

#[test]
fn a_keyless_attestation_with_a_verified_timestamp_passes_with_insecure_ignore_tlog() {
    // cosign timestamps an attestation's envelope; with
    // --insecure-ignore-tlog that time, verified, dates the certificate.
    let w = World::new();
    let image = w.pusher.image("app", "v1", "linux", "amd64");
    let signing_time = jiff::Timestamp::now() - jiff::SignedDuration::from_mins(1);
    let signed = w
        .sigstore
        .sign(
            &image.bytes,
            &SignOptions {
                content: Content::Dsse,
                signing_time: Some(signing_time),
                ..SignOptions::default()
            },
        )
        .unwrap();
    let mut layer = attestation_layer(&w.sigstore, &signed, false).unwrap();
    let token = w
        .sigstore
        .tsa()
        .timestamp(
            &layer.blob,
            signing_time + jiff::SignedDuration::from_secs(1),
        )
        .unwrap();
    layer.annotations.insert(
        verify_testkit::cosign::RFC3161.into(),
        json!({"SignedRFC3161Timestamp": base64_encode_bytes(&token)}).to_string(),
    );
    w.pusher
        .cosign_manifest("app", &format!("sha256-{}.att", image.hex()), &[layer]);
    let reference = w.by_digest("app", &image);

    let output = w.run(
        "attestation",
        &reference,
        &[
            "--type",
            "slsaprovenance1",
            "--insecure-ignore-tlog",
            "--offline",
        ],
    );
    assert_status(&output, 0);

    // Without it, the log evidence is required (and --offline forbids the
    // lookup).
    let output = w.run(
        "attestation",
        &reference,
        &["--type", "slsaprovenance1", "--offline", "-o", "json"],
    );
    assert_status(&output, 1);
    assert_eq!(
        failure_codes(&output).1,
        vec!["tlog-lookup-offline".to_string()]
    );
}

fn base64_encode_bytes(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

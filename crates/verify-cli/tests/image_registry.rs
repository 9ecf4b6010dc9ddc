//! How `verify image` speaks to registries: tampered content, rate limits,
//! unavailable or slow registries, Basic and Bearer credentials, a private
//! CA, the overall `--timeout`, a missing signature blob. A real registry
//! behind the tests' fault-injecting proxy.

mod image_env;
mod image_world;

use std::sync::atomic::AtomicU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use image_env::*;
use image_world::*;
use serde_json::json;
use verify_testkit::cosign::{signature_layer, simple_signing_payload};
use verify_testkit::{SignOptions, TestSigstore};

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

//! `verify image` signatures against a real registry (Debian's
//! `docker-registry`, started per test on a loopback port), images pushed
//! through the registry API or `skopeo`, signed by the test Sigstore in
//! every format cosign writes: identities, claims, annotations, log
//! lookups, keys, platforms, several images in one run. Attestations are in
//! image_attestations.rs, registry behaviour in image_registry.rs, layouts in
//! image_layouts.rs.

mod image_env;
mod image_world;

use image_env::*;
use image_world::*;
use serde_json::json;
use verify_testkit::cosign::CosignLayer;
use verify_testkit::{KeyKind, SignOptions, Signer, TestSigstore};

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

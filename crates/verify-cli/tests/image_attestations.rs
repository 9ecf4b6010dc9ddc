//! `verify attestation` against a real registry: cosign v3 bundles through
//! the referrers tag schema and the referrers API, legacy attestations and
//! their predicate types, intoto v0.0.1 entries, SPDX SBOMs, and RFC 3161
//! timestamps with `--insecure-ignore-tlog`.

mod image_env;
mod image_world;

use image_env::*;
use image_world::*;
use serde_json::json;
use verify_testkit::cosign::{attestation_layer, intoto_v001_attestation, CosignLayer};
use verify_testkit::{Content, SignOptions};

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

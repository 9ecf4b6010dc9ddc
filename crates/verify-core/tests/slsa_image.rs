//! An image's SLSA provenance is judged on the bytes whose signature
//! verified. The source here answers the first read of the attestation
//! layer with the genuine envelope and every later read with another one —
//! validly signed too, but for another repository — so an implementation
//! that read the layer again after the signature check (or decoded a second
//! copy of the payload from the registry) would judge the other statement
//! and fail the source rule, or fail the digest check.

mod common;

use common::memory::{Lie, Memory};
use serde_json::{json, Value};
use verify_core::oci::OciLimits;
use verify_core::slsa::builder::CONTAINER_GENERATOR;
use verify_core::slsa::provenance::{CONTAINER_BUILD_TYPE, SLSA_V02};
use verify_core::slsa::{verify_image_provenance, ImageProvenanceRequest, ProvenanceOptions};
use verify_testkit::cosign::attestation_layer;
use verify_testkit::oci::digest;
use verify_testkit::{Content, GithubWorkflowClaims, SanIdentity, SignOptions};

const SHA: &str = "4d329c75e7ec1725f7c9ce917a8799d408d06be3";
const TAG: &str = "refs/tags/v1.0.0";

/// The container generator's v0.2 provenance, built from `repository` at
/// [`TAG`], signed as the generator signs it (its subject is what is
/// signed: the image manifest).
fn provenance_from(repository: &str) -> SignOptions {
    let builder = format!("{CONTAINER_GENERATOR}@refs/tags/v2.1.0");
    let source = format!("git+https://github.com/{repository}@{TAG}");
    let predicate: Value = json!({
        "builder": {"id": builder},
        "buildType": CONTAINER_BUILD_TYPE,
        "invocation": {
            "configSource": {"uri": source, "digest": {"sha1": SHA}, "entryPoint": ".github/workflows/release.yml"},
            "parameters": {},
            "environment": {
                "github_event_name": "push",
                "github_ref": TAG,
                "github_ref_type": "tag",
                "github_repository_owner": repository.split('/').next().unwrap(),
                "github_sha1": SHA,
            },
        },
        "materials": [{"uri": source, "digest": {"sha1": SHA}}],
    });
    SignOptions {
        content: Content::Dsse,
        identity: Some(SanIdentity::Uri(builder)),
        github: Some(GithubWorkflowClaims::new(
            repository,
            ".github/workflows/release.yml",
            TAG,
            SHA,
        )),
        artifact_name: "memory.test/app".into(),
        predicate_type: SLSA_V02.into(),
        predicate,
        ..SignOptions::default()
    }
}

#[tokio::test]
async fn the_judgement_is_on_the_bytes_the_signature_verified() {
    let sigstore = common::sigstore();
    let repo = Memory::default();
    let (image, manifest) = repo.image();
    let sign = |repository: &str| {
        let signed = sigstore
            .sign(&manifest, &provenance_from(repository))
            .unwrap();
        attestation_layer(sigstore, &signed, true).unwrap()
    };
    let genuine = sign("acme/app");
    let other = sign("acme/other");
    let layer = digest(&genuine.blob);
    repo.cosign_manifest(&format!("sha256-{}.att", hex::encode(image.0)), &[genuine]);
    *repo.lie.lock().unwrap() = Some(Lie {
        digest: layer.clone(),
        bytes: other.blob.clone(),
        after: 1,
    });

    let options = ProvenanceOptions {
        source_uri: "github.com/acme/app".into(),
        ..ProvenanceOptions::default()
    };
    let verified = verify_image_provenance(
        &common::verifier(),
        &ImageProvenanceRequest {
            source: &repo,
            image: &image,
            limits: OciLimits::default(),
            options: &options,
        },
    )
    .await
    .expect("the genuine attestation verifies");
    assert_eq!(verified.provenance.build.source_repository, "acme/app");
    assert_eq!(verified.provenance.build.source_commit, SHA);
    assert_eq!(verified.image, image);
    // The layer was read once: the statement judged is the one verified.
    assert_eq!(repo.blob_reads(&layer), 1);

    // What a second read returns is a statement the rules refuse: the
    // check above would fail if it were judged.
    let other_layer = digest(&other.blob);
    repo.cosign_manifest(&format!("sha256-{}.att", hex::encode(image.0)), &[other]);
    *repo.lie.lock().unwrap() = None;
    let refused = verify_image_provenance(
        &common::verifier(),
        &ImageProvenanceRequest {
            source: &repo,
            image: &image,
            limits: OciLimits::default(),
            options: &options,
        },
    )
    .await
    .unwrap_err();
    assert_eq!(refused.code(), "slsa-mismatch-source", "{refused}");
    assert_eq!(repo.blob_reads(&other_layer), 1);
}

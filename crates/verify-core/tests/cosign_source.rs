//! `verify_core::cosign` as a library, over a caller-supplied
//! `ImageSource`: the in-memory repository of `common::memory` (as a
//! webhook with its own cache or a test would supply), including one that
//! lies about its content.

mod common;

use common::memory::{Lie, Memory, NAME};
use verify_core::cosign::{self, CheckOptions, ImageError};
use verify_core::oci::ManifestRef;
use verify_core::{ArtifactDigest, IdentityPolicy, Policy, StringMatcher, TrustRoot, Verifier};
use verify_testkit::cosign::{attestation_layer, signature_layer, simple_signing_payload};
use verify_testkit::{Content, SignOptions, TestSigstore};

fn image() -> (Memory, ArtifactDigest, Vec<u8>) {
    let repo = Memory::default();
    let (digest, manifest) = repo.image();
    (repo, digest, manifest)
}

fn verifier(sigstore: &TestSigstore) -> Verifier {
    Verifier::new(
        TrustRoot::from_json(sigstore.trusted_root_json().as_bytes(), &Default::default()).unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn attestations_come_back_with_their_statement_and_certificate_claims() {
    let sigstore = TestSigstore::new();
    let (repo, digest, manifest) = image();
    let signed = sigstore
        .sign(
            &manifest,
            &SignOptions {
                content: Content::Dsse,
                ..SignOptions::default()
            },
        )
        .unwrap();
    let layer = attestation_layer(&sigstore, &signed, true).unwrap();
    repo.cosign_manifest(&format!("sha256-{}.att", hex::encode(digest.0)), &[layer]);

    // The caller authorizes the signer itself (as SLSA verification does).
    let policy = Policy::Identity(IdentityPolicy::any_identity());
    let attestations = cosign::verify_image_attestations(
        &cosign::Check {
            verifier: &verifier(&sigstore),
            source: &repo,
            policy: &policy,
            options: &CheckOptions {
                offline: true,
                ..CheckOptions::default()
            },
        },
        &digest,
        Some("https://slsa.dev/provenance/v1"),
    )
    .await
    .unwrap();
    assert_eq!(attestations.len(), 1);
    let a = &attestations[0];
    assert_eq!(a.predicate_type, "https://slsa.dev/provenance/v1");
    assert_eq!(
        a.statement["subject"][0]["digest"]["sha256"],
        hex::encode(digest.0)
    );
    let claims = a.verified.certificate.as_ref().expect("certificate claims");
    assert_eq!(
        claims.subject.as_deref(),
        Some(SignOptions::default().effective_identity().as_str())
    );
    assert!(a.verified.tlog_verified);
    // The verified payload bytes come with the statement parsed from them.
    assert_eq!(a.payload_type, "application/vnd.in-toto+json");
    let reparsed: serde_json::Value = serde_json::from_slice(&a.payload).unwrap();
    assert_eq!(reparsed, a.statement);
}

/// A server runs verifications as tasks on a multi-threaded runtime: the
/// futures must be `Send` (checked at compile time).
#[test]
fn verification_futures_are_send() {
    fn assert_send<T: Send>(_: &T) {}
    let (repo, digest, _) = image();
    let sigstore = TestSigstore::new();
    let verifier = verifier(&sigstore);
    let policy = Policy::Identity(IdentityPolicy::any_identity());
    let options = CheckOptions::default();
    let check = cosign::Check {
        verifier: &verifier,
        source: &repo,
        policy: &policy,
        options: &options,
    };
    let f = cosign::verify_image_signatures(&check, &digest);
    assert_send(&f);
    let g = cosign::verify_image_attestations(&check, &digest, None);
    assert_send(&g);
    let request = cosign::ImageRequest {
        reference: ManifestRef::Tag("v1".into()),
        evidence: cosign::Evidence::Signatures,
        platform: None,
        require_platform_signature: false,
    };
    let h = cosign::verify_image(&check, &request);
    assert_send(&h);
}

#[tokio::test]
async fn a_source_serving_other_bytes_is_a_digest_mismatch() {
    let sigstore = TestSigstore::new();
    let (repo, digest, _) = image();
    let payload = simple_signing_payload(NAME, &digest.to_string(), None);
    let signed = sigstore.sign(&payload, &SignOptions::default()).unwrap();
    let layer = signature_layer(&sigstore, &payload, &signed, true).unwrap();
    repo.cosign_manifest(&format!("sha256-{}.sig", hex::encode(digest.0)), &[layer]);
    let policy = Policy::Identity(IdentityPolicy::new(
        StringMatcher::exact(SignOptions::default().effective_identity().as_str()),
        StringMatcher::exact(verify_testkit::GITHUB_ACTIONS_ISSUER),
    ));
    let verifier = verifier(&sigstore);
    let options = CheckOptions::default();
    let ok = cosign::verify_image_signatures(
        &cosign::Check {
            verifier: &verifier,
            source: &repo,
            policy: &policy,
            options: &options,
        },
        &digest,
    )
    .await
    .unwrap();
    assert_eq!(ok.len(), 1);

    // The same payload digest, other bytes.
    *repo.lie.lock().unwrap() = Some(Lie {
        digest: ArtifactDigest::of(&payload).to_string(),
        bytes: b"{}".to_vec(),
        after: 0,
    });
    match cosign::verify_image_signatures(
        &cosign::Check {
            verifier: &verifier,
            source: &repo,
            policy: &policy,
            options: &options,
        },
        &digest,
    )
    .await
    {
        Err(ImageError::NoneVerified { failures, .. }) => {
            assert_eq!(failures.len(), 1);
            assert_eq!(failures[0].error.code(), "registry-digest-mismatch");
        }
        other => panic!("expected a digest mismatch, got {other:?}"),
    }

    // No signatures at all is a different error.
    let (bare, bare_digest, _) = image();
    assert!(matches!(
        cosign::verify_image_signatures(
            &cosign::Check {
                verifier: &verifier,
                source: &bare,
                policy: &policy,
                options: &options
            },
            &bare_digest
        )
        .await,
        Err(ImageError::NotFound { .. })
    ));
}

#[tokio::test]
async fn signatures_logged_as_rekord_v001_verify_through_the_tag_scheme() {
    let sigstore = TestSigstore::new();
    let (repo, digest, _) = image();
    let payload = simple_signing_payload(NAME, &digest.to_string(), None);
    let (layer, _) = verify_testkit::cosign::rekord_v001_signature(
        &sigstore,
        &payload,
        &SignOptions::default(),
        false,
    )
    .unwrap();
    repo.cosign_manifest(&format!("sha256-{}.sig", hex::encode(digest.0)), &[layer]);
    let policy = Policy::Identity(IdentityPolicy::new(
        StringMatcher::exact(SignOptions::default().effective_identity().as_str()),
        StringMatcher::exact(verify_testkit::GITHUB_ACTIONS_ISSUER),
    ));
    let options = CheckOptions::default();
    let verified = cosign::verify_image_signatures(
        &cosign::Check {
            verifier: &verifier(&sigstore),
            source: &repo,
            policy: &policy,
            options: &options,
        },
        &digest,
    )
    .await
    .unwrap();
    assert_eq!(verified.len(), 1);
    assert_eq!(
        verified[0].verified.bundle_media_type,
        "application/vnd.dev.cosign.signature+rekor.rekord.v0.0.1"
    );
}

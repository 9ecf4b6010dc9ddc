//! What the library enforces whatever its caller asks, and the times it
//! reports, over a caller-supplied in-memory `ImageSource` (`common::memory`):
//!
//! - on the BuildKit in-index path the claims check cannot be skipped: a
//!   valid signature of *another* image never vouches for an index's
//!   statements, even with `insecure_skip_claims`;
//! - a verified RFC 3161 time is reported as such: with
//!   `insecure_ignore_tlog` it is the only time (no integrated time), and
//!   beside a log entry it is listed with the log's.

mod common;

use base64::Engine as _;
use common::memory::{Memory, NAME};
use serde_json::json;
use verify_core::buildkit::{verify_in_index_statement, BuildkitError, InIndexRequest};
use verify_core::cosign::{self, Check, CheckOptions, ImageError};
use verify_core::oci::Platform;
use verify_core::{ArtifactDigest, IdentityPolicy, Policy, StringMatcher, TrustRoot, Verifier};
use verify_testkit::cosign::{attestation_layer, signature_layer, simple_signing_payload};
use verify_testkit::oci::{OCI_INDEX, OCI_MANIFEST};
use verify_testkit::{Content, SignOptions, TestSigstore};

fn verifier(sigstore: &TestSigstore) -> Verifier {
    Verifier::new(
        TrustRoot::from_json(sigstore.trusted_root_json().as_bytes(), &Default::default()).unwrap(),
    )
    .unwrap()
}

fn identity_policy() -> IdentityPolicy {
    IdentityPolicy::new(
        StringMatcher::exact(SignOptions::default().effective_identity().as_str()),
        StringMatcher::exact(verify_testkit::GITHUB_ACTIONS_ISSUER),
    )
}

/// A BuildKit-shaped index: one linux/amd64 image and its attestation
/// manifest carrying an SLSA v0.2 statement that names it.
fn buildkit_index(repo: &Memory) -> ArtifactDigest {
    let (image, _) = repo.image();
    let statement = serde_json::to_vec(&json!({
        "_type": "https://in-toto.io/Statement/v0.1",
        "predicateType": "https://slsa.dev/provenance/v0.2",
        "subject": [{"name": "pkg:docker/app", "digest": {"sha256": hex::encode(image.0)}}],
        "predicate": {"builder": {"id": "https://example.com/builder"}, "buildType": "https://mobyproject.org/buildkit@v1"},
    }))
    .unwrap();
    let config = repo.put_blob(b"{}");
    let layer = repo.put_blob(&statement);
    let attestation = repo.put_manifest(
        None,
        &json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": 2},
            "layers": [{"mediaType": "application/vnd.in-toto+json", "digest": layer, "size": statement.len(),
                        "annotations": {"in-toto.io/predicate-type": "https://slsa.dev/provenance/v0.2"}}],
        }),
    );
    let (image_size, attestation_size) =
        (repo.manifest_len(&image), repo.manifest_len(&attestation));
    repo.put_manifest(
        Some("index"),
        &json!({
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [
                {"mediaType": OCI_MANIFEST, "digest": image.to_string(), "size": image_size,
                 "platform": {"os": "linux", "architecture": "amd64"}},
                {"mediaType": OCI_MANIFEST, "digest": attestation.to_string(), "size": attestation_size,
                 "platform": {"os": "unknown", "architecture": "unknown"},
                 "annotations": {"vnd.docker.reference.type": "attestation-manifest",
                                 "vnd.docker.reference.digest": image.to_string()}},
            ],
        }),
    )
}

/// Sign, keylessly with a bundle, a simple-signing payload naming `named`,
/// and store it under `index`'s `.sig` tag.
fn sign_index(repo: &Memory, sigstore: &TestSigstore, index: &ArtifactDigest, named: &str) {
    let payload = simple_signing_payload(NAME, named, None);
    let signed = sigstore.sign(&payload, &SignOptions::default()).unwrap();
    let layer = signature_layer(sigstore, &payload, &signed, true).unwrap();
    repo.cosign_manifest(&format!("sha256-{}.sig", hex::encode(index.0)), &[layer]);
}

#[tokio::test]
async fn the_buildkit_path_checks_claims_even_when_asked_not_to() {
    let sigstore = TestSigstore::new();
    let verifier = verifier(&sigstore);
    let policy = Policy::Identity(identity_policy());
    let platform = Platform::parse("linux/amd64").unwrap();
    let skip = CheckOptions {
        insecure_skip_claims: true,
        offline: true,
        ..CheckOptions::default()
    };
    let repo = Memory::default();
    let index = buildkit_index(&repo);

    // A valid signature, by the right signer, of another image.
    let other = format!("sha256:{}", "ab".repeat(32));
    sign_index(&repo, &sigstore, &index, &other);
    // The flag does what it says on the signature path: it verifies.
    let signatures = cosign::verify_image_signatures(
        &Check {
            verifier: &verifier,
            source: &repo,
            policy: &policy,
            options: &skip,
        },
        &index,
    )
    .await
    .unwrap();
    assert_eq!(signatures.len(), 1);
    // On the BuildKit path it is overridden: the signature vouches for
    // nothing here.
    let request = InIndexRequest {
        index: &index,
        platform: &platform,
        predicate_type: "https://slsa.dev/provenance/v0.2",
    };
    let err = verify_in_index_statement(
        &Check {
            verifier: &verifier,
            source: &repo,
            policy: &policy,
            options: &skip,
        },
        &request,
    )
    .await
    .unwrap_err();
    let BuildkitError::IndexNotSigned(ImageError::NoneVerified { failures, .. }) = &err else {
        panic!("expected the index to be unsigned, got {err:?}");
    };
    let codes: Vec<&str> = failures.iter().map(|f| f.error.code()).collect();
    assert_eq!(codes, ["claims-image-mismatch"], "{err}");

    // The index's own signature passes, flag or not.
    sign_index(&repo, &sigstore, &index, &index.to_string());
    for options in [
        &skip,
        &CheckOptions {
            offline: true,
            ..CheckOptions::default()
        },
    ] {
        let statement = verify_in_index_statement(
            &Check {
                verifier: &verifier,
                source: &repo,
                policy: &policy,
                options,
            },
            &request,
        )
        .await
        .unwrap();
        assert_eq!(statement.chain.index, index);
    }
}

/// A keyless attestation of the image, its `.att` layer carrying an RFC
/// 3161 timestamp over the envelope made at `tsa_time`.
fn timestamped_attestation(
    repo: &Memory,
    sigstore: &TestSigstore,
    image: &ArtifactDigest,
    manifest: &[u8],
    with_bundle: bool,
) -> jiff::Timestamp {
    let signing_time = jiff::Timestamp::now() - jiff::SignedDuration::from_mins(1);
    let signed = sigstore
        .sign(
            manifest,
            &SignOptions {
                content: Content::Dsse,
                signing_time: Some(signing_time),
                ..SignOptions::default()
            },
        )
        .unwrap();
    let mut layer = attestation_layer(sigstore, &signed, with_bundle).unwrap();
    let tsa_time = signing_time + jiff::SignedDuration::from_secs(1);
    let token = sigstore.tsa().timestamp(&layer.blob, tsa_time).unwrap();
    layer.annotations.insert(
        verify_testkit::cosign::RFC3161.into(),
        json!({"SignedRFC3161Timestamp": base64::engine::general_purpose::STANDARD.encode(&token)})
            .to_string(),
    );
    repo.cosign_manifest(&format!("sha256-{}.att", hex::encode(image.0)), &[layer]);
    tsa_time
}

/// The reported times, to the second (the TSA's genTime may be finer).
fn reported(times: &[String]) -> Vec<i64> {
    times
        .iter()
        .map(|t| t.parse::<jiff::Timestamp>().unwrap().as_second())
        .collect()
}

#[tokio::test]
async fn a_verified_rfc3161_time_is_reported_as_such() {
    let sigstore = TestSigstore::new();
    let verifier = verifier(&sigstore);
    let options = CheckOptions {
        offline: true,
        ..CheckOptions::default()
    };

    // No log evidence, --insecure-ignore-tlog: the TSA's time alone dates
    // the certificate, and it is the time reported.
    let repo = Memory::default();
    let (image, manifest) = repo.image();
    let tsa_time = timestamped_attestation(&repo, &sigstore, &image, &manifest, false);
    let policy = Policy::Identity(IdentityPolicy {
        insecure_ignore_tlog: true,
        ..identity_policy()
    });
    let attestations = cosign::verify_image_attestations(
        &Check {
            verifier: &verifier,
            source: &repo,
            policy: &policy,
            options: &options,
        },
        &image,
        None,
    )
    .await
    .unwrap();
    let verified = &attestations[0].verified;
    assert_eq!(
        reported(&verified.signed_timestamps),
        [tsa_time.as_second()]
    );
    assert_eq!(verified.integrated_time, None);
    assert!(!verified.tlog_verified);

    // With the log's entry too: both times, the TSA's among them.
    let repo = Memory::default();
    let (image, manifest) = repo.image();
    let tsa_time = timestamped_attestation(&repo, &sigstore, &image, &manifest, true);
    let policy = Policy::Identity(identity_policy());
    let attestations = cosign::verify_image_attestations(
        &Check {
            verifier: &verifier,
            source: &repo,
            policy: &policy,
            options: &options,
        },
        &image,
        None,
    )
    .await
    .unwrap();
    let verified = &attestations[0].verified;
    assert!(verified.tlog_verified);
    assert!(verified.integrated_time.is_some());
    assert!(
        reported(&verified.signed_timestamps).contains(&tsa_time.as_second()),
        "{:?}",
        verified.signed_timestamps
    );
}

#[tokio::test]
async fn by_default_the_library_looks_nothing_up() {
    // A signature without log evidence: only a lookup could verify it, and
    // the default options (the server's) make none.
    let sigstore = TestSigstore::new();
    let repo = Memory::default();
    let (image, _) = repo.image();
    let payload = simple_signing_payload(NAME, &image.to_string(), None);
    let signed = sigstore.sign(&payload, &SignOptions::default()).unwrap();
    let layer = signature_layer(&sigstore, &payload, &signed, false).unwrap();
    repo.cosign_manifest(&format!("sha256-{}.sig", hex::encode(image.0)), &[layer]);
    let options = CheckOptions::default();
    assert!(options.tlog.is_none() && !options.insecure_skip_claims);
    let (verifier, policy) = (verifier(&sigstore), Policy::Identity(identity_policy()));
    let check = Check {
        verifier: &verifier,
        source: &repo,
        policy: &policy,
        options: &options,
    };
    let err = cosign::verify_image_signatures(&check, &image)
        .await
        .unwrap_err();
    let ImageError::NoneVerified { failures, .. } = &err else {
        panic!("{err}");
    };
    assert!(
        matches!(
            failures[0].error,
            cosign::CandidateError::Lookup(verify_core::tlog_lookup::LookupError::NoLog)
        ),
        "{err}"
    );
}

//! Bundles that must verify, and what the verdict must say about them: every
//! bundle version, message signatures and DSSE, keyless and key-based
//! (P-256, P-384, Ed25519), with and without an RFC 3161 timestamp, and the
//! artifact given as bytes, as a digest and as a reader.

mod common;

use common::{identity_policy, key_policy, sha256_of, sign, verifier, verify, ARTIFACT};
use jiff::{SignedDuration, Timestamp};
use verify_core::{Artifact, ArtifactDigest, SignerKind};
use verify_testkit::{
    BundleVersion, Content, GithubWorkflowClaims, KeyKind, SanIdentity, SignOptions, Signer,
    GITHUB_ACTIONS_ISSUER,
};

const VERSIONS: [BundleVersion; 3] = [
    BundleVersion::V0_1,
    BundleVersion::V0_2,
    BundleVersion::V0_3,
];
const CONTENTS: [Content; 2] = [Content::MessageSignature, Content::Dsse];
const SIGNERS: [Signer; 4] = [
    Signer::Keyless,
    Signer::Key(KeyKind::EcdsaP256),
    Signer::Key(KeyKind::EcdsaP384),
    Signer::Key(KeyKind::Ed25519),
];

/// A fixed signing time, so the verdict's times can be compared exactly.
fn signing_time() -> Timestamp {
    "2024-05-01T10:00:00Z".parse().expect("a timestamp")
}

#[test]
fn every_version_content_and_signer_verifies() {
    for version in VERSIONS {
        for content in CONTENTS {
            for signer in SIGNERS {
                let case = format!("{version:?} {content:?} {signer:?}");
                let signed = sign(SignOptions {
                    version,
                    content,
                    signer,
                    ..SignOptions::default()
                });
                let verified = verify(&signed, ARTIFACT)
                    .unwrap_or_else(|e| panic!("{case}: {e} [{}]", e.code()));
                assert_eq!(
                    verified.bundle_media_type,
                    version.media_type().as_str(),
                    "{case}"
                );
                assert_eq!(
                    verified.artifact_digest.as_deref(),
                    Some(sha256_of(ARTIFACT).as_str()),
                    "{case}"
                );
                assert_eq!(
                    verified.log_index,
                    signed.log_entry.as_ref().map(|e| e.log_index),
                    "{case}"
                );
                assert!(verified.tlog_verified, "{case}");
                match signer {
                    Signer::Keyless => {
                        assert_eq!(verified.signer, SignerKind::Certificate, "{case}");
                        assert_eq!(
                            verified.identity.as_deref(),
                            Some(GithubWorkflowClaims::default().workflow_identity().as_str()),
                            "{case}"
                        );
                        assert_eq!(
                            verified.issuer.as_deref(),
                            Some(GITHUB_ACTIONS_ISSUER),
                            "{case}"
                        );
                        assert!(verified.sct_verified, "{case}");
                        assert!(verified.certificate.is_some(), "{case}");
                    }
                    Signer::Key(_) => {
                        assert_eq!(verified.signer, SignerKind::PublicKey, "{case}");
                        assert_eq!(verified.identity, None, "{case}");
                        assert_eq!(verified.issuer, None, "{case}");
                        assert!(!verified.sct_verified, "{case}");
                        assert_eq!(verified.certificate, None, "{case}");
                    }
                }
            }
        }
    }
}

#[test]
fn keyless_verdict_carries_identity_issuer_log_entry_and_claims() {
    let signed = sign(SignOptions {
        signing_time: Some(signing_time()),
        ..SignOptions::default()
    });
    let verified = verify(&signed, ARTIFACT).expect("verifies");
    let claims = GithubWorkflowClaims::default();
    let entry = signed.log_entry.as_ref().expect("logged");

    assert_eq!(
        verified.identity.as_deref(),
        Some(claims.workflow_identity().as_str())
    );
    assert_eq!(verified.issuer.as_deref(), Some(GITHUB_ACTIONS_ISSUER));
    assert_eq!(verified.log_index, Some(entry.log_index));
    // The log integrates the entry one second after the signature.
    assert_eq!(
        verified.integrated_time.as_deref(),
        Some("2024-05-01T10:00:01Z")
    );
    assert_eq!(entry.integrated_time.to_string(), "2024-05-01T10:00:01Z");
    assert_eq!(verified.signed_timestamps, vec!["2024-05-01T10:00:01Z"]);

    let cert = verified.certificate.as_ref().expect("certificate claims");
    assert_eq!(
        cert.subject.as_deref(),
        Some(claims.workflow_identity().as_str())
    );
    assert_eq!(cert.issuer.as_deref(), Some(GITHUB_ACTIONS_ISSUER));
    assert_eq!(
        cert.build_signer_uri.as_deref(),
        Some(claims.workflow_identity().as_str())
    );
    assert_eq!(
        cert.build_config_uri.as_deref(),
        Some(claims.workflow_identity().as_str())
    );
    assert_eq!(
        cert.source_repository_uri.as_deref(),
        Some("https://github.com/example-org/example-repo")
    );
    assert_eq!(
        cert.source_repository_owner_uri.as_deref(),
        Some("https://github.com/example-org")
    );
    assert_eq!(
        cert.source_repository_ref.as_deref(),
        Some("refs/heads/main")
    );
    assert_eq!(
        cert.source_repository_digest.as_deref(),
        Some(claims.sha.as_str())
    );
    assert_eq!(
        cert.source_repository_identifier.as_deref(),
        Some("123456789")
    );
    assert_eq!(cert.build_trigger.as_deref(), Some("push"));
    assert_eq!(cert.runner_environment.as_deref(), Some("github-hosted"));
    assert_eq!(
        cert.run_invocation_uri.as_deref(),
        Some(claims.run_invocation_uri().as_str())
    );
    assert_eq!(
        cert.source_repository_visibility_at_signing.as_deref(),
        Some("public")
    );
    assert_eq!(cert.github_workflow_trigger.as_deref(), Some("push"));
    assert_eq!(
        cert.github_workflow_sha.as_deref(),
        Some(claims.sha.as_str())
    );
    assert_eq!(cert.github_workflow_name.as_deref(), Some("Release"));
    assert_eq!(
        cert.github_workflow_repository.as_deref(),
        Some("example-org/example-repo")
    );
    assert_eq!(cert.github_workflow_ref.as_deref(), Some("refs/heads/main"));
}

#[test]
fn email_identity_without_ci_claims_verifies() {
    let signed = sign(SignOptions {
        identity: Some(SanIdentity::Email("alice@example.com".into())),
        issuer: "https://accounts.example.com".into(),
        github: None,
        ..SignOptions::default()
    });
    let verified = verify(&signed, ARTIFACT).expect("verifies");
    assert_eq!(verified.identity.as_deref(), Some("alice@example.com"));
    assert_eq!(
        verified.issuer.as_deref(),
        Some("https://accounts.example.com")
    );
    let cert = verified.certificate.as_ref().expect("certificate claims");
    assert_eq!(cert.build_signer_uri, None);
    assert_eq!(cert.github_workflow_repository, None);
}

#[test]
fn rfc3161_timestamp_is_a_verified_signing_time() {
    // With a SET and a TSA token: both times are verified.
    let signed = sign(SignOptions {
        signing_time: Some(signing_time()),
        rfc3161_timestamp: true,
        ..SignOptions::default()
    });
    let verified = verify(&signed, ARTIFACT).expect("verifies");
    assert_eq!(
        verified.signed_timestamps,
        vec!["2024-05-01T10:00:01Z", "2024-05-01T10:00:01Z"]
    );

    // Without a SET the TSA token is the only source of time (v0.3 with an
    // inclusion proof), and it suffices.
    let signed = sign(SignOptions {
        signing_time: Some(signing_time() + SignedDuration::from_mins(1)),
        rfc3161_timestamp: true,
        inclusion_promise: false,
        ..SignOptions::default()
    });
    let verified = verify(&signed, ARTIFACT).expect("verifies with a TSA time only");
    assert_eq!(verified.signed_timestamps, vec!["2024-05-01T10:01:01Z"]);
    assert!(verified.tlog_verified);

    // Key-based bundles with a timestamp verify too.
    for kind in [KeyKind::EcdsaP256, KeyKind::EcdsaP384, KeyKind::Ed25519] {
        let signed = sign(SignOptions {
            signer: Signer::Key(kind),
            rfc3161_timestamp: true,
            ..SignOptions::default()
        });
        verify(&signed, ARTIFACT).unwrap_or_else(|e| panic!("{kind:?}: {e}"));
    }
}

#[test]
fn artifact_as_bytes_digest_or_reader_gives_the_same_verdict() {
    let cases = [
        (Content::MessageSignature, Signer::Keyless),
        (Content::Dsse, Signer::Keyless),
        (Content::MessageSignature, Signer::Key(KeyKind::EcdsaP256)),
        (Content::Dsse, Signer::Key(KeyKind::EcdsaP384)),
    ];
    for (content, signer) in cases {
        let case = format!("{content:?} {signer:?}");
        let signed = sign(SignOptions {
            content,
            signer,
            ..SignOptions::default()
        });
        let policy = match signer {
            Signer::Keyless => identity_policy(&signed),
            Signer::Key(_) => key_policy(&signed),
        };
        let json = signed.to_json();
        let verifier = verifier();
        let from_bytes = verifier
            .verify_bundle(json.as_bytes(), Artifact::Bytes(ARTIFACT), &policy)
            .unwrap_or_else(|e| panic!("{case} bytes: {e}"));
        let from_digest = verifier
            .verify_bundle(
                json.as_bytes(),
                Artifact::Digest(ArtifactDigest::of(ARTIFACT)),
                &policy,
            )
            .unwrap_or_else(|e| panic!("{case} digest: {e}"));
        let mut reader = ARTIFACT;
        let from_reader = verifier
            .verify_bundle(json.as_bytes(), Artifact::Reader(&mut reader), &policy)
            .unwrap_or_else(|e| panic!("{case} reader: {e}"));
        assert_eq!(from_bytes, from_digest, "{case}");
        assert_eq!(from_bytes, from_reader, "{case}");
        assert_eq!(
            from_reader.artifact_digest.as_deref(),
            Some(sha256_of(ARTIFACT).as_str()),
            "{case}"
        );
    }
}

#[test]
fn digest_text_parses_only_as_sha256_hex() {
    let digest = sha256_of(ARTIFACT);
    assert_eq!(
        ArtifactDigest::parse(&digest).expect("parses"),
        ArtifactDigest::of(ARTIFACT)
    );
    for bad in [
        "sha256:",
        "sha256:zz",
        "sha512:00",
        &digest[7..],
        &digest[..digest.len() - 1],
    ] {
        assert!(
            matches!(
                ArtifactDigest::parse(bad),
                Err(verify_core::artifact::ArtifactError::BadDigest { ref found }) if found == bad
            ),
            "{bad:?}"
        );
    }
}

//! DSSE bundles whose in-toto subject is named by SHA-384 alone, which
//! sigstore-verify cannot bind, verified by the crate's own DSSE path
//! through the public API: genuine ones verify (keyless and key-based,
//! with a timestamp or not; by digest, bytes and stream), and each broken one is refused with the
//! reason the delegate gives for the same break on a SHA-256 subject.

mod common;

use common::{sign, verifier, ARTIFACT};
use verify_core::{Artifact, TypedDigest};
use verify_testkit::{BundleVersion, Content, KeyKind, SctMode, SignOptions, Signer};

fn sha384_only(options: SignOptions) -> SignOptions {
    SignOptions {
        content: Content::Dsse,
        subject_algorithms: vec!["sha384"],
        ..options
    }
}

fn sha384_digest() -> TypedDigest {
    TypedDigest::parse(&format!(
        "sha384:{}",
        sigstore_crypto::sha384(ARTIFACT).to_hex()
    ))
    .unwrap()
}

#[test]
fn genuine_sha384_only_bundles_verify_by_digest_and_by_bytes() {
    let cases = [
        ("keyless v0.3", SignOptions::default()),
        (
            "keyless v0.1",
            SignOptions {
                version: BundleVersion::V0_1,
                ..SignOptions::default()
            },
        ),
        (
            "keyless v0.2 with a timestamp",
            SignOptions {
                version: BundleVersion::V0_2,
                rfc3161_timestamp: true,
                ..SignOptions::default()
            },
        ),
        (
            "keyless, fractional timestamp",
            SignOptions {
                rfc3161_timestamp: true,
                timestamp_millis: 250,
                ..SignOptions::default()
            },
        ),
        (
            "key-based P-256",
            SignOptions {
                signer: Signer::Key(KeyKind::EcdsaP256),
                ..SignOptions::default()
            },
        ),
        (
            "key-based Ed25519",
            SignOptions {
                signer: Signer::Key(KeyKind::Ed25519),
                ..SignOptions::default()
            },
        ),
    ];
    for (name, options) in cases {
        let signed = sign(sha384_only(options));
        let json = signed.to_json();
        let policy = common::policy_for(&signed);
        let v = verifier()
            .verify_bundle(
                json.as_bytes(),
                Artifact::TypedDigest(sha384_digest()),
                &policy,
            )
            .unwrap_or_else(|e| panic!("{name}: by digest: {e}"));
        assert_eq!(
            v.artifact_digest.as_deref(),
            Some(sha384_digest().to_string().as_str()),
            "{name}"
        );
        assert!(v.tlog_verified, "{name}");
        assert!(!v.signed_timestamps.is_empty(), "{name}: {v:?}");
        let b = common::verify(&signed, ARTIFACT).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(b.artifact_digest, v.artifact_digest, "{name}");
        // Streamed, as the CLI reads large files: hashed with SHA-384.
        let mut reader = std::io::Cursor::new(ARTIFACT);
        let r = verifier()
            .verify_bundle(json.as_bytes(), Artifact::Reader(&mut reader), &policy)
            .unwrap_or_else(|e| panic!("{name}: streamed: {e}"));
        assert_eq!(r.artifact_digest, v.artifact_digest, "{name}");
        let mut other = std::io::Cursor::new(b"other bytes".as_slice());
        let err = verifier()
            .verify_bundle(json.as_bytes(), Artifact::Reader(&mut other), &policy)
            .expect_err("other bytes streamed");
        assert_eq!(err.code(), "artifact-mismatch", "{name}: {err}");
    }
}

#[test]
fn broken_sha384_only_bundles_are_refused_with_the_delegates_reasons() {
    let cases = [
        (
            "corrupt signature",
            SignOptions {
                corrupt_signature: true,
                ..SignOptions::default()
            },
            "signature-invalid",
        ),
        (
            "corrupt SET",
            SignOptions {
                corrupt_set: true,
                ..SignOptions::default()
            },
            "tlog-set-invalid",
        ),
        (
            "corrupt inclusion proof",
            SignOptions {
                corrupt_inclusion_proof: true,
                ..SignOptions::default()
            },
            "tlog-inclusion-proof-invalid",
        ),
        (
            "checkpoint signed by another key",
            SignOptions {
                checkpoint_wrong_key: true,
                ..SignOptions::default()
            },
            "tlog-checkpoint-invalid",
        ),
        (
            "untrusted CA",
            SignOptions {
                untrusted_ca: true,
                ..SignOptions::default()
            },
            "certificate-untrusted",
        ),
        (
            "expired certificate",
            SignOptions {
                expired_certificate: true,
                ..SignOptions::default()
            },
            "certificate-expired",
        ),
        (
            "no SCT",
            SignOptions {
                sct: SctMode::Missing,
                ..SignOptions::default()
            },
            "sct-invalid",
        ),
        (
            "untrusted TSA",
            SignOptions {
                rfc3161_timestamp: true,
                untrusted_tsa: true,
                ..SignOptions::default()
            },
            "timestamp-invalid",
        ),
        (
            "key-based, corrupt signature",
            SignOptions {
                signer: Signer::Key(KeyKind::EcdsaP256),
                corrupt_signature: true,
                ..SignOptions::default()
            },
            "signature-invalid",
        ),
        (
            "subject names other bytes",
            SignOptions {
                dsse_subject_mismatch: true,
                ..SignOptions::default()
            },
            "artifact-mismatch",
        ),
    ];
    for (name, options, code) in cases {
        let signed = sign(sha384_only(options));
        let json = signed.to_json();
        let err = verifier()
            .verify_bundle(
                json.as_bytes(),
                Artifact::TypedDigest(sha384_digest()),
                &common::policy_for(&signed),
            )
            .expect_err(name);
        assert_eq!(err.code(), code, "{name}: {err}");
    }
}

#[test]
fn the_wrong_key_and_the_wrong_identity_are_refused() {
    let signed = sign(sha384_only(SignOptions {
        signer: Signer::Key(KeyKind::EcdsaP256),
        ..SignOptions::default()
    }));
    let other = sign(sha384_only(SignOptions {
        signer: Signer::Key(KeyKind::EcdsaP256),
        ..SignOptions::default()
    }));
    let err = verifier()
        .verify_bundle(
            signed.to_json().as_bytes(),
            Artifact::TypedDigest(sha384_digest()),
            &common::key_policy(&other),
        )
        .expect_err("another key");
    assert_eq!(err.code(), "signature-invalid", "{err}");

    let keyless = sign(sha384_only(SignOptions::default()));
    let policy = verify_core::Policy::Identity(verify_core::identity::IdentityPolicy::new(
        verify_core::identity::StringMatcher::exact("someone@else.example"),
        verify_core::identity::StringMatcher::exact(verify_testkit::GITHUB_ACTIONS_ISSUER),
    ));
    let err = verifier()
        .verify_bundle(
            keyless.to_json().as_bytes(),
            Artifact::TypedDigest(sha384_digest()),
            &policy,
        )
        .expect_err("another identity");
    assert_eq!(err.code(), "identity-mismatch", "{err}");
}

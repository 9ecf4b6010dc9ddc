//! The evidence a bundle brings, broken one piece at a time: the certificate
//! (expiry, CA, SCT), the transparency log (SET, inclusion proof,
//! checkpoint), RFC 3161 timestamps, the signature and the artifact binding.
//! Each must fail with its own typed error and reason code.

mod common;

use common::{expect_err, sha256_of, sign, verifier, verify, ARTIFACT};
use jiff::{SignedDuration, Timestamp};
use verify_core::artifact::ArtifactError;
use verify_core::error::{CertificateError, TimestampError, TlogError};
use verify_core::{Artifact, ArtifactDigest, VerifyError};
use verify_testkit::{BundleVersion, Content, KeyKind, SctMode, SignOptions, Signer};

#[test]
fn certificate_used_after_its_not_after_is_expired() {
    let signing_time: Timestamp = "2024-05-01T10:00:00Z".parse().expect("a timestamp");
    let err = expect_err(SignOptions {
        signing_time: Some(signing_time),
        expired_certificate: true,
        ..SignOptions::default()
    });
    // The knob makes the leaf valid 09:45..09:55; the SET vouches that the
    // log saw the signature at 10:00:01, after the leaf's notAfter.
    match &err {
        VerifyError::Certificate(CertificateError::Expired { time, not_after }) => {
            assert_eq!(time.to_string(), "2024-05-01T10:00:01Z");
            assert_eq!(not_after.to_string(), "2024-05-01T09:55:00Z");
        }
        other => panic!("unexpected error {other:?}"),
    }
    assert_eq!(err.code(), "certificate-expired");
    let message = err.to_string();
    assert!(message.contains("expired"), "{message}");
    assert!(message.contains("2024-05-01T09:55:00Z"), "{message}");
    assert!(!err.is_input_error());
}

#[test]
fn certificate_used_before_its_not_before_is_not_yet_valid() {
    let signing_time: Timestamp = "2024-05-01T10:00:00Z".parse().expect("a timestamp");
    let err = expect_err(SignOptions {
        signing_time: Some(signing_time),
        cert_validity: Some((
            signing_time + SignedDuration::from_mins(5),
            signing_time + SignedDuration::from_mins(15),
        )),
        ..SignOptions::default()
    });
    match &err {
        VerifyError::Certificate(CertificateError::NotYetValid { time, not_before }) => {
            assert_eq!(time.to_string(), "2024-05-01T10:00:01Z");
            assert_eq!(not_before.to_string(), "2024-05-01T10:05:00Z");
        }
        other => panic!("unexpected error {other:?}"),
    }
    assert_eq!(err.code(), "certificate-not-yet-valid");
}

#[test]
fn certificate_from_an_untrusted_ca_is_untrusted() {
    for version in [
        BundleVersion::V0_1,
        BundleVersion::V0_2,
        BundleVersion::V0_3,
    ] {
        let err = expect_err(SignOptions {
            version,
            untrusted_ca: true,
            ..SignOptions::default()
        });
        assert!(
            matches!(
                err,
                VerifyError::Certificate(CertificateError::Untrusted { .. })
            ),
            "{version:?}: {err:?}"
        );
        assert_eq!(err.code(), "certificate-untrusted", "{version:?}");
    }
}

#[test]
fn missing_corrupt_or_foreign_sct_is_an_sct_error() {
    for sct in [SctMode::Missing, SctMode::Corrupted, SctMode::UntrustedLog] {
        let err = expect_err(SignOptions {
            sct,
            ..SignOptions::default()
        });
        assert!(
            matches!(err, VerifyError::Certificate(CertificateError::Sct { .. })),
            "{sct:?}: {err:?}"
        );
        assert_eq!(err.code(), "sct-invalid", "{sct:?}");
    }
}

#[test]
fn corrupted_set_is_an_inclusion_promise_error() {
    for version in [BundleVersion::V0_1, BundleVersion::V0_3] {
        for signer in [Signer::Keyless, Signer::Key(KeyKind::EcdsaP256)] {
            let err = expect_err(SignOptions {
                version,
                signer,
                corrupt_set: true,
                ..SignOptions::default()
            });
            assert!(
                matches!(
                    err,
                    VerifyError::TransparencyLog(TlogError::InclusionPromise { .. })
                ),
                "{version:?} {signer:?}: {err:?}"
            );
            assert_eq!(err.code(), "tlog-set-invalid");
        }
    }
}

#[test]
fn corrupted_inclusion_proof_is_an_inclusion_proof_error() {
    for content in [Content::MessageSignature, Content::Dsse] {
        let err = expect_err(SignOptions {
            content,
            corrupt_inclusion_proof: true,
            ..SignOptions::default()
        });
        assert!(
            matches!(
                err,
                VerifyError::TransparencyLog(TlogError::InclusionProof { .. })
            ),
            "{content:?}: {err:?}"
        );
        assert_eq!(err.code(), "tlog-inclusion-proof-invalid");
    }
}

#[test]
fn checkpoint_signed_by_another_key_is_a_checkpoint_error() {
    let err = expect_err(SignOptions {
        checkpoint_wrong_key: true,
        ..SignOptions::default()
    });
    assert!(
        matches!(
            err,
            VerifyError::TransparencyLog(TlogError::Checkpoint { .. })
        ),
        "{err:?}"
    );
    assert_eq!(err.code(), "tlog-checkpoint-invalid");
}

#[test]
fn timestamp_from_an_untrusted_tsa_is_invalid() {
    let err = expect_err(SignOptions {
        rfc3161_timestamp: true,
        untrusted_tsa: true,
        ..SignOptions::default()
    });
    assert!(
        matches!(err, VerifyError::Timestamp(TimestampError::Invalid { .. })),
        "{err:?}"
    );
    assert_eq!(err.code(), "timestamp-invalid");
}

#[test]
fn timestamp_over_other_bytes_is_invalid() {
    let err = expect_err(SignOptions {
        rfc3161_timestamp: true,
        timestamp_imprint_mismatch: true,
        ..SignOptions::default()
    });
    assert!(
        matches!(err, VerifyError::Timestamp(TimestampError::Invalid { .. })),
        "{err:?}"
    );
}

#[test]
fn no_set_and_no_timestamp_is_no_verified_time() {
    let err = expect_err(SignOptions {
        inclusion_promise: false,
        ..SignOptions::default()
    });
    assert!(
        matches!(
            err,
            VerifyError::Timestamp(TimestampError::NoVerifiedTime { .. })
        ),
        "{err:?}"
    );
    assert_eq!(err.code(), "no-verified-time");
}

#[test]
fn corrupted_signature_is_an_invalid_signature() {
    for content in [Content::MessageSignature, Content::Dsse] {
        for signer in [
            Signer::Keyless,
            Signer::Key(KeyKind::EcdsaP384),
            Signer::Key(KeyKind::Ed25519),
        ] {
            let err = expect_err(SignOptions {
                content,
                signer,
                corrupt_signature: true,
                ..SignOptions::default()
            });
            assert!(
                matches!(err, VerifyError::Signature { .. }),
                "{content:?} {signer:?}: {err:?}"
            );
            assert_eq!(err.code(), "signature-invalid");
        }
    }
}

#[test]
fn message_digest_of_other_bytes_is_a_digest_mismatch_naming_both() {
    let err = expect_err(SignOptions {
        message_digest_mismatch: true,
        ..SignOptions::default()
    });
    let signed_digest = sha256_of(&[ARTIFACT, b"!"].concat());
    let artifact_digest = sha256_of(ARTIFACT);
    match &err {
        VerifyError::Artifact(ArtifactError::DigestMismatch { expected, found }) => {
            assert_eq!(expected, &signed_digest);
            assert_eq!(found, &artifact_digest);
        }
        other => panic!("unexpected error {other:?}"),
    }
    assert_eq!(err.code(), "artifact-mismatch");
    let message = err.to_string();
    assert!(
        message.contains(&signed_digest) && message.contains(&artifact_digest),
        "{message}"
    );
}

#[test]
fn dsse_statement_not_naming_the_artifact_is_not_a_subject() {
    let err = expect_err(SignOptions {
        content: Content::Dsse,
        dsse_subject_mismatch: true,
        ..SignOptions::default()
    });
    let subject_digest = sha256_of(&[ARTIFACT, b" (not this artifact)"].concat());
    let artifact_digest = sha256_of(ARTIFACT);
    match &err {
        VerifyError::Artifact(ArtifactError::NotASubject { subjects, found }) => {
            assert_eq!(subjects, &vec![format!("artifact {subject_digest}")]);
            assert_eq!(found, &artifact_digest);
        }
        other => panic!("unexpected error {other:?}"),
    }
    let message = err.to_string();
    assert!(
        message.contains(&subject_digest) && message.contains(&artifact_digest),
        "{message}"
    );
}

#[test]
fn another_artifact_is_refused_in_every_form() {
    let other: &[u8] = b"another artifact\n";
    // Message signature with a messageDigest: caught before any cryptography.
    let signed = sign(SignOptions::default());
    let err = verify(&signed, other).unwrap_err();
    match &err {
        VerifyError::Artifact(ArtifactError::DigestMismatch { expected, found }) => {
            assert_eq!(expected, &sha256_of(ARTIFACT));
            assert_eq!(found, &sha256_of(other));
        }
        e => panic!("unexpected error {e:?}"),
    }

    // The same as a digest.
    let err = verifier()
        .verify_bundle(
            signed.to_json().as_bytes(),
            Artifact::Digest(ArtifactDigest::of(other)),
            &common::policy_for(&signed),
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::Artifact(ArtifactError::DigestMismatch { .. })
        ),
        "{err:?}"
    );

    // DSSE: the artifact is not a subject.
    let signed = sign(SignOptions {
        content: Content::Dsse,
        ..SignOptions::default()
    });
    let err = verify(&signed, other).unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::Artifact(ArtifactError::NotASubject { .. })
        ),
        "{err:?}"
    );

    // A streamed artifact is bound once read; it gets the same errors.
    for content in [Content::MessageSignature, Content::Dsse] {
        let signed = sign(SignOptions {
            content,
            ..SignOptions::default()
        });
        let mut reader = other;
        let err = verifier()
            .verify_bundle(
                signed.to_json().as_bytes(),
                Artifact::Reader(&mut reader),
                &common::policy_for(&signed),
            )
            .unwrap_err();
        match (content, &err) {
            (
                Content::MessageSignature,
                VerifyError::Artifact(ArtifactError::DigestMismatch { expected, found }),
            ) => {
                assert_eq!(expected, &sha256_of(ARTIFACT));
                assert_eq!(found, &sha256_of(other));
            }
            (Content::Dsse, VerifyError::Artifact(ArtifactError::NotASubject { found, .. })) => {
                assert_eq!(found, &sha256_of(other));
            }
            (_, e) => panic!("{content:?}: unexpected error {e:?}"),
        }
        assert_eq!(err.code(), "artifact-mismatch");
    }

    // Without a messageDigest only the signature binds the artifact.
    let signed = sign(SignOptions {
        message_digest: false,
        ..SignOptions::default()
    });
    let err = verify(&signed, other).unwrap_err();
    assert!(matches!(err, VerifyError::Signature { .. }), "{err:?}");
}

#[test]
fn prehash_unsupported_schemes_refuse_a_digest_clearly() {
    // Ed25519 signs the whole message: a digest cannot be verified.
    let signed = sign(SignOptions {
        signer: Signer::Key(KeyKind::Ed25519),
        ..SignOptions::default()
    });
    let err = verifier()
        .verify_bundle(
            signed.to_json().as_bytes(),
            Artifact::Digest(ArtifactDigest::of(ARTIFACT)),
            &common::policy_for(&signed),
        )
        .unwrap_err();
    match &err {
        VerifyError::Unsupported { detail } => assert!(detail.contains("ED25519"), "{detail}"),
        other => panic!("unexpected error {other:?}"),
    }
    assert_eq!(err.code(), "bundle-unsupported");

    // A P-384 signature is over SHA-384: a SHA-256 digest is not enough.
    let signed = sign(SignOptions {
        signer: Signer::Key(KeyKind::EcdsaP384),
        ..SignOptions::default()
    });
    let err = verifier()
        .verify_bundle(
            signed.to_json().as_bytes(),
            Artifact::Digest(ArtifactDigest::of(ARTIFACT)),
            &common::policy_for(&signed),
        )
        .unwrap_err();
    match &err {
        VerifyError::Unsupported { detail } => assert!(detail.contains("SHA2_384"), "{detail}"),
        other => panic!("unexpected error {other:?}"),
    }
}

//! Genuine evidence other verifiers accept, made with the test Sigstore:
//! Fulcio username (`otherName`) identities, and artifacts named by SHA-384
//! or SHA-512 digests.

mod common;

use common::{sign, verifier, ARTIFACT};
use verify_core::identity::{IdentityPolicy, StringMatcher};
use verify_core::{Artifact, Policy, TypedDigest};
use verify_testkit::{Content, SanIdentity, SignOptions};

const USERNAME: &str = "user!oidc.example";
const ISSUER: &str = "https://oidc.example";

fn username_options() -> SignOptions {
    SignOptions {
        identity: Some(SanIdentity::OtherName(USERNAME.into())),
        issuer: ISSUER.into(),
        github: None,
        ..SignOptions::default()
    }
}

fn policy(identity: StringMatcher) -> Policy {
    Policy::Identity(IdentityPolicy::new(identity, StringMatcher::exact(ISSUER)))
}

#[test]
fn username_other_name_identities_are_matched_and_reported() {
    for content in [Content::MessageSignature, Content::Dsse] {
        let signed = sign(SignOptions {
            content,
            ..username_options()
        });
        let json = signed.to_json();
        let v = verifier()
            .verify_bundle(
                json.as_bytes(),
                Artifact::Bytes(ARTIFACT),
                &policy(StringMatcher::exact(USERNAME)),
            )
            .expect("a username identity verifies");
        assert_eq!(v.identity.as_deref(), Some(USERNAME));
        assert_eq!(
            v.certificate.as_ref().and_then(|c| c.subject.as_deref()),
            Some(USERNAME)
        );
        assert_eq!(v.issuer.as_deref(), Some(ISSUER));

        let re = StringMatcher::regex("certificate-identity-regexp", "^user!oidc\\.").unwrap();
        verifier()
            .verify_bundle(json.as_bytes(), Artifact::Bytes(ARTIFACT), &policy(re))
            .expect("a regexp matches the username");

        let err = verifier()
            .verify_bundle(
                json.as_bytes(),
                Artifact::Bytes(ARTIFACT),
                &policy(StringMatcher::exact("other!oidc.example")),
            )
            .expect_err("another username is refused");
        assert_eq!(err.code(), "identity-mismatch");
        assert!(err.to_string().contains(USERNAME), "{err}");
    }
}

fn digest_of(statement: &serde_json::Value, alg: &str) -> TypedDigest {
    let hex = statement["subject"][0]["digest"][alg]
        .as_str()
        .unwrap_or_else(|| panic!("a {alg} subject in {statement}"));
    TypedDigest::parse(&format!("{alg}:{hex}")).unwrap()
}

fn statement_of(signed: &verify_testkit::SignedBundle) -> serde_json::Value {
    serde_json::from_slice(signed.dsse_payload.as_deref().expect("DSSE")).unwrap()
}

#[test]
fn sha512_subjects_bind_bytes_and_typed_digests() {
    let signed = sign(SignOptions {
        content: Content::Dsse,
        subject_algorithms: vec!["sha512"],
        ..SignOptions::default()
    });
    let json = signed.to_json();
    let policy = common::policy_for(&signed);
    verifier()
        .verify_bundle(json.as_bytes(), Artifact::Bytes(ARTIFACT), &policy)
        .expect("the bytes are hashed by SHA-512 for the subject");
    let digest = digest_of(&statement_of(&signed), "sha512");
    let v = verifier()
        .verify_bundle(
            json.as_bytes(),
            Artifact::TypedDigest(digest.clone()),
            &policy,
        )
        .expect("a SHA-512 digest verifies");
    assert_eq!(
        v.artifact_digest.as_deref(),
        Some(digest.to_string().as_str())
    );

    let other = TypedDigest::parse(&format!("sha512:{}", "00".repeat(64))).unwrap();
    let err = verifier()
        .verify_bundle(json.as_bytes(), Artifact::TypedDigest(other), &policy)
        .expect_err("another SHA-512 is not a subject");
    assert_eq!(err.code(), "artifact-mismatch");
    assert!(err.to_string().contains(&digest.to_string()), "{err}");
}

#[test]
fn sha384_subjects_bind_through_the_same_subjects_other_digest() {
    let both = sign(SignOptions {
        content: Content::Dsse,
        subject_algorithms: vec!["sha384", "sha256"],
        ..SignOptions::default()
    });
    let digest = digest_of(&statement_of(&both), "sha384");
    verifier()
        .verify_bundle(
            both.to_json().as_bytes(),
            Artifact::TypedDigest(digest),
            &common::policy_for(&both),
        )
        .expect("a SHA-384 subject that also has a SHA-256 verifies");

    // Named by SHA-384 alone, the delegate cannot bind it: verified by the
    // crate's own DSSE path, by digest and by bytes (hashed with SHA-384).
    let alone = sign(SignOptions {
        content: Content::Dsse,
        subject_algorithms: vec!["sha384"],
        ..SignOptions::default()
    });
    let digest = digest_of(&statement_of(&alone), "sha384");
    let policy = common::policy_for(&alone);
    let v = verifier()
        .verify_bundle(
            alone.to_json().as_bytes(),
            Artifact::TypedDigest(digest.clone()),
            &policy,
        )
        .expect("a sha384-only subject verifies by digest");
    assert_eq!(
        v.artifact_digest.as_deref(),
        Some(digest.to_string().as_str())
    );
    assert!(v.tlog_verified && v.sct_verified, "{v:?}");
    assert_eq!(
        v.identity,
        alone.identity.as_ref().map(|i| i.as_str().to_string())
    );
    let by_bytes = verifier()
        .verify_bundle(
            alone.to_json().as_bytes(),
            Artifact::Bytes(ARTIFACT),
            &policy,
        )
        .expect("a sha384-only subject verifies by bytes");
    assert_eq!(by_bytes.artifact_digest, v.artifact_digest);

    // Other bytes, or another SHA-384, are not the subject.
    let err = verifier()
        .verify_bundle(
            alone.to_json().as_bytes(),
            Artifact::Bytes(b"other"),
            &policy,
        )
        .expect_err("other bytes are refused");
    assert_eq!(err.code(), "artifact-mismatch", "{err}");
    let other = TypedDigest::parse(&format!("sha384:{}", "00".repeat(48))).unwrap();
    let err = verifier()
        .verify_bundle(
            alone.to_json().as_bytes(),
            Artifact::TypedDigest(other),
            &policy,
        )
        .expect_err("another SHA-384 is refused");
    assert_eq!(err.code(), "artifact-mismatch", "{err}");
}

#[test]
fn message_signatures_are_bound_by_sha256_only() {
    let signed = sign(SignOptions::default());
    let digest = TypedDigest::parse(&format!("sha512:{}", "00".repeat(64))).unwrap();
    let err = verifier()
        .verify_bundle(
            signed.to_json().as_bytes(),
            Artifact::TypedDigest(digest),
            &common::policy_for(&signed),
        )
        .expect_err("a message signature is not bound by SHA-512");
    assert_eq!(err.code(), "artifact-digest-algorithm-mismatch");
    assert!(err.is_input_error());
    // A SHA-256 given as a typed digest is the ordinary digest path.
    let sha256 = TypedDigest::parse(&common::sha256_of(ARTIFACT)).unwrap();
    verifier()
        .verify_bundle(
            signed.to_json().as_bytes(),
            Artifact::TypedDigest(sha256),
            &common::policy_for(&signed),
        )
        .expect("sha256 typed digest verifies");
}

#[test]
fn rfc3161_timestamps_with_fractional_seconds_verify() {
    let signed = sign(SignOptions {
        rfc3161_timestamp: true,
        timestamp_millis: 250,
        ..SignOptions::default()
    });
    let v = common::verify(&signed, ARTIFACT).expect("a fractional genTime verifies");
    assert!(
        v.signed_timestamps.iter().any(|t| t.ends_with(".25Z")),
        "{:?}",
        v.signed_timestamps
    );
    assert!(v.tlog_verified);

    // Every check still runs on it: the imprint, the authority.
    for options in [
        SignOptions {
            timestamp_imprint_mismatch: true,
            ..SignOptions::default()
        },
        SignOptions {
            untrusted_tsa: true,
            ..SignOptions::default()
        },
    ] {
        let err = common::expect_err(SignOptions {
            rfc3161_timestamp: true,
            timestamp_millis: 250,
            ..options
        });
        assert_eq!(err.code(), "timestamp-invalid", "{err}");
    }

    // The certificate must be valid at the timestamp's time too: the log's
    // time (1 s after signing) is inside its validity, the TSA's (1.25 s)
    // is after its notAfter.
    let signing_time = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(1);
    let signing_time = jiff::Timestamp::from_second(signing_time.as_second()).unwrap();
    let err = common::expect_err(SignOptions {
        rfc3161_timestamp: true,
        timestamp_millis: 250,
        signing_time: Some(signing_time),
        cert_validity: Some((
            signing_time - jiff::SignedDuration::from_mins(5),
            signing_time + jiff::SignedDuration::from_secs(1),
        )),
        ..SignOptions::default()
    });
    assert_eq!(err.code(), "certificate-expired", "{err}");
}

fn tsa_only_policy(signed: &verify_testkit::SignedBundle, ignore_tlog: bool) -> Policy {
    let mut identity = IdentityPolicy::new(
        StringMatcher::exact(signed.identity.as_ref().unwrap().as_str()),
        StringMatcher::exact(signed.issuer.as_ref().unwrap().as_str()),
    );
    identity.insecure_ignore_tlog = ignore_tlog;
    Policy::Identity(identity)
}

/// GitHub's attestations for private repositories (no log entry) and
/// Rekor v2 bundles (no SET): a fractional RFC 3161 time is the only one.
#[test]
fn a_fractional_timestamp_as_the_only_time_verifies() {
    for content in [Content::MessageSignature, Content::Dsse] {
        for (shape, tlog_entry) in [("no log entry", false), ("proof, no SET", true)] {
            let signed = sign(SignOptions {
                content,
                rfc3161_timestamp: true,
                timestamp_millis: 250,
                tlog_entry,
                inclusion_promise: false,
                ..SignOptions::default()
            });
            let policy = tsa_only_policy(&signed, !tlog_entry);
            let json = signed.to_json();
            let v = verifier()
                .verify_bundle(json.as_bytes(), Artifact::Bytes(ARTIFACT), &policy)
                .unwrap_or_else(|e| panic!("{content:?} {shape}: {e}"));
            assert_eq!(v.signed_timestamps.len(), 1, "{content:?} {shape}");
            assert!(v.signed_timestamps[0].ends_with(".25Z"), "{v:?}");
            assert_eq!(v.tlog_verified, tlog_entry, "{content:?} {shape}");
            assert!(v.sct_verified);
            assert_eq!(v.integrated_time, None);

            // The verifier's checks before any cryptography still wrap it:
            // the identity, and the bundle kind.
            let mut other = IdentityPolicy::new(
                StringMatcher::exact("someone@else.example"),
                StringMatcher::exact(signed.issuer.as_ref().unwrap().as_str()),
            );
            other.insecure_ignore_tlog = !tlog_entry;
            let err = verifier()
                .verify_bundle(
                    json.as_bytes(),
                    Artifact::Bytes(ARTIFACT),
                    &Policy::Identity(other),
                )
                .expect_err("another identity");
            assert_eq!(err.code(), "identity-mismatch", "{err}");
            let err = verifier()
                .verify_bundle(
                    json.as_bytes(),
                    Artifact::Bytes(ARTIFACT),
                    &common::key_policy(&sign(SignOptions {
                        signer: verify_testkit::Signer::Key(verify_testkit::KeyKind::EcdsaP256),
                        ..SignOptions::default()
                    })),
                )
                .expect_err("a key policy for a keyless bundle");
            assert_eq!(err.code(), "bundle-kind-mismatch", "{err}");

            // Every check still runs: another artifact, and a TSA time after
            // the certificate's notAfter, are refused.
            let err = verifier()
                .verify_bundle(json.as_bytes(), Artifact::Bytes(b"other bytes"), &policy)
                .expect_err("another artifact");
            assert!(err.code().starts_with("artifact-"), "{err}");
            let signing_time = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(1);
            let signing_time = jiff::Timestamp::from_second(signing_time.as_second()).unwrap();
            let expired = sign(SignOptions {
                content,
                rfc3161_timestamp: true,
                timestamp_millis: 250,
                tlog_entry,
                inclusion_promise: false,
                signing_time: Some(signing_time),
                cert_validity: Some((
                    signing_time - jiff::SignedDuration::from_mins(5),
                    signing_time + jiff::SignedDuration::from_secs(1),
                )),
                ..SignOptions::default()
            });
            let err = verifier()
                .verify_bundle(
                    expired.to_json().as_bytes(),
                    Artifact::Bytes(ARTIFACT),
                    &tsa_only_policy(&expired, !tlog_entry),
                )
                .expect_err("the certificate expired before the TSA's time");
            assert_eq!(
                err.code(),
                "certificate-expired",
                "{content:?} {shape}: {err}"
            );
        }
    }
}

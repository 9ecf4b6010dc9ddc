//! Every bundle the test Sigstore generates is checked with the real
//! `sigstore_verify::Verifier` against the generated `trusted_root.json`:
//! happy paths must verify, each negative knob must fail with its expected
//! error category.

use sigstore_verify::trust_root::TrustedRoot;
use sigstore_verify::types::{Bundle, DerPublicKey};
use sigstore_verify::{
    CertificateError, Error, PublicKeyVerificationPolicy, TimestampError, TransparencyLogError,
    VerificationPolicy, VerificationResult, Verifier,
};
use std::sync::OnceLock;
use verify_testkit::{
    BundleVersion, Content, GithubWorkflowClaims, KeyKind, SanIdentity, SctMode, SignOptions,
    SignedBundle, Signer, TestSigstore, GITHUB_ACTIONS_ISSUER,
};

const ARTIFACT: &[u8] = b"an artifact to sign\n";

/// One test Sigstore for the whole test binary (key generation is cheap, but
/// sharing also exercises a log that keeps growing).
fn sigstore() -> &'static TestSigstore {
    static SIGSTORE: OnceLock<TestSigstore> = OnceLock::new();
    SIGSTORE.get_or_init(TestSigstore::new)
}

fn verifier() -> Verifier {
    let root =
        TrustedRoot::from_json(&sigstore().trusted_root_json()).expect("trusted root parses");
    Verifier::new(&root).expect("trusted root is usable")
}

/// Round-trip the bundle through its JSON, as a verifier reading a file would.
fn reparse(signed: &SignedBundle) -> Bundle {
    Bundle::from_json(&signed.to_json()).expect("bundle JSON parses")
}

/// Verify with the policy a relying party would use: the signed identity and
/// issuer for keyless bundles, the returned public key for key-based ones.
fn verify(signed: &SignedBundle, artifact: &[u8]) -> Result<VerificationResult, Error> {
    let bundle = reparse(signed);
    match (&signed.identity, &signed.issuer) {
        (Some(identity), Some(issuer)) => verifier().verify(
            artifact,
            &bundle,
            &VerificationPolicy::new(identity.as_str(), issuer.as_str()),
        ),
        _ => verifier().verify(
            artifact,
            &bundle,
            &PublicKeyVerificationPolicy::new(
                DerPublicKey::from_pem(&signed.public_key_pem).expect("PEM public key"),
            ),
        ),
    }
}

fn sign(options: SignOptions) -> SignedBundle {
    sigstore()
        .sign(ARTIFACT, &options)
        .unwrap_or_else(|e| panic!("signing failed: {e}"))
}

fn expect_err(options: SignOptions) -> Error {
    let signed = sign(options);
    match verify(&signed, ARTIFACT) {
        Ok(_) => panic!("verification unexpectedly succeeded"),
        Err(e) => e,
    }
}

#[test]
fn trusted_root_has_every_authority() {
    let root = sigstore().trusted_root().unwrap();
    assert_eq!(
        root.media_type,
        "application/vnd.dev.sigstore.trustedroot+json;version=0.1"
    );
    assert_eq!(root.tlogs.len(), 1);
    assert_eq!(root.ctlogs.len(), 1);
    assert_eq!(root.certificate_authorities.len(), 1);
    assert_eq!(
        root.certificate_authorities[0]
            .cert_chain
            .certificates
            .len(),
        2
    );
    assert_eq!(root.timestamp_authorities.len(), 1);
    assert_eq!(
        root.timestamp_authorities[0].cert_chain.certificates.len(),
        2
    );
    for window in root
        .certificate_authorities
        .iter()
        .map(|ca| ca.valid_for)
        .chain(root.timestamp_authorities.iter().map(|tsa| tsa.valid_for))
        .chain(root.tlogs.iter().map(|log| log.public_key.valid_for))
        .chain(root.ctlogs.iter().map(|log| log.public_key.valid_for))
    {
        let window = window.expect("every authority has a validFor");
        assert!(window.end.is_none(), "validFor must be open-ended");
    }
}

#[test]
fn every_happy_path_verifies() {
    let signers = [
        Signer::Keyless,
        Signer::Key(KeyKind::EcdsaP256),
        Signer::Key(KeyKind::EcdsaP384),
        Signer::Key(KeyKind::Ed25519),
    ];
    for version in [
        BundleVersion::V0_1,
        BundleVersion::V0_2,
        BundleVersion::V0_3,
    ] {
        for content in [Content::MessageSignature, Content::Dsse] {
            for signer in signers {
                for rfc3161_timestamp in [false, true] {
                    let options = SignOptions {
                        version,
                        content,
                        signer,
                        rfc3161_timestamp,
                        ..SignOptions::default()
                    };
                    let case =
                        format!("{version:?} {content:?} {signer:?} tsa={rfc3161_timestamp}");
                    let signed = sign(options);
                    let result =
                        verify(&signed, ARTIFACT).unwrap_or_else(|e| panic!("{case}: {e} ({e:?})"));
                    assert!(result.tlog_verified(), "{case}");
                    // The SET's integrated time, plus the RFC 3161 time.
                    let expected_times = if rfc3161_timestamp { 2 } else { 1 };
                    assert_eq!(result.verified_timestamps().len(), expected_times, "{case}");
                    if signer == Signer::Keyless {
                        assert!(result.certificate_verified(), "{case}");
                        assert!(result.sct_verified(), "{case}");
                        assert!(result.identity_policy_checked(), "{case}");
                    }
                }
            }
        }
    }
}

#[test]
fn keyless_result_carries_identity_issuer_and_ci_claims() {
    let signed = sign(SignOptions::default());
    let result = verify(&signed, ARTIFACT).unwrap();
    let claims = GithubWorkflowClaims::default();
    assert_eq!(
        result.identity().map(|id| id.as_str().to_string()),
        Some(claims.workflow_identity())
    );
    assert_eq!(result.issuer(), Some(GITHUB_ACTIONS_ISSUER));
    let info = result.certificate().expect("certificate info");
    let ci = &info.ci_claims;
    assert_eq!(
        ci.build_signer_uri.as_deref(),
        Some(claims.workflow_identity().as_str())
    );
    assert_eq!(
        ci.source_repository_uri.as_deref(),
        Some("https://github.com/example-org/example-repo")
    );
    assert_eq!(ci.source_repository_ref.as_deref(), Some("refs/heads/main"));
    assert_eq!(
        ci.source_repository_digest.as_deref(),
        Some(claims.sha.as_str())
    );
    assert_eq!(
        ci.run_invocation_uri.as_deref(),
        Some(claims.run_invocation_uri().as_str())
    );
    assert_eq!(ci.build_trigger.as_deref(), Some("push"));
    assert_eq!(ci.runner_environment.as_deref(), Some("github-hosted"));
    assert_eq!(
        ci.source_repository_visibility_at_signing.as_deref(),
        Some("public")
    );
    let gh = &ci.deprecated_github;
    assert_eq!(gh.workflow_trigger.as_deref(), Some("push"));
    assert_eq!(gh.workflow_sha.as_deref(), Some(claims.sha.as_str()));
    assert_eq!(gh.workflow_name.as_deref(), Some("Release"));
    assert_eq!(
        gh.workflow_repository.as_deref(),
        Some("example-org/example-repo")
    );
    assert_eq!(gh.workflow_ref.as_deref(), Some("refs/heads/main"));
    assert_eq!(
        result.integrated_time(),
        signed.log_entry.as_ref().map(|e| e.integrated_time)
    );
}

#[test]
fn email_identity_without_ci_claims_verifies() {
    let signed = sign(SignOptions {
        identity: Some(SanIdentity::Email("alice@example.com".into())),
        issuer: "https://accounts.example.com".into(),
        github: None,
        ..SignOptions::default()
    });
    let bundle = reparse(&signed);
    let policy = VerificationPolicy::new(
        sigstore_verify::IdentityMatcher::Email("alice@example.com".into()),
        "https://accounts.example.com",
    );
    let result = verifier().verify(ARTIFACT, &bundle, &policy).unwrap();
    assert!(result.certificate().unwrap().ci_claims.is_empty());
}

#[test]
fn v0_1_with_promise_only_verifies() {
    let signed = sign(SignOptions {
        version: BundleVersion::V0_1,
        inclusion_proof: false,
        ..SignOptions::default()
    });
    verify(&signed, ARTIFACT).unwrap();
}

#[test]
fn proof_with_tsa_and_no_promise_verifies() {
    let signed = sign(SignOptions {
        inclusion_promise: false,
        rfc3161_timestamp: true,
        ..SignOptions::default()
    });
    let result = verify(&signed, ARTIFACT).unwrap();
    assert_eq!(result.verified_timestamps().len(), 1);
}

#[test]
fn tsa_only_verifies_when_tlog_is_skipped() {
    let signed = sign(SignOptions {
        tlog_entry: false,
        rfc3161_timestamp: true,
        ..SignOptions::default()
    });
    let policy = VerificationPolicy::new(
        signed.identity.clone().unwrap().as_str(),
        GITHUB_ACTIONS_ISSUER,
    )
    .skip_tlog_unsafe();
    verifier()
        .verify(ARTIFACT, &reparse(&signed), &policy)
        .unwrap();
}

#[test]
fn the_log_serves_what_the_bundle_carries() {
    let signed = sign(SignOptions::default());
    let entry = signed.log_entry.clone().unwrap();
    let log = sigstore().rekor();
    assert_eq!(log.entry_by_uuid(&entry.uuid()), Some(entry.clone()));
    let digest = sigstore_verify::crypto::sha256(ARTIFACT).to_hex();
    assert!(log.find_by_digest(&digest).contains(&entry));
    let tlog = &signed.bundle.verification_material.tlog_entries[0];
    assert_eq!(tlog.canonicalized_body.as_bytes(), entry.body.as_slice());
    let body: serde_json::Value = serde_json::from_slice(&entry.body).unwrap();
    assert_eq!(body["kind"], "hashedrekord");
    assert_eq!(body["apiVersion"], "0.0.1");
    assert_eq!(body["spec"]["data"]["hash"]["value"], digest);
}

// ---------------------------------------------------------------------------
// Negative knobs
// ---------------------------------------------------------------------------

#[test]
fn wrong_identity_is_an_identity_mismatch() {
    let signed = sign(SignOptions {
        identity: Some(SanIdentity::Email("mallory@example.com".into())),
        ..SignOptions::default()
    });
    let policy = VerificationPolicy::new(
        GithubWorkflowClaims::default().workflow_identity(),
        GITHUB_ACTIONS_ISSUER,
    );
    let err = verifier()
        .verify(ARTIFACT, &reparse(&signed), &policy)
        .unwrap_err();
    assert!(matches!(err, Error::IdentityMismatch { .. }), "{err:?}");
}

#[test]
fn wrong_issuer_is_an_issuer_mismatch() {
    let signed = sign(SignOptions {
        issuer: "https://accounts.google.com".into(),
        ..SignOptions::default()
    });
    let policy = VerificationPolicy::new(
        GithubWorkflowClaims::default().workflow_identity(),
        GITHUB_ACTIONS_ISSUER,
    );
    let err = verifier()
        .verify(ARTIFACT, &reparse(&signed), &policy)
        .unwrap_err();
    assert!(matches!(err, Error::IssuerMismatch { .. }), "{err:?}");
}

#[test]
fn expired_certificate_fails_chain_validation() {
    let err = expect_err(SignOptions {
        expired_certificate: true,
        ..SignOptions::default()
    });
    // webpki checks the leaf's validity at each verified time while building
    // the chain, before sigstore-verify's own notAfter comparison.
    match &err {
        Error::Certificate(CertificateError::ChainInvalid(detail)) => {
            assert!(detail.contains("CertExpired"), "{detail}")
        }
        other => panic!("unexpected error {other:?}"),
    }
}

#[test]
fn expired_certificate_fails_the_integrated_time_check_without_chain() {
    let signed = sign(SignOptions {
        expired_certificate: true,
        ..SignOptions::default()
    });
    let policy = VerificationPolicy::new(
        signed.identity.clone().unwrap().as_str(),
        GITHUB_ACTIONS_ISSUER,
    )
    .skip_certificate_chain();
    let err = verifier()
        .verify(ARTIFACT, &reparse(&signed), &policy)
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::TransparencyLog(TransparencyLogError::IntegratedTime(_))
        ),
        "{err:?}"
    );
}

#[test]
fn certificate_from_untrusted_ca_fails_chain_validation() {
    for version in [BundleVersion::V0_2, BundleVersion::V0_3] {
        let err = expect_err(SignOptions {
            version,
            untrusted_ca: true,
            ..SignOptions::default()
        });
        assert!(
            matches!(err, Error::Certificate(CertificateError::ChainInvalid(_))),
            "{version:?}: {err:?}"
        );
    }
}

#[test]
fn bad_scts_are_sct_errors() {
    for sct in [SctMode::Missing, SctMode::Corrupted, SctMode::UntrustedLog] {
        let err = expect_err(SignOptions {
            sct,
            ..SignOptions::default()
        });
        assert!(
            matches!(err, Error::Certificate(CertificateError::Sct(_))),
            "{sct:?}: {err:?}"
        );
    }
}

#[test]
fn dsse_subject_not_naming_the_artifact_is_an_artifact_mismatch() {
    for signer in [Signer::Keyless, Signer::Key(KeyKind::EcdsaP256)] {
        let err = expect_err(SignOptions {
            content: Content::Dsse,
            signer,
            dsse_subject_mismatch: true,
            ..SignOptions::default()
        });
        assert!(
            matches!(err, Error::ArtifactMismatch(_)),
            "{signer:?}: {err:?}"
        );
    }
}

#[test]
fn message_digest_not_naming_the_artifact_is_an_artifact_mismatch() {
    let err = expect_err(SignOptions {
        message_digest_mismatch: true,
        ..SignOptions::default()
    });
    assert!(matches!(err, Error::ArtifactMismatch(_)), "{err:?}");
}

#[test]
fn another_artifact_is_an_artifact_mismatch() {
    let signed = sign(SignOptions::default());
    let err = verify(&signed, b"some other artifact").unwrap_err();
    assert!(matches!(err, Error::ArtifactMismatch(_)), "{err:?}");
}

#[test]
fn corrupted_signatures_are_invalid_signatures() {
    for content in [Content::MessageSignature, Content::Dsse] {
        for signer in [Signer::Keyless, Signer::Key(KeyKind::EcdsaP256)] {
            let err = expect_err(SignOptions {
                content,
                signer,
                corrupt_signature: true,
                ..SignOptions::default()
            });
            assert!(
                matches!(err, Error::SignatureInvalid(_)),
                "{content:?} {signer:?}: {err:?}"
            );
        }
    }
}

#[test]
fn wrong_public_key_is_an_invalid_signature() {
    let signed = sign(SignOptions {
        signer: Signer::Key(KeyKind::EcdsaP256),
        ..SignOptions::default()
    });
    let other = sign(SignOptions {
        signer: Signer::Key(KeyKind::EcdsaP256),
        ..SignOptions::default()
    });
    let err = verifier()
        .verify(
            ARTIFACT,
            &reparse(&signed),
            &PublicKeyVerificationPolicy::new(other.public_key.clone()),
        )
        .unwrap_err();
    assert!(matches!(err, Error::SignatureInvalid(_)), "{err:?}");
}

#[test]
fn corrupted_set_is_an_inclusion_promise_error() {
    for signer in [Signer::Keyless, Signer::Key(KeyKind::EcdsaP256)] {
        let err = expect_err(SignOptions {
            signer,
            corrupt_set: true,
            ..SignOptions::default()
        });
        assert!(
            matches!(
                err,
                Error::TransparencyLog(TransparencyLogError::InclusionPromise(_))
            ),
            "{signer:?}: {err:?}"
        );
    }
}

#[test]
fn corrupted_inclusion_proof_is_an_inclusion_proof_error() {
    for signer in [Signer::Keyless, Signer::Key(KeyKind::EcdsaP256)] {
        let err = expect_err(SignOptions {
            signer,
            corrupt_inclusion_proof: true,
            ..SignOptions::default()
        });
        assert!(
            matches!(
                err,
                Error::TransparencyLog(TransparencyLogError::InclusionProof(_))
            ),
            "{signer:?}: {err:?}"
        );
    }
}

#[test]
fn checkpoint_signed_by_another_key_is_a_checkpoint_error() {
    for signer in [Signer::Keyless, Signer::Key(KeyKind::EcdsaP256)] {
        let err = expect_err(SignOptions {
            signer,
            checkpoint_wrong_key: true,
            ..SignOptions::default()
        });
        assert!(
            matches!(
                err,
                Error::TransparencyLog(TransparencyLogError::Checkpoint(_))
            ),
            "{signer:?}: {err:?}"
        );
    }
}

#[test]
fn timestamps_from_an_untrusted_tsa_or_over_other_bytes_are_invalid() {
    for (untrusted_tsa, timestamp_imprint_mismatch) in [(true, false), (false, true)] {
        let err = expect_err(SignOptions {
            rfc3161_timestamp: true,
            untrusted_tsa,
            timestamp_imprint_mismatch,
            ..SignOptions::default()
        });
        assert!(
            matches!(err, Error::Timestamp(TimestampError::Invalid(_))),
            "untrusted={untrusted_tsa} mismatch={timestamp_imprint_mismatch}: {err:?}"
        );
    }
}

#[test]
fn no_promise_and_no_timestamp_is_no_verified_time() {
    let err = expect_err(SignOptions {
        inclusion_promise: false,
        ..SignOptions::default()
    });
    assert!(
        matches!(
            err,
            Error::Timestamp(TimestampError::NoVerifiedTimestamp(_))
        ),
        "{err:?}"
    );
}

#[test]
fn missing_inclusion_proof_is_a_bundle_error_for_v0_3() {
    let err = expect_err(SignOptions {
        inclusion_proof: false,
        ..SignOptions::default()
    });
    assert!(matches!(err, Error::Bundle(_)), "{err:?}");
}

#[test]
fn keyless_bundle_with_a_key_policy_is_unsupported() {
    let signed = sign(SignOptions::default());
    let err = verifier()
        .verify(
            ARTIFACT,
            &reparse(&signed),
            &PublicKeyVerificationPolicy::new(signed.public_key.clone()),
        )
        .unwrap_err();
    assert!(matches!(err, Error::UnsupportedBundle(_)), "{err:?}");
}

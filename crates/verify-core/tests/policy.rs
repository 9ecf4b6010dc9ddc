//! The signer policy: exact and regexp identity/issuer matching (cosign's
//! unanchored search), GitHub workflow claims, and the bundle kind (keyless
//! vs key-based) against the kind of policy.

mod common;

use common::{identity_policy, key_policy, sign, verifier, ARTIFACT};
use verify_core::identity::{
    GithubWorkflowPolicy, IdentityPolicy, Policy, PolicyError, StringMatcher,
};
use verify_core::{Artifact, VerifyError};
use verify_testkit::{
    GithubWorkflowClaims, KeyKind, SanIdentity, SignOptions, SignedBundle, Signer,
    GITHUB_ACTIONS_ISSUER,
};

/// The SAN of default keyless bundles.
fn workflow_identity() -> String {
    GithubWorkflowClaims::default().workflow_identity()
}

fn keyless() -> SignedBundle {
    sign(SignOptions::default())
}

fn run(signed: &SignedBundle, policy: &Policy) -> Result<(), VerifyError> {
    verifier()
        .verify_bundle(
            signed.to_json().as_bytes(),
            Artifact::Bytes(ARTIFACT),
            policy,
        )
        .map(|_| ())
}

fn regex(flag: &'static str, pattern: &str) -> StringMatcher {
    StringMatcher::regex(flag, pattern).expect("pattern compiles")
}

fn identity_regexp(pattern: &str) -> Policy {
    Policy::Identity(IdentityPolicy::new(
        regex("certificate-identity-regexp", pattern),
        StringMatcher::exact(GITHUB_ACTIONS_ISSUER),
    ))
}

fn issuer_regexp(pattern: &str) -> Policy {
    Policy::Identity(IdentityPolicy::new(
        StringMatcher::exact(workflow_identity()),
        regex("certificate-oidc-issuer-regexp", pattern),
    ))
}

fn with_github(github: GithubWorkflowPolicy) -> Policy {
    let mut policy = IdentityPolicy::new(
        StringMatcher::exact(workflow_identity()),
        StringMatcher::exact(GITHUB_ACTIONS_ISSUER),
    );
    policy.github = github;
    Policy::Identity(policy)
}

#[test]
fn wrong_identity_is_an_identity_mismatch() {
    let signed = keyless();
    let policy = Policy::Identity(IdentityPolicy::new(
        StringMatcher::exact(
            "https://github.com/someone-else/repo/.github/workflows/x.yml@refs/heads/main",
        ),
        StringMatcher::exact(GITHUB_ACTIONS_ISSUER),
    ));
    let err = run(&signed, &policy).unwrap_err();
    match &err {
        VerifyError::Policy(PolicyError::IdentityMismatch { expected, found }) => {
            assert!(expected.contains("someone-else"), "{expected}");
            assert_eq!(found.as_deref(), Some(workflow_identity().as_str()));
        }
        other => panic!("unexpected error {other:?}"),
    }
    assert_eq!(err.code(), "identity-mismatch");
    assert!(err.to_string().contains(&workflow_identity()), "{err}");
}

#[test]
fn wrong_issuer_is_an_issuer_mismatch() {
    let signed = keyless();
    let policy = Policy::Identity(IdentityPolicy::new(
        StringMatcher::exact(workflow_identity()),
        StringMatcher::exact("https://accounts.google.com"),
    ));
    let err = run(&signed, &policy).unwrap_err();
    match &err {
        VerifyError::Policy(PolicyError::IssuerMismatch { expected, found }) => {
            assert_eq!(expected, "https://accounts.google.com");
            assert_eq!(found.as_deref(), Some(GITHUB_ACTIONS_ISSUER));
        }
        other => panic!("unexpected error {other:?}"),
    }
    assert_eq!(err.code(), "issuer-mismatch");
}

#[test]
fn exact_identity_is_not_a_prefix_or_substring_match() {
    let signed = keyless();
    let identity = workflow_identity();
    for near in [&identity[..identity.len() - 1], &format!("{identity}x")] {
        let policy = Policy::Identity(IdentityPolicy::new(
            StringMatcher::exact(near.to_string()),
            StringMatcher::exact(GITHUB_ACTIONS_ISSUER),
        ));
        let err = run(&signed, &policy).unwrap_err();
        assert!(
            matches!(
                err,
                VerifyError::Policy(PolicyError::IdentityMismatch { .. })
            ),
            "{near}: {err:?}"
        );
    }
}

#[test]
fn identity_regexp_is_searched_not_anchored() {
    let signed = keyless();
    // Fragments anywhere in the identity match, as with cosign.
    for fragment in [
        "example-repo",
        r"workflows/release\.yml",
        "@refs/heads/main",
        r"^https://github\.com/example-org/",
        r"^https://github\.com/example-org/example-repo/\.github/workflows/.*$",
    ] {
        run(&signed, &identity_regexp(fragment))
            .unwrap_or_else(|e| panic!("{fragment:?} should match: {e}"));
    }
}

#[test]
fn anchored_identity_regexp_matching_only_a_part_fails() {
    let signed = keyless();
    // Each of these matches the identity when searched without its anchors,
    // but not the whole identity.
    for anchored in [
        r"^https://github\.com/example-org/example-repo/\.github/workflows/release\.yml$",
        r"^example-org/example-repo$",
        r"^github\.com/example-org/example-repo/\.github/workflows/release\.yml@refs/heads/main$",
    ] {
        let unanchored = anchored.trim_start_matches('^').trim_end_matches('$');
        run(&signed, &identity_regexp(unanchored))
            .unwrap_or_else(|e| panic!("{unanchored:?} should match unanchored: {e}"));
        let err = run(&signed, &identity_regexp(anchored)).unwrap_err();
        match &err {
            VerifyError::Policy(PolicyError::IdentityMismatch { expected, found }) => {
                assert_eq!(expected, &format!("/{anchored}/"));
                assert_eq!(found.as_deref(), Some(workflow_identity().as_str()));
            }
            other => panic!("{anchored:?}: unexpected error {other:?}"),
        }
    }
}

#[test]
fn issuer_regexp_is_searched_not_anchored() {
    let signed = keyless();
    for fragment in [
        "githubusercontent",
        r"^https://token\.actions\.githubusercontent\.com$",
        r"token\.actions",
    ] {
        run(&signed, &issuer_regexp(fragment))
            .unwrap_or_else(|e| panic!("{fragment:?} should match: {e}"));
    }
    for anchored in [
        r"^token\.actions\.githubusercontent\.com$",
        r"^https://token\.actions$",
    ] {
        let unanchored = anchored.trim_start_matches('^').trim_end_matches('$');
        run(&signed, &issuer_regexp(unanchored))
            .unwrap_or_else(|e| panic!("{unanchored:?} should match unanchored: {e}"));
        let err = run(&signed, &issuer_regexp(anchored)).unwrap_err();
        match &err {
            VerifyError::Policy(PolicyError::IssuerMismatch { expected, found }) => {
                assert_eq!(expected, &format!("/{anchored}/"));
                assert_eq!(found.as_deref(), Some(GITHUB_ACTIONS_ISSUER));
            }
            other => panic!("{anchored:?}: unexpected error {other:?}"),
        }
    }
}

#[test]
fn invalid_regexp_is_refused_naming_the_flag() {
    let err = StringMatcher::regex("certificate-identity-regexp", "(unclosed").unwrap_err();
    match &err {
        PolicyError::InvalidRegex {
            flag,
            pattern,
            detail,
        } => {
            assert_eq!(*flag, "certificate-identity-regexp");
            assert_eq!(pattern, "(unclosed");
            assert!(!detail.is_empty());
        }
        other => panic!("unexpected error {other:?}"),
    }
    let as_verify_error = VerifyError::from(err);
    assert!(as_verify_error.is_input_error());
    assert_eq!(as_verify_error.code(), "policy-invalid");
}

#[test]
fn matching_github_workflow_claims_verify() {
    let signed = keyless();
    let claims = GithubWorkflowClaims::default();
    run(
        &signed,
        &with_github(GithubWorkflowPolicy {
            trigger: Some("push".into()),
            sha: Some(claims.sha.clone()),
            name: Some("Release".into()),
            repository: Some("example-org/example-repo".into()),
            git_ref: Some("refs/heads/main".into()),
        }),
    )
    .expect("all claims match");
}

#[test]
fn github_workflow_claim_mismatch_names_the_claim() {
    let signed = keyless();
    let claims = GithubWorkflowClaims::default();
    let cases: [(&str, GithubWorkflowPolicy, &str); 5] = [
        (
            "github-workflow-trigger",
            GithubWorkflowPolicy {
                trigger: Some("workflow_dispatch".into()),
                ..Default::default()
            },
            "push",
        ),
        (
            "github-workflow-sha",
            GithubWorkflowPolicy {
                sha: Some("0000000000000000000000000000000000000000".into()),
                ..Default::default()
            },
            &claims.sha,
        ),
        (
            "github-workflow-name",
            GithubWorkflowPolicy {
                name: Some("Nightly".into()),
                ..Default::default()
            },
            "Release",
        ),
        (
            "github-workflow-repository",
            GithubWorkflowPolicy {
                repository: Some("example-org/other-repo".into()),
                ..Default::default()
            },
            "example-org/example-repo",
        ),
        (
            "github-workflow-ref",
            GithubWorkflowPolicy {
                git_ref: Some("refs/tags/v1.0.0".into()),
                ..Default::default()
            },
            "refs/heads/main",
        ),
    ];
    for (name, github, actual) in cases {
        let wanted = [
            &github.trigger,
            &github.sha,
            &github.name,
            &github.repository,
            &github.git_ref,
        ]
        .into_iter()
        .flatten()
        .next()
        .cloned()
        .expect("one claim set");
        let err = run(&signed, &with_github(github)).unwrap_err();
        match &err {
            VerifyError::Policy(PolicyError::ClaimMismatch {
                claim,
                expected,
                found,
            }) => {
                assert_eq!(*claim, name);
                assert_eq!(expected, &wanted, "{name}");
                assert_eq!(found.as_deref(), Some(actual), "{name}");
            }
            other => panic!("{name}: unexpected error {other:?}"),
        }
        assert_eq!(err.code(), "claim-mismatch");
        let message = err.to_string();
        assert!(
            message.contains(name) && message.contains(&wanted) && message.contains(actual),
            "{message}"
        );
    }
}

#[test]
fn workflow_claim_required_of_a_certificate_without_it_is_a_mismatch() {
    let signed = sign(SignOptions {
        identity: Some(SanIdentity::Email("alice@example.com".into())),
        github: None,
        ..SignOptions::default()
    });
    let mut policy = IdentityPolicy::new(
        StringMatcher::exact("alice@example.com"),
        StringMatcher::exact(GITHUB_ACTIONS_ISSUER),
    );
    policy.github.repository = Some("example-org/example-repo".into());
    let err = run(&signed, &Policy::Identity(policy)).unwrap_err();
    assert!(
        matches!(
            &err,
            VerifyError::Policy(PolicyError::ClaimMismatch {
                claim: "github-workflow-repository",
                found: None,
                ..
            })
        ),
        "{err:?}"
    );
}

#[test]
fn key_based_bundle_with_an_identity_policy_is_the_wrong_kind() {
    let signed = sign(SignOptions {
        signer: Signer::Key(KeyKind::EcdsaP256),
        ..SignOptions::default()
    });
    let policy = Policy::Identity(IdentityPolicy::new(
        StringMatcher::exact(workflow_identity()),
        StringMatcher::exact(GITHUB_ACTIONS_ISSUER),
    ));
    let err = run(&signed, &policy).unwrap_err();
    match &err {
        VerifyError::Policy(PolicyError::WrongBundleKind { expected, found }) => {
            assert!(expected.contains("keyless"), "{expected}");
            assert!(found.contains("key-based"), "{found}");
        }
        other => panic!("unexpected error {other:?}"),
    }
    assert_eq!(err.code(), "bundle-kind-mismatch");
}

#[test]
fn keyless_bundle_with_a_key_policy_is_the_wrong_kind() {
    let keyless = keyless();
    // Even the leaf's own key does not make a keyless bundle key-based.
    let other = sign(SignOptions {
        signer: Signer::Key(KeyKind::EcdsaP256),
        ..SignOptions::default()
    });
    for policy in [key_policy(&keyless), key_policy(&other)] {
        let err = run(&keyless, &policy).unwrap_err();
        match &err {
            VerifyError::Policy(PolicyError::WrongBundleKind { expected, found }) => {
                assert!(expected.contains("key-based"), "{expected}");
                assert!(found.contains("keyless"), "{found}");
            }
            other => panic!("unexpected error {other:?}"),
        }
    }
}

#[test]
fn key_based_bundle_with_another_key_is_an_invalid_signature() {
    let signed = sign(SignOptions {
        signer: Signer::Key(KeyKind::EcdsaP256),
        ..SignOptions::default()
    });
    let other = sign(SignOptions {
        signer: Signer::Key(KeyKind::EcdsaP256),
        ..SignOptions::default()
    });
    let err = run(&signed, &key_policy(&other)).unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::Signature { .. }
                | VerifyError::TransparencyLog(verify_core::error::TlogError::EntryMismatch { .. })
        ),
        "{err:?}"
    );
}

#[test]
fn unusable_public_keys_are_refused() {
    for pem in [
        "",
        "not a key",
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
    ] {
        let err = verify_core::KeyPolicy::from_pem(pem).unwrap_err();
        assert!(
            matches!(err, PolicyError::InvalidKey { .. }),
            "{pem:?}: {err:?}"
        );
    }
    // The identity policy of a keyless bundle still verifies it.
    let signed = keyless();
    run(&signed, &identity_policy(&signed)).expect("verifies");
}

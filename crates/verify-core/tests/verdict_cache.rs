//! The verdict cache (`Verifier::with_cache`): a repeated bundle gets the
//! remembered verdict, failures are never remembered, and the cache key
//! covers the artifact and the whole policy, so a verdict is never reused for
//! another signer or another artifact.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{identity_policy, sign, ARTIFACT};
use jiff::{SignedDuration, Timestamp};
use verify_core::cache::VerdictCache;
use verify_core::error::TlogError;
use verify_core::identity::{IdentityPolicy, PolicyError, StringMatcher};
use verify_core::{Artifact, ArtifactDigest, Policy, Verifier, VerifyError};
use verify_testkit::{SignOptions, GITHUB_ACTIONS_ISSUER};

fn cached_verifier() -> Verifier {
    Verifier::new(common::trust_root())
        .expect("verifier builds")
        .with_cache(64)
}

#[test]
fn a_repeated_bundle_gets_the_cached_verdict() {
    let verifier = cached_verifier();
    let signed = sign(SignOptions::default());
    let json = signed.to_json();
    let policy = identity_policy(&signed);
    let first = verifier
        .verify_bundle(json.as_bytes(), Artifact::Bytes(ARTIFACT), &policy)
        .expect("verifies");
    let second = verifier
        .verify_bundle(json.as_bytes(), Artifact::Bytes(ARTIFACT), &policy)
        .expect("verifies again");
    assert!(
        Arc::ptr_eq(&first, &second),
        "the second verdict is the cached one"
    );
    // The artifact given as its digest is the same cache entry.
    let third = verifier
        .verify_bundle(
            json.as_bytes(),
            Artifact::Digest(ArtifactDigest::of(ARTIFACT)),
            &policy,
        )
        .expect("verifies by digest");
    assert!(Arc::ptr_eq(&first, &third));

    // Without a cache every call verifies anew: equal, but not the same.
    let uncached = common::verifier();
    let a = uncached
        .verify_bundle(json.as_bytes(), Artifact::Bytes(ARTIFACT), &policy)
        .expect("verifies");
    let b = uncached
        .verify_bundle(json.as_bytes(), Artifact::Bytes(ARTIFACT), &policy)
        .expect("verifies");
    assert_eq!(a, b);
    assert!(!Arc::ptr_eq(&a, &b));
}

#[test]
fn a_streamed_artifact_is_never_served_from_the_cache() {
    // A reader's digest is only known once read, so it cannot key a lookup.
    let verifier = cached_verifier();
    let signed = sign(SignOptions::default());
    let json = signed.to_json();
    let policy = identity_policy(&signed);
    let mut first_reader = ARTIFACT;
    let first = verifier
        .verify_bundle(
            json.as_bytes(),
            Artifact::Reader(&mut first_reader),
            &policy,
        )
        .expect("verifies");
    let mut second_reader = ARTIFACT;
    let second = verifier
        .verify_bundle(
            json.as_bytes(),
            Artifact::Reader(&mut second_reader),
            &policy,
        )
        .expect("verifies");
    assert_eq!(first, second);
    assert!(!Arc::ptr_eq(&first, &second));
}

#[test]
fn another_policy_does_not_hit_the_cached_verdict() {
    let verifier = cached_verifier();
    let signed = sign(SignOptions::default());
    let json = signed.to_json();
    verifier
        .verify_bundle(
            json.as_bytes(),
            Artifact::Bytes(ARTIFACT),
            &identity_policy(&signed),
        )
        .expect("verifies with the signer's identity");

    // The same bundle and artifact, another identity: must fail.
    let someone_else = Policy::Identity(IdentityPolicy::new(
        StringMatcher::exact(
            "https://github.com/attacker/repo/.github/workflows/x.yml@refs/heads/main",
        ),
        StringMatcher::exact(GITHUB_ACTIONS_ISSUER),
    ));
    let err = verifier
        .verify_bundle(json.as_bytes(), Artifact::Bytes(ARTIFACT), &someone_else)
        .unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::Policy(PolicyError::IdentityMismatch { .. })
        ),
        "{err:?}"
    );

    // Another issuer, or an extra workflow claim: each is another policy.
    let identity = signed
        .identity
        .clone()
        .expect("keyless")
        .as_str()
        .to_string();
    let other_issuer = Policy::Identity(IdentityPolicy::new(
        StringMatcher::exact(identity.clone()),
        StringMatcher::exact("https://accounts.google.com"),
    ));
    let err = verifier
        .verify_bundle(json.as_bytes(), Artifact::Bytes(ARTIFACT), &other_issuer)
        .unwrap_err();
    assert!(
        matches!(err, VerifyError::Policy(PolicyError::IssuerMismatch { .. })),
        "{err:?}"
    );
    let mut with_claim = IdentityPolicy::new(
        StringMatcher::exact(identity),
        StringMatcher::exact(GITHUB_ACTIONS_ISSUER),
    );
    with_claim.github.git_ref = Some("refs/tags/v9".into());
    let err = verifier
        .verify_bundle(
            json.as_bytes(),
            Artifact::Bytes(ARTIFACT),
            &Policy::Identity(with_claim),
        )
        .unwrap_err();
    assert!(
        matches!(err, VerifyError::Policy(PolicyError::ClaimMismatch { .. })),
        "{err:?}"
    );
    // And the signer's own policy still hits.
    verifier
        .verify_bundle(
            json.as_bytes(),
            Artifact::Bytes(ARTIFACT),
            &identity_policy(&signed),
        )
        .expect("still verifies");
}

#[test]
fn another_artifact_does_not_hit_the_cached_verdict() {
    let verifier = cached_verifier();
    let signed = sign(SignOptions::default());
    let json = signed.to_json();
    let policy = identity_policy(&signed);
    verifier
        .verify_bundle(json.as_bytes(), Artifact::Bytes(ARTIFACT), &policy)
        .expect("verifies");
    let err = verifier
        .verify_bundle(json.as_bytes(), Artifact::Bytes(b"other bytes"), &policy)
        .unwrap_err();
    assert_eq!(err.code(), "artifact-mismatch", "{err}");
}

#[test]
fn failures_are_not_cached() {
    // A bundle whose log entry is integrated two seconds from now fails now
    // ("integrated time in the future") and verifies once that time has
    // passed. Had the failure been cached, the retry would fail too.
    let verifier = cached_verifier();
    let now = Timestamp::now();
    let signing_time = Timestamp::from_second(now.as_second() + 2).expect("a timestamp");
    let signed = sign(SignOptions {
        signing_time: Some(signing_time),
        ..SignOptions::default()
    });
    let integrated = signed.log_entry.as_ref().expect("logged").integrated_time;
    let json = signed.to_json();
    let policy = identity_policy(&signed);

    let err = verifier
        .verify_bundle(json.as_bytes(), Artifact::Bytes(ARTIFACT), &policy)
        .expect_err("an entry from the future is refused");
    match &err {
        VerifyError::TransparencyLog(TlogError::IntegratedTime { detail }) => {
            assert!(detail.contains("future"), "{detail}")
        }
        other => panic!("unexpected error {other:?}"),
    }

    // Wait (bounded) until the integrated time is in the past.
    let deadline = integrated + SignedDuration::from_secs(10);
    while Timestamp::now() <= integrated + SignedDuration::from_secs(1) {
        assert!(Timestamp::now() < deadline, "clock did not advance");
        std::thread::sleep(Duration::from_millis(200));
    }
    let verified = verifier
        .verify_bundle(json.as_bytes(), Artifact::Bytes(ARTIFACT), &policy)
        .expect("the same bundle verifies once its time has come");
    let again = verifier
        .verify_bundle(json.as_bytes(), Artifact::Bytes(ARTIFACT), &policy)
        .expect("and is now cached");
    assert!(Arc::ptr_eq(&verified, &again));
}

#[test]
fn the_cache_is_bounded_and_evicts_oldest_first() {
    let signed = sign(SignOptions::default());
    let verdict = Arc::new(
        common::verify(&signed, ARTIFACT)
            .expect("verifies")
            .as_ref()
            .clone(),
    );
    // 16 shards, one entry each: keys with the same first byte share one.
    let cache = VerdictCache::new(16);
    let key = |first: u8, n: u8| {
        let mut k = [n; 32];
        k[0] = first;
        k
    };
    cache.insert(key(0, 1), Arc::clone(&verdict));
    cache.insert(key(1, 1), Arc::clone(&verdict));
    assert_eq!(cache.len(), 2);
    assert!(cache.get(&key(0, 1)).is_some());
    cache.insert(key(16, 2), Arc::clone(&verdict)); // shard 0 again
    assert!(
        cache.get(&key(0, 1)).is_none(),
        "the older entry is evicted"
    );
    assert!(cache.get(&key(16, 2)).is_some());
    assert!(cache.get(&key(1, 1)).is_some(), "other shards keep theirs");
    assert_eq!(cache.len(), 2);

    // Never more than the capacity (rounded up to one per shard).
    let cache = VerdictCache::new(32);
    for first in 0..=255u8 {
        for n in 0..4u8 {
            cache.insert(key(first, n), Arc::clone(&verdict));
        }
    }
    assert_eq!(cache.len(), 32);
    assert!(!cache.is_empty());
}

//! Shared set-up for verify-core's integration tests: one test Sigstore per
//! test binary, a verifier over its trusted root, and the policies a relying
//! party would use for a generated bundle.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

pub mod memory;

use std::sync::{Arc, OnceLock};

use verify_core::identity::{IdentityPolicy, KeyPolicy, StringMatcher};
use verify_core::{Artifact, Limits, Policy, TrustRoot, Verified, Verifier, VerifyError};
use verify_testkit::{SignOptions, SignedBundle, TestSigstore};

/// The artifact every bundle signs unless a test says otherwise.
pub const ARTIFACT: &[u8] = b"an artifact to verify\n";

/// One test Sigstore per test binary.
pub fn sigstore() -> &'static TestSigstore {
    static SIGSTORE: OnceLock<TestSigstore> = OnceLock::new();
    SIGSTORE.get_or_init(TestSigstore::new)
}

/// The test Sigstore's trusted root, loaded and checked by verify-core.
pub fn trust_root() -> TrustRoot {
    TrustRoot::from_json(
        sigstore().trusted_root_json().as_bytes(),
        &Limits::default(),
    )
    .expect("the test Sigstore's trusted root loads")
}

/// A verifier over [`trust_root`], without a cache.
pub fn verifier() -> Verifier {
    Verifier::new(trust_root()).expect("verifier builds")
}

/// Sign [`ARTIFACT`] as `options` describe.
pub fn sign(options: SignOptions) -> SignedBundle {
    sigstore()
        .sign(ARTIFACT, &options)
        .unwrap_or_else(|e| panic!("signing failed: {e}"))
}

/// Exact identity and issuer policy for what `signed` was issued to.
pub fn identity_policy(signed: &SignedBundle) -> Policy {
    let identity = signed.identity.as_ref().expect("a keyless bundle");
    let issuer = signed.issuer.as_ref().expect("a keyless bundle");
    Policy::Identity(IdentityPolicy::new(
        StringMatcher::exact(identity.as_str()),
        StringMatcher::exact(issuer.as_str()),
    ))
}

/// Key policy for the key `signed` was made with.
pub fn key_policy(signed: &SignedBundle) -> Policy {
    Policy::Key(KeyPolicy::from_pem(&signed.public_key_pem).expect("PEM public key parses"))
}

/// The policy a relying party would use for `signed`.
pub fn policy_for(signed: &SignedBundle) -> Policy {
    if signed.identity.is_some() {
        identity_policy(signed)
    } else {
        key_policy(signed)
    }
}

/// Verify `signed` (through its JSON, as read from a file) against `artifact`
/// with [`policy_for`].
pub fn verify(signed: &SignedBundle, artifact: &[u8]) -> Result<Arc<Verified>, VerifyError> {
    verifier().verify_bundle(
        signed.to_json().as_bytes(),
        Artifact::Bytes(artifact),
        &policy_for(signed),
    )
}

/// Sign [`ARTIFACT`] with `options`, verify it, and return the error.
pub fn expect_err(options: SignOptions) -> VerifyError {
    let signed = sign(options);
    match verify(&signed, ARTIFACT) {
        Ok(v) => panic!("verification unexpectedly succeeded: {v:?}"),
        Err(e) => e,
    }
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256_of(bytes: &[u8]) -> String {
    verify_core::ArtifactDigest::of(bytes).to_string()
}

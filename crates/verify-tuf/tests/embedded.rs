//! The embedded TUF data and the built-in trust root cannot drift apart.

use sha2::Digest;

#[test]
fn builtin_trust_root_is_the_recorded_target() {
    let builtin = verify_core::TrustRoot::production_json();
    assert_eq!(builtin.len() as u64, verify_tuf::BUILTIN_TARGET.length);
    assert_eq!(
        hex::encode(sha2::Sha256::digest(builtin)),
        verify_tuf::BUILTIN_TARGET.sha256
    );
    // And it is the root `TrustRoot::production` actually uses.
    let parsed = verify_core::TrustRoot::production().expect("built-in root");
    assert_eq!(parsed.fingerprint_hex(), verify_tuf::BUILTIN_TARGET.sha256);
}

#[test]
fn embedded_tuf_root_is_a_threshold_signed_public_good_root() {
    let set = sigstore_tuf::TrustedMetadataSet::from_root(verify_tuf::PUBLIC_GOOD_ROOT)
        .expect("the embedded root verifies under its own keys");
    let root = set.root();
    assert_eq!(root.version, 16);
    assert!(root.consistent_snapshot);
    assert_eq!(
        hex::encode(sha2::Sha256::digest(verify_tuf::PUBLIC_GOOD_ROOT)),
        "27aea7e372aa7864065174f0661784fcf8b0e28b1dbfebeada31a0f1fb19167f"
    );
    // A root with a signature removed is below threshold and refused.
    let mut value: serde_json::Value =
        serde_json::from_slice(verify_tuf::PUBLIC_GOOD_ROOT).expect("json");
    let sigs = value["signatures"].as_array_mut().expect("signatures");
    sigs.truncate(2);
    let weakened = serde_json::to_vec(&value).expect("json");
    assert!(sigstore_tuf::TrustedMetadataSet::from_root(&weakened).is_err());
}

#[test]
fn the_default_updater_starts_from_the_builtin_root() {
    let updater = verify_tuf::TrustRootUpdater::new(verify_tuf::UpdaterOptions::public_good())
        .expect("public-good updater");
    let state = updater.current();
    assert_eq!(state.source, verify_tuf::TrustRootSource::BuiltIn);
    assert_eq!(
        state.root.fingerprint_hex(),
        verify_tuf::BUILTIN_TARGET.sha256
    );
    assert!(state.verified_at.is_none());
}

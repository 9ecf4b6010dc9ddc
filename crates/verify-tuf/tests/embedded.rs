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

/// The embedded targets metadata is Sigstore's own, threshold-signed by the
/// targets keys of the embedded root, and the `trusted_root.json` it pins is
/// the built-in trust root, byte for byte (length and SHA-256).
#[test]
fn embedded_targets_metadata_is_signed_and_pins_the_builtin_root() {
    use sigstore_tuf::metadata::{Metadata, Root, Targets};
    let root = Metadata::<Root>::from_slice(verify_tuf::PUBLIC_GOOD_ROOT).expect("root");
    let root = root.signed();
    let role = root.role("targets").expect("targets role");
    let targets =
        Metadata::<Targets>::from_slice(verify_tuf::PUBLIC_GOOD_TARGETS).expect("targets metadata");
    targets
        .verify_threshold(&root.keys, role, "targets")
        .expect("signed by a threshold of the root's targets keys");
    assert_eq!(targets.signed().version, 14);

    let pinned = targets
        .signed()
        .target(verify_tuf::TRUSTED_ROOT_TARGET)
        .expect("the targets metadata names trusted_root.json");
    let builtin = verify_core::TrustRoot::production_json();
    assert_eq!(pinned.length, builtin.len() as u64);
    assert_eq!(pinned.length, verify_tuf::BUILTIN_TARGET.length);
    let sha256 = hex::encode(sha2::Sha256::digest(builtin));
    assert_eq!(pinned.hashes["sha256"], sha256);
    assert_eq!(pinned.hashes["sha256"], verify_tuf::BUILTIN_TARGET.sha256);

    // The check is real: a pin edited in the signed part no longer verifies.
    let text = std::str::from_utf8(verify_tuf::PUBLIC_GOOD_TARGETS).expect("utf-8");
    let edited = text.replacen("\"length\": 6787", "\"length\": 6788", 1);
    assert_ne!(edited, text, "the pin is where the test expects it");
    let edited = Metadata::<Targets>::from_slice(edited.as_bytes()).expect("still parses");
    assert!(edited
        .verify_threshold(&root.keys, role, "targets")
        .is_err());
}

//! Loading a trusted root: what is refused at load, with which error, before
//! any bundle is verified against it; and the certificate chains' signatures,
//! refused with the same typed error at the first verification that uses
//! them.

mod common;

use serde_json::Value;
use verify_core::error::CertificateError;
use verify_core::{Limits, TrustRoot, TrustRootError, Verifier, VerifyError};
use verify_testkit::TestSigstore;

/// The base64 `rawBytes` of certificate `index` of `chain` (a JSON pointer
/// to a `certChain`) in another test Sigstore's root.
fn other_cert(other: &TestSigstore, chain: &str, index: usize) -> Value {
    other.trusted_root_value()[chain][0]["certChain"]["certificates"][index]["rawBytes"].clone()
}

fn load(value: &Value) -> Result<TrustRoot, TrustRootError> {
    TrustRoot::from_json(
        &serde_json::to_vec(value).expect("JSON"),
        &Limits::default(),
    )
}

fn good() -> Value {
    common::sigstore().trusted_root_value()
}

#[test]
fn the_test_sigstore_root_loads_and_verifies_its_bundles() {
    let json = common::sigstore().trusted_root_json();
    let root = TrustRoot::from_json(json.as_bytes(), &Limits::default()).expect("loads");
    assert_eq!(root.fingerprint_hex().len(), 64);
    assert_eq!(root.as_sigstore().certificate_authorities.len(), 1);
    assert_eq!(root.as_sigstore().timestamp_authorities.len(), 1);
    let signed = common::sign(Default::default());
    common::verify(&signed, common::ARTIFACT).expect("verifies");
}

/// Verify `signed` against `root` (a document another test edited) and
/// return the error, which must be the trust root's.
fn chain_error_at_use(root: &Value, signed: &verify_testkit::SignedBundle) -> TrustRootError {
    let root = load(root).expect("a chain's signatures are not checked at load");
    let verifier = Verifier::new(root.clone()).expect("builds");
    let first = verifier.verify_bundle(
        signed.to_json().as_bytes(),
        verify_core::Artifact::Bytes(common::ARTIFACT),
        &common::policy_for(signed),
    );
    // Remembered: a second use reports the same typed error.
    let again = verifier.verify_bundle(
        signed.to_json().as_bytes(),
        verify_core::Artifact::Bytes(common::ARTIFACT),
        &common::policy_for(signed),
    );
    match (&first, &again) {
        (
            Err(VerifyError::TrustRoot(a @ TrustRootError::Chain { .. })),
            Err(VerifyError::TrustRoot(b @ TrustRootError::Chain { .. })),
        ) => assert_eq!(a.to_string(), b.to_string()),
        other => panic!("unexpected results {other:?}"),
    }
    assert_eq!(first.as_ref().unwrap_err().code(), "trusted-root-invalid");
    // Checking every chain up front gives the same error.
    let all = root.check_all_chains().expect_err("the chain is broken");
    assert_eq!(all.to_string(), first.as_ref().unwrap_err().to_string());
    match first {
        Err(VerifyError::TrustRoot(e)) => e,
        _ => unreachable!(),
    }
}

#[test]
fn a_ca_chain_whose_intermediate_is_not_signed_by_its_root_is_refused_at_first_use() {
    // Another test Sigstore has a root of the same name but another key.
    let other = TestSigstore::new();
    let mut root = good();
    root["certificateAuthorities"][0]["certChain"]["certificates"][1]["rawBytes"] =
        other_cert(&other, "certificateAuthorities", 1);
    let signed = common::sign(Default::default());
    match chain_error_at_use(&root, &signed) {
        TrustRootError::Chain {
            what,
            index,
            subject,
            issuer,
            detail,
        } => {
            assert_eq!(what, "certificateAuthorities[0]");
            assert_eq!(index, 0);
            assert!(subject.contains("sigstore-test"), "{subject}");
            assert!(issuer.contains("sigstore-test"), "{issuer}");
            assert!(detail.contains("does not verify"), "{detail}");
        }
        other => panic!("unexpected error {other:?}"),
    }
}

/// A chain is the reason given only for a failure it can explain (the leaf
/// does not chain): a leaf that expired before it signed is refused for
/// that, and the broken chain is still refused at the next use it explains.
#[test]
fn a_broken_ca_chain_is_not_reported_for_a_failure_it_does_not_explain() {
    let other = TestSigstore::new();
    let mut root = good();
    root["certificateAuthorities"][0]["certChain"]["certificates"][1]["rawBytes"] =
        other_cert(&other, "certificateAuthorities", 1);
    let root = load(&root).expect("a chain's signatures are not checked at load");
    let verifier = Verifier::new(root).expect("builds");
    let verify = |signed: &verify_testkit::SignedBundle| {
        verifier.verify_bundle(
            signed.to_json().as_bytes(),
            verify_core::Artifact::Bytes(common::ARTIFACT),
            &common::policy_for(signed),
        )
    };
    let expired = common::sign(verify_testkit::SignOptions {
        expired_certificate: true,
        ..Default::default()
    });
    match verify(&expired) {
        Err(VerifyError::Certificate(CertificateError::Expired { .. })) => {}
        other => panic!("expected the expiry, got {other:?}"),
    }
    match verify(&common::sign(Default::default())) {
        Err(VerifyError::TrustRoot(TrustRootError::Chain { what, .. })) => {
            assert_eq!(what, "certificateAuthorities[0]")
        }
        other => panic!("expected the broken chain, got {other:?}"),
    }
}

#[test]
fn a_tsa_chain_whose_signing_certificate_is_not_signed_by_its_root_is_refused_at_first_use() {
    let other = TestSigstore::new();
    let mut root = good();
    root["timestampAuthorities"][0]["certChain"]["certificates"][1]["rawBytes"] =
        other_cert(&other, "timestampAuthorities", 1);
    let signed = common::sign(verify_testkit::SignOptions {
        rfc3161_timestamp: true,
        ..Default::default()
    });
    match chain_error_at_use(&root, &signed) {
        TrustRootError::Chain { what, index, .. } => {
            assert_eq!(what, "timestampAuthorities[0]");
            assert_eq!(index, 0);
        }
        other => panic!("unexpected error {other:?}"),
    }
}

#[test]
fn a_broken_chain_that_a_verification_does_not_use_is_not_held_against_it() {
    // The TSA chain is broken, but a bundle without a timestamp never uses
    // it: it verifies, and checking every chain still finds the break.
    let other = TestSigstore::new();
    let mut root = good();
    root["timestampAuthorities"][0]["certChain"]["certificates"][1]["rawBytes"] =
        other_cert(&other, "timestampAuthorities", 1);
    let root = load(&root).expect("loads");
    let signed = common::sign(Default::default());
    Verifier::new(root.clone())
        .expect("builds")
        .verify_bundle(
            signed.to_json().as_bytes(),
            verify_core::Artifact::Bytes(common::ARTIFACT),
            &common::policy_for(&signed),
        )
        .expect("the CA chain it uses holds");
    assert!(matches!(
        root.check_all_chains(),
        Err(TrustRootError::Chain { what, .. }) if what == "timestampAuthorities[0]"
    ));
}

#[test]
fn a_chain_in_the_wrong_order_is_refused() {
    let mut root = good();
    let certs = &mut root["certificateAuthorities"][0]["certChain"]["certificates"];
    let array = certs.as_array_mut().expect("array");
    array.swap(0, 1);
    match load(&root) {
        Err(TrustRootError::Chain { what, detail, .. }) => {
            assert_eq!(what, "certificateAuthorities[0]");
            assert!(detail.contains("issuer"), "{detail}");
        }
        other => panic!("unexpected result {other:?}"),
    }
}

#[test]
fn a_certificate_that_does_not_parse_is_refused() {
    let mut root = good();
    root["certificateAuthorities"][0]["certChain"]["certificates"][0]["rawBytes"] =
        "bm90IGEgY2VydGlmaWNhdGU=".into(); // "not a certificate"
    match load(&root) {
        Err(TrustRootError::Chain { index, detail, .. }) => {
            assert_eq!(index, 0);
            assert!(detail.contains("does not parse"), "{detail}");
        }
        other => panic!("unexpected result {other:?}"),
    }
}

#[test]
fn an_empty_chain_is_unusable() {
    let mut root = good();
    root["certificateAuthorities"][0]["certChain"]["certificates"] = Value::Array(vec![]);
    match load(&root) {
        Err(TrustRootError::Unusable { detail }) => {
            assert!(detail.contains("certificateAuthorities[0]"), "{detail}")
        }
        other => panic!("unexpected result {other:?}"),
    }
}

#[test]
fn a_valid_for_window_ending_before_its_start_is_refused() {
    let places = [
        ("tlogs[0]", "/tlogs/0/publicKey/validFor"),
        ("ctlogs[0]", "/ctlogs/0/publicKey/validFor"),
        (
            "certificateAuthorities[0]",
            "/certificateAuthorities/0/validFor",
        ),
        (
            "timestampAuthorities[0]",
            "/timestampAuthorities/0/validFor",
        ),
    ];
    for (name, pointer) in places {
        let mut root = good();
        *root.pointer_mut(pointer).expect("the window exists") = serde_json::json!({
            "start": "2024-01-01T00:00:00Z",
            "end": "2023-01-01T00:00:00Z",
        });
        match load(&root) {
            Err(TrustRootError::Validity { what, detail }) => {
                assert_eq!(what, name);
                assert!(detail.contains("2023-01-01"), "{detail}");
                assert!(detail.contains("2024-01-01"), "{detail}");
            }
            other => panic!("{name}: unexpected result {other:?}"),
        }
    }
}

#[test]
fn a_valid_for_window_without_a_start_is_refused() {
    for with_end in [false, true] {
        let mut root = good();
        root["tlogs"][0]["publicKey"]["validFor"] = if with_end {
            serde_json::json!({"end": "2099-01-01T00:00:00Z"})
        } else {
            serde_json::json!({})
        };
        match load(&root) {
            Err(TrustRootError::Malformed { detail }) => {
                assert!(detail.contains("start"), "{detail}")
            }
            other => panic!("end={with_end}: unexpected result {other:?}"),
        }
    }
}

#[test]
fn a_wrong_media_type_is_refused() {
    for media_type in [
        "application/vnd.dev.sigstore.bundle.v0.3+json",
        "application/json",
        "",
    ] {
        let mut root = good();
        root["mediaType"] = media_type.into();
        match load(&root) {
            Err(TrustRootError::MediaType { expected, found }) => {
                assert_eq!(found, media_type);
                assert!(expected.contains("trustedroot"), "{expected}");
            }
            other => panic!("{media_type:?}: unexpected result {other:?}"),
        }
    }
}

#[test]
fn an_unusable_log_key_is_refused() {
    // base64 of nothing, and of "junk".
    for (raw, expect) in [("", "empty key"), ("anVuaw==", "neither")] {
        let mut root = good();
        root["ctlogs"][0]["publicKey"]["rawBytes"] = raw.into();
        match load(&root) {
            Err(TrustRootError::Key { what, detail }) => {
                assert_eq!(what, "ctlogs[0]");
                assert!(detail.contains(expect), "{detail}");
            }
            other => panic!("{expect}: unexpected result {other:?}"),
        }
    }
}

#[test]
fn an_oversized_trusted_root_is_refused_unparsed() {
    let limit = Limits::default().max_trust_root_bytes;
    let mut bytes = common::sigstore().trusted_root_json().into_bytes();
    bytes.truncate(100);
    bytes.resize(limit + 1, b'\xff');
    match TrustRoot::from_json(&bytes, &Limits::default()) {
        Err(TrustRootError::TooLarge { limit: l, found }) => {
            assert_eq!(l, limit);
            assert_eq!(found, limit + 1);
        }
        other => panic!("unexpected result {other:?}"),
    }

    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("trust_root");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(format!("huge-{}.json", std::process::id()));
    std::fs::write(&path, &bytes).expect("write");
    let result = TrustRoot::from_file(&path, &Limits::default());
    std::fs::remove_file(&path).expect("clean up");
    assert!(
        matches!(result, Err(TrustRootError::TooLarge { found, .. }) if found == limit + 1),
        "{result:?}"
    );

    let missing = TrustRoot::from_file(&dir.join("no-such-root.json"), &Limits::default());
    assert!(
        matches!(missing, Err(TrustRootError::Read { .. })),
        "{missing:?}"
    );
}

#[test]
fn malformed_trusted_roots_are_refused() {
    for (what, bytes) in [
        ("empty", b"".to_vec()),
        ("not JSON", b"trusted root".to_vec()),
        ("truncated", {
            let json = common::sigstore().trusted_root_json();
            json.as_bytes()[..json.len() / 2].to_vec()
        }),
        ("invalid UTF-8", b"{\"mediaType\":\"\xff\"}".to_vec()),
        ("an array", b"[]".to_vec()),
    ] {
        match TrustRoot::from_json(&bytes, &Limits::default()) {
            Err(TrustRootError::Malformed { detail }) => assert!(!detail.is_empty()),
            other => panic!("{what}: unexpected result {other:?}"),
        }
    }
}

#[test]
fn every_truncation_of_the_trusted_root_is_refused_without_panic() {
    let json = common::sigstore().trusted_root_json();
    let bytes = json.as_bytes();
    // The document ends with "}\n": every prefix shorter than the closing
    // brace is incomplete JSON.
    let body = bytes.len() - 1;
    for len in 0..body {
        match TrustRoot::from_json(&bytes[..len], &Limits::default()) {
            Err(TrustRootError::Malformed { .. }) => {}
            other => panic!("prefix of {len} bytes: unexpected result {other:?}"),
        }
    }
    TrustRoot::from_json(&bytes[..body], &Limits::default()).expect("the whole document loads");
}

#[test]
fn bundles_from_another_sigstore_do_not_verify() {
    let other = TestSigstore::new();
    let signed = other
        .sign(common::ARTIFACT, &Default::default())
        .expect("signs");
    let err = common::verify(&signed, common::ARTIFACT).unwrap_err();
    // The first foreign thing met is the log key behind the SET.
    match &err {
        VerifyError::TransparencyLog(verify_core::error::TlogError::InclusionPromise {
            detail,
        }) => {
            assert!(detail.contains("No log key"), "{detail}")
        }
        other => panic!("unexpected error {other:?}"),
    }
    // And the other root verifies them.
    let root = TrustRoot::from_json(other.trusted_root_json().as_bytes(), &Limits::default())
        .expect("loads");
    Verifier::new(root)
        .expect("builds")
        .verify_bundle(
            signed.to_json().as_bytes(),
            verify_core::Artifact::Bytes(common::ARTIFACT),
            &common::policy_for(&signed),
        )
        .expect("verifies against its own root");
}

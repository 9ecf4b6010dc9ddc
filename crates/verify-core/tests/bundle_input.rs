//! Untrusted bundle bytes: the size limit is enforced before parsing, and
//! every malformed input (truncations, wrong types, unknown media types,
//! invalid UTF-8) gets a typed error, never a panic.

mod common;

use common::{policy_for, sign, verifier, ARTIFACT};
use verify_core::bundle::{self, BundleError};
use verify_core::{Artifact, Limits, Verifier, VerifyError};
use verify_testkit::{BundleVersion, Content, KeyKind, SignOptions, Signer};

const FIFTY_MB: usize = 50 * 1000 * 1000;

/// A valid bundle's first half followed by garbage, `len` bytes in all: a
/// parser would fail on the garbage, so a `TooLarge` proves it never ran.
fn oversized(len: usize) -> Vec<u8> {
    let json = sign(SignOptions::default()).to_json();
    let mut bytes = json.as_bytes()[..json.len() / 2].to_vec();
    bytes.resize(len, b'\xff');
    bytes
}

#[test]
fn a_50_mb_bundle_is_refused_before_it_is_parsed() {
    let bytes = oversized(FIFTY_MB);
    let limit = Limits::default().max_bundle_bytes;
    let signed = sign(SignOptions::default());
    let err = verifier()
        .verify_bundle(&bytes, Artifact::Bytes(ARTIFACT), &policy_for(&signed))
        .unwrap_err();
    match &err {
        VerifyError::Bundle(BundleError::TooLarge { limit: l, found }) => {
            assert_eq!(*l, limit);
            assert_eq!(*found, FIFTY_MB);
        }
        other => panic!("unexpected error {other:?}"),
    }
    assert_eq!(err.code(), "bundle-too-large");
    assert!(err.to_string().contains(&limit.to_string()), "{err}");

    // bundle::parse enforces the same bound on its own.
    assert!(matches!(
        bundle::parse(&bytes, limit),
        Err(BundleError::TooLarge {
            found: FIFTY_MB,
            ..
        })
    ));

    // With a limit above its size the same bytes reach the parser, which
    // fails differently: the refusal above happened before parsing.
    let roomy = Verifier::new(common::trust_root())
        .expect("verifier builds")
        .with_limits(Limits {
            max_bundle_bytes: 64 * 1000 * 1000,
            ..Limits::default()
        });
    let err = roomy
        .verify_bundle(&bytes, Artifact::Bytes(ARTIFACT), &policy_for(&signed))
        .unwrap_err();
    assert!(
        matches!(err, VerifyError::Bundle(BundleError::Malformed { .. })),
        "{err:?}"
    );
}

#[test]
fn an_oversized_bundle_file_is_refused_without_being_read() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("bundle_input");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(format!("huge-{}.json", std::process::id()));
    std::fs::write(&path, oversized(FIFTY_MB)).expect("write");
    let limit = Limits::default().max_bundle_bytes;
    let result = bundle::read_file(&path, limit);
    std::fs::remove_file(&path).expect("clean up");
    assert!(
        matches!(
            result,
            Err(BundleError::TooLarge {
                found: FIFTY_MB,
                ..
            })
        ),
        "{result:?}"
    );

    // A bundle exactly at the limit is read; one byte over is not.
    let path = dir.join(format!("edge-{}.json", std::process::id()));
    std::fs::write(&path, vec![b' '; 1000]).expect("write");
    let at = bundle::read_file(&path, 1000).map(|b| b.len());
    let over = bundle::read_file(&path, 999);
    std::fs::remove_file(&path).expect("clean up");
    assert_eq!(at.expect("at the limit"), 1000);
    assert!(
        matches!(
            over,
            Err(BundleError::TooLarge {
                limit: 999,
                found: 1000
            })
        ),
        "{over:?}"
    );

    // A missing file is unreadable, an input error.
    let err: VerifyError = bundle::read_file(&dir.join("no-such-bundle.json"), limit)
        .unwrap_err()
        .into();
    assert!(
        matches!(err, VerifyError::Bundle(BundleError::Read { .. })),
        "{err:?}"
    );
    assert_eq!(err.code(), "bundle-unreadable");
    assert!(err.is_input_error());
}

#[test]
fn every_truncation_of_a_good_bundle_is_malformed() {
    let verifier = verifier();
    let bundles = [
        sign(SignOptions::default()),
        sign(SignOptions {
            version: BundleVersion::V0_1,
            content: Content::Dsse,
            rfc3161_timestamp: true,
            ..SignOptions::default()
        }),
        sign(SignOptions {
            signer: Signer::Key(KeyKind::Ed25519),
            ..SignOptions::default()
        }),
    ];
    let mut cases = 0;
    for signed in &bundles {
        let json = signed.to_json();
        let bytes = json.as_bytes();
        let policy = policy_for(signed);
        verifier
            .verify_bundle(bytes, Artifact::Bytes(ARTIFACT), &policy)
            .expect("the whole bundle verifies");
        for len in 0..bytes.len() {
            let err = verifier
                .verify_bundle(&bytes[..len], Artifact::Bytes(ARTIFACT), &policy)
                .expect_err("a truncated bundle must not verify");
            match &err {
                VerifyError::Bundle(BundleError::Malformed { detail }) => {
                    // The parser's position, or (a cut through the
                    // checkpoint's em dash) the byte where UTF-8 breaks.
                    assert!(
                        (detail.contains("line") && detail.contains("column"))
                            || detail.starts_with("not UTF-8"),
                        "prefix of {len} bytes: {detail}"
                    );
                }
                other => panic!("prefix of {len} bytes: unexpected error {other:?}"),
            }
            assert_eq!(err.code(), "bundle-malformed");
            cases += 1;
        }
    }
    assert!(cases > 3000, "only {cases} truncations");
}

#[test]
fn malformed_bundles_get_typed_errors() {
    let good = sign(SignOptions::default()).to_json();
    let value: serde_json::Value = serde_json::from_str(&good).expect("JSON");
    let with = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut v = value.clone();
        f(&mut v);
        serde_json::to_vec(&v).expect("JSON")
    };
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", Vec::new(), "bundle-malformed"),
        ("not JSON", b"hello".to_vec(), "bundle-malformed"),
        ("a JSON array", b"[1,2,3]".to_vec(), "bundle-malformed"),
        ("a JSON string", b"\"bundle\"".to_vec(), "bundle-malformed"),
        (
            "invalid UTF-8",
            b"{\"mediaType\":\"\xff\"}".to_vec(),
            "bundle-malformed",
        ),
        (
            "an empty object",
            b"{}".to_vec(),
            "bundle-unsupported-version",
        ),
        (
            "an unknown media type",
            with(&|v| v["mediaType"] = "application/vnd.dev.sigstore.bundle.v9+json".into()),
            "bundle-unsupported-version",
        ),
        (
            "a numeric media type",
            with(&|v| v["mediaType"] = 3.into()),
            "bundle-malformed",
        ),
        (
            "no verification material",
            with(&|v| {
                v.as_object_mut()
                    .expect("object")
                    .remove("verificationMaterial");
            }),
            "bundle-malformed",
        ),
        (
            "a signature that is not base64",
            with(&|v| v["messageSignature"]["signature"] = "***".into()),
            "bundle-malformed",
        ),
        (
            "a log index that is not a number",
            with(&|v| v["verificationMaterial"]["tlogEntries"][0]["logIndex"] = "x".into()),
            "bundle-malformed",
        ),
        (
            "deeply nested arrays",
            [vec![b'['; 100_000], vec![b']'; 100_000]].concat(),
            "bundle-malformed",
        ),
    ];
    let signed = sign(SignOptions::default());
    let policy = policy_for(&signed);
    let verifier = verifier();
    for (what, bytes, code) in cases {
        let err = verifier
            .verify_bundle(&bytes, Artifact::Bytes(ARTIFACT), &policy)
            .expect_err(what);
        assert_eq!(err.code(), code, "{what}: {err}");
        match (&err, code) {
            (VerifyError::Bundle(BundleError::Malformed { .. }), "bundle-malformed") => {}
            (
                VerifyError::Bundle(BundleError::UnsupportedVersion { expected, .. }),
                "bundle-unsupported-version",
            ) => assert!(expected.contains("version=0.1"), "{expected}"),
            (other, _) => panic!("{what}: unexpected error {other:?}"),
        }
        assert!(!err.is_input_error(), "{what}");
    }
}

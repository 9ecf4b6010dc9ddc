//! The engine through its public API: configuration, the registry
//! allowlist, requests parsed strictly, blobs verified with the core's codes.

use std::time::Duration;

use base64::Engine as _;
use serde_json::json;
use verify_api::{ApiError, Engine};
use verify_testkit::{SignOptions, TestSigstore};

fn engine(sigstore: &TestSigstore, registry: serde_json::Value) -> Engine {
    let config =
        json!({"trust_root": {"json": sigstore.trusted_root_json()}, "registry": registry});
    Engine::from_json(config.to_string().as_bytes()).unwrap()
}

#[test]
fn bad_configurations_are_typed_errors() {
    let e = Engine::from_json(b"{\"trust_root\": {\"builtin\": false}}")
        .err()
        .unwrap();
    assert_eq!(e.code(), "invalid-config");
    let e = Engine::from_json(b"{\"cache\": {\"capacty\": 1}}")
        .err()
        .unwrap();
    assert_eq!(e.code(), "invalid-config");
    assert!(e.to_string().contains("capacty"));
    let e = Engine::from_json(b"{\"trust_root\": {\"json\": \"{\"}}")
        .err()
        .unwrap();
    assert!(!matches!(e, ApiError::InvalidConfig { .. }), "{e:?}");
}

#[test]
fn the_allowlist_bounds_registries_and_repository_prefixes() {
    let sigstore = TestSigstore::new();
    let e = engine(
        &sigstore,
        json!({"allowed": ["ghcr.io/fluxcd", "127.0.0.1:5000"]}),
    );
    assert!(e.has_allowlist());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for (reference, allowed) in [
        ("ghcr.io/fluxcd/source-controller:v1", true),
        ("ghcr.io/fluxcd-evil/app:v1", false),
        ("ghcr.io/evil/app:v1", false),
        ("docker.io/library/alpine:3", false),
        ("127.0.0.1:5000/anything/here:v1", true),
        ("127.0.0.1:5001/app:v1", false),
    ] {
        let request = e
            .parse_image_request(
                json!({"reference": reference, "signer": {"keyless": {}}})
                    .to_string()
                    .as_bytes(),
            )
            .unwrap();
        let outcome = runtime.block_on(e.verify_image(request, Duration::from_millis(200)));
        let refused = matches!(&outcome, Err(ApiError::RegistryNotAllowed { .. }));
        assert_eq!(!refused, allowed, "{reference}: {outcome:?}");
    }
}

#[test]
fn requests_are_parsed_strictly_and_bounded() {
    let sigstore = TestSigstore::new();
    let e = engine(&sigstore, json!({}));
    for bad in [
        r#"{"reference": "#,
        r#"{"reference": "a", "signr": {}}"#,
        r#"{"reference": 1}"#,
    ] {
        let err = e.parse_image_request(bad.as_bytes()).err().unwrap();
        assert_eq!(err.code(), "invalid-request", "{bad}");
        assert_eq!(err.to_json()["verified"], false);
    }
    let huge = vec![b' '; e.max_request_bytes() + 1];
    assert_eq!(
        e.parse_image_request(&huge).err().unwrap().code(),
        "invalid-request"
    );
}

#[test]
fn blobs_verify_through_the_engine() {
    let sigstore = TestSigstore::new();
    let e = engine(&sigstore, json!({}));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let artifact = b"engine blob";
    let signed = sigstore.sign(artifact, &SignOptions::default()).unwrap();
    let request = |bytes: &[u8], subject: &str| {
        json!({
            "kind": "blob",
            "artifact_base64": base64::engine::general_purpose::STANDARD.encode(bytes),
            "bundle": signed.to_json(),
            "signer": {"keyless": {"identities": [{"issuer": "actions", "subject": subject}]}},
        })
        .to_string()
    };
    let ok = e
        .parse_artifact_request(request(artifact, "github").as_bytes())
        .unwrap();
    let answer = runtime
        .block_on(e.verify_artifact(ok, Duration::from_secs(10)))
        .unwrap()
        .to_json();
    assert_eq!(answer["verified"], true);
    assert_eq!(answer["signer"], "certificate");
    let wrong = e
        .parse_artifact_request(request(artifact, "^nobody$").as_bytes())
        .unwrap();
    let err = runtime
        .block_on(e.verify_artifact(wrong, Duration::from_secs(10)))
        .err()
        .unwrap();
    assert_eq!(err.code(), "identity-mismatch");
    let tampered = e
        .parse_artifact_request(request(b"engine blob!", "github").as_bytes())
        .unwrap();
    let err = runtime
        .block_on(e.verify_artifact(tampered, Duration::from_secs(10)))
        .err()
        .unwrap();
    assert!(!err.is_input_error(), "{err:?}");
    // A bad pattern is the caller's fault, with Flux's message.
    let bad = e
        .parse_artifact_request(request(artifact, "(").as_bytes())
        .unwrap();
    let err = runtime
        .block_on(e.verify_artifact(bad, Duration::from_secs(10)))
        .err()
        .unwrap();
    assert!(
        err.to_string()
            .contains("malformed subject in identity: ( : "),
        "{err}"
    );
}

#[test]
fn a_request_may_carry_its_own_trust_root_bounded_in_size() {
    let sigstore = TestSigstore::new();
    let other = TestSigstore::new();
    // The engine trusts `other`; the bundle is from `sigstore`.
    let config = json!({
        "trust_root": {"json": other.trusted_root_json()},
        "limits": {"max_trusted_root_bytes": 64 * 1024, "trusted_roots_cached": 2},
    });
    let e = Engine::from_json(config.to_string().as_bytes()).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let artifact = b"per-request root";
    let signed = sigstore.sign(artifact, &SignOptions::default()).unwrap();
    let request = |root: Option<serde_json::Value>| {
        let mut r = json!({
            "kind": "blob",
            "artifact_base64": base64::engine::general_purpose::STANDARD.encode(artifact),
            "bundle": signed.to_json(),
            "signer": {"keyless": {}},
        });
        if let Some(root) = root {
            r["trusted_root"] = root;
        }
        let parsed = e.parse_artifact_request(r.to_string().as_bytes()).unwrap();
        runtime.block_on(e.verify_artifact(parsed, Duration::from_secs(10)))
    };
    let root_text = sigstore.trusted_root_json();
    assert!(request(None).is_err(), "verified against the engine's root");
    for _ in 0..2 {
        // As text, then again (parsed once, kept by hash).
        let ok = request(Some(json!(root_text))).unwrap().to_json();
        assert_eq!(ok["verified"], true);
    }
    let as_object: serde_json::Value = serde_json::from_str(&root_text).unwrap();
    assert_eq!(
        request(Some(as_object)).unwrap().to_json()["verified"],
        true
    );
    // Not the engine's root afterwards either.
    assert!(request(None).is_err());
    let huge = json!(format!("{}{}", root_text, " ".repeat(64 * 1024)));
    let err = request(Some(huge)).err().unwrap();
    assert_eq!(err.code(), "invalid-request", "{err}");
    let err = request(Some(json!("{\"mediaType\": "))).err().unwrap();
    assert!(!err.to_string().is_empty());
    assert_ne!(err.code(), "invalid-config");
}

#[test]
fn proxy_settings_are_checked_when_the_engine_is_built() {
    let ok = Engine::from_json(
        br#"{"registry": {"proxy": {"url": "http://user:pw@127.0.0.1:3128", "no_proxy": "127.0.0.1,.internal"}}, "rekor_url": "http://127.0.0.1:1"}"#,
    );
    assert!(ok.is_ok(), "{:?}", ok.err());
    let e = Engine::from_json(br#"{"registry": {"proxy": {"url": "::not a url"}}}"#)
        .err()
        .unwrap();
    assert_eq!(e.code(), "invalid-config");
    let e = Engine::from_json(br#"{"registry": {"proxy": {"url": "http://u:secret@[bad"}}}"#)
        .err()
        .unwrap();
    assert!(!e.to_string().contains("secret"), "{e}");
    let e = Engine::from_json(br#"{"registry": {"proxy": {"uri": "http://p:1"}}}"#)
        .err()
        .unwrap();
    assert_eq!(e.code(), "invalid-config");
}

//! The C ABI called as C would call it: raw pointers in, JSON strings out.

use std::ffi::{c_char, CStr, CString};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};
use verify_ffi::*;
use verify_testkit::{KeyKind, SignOptions, Signer, TestSigstore};

/// Take ownership of an answer and parse it.
fn answer(ptr: *mut c_char) -> Value {
    assert!(!ptr.is_null());
    // SAFETY: a string this library returned, freed right after.
    let text = unsafe { CStr::from_ptr(ptr) }.to_str().unwrap().to_string();
    // SAFETY: returned by the library, freed once.
    unsafe { verify_string_free(ptr) };
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn code(v: &Value) -> &str {
    v["reason"]["code"].as_str().unwrap_or("")
}

struct Handle(*mut VerifyEngine);

impl Handle {
    fn new(config: &Value) -> Self {
        let config = CString::new(config.to_string()).unwrap();
        let mut err = std::ptr::null_mut();
        // SAFETY: valid C string and out pointer.
        let e = unsafe { verify_engine_new(config.as_ptr(), &mut err) };
        assert!(!e.is_null(), "{}", answer(err));
        Self(e)
    }

    fn image(&self, request: &str, timeout_ms: u64, cancel: *const VerifyCancel) -> Value {
        let request = CString::new(request).unwrap();
        // SAFETY: live handle, valid string, live or null token.
        answer(unsafe { verify_image(self.0, request.as_ptr(), timeout_ms, cancel) })
    }

    fn artifact(&self, request: &Value) -> Value {
        let request = CString::new(request.to_string()).unwrap();
        // SAFETY: live handle, valid string.
        answer(unsafe { verify_artifact(self.0, request.as_ptr(), 10_000, std::ptr::null()) })
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: from verify_engine_new, freed once.
        unsafe { verify_engine_free(self.0) };
    }
}

fn test_config(sigstore: &TestSigstore) -> Value {
    json!({"trust_root": {"json": sigstore.trusted_root_json()}})
}

#[test]
fn null_pointers_and_bad_text_are_clear_errors() {
    let sigstore = TestSigstore::new();
    let handle = Handle::new(&test_config(&sigstore));
    // SAFETY: null pointers are part of the contract.
    let v = answer(unsafe { verify_image(std::ptr::null(), c"{}".as_ptr(), 0, std::ptr::null()) });
    assert_eq!(code(&v), "null-pointer");
    assert!(v["reason"]["message"].as_str().unwrap().contains("engine"));
    // SAFETY: as above.
    let v = answer(unsafe { verify_image(handle.0, std::ptr::null(), 0, std::ptr::null()) });
    assert_eq!(code(&v), "null-pointer");
    assert!(v["reason"]["message"]
        .as_str()
        .unwrap()
        .contains("request_json"));

    let invalid = [b'{', 0xff, 0xfe, b'}', 0];
    // SAFETY: NUL-terminated bytes.
    let v = answer(unsafe { verify_image(handle.0, invalid.as_ptr().cast(), 0, std::ptr::null()) });
    assert_eq!(code(&v), "invalid-utf8");

    let v = handle.image(
        r#"{"reference": "127.0.0.1:1/app@sha256:"#,
        0,
        std::ptr::null(),
    );
    assert_eq!(code(&v), "invalid-request");
    assert!(
        v["reason"]["message"].as_str().unwrap().contains("EOF"),
        "{v}"
    );
    let v = handle.image(r#"{"reference": "x", "sigmer": {}}"#, 0, std::ptr::null());
    assert_eq!(code(&v), "invalid-request");
    assert!(
        v["reason"]["message"].as_str().unwrap().contains("sigmer"),
        "{v}"
    );

    // Building an engine: null config, truncated config, a bad trust root.
    let mut err = std::ptr::null_mut();
    // SAFETY: null config is part of the contract.
    let e = unsafe { verify_engine_new(std::ptr::null(), &mut err) };
    assert!(e.is_null());
    assert_eq!(code(&answer(err)), "null-pointer");
    let mut err = std::ptr::null_mut();
    // SAFETY: valid string and out pointer.
    let e = unsafe { verify_engine_new(c"{\"trust_root\": {\"json\": ".as_ptr(), &mut err) };
    assert!(e.is_null());
    assert_eq!(code(&answer(err)), "invalid-config");
    let mut err = std::ptr::null_mut();
    // SAFETY: valid string and out pointer.
    let e = unsafe {
        verify_engine_new(
            c"{\"trust_root\": {\"json\": {\"mediaType\": 1}}}".as_ptr(),
            &mut err,
        )
    };
    assert!(e.is_null());
    let v = answer(err);
    assert_ne!(code(&v), "invalid-config", "{v}");
    // A null error out pointer is allowed.
    // SAFETY: null out pointer is part of the contract.
    assert!(unsafe { verify_engine_new(c"[".as_ptr(), std::ptr::null_mut()) }.is_null());

    // Freeing null is harmless.
    // SAFETY: null is allowed.
    unsafe {
        verify_engine_free(std::ptr::null_mut());
        verify_string_free(std::ptr::null_mut());
        verify_cancel_free(std::ptr::null_mut());
        verify_cancel_cancel(std::ptr::null());
    }
}

#[test]
fn a_panic_becomes_an_error() {
    let v = answer(verify_ffi::panic_for_test());
    assert_eq!(code(&v), "panic");
    assert!(v["reason"]["message"]
        .as_str()
        .unwrap()
        .contains("deliberate"));
}

#[test]
fn blobs_verify_and_fail_with_core_codes() {
    let sigstore = TestSigstore::new();
    let handle = Handle::new(&test_config(&sigstore));
    let artifact = b"hello ffi";
    let signed = sigstore.sign(artifact, &SignOptions::default()).unwrap();
    let identity = SignOptions::default()
        .effective_identity()
        .as_str()
        .to_string();
    let request = |bundle: &str, subject: &str| {
        json!({
            "kind": "blob",
            "artifact_base64": base64::engine::general_purpose::STANDARD.encode(artifact),
            "bundle": bundle,
            "signer": {"keyless": {"identities": [{"issuer": "token\\.actions", "subject": subject}]}},
        })
    };
    let v = handle.artifact(&request(&signed.to_json(), &regex_escape(&identity)));
    assert_eq!(v["verified"], true, "{v}");
    assert_eq!(v["identity"], identity.as_str());
    // The wrong identity: the core's code.
    let v = handle.artifact(&request(&signed.to_json(), "^https://example\\.com/other$"));
    assert_eq!(v["verified"], false);
    assert_eq!(code(&v), "identity-mismatch", "{v}");
    // Identity pairs are OR-ed: a wrong one then the right one verifies.
    let mut req = request(&signed.to_json(), "nobody");
    req["signer"]["keyless"]["identities"]
        .as_array_mut()
        .unwrap()
        .push(json!({"issuer": "actions", "subject": "github"}));
    assert_eq!(handle.artifact(&req)["verified"], true);
    // Keys tried in turn: a wrong key, then the right one.
    let keyed = sigstore
        .sign(
            artifact,
            &SignOptions {
                signer: Signer::Key(KeyKind::EcdsaP256),
                ..SignOptions::default()
            },
        )
        .unwrap();
    let other = sigstore
        .sign(
            artifact,
            &SignOptions {
                signer: Signer::Key(KeyKind::EcdsaP256),
                ..SignOptions::default()
            },
        )
        .unwrap();
    let mut req = json!({
        "kind": "blob",
        "artifact_sha256": verify_core_digest(artifact),
        "bundle": serde_json::from_str::<Value>(&keyed.to_json()).unwrap(),
        "signer": {"keys": [{"pem": other.public_key_pem}]},
    });
    let v = handle.artifact(&req);
    assert_eq!(v["verified"], false, "{v}");
    req["signer"]["keys"]
        .as_array_mut()
        .unwrap()
        .push(json!({"pem": keyed.public_key_pem}));
    let v = handle.artifact(&req);
    assert_eq!(v["verified"], true, "{v}");
    assert_eq!(v["signer"], "public-key");
    // Tampered artifact.
    let mut req = request(&signed.to_json(), "github");
    req["artifact_base64"] = json!(base64::engine::general_purpose::STANDARD.encode(b"hello ffI"));
    let v = handle.artifact(&req);
    assert_eq!(v["verified"], false);
    assert!(!code(&v).is_empty());
}

fn verify_core_digest(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            if "\\.+*?()|[]{}^$".contains(c) {
                vec!['\\', c]
            } else {
                vec![c]
            }
        })
        .collect()
}

/// A "registry" that accepts connections and never answers.
fn silent_registry() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    (listener, addr)
}

#[test]
fn a_cancel_from_another_thread_stops_the_call() {
    let sigstore = TestSigstore::new();
    let handle = Handle::new(&test_config(&sigstore));
    let (_listener, addr) = silent_registry();
    let cancel = verify_cancel_new();
    let token = cancel as usize;
    let canceller = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        // SAFETY: the token outlives this thread (joined before free).
        unsafe { verify_cancel_cancel(token as *const VerifyCancel) };
        Instant::now()
    });
    let request = format!(r#"{{"reference": "{addr}/app:v1", "signer": {{"keyless": {{}}}}}}"#);
    let v = handle.image(&request, 20_000, cancel);
    let returned = Instant::now();
    let cancelled_at = canceller.join().unwrap();
    assert_eq!(code(&v), "cancelled", "{v}");
    assert!(returned.duration_since(cancelled_at) < Duration::from_millis(100));
    // An already cancelled token stops the next call at once.
    let v = handle.image(&request, 20_000, cancel);
    assert_eq!(code(&v), "cancelled");
    // SAFETY: no call uses it any more.
    unsafe { verify_cancel_free(cancel) };

    // Without a cancel, the deadline ends the call.
    let started = Instant::now();
    let v = handle.image(&request, 300, std::ptr::null());
    // The core's own deadline (the budget of the image's requests) ends it.
    assert_eq!(code(&v), "image-deadline-exceeded", "{v}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn one_handle_serves_many_threads_and_the_allowlist_holds() {
    let sigstore = TestSigstore::new();
    let mut config = test_config(&sigstore);
    config["registry"] = json!({"allowed": ["ghcr.io/fluxcd"]});
    let handle = Handle::new(&config);
    let ptr = handle.0 as usize;
    let threads: Vec<_> = (0..16)
        .map(|i| {
            std::thread::spawn(move || {
                let reference = if i % 2 == 0 {
                    "ghcr.io/evil/app:v1"
                } else {
                    "docker.io/library/alpine:3"
                };
                let request = CString::new(format!(
                    r#"{{"reference": "{reference}", "signer": {{"keyless": {{}}}}}}"#
                ))
                .unwrap();
                // SAFETY: the handle outlives the threads (joined below).
                answer(unsafe {
                    verify_image(
                        ptr as *const VerifyEngine,
                        request.as_ptr(),
                        1000,
                        std::ptr::null(),
                    )
                })
            })
        })
        .collect();
    for t in threads {
        let v = t.join().unwrap();
        assert_eq!(code(&v), "registry-not-allowed", "{v}");
    }
}

#[test]
fn the_trusted_root_can_be_replaced() {
    let sigstore = TestSigstore::new();
    let other = TestSigstore::new();
    let handle = Handle::new(&test_config(&other));
    let artifact = b"rooted";
    let signed = sigstore.sign(artifact, &SignOptions::default()).unwrap();
    let req = json!({
        "kind": "blob",
        "artifact_base64": base64::engine::general_purpose::STANDARD.encode(artifact),
        "bundle": signed.to_json(),
        "signer": {"keyless": {}},
    });
    assert_eq!(handle.artifact(&req)["verified"], false);
    let root = CString::new(sigstore.trusted_root_json()).unwrap();
    // SAFETY: live handle, valid string.
    let v = answer(unsafe { verify_engine_set_trusted_root(handle.0, root.as_ptr()) });
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(handle.artifact(&req)["verified"], true);
    // SAFETY: live handle, valid string.
    let v = answer(unsafe { verify_engine_set_trusted_root(handle.0, c"{".as_ptr()) });
    assert_eq!(v["verified"], false);
    assert_eq!(
        handle.artifact(&req)["verified"],
        true,
        "a bad root leaves the old one"
    );
    // SAFETY: static string.
    assert!(!unsafe { CStr::from_ptr(verify_version()) }
        .to_bytes()
        .is_empty());
}

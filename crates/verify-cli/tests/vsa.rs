//! `verify vsa` on VSAs signed here with test keys: each flag's pass and
//! fail, with slsa-verifier's error names and exit statuses.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};
use verify_testkit::{KeyKind, TestKey};

const VERIFIER: &str = "https://bcid.corp.example/verifier/v1";
const RESOURCE: &str = "gce_image://acme-images:app-v1";
const DIGEST: &str = "sha256:6f1e2a4c7d9b0e3f5a8c1d4e7f0a3b6c9d2e5f8a1b4c7d0e3f6a9b2c5d8e1f4a";

fn statement(predicate: Value) -> Value {
    json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [
            {"name": "app", "digest": {"sha256": DIGEST.trim_start_matches("sha256:"), "gce_image_id": "8970095005306000053"}},
        ],
        "predicateType": "https://slsa.dev/verification_summary/v1",
        "predicate": predicate,
    })
}

fn predicate() -> Value {
    json!({
        "verifier": {"id": VERIFIER},
        "timeVerified": "2026-11-30T10:00:00Z",
        "resourceUri": RESOURCE,
        "policy": {"uri": "https://policy.example/app"},
        "verificationResult": "PASSED",
        "verifiedLevels": ["SLSA_BUILD_LEVEL_3", "BCID_L1"],
        "slsaVersion": "1.0",
    })
}

fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

/// A DSSE envelope over `statement`, signed by `key` with `keyid`.
fn envelope_typed(key: &TestKey, keyid: &str, statement: &Value, payload_type: &str) -> Value {
    let payload = serde_json::to_vec(statement).unwrap();
    let sig = key.sign(&pae(payload_type, &payload)).unwrap();
    json!({
        "payloadType": payload_type,
        "payload": STANDARD.encode(&payload),
        "signatures": [{"keyid": keyid, "sig": STANDARD.encode(sig)}],
    })
}

fn envelope(key: &TestKey, keyid: &str, statement: &Value) -> Value {
    envelope_typed(key, keyid, statement, "application/vnd.in-toto+json")
}

struct Dir(PathBuf);

impl Dir {
    fn new(label: &str) -> Self {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "vsa-{label}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
    fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> String {
        let p = self.0.join(name);
        std::fs::write(&p, bytes).unwrap();
        p.display().to_string()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Case {
    dir: Dir,
    key: String,
    vsa: String,
}

fn case(label: &str, key: &TestKey, envelope: &Value) -> Case {
    let dir = Dir::new(label);
    let key_path = dir.write("key.pub", key.public_key_pem());
    let vsa = dir.write("vsa.json", envelope.to_string());
    Case {
        dir,
        key: key_path,
        vsa,
    }
}

fn verify(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_verify"))
        .args(args)
        .output()
        .unwrap()
}

/// Run `verify vsa --output json` with the default flags, `extra` appended,
/// or with `replace` instead of the defaults' flags of the same name.
fn run(c: &Case, extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["vsa", "--output", "json", "--attestation-path", &c.vsa];
    let names: Vec<&str> = extra
        .iter()
        .filter(|a| a.starts_with("--"))
        .copied()
        .collect();
    let push = |flag: &'static str, value: &'static str, args: &mut Vec<&str>| {
        if !names.contains(&flag) {
            args.push(flag);
            args.push(value);
        }
    };
    push("--subject-digest", DIGEST, &mut args);
    push("--verifier-id", VERIFIER, &mut args);
    push("--resource-uri", RESOURCE, &mut args);
    if !names.contains(&"--public-key-path") {
        args.push("--public-key-path");
        args.push(&c.key);
    }
    args.extend_from_slice(extra);
    let out = verify(&args);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap(), json)
}

fn assert_fails(c: &Case, extra: &[&str], status: i32, name: &str) {
    let (code, json) = run(c, extra);
    assert_eq!(code, status, "{extra:?}: {json}");
    assert_eq!(json["verified"], false, "{json}");
    assert_eq!(
        json["reason"]["slsa_verifier_error"], name,
        "{extra:?}: {json}"
    );
}

#[test]
fn a_vsa_signed_with_the_key_passes_and_each_flag_is_checked() {
    let key = TestKey::generate(KeyKind::EcdsaP256).unwrap();
    let c = case(
        "pass",
        &key,
        &envelope(&key, "keystore://acme:vsa", &statement(predicate())),
    );

    let (code, json) = run(
        &c,
        &[
            "--public-key-id",
            "keystore://acme:vsa",
            "--verified-level",
            "SLSA_BUILD_LEVEL_2",
            "--verified-level",
            "BCID_L1",
            "--subject-digest",
            DIGEST,
            "--subject-digest",
            "gce_image_id:8970095005306000053",
        ],
    );
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["verified"], true);
    assert_eq!(json["vsa"]["verifier_id"], VERIFIER);
    assert_eq!(json["vsa"]["key_id"], "keystore://acme:vsa");

    // --subject-digest
    assert_fails(
        &c,
        &[
            "--public-key-id",
            "keystore://acme:vsa",
            "--subject-digest",
            "sha256:00",
        ],
        1,
        "ErrorMissingSubjectDigest",
    );
    assert_fails(
        &c,
        &[
            "--public-key-id",
            "keystore://acme:vsa",
            "--subject-digest",
            "sha512:00",
        ],
        1,
        "ErrorMissingSubjectDigest",
    );
    assert_fails(
        &c,
        &[
            "--public-key-id",
            "keystore://acme:vsa",
            "--subject-digest",
            "nocolon",
        ],
        2,
        "ErrorInvalidDssePayload",
    );
    // --verifier-id
    assert_fails(
        &c,
        &[
            "--public-key-id",
            "keystore://acme:vsa",
            "--verifier-id",
            "https://other.example/v",
        ],
        1,
        "ErrorMismatchVerifierID",
    );
    // --resource-uri
    assert_fails(
        &c,
        &[
            "--public-key-id",
            "keystore://acme:vsa",
            "--resource-uri",
            "gce_image://other",
        ],
        1,
        "ErrorMismatchResourceURI",
    );
    // --verified-level
    for (level, status, name) in [
        ("SLSA_BUILD_LEVEL_4", 1, "ErrorMismatchVerifiedLevels"),
        ("SLSA_SOURCE_LEVEL_1", 1, "ErrorMismatchVerifiedLevels"),
        ("BCID_L2", 1, "ErrorMismatchVerifiedLevels"),
        ("SLSA_BUILD_3", 2, "ErrorInvalidSLSALevel"),
    ] {
        assert_fails(
            &c,
            &[
                "--public-key-id",
                "keystore://acme:vsa",
                "--verified-level",
                level,
            ],
            status,
            name,
        );
    }
    // --public-key-id: the signature names another key.
    assert_fails(
        &c,
        &["--public-key-id", "keystore://acme:other"],
        1,
        "ErrorNoValidSignature",
    );
    // Without --public-key-id the key's own ID (SHA-256 of its SPKI) is used,
    // which this signature's keyid is not.
    assert_fails(&c, &[], 1, "ErrorNoValidSignature");
    // --public-key-path: another key.
    let other = TestKey::generate(KeyKind::EcdsaP256).unwrap();
    let other_path = c.dir.write("other.pub", other.public_key_pem());
    assert_fails(
        &c,
        &[
            "--public-key-id",
            "keystore://acme:vsa",
            "--public-key-path",
            &other_path,
        ],
        1,
        "ErrorNoValidSignature",
    );
    let junk = c.dir.write("junk.pub", "not a key");
    assert_fails(
        &c,
        &["--public-key-path", &junk],
        2,
        "ErrorInvalidPublicKey",
    );
}

/// OpenSSH's SHA256 fingerprint of a public key, computed by ssh-keygen:
/// ECDSA keys converted from PEM by ssh-keygen itself, Ed25519 keys (which
/// its PKCS#8 import lacks) written as an OpenSSH public key line.
fn ssh_fingerprint(dir: &Dir, key: &TestKey) -> String {
    let openssh = if key.kind() == KeyKind::Ed25519 {
        let raw = &key.public_key_der()[key.public_key_der().len() - 32..];
        let mut wire = Vec::new();
        for part in [&b"ssh-ed25519"[..], raw] {
            wire.extend_from_slice(&(part.len() as u32).to_be_bytes());
            wire.extend_from_slice(part);
        }
        format!("ssh-ed25519 {}\n", STANDARD.encode(wire)).into_bytes()
    } else {
        let path = dir.write("fp.pem", key.public_key_pem());
        let out = Command::new("ssh-keygen")
            .args(["-i", "-m", "PKCS8", "-f", &path])
            .output()
            .expect("ssh-keygen (scripts/setup.sh installs openssh-client)");
        assert!(out.status.success(), "{out:?}");
        out.stdout
    };
    let ssh_path = dir.write("fp.pub", &openssh);
    let fp = Command::new("ssh-keygen")
        .args(["-l", "-E", "sha256", "-f", &ssh_path])
        .output()
        .expect("ssh-keygen (scripts/setup.sh installs openssh-client)");
    assert!(fp.status.success(), "{fp:?}");
    String::from_utf8(fp.stdout)
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string()
}

#[test]
fn without_public_key_id_the_key_id_is_the_openssh_fingerprint() {
    for kind in [KeyKind::Ed25519, KeyKind::EcdsaP256, KeyKind::EcdsaP384] {
        let key = TestKey::generate(kind).unwrap();
        // No keyid in the signature: accepted, reported under the fingerprint.
        let c = case(
            "nokeyid",
            &key,
            &envelope(&key, "", &statement(predicate())),
        );
        let fingerprint = ssh_fingerprint(&c.dir, &key);
        assert!(fingerprint.starts_with("SHA256:"), "{fingerprint}");
        let (code, json) = run(&c, &[]);
        assert_eq!(code, 0, "{kind:?}: {json}");
        assert_eq!(json["vsa"]["key_id"], fingerprint.as_str(), "{kind:?}");
        // A keyid equal to the fingerprint is accepted without --public-key-id.
        let c = case(
            "fpkeyid",
            &key,
            &envelope(&key, &fingerprint, &statement(predicate())),
        );
        assert_eq!(run(&c, &[]).0, 0, "{kind:?}");
        // Another keyid is not, unless --public-key-id names it.
        let spki_hash = hex::encode(Sha256::digest(key.public_key_der()));
        let c = case(
            "hexkeyid",
            &key,
            &envelope(&key, &spki_hash, &statement(predicate())),
        );
        assert_fails(&c, &[], 1, "ErrorNoValidSignature");
        assert_eq!(run(&c, &["--public-key-id", &spki_hash]).0, 0, "{kind:?}");
    }
}

#[test]
fn the_payload_must_be_a_passed_vsa() {
    let key = TestKey::generate(KeyKind::EcdsaP384).unwrap();
    let mut failed = predicate();
    failed["verificationResult"] = json!("FAILED");
    let mut no_verifier = predicate();
    no_verifier["verifier"] = json!({});
    let mut no_resource = predicate();
    no_resource.as_object_mut().unwrap().remove("resourceUri");
    let mut provenance = statement(predicate());
    provenance["predicateType"] = json!("https://slsa.dev/provenance/v1");
    for (label, env, name) in [
        (
            "failed",
            envelope(&key, "", &statement(failed)),
            "ErrorInvalidVerificationResult",
        ),
        (
            "noverifier",
            envelope(&key, "", &statement(no_verifier)),
            "ErrorEmptyRequiredField",
        ),
        (
            "noresource",
            envelope(&key, "", &statement(no_resource)),
            "ErrorEmptyRequiredField",
        ),
        (
            "provenance",
            envelope(&key, "", &provenance),
            "ErrorInvalidDssePayload",
        ),
        (
            "payloadtype",
            envelope_typed(&key, "", &statement(predicate()), "text/plain"),
            "ErrorInvalidDssePayload",
        ),
    ] {
        let c = case(label, &key, &env);
        assert_fails(&c, &[], 1, name);
    }
    // A tampered payload no longer verifies.
    let mut env = envelope(&key, "", &statement(predicate()));
    let mut changed = predicate();
    changed["resourceUri"] = json!("gce_image://other");
    env["payload"] = json!(STANDARD.encode(serde_json::to_vec(&statement(changed)).unwrap()));
    assert_fails(
        &case("tampered", &key, &env),
        &["--resource-uri", "gce_image://other"],
        1,
        "ErrorNoValidSignature",
    );
    // Not an envelope; truncated.
    let c = case("junk", &key, &json!({"hello": 1}));
    assert_fails(&c, &[], 1, "ErrorInvalidDssePayload");
    std::fs::write(&c.vsa, b"{\"payloadType\": \"appl").unwrap();
    assert_fails(&c, &[], 1, "ErrorInvalidDssePayload");
    // A missing file is a usage error.
    let out = verify(&[
        "vsa",
        "--attestation-path",
        "/nonexistent/vsa.json",
        "--subject-digest",
        DIGEST,
        "--verifier-id",
        VERIFIER,
        "--resource-uri",
        RESOURCE,
        "--public-key-path",
        &c.key,
    ]);
    assert_eq!(out.status.code(), Some(2));
    // Without --subject-digest: slsa-verifier's ErrorEmptyRequiredField.
    let c = case(
        "nodigest",
        &key,
        &envelope(&key, "", &statement(predicate())),
    );
    let out = verify(&[
        "verify-vsa",
        "--output",
        "json",
        "--attestation-path",
        &c.vsa,
        "--verifier-id",
        VERIFIER,
        "--resource-uri",
        RESOURCE,
        "--public-key-path",
        &c.key,
    ]);
    assert_eq!(out.status.code(), Some(2));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        json["reason"]["slsa_verifier_error"],
        "ErrorEmptyRequiredField"
    );
    // A statement of another type.
    let mut st = statement(predicate());
    st["_type"] = json!("https://example.com/Statement");
    assert_fails(
        &case("stype", &key, &envelope(&key, "", &st)),
        &[],
        1,
        "ErrorInvalidDssePayload",
    );
}

#[test]
fn print_attestation_prints_the_verified_statement() {
    let key = TestKey::generate(KeyKind::EcdsaP256).unwrap();
    let vsa = statement(predicate());
    let c = case("print", &key, &envelope(&key, "", &vsa));
    // JSON: the statement beside the verified facts.
    let (code, json) = run(&c, &["--print-attestation"]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["statement"], vsa, "{json}");
    // Without the flag, no statement.
    let (code, json) = run(&c, &[]);
    assert_eq!(code, 0, "{json}");
    assert!(json["statement"].is_null(), "{json}");
    // Text, as slsa-verifier: the statement on stdout.
    let out = verify(&[
        "vsa",
        "--attestation-path",
        &c.vsa,
        "--subject-digest",
        DIGEST,
        "--verifier-id",
        VERIFIER,
        "--resource-uri",
        RESOURCE,
        "--public-key-path",
        &c.key,
        "--print-attestation",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let printed: Value = serde_json::from_slice(&out.stdout).expect("the statement");
    assert_eq!(printed, vsa);
}

/// Run a tool the test needs; its stdout.
fn tool(program: &str, args: &[&str]) -> Vec<u8> {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} (scripts/setup.sh installs it): {e}"));
    assert!(out.status.success(), "{program} {args:?}: {out:?}");
    out.stdout
}

/// A key pair OpenSSL generates in `dir` (`genpkey -algorithm ALG OPTS...`):
/// the private key's path, the public key's PEM path, and its OpenSSH
/// SHA-256 fingerprint as ssh-keygen computes it.
fn openssl_key(dir: &Dir, name: &str, algorithm: &[&str]) -> (String, String, String) {
    let private = dir.0.join(format!("{name}.key")).display().to_string();
    let mut genpkey = vec!["genpkey", "-algorithm"];
    genpkey.extend_from_slice(algorithm);
    genpkey.extend_from_slice(&["-out", &private]);
    tool("openssl", &genpkey);
    let public = dir.write(
        &format!("{name}.pub.pem"),
        tool("openssl", &["pkey", "-in", &private, "-pubout"]),
    );
    let openssh = dir.write(
        &format!("{name}.pub"),
        tool("ssh-keygen", &["-i", "-m", "PKCS8", "-f", &public]),
    );
    let listed = tool("ssh-keygen", &["-l", "-E", "sha256", "-f", &openssh]);
    let fingerprint = String::from_utf8(listed)
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string();
    (private, public, fingerprint)
}

/// OpenSSL's signature (`dgst DIGEST -sign`) over the DSSE PAE of an
/// in-toto `payload`.
fn openssl_sign(dir: &Dir, private: &str, digest: &str, payload: &[u8]) -> Vec<u8> {
    let signed = dir.write("pae", pae("application/vnd.in-toto+json", payload));
    let out = dir.0.join(format!("sig{digest}")).display().to_string();
    tool(
        "openssl",
        &["dgst", digest, "-sign", private, "-out", &out, &signed],
    );
    std::fs::read(&out).unwrap()
}

/// An in-toto DSSE envelope of `payload` with one signature, `sig`, naming
/// `keyid`.
fn signed_envelope(payload: &[u8], keyid: &str, sig: &[u8]) -> Value {
    json!({
        "payloadType": "application/vnd.in-toto+json",
        "payload": STANDARD.encode(payload),
        "signatures": [{"keyid": keyid, "sig": STANDARD.encode(sig)}],
    })
}

#[test]
fn an_rsa_key_is_named_by_its_openssh_fingerprint_too() {
    // go-securesystemslib derives an RSA key's ID as it does any other's
    // (ssh.NewPublicKey handles RSA), so a signature naming another key ID
    // is skipped for RSA keys as well. The key and signature are OpenSSL's
    // (RSA PKCS#1 v1.5 with SHA-256, what slsa-verifier uses for RSA keys).
    let dir = Dir::new("rsa");
    let (private, public, fingerprint) =
        openssl_key(&dir, "rsa", &["RSA", "-pkeyopt", "rsa_keygen_bits:2048"]);

    let payload = serde_json::to_vec(&statement(predicate())).unwrap();
    let sig = openssl_sign(&dir, &private, "-sha256", &payload);
    let envelope = |keyid: &str| signed_envelope(&payload, keyid, &sig);
    for (keyid, passes) in [
        (fingerprint.as_str(), true),
        ("", true),
        ("SHA256:other", false),
    ] {
        let c = Case {
            vsa: dir.write("vsa.json", envelope(keyid).to_string()),
            key: public.clone(),
            dir: Dir::new(&format!("rsa-case-{passes}-{}", keyid.len())),
        };
        let (code, json) = run(&c, &[]);
        if passes {
            assert_eq!(code, 0, "{keyid}: {json}");
            assert_eq!(json["vsa"]["key_id"], fingerprint.as_str(), "{json}");
        } else {
            assert_eq!(code, 1, "{keyid}: {json}");
            assert_eq!(
                json["reason"]["slsa_verifier_error"],
                "ErrorNoValidSignature"
            );
        }
    }
}

#[test]
fn a_p521_key_verifies_with_sha512_as_slsa_verifier_picks_it() {
    // slsa-verifier hashes with SHA-512 for a P-521 key; the key and the
    // signatures are OpenSSL's. A signature over SHA-256 of the same bytes
    // is another signature and does not verify.
    let dir = Dir::new("p521");
    let (private, public, fingerprint) =
        openssl_key(&dir, "p521", &["EC", "-pkeyopt", "ec_paramgen_curve:P-521"]);

    let payload = serde_json::to_vec(&statement(predicate())).unwrap();
    let sha512 = openssl_sign(&dir, &private, "-sha512", &payload);
    let sha256 = openssl_sign(&dir, &private, "-sha256", &payload);
    let envelope = |keyid: &str, sig: &[u8]| signed_envelope(&payload, keyid, sig);
    for (label, keyid, sig, passes) in [
        ("fingerprint", fingerprint.as_str(), &sha512, true),
        ("no-keyid", "", &sha512, true),
        ("other-keyid", "SHA256:other", &sha512, false),
        ("sha256", "", &sha256, false),
    ] {
        let c = Case {
            vsa: dir.write(&format!("{label}.json"), envelope(keyid, sig).to_string()),
            key: public.clone(),
            dir: Dir::new(&format!("p521-{label}")),
        };
        let (code, json) = run(&c, &[]);
        if passes {
            assert_eq!(code, 0, "{label}: {json}");
            assert_eq!(json["vsa"]["key_id"], fingerprint.as_str(), "{json}");
        } else {
            assert_eq!(code, 1, "{label}: {json}");
            assert_eq!(
                json["reason"]["slsa_verifier_error"], "ErrorNoValidSignature",
                "{label}: {json}"
            );
        }
    }
}

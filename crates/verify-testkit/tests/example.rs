//! The checked-in example (`testdata/example`, written by `verify-testkit
//! gen-example --out testdata/example`) verifies with sigstore-verify, and a
//! freshly generated one has the same layout.

use sigstore_verify::trust_root::TrustedRoot;
use sigstore_verify::types::{Bundle, DerPublicKey};
use sigstore_verify::{PublicKeyVerificationPolicy, VerificationPolicy, Verifier};
use std::path::{Path, PathBuf};

const FILES: [&str; 7] = [
    "trusted_root.json",
    "artifact",
    "artifact.sigstore.json",
    "dsse.sigstore.json",
    "key.pub",
    "artifact.key.sigstore.json",
    "identity.txt",
];

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name))
        .unwrap_or_else(|e| panic!("{}: {e}", dir.join(name).display()))
}

fn bundle(dir: &Path, name: &str) -> Bundle {
    Bundle::from_json(&read(dir, name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Verify every bundle of an example directory.
fn verify_example(dir: &Path) {
    for file in FILES {
        assert!(dir.join(file).is_file(), "missing {file}");
    }
    let root = TrustedRoot::from_json(&read(dir, "trusted_root.json")).unwrap();
    let verifier = Verifier::new(&root).unwrap();
    let artifact = std::fs::read(dir.join("artifact")).unwrap();
    let identity_txt = read(dir, "identity.txt");
    let mut lines = identity_txt.lines();
    let (identity, issuer) = (lines.next().unwrap(), lines.next().unwrap());
    let policy = VerificationPolicy::new(identity, issuer);

    let keyless = bundle(dir, "artifact.sigstore.json");
    let result = verifier
        .verify(artifact.as_slice(), &keyless, &policy)
        .unwrap();
    assert!(result.certificate_verified() && result.sct_verified() && result.tlog_verified());
    assert_eq!(result.verified_timestamps().len(), 2, "SET and RFC 3161");

    let dsse = bundle(dir, "dsse.sigstore.json");
    verifier
        .verify(artifact.as_slice(), &dsse, &policy)
        .unwrap();

    let key = DerPublicKey::from_pem(&read(dir, "key.pub")).unwrap();
    let key_based = bundle(dir, "artifact.key.sigstore.json");
    verifier
        .verify(
            artifact.as_slice(),
            &key_based,
            &PublicKeyVerificationPolicy::new(key),
        )
        .unwrap();

    // And nothing verifies against a different artifact.
    assert!(verifier
        .verify(&b"tampered"[..], &keyless, &policy)
        .is_err());
}

#[test]
fn checked_in_example_verifies() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/example");
    verify_example(&dir);
}

#[test]
fn gen_example_writes_a_verifiable_example() {
    let dir = std::env::temp_dir().join(format!("verify-testkit-example-{}", std::process::id()));
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_verify-testkit"))
        .args(["gen-example", "--out"])
        .arg(&dir)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    verify_example(&dir);
    std::fs::remove_dir_all(&dir).ok();
}

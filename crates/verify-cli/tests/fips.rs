//! The FIPS state as the CLI reports it (`--version`, `"fips"` in JSON
//! results) and the key gate (README, "FIPS build"), in whichever build the
//! tests run: the normal one by default, the FIPS one with
//! `cargo test -p verify-cli --features fips --test fips`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use verify_testkit::{KeyKind, SignOptions, Signer, TestSigstore};

const ARTIFACT: &[u8] = b"fips test artifact\n";
const FIPS: bool = cfg!(feature = "fips");

fn verify(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_verify"))
        .args(args)
        .env_remove("SIGSTORE_ROOT_FILE")
        .output()
        .expect("the verify binary runs")
}

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Self {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("verify-cli-fips")
            .join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the test directory");
        Self(dir)
    }

    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, bytes).expect("write a test file");
        path
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn version_names_the_build_and_its_fips_state() {
    let output = verify(&["--version".as_ref()]);
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).expect("UTF-8");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(lines[0], format!("verify {}", env!("CARGO_PKG_VERSION")));
    if FIPS {
        assert!(lines[1].starts_with("fips: on (AWS-LC FIPS "), "{text}");
    } else {
        assert_eq!(lines[1], "fips: off");
    }
}

/// A key-based bundle over `ARTIFACT` signed by a P-256 key (approved), and
/// an RSA-1024 key made by OpenSSL (not approved).
fn run_blob(dir: &Dir, key: &Path) -> (i32, Value) {
    let sigstore = TestSigstore::new();
    let signed = sigstore
        .sign(
            ARTIFACT,
            &SignOptions {
                signer: Signer::Key(KeyKind::EcdsaP256),
                ..SignOptions::default()
            },
        )
        .expect("signs");
    let root = dir.write("trusted_root.json", sigstore.trusted_root_json().as_bytes());
    let bundle = dir.write("bundle.json", signed.to_json().as_bytes());
    let artifact = dir.write("artifact", ARTIFACT);
    let p256 = dir.write("p256.pub", signed.public_key_pem.as_bytes());
    let key = if key.as_os_str().is_empty() {
        p256
    } else {
        key.to_path_buf()
    };
    let output = verify(&[
        "blob".as_ref(),
        "--bundle".as_ref(),
        bundle.as_os_str(),
        "--key".as_ref(),
        key.as_os_str(),
        "--trusted-root".as_ref(),
        root.as_os_str(),
        "-o".as_ref(),
        "json".as_ref(),
        artifact.as_os_str(),
    ]);
    let value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.code().expect("exited"), value)
}

#[test]
fn json_results_carry_the_fips_state() {
    let dir = Dir::new("p256");
    let (status, value) = run_blob(&dir, Path::new(""));
    assert_eq!(status, 0, "{value}");
    assert_eq!(value["verified"], true);
    assert_eq!(value["fips"]["enabled"], FIPS, "{value}");
    assert_eq!(value["fips"]["module"].is_string(), FIPS, "{value}");
}

#[test]
fn an_unapproved_key_is_refused_by_the_fips_build_only() {
    let dir = Dir::new("rsa1024");
    let pem = dir.0.join("rsa1024.pem");
    let status = Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:1024",
            "-out",
        ])
        .arg(&pem)
        .output()
        .expect("openssl runs");
    assert!(status.status.success());
    let public = dir.0.join("rsa1024.pub");
    let status = Command::new("openssl")
        .args(["pkey", "-pubout", "-in"])
        .arg(&pem)
        .arg("-out")
        .arg(&public)
        .output()
        .expect("openssl runs");
    assert!(status.status.success());
    let (status, value) = run_blob(&dir, &public);
    assert_eq!(status, 1, "{value}");
    assert_eq!(value["verified"], false);
    let code = value["reason"]["code"].as_str().expect("a reason code");
    if FIPS {
        assert_eq!(code, "algorithm-not-fips-approved", "{value}");
        let message = value["reason"]["message"].as_str().expect("a message");
        assert!(message.contains("RSA-1024"), "{message}");
    } else {
        // The normal build does not refuse the algorithm: the signature
        // check itself fails (the bundle was signed by another key).
        assert_ne!(code, "algorithm-not-fips-approved", "{value}");
    }
}

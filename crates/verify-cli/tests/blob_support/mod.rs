//! What the `verify blob` tests share: one test Sigstore, a temporary
//! directory with its trusted root and the artifact, and runners for the
//! built binary that check exit statuses and JSON output.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code, unused_imports)]

pub use std::path::{Path, PathBuf};
pub use std::process::{Command, Output};
use std::sync::OnceLock;

pub use serde_json::Value;
pub use verify_testkit::{
    GithubWorkflowClaims, KeyKind, SignOptions, SignedBundle, Signer, TestSigstore,
    GITHUB_ACTIONS_ISSUER,
};

pub const ARTIFACT: &[u8] = b"release tarball contents\n";

pub fn sigstore() -> &'static TestSigstore {
    static SIGSTORE: OnceLock<TestSigstore> = OnceLock::new();
    SIGSTORE.get_or_init(TestSigstore::new)
}

pub fn identity() -> String {
    GithubWorkflowClaims::default().workflow_identity()
}

/// SHA-256 of `bytes` in hex, computed independently of the binary: the
/// test kit's in-toto statement names its subject by it.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let statement = TestSigstore::in_toto_statement(bytes, &SignOptions::default());
    statement["subject"][0]["digest"]["sha256"]
        .as_str()
        .expect("a sha256 subject digest")
        .to_string()
}

/// A fresh directory holding the trusted root, the artifact and bundles.
pub struct Fixture {
    pub dir: PathBuf,
}

impl Fixture {
    pub fn new(name: &str) -> Self {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("verify-cli-blob")
            .join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the test directory");
        let fixture = Self { dir };
        fixture.write(
            "trusted_root.json",
            sigstore().trusted_root_json().as_bytes(),
        );
        fixture.write("artifact", ARTIFACT);
        fixture
    }

    pub fn write(&self, name: &str, bytes: &[u8]) -> String {
        let path = self.dir.join(name);
        std::fs::write(&path, bytes).expect("write a test file");
        path.display().to_string()
    }

    pub fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    /// Sign the artifact and write the bundle as `name`.
    pub fn bundle(&self, name: &str, options: SignOptions) -> SignedBundle {
        let signed = sigstore().sign(ARTIFACT, &options).expect("signs");
        self.write(name, signed.to_json().as_bytes());
        signed
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Run `verify` with `args`, never inheriting `SIGSTORE_ROOT_FILE`.
pub fn run(args: &[&str]) -> Output {
    run_with_env(args, None)
}

pub fn run_with_env(args: &[&str], root_file: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_verify"));
    command.args(args).env_remove("SIGSTORE_ROOT_FILE");
    if let Some(root) = root_file {
        command.env("SIGSTORE_ROOT_FILE", root);
    }
    command.output().expect("the verify binary runs")
}

pub fn status(output: &Output) -> i32 {
    output.status.code().expect("exited, not killed")
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {:?}; stderr: {}",
            String::from_utf8_lossy(&output.stdout),
            stderr(output)
        )
    })
}

/// Assert a JSON failure with this status and reason code; return the message.
pub fn assert_failure(output: &Output, code: i32, reason: &str) -> String {
    assert_eq!(status(output), code, "stderr: {}", stderr(output));
    let value = json(output);
    assert_eq!(value["verified"], Value::Bool(false), "{value}");
    assert_eq!(value["reason"]["code"], reason, "{value}");
    let message = value["reason"]["message"]
        .as_str()
        .expect("a reason message")
        .to_string();
    assert!(!message.is_empty());
    message
}

/// `blob --bundle B --certificate-identity I --certificate-oidc-issuer O
/// --trusted-root T -o json ARTIFACT`, for the fixture's files.
pub fn keyless_args<'a>(f: &'a Fixture, bundle: &'a str, identity: &'a str) -> Vec<String> {
    vec![
        "blob".into(),
        "--bundle".into(),
        f.path(bundle),
        "--certificate-identity".into(),
        identity.into(),
        "--certificate-oidc-issuer".into(),
        GITHUB_ACTIONS_ISSUER.into(),
        "--trusted-root".into(),
        f.path("trusted_root.json"),
        "--output".into(),
        "json".into(),
        f.path("artifact"),
    ]
}

pub fn run_owned(args: &[String]) -> Output {
    run(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

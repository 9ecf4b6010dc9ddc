//! `verify blob` as a user runs it: the built binary on files in a temporary
//! directory, checking exit statuses (0 verified, 1 rejected, 2 usage or
//! unreadable input), the `--output json` shape, the cosign-compatible
//! aliases and flags, and the committed example in `testdata/example/`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;
use verify_testkit::{
    GithubWorkflowClaims, KeyKind, SignOptions, SignedBundle, Signer, TestSigstore,
    GITHUB_ACTIONS_ISSUER,
};

const ARTIFACT: &[u8] = b"release tarball contents\n";

fn sigstore() -> &'static TestSigstore {
    static SIGSTORE: OnceLock<TestSigstore> = OnceLock::new();
    SIGSTORE.get_or_init(TestSigstore::new)
}

fn identity() -> String {
    GithubWorkflowClaims::default().workflow_identity()
}

/// SHA-256 of `bytes` in hex, computed independently of the binary: the
/// test kit's in-toto statement names its subject by it.
fn sha256_hex(bytes: &[u8]) -> String {
    let statement = TestSigstore::in_toto_statement(bytes, &SignOptions::default());
    statement["subject"][0]["digest"]["sha256"]
        .as_str()
        .expect("a sha256 subject digest")
        .to_string()
}

/// A fresh directory holding the trusted root, the artifact and bundles.
struct Fixture {
    dir: PathBuf,
}

impl Fixture {
    fn new(name: &str) -> Self {
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

    fn write(&self, name: &str, bytes: &[u8]) -> String {
        let path = self.dir.join(name);
        std::fs::write(&path, bytes).expect("write a test file");
        path.display().to_string()
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    /// Sign the artifact and write the bundle as `name`.
    fn bundle(&self, name: &str, options: SignOptions) -> SignedBundle {
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
fn run(args: &[&str]) -> Output {
    run_with_env(args, None)
}

fn run_with_env(args: &[&str], root_file: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_verify"));
    command.args(args).env_remove("SIGSTORE_ROOT_FILE");
    if let Some(root) = root_file {
        command.env("SIGSTORE_ROOT_FILE", root);
    }
    command.output().expect("the verify binary runs")
}

fn status(output: &Output) -> i32 {
    output.status.code().expect("exited, not killed")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {:?}; stderr: {}",
            String::from_utf8_lossy(&output.stdout),
            stderr(output)
        )
    })
}

/// Assert a JSON failure with this status and reason code; return the message.
fn assert_failure(output: &Output, code: i32, reason: &str) -> String {
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
fn keyless_args<'a>(f: &'a Fixture, bundle: &'a str, identity: &'a str) -> Vec<String> {
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

fn run_owned(args: &[String]) -> Output {
    run(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

#[test]
fn keyless_bundle_verifies_with_exit_0() {
    let f = Fixture::new("keyless-ok");
    f.bundle("bundle.json", SignOptions::default());
    let identity = identity();
    let output = run(&[
        "blob",
        "--bundle",
        &f.path("bundle.json"),
        "--certificate-identity",
        &identity,
        "--certificate-oidc-issuer",
        GITHUB_ACTIONS_ISSUER,
        "--trusted-root",
        &f.path("trusted_root.json"),
        &f.path("artifact"),
    ]);
    assert_eq!(status(&output), 0, "stderr: {}", stderr(&output));
    let text = stderr(&output);
    assert!(text.contains("Verified OK"), "{text}");
    assert!(text.contains(&identity), "{text}");
    assert!(
        output.stdout.is_empty(),
        "text mode prints nothing on stdout"
    );
}

#[test]
fn json_output_of_a_success_has_the_verdict_fields() {
    let f = Fixture::new("json-ok");
    let signed = f.bundle(
        "bundle.json",
        SignOptions {
            rfc3161_timestamp: true,
            ..SignOptions::default()
        },
    );
    let identity = identity();
    let output = run_owned(&keyless_args(&f, "bundle.json", &identity));
    assert_eq!(status(&output), 0, "stderr: {}", stderr(&output));
    let value = json(&output);
    let entry = signed.log_entry.as_ref().expect("logged");
    assert_eq!(value["verified"], Value::Bool(true));
    assert_eq!(value["identity"], identity.as_str());
    assert_eq!(value["issuer"], GITHUB_ACTIONS_ISSUER);
    assert_eq!(value["log_index"], entry.log_index);
    assert_eq!(value["integrated_time"], entry.integrated_time.to_string());
    let timestamps = value["signed_timestamps"]
        .as_array()
        .expect("signed_timestamps is an array");
    assert_eq!(timestamps.len(), 2, "the SET's time and the TSA's: {value}");
    assert!(timestamps.iter().all(Value::is_string));
    assert_eq!(
        value["artifact_digest"],
        format!("sha256:{}", sha256_hex(ARTIFACT))
    );
    assert_eq!(value["signer"], "certificate");
    assert_eq!(
        value["certificate"]["source_repository_uri"],
        "https://github.com/example-org/example-repo"
    );
    assert!(value.get("reason").is_none());
}

#[test]
fn json_output_of_a_failure_has_verified_false_and_a_reason() {
    let f = Fixture::new("json-fail");
    f.bundle("bundle.json", SignOptions::default());
    let wrong = "https://github.com/attacker/repo/.github/workflows/x.yml@refs/heads/main";
    let output = run_owned(&keyless_args(&f, "bundle.json", wrong));
    let message = assert_failure(&output, 1, "identity-mismatch");
    assert!(message.contains(wrong), "{message}");
    assert!(message.contains(&identity()), "{message}");
    let value = json(&output);
    let keys: Vec<_> = value.as_object().expect("object").keys().cloned().collect();
    assert_eq!(keys, ["reason", "verified"]);

    // Text mode: one line on stderr ending with the code, nothing on stdout.
    let mut args = keyless_args(&f, "bundle.json", wrong);
    args.retain(|a| a != "--output" && a != "json");
    let output = run_owned(&args);
    assert_eq!(status(&output), 1);
    assert!(output.stdout.is_empty());
    let text = stderr(&output);
    assert!(
        text.starts_with("Error: ") && text.trim_end().ends_with("[identity-mismatch]"),
        "{text}"
    );
}

#[test]
fn rejected_evidence_exits_1_with_its_reason_code() {
    let f = Fixture::new("rejected");
    let cases: [(&str, SignOptions, &str); 6] = [
        (
            "expired",
            SignOptions {
                expired_certificate: true,
                ..SignOptions::default()
            },
            "certificate-expired",
        ),
        (
            "set",
            SignOptions {
                corrupt_set: true,
                ..SignOptions::default()
            },
            "tlog-set-invalid",
        ),
        (
            "proof",
            SignOptions {
                corrupt_inclusion_proof: true,
                ..SignOptions::default()
            },
            "tlog-inclusion-proof-invalid",
        ),
        (
            "ca",
            SignOptions {
                untrusted_ca: true,
                ..SignOptions::default()
            },
            "certificate-untrusted",
        ),
        (
            "signature",
            SignOptions {
                corrupt_signature: true,
                ..SignOptions::default()
            },
            "signature-invalid",
        ),
        (
            "digest",
            SignOptions {
                message_digest_mismatch: true,
                ..SignOptions::default()
            },
            "artifact-mismatch",
        ),
    ];
    let identity = identity();
    for (name, options, code) in cases {
        let file = format!("{name}.json");
        f.bundle(&file, options);
        let output = run_owned(&keyless_args(&f, &file, &identity));
        let message = assert_failure(&output, 1, code);
        if name == "expired" {
            assert!(message.contains("expired"), "{message}");
        }
    }
}

#[test]
fn usage_problems_exit_2() {
    let f = Fixture::new("usage");
    f.bundle("bundle.json", SignOptions::default());
    let bundle = f.path("bundle.json");
    let root = f.path("trusted_root.json");
    let artifact = f.path("artifact");
    let identity = identity();

    // Neither identity flag.
    let output = run(&[
        "blob",
        "--bundle",
        &bundle,
        "--certificate-oidc-issuer",
        GITHUB_ACTIONS_ISSUER,
        "--output",
        "json",
        "--trusted-root",
        &root,
        &artifact,
    ]);
    let message = assert_failure(&output, 2, "usage");
    assert!(message.contains("--certificate-identity"), "{message}");

    // Neither issuer flag.
    let output = run(&[
        "blob",
        "--bundle",
        &bundle,
        "--certificate-identity",
        &identity,
        "--output",
        "json",
        "--trusted-root",
        &root,
        &artifact,
    ]);
    let message = assert_failure(&output, 2, "usage");
    assert!(message.contains("--certificate-oidc-issuer"), "{message}");

    // A regexp that does not compile.
    let output = run(&[
        "blob",
        "--bundle",
        &bundle,
        "--certificate-identity-regexp",
        "(unclosed",
        "--certificate-oidc-issuer",
        GITHUB_ACTIONS_ISSUER,
        "--output",
        "json",
        "--trusted-root",
        &root,
        &artifact,
    ]);
    let message = assert_failure(&output, 2, "usage");
    assert!(message.contains("regular expression"), "{message}");

    // An unreadable bundle.
    let missing = f.path("no-such-bundle.json");
    let output = run_owned(&keyless_args(&f, "no-such-bundle.json", &identity));
    let message = assert_failure(&output, 2, "bundle-unreadable");
    assert!(message.contains(&missing), "{message}");

    // A bundle that is a directory.
    std::fs::create_dir_all(f.dir.join("a-directory")).expect("mkdir");
    let output = run_owned(&keyless_args(&f, "a-directory", &identity));
    assert_failure(&output, 2, "bundle-unreadable");

    // Digest text that is not sha256:<64 hex>.
    for bad in [
        "sha256:xyz",
        "sha256:",
        &format!("sha256:{}", "a".repeat(63)),
    ] {
        let mut args = keyless_args(&f, "bundle.json", &identity);
        *args.last_mut().expect("artifact") = bad.to_string();
        let output = run_owned(&args);
        let message = assert_failure(&output, 2, "artifact-digest-invalid");
        assert!(message.contains(bad), "{message}");
    }

    // An unreadable artifact.
    let mut args = keyless_args(&f, "bundle.json", &identity);
    *args.last_mut().expect("artifact") = f.path("no-such-artifact");
    assert_failure(&run_owned(&args), 2, "artifact-unreadable");

    // An unreadable or invalid trusted root.
    let mut args = keyless_args(&f, "bundle.json", &identity);
    let at = args
        .iter()
        .position(|a| a == "--trusted-root")
        .expect("flag")
        + 1;
    args[at] = f.path("no-such-root.json");
    assert_failure(&run_owned(&args), 2, "trusted-root-invalid");
    args[at] = f.write("bad-root.json", b"{\"mediaType\": 1}");
    assert_failure(&run_owned(&args), 2, "trusted-root-invalid");

    // An unreadable --key.
    let output = run(&[
        "blob",
        "--bundle",
        &bundle,
        "--key",
        &f.path("no-such-key.pub"),
        "--trusted-root",
        &root,
        "-o",
        "json",
        &artifact,
    ]);
    let message = assert_failure(&output, 2, "usage");
    assert!(message.contains("--key"), "{message}");

    // Flags clap refuses: no --bundle, no artifact, conflicting signers.
    for args in [
        vec!["blob", "--certificate-identity", &identity, &artifact],
        vec![
            "blob",
            "--bundle",
            &bundle,
            "--certificate-identity",
            &identity,
        ],
        vec![
            "blob",
            "--bundle",
            &bundle,
            "--key",
            &bundle,
            "--certificate-identity",
            &identity,
            &artifact,
        ],
        vec!["blob", "--bundle", &bundle, "--output", "yaml", &artifact],
    ] {
        let output = run(&args);
        assert_eq!(status(&output), 2, "{args:?}: {}", stderr(&output));
        assert!(stderr(&output).contains("error"), "{args:?}");
    }
}

#[test]
fn an_oversized_bundle_file_is_refused() {
    let f = Fixture::new("oversized");
    let mut bytes = sigstore()
        .sign(ARTIFACT, &SignOptions::default())
        .expect("signs")
        .to_json()
        .into_bytes();
    bytes.resize(50 * 1000 * 1000, b' ');
    f.write("huge.json", &bytes);
    let output = run_owned(&keyless_args(&f, "huge.json", &identity()));
    assert_failure(&output, 1, "bundle-too-large");
}

#[test]
fn hidden_aliases_verify_bundle_and_verify_blob_work() {
    let f = Fixture::new("aliases");
    f.bundle("bundle.json", SignOptions::default());
    let identity = identity();
    for command in ["verify-bundle", "verify-blob", "blob"] {
        // The sigstore-conformance argument order.
        let output = run(&[
            command,
            "--bundle",
            &f.path("bundle.json"),
            "--certificate-identity",
            &identity,
            "--certificate-oidc-issuer",
            GITHUB_ACTIONS_ISSUER,
            "--trusted-root",
            &f.path("trusted_root.json"),
            &f.path("artifact"),
        ]);
        assert_eq!(status(&output), 0, "{command}: {}", stderr(&output));
    }
    // Hidden: the help lists `blob` only.
    let help = run(&["--help"]);
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(text.contains("blob"), "{text}");
    assert!(!text.contains("verify-bundle"), "{text}");
}

#[test]
fn sigstore_root_file_names_the_trusted_root() {
    let f = Fixture::new("root-env");
    f.bundle("bundle.json", SignOptions::default());
    let identity = identity();
    let args = [
        "blob",
        "--bundle",
        &f.path("bundle.json"),
        "--certificate-identity",
        &identity,
        "--certificate-oidc-issuer",
        GITHUB_ACTIONS_ISSUER,
        "-o",
        "json",
        &f.path("artifact"),
    ];
    let output = run_with_env(&args, Some(&f.path("trusted_root.json")));
    assert_eq!(status(&output), 0, "{}", stderr(&output));
    assert_eq!(json(&output)["verified"], Value::Bool(true));

    // Without it, the built-in public-good root does not know the test log.
    let output = run(&args);
    assert_failure(&output, 1, "tlog-set-invalid");

    // --trusted-root wins over the environment.
    let mut with_flag = args.to_vec();
    let root = f.path("trusted_root.json");
    with_flag.splice(1..1, ["--trusted-root", root.as_str()]);
    let output = run_with_env(&with_flag, Some(&f.path("no-such-root.json")));
    assert_eq!(status(&output), 0, "{}", stderr(&output));
}

#[test]
fn key_flag_verifies_key_based_bundles() {
    let f = Fixture::new("key");
    let root = f.path("trusted_root.json");
    let artifact = f.path("artifact");
    for kind in [KeyKind::EcdsaP256, KeyKind::EcdsaP384, KeyKind::Ed25519] {
        let signed = f.bundle(
            "key-bundle.json",
            SignOptions {
                signer: Signer::Key(kind),
                ..SignOptions::default()
            },
        );
        let key = f.write("key.pub", signed.public_key_pem.as_bytes());
        let output = run(&[
            "blob",
            "--bundle",
            &f.path("key-bundle.json"),
            "--key",
            &key,
            "--trusted-root",
            &root,
            "-o",
            "json",
            &artifact,
        ]);
        assert_eq!(status(&output), 0, "{kind:?}: {}", stderr(&output));
        let value = json(&output);
        assert_eq!(value["signer"], "public-key");
        assert_eq!(value["identity"], Value::Null);
    }

    // Another key: rejected.
    let other = sigstore()
        .sign(
            ARTIFACT,
            &SignOptions {
                signer: Signer::Key(KeyKind::EcdsaP256),
                ..SignOptions::default()
            },
        )
        .expect("signs");
    let signed = f.bundle(
        "p256.json",
        SignOptions {
            signer: Signer::Key(KeyKind::EcdsaP256),
            ..SignOptions::default()
        },
    );
    assert_ne!(signed.public_key_pem, other.public_key_pem);
    let other_key = f.write("other.pub", other.public_key_pem.as_bytes());
    let output = run(&[
        "blob",
        "--bundle",
        &f.path("p256.json"),
        "--key",
        &other_key,
        "--trusted-root",
        &root,
        "-o",
        "json",
        &artifact,
    ]);
    assert_failure(&output, 1, "signature-invalid");

    // A keyless bundle with --key: the wrong kind.
    f.bundle("keyless.json", SignOptions::default());
    let output = run(&[
        "blob",
        "--bundle",
        &f.path("keyless.json"),
        "--key",
        &other_key,
        "--trusted-root",
        &root,
        "-o",
        "json",
        &artifact,
    ]);
    assert_failure(&output, 1, "bundle-kind-mismatch");

    // A file that is not a public key: a usage error.
    let junk = f.write(
        "junk.pub",
        b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
    );
    let output = run(&[
        "blob",
        "--bundle",
        &f.path("p256.json"),
        "--key",
        &junk,
        "--trusted-root",
        &root,
        "-o",
        "json",
        &artifact,
    ]);
    assert_failure(&output, 2, "usage");
}

#[test]
fn the_artifact_may_be_given_as_its_sha256_digest() {
    let f = Fixture::new("digest");
    f.bundle("bundle.json", SignOptions::default());
    let identity = identity();
    let mut args = keyless_args(&f, "bundle.json", &identity);
    let digest = format!("sha256:{}", sha256_hex(ARTIFACT));
    *args.last_mut().expect("artifact") = digest.clone();
    let output = run_owned(&args);
    assert_eq!(status(&output), 0, "{}", stderr(&output));
    assert_eq!(json(&output)["artifact_digest"], digest.as_str());

    // Upper-case hex is the same digest.
    *args.last_mut().expect("artifact") = format!("sha256:{}", sha256_hex(ARTIFACT).to_uppercase());
    assert_eq!(status(&run_owned(&args)), 0);

    // Another digest: the bundle does not sign it.
    let other = format!("sha256:{}", sha256_hex(b"other"));
    *args.last_mut().expect("artifact") = other.clone();
    let message = assert_failure(&run_owned(&args), 1, "artifact-mismatch");
    assert!(
        message.contains(&other) && message.contains(&digest),
        "{message}"
    );
}

#[test]
fn the_artifact_may_be_given_as_its_sha512_or_sha384_digest() {
    let f = Fixture::new("digest512");
    let options = SignOptions {
        content: verify_testkit::Content::Dsse,
        subject_algorithms: vec!["sha512", "sha384"],
        ..SignOptions::default()
    };
    let signed = f.bundle("bundle.json", options);
    let statement: Value =
        serde_json::from_slice(signed.dsse_payload.as_deref().expect("a DSSE bundle")).unwrap();
    let digests = &statement["subject"][0]["digest"];
    assert!(digests.get("sha256").is_none(), "{statement}");
    let identity = identity();
    let mut args = keyless_args(&f, "bundle.json", &identity);

    // The file itself: sigstore-verify hashes it by SHA-512 for the subject.
    let output = run_owned(&args);
    assert_eq!(status(&output), 0, "{}", stderr(&output));

    for alg in ["sha512", "sha384"] {
        let digest = format!("{alg}:{}", digests[alg].as_str().unwrap());
        *args.last_mut().expect("artifact") = digest.clone();
        let output = run_owned(&args);
        assert_eq!(status(&output), 0, "{alg}: {}", stderr(&output));
        assert_eq!(json(&output)["artifact_digest"], digest.as_str());
    }

    // Another SHA-512: not a subject, named as such.
    let other = format!("sha512:{}", "ab".repeat(64));
    *args.last_mut().expect("artifact") = other.clone();
    let message = assert_failure(&run_owned(&args), 1, "artifact-mismatch");
    assert!(message.contains(&other), "{message}");

    // A message signature binds by SHA-256 only: a SHA-512 digest is a
    // usage error that says so.
    f.bundle("message.json", SignOptions::default());
    let mut args = keyless_args(&f, "message.json", &identity);
    *args.last_mut().expect("artifact") = format!("sha512:{}", "ab".repeat(64));
    let message = assert_failure(&run_owned(&args), 2, "artifact-digest-algorithm-mismatch");
    assert!(message.contains("sha256"), "{message}");

    // An algorithm that is not supported is a usage error, not an
    // unreadable file; a wrong length for a known one is a bad digest.
    for (arg, reason) in [
        (
            "md5:d41d8cd98f00b204e9800998ecf8427e",
            "artifact-digest-unsupported",
        ),
        (
            "sha1:da39a3ee5e6b4b0d3255bfef95601890afd80709",
            "artifact-digest-unsupported",
        ),
        ("sha512:abcd", "artifact-digest-invalid"),
    ] {
        *args.last_mut().expect("artifact") = arg.to_string();
        let message = assert_failure(&run_owned(&args), 2, reason);
        assert!(!message.contains("cannot read artifact"), "{message}");
    }
}

#[test]
fn regexp_and_workflow_flags_follow_cosign() {
    let f = Fixture::new("regexp");
    f.bundle("bundle.json", SignOptions::default());
    let base = |identity_flag: &str, pattern: &str| -> Vec<String> {
        vec![
            "blob".into(),
            "--bundle".into(),
            f.path("bundle.json"),
            identity_flag.into(),
            pattern.into(),
            "--certificate-oidc-issuer-regexp".into(),
            "githubusercontent".into(),
            "--trusted-root".into(),
            f.path("trusted_root.json"),
            "-o".into(),
            "json".into(),
            f.path("artifact"),
        ]
    };
    // Unanchored: searched.
    let output = run_owned(&base(
        "--certificate-identity-regexp",
        "example-org/example-repo",
    ));
    assert_eq!(status(&output), 0, "{}", stderr(&output));
    // Anchored but matching only a part: rejected.
    let output = run_owned(&base(
        "--certificate-identity-regexp",
        r"^https://github\.com/example-org/example-repo/\.github/workflows/release\.yml$",
    ));
    assert_failure(&output, 1, "identity-mismatch");

    // Workflow claims.
    let mut args = base("--certificate-identity", &identity());
    args.splice(
        1..1,
        [
            "--certificate-github-workflow-repository".to_string(),
            "example-org/example-repo".to_string(),
            "--certificate-github-workflow-ref".to_string(),
            "refs/heads/main".to_string(),
            "--certificate-github-workflow-trigger".to_string(),
            "push".to_string(),
        ],
    );
    assert_eq!(status(&run_owned(&args)), 0);
    let mut args = base("--certificate-identity", &identity());
    args.splice(
        1..1,
        [
            "--certificate-github-workflow-ref".to_string(),
            "refs/tags/v1.0.0".to_string(),
        ],
    );
    let message = assert_failure(&run_owned(&args), 1, "claim-mismatch");
    assert!(
        message.contains("github-workflow-ref") && message.contains("refs/tags/v1.0.0"),
        "{message}"
    );
}

/// The repository's `testdata/example/`, committed for users to try.
fn example_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/example")
}

#[test]
fn the_committed_example_verifies() {
    let dir = example_dir();
    let file = |name: &str| dir.join(name).display().to_string();
    let lines = std::fs::read_to_string(dir.join("identity.txt")).expect("identity.txt");
    let mut lines = lines.lines();
    let identity = lines.next().expect("identity line").trim().to_string();
    let issuer = lines.next().expect("issuer line").trim().to_string();
    assert_eq!(identity, self::identity());
    assert_eq!(issuer, GITHUB_ACTIONS_ISSUER);

    for bundle in ["artifact.sigstore.json", "dsse.sigstore.json"] {
        let output = run(&[
            "verify-bundle",
            "--bundle",
            &file(bundle),
            "--certificate-identity",
            &identity,
            "--certificate-oidc-issuer",
            &issuer,
            "--trusted-root",
            &file("trusted_root.json"),
            "-o",
            "json",
            &file("artifact"),
        ]);
        assert_eq!(status(&output), 0, "{bundle}: {}", stderr(&output));
        let value = json(&output);
        assert_eq!(value["identity"], identity.as_str());
        assert_eq!(value["issuer"], issuer.as_str());
    }
    let output = run(&[
        "verify-bundle",
        "--bundle",
        &file("artifact.key.sigstore.json"),
        "--key",
        &file("key.pub"),
        "--trusted-root",
        &file("trusted_root.json"),
        &file("artifact"),
    ]);
    assert_eq!(status(&output), 0, "{}", stderr(&output));

    // The example is bound to its own trusted root and its own artifact.
    let output = run(&[
        "verify-bundle",
        "--bundle",
        &file("artifact.sigstore.json"),
        "--certificate-identity",
        &identity,
        "--certificate-oidc-issuer",
        &issuer,
        "--trusted-root",
        &file("trusted_root.json"),
        "-o",
        "json",
        &file("identity.txt"),
    ]);
    assert_failure(&output, 1, "artifact-mismatch");
}

#[test]
fn username_other_name_identities_are_matched_and_reported() {
    let f = Fixture::new("other-name");
    f.bundle(
        "bundle.json",
        SignOptions {
            identity: Some(verify_testkit::SanIdentity::OtherName(
                "user!oidc.example".into(),
            )),
            issuer: "https://oidc.example".into(),
            github: None,
            ..SignOptions::default()
        },
    );
    let args = |flag: &str, value: &str| {
        run_owned(&[
            "blob".into(),
            "--bundle".into(),
            f.path("bundle.json"),
            flag.into(),
            value.into(),
            "--certificate-oidc-issuer".into(),
            "https://oidc.example".into(),
            "--trusted-root".into(),
            f.path("trusted_root.json"),
            "--output".into(),
            "json".into(),
            f.path("artifact"),
        ])
    };
    let output = args("--certificate-identity", "user!oidc.example");
    assert_eq!(status(&output), 0, "{}", stderr(&output));
    assert_eq!(json(&output)["identity"], "user!oidc.example");
    let output = args("--certificate-identity-regexp", "^user!");
    assert_eq!(status(&output), 0, "{}", stderr(&output));
    let message = assert_failure(
        &args("--certificate-identity", "someone!oidc.example"),
        1,
        "identity-mismatch",
    );
    assert!(message.contains("user!oidc.example"), "{message}");
}

//! `verify artifact` (alias `verify-artifact`) as a user runs it: the built
//! binary on real slsa-github-generator provenance from the shared
//! conformance data, and on provenance made by the test Sigstore, checking
//! exit statuses (0 verified, 1 rejected, 2 usage or unreadable input), the
//! slsa-verifier error names and the `--output json` shape.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{json, Value};
use verify_testkit::{Content, GithubWorkflowClaims, SanIdentity, SignOptions, TestSigstore};

const GENERATOR: &str = "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml";

fn run(args: &[&str], cwd: Option<&Path>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_verify"));
    command.args(args).env_remove("SIGSTORE_ROOT_FILE");
    if let Some(dir) = cwd {
        command.current_dir(dir);
    }
    command.output().expect("the verify binary runs")
}

fn status(output: &Output) -> i32 {
    output.status.code().expect("exited, not killed")
}

fn json_out(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {:?}; stderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// The shared generic-generator data (v2.1.0), beside the repository. The
/// tests that use it fail, rather than pass vacuously, when it is missing.
fn shared_data() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/conformance/slsa/data/gha_generic/v2.1.0");
    assert!(
        dir.is_dir(),
        "{} is not present: these tests need the shared conformance data beside the repository",
        dir.display()
    );
    dir
}

#[test]
fn real_generic_provenance_passes_and_fails_like_slsa_verifier() {
    let data = shared_data();
    let provenance = data.join("binary-linux-amd64-push-v13.0.30.intoto.jsonl");
    let artifact = data.join("binary-linux-amd64-push-v13.0.30");
    let (p, a) = (provenance.to_str().unwrap(), artifact.to_str().unwrap());
    let base = [
        "verify-artifact",
        "--provenance-path",
        p,
        "--source-uri",
        "github.com/slsa-framework/example-package",
    ];
    let with = |extra: &[&str]| {
        let mut args: Vec<&str> = base.to_vec();
        args.extend_from_slice(extra);
        args.push(a);
        run(&args, None)
    };

    let ok = with(&["--source-tag", "v13.0.30", "--source-branch", "main"]);
    assert_eq!(status(&ok), 0, "{}", String::from_utf8_lossy(&ok.stderr));
    let stderr = String::from_utf8_lossy(&ok.stderr);
    assert!(
        stderr.contains("PASSED: SLSA verification passed"),
        "{stderr}"
    );
    assert!(stderr.contains("at commit "), "{stderr}");

    for (extra, expected) in [
        (&["--source-tag", "v13.0"][..], "ErrorMismatchTag"),
        (&["--source-versioned-tag", "v13.1"][..], "ErrorMismatchVersionedTag"),
        (&["--source-branch", "master"][..], "ErrorMismatchBranch"),
        (
            &["--builder-id", "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/not-trusted.yml"][..],
            "ErrorUntrustedReusableWorkflow",
        ),
    ] {
        let mut args = extra.to_vec();
        args.extend(["--output", "json"]);
        let out = with(&args);
        assert_eq!(status(&out), 1, "{extra:?}");
        let v = json_out(&out);
        assert_eq!(v["verified"], false);
        assert_eq!(v["reason"]["slsa_verifier_error"], expected, "{extra:?}: {v}");
    }

    // The JSON verdict, with the statement.
    let out = with(&[
        "--source-versioned-tag",
        "v13",
        "--output",
        "json",
        "--print-provenance",
    ]);
    assert_eq!(status(&out), 0);
    let v = json_out(&out);
    assert_eq!(v["verified"], true);
    let first = &v["artifacts"][0];
    assert_eq!(first["builder_id"], format!("{GENERATOR}@refs/tags/v2.1.0"));
    assert_eq!(first["source_repository"], "slsa-framework/example-package");
    assert_eq!(first["predicate_type"], "https://slsa.dev/provenance/v0.2");
    assert_eq!(
        first["statement"]["subject"][0]["digest"]["sha256"],
        "376e7e01348585b6e6643bc6663146b9d525d9b41228bf180eaeb4d4a3706caa"
    );
}

#[test]
fn usage_errors_exit_2() {
    let missing = "/nonexistent/provenance.intoto.jsonl";
    for args in [
        // --source-uri is required.
        vec!["artifact", "--provenance-path", missing, "a"],
        // At least one artifact.
        vec![
            "artifact",
            "--provenance-path",
            missing,
            "--source-uri",
            "github.com/o/r",
        ],
        // --source-tag and --source-versioned-tag exclude each other.
        vec![
            "artifact",
            "--provenance-path",
            missing,
            "--source-uri",
            "github.com/o/r",
            "--source-tag",
            "v1",
            "--source-versioned-tag",
            "v1",
            "a",
        ],
        // KEY=VALUE with exactly one '='.
        vec![
            "artifact",
            "--provenance-path",
            missing,
            "--source-uri",
            "github.com/o/r",
            "--build-workflow-input",
            "a=b=c",
            "a",
        ],
        // An unreadable provenance.
        vec![
            "artifact",
            "--provenance-path",
            missing,
            "--source-uri",
            "github.com/o/r",
            "a",
        ],
    ] {
        assert_eq!(status(&run(&args, None)), 2, "{args:?}");
    }
}

/// A directory with provenance made by the test Sigstore.
struct Fixture {
    dir: PathBuf,
}

impl Fixture {
    fn new(name: &str) -> Self {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("verify-cli-artifact")
            .join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the test directory");
        Self { dir }
    }

    fn write(&self, name: &str, bytes: &[u8]) -> String {
        let path = self.dir.join(name);
        std::fs::write(&path, bytes).expect("write a test file");
        path.display().to_string()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Options for generic-generator provenance of `source` (a tag v1.4.0).
fn generic_options(source: &str) -> SignOptions {
    SignOptions {
        content: Content::Dsse,
        identity: Some(SanIdentity::Uri(format!("{GENERATOR}@refs/tags/v2.1.0"))),
        github: Some(GithubWorkflowClaims::new(
            "acme/app",
            ".github/workflows/release.yml",
            "refs/tags/v1.4.0",
            "0123456789abcdef0123456789abcdef01234567",
        )),
        predicate_type: "https://slsa.dev/provenance/v0.2".into(),
        predicate: json!({
            "builder": {"id": format!("{GENERATOR}@refs/tags/v2.1.0")},
            "buildType": "https://github.com/slsa-framework/slsa-github-generator/generic@v1",
            "invocation": {
                "configSource": {"uri": source, "digest": {"sha1": "0123456789abcdef0123456789abcdef01234567"}, "entryPoint": ".github/workflows/release.yml"},
                "environment": {
                    "github_ref_type": "tag", "github_ref": "refs/tags/v1.4.0", "github_base_ref": "",
                    "github_event_name": "push", "github_event_payload": {"base_ref": "refs/heads/main"},
                },
            },
            "materials": [{"uri": source, "digest": {"sha1": "0123456789abcdef0123456789abcdef01234567"}}],
        }),
        ..SignOptions::default()
    }
}

#[test]
fn provenance_naming_its_subject_by_sha512_alone_verifies() {
    let sigstore = TestSigstore::new();
    let fixture = Fixture::new("sha512-subject");
    let artifact = b"package tarball\n";
    let source = "git+https://github.com/acme/app@refs/tags/v1.4.0";
    let options = SignOptions {
        subject_algorithms: vec!["sha512"],
        ..generic_options(source)
    };
    let signed = sigstore.sign(artifact, &options).expect("signs");
    let statement: Value = serde_json::from_slice(signed.dsse_payload.as_deref().unwrap()).unwrap();
    assert!(statement["subject"][0]["digest"].get("sha256").is_none());
    let root = fixture.write("trusted_root.json", sigstore.trusted_root_json().as_bytes());
    let provenance = fixture.write("pkg.intoto.jsonl", signed.to_json().as_bytes());
    let pkg = fixture.write("pkg", artifact);
    let other = fixture.write("other", b"another package\n");
    let exec = |file: &str| {
        run(
            &[
                "artifact",
                "--trusted-root",
                &root,
                "--provenance-path",
                &provenance,
                "--source-uri",
                "github.com/acme/app",
                "--output",
                "json",
                file,
            ],
            None,
        )
    };
    let ok = exec(&pkg);
    assert_eq!(status(&ok), 0, "{}", String::from_utf8_lossy(&ok.stderr));
    let out = exec(&other);
    assert_eq!(status(&out), 1);
    let v = json_out(&out);
    assert_eq!(
        v["reason"]["slsa_verifier_error"], "ErrorMismatchHash",
        "{v}"
    );
    assert!(v.to_string().contains("sha512:"), "{v}");
}

#[test]
fn test_sigstore_provenance_with_a_private_root() {
    let sigstore = TestSigstore::new();
    let fixture = Fixture::new("private-root");
    let artifact = b"app binary\n";
    let source = "git+https://github.com/acme/app@refs/tags/v1.4.0";
    let options = generic_options(source);
    let signed = sigstore.sign(artifact, &options).expect("signs");
    let root = fixture.write("trusted_root.json", sigstore.trusted_root_json().as_bytes());
    let provenance = fixture.write("app.intoto.jsonl", signed.to_json().as_bytes());
    let app = fixture.write("app", artifact);
    let other = fixture.write("other", b"another binary\n");
    let args = |files: &[&str], extra: &[&str]| {
        let mut v = vec![
            "artifact".to_string(),
            "--trusted-root".into(),
            root.clone(),
            "--provenance-path".into(),
            provenance.clone(),
            "--source-uri".into(),
            "github.com/acme/app".into(),
        ];
        v.extend(extra.iter().map(|s| s.to_string()));
        v.extend(files.iter().map(|s| s.to_string()));
        v
    };
    let exec = |a: Vec<String>| run(&a.iter().map(String::as_str).collect::<Vec<_>>(), None);

    let ok = exec(args(
        &[&app],
        &[
            "--source-versioned-tag",
            "v1.4",
            "--source-branch",
            "main",
            "--print-provenance",
        ],
    ));
    assert_eq!(status(&ok), 0, "{}", String::from_utf8_lossy(&ok.stderr));
    let statement: Value = serde_json::from_slice(&ok.stdout).expect("the statement on stdout");
    assert_eq!(
        statement["predicate"]["buildType"],
        "https://github.com/slsa-framework/slsa-github-generator/generic@v1"
    );

    // The same artifact twice shares the builder; another file is not a subject.
    assert_eq!(status(&exec(args(&[&app, &app], &[]))), 0);
    let out = exec(args(&[&app, &other], &["--output", "json"]));
    assert_eq!(status(&out), 1);
    let v = json_out(&out);
    assert_eq!(v["reason"]["slsa_verifier_error"], "ErrorMismatchHash");
    assert_eq!(v["artifact"], other);

    // Without the private root, the production root does not know its log.
    let mut no_root = args(&[&app], &["--output", "json"]);
    no_root.drain(1..3);
    let out = exec(no_root);
    assert_eq!(status(&out), 1);
    let v = json_out(&out);
    let name = v["reason"]["slsa_verifier_error"]
        .as_str()
        .unwrap_or_default();
    assert!(
        ["ErrorRekorPubKey", "ErrorInvalidRekorEntry"].contains(&name),
        "{v}"
    );
}

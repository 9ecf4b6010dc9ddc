//! `verify github-attestation` (alias `verify-github-attestation`) on
//! GitHub-artifact-attestation-shaped bundles made by the test Sigstore:
//! SLSA v1 provenance of build type
//! https://actions.github.io/buildtypes/workflow/v1, signed by bazel-contrib's
//! releaser workflow, for each flag's pass and fail with slsa-verifier's
//! error names and exit statuses.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{json, Value};
use verify_testkit::{Content, GithubWorkflowClaims, SanIdentity, SignOptions, TestSigstore};

const RELEASER: &str =
    "https://github.com/bazel-contrib/.github/.github/workflows/release_ruleset.yaml";
const SHA: &str = "89abcdef0123456789abcdef0123456789abcdef";
const ARTIFACT: &[u8] = b"rules_acme-v1.0.0.tar.gz contents";

fn predicate(builder_ref: &str, trigger_repo: &str) -> Value {
    json!({
        "buildDefinition": {
            "buildType": "https://actions.github.io/buildtypes/workflow/v1",
            "externalParameters": {"workflow": {
                "ref": "refs/tags/v1.0.0",
                "repository": trigger_repo,
                "path": ".github/workflows/release.yml",
            }},
            "internalParameters": {"github": {
                "event_name": "push",
                "repository_id": "123",
                "repository_owner_id": "456",
                "runner_environment": "github-hosted",
            }},
            "resolvedDependencies": [{
                "uri": "git+https://github.com/acme/rules_acme@refs/tags/v1.0.0",
                "digest": {"gitCommit": SHA},
            }],
        },
        "runDetails": {
            "builder": {"id": format!("{RELEASER}@{builder_ref}")},
            "metadata": {"invocationId": "https://github.com/acme/rules_acme/actions/runs/1/attempts/1"},
        },
    })
}

fn options(san: &str, predicate: Value) -> SignOptions {
    SignOptions {
        content: Content::Dsse,
        identity: Some(SanIdentity::Uri(san.to_string())),
        github: Some(GithubWorkflowClaims::new(
            "acme/rules_acme",
            ".github/workflows/release.yml",
            "refs/tags/v1.0.0",
            SHA,
        )),
        predicate_type: "https://slsa.dev/provenance/v1".into(),
        predicate,
        artifact_name: "rules_acme-v1.0.0.tar.gz".into(),
        ..SignOptions::default()
    }
}

struct Fixture {
    dir: PathBuf,
    root: String,
    artifact: String,
}

impl Fixture {
    fn new(label: &str, sigstore: &TestSigstore) -> Self {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("gh-attestation-{label}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let root = dir.join("trusted_root.json");
        std::fs::write(&root, sigstore.trusted_root_json()).unwrap();
        let artifact = dir.join("rules_acme-v1.0.0.tar.gz");
        std::fs::write(&artifact, ARTIFACT).unwrap();
        Self {
            root: root.display().to_string(),
            artifact: artifact.display().to_string(),
            dir,
        }
    }

    fn bundle(&self, name: &str, sigstore: &TestSigstore, options: &SignOptions) -> String {
        let signed = sigstore.sign(ARTIFACT, options).expect("signs");
        let path = self.dir.join(name);
        std::fs::write(&path, signed.to_json()).unwrap();
        path.display().to_string()
    }

    fn run(&self, bundle: &str, builder_id: &str, source: &str, extra: &[&str]) -> (i32, Value) {
        let mut args = vec![
            "github-attestation",
            "--output",
            "json",
            "--trusted-root",
            &self.root,
            "--attestation-path",
            bundle,
            "--builder-id",
            builder_id,
            "--source-uri",
            source,
        ];
        args.extend_from_slice(extra);
        if !extra.iter().any(|a| !a.starts_with("--")) {
            args.push(&self.artifact);
        }
        let out = verify(&args);
        (out.status.code().unwrap(), json_of(&out))
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn verify(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_verify"))
        .args(args)
        .env_remove("SIGSTORE_ROOT_FILE")
        .output()
        .unwrap()
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn assert_rejected(got: (i32, Value), status: i32, name: &str) {
    let (code, json) = got;
    assert_eq!(code, status, "{json}");
    assert_eq!(json["verified"], false, "{json}");
    assert_eq!(json["reason"]["slsa_verifier_error"], name, "{json}");
}

#[test]
fn a_github_attestation_passes_and_each_flag_is_checked() {
    let sigstore = TestSigstore::new();
    let f = Fixture::new("flags", &sigstore);
    let san = format!("{RELEASER}@refs/tags/v7.2.0");
    let good = f.bundle(
        "good.json",
        &sigstore,
        &options(
            &san,
            predicate("refs/tags/v7.2.0", "https://github.com/acme/rules_acme"),
        ),
    );
    let source = "github.com/acme/rules_acme";

    for builder in [
        RELEASER.to_string(),
        format!("{RELEASER}@v7.2.0"),
        format!("{RELEASER}@refs/tags/v7.2.0"),
    ] {
        let (code, json) = f.run(&good, &builder, source, &["--print-attestation"]);
        assert_eq!(code, 0, "{builder}: {json}");
        let a = &json["artifacts"][0];
        assert_eq!(a["builder_id"], format!("{RELEASER}@refs/tags/v7.2.0"));
        assert_eq!(a["source_repository"], "acme/rules_acme");
        assert_eq!(
            a["statement"]["predicate"]["buildDefinition"]["buildType"],
            "https://actions.github.io/buildtypes/workflow/v1"
        );
    }
    // The alias.
    let out = verify(&[
        "verify-github-attestation",
        "--trusted-root",
        &f.root,
        "--attestation-path",
        &good,
        "--builder-id",
        RELEASER,
        "--source-uri",
        source,
        &f.artifact,
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // --builder-id: another version, another workflow, another host.
    assert_rejected(
        f.run(&good, &format!("{RELEASER}@v7.1.0"), source, &[]),
        1,
        "ErrorUntrustedReusableWorkflow",
    );
    assert_rejected(
        f.run(
            &good,
            "https://github.com/bazel-contrib/publish-to-bcr/.github/workflows/publish.yaml",
            source,
            &[],
        ),
        1,
        "ErrorUntrustedReusableWorkflow",
    );
    assert_rejected(
        f.run(&good, "https://gitlab.com/acme/builder", source, &[]),
        2,
        "ErrorVerifierNotSupported",
    );
    // --source-uri.
    assert_rejected(
        f.run(&good, RELEASER, "github.com/acme/other", &[]),
        1,
        "ErrorMismatchSource",
    );
    // The artifact.
    let other = f.dir.join("other.tar.gz");
    std::fs::write(&other, b"other bytes").unwrap();
    assert_rejected(
        f.run(&good, RELEASER, source, &[other.to_str().unwrap()]),
        1,
        "ErrorMismatchHash",
    );
    // --attestation-path unreadable: usage.
    let (code, _) = f.run("/nonexistent/bundle.json", RELEASER, source, &[]);
    assert_eq!(code, 2);
    // --builder-id is required, as in slsa-verifier.
    let out = verify(&[
        "github-attestation",
        "--trusted-root",
        &f.root,
        "--attestation-path",
        &good,
        "--source-uri",
        source,
        &f.artifact,
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_signer_and_the_provenance_must_agree() {
    let sigstore = TestSigstore::new();
    let f = Fixture::new("rules", &sigstore);
    let source = "github.com/acme/rules_acme";
    // Builder at a branch: not a release.
    let san = format!("{RELEASER}@refs/heads/main");
    let b = f.bundle(
        "branch.json",
        &sigstore,
        &options(
            &san,
            predicate("refs/heads/main", "https://github.com/acme/rules_acme"),
        ),
    );
    assert_rejected(f.run(&b, RELEASER, source, &[]), 1, "ErrorInvalidRef");
    // The provenance names another builder version than the certificate.
    let san = format!("{RELEASER}@refs/tags/v7.2.0");
    let b = f.bundle(
        "mismatch.json",
        &sigstore,
        &options(
            &san,
            predicate("refs/tags/v7.1.0", "https://github.com/acme/rules_acme"),
        ),
    );
    assert_rejected(
        f.run(&b, RELEASER, source, &[]),
        1,
        "ErrorMismatchBuilderID",
    );
    // The trigger repository differs from the source.
    let b = f.bundle(
        "trigger.json",
        &sigstore,
        &options(
            &san,
            predicate("refs/tags/v7.2.0", "https://github.com/evil/rules_acme"),
        ),
    );
    assert_rejected(f.run(&b, RELEASER, source, &[]), 1, "ErrorMismatchSource");
    // Another build type for this builder.
    let mut p = predicate("refs/tags/v7.2.0", "https://github.com/acme/rules_acme");
    p["buildDefinition"]["buildType"] =
        json!("https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1");
    let b = f.bundle("buildtype.json", &sigstore, &options(&san, p));
    assert_rejected(f.run(&b, RELEASER, source, &[]), 1, "ErrorInvalidBuildType");
    // A signer whose provenance slsa-verifier cannot read: an arbitrary
    // reusable workflow, even when named by --builder-id.
    let other = "https://github.com/acme/builders/.github/workflows/attest.yml";
    let mut p = predicate("refs/tags/v1.0.0", "https://github.com/acme/rules_acme");
    p["runDetails"]["builder"]["id"] = json!(format!("{other}@refs/tags/v1.0.0"));
    let b = f.bundle(
        "unknown.json",
        &sigstore,
        &options(&format!("{other}@refs/tags/v1.0.0"), p),
    );
    assert_rejected(f.run(&b, other, source, &[]), 1, "ErrorInvalidBuilderID");
    // A bare DSSE envelope is not a GitHub attestation.
    let bundle: Value =
        serde_json::from_str(&std::fs::read_to_string(f.dir.join("mismatch.json")).unwrap())
            .unwrap();
    let env_path = f.dir.join("envelope.json");
    std::fs::write(&env_path, bundle["dsseEnvelope"].to_string()).unwrap();
    assert_rejected(
        f.run(env_path.to_str().unwrap(), RELEASER, source, &[]),
        1,
        "ErrorInvalidFormat",
    );
}

#[test]
fn the_signer_must_be_github_actions_and_its_workflow_uri_must_carry_a_ref() {
    // Before any builder rule. The issuer: slsa-verifier checks it while
    // verifying the bundle (sigstore-go's certificate identity with GitHub
    // Actions' issuer, in rekor.go), so a bundle from another issuer is
    // ErrorInvalidCertificate, not VerifyBuilderIdentity's
    // ErrorInvalidOIDCIssuer. The workflow URI must carry a ref
    // (VerifyBuilderIdentity: ErrorMalformedURI).
    let sigstore = TestSigstore::new();
    let f = Fixture::new("identity", &sigstore);
    let source = "github.com/acme/rules_acme";
    let provenance = || predicate("refs/tags/v7.2.0", "https://github.com/acme/rules_acme");

    let mut other_issuer = options(&format!("{RELEASER}@refs/tags/v7.2.0"), provenance());
    other_issuer.issuer = "https://accounts.google.com".into();
    let b = f.bundle("issuer.json", &sigstore, &other_issuer);
    assert_rejected(
        f.run(&b, RELEASER, source, &[]),
        1,
        "ErrorInvalidCertificate",
    );

    let b = f.bundle("noref.json", &sigstore, &options(RELEASER, provenance()));
    assert_rejected(f.run(&b, RELEASER, source, &[]), 1, "ErrorMalformedURI");
}

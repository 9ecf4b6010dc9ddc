//! `verify blob` as a user runs it, continued from `blob.rs`: the artifact
//! given by its `sha256:`, `sha384:` or `sha512:` digest, cosign's regexp
//! and GitHub workflow flags, username (`otherName`) identities, the
//! committed example in `testdata/example/`, and a bundle whose only time
//! is a fractional RFC 3161 timestamp.

mod blob_support;

use blob_support::*;

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
fn an_artifact_named_by_sha384_alone_verifies_by_digest_and_by_file() {
    // sigstore-verify cannot bind such a statement; verify-core's own DSSE
    // path verifies it.
    let f = Fixture::new("digest384");
    let options = SignOptions {
        content: verify_testkit::Content::Dsse,
        subject_algorithms: vec!["sha384"],
        ..SignOptions::default()
    };
    let signed = f.bundle("bundle.json", options);
    let statement: Value =
        serde_json::from_slice(signed.dsse_payload.as_deref().expect("a DSSE bundle")).unwrap();
    let digest = format!(
        "sha384:{}",
        statement["subject"][0]["digest"]["sha384"]
            .as_str()
            .unwrap()
    );
    assert_eq!(
        statement["subject"][0]["digest"].as_object().unwrap().len(),
        1,
        "{statement}"
    );
    let identity = identity();
    let mut args = keyless_args(&f, "bundle.json", &identity);

    // The file: hashed with SHA-384 for the subject, and reported so.
    let output = run_owned(&args);
    assert_eq!(status(&output), 0, "{}", stderr(&output));
    let value = json(&output);
    assert_eq!(value["artifact_digest"], digest.as_str());
    assert_eq!(value["identity"], identity.as_str());
    assert_eq!(value["tlog_verified"], Value::Bool(true));

    // Its digest.
    *args.last_mut().expect("artifact") = digest.clone();
    let output = run_owned(&args);
    assert_eq!(status(&output), 0, "{}", stderr(&output));
    assert_eq!(json(&output)["artifact_digest"], digest.as_str());

    // Another file, or another SHA-384: not the subject.
    *args.last_mut().expect("artifact") = f.write("other", b"other bytes");
    assert_failure(&run_owned(&args), 1, "artifact-mismatch");
    *args.last_mut().expect("artifact") = format!("sha384:{}", "ab".repeat(48));
    assert_failure(&run_owned(&args), 1, "artifact-mismatch");

    // A broken signature is still refused on this path.
    f.bundle(
        "corrupt.json",
        SignOptions {
            content: verify_testkit::Content::Dsse,
            subject_algorithms: vec!["sha384"],
            corrupt_signature: true,
            ..SignOptions::default()
        },
    );
    let args = keyless_args(&f, "corrupt.json", &identity);
    assert_failure(&run_owned(&args), 1, "signature-invalid");
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

/// A bundle whose only verified time is an RFC 3161 timestamp with
/// fractional seconds (a log entry with an inclusion proof and no SET, as
/// Rekor v2 gives), for a message signature and a DSSE attestation.
#[test]
fn a_fractional_timestamp_as_the_only_time_verifies() {
    for content in [
        verify_testkit::Content::MessageSignature,
        verify_testkit::Content::Dsse,
    ] {
        let f = Fixture::new(&format!("fractional-only-{content:?}"));
        f.bundle(
            "bundle.json",
            SignOptions {
                content,
                rfc3161_timestamp: true,
                timestamp_millis: 250,
                inclusion_promise: false,
                ..SignOptions::default()
            },
        );
        let identity = identity();
        let output = run_owned(&keyless_args(&f, "bundle.json", &identity));
        assert_eq!(status(&output), 0, "{content:?}: {}", stderr(&output));
        let value = json(&output);
        assert_eq!(value["verified"], Value::Bool(true));
        let timestamps = value["signed_timestamps"].as_array().expect("an array");
        assert_eq!(timestamps.len(), 1, "{value}");
        assert!(timestamps[0].as_str().unwrap().ends_with(".25Z"), "{value}");
        assert_eq!(value["tlog_verified"], Value::Bool(true));
        assert!(
            value.get("integrated_time").is_none_or(Value::is_null),
            "{value}"
        );

        // Another artifact is refused (exit 1).
        std::fs::write(f.path("artifact"), b"other bytes").unwrap();
        let output = run_owned(&keyless_args(&f, "bundle.json", &identity));
        assert_eq!(status(&output), 1, "{content:?}: {}", stderr(&output));
    }
}

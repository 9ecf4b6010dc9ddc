//! `verify blob` as a user runs it: the built binary on files in a temporary
//! directory, checking exit statuses (0 verified, 1 rejected, 2 usage or
//! unreadable input), the `--output json` shape, the cosign-compatible
//! aliases, `SIGSTORE_ROOT_FILE` and key-based bundles. The artifact's
//! digest forms, identity flags and the committed example are in
//! `blob_identity.rs`.

mod blob_support;

use blob_support::*;

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

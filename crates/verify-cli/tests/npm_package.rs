//! `verify npm-package` (alias `verify-npm-package`) on npm-shaped
//! attestation sets made by the test Sigstore: a keyless SLSA provenance
//! bundle with a SHA-512 `pkg:npm/` subject (the npm CLI on a GitHub-hosted
//! runner, v1.0 and v0.2, and a BYOB delegator) and a publish attestation
//! signed with a test P-256 "npm registry" key named by key ID; each flag's
//! pass and fail, with slsa-verifier's error names and exit statuses.

mod npm_env;

use std::process::Command;

use npm_env::*;
use serde_json::{json, Value};
use verify_testkit::{SanIdentity, Signer, TestSigstore};

#[test]
fn npm_cli_provenance_passes_and_each_flag_fails() {
    let sigstore = TestSigstore::new();
    let fx = Fixture::new("cli", &sigstore);
    let prov = provenance_options("https://slsa.dev/provenance/v1", npm_v1_predicate());
    let publish = publish_options("@acme/pkg", "1.2.3", PURL);
    let (set, keys) = fx.attestations("good", &sigstore, &prov, Some(&publish));

    let (code, v) = fx.run(&set, &keys, &[], &[]);
    assert_eq!(code, 0, "{v}");
    let p = &v["package"];
    assert_eq!(p["builder_id"], HOSTED);
    assert_eq!(p["delegated"], false);
    assert_eq!(p["package_name"], "@acme/pkg");
    assert_eq!(p["package_version"], "1.2.3");
    assert_eq!(p["source_repository"], "acme/pkg");
    assert_eq!(p["publish_key_id"], KEY_ID);
    let sha512 = hex::encode(<sha2::Sha512 as sha2::Digest>::digest(TARBALL));
    assert_eq!(p["subject_digest"], format!("sha512:{sha512}"));

    // Each flag, wrong.
    for (flags, code_expected, upstream) in [
        (
            &[("--package-name", "@acme/other")][..],
            "npm-mismatch-package-name",
            "ErrorMismatchPackageName",
        ),
        (
            &[("--package-name", "pkg")][..],
            "npm-mismatch-package-name",
            "ErrorMismatchPackageName",
        ),
        (
            &[("--package-version", "1.2.4")][..],
            "npm-mismatch-package-version",
            "ErrorMismatchPackageVersion",
        ),
        (
            &[("--source-uri", "github.com/acme/other")][..],
            "slsa-mismatch-source",
            "ErrorMismatchSource",
        ),
        (
            &[(
                "--builder-id",
                "https://github.com/actions/runner/self-hosted",
            )][..],
            "slsa-mismatch-builder-id",
            "ErrorMismatchBuilderID",
        ),
        (
            &[("--builder-id", "https://github.com/acme/builder")][..],
            "npm-not-supported",
            "ErrorNotSupported",
        ),
        // The legacy ID reads only v0.2 provenance.
        (
            &[("--builder-id", LEGACY)][..],
            "slsa-invalid-builder-id",
            "ErrorInvalidBuilderID",
        ),
    ] {
        let (code, v) = fx.run(&set, &keys, flags, &[]);
        assert_eq!(code, 1, "{flags:?}: {v}");
        assert_eq!(reason(&v), (code_expected, upstream), "{flags:?}: {v}");
        assert_eq!(v["verified"], false);
    }

    // A tampered tarball is no subject of the provenance.
    let tampered = fx.write("tampered.tgz", "not the package");
    let (code, v) = fx.run(&set, &keys, &[("TARBALL", &tampered)], &[]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(
        reason(&v),
        ("slsa-mismatch-hash", "ErrorMismatchHash"),
        "{v}"
    );

    // The registry key: another key under the same ID, or no key with the ID.
    let other = sigstore
        .sign(TARBALL, &publish_options("@acme/pkg", "1.2.3", PURL))
        .unwrap();
    let wrong = fx.write(
        "wrong.keys.json",
        &tuf_keys(KEY_ID, &der_b64(&other.public_key_pem)).to_string(),
    );
    let (code, v) = fx.run(&set, &wrong, &[], &[]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(reason(&v).1, "ErrorInvalidSignature", "{v}");
    let unknown = fx.write(
        "unknown.keys.json",
        &tuf_keys("SHA256:other", &der_b64(&other.public_key_pem)).to_string(),
    );
    let (code, v) = fx.run(&set, &unknown, &[], &[]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(reason(&v).0, "npm-missing-registry-key", "{v}");

    // The registry's own keys format is read too.
    let good_der = serde_json::from_str::<Value>(&std::fs::read_to_string(&keys).unwrap()).unwrap()
        ["keys"][0]["publicKey"]["rawBytes"]
        .clone();
    let registry = fx.write(
        "registry.keys.json",
        &json!({"keys": [{"expires": null, "keyid": KEY_ID, "keytype": "ecdsa-sha2-nistp256", "scheme": "ecdsa-sha2-nistp256", "key": good_der}]}).to_string(),
    );
    let (code, v) = fx.run(&set, &registry, &[], &[]);
    assert_eq!(code, 0, "{v}");

    // A malformed keys file is an input error.
    let bad = fx.write("bad.keys.json", "{\"keys\": 1}");
    let (code, v) = fx.run(&set, &bad, &[], &[]);
    assert_eq!(code, 2, "{v}");

    // Refused flags, with slsa-verifier's message.
    for extra in [
        &["--source-branch", "main"][..],
        &["--source-tag", "v1.2.3"][..],
        &["--source-versioned-tag", "v1"][..],
        &["--print-provenance"][..],
    ] {
        let (code, v) = fx.run(&set, &keys, &[], extra);
        assert_eq!(code, 2, "{extra:?}: {v}");
        assert_eq!(
            v["reason"]["message"],
            format!("{} not supported", extra[0]),
            "{v}"
        );
    }
}

#[test]
fn alias_and_text_output() {
    let sigstore = TestSigstore::new();
    let fx = Fixture::new("alias", &sigstore);
    let prov = provenance_options("https://slsa.dev/provenance/v1", npm_v1_predicate());
    let publish = publish_options("@acme/pkg", "1.2.3", PURL);
    let (set, keys) = fx.attestations("good", &sigstore, &prov, Some(&publish));
    let run = |version: &str| {
        Command::new(env!("CARGO_BIN_EXE_verify"))
            .args([
                "verify-npm-package",
                "--trusted-root",
                &fx.root,
                "--attestations-path",
                &set,
                "--npm-registry-keys",
                &keys,
                "--package-name",
                "@acme/pkg",
                "--package-version",
                version,
                "--source-uri",
                "github.com/acme/pkg",
                "--builder-id",
                HOSTED,
                &fx.tarball,
            ])
            .env_remove("SIGSTORE_ROOT_FILE")
            .output()
            .expect("runs verify")
    };
    let out = run("1.2.3");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("Verifying npm package") && stderr.contains("PASSED"),
        "{stderr}"
    );
    let out = run("9.9.9");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("ErrorMismatchPackageVersion"), "{stderr}");

    // --builder-id is required, as in slsa-verifier.
    let out = Command::new(env!("CARGO_BIN_EXE_verify"))
        .args([
            "npm-package",
            "--attestations-path",
            &set,
            "--package-name",
            "a",
            "--package-version",
            "1",
            "--source-uri",
            "github.com/acme/pkg",
            &fx.tarball,
        ])
        .output()
        .expect("runs verify");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--builder-id"));
}

#[test]
fn publish_attestation_is_required_and_must_name_the_package() {
    let sigstore = TestSigstore::new();
    let fx = Fixture::new("publish", &sigstore);
    let prov = provenance_options("https://slsa.dev/provenance/v1", npm_v1_predicate());

    // No publish attestation.
    let (set, keys) = fx.attestations("nopublish", &sigstore, &prov, None);
    let (code, v) = fx.run(&set, &keys, &[], &[]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(
        reason(&v),
        ("npm-invalid-attestations", "invalid npm attestations"),
        "{v}"
    );

    // A publish attestation for another version, another name, or another
    // package in its subject.
    for (publish, code_expected) in [
        (
            publish_options("@acme/pkg", "1.2.4", PURL),
            "npm-mismatch-package-version",
        ),
        (
            publish_options("@acme/other", "1.2.3", PURL),
            "npm-mismatch-package-name",
        ),
        (
            publish_options("@acme/pkg", "1.2.3", "pkg:npm/%40acme/other@1.2.3"),
            "npm-mismatch-package-name",
        ),
    ] {
        let (set, keys) = fx.attestations("other", &sigstore, &prov, Some(&publish));
        let (code, v) = fx.run(&set, &keys, &[], &[]);
        assert_eq!(code, 1, "{v}");
        assert_eq!(reason(&v).0, code_expected, "{v}");
    }

    // A publish attestation whose subject is another tarball.
    let mut publish = publish_options("@acme/pkg", "1.2.3", PURL);
    publish.dsse_subject_mismatch = true;
    let (set, keys) = fx.attestations("otherdigest", &sigstore, &prov, Some(&publish));
    let (code, v) = fx.run(&set, &keys, &[], &[]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(reason(&v).1, "ErrorMismatchHash", "{v}");

    // A publish attestation signed keyless instead of by the registry.
    let mut keyless = publish_options("@acme/pkg", "1.2.3", PURL);
    keyless.signer = Signer::Keyless;
    keyless.github = Some(claims());
    let prov_signed = sigstore.sign(TARBALL, &prov).unwrap();
    let pub_signed = sigstore.sign(TARBALL, &keyless).unwrap();
    let set = json!({"attestations": [
        {"predicateType": "https://slsa.dev/provenance/v1", "bundle": serde_json::from_str::<Value>(&prov_signed.to_json()).unwrap()},
        {"predicateType": PUBLISH_TYPE, "bundle": serde_json::from_str::<Value>(&pub_signed.to_json()).unwrap()},
    ]});
    let set = fx.write("keyless.json", &set.to_string());
    let (code, v) = fx.run(&set, &keys, &[], &[]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(reason(&v).1, "ErrorInvalidCertificate", "{v}");
}

#[test]
fn forged_npm_cli_claims_are_refused() {
    let sigstore = TestSigstore::new();
    let fx = Fixture::new("forged", &sigstore);
    let publish = publish_options("@acme/pkg", "1.2.3", PURL);
    let forge = |edit: &dyn Fn(&mut Value)| {
        let mut p = npm_v1_predicate();
        edit(&mut p);
        provenance_options("https://slsa.dev/provenance/v1", p)
    };
    for (label, prov, code_expected) in [
        (
            "repo-id",
            forge(&|p| {
                p["buildDefinition"]["internalParameters"]["github"]["repository_id"] = json!("1")
            }),
            "npm-mismatch-certificate",
        ),
        (
            "extra-param",
            forge(&|p| {
                p["buildDefinition"]["internalParameters"]["github"]["actor"] = json!("mallory")
            }),
            "npm-mismatch-certificate",
        ),
        (
            "run",
            forge(&|p| {
                p["runDetails"]["metadata"]["invocationId"] =
                    json!("https://github.com/acme/pkg/actions/runs/1/attempts/1")
            }),
            "npm-mismatch-certificate",
        ),
        (
            "started",
            forge(&|p| p["runDetails"]["metadata"]["startedOn"] = json!("2024-01-01T00:00:00Z")),
            "npm-non-verifiable-claim",
        ),
        (
            "path",
            forge(&|p| {
                p["buildDefinition"]["externalParameters"]["workflow"]["path"] =
                    json!(".github/workflows/other.yml")
            }),
            "npm-mismatch-certificate",
        ),
        (
            "builder",
            forge(&|p| {
                p["runDetails"]["builder"]["id"] =
                    json!("https://github.com/actions/runner/self-hosted")
            }),
            "slsa-mismatch-builder-id",
        ),
    ] {
        let (set, keys) = fx.attestations(label, &sigstore, &prov, Some(&publish));
        let (code, v) = fx.run(&set, &keys, &[], &[]);
        assert_eq!(code, 1, "{label}: {v}");
        assert_eq!(reason(&v).0, code_expected, "{label}: {v}");
    }

    // A self-hosted runner cannot pass as GitHub-hosted.
    let mut prov = provenance_options("https://slsa.dev/provenance/v1", npm_v1_predicate());
    if let Some(c) = prov.github.as_mut() {
        c.runner_environment = "self-hosted".into();
    }
    let (set, keys) = fx.attestations("self-hosted", &sigstore, &prov, Some(&publish));
    let (code, v) = fx.run(&set, &keys, &[], &[]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(reason(&v).1, "ErrorMismatchBuilderID", "{v}");
}

#[test]
fn v02_npm_cli_and_byob_provenance_pass() {
    let sigstore = TestSigstore::new();
    let fx = Fixture::new("v02-byob", &sigstore);
    let publish = publish_options("@acme/pkg", "1.2.3", PURL);

    // v0.2, with the legacy and the hosted builder IDs.
    let prov = provenance_options("https://slsa.dev/provenance/v0.2", npm_v02_predicate());
    let (set, keys) = fx.attestations("v02", &sigstore, &prov, Some(&publish));
    for builder in [LEGACY, HOSTED] {
        let (code, v) = fx.run(&set, &keys, &[("--builder-id", builder)], &[]);
        assert_eq!(code, 0, "{builder}: {v}");
        assert_eq!(
            v["package"]["build_type"],
            "https://github.com/npm/cli/gha/v2"
        );
    }
    let mut forged = npm_v02_predicate();
    forged["invocation"]["environment"]["GITHUB_SHA"] = json!("f".repeat(40));
    let prov = provenance_options("https://slsa.dev/provenance/v0.2", forged);
    let (set, keys) = fx.attestations("v02-forged", &sigstore, &prov, Some(&publish));
    let (code, v) = fx.run(&set, &keys, &[], &[]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(reason(&v).1, "ErrorMismatchCertificate", "{v}");

    // A BYOB builder behind the low-permissions delegator.
    let mut prov = provenance_options("https://slsa.dev/provenance/v1", byob_predicate());
    prov.identity = Some(SanIdentity::Uri(DELEGATOR.into()));
    let (set, keys) = fx.attestations("byob", &sigstore, &prov, Some(&publish));
    let (code, v) = fx.run(&set, &keys, &[("--builder-id", BYOB_BUILDER)], &[]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["package"]["delegated"], true);
    assert_eq!(
        v["package"]["builder_id"],
        format!("{BYOB_BUILDER}@refs/tags/v1.0.0")
    );
    let (code, v) = fx.run(
        &set,
        &keys,
        &[(
            "--builder-id",
            "https://github.com/acme/builder/.github/workflows/other.yml",
        )],
        &[],
    );
    assert_eq!(code, 1, "{v}");
    assert_eq!(reason(&v).1, "ErrorMismatchBuilderID", "{v}");
}

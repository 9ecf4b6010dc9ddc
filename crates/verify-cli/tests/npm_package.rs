//! `verify npm-package` (alias `verify-npm-package`) on npm-shaped
//! attestation sets made by the test Sigstore: a keyless SLSA provenance
//! bundle with a SHA-512 `pkg:npm/` subject (the npm CLI on a GitHub-hosted
//! runner, v1.0 and v0.2, and a BYOB delegator) and a publish attestation
//! signed with a test P-256 "npm registry" key named by key ID; each flag's
//! pass and fail, with slsa-verifier's error names and exit statuses.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};
use verify_testkit::{
    Content, GithubWorkflowClaims, KeyKind, SanIdentity, SignOptions, Signer, TestSigstore,
};

const SHA: &str = "0123456789abcdef0123456789abcdef01234567";
const TARBALL: &[u8] = b"\x1f\x8b\x08\x00 package/package.json {\"name\":\"@acme/pkg\"}";
const PURL: &str = "pkg:npm/%40acme/pkg@1.2.3";
const HOSTED: &str = "https://github.com/actions/runner/github-hosted";
const LEGACY: &str = "https://github.com/actions/runner";
const PUBLISH_TYPE: &str = "https://github.com/npm/attestation/tree/main/specs/publish/v0.1";
const KEY_ID: &str = "SHA256:test-npm-registry-key";
const DELEGATOR: &str = "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/delegator_lowperms-generic_slsa3.yml@refs/tags/v2.0.0";
const BYOB_BUILDER: &str = "https://github.com/acme/builder/.github/workflows/builder.yml";

fn claims() -> GithubWorkflowClaims {
    let mut c = GithubWorkflowClaims::new(
        "acme/pkg",
        ".github/workflows/release.yml",
        "refs/heads/main",
        SHA,
    );
    c.run_id = "4242424242/attempts/1".into();
    c
}

/// The npm CLI's v1.0 provenance, as it writes it on GitHub Actions.
fn npm_v1_predicate() -> Value {
    json!({
        "buildDefinition": {
            "buildType": "https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1",
            "externalParameters": {"workflow": {
                "ref": "refs/heads/main",
                "repository": "https://github.com/acme/pkg",
                "path": ".github/workflows/release.yml",
            }},
            "internalParameters": {"github": {
                "event_name": "push",
                "repository_id": "123456789",
                "repository_owner_id": "987654321",
            }},
            "resolvedDependencies": [{
                "uri": "git+https://github.com/acme/pkg@refs/heads/main",
                "digest": {"gitCommit": SHA},
            }],
        },
        "runDetails": {
            "builder": {"id": HOSTED},
            "metadata": {"invocationId": "https://github.com/acme/pkg/actions/runs/4242424242/attempts/1"},
        },
    })
}

/// The npm CLI's v0.2 provenance (build type `gha/v2`).
fn npm_v02_predicate() -> Value {
    json!({
        "buildType": "https://github.com/npm/cli/gha/v2",
        "builder": {"id": LEGACY},
        "invocation": {
            "configSource": {
                "uri": "git+https://github.com/acme/pkg@refs/heads/main",
                "digest": {"sha1": SHA},
                "entryPoint": ".github/workflows/release.yml",
            },
            "parameters": {},
            "environment": {
                "GITHUB_EVENT_NAME": "push",
                "GITHUB_REF": "refs/heads/main",
                "GITHUB_REPOSITORY": "acme/pkg",
                "GITHUB_REPOSITORY_ID": "123456789",
                "GITHUB_REPOSITORY_OWNER_ID": "987654321",
                "GITHUB_RUN_ATTEMPT": "1",
                "GITHUB_RUN_ID": "4242424242",
                "GITHUB_SHA": SHA,
                "GITHUB_WORKFLOW_REF": "acme/pkg/.github/workflows/release.yml@refs/heads/main",
                "GITHUB_WORKFLOW_SHA": SHA,
            },
        },
        "metadata": {
            "buildInvocationID": "4242424242-1",
            "completeness": {"parameters": false, "environment": false, "materials": false},
            "reproducible": false,
        },
        "materials": [{"uri": "git+https://github.com/acme/pkg@refs/heads/main", "digest": {"sha1": SHA}}],
    })
}

/// A BYOB builder's v1.0 provenance, signed by the low-permissions delegator.
fn byob_predicate() -> Value {
    json!({
        "buildDefinition": {
            "buildType": "https://github.com/slsa-framework/slsa-github-generator/delegator-generic@v0",
            "externalParameters": {"inputs": {}},
            "internalParameters": {
                "GITHUB_EVENT_NAME": "push",
                "GITHUB_REF": "refs/heads/main",
                "GITHUB_REF_TYPE": "branch",
                "GITHUB_REPOSITORY": "acme/pkg",
                "GITHUB_WORKFLOW_REF": "acme/pkg/.github/workflows/release.yml@refs/heads/main",
            },
            "resolvedDependencies": [{
                "uri": "git+https://github.com/acme/pkg@refs/heads/main",
                "digest": {"gitCommit": SHA},
            }],
        },
        "runDetails": {
            "builder": {"id": format!("{BYOB_BUILDER}@refs/tags/v1.0.0")},
            "metadata": {"invocationId": "https://github.com/acme/pkg/actions/runs/4242424242/attempts/1"},
        },
    })
}

fn provenance_options(predicate_type: &str, predicate: Value) -> SignOptions {
    SignOptions {
        content: Content::Dsse,
        github: Some(claims()),
        predicate_type: predicate_type.into(),
        predicate,
        artifact_name: PURL.into(),
        subject_algorithms: vec!["sha512"],
        ..SignOptions::default()
    }
}

fn publish_options(name: &str, version: &str, subject: &str) -> SignOptions {
    SignOptions {
        content: Content::Dsse,
        signer: Signer::Key(KeyKind::EcdsaP256),
        github: None,
        predicate_type: PUBLISH_TYPE.into(),
        predicate: json!({"name": name, "version": version, "registry": "https://registry.npmjs.org"}),
        artifact_name: subject.into(),
        subject_algorithms: vec!["sha512"],
        ..SignOptions::default()
    }
}

/// The base64 DER inside a PEM public key.
fn der_b64(pem: &str) -> String {
    pem.lines().filter(|l| !l.starts_with("-----")).collect()
}

struct Fixture {
    dir: PathBuf,
    root: String,
    tarball: String,
}

impl Fixture {
    fn new(label: &str, sigstore: &TestSigstore) -> Self {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("npm-package-{label}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let root = dir.join("trusted_root.json");
        std::fs::write(&root, sigstore.trusted_root_json()).unwrap();
        let tarball = dir.join("pkg-1.2.3.tgz");
        std::fs::write(&tarball, TARBALL).unwrap();
        Self {
            root: root.display().to_string(),
            tarball: tarball.display().to_string(),
            dir,
        }
    }

    fn write(&self, name: &str, contents: &str) -> String {
        let path = self.dir.join(name);
        std::fs::write(&path, contents).unwrap();
        path.display().to_string()
    }

    /// An attestation set with `provenance` and a publish attestation made
    /// with `publish`; returns its path and the keys file (TUF format)
    /// naming the publish key under [`KEY_ID`].
    fn attestations(
        &self,
        name: &str,
        sigstore: &TestSigstore,
        provenance: &SignOptions,
        publish: Option<&SignOptions>,
    ) -> (String, String) {
        let prov = sigstore
            .sign(TARBALL, provenance)
            .expect("signs provenance");
        let mut entries = vec![json!({
            "predicateType": provenance.predicate_type,
            "bundle": serde_json::from_str::<Value>(&prov.to_json()).unwrap(),
        })];
        let mut keys = json!({"keys": []});
        if let Some(publish) = publish {
            let signed = sigstore.sign(TARBALL, publish).expect("signs publish");
            let mut bundle: Value = serde_json::from_str(&signed.to_json()).unwrap();
            bundle["verificationMaterial"]["publicKey"]["hint"] = json!(KEY_ID);
            entries.push(json!({"predicateType": PUBLISH_TYPE, "bundle": bundle}));
            keys = tuf_keys(KEY_ID, &der_b64(&signed.public_key_pem));
        }
        let set = json!({"attestations": entries});
        (
            self.write(&format!("{name}.json"), &set.to_string()),
            self.write(&format!("{name}.keys.json"), &keys.to_string()),
        )
    }

    fn run(
        &self,
        attestations: &str,
        keys: &str,
        flags: &[(&str, &str)],
        extra: &[&str],
    ) -> (i32, Value) {
        let mut args: Vec<String> = [
            "npm-package",
            "--output",
            "json",
            "--trusted-root",
            &self.root,
            "--attestations-path",
            attestations,
            "--npm-registry-keys",
            keys,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let defaults = [
            ("--package-name", "@acme/pkg"),
            ("--package-version", "1.2.3"),
            ("--source-uri", "github.com/acme/pkg"),
            ("--builder-id", HOSTED),
        ];
        for (flag, value) in defaults {
            let value = flags
                .iter()
                .find(|(f, _)| *f == flag)
                .map_or(value, |(_, v)| *v);
            args.push(flag.into());
            args.push(value.into());
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        args.push(
            flags
                .iter()
                .find(|(f, _)| *f == "TARBALL")
                .map_or(self.tarball.clone(), |(_, v)| v.to_string()),
        );
        let out = Command::new(env!("CARGO_BIN_EXE_verify"))
            .args(&args)
            .env_remove("SIGSTORE_ROOT_FILE")
            .output()
            .expect("runs verify");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let json = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {stdout}\nstderr: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (out.status.code().unwrap(), json)
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn tuf_keys(key_id: &str, der_b64: &str) -> Value {
    json!({"keys": [{
        "keyId": key_id,
        "keyUsage": "npm:attestations",
        "publicKey": {
            "rawBytes": der_b64,
            "keyDetails": "PKIX_ECDSA_P256_SHA_256",
            "validFor": {"start": "2020-01-01T00:00:00.000Z"},
        },
    }]})
}

fn reason(v: &Value) -> (&str, &str) {
    (
        v["reason"]["code"].as_str().unwrap_or_default(),
        v["reason"]["slsa_verifier_error"]
            .as_str()
            .unwrap_or_default(),
    )
}

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

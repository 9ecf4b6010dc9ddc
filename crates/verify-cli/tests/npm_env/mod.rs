//! The npm-package tests' fixtures: npm-shaped attestation sets made by the
//! test Sigstore (a keyless SLSA provenance bundle with a SHA-512 `pkg:npm/`
//! subject, and a publish attestation signed with a test P-256 "npm
//! registry" key named by key ID), and a runner for `verify npm-package`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};
use verify_testkit::{Content, GithubWorkflowClaims, KeyKind, SignOptions, Signer, TestSigstore};

pub const SHA: &str = "0123456789abcdef0123456789abcdef01234567";
pub const TARBALL: &[u8] = b"\x1f\x8b\x08\x00 package/package.json {\"name\":\"@acme/pkg\"}";
pub const PURL: &str = "pkg:npm/%40acme/pkg@1.2.3";
pub const HOSTED: &str = "https://github.com/actions/runner/github-hosted";
pub const LEGACY: &str = "https://github.com/actions/runner";
pub const PUBLISH_TYPE: &str = "https://github.com/npm/attestation/tree/main/specs/publish/v0.1";
pub const KEY_ID: &str = "SHA256:test-npm-registry-key";
pub const DELEGATOR: &str = "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/delegator_lowperms-generic_slsa3.yml@refs/tags/v2.0.0";
pub const BYOB_BUILDER: &str = "https://github.com/acme/builder/.github/workflows/builder.yml";

pub fn claims() -> GithubWorkflowClaims {
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
pub fn npm_v1_predicate() -> Value {
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
pub fn npm_v02_predicate() -> Value {
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
pub fn byob_predicate() -> Value {
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

pub fn provenance_options(predicate_type: &str, predicate: Value) -> SignOptions {
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

pub fn publish_options(name: &str, version: &str, subject: &str) -> SignOptions {
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
pub fn der_b64(pem: &str) -> String {
    pem.lines().filter(|l| !l.starts_with("-----")).collect()
}

pub struct Fixture {
    pub dir: PathBuf,
    pub root: String,
    pub tarball: String,
}

impl Fixture {
    pub fn new(label: &str, sigstore: &TestSigstore) -> Self {
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

    pub fn write(&self, name: &str, contents: &str) -> String {
        let path = self.dir.join(name);
        std::fs::write(&path, contents).unwrap();
        path.display().to_string()
    }

    /// An attestation set with `provenance` and a publish attestation made
    /// with `publish`; returns its path and the keys file (TUF format)
    /// naming the publish key under [`KEY_ID`].
    pub fn attestations(
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

    pub fn run(
        &self,
        attestations: &str,
        keys: &str,
        flags: &[(&str, &str)],
        extra: &[&str],
    ) -> (i32, Value) {
        let mut extra_args = vec!["--trusted-root", &self.root, "--npm-registry-keys", keys];
        extra_args.extend_from_slice(extra);
        self.run_env(attestations, flags, &extra_args, &[])
    }

    /// `verify npm-package` with the default flags (overridden by `flags`),
    /// then `extra`, with `env` set; no `--trusted-root` or
    /// `--npm-registry-keys` unless `extra` has them.
    pub fn run_env(
        &self,
        attestations: &str,
        flags: &[(&str, &str)],
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> (i32, Value) {
        let mut args: Vec<String> = [
            "npm-package",
            "--output",
            "json",
            "--attestations-path",
            attestations,
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
            .env_remove("VERIFY_TUF_CACHE_DIR")
            .env_remove("XDG_CACHE_HOME")
            // Never the developer's own TUF cache.
            .env("HOME", &self.dir)
            .envs(env.iter().copied())
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

pub fn tuf_keys(key_id: &str, der_b64: &str) -> Value {
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

pub fn reason(v: &Value) -> (&str, &str) {
    (
        v["reason"]["code"].as_str().unwrap_or_default(),
        v["reason"]["slsa_verifier_error"]
            .as_str()
            .unwrap_or_default(),
    )
}

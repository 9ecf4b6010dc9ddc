//! Our own release through our own gate: the SBOMs of the released binaries
//! (scripts/sbom.sh), validated by `verify sbom`; the verify-admission image
//! (scripts/image.sh) pushed to a real registry with skopeo, signed and
//! attested (SPDX) by the test Sigstore, verified with `verify image` and
//! `verify attestation --type spdxjson`, and a Pod using it admitted by
//! `verify-admission review`; the binary taken out of the image's layer
//! runs with the image's own loader and libraries.
//!
//! These tests use the release binaries (`target/release/verify` and
//! `target/release/verify-admission`, or those in `$VERIFY_RELEASE_DIR`),
//! which scripts/test.sh builds before `cargo test`; without them they fail
//! and say how to build them.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{json, Value};
use support::image_env::{digest, Pushed, OCI_MANIFEST};
use support::{identity, repo_root, TempDir, World, ISSUER};
use verify_testkit::cosign::attestation_layer;
use verify_testkit::{Content, SignOptions};

/// Where the release binaries are.
fn release_bin(name: &str) -> PathBuf {
    let dir = std::env::var_os("VERIFY_RELEASE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/release"));
    let bin = dir.join(name);
    assert!(
        bin.is_file(),
        "{} is missing: build the release binaries first (cargo build --release --locked -p verify-cli -p verify-admission, as scripts/test.sh does), or set VERIFY_RELEASE_DIR",
        bin.display()
    );
    bin
}

fn run(program: &Path, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .current_dir(repo_root())
        .env("DOCKER_CONFIG", "/nonexistent-verify-test-docker-config")
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", program.display()))
}

fn ok(output: &Output, what: &str) -> String {
    assert!(
        output.status.success(),
        "{what}: exit {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn script(name: &str, args: &[&str]) -> String {
    let path = repo_root().join("scripts").join(name);
    ok(&run(&path, args), name)
}

/// `name version` of every crate `cargo tree` resolves for `package`'s
/// build (normal and build edges, the host target), which resolves that one
/// package's features rather than the workspace's union.
fn cargo_tree(package: &str, features: &str) -> BTreeSet<(String, String)> {
    let mut args = vec![
        "tree",
        "--locked",
        "--offline",
        "-p",
        package,
        "-e",
        "normal,build",
        "--prefix",
        "none",
        "--format",
        "{p}",
    ];
    if !features.is_empty() {
        args.extend(["--features", features]);
    }
    let out = ok(
        &run(Path::new(env!("CARGO")), &args),
        &format!("cargo tree -p {package}"),
    );
    out.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let name = words.next()?;
            let version = words.next()?.strip_prefix('v')?;
            Some((name.to_string(), version.to_string()))
        })
        .collect()
}

/// `name → checksum` for every registry package in Cargo.lock.
fn lock_checksums() -> std::collections::HashMap<(String, String), String> {
    let lock = std::fs::read_to_string(repo_root().join("Cargo.lock")).unwrap();
    let mut out = std::collections::HashMap::new();
    for block in lock.split("[[package]]") {
        let field = |key: &str| {
            block.lines().find_map(|l| {
                l.strip_prefix(&format!("{key} = \""))
                    .and_then(|v| v.strip_suffix('"'))
                    .map(str::to_string)
            })
        };
        if let (Some(name), Some(version), Some(sum)) =
            (field("name"), field("version"), field("checksum"))
        {
            out.insert((name, version), sum);
        }
    }
    out
}

/// Generate the SBOM of `bin`, check it against `cargo tree` and Cargo.lock,
/// and validate it with our own `verify sbom`.
fn check_sbom(bin: &str, package: &str, dir: &Path) -> (PathBuf, Value) {
    let out = dir.join(format!("{bin}.spdx.json"));
    let binary = release_bin(bin);
    script(
        "sbom.sh",
        &[bin, "", out.to_str().unwrap(), binary.to_str().unwrap()],
    );
    let doc: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(doc["spdxVersion"], "SPDX-2.3");
    let packages = doc["packages"].as_array().unwrap();

    // The crates are those the build resolves: no dev-dependency (the test
    // Sigstore, reqwest's blocking client here), no other platform's crate.
    let listed: BTreeSet<(String, String)> = packages
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["versionInfo"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let resolved = cargo_tree(package, "");
    let extra: Vec<_> = listed.difference(&resolved).collect();
    let missing: Vec<_> = resolved.difference(&listed).collect();
    assert!(
        extra.is_empty() && missing.is_empty(),
        "{bin}: SBOM and cargo tree differ: only in the SBOM {extra:?}, only in cargo tree {missing:?}"
    );
    // Dev-dependencies of both crates (the test Sigstore, the htpasswd
    // hashing of the registry tests) and other platforms' crates.
    for never in ["verify-testkit", "bcrypt", "windows-sys", "windows-targets"] {
        assert!(
            !listed.iter().any(|(n, _)| n == never),
            "{bin}: {never} is not part of the build"
        );
    }

    // Every crates.io crate: its license and Cargo.lock's checksum.
    let sums = lock_checksums();
    let mut from_registry = 0;
    for p in packages {
        let key = (
            p["name"].as_str().unwrap().to_string(),
            p["versionInfo"].as_str().unwrap().to_string(),
        );
        if let Some(sum) = sums.get(&key) {
            from_registry += 1;
            assert_eq!(
                p["checksums"],
                json!([{"algorithm": "SHA256", "checksumValue": sum}]),
                "{key:?}"
            );
            assert_eq!(p["supplier"], "NOASSERTION", "{key:?}");
        } else {
            assert_eq!(p["supplier"], "Organization: verify project", "{key:?}");
        }
        let license = p["licenseDeclared"].as_str().unwrap();
        assert!(
            !license.is_empty() && license != "NOASSERTION",
            "{key:?} has no license"
        );
    }
    assert!(from_registry > 100, "{from_registry} crates.io crates");

    // The built binary is the file the root package generates.
    let sha256 = {
        use sha2::Digest as _;
        hex::encode(sha2::Sha256::digest(std::fs::read(&binary).unwrap()))
    };
    assert!(
        doc["files"][0]["checksums"]
            .as_array()
            .unwrap()
            .contains(&json!({"algorithm": "SHA256", "checksumValue": sha256})),
        "{}",
        doc["files"]
    );

    // Our own check: valid SPDX. The NTIA supplier element is reported
    // missing for exactly the crates.io crates (Cargo names no supplier),
    // every other element present; --require-ntia therefore fails.
    let verify = release_bin("verify");
    let report = ok(
        &run(
            &verify,
            &["sbom", "--file", out.to_str().unwrap(), "-o", "json"],
        ),
        "verify sbom",
    );
    let report: Value = serde_json::from_str(&report).unwrap();
    assert_eq!(report["valid"], true, "{report:#}");
    assert_eq!(report["report"]["errors"], 0, "{report:#}");
    for element in report["report"]["ntia"]["elements"].as_array().unwrap() {
        if element["element"] == "supplier name" {
            assert_eq!(element["satisfied"], false, "{element}");
            assert_eq!(element["missing"], from_registry, "{element}");
        } else {
            assert_eq!(element["satisfied"], true, "{element}");
        }
    }
    let strict = run(
        &verify,
        &["sbom", "--file", out.to_str().unwrap(), "--require-ntia"],
    );
    assert_eq!(strict.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&strict.stderr).contains("missing supplier name"));
    (out, doc)
}

#[test]
fn our_sboms_describe_the_resolved_build_and_pass_our_own_check() {
    let dir = TempDir::new("own-sbom");
    check_sbom("verify", "verify-cli", dir.path());
    let (first, _) = check_sbom("verify-admission", "verify-admission", dir.path());
    // Reproducible: the same inputs give the same bytes.
    let again = dir.path().join("again.spdx.json");
    let binary = release_bin("verify-admission");
    script(
        "sbom.sh",
        &[
            "verify-admission",
            "",
            again.to_str().unwrap(),
            binary.to_str().unwrap(),
        ],
    );
    assert_eq!(
        std::fs::read(&first).unwrap(),
        std::fs::read(&again).unwrap()
    );
}

/// Read a blob of the OCI layout at `layout`.
fn blob(layout: &Path, digest: &str) -> Vec<u8> {
    std::fs::read(
        layout
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:")),
    )
    .unwrap()
}

#[test]
fn our_image_is_signed_attested_verified_and_admitted() {
    let dir = TempDir::new("own-image");
    let (sbom_path, sbom) = check_sbom("verify-admission", "verify-admission", dir.path());
    let binary = release_bin("verify-admission");
    let layout = dir.path().join("layout");
    let manifest_digest = script(
        "image.sh",
        &[
            binary.to_str().unwrap(),
            sbom_path.to_str().unwrap(),
            layout.to_str().unwrap(),
            "0.1.0",
        ],
    )
    .trim()
    .to_string();

    // What the image holds.
    let manifest_bytes = blob(&layout, &manifest_digest);
    assert_eq!(digest(&manifest_bytes), manifest_digest);
    let manifest: Value = serde_json::from_slice(&manifest_bytes).unwrap();
    assert_eq!(
        manifest["config"]["mediaType"],
        "application/vnd.oci.image.config.v1+json"
    );
    let config: Value = serde_json::from_slice(&blob(
        &layout,
        manifest["config"]["digest"].as_str().unwrap(),
    ))
    .unwrap();
    assert_eq!(config["config"]["User"], "65534:65534");
    assert_eq!(
        config["config"]["Entrypoint"],
        json!(["/usr/local/bin/verify-admission"])
    );
    let layers = manifest["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 1);
    assert_eq!(
        layers[0]["mediaType"],
        "application/vnd.oci.image.layer.v1.tar+gzip"
    );
    let rootfs = dir.path().join("rootfs");
    std::fs::create_dir_all(&rootfs).unwrap();
    let layer = layout.join("blobs/sha256").join(
        layers[0]["digest"]
            .as_str()
            .unwrap()
            .trim_start_matches("sha256:"),
    );
    ok(
        &run(
            Path::new("tar"),
            &[
                "-xzf",
                layer.to_str().unwrap(),
                "-C",
                rootfs.to_str().unwrap(),
            ],
        ),
        "tar -x the layer",
    );
    let inside: Value = serde_json::from_slice(
        &std::fs::read(rootfs.join("usr/share/doc/verify-admission/sbom.spdx.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(inside, sbom);

    // The binary from the layer runs with the image's loader and only the
    // image's libraries.
    let loader = rootfs.join("lib64/ld-linux-x86-64.so.2");
    let libs = rootfs.join("lib/x86_64-linux-gnu");
    let in_image = rootfs.join("usr/local/bin/verify-admission");
    let version = ok(
        &run(
            &loader,
            &[
                "--inhibit-cache",
                "--library-path",
                libs.to_str().unwrap(),
                in_image.to_str().unwrap(),
                "--version",
            ],
        ),
        "the image's verify-admission --version",
    );
    assert_eq!(
        version.lines().next(),
        Some(format!("verify-admission {}", env!("CARGO_PKG_VERSION")).as_str()),
        "{version}"
    );

    // Pushed byte for byte to a real registry with skopeo.
    let w = World::new();
    let repo = "verify/verify-admission";
    // Byte for byte (`--preserve-digests`) into `repo:0.1.0`.
    let push = |repo: &str| {
        ok(
            &run(
                Path::new("skopeo"),
                &[
                    "copy",
                    "--quiet",
                    "--preserve-digests",
                    "--dest-tls-verify=false",
                    &format!("oci:{}:0.1.0", layout.display()),
                    &format!("docker://{}/{repo}:0.1.0", w.registry.addr),
                ],
            ),
            "skopeo copy",
        )
    };
    push(repo);
    let image = Pushed {
        digest: manifest_digest.clone(),
        bytes: manifest_bytes.clone(),
        media_type: OCI_MANIFEST.into(),
    };

    // Signed, and the SBOM attached as an SPDX attestation (cosign's
    // spdxjson type: predicate https://spdx.dev/Document).
    w.sign(repo, &image, &SignOptions::default());
    let signed = w
        .sigstore
        .sign(
            &manifest_bytes,
            &SignOptions {
                content: Content::Dsse,
                predicate_type: "https://spdx.dev/Document".into(),
                predicate: sbom.clone(),
                ..SignOptions::default()
            },
        )
        .unwrap();
    let attestation = attestation_layer(&w.sigstore, &signed, true).unwrap();
    w.pusher
        .cosign_manifest(repo, &format!("sha256-{}.att", image.hex()), &[attestation]);

    let verify = release_bin("verify");
    let by_tag = format!("{}/{repo}:0.1.0", w.registry.addr);
    let root = w.root.to_str().unwrap().to_string();
    let identity = identity();
    let signer = [
        "--certificate-identity",
        identity.as_str(),
        "--certificate-oidc-issuer",
        ISSUER,
        "--trusted-root",
        root.as_str(),
    ];
    let mut args = vec!["image", by_tag.as_str(), "-o", "json"];
    args.extend(signer);
    // cosign's JSON: the verified payloads, each naming the digest.
    let out: Value = serde_json::from_str(&ok(&run(&verify, &args), "verify image")).unwrap();
    let payloads = out.as_array().unwrap();
    assert_eq!(payloads.len(), 1, "{out:#}");
    assert_eq!(
        payloads[0]["critical"]["image"]["docker-manifest-digest"],
        manifest_digest.as_str(),
        "{out:#}"
    );

    let mut args = vec!["attestation", by_tag.as_str(), "--type", "spdxjson"];
    args.extend(signer);
    let out = ok(&run(&verify, &args), "verify attestation --type spdxjson");
    let envelope: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    use base64::Engine as _;
    let statement: Value = serde_json::from_slice(
        &base64::engine::general_purpose::STANDARD
            .decode(envelope["payload"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(statement["predicateType"], "https://spdx.dev/Document");
    assert_eq!(statement["predicate"], sbom);

    // Admitted by our own webhook's review, against policies that require
    // both the signature and the SBOM attestation.
    let policies = dir.path().join("policies");
    std::fs::create_dir_all(&policies).unwrap();
    let glob = format!("{}/verify/*", w.registry.addr);
    let authority = format!(
        "    keyless:\n      identities:\n      - issuer: {ISSUER}\n        subject: {identity}\n"
    );
    std::fs::write(
        policies.join("signed.yaml"),
        format!("apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\nmetadata:\n  name: verify-admission-signed\nspec:\n  images:\n  - glob: \"{glob}\"\n  authorities:\n  - name: release\n{authority}"),
    )
    .unwrap();
    std::fs::write(
        policies.join("sbom.yaml"),
        format!("apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\nmetadata:\n  name: verify-admission-sbom\nspec:\n  images:\n  - glob: \"{glob}\"\n  authorities:\n  - name: release-sbom\n{authority}    attestations:\n    - {{name: sbom, predicateType: spdxjson}}\n"),
    )
    .unwrap();
    let pod = |image: &str| {
        json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "verify-admission", "namespace": "verify-system"},
            "spec": {"containers": [{"name": "webhook", "image": image}]},
        })
    };
    let review = |object: &Value| -> Output {
        let file = dir.path().join("pod.yaml");
        std::fs::write(&file, serde_yaml_ng::to_string(object).unwrap()).unwrap();
        run(
            &binary,
            &[
                "review",
                "--policies",
                policies.to_str().unwrap(),
                "--trusted-root",
                root.as_str(),
                "-o",
                "json",
                file.to_str().unwrap(),
            ],
        )
    };
    let out = review(&pod(&by_tag));
    let report: Value = serde_json::from_str(&ok(&out, "verify-admission review")).unwrap();
    assert_eq!(report["admitted"], true, "{report:#}");

    // The gate is real: the same image, signed but without the SBOM
    // attestation, under another repository the policies cover, is denied.
    let bare = "verify/signed-only";
    push(bare);
    w.sign(bare, &image, &SignOptions::default());
    let out = review(&pod(&format!("{}/{bare}:0.1.0", w.registry.addr)));
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["admitted"], false, "{report:#}");
    // The signature policy passes; the SBOM policy fails, and says why.
    let message = report["objects"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("policy verify-admission-sbom, authority release-sbom: no-attestations")
            && !message.contains("verify-admission-signed"),
        "{report:#}"
    );
}

//! `verify buildkit-provenance` and `verify sbom IMAGE --platform`:
//! BuildKit-shaped image indexes (two platforms, each with an attestation
//! manifest carrying an SLSA v0.2 provenance and an SPDX statement) pushed
//! to a real registry, the index signed by the test Sigstore.

mod image_env;

use std::path::PathBuf;

use image_env::*;
use serde_json::json;
use verify_testkit::cosign::{signature_layer, simple_signing_payload};
use verify_testkit::{SignOptions, TestSigstore};

const ISSUER: &str = verify_testkit::GITHUB_ACTIONS_ISSUER;
const PLATFORMS: [(&str, &str); 2] = [("linux", "amd64"), ("linux", "arm64")];

struct World {
    sigstore: TestSigstore,
    registry: Registry,
    pusher: Pusher,
    _dir: TempDir,
    root: PathBuf,
}

/// What was pushed for one BuildKit index.
struct Built {
    index: Pushed,
    images: Vec<Pushed>,
    /// Per platform: (provenance layer bytes, SBOM layer bytes).
    layers: Vec<(Vec<u8>, Vec<u8>)>,
}

fn provenance_statement(image: &Pushed, arch: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "_type": "https://in-toto.io/Statement/v0.1",
        "predicateType": "https://slsa.dev/provenance/v0.2",
        "subject": [{
            "name": format!("pkg:docker/example/app@v1?platform=linux%2F{arch}"),
            "digest": {"sha256": image.hex()},
        }],
        "predicate": {
            "builder": {"id": "https://github.com/example/app/actions/runs/1"},
            "buildType": "https://mobyproject.org/buildkit@v1",
            "materials": [{"uri": "pkg:docker/alpine@3.19", "digest": {"sha256": "00".repeat(32)}}],
            "invocation": {"configSource": {"entryPoint": "Dockerfile"}, "parameters": {"frontend": "dockerfile.v0"}},
            "metadata": {"buildInvocationID": format!("build-{arch}"), "completeness": {"parameters": true}},
        },
    }))
    .unwrap()
}

fn sbom_statement(image: &Pushed, arch: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "_type": "https://in-toto.io/Statement/v0.1",
        "predicateType": "https://spdx.dev/Document",
        "subject": [{
            "name": format!("pkg:docker/example/app@v1?platform=linux%2F{arch}"),
            "digest": {"sha256": image.hex()},
        }],
        "predicate": {
            "spdxVersion": "SPDX-2.3",
            "dataLicense": "CC0-1.0",
            "SPDXID": "SPDXRef-DOCUMENT",
            "name": format!("sbom-{arch}"),
            "documentNamespace": format!("https://example.com/spdx/app-{arch}-{}", image.hex()),
            "creationInfo": {"created": "2024-01-01T00:00:00Z", "creators": ["Tool: buildkit-v0.13.0", "Organization: Example"]},
            "packages": [{
                "name": "musl",
                "SPDXID": "SPDXRef-Package-musl",
                "versionInfo": "1.2.4-r2",
                "supplier": "Organization: Alpine",
                "downloadLocation": "NOASSERTION",
                "filesAnalyzed": false,
                "licenseConcluded": "MIT",
                "licenseDeclared": "MIT",
                "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": "pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64"}],
            }],
            "relationships": [{"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": "SPDXRef-Package-musl"}],
        },
    }))
    .unwrap()
}

impl World {
    fn new() -> Self {
        let sigstore = TestSigstore::new();
        let registry = Registry::start();
        let pusher = registry.pusher();
        let dir = TempDir::new("buildkit-test");
        let root = dir.path().join("trusted_root.json");
        std::fs::write(&root, sigstore.trusted_root_json()).unwrap();
        Self {
            sigstore,
            registry,
            pusher,
            _dir: dir,
            root,
        }
    }

    /// Push a BuildKit-shaped index under `tag`. `swap`: each platform's
    /// attestation manifest carries the *other* platform's statements.
    fn build(&self, repo: &str, tag: &str, swap: bool) -> Built {
        let images: Vec<Pushed> = PLATFORMS
            .iter()
            .map(|(os, arch)| {
                let (manifest, blobs) = image_manifest(os, arch);
                for blob in &blobs {
                    self.pusher.blob(repo, blob);
                }
                self.pusher
                    .manifest(repo, &digest(&manifest), OCI_MANIFEST, &manifest)
            })
            .collect();
        let layers: Vec<(Vec<u8>, Vec<u8>)> = images
            .iter()
            .zip(PLATFORMS)
            .map(|(image, (_, arch))| {
                (
                    provenance_statement(image, arch),
                    sbom_statement(image, arch),
                )
            })
            .collect();
        let mut entries: Vec<serde_json::Value> = images
            .iter()
            .zip(PLATFORMS)
            .map(|(image, (os, arch))| {
                let mut d = image.descriptor();
                d["platform"] = json!({"os": os, "architecture": arch});
                d
            })
            .collect();
        for (i, image) in images.iter().enumerate() {
            let (provenance, sbom) = &layers[if swap { 1 - i } else { i }];
            let config = br#"{"architecture":"unknown","os":"unknown","config":{},"rootfs":{"type":"layers","diff_ids":[]}}"#;
            let config_digest = self.pusher.blob(repo, config);
            let manifest = json!({
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
                "layers": [
                    {"mediaType": "application/vnd.in-toto+json", "digest": self.pusher.blob(repo, provenance), "size": provenance.len(),
                     "annotations": {"in-toto.io/predicate-type": "https://slsa.dev/provenance/v0.2"}},
                    {"mediaType": "application/vnd.in-toto+json", "digest": self.pusher.blob(repo, sbom), "size": sbom.len(),
                     "annotations": {"in-toto.io/predicate-type": "https://spdx.dev/Document"}},
                ],
            });
            let bytes = serde_json::to_vec(&manifest).unwrap();
            let pushed = self
                .pusher
                .manifest(repo, &digest(&bytes), OCI_MANIFEST, &bytes);
            let mut d = pushed.descriptor();
            d["platform"] = json!({"os": "unknown", "architecture": "unknown"});
            d["annotations"] = json!({
                "vnd.docker.reference.type": "attestation-manifest",
                "vnd.docker.reference.digest": image.digest,
            });
            entries.push(d);
        }
        let index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries});
        let bytes = serde_json::to_vec(&index).unwrap();
        let index = self.pusher.manifest(repo, tag, OCI_INDEX, &bytes);
        Built {
            index,
            images,
            layers,
        }
    }

    /// Sign the index keylessly (cosign's `.sig` tag, bundle annotation).
    fn sign(&self, repo: &str, index: &Pushed) {
        let payload = simple_signing_payload(
            &format!("{}/{repo}", self.registry.addr),
            &index.digest,
            None,
        );
        let signed = self
            .sigstore
            .sign(&payload, &SignOptions::default())
            .unwrap();
        let layer = signature_layer(&self.sigstore, &payload, &signed, true).unwrap();
        self.pusher
            .cosign_manifest(repo, &format!("sha256-{}.sig", index.hex()), &[layer]);
    }

    fn identity() -> String {
        SignOptions::default()
            .effective_identity()
            .as_str()
            .to_string()
    }

    fn image(&self, repo: &str, tag: &str) -> String {
        format!("{}/{repo}:{tag}", self.registry.addr)
    }

    fn run(
        &self,
        command: &str,
        image: &str,
        platform: &str,
        identity: &str,
    ) -> std::process::Output {
        let root = self.root.display().to_string();
        verify(&[
            command,
            image,
            "--platform",
            platform,
            "--certificate-identity",
            identity,
            "--certificate-oidc-issuer",
            ISSUER,
            "--trusted-root",
            &root,
            "-o",
            "json",
        ])
    }
}

fn json_out(output: &std::process::Output) -> serde_json::Value {
    failure_json(output)
}

fn assert_code(output: &std::process::Output, status: i32, code: &str) {
    let json = json_out(output);
    assert_eq!(output.status.code(), Some(status), "{json}");
    assert_eq!(json["verified"], false, "{json}");
    assert_eq!(json["path"], "buildkit-in-index", "{json}");
    assert_eq!(json["reason"]["code"], code, "{json}");
}

#[test]
fn each_platform_provenance_and_sbom_verify() {
    let w = World::new();
    let built = w.build("app", "v1", false);
    w.sign("app", &built.index);
    let image = w.image("app", "v1");
    for (i, (os, arch)) in PLATFORMS.iter().enumerate() {
        let platform = format!("{os}/{arch}");
        let out = w.run("buildkit-provenance", &image, &platform, &World::identity());
        let json = json_out(&out);
        assert_eq!(out.status.code(), Some(0), "{json}");
        assert_eq!(json["verified"], true);
        assert_eq!(json["path"], "buildkit-in-index");
        assert_eq!(json["platform"], platform);
        assert_eq!(json["chain"]["index"], built.index.digest);
        assert_eq!(json["chain"]["platform_image"], built.images[i].digest);
        assert_eq!(json["chain"]["layer"], digest(&built.layers[i].0));
        assert_eq!(json["signers"][0]["identity"], World::identity());
        assert_eq!(json["signers"][0]["issuer"], ISSUER);
        assert_eq!(
            json["statement"]["predicateType"],
            "https://slsa.dev/provenance/v0.2"
        );
        assert_eq!(
            json["statement"]["subject"][0]["digest"]["sha256"],
            built.images[i].hex()
        );

        let out = w.run("sbom", &image, &platform, &World::identity());
        let json = json_out(&out);
        assert_eq!(out.status.code(), Some(0), "{json}");
        assert_eq!(json["verified"], true, "{json}");
        assert_eq!(json["path"], "buildkit-in-index");
        assert_eq!(json["chain"]["layer"], digest(&built.layers[i].1));
        assert_eq!(json["document"]["spdxVersion"], "SPDX-2.3");
        assert_eq!(json["document"]["name"], format!("sbom-{arch}"));
        assert_eq!(json["report"]["packages"], 1);
    }
    // Text output names the path and who vouched.
    let root = w.root.display().to_string();
    let identity = World::identity();
    let out = verify(&[
        "buildkit-provenance",
        &image,
        "--platform",
        "linux/arm64",
        "--certificate-identity",
        &identity,
        "--certificate-oidc-issuer",
        ISSUER,
        "--trusted-root",
        &root,
    ]);
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Path buildkit-in-index"), "{stderr}");
    assert!(
        stderr.contains(&format!("signed by identity {identity}")),
        "{stderr}"
    );
}

#[test]
fn tampered_attestation_layer_is_refused() {
    let w = World::new();
    let built = w.build("app", "v1", false);
    w.sign("app", &built.index);
    // Rewrite the stored amd64 provenance layer in the registry's storage,
    // same length, different bytes: the registry serves it as is.
    let hex = digest(&built.layers[0].0)
        .trim_start_matches("sha256:")
        .to_string();
    let path = w.registry.storage().join(format!(
        "docker/registry/v2/blobs/sha256/{}/{hex}/data",
        &hex[..2]
    ));
    let original = std::fs::read(&path).expect("stored layer");
    let tampered = String::from_utf8(original)
        .unwrap()
        .replace("buildkit@v1", "buildkit@v2");
    std::fs::write(&path, tampered).unwrap();
    let image = w.image("app", "v1");
    let out = w.run(
        "buildkit-provenance",
        &image,
        "linux/amd64",
        &World::identity(),
    );
    assert_code(&out, 1, "buildkit-digest-mismatch");
    // The other platform's chain is intact.
    let out = w.run(
        "buildkit-provenance",
        &image,
        "linux/arm64",
        &World::identity(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", json_out(&out));
}

#[test]
fn attestation_naming_the_other_platform_is_refused() {
    let w = World::new();
    let built = w.build("app", "v1", true);
    w.sign("app", &built.index);
    let image = w.image("app", "v1");
    for command in ["buildkit-provenance", "sbom"] {
        let out = w.run(command, &image, "linux/amd64", &World::identity());
        assert_code(&out, 1, "buildkit-subject-mismatch");
        let message = json_out(&out)["reason"]["message"].to_string();
        assert!(message.contains(&built.images[1].digest), "{message}");
    }
}

#[test]
fn unsigned_or_wrongly_signed_index_is_refused() {
    let w = World::new();
    w.build("app", "v1", false);
    let image = w.image("app", "v1");
    let out = w.run(
        "buildkit-provenance",
        &image,
        "linux/amd64",
        &World::identity(),
    );
    assert_code(&out, 1, "buildkit-index-not-signed");
    let out = w.run("sbom", &image, "linux/amd64", &World::identity());
    assert_code(&out, 1, "buildkit-index-not-signed");

    let built = w.build("signed", "v1", false);
    w.sign("signed", &built.index);
    let out = w.run(
        "buildkit-provenance",
        &w.image("signed", "v1"),
        "linux/amd64",
        "https://github.com/someone/else/.github/workflows/release.yml@refs/heads/main",
    );
    assert_code(&out, 1, "buildkit-index-not-signed");
}

#[test]
fn missing_platform_is_refused() {
    let w = World::new();
    let built = w.build("app", "v1", false);
    w.sign("app", &built.index);
    let out = w.run(
        "buildkit-provenance",
        &w.image("app", "v1"),
        "linux/s390x",
        &World::identity(),
    );
    assert_code(&out, 1, "buildkit-platform-not-found");
    let message = json_out(&out)["reason"]["message"].to_string();
    assert!(
        message.contains("linux/amd64") && message.contains("linux/arm64"),
        "{message}"
    );
}

#[test]
fn platform_without_attestations_and_single_images_are_refused() {
    let w = World::new();
    // A plain multi-platform index: no attestation manifests.
    let (index, _) = w.pusher.index("plain", "v1", &PLATFORMS);
    w.sign("plain", &index);
    let out = w.run(
        "buildkit-provenance",
        &w.image("plain", "v1"),
        "linux/arm64",
        &World::identity(),
    );
    assert_code(&out, 1, "buildkit-no-attestation-manifest");
    // A single image is not an index.
    let single = w.pusher.image("single", "v1", "linux", "amd64");
    w.sign("single", &single);
    let out = w.run(
        "buildkit-provenance",
        &w.image("single", "v1"),
        "linux/amd64",
        &World::identity(),
    );
    assert_code(&out, 1, "buildkit-not-an-index");
}

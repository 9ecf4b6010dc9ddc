//! Images in OCI layouts: a cosign-saved layout verifies offline, and the
//! SLSA container generator's real images verify from the registry and the
//! layout alike.

mod image_env;
mod image_world;

use std::path::{Path, PathBuf};

use image_env::*;
use image_world::*;
use serde_json::json;

/// Write a cosign-save layout: `image` (its manifest and blobs from the
/// registry) and its `.sig` manifest.
fn save_layout(w: &World, dir: &Path, repo: &str, image: &Pushed) {
    let fetch = |path: String| {
        reqwest::blocking::Client::new()
            .get(format!("http://{}/v2/{repo}/{path}", w.addr()))
            .header("accept", OCI_MANIFEST)
            .send()
            .unwrap()
            .bytes()
            .unwrap()
            .to_vec()
    };
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |bytes: &[u8]| {
        std::fs::write(
            blobs.join(digest(bytes).trim_start_matches("sha256:")),
            bytes,
        )
        .unwrap();
    };
    let sig = fetch(format!("manifests/sha256-{}.sig", image.hex()));
    for manifest in [&image.bytes, &sig] {
        let m: serde_json::Value = serde_json::from_slice(manifest).unwrap();
        put(manifest);
        put(&fetch(format!(
            "blobs/{}",
            m["config"]["digest"].as_str().unwrap()
        )));
        for layer in m["layers"].as_array().unwrap() {
            put(&fetch(format!(
                "blobs/{}",
                layer["digest"].as_str().unwrap()
            )));
        }
    }
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let index = json!({"schemaVersion": 2, "manifests": [
        {"mediaType": OCI_MANIFEST, "digest": image.digest, "size": image.bytes.len(),
         "annotations": {"kind": "dev.cosignproject.cosign/image"}},
        {"mediaType": OCI_MANIFEST, "digest": digest(&sig), "size": sig.len(),
         "annotations": {"kind": "dev.cosignproject.cosign/sigs"}},
    ]});
    std::fs::write(dir.join("index.json"), index.to_string()).unwrap();
}

#[test]
fn a_cosign_saved_layout_verifies_offline() {
    let w = World::new();
    let image = w.pusher.image("app", "v1", "linux", "amd64");
    w.sign("app", &image);
    let layout = w.dir.path().join("layout");
    save_layout(&w, &layout, "app", &image);
    let by_digest = format!("oci:{}@{}", layout.display(), image.digest);
    assert_status(&w.run("image", &by_digest, &["--offline"]), 0);
    let output = w.run(
        "image",
        &format!("oci:{}", layout.display()),
        &["--offline"],
    );
    assert_status(&output, 0);
    assert!(stderr(&output).contains(&image.digest));
    let output = w.run("image", "oci:/nonexistent-layout", &["-o", "json"]);
    assert_status(&output, 2);
    assert_eq!(failure_codes(&output).0, "layout-unreadable");
}

/// The SLSA container generator's real images (cosign save layouts with
/// keyless attestations in the public-good Sigstore), pushed byte for byte.
#[test]
fn real_slsa_container_attestations_verify_from_the_registry_and_the_layout() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/conformance/slsa/data/gha_generic_container");
    let registry = Registry::start();
    let pusher = registry.pusher();
    let mut versions: Vec<PathBuf> = std::fs::read_dir(&data)
        .unwrap_or_else(|e| panic!("{}: {e}", data.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    versions.sort();
    assert!(versions.len() >= 9, "{versions:?}");
    let identity = [
        "--certificate-identity-regexp",
        r"^https://github\.com/slsa-framework/slsa-github-generator/\.github/workflows/generator_container_slsa3\.yml@refs/tags/v\d+\.\d+\.\d+$",
        "--certificate-oidc-issuer",
        ISSUER,
        "--type",
        "slsaprovenance",
    ];
    for version in versions {
        let layout = version.join("container_workflow_dispatch");
        let expected =
            std::fs::read_to_string(version.join("container_workflow_dispatch.digest")).unwrap();
        let name = version
            .file_name()
            .unwrap()
            .to_string_lossy()
            .replace('.', "-");
        let repo = format!("slsa/{name}");
        let pushed = pusher.layout(&repo, &layout, "latest");
        assert_eq!(pushed, expected.trim());

        for image in [
            format!("{}/{repo}:latest", registry.addr),
            format!("{}/{repo}@{}", registry.addr, expected.trim()),
            format!("oci:{}@{}", layout.display(), expected.trim()),
        ] {
            let mut args = vec!["attestation", image.as_str()];
            args.extend(identity);
            let output = verify(&args);
            assert_status(&output, 0);
            let envelope: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
            assert_eq!(
                envelope["payloadType"], "application/vnd.in-toto+json",
                "{image}"
            );
        }
        // Another builder's identity is refused.
        let image = format!("{}/{repo}:latest", registry.addr);
        let output = verify(&[
            "attestation",
            &image,
            "--certificate-identity-regexp",
            "^https://github\\.com/acme/",
            "--certificate-oidc-issuer",
            ISSUER,
            "--type",
            "slsaprovenance",
            "-o",
            "json",
        ]);
        assert_status(&output, 1);
        assert_eq!(failure_codes(&output).1, vec!["identity-mismatch"]);
    }
}

//! OCI layouts (cosign save format) pushed byte for byte with `skopeo`.

use std::path::Path;
use std::process::Command;

use serde_json::{json, Value};

use super::{Registry, TempDir};

/// Push the cosign-saved layout at `layout` to `registry` as `repo:tag` with
/// `skopeo copy --all --preserve-digests`: the image (an index or a
/// manifest) under `tag`, its attestations and signatures under cosign's
/// `sha256-<hex>.att` / `.sig` tags. Returns the image's digest, checked
/// against what the registry serves for `tag`.
pub fn skopeo_push_layout(registry: &Registry, layout: &Path, repo: &str, tag: &str) -> String {
    let index: Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let manifests = index["manifests"].as_array().unwrap();
    let image = manifests
        .iter()
        .find(|m| {
            matches!(
                m["annotations"]["kind"].as_str(),
                Some("dev.cosignproject.cosign/imageIndex" | "dev.cosignproject.cosign/image")
            )
        })
        .expect("the layout has an image")["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let hex = image.trim_start_matches("sha256:");
    // skopeo's `oci:` transport only names OCI-typed manifests; a layout
    // holding a Docker schema 2 image (the generator's oldest release) is
    // pushed through the registry API instead, as byte for byte.
    let docker_typed = manifests.iter().any(|m| {
        m["mediaType"]
            .as_str()
            .is_some_and(|t| t.starts_with("application/vnd.docker."))
    });
    if docker_typed {
        let pushed = registry.pusher().layout(repo, layout, tag);
        assert_eq!(pushed, image);
        check_served(registry, repo, tag, &image);
        return image;
    }
    // skopeo's `oci:` transport names an image of a layout by its
    // `org.opencontainers.image.ref.name`; cosign save writes none. A
    // second index over the same blobs (linked, not copied) names each.
    let named = TempDir::new("oci-named");
    std::os::unix::fs::symlink(
        std::fs::canonicalize(layout.join("blobs")).unwrap(),
        named.path().join("blobs"),
    )
    .unwrap();
    std::fs::copy(layout.join("oci-layout"), named.path().join("oci-layout")).unwrap();
    let mut pushes = Vec::new();
    let mut entries = Vec::new();
    for (i, m) in manifests.iter().enumerate() {
        let destination = match m["annotations"]["kind"].as_str() {
            Some("dev.cosignproject.cosign/atts") => format!("sha256-{hex}.att"),
            Some("dev.cosignproject.cosign/sigs") => format!("sha256-{hex}.sig"),
            _ if m["digest"] == image.as_str() => tag.to_string(),
            _ => continue,
        };
        let name = format!("entry-{i}");
        let mut entry = m.clone();
        entry["annotations"] = json!({"org.opencontainers.image.ref.name": name});
        entries.push(entry);
        pushes.push((name, destination));
    }
    let named_index = json!({"schemaVersion": 2, "manifests": entries});
    std::fs::write(
        named.path().join("index.json"),
        serde_json::to_vec(&named_index).unwrap(),
    )
    .unwrap();
    for (name, destination) in pushes {
        let output = Command::new("skopeo")
            .args([
                "copy",
                "--all",
                "--preserve-digests",
                "--dest-tls-verify=false",
                "--retry-times",
                "2",
            ])
            .arg(format!("oci:{}:{name}", named.path().display()))
            .arg(format!("docker://{}/{repo}:{destination}", registry.addr))
            .output()
            .expect("skopeo must be installed (apt install skopeo)");
        assert!(
            output.status.success(),
            "skopeo copy {name} -> {repo}:{destination}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    check_served(registry, repo, tag, &image);
    image
}

/// Byte for byte: the registry serves `image`'s digest for `repo:tag`.
fn check_served(registry: &Registry, repo: &str, tag: &str, image: &str) {
    let served = reqwest::blocking::Client::new()
        .head(format!("http://{}/v2/{repo}/manifests/{tag}", registry.addr))
        .header(
            "accept",
            "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json",
        )
        .send()
        .unwrap();
    assert_eq!(
        served.headers()["docker-content-digest"].to_str().unwrap(),
        image,
        "{repo}:{tag}"
    );
}

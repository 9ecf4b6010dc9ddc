//! `verify flux-audit --verify-images` against a real registry (Debian's
//! `docker-registry` on a loopback port): the stock Flux install pointed at
//! controller images pushed there, signed by the test Sigstore as Flux's and
//! ControlPlane's release workflows, by someone else, or not at all.

mod image_env;

use image_env::*;
use serde_json::Value;
use verify_testkit::cosign::{signature_layer, simple_signing_payload};
use verify_testkit::{SanIdentity, SignOptions, TestSigstore};

const ISSUER: &str = verify_testkit::GITHUB_ACTIONS_ISSUER;

fn install_text() -> String {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/flux/install/flux-system.yaml");
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the Flux test data is missing: {} ({e}; see ../shared/flux/README.md)",
            path.display()
        )
    })
}

#[test]
fn controller_images_are_verified_against_the_release_identities() {
    let sigstore = TestSigstore::new();
    let registry = Registry::start();
    let pusher = registry.pusher();
    let dir = TempDir::new("flux-audit-images");
    let root = dir.path().join("trusted_root.json");
    std::fs::write(&root, sigstore.trusted_root_json()).unwrap();
    let addr = registry.addr.clone();

    let sign = |repo: &str, pushed: &Pushed, identity: &str| {
        let payload = simple_signing_payload(&format!("{addr}/{repo}"), &pushed.digest, None);
        let options = SignOptions {
            identity: Some(SanIdentity::Uri(identity.into())),
            issuer: ISSUER.into(),
            ..SignOptions::default()
        };
        let signed = sigstore.sign(&payload, &options).unwrap();
        let layer = signature_layer(&sigstore, &payload, &signed, true).unwrap();
        pusher.cosign_manifest(repo, &format!("sha256-{}.sig", pushed.hex()), &[layer]);
    };

    let mut text = install_text();
    // (controller, repository, tag, signer)
    let images = [
        ("source-controller", "fluxcd/source-controller", "v1.9.4",
         Some("https://github.com/fluxcd/source-controller/.github/workflows/release.yml@refs/tags/v1.9.4")),
        ("kustomize-controller", "controlplaneio-fluxcd/distroless/kustomize-controller", "v1.9.4",
         Some("https://github.com/controlplaneio-fluxcd/distribution/.github/workflows/build.yaml@refs/heads/main")),
        ("helm-controller", "fluxcd/helm-controller", "v1.6.3",
         Some("https://github.com/attacker/helm-controller/.github/workflows/release.yml@refs/tags/v1.6.3")),
        ("notification-controller", "fluxcd/notification-controller", "v1.9.3", None),
        ("image-reflector-controller", "fluxcd/image-reflector-controller", "v1.2.4",
         Some("https://github.com/fluxcd/image-reflector-controller/.github/workflows/release.yml@refs/tags/v1.2.4")),
        ("image-automation-controller", "fluxcd/image-automation-controller", "v1.2.4",
         Some("https://github.com/fluxcd/image-automation-controller/.github/workflows/release.yml@refs/tags/v1.2.4")),
    ];
    for (controller, repo, tag, signer) in images {
        let pushed = pusher.image(repo, tag, "linux", "amd64");
        if let Some(identity) = signer {
            sign(repo, &pushed, identity);
        }
        let stock = format!("image: ghcr.io/fluxcd/{controller}:{tag}");
        assert!(text.contains(&stock), "{stock}");
        text = text.replace(&stock, &format!("image: {addr}/{repo}:{tag}"));
    }
    let manifests = dir.path().join("flux.yaml");
    std::fs::write(&manifests, &text).unwrap();

    let output = verify(&[
        "flux-audit",
        "--verify-images",
        "--offline",
        "--trusted-root",
        root.to_str().unwrap(),
        "-o",
        "json",
        manifests.to_str().unwrap(),
    ]);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let by = |list: &str| -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = report[list]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["rule"] == "images/signature")
            .map(|f| {
                (
                    f["object"]["name"].as_str().unwrap().to_string(),
                    f["evidence"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let failed = by("findings");
    let names: Vec<&str> = failed.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["helm-controller", "notification-controller"],
        "{failed:?}"
    );
    assert!(failed[0].1.contains("identity"), "{}", failed[0].1);
    assert!(failed[1].1.contains("signature"), "{}", failed[1].1);
    for f in report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "images/signature")
    {
        assert_eq!(f["severity"], "critical");
    }
    let passed = by("passed");
    let names: Vec<&str> = passed.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "image-automation-controller",
            "image-reflector-controller",
            "kustomize-controller",
            "source-controller"
        ]
    );
    let kc = &passed
        .iter()
        .find(|(n, _)| n == "kustomize-controller")
        .unwrap()
        .1;
    assert!(
        kc.contains("signed by https://github.com/controlplaneio-fluxcd/"),
        "{kc}"
    );
    assert!(kc.contains("@sha256:"), "{kc}");
    // Only the two failures and the stock gap are findings.
    let mut rules: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    rules.sort();
    assert_eq!(
        rules,
        [
            "images/signature",
            "images/signature",
            "kustomize-controller/no-remote-bases"
        ]
    );
}

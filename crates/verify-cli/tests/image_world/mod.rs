//! The world of the `verify image` / `verify attestation` tests (image.rs,
//! image_attestations.rs, image_registry.rs, image_layouts.rs): a real
//! registry, a test Sigstore and its trusted root on disk, and the helpers
//! that run `verify` and read its failures. Built on `image_env`.

#![allow(dead_code)]

use std::path::PathBuf;

use crate::image_env::*;
use verify_testkit::cosign::{signature_layer, simple_signing_payload, CosignLayer};
use verify_testkit::{SignOptions, SignedBundle, TestSigstore};

pub const ISSUER: &str = verify_testkit::GITHUB_ACTIONS_ISSUER;

/// A registry, a test Sigstore and its trusted root on disk.
pub struct World {
    pub sigstore: TestSigstore,
    pub registry: Registry,
    pub pusher: Pusher,
    pub dir: TempDir,
    pub root: PathBuf,
}

impl World {
    pub fn new() -> Self {
        let sigstore = TestSigstore::new();
        let registry = Registry::start();
        let pusher = registry.pusher();
        let dir = TempDir::new("image-test");
        let root = dir.path().join("trusted_root.json");
        std::fs::write(&root, sigstore.trusted_root_json()).unwrap();
        Self {
            sigstore,
            registry,
            pusher,
            dir,
            root,
        }
    }

    pub fn addr(&self) -> &str {
        &self.registry.addr
    }

    pub fn by_digest(&self, repo: &str, image: &Pushed) -> String {
        format!("{}/{repo}@{}", self.addr(), image.digest)
    }

    pub fn identity() -> String {
        SignOptions::default()
            .effective_identity()
            .as_str()
            .to_string()
    }

    /// Keyless identity flags and the test trusted root.
    pub fn keyless_args(&self) -> Vec<String> {
        vec![
            "--certificate-identity".into(),
            Self::identity(),
            "--certificate-oidc-issuer".into(),
            ISSUER.into(),
            "--trusted-root".into(),
            self.root.display().to_string(),
        ]
    }

    /// A cosign signature layer over the simple-signing payload for
    /// `digest`, signed as `options` say.
    pub fn signature(
        &self,
        repo: &str,
        digest: &str,
        optional: Option<serde_json::Value>,
        options: &SignOptions,
        with_bundle: bool,
    ) -> (CosignLayer, SignedBundle) {
        let payload = simple_signing_payload(&format!("{}/{repo}", self.addr()), digest, optional);
        let signed = self.sigstore.sign(&payload, options).unwrap();
        let layer = signature_layer(&self.sigstore, &payload, &signed, with_bundle).unwrap();
        (layer, signed)
    }

    /// Sign `image` keylessly (bundle annotation included) under its
    /// `.sig` tag.
    pub fn sign(&self, repo: &str, image: &Pushed) {
        let (layer, _) = self.signature(repo, &image.digest, None, &SignOptions::default(), true);
        self.pusher
            .cosign_manifest(repo, &format!("sha256-{}.sig", image.hex()), &[layer]);
    }

    pub fn run(&self, command: &str, image: &str, extra: &[&str]) -> std::process::Output {
        let mut args: Vec<String> = vec![command.into(), image.into()];
        args.extend(self.keyless_args());
        args.extend(extra.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        verify(&args)
    }
}

pub fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn assert_status(output: &std::process::Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&output.stdout),
        stderr(output)
    );
}

/// The per-signature failure codes of a `-o json` failure.
pub fn failure_codes(output: &std::process::Output) -> (String, Vec<String>) {
    let json = failure_json(output);
    (
        json["reason"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        json["failures"]
            .as_array()
            .map(|f| {
                f.iter()
                    .map(|x| x["code"].as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default(),
    )
}

pub fn base64_encode(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}

pub fn base64_encode_bytes(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

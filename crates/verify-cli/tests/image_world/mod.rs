//! The world of the `verify image` / `verify attestation` tests (image.rs,
//! image_attestations.rs, image_registry.rs, image_layouts.rs): a real
//! registry, a test Sigstore and its trusted root on disk, and the helpers
//! that run `verify` and read its failures. Built on `image_env`.

#![allow(dead_code)]

use crate::image_env::*;
use verify_testkit::cosign::{signature_layer, simple_signing_payload, CosignLayer};
use verify_testkit::registry;
use verify_testkit::{SignOptions, SignedBundle};

pub const ISSUER: &str = verify_testkit::GITHUB_ACTIONS_ISSUER;

/// A registry, a test Sigstore and its trusted root on disk
/// (verify-testkit's [`registry::World`]), and what the image tests do with
/// them.
pub struct World(registry::World);

impl std::ops::Deref for World {
    type Target = registry::World;
    fn deref(&self) -> &registry::World {
        &self.0
    }
}

impl World {
    pub fn new() -> Self {
        Self(registry::World::new("image-test"))
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
        let options = SignOptions::default();
        registry::sign_image(
            &self.sigstore,
            &self.pusher,
            self.addr(),
            repo,
            image,
            &options,
        );
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

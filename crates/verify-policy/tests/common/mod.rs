//! The evaluation tests' world: OCI image layouts written to disk (the
//! format `cosign save` and `skopeo` write, read back by the core's
//! `OciLayout`), holding images signed by the test Sigstore.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use serde_json::json;
use sha2::{Digest, Sha256};
use verify_core::oci_layout::OciLayout;
use verify_core::{ArtifactDigest, TrustRoot, Verifier};
use verify_policy::{evaluate, Decision, EvalContext, ImageAtDigest, PolicySet, TrustRoots};
use verify_testkit::cosign::{
    attestation_layer, signature_layer, simple_signing_payload, CosignLayer,
};
use verify_testkit::{SignOptions, SignedBundle, TestSigstore};

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const BUNDLE_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
pub const ISSUER: &str = verify_testkit::GITHUB_ACTIONS_ISSUER;

pub fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// A directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(label: &str) -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "verify-policy-{label}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A manifest written to the layout.
#[derive(Clone)]
pub struct Written {
    pub digest: String,
    pub bytes: Vec<u8>,
    pub media_type: String,
}

impl Written {
    pub fn hex(&self) -> &str {
        self.digest.trim_start_matches("sha256:")
    }

    pub fn artifact(&self) -> ArtifactDigest {
        ArtifactDigest::parse(&self.digest).unwrap()
    }

    pub fn descriptor(&self) -> serde_json::Value {
        json!({"mediaType": self.media_type, "digest": self.digest, "size": self.bytes.len()})
    }
}

/// An OCI layout being written.
pub struct Layout {
    pub dir: TempDir,
    entries: Vec<serde_json::Value>,
}

impl Layout {
    pub fn new() -> Self {
        let dir = TempDir::new("layout");
        std::fs::create_dir_all(dir.path().join("blobs/sha256")).unwrap();
        std::fs::write(
            dir.path().join("oci-layout"),
            br#"{"imageLayoutVersion":"1.0.0"}"#,
        )
        .unwrap();
        let layout = Self {
            dir,
            entries: Vec::new(),
        };
        layout.flush();
        layout
    }

    pub fn blob(&self, bytes: &[u8]) -> String {
        let d = digest(bytes);
        std::fs::write(
            self.dir
                .path()
                .join("blobs/sha256")
                .join(d.trim_start_matches("sha256:")),
            bytes,
        )
        .unwrap();
        d
    }

    /// Write a manifest; `tag`: list it in index.json under that name.
    pub fn manifest(&mut self, tag: Option<&str>, media_type: &str, bytes: Vec<u8>) -> Written {
        let d = self.blob(&bytes);
        if let Some(tag) = tag {
            self.entries
                .retain(|e| e["annotations"]["org.opencontainers.image.ref.name"] != json!(tag));
            self.entries.push(json!({
                "mediaType": media_type, "digest": d, "size": bytes.len(),
                "annotations": {"org.opencontainers.image.ref.name": tag},
            }));
            self.flush();
        }
        Written {
            digest: d,
            bytes,
            media_type: media_type.into(),
        }
    }

    fn flush(&self) {
        let index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": self.entries});
        std::fs::write(
            self.dir.path().join("index.json"),
            serde_json::to_vec(&index).unwrap(),
        )
        .unwrap();
    }

    /// A single-platform image with a random layer.
    pub fn image(&mut self, tag: &str, os: &str, arch: &str) -> Written {
        let config = format!(
            r#"{{"architecture":"{arch}","os":"{os}","rootfs":{{"type":"layers","diff_ids":[]}}}}"#
        );
        let config_digest = self.blob(config.as_bytes());
        let layer: Vec<u8> =
            format!("layer {tag} {os}/{arch} {:?}", std::time::SystemTime::now()).into_bytes();
        let layer_digest = self.blob(&layer);
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest, "size": layer.len()}],
        });
        self.manifest(
            Some(tag),
            OCI_MANIFEST,
            serde_json::to_vec(&manifest).unwrap(),
        )
    }

    /// cosign's `.sig` / `.att` manifest.
    pub fn cosign_manifest(&mut self, tag: &str, layers: &[CosignLayer]) -> Written {
        let config =
            br#"{"architecture":"","os":"","rootfs":{"type":"layers","diff_ids":[]},"config":{}}"#;
        let config_digest = self.blob(config);
        let descriptors: Vec<serde_json::Value> = layers
            .iter()
            .map(|l| json!({"mediaType": l.media_type, "digest": self.blob(&l.blob), "size": l.blob.len(), "annotations": l.annotations}))
            .collect();
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
            "layers": descriptors,
        });
        self.manifest(
            Some(tag),
            OCI_MANIFEST,
            serde_json::to_vec(&manifest).unwrap(),
        )
    }

    /// A Sigstore bundle attached to `subject` as an OCI referrer.
    pub fn bundle_referrer(&mut self, subject: &Written, bundle: &[u8]) -> Written {
        let empty = self.blob(b"{}");
        let layer = self.blob(bundle);
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": BUNDLE_TYPE,
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2},
            "layers": [{"mediaType": BUNDLE_TYPE, "digest": layer, "size": bundle.len()}],
            "subject": subject.descriptor(),
        });
        self.manifest(None, OCI_MANIFEST, serde_json::to_vec(&manifest).unwrap())
    }

    pub fn source(&self) -> OciLayout {
        OciLayout::open(self.dir.path()).unwrap()
    }
}

/// The test Sigstore, its verifier, and signing helpers.
pub struct World {
    pub sigstore: TestSigstore,
    pub roots: TrustRoots,
}

impl World {
    pub fn new() -> Self {
        let sigstore = TestSigstore::new();
        let verifier = verifier_for(&sigstore);
        Self {
            roots: TrustRoots::new(Arc::new(verifier)),
            sigstore,
        }
    }

    /// The identity `SignOptions::default()` signs as.
    pub fn identity() -> String {
        SignOptions::default()
            .effective_identity()
            .as_str()
            .to_string()
    }

    /// A cosign signature layer for `image`.
    pub fn signature(
        &self,
        image: &Written,
        options: &SignOptions,
        with_bundle: bool,
    ) -> (CosignLayer, SignedBundle) {
        let payload = simple_signing_payload("registry.test/app", &image.digest, None);
        let signed = self.sigstore.sign(&payload, options).unwrap();
        let layer = signature_layer(&self.sigstore, &payload, &signed, with_bundle).unwrap();
        (layer, signed)
    }

    /// Sign `image` under its `.sig` tag.
    pub fn sign(
        &self,
        layout: &mut Layout,
        image: &Written,
        options: &SignOptions,
    ) -> SignedBundle {
        let (layer, signed) = self.signature(image, options, true);
        layout.cosign_manifest(&format!("sha256-{}.sig", image.hex()), &[layer]);
        signed
    }

    /// Attest `image` under its `.att` tag with these (predicate type,
    /// predicate) pairs.
    pub fn attest(
        &self,
        layout: &mut Layout,
        image: &Written,
        statements: &[(&str, serde_json::Value)],
    ) {
        let layers: Vec<CosignLayer> = statements
            .iter()
            .map(|(predicate_type, predicate)| {
                let signed = self
                    .sigstore
                    .sign(
                        &image.bytes,
                        &SignOptions {
                            content: verify_testkit::Content::Dsse,
                            predicate_type: (*predicate_type).into(),
                            predicate: predicate.clone(),
                            ..SignOptions::default()
                        },
                    )
                    .unwrap();
                attestation_layer(&self.sigstore, &signed, true).unwrap()
            })
            .collect();
        layout.cosign_manifest(&format!("sha256-{}.att", image.hex()), &layers);
    }
}

pub fn verifier_for(sigstore: &TestSigstore) -> Verifier {
    Verifier::new(
        TrustRoot::from_json(sigstore.trusted_root_json().as_bytes(), &Default::default()).unwrap(),
    )
    .unwrap()
}

pub fn policies(yaml: &str) -> PolicySet {
    PolicySet::from_sources(&[("test.yaml".into(), yaml.into())])
        .unwrap_or_else(|report| panic!("policies do not load:\n{report}"))
}

/// Evaluate every policy of `set` that matches `reference` for `image`.
pub fn decide(
    set: &PolicySet,
    roots: &TrustRoots,
    layout: &Layout,
    reference: &str,
    image: &Written,
    secrets: Option<&Path>,
) -> Decision {
    let source = layout.source();
    let ctx = EvalContext {
        trust_roots: roots,
        source: &source,
        tlog: None,
        secrets_dir: secrets,
    };
    let matching = set.matching(reference);
    assert!(!matching.is_empty(), "no policy matches {reference}");
    let image = ImageAtDigest {
        reference: reference.into(),
        digest: image.artifact(),
    };
    block_on(evaluate(&matching, &image, &ctx))
}

/// Drive a future on a current-thread runtime (the library creates none).
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

/// The failure codes of every outcome, in order.
pub fn codes(decision: &Decision) -> Vec<String> {
    decision
        .outcomes
        .iter()
        .flat_map(|o| o.failures.iter().map(|f| f.code.clone()))
        .collect()
}

pub fn annotations(map: &[(&str, &str)]) -> BTreeMap<String, String> {
    map.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

//! The evaluation tests' world: OCI image layouts written to disk (the
//! format `cosign save` and `skopeo` write, read back by the core's
//! `OciLayout`), holding images signed by the test Sigstore. The images,
//! signatures and referrers are verify-testkit's `oci` shapes, the same
//! the CLI and webhook tests push to a real registry.

#![allow(dead_code)]

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde_json::json;
use verify_core::oci_layout::OciLayout;
use verify_core::{ArtifactDigest, TrustRoot, Verifier};
use verify_policy::{evaluate, Decision, EvalContext, ImageAtDigest, PolicySet, TrustRoots};
use verify_testkit::cosign::{
    attestation_layer, signature_layer, simple_signing_payload, CosignLayer,
};
use verify_testkit::{SignOptions, SignedBundle, TestSigstore};

use verify_testkit::oci;
pub use verify_testkit::oci::OciSink;
#[allow(unused_imports)]
pub use verify_testkit::oci::{
    digest, Pushed as Written, TempDir, BUNDLE_TYPE, OCI_INDEX, OCI_MANIFEST,
};

pub const ISSUER: &str = verify_testkit::GITHUB_ACTIONS_ISSUER;

/// The digest of a written manifest, as the core takes it.
pub trait ArtifactOf {
    fn artifact(&self) -> ArtifactDigest;
}

impl ArtifactOf for Written {
    fn artifact(&self) -> ArtifactDigest {
        ArtifactDigest::parse(&self.digest).unwrap()
    }
}

/// An OCI layout being written: what verify-testkit's [`oci`] shapes are
/// pushed to (the same bytes the CLI and webhook tests push to a registry).
pub struct Layout {
    pub dir: TempDir,
    entries: RefCell<Vec<serde_json::Value>>,
}

impl OciSink for Layout {
    fn blob(&self, bytes: &[u8]) -> String {
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

    /// A tag is listed in index.json; a digest reference is stored only.
    fn manifest(&self, reference: &str, media_type: &str, bytes: &[u8]) -> Written {
        let d = self.blob(bytes);
        if !reference.starts_with("sha256:") {
            let mut entries = self.entries.borrow_mut();
            entries.retain(|e| {
                e["annotations"]["org.opencontainers.image.ref.name"] != json!(reference)
            });
            entries.push(json!({
                "mediaType": media_type, "digest": d, "size": bytes.len(),
                "annotations": {"org.opencontainers.image.ref.name": reference},
            }));
            drop(entries);
            self.flush();
        }
        Written {
            digest: d,
            bytes: bytes.to_vec(),
            media_type: media_type.into(),
        }
    }
}

impl Layout {
    pub fn new() -> Self {
        let dir = TempDir::new("policy-layout");
        std::fs::create_dir_all(dir.path().join("blobs/sha256")).unwrap();
        std::fs::write(
            dir.path().join("oci-layout"),
            br#"{"imageLayoutVersion":"1.0.0"}"#,
        )
        .unwrap();
        let layout = Self {
            dir,
            entries: RefCell::new(Vec::new()),
        };
        layout.flush();
        layout
    }

    fn flush(&self) {
        let index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": *self.entries.borrow()});
        std::fs::write(
            self.dir.path().join("index.json"),
            serde_json::to_vec(&index).unwrap(),
        )
        .unwrap();
    }

    /// A single-platform image with a random layer, as `tag`.
    pub fn image(&mut self, tag: &str, os: &str, arch: &str) -> Written {
        oci::image(&*self, tag, os, arch)
    }

    /// cosign's `.sig` / `.att` manifest.
    pub fn cosign_manifest(&mut self, tag: &str, layers: &[CosignLayer]) -> Written {
        oci::cosign_manifest(&*self, tag, layers)
    }

    /// A Sigstore bundle attached to `subject` as an OCI referrer.
    pub fn bundle_referrer(&mut self, subject: &Written, bundle: &[u8]) -> Written {
        oci::bundle_referrer(&*self, subject, bundle)
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

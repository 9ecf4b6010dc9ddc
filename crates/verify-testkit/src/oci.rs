//! OCI content for tests, written the same way wherever it goes: to a real
//! registry ([`crate::registry`], feature `registry`) or to an OCI image
//! layout on disk (what `cosign save` and `skopeo` write).
//!
//! [`OciSink`] is the one thing a destination implements (put a blob, put a
//! manifest under a tag or digest); the shapes built on it ([`image`],
//! [`index`], [`cosign_manifest`], [`bundle_referrer`], [`referrers_index`])
//! are written once, here, so the CLI, webhook and policy tests push the
//! same bytes.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::json;

use crate::cosign::CosignLayer;

/// OCI image manifest media type.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index media type.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// OCI image config media type.
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// Sigstore bundle v0.3 media type (a bundle referrer's artifact type).
pub const BUNDLE_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

/// `sha256:<hex>` of bytes.
pub fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", sigstore_crypto::sha256(bytes).to_hex())
}

/// A directory under the system temporary directory, removed on drop.
#[derive(Debug)]
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// A new, empty directory named after `label`, this process and a
    /// counter.
    pub fn new(label: &str) -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "verify-{label}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        Self(dir)
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A manifest written to a sink.
#[derive(Clone, Debug)]
pub struct Pushed {
    /// `sha256:<hex>` of the manifest bytes.
    pub digest: String,
    /// The manifest bytes.
    pub bytes: Vec<u8>,
    /// Its media type.
    pub media_type: String,
}

impl Pushed {
    /// An OCI descriptor of it.
    pub fn descriptor(&self) -> serde_json::Value {
        json!({"mediaType": self.media_type, "digest": self.digest, "size": self.bytes.len()})
    }

    /// The digest's hex part.
    pub fn hex(&self) -> &str {
        self.digest.trim_start_matches("sha256:")
    }
}

/// Where OCI content is written: a registry repository or a layout.
pub trait OciSink {
    /// Store a blob; its `sha256:` digest.
    fn blob(&self, bytes: &[u8]) -> String;
    /// Store a manifest under `reference`: a tag, or its own `sha256:` digest
    /// (untagged).
    fn manifest(&self, reference: &str, media_type: &str, bytes: &[u8]) -> Pushed;
}

/// An image manifest for `os/arch` with a random layer, and its blobs
/// (config, layer).
pub fn image_manifest(os: &str, arch: &str) -> (Vec<u8>, Vec<Vec<u8>>) {
    let mut random = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut random))
        .expect("random bytes");
    let layer = [b"layer ".as_slice(), &random].concat();
    let config = serde_json::to_vec(&json!({
        "architecture": arch,
        "os": os,
        "rootfs": {"type": "layers", "diff_ids": [digest(&layer)]},
        "config": {},
    }))
    .expect("json");
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": digest(&config), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest(&layer), "size": layer.len()}],
    });
    (
        serde_json::to_vec(&manifest).expect("json"),
        vec![config, layer],
    )
}

/// A small random image for `os/arch` (config and one layer), as `tag`.
pub fn image(sink: &dyn OciSink, tag: &str, os: &str, arch: &str) -> Pushed {
    let (manifest, blobs) = image_manifest(os, arch);
    for blob in &blobs {
        sink.blob(blob);
    }
    sink.manifest(tag, OCI_MANIFEST, &manifest)
}

/// A multi-platform index over fresh images (stored by digest), as `tag`;
/// the index and its children.
pub fn index(sink: &dyn OciSink, tag: &str, platforms: &[(&str, &str)]) -> (Pushed, Vec<Pushed>) {
    let children: Vec<Pushed> = platforms
        .iter()
        .map(|(os, arch)| {
            let (manifest, blobs) = image_manifest(os, arch);
            for blob in &blobs {
                sink.blob(blob);
            }
            sink.manifest(&digest(&manifest), OCI_MANIFEST, &manifest)
        })
        .collect();
    let index = json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": children.iter().zip(platforms).map(|(c, (os, arch))| {
            let mut d = c.descriptor();
            d["platform"] = json!({"os": os, "architecture": arch});
            d
        }).collect::<Vec<_>>(),
    });
    let bytes = serde_json::to_vec(&index).expect("json");
    (sink.manifest(tag, OCI_INDEX, &bytes), children)
}

/// cosign's `.sig` / `.att` manifest of these layers, as `tag`.
pub fn cosign_manifest(sink: &dyn OciSink, tag: &str, layers: &[CosignLayer]) -> Pushed {
    let config = br#"{"architecture":"","created":"0001-01-01T00:00:00Z","os":"","rootfs":{"type":"layers","diff_ids":[]},"config":{}}"#;
    let config_digest = sink.blob(config);
    let descriptors: Vec<serde_json::Value> = layers
        .iter()
        .map(|l| {
            let d = sink.blob(&l.blob);
            json!({"mediaType": l.media_type, "digest": d, "size": l.blob.len(), "annotations": l.annotations})
        })
        .collect();
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": config.len()},
        "layers": descriptors,
    });
    sink.manifest(
        tag,
        OCI_MANIFEST,
        &serde_json::to_vec(&manifest).expect("json"),
    )
}

/// A Sigstore bundle attached to `subject` as an OCI referrer (stored by
/// digest), as cosign v3 writes it.
pub fn bundle_referrer(sink: &dyn OciSink, subject: &Pushed, bundle: &[u8]) -> Pushed {
    let empty = sink.blob(b"{}");
    let layer = sink.blob(bundle);
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": BUNDLE_TYPE,
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2},
        "layers": [{"mediaType": BUNDLE_TYPE, "digest": layer, "size": bundle.len()}],
        "subject": subject.descriptor(),
    });
    let bytes = serde_json::to_vec(&manifest).expect("json");
    sink.manifest(&digest(&bytes), OCI_MANIFEST, &bytes)
}

/// The referrers tag schema's index (`sha256-<hex>` of `subject`) listing
/// bundle `referrers`, for registries without the referrers API.
pub fn referrers_index(sink: &dyn OciSink, subject: &Pushed, referrers: &[Pushed]) -> Pushed {
    let index = json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": referrers.iter().map(|r| {
            let mut d = r.descriptor();
            d["artifactType"] = json!(BUNDLE_TYPE);
            d
        }).collect::<Vec<_>>(),
    });
    sink.manifest(
        &format!("sha256-{}", subject.hex()),
        OCI_INDEX,
        &serde_json::to_vec(&index).expect("json"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    /// A sink that remembers what it was given.
    #[derive(Default)]
    struct Memory {
        blobs: RefCell<Vec<String>>,
        manifests: RefCell<Vec<(String, Pushed)>>,
    }

    impl OciSink for Memory {
        fn blob(&self, bytes: &[u8]) -> String {
            let d = digest(bytes);
            self.blobs.borrow_mut().push(d.clone());
            d
        }

        fn manifest(&self, reference: &str, media_type: &str, bytes: &[u8]) -> Pushed {
            let pushed = Pushed {
                digest: digest(bytes),
                bytes: bytes.to_vec(),
                media_type: media_type.into(),
            };
            self.manifests
                .borrow_mut()
                .push((reference.into(), pushed.clone()));
            pushed
        }
    }

    #[test]
    fn an_image_references_exactly_the_blobs_it_stored() {
        let sink = Memory::default();
        let pushed = image(&sink, "v1", "linux", "arm64");
        let manifest: serde_json::Value = serde_json::from_slice(&pushed.bytes).unwrap();
        let blobs = sink.blobs.borrow();
        assert_eq!(manifest["config"]["digest"], blobs[0].as_str());
        assert_eq!(manifest["layers"][0]["digest"], blobs[1].as_str());
        assert_eq!(pushed.digest, digest(&pushed.bytes));
        assert_eq!(sink.manifests.borrow()[0].0, "v1");
        drop(blobs);
        // Random layers: two images never share a digest.
        assert_ne!(image(&sink, "v1", "linux", "arm64").digest, pushed.digest);
    }

    #[test]
    fn referrers_point_at_their_subject_and_are_listed_under_its_tag() {
        let sink = Memory::default();
        let subject = image(&sink, "v1", "linux", "amd64");
        let referrer = bundle_referrer(&sink, &subject, b"{\"bundle\":1}");
        let parsed: serde_json::Value = serde_json::from_slice(&referrer.bytes).unwrap();
        assert_eq!(parsed["subject"]["digest"], subject.digest.as_str());
        assert_eq!(parsed["artifactType"], BUNDLE_TYPE);
        let listing = referrers_index(&sink, &subject, std::slice::from_ref(&referrer));
        let parsed: serde_json::Value = serde_json::from_slice(&listing.bytes).unwrap();
        assert_eq!(parsed["manifests"][0]["digest"], referrer.digest.as_str());
        let manifests = sink.manifests.borrow();
        assert_eq!(manifests[1].0, referrer.digest);
        assert_eq!(manifests[2].0, format!("sha256-{}", subject.hex()));
    }

    #[test]
    fn an_index_lists_each_platform() {
        let sink = Memory::default();
        let (index, children) = index(&sink, "multi", &[("linux", "amd64"), ("linux", "arm64")]);
        let parsed: serde_json::Value = serde_json::from_slice(&index.bytes).unwrap();
        assert_eq!(parsed["manifests"].as_array().unwrap().len(), 2);
        assert_eq!(parsed["manifests"][1]["platform"]["architecture"], "arm64");
        assert_eq!(
            parsed["manifests"][0]["digest"],
            children[0].digest.as_str()
        );
    }
}

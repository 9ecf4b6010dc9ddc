//! A repository held in memory, by tag and by digest: written through
//! verify-testkit's [`OciSink`] shapes (the bytes the CLI, webhook and policy
//! tests push to a registry) and read by verify-core as a caller-supplied
//! [`ImageSource`], as a webhook with its own cache would supply one.

use std::collections::BTreeMap;
use std::sync::Mutex;

use verify_core::oci::{ImageSource, ManifestRef, RawManifest, SourceError};
use verify_core::ArtifactDigest;
use verify_testkit::cosign::CosignLayer;
use verify_testkit::oci::{self, OciSink, Pushed};

/// The repository's name.
pub const NAME: &str = "memory.test/app";

/// Other bytes served for a blob: a source lying about its content.
pub struct Lie {
    /// The blob's `sha256:` digest.
    pub digest: String,
    /// What is served instead.
    pub bytes: Vec<u8>,
    /// How many reads are answered truthfully first (0: none).
    pub after: usize,
}

/// An in-memory repository.
#[derive(Default)]
pub struct Memory {
    manifests: Mutex<BTreeMap<String, Vec<u8>>>,
    blobs: Mutex<BTreeMap<String, Vec<u8>>>,
    /// How many times each blob was read.
    reads: Mutex<BTreeMap<String, usize>>,
    /// A blob served with other bytes.
    pub lie: Mutex<Option<Lie>>,
}

impl OciSink for Memory {
    fn blob(&self, bytes: &[u8]) -> String {
        let d = oci::digest(bytes);
        self.blobs.lock().unwrap().insert(d.clone(), bytes.to_vec());
        d
    }

    fn manifest(&self, reference: &str, media_type: &str, bytes: &[u8]) -> Pushed {
        let pushed = Pushed {
            digest: oci::digest(bytes),
            bytes: bytes.to_vec(),
            media_type: media_type.into(),
        };
        let mut manifests = self.manifests.lock().unwrap();
        manifests.insert(reference.to_string(), bytes.to_vec());
        manifests.insert(pushed.digest.clone(), bytes.to_vec());
        pushed
    }
}

impl Memory {
    /// Store a blob; its `sha256:` digest.
    pub fn put_blob(&self, bytes: &[u8]) -> String {
        OciSink::blob(self, bytes)
    }

    /// Store the JSON manifest `value` by digest, and as `tag` if given.
    pub fn put_manifest(&self, tag: Option<&str>, value: &serde_json::Value) -> ArtifactDigest {
        let bytes = serde_json::to_vec(value).unwrap();
        let digest = oci::digest(&bytes);
        let media_type = value["mediaType"].as_str().unwrap_or(oci::OCI_MANIFEST);
        OciSink::manifest(self, tag.unwrap_or(&digest), media_type, &bytes);
        ArtifactDigest::parse(&digest).unwrap()
    }

    /// A linux/amd64 image tagged `v1`: its digest and manifest bytes.
    pub fn image(&self) -> (ArtifactDigest, Vec<u8>) {
        let pushed = oci::image(self, "v1", "linux", "amd64");
        (ArtifactDigest::parse(&pushed.digest).unwrap(), pushed.bytes)
    }

    /// cosign's `.sig` / `.att` manifest of `layers`, as `tag`.
    pub fn cosign_manifest(&self, tag: &str, layers: &[CosignLayer]) {
        oci::cosign_manifest(self, tag, layers);
    }

    /// How many times the blob `digest` was read.
    pub fn blob_reads(&self, digest: &str) -> usize {
        self.reads.lock().unwrap().get(digest).copied().unwrap_or(0)
    }

    /// The size of the stored manifest `digest`.
    pub fn manifest_len(&self, digest: &ArtifactDigest) -> usize {
        self.manifests.lock().unwrap()[&digest.to_string()].len()
    }
}

#[async_trait::async_trait]
impl ImageSource for Memory {
    fn name(&self) -> String {
        NAME.into()
    }

    async fn manifest(
        &self,
        r: &ManifestRef,
        _max: usize,
    ) -> Result<Option<RawManifest>, SourceError> {
        let key = match r {
            ManifestRef::Tag(t) => t.clone(),
            ManifestRef::Digest(d) => d.to_string(),
        };
        Ok(self
            .manifests
            .lock()
            .unwrap()
            .get(&key)
            .map(|bytes| RawManifest {
                bytes: bytes.clone(),
                media_type: None,
            }))
    }

    async fn blob(&self, digest: &ArtifactDigest, _max: usize) -> Result<Vec<u8>, SourceError> {
        let key = digest.to_string();
        let read = {
            let mut reads = self.reads.lock().unwrap();
            let n = reads.entry(key.clone()).or_default();
            *n += 1;
            *n
        };
        if let Some(lie) = self.lie.lock().unwrap().as_ref() {
            if lie.digest == key && read > lie.after {
                return Ok(lie.bytes.clone());
            }
        }
        self.blobs
            .lock()
            .unwrap()
            .get(&digest.to_string())
            .cloned()
            .ok_or_else(|| SourceError::BlobNotFound {
                what: digest.to_string(),
            })
    }

    async fn referrers(
        &self,
        _: &ArtifactDigest,
        _: usize,
    ) -> Result<Option<RawManifest>, SourceError> {
        Ok(None)
    }
}

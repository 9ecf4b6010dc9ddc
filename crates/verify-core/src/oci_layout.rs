//! A local OCI image layout as an [`ImageSource`], cosign's `save` format
//! included.
//!
//! A layout is a directory with `oci-layout`, `index.json` and
//! `blobs/sha256/<hex>`. Its manifests are found by digest (any blob), by tag
//! (`org.opencontainers.image.ref.name` annotations in `index.json`), and, in
//! a layout written by `cosign save`, by cosign's tags: `index.json` marks the
//! saved image with the annotation `kind` = `dev.cosignproject.cosign/image`
//! (or `.../imageIndex`) and its signature and attestation manifests with
//! `.../sigs` and `.../atts`, which answer to `sha256-<image hex>.sig` and
//! `.att`. Referrers (cosign v3 bundles) are found by scanning the layout's
//! manifests for a `subject` naming the image.
//!
//! Every read is bounded; digests are checked by the callers in
//! [`crate::oci`], as for any source.

use std::path::{Path, PathBuf};

use crate::artifact::ArtifactDigest;
use crate::bundle::{read_bounded, ReadError};
use crate::oci::{
    Descriptor, ImageIndex, ImageSource, Manifest, ManifestRef, RawManifest, SourceError, OCI_INDEX,
};

/// `kind` annotation of the image in a cosign-saved layout.
pub(crate) const COSIGN_KIND_IMAGE: &str = "dev.cosignproject.cosign/image";
/// `kind` annotation of the image index in a cosign-saved layout.
pub(crate) const COSIGN_KIND_IMAGE_INDEX: &str = "dev.cosignproject.cosign/imageIndex";
/// `kind` annotation of the signatures manifest in a cosign-saved layout.
pub(crate) const COSIGN_KIND_SIGNATURES: &str = "dev.cosignproject.cosign/sigs";
/// `kind` annotation of the attestations manifest in a cosign-saved layout.
pub(crate) const COSIGN_KIND_ATTESTATIONS: &str = "dev.cosignproject.cosign/atts";
/// The OCI annotation naming a manifest's tag in `index.json`.
pub(crate) const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// Largest `index.json` or `oci-layout` read.
const MAX_INDEX_BYTES: usize = 4 * 1024 * 1024;
/// Most blobs inspected when looking for referrers.
const MAX_REFERRER_SCAN: usize = 4096;

/// An OCI image layout on disk.
#[derive(Debug, Clone)]
pub struct OciLayout {
    root: PathBuf,
    index: ImageIndex,
}

impl OciLayout {
    /// Open the layout at `root`: `oci-layout` must declare version 1.0.0
    /// and `index.json` must be an image index.
    pub fn open(root: &Path) -> Result<Self, SourceError> {
        let marker = read_file(&root.join("oci-layout"), MAX_INDEX_BYTES)?;
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Marker {
            image_layout_version: String,
        }
        let marker: Marker =
            serde_json::from_slice(&marker).map_err(|e| SourceError::Malformed {
                what: format!("{}/oci-layout", root.display()),
                detail: e.to_string(),
            })?;
        if marker.image_layout_version != "1.0.0" {
            return Err(SourceError::Malformed {
                what: format!("{}/oci-layout", root.display()),
                detail: format!(
                    "imageLayoutVersion: expected 1.0.0, found {:?}",
                    marker.image_layout_version
                ),
            });
        }
        let index_path = root.join("index.json");
        let bytes = read_file(&index_path, MAX_INDEX_BYTES)?;
        let what = index_path.display().to_string();
        let index = match Manifest::parse(&bytes, Some(OCI_INDEX), &what)? {
            Manifest::Index(index) => index,
            Manifest::Image(_) => {
                return Err(SourceError::Malformed {
                    what,
                    detail: "expected an image index".into(),
                })
            }
        };
        Ok(Self {
            root: root.to_path_buf(),
            index,
        })
    }

    /// The entries of `index.json`.
    pub fn entries(&self) -> &[Descriptor] {
        &self.index.manifests
    }

    /// The image this layout holds, for `oci:PATH` without a digest: the
    /// cosign-saved image index, else the cosign-saved image, else the only
    /// manifest in `index.json`.
    pub fn default_image(&self) -> Result<ArtifactDigest, SourceError> {
        if let Some(d) = self
            .by_kind(COSIGN_KIND_IMAGE_INDEX)
            .or_else(|| self.by_kind(COSIGN_KIND_IMAGE))
        {
            return d.sha256();
        }
        match self.index.manifests.as_slice() {
            [only] => only.sha256(),
            [] => Err(SourceError::NotFound {
                what: format!("an image in {}", self.name()),
            }),
            many => Err(SourceError::Invalid {
                detail: format!(
                    "{} holds {} manifests and none is marked as cosign's image; name one with oci:PATH@sha256:HEX",
                    self.name(),
                    many.len()
                ),
            }),
        }
    }

    fn by_kind(&self, kind: &str) -> Option<&Descriptor> {
        self.index
            .manifests
            .iter()
            .find(|d| d.annotations.get("kind").map(String::as_str) == Some(kind))
    }

    fn blob_path(&self, digest: &ArtifactDigest) -> PathBuf {
        self.root
            .join("blobs")
            .join("sha256")
            .join(hex::encode(digest.0))
    }

    /// The descriptor a tag names: a `ref.name` annotation, or cosign's
    /// `.sig`/`.att` tag of the saved image.
    fn resolve_tag(&self, tag: &str) -> Option<&Descriptor> {
        if let Some(d) = self
            .index
            .manifests
            .iter()
            .find(|d| d.annotations.get(REF_NAME).map(String::as_str) == Some(tag))
        {
            return Some(d);
        }
        let (hex_part, kind) = if let Some(rest) = tag.strip_suffix(".sig") {
            (rest.strip_prefix("sha256-")?, COSIGN_KIND_SIGNATURES)
        } else if let Some(rest) = tag.strip_suffix(".att") {
            (rest.strip_prefix("sha256-")?, COSIGN_KIND_ATTESTATIONS)
        } else {
            return None;
        };
        let image = self
            .by_kind(COSIGN_KIND_IMAGE_INDEX)
            .or_else(|| self.by_kind(COSIGN_KIND_IMAGE))?;
        if image.digest != format!("sha256:{hex_part}") {
            return None;
        }
        self.by_kind(kind)
    }
}

#[async_trait::async_trait]
impl ImageSource for OciLayout {
    fn name(&self) -> String {
        format!("oci:{}", self.root.display())
    }

    async fn manifest(
        &self,
        reference: &ManifestRef,
        max_bytes: usize,
    ) -> Result<Option<RawManifest>, SourceError> {
        let (digest, media_type) = match reference {
            ManifestRef::Digest(digest) => {
                let listed = self
                    .index
                    .manifests
                    .iter()
                    .find(|d| d.digest == digest.to_string());
                (*digest, listed.map(|d| d.media_type.clone()))
            }
            ManifestRef::Tag(tag) => match self.resolve_tag(tag) {
                Some(d) => (d.sha256()?, Some(d.media_type.clone())),
                None => return Ok(None),
            },
        };
        let path = self.blob_path(&digest);
        if !path.is_file() {
            return Ok(None);
        }
        Ok(Some(RawManifest {
            bytes: read_file(&path, max_bytes)?,
            media_type: media_type.filter(|m| !m.is_empty()),
        }))
    }

    async fn blob(
        &self,
        digest: &ArtifactDigest,
        max_bytes: usize,
    ) -> Result<Vec<u8>, SourceError> {
        let path = self.blob_path(digest);
        if !path.is_file() {
            return Err(SourceError::BlobNotFound {
                what: format!("blob {}@{digest}", self.name()),
            });
        }
        read_file(&path, max_bytes)
    }

    /// A layout has no referrers API; the referrers of `subject` are the
    /// manifests among its blobs whose `subject` names it (as `cosign save`
    /// stores cosign v3 bundles). The index returned is assembled from them.
    async fn referrers(
        &self,
        subject: &ArtifactDigest,
        max_bytes: usize,
    ) -> Result<Option<RawManifest>, SourceError> {
        let dir = self.root.join("blobs").join("sha256");
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Some(empty_index())),
            Err(source) => {
                return Err(SourceError::Io {
                    path: dir.display().to_string(),
                    source,
                })
            }
        };
        let subject = subject.to_string();
        let mut found = Vec::new();
        for entry in entries.take(MAX_REFERRER_SCAN) {
            let entry = entry.map_err(|source| SourceError::Io {
                path: dir.display().to_string(),
                source,
            })?;
            let Ok(meta) = entry.metadata() else { continue };
            if !meta.is_file() || meta.len() > max_bytes as u64 || meta.len() > 64 * 1024 {
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            let Ok(digest) = ArtifactDigest::parse(&format!("sha256:{name}")) else {
                continue;
            };
            let Ok(bytes) = read_file(&entry.path(), max_bytes) else {
                continue;
            };
            let Ok(Manifest::Image(m)) = Manifest::parse(&bytes, None, "blob") else {
                continue;
            };
            if m.subject.as_ref().map(|s| s.digest.as_str()) != Some(subject.as_str()) {
                continue;
            }
            found.push(serde_json::json!({
                "mediaType": m.media_type.clone().unwrap_or_else(|| crate::oci::OCI_MANIFEST.into()),
                "digest": digest.to_string(),
                "size": bytes.len(),
                "artifactType": m.artifact_type.clone().or_else(|| Some(m.config.media_type.clone())),
                "annotations": m.annotations,
            }));
        }
        let index = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": found,
        });
        Ok(Some(RawManifest {
            bytes: serde_json::to_vec(&index).unwrap_or_default(),
            media_type: Some(OCI_INDEX.into()),
        }))
    }
}

fn empty_index() -> RawManifest {
    RawManifest {
        bytes: br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#.to_vec(),
        media_type: Some(OCI_INDEX.into()),
    }
}

fn read_file(path: &Path, limit: usize) -> Result<Vec<u8>, SourceError> {
    read_bounded(path, limit).map_err(|e| match e {
        ReadError::Io(source) => SourceError::Io {
            path: path.display().to_string(),
            source,
        },
        ReadError::TooLarge { limit, found } => SourceError::TooLarge {
            what: path.display().to_string(),
            limit: limit as u64,
            found: found as u64,
        },
    })
}

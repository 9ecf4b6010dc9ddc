//! Signature discovery: where cosign puts signatures and attestations —
//! its `sha256-<hex>.sig`/`.att` tag scheme, and OCI 1.1 referrers (the
//! referrers API, or the referrers tag schema when the source has none).
//! Bounded: more candidates, or more declared payload bytes, than the
//! limits is an error before any candidate is read.

use super::*;
use crate::artifact::ArtifactDigest;
use crate::oci::{
    fetch_manifest, referrers_tag, Descriptor, FetchedManifest, ImageSource, Manifest, ManifestRef,
    SourceError,
};

/// The layers of cosign's `.sig`/`.att` manifest, if it exists.
pub(super) async fn tag_scheme_layers(
    source: &dyn ImageSource,
    tag: &str,
    name: &str,
    kind: Kind,
    options: &CheckOptions<'_>,
) -> Result<Vec<(Origin, Descriptor)>, ImageError> {
    let Some(fetched) =
        fetch_manifest(source, &ManifestRef::Tag(tag.into()), &options.limits).await?
    else {
        return Ok(Vec::new());
    };
    let Manifest::Image(manifest) = fetched.manifest else {
        return Err(SourceError::Malformed {
            what: format!("{}:{tag}", source.name()),
            detail: "expected an image manifest of signature layers, found an index".into(),
        }
        .into());
    };
    if manifest.layers.len() > options.limits.max_signatures {
        return Err(ImageError::TooMany {
            kind,
            image: name.to_string(),
            limit: options.limits.max_signatures,
        });
    }
    let declared: u64 = manifest
        .layers
        .iter()
        .map(|l| u64::try_from(l.size).unwrap_or(u64::MAX))
        .fold(0, u64::saturating_add);
    if declared > options.limits.max_candidate_bytes {
        return Err(ImageError::CandidatesTooLarge {
            kind,
            image: name.to_string(),
            limit: options.limits.max_candidate_bytes,
            found: declared,
        });
    }
    Ok(manifest
        .layers
        .into_iter()
        .enumerate()
        .map(|(layer, d)| {
            (
                Origin::Tag {
                    tag: tag.to_string(),
                    manifest: fetched.digest,
                    layer,
                },
                d,
            )
        })
        .collect())
}

/// The Sigstore bundle referrers of `image`: the referrers API, or the
/// referrers tag schema when the source has none.
pub(super) async fn bundle_referrers(
    source: &dyn ImageSource,
    image: &ArtifactDigest,
    name: &str,
    kind: Kind,
    options: &CheckOptions<'_>,
) -> Result<Vec<(Origin, Descriptor)>, ImageError> {
    let limits = &options.limits;
    let index = match source.referrers(image, limits.max_manifest_bytes).await? {
        Some(raw) => {
            if raw.bytes.len() > limits.max_manifest_bytes {
                return Err(SourceError::TooLarge {
                    what: format!("referrers of {name}"),
                    limit: limits.max_manifest_bytes as u64,
                    found: raw.bytes.len() as u64,
                }
                .into());
            }
            match Manifest::parse(
                &raw.bytes,
                raw.media_type.as_deref(),
                &format!("referrers of {name}"),
            )? {
                Manifest::Index(index) => index,
                Manifest::Image(_) => {
                    return Err(SourceError::Malformed {
                        what: format!("referrers of {name}"),
                        detail: "expected an image index".into(),
                    }
                    .into())
                }
            }
        }
        None => {
            match fetch_manifest(source, &ManifestRef::Tag(referrers_tag(image)), limits).await? {
                Some(FetchedManifest {
                    manifest: Manifest::Index(index),
                    ..
                }) => index,
                // A manifest under that tag that is not an index is not a
                // referrers list.
                _ => return Ok(Vec::new()),
            }
        }
    };
    let bundles: Vec<Descriptor> = index
        .manifests
        .into_iter()
        .filter(|d| {
            d.artifact_type
                .as_deref()
                .is_some_and(|t| t.starts_with("application/vnd.dev.sigstore.bundle"))
        })
        .collect();
    if bundles.len() > limits.max_signatures {
        return Err(ImageError::TooMany {
            kind,
            image: name.to_string(),
            limit: limits.max_signatures,
        });
    }
    bundles
        .into_iter()
        .map(|d| {
            Ok((
                Origin::Referrer {
                    manifest: d.sha256()?,
                },
                d,
            ))
        })
        .collect()
}

//! BuildKit's in-index attestations, vouched for by the index signature.
//!
//! `docker buildx build --provenance --sbom` writes, next to each platform's
//! image in the image index, an *attestation manifest*: an index entry with
//! the annotations `vnd.docker.reference.type: attestation-manifest` and
//! `vnd.docker.reference.digest: <the platform image's digest>`, whose
//! layers are in-toto statements (SLSA v0.2 provenance, SPDX SBOMs), each
//! marked with `in-toto.io/predicate-type`.
//!
//! Nothing in them is signed. What makes them trustworthy is the cosign
//! signature on the *index* digest: the index names the attestation
//! manifest by digest, and the manifest names each layer by digest, so the
//! signature covers them by hash chain. [`verify_in_index_statement`]
//! therefore:
//!
//! 1. verifies the index's cosign signatures with the caller's identity
//!    policy ([`crate::cosign::verify_image_signatures`], claims checked:
//!    the signed payload must name the index digest);
//! 2. reads the index by that digest (its bytes are hashed again) and finds
//!    the platform's image and the attestation manifest that references it;
//! 3. reads the attestation manifest by its digest and the statement layer
//!    by its digest ([`fetch_manifest`] and `fetch_blob` recompute both);
//! 4. checks the statement: an in-toto statement of the predicate type
//!    asked for, whose subject names the platform image's digest (an
//!    attestation moved to another platform's entry is refused).
//!
//! Only then is the statement returned, with the digests walked and the
//! identities that vouched. The signer is whoever signed the index, not a
//! trusted SLSA builder: this is a separate path, never a fallback for
//! [`crate::slsa`]'s checks ([`PATH`] names it in every result).

use serde::Deserialize;

use crate::artifact::ArtifactDigest;
use crate::cosign::{self, Check, CheckOptions, ImageError, VerifiedSignature};
use crate::oci::{
    fetch_blob, fetch_manifest, Descriptor, Manifest, ManifestRef, Platform, SourceError,
};

/// The name of this verification path, printed with every result.
pub const PATH: &str = "buildkit-in-index";
/// Index annotation naming the kind of a reference entry.
pub const REFERENCE_TYPE: &str = "vnd.docker.reference.type";
/// Index annotation naming the image a reference entry is about.
pub const REFERENCE_DIGEST: &str = "vnd.docker.reference.digest";
/// [`REFERENCE_TYPE`] of attestation manifests.
pub const ATTESTATION_MANIFEST: &str = "attestation-manifest";
/// Layer annotation naming a statement's predicate type.
pub const PREDICATE_TYPE_ANNOTATION: &str = "in-toto.io/predicate-type";
/// BuildKit's provenance predicate type.
pub use crate::intoto::SLSA_PROVENANCE_V02;
/// BuildKit's SBOM predicate type.
pub const SPDX_DOCUMENT: &str = "https://spdx.dev/Document";

/// The digests walked from the signed index to the statement.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HashChain {
    /// The signed image index.
    pub index: ArtifactDigest,
    /// The platform's image, as the index names it.
    pub platform_image: ArtifactDigest,
    /// The attestation manifest, as the index names it.
    pub attestation_manifest: ArtifactDigest,
    /// The statement layer, as the attestation manifest names it.
    pub layer: ArtifactDigest,
}

/// An in-toto statement read from the index, once the chain verified.
/// Serialises to JSON like the other verdicts (the statement bytes are
/// left out: front ends print them as they choose).
#[derive(Debug, Clone, serde::Serialize)]
pub struct InIndexStatement {
    /// The platform asked for.
    pub platform: Platform,
    /// How the statement is tied to the signature.
    pub chain: HashChain,
    /// The statement's predicate type.
    pub predicate_type: String,
    /// The statement, as stored (JSON).
    #[serde(skip)]
    pub statement: Vec<u8>,
    /// The index signatures that verified: who vouched for all of it.
    pub signatures: Vec<VerifiedSignature>,
}

/// Why an in-index statement was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildkitError {
    /// The index carries no signature that verifies under the policy.
    #[error("the image index is not signed as required: {0}")]
    IndexNotSigned(#[source] ImageError),
    /// The image is a single manifest, not an index.
    #[error("{image}: expected an image index (BuildKit attestations live in one), found {found}")]
    NotAnIndex {
        /// The image.
        image: String,
        /// The media type found.
        found: String,
    },
    /// The index has no image for the platform.
    #[error("platform {platform}: expected an image for it in the index, found only [{}]", found.join(", "))]
    PlatformNotFound {
        /// The platform asked for.
        platform: String,
        /// The platforms the index has.
        found: Vec<String>,
    },
    /// The index has no attestation manifest for the platform's image.
    #[error("platform {platform} ({image}): expected an attestation-manifest entry referencing it, found none")]
    NoAttestationManifest {
        /// The platform.
        platform: String,
        /// The platform image's digest.
        image: String,
    },
    /// An attestation manifest entry points at an index.
    #[error("attestation manifest {digest}: expected an image manifest, found an index")]
    AttestationNotAManifest {
        /// Its digest.
        digest: String,
    },
    /// No layer of the attestation manifest(s) has the predicate type.
    #[error("platform {platform}: expected a statement of predicate type {expected}, found [{}]", found.join(", "))]
    NoStatement {
        /// The platform.
        platform: String,
        /// The predicate type asked for.
        expected: String,
        /// The predicate types found.
        found: Vec<String>,
    },
    /// A layer is not an in-toto statement.
    #[error("attestation layer {layer}: expected an in-toto statement, found {detail}")]
    MalformedStatement {
        /// The layer's digest.
        layer: String,
        /// What is wrong.
        detail: String,
    },
    /// The layer annotation and the statement disagree on the predicate type.
    #[error(
        "attestation layer {layer}: annotated predicate type {expected}, statement says {found}"
    )]
    PredicateTypeMismatch {
        /// The layer's digest.
        layer: String,
        /// The annotation.
        expected: String,
        /// The statement's `predicateType`.
        found: String,
    },
    /// The statement's subject does not name the platform's image.
    #[error("attestation layer {layer}: expected a subject with digest {expected}, found [{}]", found.join(", "))]
    SubjectMismatch {
        /// The layer's digest.
        layer: String,
        /// The platform image's digest.
        expected: String,
        /// The subjects' SHA-256 digests.
        found: Vec<String>,
    },
    /// More entries than the limit.
    #[error("{what}: more than {limit} entries; refusing to read them all")]
    TooMany {
        /// What was counted.
        what: String,
        /// The limit.
        limit: usize,
    },
    /// Content could not be read, or did not hash to its digest.
    #[error(transparent)]
    Source(#[from] SourceError),
}

impl BuildkitError {
    /// A stable, machine-readable reason code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::IndexNotSigned(_) => "buildkit-index-not-signed",
            Self::NotAnIndex { .. } => "buildkit-not-an-index",
            Self::PlatformNotFound { .. } => "buildkit-platform-not-found",
            Self::NoAttestationManifest { .. } => "buildkit-no-attestation-manifest",
            Self::AttestationNotAManifest { .. } => "buildkit-attestation-malformed",
            Self::NoStatement { .. } => "buildkit-no-statement",
            Self::MalformedStatement { .. } => "buildkit-statement-malformed",
            Self::PredicateTypeMismatch { .. } => "buildkit-predicate-type-mismatch",
            Self::SubjectMismatch { .. } => "buildkit-subject-mismatch",
            Self::TooMany { .. } => "buildkit-too-many",
            Self::Source(SourceError::DigestMismatch { .. }) => "buildkit-digest-mismatch",
            Self::Source(e) => e.code(),
        }
    }

    /// Whether this is an input problem rather than a verification failure.
    pub fn is_input_error(&self) -> bool {
        matches!(
            self,
            Self::Source(SourceError::Invalid { .. })
                | Self::IndexNotSigned(ImageError::Source(SourceError::Invalid { .. }))
        )
    }
}

/// Which statement [`verify_in_index_statement`] looks for.
#[derive(Debug, Clone, Copy)]
pub struct InIndexRequest<'a> {
    /// The signed image index's digest.
    pub index: &'a ArtifactDigest,
    /// The platform whose image the statement must be about.
    pub platform: &'a Platform,
    /// The statement's predicate type (a URI, e.g. [`SLSA_PROVENANCE_V02`]).
    pub predicate_type: &'a str,
}

/// The in-toto statement of `request.predicate_type` that BuildKit attached
/// to `request.platform`'s image in the index `request.index`, verified as
/// the module documentation describes. `check` governs the index signature
/// check; its claims check is always on here, whatever
/// [`CheckOptions::insecure_skip_claims`] says: a signature of another image
/// must never vouch for this index's statements.
pub async fn verify_in_index_statement(
    check: &Check<'_>,
    request: &InIndexRequest<'_>,
) -> Result<InIndexStatement, BuildkitError> {
    let &InIndexRequest {
        index,
        platform,
        predicate_type,
    } = request;
    let source = check.source;
    let limits = &check.options.limits;
    let options = CheckOptions {
        insecure_skip_claims: false,
        ..check.options.clone()
    };
    // 1. Who vouches for the index.
    let signatures = cosign::verify_image_signatures(
        &Check {
            options: &options,
            ..*check
        },
        index,
    )
    .await
    .map_err(BuildkitError::IndexNotSigned)?;

    // 2. The index, by the digest that was signed.
    let name = format!("{}@{index}", source.name());
    let fetched = fetch_manifest(source, &ManifestRef::Digest(*index), limits)
        .await?
        .ok_or_else(|| SourceError::NotFound { what: name.clone() })?;
    let Manifest::Index(image_index) = fetched.manifest else {
        return Err(BuildkitError::NotAnIndex {
            image: name,
            found: fetched.manifest.media_type().to_string(),
        });
    };
    if image_index.manifests.len() > limits.max_signatures {
        return Err(BuildkitError::TooMany {
            what: name,
            limit: limits.max_signatures,
        });
    }
    let is_attestation = |d: &Descriptor| {
        d.annotations.get(REFERENCE_TYPE).map(String::as_str) == Some(ATTESTATION_MANIFEST)
    };
    let images: Vec<&Descriptor> = image_index
        .manifests
        .iter()
        .filter(|d| !is_attestation(d))
        .collect();
    let platform_entry = images
        .iter()
        .find(|d| d.platform.as_ref().is_some_and(|p| platform.matches(p)))
        .ok_or_else(|| BuildkitError::PlatformNotFound {
            platform: platform.to_string(),
            found: images
                .iter()
                .filter_map(|d| d.platform.as_ref().map(Platform::to_string))
                .collect(),
        })?;
    let platform_image = platform_entry.sha256()?;
    let platform_hex = platform_image.to_string();
    let attestation_entries: Vec<&Descriptor> = image_index
        .manifests
        .iter()
        .filter(|d| is_attestation(d) && d.annotations.get(REFERENCE_DIGEST) == Some(&platform_hex))
        .collect();
    if attestation_entries.is_empty() {
        return Err(BuildkitError::NoAttestationManifest {
            platform: platform.to_string(),
            image: platform_hex,
        });
    }

    // 3–4. Each attestation manifest, then its layer of that predicate type.
    let mut found_types = Vec::new();
    for entry in attestation_entries {
        let digest = entry.sha256()?;
        let manifest = fetch_manifest(source, &ManifestRef::Digest(digest), limits)
            .await?
            .ok_or_else(|| SourceError::NotFound {
                what: format!("attestation manifest {}@{digest}", source.name()),
            })?;
        let Manifest::Image(manifest) = manifest.manifest else {
            return Err(BuildkitError::AttestationNotAManifest {
                digest: digest.to_string(),
            });
        };
        if manifest.layers.len() > limits.max_signatures {
            return Err(BuildkitError::TooMany {
                what: format!("attestation manifest {digest}"),
                limit: limits.max_signatures,
            });
        }
        for layer in &manifest.layers {
            let annotated = layer.annotations.get(PREDICATE_TYPE_ANNOTATION);
            if let Some(t) = annotated {
                found_types.push(t.clone());
            }
            if annotated.is_some_and(|t| t != predicate_type) {
                continue;
            }
            let layer_digest = layer.sha256()?;
            let bytes = fetch_blob(source, layer, limits.max_payload_bytes).await?;
            let statement = read_statement(&bytes, &layer_digest)?;
            if let Some(expected) = annotated {
                if statement.predicate_type != *expected {
                    return Err(BuildkitError::PredicateTypeMismatch {
                        layer: layer_digest.to_string(),
                        expected: expected.clone(),
                        found: statement.predicate_type,
                    });
                }
            } else {
                found_types.push(statement.predicate_type.clone());
                if statement.predicate_type != predicate_type {
                    continue;
                }
            }
            check_subject(&statement, &platform_image, &layer_digest)?;
            return Ok(InIndexStatement {
                platform: platform.clone(),
                chain: HashChain {
                    index: *index,
                    platform_image,
                    attestation_manifest: digest,
                    layer: layer_digest,
                },
                predicate_type: statement.predicate_type,
                statement: bytes,
                signatures,
            });
        }
    }
    found_types.sort();
    found_types.dedup();
    Err(BuildkitError::NoStatement {
        platform: platform.to_string(),
        expected: predicate_type.to_string(),
        found: found_types,
    })
}

/// The parts of an in-toto statement read here.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Statement {
    #[serde(rename = "_type")]
    type_: String,
    predicate_type: String,
    #[serde(default)]
    subject: serde_json::Value,
}

fn read_statement(bytes: &[u8], layer: &ArtifactDigest) -> Result<Statement, BuildkitError> {
    let malformed = |detail: String| BuildkitError::MalformedStatement {
        layer: layer.to_string(),
        detail,
    };
    let statement: Statement =
        serde_json::from_slice(bytes).map_err(|e| malformed(format!("invalid JSON: {e}")))?;
    if !statement.type_.starts_with("https://in-toto.io/Statement/") {
        return Err(malformed(format!("_type {:?}", statement.type_)));
    }
    Ok(statement)
}

/// Some subject must carry the platform image's SHA-256.
fn check_subject(
    statement: &Statement,
    image: &ArtifactDigest,
    layer: &ArtifactDigest,
) -> Result<(), BuildkitError> {
    let subjects = crate::intoto::subject_list(&statement.subject);
    if crate::intoto::find(&subjects, "sha256", &hex::encode(image.0)).is_some() {
        return Ok(());
    }
    let found: Vec<String> = subjects
        .iter()
        .filter_map(|s| s.digest.get("sha256").cloned())
        .collect();
    Err(BuildkitError::SubjectMismatch {
        layer: layer.to_string(),
        expected: image.to_string(),
        found: found.into_iter().map(|h| format!("sha256:{h}")).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_must_be_in_toto_and_name_the_image() {
        let layer = ArtifactDigest::of(b"layer");
        let image = ArtifactDigest::of(b"image");
        let other = ArtifactDigest::of(b"other");
        let statement = |hex: &str| {
            format!(
                r#"{{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"{SLSA_PROVENANCE_V02}","subject":[{{"name":"pkg:docker/x","digest":{{"sha256":"{hex}"}}}}],"predicate":{{}}}}"#
            )
        };
        let ok = read_statement(statement(&hex::encode(image.0)).as_bytes(), &layer).unwrap();
        assert!(check_subject(&ok, &image, &layer).is_ok());
        let moved = read_statement(statement(&hex::encode(other.0)).as_bytes(), &layer).unwrap();
        assert!(matches!(
            check_subject(&moved, &image, &layer),
            Err(BuildkitError::SubjectMismatch { ref found, .. }) if found == &[other.to_string()]
        ));
        for bad in [
            &b"not json"[..],
            br#"{"_type":"x","predicateType":"p"}"#,
            br#"{"predicateType":"p"}"#,
        ] {
            assert!(matches!(
                read_statement(bad, &layer),
                Err(BuildkitError::MalformedStatement { .. })
            ));
        }
    }
}

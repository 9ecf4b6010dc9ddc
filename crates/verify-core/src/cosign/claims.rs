//! What a verified signature or attestation claims about the image, checked
//! against the image being verified (cosign's `--check-claims`, on by
//! default, and `-a/--annotations`).
//!
//! - A cosign signature signs a *simple signing* payload
//!   (`application/vnd.dev.cosign.simplesigning.v1+json`):
//!   `{"critical":{"identity":{"docker-reference":..},"image":{"docker-manifest-digest":"sha256:.."},"type":"cosign container image signature"},"optional":{..}}`.
//!   Its `docker-manifest-digest` must be the image's digest: a valid
//!   signature of another image, copied next to this one, proves nothing
//!   about this one. Each `-a key=value` must appear in `optional`.
//! - An attestation signs an in-toto statement; one of its subjects must be
//!   the image's digest, and `-a` annotations are matched against that
//!   subject's `annotations`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::artifact::ArtifactDigest;

/// A cosign simple-signing payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct SimpleSigning {
    /// The claims that must be understood.
    pub critical: Critical,
    /// Free-form annotations (`cosign sign -a`).
    #[serde(default)]
    pub optional: Option<serde_json::Map<String, serde_json::Value>>,
}

/// The critical section of a simple-signing payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Critical {
    /// The image reference the signer named.
    pub identity: Identity,
    /// The image signed.
    pub image: Image,
    /// The payload type.
    #[serde(rename = "type")]
    pub kind: String,
}

/// `critical.identity`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Identity {
    /// The reference, e.g. `ghcr.io/fluxcd/flux-cli`.
    #[serde(rename = "docker-reference", default)]
    pub docker_reference: String,
}

/// `critical.image`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Image {
    /// `sha256:<hex>` of the signed manifest.
    #[serde(rename = "docker-manifest-digest")]
    pub docker_manifest_digest: String,
}

/// Why the claims do not match the image.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClaimError {
    /// The payload is not a simple-signing document.
    #[error("signed payload is not a cosign simple-signing payload: {detail}")]
    Malformed {
        /// Why.
        detail: String,
    },
    /// The payload signs another image.
    #[error("signed payload names image {found}, expected {expected}")]
    DigestMismatch {
        /// The image being verified.
        expected: String,
        /// The `docker-manifest-digest` signed.
        found: String,
    },
    /// The statement has no subject with the image's digest.
    #[error("attestation subjects are [{}], none is the image {expected}", found.join(", "))]
    NotASubject {
        /// The image being verified.
        expected: String,
        /// The subjects' SHA-256 digests.
        found: Vec<String>,
    },
    /// An annotation required with `-a` is missing or different.
    #[error("annotation {key}: expected {expected:?}, found {}", found.as_deref().map(|f| format!("{f:?}")).unwrap_or_else(|| "none".into()))]
    Annotation {
        /// The key.
        key: String,
        /// The value required.
        expected: String,
        /// The value signed, if any.
        found: Option<String>,
    },
}

impl SimpleSigning {
    /// Parse a payload.
    pub fn parse(payload: &[u8]) -> Result<Self, ClaimError> {
        serde_json::from_slice(payload).map_err(|e| ClaimError::Malformed {
            detail: e.to_string(),
        })
    }

    /// Check that the payload signs `image` and carries `annotations`.
    pub fn check(
        &self,
        image: &ArtifactDigest,
        annotations: &BTreeMap<String, String>,
    ) -> Result<(), ClaimError> {
        let expected = image.to_string();
        if self.critical.image.docker_manifest_digest != expected {
            return Err(ClaimError::DigestMismatch {
                expected,
                found: self.critical.image.docker_manifest_digest.clone(),
            });
        }
        check_annotations(self.optional.as_ref(), annotations)
    }
}

/// Check that `have` holds every `wanted` annotation as a string equal to it.
pub(crate) fn check_annotations(
    have: Option<&serde_json::Map<String, serde_json::Value>>,
    wanted: &BTreeMap<String, String>,
) -> Result<(), ClaimError> {
    for (key, expected) in wanted {
        let found = have.and_then(|m| m.get(key));
        if found.and_then(|v| v.as_str()) != Some(expected.as_str()) {
            return Err(ClaimError::Annotation {
                key: key.clone(),
                expected: expected.clone(),
                found: found.map(|v| match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                }),
            });
        }
    }
    Ok(())
}

/// Check that an in-toto statement (as JSON) names `image` among its
/// subjects, and that this subject carries `annotations`.
pub(crate) fn check_statement(
    statement: &serde_json::Value,
    image: &ArtifactDigest,
    annotations: &BTreeMap<String, String>,
) -> Result<(), ClaimError> {
    let expected = image.to_string();
    let subjects = crate::intoto::subjects(statement);
    if let Some(subject) = crate::intoto::find(&subjects, "sha256", &hex::encode(image.0)) {
        return check_annotations(subject.annotations.as_ref(), annotations);
    }
    let found = subjects
        .iter()
        .filter_map(|s| s.digest.get("sha256"))
        .map(|d| format!("sha256:{}", d.to_ascii_lowercase()))
        .collect();
    Err(ClaimError::NotASubject { expected, found })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `critical.type` of a cosign image signature payload.
    const SIMPLE_SIGNING_TYPE: &str = "cosign container image signature";

    const IMAGE: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

    fn payload(digest: &str) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "critical": {
                "identity": {"docker-reference": "registry.test/app"},
                "image": {"docker-manifest-digest": digest},
                "type": SIMPLE_SIGNING_TYPE,
            },
            "optional": {"env": "prod", "n": 1},
        }))
        .unwrap()
    }

    #[test]
    fn digest_and_annotations_are_checked() {
        let image = ArtifactDigest::parse(IMAGE).unwrap();
        let p = SimpleSigning::parse(&payload(IMAGE)).unwrap();
        p.check(&image, &BTreeMap::new()).unwrap();
        let want = BTreeMap::from([("env".to_string(), "prod".to_string())]);
        p.check(&image, &want).unwrap();
        let want = BTreeMap::from([("env".to_string(), "dev".to_string())]);
        assert!(matches!(
            p.check(&image, &want),
            Err(ClaimError::Annotation { found: Some(f), .. }) if f == "prod"
        ));
        let want = BTreeMap::from([("n".to_string(), "1".to_string())]);
        assert!(matches!(
            p.check(&image, &want),
            Err(ClaimError::Annotation { .. })
        ));
        let other = SimpleSigning::parse(&payload(&IMAGE.replace('1', "2"))).unwrap();
        assert!(matches!(
            other.check(&image, &BTreeMap::new()),
            Err(ClaimError::DigestMismatch { .. })
        ));
    }

    #[test]
    fn statement_subjects_are_checked() {
        let image = ArtifactDigest::parse(IMAGE).unwrap();
        let statement = serde_json::json!({
            "subject": [{"name": "x", "digest": {"sha256": IMAGE.trim_start_matches("sha256:")}}],
        });
        check_statement(&statement, &image, &BTreeMap::new()).unwrap();
        let other = serde_json::json!({"subject": [{"digest": {"sha256": "22"}}]});
        assert!(matches!(
            check_statement(&other, &image, &BTreeMap::new()),
            Err(ClaimError::NotASubject { .. })
        ));
    }
}

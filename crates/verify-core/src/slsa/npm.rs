//! npm package attestations: the parts of slsa-verifier's
//! `verify-npm-package` that read npm's attestation set and the package
//! name and version in it.
//!
//! The signature checks and the rules are in [`super::npm_package`].
//!
//! npm serves `{"attestations": [{"predicateType": ..., "bundle": {...}}, ...]}`
//! with at least two entries: the SLSA provenance (predicate type
//! `https://slsa.dev/provenance/v0.2` or `/v1`) and npm's publish attestation
//! (predicate type starting `https://github.com/npm/attestation/tree/main/specs/publish/`).
//! The last entry of each kind is used, as slsa-verifier does.

use serde::Deserialize;

use crate::intoto::{SLSA_PROVENANCE_V02, SLSA_PROVENANCE_V1};

/// The predicate type prefix of npm's publish attestations.
pub(crate) const PUBLISH_PREDICATE_PREFIX: &str =
    "https://github.com/npm/attestation/tree/main/specs/publish/";

/// The purl prefix of npm provenance subjects.
const PURL_PREFIX: &str = "pkg:npm/";

/// Why npm's attestations or the package they name were rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NpmError {
    /// The attestation set is not JSON of the expected shape, or lacks the
    /// provenance or the publish attestation.
    #[error("npm attestations: expected {expected}, found {found}")]
    InvalidAttestations {
        /// What was required.
        expected: &'static str,
        /// What was found.
        found: String,
    },
    /// A package name is not `name[@version]` (or `@scope/name[@version]`),
    /// or a subject is not a `pkg:npm/` purl.
    #[error("package name: expected {expected}, found {found:?}")]
    InvalidPackageName {
        /// What was required.
        expected: &'static str,
        /// The name found.
        found: String,
    },
    /// A purl's percent-encoding is malformed.
    #[error("subject name {found:?}: malformed percent-encoding")]
    InvalidEncoding {
        /// The subject name.
        found: String,
    },
    /// The provenance does not have exactly one subject.
    #[error("provenance subjects: expected exactly one, found {found}")]
    InvalidSubject {
        /// How many there are.
        found: usize,
    },
    /// The package name differs from `--package-name`.
    #[error("{what} package name: expected {expected:?}, found {found:?}")]
    MismatchPackageName {
        /// Where the name was read.
        what: &'static str,
        /// `--package-name`.
        expected: String,
        /// The name found.
        found: String,
    },
    /// The npm rules cannot judge this (slsa-verifier's `ErrorNotSupported`):
    /// an unknown `--builder-id`, or a runner whose hosting is unknown.
    #[error("not supported: {what}")]
    NotSupported {
        /// What is not supported.
        what: String,
    },
    /// The npm CLI's provenance (signed by the repository's own workflow,
    /// so forgeable) states a value its certificate does not.
    #[error("provenance and certificate differ on {field}: certificate {}, provenance {found:?}", certificate.as_deref().map_or("has no value".to_string(), |c| format!("{c:?}")))]
    MismatchCertificate {
        /// The provenance field.
        field: String,
        /// The certificate's value.
        certificate: Option<String>,
        /// The provenance's value.
        found: String,
    },
    /// The npm CLI's provenance makes a claim nothing can verify.
    #[error("non-verifiable claim {claim}: found {found}")]
    NonVerifiableClaim {
        /// The claim.
        claim: &'static str,
        /// Its value.
        found: String,
    },
    /// The registry keys file is not npm's or Sigstore's keys JSON, or a key
    /// in it is not a public key.
    #[error("npm registry keys: expected {expected}, found {found}")]
    InvalidRegistryKeys {
        /// What was required.
        expected: &'static str,
        /// What was found.
        found: String,
    },
    /// No registry key has the publish attestation's key ID and the
    /// attestation usage.
    #[error("no npm registry key with keyId {key_id:?} and keyUsage {key_usage:?}")]
    MissingRegistryKey {
        /// The key ID the attestation names.
        key_id: String,
        /// The usage required.
        key_usage: &'static str,
    },
    /// The package version differs from `--package-version`.
    #[error("{what} package version: expected {expected:?}, found {found:?}")]
    MismatchPackageVersion {
        /// Where the version was read.
        what: &'static str,
        /// `--package-version`.
        expected: String,
        /// The version found.
        found: String,
    },
}

impl NpmError {
    /// slsa-verifier's sentinel error for this failure (its attestation-set
    /// error is unnamed: `invalid npm attestations`).
    pub fn upstream_name(&self) -> &'static str {
        match self {
            Self::InvalidAttestations { .. } => "invalid npm attestations",
            Self::InvalidPackageName { .. } => "ErrorInvalidPackageName",
            Self::InvalidEncoding { .. } => "ErrorInvalidEncoding",
            Self::InvalidSubject { .. } => "ErrorInvalidSubject",
            Self::MismatchPackageName { .. } => "ErrorMismatchPackageName",
            Self::MismatchPackageVersion { .. } => "ErrorMismatchPackageVersion",
            Self::NotSupported { .. } => "ErrorNotSupported",
            Self::MismatchCertificate { .. } => "ErrorMismatchCertificate",
            Self::NonVerifiableClaim { .. } => "ErrorNonVerifiableClaim",
            Self::InvalidRegistryKeys { .. } => "could not parse keys file content",
            Self::MissingRegistryKey { .. } => {
                "could not find a key with the specified 'keyId' and 'keyUsage'"
            }
        }
    }

    /// A stable machine-readable reason.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidAttestations { .. } => "npm-invalid-attestations",
            Self::InvalidPackageName { .. } => "npm-invalid-package-name",
            Self::InvalidEncoding { .. } => "npm-invalid-encoding",
            Self::InvalidSubject { .. } => "npm-invalid-subject",
            Self::MismatchPackageName { .. } => "npm-mismatch-package-name",
            Self::MismatchPackageVersion { .. } => "npm-mismatch-package-version",
            Self::NotSupported { .. } => "npm-not-supported",
            Self::MismatchCertificate { .. } => "npm-mismatch-certificate",
            Self::NonVerifiableClaim { .. } => "npm-non-verifiable-claim",
            Self::InvalidRegistryKeys { .. } => "npm-invalid-registry-keys",
            Self::MissingRegistryKey { .. } => "npm-missing-registry-key",
        }
    }
}

/// The two bundles of an npm attestation set, as JSON.
#[derive(Debug)]
pub(crate) struct NpmAttestations {
    /// The SLSA provenance bundle.
    pub provenance: serde_json::Value,
    /// npm's publish attestation bundle.
    pub publish: serde_json::Value,
}

#[derive(Deserialize)]
struct Set {
    attestations: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(rename = "predicateType", default)]
    predicate_type: String,
    bundle: serde_json::Value,
}

impl NpmAttestations {
    /// Read npm's attestation set.
    pub fn parse(json: &[u8]) -> Result<Self, NpmError> {
        let set: Set = serde_json::from_slice(json).map_err(|e| NpmError::InvalidAttestations {
            expected: "{\"attestations\": [{\"predicateType\", \"bundle\"}, ...]}",
            found: e.to_string(),
        })?;
        if set.attestations.len() < 2 {
            return Err(NpmError::InvalidAttestations {
                expected: "at least two attestations",
                found: set.attestations.len().to_string(),
            });
        }
        let (mut provenance, mut publish) = (None, None);
        for e in set.attestations {
            if [SLSA_PROVENANCE_V02, SLSA_PROVENANCE_V1].contains(&e.predicate_type.as_str()) {
                provenance = Some(e.bundle);
            } else if e.predicate_type.starts_with(PUBLISH_PREDICATE_PREFIX) {
                publish = Some(e.bundle);
            }
        }
        match (provenance, publish) {
            (Some(provenance), Some(publish)) => Ok(Self {
                provenance,
                publish,
            }),
            _ => Err(NpmError::InvalidAttestations {
                expected: "a SLSA provenance and an npm publish attestation",
                found: "not both".into(),
            }),
        }
    }
}

/// `name[@version]` or `@scope/name[@version]`, split as slsa-verifier does.
pub(crate) fn package_name_and_version(name: &str) -> Result<(String, String), NpmError> {
    let scoped = name.starts_with('@');
    let rest = if scoped { &name[1..] } else { name };
    let parts: Vec<&str> = rest.split('@').collect();
    if parts.len() > 2 {
        return Err(NpmError::InvalidPackageName {
            expected: "name[@version] or @scope/name[@version]",
            found: name.to_string(),
        });
    }
    let base = if scoped {
        format!("@{}", parts[0])
    } else {
        parts[0].to_string()
    };
    Ok((
        base,
        parts.get(1).map(|v| v.to_string()).unwrap_or_default(),
    ))
}

/// The package `name@version` of the provenance's only subject, a
/// `pkg:npm/` purl (percent-decoded as Go's `url.QueryUnescape`).
pub(crate) fn provenance_subject_package(
    subject_names: &[&str],
) -> Result<(String, String), NpmError> {
    let [name] = subject_names else {
        return Err(NpmError::InvalidSubject {
            found: subject_names.len(),
        });
    };
    let Some(rest) = name.strip_prefix(PURL_PREFIX) else {
        return Err(NpmError::InvalidPackageName {
            expected: "a pkg:npm/ purl",
            found: (*name).to_string(),
        });
    };
    let decoded = query_unescape(rest).ok_or_else(|| NpmError::InvalidEncoding {
        found: (*name).to_string(),
    })?;
    package_name_and_version(&decoded)
}

/// Go's `url.QueryUnescape`: `%XX` escapes and `+` as space; `None` for a
/// malformed escape.
fn query_unescape(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attestation_sets_need_both_kinds() {
        let set = br#"{"attestations":[
            {"predicateType":"https://slsa.dev/provenance/v1","bundle":{"p":1}},
            {"predicateType":"https://github.com/npm/attestation/tree/main/specs/publish/v0.1","bundle":{"q":2}}]}"#;
        let a = NpmAttestations::parse(set).unwrap();
        assert_eq!(a.provenance, serde_json::json!({"p": 1}));
        assert_eq!(a.publish, serde_json::json!({"q": 2}));
        for bad in [
            &br#"{"attestations":[]}"#[..],
            br#"{"attestations":[{"predicateType":"https://slsa.dev/provenance/v1","bundle":{}},{"predicateType":"x","bundle":{}}]}"#,
            br#"{"attestations": 1}"#,
            br#"{"attestations":[{"predicateType":"https://slsa.dev/provenance/v1","bundle":{}}"#,
        ] {
            let e = NpmAttestations::parse(bad).unwrap_err();
            assert_eq!(e.upstream_name(), "invalid npm attestations");
        }
    }

    #[test]
    fn names_and_versions_as_slsa_verifier_splits_them() {
        let nv = |s: &str| package_name_and_version(s).unwrap();
        assert_eq!(nv("left-pad@1.3.0"), ("left-pad".into(), "1.3.0".into()));
        assert_eq!(nv("@acme/pkg@2.0.0"), ("@acme/pkg".into(), "2.0.0".into()));
        assert_eq!(nv("@acme/pkg"), ("@acme/pkg".into(), String::new()));
        assert!(matches!(
            package_name_and_version("a@1@2"),
            Err(NpmError::InvalidPackageName { .. })
        ));
        let p = provenance_subject_package(&["pkg:npm/%40acme/pkg@2.0.0"]).unwrap();
        assert_eq!(p, ("@acme/pkg".into(), "2.0.0".into()));
        for (names, err) in [
            (&["pkg:npm/a@1", "pkg:npm/b@1"][..], "ErrorInvalidSubject"),
            (&[][..], "ErrorInvalidSubject"),
            (&["pkg:pypi/a@1"][..], "ErrorInvalidPackageName"),
            (&["pkg:npm/%4"][..], "ErrorInvalidEncoding"),
            (&["pkg:npm/%zz"][..], "ErrorInvalidEncoding"),
        ] {
            assert_eq!(
                provenance_subject_package(names)
                    .unwrap_err()
                    .upstream_name(),
                err,
                "{names:?}"
            );
        }
    }
}

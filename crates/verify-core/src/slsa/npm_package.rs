//! npm packages against npm's attestations, with slsa-verifier's
//! `verify-npm-package` semantics.
//!
//! npm's attestation set (`NpmAttestations`) holds two
//! Sigstore bundles, both verified, in slsa-verifier's order:
//!
//! 1. the SLSA provenance: a keyless bundle (Fulcio chain, SCT, Rekor entry,
//!    DSSE signature), then the builder rules of `super::npm_builder`
//!    (the npm CLI on GitHub runners, or the BYOB delegators), the source
//!    and the tarball's SHA-512 as a subject;
//! 2. npm's publish attestation: a bundle signed by npm's registry key,
//!    found by the key ID the bundle names ([`super::npm_keys`]), with its
//!    Rekor entry verified; the tarball's SHA-512 must be one of its
//!    subjects;
//! 3. both statements' headers: in-toto payload type, statement type v0.1
//!    or v1, SLSA predicate types for the provenance and npm's publish
//!    predicate for the other;
//! 4. `--package-name`, then `--package-version`, against the provenance's
//!    only subject (a `pkg:npm/` purl), the publish attestation's subject
//!    purls and its predicate's `name` and `version`.
//!
//! The publish subjects' purls are compared too, which slsa-verifier does
//! not do (it reads only the publish predicate): npm writes the same name
//! in both, and a publish attestation whose subject names another package
//! should not vouch for this one.

use serde::{Deserialize, Serialize};
use sigstore_types::{SignatureContent, VerificationMaterialContent};

use crate::artifact::Artifact;
use crate::error::VerifyError;
use crate::identity::Policy;
use crate::verifier::Verifier;

use super::artifact::{signature_binding, verify_signature, FileDigests};
use super::error::SlsaError;
use super::npm::{
    package_name_and_version, provenance_subject_package, NpmAttestations, NpmError,
    PUBLISH_PREDICATE_PREFIX,
};
use super::npm_builder::verify_npm_builder;
use super::npm_keys::NpmRegistryKeys;
use super::provenance::{IN_TOTO_PAYLOAD_TYPE, SLSA_V02, SLSA_V1};
use super::verify::VerifiedBuild;

/// in-toto statement types npm's attestations may use.
const STATEMENT_TYPES: [&str; 2] = [
    "https://in-toto.io/Statement/v0.1",
    "https://in-toto.io/Statement/v1",
];

/// What the user expects of the package (slsa-verifier's flags).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NpmPackageOptions {
    /// `--source-uri`.
    pub source_uri: String,
    /// `--builder-id`: required; `None` fails with `ErrorInvalidBuilderID`.
    pub builder_id: Option<String>,
    /// `--package-name`, checked when `Some`.
    pub package_name: Option<String>,
    /// `--package-version`, checked when `Some`.
    pub package_version: Option<String>,
    /// `--build-workflow-input k=v`.
    pub workflow_inputs: std::collections::BTreeMap<String, String>,
}

/// What verification established.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifiedNpmPackage {
    /// Who built it, from where (the builder is `--builder-id` for the npm
    /// CLI, or the builder named in the provenance for a BYOB delegator).
    #[serde(flatten)]
    pub build: VerifiedBuild,
    /// The package name the provenance names.
    pub package_name: String,
    /// The package version the provenance names.
    pub package_version: String,
    /// The tarball's digest, `sha512:<hex>`.
    pub subject_digest: String,
    /// The registry key that signed the publish attestation.
    pub publish_key_id: String,
}

/// The publish statement, as far as it is read.
#[derive(Deserialize)]
struct PublishStatement {
    #[serde(default)]
    subject: Vec<super::provenance::Subject>,
    #[serde(default)]
    predicate: PublishPredicate,
}

#[derive(Deserialize, Default)]
struct PublishPredicate {
    #[serde(default)]
    name: String,
    #[serde(default)]
    version: String,
}

#[derive(Deserialize)]
struct Header {
    #[serde(rename = "_type", default)]
    statement_type: String,
    #[serde(rename = "predicateType", default)]
    predicate_type: String,
}

/// A verified DSSE payload: its type and bytes.
struct Signed {
    payload_type: String,
    payload: Vec<u8>,
}

fn bundle_bytes(value: &serde_json::Value, limit: usize) -> Result<Vec<u8>, SlsaError> {
    let bytes = serde_json::to_vec(value).map_err(|e| NpmError::InvalidAttestations {
        expected: "JSON bundles",
        found: e.to_string(),
    })?;
    if bytes.len() > limit {
        return Err(SlsaError::TooLarge {
            limit,
            found: bytes.len(),
        });
    }
    Ok(bytes)
}

fn dsse_of(bundle: &sigstore_types::Bundle) -> Result<Signed, SlsaError> {
    match &bundle.content {
        SignatureContent::DsseEnvelope(env) => Ok(Signed {
            payload_type: env.payload_type.clone(),
            payload: env.payload.as_bytes().to_vec(),
        }),
        SignatureContent::MessageSignature(_) => Err(SlsaError::UnexpectedBundleContent {
            found: "a message signature",
        }),
        _ => Err(SlsaError::UnexpectedBundleContent {
            found: "neither a DSSE envelope nor a message signature",
        }),
    }
}

/// One npm tarball to verify against its attestation set.
#[derive(Debug, Clone, Copy)]
pub struct NpmPackageRequest<'a> {
    /// npm's attestation set (`GET /-/npm/v1/attestations/NAME@VERSION`).
    pub attestations: &'a [u8],
    /// The tarball's digests (npm names packages by SHA-512).
    pub digests: &'a FileDigests,
    /// What the package and its provenance must say.
    pub options: &'a NpmPackageOptions,
    /// npm's registry keys, for the publish attestation.
    pub keys: &'a NpmRegistryKeys,
}

/// Verify the tarball `request.digests` against npm's attestation set
/// `request.attestations`, with `verifier`'s trusted root for the
/// provenance and `request.keys` for the publish attestation. Offline: both
/// bundles carry their Rekor entries.
pub fn verify_npm_package(
    verifier: &Verifier,
    request: &NpmPackageRequest<'_>,
) -> Result<VerifiedNpmPackage, SlsaError> {
    let &NpmPackageRequest {
        attestations,
        digests,
        options,
        keys,
    } = request;
    let limit = verifier.limits().max_bundle_bytes;
    if attestations.len() > limit.saturating_mul(2) {
        return Err(SlsaError::TooLarge {
            limit: limit.saturating_mul(2),
            found: attestations.len(),
        });
    }
    let set = NpmAttestations::parse(attestations)?;
    let sha512_hex = hex::encode(digests.sha512.as_bytes());

    // 1. The provenance: keyless signature, then the builder rules.
    let bundle = crate::bundle::parse(&bundle_bytes(&set.provenance, limit)?, limit)
        .map_err(VerifyError::from)?;
    let provenance = dsse_of(&bundle)?;
    let claims = verify_signature(
        verifier,
        &bundle,
        &provenance.payload,
        &digests.sha256,
        Some(digests),
    )?;
    let builder = verify_npm_builder(
        &claims,
        &provenance.payload_type,
        &provenance.payload,
        &sha512_hex,
        options,
    )?;

    // 2. The publish attestation: npm's key, its log entry, the digest.
    let publish_json = bundle_bytes(&set.publish, limit)?;
    let publish_bundle = crate::bundle::parse(&publish_json, limit).map_err(VerifyError::from)?;
    let publish = dsse_of(&publish_bundle)?;
    if publish_bundle.verification_material.tlog_entries.is_empty() {
        return Err(VerifyError::Unsupported {
            detail: "publish attestation bundle has no transparency-log entry".into(),
        }
        .into());
    }
    let VerificationMaterialContent::PublicKey(hint) =
        &publish_bundle.verification_material.content
    else {
        return Err(SlsaError::InvalidCertificate {
            expected: "a publish attestation signed by npm's registry key (a public key hint)",
            found: "a certificate".into(),
        });
    };
    let key = keys.attestation_key(&hint.hint)?;
    let binding = signature_binding(&publish.payload, &digests.sha256, Some(digests));
    verifier
        .verify_parsed(
            &publish_bundle,
            Artifact::TypedDigest(binding),
            &Policy::Key(key),
        )
        .map_err(|e| SlsaError::PublishBundle(Box::new(e)))?;
    let statement: PublishStatement =
        serde_json::from_slice(&publish.payload).map_err(|e| SlsaError::InvalidDssePayload {
            expected: "an in-toto statement".into(),
            found: e.to_string(),
        })?;
    if statement.subject.is_empty() {
        return Err(SlsaError::InvalidDssePayload {
            expected: "publish attestation subjects".into(),
            found: "none".into(),
        });
    }
    if !statement
        .subject
        .iter()
        .any(|s| s.digest.get("sha512") == Some(&sha512_hex))
    {
        return Err(SlsaError::MismatchHash {
            expected: format!("sha512:{sha512_hex}"),
            found: statement
                .subject
                .iter()
                .flat_map(|s| s.digest.iter().map(|(a, d)| format!("{a}:{d}")))
                .collect(),
        });
    }

    // 3. Both statements' headers.
    verify_header(&provenance, false)?;
    verify_header(&publish, true)?;

    // 4. Package name, then version, in every place they are written.
    let names: Vec<&str> = builder.subject_names.iter().map(String::as_str).collect();
    let package = verify_package(
        &names,
        &statement,
        options.package_name.as_deref(),
        options.package_version.as_deref(),
    )?;
    let (package_name, package_version) = package.unwrap_or_default();

    Ok(VerifiedNpmPackage {
        build: builder.build,
        package_name,
        package_version,
        subject_digest: format!("sha512:{sha512_hex}"),
        publish_key_id: hint.hint.clone(),
    })
}

/// `--package-name` and `--package-version` against the provenance's only
/// subject, the publish subjects and the publish predicate; the
/// provenance's (name, version) when either was asked for.
fn verify_package(
    provenance_subjects: &[&str],
    publish: &PublishStatement,
    name: Option<&str>,
    version: Option<&str>,
) -> Result<Option<(String, String)>, SlsaError> {
    if name.is_none() && version.is_none() {
        return Ok(None);
    }
    if name.is_some() && provenance_subjects.len() != 1 {
        return Err(SlsaError::InvalidDssePayload {
            expected: "exactly one provenance subject".into(),
            found: provenance_subjects.len().to_string(),
        });
    }
    let provenance = provenance_subject_package(provenance_subjects)?;
    let subjects = publish
        .subject
        .iter()
        .map(|s| provenance_subject_package(&[s.name.as_str()]))
        .collect::<Result<Vec<_>, _>>()?;
    let predicate = &publish.predicate;
    if let Some(expected) = name {
        let (split, _) = package_name_and_version(&predicate.name)?;
        let found = std::iter::once(("provenance subject", &provenance.0))
            .chain(subjects.iter().map(|s| ("publish subject", &s.0)))
            .chain([
                ("publish predicate", &split),
                ("publish predicate", &predicate.name),
            ]);
        for (what, found) in found {
            if found != expected {
                return Err(NpmError::MismatchPackageName {
                    what,
                    expected: expected.to_string(),
                    found: found.clone(),
                }
                .into());
            }
        }
    }
    if let Some(expected) = version {
        let found = std::iter::once(("provenance subject", &provenance.1))
            .chain(subjects.iter().map(|s| ("publish subject", &s.1)))
            .chain([("publish predicate", &predicate.version)]);
        for (what, found) in found {
            if found != expected {
                return Err(NpmError::MismatchPackageVersion {
                    what,
                    expected: expected.to_string(),
                    found: found.clone(),
                }
                .into());
            }
        }
    }
    Ok(Some(provenance))
}

/// slsa-verifier's `verifyIntotoTypes`: payload type, statement type, and
/// the predicate type (exact for the provenance, by prefix for publish).
fn verify_header(signed: &Signed, publish: bool) -> Result<(), SlsaError> {
    let invalid =
        |expected: String, found: String| SlsaError::InvalidDssePayload { expected, found };
    let header: Header = serde_json::from_slice(&signed.payload)
        .map_err(|e| invalid("an in-toto statement".into(), e.to_string()))?;
    if signed.payload_type != IN_TOTO_PAYLOAD_TYPE {
        return Err(invalid(
            format!("payload type {IN_TOTO_PAYLOAD_TYPE}"),
            format!("{:?}", signed.payload_type),
        ));
    }
    if !STATEMENT_TYPES.contains(&header.statement_type.as_str()) {
        return Err(invalid(
            format!("statement type one of {STATEMENT_TYPES:?}"),
            format!("{:?}", header.statement_type),
        ));
    }
    let ok = if publish {
        header.predicate_type.starts_with(PUBLISH_PREDICATE_PREFIX)
    } else {
        [SLSA_V02, SLSA_V1].contains(&header.predicate_type.as_str())
    };
    if !ok {
        return Err(invalid(
            if publish {
                format!("a predicate type starting {PUBLISH_PREDICATE_PREFIX}")
            } else {
                format!("predicate type {SLSA_V02} or {SLSA_V1}")
            },
            format!("{:?}", header.predicate_type),
        ));
    }
    Ok(())
}

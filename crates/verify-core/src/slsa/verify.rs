//! The SLSA rules, in slsa-verifier's order, on facts already verified.
//!
//! [`verify_provenance`] takes what a cryptographic verification proved —
//! the signing certificate's claims and the signed DSSE payload — and
//! decides whether it is provenance the user asked for. It reads no file
//! and does no cryptography, so the file path ([`super::artifact`]) and the
//! container-image path use it unchanged. The checks run in this order, so
//! the first failure is the one slsa-verifier reports:
//!
//! 1. the certificate's workflow identity ([`super::workflow`]);
//! 2. the builder: issuer, trusted workflow or `--builder-id`, release tag
//!    ([`super::builder`]);
//! 3. `--source-uri` against the certificate ([`super::source`]);
//! 4. the provenance decoded for that builder ([`super::provenance`]);
//! 5. its builder ID against the certificate's (or, for a BYOB delegator,
//!    against `--builder-id` or the trusted workflows' directory);
//! 6. `--source-uri` against the provenance's trigger and materials;
//! 7. the subject digest ([`super::subject`]);
//! 8. `--source-branch`, 9. `--source-tag`, 10. `--source-versioned-tag`
//!    ([`super::git_ref`]), 11. `--build-workflow-input`
//!    ([`super::github_env`]), each only when asked for.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::outcome::CertificateClaims;

use super::builder::{
    check_builder_ref, check_jreleaser_ref, verify_builder_identity, BuilderId, TrustedBuilders,
    TRUSTED_BUILDER_WORKFLOWS,
};
use super::error::SlsaError;
use super::git_ref;
use super::github_env::verify_workflow_inputs;
use super::provenance::{Provenance, SlsaVersion, SLSA_V02, SLSA_V1};
use super::source::{split_git_uri, verify_certificate_source, verify_source_uri};
use super::subject::verify_any_digest;
use super::workflow::WorkflowIdentity;

/// JReleaser's delegated builder repository, whose releases carry a
/// language suffix.
const JRELEASER_REPOSITORY: &str = "https://github.com/jreleaser/release-action";

/// What the user expects of the provenance (slsa-verifier's flags).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProvenanceOptions {
    /// `--source-uri`: the repository the build must come from.
    pub source_uri: String,
    /// `--source-branch`: checked when `Some`, even if empty.
    pub source_branch: Option<String>,
    /// `--source-tag`: checked when `Some`, even if empty.
    pub source_tag: Option<String>,
    /// `--source-versioned-tag`: checked when `Some`.
    pub source_versioned_tag: Option<String>,
    /// `--builder-id`: `Some("")` counts as absent for trusting the builder
    /// but as given for a BYOB delegator's builder (which it then fails).
    pub builder_id: Option<String>,
    /// `--build-workflow-input k=v`.
    pub workflow_inputs: BTreeMap<String, String>,
}

/// Who built what, from where: the facts every verified SLSA provenance
/// establishes (files, images, npm packages). Result types embed it with
/// `#[serde(flatten)]`, so their JSON carries these six fields at the top.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifiedBuild {
    /// The builder, `name@ref`: the signing workflow, or for a BYOB
    /// delegator the builder named in the provenance (for the npm CLI,
    /// `--builder-id`).
    pub builder_id: String,
    /// Whether the build was delegated (BYOB).
    pub delegated: bool,
    /// The source repository, `owner/name`, from the certificate.
    pub source_repository: String,
    /// The commit built, from the certificate.
    pub source_commit: String,
    /// The provenance's predicate type.
    pub predicate_type: &'static str,
    /// The provenance's build type.
    pub build_type: String,
}

impl VerifiedBuild {
    /// The facts of a build whose builder (`builder_id`) was accepted: the
    /// source from the certificate's workflow identity, the types from the
    /// provenance.
    pub(crate) fn new(
        builder_id: String,
        delegated: bool,
        identity: WorkflowIdentity,
        provenance: &Provenance,
    ) -> Self {
        Self {
            builder_id,
            delegated,
            source_repository: identity.source_repository,
            source_commit: identity.source_sha1,
            predicate_type: match provenance.version() {
                SlsaVersion::V02 => SLSA_V02,
                SlsaVersion::V1 => SLSA_V1,
            },
            build_type: provenance.build_type().to_string(),
        }
    }
}

/// What verified provenance established.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifiedProvenance {
    /// Who built it, from where.
    #[serde(flatten)]
    pub build: VerifiedBuild,
    /// The subject digest matched, `alg:hex`.
    pub subject_digest: String,
    /// The verified in-toto statement (the DSSE payload).
    #[serde(skip)]
    pub statement: Vec<u8>,
}

/// What [`verify_provenance`] judges: facts a cryptographic verification
/// already proved, and what the user expects of them.
#[derive(Debug, Clone, Copy)]
pub struct ProvenanceCheck<'a> {
    /// The verified signing certificate's claims.
    pub claims: &'a CertificateClaims,
    /// The DSSE payload type the signature covers.
    pub payload_type: &'a str,
    /// The DSSE payload (the in-toto statement) the signature covers.
    pub payload: &'a [u8],
    /// The artifact's (or image's) digests, hex: some subject must carry
    /// one of them (a file's SHA-256 and SHA-512: npm's provenance names
    /// packages by SHA-512).
    pub expected_digests: &'a [String],
    /// What the user expects (slsa-verifier's flags).
    pub options: &'a ProvenanceOptions,
    /// The builders trusted by default for this kind of artifact.
    pub trusted: &'a TrustedBuilders,
}

/// Apply the SLSA rules, in slsa-verifier's order (see the module docs), to
/// a verified signing certificate and the DSSE payload it signed.
pub fn verify_provenance(check: &ProvenanceCheck<'_>) -> Result<VerifiedProvenance, SlsaError> {
    let &ProvenanceCheck {
        claims,
        payload_type,
        payload,
        expected_digests: expected_digests_hex,
        options,
        trusted,
    } = check;
    // 1–3: who signed, and for which repository.
    let identity = WorkflowIdentity::from_claims(claims)?;
    let builder = verify_builder_identity(&identity, options.builder_id.as_deref(), trusted)?;
    verify_certificate_source(&identity, &options.source_uri)?;

    // 4: the provenance, read the way its (certificate) builder writes it.
    let provenance = Provenance::from_envelope(&builder.id.name, payload_type, payload)?;

    // 5: the builder named in the provenance.
    let builder_id = if builder.byob {
        verify_delegated_builder(&provenance, options.builder_id.as_deref())?
    } else {
        let found = BuilderId::parse(provenance.builder_id(), false, "provenance builder ID")?;
        found.matches_full(&builder.id.to_string(), true)?;
        builder.id.clone()
    };

    // 6–7: source and subject.
    verify_source_uri(&provenance, &options.source_uri)?;
    let matched = verify_any_digest(provenance.subjects()?, expected_digests_hex)?;

    // 8–11: what the user asked for.
    if let Some(branch) = &options.source_branch {
        git_ref::verify_branch(&provenance.branch()?, branch)?;
    }
    if let Some(tag) = &options.source_tag {
        git_ref::verify_tag(&provenance.tag()?, tag)?;
    }
    if let Some(versioned) = &options.source_versioned_tag {
        git_ref::verify_versioned_tag(&provenance.tag()?, versioned)?;
    }
    if !options.workflow_inputs.is_empty() {
        verify_workflow_inputs(&provenance.github_env()?, &options.workflow_inputs)?;
    }

    Ok(VerifiedProvenance {
        build: VerifiedBuild::new(builder_id.to_string(), builder.byob, identity, &provenance),
        subject_digest: format!("sha{}:{matched}", matched.len() * 4),
        statement: payload.to_vec(),
    })
}

/// A BYOB delegator signed: the real builder is the provenance's
/// `builder.id`, which must be pinned at a release and be the one the user
/// named with `--builder-id`, or, without it, a workflow of
/// slsa-github-generator.
fn verify_delegated_builder(
    provenance: &Provenance,
    expected: Option<&str>,
) -> Result<BuilderId, SlsaError> {
    let id = provenance.builder_id();
    let parts: Vec<&str> = id.split('@').collect();
    let [name, version] = parts.as_slice() else {
        return Err(SlsaError::InvalidBuilderId {
            expected: "name@ref".into(),
            found: id.to_string(),
        });
    };
    if name.starts_with(JRELEASER_REPOSITORY) {
        check_jreleaser_ref(version)?;
    } else {
        // The source must be a git URI (its ref is not needed here).
        split_git_uri(provenance.source_uri()?, "provenance source URI")?;
        check_builder_ref(version, "delegated builder ref")?;
    }
    let found = BuilderId::parse(id, false, "provenance builder ID")?;
    let expected = match expected {
        Some(e) => e.to_string(),
        None => {
            if !found.name.starts_with(TRUSTED_BUILDER_WORKFLOWS) {
                return Err(SlsaError::InvalidBuilderId {
                    expected: format!("a workflow under {TRUSTED_BUILDER_WORKFLOWS}"),
                    found: found.name,
                });
            }
            found.name.clone()
        }
    };
    found.matches_loose(&expected, true)?;
    BuilderId::parse(id, true, "provenance builder ID")
}

/// Several artifacts verified with one provenance must share one builder.
pub fn same_builder(results: &[VerifiedProvenance]) -> Result<(), SlsaError> {
    if let Some(first) = results.first() {
        if let Some(other) = results
            .iter()
            .find(|r| r.build.builder_id != first.build.builder_id)
        {
            return Err(SlsaError::BuilderIdsDiffer {
                expected: first.build.builder_id.clone(),
                found: other.build.builder_id.clone(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::slsa::npm_package::VerifiedNpmPackage;

    fn build() -> VerifiedBuild {
        VerifiedBuild {
            builder_id: "https://b.example/w.yml@refs/tags/v1.0.0".into(),
            delegated: false,
            source_repository: "acme/app".into(),
            source_commit: "abc".into(),
            predicate_type: SLSA_V1,
            build_type: "https://b.example/type".into(),
        }
    }

    /// The shared build facts are flattened: both results keep the JSON
    /// shape they had when each repeated the six fields, in that order.
    #[test]
    fn results_share_the_build_facts_and_keep_their_json_shape() {
        let provenance = VerifiedProvenance {
            build: build(),
            subject_digest: "sha256:00".into(),
            statement: b"{}".to_vec(),
        };
        let json = serde_json::to_string(&provenance).unwrap();
        assert_eq!(
            json,
            concat!(
                r#"{"builder_id":"https://b.example/w.yml@refs/tags/v1.0.0","delegated":false,"#,
                r#""source_repository":"acme/app","source_commit":"abc","#,
                r#""predicate_type":"https://slsa.dev/provenance/v1","#,
                r#""build_type":"https://b.example/type","subject_digest":"sha256:00"}"#
            )
        );
        let npm = VerifiedNpmPackage {
            build: build(),
            package_name: "a".into(),
            package_version: "1.0.0".into(),
            subject_digest: "sha512:00".into(),
            publish_key_id: "k".into(),
        };
        let value = serde_json::to_value(&npm).unwrap();
        let keys: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut expected = vec![
            "builder_id",
            "delegated",
            "source_repository",
            "source_commit",
            "predicate_type",
            "build_type",
            "package_name",
            "package_version",
            "subject_digest",
            "publish_key_id",
        ];
        // serde_json's map is sorted unless `preserve_order` is on.
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        expected.sort_unstable();
        assert_eq!(sorted, expected);
        assert_eq!(value["builder_id"], provenance.build.builder_id);
        assert_eq!(value["predicate_type"], SLSA_V1);
    }
}

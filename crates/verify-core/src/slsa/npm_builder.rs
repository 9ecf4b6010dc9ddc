//! Who may have built an npm package (slsa-verifier's
//! `verifyNpmEnvAndCert` and `VerifyNpmPackageProvenance`).
//!
//! The provenance's certificate names the workflow that signed. Two kinds
//! are accepted, and `--builder-id` is always required:
//!
//! - a BYOB delegator of slsa-github-generator, pinned at a release: the
//!   builder the user trusts is the provenance's `builder.id`, matched
//!   loosely against `--builder-id`; the runner must not be self-hosted;
//! - any other workflow is the npm CLI publishing from the repository's own
//!   workflow: `--builder-id` must be one of
//!   `https://github.com/actions/runner` (legacy),
//!   `https://github.com/actions/runner/github-hosted` or
//!   `https://github.com/actions/runner/self-hosted`, matching the
//!   certificate's runner environment (`.1.11`); the provenance's
//!   `builder.id` must be that ID, with or without the `/github-hosted`
//!   suffix (older provenance omits it); and since that provenance is
//!   forgeable, it must agree with the certificate
//!   ([`super::npm_certificate`]).
//!
//! Then `--source-uri` against the certificate and the provenance, and the
//! tarball's SHA-512 as a subject.

use crate::outcome::CertificateClaims;

use super::builder::{
    verify_builder_identity, BuilderId, TrustedBuilders, LOW_PERMS_DELEGATOR, NPM_CLI_HOSTED,
    NPM_CLI_LEGACY, NPM_CLI_SELF_HOSTED,
};
use super::error::SlsaError;
use super::github_env::verify_workflow_inputs;
use super::npm::NpmError;
use super::npm_package::NpmPackageOptions;
use super::provenance::Provenance;
use super::source::{verify_certificate_source, verify_source_uri};
use super::subject::verify_any_digest;
use super::verify::VerifiedBuild;
use super::workflow::WorkflowIdentity;

const GITHUB_HOSTED: &str = "github-hosted";
const SELF_HOSTED: &str = "self-hosted";

/// The accepted builder and what the provenance says.
#[derive(Debug)]
pub(super) struct NpmBuilder {
    pub build: VerifiedBuild,
    /// The provenance's subject names.
    pub subject_names: Vec<String>,
}

/// Apply the npm builder rules to the verified certificate `claims` and
/// the provenance payload; `sha512_hex` is the tarball's digest.
pub(super) fn verify_npm_builder(
    claims: &CertificateClaims,
    payload_type: &str,
    payload: &[u8],
    sha512_hex: &str,
    options: &NpmPackageOptions,
) -> Result<NpmBuilder, SlsaError> {
    let identity = WorkflowIdentity::from_claims(claims)?;
    // The certificate is checked against the low-permissions delegator with
    // both delegators trusted: a delegator is then accepted whatever the
    // expectation, and any other workflow is untrusted, which is the npm
    // CLI's case.
    let trusted = match verify_builder_identity(
        &identity,
        Some(LOW_PERMS_DELEGATOR),
        &TrustedBuilders::NPM,
    ) {
        Ok(builder) => Some(builder),
        Err(SlsaError::UntrustedReusableWorkflow { .. }) => None,
        Err(e) => return Err(e),
    };
    verify_certificate_source(&identity, &options.source_uri)?;
    let Some(expected) = options.builder_id.as_deref() else {
        return Err(SlsaError::InvalidBuilderId {
            expected: "--builder-id (required for npm packages)".into(),
            found: "none".into(),
        });
    };
    let hosted = claims
        .runner_environment
        .as_deref()
        .filter(|h| [GITHUB_HOSTED, SELF_HOSTED].contains(h));

    let (reader, delegated) = match &trusted {
        Some(builder) => {
            if !builder.byob {
                return Err(SlsaError::InvalidBuilderId {
                    expected: "a BYOB delegator".into(),
                    found: builder.id.to_string(),
                });
            }
            if hosted.is_some_and(|h| h != GITHUB_HOSTED) {
                return Err(SlsaError::MismatchBuilderId {
                    expected: "a reusable workflow on a GitHub-hosted runner".into(),
                    found: "a self-hosted runner".into(),
                });
            }
            (builder.id.name.clone(), true)
        }
        None => {
            let Some(hosted) = hosted else {
                return Err(NpmError::NotSupported {
                    what: "a runner whose hosting (certificate .1.11) is unknown".into(),
                }
                .into());
            };
            let required = match expected {
                NPM_CLI_LEGACY | NPM_CLI_HOSTED => GITHUB_HOSTED,
                NPM_CLI_SELF_HOSTED => SELF_HOSTED,
                other => {
                    return Err(NpmError::NotSupported {
                        what: format!(
                            "builder {other:?}; expected one of {NPM_CLI_SELF_HOSTED}, {NPM_CLI_HOSTED}"
                        ),
                    }
                    .into())
                }
            };
            if hosted != required {
                return Err(SlsaError::MismatchBuilderId {
                    expected: format!("{expected} (a {required} runner)"),
                    found: format!("a {hosted} runner"),
                });
            }
            (expected.to_string(), false)
        }
    };

    let provenance = Provenance::from_envelope(&reader, payload_type, payload)?;
    verify_builder_loose(&provenance, expected)?;
    verify_source_uri(&provenance, &options.source_uri)?;
    verify_any_digest(provenance.subjects()?, &[sha512_hex.to_string()])?;
    if !options.workflow_inputs.is_empty() {
        verify_workflow_inputs(&provenance.github_env()?, &options.workflow_inputs)?;
    }
    if !delegated {
        super::npm_certificate::verify_matches_certificate(&provenance, claims, &identity)?;
    }
    let builder_id = if delegated {
        provenance.builder_id().to_string()
    } else {
        expected.to_string()
    };
    Ok(NpmBuilder {
        build: VerifiedBuild::new(builder_id, delegated, identity, &provenance),
        subject_names: provenance.subjects.iter().map(|s| s.name.clone()).collect(),
    })
}

/// The provenance's builder ID matches `expected` loosely, or, failing
/// that, with `/github-hosted` appended or removed; the first error is the
/// one reported.
fn verify_builder_loose(provenance: &Provenance, expected: &str) -> Result<(), SlsaError> {
    let found = BuilderId::parse(provenance.builder_id(), false, "provenance builder ID")?;
    let Err(first) = found.matches_loose(expected, true) else {
        return Ok(());
    };
    let suffix = format!("/{GITHUB_HOSTED}");
    let other = match expected.strip_suffix(&suffix) {
        Some(short) => short.to_string(),
        None => format!("{expected}{suffix}"),
    };
    found.matches_loose(&other, true).map_err(|_| first)
}

#[cfg(test)]
mod tests {
    use super::super::provenance::SLSA_V1;
    use super::*;
    use crate::intoto::IN_TOTO_PAYLOAD_TYPE;

    fn npm_v1(builder_id: &str) -> Provenance {
        let statement = serde_json::json!({
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": "pkg:npm/a@1", "digest": {"sha512": "00"}}],
            "predicateType": SLSA_V1,
            "predicate": {
                "buildDefinition": {"buildType": super::super::provenance::NPM_CLI_GITHUB_ACTIONS_BUILD_TYPE},
                "runDetails": {"builder": {"id": builder_id}},
            },
        });
        Provenance::from_envelope(
            NPM_CLI_HOSTED,
            IN_TOTO_PAYLOAD_TYPE,
            statement.to_string().as_bytes(),
        )
        .unwrap()
    }

    #[test]
    fn builder_ids_match_with_or_without_the_hosting_suffix() {
        verify_builder_loose(&npm_v1(NPM_CLI_HOSTED), NPM_CLI_HOSTED).unwrap();
        verify_builder_loose(&npm_v1(NPM_CLI_HOSTED), NPM_CLI_LEGACY).unwrap();
        verify_builder_loose(&npm_v1(NPM_CLI_LEGACY), NPM_CLI_HOSTED).unwrap();
        let e = verify_builder_loose(&npm_v1(NPM_CLI_SELF_HOSTED), NPM_CLI_HOSTED).unwrap_err();
        // The error names what the user asked for, not the fallback.
        assert!(
            matches!(&e, SlsaError::MismatchBuilderId { expected, .. } if expected == NPM_CLI_HOSTED),
            "{e:?}"
        );
    }

    #[test]
    fn the_builder_id_is_required() {
        let claims = CertificateClaims {
            subject: Some(
                "https://github.com/acme/pkg/.github/workflows/release.yml@refs/heads/main".into(),
            ),
            issuer: Some(super::super::builder::GITHUB_ACTIONS_ISSUER.into()),
            source_repository_uri: Some("https://github.com/acme/pkg".into()),
            source_repository_digest: Some("abc".into()),
            build_trigger: Some("push".into()),
            runner_environment: Some("github-hosted".into()),
            ..CertificateClaims::default()
        };
        let options = NpmPackageOptions {
            source_uri: "github.com/acme/pkg".into(),
            ..NpmPackageOptions::default()
        };
        let e =
            verify_npm_builder(&claims, IN_TOTO_PAYLOAD_TYPE, b"{}", "00", &options).unwrap_err();
        assert_eq!(e.upstream_name(), "ErrorInvalidBuilderID", "{e:?}");
        // The source is checked before.
        let options = NpmPackageOptions {
            source_uri: "github.com/acme/other".into(),
            ..NpmPackageOptions::default()
        };
        let e =
            verify_npm_builder(&claims, IN_TOTO_PAYLOAD_TYPE, b"{}", "00", &options).unwrap_err();
        assert_eq!(e.upstream_name(), "ErrorMismatchSource", "{e:?}");
        // Unknown hosting cannot be judged.
        let claims = CertificateClaims {
            runner_environment: None,
            ..claims
        };
        let options = NpmPackageOptions {
            source_uri: "github.com/acme/pkg".into(),
            builder_id: Some(NPM_CLI_HOSTED.into()),
            ..NpmPackageOptions::default()
        };
        let e =
            verify_npm_builder(&claims, IN_TOTO_PAYLOAD_TYPE, b"{}", "00", &options).unwrap_err();
        assert_eq!(e.upstream_name(), "ErrorNotSupported", "{e:?}");
    }
}

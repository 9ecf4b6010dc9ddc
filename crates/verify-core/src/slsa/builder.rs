//! Which builders are trusted, and how builder IDs are compared.
//!
//! A builder is a reusable GitHub workflow of
//! `slsa-framework/slsa-github-generator` ([`GENERIC_GENERATOR`],
//! [`CONTAINER_GENERATOR`], [`GO_BUILDER`], [`CONTAINER_BASED_BUILDER`], and
//! the BYOB delegators [`GENERIC_DELEGATOR`] and [`LOW_PERMS_DELEGATOR`]);
//! its ID is the workflow URL, `name@ref` once pinned. The certificate's SAN
//! says which workflow signed. It is accepted when:
//!
//! - without `--builder-id` (or with an empty one): the workflow is in the
//!   default trusted set for the command ([`TrustedBuilders::ARTIFACT`],
//!   [`TrustedBuilders::IMAGE`]);
//! - with `--builder-id NAME[@VERSION]`: the workflow's name is `NAME` and,
//!   when a version is given, its ref is `VERSION` or `refs/tags/VERSION`
//!   (`BuilderId::matches_loose`). A trusted delegator is accepted either
//!   way: its user-facing builder is named in the provenance and matched
//!   there (see `super::verify`);
//!
//! and in both cases the workflow must be pinned at a release tag
//! `refs/tags/vX.Y.Z` (`check_builder_ref`): a branch or a moving tag
//! could run any code.

use super::error::SlsaError;
use super::git_ref;
use super::semver;
use super::workflow::WorkflowIdentity;

/// The GitHub Actions OIDC issuer every builder certificate must name.
pub const GITHUB_ACTIONS_ISSUER: &str = "https://token.actions.githubusercontent.com";

/// Where the trusted workflows live.
pub const TRUSTED_BUILDER_WORKFLOWS: &str =
    "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/";

/// The generic SLSA3 generator.
pub const GENERIC_GENERATOR: &str = "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml";
/// The container SLSA3 generator.
pub const CONTAINER_GENERATOR: &str = "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml";
/// The Go SLSA3 builder.
pub const GO_BUILDER: &str =
    "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/builder_go_slsa3.yml";
/// The container-based SLSA3 builder.
pub const CONTAINER_BASED_BUILDER: &str = "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/builder_container-based_slsa3.yml";
/// The BYOB generic delegator.
pub const GENERIC_DELEGATOR: &str = "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/delegator_generic_slsa3.yml";
/// The BYOB low-permissions generic delegator.
pub const LOW_PERMS_DELEGATOR: &str = "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/delegator_lowperms-generic_slsa3.yml";

/// bazel-contrib's reusable workflow attesting a ruleset release with
/// `actions/attest-build-provenance` (GitHub artifact attestations).
pub const BCR_RELEASER: &str =
    "https://github.com/bazel-contrib/.github/.github/workflows/release_ruleset.yaml";
/// bazel-contrib's reusable workflow attesting BCR repository metadata.
pub const BCR_PUBLISHER: &str =
    "https://github.com/bazel-contrib/publish-to-bcr/.github/workflows/publish.yaml";

/// The npm CLI's builder ID before it named the runner's hosting.
pub const NPM_CLI_LEGACY: &str = "https://github.com/actions/runner";
/// The npm CLI on GitHub-hosted runners.
pub const NPM_CLI_HOSTED: &str = "https://github.com/actions/runner/github-hosted";
/// The npm CLI on self-hosted runners.
pub const NPM_CLI_SELF_HOSTED: &str = "https://github.com/actions/runner/self-hosted";

/// The BYOB delegators: their certificate names the delegator, while the
/// builder the user trusts is named in the provenance.
pub const DELEGATORS: [&str; 2] = [GENERIC_DELEGATOR, LOW_PERMS_DELEGATOR];

/// The workflows trusted by default, for one kind of subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrustedBuilders {
    names: &'static [&'static str],
}

impl TrustedBuilders {
    /// For files (`verify artifact`): the generic generator, the Go and
    /// container-based builders and the delegators.
    pub const ARTIFACT: Self = Self {
        names: &[
            GENERIC_GENERATOR,
            GO_BUILDER,
            CONTAINER_BASED_BUILDER,
            GENERIC_DELEGATOR,
            LOW_PERMS_DELEGATOR,
        ],
    };
    /// For container images: the container generator only.
    pub const IMAGE: Self = Self {
        names: &[CONTAINER_GENERATOR],
    };
    /// For npm packages (`verify npm-package`): the BYOB delegators only;
    /// the npm CLI's own provenance is judged by other rules (see
    /// `super::npm_builder`).
    pub const NPM: Self = Self {
        names: &[GENERIC_DELEGATOR, LOW_PERMS_DELEGATOR],
    };
    /// For GitHub artifact attestations (`verify github-attestation`):
    /// none by default, as in slsa-verifier, so `--builder-id` decides.
    pub const GITHUB_ATTESTATION: Self = Self { names: &[] };

    /// Whether `name` (without ref) is trusted.
    pub fn contains(&self, name: &str) -> bool {
        self.names.contains(&name)
    }

    /// The trusted workflow names.
    pub fn names(&self) -> &'static [&'static str] {
        self.names
    }

    /// Whether `name` is a delegator, and delegators are trusted here.
    fn trusts_delegator(&self, name: &str) -> bool {
        DELEGATORS.contains(&name) && self.contains(name)
    }
}

/// A builder ID split into name and version (`name@version`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BuilderId {
    /// The workflow URL.
    pub name: String,
    /// The ref or version after `@`; empty when absent.
    pub version: String,
}

impl BuilderId {
    /// Parse `name[@version]`: at most one `@`, and a non-empty version
    /// after it. With `need_version`, the version is required.
    pub fn parse(id: &str, need_version: bool, what: &'static str) -> Result<Self, SlsaError> {
        let parts: Vec<&str> = id.split('@').collect();
        match parts.as_slice() {
            [name, version] if !version.is_empty() => Ok(Self {
                name: (*name).to_string(),
                version: (*version).to_string(),
            }),
            [name] if !need_version => Ok(Self {
                name: (*name).to_string(),
                version: String::new(),
            }),
            _ => Err(SlsaError::InvalidFormat {
                what,
                expected: if need_version {
                    "name@version"
                } else {
                    "name or name@version"
                },
                found: id.to_string(),
            }),
        }
    }

    /// `id` names this builder: same name and, if `id` has a version, the
    /// same version (or `refs/tags/<version>` equals this one's when
    /// `allow_ref`).
    pub fn matches_loose(&self, id: &str, allow_ref: bool) -> Result<(), SlsaError> {
        let other = Self::parse(id, false, "expected builder ID")?;
        self.compare(&other, id, allow_ref, false)
    }

    /// Like [`Self::matches_loose`], but the versions are always compared.
    pub fn matches_full(&self, id: &str, allow_ref: bool) -> Result<(), SlsaError> {
        let other = Self::parse(id, false, "expected builder ID")?;
        self.compare(&other, id, allow_ref, true)
    }

    fn compare(
        &self,
        other: &Self,
        id: &str,
        allow_ref: bool,
        full: bool,
    ) -> Result<(), SlsaError> {
        let version_ok = (!full && other.version.is_empty())
            || other.version == self.version
            || (allow_ref && format!("refs/tags/{}", other.version) == self.version);
        if other.name != self.name || !version_ok {
            return Err(SlsaError::MismatchBuilderId {
                expected: id.to_string(),
                found: self.to_string(),
            });
        }
        Ok(())
    }
}

impl std::fmt::Display for BuilderId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.version.is_empty() {
            f.write_str(&self.name)
        } else {
            write!(f, "{}@{}", self.name, self.version)
        }
    }
}

/// Which verifier `--builder-id` asks for. Only GitHub builders are
/// supported; an ID elsewhere (e.g. Google Cloud Build's) is refused before
/// anything is read.
pub(crate) fn check_builder_id_supported(builder_id: Option<&str>) -> Result<(), SlsaError> {
    let Some(id) = builder_id.filter(|id| !id.is_empty()) else {
        return Ok(());
    };
    let parsed = BuilderId::parse(id, false, "--builder-id")?;
    if !parsed.name.starts_with("https://github.com/") {
        return Err(SlsaError::VerifierNotSupported {
            found: id.to_string(),
        });
    }
    Ok(())
}

/// The builder the certificate proves signed, once accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TrustedBuilder {
    /// `name@ref` of the signing workflow.
    pub id: BuilderId,
    /// Whether it is a trusted BYOB delegator, whose real builder is named
    /// in the provenance.
    pub byob: bool,
}

/// Accept or refuse the signing workflow (slsa-verifier's
/// `VerifyBuilderIdentity`): the issuer, then the workflow against
/// `--builder-id` or the trusted set, then its ref.
pub(crate) fn verify_builder_identity(
    identity: &WorkflowIdentity,
    expected_builder_id: Option<&str>,
    trusted: &TrustedBuilders,
) -> Result<TrustedBuilder, SlsaError> {
    if identity.issuer != GITHUB_ACTIONS_ISSUER {
        return Err(SlsaError::InvalidOidcIssuer {
            expected: GITHUB_ACTIONS_ISSUER,
            found: identity.issuer.clone(),
        });
    }
    let name = identity.workflow_name();
    let workflow_ref = identity.workflow_ref();
    if name.is_empty() || workflow_ref.is_empty() {
        return Err(SlsaError::MalformedUri {
            what: "certificate workflow URI",
            expected: "the workflow URL with its ref (name@ref)",
            found: identity.subject_workflow.clone(),
        });
    }
    let cert_id = BuilderId::parse(
        &format!("{name}@{workflow_ref}"),
        true,
        "certificate workflow",
    )?;
    let byob = trusted.trusts_delegator(&cert_id.name);
    match expected_builder_id.filter(|id| !id.is_empty()) {
        None => {
            if !trusted.contains(&cert_id.name) {
                return Err(SlsaError::UntrustedReusableWorkflow {
                    expected: format!("one of [{}]", trusted.names().join(", ")),
                    found: cert_id.to_string(),
                });
            }
        }
        Some(expected) => {
            if !byob {
                cert_id.matches_loose(expected, true).map_err(|e| {
                    SlsaError::UntrustedReusableWorkflow {
                        expected: format!("--builder-id {expected}"),
                        found: match e {
                            SlsaError::InvalidFormat { .. } => format!("{cert_id} ({e})"),
                            _ => cert_id.to_string(),
                        },
                    }
                })?;
            }
        }
    }
    check_builder_ref(&cert_id.version, "builder workflow ref")?;
    Ok(TrustedBuilder { id: cert_id, byob })
}

/// A builder must be pinned at a release: `refs/tags/vX.Y.Z`, with no
/// prerelease and no build suffix.
pub(crate) fn check_builder_ref(workflow_ref: &str, what: &'static str) -> Result<(), SlsaError> {
    let pin = git_ref::tag_from_ref(workflow_ref, what)?;
    if !semver::is_valid(pin)
        || pin.split('.').count() != 3
        || !semver::prerelease(pin).is_empty()
        || !semver::build(pin).is_empty()
    {
        return Err(SlsaError::InvalidRef {
            what,
            expected: "refs/tags/vX.Y.Z",
            found: workflow_ref.to_string(),
        });
    }
    Ok(())
}

/// JReleaser's delegated builder is released as `vX.Y.Z-java`.
pub(crate) fn check_jreleaser_ref(workflow_ref: &str) -> Result<(), SlsaError> {
    let what = "JReleaser builder ref";
    let pin = git_ref::tag_from_ref(workflow_ref, what)?;
    if !semver::is_valid(pin)
        || pin.split('.').count() != 3
        || semver::prerelease(pin) != "-java"
        || !semver::build(pin).is_empty()
    {
        return Err(SlsaError::InvalidRef {
            what,
            expected: "refs/tags/vX.Y.Z-java",
            found: workflow_ref.to_string(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(san: &str) -> WorkflowIdentity {
        WorkflowIdentity {
            issuer: GITHUB_ACTIONS_ISSUER.into(),
            subject_workflow: san.into(),
            source_repository: "acme/app".into(),
            source_sha1: "abc".into(),
            build_trigger: "push".into(),
            source_ref: None,
            build_config_path: None,
        }
    }

    fn generic_at(r: &str) -> WorkflowIdentity {
        identity(&format!("{GENERIC_GENERATOR}@{r}"))
    }

    #[test]
    fn parse_builder_ids() {
        let id = BuilderId::parse("a@v1", true, "x").unwrap();
        assert_eq!((id.name.as_str(), id.version.as_str()), ("a", "v1"));
        let id = BuilderId::parse("a", false, "x").unwrap();
        assert_eq!(id.version, "");
        for bad in ["a@", "a@b@c", "@"] {
            assert!(
                matches!(
                    BuilderId::parse(bad, false, "x"),
                    Err(SlsaError::InvalidFormat { .. })
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            BuilderId::parse("a", true, "x"),
            Err(SlsaError::InvalidFormat { .. })
        ));
    }

    #[test]
    fn loose_and_full_matching() {
        let cert = BuilderId::parse("n@refs/tags/v1.2.3", true, "x").unwrap();
        cert.matches_loose("n", true).unwrap();
        cert.matches_loose("n@v1.2.3", true).unwrap();
        cert.matches_loose("n@refs/tags/v1.2.3", true).unwrap();
        assert!(matches!(
            cert.matches_loose("n@v1.2.3", false),
            Err(SlsaError::MismatchBuilderId { .. })
        ));
        assert!(matches!(
            cert.matches_loose("n@v1.2.4", true),
            Err(SlsaError::MismatchBuilderId { .. })
        ));
        assert!(matches!(
            cert.matches_loose("m", true),
            Err(SlsaError::MismatchBuilderId { .. })
        ));
        // Full: a missing version no longer matches.
        assert!(matches!(
            cert.matches_full("n", true),
            Err(SlsaError::MismatchBuilderId { .. })
        ));
        cert.matches_full("n@v1.2.3", true).unwrap();
    }

    #[test]
    fn default_trusted_set_applies_without_builder_id() {
        let t = verify_builder_identity(
            &generic_at("refs/tags/v2.1.0"),
            None,
            &TrustedBuilders::ARTIFACT,
        )
        .unwrap();
        assert_eq!(
            t.id.to_string(),
            format!("{GENERIC_GENERATOR}@refs/tags/v2.1.0")
        );
        assert!(!t.byob);
        // An empty --builder-id counts as absent.
        verify_builder_identity(
            &generic_at("refs/tags/v2.1.0"),
            Some(""),
            &TrustedBuilders::ARTIFACT,
        )
        .unwrap();
        // The generic generator is not trusted for images.
        assert!(matches!(
            verify_builder_identity(
                &generic_at("refs/tags/v2.1.0"),
                None,
                &TrustedBuilders::IMAGE
            ),
            Err(SlsaError::UntrustedReusableWorkflow { .. })
        ));
        let other =
            identity("https://github.com/evil/repo/.github/workflows/b.yml@refs/tags/v1.0.0");
        assert!(matches!(
            verify_builder_identity(&other, None, &TrustedBuilders::ARTIFACT),
            Err(SlsaError::UntrustedReusableWorkflow { .. })
        ));
    }

    #[test]
    fn builder_id_with_and_without_ref() {
        let id = generic_at("refs/tags/v2.1.0");
        for ok in [
            GENERIC_GENERATOR.to_string(),
            format!("{GENERIC_GENERATOR}@v2.1.0"),
            format!("{GENERIC_GENERATOR}@refs/tags/v2.1.0"),
        ] {
            verify_builder_identity(&id, Some(&ok), &TrustedBuilders::ARTIFACT).unwrap();
        }
        for bad in [
            format!("{GENERIC_GENERATOR}@v2.0.0"),
            format!("{GENERIC_GENERATOR}@refs/heads/main"),
            format!("{TRUSTED_BUILDER_WORKFLOWS}not-trusted.yml"),
            format!("{GENERIC_GENERATOR}@a@b"),
        ] {
            assert!(
                matches!(
                    verify_builder_identity(&id, Some(&bad), &TrustedBuilders::ARTIFACT),
                    Err(SlsaError::UntrustedReusableWorkflow { .. })
                ),
                "{bad}"
            );
        }
        // An explicit --builder-id is trusted even outside the default set.
        let other =
            identity("https://github.com/acme/builders/.github/workflows/b.yml@refs/tags/v1.0.0");
        verify_builder_identity(
            &other,
            Some("https://github.com/acme/builders/.github/workflows/b.yml"),
            &TrustedBuilders::IMAGE,
        )
        .unwrap();
    }

    #[test]
    fn delegators_are_byob() {
        let id = identity(&format!("{GENERIC_DELEGATOR}@refs/tags/v1.9.0"));
        let t = verify_builder_identity(&id, None, &TrustedBuilders::ARTIFACT).unwrap();
        assert!(t.byob);
        // With any --builder-id: accepted here, matched against the provenance later.
        let t = verify_builder_identity(
            &id,
            Some("https://github.com/acme/b/.github/workflows/x.yml"),
            &TrustedBuilders::ARTIFACT,
        )
        .unwrap();
        assert!(t.byob);
        // Not for images.
        assert!(matches!(
            verify_builder_identity(&id, None, &TrustedBuilders::IMAGE),
            Err(SlsaError::UntrustedReusableWorkflow { .. })
        ));
    }

    #[test]
    fn issuer_and_uri_are_checked_first() {
        let mut id = generic_at("refs/tags/v2.1.0");
        id.issuer = "https://accounts.google.com".into();
        assert!(matches!(
            verify_builder_identity(&id, None, &TrustedBuilders::ARTIFACT),
            Err(SlsaError::InvalidOidcIssuer { .. })
        ));
        let id = identity(GENERIC_GENERATOR);
        assert!(matches!(
            verify_builder_identity(&id, None, &TrustedBuilders::ARTIFACT),
            Err(SlsaError::MalformedUri { .. })
        ));
    }

    #[test]
    fn builder_must_be_pinned_at_a_release_tag() {
        check_builder_ref("refs/tags/v1.2.3", "x").unwrap();
        for bad in [
            "refs/heads/main",
            "refs/tags/v1.2",
            "refs/tags/v1",
            "refs/tags/v1.2.3-rc.1",
            "refs/tags/v1.2.3+b",
            "refs/tags/1.2.3",
            "refs/tags/",
            "v1.2.3",
        ] {
            assert!(
                matches!(
                    check_builder_ref(bad, "x"),
                    Err(SlsaError::InvalidRef { .. })
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            verify_builder_identity(
                &generic_at("refs/heads/main"),
                None,
                &TrustedBuilders::ARTIFACT
            ),
            Err(SlsaError::InvalidRef { .. })
        ));
        check_jreleaser_ref("refs/tags/v1.0.0-java").unwrap();
        assert!(matches!(
            check_jreleaser_ref("refs/tags/v1.0.0"),
            Err(SlsaError::InvalidRef { .. })
        ));
    }

    #[test]
    fn only_github_builders_are_supported() {
        check_builder_id_supported(None).unwrap();
        check_builder_id_supported(Some("")).unwrap();
        check_builder_id_supported(Some(GENERIC_GENERATOR)).unwrap();
        assert!(matches!(
            check_builder_id_supported(Some(
                "https://cloudbuild.googleapis.com/GoogleHostedWorker"
            )),
            Err(SlsaError::VerifierNotSupported { .. })
        ));
        assert!(matches!(
            check_builder_id_supported(Some("https://github.com/a@b@c")),
            Err(SlsaError::InvalidFormat {
                what: "--builder-id",
                ..
            })
        ));
    }
}

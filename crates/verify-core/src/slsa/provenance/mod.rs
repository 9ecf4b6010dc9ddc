//! Reading SLSA provenance from a verified DSSE envelope.
//!
//! The envelope's payload type must be in-toto's, and its statement's
//! predicate type SLSA v0.2 (`https://slsa.dev/provenance/v0.2`) or v1.0
//! (`https://slsa.dev/provenance/v1`). The statement is then decoded
//! strictly, as slsa-verifier does: an unknown field anywhere in the typed
//! part is an error, so a provenance cannot smuggle a field that one reader
//! honours and another ignores; only the free-form maps
//! (`invocation.parameters`/`environment` and `buildConfig` in v0.2,
//! `externalParameters`/`internalParameters` in v1.0) take anything.
//! Timestamps must be RFC 3339. JSON `null` stands for an absent value,
//! as for Go's decoder.
//!
//! Which predicate shape is expected depends on the builder that *signed*
//! (from the certificate, not from the provenance): each builder produces
//! known build types (`build_types`). The generic and container
//! generators produce only v0.2; the container-based builder only v1.0; the
//! BYOB delegators either, with the BYOB build type.
//!
//! The reader and its strict schema are internal: callers get what it
//! established through [`super::VerifiedBuild`] (builder, source, commit,
//! predicate and build type); the constants here name the predicate and
//! build types found there.

mod build_type;
mod schema;
#[cfg(test)]
mod tests;

use serde_json::Value;

use super::error::SlsaError;
use super::git_ref;
use super::github_env::GithubEnv;

pub use crate::intoto::{
    IN_TOTO_PAYLOAD_TYPE, SLSA_PROVENANCE_V02 as SLSA_V02, SLSA_PROVENANCE_V1 as SLSA_V1,
};
use build_type::version_name;
pub(crate) use build_type::{build_types, SlsaVersion};
pub use build_type::{
    BYOB_BUILD_TYPE, CONTAINER_BASED_BUILD_TYPE, CONTAINER_BUILD_TYPE, GENERIC_BUILD_TYPE,
    GITHUB_ACTIONS_BUILD_TYPE, GO_BUILD_TYPE, GO_LEGACY_BUILD_TYPES, NPM_CLI_BUILD_TYPE,
    NPM_CLI_BUILD_TYPE_V2, NPM_CLI_GITHUB_ACTIONS_BUILD_TYPE,
};
use schema::Header;
pub(crate) use schema::{v02, v1, Statement, Subject};

/// The predicate, by SLSA version.
#[derive(Debug, Clone)]
pub(crate) enum Predicate {
    /// SLSA v0.2.
    V02(v02::Predicate),
    /// SLSA v1.0.
    V1(v1::Predicate),
}

/// A decoded provenance statement, with the reading rules of the builder
/// that signed it.
#[derive(Debug, Clone)]
pub(crate) struct Provenance {
    /// The statement's subjects.
    pub(crate) subjects: Vec<Subject>,
    /// The predicate.
    pub(crate) predicate: Predicate,
    /// Whether the BYOB reading rules apply (the delegators' build type).
    pub(crate) byob: bool,
}

fn invalid(expected: impl Into<String>, found: impl Into<String>) -> SlsaError {
    SlsaError::InvalidDssePayload {
        expected: expected.into(),
        found: found.into(),
    }
}

impl Provenance {
    /// Decode the DSSE payload of `payload_type` signed by `builder` (the
    /// certificate's workflow name, without ref).
    pub(crate) fn from_envelope(
        builder: &str,
        payload_type: &str,
        payload: &[u8],
    ) -> Result<Self, SlsaError> {
        if payload_type != IN_TOTO_PAYLOAD_TYPE {
            return Err(invalid(
                format!("payload type {IN_TOTO_PAYLOAD_TYPE}"),
                format!("{payload_type:?}"),
            ));
        }
        let header: Header = serde_json::from_slice(payload)
            .map_err(|e| invalid("an in-toto statement", format!("invalid JSON: {e}")))?;
        let version = match header.predicate_type.as_str() {
            SLSA_V02 => SlsaVersion::V02,
            SLSA_V1 => SlsaVersion::V1,
            other => {
                return Err(invalid(
                    format!("predicate type {SLSA_V02} or {SLSA_V1}"),
                    format!("{other:?}"),
                ))
            }
        };
        let strict = |e: serde_json::Error| {
            invalid(
                format!("an SLSA {} statement", version_name(version)),
                e.to_string(),
            )
        };
        let (subjects, predicate, build_type) = match version {
            SlsaVersion::V02 => {
                let s: Statement<v02::Predicate> =
                    serde_json::from_slice(payload).map_err(strict)?;
                let bt = s.predicate.build_type.clone();
                (s.subject, Predicate::V02(s.predicate), bt)
            }
            SlsaVersion::V1 => {
                let s: Statement<v1::Predicate> =
                    serde_json::from_slice(payload).map_err(strict)?;
                let bt = s.predicate.build_definition.build_type.clone();
                (s.subject, Predicate::V1(s.predicate), bt)
            }
        };
        let known = build_types(builder, version);
        if known.is_empty() {
            return Err(SlsaError::InvalidBuilderId {
                expected: format!(
                    "a builder that produces SLSA {} provenance",
                    version_name(version)
                ),
                found: builder.to_string(),
            });
        }
        if !known.contains(&build_type.as_str()) {
            return Err(SlsaError::InvalidBuildType {
                builder: builder.to_string(),
                expected: known.to_vec(),
                found: build_type,
            });
        }
        Ok(Self {
            subjects,
            predicate,
            byob: build_type == BYOB_BUILD_TYPE,
        })
    }

    /// The SLSA version.
    pub(crate) fn version(&self) -> SlsaVersion {
        match self.predicate {
            Predicate::V02(_) => SlsaVersion::V02,
            Predicate::V1(_) => SlsaVersion::V1,
        }
    }

    /// The predicate's builder ID.
    pub(crate) fn builder_id(&self) -> &str {
        match &self.predicate {
            Predicate::V02(p) => &p.builder.id,
            Predicate::V1(p) => &p.run_details.builder.id,
        }
    }

    /// The predicate's build type.
    pub(crate) fn build_type(&self) -> &str {
        match &self.predicate {
            Predicate::V02(p) => &p.build_type,
            Predicate::V1(p) => &p.build_definition.build_type,
        }
    }

    /// The source the build used: the first material (v0.2) or resolved
    /// dependency (v1.0), `git+https://github.com/o/r@ref`.
    pub(crate) fn source_uri(&self) -> Result<&str, SlsaError> {
        let first = match &self.predicate {
            Predicate::V02(p) => p.materials.first().map(|m| m.uri.as_str()),
            Predicate::V1(p) => p
                .build_definition
                .resolved_dependencies
                .first()
                .map(|d| d.uri.as_str()),
        };
        match first {
            None => Err(invalid("at least one material", "none")),
            Some("") => Err(SlsaError::MalformedUri {
                what: "provenance source URI",
                expected: "a git URI with its ref",
                found: String::new(),
            }),
            Some(uri) => Ok(uri),
        }
    }

    /// What triggered the build, `git+https://github.com/o/r@ref`: the
    /// config source (v0.2) or `GITHUB_WORKFLOW_REF` (v1.0).
    pub(crate) fn trigger_uri(&self) -> Result<String, SlsaError> {
        let malformed = |found: String| SlsaError::MalformedUri {
            what: "provenance trigger URI",
            expected: "a git URI with its ref",
            found,
        };
        match &self.predicate {
            Predicate::V02(p) => match p.invocation.config_source.uri.as_str() {
                "" => Err(malformed(String::new())),
                uri => Ok(uri.to_string()),
            },
            Predicate::V1(p)
                if [GITHUB_ACTIONS_BUILD_TYPE, NPM_CLI_GITHUB_ACTIONS_BUILD_TYPE]
                    .contains(&p.build_definition.build_type.as_str()) =>
            {
                // attest-build-provenance (and npm) records the trigger in
                // externalParameters.workflow: `git+<repository>@<ref>`.
                let workflow = p
                    .build_definition
                    .external_parameters
                    .get("workflow")
                    .and_then(Value::as_object)
                    .ok_or(SlsaError::InvalidFormat {
                        what: "externalParameters.workflow",
                        expected: "an object",
                        found: String::new(),
                    })?;
                let field = |name: &'static str, what: &'static str| {
                    workflow
                        .get(name)
                        .and_then(Value::as_str)
                        .ok_or(SlsaError::InvalidFormat {
                            what,
                            expected: "a string",
                            found: String::new(),
                        })
                };
                let repository = field("repository", "externalParameters.workflow.repository")?;
                let r = field("ref", "externalParameters.workflow.ref")?;
                Ok(format!("git+{repository}@{r}"))
            }
            Predicate::V1(p) => {
                let Value::Object(params) = &p.build_definition.internal_parameters else {
                    return Err(invalid(
                        "internalParameters to be an object",
                        super::github_env::json_type(&p.build_definition.internal_parameters),
                    ));
                };
                if !params.contains_key("GITHUB_WORKFLOW_REF") {
                    return Err(SlsaError::NotPresent {
                        field: "internalParameters.GITHUB_WORKFLOW_REF",
                    });
                }
                let workflow_ref = super::github_env::get_str(
                    params,
                    "GITHUB_WORKFLOW_REF",
                    "internalParameters",
                )?;
                let parts: Vec<&str> = workflow_ref.split('@').collect();
                let [repo_and_path, r] = parts.as_slice() else {
                    return Err(SlsaError::InvalidFormat {
                        what: "internalParameters.GITHUB_WORKFLOW_REF",
                        expected: "owner/repo/path@ref",
                        found: workflow_ref.to_string(),
                    });
                };
                let segments: Vec<&str> = repo_and_path.split('/').collect();
                if segments.len() < 2 {
                    return Err(SlsaError::InvalidFormat {
                        what: "internalParameters.GITHUB_WORKFLOW_REF",
                        expected: "owner/repo/path@ref",
                        found: workflow_ref.to_string(),
                    });
                }
                if r.is_empty() {
                    return Err(malformed(workflow_ref.to_string()));
                }
                Ok(format!(
                    "git+https://github.com/{}/{}@{r}",
                    segments[0], segments[1]
                ))
            }
        }
    }

    /// The subjects; none is an invalid payload.
    pub(crate) fn subjects(&self) -> Result<&[Subject], SlsaError> {
        if self.subjects.is_empty() {
            return Err(invalid("at least one subject", "none"));
        }
        Ok(&self.subjects)
    }

    /// The recorded GitHub context.
    pub(crate) fn github_env(&self) -> Result<GithubEnv<'_>, SlsaError> {
        match &self.predicate {
            Predicate::V02(p) => GithubEnv::new(
                &p.invocation.environment,
                "invocation.environment",
                self.byob,
            ),
            Predicate::V1(p) => GithubEnv::new(
                &p.build_definition.internal_parameters,
                "internalParameters",
                true,
            ),
        }
    }

    /// The ref of the source URI, for the BYOB rules: BYOB builders record
    /// the source ref, which may differ from the triggering ref.
    fn byob_source_ref(&self) -> Result<String, SlsaError> {
        let uri = self.source_uri()?;
        let (_, r) = super::source::split_git_uri(uri, "provenance source URI")?;
        if r.is_empty() {
            return Err(invalid("a source URI with a ref", format!("{uri:?}")));
        }
        Ok(r.to_string())
    }

    /// The branch ref the build ran on (`""` when unknown).
    pub(crate) fn branch(&self) -> Result<String, SlsaError> {
        if self.byob {
            let r = self.byob_source_ref()?;
            return match git_ref::parse_ref(&r).0 {
                "heads" => Ok(r),
                "tags" => self.github_env()?.branch(),
                other => Err(invalid(
                    "a source ref of type heads or tags",
                    format!("{other:?} in {r:?}"),
                )),
            };
        }
        self.github_env()?.branch()
    }

    /// The tag ref the build ran for (`""` for a branch build).
    pub(crate) fn tag(&self) -> Result<String, SlsaError> {
        if self.byob {
            let r = self.byob_source_ref()?;
            return match git_ref::parse_ref(&r).0 {
                "heads" => Ok(String::new()),
                "tags" => Ok(r),
                other => Err(invalid(
                    "a source ref of type heads or tags",
                    format!("{other:?} in {r:?}"),
                )),
            };
        }
        self.github_env()?.tag()
    }

    /// Whether a source URI without a ref is acceptable for this build
    /// type (BYOB and npm builds may build another commit than the trigger).
    pub(crate) fn source_ref_optional(&self) -> bool {
        matches!(self.build_type(), BYOB_BUILD_TYPE | NPM_CLI_BUILD_TYPE)
    }
}

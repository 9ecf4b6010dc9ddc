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
//! known build types ([`build_types`]). The generic and container
//! generators produce only v0.2; the container-based builder only v1.0; the
//! BYOB delegators either, with the BYOB build type.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::builder::{
    CONTAINER_BASED_BUILDER, CONTAINER_GENERATOR, GENERIC_DELEGATOR, GENERIC_GENERATOR, GO_BUILDER,
    LOW_PERMS_DELEGATOR,
};
use super::error::SlsaError;
use super::git_ref;
use super::github_env::GithubEnv;

pub use crate::intoto::{
    IN_TOTO_PAYLOAD_TYPE, SLSA_PROVENANCE_V02 as SLSA_V02, SLSA_PROVENANCE_V1 as SLSA_V1,
};

/// The BYOB build type.
pub const BYOB_BUILD_TYPE: &str =
    "https://github.com/slsa-framework/slsa-github-generator/delegator-generic@v0";
/// The generic generator's build type.
pub const GENERIC_BUILD_TYPE: &str =
    "https://github.com/slsa-framework/slsa-github-generator/generic@v1";
/// The container generator's build type.
pub const CONTAINER_BUILD_TYPE: &str =
    "https://github.com/slsa-framework/slsa-github-generator/container@v1";
/// The Go builder's build type.
pub const GO_BUILD_TYPE: &str = "https://github.com/slsa-framework/slsa-github-generator/go@v1";
/// The Go builder's legacy build types.
pub const GO_LEGACY_BUILD_TYPES: [&str; 2] = [
    "https://github.com/slsa-framework/slsa-github-generator@v1",
    "https://github.com/slsa-framework/slsa-github-generator-go@v1",
];
/// The container-based builder's build type.
pub const CONTAINER_BASED_BUILD_TYPE: &str = "https://slsa.dev/container-based-build/v0.1?draft";
/// GitHub's build type for `actions/attest-build-provenance`.
pub const GITHUB_ACTIONS_BUILD_TYPE: &str = "https://actions.github.io/buildtypes/workflow/v1";
/// npm's build type, whose materials carry no ref.
pub const NPM_CLI_BUILD_TYPE: &str = "https://github.com/npm/cli/gha@v1";
/// npm's second v0.2 build type.
pub const NPM_CLI_BUILD_TYPE_V2: &str = "https://github.com/npm/cli/gha/v2";
/// npm's v1.0 build type (GitHub Actions workflow).
pub const NPM_CLI_GITHUB_ACTIONS_BUILD_TYPE: &str =
    "https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1";

/// The SLSA version of a predicate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlsaVersion {
    /// v0.2.
    V02,
    /// v1.0.
    V1,
}

/// The build types `builder` (a workflow name from the certificate)
/// produces for `version`; empty when the builder is unknown for it.
pub fn build_types(builder: &str, version: SlsaVersion) -> &'static [&'static str] {
    match (version, builder) {
        (_, GENERIC_DELEGATOR | LOW_PERMS_DELEGATOR) => &[BYOB_BUILD_TYPE],
        (SlsaVersion::V02, GO_BUILDER) => &[
            GO_BUILD_TYPE,
            GO_LEGACY_BUILD_TYPES[0],
            GO_LEGACY_BUILD_TYPES[1],
        ],
        (SlsaVersion::V02, GENERIC_GENERATOR) => &[GENERIC_BUILD_TYPE],
        (SlsaVersion::V02, CONTAINER_GENERATOR) => &[CONTAINER_BUILD_TYPE],
        (SlsaVersion::V02, super::builder::NPM_CLI_LEGACY | super::builder::NPM_CLI_HOSTED) => {
            &[NPM_CLI_BUILD_TYPE, NPM_CLI_BUILD_TYPE_V2]
        }
        (SlsaVersion::V1, super::builder::NPM_CLI_HOSTED) => &[NPM_CLI_GITHUB_ACTIONS_BUILD_TYPE],
        (SlsaVersion::V1, CONTAINER_BASED_BUILDER) => &[CONTAINER_BASED_BUILD_TYPE],
        (SlsaVersion::V1, super::builder::BCR_RELEASER | super::builder::BCR_PUBLISHER) => {
            &[GITHUB_ACTIONS_BUILD_TYPE]
        }
        _ => &[],
    }
}

/// `null` reads as the type's default, as Go's decoder leaves the zero value.
fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// An RFC 3339 timestamp, kept as text once checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rfc3339(pub String);

impl<'de> Deserialize<'de> for Rfc3339 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse::<jiff::Timestamp>()
            .map_err(|e| serde::de::Error::custom(format!("{s:?} is not an RFC 3339 time: {e}")))?;
        Ok(Self(s))
    }
}

/// Bytes in JSON as standard base64 text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Base64Bytes(pub Vec<u8>);

impl<'de> Deserialize<'de> for Base64Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use base64::Engine as _;
        let s = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(s.as_bytes())
            .map(Self)
            .map_err(|e| serde::de::Error::custom(format!("content is not base64: {e}")))
    }
}

/// An in-toto subject.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subject {
    /// The subject's name.
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    /// Digests by algorithm (`sha256` → hex).
    #[serde(default, deserialize_with = "nullable")]
    pub digest: BTreeMap<String, String>,
}

/// The statement header, read leniently to find the predicate type.
#[derive(Debug, Deserialize)]
struct Header {
    #[serde(rename = "predicateType", default, deserialize_with = "nullable")]
    predicate_type: String,
    #[serde(default, deserialize_with = "nullable")]
    #[allow(dead_code)]
    subject: Vec<Subject>,
}

/// A strict in-toto statement around predicate `P`.
#[derive(Debug, Clone, Deserialize)]
#[serde(
    deny_unknown_fields,
    bound(deserialize = "P: Deserialize<'de> + Default")
)]
pub struct Statement<P> {
    /// The statement type (not checked, as slsa-verifier does not).
    #[serde(rename = "_type", default, deserialize_with = "nullable")]
    pub statement_type: String,
    /// The predicate type.
    #[serde(rename = "predicateType", default, deserialize_with = "nullable")]
    pub predicate_type: String,
    /// The subjects.
    #[serde(default, deserialize_with = "nullable")]
    pub subject: Vec<Subject>,
    /// The predicate.
    #[serde(default, deserialize_with = "nullable")]
    pub predicate: P,
}

/// SLSA v0.2 predicate.
#[allow(missing_docs)]
pub mod v02 {
    use super::*;

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    pub struct Predicate {
        #[serde(default, deserialize_with = "nullable")]
        pub builder: Builder,
        #[serde(default, deserialize_with = "nullable")]
        pub build_type: String,
        #[serde(default, deserialize_with = "nullable")]
        pub invocation: Invocation,
        #[serde(default)]
        pub build_config: Value,
        #[serde(default)]
        pub metadata: Option<Metadata>,
        #[serde(default, deserialize_with = "nullable")]
        pub materials: Vec<Material>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Builder {
        #[serde(default, deserialize_with = "nullable")]
        pub id: String,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    pub struct Invocation {
        #[serde(default, deserialize_with = "nullable")]
        pub config_source: ConfigSource,
        #[serde(default)]
        pub parameters: Value,
        #[serde(default)]
        pub environment: Value,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    pub struct ConfigSource {
        #[serde(default, deserialize_with = "nullable")]
        pub uri: String,
        #[serde(default, deserialize_with = "nullable")]
        pub digest: BTreeMap<String, String>,
        #[serde(default, deserialize_with = "nullable")]
        pub entry_point: String,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    pub struct Metadata {
        // Go's decoder matches field names case-insensitively; npm writes
        // `buildInvocationId`.
        #[serde(
            rename = "buildInvocationID",
            alias = "buildInvocationId",
            default,
            deserialize_with = "nullable"
        )]
        pub build_invocation_id: String,
        #[serde(default)]
        pub build_started_on: Option<Rfc3339>,
        #[serde(default)]
        pub build_finished_on: Option<Rfc3339>,
        #[serde(default, deserialize_with = "nullable")]
        pub completeness: Completeness,
        #[serde(default, deserialize_with = "nullable")]
        pub reproducible: bool,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Completeness {
        #[serde(default, deserialize_with = "nullable")]
        pub parameters: bool,
        #[serde(default, deserialize_with = "nullable")]
        pub environment: bool,
        #[serde(default, deserialize_with = "nullable")]
        pub materials: bool,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Material {
        #[serde(default, deserialize_with = "nullable")]
        pub uri: String,
        #[serde(default, deserialize_with = "nullable")]
        pub digest: BTreeMap<String, String>,
    }
}

/// SLSA v1.0 predicate.
#[allow(missing_docs)]
pub mod v1 {
    use super::*;

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    pub struct Predicate {
        #[serde(default, deserialize_with = "nullable")]
        pub build_definition: BuildDefinition,
        #[serde(default, deserialize_with = "nullable")]
        pub run_details: RunDetails,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    pub struct BuildDefinition {
        #[serde(default, deserialize_with = "nullable")]
        pub build_type: String,
        #[serde(default)]
        pub external_parameters: Value,
        #[serde(default)]
        pub internal_parameters: Value,
        #[serde(default, deserialize_with = "nullable")]
        pub resolved_dependencies: Vec<ResourceDescriptor>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    pub struct RunDetails {
        #[serde(default, deserialize_with = "nullable")]
        pub builder: Builder,
        #[serde(default, deserialize_with = "nullable")]
        pub metadata: BuildMetadata,
        #[serde(default, deserialize_with = "nullable")]
        pub byproducts: Vec<ResourceDescriptor>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    pub struct Builder {
        #[serde(default, deserialize_with = "nullable")]
        pub id: String,
        #[serde(default, deserialize_with = "nullable")]
        pub version: BTreeMap<String, String>,
        #[serde(default, deserialize_with = "nullable")]
        pub builder_dependencies: Vec<ResourceDescriptor>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    pub struct BuildMetadata {
        #[serde(
            rename = "invocationID",
            alias = "invocationId",
            default,
            deserialize_with = "nullable"
        )]
        pub invocation_id: String,
        #[serde(default)]
        pub started_on: Option<Rfc3339>,
        #[serde(default)]
        pub finished_on: Option<Rfc3339>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    pub struct ResourceDescriptor {
        #[serde(default, deserialize_with = "nullable")]
        pub uri: String,
        #[serde(default, deserialize_with = "nullable")]
        pub digest: BTreeMap<String, String>,
        #[serde(default, deserialize_with = "nullable")]
        pub name: String,
        #[serde(default, deserialize_with = "nullable")]
        pub download_location: String,
        #[serde(default, deserialize_with = "nullable")]
        pub media_type: String,
        #[serde(default, deserialize_with = "nullable")]
        pub content: Base64Bytes,
        #[serde(default, deserialize_with = "nullable")]
        pub annotations: BTreeMap<String, Value>,
    }
}

/// The predicate, by SLSA version.
#[derive(Debug, Clone)]
pub enum Predicate {
    /// SLSA v0.2.
    V02(v02::Predicate),
    /// SLSA v1.0.
    V1(v1::Predicate),
}

/// A decoded provenance statement, with the reading rules of the builder
/// that signed it.
#[derive(Debug, Clone)]
pub struct Provenance {
    /// The statement's subjects.
    pub subjects: Vec<Subject>,
    /// The predicate.
    pub predicate: Predicate,
    /// Whether the BYOB reading rules apply (the delegators' build type).
    pub byob: bool,
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
    pub fn from_envelope(
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
    pub fn version(&self) -> SlsaVersion {
        match self.predicate {
            Predicate::V02(_) => SlsaVersion::V02,
            Predicate::V1(_) => SlsaVersion::V1,
        }
    }

    /// The predicate's builder ID.
    pub fn builder_id(&self) -> &str {
        match &self.predicate {
            Predicate::V02(p) => &p.builder.id,
            Predicate::V1(p) => &p.run_details.builder.id,
        }
    }

    /// The predicate's build type.
    pub fn build_type(&self) -> &str {
        match &self.predicate {
            Predicate::V02(p) => &p.build_type,
            Predicate::V1(p) => &p.build_definition.build_type,
        }
    }

    /// The source the build used: the first material (v0.2) or resolved
    /// dependency (v1.0), `git+https://github.com/o/r@ref`.
    pub fn source_uri(&self) -> Result<&str, SlsaError> {
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
    pub fn trigger_uri(&self) -> Result<String, SlsaError> {
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
    pub fn subjects(&self) -> Result<&[Subject], SlsaError> {
        if self.subjects.is_empty() {
            return Err(invalid("at least one subject", "none"));
        }
        Ok(&self.subjects)
    }

    /// The recorded GitHub context.
    pub fn github_env(&self) -> Result<GithubEnv<'_>, SlsaError> {
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
    pub fn branch(&self) -> Result<String, SlsaError> {
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
    pub fn tag(&self) -> Result<String, SlsaError> {
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

fn version_name(v: SlsaVersion) -> &'static str {
    match v {
        SlsaVersion::V02 => "v0.2",
        SlsaVersion::V1 => "v1.0",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn v02_statement() -> Value {
        json!({
            "_type": "https://in-toto.io/Statement/v0.1",
            "predicateType": SLSA_V02,
            "subject": [{"name": "a", "digest": {"sha256": "00"}}],
            "predicate": {
                "builder": {"id": format!("{GENERIC_GENERATOR}@refs/tags/v2.1.0")},
                "buildType": GENERIC_BUILD_TYPE,
                "invocation": {
                    "configSource": {"uri": "git+https://github.com/acme/app@refs/heads/main", "digest": {"sha1": "abc"}, "entryPoint": "w.yml"},
                    "parameters": {},
                    "environment": {"github_ref_type": "branch", "github_ref": "refs/heads/main"},
                },
                "metadata": {"buildInvocationID": "1", "buildStartedOn": "2024-01-01T00:00:00Z", "completeness": {"parameters": true, "environment": false, "materials": false}, "reproducible": false},
                "materials": [{"uri": "git+https://github.com/acme/app@refs/heads/main", "digest": {"sha1": "abc"}}],
            },
        })
    }

    fn parse(builder: &str, v: &Value) -> Result<Provenance, SlsaError> {
        Provenance::from_envelope(
            builder,
            IN_TOTO_PAYLOAD_TYPE,
            &serde_json::to_vec(v).unwrap(),
        )
    }

    #[test]
    fn reads_v02() {
        let p = parse(GENERIC_GENERATOR, &v02_statement()).unwrap();
        assert_eq!(p.version(), SlsaVersion::V02);
        assert!(!p.byob);
        assert_eq!(
            p.builder_id(),
            format!("{GENERIC_GENERATOR}@refs/tags/v2.1.0")
        );
        assert_eq!(
            p.source_uri().unwrap(),
            "git+https://github.com/acme/app@refs/heads/main"
        );
        assert_eq!(
            p.trigger_uri().unwrap(),
            "git+https://github.com/acme/app@refs/heads/main"
        );
        assert_eq!(p.branch().unwrap(), "refs/heads/main");
        assert_eq!(p.tag().unwrap(), "");
    }

    #[test]
    fn unknown_fields_are_rejected_at_every_typed_level() {
        let mut top = v02_statement();
        top["extra"] = json!(1);
        let mut pred = v02_statement();
        pred["predicate"]["extra"] = json!(1);
        let mut subj = v02_statement();
        subj["subject"][0]["extra"] = json!(1);
        let mut meta = v02_statement();
        meta["predicate"]["metadata"]["completeness"]["extra"] = json!(true);
        for v in [top, pred, subj, meta] {
            assert!(matches!(
                parse(GENERIC_GENERATOR, &v),
                Err(SlsaError::InvalidDssePayload { .. })
            ));
        }
        // Free-form maps take anything.
        let mut env = v02_statement();
        env["predicate"]["invocation"]["environment"]["anything"] = json!({"x": [1]});
        env["predicate"]["buildConfig"] = json!({"steps": []});
        parse(GENERIC_GENERATOR, &env).unwrap();
    }

    #[test]
    fn timestamps_must_be_rfc3339() {
        let mut v = v02_statement();
        v["predicate"]["metadata"]["buildStartedOn"] = json!("yesterday");
        assert!(matches!(
            parse(GENERIC_GENERATOR, &v),
            Err(SlsaError::InvalidDssePayload { .. })
        ));
    }

    #[test]
    fn nulls_read_as_absent() {
        let mut v = v02_statement();
        v["predicate"]["metadata"] = json!(null);
        v["predicate"]["buildConfig"] = json!(null);
        v["predicate"]["invocation"]["configSource"]["digest"] = json!(null);
        parse(GENERIC_GENERATOR, &v).unwrap();
    }

    #[test]
    fn payload_type_and_predicate_type() {
        let bytes = serde_json::to_vec(&v02_statement()).unwrap();
        assert!(matches!(
            Provenance::from_envelope(GENERIC_GENERATOR, "text/plain", &bytes),
            Err(SlsaError::InvalidDssePayload { .. })
        ));
        let mut v = v02_statement();
        v["predicateType"] = json!("https://spdx.dev/Document");
        assert!(matches!(
            parse(GENERIC_GENERATOR, &v),
            Err(SlsaError::InvalidDssePayload { .. })
        ));
        assert!(matches!(
            Provenance::from_envelope(GENERIC_GENERATOR, IN_TOTO_PAYLOAD_TYPE, b"not json"),
            Err(SlsaError::InvalidDssePayload { .. })
        ));
    }

    #[test]
    fn build_type_table() {
        // Unknown builder for this version.
        assert!(matches!(
            parse(CONTAINER_BASED_BUILDER, &v02_statement()),
            Err(SlsaError::InvalidBuilderId { .. })
        ));
        // Known builder, wrong build type.
        assert!(matches!(
            parse(CONTAINER_GENERATOR, &v02_statement()),
            Err(SlsaError::InvalidBuildType { .. })
        ));
        // The generic generator has no v1.0 reader.
        let v1 = json!({
            "_type": "https://in-toto.io/Statement/v1",
            "predicateType": SLSA_V1,
            "subject": [{"name": "a", "digest": {"sha256": "00"}}],
            "predicate": {"buildDefinition": {"buildType": GENERIC_BUILD_TYPE, "externalParameters": {}}, "runDetails": {"builder": {"id": "x"}}},
        });
        assert!(matches!(
            parse(GENERIC_GENERATOR, &v1),
            Err(SlsaError::InvalidBuilderId { .. })
        ));
    }

    #[test]
    fn reads_v1_container_based() {
        let v = json!({
            "_type": "https://in-toto.io/Statement/v1",
            "predicateType": SLSA_V1,
            "subject": [{"name": "a", "digest": {"sha256": "00"}}],
            "predicate": {
                "buildDefinition": {
                    "buildType": CONTAINER_BASED_BUILD_TYPE,
                    "externalParameters": {"source": {"uri": "git+https://github.com/acme/app@refs/tags/v1.0.0"}},
                    "internalParameters": {"GITHUB_WORKFLOW_REF": "acme/app/.github/workflows/r.yml@refs/tags/v1.0.0", "GITHUB_REF_TYPE": "tag", "GITHUB_REF": "refs/tags/v1.0.0"},
                    "resolvedDependencies": [{"uri": "git+https://github.com/acme/app@refs/tags/v1.0.0", "digest": {"sha1": "abc"}, "content": "aGk="}],
                },
                "runDetails": {"builder": {"id": format!("{CONTAINER_BASED_BUILDER}@refs/tags/v1.9.0")}, "metadata": {"invocationId": "x", "startedOn": "2024-01-01T00:00:00Z"}},
            },
        });
        let p = parse(CONTAINER_BASED_BUILDER, &v).unwrap();
        assert_eq!(p.version(), SlsaVersion::V1);
        assert_eq!(
            p.trigger_uri().unwrap(),
            "git+https://github.com/acme/app@refs/tags/v1.0.0"
        );
        assert_eq!(p.tag().unwrap(), "refs/tags/v1.0.0");

        let mut no_ref = v.clone();
        no_ref["predicate"]["buildDefinition"]["internalParameters"] = json!({});
        let p = parse(CONTAINER_BASED_BUILDER, &no_ref).unwrap();
        assert!(matches!(p.trigger_uri(), Err(SlsaError::NotPresent { .. })));

        let mut bad_content = v;
        bad_content["predicate"]["buildDefinition"]["resolvedDependencies"][0]["content"] =
            json!("***");
        assert!(matches!(
            parse(CONTAINER_BASED_BUILDER, &bad_content),
            Err(SlsaError::InvalidDssePayload { .. })
        ));
    }

    #[test]
    fn byob_reads_refs_from_the_source_uri() {
        let v = json!({
            "_type": "https://in-toto.io/Statement/v0.1",
            "predicateType": SLSA_V02,
            "subject": [{"name": "a", "digest": {"sha256": "00"}}],
            "predicate": {
                "builder": {"id": "https://github.com/acme/b/.github/workflows/b.yml@refs/tags/v1.0.0"},
                "buildType": BYOB_BUILD_TYPE,
                "invocation": {"configSource": {"uri": "git+https://github.com/acme/app@refs/tags/v3"}, "environment": {"GITHUB_REF_TYPE": "tag", "GITHUB_BASE_REF": "refs/heads/rel"}},
                "materials": [{"uri": "git+https://github.com/acme/app@refs/tags/v3"}],
            },
        });
        let p = parse(GENERIC_DELEGATOR, &v).unwrap();
        assert!(p.byob);
        assert_eq!(p.tag().unwrap(), "refs/tags/v3");
        assert_eq!(p.branch().unwrap(), "refs/heads/rel");
    }
}

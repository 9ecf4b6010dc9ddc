//! The strict shapes of in-toto statements and SLSA v0.2 / v1.0
//! predicates: every typed level refuses unknown fields, `null` reads as
//! absent, times must be RFC 3339.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};
use serde_json::Value;

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
pub(super) struct Header {
    #[serde(rename = "predicateType", default, deserialize_with = "nullable")]
    pub(super) predicate_type: String,
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

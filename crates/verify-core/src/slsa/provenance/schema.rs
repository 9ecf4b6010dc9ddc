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
pub(crate) struct Rfc3339(pub(crate) String);

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
pub(crate) struct Base64Bytes(pub(crate) Vec<u8>);

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
pub(crate) struct Subject {
    /// The subject's name.
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) name: String,
    /// Digests by algorithm (`sha256` → hex).
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) digest: BTreeMap<String, String>,
}

/// The statement header, read leniently to find the predicate type.
#[derive(Debug, Deserialize)]
pub(super) struct Header {
    #[serde(rename = "predicateType", default, deserialize_with = "nullable")]
    pub(super) predicate_type: String,
}

/// A strict in-toto statement around predicate `P`.
#[derive(Debug, Clone, Deserialize)]
#[serde(
    deny_unknown_fields,
    bound(deserialize = "P: Deserialize<'de> + Default")
)]
pub(crate) struct Statement<P> {
    /// The statement type: its value is not checked, as slsa-verifier does
    /// not, but the field lets `_type` through `deny_unknown_fields` and
    /// requires a string (or `null`).
    #[serde(rename = "_type", default, deserialize_with = "nullable")]
    #[allow(dead_code)] // read only by serde: carries the checks above
    pub(crate) statement_type: String,
    /// The predicate type, already dispatched on from [`Header`]: the field
    /// lets `predicateType` through `deny_unknown_fields`.
    #[serde(rename = "predicateType", default, deserialize_with = "nullable")]
    #[allow(dead_code)] // read only by serde: carries the check above
    pub(crate) predicate_type: String,
    /// The subjects.
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) subject: Vec<Subject>,
    /// The predicate.
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) predicate: P,
}

/// SLSA v0.2 predicate.
pub(crate) mod v02 {
    use super::*;

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    pub(crate) struct Predicate {
        #[serde(default, deserialize_with = "nullable")]
        pub(crate) builder: Builder,
        #[serde(default, deserialize_with = "nullable")]
        pub(crate) build_type: String,
        #[serde(default, deserialize_with = "nullable")]
        pub(crate) invocation: Invocation,
        #[serde(default)]
        pub(crate) build_config: Value,
        #[serde(default)]
        pub(crate) metadata: Option<Metadata>,
        #[serde(default, deserialize_with = "nullable")]
        pub(crate) materials: Vec<Material>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(crate) struct Builder {
        #[serde(default, deserialize_with = "nullable")]
        pub(crate) id: String,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    pub(crate) struct Invocation {
        #[serde(default, deserialize_with = "nullable")]
        pub(crate) config_source: ConfigSource,
        #[serde(default)]
        pub(crate) parameters: Value,
        #[serde(default)]
        pub(crate) environment: Value,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    pub(crate) struct ConfigSource {
        #[serde(default, deserialize_with = "nullable")]
        pub(crate) uri: String,
        /// Admits `digest` (a string map); not read.
        #[serde(default, deserialize_with = "nullable")]
        #[allow(dead_code)] // read only by serde: admits the key, checks its type
        pub(crate) digest: BTreeMap<String, String>,
        #[serde(default, deserialize_with = "nullable")]
        pub(crate) entry_point: String,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    pub(crate) struct Metadata {
        // Go's decoder matches field names case-insensitively; npm writes
        // `buildInvocationId`.
        #[serde(
            rename = "buildInvocationID",
            alias = "buildInvocationId",
            default,
            deserialize_with = "nullable"
        )]
        pub(crate) build_invocation_id: String,
        #[serde(default)]
        pub(crate) build_started_on: Option<Rfc3339>,
        #[serde(default)]
        pub(crate) build_finished_on: Option<Rfc3339>,
        #[serde(default, deserialize_with = "nullable")]
        pub(crate) completeness: Completeness,
        #[serde(default, deserialize_with = "nullable")]
        pub(crate) reproducible: bool,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(crate) struct Completeness {
        #[serde(default, deserialize_with = "nullable")]
        pub(crate) parameters: bool,
        #[serde(default, deserialize_with = "nullable")]
        pub(crate) environment: bool,
        #[serde(default, deserialize_with = "nullable")]
        pub(crate) materials: bool,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(crate) struct Material {
        #[serde(default, deserialize_with = "nullable")]
        pub(crate) uri: String,
        /// Admits `digest` (a string map); not read.
        #[serde(default, deserialize_with = "nullable")]
        #[allow(dead_code)] // read only by serde: admits the key, checks its type
        pub(crate) digest: BTreeMap<String, String>,
    }
}

/// SLSA v1.0 predicate.
pub(crate) mod v1 {
    use super::*;

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    pub(crate) struct Predicate {
        #[serde(default, deserialize_with = "nullable")]
        pub(crate) build_definition: BuildDefinition,
        #[serde(default, deserialize_with = "nullable")]
        pub(crate) run_details: RunDetails,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    pub(crate) struct BuildDefinition {
        #[serde(default, deserialize_with = "nullable")]
        pub(crate) build_type: String,
        #[serde(default)]
        pub(crate) external_parameters: Value,
        #[serde(default)]
        pub(crate) internal_parameters: Value,
        #[serde(default, deserialize_with = "nullable")]
        pub(crate) resolved_dependencies: Vec<ResourceDescriptor>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    pub(crate) struct RunDetails {
        #[serde(default, deserialize_with = "nullable")]
        pub(crate) builder: Builder,
        #[serde(default, deserialize_with = "nullable")]
        pub(crate) metadata: BuildMetadata,
        /// Admits `byproducts`, each a strict resource descriptor; not read.
        #[serde(default, deserialize_with = "nullable")]
        #[allow(dead_code)] // read only by serde: admits the key, checks its type
        pub(crate) byproducts: Vec<ResourceDescriptor>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    pub(crate) struct Builder {
        #[serde(default, deserialize_with = "nullable")]
        pub(crate) id: String,
        /// Admits `version` (a string map); not read.
        #[serde(default, deserialize_with = "nullable")]
        #[allow(dead_code)] // read only by serde: admits the key, checks its type
        pub(crate) version: BTreeMap<String, String>,
        /// Admits `builderDependencies`, each a strict resource descriptor;
        /// not read.
        #[serde(default, deserialize_with = "nullable")]
        #[allow(dead_code)] // read only by serde: admits the key, checks its type
        pub(crate) builder_dependencies: Vec<ResourceDescriptor>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    pub(crate) struct BuildMetadata {
        #[serde(
            rename = "invocationID",
            alias = "invocationId",
            default,
            deserialize_with = "nullable"
        )]
        pub(crate) invocation_id: String,
        #[serde(default)]
        pub(crate) started_on: Option<Rfc3339>,
        #[serde(default)]
        pub(crate) finished_on: Option<Rfc3339>,
    }

    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    /// Only `uri` is read (of the first resolved dependency); the other
    /// fields admit their keys through `deny_unknown_fields` and check their
    /// types (`content` must be base64).
    #[allow(dead_code)] // read only by serde: admits the keys, checks their types
    pub(crate) struct ResourceDescriptor {
        #[serde(default, deserialize_with = "nullable")]
        pub(crate) uri: String,
        #[serde(default, deserialize_with = "nullable")]
        pub(crate) digest: BTreeMap<String, String>,
        #[serde(default, deserialize_with = "nullable")]
        pub(crate) name: String,
        #[serde(default, deserialize_with = "nullable")]
        pub(crate) download_location: String,
        #[serde(default, deserialize_with = "nullable")]
        pub(crate) media_type: String,
        #[serde(default, deserialize_with = "nullable")]
        pub(crate) content: Base64Bytes,
        #[serde(default, deserialize_with = "nullable")]
        pub(crate) annotations: BTreeMap<String, Value>,
    }
}

//! Lenient serde models of SPDX 2.2 and 2.3 JSON documents.
//!
//! Real generators (Syft, BuildKit's Syft scanner, Trivy) write documents
//! that strict SPDX readers refuse, so these models accept what they write
//! and leave the judgement to [`mod@super::validate`]:
//!
//! - unknown fields are ignored (never buffered);
//! - every field is optional and `null` reads as absent, so a file without
//!   checksums or a package without a version still parses and is *reported*;
//! - license fields are kept as text and parsed later, so an odd license
//!   string is a finding, not a parse failure.
//!
//! What must hold is the JSON types of the fields that are read: a number
//! where a name is expected is a parse error, reported with its JSON path.
//!
//! Only the fields the validation reads are kept; everything else is skipped
//! while streaming, so memory stays well under the document's size. A
//! document may also come wrapped in an in-toto statement (BuildKit's and
//! cosign's SBOM attestations, predicate type `https://spdx.dev/Document`);
//! `Input` reads both shapes in one streaming pass.
//!
//! The unknown-field rule is the reason the top-level types deserialize by
//! hand: `#[serde(flatten)]` would buffer every unknown field (and, for the
//! statement shape, the whole document) before reading it.

use std::borrow::Cow;
use std::fmt;

use serde::de::{IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

/// `null` reads as the default (absent).
fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// The top level of an input: an SPDX document, or an in-toto statement
/// whose predicate is one. Both shapes are read in one streaming pass (no
/// `#[serde(flatten)]`, which would buffer the whole document).
#[derive(Debug, Default)]
pub(crate) struct Input {
    /// The document's own fields, when the input is a document.
    pub document: Document,
    /// in-toto: the predicate type.
    pub predicate_type: Option<String>,
    /// in-toto: the predicate, when the input is a statement.
    pub predicate: Option<Document>,
}

/// An SPDX document: the parts that are validated.
#[derive(Debug, Default)]
pub struct Document {
    /// `SPDX-2.2` or `SPDX-2.3`.
    pub spdx_version: Option<String>,
    /// Must be `CC0-1.0`.
    pub data_license: Option<String>,
    /// Must be `SPDXRef-DOCUMENT`.
    pub spdx_id: Option<String>,
    /// The document's name.
    pub name: Option<String>,
    /// A unique absolute URI for this document.
    pub document_namespace: Option<String>,
    /// Who made the document, and when.
    pub creation_info: Option<CreationInfo>,
    /// SPDX 2.2's way to say what the document describes.
    pub document_describes: Vec<String>,
    /// Other SPDX documents this one refers to.
    pub external_document_refs: Vec<ExternalDocumentRef>,
    /// Licenses defined in the document (`LicenseRef-…`).
    pub extracted_licenses: Vec<ExtractedLicense>,
    /// The packages.
    pub packages: Vec<Package>,
    /// The files.
    pub files: Vec<File>,
    /// The snippets (only their IDs matter here).
    pub snippets: Vec<Element>,
    /// The relationships.
    pub relationships: Vec<Relationship>,
}

/// The next value of `map`, `null` read as the default.
fn value<'de, A, T>(map: &mut A) -> Result<T, A::Error>
where
    A: MapAccess<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(map.next_value::<Option<T>>()?.unwrap_or_default())
}

impl Document {
    /// Read the value of `key` into this document; `false` if the key is
    /// not one of a document's (the value is then left unread).
    fn read_field<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        map: &mut A,
    ) -> Result<bool, A::Error> {
        match key {
            "spdxVersion" => self.spdx_version = value(map)?,
            "dataLicense" => self.data_license = value(map)?,
            "SPDXID" => self.spdx_id = value(map)?,
            "name" => self.name = value(map)?,
            "documentNamespace" => self.document_namespace = value(map)?,
            "creationInfo" => self.creation_info = value(map)?,
            "documentDescribes" => self.document_describes = value(map)?,
            "externalDocumentRefs" => self.external_document_refs = value(map)?,
            "hasExtractedLicensingInfos" => self.extracted_licenses = value(map)?,
            "packages" => self.packages = value(map)?,
            "files" => self.files = value(map)?,
            "snippets" => self.snippets = value(map)?,
            "relationships" => self.relationships = value(map)?,
            _ => return Ok(false),
        }
        Ok(true)
    }
}

struct DocumentVisitor;

impl<'de> Visitor<'de> for DocumentVisitor {
    type Value = Document;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an SPDX document (a JSON object)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Document, A::Error> {
        let mut document = Document::default();
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if !document.read_field(&key, &mut map)? {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(document)
    }
}

impl<'de> Deserialize<'de> for Document {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(DocumentVisitor)
    }
}

struct InputVisitor;

impl<'de> Visitor<'de> for InputVisitor {
    type Value = Input;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an SPDX document or an in-toto statement (a JSON object)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Input, A::Error> {
        let mut input = Input::default();
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match key.as_ref() {
                "predicateType" => input.predicate_type = value(&mut map)?,
                "predicate" => input.predicate = value(&mut map)?,
                other => {
                    if !input.document.read_field(other, &mut map)? {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
        }
        Ok(input)
    }
}

impl<'de> Deserialize<'de> for Input {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(InputVisitor)
    }
}

/// `creationInfo`.
#[derive(Debug, Default, Deserialize)]
pub struct CreationInfo {
    /// When the document was made, `YYYY-MM-DDThh:mm:ssZ`.
    #[serde(default, deserialize_with = "nullable")]
    pub created: Option<String>,
    /// `Tool: …`, `Organization: …` or `Person: …`.
    #[serde(default, deserialize_with = "nullable")]
    pub creators: Vec<String>,
    /// The SPDX license list version used.
    #[serde(rename = "licenseListVersion", default, deserialize_with = "nullable")]
    pub license_list_version: Option<String>,
}

/// `externalDocumentRefs[]`.
#[derive(Debug, Default, Deserialize)]
pub struct ExternalDocumentRef {
    /// `DocumentRef-…`.
    #[serde(rename = "externalDocumentId", default, deserialize_with = "nullable")]
    pub external_document_id: Option<String>,
}

/// `hasExtractedLicensingInfos[]`.
#[derive(Debug, Default, Deserialize)]
pub struct ExtractedLicense {
    /// `LicenseRef-…`.
    #[serde(rename = "licenseId", default, deserialize_with = "nullable")]
    pub license_id: Option<String>,
}

/// Anything with only an SPDX ID of interest.
#[derive(Debug, Default, Deserialize)]
pub struct Element {
    /// `SPDXRef-…`.
    #[serde(rename = "SPDXID", default, deserialize_with = "nullable")]
    pub spdx_id: Option<String>,
}

/// `packages[]`.
#[derive(Debug, Default, Deserialize)]
pub struct Package {
    /// `SPDXRef-…`, unique in the document.
    #[serde(rename = "SPDXID", default, deserialize_with = "nullable")]
    pub spdx_id: Option<String>,
    /// The component's name.
    #[serde(default, deserialize_with = "nullable")]
    pub name: Option<String>,
    /// Its version.
    #[serde(rename = "versionInfo", default, deserialize_with = "nullable")]
    pub version_info: Option<String>,
    /// Who supplies it: `Person: …`, `Organization: …` or `NOASSERTION`.
    #[serde(default, deserialize_with = "nullable")]
    pub supplier: Option<String>,
    /// Where it comes from (a URL, `NONE` or `NOASSERTION`).
    #[serde(rename = "downloadLocation", default, deserialize_with = "nullable")]
    pub download_location: Option<String>,
    /// Whether its files were analysed (SPDX's default: true).
    #[serde(rename = "filesAnalyzed", default, deserialize_with = "nullable")]
    pub files_analyzed: Option<bool>,
    /// Its checksums.
    #[serde(default, deserialize_with = "nullable")]
    pub checksums: Vec<Checksum>,
    /// The license concluded (an SPDX expression, `NONE` or `NOASSERTION`).
    #[serde(rename = "licenseConcluded", default, deserialize_with = "nullable")]
    pub license_concluded: Option<String>,
    /// The license declared.
    #[serde(rename = "licenseDeclared", default, deserialize_with = "nullable")]
    pub license_declared: Option<String>,
    /// purl, CPE and other references.
    #[serde(rename = "externalRefs", default, deserialize_with = "nullable")]
    pub external_refs: Vec<ExternalRef>,
}

/// `packages[].externalRefs[]`.
#[derive(Debug, Default, Deserialize)]
pub struct ExternalRef {
    /// `PACKAGE-MANAGER` (`PACKAGE_MANAGER` in 2.2), `SECURITY`, …
    #[serde(rename = "referenceCategory", default, deserialize_with = "nullable")]
    pub reference_category: Option<String>,
    /// `purl`, `cpe23Type`, `swid`, …
    #[serde(rename = "referenceType", default, deserialize_with = "nullable")]
    pub reference_type: Option<String>,
    /// The reference itself.
    #[serde(rename = "referenceLocator", default, deserialize_with = "nullable")]
    pub reference_locator: Option<String>,
}

/// A checksum.
#[derive(Debug, Default, Deserialize)]
pub struct Checksum {
    /// `SHA1`, `SHA256`, …
    #[serde(default, deserialize_with = "nullable")]
    pub algorithm: Option<String>,
    /// Lowercase hex.
    #[serde(rename = "checksumValue", default, deserialize_with = "nullable")]
    pub checksum_value: Option<String>,
}

/// `files[]`.
#[derive(Debug, Default, Deserialize)]
pub struct File {
    /// `SPDXRef-…`.
    #[serde(rename = "SPDXID", default, deserialize_with = "nullable")]
    pub spdx_id: Option<String>,
    /// The file's path.
    #[serde(rename = "fileName", default, deserialize_with = "nullable")]
    pub file_name: Option<String>,
    /// Its checksums (SPDX requires SHA1; Syft often writes none).
    #[serde(default, deserialize_with = "nullable")]
    pub checksums: Vec<Checksum>,
}

/// `relationships[]`.
#[derive(Debug, Default, Deserialize)]
pub struct Relationship {
    /// The subject element.
    #[serde(rename = "spdxElementId", default, deserialize_with = "nullable")]
    pub spdx_element_id: Option<String>,
    /// The related element (or `NONE` / `NOASSERTION`).
    #[serde(rename = "relatedSpdxElement", default, deserialize_with = "nullable")]
    pub related_spdx_element: Option<String>,
    /// `DESCRIBES`, `CONTAINS`, `DEPENDS_ON`, …
    #[serde(rename = "relationshipType", default, deserialize_with = "nullable")]
    pub relationship_type: Option<String>,
}

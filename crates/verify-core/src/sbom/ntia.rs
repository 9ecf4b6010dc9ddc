//! The NTIA minimum elements of an SPDX document ("The Minimum Elements For
//! a Software Bill of Materials", NTIA, July 2021): for every package a
//! supplier, a component name, a version, a unique identifier (purl, CPE or
//! SWID) and a dependency relationship; for the document a described root,
//! the SBOM's author and its timestamp. Each element is counted over the
//! whole document, with the paths of the first few places that lack it.

use serde::Serialize;

use super::model::Document;
use super::validate::non_empty;

/// Paths kept per element that is lacking.
const MAX_EXAMPLES: usize = 5;

/// One NTIA minimum element.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NtiaElement {
    /// The element's name.
    pub element: &'static str,
    /// Whether the whole document satisfies it.
    pub satisfied: bool,
    /// How many places lack it.
    pub missing: usize,
    /// Paths of the first few that lack it.
    pub examples: Vec<String>,
}

/// The NTIA minimum elements.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NtiaReport {
    /// Whether all elements are satisfied.
    pub conformant: bool,
    /// Each element.
    pub elements: Vec<NtiaElement>,
}

/// An NTIA element being counted.
struct Element {
    name: &'static str,
    missing: usize,
    examples: Vec<String>,
}

impl Element {
    fn new(name: &'static str) -> Self {
        Self {
            name,
            missing: 0,
            examples: Vec::new(),
        }
    }

    fn lacks(&mut self, path: impl FnOnce() -> String) {
        self.missing += 1;
        if self.examples.len() < MAX_EXAMPLES {
            self.examples.push(path());
        }
    }

    fn finish(self) -> NtiaElement {
        NtiaElement {
            element: self.name,
            satisfied: self.missing == 0,
            missing: self.missing,
            examples: self.examples,
        }
    }
}

pub(super) fn ntia(doc: &Document, related: &[bool], describes: usize) -> NtiaReport {
    let mut supplier = Element::new("supplier name");
    let mut name = Element::new("component name");
    let mut version = Element::new("version");
    let mut identifier = Element::new("unique identifier (purl, CPE or SWID)");
    let mut relationship = Element::new("dependency relationship");
    let mut author = Element::new("author of SBOM data");
    let mut timestamp = Element::new("timestamp");

    for (i, p) in doc.packages.iter().enumerate() {
        let path = |field: &str| format!("$.packages[{i}].{field}");
        if non_empty(&p.supplier).is_none_or(|s| s == "NOASSERTION" || s == "NONE") {
            supplier.lacks(|| path("supplier"));
        }
        if non_empty(&p.name).is_none() {
            name.lacks(|| path("name"));
        }
        if non_empty(&p.version_info).is_none() {
            version.lacks(|| path("versionInfo"));
        }
        let has_identifier = p.external_refs.iter().any(|r| {
            matches!(
                r.reference_type.as_deref(),
                Some("purl" | "cpe22Type" | "cpe23Type" | "swid")
            ) && non_empty(&r.reference_locator).is_some()
        });
        if !has_identifier {
            identifier.lacks(|| path("externalRefs"));
        }
        if !related.get(i).copied().unwrap_or(false) {
            relationship.lacks(|| format!("$.packages[{i}]"));
        }
    }
    if describes == 0 {
        relationship.lacks(|| "$.relationships".into());
    }
    let creation = doc.creation_info.as_ref();
    if creation.is_none_or(|c| c.creators.iter().all(|s| s.trim().is_empty())) {
        author.lacks(|| "$.creationInfo.creators".into());
    }
    if creation
        .and_then(|c| non_empty(&c.created))
        .is_none_or(|t| t.parse::<jiff::Timestamp>().is_err())
    {
        timestamp.lacks(|| "$.creationInfo.created".into());
    }
    let elements: Vec<NtiaElement> = [
        supplier,
        name,
        version,
        identifier,
        relationship,
        author,
        timestamp,
    ]
    .into_iter()
    .map(Element::finish)
    .collect();
    NtiaReport {
        conformant: elements.iter().all(|e| e.satisfied),
        elements,
    }
}

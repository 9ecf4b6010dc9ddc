//! What is checked in an SPDX document, and the report.
//!
//! Each check yields a [`Finding`] with the JSON path of the value it is
//! about. **Errors** are what SPDX 2.2/2.3 requires and a consumer relies on:
//!
//! - the document: `SPDXID` is `SPDXRef-DOCUMENT`, `dataLicense` is
//!   `CC0-1.0`, a `name`, a `documentNamespace` that is an absolute URI
//!   without `#`, `creationInfo` with a valid `created` time and at least one
//!   creator;
//! - every package, file and snippet has a well-formed, unique `SPDXID`
//!   (`SPDXRef-[A-Za-z0-9.-]+`); packages have a `name` and a
//!   `downloadLocation`, files a `fileName`;
//! - every relationship names elements that exist (or another document via
//!   `DocumentRef-…:`, or `NONE`/`NOASSERTION` as the related element).
//!
//! **Warnings** are what real generators often get wrong and a reader copes
//! with: files without checksums or with absolute names (SPDX wants
//! `./`-relative ones), packages whose `filesAnalyzed` is false but that
//! CONTAIN files, checksums that are not hex of the
//! algorithm's length, creators without a `Tool:`/`Organization:`/`Person:`
//! prefix, suppliers not in `Person:`/`Organization:` form, purls that are
//! not `pkg:type/name`, license strings that are not SPDX expressions (or
//! only leniently), undefined `LicenseRef-`s, unknown relationship types,
//! and a document that describes nothing.
//!
//! Separately, the NTIA minimum elements ([`NtiaReport`], counted in `ntia.rs`): supplier,
//! component name, version, a unique identifier (purl, CPE or SWID) for
//! every package; a dependency relationship for every package and a
//! described root; the SBOM's author and timestamp.
//!
//! The report keeps at most [`MAX_FINDINGS`] findings (counting them all),
//! so a broken 100,000-package SBOM gives a bounded report.

use std::collections::{HashMap, HashSet};

/// The index recorded for elements that are neither packages nor files.
const NOT_A_PACKAGE: usize = usize::MAX;
/// The index recorded for files.
const A_FILE: usize = usize::MAX - 1;

use serde::Serialize;

use super::license::{LicenseChecker, LicenseVerdict};
use super::model::{Checksum, Document, Package};
use super::ntia::ntia;
pub use super::ntia::{NtiaElement, NtiaReport};

/// Findings kept in a report; further ones are only counted.
pub const MAX_FINDINGS: usize = 1000;

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The document does not meet SPDX's requirements.
    Error,
    /// Questionable, but readable.
    Warning,
}

/// One thing found wrong, where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// How serious.
    pub severity: Severity,
    /// JSON path of the value, e.g. `$.packages[3].supplier`.
    pub path: String,
    /// A stable rule name, e.g. `package-download-location`.
    pub rule: &'static str,
    /// What was expected and what was found.
    pub message: String,
}

/// The validation report of one SPDX document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SbomReport {
    /// `SPDX-2.2` or `SPDX-2.3`.
    pub spdx_version: String,
    /// Whether the document came inside an in-toto statement.
    pub in_toto_statement: bool,
    /// The document's name.
    pub name: Option<String>,
    /// Its namespace.
    pub document_namespace: Option<String>,
    /// When it was created.
    pub created: Option<String>,
    /// Who created it.
    pub creators: Vec<String>,
    /// Number of packages.
    pub packages: usize,
    /// Number of files.
    pub files: usize,
    /// Number of relationships.
    pub relationships: usize,
    /// Number of error findings (all, even those not kept).
    pub errors: usize,
    /// Number of warning findings (all).
    pub warnings: usize,
    /// The first [`MAX_FINDINGS`] findings.
    pub findings: Vec<Finding>,
    /// Findings not kept.
    pub findings_omitted: usize,
    /// The NTIA minimum elements.
    pub ntia: NtiaReport,
}

impl SbomReport {
    /// Whether the document has no error finding.
    pub fn is_valid(&self) -> bool {
        self.errors == 0
    }
}

/// Collects findings, bounded.
struct Findings {
    kept: Vec<Finding>,
    omitted: usize,
    errors: usize,
    warnings: usize,
}

impl Findings {
    fn add(
        &mut self,
        severity: Severity,
        path: impl FnOnce() -> String,
        rule: &'static str,
        message: impl FnOnce() -> String,
    ) {
        match severity {
            Severity::Error => self.errors += 1,
            Severity::Warning => self.warnings += 1,
        }
        if self.kept.len() < MAX_FINDINGS {
            self.kept.push(Finding {
                severity,
                path: path(),
                rule,
                message: message(),
            });
        } else {
            self.omitted += 1;
        }
    }

    fn error(
        &mut self,
        path: impl FnOnce() -> String,
        rule: &'static str,
        message: impl FnOnce() -> String,
    ) {
        self.add(Severity::Error, path, rule, message);
    }

    fn warning(
        &mut self,
        path: impl FnOnce() -> String,
        rule: &'static str,
        message: impl FnOnce() -> String,
    ) {
        self.add(Severity::Warning, path, rule, message);
    }
}

/// A value for a message: quoted, or `none`.
fn shown(v: Option<&str>) -> String {
    v.map_or_else(|| "none".to_string(), |s| format!("{s:?}"))
}

pub(super) fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// `SPDXRef-` followed by letters, digits, `.` and `-`.
pub(crate) fn is_spdx_ref(id: &str) -> bool {
    id.strip_prefix("SPDXRef-").is_some_and(|rest| {
        !rest.is_empty()
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
    })
}

/// An absolute URI: a scheme, `:`, and more, without whitespace.
fn is_absolute_uri(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        && !rest.is_empty()
        && !s.chars().any(char::is_whitespace)
}

/// A package URL: `pkg:type/…` with a type of letters, digits, `.`, `+`, `-`.
fn is_purl(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("pkg:") else {
        return false;
    };
    let rest = rest.trim_start_matches('/');
    let Some((kind, name)) = rest.split_once('/') else {
        return false;
    };
    kind.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && kind
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '-'))
        && !name.is_empty()
}

/// Hex digits expected for a checksum algorithm, when known.
fn checksum_hex_len(algorithm: &str) -> Option<usize> {
    Some(match algorithm {
        "MD2" | "MD4" | "MD5" => 32,
        "SHA1" => 40,
        "SHA224" | "SHA3-224" => 56,
        "SHA256" | "SHA3-256" | "BLAKE2b-256" | "BLAKE3" => 64,
        "SHA384" | "SHA3-384" | "BLAKE2b-384" => 96,
        "SHA512" | "SHA3-512" | "BLAKE2b-512" => 128,
        "MD6" | "ADLER32" => return None,
        _ => return None,
    })
}

/// SPDX 2.3's relationship types.
const RELATIONSHIP_TYPES: &[&str] = &[
    "DESCRIBES",
    "DESCRIBED_BY",
    "CONTAINS",
    "CONTAINED_BY",
    "DEPENDS_ON",
    "DEPENDENCY_OF",
    "DEPENDENCY_MANIFEST_OF",
    "BUILD_DEPENDENCY_OF",
    "DEV_DEPENDENCY_OF",
    "OPTIONAL_DEPENDENCY_OF",
    "PROVIDED_DEPENDENCY_OF",
    "TEST_DEPENDENCY_OF",
    "RUNTIME_DEPENDENCY_OF",
    "EXAMPLE_OF",
    "GENERATES",
    "GENERATED_FROM",
    "ANCESTOR_OF",
    "DESCENDANT_OF",
    "VARIANT_OF",
    "DISTRIBUTION_ARTIFACT",
    "PATCH_FOR",
    "PATCH_APPLIED",
    "COPY_OF",
    "FILE_ADDED",
    "FILE_DELETED",
    "FILE_MODIFIED",
    "EXPANDED_FROM_ARCHIVE",
    "DYNAMIC_LINK",
    "STATIC_LINK",
    "DATA_FILE_OF",
    "TEST_CASE_OF",
    "BUILD_TOOL_OF",
    "DEV_TOOL_OF",
    "TEST_OF",
    "TEST_TOOL_OF",
    "DOCUMENTATION_OF",
    "OPTIONAL_COMPONENT_OF",
    "METAFILE_OF",
    "PACKAGE_OF",
    "AMENDS",
    "PREREQUISITE_FOR",
    "HAS_PREREQUISITE",
    "REQUIREMENT_DESCRIPTION_FOR",
    "SPECIFICATION_FOR",
    "OTHER",
];

/// Validate `doc` (an SPDX `spdx_version` document) and report.
pub fn validate(doc: &Document, spdx_version: &str, in_toto_statement: bool) -> SbomReport {
    let mut f = Findings {
        kept: Vec::new(),
        omitted: 0,
        errors: 0,
        warnings: 0,
    };
    check_document(doc, &mut f);

    // Element IDs, for uniqueness and for relationships.
    let mut ids: HashMap<&str, usize> =
        HashMap::with_capacity(1 + doc.packages.len() + doc.files.len() + doc.snippets.len());
    ids.insert("SPDXRef-DOCUMENT", NOT_A_PACKAGE);
    for (i, p) in doc.packages.iter().enumerate() {
        check_id(&mut ids, i, &mut f, &p.spdx_id, &|| {
            format!("$.packages[{i}]")
        });
    }
    for (i, file) in doc.files.iter().enumerate() {
        check_id(&mut ids, A_FILE, &mut f, &file.spdx_id, &|| {
            format!("$.files[{i}]")
        });
    }
    for (i, s) in doc.snippets.iter().enumerate() {
        check_id(&mut ids, NOT_A_PACKAGE, &mut f, &s.spdx_id, &|| {
            format!("$.snippets[{i}]")
        });
    }

    let mut licenses = LicenseChecker::new(
        doc.extracted_licenses
            .iter()
            .filter_map(|l| l.license_id.as_deref()),
    );
    for (i, p) in doc.packages.iter().enumerate() {
        check_package(i, p, &mut licenses, &mut f);
    }
    for (i, file) in doc.files.iter().enumerate() {
        let path = || format!("$.files[{i}]");
        if non_empty(&file.file_name).is_none() {
            f.error(
                || format!("{}.fileName", path()),
                "file-name",
                || "expected a fileName, found none".into(),
            );
        }
        if let Some(name) = non_empty(&file.file_name) {
            if !name.starts_with("./") {
                f.warning(
                    || format!("{}.fileName", path()),
                    "file-name-relative",
                    || format!("expected a path relative to the package, starting \"./\", found {name:?}"),
                );
            }
        }
        if file.checksums.is_empty() {
            f.warning(
                || format!("{}.checksums", path()),
                "file-checksums",
                || "expected at least a SHA1 checksum, found none".into(),
            );
        }
        check_checksums(&file.checksums, &path, &mut f);
    }

    let external_docs: HashSet<&str> = doc
        .external_document_refs
        .iter()
        .filter_map(|r| r.external_document_id.as_deref())
        .collect();
    let (related, describes) = check_relationships(doc, &ids, &external_docs, &mut f);
    if describes == 0 && doc.document_describes.is_empty() {
        f.warning(|| "$.relationships".into(), "document-describes", || {
            "expected a DESCRIBES relationship from SPDXRef-DOCUMENT (or documentDescribes), found none".into()
        });
    }
    for (i, id) in doc.document_describes.iter().enumerate() {
        if !ids.contains_key(id.as_str()) {
            f.error(
                || format!("$.documentDescribes[{i}]"),
                "relationship-element",
                || format!("expected an element of this document, found {id:?}"),
            );
        }
    }

    let ntia = ntia(doc, &related, describes + doc.document_describes.len());
    let creation = doc.creation_info.as_ref();
    SbomReport {
        spdx_version: spdx_version.to_string(),
        in_toto_statement,
        name: doc.name.clone(),
        document_namespace: doc.document_namespace.clone(),
        created: creation.and_then(|c| c.created.clone()),
        creators: creation.map(|c| c.creators.clone()).unwrap_or_default(),
        packages: doc.packages.len(),
        files: doc.files.len(),
        relationships: doc.relationships.len(),
        errors: f.errors,
        warnings: f.warnings,
        findings: f.kept,
        findings_omitted: f.omitted,
        ntia,
    }
}

/// An element's SPDXID: present, well formed, unique.
fn check_id<'a>(
    ids: &mut HashMap<&'a str, usize>,
    package: usize,
    f: &mut Findings,
    id: &'a Option<String>,
    path: &dyn Fn() -> String,
) {
    match id.as_deref() {
        None | Some("") => f.error(
            || format!("{}.SPDXID", path()),
            "element-id",
            || "expected an SPDXID, found none".into(),
        ),
        Some(id) if !is_spdx_ref(id) => f.error(
            || format!("{}.SPDXID", path()),
            "element-id",
            || format!("expected SPDXRef-[A-Za-z0-9.-]+, found {id:?}"),
        ),
        Some(id) => {
            if ids.insert(id, package).is_some() {
                f.error(
                    || format!("{}.SPDXID", path()),
                    "element-id-unique",
                    || format!("expected a unique SPDXID, found {id:?} again"),
                );
            }
        }
    }
}

fn check_document(doc: &Document, f: &mut Findings) {
    match doc.spdx_id.as_deref() {
        Some("SPDXRef-DOCUMENT") => {}
        other => f.error(
            || "$.SPDXID".into(),
            "document-id",
            || format!("expected \"SPDXRef-DOCUMENT\", found {}", shown(other)),
        ),
    }
    match doc.data_license.as_deref() {
        Some("CC0-1.0") => {}
        other => f.error(
            || "$.dataLicense".into(),
            "data-license",
            || format!("expected \"CC0-1.0\", found {}", shown(other)),
        ),
    }
    if non_empty(&doc.name).is_none() {
        f.error(
            || "$.name".into(),
            "document-name",
            || "expected a document name, found none".into(),
        );
    }
    match non_empty(&doc.document_namespace) {
        None => f.error(
            || "$.documentNamespace".into(),
            "document-namespace",
            || "expected a unique absolute URI, found none".into(),
        ),
        Some(ns) if !is_absolute_uri(ns) || ns.contains('#') => f.error(
            || "$.documentNamespace".into(),
            "document-namespace",
            || format!("expected an absolute URI without '#', found {ns:?}"),
        ),
        Some(_) => {}
    }
    let Some(creation) = &doc.creation_info else {
        f.error(
            || "$.creationInfo".into(),
            "creation-info",
            || "expected creationInfo with created and creators, found none".into(),
        );
        return;
    };
    match non_empty(&creation.created) {
        None => f.error(
            || "$.creationInfo.created".into(),
            "created",
            || "expected a creation time, found none".into(),
        ),
        Some(t) if t.parse::<jiff::Timestamp>().is_err() => f.error(
            || "$.creationInfo.created".into(),
            "created",
            || format!("expected a time as YYYY-MM-DDThh:mm:ssZ, found {t:?}"),
        ),
        Some(_) => {}
    }
    if creation.creators.is_empty() {
        f.error(
            || "$.creationInfo.creators".into(),
            "creators",
            || "expected at least one creator, found none".into(),
        );
    }
    for (i, c) in creation.creators.iter().enumerate() {
        if !["Tool:", "Organization:", "Person:"]
            .iter()
            .any(|p| c.starts_with(p) && c.len() > p.len())
        {
            f.warning(
                || format!("$.creationInfo.creators[{i}]"),
                "creator-format",
                || {
                    format!(
                        "expected \"Tool: …\", \"Organization: …\" or \"Person: …\", found {c:?}"
                    )
                },
            );
        }
    }
}

fn check_package(i: usize, p: &Package, licenses: &mut LicenseChecker, f: &mut Findings) {
    let path = || format!("$.packages[{i}]");
    if non_empty(&p.name).is_none() {
        f.error(
            || format!("{}.name", path()),
            "package-name",
            || "expected a package name, found none".into(),
        );
    }
    if non_empty(&p.download_location).is_none() {
        f.error(
            || format!("{}.downloadLocation", path()),
            "package-download-location",
            || "expected a URL, NONE or NOASSERTION, found none".into(),
        );
    }
    if let Some(supplier) = non_empty(&p.supplier) {
        if supplier != "NOASSERTION"
            && !["Person:", "Organization:"]
                .iter()
                .any(|pre| supplier.starts_with(pre) && supplier.len() > pre.len())
        {
            f.warning(
                || format!("{}.supplier", path()),
                "package-supplier-format",
                || format!("expected \"Person: …\", \"Organization: …\" or NOASSERTION, found {supplier:?}"),
            );
        }
    }
    for (j, r) in p.external_refs.iter().enumerate() {
        if r.reference_type.as_deref() == Some("purl") {
            let locator = r.reference_locator.as_deref().unwrap_or_default();
            if !is_purl(locator) {
                f.warning(
                    || format!("{}.externalRefs[{j}].referenceLocator", path()),
                    "purl-format",
                    || format!("expected a package URL pkg:type/name, found {locator:?}"),
                );
            }
        }
    }
    check_checksums(&p.checksums, &path, f);
    for (field, value) in [
        ("licenseConcluded", &p.license_concluded),
        ("licenseDeclared", &p.license_declared),
    ] {
        let Some(value) = value.as_deref() else {
            continue;
        };
        match licenses.check(value) {
            LicenseVerdict::NoAssertion => {}
            LicenseVerdict::Valid { undefined_refs } if undefined_refs.is_empty() => {}
            LicenseVerdict::Valid { undefined_refs } => {
                let refs = undefined_refs.join(", ");
                f.warning(
                    || format!("{}.{field}", path()),
                    "license-ref-undefined",
                    || {
                        format!(
                            "expected {refs} in hasExtractedLicensingInfos, found no definition"
                        )
                    },
                );
            }
            LicenseVerdict::Lax { reason } => {
                let reason = reason.clone();
                f.warning(
                    || format!("{}.{field}", path()),
                    "license-expression-lax",
                    || format!("expected an SPDX license expression, found {value:?} (readable only leniently: {reason})"),
                );
            }
            LicenseVerdict::Invalid { reason } => {
                let reason = reason.clone();
                f.warning(
                    || format!("{}.{field}", path()),
                    "license-expression",
                    || format!("expected an SPDX license expression, found {value:?} ({reason})"),
                );
            }
        }
    }
}

fn check_checksums(checksums: &[Checksum], path: &dyn Fn() -> String, f: &mut Findings) {
    for (k, c) in checksums.iter().enumerate() {
        let algorithm = c.algorithm.as_deref().unwrap_or_default();
        let value = c.checksum_value.as_deref().unwrap_or_default();
        let hex = !value.is_empty() && value.bytes().all(|b| b.is_ascii_hexdigit());
        let length_ok = checksum_hex_len(algorithm).is_none_or(|n| n == value.len());
        if !hex || !length_ok {
            f.warning(
                || format!("{}.checksums[{k}]", path()),
                "checksum-format",
                || format!("expected a {algorithm} checksum in hex, found {value:?}"),
            );
        }
    }
}

/// Check relationships; return which packages take part in one (besides
/// being described by the document) and how many DESCRIBES the document has.
fn check_relationships(
    doc: &Document,
    ids: &HashMap<&str, usize>,
    external_docs: &HashSet<&str>,
    f: &mut Findings,
) -> (Vec<bool>, usize) {
    let mut related = vec![false; doc.packages.len()];
    let mut describes = 0;
    let mut mark = |index: Option<usize>| {
        if let Some(slot) = index.and_then(|i| related.get_mut(i)) {
            *slot = true;
        }
    };
    for (i, r) in doc.relationships.iter().enumerate() {
        let path = || format!("$.relationships[{i}]");
        let (Some(a), Some(b), Some(kind)) = (
            r.spdx_element_id.as_deref(),
            r.related_spdx_element.as_deref(),
            r.relationship_type.as_deref(),
        ) else {
            f.error(path, "relationship", || {
                "expected spdxElementId, relatedSpdxElement and relationshipType, found a field missing".into()
            });
            continue;
        };
        let mut index = [None, None];
        for (k, (side, id, related_side)) in
            [("spdxElementId", a, false), ("relatedSpdxElement", b, true)]
                .into_iter()
                .enumerate()
        {
            match ids.get(id) {
                Some(&package) => index[k] = Some(package),
                None => {
                    let external = id.split_once(':').is_some_and(|(d, _)| {
                        d.starts_with("DocumentRef-") && external_docs.contains(d)
                    });
                    let none = related_side && (id == "NONE" || id == "NOASSERTION");
                    if !external && !none {
                        f.error(
                            || format!("{}.{side}", path()),
                            "relationship-element",
                            || format!("expected an element of this document, found {id:?}"),
                        );
                    }
                }
            }
        }
        if !RELATIONSHIP_TYPES.contains(&kind) {
            f.warning(
                || format!("{}.relationshipType", path()),
                "relationship-type",
                || format!("expected an SPDX relationship type, found {kind:?}"),
            );
        }
        if kind == "CONTAINS" && index[1] == Some(A_FILE) {
            if let Some(p) = index[0].and_then(|i| doc.packages.get(i)) {
                if p.files_analyzed == Some(false) {
                    f.warning(
                        || format!("{}.spdxElementId", path()),
                        "package-files-not-analyzed",
                        || format!("expected no CONTAINS of files from {a:?}, whose filesAnalyzed is false, found {b:?}"),
                    );
                }
            }
        }
        if kind == "DESCRIBES" && a == "SPDXRef-DOCUMENT" {
            describes += 1;
            mark(index[1]);
        } else if kind == "DESCRIBED_BY" && b == "SPDXRef-DOCUMENT" {
            describes += 1;
            mark(index[0]);
        } else {
            mark(index[0]);
            mark(index[1]);
        }
    }
    for id in &doc.document_describes {
        mark(ids.get(id.as_str()).copied());
    }
    (related, describes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_and_uri_forms() {
        assert!(is_spdx_ref("SPDXRef-Package-apk-musl-1.2.4"));
        assert!(!is_spdx_ref("SPDXRef-"));
        assert!(!is_spdx_ref("SPDXRef-a_b"));
        assert!(!is_spdx_ref("Package-1"));
        assert!(is_absolute_uri("https://anchore.com/syft/image/x-1"));
        assert!(is_absolute_uri("urn:uuid:1234"));
        assert!(!is_absolute_uri("anchore.com/x"));
        assert!(!is_absolute_uri("https://x y"));
        assert!(is_purl("pkg:apk/alpine/musl@1.2.4?arch=x86_64"));
        assert!(is_purl("pkg:golang/github.com/a/b@v1"));
        assert!(!is_purl("pkg:apk"));
        assert!(!is_purl("apk/alpine/musl"));
    }
}

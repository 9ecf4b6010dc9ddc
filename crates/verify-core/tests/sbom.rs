//! SPDX SBOMs shaped like real generator output (`testdata/sbom/`): Syft's
//! image SBOM, BuildKit's in-toto SBOM attestation, an NTIA-complete SPDX
//! 2.2 document, and broken documents; plus documents built here to break
//! one rule at a time.

use std::path::PathBuf;

use serde_json::{json, Value};
use verify_core::sbom::{
    read, read_file, SbomError, SbomLimits, SbomReport, SbomRequest, Severity,
};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/sbom")
        .join(name)
}

fn report_of(value: &Value) -> SbomReport {
    let bytes = serde_json::to_vec(value).unwrap();
    read(SbomRequest {
        reader: &bytes[..],
        what: "test",
        limits: SbomLimits::default(),
    })
    .expect("parses")
    .validate()
}

fn rules(report: &SbomReport, severity: Severity) -> Vec<(&str, &str)> {
    report
        .findings
        .iter()
        .filter(|f| f.severity == severity)
        .map(|f| (f.rule, f.path.as_str()))
        .collect()
}

fn ntia_missing(report: &SbomReport, element: &str) -> usize {
    report
        .ntia
        .elements
        .iter()
        .find(|e| e.element.starts_with(element))
        .map(|e| e.missing)
        .expect("element reported")
}

#[test]
fn syft_image_sbom_is_valid_with_warnings() {
    let sbom = read_file(
        &fixture("syft-alpine-image.spdx.json"),
        &SbomLimits::default(),
    )
    .unwrap();
    assert!(!sbom.in_toto_statement);
    let report = sbom.validate();
    assert!(report.is_valid(), "{:?}", report.findings);
    assert_eq!(report.spdx_version, "SPDX-2.3");
    assert_eq!(
        (report.packages, report.files, report.relationships),
        (7, 3, 11)
    );
    assert_eq!(
        report.creators,
        ["Organization: Anchore, Inc", "Tool: syft-1.0.1"]
    );
    let warnings = rules(&report, Severity::Warning);
    assert!(warnings.contains(&("license-expression-lax", "$.packages[2].licenseDeclared")));
    assert!(warnings.contains(&("file-checksums", "$.files[1].checksums")));
    assert!(warnings.contains(&("file-checksums", "$.files[2].checksums")));
    // Syft writes absolute file names, and CONTAINS files from packages
    // whose filesAnalyzed is false.
    assert!(warnings.contains(&("file-name-relative", "$.files[0].fileName")));
    assert!(warnings.contains(&(
        "package-files-not-analyzed",
        "$.relationships[6].spdxElementId"
    )));
    assert_eq!(report.warnings, 9, "{warnings:?}");
    // The image's root package has no supplier: not NTIA-conformant.
    assert!(!report.ntia.conformant);
    assert_eq!(ntia_missing(&report, "supplier"), 1);
    assert_eq!(ntia_missing(&report, "version"), 0);
    assert_eq!(ntia_missing(&report, "dependency"), 0);
}

#[test]
fn buildkit_statement_is_read_through() {
    let sbom = read_file(
        &fixture("buildkit-linux-amd64.intoto.json"),
        &SbomLimits::default(),
    )
    .unwrap();
    assert!(sbom.in_toto_statement);
    let report = sbom.validate();
    assert!(report.is_valid(), "{:?}", report.findings);
    assert_eq!(report.packages, 5);
    assert!(rules(&report, Severity::Warning).contains(&("document-describes", "$.relationships")));
    assert_eq!(ntia_missing(&report, "supplier"), 5);
    // tini is in no relationship, and nothing is described.
    assert_eq!(ntia_missing(&report, "dependency"), 2);
}

#[test]
fn ntia_complete_spdx_2_2() {
    let report = read_file(&fixture("ntia-complete.spdx.json"), &SbomLimits::default())
        .unwrap()
        .validate();
    assert!(report.is_valid(), "{:?}", report.findings);
    assert_eq!(report.spdx_version, "SPDX-2.2");
    assert!(report.ntia.conformant, "{:?}", report.ntia);
    assert_eq!(report.warnings, 0);
}

#[test]
fn invalid_document_reports_each_error_with_its_path() {
    let report = read_file(&fixture("invalid-spdx.spdx.json"), &SbomLimits::default())
        .unwrap()
        .validate();
    assert!(!report.is_valid());
    let errors = rules(&report, Severity::Error);
    for expected in [
        ("data-license", "$.dataLicense"),
        ("document-namespace", "$.documentNamespace"),
        ("element-id-unique", "$.packages[1].SPDXID"),
        (
            "package-download-location",
            "$.packages[1].downloadLocation",
        ),
        (
            "relationship-element",
            "$.relationships[1].relatedSpdxElement",
        ),
    ] {
        assert!(errors.contains(&expected), "{expected:?} not in {errors:?}");
    }
}

#[test]
fn malformed_document_names_the_json_path() {
    let err = read_file(
        &fixture("malformed-version-number.spdx.json"),
        &SbomLimits::default(),
    )
    .unwrap_err();
    assert!(
        matches!(&err, SbomError::Malformed { path, line, .. } if path == "$.packages[1].versionInfo" && *line > 1),
        "{err}"
    );
    assert!(matches!(
        read_file(&fixture("absent.spdx.json"), &SbomLimits::default()),
        Err(SbomError::Read { .. })
    ));
}

fn minimal() -> Value {
    json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": "m",
        "documentNamespace": "https://example.com/m-1",
        "creationInfo": {"created": "2024-01-01T00:00:00Z", "creators": ["Tool: t-1"]},
        "packages": [{
            "SPDXID": "SPDXRef-A", "name": "a", "versionInfo": "1", "downloadLocation": "NOASSERTION",
            "supplier": "Organization: A", "licenseDeclared": "MIT",
            "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": "pkg:npm/a@1"}],
            "checksums": [{"algorithm": "SHA256", "checksumValue": "a".repeat(64)}],
            "someFutureField": {"nested": [1, 2, 3]},
        }],
        "relationships": [{"spdxElementId": "SPDXRef-DOCUMENT", "relatedSpdxElement": "SPDXRef-A", "relationshipType": "DESCRIBES"}],
        "unknownTopLevel": true,
    })
}

#[test]
fn minimal_document_is_clean() {
    let report = report_of(&minimal());
    assert!(report.is_valid(), "{:?}", report.findings);
    assert_eq!(report.warnings, 0, "{:?}", report.findings);
    assert!(report.ntia.conformant, "{:?}", report.ntia);
}

/// A JSON path, how to break the document there, and the finding expected.
type RuleCase = (&'static str, fn(&mut Value), Severity, &'static str);

#[test]
fn each_rule_breaks_alone() {
    let cases: Vec<RuleCase> = vec![
        (
            "$.SPDXID",
            |d| d["SPDXID"] = json!("SPDXRef-DOC"),
            Severity::Error,
            "document-id",
        ),
        (
            "$.name",
            |d| d["name"] = json!(null),
            Severity::Error,
            "document-name",
        ),
        (
            "$.documentNamespace",
            |d| d["documentNamespace"] = json!("https://x/y#z"),
            Severity::Error,
            "document-namespace",
        ),
        (
            "$.documentNamespace",
            |d| d["documentNamespace"] = json!("example.com/m"),
            Severity::Error,
            "document-namespace",
        ),
        (
            "$.creationInfo",
            |d| d["creationInfo"] = json!(null),
            Severity::Error,
            "creation-info",
        ),
        (
            "$.creationInfo.created",
            |d| d["creationInfo"]["created"] = json!("yesterday"),
            Severity::Error,
            "created",
        ),
        (
            "$.creationInfo.creators",
            |d| d["creationInfo"]["creators"] = json!([]),
            Severity::Error,
            "creators",
        ),
        (
            "$.creationInfo.creators[0]",
            |d| d["creationInfo"]["creators"] = json!(["syft"]),
            Severity::Warning,
            "creator-format",
        ),
        (
            "$.packages[0].SPDXID",
            |d| d["packages"][0]["SPDXID"] = json!("A"),
            Severity::Error,
            "element-id",
        ),
        (
            "$.packages[0].name",
            |d| d["packages"][0]["name"] = json!(""),
            Severity::Error,
            "package-name",
        ),
        (
            "$.packages[0].supplier",
            |d| d["packages"][0]["supplier"] = json!("Acme"),
            Severity::Warning,
            "package-supplier-format",
        ),
        (
            "$.packages[0].externalRefs[0].referenceLocator",
            |d| d["packages"][0]["externalRefs"][0]["referenceLocator"] = json!("npm/a"),
            Severity::Warning,
            "purl-format",
        ),
        (
            "$.packages[0].checksums[0]",
            |d| d["packages"][0]["checksums"][0]["checksumValue"] = json!("abc"),
            Severity::Warning,
            "checksum-format",
        ),
        (
            "$.packages[0].licenseDeclared",
            |d| d["packages"][0]["licenseDeclared"] = json!("see LICENSE"),
            Severity::Warning,
            "license-expression",
        ),
        (
            "$.packages[0].licenseDeclared",
            |d| d["packages"][0]["licenseDeclared"] = json!("LicenseRef-x"),
            Severity::Warning,
            "license-ref-undefined",
        ),
        (
            "$.relationships[0].relationshipType",
            |d| d["relationships"][0]["relationshipType"] = json!("LIKES"),
            Severity::Warning,
            "relationship-type",
        ),
        (
            "$.relationships[0].spdxElementId",
            |d| d["relationships"][0]["spdxElementId"] = json!("SPDXRef-Nope"),
            Severity::Error,
            "relationship-element",
        ),
        (
            "$.relationships[0]",
            |d| d["relationships"][0]["relationshipType"] = json!(null),
            Severity::Error,
            "relationship",
        ),
    ];
    for (path, mutate, severity, rule) in cases {
        let mut doc = minimal();
        mutate(&mut doc);
        let report = report_of(&doc);
        let found: Vec<_> = report
            .findings
            .iter()
            .map(|f| (f.severity, f.rule, f.path.as_str()))
            .collect();
        assert!(
            found.contains(&(severity, rule, path)),
            "{rule} at {path}: found {found:?}"
        );
    }
}

#[test]
fn relationships_to_other_documents_and_none_are_accepted() {
    let mut doc = minimal();
    doc["externalDocumentRefs"] = json!([{"externalDocumentId": "DocumentRef-base", "spdxDocument": "https://x/base", "checksum": {"algorithm": "SHA1", "checksumValue": "0"}}]);
    doc["relationships"]
        .as_array_mut()
        .unwrap()
        .extend([
            json!({"spdxElementId": "SPDXRef-A", "relatedSpdxElement": "DocumentRef-base:SPDXRef-B", "relationshipType": "DEPENDS_ON"}),
            json!({"spdxElementId": "SPDXRef-A", "relatedSpdxElement": "NOASSERTION", "relationshipType": "DEPENDS_ON"}),
        ]);
    let report = report_of(&doc);
    assert!(report.is_valid(), "{:?}", report.findings);
}

#[test]
fn findings_are_bounded() {
    let mut doc = minimal();
    let packages: Vec<Value> = (0..1500)
        .map(|i| json!({"SPDXID": format!("SPDXRef-P{i}"), "name": format!("p{i}")}))
        .collect();
    doc["packages"] = json!(packages);
    doc["relationships"][0]["relatedSpdxElement"] = json!("SPDXRef-P0");
    let report = report_of(&doc);
    // Each package lacks a downloadLocation.
    assert_eq!(report.errors, 1500);
    assert_eq!(
        report.findings.len(),
        verify_core::sbom::validate::MAX_FINDINGS
    );
    assert_eq!(report.findings_omitted, 500);
    assert_eq!(ntia_missing(&report, "version"), 1500);
    let version = report
        .ntia
        .elements
        .iter()
        .find(|e| e.element == "version")
        .unwrap();
    assert_eq!(version.examples.len(), 5);
}

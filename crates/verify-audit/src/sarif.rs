//! SARIF 2.1.0 output, for GitHub code scanning: one result per finding, on
//! its manifest file and line; the rules with their severity (as GitHub's
//! `security-severity` property and a SARIF level) and rationale.

use std::collections::BTreeMap;

use serde_sarif::sarif::{
    ArtifactLocation, Location, LogicalLocation, Message, MultiformatMessageString,
    PhysicalLocation, PropertyBag, Region, ReportingConfiguration, ReportingDescriptor,
    Result as SarifResult, ResultLevel, Run, Sarif, Tool, ToolComponent, SCHEMA_URL,
};

use crate::report::{Report, Severity};
use crate::rules::RULES;

/// SARIF's level for a severity.
fn level(s: Severity) -> ResultLevel {
    match s {
        Severity::Critical | Severity::High => ResultLevel::Error,
        Severity::Medium => ResultLevel::Warning,
        Severity::Low => ResultLevel::Note,
    }
}

/// GitHub's `security-severity` score for a severity.
fn score(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
    }
}

/// A file path as a relative URI reference.
fn uri(path: &str) -> String {
    let path = path.strip_prefix("./").unwrap_or(path);
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The report as a SARIF log; `tool_version` names the tool's version.
pub fn to_sarif(report: &Report, tool_version: &str) -> Sarif {
    let rules: Vec<ReportingDescriptor> = RULES
        .iter()
        .filter(|r| report.rules.contains(&r.id))
        .map(|r| {
            let mut props = BTreeMap::new();
            props.insert("security-severity".to_string(), score(r.severity).into());
            props.insert("severity".to_string(), r.severity.as_str().into());
            ReportingDescriptor::builder()
                .id(r.id)
                .name(r.id)
                .short_description(
                    MultiformatMessageString::builder()
                        .text(r.rationale)
                        .build(),
                )
                .default_configuration(
                    ReportingConfiguration::builder()
                        .level(serde_json::to_value(level(r.severity)).unwrap_or_default())
                        .build(),
                )
                .properties(
                    PropertyBag::builder()
                        .tags(vec!["security".to_string(), "flux".to_string()])
                        .additional_properties(props)
                        .build(),
                )
                .build()
        })
        .collect();
    let index = |id: &str| report.rules.iter().position(|r| *r == id).map(|i| i as i64);
    let results: Vec<SarifResult> = report
        .findings
        .iter()
        .map(|f| {
            let mut text = format!("{}", f.object);
            if let Some(c) = &f.container {
                text.push_str(&format!(" container {c}"));
            }
            text.push_str(&format!(": {}. {}", f.evidence, f.rationale));
            let logical = LogicalLocation::builder()
                .fully_qualified_name(format!("{}", f.object))
                .kind("resource")
                .build();
            let location = match &f.location {
                Some(l) => Location::builder()
                    .physical_location(
                        PhysicalLocation::builder()
                            .artifact_location(
                                ArtifactLocation::builder().uri(uri(&l.file)).build(),
                            )
                            .region(Region::builder().start_line(l.line as i64).build())
                            .build(),
                    )
                    .logical_locations(vec![logical])
                    .build(),
                None => Location::builder().logical_locations(vec![logical]).build(),
            };
            let mut fingerprint = BTreeMap::new();
            fingerprint.insert(
                "verifyFluxAudit/v1".to_string(),
                format!(
                    "{}|{}|{}",
                    f.rule,
                    f.object,
                    f.container.as_deref().unwrap_or("")
                ),
            );
            let mut r = SarifResult::builder()
                .rule_id(f.rule)
                .level(level(f.severity))
                .message(Message::builder().text(text).build())
                .locations(vec![location])
                .partial_fingerprints(fingerprint)
                .build();
            r.rule_index = index(f.rule);
            r
        })
        .collect();
    let driver = ToolComponent::builder()
        .name("verify flux-audit")
        .version(tool_version)
        .information_uri("https://fluxcd.io/flux/security/best-practices/")
        .rules(rules)
        .build();
    let run = Run::builder()
        .tool(Tool::builder().driver(driver).build())
        .results(results)
        .build();
    Sarif::builder()
        .schema(SCHEMA_URL)
        .version(serde_json::Value::String("2.1.0".into()))
        .runs(vec![run])
        .build()
}

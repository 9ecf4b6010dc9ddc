//! What an audit found: findings, passed checks, notes; and the text table.

use std::fmt::Write as _;
use std::str::FromStr;

use serde::Serialize;
use serde_json::Value;

use crate::load::Manifest;

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "low" => Ok(Self::Low),
            "medium" => Ok(Self::Medium),
            "high" => Ok(Self::High),
            "critical" => Ok(Self::Critical),
            _ => Err(format!(
                "unknown severity {s:?} (low, medium, high, critical)"
            )),
        }
    }
}

/// The object a result is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRef {
    pub api_version: String,
    pub kind: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    pub name: String,
}

impl ObjectRef {
    pub(crate) fn of(m: &Manifest) -> Self {
        let o = &m.object;
        let s = |p: &str| {
            o.pointer(p)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        Self {
            api_version: s("/apiVersion"),
            kind: s("/kind"),
            namespace: s("/metadata/namespace"),
            name: s("/metadata/name"),
        }
    }
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{}/{}", self.kind, self.name)
        } else {
            write!(f, "{}/{}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// Where in the input a result points.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    pub file: String,
    pub line: usize,
}

/// One rule evaluated on one object (and container): a finding, or a
/// passed check.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// The rule's stable ID.
    pub rule: &'static str,
    pub severity: Severity,
    pub object: ObjectRef,
    /// The container, for container rules.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// What was found (flag as written, field values, ...).
    pub evidence: String,
    /// Why the rule matters.
    pub rationale: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
}

/// Information that is not a finding (e.g. what manifests cannot tell).
#[derive(Debug, Clone, Serialize)]
pub struct Note {
    /// A stable topic, e.g. `kustomization/decryption`.
    pub topic: &'static str,
    pub object: ObjectRef,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
}

/// A recognised Flux controller container.
#[derive(Debug, Clone, Serialize)]
pub struct ControllerSeen {
    pub controller: crate::Controller,
    pub object: ObjectRef,
    pub container: String,
    pub image: String,
}

/// The result of an audit.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub findings: Vec<Finding>,
    pub passed: Vec<Finding>,
    pub notes: Vec<Note>,
    /// Objects read.
    pub objects: usize,
    pub controllers: Vec<ControllerSeen>,
    /// IDs of the rules evaluated.
    pub rules: Vec<&'static str>,
}

impl Report {
    /// Whether any finding is at or above `severity`.
    pub fn fails(&self, severity: Severity) -> bool {
        self.findings.iter().any(|f| f.severity >= severity)
    }

    /// The findings' rule IDs (sorted, repeated per finding): handy in tests.
    pub fn finding_rules(&self) -> Vec<&'static str> {
        let mut v: Vec<_> = self.findings.iter().map(|f| f.rule).collect();
        v.sort_unstable();
        v
    }

    /// The report as JSON (`findings`, `passed`, `notes`, ...).
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// A table a person reads.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let rows: Vec<[String; 5]> = self
            .findings
            .iter()
            .map(|f| {
                [
                    f.severity.as_str().to_uppercase(),
                    f.rule.to_string(),
                    f.object.to_string(),
                    f.container.clone().unwrap_or_else(|| "-".into()),
                    match &f.location {
                        Some(l) => format!("{}:{}", l.file, l.line),
                        None => "-".into(),
                    },
                ]
            })
            .collect();
        if !rows.is_empty() {
            let header = ["SEVERITY", "RULE", "OBJECT", "CONTAINER", "WHERE"];
            let mut widths = header.map(str::len);
            for r in &rows {
                for (w, c) in widths.iter_mut().zip(r) {
                    *w = (*w).max(c.len());
                }
            }
            let line = |cells: &[String; 5], out: &mut String| {
                for (i, (c, w)) in cells.iter().zip(widths).enumerate() {
                    if i == 4 {
                        let _ = write!(out, "{c}");
                    } else {
                        let _ = write!(out, "{c:<w$}  ");
                    }
                }
                out.push('\n');
            };
            line(&header.map(String::from), &mut out);
            for (r, f) in rows.iter().zip(&self.findings) {
                line(r, &mut out);
                let _ = writeln!(out, "    evidence: {}", f.evidence);
                let _ = writeln!(out, "    why: {}", f.rationale);
            }
            out.push('\n');
        }
        for n in &self.notes {
            let _ = writeln!(out, "note: {} {}: {}", n.topic, n.object, n.message);
        }
        let mut by_sev = [0usize; 4];
        for f in &self.findings {
            by_sev[f.severity as usize] += 1;
        }
        let _ = writeln!(
            out,
            "{} finding(s) (critical {}, high {}, medium {}, low {}), {} check(s) passed; {} object(s), {} Flux controller container(s), {} rule(s)",
            self.findings.len(),
            by_sev[3],
            by_sev[2],
            by_sev[1],
            by_sev[0],
            self.passed.len(),
            self.objects,
            self.controllers.len(),
            self.rules.len()
        );
        out
    }
}

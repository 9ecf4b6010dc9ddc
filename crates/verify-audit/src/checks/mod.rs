//! The checks, by what they look at.

pub(crate) mod containers;
pub(crate) mod images;
pub(crate) mod network;
pub(crate) mod sharding;
pub(crate) mod sources;

use crate::load::Manifest;
use crate::report::{Finding, Location, Note, ObjectRef, Report};
use crate::rules::rule;

/// Records results into a report.
pub(crate) struct Ctx<'r> {
    pub report: &'r mut Report,
}

fn location(m: &Manifest, pointer: &str) -> Option<Location> {
    let origin = m.origin.as_ref()?;
    Some(Location {
        file: origin.file.clone(),
        line: m.line_of(pointer).unwrap_or(origin.line),
    })
}

impl Ctx<'_> {
    /// Record rule `id` on `m` (and `container`): passed or a finding.
    pub fn record(
        &mut self,
        id: &str,
        m: &Manifest,
        container: Option<&str>,
        pointer: &str,
        passed: bool,
        evidence: String,
    ) {
        let r = rule(id);
        let finding = Finding {
            rule: r.id,
            severity: r.severity,
            object: ObjectRef::of(m),
            container: container.map(str::to_string),
            evidence,
            rationale: r.rationale,
            location: location(m, pointer),
        };
        if passed {
            self.report.passed.push(finding);
        } else {
            self.report.findings.push(finding);
        }
    }

    /// Record information that is not a finding.
    pub fn note(&mut self, topic: &'static str, m: &Manifest, pointer: &str, message: String) {
        self.report.notes.push(Note {
            topic,
            object: ObjectRef::of(m),
            message,
            location: location(m, pointer),
        });
    }
}

//! The AdmissionReview response for a validation: allowed or denied, the
//! denial message (one line per image: the image, the policy and
//! authority, the reason code and what happened), warn-mode and no-match
//! warnings, and audit annotations naming the verified identities.

use std::collections::HashMap;

use kube::core::admission::AdmissionResponse;

use crate::verify::ImageCheck;

/// Longest warning sent (the API server truncates past 256 characters).
pub(crate) const MAX_WARNING: usize = 256;
/// Most warnings sent.
pub(crate) const MAX_WARNINGS: usize = 32;
/// Longest audit annotation value.
const MAX_ANNOTATION: usize = 4096;

/// One line per denial reason: `image@digest: policy P, authority A: code: message`.
pub fn denial_lines(checks: &[ImageCheck]) -> Vec<String> {
    let mut lines = Vec::new();
    for check in checks.iter().filter(|c| !c.allowed) {
        let image = match &check.digest {
            Some(d) if !check.image.image.contains('@') => format!("{}@{d}", check.image.image),
            _ => check.image.image.clone(),
        };
        for r in &check.verdict.reasons {
            let mut line = image.clone();
            line.push_str(": ");
            if !r.policy.is_empty() {
                line.push_str(&format!("policy {}", r.policy));
                if !r.authority.is_empty() {
                    line.push_str(&format!(", authority {}", r.authority));
                }
                line.push_str(": ");
            }
            line.push_str(&r.code);
            line.push_str(": ");
            line.push_str(&one_line(&r.message));
            lines.push(line);
        }
    }
    lines
}

/// Warnings: warn-mode failures and `--no-match warn`.
pub fn warnings(checks: &[ImageCheck]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for check in checks.iter().filter(|c| c.allowed) {
        for w in &check.verdict.warnings {
            let w = truncate(&one_line(w), MAX_WARNING);
            if !out.contains(&w) {
                out.push(w);
            }
        }
    }
    out.truncate(MAX_WARNINGS);
    out
}

/// Audit annotations: the policy hash, and for each admitted image the
/// digest, policies, authorities and identities that admitted it.
pub fn audit_annotations(checks: &[ImageCheck], policy_hash: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    out.insert("policy-hash".to_string(), policy_hash.to_string());
    for (i, check) in checks.iter().enumerate().filter(|(_, c)| c.allowed) {
        let mut value = check.image.image.clone();
        if let Some(d) = &check.digest {
            value.push_str(&format!(" digest={d}"));
        }
        if check.no_match {
            value.push_str(" no-matching-policy");
        }
        for p in check.verdict.policies.iter().filter(|p| p.passed) {
            value.push_str(&format!(
                " policy={} authority={} identities=[{}]",
                p.policy,
                p.authority.as_deref().unwrap_or(""),
                p.identities.join(", ")
            ));
        }
        out.insert(format!("image-{i}"), truncate(&value, MAX_ANNOTATION));
    }
    out
}

/// The validation response for `checks` (all of one request).
pub fn validation(
    response: AdmissionResponse,
    checks: &[ImageCheck],
    policy_hash: &str,
) -> AdmissionResponse {
    let mut response = response;
    let lines = denial_lines(checks);
    let warnings = warnings(checks);
    response.audit_annotations = audit_annotations(checks, policy_hash);
    if !warnings.is_empty() {
        response.warnings = Some(warnings);
    }
    if lines.is_empty() {
        return response;
    }
    let mut denied = response.deny(lines.join("\n"));
    denied.result.status = Some(kube::core::response::StatusSummary::Failure);
    denied.result.code = 403;
    denied.result.reason = "Forbidden".into();
    denied
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `s` cut to at most `max` bytes on a character boundary, `...` marking a cut.
pub(crate) fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max.saturating_sub(3);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

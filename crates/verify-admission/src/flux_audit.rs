//! Flux's security best practices at admission: the rules of
//! `verify flux-audit` (the `verify-audit` engine) enforced, or warned on,
//! for Deployments in the Flux namespace(s).
//!
//! Configured by `--flux-audit FILE`, a YAML file of one or more
//! `FluxAuditPolicy` documents:
//!
//! ```yaml
//! apiVersion: verify-admission.dev/v1alpha1
//! kind: FluxAuditPolicy
//! metadata:
//!   name: flux-system
//! spec:
//!   mode: enforce            # or warn (admitted, with AdmissionReview warnings)
//!   namespaces: [flux-system] # default: [flux-system]
//!   multiTenant: false       # also the multi-tenancy flag rules
//!   allWorkloads: false      # pod-security rules on every Deployment there, not only controllers
//!   rules:
//!     include: ["*"]         # globs over rule IDs (`*` matches anything); default all
//!     exclude: ["kustomize-controller/no-remote-bases"]
//! ```
//!
//! Only the rules that one Deployment can decide are available here: a
//! controller's start-up flags (`<controller>/...`) and `pod-security/*`.
//! The rules that need other objects (`source/*`, `sharding/*`,
//! `network/*`) and `images/signature` (the image policies verify images)
//! are for `verify flux-audit` on whole manifests. A pattern that selects
//! none of the available rules is an error, so a typo cannot switch a rule
//! off silently.
//!
//! What is reviewed: CREATE and UPDATE of `apps` Deployments (not their
//! subresources: scaling or status updates are never blocked), not being
//! deleted, in a listed namespace. A denial's `status.message` has one line
//! per finding, starting with the policy and rule ID; warn mode sends the
//! same lines as warnings.

use std::path::Path;

use kube::core::admission::{AdmissionRequest, AdmissionResponse, Operation};
use kube::core::DynamicObject;
use serde::Deserialize;
use verify_audit::rules::{RuleSet, RULES};

/// Largest policy file read.
pub const MAX_FILE: u64 = 1024 * 1024;
/// Most policies in one file.
pub const MAX_POLICIES: usize = 64;
// Warnings are bounded as the image checks' are (decision.rs).
use crate::decision::{MAX_WARNING, MAX_WARNINGS};

/// The `apiVersion` of a `FluxAuditPolicy`.
pub const API_VERSION: &str = "verify-admission.dev/v1alpha1";

/// Why a `--flux-audit` file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum FluxAuditError {
    /// The file cannot be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Larger than [`MAX_FILE`].
    #[error("{path}: larger than {limit} bytes")]
    TooLarge {
        /// The file.
        path: String,
        /// The bound.
        limit: u64,
    },
    /// A document is not a `FluxAuditPolicy` of this schema.
    #[error("{path}: document {document}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// 1-based document index.
        document: usize,
        /// What is wrong.
        message: String,
    },
    /// A rule pattern selects no rule available at admission.
    #[error("{path}: policy {policy}: spec.rules.{list}: {pattern:?} selects no rule available at admission")]
    UnknownRule {
        /// The file.
        path: String,
        /// The policy.
        policy: String,
        /// `include` or `exclude`.
        list: &'static str,
        /// The pattern.
        pattern: String,
    },
    /// No policy in the file, or more than [`MAX_POLICIES`].
    #[error("{path}: {message}")]
    Count {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

impl FluxAuditError {
    /// A stable reason code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Read { .. } => "flux-audit-unreadable",
            Self::TooLarge { .. } => "flux-audit-too-large",
            Self::Invalid { .. } => "flux-audit-invalid",
            Self::UnknownRule { .. } => "flux-audit-unknown-rule",
            Self::Count { .. } => "flux-audit-invalid",
        }
    }
}

/// Enforce (deny) or warn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Deny a Deployment with findings.
    #[default]
    Enforce,
    /// Admit it with warnings.
    Warn,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    #[serde(rename = "apiVersion")]
    api_version: String,
    kind: String,
    metadata: Metadata,
    spec: Spec,
}

#[derive(Deserialize)]
struct Metadata {
    name: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Spec {
    #[serde(default)]
    mode: Mode,
    #[serde(default)]
    namespaces: Option<Vec<String>>,
    #[serde(default)]
    multi_tenant: bool,
    #[serde(default)]
    all_workloads: bool,
    #[serde(default)]
    rules: Rules,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Rules {
    #[serde(default)]
    include: Option<Vec<String>>,
    #[serde(default)]
    exclude: Vec<String>,
}

/// One `FluxAuditPolicy`, checked.
#[derive(Debug, Clone)]
pub struct Policy {
    /// `metadata.name`.
    pub name: String,
    /// Enforce or warn.
    pub mode: Mode,
    /// Namespaces whose Deployments are reviewed.
    pub namespaces: Vec<String>,
    /// Also the multi-tenancy flag rules.
    pub multi_tenant: bool,
    /// Pod-security rules on every Deployment, not only Flux controllers.
    pub all_workloads: bool,
    /// The rule IDs in force, sorted.
    pub rules: Vec<&'static str>,
}

/// The policies of a `--flux-audit` file.
#[derive(Debug, Clone)]
pub struct FluxAudit {
    policies: Vec<Policy>,
}

/// A rule one Deployment can decide.
fn available(id: &str, set: RuleSet) -> bool {
    set != RuleSet::Images
        && !["source/", "sharding/", "network/"]
            .iter()
            .any(|p| id.starts_with(p))
}

/// `*` matches any run of characters; everything else itself.
fn glob(pattern: &str, id: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == id;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !id.starts_with(first) || id.len() < first.len() + last.len() || !id.ends_with(last) {
        return false;
    }
    let mut rest = &id[first.len()..id.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}

impl FluxAudit {
    /// Read and check `path`.
    pub fn load(path: &Path) -> Result<Self, FluxAuditError> {
        let name = path.display().to_string();
        let read = |source| FluxAuditError::Read {
            path: name.clone(),
            source,
        };
        let len = std::fs::metadata(path).map_err(read)?.len();
        if len > MAX_FILE {
            return Err(FluxAuditError::TooLarge {
                path: name,
                limit: MAX_FILE,
            });
        }
        let text = std::fs::read_to_string(path).map_err(read)?;
        Self::parse(&text, &name)
    }

    /// Parse and check the YAML `text` (named `path` in errors).
    pub fn parse(text: &str, path: &str) -> Result<Self, FluxAuditError> {
        let mut policies = Vec::new();
        for (i, doc) in serde_yaml_ng::Deserializer::from_str(text).enumerate() {
            let invalid = |message: String| FluxAuditError::Invalid {
                path: path.into(),
                document: i + 1,
                message,
            };
            if i >= MAX_POLICIES {
                return Err(FluxAuditError::Count {
                    path: path.into(),
                    message: format!("more than {MAX_POLICIES} documents"),
                });
            }
            let value: serde_json::Value =
                serde::Deserialize::deserialize(doc).map_err(|e| invalid(e.to_string()))?;
            if value.is_null() {
                continue;
            }
            let doc: Document =
                serde_json::from_value(value).map_err(|e| invalid(e.to_string()))?;
            if doc.kind != "FluxAuditPolicy" || doc.api_version != API_VERSION {
                return Err(invalid(format!(
                    "expected kind FluxAuditPolicy, apiVersion {API_VERSION}; got kind {:?}, apiVersion {:?}",
                    doc.kind, doc.api_version
                )));
            }
            if doc.metadata.name.is_empty() {
                return Err(invalid("metadata.name is empty".into()));
            }
            policies.push(Self::policy(doc, path)?);
        }
        if policies.is_empty() {
            return Err(FluxAuditError::Count {
                path: path.into(),
                message: "no FluxAuditPolicy in the file".into(),
            });
        }
        Ok(Self { policies })
    }

    fn policy(doc: Document, path: &str) -> Result<Policy, FluxAuditError> {
        let spec = doc.spec;
        let name = doc.metadata.name;
        let candidates: Vec<&'static str> = RULES
            .iter()
            .filter(|r| available(r.id, r.set))
            .filter(|r| r.set == RuleSet::Default || spec.multi_tenant)
            .map(|r| r.id)
            .collect();
        let unknown = |list, pattern: &str| FluxAuditError::UnknownRule {
            path: path.into(),
            policy: name.clone(),
            list,
            pattern: pattern.into(),
        };
        let include = spec.rules.include.unwrap_or_else(|| vec!["*".into()]);
        for (list, patterns) in [("include", &include), ("exclude", &spec.rules.exclude)] {
            if let Some(p) = patterns
                .iter()
                .find(|p| !candidates.iter().any(|id| glob(p, id)))
            {
                return Err(unknown(list, p));
            }
        }
        let mut rules: Vec<&'static str> = candidates
            .into_iter()
            .filter(|id| include.iter().any(|p| glob(p, id)))
            .filter(|id| !spec.rules.exclude.iter().any(|p| glob(p, id)))
            .collect();
        rules.sort_unstable();
        Ok(Policy {
            name,
            mode: spec.mode,
            namespaces: spec
                .namespaces
                .unwrap_or_else(|| vec!["flux-system".into()]),
            multi_tenant: spec.multi_tenant,
            all_workloads: spec.all_workloads,
            rules,
        })
    }

    /// The policies.
    pub fn policies(&self) -> &[Policy] {
        &self.policies
    }

    /// The findings on the object of `request`, per policy: `(mode, line)`.
    pub fn review(&self, request: &AdmissionRequest<DynamicObject>) -> Vec<(Mode, String)> {
        let reviewed = matches!(request.operation, Operation::Create | Operation::Update)
            && request.kind.group == "apps"
            && request.kind.kind == "Deployment"
            && request
                .sub_resource
                .as_deref()
                .unwrap_or_default()
                .is_empty();
        let Some(object) = request.object.as_ref().filter(|_| reviewed) else {
            return Vec::new();
        };
        if object.metadata.deletion_timestamp.is_some() {
            return Vec::new();
        }
        let namespace = request
            .namespace
            .clone()
            .or_else(|| object.metadata.namespace.clone())
            .unwrap_or_default();
        let mut value = serde_json::to_value(object).unwrap_or_default();
        // The API server may leave `apiVersion`/`kind` out of the embedded
        // object; the engine recognises workloads by them.
        value["apiVersion"] = serde_json::json!(format!("apps/{}", request.kind.version));
        value["kind"] = serde_json::json!("Deployment");
        if value["metadata"]["namespace"].is_null() {
            value["metadata"]["namespace"] = serde_json::json!(namespace);
        }
        let mut out = Vec::new();
        for policy in self
            .policies
            .iter()
            .filter(|p| p.namespaces.contains(&namespace))
        {
            let options = verify_audit::Options {
                multi_tenant: policy.multi_tenant,
                all_workloads: policy.all_workloads,
                image_checker: None,
            };
            let report = verify_audit::audit_objects(std::slice::from_ref(&value), &options);
            for f in report
                .findings
                .iter()
                .filter(|f| policy.rules.binary_search(&f.rule).is_ok())
            {
                let container = f
                    .container
                    .as_deref()
                    .map(|c| format!(" container {c}"))
                    .unwrap_or_default();
                out.push((
                    policy.mode,
                    format!(
                        "flux-audit {}: {}: Deployment {}/{}{container}: {}",
                        policy.name, f.rule, f.object.namespace, f.object.name, f.evidence
                    ),
                ));
            }
        }
        out
    }
}

/// Add the findings of `audit` on `request` to a validation `response`:
/// enforce-mode findings deny (appended to any image denial), warn-mode
/// ones become warnings.
pub fn apply(
    audit: Option<&FluxAudit>,
    request: &AdmissionRequest<DynamicObject>,
    response: AdmissionResponse,
) -> AdmissionResponse {
    let Some(audit) = audit else {
        return response;
    };
    let findings = audit.review(request);
    if findings.is_empty() {
        return response;
    }
    let mut response = response;
    let (deny, warn): (Vec<_>, Vec<_>) =
        findings.into_iter().partition(|(m, _)| *m == Mode::Enforce);
    if !warn.is_empty() {
        let warnings = response.warnings.get_or_insert_with(Vec::new);
        for (_, line) in warn {
            if warnings.len() < MAX_WARNINGS {
                warnings.push(crate::decision::truncate(&line, MAX_WARNING));
            }
        }
    }
    let mut ids: Vec<&str> = deny
        .iter()
        .filter_map(|(_, l)| l.split(": ").nth(1))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    if !ids.is_empty() {
        response
            .audit_annotations
            .insert("flux-audit".into(), ids.join(","));
    }
    if deny.is_empty() {
        return response;
    }
    let lines: Vec<String> = deny.into_iter().map(|(_, l)| l).collect();
    let message = if response.allowed {
        lines.join("\n")
    } else {
        format!("{}\n{}", response.result.message, lines.join("\n"))
    };
    let mut denied = response.deny(message);
    denied.result.status = Some(kube::core::response::StatusSummary::Failure);
    denied.result.code = 403;
    denied.result.reason = "Forbidden".into();
    denied
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(spec: &str) -> Result<FluxAudit, FluxAuditError> {
        FluxAudit::parse(
            &format!("apiVersion: {API_VERSION}\nkind: FluxAuditPolicy\nmetadata:\n  name: p\nspec:\n{spec}"),
            "test.yaml",
        )
    }

    #[test]
    fn globs() {
        assert!(glob("*", "pod-security/run-as-non-root"));
        assert!(glob("pod-security/*", "pod-security/run-as-non-root"));
        assert!(!glob(
            "pod-security/*",
            "kustomize-controller/no-remote-bases"
        ));
        assert!(glob(
            "*/insecure-kubeconfig-*",
            "helm-controller/insecure-kubeconfig-tls"
        ));
        assert!(glob("a*b*c", "aXbYc") && !glob("a*b*c", "aXcYb"));
    }

    #[test]
    fn selection() {
        let all = policy("  mode: warn\n").unwrap();
        let p = &all.policies()[0];
        assert_eq!(p.mode, Mode::Warn);
        assert_eq!(p.namespaces, ["flux-system"]);
        assert!(p.rules.contains(&"kustomize-controller/no-remote-bases"));
        assert!(p.rules.contains(&"pod-security/drop-all-capabilities"));
        assert!(!p
            .rules
            .iter()
            .any(|r| r.starts_with("source/") || r.starts_with("network/")));
        assert!(!p
            .rules
            .contains(&"kustomize-controller/default-service-account"));

        let mt = policy("  multiTenant: true\n  rules:\n    exclude: [\"*/no-remote-bases\"]\n")
            .unwrap();
        let p = &mt.policies()[0];
        assert!(p
            .rules
            .contains(&"kustomize-controller/default-service-account"));
        assert!(!p.rules.contains(&"kustomize-controller/no-remote-bases"));
        assert!(!p.rules.contains(&"sharding/watch-label-selector"));
    }

    #[test]
    fn bad_files() {
        let e = policy("  rules:\n    exclude: [\"kustomize-controller/no-remote-base\"]\n")
            .unwrap_err();
        assert_eq!(e.code(), "flux-audit-unknown-rule", "{e}");
        let e = policy("  rules:\n    include: [\"network/policies\"]\n").unwrap_err();
        assert_eq!(e.code(), "flux-audit-unknown-rule", "{e}");
        let e = policy("  mode: audit\n").unwrap_err();
        assert_eq!(e.code(), "flux-audit-invalid", "{e}");
        let e = policy("  namespace: flux-system\n").unwrap_err();
        assert!(e.to_string().contains("namespace"), "{e}");
        let e = FluxAudit::parse(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\nspec: {}\n",
            "f",
        )
        .unwrap_err();
        assert_eq!(e.code(), "flux-audit-invalid");
        let e = FluxAudit::parse("", "f").unwrap_err();
        assert_eq!(e.code(), "flux-audit-invalid");
        let e = FluxAudit::parse("a: [", "f").unwrap_err();
        assert_eq!(e.code(), "flux-audit-invalid");
    }
}

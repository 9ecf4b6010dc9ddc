//! This project's own Deployments (the admission webhook in `deploy/base`,
//! the verify API in `deploy/verify-api`) pass the pod-security rules, read
//! with the same loader and engine as `verify flux-audit --all-workloads`.

use std::path::PathBuf;

use serde_json::json;
use verify_audit::{audit, audit_objects, load, Options};

fn deploy_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy")
}

const POD_SECURITY: [&str; 5] = [
    "pod-security/run-as-non-root",
    "pod-security/seccomp-runtime-default",
    "pod-security/read-only-root-filesystem",
    "pod-security/no-privilege-escalation",
    "pod-security/drop-all-capabilities",
];

fn all_workloads() -> Options<'static> {
    Options {
        all_workloads: true,
        ..Options::default()
    }
}

#[test]
fn deploy_manifests_pass_the_pod_security_rules() {
    let mut manifests = load::load_path(&deploy_dir().join("base")).expect("deploy/base loads");
    manifests.extend(
        load::load_path(&deploy_dir().join("verify-api/verify-api.yaml"))
            .expect("deploy/verify-api loads"),
    );
    let report = audit(&manifests, &all_workloads());
    let findings: Vec<String> = report
        .findings
        .iter()
        .filter(|f| f.rule.starts_with("pod-security/"))
        .map(|f| {
            format!(
                "{} {} {:?}: {}",
                f.rule, f.object.name, f.container, f.evidence
            )
        })
        .collect();
    assert!(findings.is_empty(), "pod-security findings: {findings:#?}");
    // Every rule was really evaluated, on both Deployments' containers.
    for (deployment, container) in [("verify-admission", "webhook"), ("verify-api", "api")] {
        for rule in POD_SECURITY {
            assert!(
                report.passed.iter().any(|p| p.rule == rule
                    && p.object.kind == "Deployment"
                    && p.object.name == deployment
                    && p.container.as_deref() == Some(container)),
                "{rule} not checked on {deployment}/{container}"
            );
        }
    }
}

#[test]
fn without_the_option_only_flux_controllers_are_checked() {
    let manifests = load::load_path(&deploy_dir().join("base")).expect("deploy/base loads");
    let report = audit(&manifests, &Options::default());
    assert!(report.passed.is_empty() && report.findings.is_empty());
}

#[test]
fn any_workload_with_a_weak_security_context_has_findings() {
    let job = json!({
        "apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": {"name": "backup", "namespace": "ops"},
        "spec": {"schedule": "@daily", "jobTemplate": {"spec": {"template": {"spec": {
            "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
            "initContainers": [{"name": "init", "image": "busybox",
                "securityContext": {"privileged": true}}],
            "containers": [{"name": "backup", "image": "restic/restic",
                "securityContext": {"readOnlyRootFilesystem": true, "allowPrivilegeEscalation": false,
                    "capabilities": {"drop": ["ALL"], "add": ["SYS_ADMIN"]}}}]
        }}}}}
    });
    let report = audit_objects(&[job], &all_workloads());
    let mut found: Vec<(String, &str)> = report
        .findings
        .iter()
        .map(|f| (f.container.clone().unwrap_or_default(), f.rule))
        .collect();
    found.sort();
    assert_eq!(
        found,
        vec![
            ("backup".to_string(), "pod-security/drop-all-capabilities"),
            ("init".to_string(), "pod-security/drop-all-capabilities"),
            ("init".to_string(), "pod-security/no-privilege-escalation"),
            ("init".to_string(), "pod-security/read-only-root-filesystem"),
        ]
    );
    // Pod-level settings resolve for both containers.
    let passed = |container: &str, rule: &str| {
        report
            .passed
            .iter()
            .any(|p| p.container.as_deref() == Some(container) && p.rule == rule)
    };
    assert!(passed("init", "pod-security/run-as-non-root"));
    assert!(passed("backup", "pod-security/seccomp-runtime-default"));
    let finding = report
        .findings
        .iter()
        .find(|f| {
            f.container.as_deref() == Some("init")
                && f.rule == "pod-security/no-privilege-escalation"
        })
        .unwrap();
    assert_eq!(finding.evidence, "securityContext.privileged: true");
}

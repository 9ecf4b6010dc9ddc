//! Helpers over the real Flux install in `../shared/flux` (see its README).

#![allow(dead_code)]

use std::path::PathBuf;

use serde_json::{json, Value};
use verify_audit::{audit_objects, load, Options, Report};

/// `../shared/flux` from the repository root. Missing data fails the test.
pub fn flux_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/flux");
    assert!(
        dir.join("install/flux-system.yaml").is_file(),
        "the Flux test data is missing: expected {}/install/flux-system.yaml (see ../shared/flux/README.md)",
        dir.display()
    );
    dir
}

pub fn install_file() -> PathBuf {
    flux_dir().join("install/flux-system.yaml")
}

/// The stock install's objects.
pub fn stock() -> Vec<Value> {
    let manifests = load::load_path(&install_file()).expect("stock install loads");
    assert_eq!(manifests.len(), 7, "Namespace + six Deployments");
    manifests.into_iter().map(|m| m.object).collect()
}

pub fn deployment<'a>(objs: &'a mut [Value], name: &str) -> &'a mut Value {
    objs.iter_mut()
        .find(|o| o["kind"] == "Deployment" && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no Deployment {name}"))
}

/// The `manager` container of a controller Deployment.
pub fn manager<'a>(objs: &'a mut [Value], name: &str) -> &'a mut Value {
    let d = deployment(objs, name);
    let containers = d["spec"]["template"]["spec"]["containers"]
        .as_array_mut()
        .expect("containers");
    containers
        .iter_mut()
        .find(|c| c["name"] == "manager")
        .expect("manager container")
}

pub fn add_args(objs: &mut [Value], name: &str, args: &[&str]) {
    let c = manager(objs, name);
    let list = c["args"].as_array_mut().expect("args");
    list.extend(args.iter().map(|a| json!(a)));
}

pub fn default_report(objs: &[Value]) -> Report {
    audit_objects(objs, &Options::default())
}

pub fn multi_tenant_report(objs: &[Value]) -> Report {
    audit_objects(
        objs,
        &Options {
            multi_tenant: true,
            image_checker: None,
            all_workloads: false,
        },
    )
}

/// Finding rule IDs, sorted.
pub fn rules(report: &Report) -> Vec<&'static str> {
    report.finding_rules()
}

/// `rule` findings on `object` (a Deployment name), with their evidence.
pub fn findings_for<'a>(report: &'a Report, rule: &str, object: &str) -> Vec<&'a str> {
    report
        .findings
        .iter()
        .filter(|f| f.rule == rule && f.object.name == object)
        .map(|f| f.evidence.as_str())
        .collect()
}

pub fn passed_for<'a>(report: &'a Report, rule: &str, object: &str) -> Vec<&'a str> {
    report
        .passed
        .iter()
        .filter(|f| f.rule == rule && f.object.name == object)
        .map(|f| f.evidence.as_str())
        .collect()
}

/// What the stock install lacks in the default set.
pub const STOCK_DEFAULT: &[&str] = &["kustomize-controller/no-remote-bases"];

/// What the stock install lacks in the default and multi-tenancy sets.
pub fn stock_multi_tenant() -> Vec<&'static str> {
    let mut v = vec![
        "helm-controller/default-kubeconfig-service-account",
        "helm-controller/default-service-account",
        "helm-controller/no-cross-namespace-refs",
        "image-automation-controller/default-service-account",
        "image-automation-controller/no-cross-namespace-refs",
        "image-reflector-controller/default-service-account",
        "image-reflector-controller/no-cross-namespace-refs",
        "kustomize-controller/default-decryption-service-account",
        "kustomize-controller/default-kubeconfig-service-account",
        "kustomize-controller/default-service-account",
        "kustomize-controller/no-cross-namespace-refs",
        "kustomize-controller/no-remote-bases",
        "network/policies",
        "notification-controller/default-service-account",
        "notification-controller/no-cross-namespace-refs",
        "source-controller/default-service-account",
    ];
    v.sort_unstable();
    v
}

/// `rules` plus `extra`, sorted.
pub fn with(rules: &[&'static str], extra: &[&'static str]) -> Vec<&'static str> {
    let mut v: Vec<_> = rules.iter().chain(extra).copied().collect();
    v.sort_unstable();
    v
}

/// `rules` without one occurrence of each of `gone`.
pub fn without(rules: &[&'static str], gone: &[&'static str]) -> Vec<&'static str> {
    let mut v: Vec<_> = rules.to_vec();
    for g in gone {
        let i = v
            .iter()
            .position(|r| r == g)
            .unwrap_or_else(|| panic!("{g} not in {v:?}"));
        v.remove(i);
    }
    v
}

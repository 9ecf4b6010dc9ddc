//! deploy/: every manifest parsed into the Kubernetes API types, and the
//! fields the webhook depends on checked.

mod support;

use std::path::Path;

use k8s_openapi::api::admissionregistration::v1::{
    MutatingWebhookConfiguration, RuleWithOperations, ValidatingWebhookConfiguration,
    WebhookClientConfig,
};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Service, ServiceAccount};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use serde_json::Value;
use support::repo_root;

fn documents(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .filter(|v: &Value| !v.is_null())
        .collect()
}

fn typed<T: serde::de::DeserializeOwned>(v: &Value) -> T {
    serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{e}: {v:#}"))
}

fn base() -> Vec<Value> {
    let dir = repo_root().join("deploy/base");
    let kustomization = &documents(&dir.join("kustomization.yaml"))[0];
    assert_eq!(kustomization["namespace"], "verify-admission");
    let mut out = Vec::new();
    for r in kustomization["resources"].as_array().unwrap() {
        let r = r.as_str().unwrap();
        if r == "../policies" {
            continue;
        }
        out.extend(documents(&dir.join(r)));
    }
    out
}

fn of_kind<'a>(docs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    docs.iter().filter(|d| d["kind"] == kind).collect()
}

/// One webhook's fields: path, failurePolicy, sideEffects, versions, timeout, client, selector, rules.
type Hook<'a> = (
    &'a str,
    &'a Option<String>,
    &'a str,
    &'a [String],
    Option<i32>,
    &'a WebhookClientConfig,
    &'a Option<LabelSelector>,
    &'a Option<Vec<RuleWithOperations>>,
);

#[test]
fn base_parses_into_api_types_with_the_fields_the_webhook_needs() {
    let docs = base();
    let _: Namespace = typed(of_kind(&docs, "Namespace")[0]);
    let _: ServiceAccount = typed(of_kind(&docs, "ServiceAccount")[0]);

    // RBAC: get Secrets and ServiceAccounts, nothing more.
    let role: ClusterRole = typed(of_kind(&docs, "ClusterRole")[0]);
    let rules = role.rules.unwrap();
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0].verbs, ["get"]);
    let mut resources = rules[0].resources.clone().unwrap();
    resources.sort();
    assert_eq!(resources, ["secrets", "serviceaccounts"]);
    assert_eq!(rules[0].api_groups.as_deref(), Some(&[String::new()][..]));
    let binding: ClusterRoleBinding = typed(of_kind(&docs, "ClusterRoleBinding")[0]);
    assert_eq!(binding.role_ref.name, role.metadata.name.unwrap());
    assert_eq!(binding.subjects.unwrap()[0].name, "verify-admission");

    // The Deployment: 2 replicas, anti-affinity, probes, limits, restricted security.
    let d: Deployment = typed(of_kind(&docs, "Deployment")[0]);
    let spec = d.spec.unwrap();
    assert_eq!(spec.replicas, Some(2));
    let pod = spec.template.spec.unwrap();
    assert!(pod
        .affinity
        .unwrap()
        .pod_anti_affinity
        .unwrap()
        .required_during_scheduling_ignored_during_execution
        .is_some_and(|t| t[0].topology_key == "kubernetes.io/hostname"));
    let psc = pod.security_context.unwrap();
    assert_eq!(psc.run_as_non_root, Some(true));
    assert_eq!(
        (psc.run_as_user, psc.run_as_group),
        (Some(65534), Some(65534))
    );
    assert_eq!(psc.seccomp_profile.unwrap().type_, "RuntimeDefault");
    let c = &pod.containers[0];
    let sc = c.security_context.clone().unwrap();
    assert_eq!(sc.run_as_non_root, Some(true));
    assert_eq!(
        (sc.run_as_user, sc.run_as_group),
        (Some(65534), Some(65534))
    );
    assert_eq!(sc.read_only_root_filesystem, Some(true));
    assert_eq!(sc.allow_privilege_escalation, Some(false));
    assert_eq!(sc.capabilities.unwrap().drop.unwrap(), ["ALL"]);
    assert_eq!(sc.seccomp_profile.unwrap().type_, "RuntimeDefault");
    let resources = c.resources.clone().unwrap();
    assert!(resources.requests.unwrap().contains_key("memory"));
    assert!(resources.limits.unwrap().contains_key("memory"));
    assert_eq!(
        c.readiness_probe
            .clone()
            .unwrap()
            .http_get
            .unwrap()
            .path
            .as_deref(),
        Some("/readyz")
    );
    assert_eq!(
        c.liveness_probe
            .clone()
            .unwrap()
            .http_get
            .unwrap()
            .path
            .as_deref(),
        Some("/healthz")
    );
    let args = c.args.clone().unwrap();
    let budget: f64 = args
        .iter()
        .find_map(|a| a.strip_prefix("--budget="))
        .unwrap()
        .parse()
        .unwrap();
    assert!(args
        .iter()
        .any(|a| a == "--policies=/etc/verify-admission/policies"));
    // The policies ConfigMap is mounted as a directory, never with subPath.
    let mounts = c.volume_mounts.clone().unwrap();
    let policies = mounts.iter().find(|m| m.name == "policies").unwrap();
    assert_eq!(policies.mount_path, "/etc/verify-admission/policies");
    assert!(mounts
        .iter()
        .all(|m| m.sub_path.is_none() && m.sub_path_expr.is_none()));
    let volumes = pod.volumes.unwrap();
    let cm = volumes.iter().find(|v| v.name == "policies").unwrap();
    assert_eq!(
        cm.config_map.as_ref().unwrap().name,
        "verify-admission-policies"
    );
    assert_eq!(
        volumes
            .iter()
            .find(|v| v.name == "tls")
            .unwrap()
            .secret
            .as_ref()
            .unwrap()
            .secret_name
            .as_deref(),
        Some("verify-admission-tls")
    );

    let svc: Service = typed(of_kind(&docs, "Service")[0]);
    let ports = svc.spec.unwrap().ports.unwrap();
    assert!(ports.iter().any(|p| p.port == 443));
    let pdb: PodDisruptionBudget = typed(of_kind(&docs, "PodDisruptionBudget")[0]);
    let pdb = pdb.spec.unwrap();
    assert!(pdb.min_available.is_some() || pdb.max_unavailable.is_some());

    // Both webhook configurations.
    let validating: ValidatingWebhookConfiguration =
        typed(of_kind(&docs, "ValidatingWebhookConfiguration")[0]);
    let mutating: MutatingWebhookConfiguration =
        typed(of_kind(&docs, "MutatingWebhookConfiguration")[0]);
    let v = &validating.webhooks.unwrap()[0];
    let m = &mutating.webhooks.unwrap()[0];
    assert_eq!(m.reinvocation_policy.as_deref(), Some("IfNeeded"));
    let hooks: [Hook<'_>; 2] = [
        (
            "/validate",
            &v.failure_policy,
            &v.side_effects,
            &v.admission_review_versions,
            v.timeout_seconds,
            &v.client_config,
            &v.namespace_selector,
            &v.rules,
        ),
        (
            "/mutate",
            &m.failure_policy,
            &m.side_effects,
            &m.admission_review_versions,
            m.timeout_seconds,
            &m.client_config,
            &m.namespace_selector,
            &m.rules,
        ),
    ];
    for (path, failure, side_effects, versions, timeout, client, selector, rules) in hooks {
        assert_eq!(failure.as_deref(), Some("Fail"));
        assert_eq!(side_effects, "None");
        assert_eq!(versions, ["v1"]);
        let timeout = timeout.unwrap();
        assert!((1..=30).contains(&timeout));
        assert!(
            budget < timeout as f64,
            "--budget {budget} must be below timeoutSeconds {timeout}"
        );
        let service = client.service.as_ref().unwrap();
        assert_eq!(service.path.as_deref(), Some(path));
        assert_eq!(
            (service.name.as_str(), service.namespace.as_str()),
            ("verify-admission", "verify-admission")
        );
        let expressions = selector
            .as_ref()
            .unwrap()
            .match_expressions
            .clone()
            .unwrap();
        assert!(expressions
            .iter()
            .any(|e| e.operator == "In" && e.key == "verify-admission.dev/enforce"));
        let excluded = expressions
            .iter()
            .find(|e| e.key == "kubernetes.io/metadata.name" && e.operator == "NotIn")
            .unwrap();
        let excluded = excluded.values.clone().unwrap();
        assert!(
            excluded.contains(&"verify-admission".to_string())
                && excluded.contains(&"kube-system".to_string())
        );
        let rules = rules.clone().unwrap();
        let all: Vec<(String, String, Vec<String>)> =
            rules
                .iter()
                .flat_map(|r| {
                    let ops = r.operations.clone().unwrap();
                    r.resources.clone().unwrap().into_iter().map(move |res| {
                        (r.api_groups.clone().unwrap()[0].clone(), res, ops.clone())
                    })
                })
                .collect();
        for (group, resource) in [
            ("", "pods"),
            ("", "pods/ephemeralcontainers"),
            ("", "replicationcontrollers"),
            ("apps", "deployments"),
            ("apps", "replicasets"),
            ("apps", "statefulsets"),
            ("apps", "daemonsets"),
            ("batch", "jobs"),
            ("batch", "cronjobs"),
        ] {
            let (_, _, ops) = all
                .iter()
                .find(|(g, r, _)| g == group && r == resource)
                .unwrap_or_else(|| panic!("{path}: no rule for {group}/{resource}"));
            assert!(
                ops.contains(&"CREATE".to_string()) && ops.contains(&"UPDATE".to_string()),
                "{resource}"
            );
        }
    }
}

#[test]
fn policies_configmap_lists_every_policy_file_and_the_overlay_injects_the_ca() {
    let policies = repo_root().join("deploy/policies");
    let kustomization = &documents(&policies.join("Kustomization"))[0];
    let generator = &kustomization["configMapGenerator"][0];
    assert_eq!(generator["name"], "verify-admission-policies");
    let mut listed: Vec<String> = generator["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_string())
        .collect();
    listed.sort();
    let mut on_disk: Vec<String> = std::fs::read_dir(&policies)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".yaml") || n.ends_with(".yml"))
        .collect();
    on_disk.sort();
    assert_eq!(listed, on_disk);

    let overlay = repo_root().join("deploy/cert-manager");
    let k = &documents(&overlay.join("kustomization.yaml"))[0];
    assert!(k["resources"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r == "../base"));
    let certs = documents(&overlay.join("certificates.yaml"));
    let serving = certs
        .iter()
        .find(|c| c["kind"] == "Certificate" && c["metadata"]["name"] == "verify-admission-serving")
        .unwrap();
    assert_eq!(serving["apiVersion"], "cert-manager.io/v1");
    assert_eq!(serving["spec"]["secretName"], "verify-admission-tls");
    assert!(serving["spec"]["dnsNames"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n == "verify-admission.verify-admission.svc"));
    let patches = k["patches"].as_array().unwrap();
    for kind in [
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
    ] {
        let p = patches
            .iter()
            .find(|p| p["target"]["kind"] == kind)
            .unwrap();
        let ops: Value = serde_yaml_ng::from_str(p["patch"].as_str().unwrap()).unwrap();
        assert_eq!(
            ops[0]["value"]["cert-manager.io/inject-ca-from"],
            "verify-admission/verify-admission-serving"
        );
    }
}

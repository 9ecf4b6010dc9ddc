//! Pod security (container vs pod level), sharding, NetworkPolicies and
//! image signatures on the stock Flux install, mutated.

mod common;

use std::cell::RefCell;

use common::*;
use serde_json::{json, Value};
use verify_audit::{audit_objects, Controller, Distribution, ImageVerdict, Options, Severity};

fn pod_sc<'a>(objs: &'a mut [Value], name: &str) -> &'a mut Value {
    &mut deployment(objs, name)["spec"]["template"]["spec"]["securityContext"]
}

fn sc_remove(objs: &mut [Value], name: &str, field: &str) {
    manager(objs, name)["securityContext"]
        .as_object_mut()
        .unwrap()
        .remove(field)
        .expect("field was set");
}

#[test]
fn run_as_non_root_and_seccomp_resolve_container_then_pod() {
    for (field, pod_value, rule) in [
        ("runAsNonRoot", json!(true), "pod-security/run-as-non-root"),
        (
            "seccompProfile",
            json!({"type": "RuntimeDefault"}),
            "pod-security/seccomp-runtime-default",
        ),
    ] {
        // Dropped at container level, set at pod level: passes.
        let mut objs = stock();
        sc_remove(&mut objs, "source-controller", field);
        pod_sc(&mut objs, "source-controller")[field] = pod_value.clone();
        let report = default_report(&objs);
        assert_eq!(rules(&report), STOCK_DEFAULT, "{field} at pod level");
        let ev = passed_for(&report, rule, "source-controller");
        assert!(ev[0].starts_with("pod securityContext"), "{ev:?}");

        // Dropped at both levels: a finding.
        let mut objs = stock();
        sc_remove(&mut objs, "source-controller", field);
        let report = default_report(&objs);
        assert_eq!(
            rules(&report),
            with(STOCK_DEFAULT, &[rule]),
            "{field} dropped"
        );
        let ev = findings_for(&report, rule, "source-controller");
        assert!(
            ev[0].contains("neither on the container nor on the pod"),
            "{ev:?}"
        );
    }
    // The container's value wins over the pod's.
    let mut objs = stock();
    manager(&mut objs, "helm-controller")["securityContext"]["runAsNonRoot"] = json!(false);
    pod_sc(&mut objs, "helm-controller")["runAsNonRoot"] = json!(true);
    manager(&mut objs, "helm-controller")["securityContext"]["seccompProfile"] =
        json!({"type": "Unconfined"});
    pod_sc(&mut objs, "helm-controller")["seccompProfile"] = json!({"type": "RuntimeDefault"});
    let report = default_report(&objs);
    assert_eq!(
        rules(&report),
        with(
            STOCK_DEFAULT,
            &[
                "pod-security/run-as-non-root",
                "pod-security/seccomp-runtime-default"
            ]
        )
    );
    assert_eq!(
        findings_for(
            &report,
            "pod-security/seccomp-runtime-default",
            "helm-controller"
        ),
        ["container securityContext.seccompProfile.type: Unconfined"]
    );
}

#[test]
fn container_only_fields() {
    // readOnlyRootFilesystem, allowPrivilegeEscalation and capabilities exist
    // at container level only: setting them on the pod does not count.
    for (field, rule) in [
        (
            "readOnlyRootFilesystem",
            "pod-security/read-only-root-filesystem",
        ),
        (
            "allowPrivilegeEscalation",
            "pod-security/no-privilege-escalation",
        ),
        ("capabilities", "pod-security/drop-all-capabilities"),
    ] {
        let mut objs = stock();
        let before =
            manager(&mut objs, "notification-controller")["securityContext"][field].clone();
        sc_remove(&mut objs, "notification-controller", field);
        pod_sc(&mut objs, "notification-controller")[field] = before;
        let report = default_report(&objs);
        assert_eq!(rules(&report), with(STOCK_DEFAULT, &[rule]), "{field}");
        let f = report.findings.iter().find(|f| f.rule == rule).unwrap();
        assert_eq!(f.object.name, "notification-controller");
        assert_eq!(f.container.as_deref(), Some("manager"));
    }
    let mut objs = stock();
    manager(&mut objs, "image-reflector-controller")["securityContext"]["capabilities"]["add"] =
        json!(["SYS_ADMIN"]);
    manager(&mut objs, "image-automation-controller")["securityContext"]
        ["allowPrivilegeEscalation"] = json!(true);
    manager(&mut objs, "source-controller")["securityContext"]["readOnlyRootFilesystem"] =
        json!(false);
    let report = default_report(&objs);
    assert_eq!(
        rules(&report),
        with(
            STOCK_DEFAULT,
            &[
                "pod-security/drop-all-capabilities",
                "pod-security/no-privilege-escalation",
                "pod-security/read-only-root-filesystem"
            ]
        )
    );
    assert_eq!(
        findings_for(
            &report,
            "pod-security/drop-all-capabilities",
            "image-reflector-controller"
        ),
        ["capabilities.add: [\"SYS_ADMIN\"] after dropping ALL"]
    );
    let f = report
        .findings
        .iter()
        .find(|f| f.rule == "pod-security/no-privilege-escalation")
        .unwrap();
    assert_eq!(f.severity, Severity::High);
}

/// A copy of `name` as a shard `suffix` with these extra args.
fn shard(objs: &[Value], name: &str, suffix: &str, args: &[&str]) -> Value {
    let mut d = objs
        .iter()
        .find(|o| o["kind"] == "Deployment" && o["metadata"]["name"] == name)
        .unwrap()
        .clone();
    d["metadata"]["name"] = json!(format!("{name}-{suffix}"));
    let list = d["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array_mut()
        .unwrap();
    list.extend(args.iter().map(|a| json!(a)));
    d
}

fn sharding_findings(objs: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = multi_tenant_report(objs)
        .findings
        .iter()
        .filter(|f| f.rule == "sharding/watch-label-selector")
        .map(|f| f.object.name.clone())
        .collect();
    v.sort();
    v
}

#[test]
fn sharded_instances() {
    let key = "--watch-label-selector=sharding.fluxcd.io/key=shard1";
    // The main instance watches everything, so it overlaps with the shard.
    let mut objs = stock();
    let s1 = shard(&objs, "source-controller", "shard1", &[key]);
    objs.push(s1.clone());
    assert_eq!(
        sharding_findings(&objs),
        ["source-controller", "source-controller-shard1"]
    );
    let report = multi_tenant_report(&objs);
    let ev = findings_for(
        &report,
        "sharding/watch-label-selector",
        "source-controller",
    );
    assert!(
        ev[0].contains("overlaps with Deployment/flux-system/source-controller-shard1"),
        "{ev:?}"
    );

    // The main instance excludes sharded objects: disjoint.
    add_args(
        &mut objs,
        "source-controller",
        &["--watch-label-selector=!sharding.fluxcd.io/key"],
    );
    assert!(sharding_findings(&objs).is_empty());
    let s2 = shard(
        &objs,
        "source-controller",
        "shard2",
        &["--watch-label-selector=sharding.fluxcd.io/key=shard2"],
    );
    objs.push(s2);
    assert!(sharding_findings(&objs).is_empty());
    // Two shards with the same key value overlap.
    let s1b = shard(&objs, "source-controller", "shard1b", &[key]);
    objs.push(s1b);
    assert_eq!(
        sharding_findings(&objs),
        ["source-controller-shard1", "source-controller-shard1b"]
    );

    // Instances of different controllers never overlap.
    let mut objs = stock();
    objs.push(shard(&objs, "kustomize-controller", "shard1", &[key]));
    add_args(
        &mut objs,
        "kustomize-controller",
        &["--watch-label-selector=!sharding.fluxcd.io/key"],
    );
    assert!(sharding_findings(&objs).is_empty());

    // Two installations each watching only its own namespace are disjoint.
    let mut objs = stock();
    add_args(
        &mut objs,
        "helm-controller",
        &["--watch-all-namespaces=false"],
    );
    let mut other = shard(&objs, "helm-controller", "b", &[]);
    other["metadata"]["namespace"] = json!("team-b");
    objs.push(other.clone());
    assert!(sharding_findings(&objs).is_empty());
    // ... unless one of them watches all namespaces.
    let list = other["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array_mut()
        .unwrap();
    list.retain(|a| a != "--watch-all-namespaces=false");
    objs.pop();
    objs.push(other);
    assert_eq!(
        sharding_findings(&objs),
        ["helm-controller", "helm-controller-b"]
    );
    // The rule is multi-tenancy only.
    assert!(!default_report(&objs)
        .rules
        .contains(&"sharding/watch-label-selector"));
}

#[test]
fn network_policies_present_or_absent() {
    let policy = |name: &str, ns: &str| {
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
               "metadata": {"name": name, "namespace": ns},
               "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}})
    };
    let mut objs = stock();
    objs.push(policy("deny-all", "flux-system"));
    objs.push(policy("allow-egress", "other"));
    let report = multi_tenant_report(&objs);
    assert_eq!(
        findings_for(&report, "network/policies", "source-controller"),
        ["none of allow-egress, allow-scraping, allow-webhooks in namespace flux-system (only deny-all)"]
    );
    let mut objs = stock();
    objs.push(policy("allow-egress", "flux-system"));
    objs.push(policy("allow-scraping", "flux-system"));
    let report = multi_tenant_report(&objs);
    assert_eq!(
        rules(&report),
        without(&stock_multi_tenant(), &["network/policies"])
    );
    assert_eq!(
        passed_for(&report, "network/policies", "source-controller"),
        ["allow-egress, allow-scraping present in namespace flux-system"]
    );
}

#[test]
fn image_signatures_through_the_injected_checker() {
    let calls = RefCell::new(Vec::new());
    let checker = |image: &str, controller: Controller, dist: Distribution| {
        calls
            .borrow_mut()
            .push((image.to_string(), controller, dist));
        if image.contains("helm-controller") {
            ImageVerdict::Failed {
                reason: "no signature by ^https://github\\.com/fluxcd/.*$".into(),
            }
        } else {
            ImageVerdict::Verified {
                detail: "signed by https://github.com/fluxcd/x".into(),
            }
        }
    };
    let mut objs = stock();
    // A second Deployment with the same image: checked once.
    objs.push(shard(&objs, "source-controller", "shard1", &[]));
    let report = audit_objects(
        &objs,
        &Options {
            multi_tenant: false,
            image_checker: Some(&checker),
            all_workloads: false,
        },
    );
    assert_eq!(rules(&report), with(STOCK_DEFAULT, &["images/signature"]));
    let f = report
        .findings
        .iter()
        .find(|f| f.rule == "images/signature")
        .unwrap();
    assert_eq!(f.severity, Severity::Critical);
    assert_eq!(f.object.name, "helm-controller");
    assert!(f
        .evidence
        .starts_with("ghcr.io/fluxcd/helm-controller:v1.6.3: no signature"));
    assert_eq!(
        report
            .passed
            .iter()
            .filter(|p| p.rule == "images/signature")
            .count(),
        6
    );
    let calls = calls.into_inner();
    assert_eq!(calls.len(), 6, "{calls:?}");
    assert!(calls.iter().all(|c| c.2 == Distribution::Upstream));
    // The images a caller would verify ahead: each once, in order.
    let manifests: Vec<_> = objs
        .iter()
        .cloned()
        .map(verify_audit::Manifest::from_value)
        .collect();
    let images = verify_audit::controller_images(&manifests);
    assert_eq!(images.len(), 6);
    assert_eq!(images[0].0, "ghcr.io/fluxcd/helm-controller:v1.6.3");
    assert_eq!(images[0].1, Controller::HelmController);
    // Without a checker the rule does not run.
    assert!(!default_report(&objs).rules.contains(&"images/signature"));
}

/// A Job a CronJob created is not top-level (its CronJob is), as a
/// ReplicaSet a Deployment owns is not; a Job created by hand is.
#[test]
fn a_job_owned_by_a_cronjob_is_not_top_level() {
    let job = |owners: Value| {
        verify_audit::Manifest::from_value(json!({
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "backup-28845", "namespace": "apps", "ownerReferences": owners},
            "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox"}]}}}
        }))
    };
    let owned =
        job(json!([{"apiVersion": "batch/v1", "kind": "CronJob", "name": "backup", "uid": "1"}]));
    let by_hand = job(json!([]));
    let owned = verify_audit::workloads::any_workload(&owned).expect("a Job is a workload");
    let by_hand = verify_audit::workloads::any_workload(&by_hand).expect("a Job is a workload");
    assert_eq!((owned.kind, owned.name), ("Job", "backup-28845"));
    assert!(!owned.top_level);
    assert!(by_hand.top_level);
}

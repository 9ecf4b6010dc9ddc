//! The stock Flux install, and one mutation per controller rule.

mod common;

use common::*;
use serde_json::json;
use verify_audit::{load, Severity};

#[test]
fn stock_install_default_set() {
    let manifests = load::load_path(&install_file()).unwrap();
    let report = verify_audit::audit(&manifests, &Default::default());
    assert_eq!(rules(&report), STOCK_DEFAULT);
    assert_eq!(report.controllers.len(), 6);
    // Five pod-security rules on six controllers, four insecure-kubeconfig flags.
    assert_eq!(report.passed.len(), 6 * 5 + 4);
    assert!(report
        .passed
        .iter()
        .all(|p| p.rule.starts_with("pod-security/") || p.rule.contains("insecure-kubeconfig")));
    let f = &report.findings[0];
    assert_eq!(f.severity, Severity::Medium);
    assert_eq!(f.object.name, "kustomize-controller");
    assert_eq!(f.object.namespace, "flux-system");
    assert_eq!(f.container.as_deref(), Some("manager"));
    assert!(
        f.evidence.contains("--no-remote-bases not given"),
        "{}",
        f.evidence
    );
    assert!(!f.rationale.is_empty());
    // The finding points at the kustomize-controller's container.
    let text = std::fs::read_to_string(install_file()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let loc = f.location.as_ref().unwrap();
    assert!(loc.file.ends_with("install/flux-system.yaml"));
    assert_eq!(lines[loc.line - 1].trim(), "- args:");
    let doc_start = lines[..loc.line].iter().rposition(|l| *l == "---").unwrap();
    assert!(lines[doc_start..loc.line].contains(&"  name: kustomize-controller"));
    assert!(!report.fails(Severity::High));
    assert!(report.fails(Severity::Medium));
}

#[test]
fn stock_install_multi_tenant_set() {
    let objs = stock();
    let report = multi_tenant_report(&objs);
    assert_eq!(rules(&report), stock_multi_tenant());
    // One instance of each controller: sharding passes for all six.
    assert_eq!(
        report
            .passed
            .iter()
            .filter(|p| p.rule == "sharding/watch-label-selector")
            .count(),
        6
    );
    let net: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.rule == "network/policies")
        .collect();
    assert_eq!(net.len(), 1);
    assert_eq!(net[0].object.name, "source-controller");
    assert!(net[0].evidence.contains("no NetworkPolicy at all"));
}

#[test]
fn insecure_kubeconfig_flags_in_every_syntax() {
    for controller in ["helm-controller", "kustomize-controller"] {
        for flag in ["insecure-kubeconfig-exec", "insecure-kubeconfig-tls"] {
            let id: &'static str = Box::leak(format!("{controller}/{flag}").into_boxed_str());
            let bare = format!("--{flag}");
            let eq_true = format!("--{flag}=true");
            let eq_false = format!("--{flag}=false");
            let findings: [(&[&str], bool); 6] = [
                (&[&bare], true),
                (&[&eq_true], true),
                (&[&bare, "true"], true),
                // pflag: a bare boolean flag is true; the `false` is a stray argument.
                (&[&bare, "false"], true),
                (&[&eq_false], false),
                (&[&eq_true, &eq_false], false),
            ];
            for (args, expect) in findings {
                let mut objs = stock();
                add_args(&mut objs, controller, args);
                let report = default_report(&objs);
                let want = if expect {
                    with(STOCK_DEFAULT, &[id])
                } else {
                    STOCK_DEFAULT.to_vec()
                };
                assert_eq!(rules(&report), want, "{controller} {args:?}");
                if expect {
                    let f = report.findings.iter().find(|f| f.rule == id).unwrap();
                    assert_eq!(f.severity, Severity::High);
                    assert_eq!(f.object.name, controller);
                    assert!(f.evidence.contains(&bare), "{}", f.evidence);
                    assert!(f.evidence.contains("sets it to true"));
                }
            }
        }
    }
}

#[test]
fn no_remote_bases_in_every_syntax() {
    for (args, passes) in [
        (&["--no-remote-bases"][..], true),
        (&["--no-remote-bases=true"], true),
        (&["--no-remote-bases", "true"], true),
        (&["--no-remote-bases=false"], false),
        (&["--no-remote-bases=yes"], false),
        (
            &["--no-remote-bases=true", "--no-remote-bases=false"],
            false,
        ),
    ] {
        let mut objs = stock();
        add_args(&mut objs, "kustomize-controller", args);
        let report = default_report(&objs);
        if passes {
            assert!(
                report.findings.is_empty(),
                "{args:?}: {:?}",
                report.findings
            );
            let p = passed_for(
                &report,
                "kustomize-controller/no-remote-bases",
                "kustomize-controller",
            );
            assert_eq!(p.len(), 1);
        } else {
            assert_eq!(rules(&report), STOCK_DEFAULT, "{args:?}");
            let ev = findings_for(
                &report,
                "kustomize-controller/no-remote-bases",
                "kustomize-controller",
            );
            assert!(ev[0].contains(args.last().unwrap()), "{ev:?}");
        }
    }
    // The flag on another controller does not count.
    let mut objs = stock();
    add_args(&mut objs, "helm-controller", &["--no-remote-bases=true"]);
    assert_eq!(rules(&default_report(&objs)), STOCK_DEFAULT);
}

#[test]
fn no_remote_bases_in_command() {
    let mut objs = stock();
    let c = manager(&mut objs, "kustomize-controller");
    c["command"] = json!(["kustomize-controller", "--no-remote-bases=true"]);
    assert!(default_report(&objs).findings.is_empty());
}

#[test]
fn each_multi_tenancy_flag_clears_its_finding() {
    let cases: [(&str, &str, &'static str); 14] = [
        (
            "helm-controller",
            "--no-cross-namespace-refs=true",
            "helm-controller/no-cross-namespace-refs",
        ),
        (
            "kustomize-controller",
            "--no-cross-namespace-refs",
            "kustomize-controller/no-cross-namespace-refs",
        ),
        (
            "notification-controller",
            "--no-cross-namespace-refs=true",
            "notification-controller/no-cross-namespace-refs",
        ),
        (
            "image-reflector-controller",
            "--no-cross-namespace-refs=true",
            "image-reflector-controller/no-cross-namespace-refs",
        ),
        (
            "image-automation-controller",
            "--no-cross-namespace-refs=true",
            "image-automation-controller/no-cross-namespace-refs",
        ),
        (
            "helm-controller",
            "--default-service-account=tenant",
            "helm-controller/default-service-account",
        ),
        (
            "kustomize-controller",
            "--default-service-account=tenant",
            "kustomize-controller/default-service-account",
        ),
        (
            "kustomize-controller",
            "--default-decryption-service-account=kms",
            "kustomize-controller/default-decryption-service-account",
        ),
        (
            "kustomize-controller",
            "--default-kubeconfig-service-account=remote",
            "kustomize-controller/default-kubeconfig-service-account",
        ),
        (
            "helm-controller",
            "--default-kubeconfig-service-account=remote",
            "helm-controller/default-kubeconfig-service-account",
        ),
        (
            "source-controller",
            "--default-service-account=wi",
            "source-controller/default-service-account",
        ),
        (
            "notification-controller",
            "--default-service-account=wi",
            "notification-controller/default-service-account",
        ),
        (
            "image-reflector-controller",
            "--default-service-account=wi",
            "image-reflector-controller/default-service-account",
        ),
        (
            "image-automation-controller",
            "--default-service-account=wi",
            "image-automation-controller/default-service-account",
        ),
    ];
    for (controller, arg, id) in cases {
        let mut objs = stock();
        add_args(&mut objs, controller, &[arg]);
        let report = multi_tenant_report(&objs);
        assert_eq!(
            rules(&report),
            without(&stock_multi_tenant(), &[id]),
            "{controller} {arg}"
        );
        assert_eq!(passed_for(&report, id, controller).len(), 1);
        // Not in the default set.
        assert!(!default_report(&objs).rules.contains(&id));
    }
    // `--default-service-account value` (two arguments) and an empty value.
    let mut objs = stock();
    add_args(
        &mut objs,
        "helm-controller",
        &["--default-service-account", "tenant"],
    );
    let report = multi_tenant_report(&objs);
    assert_eq!(
        passed_for(
            &report,
            "helm-controller/default-service-account",
            "helm-controller"
        ),
        ["`--default-service-account tenant`"]
    );
    let mut objs = stock();
    add_args(
        &mut objs,
        "helm-controller",
        &["--default-service-account="],
    );
    let report = multi_tenant_report(&objs);
    assert_eq!(rules(&report), stock_multi_tenant());
    // `--no-cross-namespace-refs=false` is a finding with its evidence.
    let mut objs = stock();
    add_args(
        &mut objs,
        "helm-controller",
        &["--no-cross-namespace-refs=false"],
    );
    let report = multi_tenant_report(&objs);
    assert_eq!(
        findings_for(
            &report,
            "helm-controller/no-cross-namespace-refs",
            "helm-controller"
        ),
        ["`--no-cross-namespace-refs=false` sets it to false"]
    );
}

#[test]
fn controlplane_images_and_app_label_are_recognised() {
    let mut objs = stock();
    manager(&mut objs, "kustomize-controller")["image"] =
        json!("ghcr.io/controlplaneio-fluxcd/distroless/kustomize-controller:v1.9.4");
    add_args(
        &mut objs,
        "kustomize-controller",
        &["--insecure-kubeconfig-tls"],
    );
    // A private mirror that renames the path: only the `app` label says what it is.
    manager(&mut objs, "helm-controller")["image"] = json!("registry.example.com/mirror/hc:v1.6.3");
    add_args(
        &mut objs,
        "helm-controller",
        &["--insecure-kubeconfig-exec=true"],
    );
    let report = default_report(&objs);
    assert_eq!(
        rules(&report),
        with(
            STOCK_DEFAULT,
            &[
                "helm-controller/insecure-kubeconfig-exec",
                "kustomize-controller/insecure-kubeconfig-tls"
            ]
        )
    );
    let dist: Vec<_> = report
        .controllers
        .iter()
        .map(|c| (c.object.name.as_str(), c.image.as_str()))
        .collect();
    assert_eq!(dist.len(), 6, "{dist:?}");
    // An unrelated Deployment (no Flux image, no app label) is not audited.
    let mut objs = stock();
    let d = deployment(&mut objs, "helm-controller");
    d["spec"]["template"]["metadata"]["labels"]["app"] = json!("web");
    d["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:1");
    d["spec"]["template"]["spec"]["containers"][0]["securityContext"] = json!({});
    let report = default_report(&objs);
    assert_eq!(rules(&report), STOCK_DEFAULT);
    assert_eq!(report.controllers.len(), 5);
}

#[test]
fn list_objects_and_other_namespaces() {
    let mut objs = stock();
    for o in objs.iter_mut() {
        if o["kind"] == "Deployment" {
            o["metadata"]["namespace"] = json!("flux-prod");
        }
    }
    add_args(
        &mut objs,
        "helm-controller",
        &["--insecure-kubeconfig-tls=1"],
    );
    let list = json!({"apiVersion": "v1", "kind": "List", "items": objs});
    let text = serde_json::to_string_pretty(&list).unwrap();
    let manifests = load::parse_str("list.json", &text).unwrap();
    assert_eq!(manifests.len(), 7);
    let report = verify_audit::audit(&manifests, &Default::default());
    assert_eq!(
        rules(&report),
        with(STOCK_DEFAULT, &["helm-controller/insecure-kubeconfig-tls"])
    );
    let f = report
        .findings
        .iter()
        .find(|f| f.rule == "helm-controller/insecure-kubeconfig-tls")
        .unwrap();
    assert_eq!(f.object.namespace, "flux-prod");
    // The line is the argument's line in the JSON text.
    let line = f.location.as_ref().unwrap().line;
    assert_eq!(
        text.lines().nth(line - 1).unwrap().trim(),
        "\"--insecure-kubeconfig-tls=1\""
    );
}

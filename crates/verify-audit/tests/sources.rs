//! Secrets, OCI sources, decryption notes; SARIF output parsed back.

mod common;

use common::*;
use serde_json::{json, Value};
use verify_audit::{audit, load, sarif, Options, Severity};

fn audit_yaml(extra: &str) -> verify_audit::Report {
    let stock = std::fs::read_to_string(install_file()).unwrap();
    let text = format!("{stock}---\n{extra}");
    let manifests = load::parse_str("all.yaml", &text).unwrap();
    audit(&manifests, &Options::default())
}

#[test]
fn secrets_plain_and_sops() {
    let report = audit_yaml(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: plain\n  namespace: apps\ndata:\n  password: aHVudGVyMg==\n---\n\
         apiVersion: v1\nkind: Secret\nmetadata:\n  name: string-data\nstringData:\n  token: hunter2\n---\n\
         apiVersion: v1\nkind: Secret\nmetadata:\n  name: sops\ndata:\n  password: ENC[AES256_GCM,data:abc=,iv:x=,tag:y=,type:str]\n\
         sops:\n  age:\n  - recipient: age1xyz\n    enc: |\n      -----BEGIN AGE ENCRYPTED FILE-----\n  mac: ENC[AES256_GCM,data:m=,type:str]\n  version: 3.9.0\n---\n\
         apiVersion: v1\nkind: Secret\nmetadata:\n  name: enc-only\nstringData:\n  a: ENC[AES256_GCM,data:q=,type:str]\n---\n\
         apiVersion: v1\nkind: Secret\nmetadata:\n  name: empty\ntype: Opaque\n",
    );
    assert_eq!(
        rules(&report),
        with(
            STOCK_DEFAULT,
            &["source/plaintext-secret", "source/plaintext-secret"]
        )
    );
    assert_eq!(
        findings_for(&report, "source/plaintext-secret", "plain"),
        ["unencrypted values in data.password (no sops metadata)"]
    );
    assert_eq!(
        findings_for(&report, "source/plaintext-secret", "string-data"),
        ["unencrypted values in stringData.token (no sops metadata)"]
    );
    // Values never appear in the report.
    let json = report.to_json().to_string();
    assert!(!json.contains("hunter2") && !json.contains("aHVudGVyMg=="));
    assert_eq!(
        passed_for(&report, "source/plaintext-secret", "sops"),
        ["SOPS-encrypted (sops metadata present)"]
    );
    assert_eq!(
        passed_for(&report, "source/plaintext-secret", "enc-only"),
        ["every value is an ENC[...] ciphertext"]
    );
    assert!(passed_for(&report, "source/plaintext-secret", "empty").is_empty());
    let f = report
        .findings
        .iter()
        .find(|f| f.object.name == "plain")
        .unwrap();
    assert_eq!(f.severity, Severity::High);
    // Line of `password:` in the combined file.
    let stock_lines = std::fs::read_to_string(install_file())
        .unwrap()
        .lines()
        .count();
    assert_eq!(f.location.as_ref().unwrap().line, stock_lines + 1 + 7);
}

#[test]
fn oci_sources_without_verify() {
    let report = audit_yaml(
        r#"apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata: {name: app, namespace: apps}
spec: {url: "oci://ghcr.io/acme/app", ref: {tag: latest}}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata: {name: signed, namespace: apps}
spec:
  url: oci://ghcr.io/acme/signed
  verify:
    provider: cosign
    matchOIDCIdentity:
    - issuer: ^https://token.actions.githubusercontent.com$
      subject: ^https://github.com/acme/.*$
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {name: oci-charts, namespace: flux-system}
spec: {type: oci, url: "oci://ghcr.io/acme/charts"}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {name: classic, namespace: apps}
spec: {url: "https://charts.example.com"}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: from-oci, namespace: apps}
spec:
  chart:
    spec:
      chart: podinfo
      sourceRef: {kind: HelmRepository, name: oci-charts, namespace: flux-system}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: from-oci-verified, namespace: apps}
spec:
  chart:
    spec:
      chart: podinfo
      sourceRef: {kind: HelmRepository, name: oci-charts, namespace: flux-system}
      verify: {provider: cosign}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: from-classic, namespace: apps}
spec:
  chart:
    spec: {chart: podinfo, sourceRef: {kind: HelmRepository, name: classic}}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: from-elsewhere, namespace: apps}
spec:
  chart:
    spec: {chart: podinfo, sourceRef: {kind: HelmRepository, name: not-here}}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmChart
metadata: {name: generated, namespace: flux-system}
spec: {chart: podinfo, sourceRef: {kind: HelmRepository, name: oci-charts}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: apps, namespace: flux-system}
spec: {path: ./apps, sourceRef: {kind: GitRepository, name: flux-system}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: secrets, namespace: flux-system}
spec:
  path: ./secrets
  decryption: {provider: sops, secretRef: {name: sops-age}}
"#,
    );
    let mut unverified: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.rule == "source/unverified-oci")
        .map(|f| format!("{}/{}", f.object.kind, f.object.name))
        .collect();
    unverified.sort();
    assert_eq!(
        unverified,
        [
            "HelmChart/generated",
            "HelmRelease/from-oci",
            "OCIRepository/app"
        ]
    );
    assert_eq!(
        rules(&report),
        with(
            STOCK_DEFAULT,
            &[
                "source/unverified-oci",
                "source/unverified-oci",
                "source/unverified-oci"
            ]
        )
    );
    let mut verified: Vec<_> = report
        .passed
        .iter()
        .filter(|f| f.rule == "source/unverified-oci")
        .map(|f| f.object.name.as_str())
        .collect();
    verified.sort();
    assert_eq!(verified, ["from-oci-verified", "signed"]);
    assert_eq!(
        findings_for(&report, "source/unverified-oci", "from-oci"),
        ["chart from OCI HelmRepository oci-charts, no spec.chart.spec.verify"]
    );
    // Decryption and unresolvable repositories are information, not findings.
    let notes: Vec<_> = report
        .notes
        .iter()
        .map(|n| (n.topic, n.object.name.as_str()))
        .collect();
    assert_eq!(
        notes,
        [
            ("helm/repository-unknown", "from-elsewhere"),
            ("kustomization/decryption", "apps")
        ]
    );
}

#[test]
fn sarif_output_parses_back() {
    let manifests = load::load_path(&install_file()).unwrap();
    let report = audit(
        &manifests,
        &Options {
            multi_tenant: true,
            image_checker: None,
            all_workloads: false,
        },
    );
    let log = sarif::to_sarif(&report, "0.1.0");
    let text = serde_json::to_string_pretty(&log).unwrap();
    // Typed round trip, then field by field.
    let back: serde_sarif::sarif::Sarif = serde_json::from_str(&text).expect("valid SARIF types");
    assert_eq!(back.runs.len(), 1);
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["version"], "2.1.0");
    assert!(v["$schema"].as_str().unwrap().contains("sarif-2.1.0"));
    let run = &v["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "verify flux-audit");
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), report.rules.len());
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), stock_multi_tenant().len());
    let file_lines: Vec<String> = std::fs::read_to_string(install_file())
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    for r in results {
        let idx = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[idx]["id"], r["ruleId"]);
        assert!(["error", "warning", "note"].contains(&r["level"].as_str().unwrap()));
        let loc = &r["locations"][0]["physicalLocation"];
        assert!(loc["artifactLocation"]["uri"]
            .as_str()
            .unwrap()
            .ends_with("install/flux-system.yaml"));
        let line = loc["region"]["startLine"].as_u64().unwrap() as usize;
        assert!(line >= 1 && line <= file_lines.len());
        assert!(!r["message"]["text"].as_str().unwrap().is_empty());
    }
    let nrb = results
        .iter()
        .find(|r| r["ruleId"] == "kustomize-controller/no-remote-bases")
        .unwrap();
    assert_eq!(nrb["level"], "warning");
    let line = nrb["locations"][0]["physicalLocation"]["region"]["startLine"]
        .as_u64()
        .unwrap() as usize;
    assert_eq!(file_lines[line - 1].trim(), "- args:");
    let rule = rules
        .iter()
        .find(|r| r["id"] == "kustomize-controller/no-remote-bases")
        .unwrap();
    assert_eq!(rule["properties"]["security-severity"], "5.5");
    assert!(!rule["shortDescription"]["text"]
        .as_str()
        .unwrap()
        .is_empty());
    // A flag that is set points at its own line.
    let mut objs = stock();
    add_args(
        &mut objs,
        "kustomize-controller",
        &["--insecure-kubeconfig-exec"],
    );
    let yaml_text: String = objs
        .iter()
        .map(|o| format!("---\n{}\n", serde_json::to_string_pretty(o).unwrap()))
        .collect();
    let manifests = load::parse_str("m.yaml", &yaml_text).unwrap();
    let report = audit(&manifests, &Options::default());
    let log = serde_json::to_value(sarif::to_sarif(&report, "0")).unwrap();
    let r = log["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "kustomize-controller/insecure-kubeconfig-exec")
        .unwrap()
        .clone();
    let line = r["locations"][0]["physicalLocation"]["region"]["startLine"]
        .as_u64()
        .unwrap() as usize;
    assert_eq!(
        yaml_text.lines().nth(line - 1).unwrap().trim(),
        "\"--insecure-kubeconfig-exec\""
    );
    let _ = json!(null);
}

//! `verify flux-audit` as a user runs it on the real Flux install in
//! `../shared/flux` (see its README): exit statuses, `--fail-on`, stdin and
//! directories, and the text, JSON and SARIF outputs.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn install() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/flux/install/flux-system.yaml");
    assert!(
        path.is_file(),
        "the Flux test data is missing: {} (see ../shared/flux/README.md)",
        path.display()
    );
    path.display().to_string()
}

fn run(args: &[&str]) -> Output {
    run_stdin(args, None)
}

fn run_stdin(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_verify"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the verify binary runs");
    let mut pipe = child.stdin.take().unwrap();
    if let Some(bytes) = stdin {
        pipe.write_all(bytes).unwrap();
    }
    drop(pipe);
    child.wait_with_output().unwrap()
}

fn status(o: &Output) -> i32 {
    o.status.code().expect("exited, not killed")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("JSON on stdout ({e}): {}", stdout(o)))
}

fn finding_rules(v: &Value) -> Vec<String> {
    let mut r: Vec<String> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect();
    r.sort();
    r
}

struct Temp(PathBuf);

impl Temp {
    fn new(label: &str) -> Self {
        let p =
            std::env::temp_dir().join(format!("verify-flux-audit-{label}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn stock_install_text_and_fail_on() {
    let file = install();
    let out = run(&["flux-audit", &file]);
    assert_eq!(status(&out), 1, "{}", stdout(&out));
    let text = stdout(&out);
    assert!(text.starts_with("SEVERITY  RULE"), "{text}");
    assert!(text.contains("MEDIUM    kustomize-controller/no-remote-bases  Deployment/flux-system/kustomize-controller  manager"), "{text}");
    assert!(
        text.contains("evidence: --no-remote-bases not given"),
        "{text}"
    );
    assert!(text.contains("1 finding(s)"), "{text}");
    // Nothing at high or above.
    assert_eq!(status(&run(&["flux-audit", "--fail-on", "high", &file])), 0);
    assert_eq!(
        status(&run(&["flux-audit", "--fail-on", "medium", &file])),
        1
    );
    // The multi-tenancy set has high findings.
    assert_eq!(
        status(&run(&[
            "flux-audit",
            "--multi-tenant",
            "--fail-on",
            "high",
            &file
        ])),
        1
    );
    assert_eq!(
        status(&run(&["flux-audit", "--fail-on", "severe", &file])),
        2
    );
}

#[test]
fn json_lists_findings_and_passed_checks() {
    let out = run(&["flux-audit", "-o", "json", "--multi-tenant", &install()]);
    assert_eq!(status(&out), 1);
    let v = json(&out);
    assert_eq!(finding_rules(&v).len(), 16);
    assert!(finding_rules(&v).contains(&"network/policies".to_string()));
    let passed = v["passed"].as_array().unwrap();
    assert_eq!(passed.len(), 40);
    assert!(passed
        .iter()
        .any(|p| p["rule"] == "pod-security/read-only-root-filesystem"
            && p["object"]["name"] == "source-controller"
            && p["container"] == "manager"));
    let f = &v["findings"][0];
    for key in [
        "rule",
        "severity",
        "object",
        "container",
        "evidence",
        "rationale",
        "location",
    ] {
        assert!(!f[key].is_null(), "{key} in {f}");
    }
    assert_eq!(v["controllers"].as_array().unwrap().len(), 6);
}

#[test]
fn sarif_on_stdin_and_directories() {
    let bytes = std::fs::read(install()).unwrap();
    let out = run_stdin(&["flux-audit", "-o", "sarif", "-"], Some(&bytes));
    assert_eq!(status(&out), 1);
    let v = json(&out);
    assert_eq!(v["version"], "2.1.0");
    let results = v["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["ruleId"], "kustomize-controller/no-remote-bases");
    let loc = &results[0]["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "-");
    assert_eq!(loc["region"]["startLine"], 281);

    // A directory: YAML and JSON files, hidden ones skipped, a fix applied.
    let dir = Temp::new("dir");
    let text = String::from_utf8(bytes).unwrap().replace(
        "        - --enable-leader-election\n        env:\n        - name: RUNTIME_NAMESPACE\n          valueFrom:\n            fieldRef:\n              fieldPath: metadata.namespace\n        - name: GOMEMLIMIT\n          valueFrom:\n            resourceFieldRef:\n              containerName: manager\n              resource: limits.memory\n        image: ghcr.io/fluxcd/kustomize-controller",
        "        - --enable-leader-election\n        - --no-remote-bases=true\n        env:\n        - name: RUNTIME_NAMESPACE\n          valueFrom:\n            fieldRef:\n              fieldPath: metadata.namespace\n        - name: GOMEMLIMIT\n          valueFrom:\n            resourceFieldRef:\n              containerName: manager\n              resource: limits.memory\n        image: ghcr.io/fluxcd/kustomize-controller",
    );
    assert!(text.contains("--no-remote-bases=true"));
    std::fs::create_dir_all(dir.0.join("flux-system")).unwrap();
    std::fs::write(dir.0.join("flux-system/gotk-components.yaml"), &text).unwrap();
    std::fs::write(
        dir.0.join("secret.json"),
        r#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"db","namespace":"apps"},"stringData":{"password":"x"}}"#,
    )
    .unwrap();
    std::fs::create_dir_all(dir.0.join(".git")).unwrap();
    std::fs::write(dir.0.join(".git/broken.yaml"), "a: [").unwrap();
    std::fs::write(dir.0.join("README.md"), "not a manifest: [").unwrap();
    let d = dir.0.display().to_string();
    let out = run(&["flux-audit", "-o", "json", &d]);
    assert_eq!(status(&out), 1, "{}", stdout(&out));
    assert_eq!(finding_rules(&json(&out)), ["source/plaintext-secret"]);
    assert_eq!(
        json(&out)["findings"][0]["location"]["file"],
        format!("{d}/secret.json")
    );
    // High is reached: the Secret.
    assert_eq!(
        status(&run(&["flux-audit", "--fail-on", "critical", &d])),
        0
    );
}

#[test]
fn bad_input_exits_2_and_unknown_things_do_not() {
    let dir = Temp::new("bad");
    let bad = dir.0.join("bad.yaml");
    std::fs::write(&bad, "kind: Deployment\nspec: [\n").unwrap();
    let out = run(&["flux-audit", "-o", "json", bad.to_str().unwrap()]);
    assert_eq!(status(&out), 2);
    assert_eq!(json(&out)["error"]["code"], "malformed");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("bad.yaml: line"),
        "{:?}",
        out
    );
    assert_eq!(status(&run(&["flux-audit", "/nonexistent/flux.yaml"])), 2);
    // A key given twice is ambiguous (which `args` would be applied?): refused.
    let dup = dir.0.join("dup.yaml");
    std::fs::write(&dup, "kind: Deployment\nspec: {}\nspec: {}\n").unwrap();
    let out = run(&["flux-audit", "-o", "json", dup.to_str().unwrap()]);
    assert_eq!(status(&out), 2);
    assert_eq!(json(&out)["error"]["code"], "malformed");
    let binary = dir.0.join("bin.yaml");
    std::fs::write(&binary, [0xff, 0xfe, 0x00, 0x41]).unwrap();
    assert_eq!(status(&run(&["flux-audit", binary.to_str().unwrap()])), 2);
    // No manifests, unknown kinds and unknown controller flags: exit 0.
    let unknown = br#"apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: kustomize-controller, namespace: flux-system}
spec:
  template:
    spec:
      containers:
      - name: manager
        image: ghcr.io/fluxcd/kustomize-controller:v1.9.4
        args: [--some-future-flag, --no-remote-bases, --another=1]
        securityContext:
          allowPrivilegeEscalation: false
          readOnlyRootFilesystem: true
          runAsNonRoot: true
          capabilities: {drop: [ALL]}
          seccompProfile: {type: RuntimeDefault}
"#;
    let out = run_stdin(&["flux-audit", "-"], Some(unknown));
    assert_eq!(status(&out), 0, "{}", stdout(&out));
    assert!(stdout(&out).contains("0 finding(s)"));
    assert_eq!(status(&run_stdin(&["flux-audit", "-"], Some(b""))), 0);
}

#[test]
fn all_workloads_checks_this_projects_own_deployments() {
    let deploy = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy");
    let base = deploy.join("base").display().to_string();
    let api = deploy
        .join("verify-api/verify-api.yaml")
        .display()
        .to_string();
    // Without the option nothing there is a Flux controller: nothing checked.
    let o = run(&["flux-audit", "-o", "json", &base, &api]);
    assert_eq!(status(&o), 0, "{}", stdout(&o));
    assert!(json(&o)["passed"].as_array().unwrap().is_empty());
    let o = run(&["flux-audit", "--all-workloads", "-o", "json", &base, &api]);
    assert_eq!(status(&o), 0, "{}", stdout(&o));
    let v = json(&o);
    assert!(finding_rules(&v).is_empty(), "{v}");
    let passed: Vec<(String, String)> = v["passed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["object"]["name"].as_str().unwrap_or_default().to_string(),
                p["rule"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    for name in ["verify-admission", "verify-api"] {
        let rules = passed
            .iter()
            .filter(|(n, r)| n == name && r.starts_with("pod-security/"));
        assert_eq!(rules.count(), 5, "{name}: {passed:?}");
    }
    // The stock Flux install with the option: still only no-remote-bases.
    let o = run(&["flux-audit", "--all-workloads", "-o", "json", &install()]);
    assert_eq!(
        finding_rules(&json(&o)),
        ["kustomize-controller/no-remote-bases"]
    );
}

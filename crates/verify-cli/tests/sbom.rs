//! `verify sbom --file` as a user runs it on the SPDX fixtures in
//! `testdata/sbom/`: exit statuses (0 valid, 1 invalid or not NTIA-conformant
//! when required, 2 unreadable), and the JSON report.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

fn fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/sbom")
        .join(name)
        .display()
        .to_string()
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_verify"))
        .args(args)
        .output()
        .expect("the verify binary runs")
}

fn status(output: &Output) -> i32 {
    output.status.code().expect("exited, not killed")
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).expect("JSON on stdout")
}

#[test]
fn valid_sboms_pass_and_ntia_is_enforced_on_request() {
    let syft = fixture("syft-alpine-image.spdx.json");
    let out = run(&["sbom", "--file", &syft]);
    assert_eq!(status(&out), 0);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Valid SPDX (9 warnings)"), "{stderr}");
    assert!(stderr.contains("missing supplier name: 1"), "{stderr}");

    // The root package has no supplier: --require-ntia fails.
    let out = run(&[
        "sbom",
        "--file",
        &syft,
        "--require-ntia",
        "--output",
        "json",
    ]);
    assert_eq!(status(&out), 1);
    let v = json(&out);
    assert_eq!(v["verified"], false);
    assert_eq!(v["valid"], true);
    assert_eq!(v["report"]["ntia"]["conformant"], false);
    assert_eq!(v["report"]["packages"], 7);

    let out = run(&[
        "sbom",
        "--file",
        &fixture("ntia-complete.spdx.json"),
        "--require-ntia",
    ]);
    assert_eq!(status(&out), 0);

    let out = run(&[
        "sbom",
        "--file",
        &fixture("buildkit-linux-amd64.intoto.json"),
        "-o",
        "json",
    ]);
    assert_eq!(status(&out), 0);
    assert_eq!(json(&out)["report"]["in_toto_statement"], true);
}

#[test]
fn invalid_and_malformed_sboms_fail() {
    let out = run(&[
        "sbom",
        "--file",
        &fixture("invalid-spdx.spdx.json"),
        "--output",
        "json",
    ]);
    assert_eq!(status(&out), 1);
    let v = json(&out);
    assert_eq!(v["valid"], false);
    assert_eq!(v["report"]["errors"], 6);

    let out = run(&[
        "sbom",
        "--file",
        &fixture("malformed-version-number.spdx.json"),
        "--output",
        "json",
    ]);
    assert_eq!(status(&out), 1);
    let v = json(&out);
    assert_eq!(v["reason"]["code"], "sbom-malformed");
    let message = v["reason"]["message"].as_str().unwrap();
    assert!(message.contains("$.packages[1].versionInfo"), "{message}");

    assert_eq!(
        status(&run(&["sbom", "--file", &fixture("absent.json")])),
        2
    );
    assert_eq!(status(&run(&["sbom"])), 2);
}

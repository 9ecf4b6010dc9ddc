//! A trust root whose certificate chain does not hold is refused when the
//! webhook (or `review`) starts, not at the first image it would deny.

mod support;

use serde_json::Value;
use support::{run, TempDir};
use verify_testkit::TestSigstore;

#[test]
fn a_trusted_root_whose_chain_does_not_hold_is_refused_at_start() {
    let dir = TempDir::new("broken-root");
    let policies = dir.path().join("policies");
    std::fs::create_dir_all(&policies).unwrap();
    let pod = dir.path().join("pod.yaml");
    std::fs::write(
        &pod,
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: apps}\nspec:\n  containers: [{name: c, image: \"127.0.0.1:1/app@sha256:0000000000000000000000000000000000000000000000000000000000000000\"}]\n",
    )
    .unwrap();

    // The CA chain's last certificate swapped for another test Sigstore's
    // root of the same name: it parses, but does not sign the intermediate.
    let good: Value = serde_json::from_str(&TestSigstore::new().trusted_root_json()).unwrap();
    let other: Value = serde_json::from_str(&TestSigstore::new().trusted_root_json()).unwrap();
    let mut broken = good.clone();
    let chain = "/certificateAuthorities/0/certChain/certificates";
    let last = good.pointer(chain).unwrap().as_array().unwrap().len() - 1;
    assert!(
        last >= 1,
        "the test Sigstore's CA chain has an intermediate"
    );
    *broken
        .pointer_mut(&format!("{chain}/{last}/rawBytes"))
        .unwrap() = other
        .pointer(&format!("{chain}/{last}/rawBytes"))
        .unwrap()
        .clone();

    let review = |root: &Value| {
        let path = dir.path().join("trusted_root.json");
        std::fs::write(&path, root.to_string()).unwrap();
        run(&[
            "review",
            "--policies",
            policies.to_str().unwrap(),
            "--trusted-root",
            path.to_str().unwrap(),
            "--no-match",
            "allow",
            pod.to_str().unwrap(),
        ])
    };
    let out = review(&good);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let out = review(&broken);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--trusted-root") && err.contains("certificateAuthorities[0]"),
        "{err}"
    );
}

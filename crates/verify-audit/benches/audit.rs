//! How long an audit takes, against the baseline of only reading the
//! manifests: the admission path (one Deployment, no file) and the CI path
//! (a large multi-document file: the stock Flux install repeated).
//!
//! `cargo bench -p verify-audit --bench audit` (reads ../shared/flux).

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use verify_audit::{audit, audit_objects, load, Options};

fn time<T>(iterations: u32, mut f: impl FnMut() -> T) -> Duration {
    let start = Instant::now();
    for _ in 0..iterations {
        black_box(f());
    }
    start.elapsed() / iterations
}

fn main() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/flux/install/flux-system.yaml");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (see ../shared/flux/README.md)", path.display()));
    let multi = Options {
        multi_tenant: true,
        image_checker: None,
        all_workloads: false,
    };

    // Admission: one Deployment as JSON, parsed then audited.
    let manifests = load::parse_str("x", &text).unwrap();
    let deployment = manifests
        .iter()
        .find(|m| m.object["metadata"]["name"] == "kustomize-controller")
        .unwrap()
        .object
        .clone();
    let json = serde_json::to_vec(&deployment).unwrap();
    let parse = time(20_000, || {
        serde_json::from_slice::<serde_json::Value>(&json).unwrap()
    });
    let parse_audit = time(20_000, || {
        let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
        audit_objects(std::slice::from_ref(&v), &multi)
            .findings
            .len()
    });
    println!(
        "admission, one Deployment: JSON parse {:.1} us, parse + audit {:.1} us ({:.2}x the parse alone)",
        parse.as_secs_f64() * 1e6,
        parse_audit.as_secs_f64() * 1e6,
        parse_audit.as_secs_f64() / parse.as_secs_f64()
    );

    // CI: the install repeated 300 times in one file (2100 objects).
    let big: String = (0..300).map(|_| format!("{text}---\n")).collect();
    let load_only = time(5, || load::parse_str("big.yaml", &big).unwrap().len());
    let objects = load::parse_str("big.yaml", &big).unwrap();
    let rules_only = time(5, || audit(&objects, &multi).findings.len());
    println!(
        "CI, {} objects ({} KiB of YAML): load {:.1} ms, rules {:.1} ms ({:.2}x the load alone)",
        objects.len(),
        big.len() / 1024,
        load_only.as_secs_f64() * 1e3,
        rules_only.as_secs_f64() * 1e3,
        rules_only.as_secs_f64() / load_only.as_secs_f64()
    );
}

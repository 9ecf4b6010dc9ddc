//! Seeds a local registry for `scripts/webhook-demo.sh` and
//! `bench/webhook.sh`: pushes `fluxcd/source-controller` images signed by a
//! test Sigstore (made now), and writes into `--out`: `trusted_root.json`,
//! `policies/` (the bundled deploy/policies plus one for the local
//! registry), a TLS certificate and key for the webhook (`tls.crt`,
//! `tls.key`, `ca.crt`), and AdmissionReviews: `review.json` (a Pod of the
//! first image) and `cold/<i>.json` (one per image, each a new digest).
//!
//! `cargo run -p verify-admission --example seed -- REGISTRY_ADDR OUT_DIR [COUNT]`

#[path = "../tests/support/mod.rs"]
#[allow(unused_imports)]
mod support;

use serde_json::json;
use support::{keyless_policy, repo_root, review, World};
use verify_testkit::SignOptions;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(addr), Some(out)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: seed REGISTRY_ADDR OUT_DIR [COUNT]");
        std::process::exit(2);
    };
    let count: usize = args.get(3).and_then(|c| c.parse().ok()).unwrap_or(1).max(1);
    let out = std::path::Path::new(out);
    std::fs::create_dir_all(out.join("policies")).unwrap();
    std::fs::create_dir_all(out.join("cold")).unwrap();
    let world = World::with_registry_addr(addr);
    std::fs::write(
        out.join("trusted_root.json"),
        world.sigstore.trusted_root_json(),
    )
    .unwrap();
    let tls = verify_testkit::tls::TlsIdentity::localhost().unwrap();
    std::fs::write(out.join("tls.crt"), &tls.cert_pem).unwrap();
    std::fs::write(out.join("tls.key"), &tls.key_pem).unwrap();
    std::fs::write(out.join("ca.crt"), &tls.ca_pem).unwrap();
    for entry in std::fs::read_dir(repo_root().join("deploy/policies")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            std::fs::copy(&path, out.join("policies").join(path.file_name().unwrap())).unwrap();
        }
    }
    std::fs::write(
        out.join("policies/local-registry.yaml"),
        keyless_policy("local-registry", &format!("{addr}/fluxcd/**"), "enforce"),
    )
    .unwrap();
    for i in 0..count {
        let tag = if i == 0 {
            "v1.9.4".to_string()
        } else {
            format!("v1.9.4-bench.{i}")
        };
        let pushed = world.pusher.image(
            "fluxcd/source-controller",
            &tag,
            "linux",
            &format!("arch{i}"),
        );
        world.sign("fluxcd/source-controller", &pushed, &SignOptions::default());
        let pod = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": format!("source-controller-{i}"), "namespace": "flux-system"},
            "spec": {"containers": [{"name": "manager",
                "image": format!("{addr}/fluxcd/source-controller:{tag}@{}", pushed.digest)}]}});
        let body =
            serde_json::to_vec(&review("CREATE", &pod, &serde_json::Value::Null, None)).unwrap();
        if i == 0 {
            std::fs::write(out.join("review.json"), &body).unwrap();
        }
        std::fs::write(out.join(format!("cold/{i}.json")), &body).unwrap();
    }
    println!(
        "seeded {count} signed image(s) in {addr}; files in {}",
        out.display()
    );
}

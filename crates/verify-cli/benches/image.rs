//! Time `verify image` / `verify attestation` against a local registry.
//!
//! Two images are served by a `docker-registry` started on a loopback port:
//!
//! - `signature`: a fresh image with a keyless cosign signature (bundle
//!   annotation) made by the test Sigstore, verified against its trusted root;
//! - `slsa`: a real image of the SLSA container generator (a cosign save
//!   layout from the shared conformance data, pushed byte for byte) whose
//!   keyless SLSA attestation is verified against the built-in public-good
//!   root.
//!
//! Each is verified `RUNS` times (default 200):
//!
//! - cold: one `verify` process per run (flag parsing, trust-root load,
//!   registry connection, verification, exit);
//! - warm: in one process, with the trust root loaded and the registry
//!   client (and its connections) reused, as a long-running caller would.
//!
//! Median and p99 are printed for each. Run with `bench/image.sh` or
//! `cargo bench -p verify-cli --bench image` (`RUNS=50` for a quick look).

#[path = "../tests/image_env/mod.rs"]
mod image_env;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use image_env::{Registry, TempDir};
use verify_core::cosign::{self, CheckOptions};
use verify_core::oci::OciLimits;
use verify_core::{IdentityPolicy, Policy, StringMatcher, TrustRoot, Verifier};
use verify_registry::{ImageReference, RegistryClient, RegistryConfig};
use verify_testkit::cosign::{signature_layer, simple_signing_payload};
use verify_testkit::{SignOptions, TestSigstore};

const ISSUER: &str = verify_testkit::GITHUB_ACTIONS_ISSUER;
const SLSA_IDENTITY: &str = r"^https://github\.com/slsa-framework/slsa-github-generator/";

fn main() {
    // `cargo bench` passes `--bench`; nothing else is accepted.
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(200);
    let registry = Registry::start();
    let pusher = registry.pusher();
    let dir = TempDir::new("image-bench");

    // The signed test image.
    let sigstore = TestSigstore::new();
    let root_path = dir.path().join("trusted_root.json");
    std::fs::write(&root_path, sigstore.trusted_root_json()).unwrap();
    let image = pusher.image("bench/app", "v1", "linux", "amd64");
    let payload =
        simple_signing_payload(&format!("{}/bench/app", registry.addr), &image.digest, None);
    let signed = sigstore.sign(&payload, &SignOptions::default()).unwrap();
    let layer = signature_layer(&sigstore, &payload, &signed, true).unwrap();
    pusher.cosign_manifest(
        "bench/app",
        &format!("sha256-{}.sig", image.hex()),
        &[layer],
    );
    let identity = SignOptions::default()
        .effective_identity()
        .as_str()
        .to_string();
    let signature_ref = format!("{}/bench/app@{}", registry.addr, image.digest);

    // The real SLSA container image.
    let layout = Path::new(env!("CARGO_MANIFEST_DIR")).join(
        "../../../shared/conformance/slsa/data/gha_generic_container/v2.1.0/container_workflow_dispatch",
    );
    let slsa_digest = pusher.layout("bench/slsa", &layout, "latest");
    let slsa_ref = format!("{}/bench/slsa@{slsa_digest}", registry.addr);

    println!(
        "verify image/attestation against docker-registry at {}, {runs} runs each",
        registry.addr
    );
    println!("{:<34} {:>10} {:>10}", "", "median", "p99");

    let bin = env!("CARGO_BIN_EXE_verify");
    let root = root_path.to_str().unwrap();
    let cold_signature = time(runs, || {
        run(
            bin,
            &[
                "image",
                &signature_ref,
                "--certificate-identity",
                &identity,
                "--certificate-oidc-issuer",
                ISSUER,
                "--trusted-root",
                root,
                "-o",
                "json",
            ],
        )
    });
    report("signature, cold (process per run)", &cold_signature);

    let cold_slsa = time(runs, || {
        run(
            bin,
            &[
                "attestation",
                &slsa_ref,
                "--type",
                "slsaprovenance",
                "--certificate-identity-regexp",
                SLSA_IDENTITY,
                "--certificate-oidc-issuer",
                ISSUER,
            ],
        )
    });
    report("SLSA attestation, cold", &cold_slsa);

    // Warm: trust roots, verifiers and the registry client built once.
    let client = RegistryClient::new(RegistryConfig {
        no_docker_config: true,
        ..RegistryConfig::default()
    })
    .unwrap();
    let options = CheckOptions {
        limits: OciLimits::default(),
        offline: true,
        ..CheckOptions::default()
    };

    let verifier =
        Verifier::new(TrustRoot::from_file(&root_path, &Default::default()).unwrap()).unwrap();
    let policy = Policy::Identity(IdentityPolicy::new(
        StringMatcher::exact(&identity),
        StringMatcher::exact(ISSUER),
    ));
    let reference = ImageReference::parse(&signature_ref).unwrap();
    let repository = client.repository(&reference);
    // One runtime for the warm runs, as a server has.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let warm_signature = time(runs, || {
        runtime.block_on(async {
            let fetched = cosign::resolve(&repository, &reference.manifest_ref(), &options.limits)
                .await
                .expect("resolve");
            let check = cosign::Check {
                verifier: &verifier,
                source: &repository,
                policy: &policy,
                options: &options,
            };
            cosign::verify_image_signatures(&check, &fetched.digest)
                .await
                .map(|v| assert_eq!(v.len(), 1))
                .is_ok()
        })
    });
    report("signature, warm (root loaded)", &warm_signature);

    let production = Verifier::new(TrustRoot::production().unwrap()).unwrap();
    let slsa_policy = Policy::Identity(IdentityPolicy::new(
        StringMatcher::regex("certificate-identity-regexp", SLSA_IDENTITY).unwrap(),
        StringMatcher::exact(ISSUER),
    ));
    let slsa_reference = ImageReference::parse(&slsa_ref).unwrap();
    let slsa_repository = client.repository(&slsa_reference);
    let warm_slsa = time(runs, || {
        runtime.block_on(async {
            let fetched = cosign::resolve(
                &slsa_repository,
                &slsa_reference.manifest_ref(),
                &options.limits,
            )
            .await
            .expect("resolve");
            let check = cosign::Check {
                verifier: &production,
                source: &slsa_repository,
                policy: &slsa_policy,
                options: &options,
            };
            cosign::verify_image_attestations(
                &check,
                &fetched.digest,
                Some("https://slsa.dev/provenance/v0.2"),
            )
            .await
            .is_ok()
        })
    });
    report("SLSA attestation, warm", &warm_slsa);
}

fn run(bin: &str, args: &[&str]) -> bool {
    let output = Command::new(bin)
        .args(args)
        .env("DOCKER_CONFIG", "/nonexistent-verify-bench-docker-config")
        .output()
        .expect("run verify");
    if !output.status.success() {
        eprintln!("verify failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    output.status.success()
}

/// Time `runs` calls of `f`, which must succeed.
fn time(runs: usize, mut f: impl FnMut() -> bool) -> Vec<Duration> {
    assert!(f(), "the first (warm-up) run must verify");
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        assert!(f(), "verification failed during the benchmark");
        times.push(started.elapsed());
    }
    times.sort();
    times
}

fn report(label: &str, sorted: &[Duration]) {
    let pick =
        |q: f64| sorted[((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1];
    println!(
        "{label:<34} {:>8.2}ms {:>8.2}ms",
        pick(0.5).as_secs_f64() * 1e3,
        pick(0.99).as_secs_f64() * 1e3
    );
}

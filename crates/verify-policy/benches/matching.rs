//! `PolicySet::matching`, the per-image step of every admission request:
//! globs compiled once at load, against compiling each glob per match as
//! policy-controller's `glob.Match` does (the baseline).
//!
//! `cargo bench -p verify-policy --bench matching` prints ns per image for
//! both and their ratio. A benchmark, not a test: nothing is asserted.

use std::hint::black_box;
use std::time::Instant;

use verify_policy::glob::{normalize, Glob};
use verify_policy::PolicySet;

fn main() {
    let globs: Vec<String> = (0..50)
        .map(|i| format!("registry{i}.example/team-{i}/**"))
        .chain([
            "ghcr.io/fluxcd/*".to_string(),
            "ghcr.io/controlplaneio-fluxcd/**".to_string(),
            "index.docker.io/library/*".to_string(),
        ])
        .collect();
    let text: String = globs
        .iter()
        .enumerate()
        .map(|(i, g)| {
            format!(
                "apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\nmetadata: {{name: p{i}}}\nspec:\n  images: [{{glob: '{g}'}}]\n  authorities: [{{static: {{action: pass}}}}]\n---\n"
            )
        })
        .collect();
    let started = Instant::now();
    let set = PolicySet::from_sources(&[("bench.yaml".into(), text)]).unwrap();
    println!(
        "load {} policies: {:.2} ms",
        set.policies().len(),
        started.elapsed().as_secs_f64() * 1e3
    );
    let images = [
        "ghcr.io/fluxcd/source-controller:v1.9.4",
        "ghcr.io/controlplaneio-fluxcd/distroless/kustomize-controller:v1.4.0",
        "busybox:1.36",
        "registry42.example/team-42/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "quay.io/unmatched/app:v1",
    ];
    let rounds = 20_000;
    let started = Instant::now();
    let mut hits = 0usize;
    for _ in 0..rounds {
        for image in &images {
            hits += set.matching(black_box(image)).len();
        }
    }
    let ours = started.elapsed().as_nanos() as f64 / (rounds * images.len()) as f64;
    let baseline_rounds = rounds / 20;
    let started = Instant::now();
    let mut baseline_hits = 0usize;
    for _ in 0..baseline_rounds {
        for image in &images {
            let _ = normalize(image);
            baseline_hits += globs
                .iter()
                .filter(|g| Glob::compile(g).unwrap().matches(black_box(image)))
                .count();
        }
    }
    let baseline = started.elapsed().as_nanos() as f64 / (baseline_rounds * images.len()) as f64;
    assert_eq!(hits / rounds, baseline_hits / baseline_rounds);
    println!(
        "matching {} policies: {ours:.0} ns/image; compile-per-match baseline {baseline:.0} ns/image; {:.1}x faster",
        set.policies().len(),
        baseline / ours
    );
}

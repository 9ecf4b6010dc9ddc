//! The ready-made policies in deploy/policies: they load, they cover the
//! images they are for, and they decide as their identities say: the
//! Flux and ControlPlane policies against images signed by the test
//! Sigstore under those organisations' workflow identities, and the SLSA
//! policy against the real slsa-github-generator container images (OCI
//! layouts from slsa-verifier's tests, in ../shared/conformance) with the
//! production Sigstore trust root.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::*;
use verify_core::oci_layout::OciLayout;
use verify_core::{ArtifactDigest, TrustRoot, Verifier};
use verify_policy::{evaluate, EvalContext, ImageAtDigest, PolicySet, TrustRoots};
use verify_testkit::{GithubWorkflowClaims, SignOptions};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn shipped() -> PolicySet {
    PolicySet::load_dir(&repo_root().join("deploy/policies"))
        .unwrap_or_else(|report| panic!("deploy/policies does not load:\n{report}"))
}

#[test]
fn the_shipped_policies_load_and_cover_their_images() {
    let set = shipped();
    let mut names: Vec<&str> = set.policies().iter().map(|p| p.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["controlplane-fluxcd", "fluxcd", "slsa-example-package"]
    );
    let matched = |image: &str| -> Vec<String> {
        set.matching(image).iter().map(|p| p.name.clone()).collect()
    };
    // Every controller image of the real Flux install manifests.
    let install =
        std::fs::read_to_string(repo_root().join("../shared/flux/install/flux-system.yaml"))
            .expect("../shared/flux/install/flux-system.yaml");
    let images: Vec<&str> = install
        .lines()
        .filter_map(|l| l.trim().strip_prefix("image: "))
        .collect();
    assert_eq!(images.len(), 6, "{images:?}");
    for image in images {
        assert_eq!(matched(image), ["fluxcd"], "{image}");
    }
    assert_eq!(matched("ghcr.io/fluxcd/flux-cli@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"), ["fluxcd"]);
    assert_eq!(
        matched("ghcr.io/controlplaneio-fluxcd/distroless/source-controller:v1.4.1"),
        ["controlplane-fluxcd"]
    );
    assert_eq!(
        matched("ghcr.io/controlplaneio-fluxcd/flux-operator:v0.10.0"),
        ["controlplane-fluxcd"]
    );
    assert_eq!(
        matched(
            "ghcr.io/slsa-framework/example-package.verifier-e2e.all.tag.main.default.slsa3:main"
        ),
        ["slsa-example-package"]
    );
    assert!(matched("ghcr.io/stefanprodan/podinfo:6.7.0").is_empty());
    assert!(set.policies().iter().all(|p| p.pin_digest));
}

/// Images signed by the test Sigstore under a GitHub workflow identity of
/// `repository`, judged by a shipped policy with the test Sigstore as the
/// default root (the policy's identities are what is under test).
fn decide_signed_by(policy: &str, reference: &str, repository: &str) -> verify_policy::Decision {
    let w = World::new();
    let mut layout = Layout::new();
    let image = layout.image("v1", "linux", "amd64");
    let options = SignOptions {
        github: Some(GithubWorkflowClaims::new(
            repository,
            ".github/workflows/release.yml",
            "refs/tags/v1.4.1",
            "4b2f1e8c9d0a7b6c5d4e3f2a1b0c9d8e7f6a5b4c",
        )),
        ..SignOptions::default()
    };
    w.sign(&mut layout, &image, &options);
    let set = shipped();
    let policy = set.policies().iter().find(|p| p.name == policy).unwrap();
    assert!(policy.matches(reference), "{reference}");
    let source = layout.source();
    let ctx = EvalContext {
        trust_roots: &w.roots,
        source: &source,
        tlog: None,
        secrets_dir: None,
    };
    let image = ImageAtDigest {
        reference: reference.into(),
        digest: image.artifact(),
    };
    block_on(evaluate(&[policy], &image, &ctx))
}

#[test]
fn the_flux_policy_admits_fluxcd_workflows_only() {
    let d = decide_signed_by(
        "fluxcd",
        "ghcr.io/fluxcd/source-controller:v1.9.4",
        "fluxcd/source-controller",
    );
    assert!(d.allowed, "{d:?}");
    assert_eq!(
        d.outcomes[0].authority.as_deref(),
        Some("fluxcd-github-workflows")
    );
    assert!(
        d.outcomes[0].identities[0]
            .contains("subject=https://github.com/fluxcd/source-controller/"),
        "{d:?}"
    );
    let d = decide_signed_by(
        "fluxcd",
        "ghcr.io/fluxcd/source-controller:v1.9.4",
        "fluxcd-fork/source-controller",
    );
    assert!(!d.allowed);
    assert_eq!(codes(&d), ["identity-mismatch", "no-signatures"]);
    // A ControlPlane build is not a fluxcd build.
    let d = decide_signed_by(
        "fluxcd",
        "ghcr.io/fluxcd/source-controller:v1.9.4",
        "controlplaneio-fluxcd/distribution",
    );
    assert!(!d.allowed);
}

#[test]
fn the_controlplane_policy_admits_controlplane_workflows_only() {
    let image = "ghcr.io/controlplaneio-fluxcd/distroless/source-controller:v1.4.1";
    let d = decide_signed_by(
        "controlplane-fluxcd",
        image,
        "controlplaneio-fluxcd/distribution",
    );
    assert!(d.allowed, "{d:?}");
    let d = decide_signed_by("controlplane-fluxcd", image, "fluxcd/source-controller");
    assert!(!d.allowed);
    assert_eq!(codes(&d)[0], "identity-mismatch");
}

/// The slsa-github-generator container images, one per generator release.
fn slsa_images() -> Vec<(String, OciLayout, ArtifactDigest)> {
    let base = repo_root().join("../shared/conformance/slsa/data/gha_generic_container");
    let mut out = Vec::new();
    for entry in
        std::fs::read_dir(&base).expect("../shared/conformance/slsa/data/gha_generic_container")
    {
        let dir = entry.unwrap().path();
        let version = dir.file_name().unwrap().to_string_lossy().into_owned();
        let layout = dir.join("container_workflow_dispatch");
        let digest = std::fs::read_to_string(layout.with_extension("digest")).unwrap();
        out.push((
            version,
            OciLayout::open(&layout).unwrap(),
            ArtifactDigest::parse(digest.trim()).unwrap(),
        ));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(out.len() >= 9, "{} generator releases", out.len());
    out
}

fn production() -> TrustRoots {
    TrustRoots::new(Arc::new(
        Verifier::new(TrustRoot::production().unwrap()).unwrap(),
    ))
}

const SLSA_REF: &str =
    "ghcr.io/slsa-framework/example-package.verifier-e2e.all.tag.main.default.slsa3:main";

fn decide_slsa(
    set: &PolicySet,
    layout: &OciLayout,
    digest: ArtifactDigest,
) -> verify_policy::Decision {
    let roots = production();
    let ctx = EvalContext {
        trust_roots: &roots,
        source: layout,
        tlog: None,
        secrets_dir: None,
    };
    let image = ImageAtDigest {
        reference: SLSA_REF.into(),
        digest,
    };
    block_on(evaluate(&set.matching(SLSA_REF), &image, &ctx))
}

#[test]
fn real_slsa_generator_images_pass_the_shipped_slsa_policy_with_the_production_root() {
    let set = shipped();
    for (version, layout, digest) in slsa_images() {
        let d = decide_slsa(&set, &layout, digest);
        assert!(d.allowed, "{version}: {d:?}");
        assert_eq!(d.outcomes.len(), 1);
        let o = &d.outcomes[0];
        assert!(
            o.identities.iter().any(|i| i.starts_with("builder=https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@")),
            "{version}: {o:?}"
        );
    }
}

fn slsa_policy(slsa: &str) -> PolicySet {
    policies(&format!(
        "apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\nmetadata: {{name: slsa}}\nspec:\n  images: [{{glob: 'ghcr.io/slsa-framework/**'}}]\n  authorities:\n  - keyless: {{}}\n    attestations:\n    - name: provenance\n      predicateType: slsaprovenance\n      slsa: {{{slsa}}}\n"
    ))
}

#[test]
fn slsa_rules_refuse_the_wrong_source_ref_or_builder() {
    let (version, layout, digest) = slsa_images().pop().unwrap();
    let ok = decide_slsa(
        &slsa_policy("sourceURI: github.com/slsa-framework/example-package, sourceBranch: main"),
        &layout,
        digest,
    );
    assert!(ok.allowed, "{version}: {ok:?}");
    let cases = [
        ("sourceURI: github.com/slsa-framework/other-package", "slsa-mismatch-source"),
        ("sourceURI: github.com/slsa-framework/example-package, sourceBranch: release", "slsa-mismatch-branch"),
        ("sourceURI: github.com/slsa-framework/example-package, sourceVersionedTag: v9", "slsa-invalid-ref"),
        (
            "sourceURI: github.com/slsa-framework/example-package, builderID: 'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/builder_go_slsa3.yml'",
            "slsa-untrusted-reusable-workflow",
        ),
    ];
    for (slsa, expected) in cases {
        let d = decide_slsa(&slsa_policy(slsa), &layout, digest);
        assert!(!d.allowed, "{slsa}: admitted");
        let code = &d.outcomes[0].failures[0].code;
        assert_eq!(
            code, expected,
            "{slsa}: {:?}",
            d.outcomes[0].failures[0].message
        );
    }
    // The provenance names the index digest; another digest in the same
    // layout (the attestation manifest) has no provenance of its own.
    let d = decide_slsa(
        &slsa_policy("sourceURI: github.com/slsa-framework/example-package"),
        &layout,
        ArtifactDigest::of(b"another image"),
    );
    assert!(!d.allowed);
    // The test Sigstore's root does not certify the generator's signatures.
    let w = World::new();
    let ctx = EvalContext {
        trust_roots: &w.roots,
        source: &layout,
        tlog: None,
        secrets_dir: None,
    };
    let image = ImageAtDigest {
        reference: SLSA_REF.into(),
        digest,
    };
    let set = shipped();
    let d = block_on(evaluate(&set.matching(SLSA_REF), &image, &ctx));
    assert!(!d.allowed);
}

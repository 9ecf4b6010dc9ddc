//! `spec.images[].glob` semantics, as policy-controller's `glob.Match`
//! (pkg/apis/glob) behaves, and `PolicySet::matching`.

use verify_policy::glob::{normalize, Glob};
use verify_policy::PolicySet;

const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

#[test]
fn references_are_normalised_as_go_containerregistry_does() {
    let table = [
        ("busybox", "index.docker.io/library/busybox:latest"),
        ("busybox:1.36", "index.docker.io/library/busybox:1.36"),
        (
            "docker.io/busybox",
            "index.docker.io/library/busybox:latest",
        ),
        (
            "index.docker.io/library/busybox",
            "index.docker.io/library/busybox:latest",
        ),
        ("myuser/app", "index.docker.io/myuser/app:latest"),
        ("localhost/app", "index.docker.io/localhost/app:latest"),
        ("localhost:5000/app", "localhost:5000/app:latest"),
        ("127.0.0.1:5000/team/app:v2", "127.0.0.1:5000/team/app:v2"),
        (
            "ghcr.io/fluxcd/source-controller:v1.9.4",
            "ghcr.io/fluxcd/source-controller:v1.9.4",
        ),
    ];
    for (input, want) in table {
        assert_eq!(normalize(input).as_deref(), Some(want), "{input}");
    }
    assert_eq!(
        normalize(&format!("ghcr.io/fluxcd/flux-cli@{D}")).unwrap(),
        format!("ghcr.io/fluxcd/flux-cli@{D}")
    );
    // A tag and a digest: the digest wins, the tag is dropped.
    assert_eq!(
        normalize(&format!("ghcr.io/fluxcd/flux-cli:v2.4.0@{D}")).unwrap(),
        format!("ghcr.io/fluxcd/flux-cli@{D}")
    );
    for bad in [
        "",
        "UPPER/case",
        "ghcr.io/app@sha256:short",
        "ghcr.io//app",
        "app:bad tag",
    ] {
        assert_eq!(normalize(bad), None, "{bad:?}");
    }
}

#[test]
fn glob_table() {
    // (glob, image, matches)
    let table: &[(&str, &str, bool)] = &[
        // The cases: the tag is part of what is matched.
        (
            "ghcr.io/fluxcd/source-controller",
            "ghcr.io/fluxcd/source-controller:v1.9.4",
            false,
        ),
        (
            "ghcr.io/fluxcd/source-controller:*",
            "ghcr.io/fluxcd/source-controller:v1.9.4",
            true,
        ),
        (
            "ghcr.io/fluxcd/source-controller:**",
            "ghcr.io/fluxcd/source-controller:v1.9.4",
            true,
        ),
        (
            "ghcr.io/fluxcd/source-controller*",
            "ghcr.io/fluxcd/source-controller:v1.9.4",
            true,
        ),
        (
            "ghcr.io/fluxcd/source-controller:v1.9.*",
            "ghcr.io/fluxcd/source-controller:v1.9.4",
            true,
        ),
        (
            "ghcr.io/fluxcd/source-controller:v1.8.*",
            "ghcr.io/fluxcd/source-controller:v1.9.4",
            false,
        ),
        // No tag: latest is assumed.
        (
            "ghcr.io/fluxcd/source-controller:latest",
            "ghcr.io/fluxcd/source-controller",
            true,
        ),
        // ... and a reference written without a tag still matches a glob
        // without one, through policy-controller's as-written fallback.
        (
            "ghcr.io/fluxcd/source-controller",
            "ghcr.io/fluxcd/source-controller",
            true,
        ),
        // `*` crosses `:` but not `/`; `**` crosses both.
        (
            "ghcr.io/fluxcd/*",
            "ghcr.io/fluxcd/source-controller:v1.9.4",
            true,
        ),
        (
            "ghcr.io/fluxcd/*",
            "ghcr.io/fluxcd/sub/controller:v1",
            false,
        ),
        (
            "ghcr.io/fluxcd/**",
            "ghcr.io/fluxcd/sub/controller:v1",
            true,
        ),
        ("ghcr.io/*", "ghcr.io/fluxcd/source-controller:v1", false),
        ("ghcr.io/**", "ghcr.io/fluxcd/source-controller:v1", true),
        ("**", "ghcr.io/fluxcd/source-controller:v1", true),
        ("**", "busybox", true),
        // Digests: `**` crosses `@sha256:`; `*` does too (no `/` in it).
        ("ghcr.io/fluxcd/**", "ghcr.io/fluxcd/flux-cli@DIGEST", true),
        (
            "ghcr.io/fluxcd/flux-cli*",
            "ghcr.io/fluxcd/flux-cli@DIGEST",
            true,
        ),
        (
            "ghcr.io/fluxcd/flux-cli:*",
            "ghcr.io/fluxcd/flux-cli@DIGEST",
            false,
        ),
        // `.` is literal.
        ("ghcr.io/fluxcd/**", "ghcrXio/fluxcd/app:v1", false),
        // Docker Hub defaults.
        ("index.docker.io/library/busybox:*", "busybox:1.36", true),
        (
            "index.docker.io/library/busybox:*",
            "docker.io/library/busybox:1.36",
            true,
        ),
        ("*", "busybox", true),
        ("*", "myuser/app", false),
        ("*/*", "myuser/app", true),
        ("*/*", "busybox", true), // index.docker.io/library/busybox
        ("index.docker.io/myuser/*", "myuser/app:v1", true),
        // Transitional fallback: the reference as written.
        ("myuser/app:v1", "myuser/app:v1", true),
        ("busybox*", "busybox", true),
        // Registry ports.
        ("127.0.0.1:5000/**", "127.0.0.1:5000/team/app:v2", true),
        (
            "127.0.0.1:*/team/app:v2",
            "127.0.0.1:5000/team/app:v2",
            true,
        ),
        // Invalid references match nothing.
        ("**", "UPPER/Case:v1", false),
    ];
    for (glob, image, want) in table {
        let image = image.replace("DIGEST", D);
        let g = Glob::compile(glob).unwrap();
        assert_eq!(g.matches(&image), *want, "glob {glob:?} image {image:?}");
        // The set's one-pass matcher agrees with the glob alone.
        let set = PolicySet::from_sources(&[(
            "p.yaml".into(),
            format!("apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\nmetadata: {{name: p}}\nspec:\n  images: [{{glob: '{glob}'}}, {{glob: never.example/x}}]\n  authorities: [{{static: {{action: pass}}}}]\n"),
        )])
        .unwrap();
        assert_eq!(
            set.matching(&image).len() == 1,
            *want,
            "set: glob {glob:?} image {image:?}"
        );
    }
}

#[test]
fn invalid_globs_are_refused() {
    for bad in [
        "",
        "ghcr.io/app@sha256:*",
        "ghcr.io/[ab]",
        "ghcr.io/app?",
        "ghcr.io/a b",
        "ghcr.io/a\\b",
    ] {
        assert!(Glob::compile(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn matching_returns_every_policy_whose_glob_matches() {
    let policy = |name: &str, globs: &[&str]| {
        format!(
            "apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\nmetadata: {{name: {name}}}\nspec:\n  images:\n{}  authorities: [{{static: {{action: pass}}}}]\n",
            globs.iter().map(|g| format!("  - glob: '{g}'\n")).collect::<String>()
        )
    };
    let text = [
        policy("all", &["**"]),
        policy("flux", &["ghcr.io/fluxcd/*", "docker.io/fluxcd/*"]),
        policy("source", &["ghcr.io/fluxcd/source-controller:*"]),
    ]
    .join("---\n");
    let set = PolicySet::from_sources(&[("p.yaml".into(), text)]).unwrap();
    let names = |image: &str| {
        set.matching(image)
            .iter()
            .map(|p| p.name.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names("ghcr.io/fluxcd/source-controller:v1.9.4"),
        ["all", "flux", "source"]
    );
    assert_eq!(
        names("ghcr.io/fluxcd/kustomize-controller:v1.4.0"),
        ["all", "flux"]
    );
    // Globs are not normalised: `docker.io/...` never matches a Docker Hub
    // image (it is `index.docker.io/...` once normalised), as in
    // policy-controller.
    assert_eq!(names("fluxcd/flux-cli:v2.4.0"), ["all"]);
    assert_eq!(names("docker.io/fluxcd/flux-cli:v2.4.0"), ["all", "flux"]);
    assert_eq!(names("registry.example/app:v1"), ["all"]);
}

//! Loading policies: every unsupported or unknown field is refused with
//! its file, document and path; valid sets load, hash stably and expose
//! what the server needs.

use std::sync::Arc;

use verify_policy::{LintError, Mode, PolicySet, TrustRoots};

const VALID: &str = r#"
apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata:
  name: flux
spec:
  images:
  - glob: ghcr.io/fluxcd/**
  authorities:
  - name: github
    keyless:
      identities:
      - issuer: https://token.actions.githubusercontent.com
        subjectRegExp: ^https://github\.com/fluxcd/.*$
"#;

fn load(yaml: &str) -> Result<PolicySet, Vec<LintError>> {
    PolicySet::from_sources(&[("p.yaml".into(), yaml.into())]).map_err(|r| r.errors)
}

/// The paths of the errors loading `yaml` gives.
fn paths(yaml: &str) -> Vec<String> {
    match load(yaml) {
        Ok(_) => panic!("expected lint errors for:\n{yaml}"),
        Err(errors) => errors.into_iter().map(|e| e.path).collect(),
    }
}

#[test]
fn a_valid_policy_loads_with_its_defaults() {
    let set = load(VALID).unwrap();
    let p = &set.policies()[0];
    assert_eq!(p.name, "flux");
    assert_eq!(p.mode, Mode::Enforce);
    assert!(p.pin_digest);
    assert_eq!(p.globs().collect::<Vec<_>>(), ["ghcr.io/fluxcd/**"]);
    assert_eq!(p.authorities().collect::<Vec<_>>(), ["github"]);
    assert_eq!(p.file(), "p.yaml");
    assert!(set.hash().starts_with("sha256:") && set.hash().len() == 71);
}

/// Each policy-controller field this crate does not implement, with the
/// exact path of the error.
#[test]
fn every_unsupported_policy_controller_field_is_an_error_at_its_path() {
    let keyless = |extra: &str| {
        format!(
            "apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\nmetadata: {{name: x}}\nspec:\n  images: [{{glob: '**'}}]\n  authorities:\n  - keyless:\n      identities: [{{issuer: i, subject: s}}]\n{extra}"
        )
    };
    let cases: Vec<(String, &str)> = vec![
        (keyless("      ca-cert: {data: x}\n"), "spec.authorities[0].keyless.ca-cert"),
        (keyless("      url: https://fulcio.sigstore.dev\n"), "spec.authorities[0].keyless.url"),
        (keyless("    source: [{oci: registry.example/sigs}]\n"), "spec.authorities[0].source"),
        (keyless("    rfc3161timestamp: {trustRootRef: tsa}\n"), "spec.authorities[0].rfc3161timestamp"),
        (
            keyless("    attestations:\n    - name: a\n      predicateType: spdxjson\n      policy: {type: cue, data: x}\n"),
            "spec.authorities[0].attestations[0].policy",
        ),
        (keyless("  policy: {type: cue, data: x}\n"), "spec.policy"),
        (keyless("  match: [{resource: pods}]\n"), "spec.match"),
        (
            "apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\nmetadata: {name: x}\nspec:\n  images: [{glob: '**'}]\n  authorities:\n  - key: {kms: 'awskms:///arn:aws:kms:us-east-1:1:key/x'}\n".into(),
            "spec.authorities[0].key.kms",
        ),
        (
            "apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\nmetadata: {name: x}\nspec:\n  images: [{glob: '**'}]\n  authorities:\n  - key: {secretRef: {name: k, namespace: cosign-system}}\n".into(),
            "spec.authorities[0].key.secretRef.namespace",
        ),
    ];
    for (yaml, path) in cases {
        let errors = load(&yaml)
            .err()
            .unwrap_or_else(|| panic!("{path}: loaded"));
        let hit = errors
            .iter()
            .find(|e| e.path == path)
            .unwrap_or_else(|| panic!("{path}: not among {errors:?}"));
        assert!(
            hit.message.starts_with("not supported by verify-policy"),
            "{hit:?}"
        );
        assert_eq!((hit.file.as_str(), hit.document), ("p.yaml", 0));
    }
}

#[test]
fn unknown_fields_are_errors_at_their_paths() {
    let yaml = VALID
        .replace("  name: flux\n", "  name: flux\n  nmae: typo\n")
        .replace(
            "  - glob: ghcr.io/fluxcd/**\n",
            "  - glob: ghcr.io/fluxcd/**\n    regex: x\n",
        )
        .replace("      - issuer:", "      - isuer: x\n        issuer:")
        .replace("  images:", "  modee: warn\n  images:");
    let mut found = paths(&yaml);
    found.sort();
    assert_eq!(
        found,
        [
            "metadata.nmae",
            "spec.authorities[0].keyless.identities[0].isuer",
            "spec.images[0].regex",
            "spec.modee",
        ]
    );
}

#[test]
fn all_errors_of_all_documents_are_reported_at_once() {
    let second = VALID
        .replace("name: flux", "name: other")
        .replace("keyless:", "keyless:\n      ca-cert: {}");
    let text = format!("{VALID}---\n{second}---\nkind: Deployment\n");
    let errors = PolicySet::from_sources(&[
        ("a.yaml".into(), text),
        ("b.yml".into(), "spec: [\n".into()),
    ])
    .unwrap_err()
    .errors;
    let summary: Vec<(String, usize, String)> = errors
        .iter()
        .map(|e| (e.file.clone(), e.document, e.path.clone()))
        .collect();
    assert!(
        summary.contains(&(
            "a.yaml".into(),
            1,
            "spec.authorities[0].keyless.ca-cert".into()
        )),
        "{summary:?}"
    );
    assert!(
        summary.contains(&("a.yaml".into(), 2, "kind".into())),
        "{summary:?}"
    );
    assert!(
        summary.contains(&("a.yaml".into(), 2, "apiVersion".into())),
        "{summary:?}"
    );
    assert!(
        summary.iter().any(|(f, _, p)| f == "b.yml" && p.is_empty()),
        "{summary:?}"
    );
    // Display: one line per error, with file[document]: path.
    let report = PolicySet::from_sources(&[("a.yaml".into(), second.clone())]).unwrap_err();
    let text = report.to_string();
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(
        text.starts_with("a.yaml[0]: spec.authorities[0].keyless.ca-cert: not supported"),
        "{text}"
    );
}

#[test]
fn invalid_values_are_refused() {
    let cases: Vec<(String, &str)> = vec![
        (VALID.replace("ghcr.io/fluxcd/**", "ghcr.io/fluxcd@sha256"), "spec.images[0].glob"),
        (VALID.replace("subjectRegExp: ^https://github\\.com/fluxcd/.*$", "subjectRegExp: '(unclosed'"), "spec.authorities[0].keyless.identities[0].subjectRegExp"),
        (VALID.replace("        subjectRegExp: ^https://github\\.com/fluxcd/.*$\n", ""), "spec.authorities[0].keyless.identities[0]"),
        (VALID.replace("        subjectRegExp", "        subject: x\n        subjectRegExp"), "spec.authorities[0].keyless.identities[0]"),
        (VALID.replace("  images:", "  mode: audit\n  images:"), "spec.mode"),
        (VALID.replace("  images:", "  pinDigest: 'no'\n  images:"), "spec.pinDigest"),
        (VALID.replace("    keyless:", "    signatureFormat: protobuf\n    keyless:"), "spec.authorities[0].signatureFormat"),
        (VALID.replace("    keyless:", "    static: {action: pass}\n    keyless:"), "spec.authorities[0]"),
        (VALID.replace("    keyless:", "    ctlog: {url: 'ftp://x'}\n    keyless:"), "spec.authorities[0].ctlog.url"),
        (VALID.replace("    keyless:", "    ctlog: {trustRootRef: other}\n    keyless:"), "spec.authorities[0].ctlog.trustRootRef"),
        (VALID.replace("    keyless:", "    attestations: [{name: a, predicateType: sbom}]\n    keyless:"), "spec.authorities[0].attestations[0].predicateType"),
        (VALID.replace("    keyless:", "    attestations: [{predicateType: spdxjson}]\n    keyless:"), "spec.authorities[0].attestations[0].name"),
        (VALID.replace("    keyless:", "    attestations: [{name: p, predicateType: slsaprovenance, slsa: {sourceTag: v1}}]\n    keyless:"), "spec.authorities[0].attestations[0].slsa.sourceURI"),
        (VALID.replace("    keyless:", "    attestations: [{name: p, predicateType: slsaprovenance, slsa: {sourceURI: github.com/a/b, sourceTag: v1, sourceBranch: main}}]\n    keyless:"), "spec.authorities[0].attestations[0].slsa"),
        (VALID.replace("    keyless:", "    buildkit: {}\n    keyless:"), "spec.authorities[0].buildkit"),
        (VALID.replace("  - name: github\n    keyless:\n      identities:\n      - issuer: https://token.actions.githubusercontent.com\n        subjectRegExp: ^https://github\\.com/fluxcd/.*$\n", "  - key: {data: not-a-key}\n"), "spec.authorities[0].key.data"),
        (VALID.replace("  - name: github\n    keyless:\n      identities:\n      - issuer: https://token.actions.githubusercontent.com\n        subjectRegExp: ^https://github\\.com/fluxcd/.*$\n", "  - static: {action: maybe}\n"), "spec.authorities[0].static.action"),
        (VALID.replace("  - name: github\n    keyless:\n      identities:\n      - issuer: https://token.actions.githubusercontent.com\n        subjectRegExp: ^https://github\\.com/fluxcd/.*$\n", "  - static: {action: pass}\n    ctlog: {}\n"), "spec.authorities[0].ctlog"),
        (VALID.replace("      identities:\n      - issuer: https://token.actions.githubusercontent.com\n        subjectRegExp: ^https://github\\.com/fluxcd/.*$\n", "      identities: []\n"), "spec.authorities[0].keyless.identities"),
        (VALID.replace("policy.sigstore.dev/v1beta1", "policy.sigstore.dev/v1alpha1"), "apiVersion"),
        (VALID.replace("  images:\n  - glob: ghcr.io/fluxcd/**\n", "  images: []\n"), "spec.images"),
        (VALID.replace("  images:\n  - glob: ghcr.io/fluxcd/**\n", "  images: null\n"), "spec.images"),
        (VALID.replace("  images:\n  - glob: ghcr.io/fluxcd/**\n", "  images: ghcr.io/x\n"), "spec.images"),
        (VALID.replace("  images:\n  - glob: ghcr.io/fluxcd/**\n", ""), "spec.images"),
        (VALID.replace("  - name: github\n    keyless:\n      identities:\n      - issuer: https://token.actions.githubusercontent.com\n        subjectRegExp: ^https://github\\.com/fluxcd/.*$\n", "  - name: github\n"), "spec.authorities[0]"),
        (VALID.replace("    keyless:\n      identities:\n      - issuer: https://token.actions.githubusercontent.com\n        subjectRegExp: ^https://github\\.com/fluxcd/.*$\n", "    keyless: [x]\n"), "spec.authorities[0].keyless"),
        (VALID.replace("metadata:\n  name: flux\n", "metadata: {}\n"), "metadata.name"),
    ];
    for (yaml, path) in cases {
        let found = paths(&yaml);
        assert!(
            found.iter().any(|p| p == path),
            "{path}: got {found:?} for\n{yaml}"
        );
    }
}

#[test]
fn signature_format_bundle_is_keyless_only() {
    let key = verify_testkit::TestKey::generate(verify_testkit::KeyKind::EcdsaP256)
        .unwrap()
        .public_key_pem();
    let yaml = format!(
        "apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\nmetadata: {{name: k}}\nspec:\n  images: [{{glob: '**'}}]\n  authorities:\n  - signatureFormat: bundle\n    key:\n      data: |\n{}",
        key.lines().map(|l| format!("        {l}\n")).collect::<String>()
    );
    let errors = load(&yaml).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].path, "spec.authorities[0].signatureFormat");
}

#[test]
fn duplicate_names_are_refused() {
    let text = format!("{VALID}---\n{VALID}");
    let errors = load(&text).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(
        (errors[0].document, errors[0].path.as_str()),
        (1, "metadata.name")
    );
    let two = VALID.replace(
        "  - name: github\n",
        "  - name: a\n    static: {action: pass}\n  - name: a\n",
    );
    assert!(paths(&two).contains(&"spec.authorities[1].name".to_string()));
}

#[test]
fn the_set_hash_ignores_order_and_formatting_but_not_content() {
    let other = VALID.replace("name: flux", "name: other");
    let a = PolicySet::from_sources(&[
        ("a.yaml".into(), VALID.into()),
        ("b.yaml".into(), other.clone()),
    ])
    .unwrap();
    let reformatted = "# comment\n{apiVersion: policy.sigstore.dev/v1beta1, kind: ClusterImagePolicy, spec: {authorities: [{keyless: {identities: [{subjectRegExp: '^https://github\\.com/fluxcd/.*$', issuer: 'https://token.actions.githubusercontent.com'}]}, name: github}], images: [{glob: 'ghcr.io/fluxcd/**'}]}, metadata: {name: flux}}\n";
    let b = PolicySet::from_sources(&[("z.yaml".into(), format!("{other}---\n{reformatted}"))])
        .unwrap();
    assert_eq!(a.hash(), b.hash());
    let changed = PolicySet::from_sources(&[
        ("a.yaml".into(), VALID.replace("fluxcd/**", "fluxcd/*")),
        ("b.yaml".into(), other),
    ])
    .unwrap();
    assert_ne!(a.hash(), changed.hash());
}

#[test]
fn extensions_are_read() {
    let yaml = VALID
        .replace("  images:", "  mode: warn\n  pinDigest: false\n  images:")
        .replace(
            "    keyless:",
            "    buildkit: {provenance: true, sbom: true}\n    keyless:",
        );
    let set = load(&yaml).unwrap();
    let p = &set.policies()[0];
    assert_eq!(p.mode, Mode::Warn);
    assert!(!p.pin_digest);
    // slsa-only attestations may omit identities.
    let slsa = VALID.replace(
        "    keyless:\n      identities:\n      - issuer: https://token.actions.githubusercontent.com\n        subjectRegExp: ^https://github\\.com/fluxcd/.*$\n",
        "    keyless: {}\n    attestations:\n    - name: provenance\n      predicateType: slsaprovenance\n      slsa: {sourceURI: github.com/fluxcd/flux2, sourceVersionedTag: v2}\n",
    );
    load(&slsa).unwrap();
}

#[test]
fn directories_load_yaml_files_only_and_skip_hidden_entries() {
    let dir = std::env::temp_dir().join(format!("verify-policy-lint-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("..data")).unwrap();
    std::fs::write(dir.join("flux.yaml"), VALID).unwrap();
    std::fs::write(
        dir.join("other.yml"),
        VALID.replace("name: flux", "name: other"),
    )
    .unwrap();
    std::fs::write(dir.join("README.md"), "not a policy").unwrap();
    std::fs::write(dir.join("..data/hidden.yaml"), "garbage: [").unwrap();
    std::fs::write(dir.join(".hidden.yaml"), "garbage: [").unwrap();
    let set = PolicySet::load_dir(&dir).unwrap();
    assert_eq!(
        set.policies()
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>(),
        ["flux", "other"]
    );
    std::fs::write(
        dir.join("bad.yaml"),
        VALID.replace(
            "keyless:",
            "keyless:\n      url: https://fulcio.sigstore.dev",
        ),
    )
    .unwrap();
    let report = PolicySet::load_dir(&dir).unwrap_err();
    assert_eq!(report.errors.len(), 1);
    assert_eq!(
        (
            report.errors[0].file.as_str(),
            report.errors[0].path.as_str()
        ),
        ("bad.yaml", "spec.authorities[0].keyless.url")
    );
    let missing = PolicySet::load_dir(&dir.join("nope")).unwrap_err();
    assert!(missing.errors[0].message.contains("cannot read directory"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn trust_root_refs_are_checked_against_the_loaded_roots() {
    let sigstore = verify_testkit::TestSigstore::new();
    let verifier = verify_core::Verifier::new(
        verify_core::TrustRoot::from_json(
            sigstore.trusted_root_json().as_bytes(),
            &Default::default(),
        )
        .unwrap(),
    )
    .unwrap();
    let dir = std::env::temp_dir().join(format!("verify-policy-roots-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("private.json"), sigstore.trusted_root_json()).unwrap();
    let base = TrustRoots::new(Arc::new(verifier));
    let base_hash = base.hash().to_string();
    let roots = base.load_dir(&dir).unwrap();
    assert_eq!(roots.names().collect::<Vec<_>>(), ["private"]);
    assert_ne!(roots.hash(), base_hash);
    let good = load(&VALID.replace(
        "    keyless:\n",
        "    keyless:\n      trustRootRef: private\n",
    ))
    .unwrap();
    good.check_trust_roots(&roots).unwrap();
    let typo = load(&VALID.replace(
        "    keyless:\n",
        "    keyless:\n      trustRootRef: privat\n",
    ))
    .unwrap();
    let errors = typo.check_trust_roots(&roots).unwrap_err().errors;
    assert!(errors[0].message.contains("\"privat\""), "{errors:?}");
    std::fs::write(dir.join("broken.json"), "{").unwrap();
    let err = TrustRoots::new(roots.default_root().clone())
        .load_dir(&dir)
        .unwrap_err();
    assert_eq!(err.code(), "trust-root-invalid");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn hostile_yaml_is_refused_not_expanded() {
    // Alias expansion ("billion laughs"), deep nesting, binary junk and a
    // file over the size bound: each is a lint error, never a hang or panic.
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let prev = format!("*a{}", i - 1);
        bomb.push_str(&format!("a{i}: &a{i} [{}]\n", vec![prev; 10].join(", ")));
    }
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let junk = String::from_utf8_lossy(&[0xff, 0x00, 0x1b, b':', b'{', 0x7f]).into_owned();
    let huge = format!("# {}\n", "x".repeat(verify_policy::MAX_FILE_BYTES as usize));
    for (name, text) in [
        ("bomb", bomb),
        ("deep", deep),
        ("junk", junk),
        ("huge", huge),
    ] {
        let report = PolicySet::from_sources(&[(format!("{name}.yaml"), text)]).expect_err(name);
        assert!(!report.errors.is_empty(), "{name}");
        assert_eq!(report.errors[0].file, format!("{name}.yaml"));
    }
}

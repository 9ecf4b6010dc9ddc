//! Evaluation against images signed by the test Sigstore in OCI layouts on
//! disk: keyless and key authorities, static, AND/OR, warn mode, the two
//! signature formats, attestations, ctlog, named trust roots, BuildKit
//! in-index attestations; and the reason codes of each failure.

mod common;

use std::sync::Arc;

use common::*;
use serde_json::json;
use verify_policy::{Mode, TrustRoots};
use verify_testkit::{Content, KeyKind, SanIdentity, SignOptions, Signer, TestSigstore};

const REF: &str = "registry.test/team/app:v1";

fn keyless_policy(name: &str, subject: &str, extra: &str) -> String {
    format!(
        r#"apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata: {{name: {name}}}
spec:
  images: [{{glob: "registry.test/team/**"}}]
  authorities:
  - name: ci
{extra}    keyless:
      identities:
      - issuer: {ISSUER}
        subject: {subject}
"#
    )
}

#[test]
fn keyless_signature_by_the_named_identity_is_admitted() {
    let w = World::new();
    let mut layout = Layout::new();
    let image = layout.image("v1", "linux", "amd64");
    w.sign(&mut layout, &image, &SignOptions::default());
    let set = policies(&keyless_policy("p", &World::identity(), ""));
    let d = decide(&set, &w.roots, &layout, REF, &image, None);
    assert!(d.allowed, "{d:?}");
    let o = &d.outcomes[0];
    assert!(o.passed);
    assert_eq!(o.authority.as_deref(), Some("ci"));
    assert_eq!(
        o.identities,
        [format!("issuer={ISSUER} subject={}", World::identity())]
    );
    // The regexp form too (searched, as cosign).
    let set = policies(&keyless_policy("p", "x", "").replace(
        "subject: x",
        "subjectRegExp: ^https://github\\.com/example-org/",
    ));
    assert!(decide(&set, &w.roots, &layout, REF, &image, None).allowed);
}

#[test]
fn wrong_identity_unsigned_and_tampered_images_are_denied_with_their_codes() {
    let w = World::new();
    let set = policies(&keyless_policy("p", &World::identity(), ""));

    let mut layout = Layout::new();
    let unsigned = layout.image("v1", "linux", "amd64");
    let d = decide(&set, &w.roots, &layout, REF, &unsigned, None);
    assert!(!d.allowed);
    assert_eq!(codes(&d), ["no-signatures"]);

    let mut layout = Layout::new();
    let image = layout.image("v1", "linux", "amd64");
    let mallory = SignOptions {
        identity: Some(SanIdentity::Email("mallory@example.com".into())),
        ..SignOptions::default()
    };
    w.sign(&mut layout, &image, &mallory);
    let d = decide(&set, &w.roots, &layout, REF, &image, None);
    assert!(!d.allowed);
    assert_eq!(codes(&d), ["identity-mismatch"]);
    assert!(
        d.outcomes[0].failures[0]
            .message
            .contains("mallory@example.com"),
        "{d:?}"
    );

    let mut layout = Layout::new();
    let image = layout.image("v1", "linux", "amd64");
    let tampered = SignOptions {
        corrupt_signature: true,
        ..SignOptions::default()
    };
    w.sign(&mut layout, &image, &tampered);
    let d = decide(&set, &w.roots, &layout, REF, &image, None);
    assert!(!d.allowed);
    assert_eq!(codes(&d), ["signature-invalid"]);

    // A valid signature over another image, copied under this one's tag.
    let mut layout = Layout::new();
    let image = layout.image("v1", "linux", "amd64");
    let other = layout.image("v2", "linux", "amd64");
    let (layer, _) = w.signature(&other, &SignOptions::default(), true);
    layout.cosign_manifest(&format!("sha256-{}.sig", image.hex()), &[layer]);
    let d = decide(&set, &w.roots, &layout, REF, &image, None);
    assert_eq!(codes(&d), ["claims-image-mismatch"]);

    // Signed by another Sigstore entirely: its log's SET is the first
    // thing that does not verify.
    let stranger = World::new();
    let mut layout = Layout::new();
    let image = layout.image("v1", "linux", "amd64");
    stranger.sign(&mut layout, &image, &SignOptions::default());
    let d = decide(&set, &w.roots, &layout, REF, &image, None);
    assert!(!d.allowed);
    assert_eq!(codes(&d), ["tlog-set-invalid"]);
}

#[test]
fn keyless_without_ctlog_needs_log_evidence_in_the_signature() {
    let w = World::new();
    let mut layout = Layout::new();
    let image = layout.image("v1", "linux", "amd64");
    let (layer, _) = w.signature(&image, &SignOptions::default(), false);
    layout.cosign_manifest(&format!("sha256-{}.sig", image.hex()), &[layer]);
    let set = policies(&keyless_policy("p", &World::identity(), ""));
    let d = decide(&set, &w.roots, &layout, REF, &image, None);
    assert_eq!(codes(&d), ["tlog-lookup-offline"]);
    // ctlog.url asks for a lookup; without a log client it fails closed and says why.
    let set = policies(&keyless_policy(
        "p",
        &World::identity(),
        "    ctlog: {url: 'https://rekor.sigstore.dev'}\n",
    ));
    let d = decide(&set, &w.roots, &layout, REF, &image, None);
    assert_eq!(codes(&d), ["tlog-lookup-offline"]);
    assert!(
        d.outcomes[0].failures[0].message.contains("no log client"),
        "{d:?}"
    );
}

fn key_policy(key: &str) -> String {
    format!(
        "apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\nmetadata: {{name: keyed}}\nspec:\n  images: [{{glob: 'registry.test/**'}}]\n  authorities:\n  - name: release-key\n    key:\n{key}"
    )
}

fn inline(pem: &str) -> String {
    format!(
        "      data: |\n{}",
        pem.lines()
            .map(|l| format!("        {l}\n"))
            .collect::<String>()
    )
}

#[test]
fn key_authorities_inline_and_from_a_mounted_secret() {
    let w = World::new();
    let mut layout = Layout::new();
    let image = layout.image("v1", "linux", "amd64");
    let options = SignOptions {
        signer: Signer::Key(KeyKind::EcdsaP256),
        ..SignOptions::default()
    };
    let signed = w.sign(&mut layout, &image, &options);
    let set = policies(&key_policy(&inline(&signed.public_key_pem)));
    let d = decide(&set, &w.roots, &layout, REF, &image, None);
    assert!(d.allowed, "{d:?}");
    assert!(
        d.outcomes[0].identities[0].starts_with("key=sha256:"),
        "{d:?}"
    );

    // Another key: denied with the core's code.
    let other = verify_testkit::TestKey::generate(KeyKind::EcdsaP256).unwrap();
    let set = policies(&key_policy(&inline(&other.public_key_pem())));
    let d = decide(&set, &w.roots, &layout, REF, &image, None);
    assert!(!d.allowed);
    assert_eq!(codes(&d), ["signature-invalid"]);

    // secretRef: <dir>/<name>/<its only key>, as a Secret volume mounts it.
    let secrets = TempDir::new("secrets");
    let dir = secrets.path().join("release-key");
    std::fs::create_dir_all(dir.join("..2024_01_01")).unwrap();
    std::fs::write(dir.join("cosign.pub"), &signed.public_key_pem).unwrap();
    let set = policies(&key_policy("      secretRef: {name: release-key}\n"));
    let d = decide(&set, &w.roots, &layout, REF, &image, Some(secrets.path()));
    assert!(d.allowed, "{d:?}");
    // No secrets directory, a missing secret, or two keys: fail closed.
    let d = decide(&set, &w.roots, &layout, REF, &image, None);
    assert_eq!(codes(&d), ["key-secret-unavailable"]);
    std::fs::write(dir.join("second.pub"), &signed.public_key_pem).unwrap();
    let d = decide(&set, &w.roots, &layout, REF, &image, Some(secrets.path()));
    assert_eq!(codes(&d), ["key-secret-unavailable"]);
    std::fs::remove_file(dir.join("second.pub")).unwrap();
    std::fs::write(dir.join("cosign.pub"), "not a key").unwrap();
    let d = decide(&set, &w.roots, &layout, REF, &image, Some(secrets.path()));
    assert_eq!(codes(&d), ["key-invalid"]);
}

#[test]
fn key_authorities_ignore_the_log_unless_ctlog_asks_for_it() {
    let w = World::new();
    let mut layout = Layout::new();
    let image = layout.image("v1", "linux", "amd64");
    let options = SignOptions {
        signer: Signer::Key(KeyKind::EcdsaP256),
        tlog_entry: false,
        ..SignOptions::default()
    };
    let (layer, signed) = w.signature(&image, &options, false);
    layout.cosign_manifest(&format!("sha256-{}.sig", image.hex()), &[layer]);
    let set = policies(&key_policy(&inline(&signed.public_key_pem)));
    assert!(decide(&set, &w.roots, &layout, REF, &image, None).allowed);
    let with_log = key_policy(&inline(&signed.public_key_pem)).replace(
        "    key:\n",
        "    ctlog: {url: 'https://rekor.sigstore.dev'}\n    key:\n",
    );
    let d = decide(&policies(&with_log), &w.roots, &layout, REF, &image, None);
    assert_eq!(codes(&d), ["tlog-lookup-offline"]);
}

#[test]
fn static_authorities_and_or_between_authorities() {
    let w = World::new();
    let mut layout = Layout::new();
    let image = layout.image("v1", "linux", "amd64");
    w.sign(&mut layout, &image, &SignOptions::default());
    let head = "apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\nspec:\n  images: [{glob: 'registry.test/**'}]\n  authorities:\n";
    let pass = format!("{head}  - static: {{action: pass}}\nmetadata: {{name: open}}\n");
    let fail = format!(
        "{head}  - static: {{action: fail, message: frozen}}\nmetadata: {{name: frozen}}\n"
    );
    let d = decide(&policies(&pass), &w.roots, &layout, REF, &image, None);
    assert!(d.allowed);
    assert_eq!(d.outcomes[0].authority.as_deref(), Some("authority-0"));
    let d = decide(&policies(&fail), &w.roots, &layout, REF, &image, None);
    assert!(!d.allowed);
    assert_eq!(codes(&d), ["static-fail"]);
    assert_eq!(
        d.outcomes[0].failures[0].message,
        "disallowed by static policy: frozen"
    );

    // OR: the static failure is outweighed by a passing keyless authority.
    let or = keyless_policy("or", &World::identity(), "").replace(
        "  authorities:\n",
        "  authorities:\n  - name: gate\n    static: {action: fail}\n",
    );
    let d = decide(&policies(&or), &w.roots, &layout, REF, &image, None);
    assert!(d.allowed, "{d:?}");
    assert_eq!(d.outcomes[0].authority.as_deref(), Some("ci"));
    assert_eq!(codes(&d), ["static-fail"]);

    // AND: two matching policies, one fails, the image is denied.
    let both = format!(
        "{}---\n{fail}",
        keyless_policy("signed", &World::identity(), "")
    );
    let d = decide(&policies(&both), &w.roots, &layout, REF, &image, None);
    assert!(!d.allowed);
    let passed: Vec<(String, bool)> = d
        .outcomes
        .iter()
        .map(|o| (o.policy.clone(), o.passed))
        .collect();
    assert_eq!(
        passed,
        [("frozen".to_string(), false), ("signed".to_string(), true)]
    );
}

#[test]
fn warn_mode_admits_with_a_warning() {
    let w = World::new();
    let mut layout = Layout::new();
    let image = layout.image("v1", "linux", "amd64");
    let warn = keyless_policy("audit", &World::identity(), "")
        .replace("  images:", "  mode: warn\n  images:");
    let enforce = keyless_policy("strict", &World::identity(), "");
    let set = policies(&warn);
    let d = decide(&set, &w.roots, &layout, REF, &image, None);
    assert!(d.allowed, "{d:?}");
    assert_eq!(d.outcomes[0].mode, Mode::Warn);
    assert!(!d.outcomes[0].passed);
    assert_eq!(d.warnings.len(), 1);
    assert!(
        d.warnings[0].contains("audit") && d.warnings[0].contains("no-signatures"),
        "{:?}",
        d.warnings
    );
    // With an enforcing policy too, the image is denied.
    let set = policies(&format!("{warn}---\n{enforce}"));
    let d = decide(&set, &w.roots, &layout, REF, &image, None);
    assert!(!d.allowed);
    assert_eq!(d.warnings.len(), 1);
    // Serialises for the server's log and output.
    let v = serde_json::to_value(&d).unwrap();
    assert_eq!(v["outcomes"][0]["mode"], "warn");
    assert_eq!(v["outcomes"][1]["failures"][0]["code"], "no-signatures");
}

fn v3_bundle(sigstore: &TestSigstore, subject: &Written, predicate_type: &str) -> Vec<u8> {
    sigstore
        .sign(
            &subject.bytes,
            &SignOptions {
                content: Content::Dsse,
                predicate_type: predicate_type.into(),
                ..SignOptions::default()
            },
        )
        .unwrap()
        .to_json()
        .into_bytes()
}

#[test]
fn signature_format_selects_tag_scheme_or_bundle_referrers() {
    let w = World::new();
    let legacy = policies(&keyless_policy("p", &World::identity(), ""));
    let bundle = policies(&keyless_policy(
        "p",
        &World::identity(),
        "    signatureFormat: bundle\n",
    ));

    let mut layout = Layout::new();
    let image = layout.image("v1", "linux", "amd64");
    let b = v3_bundle(&w.sigstore, &image, "https://sigstore.dev/cosign/sign/v1");
    layout.bundle_referrer(&image, &b);
    let d = decide(&bundle, &w.roots, &layout, REF, &image, None);
    assert!(d.allowed, "{d:?}");
    let d = decide(&legacy, &w.roots, &layout, REF, &image, None);
    assert_eq!(codes(&d), ["no-signatures"]);

    let mut layout = Layout::new();
    let image = layout.image("v1", "linux", "amd64");
    w.sign(&mut layout, &image, &SignOptions::default());
    assert!(decide(&legacy, &w.roots, &layout, REF, &image, None).allowed);
    let d = decide(&bundle, &w.roots, &layout, REF, &image, None);
    assert_eq!(codes(&d), ["no-signatures"]);
}

#[test]
fn attestations_are_checked_instead_of_the_signature() {
    let w = World::new();
    let mut layout = Layout::new();
    let image = layout.image("v1", "linux", "amd64");
    // No signature at all; an SPDX and a custom attestation.
    w.attest(
        &mut layout,
        &image,
        &[
            (
                "https://spdx.dev/Document",
                json!({"spdxVersion": "SPDX-2.3"}),
            ),
            (
                "https://cosign.sigstore.dev/attestation/v1",
                json!({"data": "x"}),
            ),
        ],
    );
    let with = |atts: &str| {
        policies(&keyless_policy(
            "p",
            &World::identity(),
            &format!("    attestations:\n{atts}"),
        ))
    };
    let d = decide(
        &with("    - {name: sbom, predicateType: spdxjson}\n    - {name: extra, predicateType: custom}\n"),
        &w.roots,
        &layout,
        REF,
        &image,
        None,
    );
    assert!(d.allowed, "{d:?}");
    let d = decide(
        &with("    - {name: vex, predicateType: openvex}\n"),
        &w.roots,
        &layout,
        REF,
        &image,
        None,
    );
    assert!(!d.allowed);
    assert_eq!(codes(&d), ["no-matching-predicate"]);
    assert!(d.outcomes[0].failures[0]
        .message
        .contains("https://spdx.dev/Document"));
    // Every listed attestation must be satisfied.
    let d = decide(
        &with("    - {name: sbom, predicateType: spdxjson}\n    - {name: vuln, predicateType: vuln}\n"),
        &w.roots,
        &layout,
        REF,
        &image,
        None,
    );
    assert_eq!(codes(&d), ["no-matching-predicate"]);
    // The signer must still be a listed identity.
    let other = keyless_policy(
        "p",
        "someone@example.com",
        "    attestations:\n    - {name: sbom, predicateType: spdxjson}\n",
    );
    let d = decide(&policies(&other), &w.roots, &layout, REF, &image, None);
    assert_eq!(codes(&d), ["identity-mismatch"]);
    // A signature-only authority on the same image: nothing signed it.
    let d = decide(
        &policies(&keyless_policy("p", &World::identity(), "")),
        &w.roots,
        &layout,
        REF,
        &image,
        None,
    );
    assert_eq!(codes(&d), ["no-signatures"]);
}

#[test]
fn trust_root_ref_selects_a_named_root() {
    let public = World::new();
    let private = TestSigstore::new();
    let dir = TempDir::new("roots");
    std::fs::write(dir.path().join("private.json"), private.trusted_root_json()).unwrap();
    let roots: TrustRoots = TrustRoots::new(Arc::new(verifier_for(&public.sigstore)))
        .load_dir(dir.path())
        .unwrap();
    let mut layout = Layout::new();
    let image = layout.image("v1", "linux", "amd64");
    let signer = World {
        sigstore: private,
        roots: roots.clone(),
    };
    signer.sign(&mut layout, &image, &SignOptions::default());
    let named = keyless_policy("p", &World::identity(), "").replace(
        "    keyless:\n",
        "    keyless:\n      trustRootRef: private\n",
    );
    let d = decide(&policies(&named), &roots, &layout, REF, &image, None);
    assert!(d.allowed, "{d:?}");
    let default = keyless_policy("p", &World::identity(), "");
    let d = decide(&policies(&default), &roots, &layout, REF, &image, None);
    assert_eq!(codes(&d), ["tlog-set-invalid"]);
    let missing = named.replace("trustRootRef: private", "trustRootRef: gone");
    let d = decide(&policies(&missing), &roots, &layout, REF, &image, None);
    assert_eq!(codes(&d), ["trust-root-not-found"]);
}

/// A BuildKit-style index: one image per platform, and an attestation
/// manifest per platform with the statements asked for.
fn buildkit_index(layout: &mut Layout, platforms: &[&str], sbom_for: &[&str]) -> Written {
    let mut entries = Vec::new();
    let mut attestations = Vec::new();
    for arch in platforms {
        let image = layout.image(&format!("img-{arch}"), "linux", arch);
        let mut d = image.descriptor();
        d["platform"] = json!({"os": "linux", "architecture": arch});
        entries.push(d);
        let statement = |predicate_type: &str, predicate: serde_json::Value| {
            serde_json::to_vec(&json!({
                "_type": "https://in-toto.io/Statement/v0.1",
                "predicateType": predicate_type,
                "subject": [{"name": format!("pkg:docker/app@v1?platform=linux%2F{arch}"), "digest": {"sha256": image.hex()}}],
                "predicate": predicate,
            }))
            .unwrap()
        };
        let mut layers = vec![(
            "https://slsa.dev/provenance/v0.2",
            statement(
                "https://slsa.dev/provenance/v0.2",
                json!({"builder": {"id": "https://github.com/example/app/actions/runs/1"}, "buildType": "https://mobyproject.org/buildkit@v1"}),
            ),
        )];
        if sbom_for.contains(arch) {
            layers.push(("https://spdx.dev/Document", statement("https://spdx.dev/Document", json!({"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT", "name": "sbom"}))));
        }
        let config = br#"{"architecture":"unknown","os":"unknown","config":{},"rootfs":{"type":"layers","diff_ids":[]}}"#;
        let config_digest = layout.blob(config);
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
            "layers": layers.iter().map(|(t, bytes)| json!({
                "mediaType": "application/vnd.in-toto+json", "digest": layout.blob(bytes), "size": bytes.len(),
                "annotations": {"in-toto.io/predicate-type": t},
            })).collect::<Vec<_>>(),
        });
        let bytes = serde_json::to_vec(&manifest).unwrap();
        let written = layout.manifest(&digest(&bytes), OCI_MANIFEST, &bytes);
        let mut d = written.descriptor();
        d["platform"] = json!({"os": "unknown", "architecture": "unknown"});
        d["annotations"] = json!({"vnd.docker.reference.type": "attestation-manifest", "vnd.docker.reference.digest": image.digest});
        attestations.push(d);
    }
    entries.extend(attestations);
    let index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries});
    layout.manifest("v1", OCI_INDEX, &serde_json::to_vec(&index).unwrap())
}

#[test]
fn buildkit_in_index_attestations_are_required_for_every_platform() {
    let w = World::new();
    let policy = |required: &str| {
        policies(&keyless_policy(
            "bk",
            &World::identity(),
            &format!("    buildkit: {{{required}}}\n"),
        ))
    };
    let mut layout = Layout::new();
    let index = buildkit_index(&mut layout, &["amd64", "arm64"], &["amd64"]);
    w.sign(&mut layout, &index, &SignOptions::default());
    let d = decide(
        &policy("provenance: true"),
        &w.roots,
        &layout,
        REF,
        &index,
        None,
    );
    assert!(d.allowed, "{d:?}");
    // arm64 has no SBOM: the whole image is denied.
    let d = decide(
        &policy("provenance: true, sbom: true"),
        &w.roots,
        &layout,
        REF,
        &index,
        None,
    );
    assert!(!d.allowed);
    assert_eq!(codes(&d), ["buildkit-no-statement"]);
    assert!(d.outcomes[0].failures[0].message.contains("arm64"), "{d:?}");

    // Unsigned index: the signature vouches for everything, so nothing passes.
    let mut layout = Layout::new();
    let index = buildkit_index(&mut layout, &["amd64"], &["amd64"]);
    let d = decide(
        &policy("provenance: true"),
        &w.roots,
        &layout,
        REF,
        &index,
        None,
    );
    assert_eq!(codes(&d), ["no-signatures"]);
    // Signed by someone else.
    let mallory = SignOptions {
        identity: Some(SanIdentity::Email("mallory@example.com".into())),
        ..SignOptions::default()
    };
    w.sign(&mut layout, &index, &mallory);
    let d = decide(
        &policy("provenance: true"),
        &w.roots,
        &layout,
        REF,
        &index,
        None,
    );
    assert_eq!(codes(&d), ["identity-mismatch"]);

    // A single-platform image is not an index.
    let mut layout = Layout::new();
    let image = layout.image("v1", "linux", "amd64");
    w.sign(&mut layout, &image, &SignOptions::default());
    let d = decide(
        &policy("provenance: true"),
        &w.roots,
        &layout,
        REF,
        &image,
        None,
    );
    assert_eq!(codes(&d), ["buildkit-not-an-index"]);
}

#[test]
fn insecure_ignore_sct_skips_only_the_sct_check() {
    let w = World::new();
    let mut layout = Layout::new();
    let image = layout.image("v1", "linux", "amd64");
    let no_sct = SignOptions {
        sct: verify_testkit::SctMode::Missing,
        ..SignOptions::default()
    };
    w.sign(&mut layout, &image, &no_sct);
    let strict = policies(&keyless_policy("p", &World::identity(), ""));
    let d = decide(&strict, &w.roots, &layout, REF, &image, None);
    assert!(!d.allowed);
    assert_eq!(codes(&d), ["sct-invalid"]);
    let lenient = policies(&keyless_policy("p", &World::identity(), "").replace(
        "    keyless:\n",
        "    keyless:\n      insecureIgnoreSCT: true\n",
    ));
    let d = decide(&lenient, &w.roots, &layout, REF, &image, None);
    assert!(d.allowed, "{d:?}");
}

#[test]
fn attestations_as_bundle_referrers() {
    let w = World::new();
    let mut layout = Layout::new();
    let image = layout.image("v1", "linux", "amd64");
    let b = v3_bundle(&w.sigstore, &image, "https://spdx.dev/Document");
    layout.bundle_referrer(&image, &b);
    let policy = |format: &str| {
        policies(&keyless_policy(
            "p",
            &World::identity(),
            &format!("{format}    attestations: [{{name: sbom, predicateType: spdxjson}}]\n"),
        ))
    };
    let d = decide(
        &policy("    signatureFormat: bundle\n"),
        &w.roots,
        &layout,
        REF,
        &image,
        None,
    );
    assert!(d.allowed, "{d:?}");
    // The legacy format reads only cosign's .att tag.
    let d = decide(&policy(""), &w.roots, &layout, REF, &image, None);
    assert_eq!(codes(&d), ["no-attestations"]);
}

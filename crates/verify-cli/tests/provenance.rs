//! `verify provenance` (alias `verify-image`) on the real cosign-saved
//! layouts of the SLSA container generator in the shared conformance data
//! (`../shared` beside the repository), with good and bad flags: exit
//! statuses, reason codes and slsa-verifier's error names.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const CONTAINER_GENERATOR: &str = "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml";
const SOURCE: &str = "github.com/slsa-framework/example-package";

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_verify"))
        .args(args)
        .env_remove("SIGSTORE_ROOT_FILE")
        .output()
        .expect("the verify binary runs")
}

fn json_out(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {:?}; stderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// `oci:<layout>@<digest>` of one generator release's layout.
fn layout(release: &str) -> (PathBuf, String) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!(
        "../../../shared/conformance/slsa/data/gha_generic_container/{release}/container_workflow_dispatch"
    ));
    let digest = std::fs::read_to_string(dir.with_extension("digest")).unwrap_or_else(|e| {
        panic!(
            "the shared conformance data must be at {}: {e}",
            dir.display()
        )
    });
    let image = format!("oci:{}@{}", dir.display(), digest.trim());
    (dir, image)
}

fn verify_image(image: &str, flags: &[&str]) -> Output {
    let mut args = vec!["verify-image", "--source-uri", SOURCE, "-o", "json"];
    args.extend_from_slice(flags);
    args.push(image);
    run(&args)
}

fn assert_rejected(output: &Output, status: i32, code: &str, upstream: &str) {
    let json = json_out(output);
    assert_eq!(output.status.code(), Some(status), "{json}");
    assert_eq!(json["verified"], false, "{json}");
    assert_eq!(json["reason"]["code"], code, "{json}");
    assert_eq!(json["reason"]["slsa_verifier_error"], upstream, "{json}");
}

#[test]
fn tag_push_image_passes_with_matching_flags() {
    let (_, image) = layout("v1.10.0");
    let digest = image.rsplit('@').next().unwrap().to_string();
    for flags in [
        &[][..],
        &["--source-tag", "v13.0.30"],
        &["--source-versioned-tag", "v13"],
        &["--source-branch", "main"],
        &["--builder-id", &format!("{CONTAINER_GENERATOR}@v1.10.0")],
        &["--builder-id", CONTAINER_GENERATOR],
    ] {
        let out = verify_image(&image, flags);
        let json = json_out(&out);
        assert_eq!(out.status.code(), Some(0), "{flags:?}: {json}");
        assert_eq!(json["verified"], true);
        assert_eq!(json["path"], "slsa-cosign-attestation");
        assert_eq!(json["digest"], digest);
        assert_eq!(
            json["provenance"]["builder_id"],
            format!("{CONTAINER_GENERATOR}@refs/tags/v1.10.0")
        );
        assert_eq!(
            json["provenance"]["source_repository"],
            "slsa-framework/example-package"
        );
        assert_eq!(json["provenance"]["subject_digest"], digest);
    }
    // --print-provenance prints the statement, in text mode on stdout.
    let out = run(&[
        "provenance",
        "--source-uri",
        SOURCE,
        "--print-provenance",
        &image,
    ]);
    assert_eq!(out.status.code(), Some(0));
    let statement: Value = serde_json::from_slice(&out.stdout).expect("the statement");
    assert_eq!(
        statement["predicateType"],
        "https://slsa.dev/provenance/v0.2"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("PASSED: SLSA verification passed"));
}

#[test]
fn wrong_flags_fail_with_slsa_verifier_errors() {
    let (_, image) = layout("v1.10.0");
    let cases: [(&[&str], &str, &str); 5] = [
        (
            &["--source-tag", "v13.0.29"],
            "slsa-mismatch-tag",
            "ErrorMismatchTag",
        ),
        (
            &["--source-versioned-tag", "v12"],
            "slsa-mismatch-versioned-tag",
            "ErrorMismatchVersionedTag",
        ),
        (
            &["--source-branch", "master"],
            "slsa-mismatch-branch",
            "ErrorMismatchBranch",
        ),
        (
            &["--builder-id", "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/not-trusted.yml"],
            "slsa-untrusted-reusable-workflow",
            "ErrorUntrustedReusableWorkflow",
        ),
        (
            &["--builder-id", &format!("{CONTAINER_GENERATOR}@v1.9.0")],
            "slsa-untrusted-reusable-workflow",
            "ErrorUntrustedReusableWorkflow",
        ),
    ];
    for (flags, code, upstream) in cases {
        assert_rejected(&verify_image(&image, flags), 1, code, upstream);
    }
    let out = run(&[
        "provenance",
        "--source-uri",
        "github.com/slsa-framework/example-packageA",
        "-o",
        "json",
        &image,
    ]);
    assert_rejected(&out, 1, "slsa-mismatch-source", "ErrorMismatchSource");
}

#[test]
fn branch_build_has_no_tag() {
    let (_, image) = layout("v2.1.0");
    assert_rejected(
        &verify_image(&image, &["--source-tag", "v1.2.3"]),
        1,
        "slsa-invalid-ref",
        "ErrorInvalidRef",
    );
    let out = verify_image(&image, &["--source-branch", "main"]);
    assert_eq!(out.status.code(), Some(0), "{}", json_out(&out));
}

#[test]
fn inputs_are_refused_before_verification() {
    let (dir, _) = layout("v1.10.0");
    // A tag (here: no digest) is mutable.
    let out = verify_image(&format!("oci:{}", dir.display()), &[]);
    assert_rejected(&out, 2, "slsa-mutable-image", "ErrorMutableImage");
    // Builders elsewhere than GitHub have no verifier here.
    let (_, image) = layout("v1.10.0");
    let out = verify_image(
        &image,
        &[
            "--builder-id",
            "https://cloudbuild.googleapis.com/GoogleHostedWorker",
        ],
    );
    assert_rejected(
        &out,
        2,
        "slsa-verifier-not-supported",
        "ErrorVerifierNotSupported",
    );
    // A layout without attestations: none verified.
    let empty = std::env::temp_dir().join(format!("verify-provenance-{}", std::process::id()));
    std::fs::create_dir_all(empty.join("blobs/sha256")).unwrap();
    std::fs::write(
        empty.join("oci-layout"),
        r#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();
    let manifest = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}"#;
    use sha2::Digest as _;
    let hex = hex::encode(sha2::Sha256::digest(manifest));
    std::fs::write(empty.join("blobs/sha256").join(&hex), manifest).unwrap();
    std::fs::write(
        empty.join("index.json"),
        format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:{hex}","size":{}}}]}}"#,
            manifest.len()
        ),
    )
    .unwrap();
    let out = verify_image(&format!("oci:{}@sha256:{hex}", empty.display()), &[]);
    let _ = std::fs::remove_dir_all(&empty);
    assert_rejected(&out, 1, "no-attestations", "ErrorNoValidSignature");
}

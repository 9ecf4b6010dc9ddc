//! `verify artifact` on provenance as slsa-github-generator v1 wrote it: a
//! DSSE envelope whose signature carries the PEM Fulcio certificate, with
//! its Rekor entry embedded (verified offline) or looked up in a
//! Rekor-shaped HTTP log serving the test Sigstore's log.

mod image_env;

use std::path::{Path, PathBuf};
use std::process::Output;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use image_env::{failure_json, rekor_server, verify};
use serde_json::{json, Value};
use verify_testkit::{
    Content, GithubWorkflowClaims, SanIdentity, SignOptions, SignedBundle, TestSigstore,
};

const GENERATOR: &str = "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml";

/// SLSA v0.2 provenance for `acme/app` at tag v1.4.0, signed by the generic
/// generator v1.9.0 (optionally without logging it).
fn options(logged: bool) -> SignOptions {
    let source = "git+https://github.com/acme/app@refs/tags/v1.4.0";
    let sha = "0123456789abcdef0123456789abcdef01234567";
    SignOptions {
        content: Content::Dsse,
        identity: Some(SanIdentity::Uri(format!("{GENERATOR}@refs/tags/v1.9.0"))),
        github: Some(GithubWorkflowClaims::new(
            "acme/app",
            ".github/workflows/release.yml",
            "refs/tags/v1.4.0",
            sha,
        )),
        tlog_entry: logged,
        predicate_type: "https://slsa.dev/provenance/v0.2".into(),
        predicate: json!({
            "builder": {"id": format!("{GENERATOR}@refs/tags/v1.9.0")},
            "buildType": "https://github.com/slsa-framework/slsa-github-generator/generic@v1",
            "invocation": {
                "configSource": {"uri": source, "digest": {"sha1": sha}, "entryPoint": ".github/workflows/release.yml"},
                "environment": {
                    "github_ref_type": "tag", "github_ref": "refs/tags/v1.4.0", "github_base_ref": "",
                    "github_event_name": "push", "github_event_payload": {"base_ref": "refs/heads/main"},
                },
            },
            "materials": [{"uri": source, "digest": {"sha1": sha}}],
        }),
        ..SignOptions::default()
    }
}

/// The bare `.intoto.jsonl` envelope of a signed DSSE bundle, with the
/// leaf certificate as PEM in its signature.
fn envelope(signed: &SignedBundle) -> Value {
    let bundle: Value = serde_json::from_str(&signed.to_json()).expect("bundle JSON");
    let env = &bundle["dsseEnvelope"];
    let der = signed.certificate.as_ref().expect("keyless");
    let body = STANDARD.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let pem = format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        lines.join("\n")
    );
    json!({
        "payloadType": env["payloadType"],
        "payload": env["payload"],
        "signatures": [{"keyid": "", "sig": env["signatures"][0]["sig"], "cert": pem}],
    })
}

struct Dir(PathBuf);

impl Dir {
    fn new(test: &str) -> Self {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "verify-cli-artifact-dsse-{test}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the test directory");
        Self(dir)
    }

    fn write(&self, name: &str, bytes: &[u8]) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, bytes).expect("write a test file");
        path.display().to_string()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn code(output: &Output) -> (i32, String, String) {
    let v = failure_json(output);
    (
        output.status.code().unwrap_or(-1),
        v["reason"]["code"].as_str().unwrap_or_default().to_string(),
        v["reason"]["slsa_verifier_error"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

#[test]
fn dsse_envelopes_with_embedded_or_looked_up_rekor_entries() {
    let sigstore = TestSigstore::new();
    let dir = Dir::new("lookups");
    let root = dir.write("trusted_root.json", sigstore.trusted_root_json().as_bytes());
    let artifact = b"app binary v1\n";
    let app = dir.write("app", artifact);

    // Logged provenance, and provenance the log never saw.
    let logged = sigstore.sign(artifact, &options(true)).expect("signs");
    let entry = logged.log_entry.clone().expect("logged");
    let mut unlogged_options = options(false);
    unlogged_options.artifact_name = "unlogged".into();
    let unlogged = sigstore.sign(artifact, &unlogged_options).expect("signs");
    assert!(unlogged.log_entry.is_none());

    let server = rekor_server(sigstore.rekor().clone());
    let rekor_url = server.url();
    let run = |provenance: &Value, extra: &[&str]| {
        let name = format!("p{}.intoto.jsonl", rand_suffix(provenance));
        let path = dir.write(&name, &serde_json::to_vec(provenance).unwrap());
        let mut args = vec![
            "artifact",
            "--trusted-root",
            &root,
            "--provenance-path",
            &path,
            "--source-tag",
            "v1.4.0",
            "--output",
            "json",
        ];
        if !extra.contains(&"--source-uri") {
            args.extend_from_slice(&["--source-uri", "github.com/acme/app"]);
        }
        args.extend_from_slice(extra);
        args.push(&app);
        verify(&args)
    };
    let ok = |out: &Output| {
        assert_eq!(
            out.status.code(),
            Some(0),
            "stdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };

    // 1. Embedded entries, offline, in each accepted shape.
    let mut embedded = envelope(&logged);
    embedded["rekorEntry"] = sigstore.rekor().rekor_v1_entry_json(&entry).unwrap();
    ok(&run(&embedded, &["--offline"]));
    let mut unwrapped = envelope(&logged);
    let (_, inner) = embedded["rekorEntry"]
        .as_object()
        .unwrap()
        .iter()
        .next()
        .unwrap();
    unwrapped["rekorEntry"] = inner.clone();
    ok(&run(&unwrapped, &["--offline"]));
    let mut cosign_shape = envelope(&logged);
    cosign_shape["rekorBundle"] = json!({
        "SignedEntryTimestamp": STANDARD.encode(&entry.signed_entry_timestamp),
        "Payload": {
            "body": STANDARD.encode(&entry.body),
            "integratedTime": entry.integrated_time.as_second(),
            "logIndex": entry.log_index,
            "logID": hex::encode(sigstore.rekor().log_id()),
        },
    });
    ok(&run(&cosign_shape, &["--offline"]));
    let bundle: Value = serde_json::from_str(&logged.to_json()).unwrap();
    let mut bundle_shape = envelope(&logged);
    bundle_shape["tlogEntries"] = bundle["verificationMaterial"]["tlogEntries"].clone();
    ok(&run(&bundle_shape, &["--offline"]));

    // A corrupted SET is refused.
    let mut bad_set = cosign_shape.clone();
    bad_set["rekorBundle"]["SignedEntryTimestamp"] = json!(STANDARD.encode([0u8; 70]));
    let (status, _, name) = code(&run(&bad_set, &["--offline"]));
    assert_eq!((status, name.as_str()), (1, "ErrorInvalidRekorEntry"));

    // 2. The bare envelope: looked up in the test log.
    let bare = envelope(&logged);
    ok(&run(&bare, &["--rekor-url", &rekor_url]));

    // ... but not with --offline.
    assert_eq!(
        code(&run(&bare, &["--offline"])),
        (
            1,
            "provenance-needs-online-lookup".into(),
            "ErrorRekorSearch".into()
        )
    );

    // ... nor when the log never saw it.
    assert_eq!(
        code(&run(&envelope(&unlogged), &["--rekor-url", &rekor_url])),
        (
            1,
            "provenance-rekor-lookup".into(),
            "ErrorRekorSearch".into()
        )
    );

    // The SLSA rules still apply.
    let out = run(
        &bare,
        &[
            "--rekor-url",
            &rekor_url,
            "--source-uri",
            "github.com/acme/other",
        ],
    );
    assert_eq!(
        code(&out),
        (
            1,
            "slsa-mismatch-source".into(),
            "ErrorMismatchSource".into()
        )
    );

    // 3. An entry that records another envelope: embedded, or indexed
    // under this envelope's payload hash in the log.
    let mut other_options = options(true);
    other_options.artifact_name = "another".into();
    let other = sigstore.sign(artifact, &other_options).expect("signs");
    let other_entry = other.log_entry.clone().expect("logged");
    let mut wrong_embedded = envelope(&logged);
    wrong_embedded["rekorEntry"] = sigstore.rekor().rekor_v1_entry_json(&other_entry).unwrap();
    assert_eq!(
        code(&run(&wrong_embedded, &["--offline"])),
        (
            1,
            "provenance-rekor-entry-mismatch".into(),
            "ErrorNoValidRekorEntries".into()
        )
    );
    let unlogged_payload = unlogged.dsse_payload.clone().expect("DSSE");
    let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&unlogged_payload));
    sigstore
        .rekor()
        .append(
            other_entry.kind_version,
            other_entry.body.clone(),
            jiff::Timestamp::now(),
            vec![digest],
        )
        .expect("appends");
    assert_eq!(
        code(&run(&envelope(&unlogged), &["--rekor-url", &rekor_url])),
        (
            1,
            "provenance-rekor-entry-mismatch".into(),
            "ErrorNoValidRekorEntries".into()
        )
    );
}

#[test]
fn a_silent_rekor_ends_at_the_artifacts_deadline() {
    let sigstore = TestSigstore::new();
    let dir = Dir::new("silent");
    let root = dir.write("trusted_root.json", sigstore.trusted_root_json().as_bytes());
    let artifact = b"app binary v1\n";
    let app = dir.write("app", artifact);
    let logged = sigstore.sign(artifact, &options(true)).expect("signs");
    let bare = dir.write(
        "bare.intoto.jsonl",
        &serde_json::to_vec(&envelope(&logged)).unwrap(),
    );
    // A log that accepts connections and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", silent.local_addr().unwrap());
    let held = std::thread::spawn(move || {
        let mut open = Vec::new();
        for stream in silent.incoming().take(8).flatten() {
            open.push(stream);
        }
    });
    let started = std::time::Instant::now();
    let out = verify(&[
        "artifact",
        "--trusted-root",
        &root,
        "--provenance-path",
        &bare,
        "--source-uri",
        "github.com/acme/app",
        "--source-tag",
        "v1.4.0",
        "--rekor-url",
        &url,
        "--timeout",
        "1",
        "--output",
        "json",
        &app,
    ]);
    let elapsed = started.elapsed();
    drop(held);
    assert_eq!(
        code(&out),
        (
            1,
            "provenance-rekor-lookup".into(),
            "ErrorRekorSearch".into()
        ),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // Bounded by --timeout (1 s), not by the client's 30 s request timeout.
    assert!(elapsed < std::time::Duration::from_secs(15), "{elapsed:?}");
}

/// A file name suffix unique to the provenance's content.
fn rand_suffix(provenance: &Value) -> String {
    use sha2::Digest as _;
    hex::encode(&sha2::Sha256::digest(provenance.to_string().as_bytes())[..8])
}

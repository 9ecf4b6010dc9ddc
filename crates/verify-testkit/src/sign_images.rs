//! `verify-testkit sign-images --jobs JOBS.json --out DIR`: cosign
//! signatures for images a test pushed itself (the Go package's tests push
//! a Flux OCI artifact and an image to a real registry, then push these
//! signatures under cosign's `sha256-<hex>.sig` tags).
//!
//! `JOBS.json` is a list of `{"name", "reference", "digest", "mode"}`:
//! `reference` is the `registry/repository` the payload names, `mode` one of
//! `keyless` (the default GitHub Actions identity), `key` (a fresh ECDSA
//! P-256 key, written as `NAME.pub`), `wrong-identity` (keyless, another
//! workflow's identity), `tampered` (keyless, the payload changed after
//! signing), `unlogged` (keyless, logged in the test Rekor but without the
//! bundle annotation: a verifier must look the entry up). `DIR` gets
//! `trusted_root.json`, `identity.json`
//! (`{"subject", "issuer", "wrong_subject"}`), `NAME.layer.json` per
//! job: `{"media_type", "payload_base64", "annotations"}`, one cosign
//! signature layer, and `rekor.json`, the test log as a Rekor v1 API
//! would serve it: `{"index": {"<sha256 hex>": ["<entry id>", ...]},
//! "entries": {"<entry id>": <GET /api/v1/log/entries/{id} answer>}}`.

use std::path::Path;

use base64::{engine::general_purpose::STANDARD, Engine as _};
use serde::Deserialize;
use serde_json::json;
use verify_testkit::cosign::{signature_layer, simple_signing_payload};
use verify_testkit::{KeyKind, SanIdentity, SignOptions, Signer, TestSigstore};

/// The identity of `wrong-identity` signatures.
const WRONG_SUBJECT: &str =
    "https://github.com/mallory/forge/.github/workflows/release.yml@refs/heads/main";

#[derive(Deserialize)]
struct Job {
    name: String,
    reference: String,
    digest: String,
    mode: String,
}

pub fn run(jobs: &Path, out: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let jobs: Vec<Job> = serde_json::from_slice(&std::fs::read(jobs)?)?;
    std::fs::create_dir_all(out)?;
    let sigstore = TestSigstore::try_new()?;
    let defaults = SignOptions::default();
    std::fs::write(out.join("trusted_root.json"), sigstore.trusted_root_json())?;
    std::fs::write(
        out.join("identity.json"),
        json!({
            "subject": defaults.effective_identity().as_str(),
            "issuer": defaults.issuer,
            "wrong_subject": WRONG_SUBJECT,
        })
        .to_string(),
    )?;
    for job in &jobs {
        let payload = simple_signing_payload(&job.reference, &job.digest, None);
        let options = match job.mode.as_str() {
            "keyless" | "tampered" | "unlogged" => SignOptions::default(),
            "key" => SignOptions {
                signer: Signer::Key(KeyKind::EcdsaP256),
                ..SignOptions::default()
            },
            "wrong-identity" => SignOptions {
                identity: Some(SanIdentity::Uri(WRONG_SUBJECT.into())),
                ..SignOptions::default()
            },
            other => return Err(format!("job {}: unknown mode {other:?}", job.name).into()),
        };
        let signed = sigstore.sign(&payload, &options)?;
        let mut layer = signature_layer(&sigstore, &payload, &signed, job.mode != "unlogged")?;
        if job.mode == "key" {
            std::fs::write(
                out.join(format!("{}.pub", job.name)),
                &signed.public_key_pem,
            )?;
        }
        if job.mode == "tampered" {
            // The signed payload, changed after signing: it now names the
            // image under another repository.
            layer.blob = simple_signing_payload(&format!("{}-x", job.reference), &job.digest, None);
        }
        std::fs::write(
            out.join(format!("{}.layer.json", job.name)),
            json!({
                "media_type": layer.media_type,
                "payload_base64": STANDARD.encode(&layer.blob),
                "annotations": layer.annotations,
            })
            .to_string(),
        )?;
    }
    write_log(&sigstore, &out.join("rekor.json"))
}

/// The test log's entries (inclusion proofs for its final size), indexed
/// by digest as Rekor's `/api/v1/index/retrieve` indexes them.
fn write_log(sigstore: &TestSigstore, path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let log = sigstore.rekor();
    let mut index = serde_json::Map::new();
    let mut entries = serde_json::Map::new();
    for position in 0..log.size() {
        let Some(entry) = log.entry(position) else {
            continue;
        };
        let id = log.entry_id(&entry);
        for digest in &entry.indexed_digests {
            if let Some(ids) = index
                .entry(digest.clone())
                .or_insert_with(|| json!([]))
                .as_array_mut()
            {
                ids.push(json!(id));
            }
        }
        entries.insert(id, log.rekor_v1_entry_json(&entry)?);
    }
    std::fs::write(
        path,
        json!({"index": index, "entries": entries}).to_string(),
    )?;
    Ok(())
}

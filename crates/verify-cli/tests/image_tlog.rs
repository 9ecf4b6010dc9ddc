//! Transparency-log lookups that cannot be crowded out: a signature without
//! log evidence, on a real registry, looked up in a Rekor-shaped log whose
//! index lists many more entries under the payload's digest than the
//! genuine one, as anyone can make it do by logging entries under a public
//! digest. The decoys sort before the genuine entry; some cannot be
//! fetched, some are not entries, some are real entries of other
//! signatures. Every entry up to the bound is considered and the failing
//! ones are skipped; past the bound, the lookup fails with its own reason.

mod image_env;
mod image_world;

use std::sync::Arc;

use image_env::*;
use image_world::*;
use verify_testkit::{RekorLog, SignOptions};

/// A decoy entry ID: 80 hex digits that sort before any entry ID the test
/// log makes (its tree ID and leaf hash are not all zeros).
fn decoy(i: usize) -> String {
    format!("{i:080x}")
}

/// The log's REST API, answering a search that finds genuine entries with
/// `decoys` decoy IDs and the IDs of `others` (real entries of other
/// signatures) before them. Decoy `i` is answered 404 when `i` is even,
/// and with a 200 that is not a log entry when odd.
fn crowded_rekor(log: RekorLog, decoys: usize, others: Vec<String>) -> Server {
    Server::start(Arc::new(move |request: Request| {
        if request.method == "POST" && request.path == "/api/v1/index/retrieve" {
            let query: serde_json::Value =
                serde_json::from_slice(&request.body).unwrap_or_default();
            let hash = query["hash"].as_str().unwrap_or_default();
            let genuine: Vec<String> = log
                .find_by_digest(hash)
                .iter()
                .map(|e| log.entry_id(e))
                .collect();
            let mut ids = Vec::new();
            if !genuine.is_empty() {
                ids.extend((0..decoys).map(decoy));
                ids.extend(others.iter().cloned());
            }
            ids.extend(genuine);
            return Response::new(200, serde_json::to_vec(&ids).unwrap())
                .header("content-type", "application/json");
        }
        if let Some(uuid) = request.path.strip_prefix("/api/v1/log/entries/") {
            if let Some(i) = (0..decoys).find(|i| decoy(*i) == uuid) {
                return if i % 2 == 0 {
                    Response::new(404, r#"{"code":404,"message":"entry not found"}"#)
                } else {
                    Response::new(
                        200,
                        format!(r#"{{"{uuid}": {{"body": "bm90IGFuIGVudHJ5"}}}}"#),
                    )
                    .header("content-type", "application/json")
                };
            }
            return match log.entry_by_uuid(uuid) {
                Some(entry) => Response::new(
                    200,
                    serde_json::to_vec(&log.rekor_v1_entry_json(&entry).unwrap()).unwrap(),
                )
                .header("content-type", "application/json"),
                None => Response::new(404, "{}"),
            };
        }
        Response::new(404, "not found")
    }))
}

/// An image signed without a bundle, so that the log must be asked, and
/// the entry IDs of three other signatures in the same log.
fn signed_without_bundle(w: &World) -> (String, Vec<String>) {
    let image = w.pusher.image("app", "v1", "linux", "amd64");
    let (layer, _) = w.signature("app", &image.digest, None, &SignOptions::default(), false);
    w.pusher
        .cosign_manifest("app", &format!("sha256-{}.sig", image.hex()), &[layer]);
    let genuine: Vec<String> = w
        .sigstore
        .rekor()
        .all_entries()
        .iter()
        .map(|e| w.sigstore.rekor().entry_id(e))
        .collect();
    for i in 0..3 {
        let other = w.pusher.image("other", &format!("v{i}"), "linux", "amd64");
        w.signature("other", &other.digest, None, &SignOptions::default(), false);
    }
    let log = w.sigstore.rekor();
    let others = log
        .all_entries()
        .iter()
        .map(|e| log.entry_id(e))
        .filter(|id| !genuine.contains(id))
        .collect();
    (w.by_digest("app", &image), others)
}

#[test]
fn the_genuine_entry_is_found_behind_decoys_and_failing_entries() {
    let w = World::new();
    let (reference, others) = signed_without_bundle(&w);
    assert_eq!(others.len(), 3);
    // 40 decoys and 3 other signatures' entries sort before the genuine
    // one: taking the first 16 by ID, or stopping at the first failing
    // entry, would miss it.
    let rekor = crowded_rekor(w.sigstore.rekor().clone(), 40, others);
    let output = w.run(
        "image",
        &reference,
        &["--rekor-url", &rekor.url(), "-o", "json"],
    );
    assert_status(&output, 0);
    let payloads: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(payloads[0]["optional"]["Subject"], World::identity());
}

#[test]
fn more_entries_than_the_bound_is_its_own_failure() {
    let w = World::new();
    let (reference, others) = signed_without_bundle(&w);
    let rekor = crowded_rekor(w.sigstore.rekor().clone(), 70, others);
    let output = w.run(
        "image",
        &reference,
        &["--rekor-url", &rekor.url(), "-o", "json"],
    );
    assert_status(&output, 1);
    assert_eq!(
        failure_codes(&output),
        (
            "no-matching-signatures".to_string(),
            vec!["tlog-too-many-entries".to_string()]
        )
    );
    let json = failure_json(&output);
    assert_eq!(json["verified"], false, "{json}");
    let message = json["failures"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("74 entries") && message.contains("more than the 64 considered"),
        "{json}"
    );
}

#[test]
fn help_says_which_commands_contact_the_network_and_how_to_prevent_it() {
    let output = verify(&["--help"]);
    assert_status(&output, 0);
    let help = String::from_utf8_lossy(&output.stdout);
    for said in [
        "`blob` and `sbom --file` never contact the network",
        "ask Rekor (--rekor-url) only for a signature without log evidence",
        "unless --offline",
        "`initialize` fetches TUF metadata",
        "`flux-audit` reads registries only",
    ] {
        assert!(help.contains(said), "--help does not say {said:?}:\n{help}");
    }
    let output = verify(&["image", "--help"]);
    assert_status(&output, 0);
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(
        help.contains("contact with Rekor, prevented by --offline"),
        "{help}"
    );
}

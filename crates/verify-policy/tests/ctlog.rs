//! `ctlog.url`: signatures without embedded log evidence are looked up in
//! the transparency log the evaluation is given (here the test Sigstore's
//! own log, answering as Rekor v1's API does), and only in that log.

mod common;

use std::sync::Arc;

use common::*;
use verify_core::tlog_lookup::{LookupError, TransparencyLogLookup};
use verify_policy::{evaluate, EvalContext, ImageAtDigest};
use verify_testkit::{RekorLog, SignOptions};

/// The test Sigstore's log, answering the two Rekor v1 calls in process.
struct Log {
    log: RekorLog,
    url: String,
}

#[async_trait::async_trait]
impl TransparencyLogLookup for Log {
    fn url(&self) -> String {
        self.url.clone()
    }

    async fn search_sha256(&self, sha256: &[u8; 32]) -> Result<Vec<String>, LookupError> {
        Ok(self
            .log
            .find_by_digest(&hex::encode(sha256))
            .iter()
            .map(|e| self.log.entry_id(e))
            .collect())
    }

    async fn entry(&self, uuid: &str) -> Result<Vec<u8>, LookupError> {
        let entry = self
            .log
            .entry_by_uuid(uuid)
            .ok_or_else(|| LookupError::NotFound {
                url: self.url.clone(),
                digest: uuid.to_string(),
            })?;
        Ok(serde_json::to_vec(&self.log.rekor_v1_entry_json(&entry).unwrap()).unwrap())
    }
}

#[test]
fn ctlog_url_looks_missing_evidence_up_in_that_log_only() {
    let w = World::new();
    let mut layout = Layout::new();
    let image = layout.image("v1", "linux", "amd64");
    // Logged, but the layer carries no bundle annotation.
    let (layer, _) = w.signature(&image, &SignOptions::default(), false);
    layout.cosign_manifest(&format!("sha256-{}.sig", image.hex()), &[layer]);
    let log = Arc::new(Log {
        log: w.sigstore.rekor().clone(),
        url: "https://rekor.test".into(),
    });
    let policy = |url: &str| {
        policies(&format!(
            "apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\nmetadata: {{name: p}}\nspec:\n  images: [{{glob: '**'}}]\n  authorities:\n  - name: ci\n    ctlog: {{url: '{url}'}}\n    keyless:\n      identities: [{{issuer: '{ISSUER}', subject: '{}'}}]\n",
            World::identity()
        ))
    };
    let source = layout.source();
    let ctx = EvalContext {
        trust_roots: &w.roots,
        source: &source,
        tlog: Some(log.as_ref()),
        secrets_dir: None,
    };
    let at = ImageAtDigest {
        reference: "registry.test/app:v1".into(),
        digest: image.artifact(),
    };
    let run = |url: &str| {
        let set = policy(url);
        block_on(evaluate(&set.matching(&at.reference), &at, &ctx))
    };
    let d = run("https://rekor.test/");
    assert!(d.allowed, "{d:?}");
    let d = run("https://rekor.elsewhere.example");
    assert!(!d.allowed);
    assert_eq!(codes(&d), ["tlog-url-mismatch"]);

    // An empty log: the entry is not found.
    let empty = Log {
        log: RekorLog::new("rekor.test", 1, "https://rekor.test").unwrap(),
        url: "https://rekor.test".into(),
    };
    let ctx = EvalContext {
        tlog: Some(&empty),
        ..ctx
    };
    let set = policy("https://rekor.test");
    let d = block_on(evaluate(&set.matching(&at.reference), &at, &ctx));
    assert!(!d.allowed);
    assert_eq!(codes(&d), ["tlog-entry-not-found"]);
}

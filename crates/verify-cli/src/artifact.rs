//! `verify artifact`: files against their SLSA provenance
//! (slsa-verifier's `verify-artifact`).

use std::fs::File;
use std::process::ExitCode;
use std::sync::OnceLock;
use std::time::Duration;

use verify_core::bundle::{read_bounded, ReadError};
use verify_core::slsa::{
    same_builder, verify_artifact_provenance_with, ArtifactProvenanceRequest, FileDigest,
    FileDigests, LogAccess, ProvenanceOptions, SlsaError,
};
use verify_core::tlog_lookup::{LookupError, TransparencyLogLookup};
use verify_core::Limits;
use verify_registry::{Budget, RekorClient, RetryPolicy, Timeouts};

use crate::cli::{ArtifactArgs, SlsaArgs};
use crate::output;

pub async fn run(args: &ArtifactArgs) -> ExitCode {
    let format = args.output;
    let limits = Limits::default();
    let verifier = match crate::trust::load_verifier(args.trusted_root.as_deref(), &limits)
        .map_err(|e| e.to_string())
    {
        Ok(v) => v,
        Err(message) => return output::usage(format, &message),
    };
    let provenance = match read_bounded(&args.provenance_path, limits.max_bundle_bytes) {
        Ok(bytes) => bytes,
        Err(ReadError::Io(e)) => {
            return output::usage(
                format,
                &format!(
                    "cannot read --provenance-path {}: {e}",
                    args.provenance_path.display()
                ),
            )
        }
        Err(ReadError::TooLarge { limit, found }) => {
            return output::slsa_failure(format, None, &SlsaError::TooLarge { limit, found })
        }
    };
    let options = provenance_options(&args.slsa);
    let rekor = LazyRekor {
        url: args.rekor_url.clone(),
        client: OnceLock::new(),
    };

    let mut results = Vec::with_capacity(args.artifacts.len());
    for path in &args.artifacts {
        // One deadline and byte budget for everything one artifact's
        // verification reads (its Rekor lookups), retries included.
        let budgeted = Budgeted {
            rekor: &rekor,
            budget: Budget::new(Duration::from_secs(args.timeout), LOOKUP_BYTE_BUDGET),
        };
        let log = if args.offline {
            LogAccess::Offline
        } else {
            LogAccess::Online(&budgeted)
        };
        let digests = match File::open(path).and_then(FileDigests::of_reader) {
            Ok(d) => d,
            Err(e) => {
                return output::usage(
                    format,
                    &format!("cannot read artifact {}: {e}", path.display()),
                )
            }
        };
        let request = ArtifactProvenanceRequest {
            provenance: &provenance,
            artifact: FileDigest::Both(&digests),
            options: &options,
        };
        match verify_artifact_provenance_with(&verifier, &request, log).await {
            Ok(v) => {
                output::slsa_artifact_passed(format, path, &v);
                results.push(v);
            }
            Err(e) => return output::slsa_failure(format, Some(path), &e),
        }
    }
    if let Err(e) = same_builder(&results) {
        return output::slsa_failure(format, None, &e);
    }
    output::slsa_success(
        format,
        &args.artifacts,
        &results,
        args.slsa.print_provenance,
    )
}

/// The user's expectations, from the flags.
pub fn provenance_options(slsa: &SlsaArgs) -> ProvenanceOptions {
    ProvenanceOptions {
        source_uri: slsa.source_uri.clone(),
        source_branch: slsa.source_branch.clone(),
        source_tag: slsa.source_tag.clone(),
        source_versioned_tag: slsa.source_versioned_tag.clone(),
        builder_id: slsa.builder_id.clone(),
        // Later keys overwrite earlier ones, as with slsa-verifier.
        workflow_inputs: slsa.build_workflow_input.iter().cloned().collect(),
    }
}

/// The Rekor client, built on the first lookup only (bundles and envelopes
/// with an embedded entry never contact the log).
struct LazyRekor {
    url: String,
    client: OnceLock<Result<RekorClient, String>>,
}

impl LazyRekor {
    fn get(&self) -> Result<&RekorClient, LookupError> {
        self.client
            .get_or_init(|| {
                RekorClient::new(&self.url, Timeouts::default(), RetryPolicy::default())
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|detail| LookupError::Unreachable {
                url: self.url.clone(),
                detail: detail.clone(),
            })
    }
}

/// Bytes of Rekor answers one artifact's verification may read in all.
const LOOKUP_BYTE_BUDGET: u64 = 64 * 1024 * 1024;

/// The shared Rekor client under one artifact's [`Budget`].
struct Budgeted<'a> {
    rekor: &'a LazyRekor,
    budget: Budget,
}

#[async_trait::async_trait]
impl TransparencyLogLookup for Budgeted<'_> {
    fn url(&self) -> String {
        self.rekor.url.clone()
    }

    async fn search_sha256(&self, sha256: &[u8; 32]) -> Result<Vec<String>, LookupError> {
        let client = self.rekor.get()?.clone().with_budget(&self.budget);
        client.search_sha256(sha256).await
    }

    async fn entry(&self, uuid: &str) -> Result<Vec<u8>, LookupError> {
        let client = self.rekor.get()?.clone().with_budget(&self.budget);
        client.entry(uuid).await
    }
}

//! The one place the core's image and artifact verification is called.
//!
//! The core's image API is async (branch `net`): these are futures for the
//! caller's runtime, and dropping one cancels its registry requests. The
//! checks of fetched bytes run inline (CPU work; the engine bounds how
//! many verifications run at once). Blob and file checks are synchronous
//! CPU work without I/O.

use std::sync::Arc;
use std::time::Duration;

use verify_core::artifact::Artifact;
use verify_core::cosign::{self, predicate_type_uri, CheckOptions};
use verify_core::oci::{ManifestRef, OciLimits};
use verify_core::slsa::{
    verify_artifact_provenance, verify_image_provenance, ArtifactProvenanceRequest, FileDigest,
    ImageProvenanceRequest,
};
use verify_core::tlog_lookup::TransparencyLogLookup;
use verify_core::{ArtifactDigest, Policy, Verifier};
use verify_registry::{
    Budget, Credential, Credentials, ImageReference, RegistryClient, Repository,
};

use crate::report::{ApiError, ArtifactReport, ImageVerdict};
use crate::request::SlsaSpec;

/// Bytes one image verification may read from registries in all.
const IMAGE_BYTE_BUDGET: u64 = 64 * 1024 * 1024;

/// What an image job verifies.
pub(crate) enum ImageCheck {
    /// Signatures, by any of these signers (tried in turn).
    Signatures(Vec<Policy>),
    /// Attestations of this predicate type, by any of these signers.
    Attestations(Vec<Policy>, String),
    /// SLSA provenance.
    Slsa(SlsaSpec),
}

/// One image verification.
pub(crate) struct ImageJob {
    pub verifier: Arc<Verifier>,
    /// The engine's client (no credentials of its own).
    pub client: RegistryClient,
    /// The caller's credentials, for the reference's registry only.
    pub credentials: Option<(String, String)>,
    pub reference: ImageReference,
    /// The reference as the caller wrote it (for errors).
    pub asked: String,
    pub check: ImageCheck,
    pub check_claims: bool,
    pub annotations: std::collections::BTreeMap<String, String>,
    /// The log to look up signatures without log evidence in (none: no
    /// lookup).
    pub rekor_url: Option<String>,
    pub budget: Budget,
}

impl ImageJob {
    pub(crate) fn new_budget(deadline: Duration) -> Budget {
        Budget::new(deadline, IMAGE_BYTE_BUDGET)
    }

    /// The repository for this call: one deadline and byte budget for all
    /// its requests, and the caller's credentials for its registry only
    /// (never kept by the engine).
    fn repository(&self) -> Repository {
        let mut repository = self
            .client
            .repository(&self.reference)
            .with_budget(&self.budget);
        if let Some((username, password)) = &self.credentials {
            let credentials = Credentials::new().with(
                &self.reference.api_host,
                Credential::Basic {
                    username: username.clone(),
                    password: password.clone(),
                },
            );
            repository = repository.with_credentials(Arc::new(credentials));
        }
        repository
    }
}

/// Resolve the reference's tag to a digest (a digest is returned as is).
pub(crate) async fn resolve(job: &ImageJob) -> Result<ArtifactDigest, ApiError> {
    if let Some(digest) = job.reference.digest {
        return Ok(digest);
    }
    let repository = job.repository();
    let reference = job.reference.manifest_ref();
    cosign::resolve(&repository, &reference, &OciLimits::default())
        .await
        .map(|fetched| fetched.digest)
        .map_err(|e| ApiError::image(&job.asked, &e.into()))
}

/// Verify the image at `digest`.
pub(crate) async fn verify(
    job: &ImageJob,
    digest: &ArtifactDigest,
) -> Result<ImageVerdict, ApiError> {
    let repository = job.repository();
    let name = job.reference.name();
    // The log client shares the registry client's connections and proxy,
    // and this call's deadline and byte budget.
    let rekor = job
        .rekor_url
        .as_deref()
        .map(|url| job.client.rekor(url).with_budget(&job.budget));
    let tlog = rekor.as_ref().map(|r| r as &dyn TransparencyLogLookup);
    let mut last = None;
    match &job.check {
        ImageCheck::Slsa(spec) => {
            let options = spec.options();
            let request = ImageProvenanceRequest {
                source: &repository,
                image: digest,
                limits: OciLimits::default(),
                options: &options,
            };
            return verify_image_provenance(&job.verifier, &request)
                .await
                .map(|v| ImageVerdict::from_provenance(name, &v))
                .map_err(|e| ApiError::image_provenance(&job.asked, &e));
        }
        ImageCheck::Signatures(policies) => {
            let options = check_options(job, tlog);
            for policy in policies {
                let check = cosign::Check {
                    verifier: &job.verifier,
                    source: &repository,
                    policy,
                    options: &options,
                };
                match cosign::verify_image_signatures(&check, digest).await {
                    Ok(sigs) => return Ok(ImageVerdict::from_signatures(name, *digest, &sigs)),
                    Err(e) => last = Some(ApiError::image(&job.asked, &e)),
                }
            }
        }
        ImageCheck::Attestations(policies, predicate) => {
            let uri = predicate_type_uri(predicate).map_err(ApiError::request)?;
            let options = check_options(job, tlog);
            for policy in policies {
                let check = cosign::Check {
                    verifier: &job.verifier,
                    source: &repository,
                    policy,
                    options: &options,
                };
                match cosign::verify_image_attestations(&check, digest, Some(&uri)).await {
                    Ok(atts) => return Ok(ImageVerdict::from_attestations(name, *digest, &atts)),
                    Err(e) => last = Some(ApiError::image(&job.asked, &e)),
                }
            }
        }
    }
    Err(last.unwrap_or_else(|| ApiError::request("no signer given")))
}

/// The core's options: without a configured log, the log is never queried
/// (the evidence must travel with the signature), as for Flux's key mode.
fn check_options<'a>(
    job: &ImageJob,
    tlog: Option<&'a dyn TransparencyLogLookup>,
) -> CheckOptions<'a> {
    CheckOptions {
        limits: OciLimits::default(),
        annotations: job.annotations.clone(),
        insecure_skip_claims: !job.check_claims,
        // Without a log, a signature without evidence fails as "no log is
        // configured" (code `tlog-lookup-offline`), not as an --offline
        // refusal.
        offline: false,
        tlog,
    }
}

/// Verify a blob against its bundle, by any of `policies` (tried in turn).
pub(crate) fn verify_blob(
    verifier: &Verifier,
    artifact: &ArtifactDigest,
    bundle: &[u8],
    policies: &[Policy],
) -> Result<ArtifactReport, ApiError> {
    let mut last = None;
    for policy in policies {
        match verifier.verify_bundle(bundle, Artifact::Digest(*artifact), policy) {
            Ok(verified) => return Ok(ArtifactReport::Blob(verified)),
            Err(e) => last = Some(ApiError::verify(&e)),
        }
    }
    Err(last.unwrap_or_else(|| ApiError::request("no signer given")))
}

/// Verify a file's SLSA provenance (offline: the log entry must be in it).
pub(crate) fn verify_file_provenance(
    verifier: &Verifier,
    artifact: &ArtifactDigest,
    provenance: &[u8],
    spec: &SlsaSpec,
) -> Result<ArtifactReport, ApiError> {
    let options = spec.options();
    let request = ArtifactProvenanceRequest {
        provenance,
        artifact: FileDigest::Sha256(artifact),
        options: &options,
    };
    verify_artifact_provenance(verifier, &request)
        .map(|p| ArtifactReport::Slsa {
            digest: *artifact,
            provenance: Box::new(p),
        })
        .map_err(|e| ApiError::slsa(&artifact.to_string(), &e))
}

/// `ManifestRef` of a reference, for cache keys.
pub(crate) fn pinned(reference: &ImageReference) -> Option<ArtifactDigest> {
    match reference.manifest_ref() {
        ManifestRef::Digest(d) => Some(d),
        ManifestRef::Tag(_) => None,
    }
}

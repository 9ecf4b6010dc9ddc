//! The one place the core's (synchronous) image and artifact verification
//! is called.
//!
//! Everything here runs on a blocking thread of the caller's runtime
//! ([`tokio::task::spawn_blocking`], started by [`crate::engine`]); the
//! registry client blocks on its own HTTP runtime. When the core's image
//! API becomes async (branch `net`), these functions become `async` and the
//! `spawn_blocking` in the engine goes away; nothing else changes.

use std::sync::Arc;
use std::time::Duration;

use verify_core::artifact::Artifact;
use verify_core::cosign::{self, predicate_type_uri, CheckOptions};
use verify_core::oci::{ManifestRef, OciLimits};
use verify_core::slsa::{verify_artifact_provenance, verify_image_provenance};
use verify_core::{ArtifactDigest, Policy, Verifier};
use verify_registry::{ImageReference, RegistryClient};

use crate::report::{ApiError, ArtifactReport, ImageVerdict};
use crate::request::SlsaSpec;

/// What an image job verifies.
pub(crate) enum ImageCheck {
    /// Signatures, by any of these signers (tried in turn).
    Signatures(Vec<Policy>),
    /// Attestations of this predicate type, by any of these signers.
    Attestations(Vec<Policy>, String),
    /// SLSA provenance.
    Slsa(SlsaSpec),
}

/// One image verification, owned so that it can move to a blocking thread.
pub(crate) struct ImageJob {
    pub verifier: Arc<Verifier>,
    /// The engine's anonymous client.
    pub client: RegistryClient,
    /// The configuration for a per-call client, when the caller sent
    /// credentials (built on the blocking thread, where its runtime may
    /// also be dropped).
    pub with_credentials: Option<verify_registry::RegistryConfig>,
    pub reference: ImageReference,
    /// The reference as the caller wrote it (for errors).
    pub asked: String,
    pub check: ImageCheck,
    pub check_claims: bool,
    pub annotations: std::collections::BTreeMap<String, String>,
    pub deadline: Duration,
}

impl ImageJob {
    /// The client for this call: the engine's, or one with the caller's
    /// credentials, dropped with the call.
    pub(crate) fn client(&self) -> Result<RegistryClient, ApiError> {
        match &self.with_credentials {
            None => Ok(self.client.clone()),
            Some(config) => RegistryClient::new(config.clone()).map_err(|e| ApiError::Internal {
                detail: e.to_string(),
            }),
        }
    }
}

/// Resolve the reference's tag to a digest (a digest is returned as is).
pub(crate) fn resolve(job: &ImageJob, client: &RegistryClient) -> Result<ArtifactDigest, ApiError> {
    if let Some(digest) = job.reference.digest {
        return Ok(digest);
    }
    let repository = client
        .repository(&job.reference)
        .with_deadline(job.deadline);
    let reference = job.reference.manifest_ref();
    cosign::resolve(&repository, &reference, &OciLimits::default())
        .map(|fetched| fetched.digest)
        .map_err(|e| ApiError::image(&job.asked, &e.into()))
}

/// Verify the image at `digest`.
pub(crate) fn verify(
    job: &ImageJob,
    client: &RegistryClient,
    digest: &ArtifactDigest,
) -> Result<ImageVerdict, ApiError> {
    let repository = client
        .repository(&job.reference)
        .with_deadline(job.deadline);
    let name = job.reference.name();
    let mut last = None;
    match &job.check {
        ImageCheck::Slsa(spec) => {
            return verify_image_provenance(
                &repository,
                digest,
                &job.verifier,
                &OciLimits::default(),
                &spec.options(),
            )
            .map(|v| ImageVerdict::from_provenance(name, &v))
            .map_err(|e| ApiError::image_provenance(&job.asked, &e));
        }
        ImageCheck::Signatures(policies) => {
            for policy in policies {
                let options = check_options(job, policy);
                match cosign::verify_image_signatures(
                    &repository,
                    digest,
                    &job.verifier,
                    policy,
                    &options,
                ) {
                    Ok(sigs) => return Ok(ImageVerdict::from_signatures(name, *digest, &sigs)),
                    Err(e) => last = Some(ApiError::image(&job.asked, &e)),
                }
            }
        }
        ImageCheck::Attestations(policies, predicate) => {
            let uri = predicate_type_uri(predicate).map_err(ApiError::request)?;
            for policy in policies {
                let options = check_options(job, policy);
                match cosign::verify_image_attestations(
                    &repository,
                    digest,
                    &job.verifier,
                    policy,
                    &options,
                    Some(&uri),
                ) {
                    Ok(atts) => return Ok(ImageVerdict::from_attestations(name, *digest, &atts)),
                    Err(e) => last = Some(ApiError::image(&job.asked, &e)),
                }
            }
        }
    }
    Err(last.unwrap_or_else(|| ApiError::request("no signer given")))
}

/// The core's options for one signer: the log is never queried (the
/// evidence must travel with the signature), as for Flux's key mode.
fn check_options<'a>(job: &ImageJob, _policy: &Policy) -> CheckOptions<'a> {
    CheckOptions {
        limits: OciLimits::default(),
        annotations: job.annotations.clone(),
        check_claims: job.check_claims,
        offline: true,
        tlog: None,
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
    verify_artifact_provenance(verifier, provenance, artifact, &spec.options())
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

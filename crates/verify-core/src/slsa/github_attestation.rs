//! GitHub artifact attestations (`actions/attest-build-provenance`), with
//! slsa-verifier's `verify-github-attestation` semantics.
//!
//! The attestation is a Sigstore bundle (a DSSE envelope is refused) with a
//! SLSA v1 statement of build type
//! `https://actions.github.io/buildtypes/workflow/v1`. The same rules as
//! for files apply (`super::verify`), with three differences taken from
//! slsa-verifier:
//!
//! - no builder is trusted by default: `--builder-id` names the reusable
//!   workflow that signed (the certificate's SAN), pinned at a release tag;
//! - only builders whose provenance slsa-verifier can read are accepted:
//!   bazel-contrib's ruleset releaser and BCR publisher; provenance from any
//!   other signer is `ErrorInvalidBuilderID`;
//! - the trigger is `externalParameters.workflow` (`git+<repository>@<ref>`),
//!   the source the first resolved dependency, and the artifact is matched
//!   by SHA-256.
//!
//! The provenance's `runDetails.builder.id` must be the certificate's
//! workflow with its ref, exactly.

use super::artifact::{verify_with_entries, ArtifactProvenanceRequest};
use super::builder::TrustedBuilders;
use super::error::SlsaError;
use super::verify::VerifiedProvenance;
use crate::Verifier;

/// Verify a GitHub artifact attestation bundle (`request.provenance`) for
/// the file `request.artifact`. GitHub's attestations name files by
/// SHA-256, so only that digest is compared.
pub fn verify_github_attestation(
    verifier: &Verifier,
    request: &ArtifactProvenanceRequest<'_>,
) -> Result<VerifiedProvenance, SlsaError> {
    // A bundle carries its own log entry: no lookup is made (`None`).
    verify_with_entries(
        verifier,
        request.provenance,
        request.artifact.sha256(),
        None,
        request.options,
        None,
        &TrustedBuilders::GITHUB_ATTESTATION,
    )
}

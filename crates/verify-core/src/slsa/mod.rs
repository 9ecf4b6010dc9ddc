//! SLSA provenance from GitHub's trusted builders, with slsa-verifier's
//! semantics.
//!
//! Provenance is trusted because of *who signed it*: a reusable workflow of
//! `slsa-framework/slsa-github-generator`, isolated from the repository that
//! calls it, signs with a Fulcio certificate naming itself (the SAN) and the
//! calling repository (the CI claims). So verification has two halves:
//!
//! 1. cryptography, delegated to [`crate::Verifier`] with
//!    [`crate::IdentityPolicy::any_identity`]: the bundle is genuine and
//!    logged, whoever signed it;
//! 2. the rules in [`verify::verify_provenance`], on the verified
//!    certificate claims and statement: the signer is a trusted builder
//!    pinned at a release, the source is the repository the user named, the
//!    artifact is a subject, and the branch, tag, version and workflow
//!    inputs are what the user asked for.
//!
//! | rule | module |
//! |---|---|
//! | provenance input (bundle vs bare DSSE), offline verification | `artifact` |
//! | DSSE envelopes with a certificate: embedded or looked-up Rekor entry | `dsse_provenance` |
//! | container images: cosign attestations, first passing wins | [`image`] |
//! | certificate claims → workflow identity | `workflow` |
//! | trusted builders, `--builder-id`, builder refs | [`builder`] |
//! | SLSA v0.2 / v1.0 statements, build types | [`provenance`] |
//! | `--source-uri` | `source` |
//! | subject digest | `subject` |
//! | `--source-branch`, `--source-tag`, `--source-versioned-tag` | `git_ref` (with `semver`) |
//! | recorded GitHub context, `--build-workflow-input` | `github_env` |
//! | order of the rules | `verify` |
//!
//! Every failure is a [`SlsaError`] named after slsa-verifier's error.
//! Deliberately not supported: slsa-verifier's `SLSA_VERIFIER_TESTING`
//! relaxations (builders at `refs/heads/main`), Rekor searches for DSSE
//! envelopes without a certificate, and the Google Cloud Build verifier.
//! GitHub artifact attestations are in [`github_attestation`], VSAs in [`vsa`],
//! npm packages in [`npm_package`].

pub(crate) mod artifact;
pub mod builder;
pub(crate) mod dsse_provenance;
pub mod error;
pub(crate) mod git_ref;
pub mod github_attestation;
pub(crate) mod github_env;
pub mod image;
pub mod npm;
mod npm_builder;
mod npm_certificate;
pub mod npm_keys;
pub mod npm_package;
pub mod provenance;
pub(crate) mod semver;
pub(crate) mod source;
pub(crate) mod subject;
pub(crate) mod verify;
pub mod vsa;
pub(crate) mod workflow;

pub use artifact::{
    verify_artifact_provenance, verify_artifact_provenance_with, ArtifactProvenanceRequest,
    FileDigest, FileDigests, LogAccess,
};
pub use builder::TrustedBuilders;
pub use error::SlsaError;
pub use image::{
    verify_image_provenance, ImageProvenanceError, ImageProvenanceRequest, VerifiedImageProvenance,
};
pub use verify::{
    same_builder, verify_provenance, ProvenanceCheck, ProvenanceOptions, VerifiedBuild,
    VerifiedProvenance,
};

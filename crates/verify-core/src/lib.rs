//! # verify-core
//!
//! Verification of software supply-chain evidence: Sigstore bundles, container
//! image signatures and attestations, SLSA provenance and SPDX SBOMs, all built
//! on the same pieces.
//!
//! The entry point is [`Verifier`]: build it once from a [`TrustRoot`] (the
//! trust material is parsed and its own certificate chains are checked at
//! load), share it across threads (`Verifier: Send + Sync`; every cache it
//! keeps is its own, `signature_memo.rs` documents the one process-wide hook, a
//! `sigstore-crypto` provider that consults the running verifier's memo),
//! and call [`Verifier::verify_bundle`] for each bundle.
//!
//! The calls, each taking the shared [`Verifier`] and one request:
//!
//! | evidence | call | request | result (all `Serialize`) |
//! |---|---|---|---|
//! | a Sigstore bundle for a blob | [`Verifier::verify_bundle`] | bytes, [`Artifact`], [`Policy`] | [`Verified`] |
//! | an image reference (tag or digest, `--platform`) | [`cosign::verify_image`] | [`cosign::Check`], [`cosign::ImageRequest`] | [`cosign::ImageVerdict`] |
//! | an image digest's signatures | [`cosign::verify_image_signatures`] | [`cosign::Check`], digest | [`cosign::VerifiedSignature`]s |
//! | an image digest's attestations | [`cosign::verify_image_attestations`] | [`cosign::Check`], digest, predicate type | [`cosign::VerifiedAttestation`]s |
//! | BuildKit's in-index statements | [`buildkit::verify_in_index_statement`] | [`cosign::Check`], [`buildkit::InIndexRequest`] | [`buildkit::InIndexStatement`] |
//! | a file's SLSA provenance | [`slsa::verify_artifact_provenance`] (offline), [`slsa::verify_artifact_provenance_with`] (log lookups) | [`slsa::ArtifactProvenanceRequest`] | [`slsa::VerifiedProvenance`] |
//! | an image's SLSA provenance | [`slsa::verify_image_provenance`] | [`slsa::ImageProvenanceRequest`] | [`slsa::VerifiedImageProvenance`] |
//! | SLSA rules on already-verified facts | [`slsa::verify_provenance`] | [`slsa::ProvenanceCheck`] | [`slsa::VerifiedProvenance`] |
//! | a GitHub artifact attestation | [`slsa::github_attestation::verify_github_attestation`] | [`slsa::ArtifactProvenanceRequest`] | [`slsa::VerifiedProvenance`] |
//! | an npm package | [`slsa::npm_package::verify_npm_package`] | [`slsa::npm_package::NpmPackageRequest`] | [`slsa::npm_package::VerifiedNpmPackage`] |
//! | a VSA | [`slsa::vsa::verify_vsa`] | [`slsa::vsa::VsaRequest`] | [`slsa::vsa::VerifiedVsa`] |
//! | an SPDX SBOM | [`sbom::read`] (a stream), [`sbom::read_seekable`], [`sbom::read_file`] (path, [`sbom::SbomLimits`]), then [`sbom::Sbom::validate`] | [`sbom::SbomRequest`] | [`sbom::SbomReport`] |
//!
//! Provenance results share [`slsa::VerifiedBuild`] (builder, delegation,
//! source, commit, predicate and build type), flattened into their JSON.
//!
//! Where each check lives:
//!
//! | check | module |
//! |---|---|
//! | trusted root parsing, `validFor` windows, CA/TSA chains | [`trust_root`] |
//! | bundle size limit, JSON parsing, media types | [`bundle`] |
//! | certificate identity (email, URI or Fulcio username `otherName`) / issuer / GitHub workflow claims | [`identity`] |
//! | artifact binding (message digest, DSSE subjects; SHA-256, SHA-384, SHA-512) | [`artifact`] |
//! | in-toto statements: subjects, payload type, SLSA predicate types | `intoto` (private) |
//! | Fulcio chain, SCT, Rekor SET, inclusion proof, checkpoint, RFC 3161 | delegated to `sigstore-verify`, driven and mapped in [`verifier`] |
//! | verdict cache for repeated bundles | [`cache`] |
//! | memo of signatures already verified (trust-root chains, repeated SETs) | `signature_memo` (private) |
//! | OCI manifests and blobs: size bounds, digest checks, the [`oci::ImageSource`] trait | [`oci`], [`oci_layout`] |
//! | container image signatures and attestations (cosign's formats, OCI referrers) | [`cosign`] |
//! | BuildKit's in-index attestations, by hash chain from the signed index | [`buildkit`] |
//! | bundles sigstore-verify cannot take (a DSSE statement naming the artifact by SHA-384 alone; DSSE and message signatures whose only verified times are fractional RFC 3161 timestamps): all of its checks, in its order | `bundle_direct` (private) |
//! | Fulcio chain and SCT for evidence bundles cannot carry (Rekor `intoto` / `rekord` v0.0.1, fractional RFC 3161 times) | `fulcio` (private) |
//! | RFC 3161 tokens, including `genTime` with fractional seconds | `tsa` (private) |
//! | looking signatures without log evidence up in Rekor | [`tlog_lookup`] |
//! | reading Rekor v1 entries: the log's answers, cosign's SET bundle, entries embedded in DSSE files | `rekor_entry` (private) |
//! | SLSA provenance: trusted builders, source, refs, subjects (slsa-verifier's rules) | [`slsa`] |
//! | SPDX SBOMs: lenient streaming parse, validation, NTIA minimum elements | [`sbom`] |
//! | every hash we compute (on aws-lc-rs, inside the FIPS module in the FIPS build) | [`digest`] |
//! | FIPS mode: start-up check, algorithms refused in the FIPS build | [`fips`] |
//!
//! Every failure is a [`VerifyError`] whose variants say what was expected and
//! what was found; [`VerifyError::code`] is a stable machine-readable reason.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod artifact;
pub mod buildkit;
pub mod bundle;
mod bundle_direct;
pub mod cache;
pub mod cosign;
pub mod digest;
pub mod error;
pub mod fips;
pub(crate) mod fulcio;
pub mod identity;
pub(crate) mod intoto;
pub mod limits;
pub mod oci;
pub mod oci_layout;
pub mod outcome;
mod rekor_entry;
pub mod sbom;
pub(crate) mod signature_memo;
pub mod slsa;
pub mod tlog_lookup;
mod trust_chain;
pub mod trust_root;
mod tsa;
pub mod verifier;

pub use artifact::{Artifact, ArtifactDigest, DigestAlgorithm, TypedDigest};
pub use error::VerifyError;
pub use identity::{GithubWorkflowPolicy, IdentityPolicy, KeyPolicy, Policy, StringMatcher};
pub use limits::Limits;
pub use outcome::{CertificateClaims, SignerKind, Verified};
pub use trust_root::{TrustRoot, TrustRootError};
pub use verifier::Verifier;

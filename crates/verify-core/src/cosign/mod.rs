//! Container image signatures and attestations, as cosign makes them.
//!
//! [`verify_image_signatures`] and [`verify_image_attestations`] take a
//! [`Check`] (an [`ImageSource`]: a registry repository, a local layout, or
//! the caller's own; a [`Verifier`] built once and shared; a [`Policy`]; the
//! [`CheckOptions`]) and the image's manifest digest, and return what
//! verified. They look in every place cosign writes:
//!
//! 1. cosign's tag scheme: the manifest tagged `sha256-<hex>.sig` (or
//!    `.att`), one signature per layer, its evidence in the layer's
//!    annotations (`legacy`): assembled into a Sigstore bundle and verified
//!    by the [`Verifier`] (SET, certificate chain at the log's time, SCT,
//!    signature, log-entry consistency). Attestations logged as Rekor
//!    `intoto` v0.0.1, which bundles cannot carry, are verified with the same
//!    primitives (the private `intoto_v001` module). A signature without a
//!    bundle annotation is looked up in the transparency log
//!    ([`crate::tlog_lookup`]), unless `offline`;
//! 2. Sigstore bundles (cosign v3's format) attached as OCI 1.1 referrers,
//!    found through the referrers API or, when the source has none, the
//!    referrers tag schema (`sha256-<hex>`). Each referrer manifest is read
//!    by digest and its bundle verified before anything in it is believed;
//!    for signatures, the bundle must be cosign's signing statement
//!    (predicate `https://sigstore.dev/cosign/sign/v1`).
//!
//! Then the claims ([`claims`]): the signed payload must name this image's
//! digest (cosign's `--check-claims`, on by default) and carry the required
//! annotations.
//!
//! Outcomes are distinct: nothing found ([`ImageError::NotFound`]);
//! candidates found but none verified ([`ImageError::NoneVerified`], with one
//! reason per candidate); and a source that could not be read
//! ([`ImageError::Source`]), which fails closed.
//!
//! The referrers are consulted only when the tag scheme yields no verified
//! signature, so the common case costs one manifest and one blob read per
//! signature.

pub mod claims;
mod discovery;
mod error;
mod evidence;
pub(crate) mod intoto_v001;
mod key;
pub(crate) mod legacy;
pub mod platform;
pub mod predicate;
mod referrer;
mod rekord;
mod tag_scheme;
mod timestamp;

use std::collections::BTreeMap;

pub use claims::ClaimError;
pub use error::{CandidateError, CandidateFailure, ImageError};

use discovery::{bundle_referrers, tag_scheme_layers};
use error::malformed;
use evidence::{verify_with_log_evidence, Bound};
use key::{direct_dsse_signature, direct_message_signature};
pub use platform::{verify_image, Evidence, ImageRequest, ImageVerdict, PlatformVerdict};
pub use predicate::predicate_type_uri;
use referrer::{first_subject, signature_from_bundle, verify_bundle_referrer, ReferrerWork};
use tag_scheme::{verify_legacy_attestation, verify_legacy_signature};
use timestamp::verify_envelope_timestamp;

use crate::artifact::ArtifactDigest;
use crate::identity::Policy;
use crate::oci::{
    attestation_tag, fetch_manifest, signature_tag, FetchedManifest, ImageSource, ManifestRef,
    OciLimits, SourceError,
};
use crate::outcome::Verified;
use crate::tlog_lookup::TransparencyLogLookup;
use crate::Verifier;

/// Artifact type of Sigstore bundle referrers (and their layer media type).
pub const BUNDLE_ARTIFACT_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// Predicate type of cosign v3's image signing statement.
pub const COSIGN_SIGN_PREDICATE: &str = "https://sigstore.dev/cosign/sign/v1";
pub use crate::intoto::IN_TOTO_PAYLOAD_TYPE;

/// How signatures are looked for and what their claims must say.
///
/// The default is the one for servers: claims checked, no transparency-log
/// lookup.
#[derive(Clone, Default)]
pub struct CheckOptions<'a> {
    /// Size and count bounds.
    pub limits: OciLimits,
    /// Annotations every signature must carry (`-a key=value`).
    pub annotations: BTreeMap<String, String>,
    /// INSECURE: do not check that the signed payload names the image
    /// (cosign's `--check-claims=false`). Off by default; with it, a
    /// signature made for *another* image verifies for this one. Ignored
    /// (forced off) on the BuildKit in-index path, where the index
    /// signature vouches for every statement reached from it.
    pub insecure_skip_claims: bool,
    /// Never ask the transparency log: signatures without log evidence fail.
    pub offline: bool,
    /// The transparency log to look evidence up in, for signatures that
    /// carry none. `None` (the default, the right one for servers): no
    /// lookup, such signatures fail with [`crate::tlog_lookup::LookupError::NoLog`].
    pub tlog: Option<&'a dyn TransparencyLogLookup>,
}

/// What every image call needs besides the image itself: where to read,
/// which trust material verifies, which signers are accepted, and how.
///
/// Cheap to copy (four references); one per request, reused for each image
/// or platform the request reaches.
#[derive(Clone, Copy)]
pub struct Check<'a> {
    /// The verifier, built once from the trust root and shared.
    pub verifier: &'a Verifier,
    /// Where the image, its signatures and attestations are read.
    pub source: &'a dyn ImageSource,
    /// Which signers are accepted (identity or key).
    pub policy: &'a Policy,
    /// How signatures are looked for and what their claims must say.
    pub options: &'a CheckOptions<'a>,
}

/// Where a signature or attestation was found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Origin {
    /// A layer of cosign's `sha256-<hex>.sig`/`.att` manifest.
    Tag {
        /// The tag.
        tag: String,
        /// The manifest's digest.
        manifest: ArtifactDigest,
        /// The layer's position.
        layer: usize,
    },
    /// A Sigstore bundle referrer manifest.
    Referrer {
        /// The referrer manifest's digest.
        manifest: ArtifactDigest,
    },
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Tag { tag, layer, .. } => write!(f, "{tag} layer {layer}"),
            Self::Referrer { manifest } => write!(f, "bundle referrer {manifest}"),
        }
    }
}

/// A verified image signature. Serialises to JSON with the payload as
/// base64 and the annotations as they were.
#[derive(Debug, Clone, serde::Serialize)]
pub struct VerifiedSignature {
    /// Where it was found.
    pub origin: Origin,
    /// The signed payload: the simple-signing document, or the in-toto
    /// statement of a bundle.
    #[serde(serialize_with = "base64_bytes")]
    pub payload: Vec<u8>,
    /// The payload as cosign prints it: `{"critical": .., "optional": ..}`
    /// (for bundles, built from the statement as cosign does).
    pub claims: serde_json::Value,
    /// What verification established (signer, log entry, times).
    pub verified: Verified,
    /// The cosign bundle annotation, for the output.
    pub rekor_bundle: Option<serde_json::Value>,
    /// The RFC 3161 timestamp annotation, for the output.
    pub rfc3161_timestamp: Option<serde_json::Value>,
}

/// A verified attestation. Serialises to JSON with the payload as base64.
#[derive(Debug, Clone, serde::Serialize)]
pub struct VerifiedAttestation {
    /// Where it was found.
    pub origin: Origin,
    /// The DSSE envelope as cosign prints it.
    pub envelope: serde_json::Value,
    /// The in-toto statement.
    pub statement: serde_json::Value,
    /// The DSSE payload type of the envelope that verified.
    pub payload_type: String,
    /// The DSSE payload bytes whose signature verified, exactly as
    /// verified (the statement above is parsed from them): judge these, not
    /// a re-decoding of [`VerifiedAttestation::envelope`].
    #[serde(serialize_with = "base64_bytes")]
    pub payload: Vec<u8>,
    /// The statement's predicate type.
    pub predicate_type: String,
    /// What verification established.
    pub verified: Verified,
}

/// Bytes as standard base64 in JSON.
fn base64_bytes<S: serde::Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
    use base64::Engine as _;
    serializer.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// Signatures or attestations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Image signatures.
    Signature,
    /// Attestations.
    Attestation,
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Signature => "signature",
            Self::Attestation => "attestation",
        })
    }
}

/// Resolve `reference` (a tag or a digest) in `source` to its manifest.
pub async fn resolve(
    source: &dyn ImageSource,
    reference: &ManifestRef,
    limits: &OciLimits,
) -> Result<FetchedManifest, SourceError> {
    fetch_manifest(source, reference, limits)
        .await?
        .ok_or_else(|| SourceError::NotFound {
            what: format!("image {}{reference}", source.name()),
        })
}

/// Verify the signatures of the image `image` found in `check.source`.
///
/// Every candidate is verified cryptographically and against `check.policy`
/// before its claims are read; the result lists those that verified and
/// whose claims name `image` (unless `insecure_skip_claims`).
pub async fn verify_image_signatures(
    check: &Check<'_>,
    image: &ArtifactDigest,
) -> Result<Vec<VerifiedSignature>, ImageError> {
    let &Check {
        verifier,
        source,
        policy,
        options,
    } = check;
    let name = format!("{}@{image}", source.name());
    let mut failures = Vec::new();
    let mut verified = Vec::new();

    let tag = signature_tag(image);
    for (origin, layer) in tag_scheme_layers(source, &tag, &name, Kind::Signature, options).await? {
        match verify_legacy_signature(source, image, verifier, policy, options, &layer).await {
            Ok(sig) => verified.push(VerifiedSignature { origin, ..sig }),
            Err(error) => failures.push(CandidateFailure {
                origin,
                error: abort_on_deadline(error)?,
            }),
        }
    }
    if verified.is_empty() {
        let mut work = ReferrerWork::new(&options.limits);
        for (origin, descriptor) in
            bundle_referrers(source, image, &name, Kind::Signature, options).await?
        {
            match verify_bundle_referrer(
                source,
                image,
                verifier,
                policy,
                options,
                &descriptor,
                &mut work,
            )
            .await
            .and_then(|r| signature_from_bundle(source, image, r))
            {
                Ok(sig) => verified.push(VerifiedSignature { origin, ..sig }),
                Err(error) => {
                    if let Some(e) = work.error(Kind::Signature, &name) {
                        return Err(e);
                    }
                    failures.push(CandidateFailure {
                        origin,
                        error: abort_on_deadline(error)?,
                    })
                }
            }
        }
    }
    finish(verified, failures, Kind::Signature, name)
}

/// Verify the attestations of the image `image` found in `check.source`, and keep
/// those whose predicate type is `predicate_type` (a URI; see
/// [`predicate_type_uri`]), or all of them when it is `None`.
///
/// For callers that authorize the signer themselves (SLSA provenance), pass
/// `Policy::Identity(IdentityPolicy::any_identity())` and judge
/// [`Verified::certificate`] of each result.
pub async fn verify_image_attestations(
    check: &Check<'_>,
    image: &ArtifactDigest,
    predicate_type: Option<&str>,
) -> Result<Vec<VerifiedAttestation>, ImageError> {
    let &Check {
        verifier,
        source,
        policy,
        options,
    } = check;
    let name = format!("{}@{image}", source.name());
    let mut failures = Vec::new();
    let mut verified = Vec::new();

    let tag = attestation_tag(image);
    for (origin, layer) in
        tag_scheme_layers(source, &tag, &name, Kind::Attestation, options).await?
    {
        match verify_legacy_attestation(source, image, verifier, policy, options, &layer).await {
            Ok(att) => verified.push(VerifiedAttestation { origin, ..att }),
            Err(error) => failures.push(CandidateFailure {
                origin,
                error: abort_on_deadline(error)?,
            }),
        }
    }
    let wanted_found = |v: &[VerifiedAttestation]| {
        v.iter()
            .any(|a| predicate_type.is_none_or(|p| a.predicate_type == p))
    };
    if !wanted_found(&verified) {
        let mut work = ReferrerWork::new(&options.limits);
        for (origin, descriptor) in
            bundle_referrers(source, image, &name, Kind::Attestation, options).await?
        {
            match verify_bundle_referrer(
                source,
                image,
                verifier,
                policy,
                options,
                &descriptor,
                &mut work,
            )
            .await
            {
                Ok(r) => verified.push(VerifiedAttestation {
                    origin,
                    envelope: r.envelope,
                    predicate_type: r.predicate_type,
                    statement: r.statement,
                    payload_type: r.payload_type,
                    payload: r.payload,
                    verified: r.verified,
                }),
                Err(error) => {
                    if let Some(e) = work.error(Kind::Attestation, &name) {
                        return Err(e);
                    }
                    failures.push(CandidateFailure {
                        origin,
                        error: abort_on_deadline(error)?,
                    })
                }
            }
        }
    }
    let verified = finish(verified, failures, Kind::Attestation, name.clone())?;
    let Some(wanted) = predicate_type else {
        return Ok(verified);
    };
    let found: Vec<String> = verified.iter().map(|a| a.predicate_type.clone()).collect();
    let matching: Vec<VerifiedAttestation> = verified
        .into_iter()
        .filter(|a| a.predicate_type == wanted)
        .collect();
    if matching.is_empty() {
        let mut found = found;
        found.sort();
        found.dedup();
        return Err(ImageError::NoMatchingPredicate {
            image: name,
            wanted: wanted.to_string(),
            found,
        });
    }
    Ok(matching)
}

/// A candidate cut short by the image's overall deadline or byte budget
/// ([`SourceError::DeadlineExceeded`], [`SourceError::BudgetExceeded`],
/// [`SourceError::RetryAfterBeyondDeadline`]) ends the whole image: every later
/// read would fail the same way, and the time, not the candidate, is at
/// fault.
fn abort_on_deadline(error: CandidateError) -> Result<CandidateError, ImageError> {
    match error {
        CandidateError::Source(
            e @ (SourceError::DeadlineExceeded { .. }
            | SourceError::BudgetExceeded { .. }
            | SourceError::RetryAfterBeyondDeadline { .. }),
        ) => Err(e.into()),
        other => Ok(other),
    }
}

fn finish<T>(
    verified: Vec<T>,
    failures: Vec<CandidateFailure>,
    kind: Kind,
    image: String,
) -> Result<Vec<T>, ImageError> {
    if !verified.is_empty() {
        return Ok(verified);
    }
    if failures.is_empty() {
        return Err(ImageError::NotFound { kind, image });
    }
    Err(ImageError::NoneVerified {
        kind,
        image,
        failures,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_and_digests_serialise_as_front_ends_print_them() {
        let manifest = ArtifactDigest([0xab; 32]);
        let json = serde_json::to_value(Origin::Tag {
            tag: "sha256-ab.sig".into(),
            manifest,
            layer: 1,
        })
        .unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "kind": "tag",
                "tag": "sha256-ab.sig",
                "manifest": format!("sha256:{}", "ab".repeat(32)),
                "layer": 1,
            })
        );
        let json = serde_json::to_value(Origin::Referrer { manifest }).unwrap();
        assert_eq!(json["kind"], "referrer");
        assert_eq!(
            base64_bytes(b"hi", serde_json::value::Serializer).unwrap(),
            "aGk="
        );
    }
}

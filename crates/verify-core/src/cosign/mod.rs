//! Container image signatures and attestations, as cosign makes them.
//!
//! [`verify_image_signatures`] and [`verify_image_attestations`] take an
//! [`ImageSource`] (a registry repository, a local layout, or the caller's
//! own), the image's manifest digest, a [`Verifier`] and a [`Policy`], and
//! return what verified. They look in every place cosign writes:
//!
//! 1. cosign's tag scheme: the manifest tagged `sha256-<hex>.sig` (or
//!    `.att`), one signature per layer, its evidence in the layer's
//!    annotations ([`legacy`]): assembled into a Sigstore bundle and verified
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
mod intoto_v001;
pub mod legacy;
pub mod predicate;
mod rekord;

use std::collections::BTreeMap;

use sigstore_types::SignatureContent;

pub use claims::{ClaimError, SimpleSigning};
pub use predicate::predicate_type_uri;

use crate::artifact::{Artifact, ArtifactDigest};
use crate::error::{TimestampError, TlogError, VerifyError};
use crate::identity::{Policy, PolicyError};
use crate::oci::{
    attestation_tag, fetch_blob, fetch_manifest, referrers_tag, signature_tag, Descriptor,
    FetchedManifest, ImageSource, Manifest, ManifestRef, OciLimits, SourceError,
};
use crate::outcome::{SignerKind, Verified};
use crate::tlog_lookup::{find_entries, LookupError, TransparencyLogLookup};
use crate::Verifier;
use legacy::{Envelope, LayerEvidence, Signed};

/// Artifact type of Sigstore bundle referrers (and their layer media type).
pub const BUNDLE_ARTIFACT_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// Predicate type of cosign v3's image signing statement.
pub const COSIGN_SIGN_PREDICATE: &str = "https://sigstore.dev/cosign/sign/v1";
pub use crate::intoto::IN_TOTO_PAYLOAD_TYPE;

/// How signatures are looked for and what their claims must say.
#[derive(Clone)]
pub struct CheckOptions<'a> {
    /// Size and count bounds.
    pub limits: OciLimits,
    /// Annotations every signature must carry (`-a key=value`).
    pub annotations: BTreeMap<String, String>,
    /// Check that the signed payload names the image (default on).
    pub check_claims: bool,
    /// Never ask the transparency log: signatures without log evidence fail.
    pub offline: bool,
    /// The transparency log to look evidence up in, for signatures that
    /// carry none.
    pub tlog: Option<&'a dyn TransparencyLogLookup>,
}

impl Default for CheckOptions<'_> {
    fn default() -> Self {
        Self {
            limits: OciLimits::default(),
            annotations: BTreeMap::new(),
            check_claims: true,
            offline: false,
            tlog: None,
        }
    }
}

/// Where a signature or attestation was found.
#[derive(Debug, Clone, PartialEq, Eq)]
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

/// A verified image signature.
#[derive(Debug, Clone)]
pub struct VerifiedSignature {
    /// Where it was found.
    pub origin: Origin,
    /// The signed payload: the simple-signing document, or the in-toto
    /// statement of a bundle.
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

/// A verified attestation.
#[derive(Debug, Clone)]
pub struct VerifiedAttestation {
    /// Where it was found.
    pub origin: Origin,
    /// The DSSE envelope as cosign prints it.
    pub envelope: serde_json::Value,
    /// The in-toto statement.
    pub statement: serde_json::Value,
    /// The statement's predicate type.
    pub predicate_type: String,
    /// What verification established.
    pub verified: Verified,
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

/// Why one candidate signature or attestation was rejected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CandidateError {
    /// Its cryptographic verification or signer policy failed.
    #[error(transparent)]
    Verify(#[from] VerifyError),
    /// It verified but does not claim this image (or the annotations).
    #[error(transparent)]
    Claims(#[from] ClaimError),
    /// Its log evidence could not be looked up.
    #[error(transparent)]
    Lookup(#[from] LookupError),
    /// Its content could not be read.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// It is not a well-formed cosign signature, attestation or bundle.
    #[error("{detail}")]
    Malformed {
        /// Why.
        detail: String,
    },
}

impl CandidateError {
    /// A stable, machine-readable reason code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Verify(e) => e.code(),
            Self::Claims(ClaimError::DigestMismatch { .. } | ClaimError::NotASubject { .. }) => {
                "claims-image-mismatch"
            }
            Self::Claims(ClaimError::Annotation { .. }) => "claims-annotation-mismatch",
            Self::Claims(_) => "claims-malformed",
            Self::Lookup(LookupError::Offline | LookupError::NoLog) => "tlog-lookup-offline",
            Self::Lookup(LookupError::NotFound { .. }) => "tlog-entry-not-found",
            Self::Lookup(_) => "tlog-lookup-failed",
            // Content a candidate refers to is missing: say so, rather than
            // suggesting that the image itself is absent.
            Self::Source(SourceError::BlobNotFound { .. }) => "signature-blob-missing",
            Self::Source(SourceError::NotFound { .. }) => "signature-manifest-missing",
            Self::Source(e) => e.code(),
            Self::Malformed { .. } => "signature-malformed",
        }
    }
}

fn malformed(detail: impl Into<String>) -> CandidateError {
    CandidateError::Malformed {
        detail: detail.into(),
    }
}

/// One rejected candidate.
#[derive(Debug)]
pub struct CandidateFailure {
    /// Where it was found.
    pub origin: Origin,
    /// Why it was rejected.
    pub error: CandidateError,
}

/// Why an image did not verify.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImageError {
    /// The image, its signatures or its referrers could not be read.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// Nothing was found where signatures (attestations) live.
    #[error("no {kind}s found for {image}")]
    NotFound {
        /// Signatures or attestations.
        kind: Kind,
        /// The image.
        image: String,
    },
    /// Candidates were found but none verified.
    #[error("{} {kind}(s) found for {image}, none matched:{}", failures.len(), failures.iter().map(|f| format!("\n  - {}: {} [{}]", f.origin, f.error, f.error.code())).collect::<String>())]
    NoneVerified {
        /// Signatures or attestations.
        kind: Kind,
        /// The image.
        image: String,
        /// Why each candidate was rejected, in the order found.
        failures: Vec<CandidateFailure>,
    },
    /// Attestations verified but none has the predicate type asked for.
    #[error("{image}: none of the verified attestations has predicate type {wanted}; found: {}", if found.is_empty() { "none".to_string() } else { found.join(", ") })]
    NoMatchingPredicate {
        /// The image.
        image: String,
        /// The predicate type asked for.
        wanted: String,
        /// The predicate types of the attestations that verified.
        found: Vec<String>,
    },
    /// More candidates than the limit.
    #[error("{image} has more than {limit} {kind}s; refusing to verify them all")]
    TooMany {
        /// Signatures or attestations.
        kind: Kind,
        /// The image.
        image: String,
        /// The limit.
        limit: usize,
    },
}

impl ImageError {
    /// A stable, machine-readable reason code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Source(e) => e.code(),
            Self::NotFound {
                kind: Kind::Signature,
                ..
            } => "no-signatures",
            Self::NotFound { .. } => "no-attestations",
            Self::NoneVerified {
                kind: Kind::Signature,
                ..
            } => "no-matching-signatures",
            Self::NoneVerified { .. } => "no-matching-attestations",
            Self::NoMatchingPredicate { .. } => "no-matching-predicate",
            Self::TooMany { .. } => "too-many-signatures",
        }
    }
}

/// Resolve `reference` (a tag or a digest) in `source` to its manifest.
pub fn resolve(
    source: &dyn ImageSource,
    reference: &ManifestRef,
    limits: &OciLimits,
) -> Result<FetchedManifest, SourceError> {
    fetch_manifest(source, reference, limits)?.ok_or_else(|| SourceError::NotFound {
        what: format!("image {}{reference}", source.name()),
    })
}

/// Verify the signatures of the image `image` found in `source`.
///
/// Every candidate is verified cryptographically and against `policy`
/// before its claims are read; the result lists those that verified and
/// whose claims name `image` (unless `check_claims` is off).
pub fn verify_image_signatures(
    source: &dyn ImageSource,
    image: &ArtifactDigest,
    verifier: &Verifier,
    policy: &Policy,
    options: &CheckOptions<'_>,
) -> Result<Vec<VerifiedSignature>, ImageError> {
    let name = format!("{}@{image}", source.name());
    let mut failures = Vec::new();
    let mut verified = Vec::new();

    let tag = signature_tag(image);
    for (origin, layer) in tag_scheme_layers(source, &tag, &name, Kind::Signature, options)? {
        match verify_legacy_signature(source, image, verifier, policy, options, &layer) {
            Ok(sig) => verified.push(VerifiedSignature { origin, ..sig }),
            Err(error) => failures.push(CandidateFailure {
                origin,
                error: abort_on_deadline(error)?,
            }),
        }
    }
    if verified.is_empty() {
        for (origin, descriptor) in
            bundle_referrers(source, image, &name, Kind::Signature, options)?
        {
            match verify_bundle_referrer(source, image, verifier, policy, options, &descriptor)
                .and_then(|r| signature_from_bundle(source, image, r))
            {
                Ok(sig) => verified.push(VerifiedSignature { origin, ..sig }),
                Err(error) => failures.push(CandidateFailure {
                    origin,
                    error: abort_on_deadline(error)?,
                }),
            }
        }
    }
    finish(verified, failures, Kind::Signature, name)
}

/// Verify the attestations of the image `image` found in `source`, and keep
/// those whose predicate type is `predicate_type` (a URI; see
/// [`predicate_type_uri`]), or all of them when it is `None`.
///
/// For callers that authorize the signer themselves (SLSA provenance), pass
/// `Policy::Identity(IdentityPolicy::any_identity())` and judge
/// [`Verified::certificate`] of each result.
pub fn verify_image_attestations(
    source: &dyn ImageSource,
    image: &ArtifactDigest,
    verifier: &Verifier,
    policy: &Policy,
    options: &CheckOptions<'_>,
    predicate_type: Option<&str>,
) -> Result<Vec<VerifiedAttestation>, ImageError> {
    let name = format!("{}@{image}", source.name());
    let mut failures = Vec::new();
    let mut verified = Vec::new();

    let tag = attestation_tag(image);
    for (origin, layer) in tag_scheme_layers(source, &tag, &name, Kind::Attestation, options)? {
        match verify_legacy_attestation(source, image, verifier, policy, options, &layer) {
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
        for (origin, descriptor) in
            bundle_referrers(source, image, &name, Kind::Attestation, options)?
        {
            match verify_bundle_referrer(source, image, verifier, policy, options, &descriptor) {
                Ok(r) => verified.push(VerifiedAttestation {
                    origin,
                    envelope: r.envelope,
                    predicate_type: r.predicate_type,
                    statement: r.statement,
                    verified: r.verified,
                }),
                Err(error) => failures.push(CandidateFailure {
                    origin,
                    error: abort_on_deadline(error)?,
                }),
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

/// A candidate cut short by the image's overall deadline
/// ([`SourceError::DeadlineExceeded`]) ends the whole image: every later
/// read would fail the same way, and the time, not the candidate, is at
/// fault.
fn abort_on_deadline(error: CandidateError) -> Result<CandidateError, ImageError> {
    match error {
        CandidateError::Source(e @ SourceError::DeadlineExceeded { .. }) => Err(e.into()),
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

/// The layers of cosign's `.sig`/`.att` manifest, if it exists.
fn tag_scheme_layers(
    source: &dyn ImageSource,
    tag: &str,
    name: &str,
    kind: Kind,
    options: &CheckOptions<'_>,
) -> Result<Vec<(Origin, Descriptor)>, ImageError> {
    let Some(fetched) = fetch_manifest(source, &ManifestRef::Tag(tag.into()), &options.limits)?
    else {
        return Ok(Vec::new());
    };
    let Manifest::Image(manifest) = fetched.manifest else {
        return Err(SourceError::Malformed {
            what: format!("{}:{tag}", source.name()),
            detail: "expected an image manifest of signature layers, found an index".into(),
        }
        .into());
    };
    if manifest.layers.len() > options.limits.max_signatures {
        return Err(ImageError::TooMany {
            kind,
            image: name.to_string(),
            limit: options.limits.max_signatures,
        });
    }
    Ok(manifest
        .layers
        .into_iter()
        .enumerate()
        .map(|(layer, d)| {
            (
                Origin::Tag {
                    tag: tag.to_string(),
                    manifest: fetched.digest,
                    layer,
                },
                d,
            )
        })
        .collect())
}

/// The Sigstore bundle referrers of `image`: the referrers API, or the
/// referrers tag schema when the source has none.
fn bundle_referrers(
    source: &dyn ImageSource,
    image: &ArtifactDigest,
    name: &str,
    kind: Kind,
    options: &CheckOptions<'_>,
) -> Result<Vec<(Origin, Descriptor)>, ImageError> {
    let limits = &options.limits;
    let index = match source.referrers(image, limits.max_manifest_bytes)? {
        Some(raw) => {
            if raw.bytes.len() > limits.max_manifest_bytes {
                return Err(SourceError::TooLarge {
                    what: format!("referrers of {name}"),
                    limit: limits.max_manifest_bytes as u64,
                    found: raw.bytes.len() as u64,
                }
                .into());
            }
            match Manifest::parse(
                &raw.bytes,
                raw.media_type.as_deref(),
                &format!("referrers of {name}"),
            )? {
                Manifest::Index(index) => index,
                Manifest::Image(_) => {
                    return Err(SourceError::Malformed {
                        what: format!("referrers of {name}"),
                        detail: "expected an image index".into(),
                    }
                    .into())
                }
            }
        }
        None => match fetch_manifest(source, &ManifestRef::Tag(referrers_tag(image)), limits)? {
            Some(FetchedManifest {
                manifest: Manifest::Index(index),
                ..
            }) => index,
            // A manifest under that tag that is not an index is not a
            // referrers list.
            _ => return Ok(Vec::new()),
        },
    };
    let bundles: Vec<Descriptor> = index
        .manifests
        .into_iter()
        .filter(|d| {
            d.artifact_type
                .as_deref()
                .is_some_and(|t| t.starts_with("application/vnd.dev.sigstore.bundle"))
        })
        .collect();
    if bundles.len() > limits.max_signatures {
        return Err(ImageError::TooMany {
            kind,
            image: name.to_string(),
            limit: limits.max_signatures,
        });
    }
    bundles
        .into_iter()
        .map(|d| {
            Ok((
                Origin::Referrer {
                    manifest: d.sha256()?,
                },
                d,
            ))
        })
        .collect()
}

fn verify_legacy_signature(
    source: &dyn ImageSource,
    image: &ArtifactDigest,
    verifier: &Verifier,
    policy: &Policy,
    options: &CheckOptions<'_>,
    layer: &Descriptor,
) -> Result<VerifiedSignature, CandidateError> {
    let payload = fetch_blob(source, layer, options.limits.max_payload_bytes)?;
    let evidence = LayerEvidence::from_annotations(&layer.annotations, true).map_err(malformed)?;
    let keyless = matches!(policy, Policy::Identity(_));
    if keyless && evidence.certificate.is_none() {
        return Err(VerifyError::from(PolicyError::WrongBundleKind {
            expected: "a keyless signature with a Fulcio certificate",
            found: "a signature without a certificate",
        })
        .into());
    }
    let payload_sha256 = *sigstore_crypto::sha256(&payload).as_bytes();
    let verified = if let Some(rekor) = evidence.rekor.as_ref().filter(|r| rekord::applies(r)) {
        rekord::verify(verifier, policy, &payload, &evidence, rekor)?
    } else {
        verify_with_log_evidence(
            verifier,
            policy,
            options,
            &evidence,
            &payload_sha256,
            &payload_sha256,
            &|entries, with_timestamps| {
                let mut evidence = evidence.clone();
                if !with_timestamps {
                    evidence.rfc3161 = None;
                }
                vec![legacy::synthesize(
                    &evidence,
                    keyless,
                    Signed::Message(&payload),
                    entries,
                )]
            },
            Bound::Bytes(&payload),
            &|| direct_message_signature(policy, &evidence.signature, &payload),
        )?
    };
    let claims: serde_json::Value = serde_json::from_slice(&payload).map_err(|e| {
        CandidateError::Claims(ClaimError::Malformed {
            detail: e.to_string(),
        })
    })?;
    if options.check_claims {
        SimpleSigning::parse(&payload)?.check(image, &options.annotations)?;
    }
    Ok(VerifiedSignature {
        origin: Origin::Referrer { manifest: *image },
        payload,
        claims,
        verified,
        rekor_bundle: evidence.rekor_json.clone(),
        rfc3161_timestamp: evidence.rfc3161_json.clone(),
    })
}

fn verify_legacy_attestation(
    source: &dyn ImageSource,
    image: &ArtifactDigest,
    verifier: &Verifier,
    policy: &Policy,
    options: &CheckOptions<'_>,
    layer: &Descriptor,
) -> Result<VerifiedAttestation, CandidateError> {
    let bytes = fetch_blob(source, layer, options.limits.max_payload_bytes)?;
    let mut evidence =
        LayerEvidence::from_annotations(&layer.annotations, false).map_err(malformed)?;
    let envelope = Envelope::parse(&bytes).map_err(malformed)?;
    if envelope.payload_type != IN_TOTO_PAYLOAD_TYPE {
        return Err(malformed(format!(
            "DSSE payload type is {:?}, expected {IN_TOTO_PAYLOAD_TYPE}",
            envelope.payload_type
        )));
    }
    let statement: serde_json::Value = serde_json::from_slice(&envelope.payload)
        .map_err(|e| malformed(format!("the DSSE payload is not an in-toto statement: {e}")))?;
    let predicate_type = statement
        .get("predicateType")
        .and_then(|p| p.as_str())
        .ok_or_else(|| malformed("the in-toto statement has no predicateType"))?
        .to_string();
    let keyless = matches!(policy, Policy::Identity(_));
    if keyless && evidence.certificate.is_none() {
        return Err(VerifyError::from(PolicyError::WrongBundleKind {
            expected: "a keyless attestation with a Fulcio certificate",
            found: "an attestation without a certificate",
        })
        .into());
    }
    // cosign timestamps an attestation's envelope, not its signature: verify
    // it here, against the envelope bytes; it is not part of the bundle.
    if let Some(token) = evidence.rfc3161.take() {
        verify_envelope_timestamp(verifier, &token, &bytes, evidence.certificate.as_ref())?;
    }
    let binding = if options.check_claims {
        *image
    } else {
        first_subject(&statement).unwrap_or(*image)
    };
    let envelope_sha256 = *sigstore_crypto::sha256(&bytes).as_bytes();
    let payload_sha256 = *sigstore_crypto::sha256(&envelope.payload).as_bytes();
    let verified = match &evidence.rekor {
        Some(rekor)
            if rekor
                .kind()
                .is_some_and(|(k, v)| k == "intoto" && v == "0.0.1") =>
        {
            intoto_v001::verify(verifier, policy, &bytes, &envelope, &evidence, rekor)?
        }
        _ => verify_with_log_evidence(
            verifier,
            policy,
            options,
            &evidence,
            &envelope_sha256,
            &payload_sha256,
            &|entries, _| {
                (0..envelope.signatures.len())
                    .filter_map(|i| envelope.with_signature(i))
                    .map(|env| {
                        legacy::synthesize(&evidence, keyless, Signed::Dsse(env), entries.clone())
                    })
                    .collect()
            },
            Bound::Digest(binding),
            &|| direct_dsse_signature(policy, &envelope),
        )?,
    };
    if options.check_claims {
        claims::check_statement(&statement, image, &options.annotations)?;
    }
    Ok(VerifiedAttestation {
        origin: Origin::Referrer { manifest: *image },
        envelope: serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
        statement,
        predicate_type,
        verified,
    })
}

/// Candidate bundles for some log evidence: `(tlog entries, include the
/// RFC 3161 timestamp)` to the bundles to try (one per DSSE signature).
type Synthesize<'a> = dyn Fn(
        Vec<sigstore_types::TransparencyLogEntry>,
        bool,
    ) -> Vec<Result<sigstore_types::Bundle, String>>
    + 'a;

/// Verify a legacy signature or attestation with its log evidence: the
/// bundle annotation's entry; else, with `--insecure-ignore-tlog`, none
/// (a key-based signature is checked directly; a keyless one needs an RFC
/// 3161 timestamp for its certificate); else the entries the log holds for
/// it.
#[allow(clippy::too_many_arguments)]
fn verify_with_log_evidence(
    verifier: &Verifier,
    policy: &Policy,
    options: &CheckOptions<'_>,
    evidence: &LayerEvidence,
    content_sha256: &[u8; 32],
    lookup_sha256: &[u8; 32],
    synthesize: &Synthesize<'_>,
    bound: Bound<'_>,
    direct: &dyn Fn() -> Result<Verified, VerifyError>,
) -> Result<Verified, CandidateError> {
    let ignore_tlog = match policy {
        Policy::Identity(p) => p.insecure_ignore_tlog,
        Policy::Key(k) => k.insecure_ignore_tlog,
    };
    let try_bundles = |bundles: Vec<Result<sigstore_types::Bundle, String>>| {
        let mut last = None;
        for bundle in bundles {
            let bundle = bundle.map_err(malformed)?;
            match verifier.verify_parsed(&bundle, bound.artifact(), policy) {
                Ok(v) => return Ok(v),
                Err(e) => last = Some(e),
            }
        }
        Err(last
            .map(CandidateError::from)
            .unwrap_or_else(|| malformed("no signature to verify")))
    };

    if let Some(rekor) = &evidence.rekor {
        // cosign's check: the logged body records this very content.
        let found = hex::encode(content_sha256);
        match legacy::body_content_hash(&rekor.body) {
            Some((alg, value)) if alg == "sha256" && value == found => {}
            Some((alg, value)) => {
                return Err(VerifyError::from(TlogError::EntryMismatch {
                    detail: format!(
                        "the log entry records {alg}:{value}, the signed content is sha256:{found}"
                    ),
                })
                .into())
            }
            None => {
                return Err(VerifyError::from(TlogError::MalformedEntry {
                    detail: "the log entry records no content hash".into(),
                })
                .into())
            }
        }
        let entry = rekor.tlog_entry().map_err(malformed)?.ok_or_else(|| {
            let (kind, version) = rekor.kind().unwrap_or_default();
            VerifyError::from(TlogError::MalformedEntry {
                detail: format!("log entry kind {kind} {version} cannot carry this signature"),
            })
        })?;
        return try_bundles(synthesize(vec![entry], true));
    }
    if ignore_tlog {
        return match policy {
            Policy::Key(_) => direct().map_err(CandidateError::from),
            Policy::Identity(_) if evidence.rfc3161.is_some() => {
                // Without a log entry the bundle can only be v0.3.
                let bundles = synthesize(Vec::new(), true)
                    .into_iter()
                    .map(|b| b.map(as_v03))
                    .collect();
                try_bundles(bundles)
            }
            Policy::Identity(_) => Err(VerifyError::from(TimestampError::NoVerifiedTime {
                detail: "--insecure-ignore-tlog leaves no verified signing time for the certificate: the signature has no RFC 3161 timestamp".into(),
            })
            .into()),
        };
    }
    if options.offline {
        return Err(LookupError::Offline.into());
    }
    let lookup = options.tlog.ok_or(LookupError::NoLog)?;
    let entries = find_entries(lookup, lookup_sha256)?;
    let mut last = None;
    for entry in entries {
        match try_bundles(synthesize(vec![entry], true)) {
            Ok(v) => return Ok(v),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        LookupError::NotFound {
            url: lookup.url(),
            digest: hex::encode(lookup_sha256),
        }
        .into()
    }))
}

/// What a synthesized bundle is verified against.
#[derive(Clone, Copy)]
enum Bound<'a> {
    /// A signed payload (message signature).
    Bytes(&'a [u8]),
    /// The digest an in-toto statement must name.
    Digest(ArtifactDigest),
}

impl<'a> Bound<'a> {
    fn artifact(self) -> Artifact<'a> {
        match self {
            Self::Bytes(b) => Artifact::Bytes(b),
            Self::Digest(d) => Artifact::Digest(d),
        }
    }
}

/// A bundle without log entries must be v0.3, whose material is the leaf
/// certificate alone.
fn as_v03(mut bundle: sigstore_types::Bundle) -> sigstore_types::Bundle {
    use sigstore_types::bundle::{CertificateContent, VerificationMaterialContent};
    if let VerificationMaterialContent::X509CertificateChain { certificates } =
        &bundle.verification_material.content
    {
        if let Some(leaf) = certificates.first() {
            bundle.verification_material.content = VerificationMaterialContent::Certificate(
                CertificateContent::new(leaf.raw_bytes.clone()),
            );
        }
    }
    bundle.media_type = sigstore_types::MediaType::Bundle0_3;
    bundle
}

/// A key-based signature checked without a log (`--insecure-ignore-tlog`).
fn direct_message_signature(
    policy: &Policy,
    signature: &[u8],
    payload: &[u8],
) -> Result<Verified, VerifyError> {
    let Policy::Key(key) = policy else {
        return Err(PolicyError::WrongBundleKind {
            expected: "a key policy",
            found: "an identity policy",
        }
        .into());
    };
    let scheme = sigstore_crypto::KeyAlgorithm::from_spki(&key.key)
        .map_err(|e| PolicyError::InvalidKey {
            detail: e.to_string(),
        })?
        .default_signing_scheme();
    sigstore_crypto::verify_signature(
        &key.key,
        payload,
        &sigstore_types::SignatureBytes::new(signature.to_vec()),
        scheme,
    )
    .map_err(|e| VerifyError::Signature {
        detail: e.to_string(),
    })?;
    Ok(key_only_verdict(Some(ArtifactDigest::of(payload))))
}

/// A key-based DSSE envelope checked without a log.
fn direct_dsse_signature(policy: &Policy, envelope: &Envelope) -> Result<Verified, VerifyError> {
    let Policy::Key(key) = policy else {
        return Err(PolicyError::WrongBundleKind {
            expected: "a key policy",
            found: "an identity policy",
        }
        .into());
    };
    let scheme = sigstore_crypto::KeyAlgorithm::from_spki(&key.key)
        .map_err(|e| PolicyError::InvalidKey {
            detail: e.to_string(),
        })?
        .default_signing_scheme();
    let pae = sigstore_types::pae(&envelope.payload_type, &envelope.payload);
    let mut last = String::from("no signature");
    for (sig, _) in &envelope.signatures {
        match sigstore_crypto::verify_signature(
            &key.key,
            &pae,
            &sigstore_types::SignatureBytes::new(sig.clone()),
            scheme,
        ) {
            Ok(()) => return Ok(key_only_verdict(None)),
            Err(e) => last = e.to_string(),
        }
    }
    Err(VerifyError::Signature {
        detail: format!("DSSE signature verification failed: {last}"),
    })
}

fn key_only_verdict(artifact: Option<ArtifactDigest>) -> Verified {
    Verified {
        bundle_media_type: "application/vnd.dev.cosign.simplesigning.v1+json".into(),
        signer: SignerKind::PublicKey,
        identity: None,
        issuer: None,
        log_index: None,
        integrated_time: None,
        signed_timestamps: Vec::new(),
        artifact_digest: artifact.map(|d| d.to_string()),
        tlog_verified: false,
        sct_verified: false,
        certificate: None,
    }
}

/// Verify an RFC 3161 timestamp over an attestation envelope with the
/// trusted root's timestamp authorities; the time must fall within the
/// certificate's validity.
fn verify_envelope_timestamp(
    verifier: &Verifier,
    token: &[u8],
    envelope: &[u8],
    certificate: Option<&sigstore_types::DerCertificate>,
) -> Result<(), VerifyError> {
    let token = sigstore_types::TimestampToken::new(token.to_vec());
    let data = sigstore_types::SignatureBytes::new(envelope.to_vec());
    let mut last = String::from("the trusted root has no timestamp authority");
    for authority in verifier.trust_root().as_sigstore().tsa_authorities() {
        match crate::tsa::verify_timestamp(&token, &data, &authority) {
            Ok(time) => {
                if let Some(cert) = certificate {
                    let info = sigstore_crypto::parse_certificate_info(cert).map_err(|e| {
                        crate::error::CertificateError::Malformed {
                            detail: e.to_string(),
                        }
                    })?;
                    crate::error::CertificateError::check_validity(
                        time,
                        info.not_before,
                        info.not_after,
                    )?;
                }
                return Ok(());
            }
            Err(e) => last = e.to_string(),
        }
    }
    Err(TimestampError::Invalid { detail: last }.into())
}

/// The first SHA-256 subject of a statement.
fn first_subject(statement: &serde_json::Value) -> Option<ArtifactDigest> {
    crate::intoto::subjects(statement)
        .iter()
        .find_map(|s| s.digest.get("sha256"))
        .and_then(|hex| ArtifactDigest::parse(&format!("sha256:{hex}")).ok())
}

/// A verified Sigstore bundle referrer.
struct BundleReferrer {
    envelope: serde_json::Value,
    statement: serde_json::Value,
    predicate_type: String,
    verified: Verified,
}

fn verify_bundle_referrer(
    source: &dyn ImageSource,
    image: &ArtifactDigest,
    verifier: &Verifier,
    policy: &Policy,
    options: &CheckOptions<'_>,
    descriptor: &Descriptor,
) -> Result<BundleReferrer, CandidateError> {
    let limits = &options.limits;
    let digest = descriptor.sha256()?;
    let fetched =
        fetch_manifest(source, &ManifestRef::Digest(digest), limits)?.ok_or_else(|| {
            SourceError::NotFound {
                what: format!("referrer {}@{digest}", source.name()),
            }
        })?;
    let Manifest::Image(manifest) = fetched.manifest else {
        return Err(malformed("the referrer is an index, not a bundle manifest"));
    };
    match manifest.subject.as_ref().map(|s| s.digest.as_str()) {
        Some(subject) if subject == image.to_string() => {}
        other => {
            return Err(malformed(format!(
                "the referrer's subject is {}, not the image",
                other.unwrap_or("missing")
            )))
        }
    }
    let layer = manifest
        .layers
        .iter()
        .find(|l| {
            l.media_type
                .starts_with("application/vnd.dev.sigstore.bundle")
        })
        .ok_or_else(|| malformed("the referrer has no Sigstore bundle layer"))?;
    let bytes = fetch_blob(source, layer, limits.max_payload_bytes)?;
    let bundle = crate::bundle::parse(&bytes, verifier.limits().max_bundle_bytes)
        .map_err(VerifyError::from)?;
    let SignatureContent::DsseEnvelope(envelope) = &bundle.content else {
        return Err(malformed("the bundle does not contain a DSSE envelope"));
    };
    if envelope.payload_type != IN_TOTO_PAYLOAD_TYPE {
        return Err(malformed(format!(
            "DSSE payload type is {:?}, expected {IN_TOTO_PAYLOAD_TYPE}",
            envelope.payload_type
        )));
    }
    let statement: serde_json::Value = serde_json::from_slice(envelope.payload.as_bytes())
        .map_err(|e| malformed(format!("the DSSE payload is not an in-toto statement: {e}")))?;
    let binding = if options.check_claims {
        *image
    } else {
        first_subject(&statement).unwrap_or(*image)
    };
    let verified = verifier.verify_bundle(&bytes, Artifact::Digest(binding), policy)?;
    if options.check_claims {
        claims::check_statement(&statement, image, &options.annotations)?;
    }
    let predicate_type = statement
        .get("predicateType")
        .and_then(|p| p.as_str())
        .unwrap_or_default()
        .to_string();
    Ok(BundleReferrer {
        envelope: serde_json::to_value(envelope).unwrap_or(serde_json::Value::Null),
        statement,
        predicate_type,
        verified: (*verified).clone(),
    })
}

/// A bundle referrer as an image signature: it must be cosign's signing
/// statement. Its claims are shown as cosign shows them.
fn signature_from_bundle(
    source: &dyn ImageSource,
    image: &ArtifactDigest,
    r: BundleReferrer,
) -> Result<VerifiedSignature, CandidateError> {
    if r.predicate_type != COSIGN_SIGN_PREDICATE {
        return Err(malformed(format!(
            "the bundle is an attestation of type {}, not an image signature ({COSIGN_SIGN_PREDICATE})",
            r.predicate_type
        )));
    }
    let subjects = crate::intoto::subjects(&r.statement);
    let annotations = crate::intoto::find(&subjects, "sha256", &hex::encode(image.0))
        .and_then(|s| s.annotations.clone());
    let claims = serde_json::json!({
        "critical": {
            "identity": {"docker-reference": source.name()},
            "image": {"docker-manifest-digest": image.to_string()},
            "type": r.predicate_type,
        },
        "optional": annotations.map_or(serde_json::Value::Null, serde_json::Value::Object),
    });
    Ok(VerifiedSignature {
        origin: Origin::Referrer { manifest: *image },
        payload: serde_json::to_vec(&r.statement).unwrap_or_default(),
        claims,
        verified: r.verified,
        rekor_bundle: None,
        rfc3161_timestamp: None,
    })
}

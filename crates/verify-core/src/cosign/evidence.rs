//! Routing of log evidence for a tag-scheme layer: the bundle annotation's
//! entry; else, with `--insecure-ignore-tlog`, none (key: checked directly;
//! keyless: an RFC 3161 timestamp); else the entries looked up in the log.

use super::legacy::LayerEvidence;
use super::*;
use crate::artifact::{Artifact, ArtifactDigest};
use crate::error::{TimestampError, TlogError, VerifyError};
use crate::identity::Policy;
use crate::outcome::Verified;
use crate::tlog_lookup::{find_entries, LookupError};
use crate::Verifier;

/// Candidate bundles for some log evidence: `(tlog entries, include the
/// RFC 3161 timestamp)` to the bundles to try (one per DSSE signature).
pub(super) type Synthesize<'a> = dyn Fn(
        Vec<sigstore_types::TransparencyLogEntry>,
        bool,
    ) -> Vec<Result<sigstore_types::Bundle, String>>
    + Sync
    + 'a;

/// Verify a legacy signature or attestation with its log evidence: the
/// bundle annotation's entry; else, with `--insecure-ignore-tlog`, none
/// (a key-based signature is checked directly; a keyless one needs an RFC
/// 3161 timestamp for its certificate); else the entries the log holds for
/// it.
#[allow(clippy::too_many_arguments)]
pub(super) async fn verify_with_log_evidence(
    verifier: &Verifier,
    policy: &Policy,
    options: &CheckOptions<'_>,
    evidence: &LayerEvidence,
    content_sha256: &[u8; 32],
    lookup_sha256: &[u8; 32],
    synthesize: &Synthesize<'_>,
    bound: Bound<'_>,
    direct: &(dyn Fn() -> Result<Verified, VerifyError> + Sync),
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
    let entries = find_entries(lookup, lookup_sha256).await?;
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
pub(super) enum Bound<'a> {
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
pub(super) fn as_v03(mut bundle: sigstore_types::Bundle) -> sigstore_types::Bundle {
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

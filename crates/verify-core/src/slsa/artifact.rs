//! Provenance for files: recognising the provenance input, verifying it
//! cryptographically, then applying the SLSA rules.
//!
//! The input is recognised by content, not by file name (the generators
//! write Sigstore bundles to `.intoto.jsonl` files):
//!
//! - one JSON object whose keys are a Sigstore bundle's (`mediaType`,
//!   `verificationMaterial`, `dsseEnvelope`, `messageSignature`, or their
//!   snake_case forms) is a **bundle**: it embeds the signing certificate
//!   and the Rekor entry, and is verified offline by [`crate::Verifier`]
//!   (Fulcio chain at the log's integrated time, SCT, SET, inclusion proof
//!   and checkpoint, DSSE signature) with no identity policy: the SLSA rules
//!   decide who may have signed;
//! - a JSON object with `payloadType` is a **DSSE envelope**
//!   (slsa-github-generator before v2) whose one signature must carry its
//!   PEM certificate: its Rekor entry is the embedded one (verified
//!   offline) or is looked up in Rekor, unless [`LogAccess::Offline`]
//!   ([`SlsaError::NeedsOnlineLookup`]); see [`super::dsse_provenance`];
//! - anything else, including several JSON lines, is refused.
//!
//! Then, as slsa-verifier does for bundles: the bundle must carry a DSSE
//! envelope and a transparency-log entry, and its certificate must be
//! issued for a GitHub Actions token to a `https://github.com/` workflow.

use serde::Deserialize;
use sigstore_types::{Bundle, SignatureContent};

use crate::artifact::{Artifact, ArtifactDigest, TypedDigest};
use crate::error::VerifyError;
use crate::identity::{IdentityPolicy, Policy};
use crate::verifier::Verifier;

use crate::tlog_lookup::TransparencyLogLookup;

use super::builder::{check_builder_id_supported, TrustedBuilders, GITHUB_ACTIONS_ISSUER};
use super::dsse_provenance::DsseProvenance;
use super::error::SlsaError;
use super::verify::{verify_provenance, ProvenanceCheck, ProvenanceOptions, VerifiedProvenance};

/// Top-level keys of a Sigstore bundle (protobuf JSON, both spellings).
const BUNDLE_KEYS: &[&str] = &[
    "mediaType",
    "media_type",
    "verificationMaterial",
    "verification_material",
    "dsseEnvelope",
    "dsse_envelope",
    "messageSignature",
    "message_signature",
];

/// What kind of provenance input this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProvenanceFormat {
    /// A Sigstore bundle (verifiable offline).
    SigstoreBundle,
    /// A bare DSSE envelope with a certificate in its signature.
    DsseWithCertificate,
    /// A bare DSSE envelope without a certificate.
    BareDsse,
}

/// Recognise the provenance input by its content.
pub fn recognize(provenance: &[u8]) -> Result<ProvenanceFormat, SlsaError> {
    let value: serde_json::Value =
        serde_json::from_slice(provenance).map_err(|e| SlsaError::UnrecognizedProvenance {
            found: if provenance.iter().filter(|b| **b == b'\n').count() > 1 {
                format!("not one JSON value (several JSON lines are not supported): {e}")
            } else {
                format!("not one JSON value: {e}")
            },
        })?;
    let serde_json::Value::Object(map) = &value else {
        return Err(SlsaError::UnrecognizedProvenance {
            found: "JSON that is not an object".into(),
        });
    };
    if map.contains_key("payloadType") {
        #[derive(Deserialize)]
        struct Sig {
            #[serde(default)]
            cert: Option<String>,
        }
        #[derive(Deserialize)]
        struct Env {
            #[serde(default)]
            signatures: Vec<Sig>,
        }
        let env: Env = serde_json::from_value(value.clone()).map_err(|e| {
            SlsaError::UnrecognizedProvenance {
                found: format!("a malformed DSSE envelope: {e}"),
            }
        })?;
        let with_cert = env.signatures.len() == 1
            && env.signatures[0]
                .cert
                .as_deref()
                .is_some_and(|c| !c.is_empty());
        return Ok(if with_cert {
            ProvenanceFormat::DsseWithCertificate
        } else {
            ProvenanceFormat::BareDsse
        });
    }
    if let Some(key) = map.keys().find(|k| !BUNDLE_KEYS.contains(&k.as_str())) {
        return Err(SlsaError::UnrecognizedProvenance {
            found: format!(
                "a JSON object with key {key:?}, which neither a bundle nor a DSSE envelope has"
            ),
        });
    }
    Ok(ProvenanceFormat::SigstoreBundle)
}

/// The digest the signature is verified bound to: the artifact's when it is
/// a subject (by SHA-256, or by SHA-512 when known), else the statement's
/// first SHA-256 or SHA-512 subject, else the artifact's SHA-256.
pub(super) fn signature_binding(
    payload: &[u8],
    artifact: &ArtifactDigest,
    digests: Option<&FileDigests>,
) -> TypedDigest {
    let subjects = crate::intoto::subjects_of_payload(payload);
    let sha512 = digests.map(|d| &d.sha512);
    if crate::intoto::find(&subjects, "sha256", &hex::encode(artifact.0)).is_some() {
        return TypedDigest::from(*artifact);
    }
    if let Some(d) = sha512 {
        if crate::intoto::find(&subjects, "sha512", &hex::encode(d.as_bytes())).is_some() {
            return d.clone();
        }
    }
    ["sha256", "sha512"]
        .into_iter()
        .find_map(|alg| {
            subjects
                .iter()
                .find_map(|s| TypedDigest::parse(&format!("{alg}:{}", s.digest.get(alg)?)).ok())
        })
        .unwrap_or_else(|| TypedDigest::from(*artifact))
}

/// A file's digests: SHA-256 (how Rekor indexes it and most provenance
/// names it) and SHA-512 (how npm's provenance names packages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDigests {
    /// SHA-256.
    pub sha256: ArtifactDigest,
    /// SHA-512.
    pub sha512: TypedDigest,
}

impl FileDigests {
    /// Both digests of everything `reader` yields, in one pass and constant
    /// memory.
    pub fn of_reader(mut reader: impl std::io::Read) -> std::io::Result<Self> {
        let mut sha256 = crate::digest::Sha256::new();
        let mut sha512 = crate::digest::Sha512::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    sha256.update(&buf[..n]);
                    sha512.update(&buf[..n]);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        let sha512 = TypedDigest::parse(&format!("sha512:{}", hex::encode(sha512.finish())))
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok(Self {
            sha256: ArtifactDigest(sha256.finish()),
            sha512,
        })
    }

    fn hexes(&self) -> Vec<String> {
        vec![
            hex::encode(self.sha256.0),
            hex::encode(self.sha512.as_bytes()),
        ]
    }
}

/// Whether Rekor may be asked for a bare envelope's entry.
#[derive(Clone, Copy)]
pub enum LogAccess<'a> {
    /// Never (`--offline`): a bare envelope is refused with
    /// [`SlsaError::NeedsOnlineLookup`].
    Offline,
    /// Through this log.
    Online(&'a dyn TransparencyLogLookup),
}

/// A file as the caller knows it: by its SHA-256, or by both digests.
#[derive(Debug, Clone, Copy)]
pub enum FileDigest<'a> {
    /// Only its SHA-256: some subject must carry it.
    Sha256(&'a ArtifactDigest),
    /// Its SHA-256 and SHA-512 ([`FileDigests`]): some subject must carry
    /// one of them.
    Both(&'a FileDigests),
}

impl<'a> FileDigest<'a> {
    /// The file's SHA-256 (how Rekor indexes it).
    pub fn sha256(self) -> &'a ArtifactDigest {
        match self {
            Self::Sha256(d) => d,
            Self::Both(d) => &d.sha256,
        }
    }

    fn both(self) -> Option<&'a FileDigests> {
        match self {
            Self::Sha256(_) => None,
            Self::Both(d) => Some(d),
        }
    }
}

impl<'a> From<&'a ArtifactDigest> for FileDigest<'a> {
    fn from(d: &'a ArtifactDigest) -> Self {
        Self::Sha256(d)
    }
}

impl<'a> From<&'a FileDigests> for FileDigest<'a> {
    fn from(d: &'a FileDigests) -> Self {
        Self::Both(d)
    }
}

/// One file's provenance to verify, and what it must say.
#[derive(Debug, Clone, Copy)]
pub struct ArtifactProvenanceRequest<'a> {
    /// The provenance: a Sigstore bundle, or a DSSE envelope with its
    /// certificate (see `super::dsse_provenance`).
    pub provenance: &'a [u8],
    /// The file it must name as a subject.
    pub artifact: FileDigest<'a>,
    /// What the provenance must say (slsa-verifier's flags).
    pub options: &'a ProvenanceOptions,
}

/// Verify `request` offline: [`verify_artifact_provenance_with`] with
/// [`LogAccess::Offline`], synchronously.
pub fn verify_artifact_provenance(
    verifier: &Verifier,
    request: &ArtifactProvenanceRequest<'_>,
) -> Result<VerifiedProvenance, SlsaError> {
    verify_with_entries(
        verifier,
        request.provenance,
        request.artifact.sha256(),
        request.artifact.both(),
        request.options,
        None,
        &TrustedBuilders::ARTIFACT,
    )
}

/// Verify `request.provenance` for the file `request.artifact`, with
/// `verifier`'s trusted root, then apply the SLSA rules with the trusted
/// builders for files. A bare envelope's entry is looked up through `log`.
///
/// Async only for the lookup (on the caller's runtime); everything else is
/// checked synchronously, as [`verify_artifact_provenance`] does.
pub async fn verify_artifact_provenance_with(
    verifier: &Verifier,
    request: &ArtifactProvenanceRequest<'_>,
    log: LogAccess<'_>,
) -> Result<VerifiedProvenance, SlsaError> {
    verify_file_provenance(
        verifier,
        request.provenance,
        request.artifact.sha256(),
        request.artifact.both(),
        request.options,
        log,
    )
    .await
}

/// The lookup a bare DSSE envelope needs (the only async part), then the
/// synchronous checks.
async fn verify_file_provenance(
    verifier: &Verifier,
    provenance: &[u8],
    artifact: &ArtifactDigest,
    digests: Option<&FileDigests>,
    options: &ProvenanceOptions,
    log: LogAccess<'_>,
) -> Result<VerifiedProvenance, SlsaError> {
    let mut looked_up = None;
    if let LogAccess::Online(lookup) = log {
        let limit = verifier.limits().max_bundle_bytes;
        if provenance.len() <= limit
            && check_builder_id_supported(options.builder_id.as_deref()).is_ok()
            && matches!(
                recognize(provenance),
                Ok(ProvenanceFormat::DsseWithCertificate)
            )
        {
            let dsse = DsseProvenance::parse(provenance)?;
            if dsse.tlog_entries.is_empty() {
                looked_up = Some(dsse.look_up(lookup, artifact).await?);
            }
        }
    }
    verify_with_entries(
        verifier,
        provenance,
        artifact,
        digests,
        options,
        looked_up,
        &TrustedBuilders::ARTIFACT,
    )
}

/// The synchronous checks, with the entries looked up for a DSSE envelope
/// that carries none (`None`: no lookup was made), against the `trusted`
/// builders; a GitHub attestation
/// ([`TrustedBuilders::GITHUB_ATTESTATION`]) must be a Sigstore bundle.
pub(crate) fn verify_with_entries(
    verifier: &Verifier,
    provenance: &[u8],
    artifact: &ArtifactDigest,
    digests: Option<&FileDigests>,
    options: &ProvenanceOptions,
    looked_up: Option<Vec<sigstore_types::TransparencyLogEntry>>,
    trusted: &TrustedBuilders,
) -> Result<VerifiedProvenance, SlsaError> {
    let expected = digests.map_or_else(|| vec![hex::encode(artifact.0)], FileDigests::hexes);
    check_builder_id_supported(options.builder_id.as_deref())?;
    let limit = verifier.limits().max_bundle_bytes;
    if provenance.len() > limit {
        return Err(SlsaError::TooLarge {
            limit,
            found: provenance.len(),
        });
    }
    match recognize(provenance)? {
        ProvenanceFormat::SigstoreBundle => {}
        _ if *trusted == TrustedBuilders::GITHUB_ATTESTATION => {
            return Err(SlsaError::UnrecognizedProvenance {
                found: "a DSSE envelope; GitHub attestations must be Sigstore bundles".into(),
            })
        }
        ProvenanceFormat::DsseWithCertificate => {
            return verify_dsse_provenance(
                verifier, provenance, artifact, digests, options, looked_up,
            )
        }
        ProvenanceFormat::BareDsse => {
            return Err(SlsaError::InvalidCertificate {
                expected: "a PEM Fulcio certificate in the envelope's only signature (`cert`)",
                found: "a DSSE envelope without one".into(),
            })
        }
    }
    let bundle = crate::bundle::parse(provenance, limit).map_err(VerifyError::from)?;
    let (payload_type, payload) = match &bundle.content {
        SignatureContent::DsseEnvelope(env) => (env.payload_type.clone(), env.payload.as_bytes()),
        SignatureContent::MessageSignature(_) => {
            return Err(SlsaError::UnexpectedBundleContent {
                found: "a message signature",
            })
        }
        _ => {
            return Err(SlsaError::UnexpectedBundleContent {
                found: "neither a DSSE envelope nor a message signature",
            })
        }
    };
    let claims = verify_signature(verifier, &bundle, payload, artifact, digests)?;
    verify_provenance(&ProvenanceCheck {
        claims: &claims,
        payload_type: &payload_type,
        payload,
        expected_digests: &expected,
        options,
        trusted,
    })
}

/// A DSSE envelope with its certificate: each embedded (or, without one,
/// looked-up) Rekor entry that records it is tried as a synthesized bundle;
/// the first that verifies decides, otherwise the last failure is the error.
fn verify_dsse_provenance(
    verifier: &Verifier,
    provenance: &[u8],
    artifact: &ArtifactDigest,
    digests: Option<&FileDigests>,
    options: &ProvenanceOptions,
    looked_up: Option<Vec<sigstore_types::TransparencyLogEntry>>,
) -> Result<VerifiedProvenance, SlsaError> {
    let expected = digests.map_or_else(|| vec![hex::encode(artifact.0)], FileDigests::hexes);
    let dsse = DsseProvenance::parse(provenance)?;
    let entries = if dsse.tlog_entries.is_empty() {
        match looked_up {
            None => {
                return Err(SlsaError::NeedsOnlineLookup {
                    found: "with an embedded certificate but no Rekor entry",
                })
            }
            Some(entries) => entries,
        }
    } else {
        for entry in &dsse.tlog_entries {
            dsse.check_entry(entry)?;
        }
        dsse.tlog_entries.clone()
    };
    let payload = dsse.envelope.payload.as_bytes();
    let mut last = None;
    for entry in entries {
        match verify_signature(verifier, &dsse.bundle(entry), payload, artifact, digests) {
            Ok(claims) => {
                return verify_provenance(&ProvenanceCheck {
                    claims: &claims,
                    payload_type: &dsse.envelope.payload_type,
                    payload,
                    expected_digests: &expected,
                    options,
                    trusted: &TrustedBuilders::ARTIFACT,
                })
            }
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or(SlsaError::RekorEntryMismatch {
        expected: "a Rekor entry for the envelope".into(),
        found: "none".into(),
    }))
}

/// The cryptographic half: the bundle verifies, and its certificate is a
/// GitHub Actions workflow's. Returns the certificate's claims.
///
/// The DSSE signature covers the whole statement, so it is verified bound
/// to one of the statement's own subjects (the artifact's digest when it is
/// one): whether the *artifact* is a subject is a SLSA rule, checked in
/// slsa-verifier's order by [`verify_provenance`] with its own error.
pub(super) fn verify_signature(
    verifier: &Verifier,
    bundle: &Bundle,
    payload: &[u8],
    artifact: &ArtifactDigest,
    digests: Option<&FileDigests>,
) -> Result<crate::outcome::CertificateClaims, SlsaError> {
    if bundle.verification_material.tlog_entries.is_empty() {
        return Err(VerifyError::Unsupported {
            detail: "provenance bundle has no transparency-log entry; one is required to verify it offline".into(),
        }
        .into());
    }
    let binding = signature_binding(payload, artifact, digests);
    let policy = Policy::Identity(IdentityPolicy::any_identity());
    let verified = verifier.verify_parsed(bundle, Artifact::TypedDigest(binding), &policy)?;
    let claims = verified.certificate.ok_or(SlsaError::InvalidCertificate {
        expected: "a Fulcio certificate",
        found: "a key-based bundle".into(),
    })?;
    let issuer = claims.issuer.clone().unwrap_or_default();
    if issuer != GITHUB_ACTIONS_ISSUER {
        return Err(SlsaError::InvalidCertificate {
            expected: "the GitHub Actions OIDC issuer https://token.actions.githubusercontent.com",
            found: issuer,
        });
    }
    let subject = claims.subject.clone().unwrap_or_default();
    // slsa-verifier's certificate identity is the unanchored regular
    // expression `https://github.com/*`.
    if !matches_github_san(&subject) {
        return Err(SlsaError::InvalidCertificate {
            expected: "a workflow identity on https://github.com/",
            found: subject,
        });
    }
    Ok(claims)
}

/// The unanchored regular expression `https://github.com/*`: somewhere in
/// `san`, `https://github`, any one character but a newline (the pattern's
/// unescaped `.`), then `com` (the trailing `/*` matches the empty string).
fn matches_github_san(san: &str) -> bool {
    san.match_indices("https://github").any(|(i, m)| {
        let mut rest = san[i + m.len()..].chars();
        rest.next().is_some_and(|c| c != '\n') && rest.as_str().starts_with("com")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_inputs_by_content() {
        assert_eq!(
            recognize(br#"{"mediaType":"x","verificationMaterial":{},"dsseEnvelope":{}}"#).unwrap(),
            ProvenanceFormat::SigstoreBundle
        );
        assert_eq!(
            recognize(br#"{"media_type":"x","dsse_envelope":{}}"#).unwrap(),
            ProvenanceFormat::SigstoreBundle
        );
        assert_eq!(
            recognize(br#"{"payloadType":"t","payload":"","signatures":[{"keyid":"","sig":"","cert":"-----BEGIN CERTIFICATE-----"}]}"#).unwrap(),
            ProvenanceFormat::DsseWithCertificate
        );
        assert_eq!(
            recognize(br#"{"payloadType":"t","payload":"","signatures":[{"keyid":"","sig":""}]}"#)
                .unwrap(),
            ProvenanceFormat::BareDsse
        );
        for bad in [
            &b"{}\n{}\n"[..],
            b"[]",
            b"not json",
            br#"{"mediaType":"x","extra":1}"#,
            br#"{"payloadType":"t","signatures":"x"}"#,
        ] {
            assert!(
                matches!(
                    recognize(bad),
                    Err(SlsaError::UnrecognizedProvenance { .. })
                ),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn the_signature_is_bound_to_the_artifact_or_a_subject() {
        let hex = "ab".repeat(32);
        let other = ArtifactDigest([0xcd; 32]);
        let payload = format!(
            r#"{{"subject":[{{"name":"a","digest":{{"sha512":"00"}}}},{{"name":"b","digest":{{"sha256":"{hex}"}}}}],"extra":1}}"#
        );
        // Not a subject: the first readable SHA-256 subject.
        let binding = signature_binding(payload.as_bytes(), &other, None);
        assert_eq!(binding.to_string(), format!("sha256:{hex}"));
        // Not a statement: the artifact itself.
        assert_eq!(
            signature_binding(b"[]", &other, None),
            TypedDigest::from(other)
        );
        // npm: a SHA-512 subject, matched by the file's SHA-512.
        let digests = FileDigests::of_reader(&b"package"[..]).unwrap();
        let npm = format!(
            r#"{{"subject":[{{"name":"pkg","digest":{{"sha512":"{}"}}}}]}}"#,
            hex::encode(digests.sha512.as_bytes())
        );
        assert_eq!(
            signature_binding(npm.as_bytes(), &digests.sha256, Some(&digests)),
            digests.sha512
        );
    }

    #[test]
    fn san_pattern_is_unanchored() {
        assert!(matches_github_san(
            "https://github.com/o/r/.github/workflows/x.yml@refs/tags/v1"
        ));
        assert!(matches_github_san("xhttps://github.com"));
        assert!(matches_github_san("https://githubXcom"));
        assert!(!matches_github_san("https://gitlab.com/o/r"));
        assert!(!matches_github_san("https://github.co"));
        assert!(!matches_github_san("someone@example.com"));
    }
}

//! The verifier: trust material loaded once, bundles verified many times.
//!
//! [`Verifier::verify_bundle`] runs, in order:
//!
//! 1. the size limit and parse ([`crate::bundle`]);
//! 2. the bundle kind against the policy (certificate vs public key);
//! 3. for keyless bundles, the identity policy on the certificate's claims
//!    ([`crate::identity`]): cheap, so a wrong signer fails before any
//!    cryptography;
//! 4. the artifact binding (`crate::artifact::check_binding`);
//! 5. the cryptographic verification, delegated to `sigstore-verify`: Fulcio
//!    chain at the signing time, SCT, Rekor SET, inclusion proof and signed
//!    checkpoint (Rekor v1 and v2), RFC 3161 timestamps, the certificate's
//!    validity at every verified time, the signature, and the log entry's
//!    consistency with the bundle. A DSSE statement naming the artifact by
//!    SHA-384 alone, which the delegate cannot bind, and a bundle whose only
//!    verified times are RFC 3161 timestamps with fractional seconds, which
//!    the delegate cannot read, are verified instead by
//!    `crate::bundle_direct` with the same checks in the same order.
//!
//! Errors from step 5 are mapped into [`crate::error`]'s types.

use std::sync::Arc;

use crate::digest::{sha256, Sha256};
use sigstore_types::bundle::VerificationMaterialContent;
use sigstore_types::{Bundle, Sha256Hash};

use crate::artifact::{
    check_binding, check_typed_binding, sha384_subjects, Artifact, ArtifactDigest, Binding,
    HashingReader, TypedDigest,
};
use crate::cache::VerdictCache;
use crate::error::{CertificateError, VerifyError};
use crate::identity::{Policy, PolicyError};
use crate::limits::Limits;
use crate::outcome::{CertificateClaims, SignerKind, Verified};
use crate::signature_memo::SignatureMemo;
use crate::trust_root::TrustRoot;

/// Verifies Sigstore bundles against one trusted root.
///
/// Build it once; it is `Send + Sync` and cheap to share behind an `Arc`.
pub struct Verifier {
    trust_root: TrustRoot,
    inner: sigstore_verify::Verifier,
    limits: Limits,
    cache: Option<VerdictCache>,
    memo: Arc<SignatureMemo>,
}

/// Signatures a verifier remembers (see [`crate::signature_memo`]): the
/// trust root's few chains plus one in-flight bundle's worth, with room to
/// spare.
const SIGNATURE_MEMO_CAPACITY: usize = 1024;

impl Verifier {
    /// A verifier for `trust_root`, without a verdict cache.
    pub fn new(trust_root: TrustRoot) -> Result<Self, VerifyError> {
        let inner = sigstore_verify::Verifier::new(&trust_root.root)?;
        Ok(Self {
            trust_root,
            inner,
            limits: Limits::default(),
            cache: None,
            memo: Arc::new(SignatureMemo::new(SIGNATURE_MEMO_CAPACITY)),
        })
    }

    /// Use these input limits.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Keep up to `capacity` successful verdicts (see [`crate::cache`]).
    pub fn with_cache(mut self, capacity: usize) -> Self {
        self.cache = Some(VerdictCache::new(capacity));
        self
    }

    /// The trusted root this verifier uses.
    pub fn trust_root(&self) -> &TrustRoot {
        &self.trust_root
    }

    /// The input limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Verify a bundle given as JSON bytes.
    ///
    /// With a cache, a bundle already verified for the same artifact digest
    /// and policy returns the remembered verdict without being parsed again.
    pub fn verify_bundle(
        &self,
        bundle_json: &[u8],
        artifact: Artifact<'_>,
        policy: &Policy,
    ) -> Result<Arc<Verified>, VerifyError> {
        if bundle_json.len() > self.limits.max_bundle_bytes {
            return Err(crate::bundle::BundleError::TooLarge {
                limit: self.limits.max_bundle_bytes,
                found: bundle_json.len(),
            }
            .into());
        }
        // With a cache, the bytes' digest is needed for the key; it is then
        // handed on so the artifact is hashed once, not twice.
        let bytes_digest = match (&self.cache, &artifact) {
            (Some(_), Artifact::Bytes(b)) => Some(ArtifactDigest::of(b)),
            _ => None,
        };
        let key = match (&self.cache, &artifact, &bytes_digest) {
            (Some(_), _, Some(d)) | (Some(_), Artifact::Digest(d), _) => {
                Some(cache_key(bundle_json, "sha256", &d.0, policy))
            }
            (Some(_), Artifact::TypedDigest(d), _) => Some(cache_key(
                bundle_json,
                d.algorithm().name(),
                d.as_bytes(),
                policy,
            )),
            _ => None,
        };
        if let (Some(cache), Some(key)) = (&self.cache, &key) {
            if let Some(hit) = cache.get(key) {
                return Ok(hit);
            }
        }
        let bundle = crate::bundle::parse(bundle_json, self.limits.max_bundle_bytes)?;
        let verdict = Arc::new(self.verify_with_digest(&bundle, artifact, bytes_digest, policy)?);
        if let (Some(cache), Some(key)) = (&self.cache, key) {
            cache.insert(key, Arc::clone(&verdict));
        }
        Ok(verdict)
    }

    /// Verify an already parsed bundle (no cache).
    pub(crate) fn verify_parsed(
        &self,
        bundle: &Bundle,
        artifact: Artifact<'_>,
        policy: &Policy,
    ) -> Result<Verified, VerifyError> {
        self.verify_with_digest(bundle, artifact, None, policy)
    }

    /// [`Self::verify_parsed`], with the SHA-256 of `Artifact::Bytes` when the
    /// caller already computed it.
    ///
    /// RFC 3161 timestamps whose `genTime` has fractional seconds, which the
    /// delegate cannot read, are verified by [`crate::tsa`] and taken out of
    /// the bundle the delegate sees; the certificate is then checked at
    /// their times as the delegate checks it at its own, and the times are
    /// reported with the others. When the delegate would then have no time
    /// of its own (no other timestamp, and no log entry or, for a keyless
    /// bundle, no Rekor v1 integrated time with its SET), the whole bundle
    /// is verified by [`crate::bundle_direct`] instead.
    fn verify_with_digest(
        &self,
        bundle: &Bundle,
        artifact: Artifact<'_>,
        bytes_digest: Option<ArtifactDigest>,
        policy: &Policy,
    ) -> Result<Verified, VerifyError> {
        // One memo scope for the whole verification, so the trust root's
        // chain checks below find the links the delegate already checked.
        let _memo = crate::signature_memo::enter(&self.memo);
        let result = self.verify_timed(bundle, artifact, bytes_digest, policy);
        let timestamped = !bundle
            .verification_material
            .timestamp_verification_data
            .rfc3161_timestamps
            .is_empty();
        if !timestamped {
            return result;
        }
        // The timestamp authorities' chains, checked once per trusted root
        // (see `crate::trust_chain`): after a success (webpki checked a
        // TSA's links up to its anchor while verifying the timestamp, so
        // these are memo hits) and after a timestamp failure (a broken
        // chain is then the reason given). After any other failure the
        // delegate's reason stands.
        if matches!(&result, Ok(_) | Err(VerifyError::Timestamp(_))) {
            self.trust_root.check_tsa_chains()?;
        }
        result
    }

    /// [`Self::verify_with_digest`] without the TSA chain check.
    fn verify_timed(
        &self,
        bundle: &Bundle,
        artifact: Artifact<'_>,
        bytes_digest: Option<ArtifactDigest>,
        policy: &Policy,
    ) -> Result<Verified, VerifyError> {
        if crate::bundle_direct::delegate_lacks_time(bundle, policy) {
            return self.verify_direct(bundle, artifact, bytes_digest, policy);
        }
        let root = self.trust_root.as_sigstore();
        let Some((stripped, times)) = crate::tsa::split_fractional(root, bundle)? else {
            return self.verify_delegated(bundle, artifact, bytes_digest, policy);
        };
        let mut verified = self.verify_delegated(&stripped, artifact, bytes_digest, policy)?;
        crate::tsa::check_certificate_at(root, bundle, &times)?;
        verified
            .signed_timestamps
            .extend(times.iter().map(|t| t.to_string()));
        Ok(verified)
    }

    /// Verify with `sigstore-verify` (steps 2 to 5 of the module docs),
    /// then check the trusted root's chain of the Fulcio CA that issued the
    /// leaf (once per root, see `crate::trust_chain`). It is checked when
    /// the verification would otherwise succeed, and when the delegate
    /// found the leaf does not chain to a CA valid at the time (a broken
    /// chain, e.g. a wrong intermediate, is then the reason given); after
    /// any other failure, an expired leaf or a bad SCT included, which no
    /// chain explains, the delegate's reason stands and the chain is left
    /// for a later verification.
    fn verify_delegated(
        &self,
        bundle: &Bundle,
        artifact: Artifact<'_>,
        bytes_digest: Option<ArtifactDigest>,
        policy: &Policy,
    ) -> Result<Verified, VerifyError> {
        let result = self.delegate(bundle, artifact, bytes_digest, policy);
        self.check_ca_chains_after(bundle, policy, result)
    }

    /// The CA chain check of [`Self::verify_delegated`] after `result`.
    fn check_ca_chains_after(
        &self,
        bundle: &Bundle,
        policy: &Policy,
        result: Result<Verified, VerifyError>,
    ) -> Result<Verified, VerifyError> {
        let explains = matches!(
            &result,
            Ok(_)
                | Err(VerifyError::Certificate(
                    CertificateError::Untrusted { .. } | CertificateError::NoValidAuthority { .. }
                ))
        );
        if explains && matches!(policy, Policy::Identity(_)) {
            if let Some(cert) = bundle.signing_certificate() {
                self.trust_root.check_ca_chains_for(cert.as_bytes())?;
            }
        }
        result
    }

    /// Steps 2 and 3: the bundle kind against the policy and, for keyless
    /// bundles, the identity policy, before any cryptography; the policy
    /// for `sigstore-verify`. [`crate::bundle_direct`] runs after the same
    /// steps.
    pub(crate) fn check_signer(
        bundle: &Bundle,
        policy: &Policy,
    ) -> Result<Box<dyn sigstore_verify::Policy>, VerifyError> {
        let has_cert = !matches!(
            bundle.verification_material.content,
            VerificationMaterialContent::PublicKey(_)
        );
        Ok(match policy {
            Policy::Identity(identity) => {
                if !has_cert {
                    return Err(PolicyError::WrongBundleKind {
                        expected: "a keyless bundle with a Fulcio certificate",
                        found: "a key-based bundle (public key hint)",
                    }
                    .into());
                }
                let cert =
                    bundle
                        .signing_certificate()
                        .ok_or_else(|| CertificateError::Malformed {
                            detail: "bundle has no signing certificate".into(),
                        })?;
                // The FIPS build refuses a signer key it may not use.
                crate::fips::check_certificate_key(cert.as_bytes())?;
                let info = sigstore_crypto::parse_certificate_info(cert).map_err(|e| {
                    CertificateError::Malformed {
                        detail: e.to_string(),
                    }
                })?;
                identity.check_identity(
                    crate::identity::certificate_identity(cert.as_bytes(), &info).as_deref(),
                    &info,
                )?;
                let mut p = sigstore_verify::VerificationPolicy::any_identity();
                if identity.insecure_ignore_tlog {
                    p = p.skip_tlog_unsafe();
                }
                if identity.insecure_ignore_sct {
                    p = p.skip_sct();
                }
                Box::new(p)
            }
            Policy::Key(key) => {
                if has_cert {
                    return Err(PolicyError::WrongBundleKind {
                        expected: "a key-based bundle",
                        found: "a keyless bundle with a certificate",
                    }
                    .into());
                }
                crate::fips::check_key(key.key.as_bytes())?;
                let mut p = sigstore_verify::PublicKeyVerificationPolicy::new(key.key.clone());
                if key.insecure_ignore_tlog {
                    p = p.skip_tlog_unsafe();
                }
                Box::new(p)
            }
        })
    }

    /// [`Self::verify_delegated`] without the CA chain check.
    fn delegate(
        &self,
        bundle: &Bundle,
        artifact: Artifact<'_>,
        bytes_digest: Option<ArtifactDigest>,
        policy: &Policy,
    ) -> Result<Verified, VerifyError> {
        let _memo = crate::signature_memo::enter(&self.memo);
        let has_cert = !matches!(
            bundle.verification_material.content,
            VerificationMaterialContent::PublicKey(_)
        );
        let sigstore_policy = Self::check_signer(bundle, policy)?;

        // Steps 4 and 5.
        let (result, digest) = match artifact {
            Artifact::TypedDigest(typed) => {
                let handed = match check_typed_binding(bundle, &typed)? {
                    Binding::Delegate(handed) => handed,
                    Binding::Own => return self.verify_own(bundle, policy, &typed),
                };
                let result = self.inner.verify(handed, bundle, sigstore_policy.as_ref());
                let result =
                    result.map_err(|e| refine(self.trust_root.as_sigstore(), bundle, e))?;
                return self.verdict(bundle, has_cert, result, typed.to_string());
            }
            Artifact::Bytes(bytes) => {
                // A subject named by SHA-384 alone: hash with SHA-384 (only
                // then) and, if that subject is the artifact, verify here.
                // A statement with nothing else to bind by reports the
                // SHA-384 mismatch.
                if let (true, delegate_binds) = sha384_subjects(bundle) {
                    let typed = TypedDigest::sha384_of(bytes);
                    match check_typed_binding(bundle, &typed) {
                        Ok(Binding::Own) => return self.verify_own(bundle, policy, &typed),
                        Err(e) if !delegate_binds => return Err(e),
                        _ => {}
                    }
                }
                let digest = bytes_digest.unwrap_or_else(|| ArtifactDigest::of(bytes));
                check_binding(bundle, &digest)?;
                (
                    self.inner.verify(bytes, bundle, sigstore_policy.as_ref()),
                    digest,
                )
            }
            Artifact::Digest(digest) => {
                check_binding(bundle, &digest)?;
                let hash = Sha256Hash::new(digest.0);
                (
                    self.inner.verify(hash, bundle, sigstore_policy.as_ref()),
                    digest,
                )
            }
            Artifact::Reader(reader) => {
                // A statement whose subjects are named by SHA-384 alone
                // (nothing the delegate binds): stream the artifact
                // through SHA-384 (constant memory) and verify here.
                if sha384_subjects(bundle) == (true, false) {
                    let mut hasher = crate::digest::Sha384::new();
                    std::io::copy(reader, &mut hasher).map_err(VerifyError::ArtifactRead)?;
                    let typed = TypedDigest::sha384(hasher.finish());
                    check_typed_binding(bundle, &typed)?;
                    return self.verify_own(bundle, policy, &typed);
                }
                let mut hashing = HashingReader {
                    inner: reader,
                    hasher: Sha256::new(),
                };
                let result =
                    self.inner
                        .verify_reader(&mut hashing, bundle, sigstore_policy.as_ref());
                let digest = ArtifactDigest(hashing.hasher.finish());
                // A streamed artifact is only bound once it has been read:
                // the delegate then reports a bare mismatch, so say which
                // digests differ, as for bytes and digests. (Only after an
                // artifact mismatch is the stream known to be fully read.)
                if let Err(sigstore_verify::Error::ArtifactMismatch(_)) = &result {
                    check_binding(bundle, &digest)?;
                }
                (result, digest)
            }
        };
        let result = result.map_err(|e| refine(self.trust_root.as_sigstore(), bundle, e))?;
        self.verdict(bundle, has_cert, result, digest.to_string())
    }

    /// Verify a DSSE bundle the delegate cannot bind (its subject is named
    /// by SHA-384 alone) with [`crate::bundle_direct`], after the same steps
    /// 2 and 3.
    fn verify_own(
        &self,
        bundle: &Bundle,
        policy: &Policy,
        subject: &TypedDigest,
    ) -> Result<Verified, VerifyError> {
        let given = crate::bundle_direct::Given::digest(subject.clone());
        crate::bundle_direct::verify(self.trust_root.as_sigstore(), bundle, policy, &given)
    }

    /// Verify with [`crate::bundle_direct`] a bundle whose only verified
    /// times are RFC 3161 timestamps with fractional seconds (see
    /// `bundle_direct::delegate_lacks_time`), after the same steps 2 to 4
    /// as for the delegate and with the same CA chain check after.
    pub(crate) fn verify_direct(
        &self,
        bundle: &Bundle,
        artifact: Artifact<'_>,
        bytes_digest: Option<ArtifactDigest>,
        policy: &Policy,
    ) -> Result<Verified, VerifyError> {
        use crate::bundle_direct::{needed_algorithms, needs_blob, Given};
        Self::check_signer(bundle, policy)?;
        let given = match artifact {
            Artifact::Bytes(bytes) => {
                Given::bytes(bytes, &needed_algorithms(bundle, policy)?, bytes_digest)
            }
            Artifact::Digest(digest) => Given::digest(digest.into()),
            Artifact::TypedDigest(typed) => {
                check_typed_binding(bundle, &typed)?;
                Given::digest(typed)
            }
            Artifact::Reader(reader) => {
                // A scheme that cannot verify a prehash refuses before
                // anything is read, as the delegate does.
                needs_blob(bundle, policy)?;
                Given::read(reader, &needed_algorithms(bundle, policy)?)?
            }
        };
        if let Some(sha256) = given.sha256() {
            check_binding(bundle, &sha256)?;
        }
        let result =
            crate::bundle_direct::verify(self.trust_root.as_sigstore(), bundle, policy, &given);
        self.check_ca_chains_after(bundle, policy, result)
    }

    /// The verdict for a bundle the delegate verified.
    fn verdict(
        &self,
        bundle: &Bundle,
        has_cert: bool,
        result: sigstore_verify::VerificationResult,
        artifact_digest: String,
    ) -> Result<Verified, VerifyError> {
        let first_entry = bundle.verification_material.tlog_entries.first();
        let certificate = match (result.certificate(), bundle.signing_certificate()) {
            (Some(info), Some(der)) => {
                Some(CertificateClaims::from_certificate(der.as_bytes(), info))
            }
            (Some(info), None) => Some(CertificateClaims::from_info(info)),
            (None, _) => None,
        };
        Ok(Verified {
            bundle_media_type: bundle.media_type.as_str().to_string(),
            signer: if has_cert {
                SignerKind::Certificate
            } else {
                SignerKind::PublicKey
            },
            identity: certificate.as_ref().and_then(|c| c.subject.clone()),
            issuer: result.issuer().map(str::to_string),
            log_index: first_entry.map(|e| e.log_index.get()),
            integrated_time: result.integrated_time().map(|t| t.to_string()),
            signed_timestamps: result
                .verified_timestamps()
                .iter()
                .map(|t| t.to_string())
                .collect(),
            artifact_digest: Some(artifact_digest),
            tlog_verified: result.tlog_verified(),
            sct_verified: result.sct_verified(),
            certificate,
        })
    }
}

/// Map the delegate's error, with structure where its text has none.
///
/// sigstore-verify checks the chain (webpki) before the leaf's validity, so
/// a leaf used after its notAfter fails as `ChainInvalid` with webpki's
/// error as text. The leaf's validity is then checked here from the parsed
/// certificate at the times the bundle gives: each RFC 3161 timestamp that
/// verifies against a trusted TSA, and each Rekor entry's integrated time
/// (which the delegate uses only when a SET vouches for it; here it only
/// chooses the reason for a verification that has already failed). The
/// first time outside the validity gives `Expired` / `NotYetValid` with
/// both times; otherwise the chain error stands.
fn refine(
    root: &sigstore_trust_root::TrustedRoot,
    bundle: &Bundle,
    e: sigstore_verify::Error,
) -> VerifyError {
    use sigstore_verify::error::CertificateError as Delegate;
    if let sigstore_verify::Error::Certificate(Delegate::ChainInvalid(_)) = &e {
        if let Some(validity) = certificate_validity_error(root, bundle) {
            return validity.into();
        }
    }
    e.into()
}

fn certificate_validity_error(
    root: &sigstore_trust_root::TrustedRoot,
    bundle: &Bundle,
) -> Option<CertificateError> {
    let cert = bundle.signing_certificate()?;
    let info = sigstore_crypto::parse_certificate_info(cert).ok()?;
    let logged = bundle
        .verification_material
        .tlog_entries
        .iter()
        .filter(|e| e.inclusion_promise.is_some())
        .filter_map(|e| e.integrated_time);
    signing_timestamps(root, bundle)
        .into_iter()
        .chain(logged)
        .find_map(|t| CertificateError::check_validity(t, info.not_before, info.not_after).err())
}

/// The RFC 3161 times of `bundle` that verify against a trusted TSA.
fn signing_timestamps(
    root: &sigstore_trust_root::TrustedRoot,
    bundle: &Bundle,
) -> Vec<jiff::Timestamp> {
    let signature = match &bundle.content {
        sigstore_types::SignatureContent::MessageSignature(m) => m.signature.clone(),
        sigstore_types::SignatureContent::DsseEnvelope(d) => d.signature.sig.clone(),
        _ => return Vec::new(),
    };
    let authorities = root.tsa_authorities();
    bundle
        .verification_material
        .timestamp_verification_data
        .rfc3161_timestamps
        .iter()
        .filter_map(|ts| {
            authorities.iter().find_map(|authority| {
                crate::tsa::verify_timestamp(&ts.signed_timestamp, &signature, authority).ok()
            })
        })
        .collect()
}

fn cache_key(bundle_json: &[u8], algorithm: &str, digest: &[u8], policy: &Policy) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(sha256(bundle_json));
    h.update(algorithm.as_bytes());
    h.update(b"\0");
    h.update(digest);
    h.update(policy.fingerprint());
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn verifier_is_shareable_across_threads() {
        assert_send_sync::<Verifier>();
    }

    #[test]
    fn production_root_loads_and_builds_a_verifier() {
        let root = TrustRoot::production().expect("built-in root loads");
        Verifier::new(root).expect("verifier builds");
    }
}

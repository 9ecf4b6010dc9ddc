//! Image signatures logged as Rekor `rekord` v0.0.1 entries (cosign 1.x, in
//! 2021 and 2022, before `hashedrekord`), which a Sigstore bundle cannot
//! carry (bundles know `hashedrekord`, `dsse` and `intoto` v0.0.2 only),
//! verified with the same primitives and in the same order as a
//! `hashedrekord` entry is:
//!
//! 1. the body is a `rekord` v0.0.1 entry whose `data.hash` is the SHA-256
//!    of the signed payload (the layer), whose `signature.content` is the
//!    layer's signature, and whose `signature.publicKey` is the layer's
//!    certificate (or the caller's key);
//! 2. the SET: the trusted log key for the entry's log ID, valid at the
//!    integrated time, signed the canonical JSON of body, integrated time,
//!    log ID and log index; the integrated time is not in the future;
//! 3. for a certificate: the identity policy, the chain to a Fulcio CA valid
//!    at the integrated time, the certificate's validity at that time (so
//!    the integrated time lies inside it), and an embedded SCT (unless
//!    `--insecure-ignore-sct`); for a key, the log records that key;
//! 4. the signature verifies over the payload with that key.
//!
//! Steps 2 and 3 are shared with `intoto` v0.0.1 attestations.

use serde::Deserialize;
use sigstore_types::SignatureBytes;

use super::intoto_v001::{verdict, verify_set, verify_signer};
use super::legacy::{decode_b64, LayerEvidence, RekorBundle};
use crate::error::{TlogError, VerifyError};
use crate::identity::Policy;
use crate::outcome::Verified;
use crate::Verifier;

/// What [`Verified::bundle_media_type`] says for this path.
pub const MEDIA_TYPE: &str = "application/vnd.dev.cosign.signature+rekor.rekord.v0.0.1";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Body {
    api_version: String,
    kind: String,
    spec: Spec,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Spec {
    data: Data,
    signature: Signature,
}

#[derive(Deserialize)]
struct Data {
    hash: Hash,
}

#[derive(Deserialize)]
struct Hash {
    algorithm: String,
    value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Signature {
    content: String,
    #[serde(default)]
    format: Option<String>,
    public_key: PublicKey,
}

#[derive(Deserialize)]
struct PublicKey {
    content: String,
}

/// Whether `rekor` is a `rekord` v0.0.1 entry (this module's to verify).
pub fn applies(rekor: &RekorBundle) -> bool {
    rekor
        .kind()
        .is_some_and(|(kind, version)| kind == "rekord" && version == "0.0.1")
}

/// Verify a signature layer (`payload` as stored, its signature in
/// `evidence`) whose log entry is `rekor`, a `rekord` v0.0.1 entry.
pub fn verify(
    verifier: &Verifier,
    policy: &Policy,
    payload: &[u8],
    evidence: &LayerEvidence,
    rekor: &RekorBundle,
) -> Result<Verified, VerifyError> {
    let mismatch = |detail: String| VerifyError::from(TlogError::EntryMismatch { detail });
    let malformed = |detail: String| VerifyError::from(TlogError::MalformedEntry { detail });

    // 1. The body describes this payload, this signature and this signer.
    let body: Body = serde_json::from_slice(&rekor.body)
        .map_err(|e| malformed(format!("rekord v0.0.1 body: {e}")))?;
    if body.kind != "rekord" || body.api_version != "0.0.1" {
        return Err(malformed(format!(
            "expected a rekord 0.0.1 body, found {} {}",
            body.kind, body.api_version
        )));
    }
    let hash = &body.spec.data.hash;
    if hash.algorithm != "sha256" {
        return Err(mismatch(format!(
            "the data hash uses {}, expected sha256",
            hash.algorithm
        )));
    }
    let found = sigstore_crypto::sha256(payload).to_hex();
    if !hash.value.eq_ignore_ascii_case(&found) {
        return Err(mismatch(format!(
            "the log records sha256:{}, the signed payload is sha256:{found}",
            hash.value
        )));
    }
    if let Some(format) = body.spec.signature.format.as_deref() {
        if format != "x509" {
            return Err(malformed(format!(
                "signature format {format:?}: cosign logs x509 (PEM) keys and certificates"
            )));
        }
    }
    let logged_signature = decode_b64(&body.spec.signature.content)
        .map_err(|e| malformed(format!("signature content: {e}")))?;
    if logged_signature != evidence.signature {
        return Err(mismatch(
            "the log records another signature than the layer's".into(),
        ));
    }
    let logged_pem = String::from_utf8(
        decode_b64(&body.spec.signature.public_key.content)
            .map_err(|e| malformed(format!("publicKey: {e}")))?,
    )
    .map_err(|_| malformed("publicKey is not PEM".into()))?;

    // 2. The SET authenticates the entry and its integrated time.
    let time = verify_set(verifier, rekor)?;

    // 3. The signer, at that time.
    let signer = verify_signer(verifier, policy, evidence, &logged_pem, time, "signature")?;

    // 4. The signature over the payload.
    sigstore_crypto::verify_signature(
        &signer.key,
        payload,
        &SignatureBytes::new(evidence.signature.clone()),
        signer.scheme,
    )
    .map_err(|e| VerifyError::Signature {
        detail: format!("signature over the payload does not verify: {e}"),
    })?;
    Ok(verdict(MEDIA_TYPE, policy, rekor, time, signer))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{IdentityPolicy, KeyPolicy, StringMatcher};
    use crate::{Limits, TrustRoot};
    use jiff::{SignedDuration, Timestamp};
    use verify_testkit::cosign::{rekord_v001_signature, simple_signing_payload};
    use verify_testkit::{GithubWorkflowClaims, KeyKind, SignOptions, Signer, TestSigstore};

    struct Case {
        sigstore: TestSigstore,
        verifier: Verifier,
        payload: Vec<u8>,
    }

    impl Case {
        fn new() -> Self {
            let sigstore = TestSigstore::new();
            let root =
                TrustRoot::from_json(sigstore.trusted_root_json().as_bytes(), &Limits::default())
                    .unwrap();
            Self {
                sigstore,
                verifier: Verifier::new(root).unwrap(),
                payload: simple_signing_payload(
                    "registry.test/app",
                    &format!("sha256:{}", "11".repeat(32)),
                    None,
                ),
            }
        }

        /// The layer's evidence, its Rekor entry, and the bundle it came from.
        fn layer(
            &self,
            options: &SignOptions,
            corrupt: bool,
        ) -> (LayerEvidence, RekorBundle, verify_testkit::SignedBundle) {
            let (layer, signed) =
                rekord_v001_signature(&self.sigstore, &self.payload, options, corrupt).unwrap();
            let evidence = LayerEvidence::from_annotations(&layer.annotations, true).unwrap();
            let rekor = evidence.rekor.clone().expect("a bundle annotation");
            assert!(applies(&rekor));
            (evidence, rekor, signed)
        }

        fn verify(
            &self,
            policy: &Policy,
            evidence: &LayerEvidence,
            rekor: &RekorBundle,
        ) -> Result<Verified, VerifyError> {
            verify(&self.verifier, policy, &self.payload, evidence, rekor)
        }
    }

    fn identity_policy() -> Policy {
        Policy::Identity(IdentityPolicy::new(
            StringMatcher::exact(GithubWorkflowClaims::default().workflow_identity()),
            StringMatcher::exact(verify_testkit::GITHUB_ACTIONS_ISSUER),
        ))
    }

    #[test]
    fn keyless_rekord_signatures_verify_like_hashedrekord() {
        let case = Case::new();
        let (evidence, rekor, _) = case.layer(&SignOptions::default(), false);
        let v = case.verify(&identity_policy(), &evidence, &rekor).unwrap();
        assert_eq!(v.bundle_media_type, MEDIA_TYPE);
        assert_eq!(
            v.identity.as_deref(),
            Some(GithubWorkflowClaims::default().workflow_identity().as_str())
        );
        assert!(v.tlog_verified && v.sct_verified);
        assert_eq!(v.log_index, u64::try_from(rekor.log_index).ok());

        // Another identity is refused before the signature is checked.
        let other = Policy::Identity(IdentityPolicy::new(
            StringMatcher::exact("https://github.com/someone/else"),
            StringMatcher::exact(verify_testkit::GITHUB_ACTIONS_ISSUER),
        ));
        let err = case.verify(&other, &evidence, &rekor).unwrap_err();
        assert_eq!(err.code(), "identity-mismatch");
    }

    #[test]
    fn key_based_rekord_signatures_verify_with_the_callers_key() {
        let case = Case::new();
        let options = SignOptions {
            signer: Signer::Key(KeyKind::EcdsaP256),
            ..SignOptions::default()
        };
        let (evidence, rekor, signed) = case.layer(&options, false);
        let policy = Policy::Key(KeyPolicy::from_pem(&signed.public_key_pem).unwrap());
        let v = case.verify(&policy, &evidence, &rekor).unwrap();
        assert_eq!(v.signer, crate::SignerKind::PublicKey);

        let other_key = verify_testkit::TestKey::generate(KeyKind::EcdsaP256).unwrap();
        let other = Policy::Key(KeyPolicy::from_pem(&other_key.public_key_pem()).unwrap());
        let err = case.verify(&other, &evidence, &rekor).unwrap_err();
        assert_eq!(err.code(), "tlog-entry-mismatch");
    }

    #[test]
    fn a_body_set_or_signature_that_does_not_match_is_refused() {
        let case = Case::new();
        let policy = identity_policy();

        let (evidence, rekor, _) = case.layer(&SignOptions::default(), true);
        let err = case.verify(&policy, &evidence, &rekor).unwrap_err();
        assert_eq!(err.code(), "tlog-entry-mismatch");
        assert!(err.to_string().contains("sha256:"), "{err}");

        let (evidence, mut rekor, _) = case.layer(&SignOptions::default(), false);
        let last = rekor.signed_entry_timestamp.len() - 1;
        rekor.signed_entry_timestamp[last] ^= 1;
        let err = case.verify(&policy, &evidence, &rekor).unwrap_err();
        assert_eq!(err.code(), "tlog-set-invalid");

        // The layer's signature is not the logged one.
        let (mut evidence, rekor, _) = case.layer(&SignOptions::default(), false);
        evidence.signature[0] ^= 1;
        let err = case.verify(&policy, &evidence, &rekor).unwrap_err();
        assert_eq!(err.code(), "tlog-entry-mismatch");

        // Another body kind is not this module's.
        let (_, mut rekor, _) = case.layer(&SignOptions::default(), false);
        rekor.body = br#"{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{}}"#.to_vec();
        assert!(!applies(&rekor));
    }

    #[test]
    fn the_integrated_time_must_lie_inside_the_certificate_validity() {
        let case = Case::new();
        let now = Timestamp::now() - SignedDuration::from_hours(1);
        let signing_time = Timestamp::from_second(now.as_second()).unwrap();
        let options = SignOptions {
            signing_time: Some(signing_time),
            expired_certificate: true,
            ..SignOptions::default()
        };
        let (evidence, rekor, _) = case.layer(&options, false);
        match case.verify(&identity_policy(), &evidence, &rekor) {
            Err(VerifyError::Certificate(crate::error::CertificateError::Expired {
                time,
                not_after,
            })) => {
                assert_eq!(time, signing_time + SignedDuration::from_secs(1));
                assert_eq!(not_after, signing_time - SignedDuration::from_mins(5));
            }
            other => panic!("expected an expired certificate, got {other:?}"),
        }
    }

    #[test]
    fn an_integrated_time_in_the_future_is_refused_with_both_times() {
        let case = Case::new();
        let later = Timestamp::now() + SignedDuration::from_hours(1);
        let options = SignOptions {
            signing_time: Some(Timestamp::from_second(later.as_second()).unwrap()),
            ..SignOptions::default()
        };
        let (evidence, rekor, _) = case.layer(&options, false);
        match case.verify(&identity_policy(), &evidence, &rekor) {
            Err(VerifyError::TransparencyLog(TlogError::IntegratedTimeInFuture { time, now })) => {
                assert!(time > now);
            }
            other => panic!("expected a future integrated time, got {other:?}"),
        }
    }
}

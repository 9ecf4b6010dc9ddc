//! Fulcio certificate checks for evidence that no bundle can carry.
//!
//! Sigstore bundles are verified by `sigstore-verify`, which checks the
//! certificate chain and SCT itself. This module is a second copy of those
//! two checks, and it exists for exactly one reason: sigstore-verify 0.15.1
//! performs them only inside `Verifier::verify*` on a whole `Bundle` (its
//! `verify_certificate_chain` and `verify_sct` are `pub(crate)`), and some
//! genuine evidence cannot be expressed as a bundle it accepts:
//!
//! - cosign attestations logged as Rekor `intoto` v0.0.1 and signatures
//!   logged as `rekord` v0.0.1 (bundles carry neither kind), see
//!   [`crate::cosign`];
//! - the times of RFC 3161 timestamps with fractional seconds, which
//!   sigstore-verify cannot read and so never checks the certificate at
//!   (see `crate::tsa`).
//!
//! For those, with the same primitives (rustls-webpki with sigstore-crypto's
//! algorithms, sigstore-crypto's CT keyring):
//!
//! - [`verify_chain`]: the leaf chains, with the code-signing extended key
//!   usage, to a Fulcio CA of the trusted root whose `validFor` window
//!   contains the (log-authenticated) signing time, checked at that time;
//!   webpki's typed validity errors keep their times;
//! - [`verify_sct`]: an embedded SCT, rebuilt as the RFC 6962 precertificate
//!   entry, is signed by a CT log of the trusted root that was valid when the
//!   SCT was issued.
//!
//! The tests run the same certificates (valid, expired, from an untrusted
//! CA, with a missing, corrupted or foreign SCT) through both this module
//! and sigstore-verify and require the same outcome.

use der::{Decode, Encode};
use jiff::Timestamp;
use rustls_pki_types::{CertificateDer, UnixTime};
use sigstore_crypto::SigningScheme;
use sigstore_trust_root::TrustedRoot;
use sigstore_types::{DerCertificate, Sha256Hash, SignatureBytes};
use x509_cert::ext::pkix::sct::{
    HashAlgorithm as SctHash, SignatureAlgorithm as SctSignature, SignedCertificateTimestampList,
};

use crate::error::CertificateError;

/// `id-kp-codeSigning` (1.3.6.1.5.5.7.3.3), DER contents.
const CODE_SIGNING: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x03];
/// The embedded SCT list extension (1.3.6.1.4.1.11129.2.4.2).
const SCT_LIST_OID: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.2");

/// Verify that `leaf` chains (through `intermediates` or the trusted root's
/// own certificates) to a Fulcio CA valid at `time`, with the code-signing
/// usage, and return the SubjectPublicKeyInfo (DER) of the leaf's issuer.
pub fn verify_chain(
    root: &TrustedRoot,
    leaf: &DerCertificate,
    intermediates: &[DerCertificate],
    time: Timestamp,
) -> Result<Vec<u8>, CertificateError> {
    let mut anchors = Vec::new();
    for ca in &root.certificate_authorities {
        if ca.valid_for.is_some_and(|w| !w.contains(time)) {
            continue;
        }
        for cert in &ca.cert_chain.certificates {
            let der = CertificateDer::from(cert.raw_bytes.as_bytes());
            let anchor = webpki::anchor_from_trusted_cert(&der).map_err(|e| {
                CertificateError::Untrusted {
                    detail: format!("trusted root CA certificate is unusable: {e}"),
                }
            })?;
            anchors.push(anchor.to_owned());
        }
    }
    if anchors.is_empty() {
        return Err(CertificateError::NoValidAuthority { time });
    }
    let leaf_der = CertificateDer::from(leaf.as_bytes());
    let ee =
        webpki::EndEntityCert::try_from(&leaf_der).map_err(|e| CertificateError::Malformed {
            detail: e.to_string(),
        })?;
    let intermediates: Vec<CertificateDer<'_>> = intermediates
        .iter()
        .map(|c| CertificateDer::from(c.as_bytes()))
        .collect();
    let seconds = u64::try_from(time.as_second()).map_err(|_| CertificateError::Untrusted {
        detail: format!("signing time {time} precedes 1970"),
    })?;
    let path = ee
        .verify_for_usage(
            sigstore_crypto::WEBPKI_VERIFICATION_ALGS,
            &anchors,
            &intermediates,
            UnixTime::since_unix_epoch(std::time::Duration::from_secs(seconds)),
            webpki::KeyUsage::required(CODE_SIGNING),
            None,
            None,
        )
        .map_err(|e| chain_error(e, time))?;
    match path.intermediate_certificates().next() {
        Some(issuer) => Ok(issuer.subject_public_key_info().as_ref().to_vec()),
        None => {
            // webpki gives the anchor's SPKI without its SEQUENCE header.
            der::asn1::Any::new(
                der::Tag::Sequence,
                path.anchor().subject_public_key_info.as_ref(),
            )
            .and_then(|any| any.to_der())
            .map_err(|e| CertificateError::Malformed {
                detail: format!("issuer key: {e}"),
            })
        }
    }
}

/// Map webpki's typed chain errors: a certificate of the path used outside
/// its validity keeps webpki's two times as structured fields.
fn chain_error(e: webpki::Error, time: Timestamp) -> CertificateError {
    let at = |t: UnixTime| {
        i64::try_from(t.as_secs())
            .ok()
            .and_then(|s| Timestamp::from_second(s).ok())
    };
    match e {
        webpki::Error::CertExpired { time: t, not_after } => {
            if let (Some(time), Some(not_after)) = (at(t), at(not_after)) {
                return CertificateError::Expired { time, not_after };
            }
        }
        webpki::Error::CertNotValidYet {
            time: t,
            not_before,
        } => {
            if let (Some(time), Some(not_before)) = (at(t), at(not_before)) {
                return CertificateError::NotYetValid { time, not_before };
            }
        }
        _ => {}
    }
    CertificateError::Untrusted {
        detail: format!("certificate chain does not verify at {time}: {e}"),
    }
}

/// Verify that one SCT embedded in `leaf` is signed by a trusted CT log over
/// the precertificate `leaf` was issued from (`issuer_spki`: the issuer's
/// SubjectPublicKeyInfo DER).
pub fn verify_sct(
    root: &TrustedRoot,
    leaf: &DerCertificate,
    issuer_spki: &[u8],
) -> Result<(), CertificateError> {
    let sct_error = |detail: String| CertificateError::Sct { detail };
    let cert = x509_cert::Certificate::from_der(leaf.as_bytes()).map_err(|e| {
        CertificateError::Malformed {
            detail: e.to_string(),
        }
    })?;
    let list: SignedCertificateTimestampList = match cert.tbs_certificate.get() {
        Ok(Some((_, list))) => list,
        Ok(None) => return Err(sct_error("the certificate embeds no SCT".into())),
        Err(e) => return Err(sct_error(format!("SCT list does not parse: {e}"))),
    };
    let scts = list
        .parse_timestamps()
        .map_err(|e| sct_error(format!("SCT list does not parse: {e:?}")))?;
    // The precertificate: the TBS without the SCT list extension.
    let mut tbs = cert.tbs_certificate.clone();
    tbs.extensions = tbs.extensions.map(|exts| {
        exts.into_iter()
            .filter(|ext| ext.extn_id != SCT_LIST_OID)
            .collect()
    });
    let tbs_der = tbs
        .to_der()
        .map_err(|e| sct_error(format!("cannot encode the precertificate: {e}")))?;
    let issuer_key_hash = sigstore_crypto::sha256(issuer_spki);
    let mut last_error = sct_error("the certificate embeds no SCT".into());
    for serialized in &scts {
        let sct = match serialized.parse_timestamp() {
            Ok(sct) => sct,
            Err(e) => {
                last_error = sct_error(format!("SCT does not parse: {e:?}"));
                continue;
            }
        };
        let scheme = match (
            sct.signature.algorithm.signature,
            sct.signature.algorithm.hash,
        ) {
            (SctSignature::Ecdsa, SctHash::Sha256) => SigningScheme::EcdsaP256Sha256,
            (SctSignature::Ecdsa, SctHash::Sha384) => SigningScheme::EcdsaP384Sha384,
            (SctSignature::Rsa, SctHash::Sha256) => SigningScheme::RsaPkcs1Sha256,
            (SctSignature::Rsa, SctHash::Sha384) => SigningScheme::RsaPkcs1Sha384,
            (SctSignature::Rsa, SctHash::Sha512) => SigningScheme::RsaPkcs1Sha512,
            (s, h) => {
                last_error = sct_error(format!("unsupported SCT algorithm {s:?}/{h:?}"));
                continue;
            }
        };
        // RFC 6962 section 3.2: the digitally-signed precertificate entry.
        let tbs_len = u32::try_from(tbs_der.len())
            .ok()
            .filter(|len| *len < (1 << 24))
            .ok_or_else(|| sct_error("precertificate too large".into()))?;
        let extensions = sct.extensions.as_slice();
        let mut signed = Vec::with_capacity(tbs_der.len() + 64);
        signed.push(0); // version v1
        signed.push(0); // signature_type certificate_timestamp
        signed.extend_from_slice(&sct.timestamp.to_be_bytes());
        signed.extend_from_slice(&1u16.to_be_bytes()); // precert_entry
        signed.extend_from_slice(issuer_key_hash.as_bytes());
        signed.extend_from_slice(&tbs_len.to_be_bytes()[1..]);
        signed.extend_from_slice(&tbs_der);
        signed.extend_from_slice(&(extensions.len() as u16).to_be_bytes());
        signed.extend_from_slice(extensions);

        let keyring = match root.ctfe_keys(scheme) {
            Ok(keyring) => keyring,
            Err(e) => {
                last_error = sct_error(format!("trusted CT log keys are unusable: {e}"));
                continue;
            }
        };
        let issued = i64::try_from(sct.timestamp)
            .ok()
            .and_then(|ms| Timestamp::from_millisecond(ms).ok())
            .ok_or_else(|| sct_error("SCT timestamp out of range".into()))?;
        match keyring.verify_with_key_id_at(
            &Sha256Hash::new(sct.log_id.key_id),
            issued,
            &signed,
            &SignatureBytes::new(sct.signature.signature.as_slice().to_vec()),
        ) {
            Ok(()) => return Ok(()),
            Err(e) => {
                last_error = sct_error(format!(
                    "SCT from log {} does not verify: {e}",
                    hex::encode(sct.log_id.key_id)
                ))
            }
        }
    }
    Err(last_error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::IdentityPolicy;
    use crate::{Artifact, Limits, Policy, TrustRoot, Verifier, VerifyError};
    use verify_testkit::{SctMode, SignOptions, TestSigstore};

    /// The outcome of this module's checks and of sigstore-verify's, as
    /// reason codes, for one bundle.
    fn both(sigstore: &TestSigstore, options: SignOptions) -> (&'static str, &'static str) {
        let artifact = b"same cases, both paths";
        let signed = sigstore.sign(artifact, &options).unwrap();
        let root =
            TrustRoot::from_json(sigstore.trusted_root_json().as_bytes(), &Limits::default())
                .unwrap();
        let policy = Policy::Identity(IdentityPolicy::any_identity());
        let delegate = match Verifier::new(root.clone()).unwrap().verify_bundle(
            signed.to_json().as_bytes(),
            Artifact::Bytes(artifact),
            &policy,
        ) {
            Ok(_) => "ok",
            Err(e) => e.code(),
        };
        let leaf = DerCertificate::new(signed.certificate.clone().unwrap());
        let time = signed.bundle.verification_material.tlog_entries[0]
            .integrated_time
            .unwrap();
        let ours = match verify_chain(root.as_sigstore(), &leaf, &[], time).and_then(|issuer| {
            CertificateError::check_validity(
                time,
                sigstore_crypto::parse_certificate_info(&leaf)
                    .unwrap()
                    .not_before,
                sigstore_crypto::parse_certificate_info(&leaf)
                    .unwrap()
                    .not_after,
            )?;
            verify_sct(root.as_sigstore(), &leaf, &issuer)
        }) {
            Ok(()) => "ok",
            Err(e) => VerifyError::from(e).code(),
        };
        (delegate, ours)
    }

    #[test]
    fn both_paths_agree_on_the_same_certificates() {
        let sigstore = TestSigstore::new();
        let cases = [
            ("valid", SignOptions::default(), "ok"),
            (
                "expired",
                SignOptions {
                    expired_certificate: true,
                    ..SignOptions::default()
                },
                "certificate-expired",
            ),
            (
                "untrusted CA",
                SignOptions {
                    untrusted_ca: true,
                    ..SignOptions::default()
                },
                "certificate-untrusted",
            ),
            (
                "no SCT",
                SignOptions {
                    sct: SctMode::Missing,
                    ..SignOptions::default()
                },
                "sct-invalid",
            ),
            (
                "corrupted SCT",
                SignOptions {
                    sct: SctMode::Corrupted,
                    ..SignOptions::default()
                },
                "sct-invalid",
            ),
            (
                "SCT from an untrusted log",
                SignOptions {
                    sct: SctMode::UntrustedLog,
                    ..SignOptions::default()
                },
                "sct-invalid",
            ),
        ];
        for (name, options, expected) in cases {
            let (delegate, ours) = both(&sigstore, options);
            assert_eq!(delegate, expected, "{name}: sigstore-verify");
            assert_eq!(ours, expected, "{name}: this module");
        }
    }
}

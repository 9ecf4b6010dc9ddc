//! Timestamp checks: RFC 3161 tokens over attestation envelopes.

use crate::error::{TimestampError, VerifyError};
use crate::Verifier;

/// Verify an RFC 3161 timestamp over an attestation envelope with the
/// trusted root's timestamp authorities; the time must fall within the
/// certificate's validity.
pub(super) fn verify_envelope_timestamp(
    verifier: &Verifier,
    token: &[u8],
    envelope: &[u8],
    certificate: Option<&sigstore_types::DerCertificate>,
) -> Result<(), VerifyError> {
    let token = sigstore_types::TimestampToken::new(token.to_vec());
    let data = sigstore_types::SignatureBytes::new(envelope.to_vec());
    let mut last = String::from("the trusted root has no timestamp authority");
    for authority in verifier.trust_root().as_sigstore().tsa_authorities() {
        match sigstore_tsa::verify_timestamp_for_authority(&token, &data, &authority) {
            Ok(time) => {
                if let Some(cert) = certificate {
                    let info = sigstore_crypto::parse_certificate_info(cert).map_err(|e| {
                        crate::error::CertificateError::Malformed {
                            detail: e.to_string(),
                        }
                    })?;
                    if time < info.not_before || time > info.not_after {
                        return Err(crate::error::CertificateError::Expired {
                            time: time.to_string(),
                            not_after: info.not_after.to_string(),
                        }
                        .into());
                    }
                }
                return Ok(());
            }
            Err(e) => last = e.to_string(),
        }
    }
    Err(TimestampError::Invalid { detail: last }.into())
}

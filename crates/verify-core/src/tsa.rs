//! RFC 3161 timestamps over a signature, verified against one trusted
//! timestamp authority.
//!
//! [`verify_timestamp`] is the one entry point the crate uses for tokens it
//! verifies itself (cosign's attestation timestamps, error classification):
//! it delegates to `sigstore_tsa::verify_timestamp_for_authority`, which
//! checks the CMS signature over the TSTInfo by the authority's pinned
//! leaf, the leaf's chain to the authority's root at the signed time with
//! the `timeStamping` usage, the message imprint over the signature, and the
//! authority's validity window.

use jiff::Timestamp;
use sigstore_types::{SignatureBytes, TimestampToken, TsaAuthority};

/// Verify `token` over `signature` against `authority`; the signed time.
pub(crate) fn verify_timestamp(
    token: &TimestampToken,
    signature: &SignatureBytes,
    authority: &TsaAuthority,
) -> Result<Timestamp, sigstore_tsa::Error> {
    sigstore_tsa::verify_timestamp_for_authority(token, signature, authority)
}

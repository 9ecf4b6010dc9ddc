//! Size limits applied before anything is parsed.
//!
//! Every input that crosses a trust boundary has a bound: a bundle or trusted
//! root larger than its limit is refused with [`crate::bundle::BundleError::TooLarge`]
//! (or the trust-root equivalent) before a single byte is handed to a parser.

/// Bounds on untrusted input sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest bundle accepted, in bytes. DSSE bundles carrying SBOM
    /// attestations can reach a few megabytes; 32 MiB leaves ample room.
    pub max_bundle_bytes: usize,
    /// Largest `trusted_root.json` accepted, in bytes.
    pub max_trust_root_bytes: usize,
    /// Largest public key file accepted, in bytes.
    pub max_key_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bundle_bytes: 32 * 1024 * 1024,
            max_trust_root_bytes: 4 * 1024 * 1024,
            max_key_bytes: 64 * 1024,
        }
    }
}

//! Trust material: Sigstore's `trusted_root.json`.
//!
//! [`TrustRoot`] is parsed and checked once, when it is loaded:
//!
//! - the document is bounded in size and must be a Sigstore trusted root;
//! - every `validFor` window must have a start and must not end before it
//!   starts (a window that is present but malformed is an error, never
//!   "unbounded");
//! - every certificate chain (Fulcio CAs and timestamp authorities) must be
//!   well formed: not empty, every certificate DER X.509, each one's issuer
//!   the next one's subject;
//! - the keys of every transparency log and CT log must parse.
//!
//! Each certificate's signature by the next one is checked when a
//! verification first uses that chain, once per loaded root (see
//! `crate::trust_chain`): a file with many chains costs a one-shot run only
//! the chain it uses, and a broken link is still refused with the same
//! [`TrustRootError::Chain`], at first use instead of at load.
//! [`TrustRoot::check_all_chains`] checks them all at once, for a long-lived
//! service that wants a bad file refused at start.
//!
//! The public-good Sigstore root is built in ([`TrustRoot::production`]), so
//! verification works offline by default.

use std::path::Path;

use std::sync::Arc;

use sigstore_crypto::{KeyAlgorithm, SigningScheme};
use sigstore_trust_root::TrustedRoot;

use crate::limits::Limits;
use crate::trust_chain::Chains as ChainChecks;

/// Media types a Sigstore trusted root may declare.
const TRUSTED_ROOT_MEDIA_TYPES: &[&str] = &[
    "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
    "application/vnd.dev.sigstore.trustedroot.v0.2+json",
];

/// Why a trusted root was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrustRootError {
    /// The file could not be read.
    #[error("cannot read trusted root {path}: {source}")]
    Read {
        /// The path given.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The document is larger than the limit.
    #[error("trusted root is {found} bytes, more than the {limit}-byte limit")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
        /// The size found.
        found: usize,
    },
    /// The document is not valid trusted-root JSON.
    #[error("trusted root is not valid JSON: {detail}")]
    Malformed {
        /// The parser's message (with line and column).
        detail: String,
    },
    /// The media type is not one of a Sigstore trusted root.
    #[error("trusted root media type: expected {expected}, found {found:?}")]
    MediaType {
        /// The accepted media types.
        expected: String,
        /// The media type found.
        found: String,
    },
    /// A `validFor` window is present but unusable.
    #[error("{what}: validFor {detail}")]
    Validity {
        /// Which trust material (e.g. `tlogs[1]`).
        what: String,
        /// What is wrong with the window.
        detail: String,
    },
    /// A key could not be parsed.
    #[error("{what}: public key is unusable: {detail}")]
    Key {
        /// Which trust material.
        what: String,
        /// Why.
        detail: String,
    },
    /// A certificate chain does not hold together.
    #[error("{what}: certificate {index} ({subject}) is not signed by {issuer}: {detail}")]
    Chain {
        /// Which authority (e.g. `certificateAuthorities[0]`).
        what: String,
        /// Position of the certificate in the chain.
        index: usize,
        /// The certificate's subject.
        subject: String,
        /// The certificate expected to have signed it.
        issuer: String,
        /// Why the check failed.
        detail: String,
    },
    /// The material is well formed but cannot be used for verification.
    #[error("trusted root is unusable: {detail}")]
    Unusable {
        /// Why.
        detail: String,
    },
}

/// A loaded, checked trusted root, ready to build a [`crate::Verifier`].
#[derive(Debug, Clone)]
pub struct TrustRoot {
    pub(crate) root: TrustedRoot,
    /// Hash of the document this root was loaded from, for cache keys and
    /// for reporting which root was used.
    pub(crate) fingerprint: [u8; 32],
    /// The certificate chains, parsed, with their signature checks done at
    /// first use and remembered (shared by every clone).
    chains: Arc<ChainChecks>,
}

impl TrustRoot {
    /// The public-good Sigstore trusted root built into this binary.
    ///
    /// It is parsed and its windows and keys are checked like any other root,
    /// but its certificate chains are not re-verified at every start: the
    /// document is a compile-time constant of the pinned
    /// `sigstore-trust-root` crate, and the test
    /// `production_root_chains_hold` verifies those chains on every build.
    /// This keeps a one-shot CLI run free of the ECDSA P-384 check of the
    /// chain it uses (see the module docs), which a file's root pays at its
    /// first verification.
    pub fn production() -> Result<Self, TrustRootError> {
        Self::load(
            sigstore_trust_root::SIGSTORE_PRODUCTION_TRUSTED_ROOT.as_bytes(),
            &Limits::default(),
            Chains::KnownGood,
        )
    }

    /// The bytes of the built-in public-good `trusted_root.json`, exactly as
    /// [`TrustRoot::production`] parses them (for checking them against the
    /// TUF target that names them).
    pub fn production_json() -> &'static [u8] {
        sigstore_trust_root::SIGSTORE_PRODUCTION_TRUSTED_ROOT.as_bytes()
    }

    /// Parse and check a trusted root whose bytes are known to be identical
    /// to a document already loaded with [`TrustRoot::from_json`], e.g. a
    /// TUF-cached target whose pinned hash was checked again: windows and
    /// keys are checked, certificate chains (checked in full, with
    /// [`TrustRoot::check_all_chains`], when it was first fetched) are not,
    /// as for [`TrustRoot::production`].
    pub fn from_json_checked_before(json: &[u8], limits: &Limits) -> Result<Self, TrustRootError> {
        Self::load(json, limits, Chains::KnownGood)
    }

    /// Load a `trusted_root.json` file.
    pub fn from_file(path: &Path, limits: &Limits) -> Result<Self, TrustRootError> {
        let bytes = crate::bundle::read_bounded(path, limits.max_trust_root_bytes).map_err(
            |e| match e {
                crate::bundle::ReadError::Io(source) => TrustRootError::Read {
                    path: path.display().to_string(),
                    source,
                },
                crate::bundle::ReadError::TooLarge { limit, found } => {
                    TrustRootError::TooLarge { limit, found }
                }
            },
        )?;
        Self::from_json(&bytes, limits)
    }

    /// Parse and check a trusted root from its JSON bytes. Its certificate
    /// chains' signatures are checked when a verification first uses them
    /// (see the module docs); [`TrustRoot::check_all_chains`] checks them
    /// all now.
    pub fn from_json(json: &[u8], limits: &Limits) -> Result<Self, TrustRootError> {
        Self::load(json, limits, Chains::Verify)
    }

    fn load(json: &[u8], limits: &Limits, chains: Chains) -> Result<Self, TrustRootError> {
        if json.len() > limits.max_trust_root_bytes {
            return Err(TrustRootError::TooLarge {
                limit: limits.max_trust_root_bytes,
                found: json.len(),
            });
        }
        let text = std::str::from_utf8(json).map_err(|e| TrustRootError::Malformed {
            detail: format!("not UTF-8: {e}"),
        })?;
        let root: TrustedRoot =
            serde_json::from_str(text).map_err(|e| TrustRootError::Malformed {
                detail: e.to_string(),
            })?;
        if !TRUSTED_ROOT_MEDIA_TYPES.contains(&root.media_type.as_str()) {
            return Err(TrustRootError::MediaType {
                expected: TRUSTED_ROOT_MEDIA_TYPES.join(" or "),
                found: root.media_type.clone(),
            });
        }
        check_windows(&root)?;
        check_log_keys(&root)?;
        let chains = match chains {
            Chains::Verify => ChainChecks::parse(&root)?,
            Chains::KnownGood => ChainChecks::known_good(),
        };
        let fingerprint = crate::digest::sha256(json);
        Ok(Self {
            root,
            fingerprint,
            chains: Arc::new(chains),
        })
    }

    /// Check the signatures of every certificate chain now, rather than at
    /// the first verification that uses each one (see the module docs). The
    /// outcome is remembered, so later verifications do not check again.
    pub fn check_all_chains(&self) -> Result<(), TrustRootError> {
        self.chains.check_all()
    }

    /// Check (once per root) the chains of the Fulcio CAs that issued
    /// `leaf` (DER).
    pub(crate) fn check_ca_chains_for(&self, leaf: &[u8]) -> Result<(), TrustRootError> {
        self.chains.check_ca_for(leaf)
    }

    /// Check (once per root) the timestamp authorities' chains.
    pub(crate) fn check_tsa_chains(&self) -> Result<(), TrustRootError> {
        self.chains.check_tsa()
    }

    /// SHA-256 of the trusted-root document, hex encoded.
    pub fn fingerprint_hex(&self) -> String {
        hex::encode(self.fingerprint)
    }

    /// The parsed trusted root, for callers that need its raw material.
    pub fn as_sigstore(&self) -> &TrustedRoot {
        &self.root
    }
}

/// Whether a root's certificate chains must be verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chains {
    /// Verify every chain (any root read at run time): structure at load,
    /// signatures at first use.
    Verify,
    /// The built-in root, whose chains a test verifies on every build.
    KnownGood,
}

/// Every window that is present must be usable: sigstore-trust-root already
/// refuses a window without `start` at parse time (serde); this refuses one
/// that ends before it starts.
fn check_windows(root: &TrustedRoot) -> Result<(), TrustRootError> {
    let windows = root
        .tlogs
        .iter()
        .enumerate()
        .map(|(i, l)| (format!("tlogs[{i}]"), l.public_key.valid_for))
        .chain(
            root.ctlogs
                .iter()
                .enumerate()
                .map(|(i, l)| (format!("ctlogs[{i}]"), l.public_key.valid_for)),
        )
        .chain(
            root.certificate_authorities
                .iter()
                .enumerate()
                .map(|(i, c)| (format!("certificateAuthorities[{i}]"), c.valid_for)),
        )
        .chain(
            root.timestamp_authorities
                .iter()
                .enumerate()
                .map(|(i, t)| (format!("timestampAuthorities[{i}]"), t.valid_for)),
        );
    for (what, window) in windows {
        if let Some(range) = window {
            if let Some(end) = range.end {
                if end < range.start {
                    return Err(TrustRootError::Validity {
                        what,
                        detail: format!("ends at {end}, before its start {}", range.start),
                    });
                }
            }
        }
    }
    Ok(())
}

fn check_log_keys(root: &TrustedRoot) -> Result<(), TrustRootError> {
    let logs = root
        .tlogs
        .iter()
        .enumerate()
        .map(|(i, l)| (format!("tlogs[{i}]"), &l.public_key.raw_bytes))
        .chain(
            root.ctlogs
                .iter()
                .enumerate()
                .map(|(i, l)| (format!("ctlogs[{i}]"), &l.public_key.raw_bytes)),
        );
    for (what, key) in logs {
        if key.as_bytes().is_empty() {
            return Err(TrustRootError::Key {
                what,
                detail: "empty key".into(),
            });
        }
        // RSA CT log keys may be bare PKCS#1; everything else is SPKI.
        if KeyAlgorithm::from_spki(key).is_err()
            && sigstore_crypto::VerificationKey::from_der(key, SigningScheme::RsaPkcs1Sha256)
                .is_err()
        {
            return Err(TrustRootError::Key {
                what,
                detail: "neither a SubjectPublicKeyInfo nor an RSA public key".into(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The built-in root skips chain checks at load (see
    /// [`TrustRoot::production`]); this is where they are made instead.
    #[test]
    fn production_root_chains_hold() {
        let root = TrustRoot::from_json(
            sigstore_trust_root::SIGSTORE_PRODUCTION_TRUSTED_ROOT.as_bytes(),
            &Limits::default(),
        )
        .expect("the built-in root loads through the checking path");
        root.check_all_chains()
            .expect("built-in root's chains verify");
    }

    /// Bytes already checked in full load without the chain checks, and
    /// still get every other check.
    #[test]
    fn roots_checked_before_skip_only_the_chains() {
        let json = TrustRoot::production_json();
        let root = TrustRoot::from_json_checked_before(json, &Limits::default()).expect("loads");
        assert_eq!(
            root.fingerprint_hex(),
            TrustRoot::production().expect("built-in").fingerprint_hex()
        );
        let err =
            TrustRoot::from_json_checked_before(b"{\"mediaType\": \"x\"}", &Limits::default());
        assert!(err.is_err());
    }
}

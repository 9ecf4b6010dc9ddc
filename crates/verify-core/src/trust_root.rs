//! Trust material: Sigstore's `trusted_root.json`.
//!
//! [`TrustRoot`] is parsed and checked once, when it is loaded:
//!
//! - the document is bounded in size and must be a Sigstore trusted root;
//! - every `validFor` window must have a start and must not end before it
//!   starts (a window that is present but malformed is an error, never
//!   "unbounded");
//! - every certificate chain (Fulcio CAs and timestamp authorities) must hold
//!   together: each certificate is signed by the next one in the chain, and
//!   the last one is self-signed. A chain that does not hold is refused here,
//!   so per-bundle verification only has to check what the bundle brings;
//! - the keys of every transparency log and CT log must parse.
//!
//! The public-good Sigstore root is built in ([`TrustRoot::production`]), so
//! verification works offline by default.

use std::path::Path;

use der::{Decode, Encode};
use sigstore_crypto::{KeyAlgorithm, SigningScheme};
use sigstore_trust_root::TrustedRoot;
use sigstore_types::{DerPublicKey, HashAlgorithm, SignatureBytes};

use crate::limits::Limits;

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
}

impl TrustRoot {
    /// The public-good Sigstore trusted root built into this binary.
    ///
    /// It is parsed and its windows and keys are checked like any other root,
    /// but its certificate chains are not re-verified at every start: the
    /// document is a compile-time constant of the pinned
    /// `sigstore-trust-root` crate, and the test
    /// `production_root_chains_hold` verifies those chains on every build.
    /// This keeps a one-shot CLI run free of the five ECDSA P-384 checks
    /// (about 1 ms) that the chains would otherwise cost.
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
    /// keys are checked, certificate chains (checked when it was first
    /// loaded) are not, as for [`TrustRoot::production`].
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

    /// Parse and check a trusted root from its JSON bytes.
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
        if chains == Chains::Verify {
            check_chains(&root)?;
        }
        let fingerprint = crate::digest::sha256(json);
        Ok(Self { root, fingerprint })
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

/// Whether a root's certificate chains must be verified when it is loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chains {
    /// Verify every chain (any root read at run time).
    Verify,
    /// The built-in root, whose chains a test verifies on every build.
    KnownGood,
}

/// Check every Fulcio CA and timestamp-authority chain.
fn check_chains(root: &TrustedRoot) -> Result<(), TrustRootError> {
    for (i, ca) in root.certificate_authorities.iter().enumerate() {
        check_chain(&format!("certificateAuthorities[{i}]"), &ca.cert_chain)?;
    }
    for (i, tsa) in root.timestamp_authorities.iter().enumerate() {
        check_chain(&format!("timestampAuthorities[{i}]"), &tsa.cert_chain)?;
    }
    Ok(())
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

/// Check that each certificate in `chain` is signed by the next one, and that
/// the last is self-signed. Signatures are checked with sigstore-crypto
/// (aws-lc-rs); x509-cert only splits the certificate into its parts.
fn check_chain(
    what: &str,
    chain: &sigstore_trust_root::trusted_root::CertChain,
) -> Result<(), TrustRootError> {
    if chain.certificates.is_empty() {
        return Err(TrustRootError::Unusable {
            detail: format!("{what}: empty certificate chain"),
        });
    }
    let certs = chain
        .certificates
        .iter()
        .enumerate()
        .map(|(index, entry)| {
            x509_cert::Certificate::from_der(entry.raw_bytes.as_bytes()).map_err(|e| {
                TrustRootError::Chain {
                    what: what.to_string(),
                    index,
                    subject: "?".into(),
                    issuer: "?".into(),
                    detail: format!("certificate does not parse: {e}"),
                }
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    for (index, cert) in certs.iter().enumerate() {
        let issuer = match certs.get(index + 1) {
            Some(next) => next,
            // The last certificate is the anchor. A self-issued one must carry
            // a valid self-signature; one whose issuer is not in the chain is
            // trusted as given (some roots ship an intermediate as anchor).
            None if cert.tbs_certificate.issuer == cert.tbs_certificate.subject => cert,
            None => break,
        };
        let subject = cert.tbs_certificate.subject.to_string();
        let issuer_name = issuer.tbs_certificate.subject.to_string();
        let fail = |detail: String| TrustRootError::Chain {
            what: what.to_string(),
            index,
            subject: subject.clone(),
            issuer: issuer_name.clone(),
            detail,
        };
        if cert.tbs_certificate.issuer != issuer.tbs_certificate.subject {
            return Err(fail(format!(
                "its issuer is {}",
                cert.tbs_certificate.issuer
            )));
        }
        verify_cert_signature(cert, issuer).map_err(fail)?;
    }
    Ok(())
}

fn verify_cert_signature(
    cert: &x509_cert::Certificate,
    issuer: &x509_cert::Certificate,
) -> Result<(), String> {
    let tbs = cert
        .tbs_certificate
        .to_der()
        .map_err(|e| format!("cannot encode TBS: {e}"))?;
    let spki = issuer
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| format!("cannot encode issuer key: {e}"))?;
    let key = DerPublicKey::new(spki);
    let sig = cert
        .signature
        .as_bytes()
        .ok_or_else(|| "signature has unused bits".to_string())?;
    let scheme = signature_scheme(&cert.signature_algorithm.oid.to_string(), &key)?;
    sigstore_crypto::verify_signature(&key, &tbs, &SignatureBytes::new(sig.to_vec()), scheme)
        .map_err(|e| format!("signature does not verify: {e}"))
}

/// Map an X.509 signature algorithm OID and the issuer key to a scheme.
fn signature_scheme(oid: &str, issuer_key: &DerPublicKey) -> Result<SigningScheme, String> {
    let hash = match oid {
        "1.2.840.10045.4.3.2" | "1.2.840.113549.1.1.11" => HashAlgorithm::Sha2256,
        "1.2.840.10045.4.3.3" | "1.2.840.113549.1.1.12" => HashAlgorithm::Sha2384,
        "1.2.840.113549.1.1.13" => HashAlgorithm::Sha2512,
        "1.3.101.112" => return Ok(SigningScheme::Ed25519),
        other => return Err(format!("unsupported signature algorithm {other}")),
    };
    let algorithm = KeyAlgorithm::from_spki(issuer_key).map_err(|e| e.to_string())?;
    algorithm
        .resolve_signing_scheme(hash)
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The built-in root skips chain checks at load (see
    /// [`TrustRoot::production`]); this is where they are made instead.
    #[test]
    fn production_root_chains_hold() {
        let root = TrustRoot::production().expect("built-in root parses");
        check_chains(&root.root).expect("built-in root's chains verify");
        TrustRoot::from_json(
            sigstore_trust_root::SIGSTORE_PRODUCTION_TRUSTED_ROOT.as_bytes(),
            &Limits::default(),
        )
        .expect("and it loads through the checking path too");
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

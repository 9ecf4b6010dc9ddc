//! The certificate chains of a trusted root, checked when first used.
//!
//! Each Fulcio CA and timestamp authority of a `trusted_root.json` carries a
//! chain: each certificate must be issued by the next one. `sigstore-verify`
//! does not check that: it makes *every* certificate of a Fulcio chain a
//! trust anchor, so a leaf issued by the intermediate is accepted without
//! the intermediate's own signature ever being checked, and a file whose
//! intermediate was swapped for a foreign one would still verify. This
//! module checks the links.
//!
//! What is checked, and when:
//!
//! - at load ([`Chains::parse`], cheap, no cryptography): every chain has a
//!   certificate, every certificate parses as DER X.509, and each one's
//!   issuer name is the next one's subject (a chain in the wrong order or
//!   with a missing link is refused here);
//! - at first use ([`Chains::check_ca_for`], [`Chains::check_tsa`]): each
//!   certificate's signature verifies with the next one's key. A CA chain
//!   is used by a leaf whose issuer is one of its subjects; timestamp
//!   authority chains are used by any bundle with an RFC 3161 timestamp.
//!   The outcome is remembered per chain (a `OnceLock` shared by every
//!   clone of the [`crate::TrustRoot`], so every thread sees one check), and
//!   a failure is reported at every later use with the same
//!   [`TrustRootError::Chain`] a load-time check gave.
//!
//! A one-shot CLI run thus pays only for the chain it uses (one ECDSA check
//! for a two-certificate chain) instead of every chain in the file.
//!
//! The last certificate (the anchor) is trusted as given: its
//! self-signature is not checked. A self-signature authenticates nothing
//! (whoever can edit the file can self-sign), RFC 5280 §6.1 takes trust
//! anchor information as given, and webpki, which checks the leaves, never
//! checks an anchor's signature either.
//!
//! Signatures are checked with the same call webpki makes through
//! sigstore-crypto (`verify_raw` on the raw subject public key), so a link
//! that the delegate also checks (a TSA leaf, inside the same verification)
//! is found in the verifier's [`crate::signature_memo`] rather than checked
//! twice.

use std::sync::OnceLock;

use der::{Decode, Encode};
use sigstore_crypto::{KeyAlgorithm, SigningScheme};
use sigstore_trust_root::trusted_root::CertChain;
use sigstore_trust_root::TrustedRoot;
use sigstore_types::{DerPublicKey, HashAlgorithm};
use x509_cert::name::Name;
use x509_cert::Certificate;

use crate::trust_root::TrustRootError;

/// Why one link of a chain does not hold (cloneable, so a remembered
/// failure can be reported again as a [`TrustRootError::Chain`]).
#[derive(Debug, Clone)]
struct ChainFault {
    index: usize,
    subject: String,
    issuer: String,
    detail: String,
}

/// One chain: its certificates, parsed at load, and the remembered outcome
/// of its signature checks.
#[derive(Debug)]
struct Chain {
    /// Where it is in the document, e.g. `certificateAuthorities[0]`.
    what: String,
    certs: Vec<Certificate>,
    checked: OnceLock<Result<(), ChainFault>>,
}

/// Every chain of a trusted root (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct Chains {
    /// The built-in root (or bytes checked in full before): nothing to check.
    known_good: bool,
    authorities: Vec<Chain>,
    timestamp_authorities: Vec<Chain>,
}

impl Chains {
    /// Chains that need no check: the built-in root, whose chains the test
    /// `production_root_chains_hold` verifies on every build, or a document
    /// already checked in full.
    pub(crate) fn known_good() -> Self {
        Self {
            known_good: true,
            ..Self::default()
        }
    }

    /// Parse every chain and check its structure (no signatures yet).
    pub(crate) fn parse(root: &TrustedRoot) -> Result<Self, TrustRootError> {
        let authorities = root
            .certificate_authorities
            .iter()
            .enumerate()
            .map(|(i, ca)| Chain::parse(format!("certificateAuthorities[{i}]"), &ca.cert_chain))
            .collect::<Result<_, _>>()?;
        let timestamp_authorities = root
            .timestamp_authorities
            .iter()
            .enumerate()
            .map(|(i, t)| Chain::parse(format!("timestampAuthorities[{i}]"), &t.cert_chain))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            known_good: false,
            authorities,
            timestamp_authorities,
        })
    }

    /// Check (once) every CA chain that holds the issuer of `leaf` (DER).
    /// A leaf that does not parse, or that no chain issued, has no chain to
    /// check here; the chain verification proper then refuses it.
    pub(crate) fn check_ca_for(&self, leaf: &[u8]) -> Result<(), TrustRootError> {
        if self.known_good || self.authorities.is_empty() {
            return Ok(());
        }
        let Some(issuer) = issuer_of(leaf) else {
            return Ok(());
        };
        self.authorities
            .iter()
            .filter(|chain| chain.holds_subject(&issuer))
            .try_for_each(Chain::check)
    }

    /// Check (once) every timestamp-authority chain.
    pub(crate) fn check_tsa(&self) -> Result<(), TrustRootError> {
        if self.known_good {
            return Ok(());
        }
        self.timestamp_authorities.iter().try_for_each(Chain::check)
    }

    /// Check (once) every chain.
    pub(crate) fn check_all(&self) -> Result<(), TrustRootError> {
        if self.known_good {
            return Ok(());
        }
        self.authorities
            .iter()
            .chain(&self.timestamp_authorities)
            .try_for_each(Chain::check)
    }
}

/// The issuer name of a DER certificate (a parse of some microseconds,
/// next to the millisecond of a signature check it may save).
fn issuer_of(leaf: &[u8]) -> Option<Name> {
    Certificate::from_der(leaf)
        .ok()
        .map(|c| c.tbs_certificate.issuer)
}

impl Chain {
    fn parse(what: String, chain: &CertChain) -> Result<Self, TrustRootError> {
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
                Certificate::from_der(entry.raw_bytes.as_bytes()).map_err(|e| {
                    TrustRootError::Chain {
                        what: what.clone(),
                        index,
                        subject: "?".into(),
                        issuer: "?".into(),
                        detail: format!("certificate does not parse: {e}"),
                    }
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        for (index, pair) in certs.windows(2).enumerate() {
            let (cert, issuer) = (&pair[0], &pair[1]);
            if cert.tbs_certificate.issuer != issuer.tbs_certificate.subject {
                return Err(TrustRootError::Chain {
                    what,
                    index,
                    subject: cert.tbs_certificate.subject.to_string(),
                    issuer: issuer.tbs_certificate.subject.to_string(),
                    detail: format!("its issuer is {}", cert.tbs_certificate.issuer),
                });
            }
        }
        Ok(Self {
            what,
            certs,
            checked: OnceLock::new(),
        })
    }

    fn holds_subject(&self, name: &Name) -> bool {
        self.certs
            .iter()
            .any(|c| &c.tbs_certificate.subject == name)
    }

    /// Check every link's signature, once; report a failure as the typed
    /// error every time.
    fn check(&self) -> Result<(), TrustRootError> {
        let outcome = self.checked.get_or_init(|| {
            self.certs
                .windows(2)
                .enumerate()
                .try_for_each(|(index, pair)| {
                    verify_link(&pair[0], &pair[1]).map_err(|detail| ChainFault {
                        index,
                        subject: pair[0].tbs_certificate.subject.to_string(),
                        issuer: pair[1].tbs_certificate.subject.to_string(),
                        detail,
                    })
                })
        });
        outcome.clone().map_err(|f| TrustRootError::Chain {
            what: self.what.clone(),
            index: f.index,
            subject: f.subject,
            issuer: f.issuer,
            detail: f.detail,
        })
    }
}

/// Check that `issuer`'s key signed `cert`, as webpki checks a link: the
/// active sigstore-crypto provider's `verify_raw` over the TBS bytes with
/// the raw subject public key.
fn verify_link(cert: &Certificate, issuer: &Certificate) -> Result<(), String> {
    let tbs = cert
        .tbs_certificate
        .to_der()
        .map_err(|e| format!("cannot encode TBS: {e}"))?;
    let spki = &issuer.tbs_certificate.subject_public_key_info;
    let spki_der = spki
        .to_der()
        .map_err(|e| format!("cannot encode issuer key: {e}"))?;
    let sig = cert
        .signature
        .as_bytes()
        .ok_or_else(|| "signature has unused bits".to_string())?;
    let raw_key = spki
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| "issuer key has unused bits".to_string())?;
    let scheme = signature_scheme(
        &cert.signature_algorithm.oid.to_string(),
        &DerPublicKey::new(spki_der),
    )?;
    sigstore_crypto::provider::default_provider()
        .verify_raw(scheme, raw_key, &tbs, sig)
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

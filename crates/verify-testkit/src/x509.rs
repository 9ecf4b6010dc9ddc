//! Minimal X.509 v3 certificate assembly on top of the `x509-cert` types.
//!
//! The TBSCertificate is DER-encoded with `der`/`x509-cert` (the generation
//! sigstore-rust parses with) and signed by a [`TestKey`]; nothing here does
//! cryptography itself.

use crate::keys::TestKey;
use crate::{Error, Result};
use der::asn1::{BitString, GeneralizedTime, Ia5String, OctetString, UtcTime};
use der::{Decode, Encode};
use jiff::Timestamp;
use spki::ObjectIdentifier;
use std::str::FromStr;
use std::time::Duration;
use x509_cert::certificate::{CertificateInner, TbsCertificateInner, Version};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectAltName, SubjectKeyIdentifier,
};
use x509_cert::ext::Extension;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};
use x509_cert::Certificate;

pub(crate) const OID_KP_CODE_SIGNING: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.3");
pub(crate) const OID_KP_TIME_STAMPING: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8");
const OID_CE_SUBJECT_KEY_IDENTIFIER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.14");
const OID_CE_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
const OID_CE_SUBJECT_ALT_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.17");
const OID_CE_BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
const OID_CE_AUTHORITY_KEY_IDENTIFIER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.35");
const OID_CE_EXT_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");

/// Parse an RFC 4514 distinguished name such as `CN=sigstore,O=sigstore.dev`.
pub(crate) fn name(dn: &str) -> Result<Name> {
    Name::from_str(dn).map_err(Error::from)
}

/// An X.509 `Time`: UTCTime through 2049, GeneralizedTime from 2050 on, as
/// RFC 5280 section 4.1.2.5 requires. Sub-second precision is dropped.
pub(crate) fn time(ts: Timestamp) -> Result<Time> {
    let secs = u64::try_from(ts.as_second())
        .map_err(|_| Error::InvalidOptions(format!("time {ts} is before 1970")))?;
    let duration = Duration::from_secs(secs);
    if ts.as_second() < 2_524_608_000 {
        // 2050-01-01T00:00:00Z
        Ok(Time::UtcTime(UtcTime::from_unix_duration(duration)?))
    } else {
        Ok(Time::GeneralTime(GeneralizedTime::from_unix_duration(
            duration,
        )?))
    }
}

/// A random positive serial number of `len` bytes (at most 20).
pub(crate) fn random_serial(len: usize) -> Result<SerialNumber> {
    let mut bytes = vec![0u8; len];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| Error::Crypto("random source failed".into()))?;
    // Positive, and minimal: the first byte is non-zero with its top bit clear.
    bytes[0] = (bytes[0] & 0x7f) | 0x01;
    Ok(SerialNumber::new(&bytes)?)
}

/// An extension whose value is the DER encoding of `value`.
pub(crate) fn extension(
    oid: ObjectIdentifier,
    critical: bool,
    value: &impl Encode,
) -> Result<Extension> {
    raw_extension(oid, critical, value.to_der()?)
}

/// An extension whose value is the given bytes, unwrapped.
pub(crate) fn raw_extension(
    oid: ObjectIdentifier,
    critical: bool,
    value: Vec<u8>,
) -> Result<Extension> {
    Ok(Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value)?,
    })
}

/// A key identifier for `key`: the first 20 bytes of SHA-256 over the
/// SubjectPublicKeyInfo (RFC 7093 method 4 style).
pub(crate) fn key_identifier(key_spki_der: &[u8]) -> Vec<u8> {
    sigstore_crypto::sha256(key_spki_der).as_bytes()[..20].to_vec()
}

pub(crate) fn subject_key_identifier(key_spki_der: &[u8]) -> Result<Extension> {
    extension(
        OID_CE_SUBJECT_KEY_IDENTIFIER,
        false,
        &SubjectKeyIdentifier(OctetString::new(key_identifier(key_spki_der))?),
    )
}

pub(crate) fn authority_key_identifier(issuer_spki_der: &[u8]) -> Result<Extension> {
    extension(
        OID_CE_AUTHORITY_KEY_IDENTIFIER,
        false,
        &AuthorityKeyIdentifier {
            key_identifier: Some(OctetString::new(key_identifier(issuer_spki_der))?),
            authority_cert_issuer: None,
            authority_cert_serial_number: None,
        },
    )
}

pub(crate) fn basic_constraints_ca(path_len: Option<u8>) -> Result<Extension> {
    extension(
        OID_CE_BASIC_CONSTRAINTS,
        true,
        &BasicConstraints {
            ca: true,
            path_len_constraint: path_len,
        },
    )
}

pub(crate) fn key_usage_ca() -> Result<Extension> {
    extension(
        OID_CE_KEY_USAGE,
        true,
        &KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign),
    )
}

pub(crate) fn key_usage_digital_signature() -> Result<Extension> {
    extension(
        OID_CE_KEY_USAGE,
        true,
        &KeyUsage(KeyUsages::DigitalSignature.into()),
    )
}

pub(crate) fn extended_key_usage(purpose: ObjectIdentifier, critical: bool) -> Result<Extension> {
    extension(
        OID_CE_EXT_KEY_USAGE,
        critical,
        &ExtendedKeyUsage(vec![purpose]),
    )
}

/// The identity a Fulcio certificate is issued to, carried in its Subject
/// Alternative Name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SanIdentity {
    /// An `rfc822Name`: a human's email address.
    Email(String),
    /// A `uniformResourceIdentifier`: a workload such as a CI workflow.
    Uri(String),
    /// An `otherName` of Fulcio's username type (OID 1.3.6.1.4.1.57264.1.7,
    /// a UTF8String), e.g. `user!oidc.example`.
    OtherName(String),
}

/// Fulcio's `otherName` type for username identities.
pub const FULCIO_USERNAME_OID: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.7");

impl SanIdentity {
    /// The identity string, whatever its kind.
    pub fn as_str(&self) -> &str {
        match self {
            SanIdentity::Email(s) | SanIdentity::Uri(s) | SanIdentity::OtherName(s) => s,
        }
    }
}

impl std::fmt::Display for SanIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A critical SAN (Fulcio leaves have an empty subject, so RFC 5280 requires
/// the SAN to be critical).
pub(crate) fn subject_alt_name(identity: &SanIdentity) -> Result<Extension> {
    let name = match identity {
        SanIdentity::Email(email) => GeneralName::Rfc822Name(Ia5String::new(email)?),
        SanIdentity::Uri(uri) => GeneralName::UniformResourceIdentifier(Ia5String::new(uri)?),
        SanIdentity::OtherName(name) => {
            GeneralName::OtherName(x509_cert::ext::pkix::name::OtherName {
                type_id: FULCIO_USERNAME_OID,
                value: der::Any::encode_from(&der::asn1::Utf8StringRef::new(name)?)?,
            })
        }
    };
    extension(OID_CE_SUBJECT_ALT_NAME, true, &SubjectAltName(vec![name]))
}

/// The fields of a certificate to be issued.
pub(crate) struct CertTemplate {
    pub serial: SerialNumber,
    pub issuer: Name,
    pub subject: Name,
    pub not_before: Timestamp,
    pub not_after: Timestamp,
    pub extensions: Vec<Extension>,
}

impl CertTemplate {
    /// The TBSCertificate for a certificate over `subject_key`, to be signed by
    /// `issuer_key`.
    pub(crate) fn tbs(
        self,
        subject_spki: &[u8],
        issuer_key: &TestKey,
    ) -> Result<TbsCertificateInner> {
        Ok(TbsCertificateInner {
            version: Version::V3,
            serial_number: self.serial,
            signature: issuer_key.signature_algorithm(),
            issuer: self.issuer,
            validity: Validity {
                not_before: time(self.not_before)?,
                not_after: time(self.not_after)?,
            },
            subject: self.subject,
            subject_public_key_info: spki::SubjectPublicKeyInfoOwned::from_der(subject_spki)?,
            issuer_unique_id: None,
            subject_unique_id: None,
            extensions: if self.extensions.is_empty() {
                None
            } else {
                Some(self.extensions)
            },
        })
    }
}

/// Sign a TBSCertificate with `issuer_key`, returning the certificate DER.
pub(crate) fn sign_tbs(tbs: TbsCertificateInner, issuer_key: &TestKey) -> Result<Vec<u8>> {
    let tbs_der = tbs.to_der()?;
    let signature = issuer_key.sign(&tbs_der)?;
    let cert: Certificate = CertificateInner {
        signature_algorithm: issuer_key.signature_algorithm(),
        tbs_certificate: tbs,
        signature: BitString::from_bytes(&signature)?,
    };
    Ok(cert.to_der()?)
}

/// A self-signed P-384 root CA (`subject` is a DN string such as
/// `CN=root,O=sigstore.test`), valid from `not_before` to `not_after`, that
/// may sign CAs down to `path_len` levels. Returns its key, name and DER.
pub(crate) fn self_signed_root(
    subject: &str,
    path_len: Option<u8>,
    not_before: Timestamp,
    not_after: Timestamp,
) -> Result<(TestKey, Name, Vec<u8>)> {
    let key = TestKey::generate(crate::keys::KeyKind::EcdsaP384)?;
    let name = name(subject)?;
    let tbs = CertTemplate {
        serial: random_serial(20)?,
        issuer: name.clone(),
        subject: name.clone(),
        not_before,
        not_after,
        extensions: vec![
            key_usage_ca()?,
            basic_constraints_ca(path_len)?,
            subject_key_identifier(key.public_key_der())?,
        ],
    }
    .tbs(key.public_key_der(), &key)?;
    let cert = sign_tbs(tbs, &key)?;
    Ok((key, name, cert))
}

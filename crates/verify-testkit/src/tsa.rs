//! An RFC 3161 timestamp authority.
//!
//! [`Tsa`] has a self-signed ECDSA P-384 root and an ECDSA P-256 signing leaf
//! with the critical `timeStamping` extended key usage. It issues
//! `TimeStampResp` messages whose token is a CMS `SignedData` (RFC 5652) over
//! a `TSTInfo` with a SHA-256 message imprint; signed attributes carry the
//! content type, the message digest and an ESS `signingCertificateV2`.

use crate::keys::{KeyKind, TestKey};
use crate::x509::{self, CertTemplate};
use crate::{Error, Result};
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der::asn1::{GeneralizedTime, Int, OctetString, SetOfVec};
use der::{Any, Decode, Encode, Sequence, Tag};
use jiff::Timestamp;
use spki::{AlgorithmIdentifierOwned, ObjectIdentifier};
use x509_cert::attr::Attribute;
use x509_cert::Certificate;

const OID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const OID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const OID_CT_TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
const OID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const OID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const OID_SIGNING_CERTIFICATE_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");
/// The TSA policy OID written into every `TSTInfo`.
pub(crate) const TSA_POLICY_OID: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.2");

/// RFC 3161 `MessageImprint`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct MessageImprint {
    hash_algorithm: AlgorithmIdentifierOwned,
    hashed_message: OctetString,
}

/// RFC 3161 `TSTInfo` (the fields this TSA fills in).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct TstInfo {
    version: u8,
    policy: ObjectIdentifier,
    message_imprint: MessageImprint,
    serial_number: Int,
    /// A GeneralizedTime, written by hand so it may carry fractional
    /// seconds (DER's `GeneralizedTime` type cannot).
    gen_time: Any,
    #[asn1(optional = "true")]
    nonce: Option<Int>,
}

/// RFC 3161 `PKIStatusInfo` with only the status.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct PkiStatusInfo {
    status: u8,
}

/// RFC 3161 `TimeStampResp`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct TimeStampResp {
    status: PkiStatusInfo,
    #[asn1(optional = "true")]
    time_stamp_token: Option<Any>,
}

/// RFC 5035 `ESSCertIDv2` with the default (SHA-256) hash algorithm.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct EssCertIdV2 {
    cert_hash: OctetString,
}

/// RFC 5035 `SigningCertificateV2`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct SigningCertificateV2 {
    certs: Vec<EssCertIdV2>,
}

/// An RFC 3161 timestamp authority with a two-certificate chain.
#[derive(Debug)]
pub struct Tsa {
    root_key: TestKey,
    root_cert: Vec<u8>,
    signing_key: TestKey,
    signing_cert: Vec<u8>,
    uri: String,
}

impl Tsa {
    /// Generate the TSA root and signing certificate, valid from `not_before`
    /// to `not_after`.
    pub fn new(
        label: &str,
        uri: &str,
        not_before: Timestamp,
        not_after: Timestamp,
    ) -> Result<Self> {
        let (root_key, root_name, root_cert) = x509::self_signed_root(
            &format!("CN={label}-root,O=sigstore.test"),
            Some(0),
            not_before,
            not_after,
        )?;

        let signing_key = TestKey::generate(KeyKind::EcdsaP256)?;
        let signing_tbs = CertTemplate {
            serial: x509::random_serial(20)?,
            issuer: root_name,
            subject: x509::name(&format!("CN={label},O=sigstore.test"))?,
            not_before,
            not_after,
            extensions: vec![
                x509::key_usage_digital_signature()?,
                // RFC 3161 section 2.3: the only EKU, and critical.
                x509::extended_key_usage(x509::OID_KP_TIME_STAMPING, true)?,
                x509::subject_key_identifier(signing_key.public_key_der())?,
                x509::authority_key_identifier(root_key.public_key_der())?,
            ],
        }
        .tbs(signing_key.public_key_der(), &root_key)?;
        let signing_cert = x509::sign_tbs(signing_tbs, &root_key)?;

        Ok(Self {
            root_key,
            root_cert,
            signing_key,
            signing_cert,
            uri: uri.into(),
        })
    }

    /// The TSA root certificate (DER).
    pub fn root_der(&self) -> &[u8] {
        &self.root_cert
    }

    /// The TSA signing (leaf) certificate (DER).
    pub fn signing_cert_der(&self) -> &[u8] {
        &self.signing_cert
    }

    /// The root key.
    pub fn root_key(&self) -> &TestKey {
        &self.root_key
    }

    /// The TSA's URI as listed in the trusted root.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// A DER `TimeStampResp` (status granted) timestamping `data` at
    /// `gen_time` (with a fractional part when it has one): the message imprint is SHA-256 of `data`.
    /// For a Sigstore bundle `data` is the signature bytes.
    pub fn timestamp(&self, data: &[u8], gen_time: Timestamp) -> Result<Vec<u8>> {
        let imprint = sigstore_crypto::sha256(data);
        self.timestamp_imprint(imprint.as_bytes(), gen_time)
    }

    /// Like [`Tsa::timestamp`], but over an arbitrary SHA-256 imprint.
    pub fn timestamp_imprint(&self, sha256_imprint: &[u8], gen_time: Timestamp) -> Result<Vec<u8>> {
        let token = self.timestamp_token(sha256_imprint, gen_time)?;
        let response = TimeStampResp {
            status: PkiStatusInfo { status: 0 },
            time_stamp_token: Some(Any::from_der(&token)?),
        };
        Ok(response.to_der()?)
    }

    /// The bare `TimeStampToken` (a CMS `ContentInfo`), without the
    /// `TimeStampResp` wrapper.
    pub fn timestamp_token(&self, sha256_imprint: &[u8], gen_time: Timestamp) -> Result<Vec<u8>> {
        let secs = u64::try_from(gen_time.as_second())
            .map_err(|_| Error::InvalidOptions("timestamp before 1970".into()))?;
        let tst_info = TstInfo {
            version: 1,
            policy: TSA_POLICY_OID,
            message_imprint: MessageImprint {
                hash_algorithm: sha256_algorithm(),
                hashed_message: OctetString::new(sha256_imprint)?,
            },
            serial_number: random_int()?,
            gen_time: gen_time_der(gen_time, secs)?,
            nonce: Some(random_int()?),
        };
        let tst_info_der = tst_info.to_der()?;

        let signing_cert = Certificate::from_der(&self.signing_cert)?;
        let signing_certificate_v2 = SigningCertificateV2 {
            certs: vec![EssCertIdV2 {
                cert_hash: OctetString::new(
                    sigstore_crypto::sha256(&self.signing_cert)
                        .as_bytes()
                        .as_slice(),
                )?,
            }],
        };
        let signed_attrs = SetOfVec::try_from(vec![
            attribute(OID_CONTENT_TYPE, Any::encode_from(&OID_CT_TST_INFO)?)?,
            attribute(
                OID_MESSAGE_DIGEST,
                Any::encode_from(&OctetString::new(
                    sigstore_crypto::sha256(&tst_info_der).as_bytes().as_slice(),
                )?)?,
            )?,
            attribute(
                OID_SIGNING_CERTIFICATE_V2,
                Any::encode_from(&signing_certificate_v2)?,
            )?,
        ])?;
        // RFC 5652 section 5.4: the signature covers the DER SET OF the
        // signed attributes (not their [0] IMPLICIT encoding).
        let signature = self.signing_key.sign(&signed_attrs.to_der()?)?;

        let signer_info = SignerInfo {
            version: CmsVersion::V1,
            sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
                issuer: signing_cert.tbs_certificate.issuer.clone(),
                serial_number: signing_cert.tbs_certificate.serial_number.clone(),
            }),
            digest_alg: sha256_algorithm(),
            signed_attrs: Some(signed_attrs),
            signature_algorithm: self.signing_key.signature_algorithm(),
            signature: OctetString::new(signature)?,
            unsigned_attrs: None,
        };
        let signed_data = SignedData {
            version: CmsVersion::V3,
            digest_algorithms: SetOfVec::try_from(vec![sha256_algorithm()])?,
            encap_content_info: EncapsulatedContentInfo {
                econtent_type: OID_CT_TST_INFO,
                econtent: Some(Any::new(Tag::OctetString, tst_info_der)?),
            },
            certificates: Some(CertificateSet(SetOfVec::try_from(vec![
                CertificateChoices::Certificate(signing_cert),
            ])?)),
            crls: None,
            signer_infos: SignerInfos(SetOfVec::try_from(vec![signer_info])?),
        };
        let content_info = ContentInfo {
            content_type: OID_SIGNED_DATA,
            content: Any::encode_from(&signed_data)?,
        };
        Ok(content_info.to_der()?)
    }
}

/// `YYYYMMDDhhmmss[.f]Z`: whole seconds as DER writes them, and the
/// sub-second part (if any) as a fraction without trailing zeros (RFC 3161
/// §2.4.2).
fn gen_time_der(gen_time: Timestamp, secs: u64) -> Result<Any> {
    let whole = GeneralizedTime::from_unix_duration(std::time::Duration::from_secs(secs))?;
    let nanos = gen_time.subsec_nanosecond();
    if nanos <= 0 {
        return Ok(Any::encode_from(&whole)?);
    }
    let whole = whole.to_der()?;
    // The DER value is `YYYYMMDDhhmmssZ` after a two-byte header.
    let digits = std::str::from_utf8(&whole[2..whole.len() - 1])
        .map_err(|_| Error::InvalidOptions("GeneralizedTime is not ASCII".into()))?;
    let fraction = format!("{nanos:09}");
    let text = format!("{digits}.{}Z", fraction.trim_end_matches('0'));
    Ok(Any::new(Tag::GeneralizedTime, text.into_bytes())?)
}

fn sha256_algorithm() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: OID_SHA256,
        parameters: None,
    }
}

fn attribute(oid: ObjectIdentifier, value: Any) -> Result<Attribute> {
    Ok(Attribute {
        oid,
        values: SetOfVec::try_from(vec![value])?,
    })
}

/// A random positive 64-bit INTEGER.
fn random_int() -> Result<Int> {
    let mut bytes = [0u8; 8];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| Error::Crypto("random source failed".into()))?;
    bytes[0] = (bytes[0] & 0x7f) | 0x01;
    Ok(Int::new(&bytes)?)
}

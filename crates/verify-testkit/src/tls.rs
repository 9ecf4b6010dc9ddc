//! A TLS server identity for tests that serve HTTPS on loopback (e.g. a
//! registry behind `--registry-cacert`): a throwaway CA and a server
//! certificate for `localhost` and `127.0.0.1`, with the server's PKCS#8
//! private key, all as PEM.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use der::asn1::{Ia5String, OctetString};
use jiff::{SignedDuration, Timestamp};
use spki::ObjectIdentifier;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::SubjectAltName;

use crate::keys::{KeyKind, TestKey};
use crate::x509::{self, CertTemplate};
use crate::{pem, Error, Result};

const OID_CE_SUBJECT_ALT_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.17");
const OID_KP_SERVER_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.1");

/// A CA certificate and a server certificate and key it issued.
#[derive(Clone)]
pub struct TlsIdentity {
    /// The CA certificate (PEM), for clients to trust.
    pub ca_pem: String,
    /// The server certificate (PEM), valid for `localhost` and `127.0.0.1`.
    pub cert_pem: String,
    /// The server's private key (PKCS#8 PEM).
    pub key_pem: String,
}

impl std::fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsIdentity").finish_non_exhaustive()
    }
}

impl TlsIdentity {
    /// A fresh CA (ECDSA P-256) and a server certificate for `localhost` and
    /// `127.0.0.1`, valid from an hour ago for a day.
    pub fn localhost() -> Result<Self> {
        let now = Timestamp::now();
        let not_before = now - SignedDuration::from_hours(1);
        let not_after = now + SignedDuration::from_hours(24);

        let ca_key = TestKey::generate(KeyKind::EcdsaP256)?;
        let ca_name = x509::name("CN=verify-testkit TLS CA,O=verify-testkit")?;
        let ca = x509::sign_tbs(
            CertTemplate {
                serial: x509::random_serial(16)?,
                issuer: ca_name.clone(),
                subject: ca_name.clone(),
                not_before,
                not_after,
                extensions: vec![
                    x509::basic_constraints_ca(None)?,
                    x509::key_usage_ca()?,
                    x509::subject_key_identifier(ca_key.public_key_der())?,
                ],
            }
            .tbs(ca_key.public_key_der(), &ca_key)?,
            &ca_key,
        )?;

        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &SystemRandom::new())
                .map_err(|_| Error::Crypto("P-256 key generation failed".into()))?;
        let server_spki = sigstore_crypto::KeyPair::from_pkcs8_der(pkcs8.as_ref())?
            .public_key_der()?
            .into_bytes();
        let san = SubjectAltName(vec![
            GeneralName::DnsName(Ia5String::new("localhost")?),
            GeneralName::IpAddress(OctetString::new(vec![127, 0, 0, 1])?),
        ]);
        let server = x509::sign_tbs(
            CertTemplate {
                serial: x509::random_serial(16)?,
                issuer: ca_name,
                subject: x509::name("CN=localhost")?,
                not_before,
                not_after,
                extensions: vec![
                    x509::extension(OID_CE_SUBJECT_ALT_NAME, false, &san)?,
                    x509::extended_key_usage(OID_KP_SERVER_AUTH, false)?,
                    x509::key_usage_digital_signature()?,
                    x509::authority_key_identifier(ca_key.public_key_der())?,
                ],
            }
            .tbs(&server_spki, &ca_key)?,
            &ca_key,
        )?;
        Ok(Self {
            ca_pem: pem::encode("CERTIFICATE", &ca),
            cert_pem: pem::encode("CERTIFICATE", &server),
            key_pem: pem::encode("PRIVATE KEY", pkcs8.as_ref()),
        })
    }
}

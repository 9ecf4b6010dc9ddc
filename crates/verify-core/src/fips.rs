//! FIPS mode: whether this build runs on the AWS-LC FIPS module, and the
//! algorithms refused in that build.
//!
//! The `fips` cargo feature builds aws-lc-rs on `aws-lc-fips-sys` (the AWS-LC
//! FIPS module); hashing goes through it too (see [`crate::digest`]). The
//! module runs approved and non-approved algorithms alike: it only reports,
//! through its service indicator, whether a call was approved. So the FIPS
//! build refuses, in our code and before any signature is checked, every key
//! that the module's approved mode does not cover (`check_key`), with
//! [`NotApproved`] naming the algorithm (reason code
//! `algorithm-not-fips-approved`).
//!
//! What is approved follows the module's own service indicator
//! (`crypto/fipsmodule/service_indicator/service_indicator.c` in the AWS-LC
//! FIPS source that aws-lc-fips-sys builds) and FIPS 186-5 / FIPS 204:
//! - ECDSA on P-224, P-256, P-384 and P-521 (not secp256k1, not Brainpool);
//! - RSA with a modulus of at least 2048 bits and an even number of bits
//!   (the module also lets 1024-bit keys verify, as legacy use under
//!   SP 800-131A; we refuse them);
//! - Ed25519 (EdDSA is approved by FIPS 186-5 and by the module); not Ed448,
//!   which the module does not implement;
//! - ML-DSA-44, -65 and -87 (FIPS 204).
//!
//! The hash of each signature scheme sigstore-crypto accepts is SHA-256,
//! SHA-384 or SHA-512, all approved; SHA-1 signatures are not accepted by any
//! build (sigstore-crypto and webpki have no SHA-1 schemes).

use serde::Serialize;

/// Whether this build is on the AWS-LC FIPS module (`--features fips`).
pub const ENABLED: bool = cfg!(feature = "fips");

/// The FIPS state reported by `--version` and in JSON outputs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FipsStatus {
    /// Built on the FIPS module and running in FIPS mode.
    pub enabled: bool,
    /// The module, e.g. `AWS-LC FIPS 4.2.0`; absent in the normal build.
    pub module: Option<String>,
}

impl std::fmt::Display for FipsStatus {
    /// `on (AWS-LC FIPS 4.2.0)` or `off`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.module {
            Some(module) if self.enabled => write!(f, "on ({module})"),
            _ => f.write_str("off"),
        }
    }
}

/// This process's FIPS state. In the FIPS build the module's version is
/// the one the linked library reports at run time (`awslc_version()`: the
/// module's own version string is `AWS-LC FIPS <version>`).
pub fn status() -> FipsStatus {
    FipsStatus {
        enabled: ENABLED,
        module: ENABLED.then(|| format!("AWS-LC FIPS {}", aws_lc_rs::awslc_version())),
    }
}

/// The FIPS build's start-up check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the AWS-LC FIPS module is not in FIPS mode: {detail}")]
pub struct FipsModeOff {
    /// What aws-lc-rs reported.
    pub detail: String,
}

impl FipsModeOff {
    /// Stable reason code.
    pub fn code(&self) -> &'static str {
        "fips-mode-off"
    }
}

/// In the FIPS build, fail unless the module is in FIPS mode (its power-on
/// self-tests passed and it was built as the FIPS module). A front end calls
/// this at start-up and refuses to start on an error. In the normal build
/// this is `Ok`: there is no module to check.
pub fn check_mode() -> Result<(), FipsModeOff> {
    if !ENABLED {
        return Ok(());
    }
    aws_lc_rs::try_fips_mode().map_err(|detail| FipsModeOff {
        detail: detail.to_string(),
    })
}

/// A key or algorithm the FIPS build refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{algorithm} is not a FIPS-approved algorithm; this FIPS build refuses it")]
pub struct NotApproved {
    /// The algorithm, e.g. `ECDSA secp256k1`, `RSA-1024`, `Ed448`.
    pub algorithm: String,
}

impl NotApproved {
    /// Stable reason code.
    pub fn code(&self) -> &'static str {
        "algorithm-not-fips-approved"
    }
}

/// In the FIPS build, refuse a public key (DER SubjectPublicKeyInfo) whose
/// algorithm is not approved; in the normal build, accept every key (what
/// the verification then supports is sigstore-crypto's business).
pub(crate) fn check_key(spki_der: &[u8]) -> Result<(), NotApproved> {
    if ENABLED {
        approved_key(spki_der)
    } else {
        Ok(())
    }
}

/// [`check_key`] on a certificate's key (DER certificate).
pub(crate) fn check_certificate_key(cert_der: &[u8]) -> Result<(), crate::VerifyError> {
    if !ENABLED {
        return Ok(());
    }
    use der::{Decode, Encode};
    let spki = x509_cert::Certificate::from_der(cert_der)
        .and_then(|c| c.tbs_certificate.subject_public_key_info.to_der())
        .map_err(|e| crate::error::CertificateError::Malformed {
            detail: format!("signing certificate: {e}"),
        })?;
    Ok(approved_key(&spki)?)
}

const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";
const RSA_PSS: &str = "1.2.840.113549.1.1.10";
const ED25519: &str = "1.3.101.112";
const ED448: &str = "1.3.101.113";
const ML_DSA: [&str; 3] = [
    "2.16.840.1.101.3.4.3.17",
    "2.16.840.1.101.3.4.3.18",
    "2.16.840.1.101.3.4.3.19",
];

/// The rule itself, whatever the build: `Ok` for an approved key.
pub(crate) fn approved_key(spki_der: &[u8]) -> Result<(), NotApproved> {
    use der::Decode;
    let refuse = |algorithm: String| Err(NotApproved { algorithm });
    let Ok(spki) = spki::SubjectPublicKeyInfoRef::from_der(spki_der) else {
        return refuse("an unparsable public key".into());
    };
    let oid = spki.algorithm.oid.to_string();
    match oid.as_str() {
        EC_PUBLIC_KEY => {
            let curve = spki
                .algorithm
                .parameters
                .and_then(|p| p.decode_as::<der::asn1::ObjectIdentifier>().ok())
                .map(|c| c.to_string());
            match curve.as_deref() {
                Some("1.3.132.0.33" | "1.2.840.10045.3.1.7" | "1.3.132.0.34" | "1.3.132.0.35") => {
                    Ok(())
                }
                Some("1.3.132.0.10") => refuse("ECDSA secp256k1".into()),
                Some(other) => refuse(format!("ECDSA on curve {other}")),
                None => refuse("ECDSA without a named curve".into()),
            }
        }
        RSA_ENCRYPTION | RSA_PSS => match rsa_modulus_bits(spki.subject_public_key.raw_bytes()) {
            Some(bits) if bits >= 2048 && bits % 2 == 0 => Ok(()),
            Some(bits) => refuse(format!("RSA-{bits}")),
            None => refuse("RSA with an unparsable modulus".into()),
        },
        ED25519 => Ok(()),
        ED448 => refuse("Ed448".into()),
        o if ML_DSA.contains(&o) => Ok(()),
        other => refuse(format!("public-key algorithm {other}")),
    }
}

/// The bit length of an RSAPublicKey's modulus (RFC 8017 A.1.1).
fn rsa_modulus_bits(rsa_public_key: &[u8]) -> Option<usize> {
    use der::{Decode, Reader};
    let mut reader = der::SliceReader::new(rsa_public_key).ok()?;
    let modulus = reader
        .sequence(|r| {
            let n = der::asn1::UintRef::decode(r)?;
            let _e = der::asn1::UintRef::decode(r)?;
            Ok(n.as_bytes().to_vec())
        })
        .ok()?;
    let first = *modulus.first()?;
    Some(modulus.len() * 8 - first.leading_zeros() as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// A public key made by OpenSSL (a real implementation of every
    /// algorithm here, approved or not), as DER SubjectPublicKeyInfo.
    fn openssl_key(args: &[&str]) -> Vec<u8> {
        let dir = std::env::temp_dir().join(format!(
            "verify-fips-{}-{}",
            std::process::id(),
            args.join("_").replace([':', '/'], "-")
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let key = dir.join("key.pem");
        let out = Command::new("openssl")
            .arg("genpkey")
            .args(args)
            .arg("-out")
            .arg(&key)
            .output()
            .expect("openssl runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = Command::new("openssl")
            .args(["pkey", "-pubout", "-outform", "DER", "-in"])
            .arg(&key)
            .output()
            .expect("openssl runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::remove_dir_all(&dir).ok();
        out.stdout
    }

    fn verdict(args: &[&str]) -> Result<(), String> {
        approved_key(&openssl_key(args)).map_err(|e| e.algorithm)
    }

    #[test]
    fn approved_keys_pass() {
        for args in [
            &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"][..],
            &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
            &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-521"],
            &["-algorithm", "ED25519"],
            &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
            &["-algorithm", "RSA-PSS", "-pkeyopt", "rsa_keygen_bits:3072"],
        ] {
            assert_eq!(verdict(args), Ok(()), "{args:?}");
        }
    }

    #[test]
    fn unapproved_keys_are_named() {
        let cases: [(&[&str], &str); 4] = [
            (
                &[
                    "-algorithm",
                    "EC",
                    "-pkeyopt",
                    "ec_paramgen_curve:secp256k1",
                ],
                "ECDSA secp256k1",
            ),
            (
                &[
                    "-algorithm",
                    "EC",
                    "-pkeyopt",
                    "ec_paramgen_curve:brainpoolP256r1",
                ],
                "ECDSA on curve 1.3.36.3.3.2.8.1.1.7",
            ),
            (
                &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"],
                "RSA-1024",
            ),
            (&["-algorithm", "ED448"], "Ed448"),
        ];
        for (args, name) in cases {
            assert_eq!(verdict(args), Err(name.to_string()), "{args:?}");
        }
        let err = approved_key(b"not DER").unwrap_err();
        assert_eq!(err.code(), "algorithm-not-fips-approved");
    }

    /// An odd-length modulus (which OpenSSL does not generate): 3071 bits.
    #[test]
    fn modulus_bits_are_counted_exactly() {
        let mut der = vec![0x30, 0x82, 0x01, 0x89, 0x02, 0x82, 0x01, 0x80, 0x7f];
        der.extend([0xff; 383]);
        der.extend([0x02, 0x03, 0x01, 0x00, 0x01]);
        assert_eq!(rsa_modulus_bits(&der), Some(3071));
        der[8] = 0xff;
        // A negative INTEGER is not a modulus.
        assert_eq!(rsa_modulus_bits(&der), None);
        assert_eq!(rsa_modulus_bits(b"\x30\x00"), None);
    }

    #[test]
    fn status_matches_the_build() {
        let status = status();
        assert_eq!(status.enabled, cfg!(feature = "fips"));
        assert_eq!(status.module.is_some(), cfg!(feature = "fips"));
        assert!(check_mode().is_ok());
        if !ENABLED {
            assert_eq!(status.to_string(), "off");
            // The normal build never refuses a key.
            assert!(check_key(b"not DER").is_ok());
        }
    }
}

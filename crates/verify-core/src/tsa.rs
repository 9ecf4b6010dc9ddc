//! RFC 3161 timestamps over a signature, verified against one trusted
//! timestamp authority.
//!
//! [`verify_timestamp`] delegates to
//! `sigstore_tsa::verify_timestamp_for_authority`, which checks:
//!
//! 1. the token parses (a `TimeStampResp` granted, or a bare
//!    `TimeStampToken`) and its content is a `TSTInfo`;
//! 2. the message imprint is the hash of the signature;
//! 3. the CMS signature: the signer is the authority's pinned leaf, the
//!    signed `message-digest` attribute is the hash of the `TSTInfo`, and the
//!    leaf's key signed the signed attributes;
//! 4. the leaf chains to the authority's root (through its intermediates
//!    only) at the signed time, with the `timeStamping` extended key usage;
//! 5. the signed time is inside the authority's validity window.
//!
//! ## Why a second path
//!
//! sigstore-tsa 0.15.1 decodes `genTime` as DER `GeneralizedTime`, which
//! refuses fractional seconds, so it rejects every token whose `genTime`
//! carries them. RFC 3161 §2.4.2 allows them (`YYYYMMDDhhmmss[.s...]Z`), and
//! real TSAs emit them. When, and only when, the delegate refuses a token
//! whose `genTime` is of that form, [`verify_fractional`] performs the same
//! five checks with the same primitives (the `cms` types, sigstore-crypto's
//! signature verification, rustls-webpki's chain building) and a `genTime`
//! read with its fraction. No check is dropped; the content-type signed
//! attribute (RFC 5652 §11.1) is checked in addition.

use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier};
use der::asn1::{ObjectIdentifier, OctetString};
use der::{Any, Decode, Encode, Reader, Sequence, SliceReader, Tag, Tagged};
use jiff::Timestamp;
use rustls_pki_types::{CertificateDer, UnixTime};
use sigstore_tsa::Error;
use sigstore_types::{DerPublicKey, HashAlgorithm, SignatureBytes, TimestampToken, TsaAuthority};
use spki::AlgorithmIdentifierOwned;

const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const ID_CT_TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
const ID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const ID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const ID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const ID_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
const ID_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");
/// `id-kp-timeStamping` (1.3.6.1.5.5.7.3.8), DER contents.
const TIME_STAMPING: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x08];
const ID_SUBJECT_KEY_IDENTIFIER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.14");

/// Verify `token` over `signature` against `authority`; the signed time.
pub(crate) fn verify_timestamp(
    token: &TimestampToken,
    signature: &SignatureBytes,
    authority: &TsaAuthority,
) -> Result<Timestamp, Error> {
    match sigstore_tsa::verify_timestamp_for_authority(token, signature, authority) {
        // Only a token the delegate cannot read takes the second path; its
        // errors then replace the delegate's parse error.
        Err(_) if has_fractional_gen_time(token.as_bytes()) => {
            verify_fractional(token.as_bytes(), signature.as_bytes(), authority)
        }
        other => other,
    }
}

/// Verify `token` over `signature` against each of `authorities` in turn;
/// the first success gives the signed time. A token that an authority
/// authenticated but whose time is outside that authority's window is
/// `OutsideAuthorityValidity` (another authority's window does not rescue
/// it), any other failure `Invalid` with the last reason.
pub(crate) fn verify_against_authorities(
    token: &TimestampToken,
    signature: &SignatureBytes,
    authorities: &[TsaAuthority],
) -> Result<Timestamp, crate::error::TimestampError> {
    use crate::error::TimestampError;
    let mut last = String::from("the trusted root has no timestamp authority");
    let mut outside = None;
    for authority in authorities {
        match verify_timestamp(token, signature, authority) {
            Ok(time) => return Ok(time),
            Err(Error::TimestampOutsideValidity { time }) => outside = Some(time),
            Err(e) => last = e.to_string(),
        }
    }
    Err(match outside {
        Some(time) => TimestampError::OutsideAuthorityValidity { time },
        None => TimestampError::Invalid { detail: last },
    })
}

/// For a bundle with RFC 3161 timestamps whose `genTime` has fractional
/// seconds (which `sigstore-verify` cannot read): verify each of those
/// against the trusted TSAs here, and return the bundle without them (for
/// the delegate, which verifies everything else) and their verified times.
/// `None` when the bundle has no such timestamp.
pub(crate) fn split_fractional(
    root: &sigstore_trust_root::TrustedRoot,
    bundle: &sigstore_types::Bundle,
) -> Result<Option<(sigstore_types::Bundle, Vec<Timestamp>)>, crate::VerifyError> {
    let tokens = &bundle
        .verification_material
        .timestamp_verification_data
        .rfc3161_timestamps;
    if !tokens
        .iter()
        .any(|t| has_fractional_gen_time(t.signed_timestamp.as_bytes()))
    {
        return Ok(None);
    }
    let signature = match &bundle.content {
        sigstore_types::SignatureContent::MessageSignature(m) => m.signature.clone(),
        sigstore_types::SignatureContent::DsseEnvelope(d) => d.signature.sig.clone(),
        _ => {
            return Err(crate::VerifyError::Unsupported {
                detail: "bundle has no signature to timestamp".into(),
            })
        }
    };
    let authorities = root.tsa_authorities();
    let mut times = Vec::new();
    let mut kept = Vec::new();
    for token in tokens {
        if !has_fractional_gen_time(token.signed_timestamp.as_bytes()) {
            kept.push(token.clone());
            continue;
        }
        times.push(verify_against_authorities(
            &token.signed_timestamp,
            &signature,
            &authorities,
        )?);
    }
    let mut stripped = bundle.clone();
    stripped
        .verification_material
        .timestamp_verification_data
        .rfc3161_timestamps = kept;
    Ok(Some((stripped, times)))
}

/// What the delegate checks at each verified time, for the times verified
/// here: the signing certificate chains to a Fulcio CA valid at `time`
/// (with the code-signing usage) and is itself valid at `time`. Key-based
/// bundles have no certificate to check.
pub(crate) fn check_certificate_at(
    root: &sigstore_trust_root::TrustedRoot,
    bundle: &sigstore_types::Bundle,
    times: &[Timestamp],
) -> Result<(), crate::VerifyError> {
    use sigstore_types::bundle::VerificationMaterialContent as M;
    let (leaf, intermediates): (_, Vec<_>) = match &bundle.verification_material.content {
        M::Certificate(c) => (&c.raw_bytes, Vec::new()),
        M::X509CertificateChain { certificates } => match certificates.split_first() {
            Some((leaf, rest)) => (
                &leaf.raw_bytes,
                rest.iter().map(|c| c.raw_bytes.clone()).collect(),
            ),
            None => return Ok(()),
        },
        _ => return Ok(()),
    };
    let info = sigstore_crypto::parse_certificate_info(leaf).map_err(|e| {
        crate::error::CertificateError::Malformed {
            detail: e.to_string(),
        }
    })?;
    for &time in times {
        crate::error::CertificateError::check_validity(time, info.not_before, info.not_after)?;
        crate::fulcio::verify_chain(root, leaf, &intermediates, time)?;
    }
    Ok(())
}

/// Whether the token's `genTime` has a fractional part (the one thing the
/// delegate cannot read).
pub(crate) fn has_fractional_gen_time(token: &[u8]) -> bool {
    parse(token).is_ok_and(|(_, tst)| {
        gen_time_text(&tst.gen_time).is_ok_and(|text| text.contains('.') || text.contains(','))
    })
}

/// RFC 3161 `PKIStatusInfo`, read as far as the status.
#[derive(Sequence)]
struct StatusInfo {
    status: u8,
    #[asn1(optional = "true")]
    _rest: Option<Any>,
    #[asn1(optional = "true")]
    _fail_info: Option<Any>,
}

/// RFC 3161 `TimeStampResp`.
#[derive(Sequence)]
struct TimeStampResp {
    status: StatusInfo,
    #[asn1(optional = "true")]
    token: Option<ContentInfo>,
}

#[derive(Sequence)]
struct MessageImprint {
    hash_algorithm: AlgorithmIdentifierOwned,
    hashed_message: OctetString,
}

/// The `TSTInfo` fields checked here; `genTime` kept as its TLV.
struct TstInfo {
    message_imprint: MessageImprint,
    gen_time: Any,
}

fn parse_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Parse(format!("{what}: {e}"))
}

/// The `SignedData` and `TSTInfo` of a `TimeStampResp` (granted) or a bare
/// `TimeStampToken`.
fn parse(token: &[u8]) -> Result<(SignedData, TstInfo), Error> {
    let content_info = match TimeStampResp::from_der(token) {
        Ok(resp) => {
            // 0 granted, 1 granted with modifications.
            if resp.status.status > 1 {
                return Err(Error::Parse(format!(
                    "timestamp request not granted: status {}",
                    resp.status.status
                )));
            }
            resp.token.ok_or(Error::NoToken)?
        }
        Err(_) => ContentInfo::from_der(token).map_err(|e| parse_error("TimeStampToken", e))?,
    };
    if content_info.content_type != ID_SIGNED_DATA {
        return Err(Error::Parse("content type is not SignedData".into()));
    }
    let signed_data_der = content_info
        .content
        .to_der()
        .map_err(|e| parse_error("SignedData", e))?;
    let signed_data =
        SignedData::from_der(&signed_data_der).map_err(|e| parse_error("SignedData", e))?;
    if signed_data.encap_content_info.econtent_type != ID_CT_TST_INFO {
        return Err(Error::Parse("encapsulated content is not TSTInfo".into()));
    }
    let econtent = signed_data
        .encap_content_info
        .econtent
        .as_ref()
        .ok_or(Error::NoTstInfo)?;
    let tst = parse_tst_info(econtent.value())?;
    Ok((signed_data, tst))
}

/// `TSTInfo ::= SEQUENCE { version, policy, messageImprint, serialNumber,
/// genTime, accuracy?, ordering?, nonce?, tsa? [0], extensions? [1] }`,
/// read field by field so that `genTime` is taken as its raw TLV.
fn parse_tst_info(der: &[u8]) -> Result<TstInfo, Error> {
    let mut reader = SliceReader::new(der).map_err(|e| parse_error("TSTInfo", e))?;
    let tst = reader
        .sequence(|r| {
            let version: u8 = r.decode()?;
            if version != 1 {
                return Err(der::Error::from(der::ErrorKind::Value {
                    tag: Tag::Integer,
                }));
            }
            let _policy: ObjectIdentifier = r.decode()?;
            let message_imprint: MessageImprint = r.decode()?;
            let _serial: der::asn1::Int = r.decode()?;
            let gen_time: Any = r.decode()?;
            while !r.is_finished() {
                let _: Any = r.decode()?;
            }
            Ok(TstInfo {
                message_imprint,
                gen_time,
            })
        })
        .map_err(|e| parse_error("TSTInfo", e))?;
    reader.finish(()).map_err(|e| parse_error("TSTInfo", e))?;
    Ok(tst)
}

fn gen_time_text(gen_time: &Any) -> Result<&str, Error> {
    if gen_time.tag() != Tag::GeneralizedTime {
        return Err(Error::Parse(format!(
            "genTime is {}, not GeneralizedTime",
            gen_time.tag()
        )));
    }
    std::str::from_utf8(gen_time.value()).map_err(|e| parse_error("genTime", e))
}

/// `YYYYMMDDhhmmss[.f+]Z` (UTC, seconds present, RFC 3161 §2.4.2), with up
/// to nanosecond precision (further digits are truncated).
pub(crate) fn parse_gen_time(text: &str) -> Result<Timestamp, Error> {
    let bad = || Error::Parse(format!("genTime {text:?} is not YYYYMMDDhhmmss[.f]Z"));
    let body = text.strip_suffix('Z').ok_or_else(bad)?;
    let (whole, fraction) = match body.find(['.', ',']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    if whole.len() != 14 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let num = |range: std::ops::Range<usize>| whole[range].parse::<i16>().map_err(|_| bad());
    let mut nanos = 0i32;
    if let Some(f) = fraction {
        // RFC 3161: no trailing zeros, and no dot without digits.
        if f.is_empty() || f.ends_with('0') || !f.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let digits: String = f.chars().take(9).collect();
        nanos = format!("{digits:0<9}").parse().map_err(|_| bad())?;
    }
    // Fallible construction: an impossible date is an error, never a panic.
    let datetime = jiff::civil::DateTime::new(
        num(0..4)?,
        num(4..6)? as i8,
        num(6..8)? as i8,
        num(8..10)? as i8,
        num(10..12)? as i8,
        num(12..14)? as i8,
        nanos,
    )
    .map_err(|_| bad())?;
    datetime
        .to_zoned(jiff::tz::TimeZone::UTC)
        .map(|z| z.timestamp())
        .map_err(|_| bad())
}

fn hash_for(oid: &ObjectIdentifier, data: &[u8]) -> Option<(HashAlgorithm, Vec<u8>)> {
    Some(match *oid {
        ID_SHA256 => (
            HashAlgorithm::Sha2256,
            sigstore_crypto::sha256(data).as_bytes().to_vec(),
        ),
        ID_SHA384 => (
            HashAlgorithm::Sha2384,
            sigstore_crypto::sha384(data).as_bytes().to_vec(),
        ),
        ID_SHA512 => (
            HashAlgorithm::Sha2512,
            sigstore_crypto::sha512(data).as_bytes().to_vec(),
        ),
        _ => return None,
    })
}

/// The five checks of the module docs, for a token whose `genTime` has a
/// fractional part.
fn verify_fractional(
    token: &[u8],
    signature: &[u8],
    authority: &TsaAuthority,
) -> Result<Timestamp, Error> {
    let sig_error = |d: String| Error::SignatureVerificationError(d);
    // 1.
    let (signed_data, tst) = parse(token)?;
    let time = parse_gen_time(gen_time_text(&tst.gen_time)?)?;
    if time < Timestamp::UNIX_EPOCH {
        return Err(Error::Parse("timestamp before 1970".into()));
    }

    // 2. The message imprint.
    let imprint = &tst.message_imprint;
    let (_, computed) = hash_for(&imprint.hash_algorithm.oid, signature).ok_or_else(|| {
        Error::Parse(format!(
            "unsupported message imprint algorithm {}",
            imprint.hash_algorithm.oid
        ))
    })?;
    if computed != imprint.hashed_message.as_bytes() {
        return Err(Error::HashMismatch {
            expected: hex::encode(imprint.hashed_message.as_bytes()),
            actual: hex::encode(computed),
        });
    }

    // 3. The CMS signature, by the authority's pinned leaf.
    let signer = signed_data
        .signer_infos
        .0
        .get(0)
        .ok_or_else(|| sig_error("no signer info".into()))?;
    let leaf = x509_cert::Certificate::from_der(authority.leaf.as_bytes())
        .map_err(|e| sig_error(format!("trusted TSA certificate: {e}")))?;
    if !signer_is(&signer.sid, &leaf) {
        return Err(sig_error(
            "CMS signer does not match the trusted TSA certificate".into(),
        ));
    }
    let attrs = signer
        .signed_attrs
        .as_ref()
        .ok_or_else(|| sig_error("no signed attributes".into()))?;
    let econtent = signed_data
        .encap_content_info
        .econtent
        .as_ref()
        .ok_or(Error::NoTstInfo)?;
    let (hash, content_digest) = hash_for(&signer.digest_alg.oid, econtent.value())
        .ok_or_else(|| Error::Parse(format!("unsupported digest {}", signer.digest_alg.oid)))?;
    let single = |oid: ObjectIdentifier| -> Result<&Any, Error> {
        let attr = attrs
            .iter()
            .find(|a| a.oid == oid)
            .ok_or_else(|| sig_error(format!("signed attribute {oid} is missing")))?;
        match attr.values.as_slice() {
            [value] => Ok(value),
            _ => Err(sig_error(format!(
                "signed attribute {oid} has not one value"
            ))),
        }
    };
    let digest = single(ID_MESSAGE_DIGEST)?
        .decode_as::<OctetString>()
        .map_err(|e| sig_error(format!("message-digest attribute: {e}")))?;
    if digest.as_bytes() != content_digest.as_slice() {
        return Err(Error::HashMismatch {
            expected: hex::encode(digest.as_bytes()),
            actual: hex::encode(content_digest),
        });
    }
    let content_type = single(ID_CONTENT_TYPE)?
        .decode_as::<ObjectIdentifier>()
        .map_err(|e| sig_error(format!("content-type attribute: {e}")))?;
    if content_type != ID_CT_TST_INFO {
        return Err(sig_error(format!(
            "content-type attribute is {content_type}, not TSTInfo"
        )));
    }
    // RFC 5652 §5.4: the signature covers the DER SET OF the attributes.
    let signed_bytes = der::asn1::SetOfVec::try_from(attrs.iter().cloned().collect::<Vec<_>>())
        .and_then(|set| set.to_der())
        .map_err(|e| sig_error(format!("signed attributes: {e}")))?;
    let spki = leaf
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| sig_error(format!("signer key: {e}")))?;
    let key = DerPublicKey::new(spki);
    let scheme = sigstore_crypto::KeyAlgorithm::from_spki(&key)
        .and_then(|alg| alg.resolve_signing_scheme(hash))
        .map_err(|e| sig_error(e.to_string()))?;
    sigstore_crypto::verify_signature(
        &key,
        &signed_bytes,
        &SignatureBytes::from_bytes(signer.signature.as_bytes()),
        scheme,
    )
    .map_err(|e| sig_error(e.to_string()))?;

    // 4. The leaf's chain at the signed time, for time stamping.
    let anchor_der = CertificateDer::from(authority.root.as_bytes());
    let anchor = webpki::anchor_from_trusted_cert(&anchor_der)
        .map_err(|e| Error::CertificateValidationError(format!("trust anchor: {e}")))?;
    let leaf_der = CertificateDer::from(authority.leaf.as_bytes());
    let ee = webpki::EndEntityCert::try_from(&leaf_der)
        .map_err(|e| Error::CertificateValidationError(format!("TSA certificate: {e}")))?;
    let intermediates: Vec<CertificateDer<'_>> = authority
        .intermediates
        .iter()
        .map(|c| CertificateDer::from(c.as_bytes()))
        .collect();
    let seconds = u64::try_from(time.as_second())
        .map_err(|_| Error::Parse("timestamp before 1970".into()))?;
    ee.verify_for_usage(
        sigstore_crypto::WEBPKI_VERIFICATION_ALGS,
        &[anchor],
        &intermediates,
        UnixTime::since_unix_epoch(std::time::Duration::from_secs(seconds)),
        webpki::KeyUsage::required(TIME_STAMPING),
        None,
        None,
    )
    .map_err(|e| Error::CertificateValidationError(format!("TSA chain at {time}: {e}")))?;

    // 5. The authority's window.
    if authority.valid_for.is_some_and(|w| !w.contains(time)) {
        return Err(Error::TimestampOutsideValidity { time });
    }
    Ok(time)
}

/// Whether a CMS signer identifier names `cert` (issuer and serial, or
/// subject key identifier).
fn signer_is(sid: &SignerIdentifier, cert: &x509_cert::Certificate) -> bool {
    match sid {
        SignerIdentifier::IssuerAndSerialNumber(is) => {
            cert.tbs_certificate.issuer == is.issuer
                && cert.tbs_certificate.serial_number == is.serial_number
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => cert
            .tbs_certificate
            .extensions
            .iter()
            .flatten()
            .filter(|ext| ext.extn_id == ID_SUBJECT_KEY_IDENTIFIER)
            .any(|ext| {
                x509_cert::ext::pkix::SubjectKeyIdentifier::from_der(ext.extn_value.as_bytes())
                    .is_ok_and(|found| &found == ski)
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use verify_testkit::TestSigstore;

    #[test]
    fn fractional_tokens_get_every_check() {
        let sigstore = TestSigstore::new();
        let root = sigstore.trusted_root().unwrap();
        let authority = root.tsa_authorities().into_iter().next().unwrap();
        let now = Timestamp::now() - jiff::SignedDuration::from_mins(1);
        let at = Timestamp::from_second(now.as_second()).unwrap()
            + jiff::SignedDuration::from_millis(250);
        let signature = SignatureBytes::new(b"a signature".to_vec());
        let token = TimestampToken::new(sigstore.tsa().timestamp(b"a signature", at).unwrap());
        assert!(has_fractional_gen_time(token.as_bytes()));
        // The delegate refuses it; this module does not.
        assert!(
            sigstore_tsa::verify_timestamp_for_authority(&token, &signature, &authority).is_err()
        );
        assert_eq!(
            verify_timestamp(&token, &signature, &authority).unwrap(),
            at
        );

        // Over other bytes: the imprint.
        let other = SignatureBytes::new(b"another signature".to_vec());
        assert!(matches!(
            verify_timestamp(&token, &other, &authority),
            Err(Error::HashMismatch { .. })
        ));
        // A TSTInfo changed after signing: the message-digest attribute.
        let mut bytes = token.as_bytes().to_vec();
        let i = bytes.windows(4).position(|w| w == b".25Z").unwrap();
        bytes[i + 2] = b'7';
        assert!(matches!(
            verify_fractional(&bytes, signature.as_bytes(), &authority),
            Err(Error::HashMismatch { .. })
        ));
        // Another authority's token: not its pinned leaf.
        let untrusted = TestSigstore::new();
        let foreign = TimestampToken::new(untrusted.tsa().timestamp(b"a signature", at).unwrap());
        assert!(matches!(
            verify_timestamp(&foreign, &signature, &authority),
            Err(Error::SignatureVerificationError(_))
        ));
        // Outside the authority's window.
        let mut narrow = authority.clone();
        narrow.valid_for = Some(sigstore_types::TimeRange::new(
            at + jiff::SignedDuration::from_secs(1),
            None,
        ));
        assert!(matches!(
            verify_timestamp(&token, &signature, &narrow),
            Err(Error::TimestampOutsideValidity { .. })
        ));
        // Whole seconds stay with the delegate.
        let whole = TimestampToken::new(
            sigstore
                .tsa()
                .timestamp(
                    b"a signature",
                    Timestamp::from_second(now.as_second()).unwrap(),
                )
                .unwrap(),
        );
        assert!(!has_fractional_gen_time(whole.as_bytes()));
        verify_timestamp(&whole, &signature, &authority).unwrap();
    }

    #[test]
    fn gen_time_with_and_without_fractions() {
        let t = parse_gen_time("20240501100001.123Z").unwrap();
        assert_eq!(t.to_string(), "2024-05-01T10:00:01.123Z");
        assert_eq!(
            parse_gen_time("20240501100001Z").unwrap().to_string(),
            "2024-05-01T10:00:01Z"
        );
        assert_eq!(
            parse_gen_time("20240501100001.1234567891Z")
                .unwrap()
                .subsec_nanosecond(),
            123_456_789
        );
        for bad in [
            "20240501100001.120Z",
            "20240501100001.Z",
            "20240501100001.12",
            "202405011000Z",
            "20241301100001Z",
            "2024050110000aZ",
        ] {
            assert!(parse_gen_time(bad).is_err(), "{bad}");
        }
    }
}

//! SLSA Verification Summary Attestations signed with a key, with
//! slsa-verifier's `verify-vsa` semantics.
//!
//! A VSA says that a verifier (`predicate.verifier.id`) checked some
//! artifacts (the statement's subjects) for a resource (`resourceUri`) and
//! that they passed at some levels (`verifiedLevels`). It is trusted because
//! of the key that signed it, which the user supplies. The steps follow
//! <https://slsa.dev/spec/v1.1/verification_summary#how-to-verify>, in
//! slsa-verifier's order, each failure named after slsa-verifier's error:
//!
//! 1. the DSSE envelope has a signature by the key (a signature whose
//!    `keyid` names another key is skipped, as go-securesystemslib does);
//! 2. the payload is an in-toto statement with predicate type
//!    `https://slsa.dev/verification_summary/v1`;
//! 3. every `--subject-digest` (`alg:hex`) is a subject digest;
//! 4. `verifier.id` is `--verifier-id`;
//! 5. `resourceUri` is `--resource-uri`;
//! 6. `verificationResult` is `PASSED`;
//! 7. every `--verified-level` is met: `SLSA_<TRACK>_LEVEL_<n>` by the
//!    same track at level `n` or higher, any other level verbatim.

use std::collections::{BTreeMap, BTreeSet};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::Deserialize;
use sigstore_types::{DerPublicKey, SignatureBytes};

use crate::intoto::IN_TOTO_PAYLOAD_TYPE;

/// The VSA predicate type.
pub const VSA_PREDICATE_TYPE: &str = "https://slsa.dev/verification_summary/v1";

/// The in-toto statement types a VSA may have.
const STATEMENT_TYPES: [&str; 2] = [
    "https://in-toto.io/Statement/v1",
    "https://in-toto.io/Statement/v0.1",
];

/// The largest VSA envelope read, in bytes.
pub const MAX_VSA_BYTES: usize = 8 << 20;

/// Why a VSA was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VsaError {
    /// The attestation is not a DSSE envelope.
    #[error("VSA attestation: expected a DSSE envelope (JSON), found {found}")]
    InvalidEnvelope {
        /// What was wrong.
        found: String,
    },
    /// The public key cannot be read or used.
    #[error("public key: expected a PEM ECDSA, Ed25519 or RSA public key, found {found}")]
    InvalidPublicKey {
        /// What was wrong.
        found: String,
    },
    /// No signature of the envelope verifies with the key.
    #[error("no valid signature by key {key_id:?}: {detail}")]
    NoValidSignature {
        /// The key ID signatures are matched against.
        key_id: String,
        /// Why each candidate failed.
        detail: String,
    },
    /// The payload is not a VSA statement, or a `--subject-digest` is malformed.
    #[error("invalid DSSE payload: expected {expected}, found {found}")]
    InvalidDssePayload {
        /// What was required.
        expected: &'static str,
        /// What was found.
        found: String,
    },
    /// A field the rules need is empty (or a required flag was not given).
    #[error("{field}: expected a value, found none")]
    EmptyRequiredField {
        /// The field or flag.
        field: &'static str,
    },
    /// A `--subject-digest` is not among the VSA's subjects.
    #[error("subject digest {expected}: not found in the VSA's subjects [{}]", found.join(", "))]
    MissingSubjectDigest {
        /// The digest asked for.
        expected: String,
        /// The VSA's subject digests, `alg:hex`.
        found: Vec<String>,
    },
    /// `verifier.id` differs from `--verifier-id`.
    #[error("verifier ID: expected {expected:?}, found {found:?}")]
    MismatchVerifierId {
        /// `--verifier-id`.
        expected: String,
        /// The VSA's verifier.
        found: String,
    },
    /// `resourceUri` differs from `--resource-uri`.
    #[error("resource URI: expected {expected:?}, found {found:?}")]
    MismatchResourceUri {
        /// `--resource-uri`.
        expected: String,
        /// The VSA's resource URI.
        found: String,
    },
    /// The VSA does not record a pass.
    #[error("verification result: expected \"PASSED\", found {found:?}")]
    InvalidVerificationResult {
        /// The VSA's result.
        found: String,
    },
    /// A `SLSA_` level is not `SLSA_<TRACK>_LEVEL_<n>`.
    #[error("{what}: expected SLSA_<TRACK>_LEVEL_<n>, found {found:?}")]
    InvalidSlsaLevel {
        /// `--verified-level` or `verifiedLevels`.
        what: &'static str,
        /// The level found.
        found: String,
    },
    /// A `--verified-level` is not met.
    #[error("verified level {expected}: not met by [{}]", found.join(", "))]
    MismatchVerifiedLevels {
        /// The level asked for.
        expected: String,
        /// The VSA's levels.
        found: Vec<String>,
    },
}

impl VsaError {
    /// A stable, machine-readable reason code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidEnvelope { .. } => "vsa-malformed",
            Self::InvalidPublicKey { .. } => "vsa-invalid-public-key",
            Self::NoValidSignature { .. } => "vsa-no-valid-signature",
            Self::InvalidDssePayload { .. } => "vsa-invalid-dsse-payload",
            Self::EmptyRequiredField { .. } => "vsa-empty-required-field",
            Self::MissingSubjectDigest { .. } => "vsa-missing-subject-digest",
            Self::MismatchVerifierId { .. } => "vsa-mismatch-verifier-id",
            Self::MismatchResourceUri { .. } => "vsa-mismatch-resource-uri",
            Self::InvalidVerificationResult { .. } => "vsa-invalid-verification-result",
            Self::InvalidSlsaLevel { .. } => "vsa-invalid-slsa-level",
            Self::MismatchVerifiedLevels { .. } => "vsa-mismatch-verified-levels",
        }
    }

    /// slsa-verifier's sentinel error for this failure.
    pub fn upstream_name(&self) -> &'static str {
        match self {
            Self::InvalidEnvelope { .. } | Self::InvalidDssePayload { .. } => {
                "ErrorInvalidDssePayload"
            }
            Self::InvalidPublicKey { .. } => "ErrorInvalidPublicKey",
            Self::NoValidSignature { .. } => "ErrorNoValidSignature",
            Self::EmptyRequiredField { .. } => "ErrorEmptyRequiredField",
            Self::MissingSubjectDigest { .. } => "ErrorMissingSubjectDigest",
            Self::MismatchVerifierId { .. } => "ErrorMismatchVerifierID",
            Self::MismatchResourceUri { .. } => "ErrorMismatchResourceURI",
            Self::InvalidVerificationResult { .. } => "ErrorInvalidVerificationResult",
            Self::InvalidSlsaLevel { .. } => "ErrorInvalidSLSALevel",
            Self::MismatchVerifiedLevels { .. } => "ErrorMismatchVerifiedLevels",
        }
    }

    /// Whether the user's input (key file, flags) is at fault: exit
    /// status 2 in the CLI.
    pub fn is_input_error(&self) -> bool {
        match self {
            Self::InvalidPublicKey { .. } => true,
            Self::InvalidSlsaLevel { what, .. } => what.starts_with("--"),
            Self::InvalidDssePayload { expected, .. } => expected.starts_with("--"),
            Self::EmptyRequiredField { field } => field.starts_with("--"),
            _ => false,
        }
    }
}

/// What the user expects of the VSA (slsa-verifier's `VSAOpts`).
#[derive(Debug, Clone, Default)]
pub struct VsaOptions {
    /// `--subject-digest`, `alg:hex`; at least one.
    pub subject_digests: Vec<String>,
    /// `--verifier-id`.
    pub verifier_id: String,
    /// `--resource-uri`.
    pub resource_uri: String,
    /// `--verified-level`.
    pub verified_levels: Vec<String>,
}

/// The key a VSA must be signed with.
#[derive(Debug, Clone)]
pub struct VsaKey {
    key: DerPublicKey,
    scheme: VsaScheme,
    key_id: String,
}

/// How a VSA key's signatures are checked: with the hash slsa-verifier
/// picks for the key (SHA-256 for P-256 and RSA, SHA-384 for P-384,
/// SHA-512 for P-521; Ed25519 as itself).
#[derive(Debug, Clone, Copy)]
enum VsaScheme {
    /// The keys sigstore-crypto has a scheme for.
    Sigstore(sigstore_crypto::SigningScheme),
    /// ECDSA P-521 with SHA-512. sigstore-crypto 0.15 has no P-521 scheme
    /// and slsa-verifier accepts these keys, so the signature is checked
    /// with aws-lc-rs's own ECDSA P-521 verification (the crate the rest of
    /// the core's hashing and signature checks already run on).
    P521Sha512,
}

/// The OID of the named curve secp521r1 (RFC 5480 section 2.1.1.1).
const SECP521R1: &str = "1.3.132.0.35";

/// The EC point of a P-521 SubjectPublicKeyInfo, if it is one.
fn p521_point(spki_der: &[u8]) -> Option<&[u8]> {
    use der::Decode as _;
    let spki = spki::SubjectPublicKeyInfoRef::from_der(spki_der).ok()?;
    let curve = spki.algorithm.parameters_oid().ok()?;
    (spki.algorithm.oid.to_string() == "1.2.840.10045.2.1" && curve.to_string() == SECP521R1)
        .then(|| spki.subject_public_key.as_bytes())
        .flatten()
}

impl VsaKey {
    /// A PEM public key, with the key ID signatures must name (when they
    /// name one). Without `key_id` the key's ID is its OpenSSH SHA-256
    /// fingerprint (`SHA256:<base64>`), as go-securesystemslib derives it
    /// (ECDSA, Ed25519, RSA); for a key it cannot derive one for there is no
    /// ID and every signature is tried, as go-securesystemslib does.
    pub fn from_pem(pem: &str, key_id: Option<&str>) -> Result<Self, VsaError> {
        let key = DerPublicKey::from_pem(pem).map_err(|e| VsaError::InvalidPublicKey {
            found: e.to_string(),
        })?;
        let scheme = match sigstore_crypto::KeyAlgorithm::from_spki(&key) {
            Ok(algorithm) => VsaScheme::Sigstore(algorithm.default_signing_scheme()),
            Err(_) if p521_point(key.as_bytes()).is_some() => VsaScheme::P521Sha512,
            Err(e) => {
                return Err(VsaError::InvalidPublicKey {
                    found: e.to_string(),
                })
            }
        };
        let key_id = match key_id.filter(|k| !k.is_empty()) {
            Some(k) => k.to_string(),
            None => ssh_fingerprint(key.as_bytes()).unwrap_or_default(),
        };
        Ok(Self {
            key,
            scheme,
            key_id,
        })
    }
}

/// A VSA that passed every check.
#[derive(Debug, Clone, serde::Serialize)]
pub struct VerifiedVsa {
    /// `predicate.verifier.id`.
    pub verifier_id: String,
    /// `predicate.resourceUri`.
    pub resource_uri: String,
    /// `predicate.verifiedLevels`.
    pub verified_levels: Vec<String>,
    /// The key ID the signature was matched with.
    pub key_id: String,
    /// The verified statement, as signed.
    #[serde(skip)]
    pub statement: Vec<u8>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    payload_type: String,
    payload: String,
    #[serde(default)]
    signatures: Vec<EnvelopeSignature>,
}

#[derive(Deserialize)]
struct EnvelopeSignature {
    #[serde(default)]
    keyid: String,
    sig: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Predicate {
    verifier: VerifierField,
    resource_uri: String,
    verification_result: String,
    verified_levels: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct VerifierField {
    id: String,
}

/// One VSA to verify, and what it must say.
#[derive(Debug, Clone, Copy)]
pub struct VsaRequest<'a> {
    /// The DSSE envelope (JSON), at most [`MAX_VSA_BYTES`].
    pub envelope: &'a [u8],
    /// The key it must be signed with.
    pub key: &'a VsaKey,
    /// What its statement must say.
    pub options: &'a VsaOptions,
}

/// Verify `request.envelope`: signed by `request.key`, then the statement
/// checked against `request.options`, in the order of the module's list.
pub fn verify_vsa(request: &VsaRequest<'_>) -> Result<VerifiedVsa, VsaError> {
    let &VsaRequest {
        envelope,
        key,
        options,
    } = request;
    if envelope.len() > MAX_VSA_BYTES {
        return Err(VsaError::InvalidEnvelope {
            found: format!("more than {MAX_VSA_BYTES} bytes"),
        });
    }
    let env: Envelope =
        serde_json::from_slice(envelope).map_err(|e| VsaError::InvalidEnvelope {
            found: e.to_string(),
        })?;
    let payload = STANDARD
        .decode(&env.payload)
        .map_err(|e| VsaError::InvalidEnvelope {
            found: format!("a payload that is not base64 ({e})"),
        })?;

    if env.payload_type != IN_TOTO_PAYLOAD_TYPE {
        return Err(VsaError::InvalidDssePayload {
            expected: "payload type application/vnd.in-toto+json",
            found: format!("{:?}", env.payload_type),
        });
    }

    // 1. The signature.
    verify_signature(&env, &payload, key)?;

    // 2. The statement.
    let statement: serde_json::Value =
        serde_json::from_slice(&payload).map_err(|e| VsaError::InvalidDssePayload {
            expected: "an in-toto statement (JSON)",
            found: e.to_string(),
        })?;
    let statement_type = statement
        .get("_type")
        .and_then(|t| t.as_str())
        .unwrap_or_default();
    if !STATEMENT_TYPES.contains(&statement_type) {
        return Err(VsaError::InvalidDssePayload {
            expected: "_type https://in-toto.io/Statement/v1 (or v0.1)",
            found: format!("{statement_type:?}"),
        });
    }
    let predicate_type = statement
        .get("predicateType")
        .and_then(|p| p.as_str())
        .unwrap_or_default();
    if predicate_type != VSA_PREDICATE_TYPE {
        return Err(VsaError::InvalidDssePayload {
            expected: "predicateType https://slsa.dev/verification_summary/v1",
            found: format!("{predicate_type:?}"),
        });
    }
    let predicate: Predicate = statement
        .get("predicate")
        .cloned()
        .map(serde_json::from_value)
        .transpose()
        .map_err(|e| VsaError::InvalidDssePayload {
            expected: "a VSA predicate",
            found: e.to_string(),
        })?
        .unwrap_or_default();

    // 3. Subject digests.
    match_subject_digests(&statement, &options.subject_digests)?;
    // 4. Verifier.
    if predicate.verifier.id.is_empty() {
        return Err(VsaError::EmptyRequiredField {
            field: "predicate.verifier.id",
        });
    }
    if predicate.verifier.id != options.verifier_id {
        return Err(VsaError::MismatchVerifierId {
            expected: options.verifier_id.clone(),
            found: predicate.verifier.id,
        });
    }
    // 5. Resource.
    if predicate.resource_uri.is_empty() {
        return Err(VsaError::EmptyRequiredField {
            field: "predicate.resourceUri",
        });
    }
    if predicate.resource_uri != options.resource_uri {
        return Err(VsaError::MismatchResourceUri {
            expected: options.resource_uri.clone(),
            found: predicate.resource_uri,
        });
    }
    // 6. Result.
    if predicate.verification_result != "PASSED" {
        return Err(VsaError::InvalidVerificationResult {
            found: predicate.verification_result,
        });
    }
    // 7. Levels.
    match_levels(&predicate.verified_levels, &options.verified_levels)?;

    Ok(VerifiedVsa {
        verifier_id: predicate.verifier.id,
        resource_uri: predicate.resource_uri,
        verified_levels: predicate.verified_levels,
        key_id: key.key_id.clone(),
        statement: payload,
    })
}

/// The OpenSSH `SHA256:` fingerprint of an ECDSA (P-256/384/521), Ed25519
/// or RSA SubjectPublicKeyInfo: base64 (unpadded) of the SHA-256 of the SSH
/// wire encoding of the key (RFC 5656 section 3.1, RFC 8709 section 4,
/// RFC 4253 section 6.6), as go-securesystemslib derives a key ID.
fn ssh_fingerprint(spki_der: &[u8]) -> Option<String> {
    use der::Decode as _;
    let spki = spki::SubjectPublicKeyInfoRef::from_der(spki_der).ok()?;
    let point = spki.subject_public_key.as_bytes()?;
    fn string(out: &mut Vec<u8>, bytes: &[u8]) {
        out.extend_from_slice(&u32::try_from(bytes.len()).unwrap_or(0).to_be_bytes());
        out.extend_from_slice(bytes);
    }
    let mut wire = Vec::new();
    match spki.algorithm.oid.to_string().as_str() {
        "1.3.101.112" => {
            string(&mut wire, b"ssh-ed25519");
            string(&mut wire, point);
        }
        "1.2.840.10045.2.1" => {
            let curve = spki.algorithm.parameters_oid().ok()?.to_string();
            let name = match curve.as_str() {
                "1.2.840.10045.3.1.7" => "nistp256",
                "1.3.132.0.34" => "nistp384",
                "1.3.132.0.35" => "nistp521",
                _ => return None,
            };
            string(&mut wire, format!("ecdsa-sha2-{name}").as_bytes());
            string(&mut wire, name.as_bytes());
            string(&mut wire, point);
        }
        "1.2.840.113549.1.1.1" => {
            // RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }
            use der::Reader as _;
            let mut reader = der::SliceReader::new(point).ok()?;
            let (modulus, exponent) = reader
                .sequence(|r| {
                    let n = der::asn1::UintRef::decode(r)?;
                    let e = der::asn1::UintRef::decode(r)?;
                    Ok((n, e))
                })
                .ok()?;
            string(&mut wire, b"ssh-rsa");
            string(&mut wire, &mpint(exponent.as_bytes()));
            string(&mut wire, &mpint(modulus.as_bytes()));
        }
        _ => return None,
    }
    Some(format!(
        "SHA256:{}",
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(crate::digest::sha256(&wire))
    ))
}

/// An SSH `mpint` of a non-negative big-endian integer without leading
/// zeros: a zero byte in front when the high bit is set (RFC 4251 section 5).
fn mpint(magnitude: &[u8]) -> Vec<u8> {
    match magnitude.first() {
        Some(b) if b & 0x80 != 0 => [&[0u8][..], magnitude].concat(),
        _ => magnitude.to_vec(),
    }
}

fn verify_signature(env: &Envelope, payload: &[u8], key: &VsaKey) -> Result<(), VsaError> {
    let pae = sigstore_types::pae(&env.payload_type, payload);
    let mut failures = Vec::new();
    for s in &env.signatures {
        if !s.keyid.is_empty() && !key.key_id.is_empty() && s.keyid != key.key_id {
            failures.push(format!("signature keyid {:?} is another key", s.keyid));
            continue;
        }
        let Ok(sig) = STANDARD.decode(&s.sig) else {
            failures.push("signature is not base64".to_string());
            continue;
        };
        let checked = match key.scheme {
            VsaScheme::Sigstore(scheme) => {
                sigstore_crypto::verify_signature(&key.key, &pae, &SignatureBytes::new(sig), scheme)
                    .map_err(|e| e.to_string())
            }
            VsaScheme::P521Sha512 => p521_point(key.key.as_bytes())
                .ok_or_else(|| "not a P-521 key".to_string())
                .and_then(|point| {
                    use aws_lc_rs::signature::{UnparsedPublicKey, ECDSA_P521_SHA512_ASN1};
                    UnparsedPublicKey::new(&ECDSA_P521_SHA512_ASN1, point)
                        .verify(&pae, &sig)
                        .map_err(|_| "ECDSA P-521 signature does not verify".to_string())
                }),
        };
        match checked {
            Ok(()) => return Ok(()),
            Err(e) => failures.push(e),
        }
    }
    if failures.is_empty() {
        failures.push("the envelope has no signatures".into());
    }
    Err(VsaError::NoValidSignature {
        key_id: key.key_id.clone(),
        detail: failures.join("; "),
    })
}

fn match_subject_digests(
    statement: &serde_json::Value,
    expected: &[String],
) -> Result<(), VsaError> {
    if expected.is_empty() {
        return Err(VsaError::EmptyRequiredField {
            field: "--subject-digest",
        });
    }
    let mut all: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for s in crate::intoto::subjects(statement) {
        for (alg, value) in s.digest {
            all.entry(alg).or_default().insert(value);
        }
    }
    if all.is_empty() {
        return Err(VsaError::InvalidDssePayload {
            expected: "subjects with digests",
            found: "none".into(),
        });
    }
    for want in expected {
        let Some((alg, value)) = want.split_once(':') else {
            return Err(VsaError::InvalidDssePayload {
                expected: "--subject-digest as <digest type>:<digest value>",
                found: format!("{want:?}"),
            });
        };
        // Compared exactly, as slsa-verifier does: digests of any type
        // (`gce_image_id`), not only hex.
        if !all.get(alg).is_some_and(|v| v.contains(value)) {
            return Err(VsaError::MissingSubjectDigest {
                expected: want.clone(),
                found: all
                    .iter()
                    .flat_map(|(a, vs)| vs.iter().map(move |v| format!("{a}:{v}")))
                    .collect(),
            });
        }
    }
    Ok(())
}

fn is_track_level(level: &str) -> bool {
    level.starts_with("SLSA_")
}

/// The highest level per track among `SLSA_<TRACK>_LEVEL_<n>` levels.
fn track_levels(levels: &[String], what: &'static str) -> Result<BTreeMap<String, u64>, VsaError> {
    let mut ladder = BTreeMap::new();
    for level in levels.iter().filter(|l| is_track_level(l)) {
        let invalid = || VsaError::InvalidSlsaLevel {
            what,
            found: level.clone(),
        };
        let parts: Vec<&str> = level.splitn(4, '_').collect();
        let [_, track, "LEVEL", n] = parts.as_slice() else {
            return Err(invalid());
        };
        let n: u64 = n.parse().map_err(|_| invalid())?;
        let e = ladder.entry((*track).to_string()).or_insert(n);
        *e = (*e).max(n);
    }
    Ok(ladder)
}

fn match_levels(found: &[String], expected: &[String]) -> Result<(), VsaError> {
    let wanted = track_levels(expected, "--verified-level")?;
    let got = track_levels(found, "verifiedLevels")?;
    let mismatch = |level: String| VsaError::MismatchVerifiedLevels {
        expected: level,
        found: found.to_vec(),
    };
    for (track, min) in &wanted {
        if got.get(track).is_none_or(|n| n < min) {
            return Err(mismatch(format!("SLSA_{track}_LEVEL_{min}")));
        }
    }
    for level in expected.iter().filter(|l| !is_track_level(l)) {
        if !found.contains(level) {
            return Err(mismatch(level.clone()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn levels(l: &[&str]) -> Vec<String> {
        l.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn track_levels_are_a_ladder_and_others_are_verbatim() {
        let found = levels(&["SLSA_BUILD_LEVEL_3", "SLSA_SOURCE_LEVEL_1", "FIPS_140"]);
        match_levels(&found, &levels(&["SLSA_BUILD_LEVEL_2"])).unwrap();
        match_levels(&found, &levels(&["SLSA_BUILD_LEVEL_3", "FIPS_140"])).unwrap();
        match_levels(&found, &[]).unwrap();
        for bad in [
            "SLSA_BUILD_LEVEL_4",
            "SLSA_SOURCE_LEVEL_2",
            "SLSA_OTHER_LEVEL_0",
            "X",
        ] {
            assert!(
                matches!(
                    match_levels(&found, &levels(&[bad])),
                    Err(VsaError::MismatchVerifiedLevels { .. })
                ),
                "{bad}"
            );
        }
        for bad in ["SLSA_BUILD_3", "SLSA_BUILD_LEVEL_x", "SLSA_BUILD_STEP_3"] {
            let e = match_levels(&found, &levels(&[bad])).unwrap_err();
            assert!(matches!(e, VsaError::InvalidSlsaLevel { .. }), "{bad}");
            assert!(e.is_input_error());
        }
        let e = match_levels(&levels(&["SLSA_BUILD_LEVEL_"]), &[]).unwrap_err();
        assert!(!e.is_input_error());
    }
}

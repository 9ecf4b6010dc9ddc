//! A test Sigstore: a self-contained Fulcio-like CA, CT log, Rekor-shaped
//! transparency log and RFC 3161 timestamp authority, all with keys generated
//! at construction, that produce real Sigstore bundles and the
//! `trusted_root.json` to verify them with — valid ones, and deliberately
//! broken ones for negative tests.
//!
//! Nothing here touches the network, and no cryptography is implemented here:
//! signatures come from `sigstore-crypto`/`aws-lc-rs`, ASN.1 from the
//! `der`/`x509-cert`/`cms` generation sigstore-rust itself uses.
//!
//! ```
//! use verify_testkit::{SignOptions, TestSigstore};
//!
//! let sigstore = TestSigstore::new();
//! let signed = sigstore.sign(b"hello", &SignOptions::default()).unwrap();
//! let trusted_root_json = sigstore.trusted_root_json();
//! let bundle_json = signed.to_json();
//! assert!(bundle_json.contains("dev.sigstore.bundle.v0.3"));
//! assert!(trusted_root_json.contains("certificateAuthorities"));
//! ```
//!
//! What each piece produces:
//! - [`FulcioCa`] produces ECDSA P-384 root and intermediate; leaves (ECDSA P-256)
//!   with Fulcio's profile, OIDC issuer and GitHub workflow extensions, and
//!   an embedded SCT from [`CtLog`].
//! - [`RekorLog`] produces an RFC 6962 Merkle tree of `hashedrekord`/`dsse` v0.0.1
//!   bodies, Signed Entry Timestamps, inclusion/consistency proofs and signed
//!   checkpoints.
//! - [`Tsa`] produces RFC 3161 `TimeStampResp`s over signature bytes.
//! - [`TestSigstore::trusted_root_json`] produces the
//!   `application/vnd.dev.sigstore.trustedroot+json;version=0.1` document
//!   listing all of the above with open-ended `validFor` windows.
//! - [`TestSigstore::sign`] produces v0.1, v0.2 and v0.3 bundles, message signature
//!   or DSSE in-toto, keyless or key-based, shaped by [`SignOptions`].

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod cosign;
mod fulcio;
mod keys;
pub mod oci;
mod pem;
#[cfg(feature = "registry")]
pub mod registry;
mod rekor;
pub mod tls;
mod tsa;
mod x509;

pub use fulcio::{CtLog, FulcioCa, GithubWorkflowClaims, LeafRequest, SctMode};
pub use keys::{KeyKind, TestKey};
pub use rekor::{LogEntry, RekorLog};
pub use tsa::Tsa;
pub use x509::SanIdentity;

use base64::{engine::general_purpose::STANDARD, Engine as _};
use jiff::{SignedDuration, Timestamp};
use serde_json::json;
use sigstore_types::bundle::{
    CertificateContent, MessageDigest, MessageSignature, PublicKeyIdentifier, Rfc3161Timestamp,
    TimestampVerificationData, VerificationMaterial, VerificationMaterialContent, X509Certificate,
};
use sigstore_types::{
    Bundle, CheckpointData, DerCertificate, DerPublicKey, DigestBytes, DsseEnvelope, DsseSignature,
    HashAlgorithm, KeyId, MediaType, PayloadBytes, Sha256Hash, SignatureBytes, SignatureContent,
    TimestampToken, TransparencyLogEntry,
};

/// The OIDC issuer of GitHub Actions workflow identity tokens, the default
/// issuer of keyless bundles.
pub const GITHUB_ACTIONS_ISSUER: &str = "https://token.actions.githubusercontent.com";

/// Media type of the generated trusted root.
pub const TRUSTED_ROOT_MEDIA_TYPE: &str =
    "application/vnd.dev.sigstore.trustedroot+json;version=0.1";

/// DSSE payload type of in-toto statements.
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// in-toto Statement v1 `_type`.
pub const IN_TOTO_STATEMENT_V1: &str = "https://in-toto.io/Statement/v1";

/// Errors from generating test material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Key generation or signing failed.
    #[error("crypto: {0}")]
    Crypto(String),
    /// ASN.1/DER or TLS encoding failed.
    #[error("encoding: {0}")]
    Asn1(String),
    /// JSON encoding failed.
    #[error("json: {0}")]
    Json(String),
    /// The options asked for something that cannot be produced.
    #[error("invalid options: {0}")]
    InvalidOptions(String),
    /// A sigstore-rust type rejected the generated material.
    #[error("sigstore: {0}")]
    Sigstore(String),
}

/// Result type of this crate.
pub type Result<T> = std::result::Result<T, Error>;

impl From<der::Error> for Error {
    fn from(e: der::Error) -> Self {
        Error::Asn1(e.to_string())
    }
}

impl From<sigstore_crypto::Error> for Error {
    fn from(e: sigstore_crypto::Error) -> Self {
        Error::Crypto(e.to_string())
    }
}

impl From<sigstore_types::Error> for Error {
    fn from(e: sigstore_types::Error) -> Self {
        Error::Sigstore(e.to_string())
    }
}

impl From<jiff::Error> for Error {
    fn from(e: jiff::Error) -> Self {
        Error::InvalidOptions(e.to_string())
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Json(e.to_string())
    }
}

/// The bundle media type (and so the shape of the verification material).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BundleVersion {
    /// `application/vnd.dev.sigstore.bundle+json;version=0.1`: certificate
    /// chain; requires an inclusion promise (SET).
    V0_1,
    /// `application/vnd.dev.sigstore.bundle+json;version=0.2`: certificate
    /// chain; requires an inclusion proof.
    V0_2,
    /// `application/vnd.dev.sigstore.bundle.v0.3+json`: a single
    /// `certificate`; requires an inclusion proof.
    #[default]
    V0_3,
}

impl BundleVersion {
    /// The bundle's media type.
    pub fn media_type(self) -> MediaType {
        match self {
            BundleVersion::V0_1 => MediaType::Bundle0_1,
            BundleVersion::V0_2 => MediaType::Bundle0_2,
            BundleVersion::V0_3 => MediaType::Bundle0_3,
        }
    }
}

/// What the bundle signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Content {
    /// A `messageSignature` over the artifact bytes, logged as `hashedrekord`
    /// v0.0.1.
    #[default]
    MessageSignature,
    /// A `dsseEnvelope` over an in-toto Statement v1 whose subject is the
    /// artifact (payload type `application/vnd.in-toto+json`), logged as
    /// `dsse` v0.0.1.
    Dsse,
}

/// Who signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Signer {
    /// An ephemeral ECDSA P-256 key certified by the test Fulcio.
    #[default]
    Keyless,
    /// A long-lived key of this kind, referenced by a `publicKey` hint; the
    /// key itself is returned in [`SignedBundle::public_key`] /
    /// [`SignedBundle::public_key_pem`].
    Key(KeyKind),
}

/// How to produce a bundle. `SignOptions::default()` is a valid keyless v0.3
/// message-signature bundle for a GitHub Actions workflow identity, with a
/// tlog entry carrying both an inclusion promise and an inclusion proof with
/// checkpoint, and no RFC 3161 timestamp.
///
/// The fields after `predicate` are knobs for negative tests; each one breaks
/// exactly one thing.
#[derive(Debug, Clone)]
pub struct SignOptions {
    /// Bundle media type.
    pub version: BundleVersion,
    /// Message signature or DSSE.
    pub content: Content,
    /// Keyless (Fulcio) or key-based.
    pub signer: Signer,
    /// The SAN identity of a keyless certificate. `None`: the workflow
    /// identity of [`Self::github`] (or `signer@example.com` without it).
    pub identity: Option<SanIdentity>,
    /// The OIDC issuer written to the certificate.
    pub issuer: String,
    /// GitHub workflow claims written to the certificate, if any.
    pub github: Option<GithubWorkflowClaims>,
    /// When the signature is made. The leaf is issued 5 s earlier and valid
    /// for 10 minutes, the log integrates the entry and the TSA stamps it 1 s
    /// later. `None`: one minute ago, so every time is in the past.
    pub signing_time: Option<Timestamp>,
    /// Overrides the leaf's `(notBefore, notAfter)`.
    pub cert_validity: Option<(Timestamp, Timestamp)>,
    /// Include `messageDigest` in a message signature (SHA-384 for a P-384
    /// key, SHA-256 otherwise).
    pub message_digest: bool,
    /// Log the signature and include the tlog entry.
    pub tlog_entry: bool,
    /// Include the entry's inclusion promise (SET).
    pub inclusion_promise: bool,
    /// Include an inclusion proof with a signed checkpoint.
    pub inclusion_proof: bool,
    /// Include an RFC 3161 timestamp over the signature.
    pub rfc3161_timestamp: bool,
    /// The in-toto subject name of the artifact.
    pub artifact_name: String,
    /// The in-toto predicate type.
    pub predicate_type: String,
    /// The in-toto predicate.
    pub predicate: serde_json::Value,

    /// How the leaf's SCT is made ([`SctMode::Valid`] by default).
    pub sct: SctMode,
    /// Issue the leaf so that it expired 5 minutes before the signing time
    /// (valid for the 10 minutes before that): every verified time falls after
    /// its `notAfter`.
    pub expired_certificate: bool,
    /// Issue the leaf from a CA that is not in the trusted root.
    pub untrusted_ca: bool,
    /// Make the in-toto subject digest name other bytes than the artifact.
    pub dsse_subject_mismatch: bool,
    /// Make `messageDigest` name other bytes than the artifact (the signature
    /// and the log entry stay over the real artifact).
    pub message_digest_mismatch: bool,
    /// Corrupt the artifact signature (it is logged and timestamped corrupted,
    /// so only the signature check itself fails).
    pub corrupt_signature: bool,
    /// Corrupt the inclusion promise (SET) signature.
    pub corrupt_set: bool,
    /// Corrupt one hash of the inclusion proof.
    pub corrupt_inclusion_proof: bool,
    /// Sign the checkpoint with a key that is not the log's (under the log's
    /// key hint).
    pub checkpoint_wrong_key: bool,
    /// Get the RFC 3161 timestamp from a TSA that is not in the trusted root.
    pub untrusted_tsa: bool,
    /// Timestamp other bytes than the signature (message imprint mismatch).
    pub timestamp_imprint_mismatch: bool,
    /// Milliseconds added to the RFC 3161 `genTime` (1 s after signing),
    /// written as fractional seconds (`...01.250Z`), as many real TSAs do.
    /// Default 0: whole seconds.
    pub timestamp_millis: u16,
    /// The digest algorithms naming the in-toto subject (`sha256`, `sha384`,
    /// `sha512`; npm's statements use `sha512` alone). Default: `sha256`.
    pub subject_algorithms: Vec<&'static str>,
}

impl Default for SignOptions {
    fn default() -> Self {
        Self {
            version: BundleVersion::V0_3,
            content: Content::MessageSignature,
            signer: Signer::Keyless,
            identity: None,
            issuer: GITHUB_ACTIONS_ISSUER.into(),
            github: Some(GithubWorkflowClaims::default()),
            signing_time: None,
            cert_validity: None,
            message_digest: true,
            tlog_entry: true,
            inclusion_promise: true,
            inclusion_proof: true,
            rfc3161_timestamp: false,
            artifact_name: "artifact".into(),
            predicate_type: "https://slsa.dev/provenance/v1".into(),
            predicate: json!({
                "buildDefinition": {
                    "buildType": "https://actions.github.io/buildtypes/workflow/v1",
                    "externalParameters": {},
                },
                "runDetails": {"builder": {"id": "https://github.com/actions/runner"}},
            }),
            sct: SctMode::Valid,
            expired_certificate: false,
            untrusted_ca: false,
            dsse_subject_mismatch: false,
            message_digest_mismatch: false,
            corrupt_signature: false,
            corrupt_set: false,
            corrupt_inclusion_proof: false,
            checkpoint_wrong_key: false,
            untrusted_tsa: false,
            timestamp_imprint_mismatch: false,
            subject_algorithms: vec!["sha256"],
            timestamp_millis: 0,
        }
    }
}

impl SignOptions {
    /// The SAN identity a keyless certificate gets with these options.
    pub fn effective_identity(&self) -> SanIdentity {
        match (&self.identity, &self.github) {
            (Some(identity), _) => identity.clone(),
            (None, Some(github)) => SanIdentity::Uri(github.workflow_identity()),
            (None, None) => SanIdentity::Email("signer@example.com".into()),
        }
    }
}

/// A generated bundle and what a verifier needs besides the trusted root.
#[derive(Debug, Clone)]
pub struct SignedBundle {
    /// The bundle.
    pub bundle: Bundle,
    /// The signing public key (SPKI DER): the leaf's key for keyless bundles,
    /// the managed key for key-based ones (pass it to
    /// `PublicKeyVerificationPolicy::new`).
    pub public_key: DerPublicKey,
    /// [`Self::public_key`] as PEM, for `--key`.
    pub public_key_pem: String,
    /// The leaf certificate (DER), for keyless bundles.
    pub certificate: Option<Vec<u8>>,
    /// The certificate identity, for keyless bundles.
    pub identity: Option<SanIdentity>,
    /// The certificate's OIDC issuer, for keyless bundles.
    pub issuer: Option<String>,
    /// The log entry as stored in the log (uncorrupted), if logged.
    pub log_entry: Option<LogEntry>,
    /// The DSSE payload (the in-toto statement JSON), for DSSE bundles.
    pub dsse_payload: Option<Vec<u8>>,
}

impl SignedBundle {
    /// The bundle as pretty-printed protobuf-specs JSON.
    pub fn to_json(&self) -> String {
        self.bundle
            .to_json_pretty()
            .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }
}

/// Keys and authorities that are deliberately absent from the trusted root.
#[derive(Debug)]
struct Untrusted {
    fulcio: FulcioCa,
    ct_log: CtLog,
    rekor_key: TestKey,
    tsa: Tsa,
}

/// The test Sigstore instance: trusted Fulcio CA, CT log, Rekor log and TSA,
/// plus untrusted look-alikes used by the negative knobs. All keys are
/// generated by [`TestSigstore::new`].
#[derive(Debug)]
pub struct TestSigstore {
    fulcio: FulcioCa,
    ct_log: CtLog,
    rekor: RekorLog,
    tsa: Tsa,
    untrusted: Untrusted,
    trust_start: Timestamp,
}

impl Default for TestSigstore {
    fn default() -> Self {
        Self::new()
    }
}

/// Start of the CA/TSA certificate validity and of every `validFor` window.
const TRUST_START: &str = "2020-01-01T00:00:00Z";
/// End of the CA/TSA certificate validity (the `validFor` windows are open).
const TRUST_END: &str = "2100-01-01T00:00:00Z";
/// Number of entries the log holds before the first bundle is signed, so that
/// every inclusion proof has hashes.
const PRIOR_LOG_ENTRIES: usize = 5;

impl TestSigstore {
    /// Generate every key and certificate. Panics if key generation fails,
    /// which only happens when the system random source is broken; use
    /// [`TestSigstore::try_new`] to handle that.
    pub fn new() -> Self {
        Self::try_new().unwrap_or_else(|e| panic!("failed to set up the test Sigstore: {e}"))
    }

    /// Generate every key and certificate: CAs valid 2020-2100, a Rekor log
    /// seeded with a few unrelated entries.
    pub fn try_new() -> Result<Self> {
        let start: Timestamp = TRUST_START.parse()?;
        let end: Timestamp = TRUST_END.parse()?;
        let rekor = RekorLog::new(
            "rekor.sigstore.test",
            1_193_050_959_916_656_506,
            "https://rekor.sigstore.test",
        )?;
        let sigstore = Self {
            fulcio: FulcioCa::new("sigstore-test", "https://fulcio.sigstore.test", start, end)?,
            ct_log: CtLog::new("https://ctfe.sigstore.test/test")?,
            rekor,
            tsa: Tsa::new(
                "sigstore-test-tsa",
                "https://timestamp.sigstore.test/api/v1/timestamp",
                start,
                end,
            )?,
            untrusted: Untrusted {
                fulcio: FulcioCa::new("untrusted", "https://fulcio.untrusted.test", start, end)?,
                ct_log: CtLog::new("https://ctfe.untrusted.test")?,
                rekor_key: TestKey::generate(KeyKind::EcdsaP256)?,
                tsa: Tsa::new("untrusted-tsa", "https://tsa.untrusted.test", start, end)?,
            },
            trust_start: start,
        };
        sigstore.seed_log()?;
        Ok(sigstore)
    }

    /// Log a few unrelated, well-formed `hashedrekord` entries, as any real log
    /// has entries before ours.
    fn seed_log(&self) -> Result<()> {
        let key = TestKey::generate(KeyKind::EcdsaP256)?;
        let time = Timestamp::now() - SignedDuration::from_hours(1);
        for i in 0..PRIOR_LOG_ENTRIES {
            let artifact = format!("earlier artifact {i}");
            let signature = key.sign(artifact.as_bytes())?;
            self.rekor.append_hashedrekord(
                sigstore_crypto::sha256(artifact.as_bytes()).as_bytes(),
                &signature,
                &key.public_key_pem(),
                time,
            )?;
        }
        Ok(())
    }

    /// The trusted Fulcio CA.
    pub fn fulcio(&self) -> &FulcioCa {
        &self.fulcio
    }

    /// The trusted CT log.
    pub fn ct_log(&self) -> &CtLog {
        &self.ct_log
    }

    /// The trusted Rekor log (a cloneable handle).
    pub fn rekor(&self) -> &RekorLog {
        &self.rekor
    }

    /// The trusted TSA.
    pub fn tsa(&self) -> &Tsa {
        &self.tsa
    }

    /// The trusted root as a JSON value: the Rekor log key and CT log key
    /// (with their log IDs), the Fulcio chain (intermediate, root) and the TSA
    /// chain (signing certificate, root), each with an open-ended `validFor`
    /// starting 2020-01-01.
    pub fn trusted_root_value(&self) -> serde_json::Value {
        let valid_for = json!({"start": self.trust_start.to_string()});
        let log = |base_url: &str, key: &TestKey| {
            json!({
                "baseUrl": base_url,
                "hashAlgorithm": "SHA2_256",
                "publicKey": {
                    "rawBytes": STANDARD.encode(key.public_key_der()),
                    "keyDetails": key.kind().key_details(),
                    "validFor": valid_for,
                },
                "logId": {"keyId": STANDARD.encode(key.key_id())},
            })
        };
        let certs = |ders: &[&[u8]]| {
            json!({
                "certificates": ders
                    .iter()
                    .map(|der| json!({"rawBytes": STANDARD.encode(der)}))
                    .collect::<Vec<_>>(),
            })
        };
        json!({
            "mediaType": TRUSTED_ROOT_MEDIA_TYPE,
            "tlogs": [log(self.rekor.base_url(), self.rekor.key())],
            "certificateAuthorities": [{
                "subject": {"organization": "sigstore.test", "commonName": "sigstore-test"},
                "uri": self.fulcio.uri(),
                "certChain": certs(&[self.fulcio.intermediate_der(), self.fulcio.root_der()]),
                "validFor": valid_for,
            }],
            "ctlogs": [log(self.ct_log.base_url(), self.ct_log.key())],
            "timestampAuthorities": [{
                "subject": {"organization": "sigstore.test", "commonName": "sigstore-test-tsa"},
                "uri": self.tsa.uri(),
                "certChain": certs(&[self.tsa.signing_cert_der(), self.tsa.root_der()]),
                "validFor": valid_for,
            }],
        })
    }

    /// The trusted root as pretty-printed JSON (`trusted_root.json`).
    pub fn trusted_root_json(&self) -> String {
        let mut json = serde_json::to_string_pretty(&self.trusted_root_value())
            .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
        json.push('\n');
        json
    }

    /// The trusted root parsed by `sigstore-trust-root`.
    pub fn trusted_root(&self) -> Result<sigstore_trust_root::TrustedRoot> {
        sigstore_trust_root::TrustedRoot::from_json(&self.trusted_root_json())
            .map_err(|e| Error::Sigstore(e.to_string()))
    }

    /// A keyless v0.3 message-signature bundle over `artifact` with default
    /// options.
    pub fn sign_blob(&self, artifact: &[u8]) -> Result<SignedBundle> {
        self.sign(artifact, &SignOptions::default())
    }

    /// A keyless v0.3 DSSE in-toto bundle whose subject is `artifact`.
    pub fn sign_dsse(&self, artifact: &[u8]) -> Result<SignedBundle> {
        self.sign(
            artifact,
            &SignOptions {
                content: Content::Dsse,
                ..SignOptions::default()
            },
        )
    }

    /// The in-toto Statement v1 naming `artifact` (by SHA-256) as its subject.
    pub fn in_toto_statement(artifact: &[u8], options: &SignOptions) -> serde_json::Value {
        let subject_bytes: Vec<u8> = if options.dsse_subject_mismatch {
            [artifact, b" (not this artifact)"].concat()
        } else {
            artifact.to_vec()
        };
        let digest: serde_json::Map<String, serde_json::Value> = options
            .subject_algorithms
            .iter()
            .map(|alg| {
                let hex = match *alg {
                    "sha384" => sigstore_crypto::sha384(&subject_bytes).to_hex(),
                    "sha512" => sigstore_crypto::sha512(&subject_bytes).to_hex(),
                    _ => sigstore_crypto::sha256(&subject_bytes).to_hex(),
                };
                (alg.to_string(), json!(hex))
            })
            .collect();
        json!({
            "_type": IN_TOTO_STATEMENT_V1,
            "subject": [{
                "name": options.artifact_name,
                "digest": digest,
            }],
            "predicateType": options.predicate_type,
            "predicate": options.predicate,
        })
    }

    /// Sign `artifact` and assemble a bundle as `options` describe: sign,
    /// certify (keyless), log, timestamp, then apply the negative knobs.
    pub fn sign(&self, artifact: &[u8], options: &SignOptions) -> Result<SignedBundle> {
        let signing_time = match options.signing_time {
            Some(time) => time,
            None => Timestamp::now() - SignedDuration::from_mins(1),
        };
        let signing_time = Timestamp::from_second(signing_time.as_second())?;
        let later = signing_time + SignedDuration::from_secs(1);

        // The signing key, and for keyless signing its certificate.
        let (key, certificate, identity) = match options.signer {
            Signer::Keyless => {
                let key = TestKey::generate(KeyKind::EcdsaP256)?;
                let identity = options.effective_identity();
                let (not_before, not_after) = match options.cert_validity {
                    Some(validity) => validity,
                    None if options.expired_certificate => (
                        signing_time - SignedDuration::from_mins(15),
                        signing_time - SignedDuration::from_mins(5),
                    ),
                    None => {
                        let issued = signing_time - SignedDuration::from_secs(5);
                        (issued, issued + SignedDuration::from_mins(10))
                    }
                };
                let ca = if options.untrusted_ca {
                    &self.untrusted.fulcio
                } else {
                    &self.fulcio
                };
                let cert = ca.issue_leaf(
                    &LeafRequest {
                        public_key_der: key.public_key_der(),
                        identity: &identity,
                        oidc_issuer: &options.issuer,
                        github: options.github.as_ref(),
                        not_before,
                        not_after,
                    },
                    &self.ct_log,
                    &self.untrusted.ct_log,
                    options.sct,
                )?;
                (key, Some(cert), Some(identity))
            }
            Signer::Key(kind) => (TestKey::generate(kind)?, None, None),
        };
        let verifier_pem = match &certificate {
            Some(cert) => pem::encode("CERTIFICATE", cert),
            None => key.public_key_pem(),
        };
        let artifact_sha256 = *sigstore_crypto::sha256(artifact).as_bytes();

        // The signature content, and its log entry.
        let mut dsse_payload = None;
        let (content, signature, log_entry) = match options.content {
            Content::MessageSignature => {
                let mut signature = key.sign(artifact)?;
                if options.corrupt_signature {
                    fulcio::flip_last_byte(&mut signature);
                }
                let mut message = MessageSignature::new(SignatureBytes::new(signature.clone()));
                if options.message_digest {
                    // The digest the signature scheme hashes with: SHA-384 for
                    // P-384 keys, SHA-256 otherwise.
                    let digested: Vec<u8> = if options.message_digest_mismatch {
                        [artifact, b"!"].concat()
                    } else {
                        artifact.to_vec()
                    };
                    let (algorithm, digest) = match key.kind() {
                        KeyKind::EcdsaP384 => (
                            HashAlgorithm::Sha2384,
                            sigstore_crypto::sha384(&digested).as_bytes().to_vec(),
                        ),
                        KeyKind::EcdsaP256 | KeyKind::Ed25519 => (
                            HashAlgorithm::Sha2256,
                            sigstore_crypto::sha256(&digested).as_bytes().to_vec(),
                        ),
                    };
                    message = message.with_message_digest(MessageDigest::new(
                        algorithm,
                        DigestBytes::new(digest),
                    ));
                }
                let entry = if options.tlog_entry {
                    Some(self.rekor.append_hashedrekord(
                        &artifact_sha256,
                        &signature,
                        &verifier_pem,
                        later,
                    )?)
                } else {
                    None
                };
                (
                    SignatureContent::MessageSignature(message),
                    signature,
                    entry,
                )
            }
            Content::Dsse => {
                let payload = serde_json::to_vec(&Self::in_toto_statement(artifact, options))?;
                let pae = sigstore_types::pae(IN_TOTO_PAYLOAD_TYPE, &payload);
                let mut signature = key.sign(&pae)?;
                if options.corrupt_signature {
                    fulcio::flip_last_byte(&mut signature);
                }
                let envelope = DsseEnvelope::new(
                    IN_TOTO_PAYLOAD_TYPE,
                    PayloadBytes::new(payload.clone()),
                    DsseSignature::new(SignatureBytes::new(signature.clone()), KeyId::default()),
                );
                let entry = if options.tlog_entry {
                    let envelope_json = rekor::canonical_json(&serde_json::to_value(&envelope)?)?;
                    Some(self.rekor.append_dsse(
                        &envelope_json,
                        &payload,
                        &signature,
                        &verifier_pem,
                        later,
                    )?)
                } else {
                    None
                };
                dsse_payload = Some(payload);
                (SignatureContent::DsseEnvelope(envelope), signature, entry)
            }
        };

        // The bundle's tlog entry, broken as asked.
        let mut tlog_entries = Vec::new();
        if let Some(entry) = &log_entry {
            tlog_entries.push(self.bundle_tlog_entry(entry, options)?);
        }

        // The RFC 3161 timestamp.
        let mut timestamps = Vec::new();
        if options.rfc3161_timestamp {
            let tsa = if options.untrusted_tsa {
                &self.untrusted.tsa
            } else {
                &self.tsa
            };
            let stamped: Vec<u8> = if options.timestamp_imprint_mismatch {
                [signature.as_slice(), b"!"].concat()
            } else {
                signature.clone()
            };
            timestamps.push(Rfc3161Timestamp::new(TimestampToken::new(tsa.timestamp(
                &stamped,
                later + SignedDuration::from_millis(i64::from(options.timestamp_millis)),
            )?)));
        }

        let material = match (&certificate, options.version) {
            (Some(cert), BundleVersion::V0_3) => VerificationMaterialContent::Certificate(
                CertificateContent::new(DerCertificate::new(cert.clone())),
            ),
            (Some(cert), BundleVersion::V0_1 | BundleVersion::V0_2) => {
                let ca = if options.untrusted_ca {
                    &self.untrusted.fulcio
                } else {
                    &self.fulcio
                };
                VerificationMaterialContent::X509CertificateChain {
                    certificates: vec![
                        X509Certificate::new(DerCertificate::new(cert.clone())),
                        X509Certificate::new(DerCertificate::new(ca.intermediate_der().to_vec())),
                    ],
                }
            }
            (None, _) => VerificationMaterialContent::PublicKey(PublicKeyIdentifier::new(
                sigstore_crypto::sha256(key.public_key_der()).to_base64(),
            )),
        };
        let material = VerificationMaterial::new(material)
            .with_tlog_entries(tlog_entries)
            .with_timestamp_verification_data(TimestampVerificationData::new(timestamps));

        Ok(SignedBundle {
            bundle: Bundle::new(options.version.media_type(), material, content),
            public_key: key.public_key(),
            public_key_pem: key.public_key_pem(),
            certificate,
            issuer: identity.as_ref().map(|_| options.issuer.clone()),
            identity,
            log_entry,
            dsse_payload,
        })
    }

    /// The bundle's view of `entry`, with the tlog knobs applied.
    fn bundle_tlog_entry(
        &self,
        entry: &LogEntry,
        options: &SignOptions,
    ) -> Result<TransparencyLogEntry> {
        let mut tlog =
            self.rekor
                .tlog_entry(entry, options.inclusion_promise, options.inclusion_proof)?;
        if options.corrupt_set {
            let promise = tlog.inclusion_promise.as_mut().ok_or_else(|| {
                Error::InvalidOptions("corrupt_set needs inclusion_promise".into())
            })?;
            let mut set = promise.signed_entry_timestamp.as_bytes().to_vec();
            fulcio::flip_last_byte(&mut set);
            promise.signed_entry_timestamp = sigstore_types::SignedTimestamp::new(set);
        }
        if options.corrupt_inclusion_proof || options.checkpoint_wrong_key {
            let proof = tlog.inclusion_proof.as_mut().ok_or_else(|| {
                Error::InvalidOptions(
                    "corrupt_inclusion_proof/checkpoint_wrong_key need inclusion_proof".into(),
                )
            })?;
            if options.corrupt_inclusion_proof {
                let first = proof.hashes.first_mut().ok_or_else(|| {
                    Error::InvalidOptions("the inclusion proof has no hashes to corrupt".into())
                })?;
                let mut bytes = *first.as_bytes();
                bytes[0] ^= 0x01;
                *first = Sha256Hash::new(bytes);
            }
            if options.checkpoint_wrong_key {
                proof.checkpoint = CheckpointData::new(self.rekor.checkpoint_signed_by(
                    proof.tree_size,
                    &self.untrusted.rekor_key,
                    self.rekor.key_hint(),
                )?)?;
            }
        }
        Ok(tlog)
    }
}

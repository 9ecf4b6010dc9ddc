//! A Fulcio-like certificate authority and the CT log that countersigns its
//! leaves.
//!
//! [`FulcioCa`] is a self-signed ECDSA P-384 root and an ECDSA P-384
//! intermediate, like the public-good Fulcio, which issues short-lived code
//! signing leaves with Fulcio's certificate profile. [`CtLog`] is the
//! Certificate Transparency log whose signed certificate timestamp (SCT) is
//! embedded in each leaf.

use crate::keys::{KeyKind, TestKey};
use crate::x509::{self, CertTemplate, SanIdentity};
use crate::{Error, Result};
use der::asn1::Utf8StringRef;
use der::Encode;
use jiff::Timestamp;
use spki::ObjectIdentifier;
use tls_codec::TlsByteVecU16;
use x509_cert::ext::pkix::sct::{
    DigitallySigned, HashAlgorithm, LogId, SerializedSct, SignatureAlgorithm,
    SignatureAndHashAlgorithm, SignedCertificateTimestamp, SignedCertificateTimestampList, Version,
};
use x509_cert::name::Name;

/// OID of the RFC 6962 embedded SCT list extension.
pub(crate) const OID_CT_PRECERT_SCTS: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.2");

/// `1.3.6.1.4.1.57264.1.<n>`: the Fulcio extension arc.
fn fulcio_oid(n: u32) -> Result<ObjectIdentifier> {
    ObjectIdentifier::new(&format!("1.3.6.1.4.1.57264.1.{n}"))
        .map_err(|e| Error::Asn1(e.to_string()))
}

/// The GitHub Actions workflow claims Fulcio copies from a workflow's OIDC
/// token into the leaf certificate.
///
/// They are written twice, as Fulcio does: in the deprecated GitHub-specific
/// extensions `1.3.6.1.4.1.57264.1.2` to `.1.6` (raw strings) and in the
/// provider-neutral extensions `.1.9` to `.1.22` (DER UTF8String).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GithubWorkflowClaims {
    /// The event that triggered the run (`.1.2` and `.1.20`), e.g. `push`.
    pub trigger: String,
    /// The commit the run built (`.1.3`, `.1.10`, `.1.13` and `.1.19`).
    pub sha: String,
    /// The workflow's display name (`.1.4`).
    pub workflow_name: String,
    /// `owner/repository` (`.1.5`).
    pub repository: String,
    /// The ref the run built (`.1.6` and `.1.14`), e.g. `refs/heads/main`.
    pub git_ref: String,
    /// The workflow file path inside the repository, e.g.
    /// `.github/workflows/release.yml`; `.1.9` and `.1.18` are derived from it.
    pub workflow_path: String,
    /// `github-hosted` or `self-hosted` (`.1.11`).
    pub runner_environment: String,
    /// The repository's immutable numeric ID (`.1.15`).
    pub repository_id: String,
    /// The owner's immutable numeric ID (`.1.17`).
    pub repository_owner_id: String,
    /// The run ID and attempt, used for the run invocation URI (`.1.21`).
    pub run_id: String,
    /// `public`, `private` or `internal` (`.1.22`).
    pub visibility: String,
}

impl Default for GithubWorkflowClaims {
    fn default() -> Self {
        Self::new(
            "example-org/example-repo",
            ".github/workflows/release.yml",
            "refs/heads/main",
            "4b2f1e8c9d0a7b6c5d4e3f2a1b0c9d8e7f6a5b4c",
        )
    }
}

impl GithubWorkflowClaims {
    /// Claims for a `push`-triggered, GitHub-hosted run of `workflow_path` in
    /// the public repository `repository` (`owner/name`) at `git_ref`/`sha`.
    pub fn new(repository: &str, workflow_path: &str, git_ref: &str, sha: &str) -> Self {
        Self {
            trigger: "push".into(),
            sha: sha.into(),
            workflow_name: "Release".into(),
            repository: repository.into(),
            git_ref: git_ref.into(),
            workflow_path: workflow_path.into(),
            runner_environment: "github-hosted".into(),
            repository_id: "123456789".into(),
            repository_owner_id: "987654321".into(),
            run_id: "4242424242/attempts/1".into(),
            visibility: "public".into(),
        }
    }

    /// `https://github.com/<owner>/<repo>`.
    pub fn repository_uri(&self) -> String {
        format!("https://github.com/{}", self.repository)
    }

    /// `https://github.com/<owner>`.
    pub fn owner_uri(&self) -> String {
        let owner = self.repository.split('/').next().unwrap_or_default();
        format!("https://github.com/{owner}")
    }

    /// The workflow identity Fulcio puts in the SAN (and in `.1.9`/`.1.18`):
    /// `https://github.com/<owner>/<repo>/<workflow path>@<ref>`.
    pub fn workflow_identity(&self) -> String {
        format!(
            "{}/{}@{}",
            self.repository_uri(),
            self.workflow_path,
            self.git_ref
        )
    }

    /// `https://github.com/<owner>/<repo>/actions/runs/<run id>`.
    pub fn run_invocation_uri(&self) -> String {
        format!("{}/actions/runs/{}", self.repository_uri(), self.run_id)
    }

    /// The Fulcio extensions for these claims, in OID order.
    fn extensions(&self) -> Result<Vec<x509_cert::ext::Extension>> {
        let raw = |n: u32, value: &str| -> Result<x509_cert::ext::Extension> {
            x509::raw_extension(fulcio_oid(n)?, false, value.as_bytes().to_vec())
        };
        let utf8 = |n: u32, value: &str| -> Result<x509_cert::ext::Extension> {
            x509::extension(fulcio_oid(n)?, false, &Utf8StringRef::new(value)?)
        };
        let identity = self.workflow_identity();
        Ok(vec![
            raw(2, &self.trigger)?,
            raw(3, &self.sha)?,
            raw(4, &self.workflow_name)?,
            raw(5, &self.repository)?,
            raw(6, &self.git_ref)?,
            utf8(9, &identity)?,
            utf8(10, &self.sha)?,
            utf8(11, &self.runner_environment)?,
            utf8(12, &self.repository_uri())?,
            utf8(13, &self.sha)?,
            utf8(14, &self.git_ref)?,
            utf8(15, &self.repository_id)?,
            utf8(16, &self.owner_uri())?,
            utf8(17, &self.repository_owner_id)?,
            utf8(18, &identity)?,
            utf8(19, &self.sha)?,
            utf8(20, &self.trigger)?,
            utf8(21, &self.run_invocation_uri())?,
            utf8(22, &self.visibility)?,
        ])
    }
}

/// How the leaf's embedded SCT is produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SctMode {
    /// A valid SCT from the trusted CT log.
    #[default]
    Valid,
    /// No SCT extension at all.
    Missing,
    /// An SCT whose signature does not verify (one byte flipped).
    Corrupted,
    /// A well-formed SCT from a CT log that is not in the trusted root.
    UntrustedLog,
}

/// A Certificate Transparency log: one ECDSA P-256 key whose RFC 6962 log ID
/// (SHA-256 of its SubjectPublicKeyInfo) is listed in the trusted root.
#[derive(Debug)]
pub struct CtLog {
    key: TestKey,
    base_url: String,
}

impl CtLog {
    /// Generate a CT log key.
    pub fn new(base_url: impl Into<String>) -> Result<Self> {
        Ok(Self {
            key: TestKey::generate(KeyKind::EcdsaP256)?,
            base_url: base_url.into(),
        })
    }

    /// The log's key.
    pub fn key(&self) -> &TestKey {
        &self.key
    }

    /// The log's base URL as listed in the trusted root.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// RFC 6962 log ID: SHA-256 of the log key's SubjectPublicKeyInfo.
    pub fn log_id(&self) -> [u8; 32] {
        self.key.key_id()
    }

    /// An RFC 6962 v1 SCT over a precertificate entry: the log signs
    /// `version || certificate_timestamp || timestamp || precert_entry ||
    /// issuer_key_hash || tbs_certificate || extensions` (section 3.2), where
    /// `tbs_der` is the TBSCertificate without the SCT list extension.
    pub fn sign_precert(
        &self,
        issuer_spki_der: &[u8],
        tbs_der: &[u8],
        timestamp_ms: u64,
    ) -> Result<SignedCertificateTimestamp> {
        let issuer_key_hash = sigstore_crypto::sha256(issuer_spki_der);
        let tbs_len = u32::try_from(tbs_der.len())
            .ok()
            .filter(|len| *len < (1 << 24))
            .ok_or_else(|| Error::Asn1("TBSCertificate too large for an SCT".into()))?;
        let mut signed = Vec::with_capacity(tbs_der.len() + 64);
        signed.push(0); // Version v1
        signed.push(0); // SignatureType certificate_timestamp
        signed.extend_from_slice(&timestamp_ms.to_be_bytes());
        signed.extend_from_slice(&1u16.to_be_bytes()); // LogEntryType precert_entry
        signed.extend_from_slice(issuer_key_hash.as_bytes());
        signed.extend_from_slice(&tbs_len.to_be_bytes()[1..]); // opaque<1..2^24-1>
        signed.extend_from_slice(tbs_der);
        signed.extend_from_slice(&0u16.to_be_bytes()); // CtExtensions, empty
        let signature = self.key.sign(&signed)?;
        Ok(SignedCertificateTimestamp {
            version: Version::V1,
            log_id: LogId {
                key_id: self.log_id(),
            },
            timestamp: timestamp_ms,
            extensions: TlsByteVecU16::new(Vec::new()),
            signature: DigitallySigned {
                algorithm: SignatureAndHashAlgorithm {
                    hash: HashAlgorithm::Sha256,
                    signature: SignatureAlgorithm::Ecdsa,
                },
                signature: TlsByteVecU16::new(signature),
            },
        })
    }
}

/// What a Fulcio leaf certificate is issued for.
#[derive(Debug, Clone)]
pub struct LeafRequest<'a> {
    /// SubjectPublicKeyInfo DER of the signer's (ephemeral) key.
    pub public_key_der: &'a [u8],
    /// The SAN identity.
    pub identity: &'a SanIdentity,
    /// The OIDC issuer, written to `.1.1` (raw) and `.1.8` (UTF8String).
    pub oidc_issuer: &'a str,
    /// GitHub workflow claims, if the identity is a GitHub Actions workflow.
    pub github: Option<&'a GithubWorkflowClaims>,
    /// `notBefore`.
    pub not_before: Timestamp,
    /// `notAfter`.
    pub not_after: Timestamp,
}

/// A two-level Fulcio-like CA: a self-signed ECDSA P-384 root
/// (`O=sigstore.dev, CN=sigstore`-style) and an ECDSA P-384 intermediate that
/// signs the leaves. Both are listed in the trusted root's
/// `certificateAuthorities` chain.
#[derive(Debug)]
pub struct FulcioCa {
    root_key: TestKey,
    root_cert: Vec<u8>,
    intermediate_key: TestKey,
    intermediate_cert: Vec<u8>,
    intermediate_name: Name,
    uri: String,
}

impl FulcioCa {
    /// Generate the root and intermediate, both valid from `not_before` to
    /// `not_after`. `label` distinguishes the subject names of several CAs.
    pub fn new(
        label: &str,
        uri: &str,
        not_before: Timestamp,
        not_after: Timestamp,
    ) -> Result<Self> {
        let (root_key, root_name, root_cert) = x509::self_signed_root(
            &format!("CN={label},O=sigstore.test"),
            Some(1),
            not_before,
            not_after,
        )?;

        let intermediate_key = TestKey::generate(KeyKind::EcdsaP384)?;
        let intermediate_name = x509::name(&format!("CN={label}-intermediate,O=sigstore.test"))?;
        let intermediate_tbs = CertTemplate {
            serial: x509::random_serial(20)?,
            issuer: root_name,
            subject: intermediate_name.clone(),
            not_before,
            not_after,
            extensions: vec![
                x509::key_usage_ca()?,
                // Like the public-good intermediate: restricted to code signing.
                x509::extended_key_usage(x509::OID_KP_CODE_SIGNING, false)?,
                x509::basic_constraints_ca(Some(0))?,
                x509::subject_key_identifier(intermediate_key.public_key_der())?,
                x509::authority_key_identifier(root_key.public_key_der())?,
            ],
        }
        .tbs(intermediate_key.public_key_der(), &root_key)?;
        let intermediate_cert = x509::sign_tbs(intermediate_tbs, &root_key)?;

        Ok(Self {
            root_key,
            root_cert,
            intermediate_key,
            intermediate_cert,
            intermediate_name,
            uri: uri.into(),
        })
    }

    /// The root certificate (DER).
    pub fn root_der(&self) -> &[u8] {
        &self.root_cert
    }

    /// The intermediate certificate (DER).
    pub fn intermediate_der(&self) -> &[u8] {
        &self.intermediate_cert
    }

    /// The root key.
    pub fn root_key(&self) -> &TestKey {
        &self.root_key
    }

    /// The intermediate key, which signs leaves.
    pub fn intermediate_key(&self) -> &TestKey {
        &self.intermediate_key
    }

    /// The CA's URI as listed in the trusted root.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// Issue a leaf with Fulcio's profile: empty subject, critical
    /// `digitalSignature` key usage, `codeSigning` EKU, SKI/AKI, critical SAN,
    /// the OIDC issuer in `.1.1` (raw) and `.1.8` (UTF8String), the GitHub
    /// workflow claims if any, and, unless `sct` is [`SctMode::Missing`], an
    /// embedded SCT list (`1.3.6.1.4.1.11129.2.4.2`) over the precertificate
    /// TBS, signed by `ct_log` at `notBefore`.
    pub fn issue_leaf(
        &self,
        request: &LeafRequest<'_>,
        ct_log: &CtLog,
        untrusted_ct_log: &CtLog,
        sct: SctMode,
    ) -> Result<Vec<u8>> {
        let mut extensions = vec![
            x509::key_usage_digital_signature()?,
            x509::extended_key_usage(x509::OID_KP_CODE_SIGNING, false)?,
            x509::subject_key_identifier(request.public_key_der)?,
            x509::authority_key_identifier(self.intermediate_key.public_key_der())?,
            x509::subject_alt_name(request.identity)?,
            x509::raw_extension(
                fulcio_oid(1)?,
                false,
                request.oidc_issuer.as_bytes().to_vec(),
            )?,
        ];
        if let Some(github) = request.github {
            // .1.2 to .1.6 precede .1.8 in OID order; Fulcio writes them in
            // that order too.
            let mut claims = github.extensions()?;
            let modern = claims.split_off(5);
            extensions.extend(claims);
            extensions.push(x509::extension(
                fulcio_oid(8)?,
                false,
                &Utf8StringRef::new(request.oidc_issuer)?,
            )?);
            extensions.extend(modern);
        } else {
            extensions.push(x509::extension(
                fulcio_oid(8)?,
                false,
                &Utf8StringRef::new(request.oidc_issuer)?,
            )?);
        }

        let template = CertTemplate {
            serial: x509::random_serial(20)?,
            issuer: self.intermediate_name.clone(),
            subject: Name::default(),
            not_before: request.not_before,
            not_after: request.not_after,
            extensions,
        };
        let mut tbs = template.tbs(request.public_key_der, &self.intermediate_key)?;

        if sct != SctMode::Missing {
            let precert_tbs = tbs.to_der()?;
            let timestamp_ms = u64::try_from(request.not_before.as_millisecond())
                .map_err(|_| Error::InvalidOptions("notBefore is before 1970".into()))?;
            let log = match sct {
                SctMode::UntrustedLog => untrusted_ct_log,
                _ => ct_log,
            };
            let mut sct_value = log.sign_precert(
                self.intermediate_key.public_key_der(),
                &precert_tbs,
                timestamp_ms,
            )?;
            if sct == SctMode::Corrupted {
                let mut sig = sct_value.signature.signature.as_slice().to_vec();
                flip_last_byte(&mut sig);
                sct_value.signature.signature = TlsByteVecU16::new(sig);
            }
            let list = SignedCertificateTimestampList::new(&[SerializedSct::new(sct_value)
                .map_err(|e| Error::Asn1(format!("SCT encoding failed: {e}")))?])
            .map_err(|e| Error::Asn1(format!("SCT list encoding failed: {e:?}")))?;
            let ext = x509::extension(OID_CT_PRECERT_SCTS, false, &list)?;
            if let Some(exts) = tbs.extensions.as_mut() {
                exts.push(ext);
            }
        }

        x509::sign_tbs(tbs, &self.intermediate_key)
    }
}

/// Flip the low bit of the last byte of `bytes`, if any.
pub(crate) fn flip_last_byte(bytes: &mut [u8]) {
    if let Some(last) = bytes.last_mut() {
        *last ^= 0x01;
    }
}

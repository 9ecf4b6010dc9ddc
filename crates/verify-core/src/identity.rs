//! Who may have signed: the identity policy.
//!
//! A keyless bundle is accepted only when its Fulcio certificate names the
//! expected identity (the Subject Alternative Name) and OIDC issuer, and, when
//! asked, the expected GitHub workflow claims. A key-based bundle is accepted
//! only when it verifies with the given public key.
//!
//! The identity is the SAN's first email address or URI, as cosign reads it,
//! or else Fulcio's username `otherName` (OID 1.3.6.1.4.1.57264.1.7, a
//! UTF8String such as `user!oidc.example`), which sigstore-crypto 0.15.1 does
//! not read: `certificate_identity` adds it.
//!
//! ## Regular expressions
//!
//! `--certificate-identity-regexp` and `--certificate-oidc-issuer-regexp`
//! behave exactly as cosign's: the pattern uses RE2 syntax (Rust's `regex`
//! crate implements the same syntax as Go's `regexp`) and is *searched* in
//! the value, not implicitly anchored. `acme` matches any identity that
//! contains `acme`. To match a whole value, anchor the pattern yourself with
//! `^` and `$`, e.g. `^https://github\.com/acme/.*$`; an anchored pattern
//! that would only match a part of the identity does not match.

use crate::digest::Sha256;
use sigstore_crypto::CertificateInfo;
use sigstore_types::DerPublicKey;

/// How a certificate value is matched.
#[derive(Debug, Clone)]
pub enum StringMatcher {
    /// The value must equal this string.
    Exact(String),
    /// The value must contain a match of this pattern (see the module docs).
    Regex(regex::Regex),
    /// Any value, even none: for callers that authorize the signer
    /// themselves (see [`IdentityPolicy::any_identity`]).
    Any,
}

impl StringMatcher {
    /// An exact matcher.
    pub fn exact(value: impl Into<String>) -> Self {
        Self::Exact(value.into())
    }

    /// A regular-expression matcher; `flag` names the option for the error.
    pub fn regex(flag: &'static str, pattern: &str) -> Result<Self, PolicyError> {
        regex::RegexBuilder::new(pattern)
            .size_limit(1 << 20)
            .build()
            .map(Self::Regex)
            .map_err(|e| PolicyError::InvalidRegex {
                flag,
                pattern: pattern.to_string(),
                detail: e.to_string(),
            })
    }

    /// Whether `value` satisfies this matcher.
    pub fn matches(&self, value: &str) -> bool {
        match self {
            Self::Exact(expected) => expected == value,
            Self::Regex(re) => re.is_match(value),
            Self::Any => true,
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::Exact(s) => s.clone(),
            Self::Regex(re) => format!("/{}/", re.as_str()),
            Self::Any => "any".to_string(),
        }
    }

    fn fingerprint_into(&self, h: &mut Sha256) {
        match self {
            Self::Exact(s) => {
                h.update(b"exact\0");
                h.update(s.as_bytes());
            }
            Self::Regex(re) => {
                h.update(b"regex\0");
                h.update(re.as_str().as_bytes());
            }
            Self::Any => h.update(b"any\0"),
        }
        h.update(b"\0");
    }
}

/// GitHub workflow claims a certificate must carry (cosign's
/// `--certificate-github-workflow-*` flags). Each is compared exactly with the
/// certificate's GitHub extension (OIDs 1.3.6.1.4.1.57264.1.2 to .1.6), and
/// with its provider-neutral successor when the old extension is absent.
#[derive(Debug, Clone, Default)]
pub struct GithubWorkflowPolicy {
    /// Event that triggered the workflow, e.g. `push`.
    pub trigger: Option<String>,
    /// Commit SHA the workflow ran on.
    pub sha: Option<String>,
    /// Workflow name.
    pub name: Option<String>,
    /// Repository as `owner/name`.
    pub repository: Option<String>,
    /// Git ref, e.g. `refs/heads/main`.
    pub git_ref: Option<String>,
}

/// Policy for keyless (Fulcio certificate) bundles.
#[derive(Debug, Clone)]
pub struct IdentityPolicy {
    /// Expected certificate identity (SAN).
    pub identity: StringMatcher,
    /// Expected OIDC issuer.
    pub issuer: StringMatcher,
    /// Expected GitHub workflow claims.
    pub github: GithubWorkflowPolicy,
    /// Skip the transparency-log inclusion check (cosign's
    /// `--insecure-ignore-tlog`). Unsafe; off by default.
    pub insecure_ignore_tlog: bool,
    /// Skip the SCT check (cosign's `--insecure-ignore-sct`). Off by default.
    pub insecure_ignore_sct: bool,
}

impl IdentityPolicy {
    /// Require this identity and this issuer.
    pub fn new(identity: StringMatcher, issuer: StringMatcher) -> Self {
        Self {
            identity,
            issuer,
            github: GithubWorkflowPolicy::default(),
            insecure_ignore_tlog: false,
            insecure_ignore_sct: false,
        }
    }

    /// Accept any identity from any issuer the trusted root's Fulcio CAs
    /// certify: every cryptographic check still runs, but *who* signed is
    /// left to the caller, who must authorize [`crate::Verified::certificate`]
    /// itself (the SLSA path does: its trusted builders are a rule set, not
    /// one identity).
    pub fn any_identity() -> Self {
        Self::new(StringMatcher::Any, StringMatcher::Any)
    }

    /// Check the certificate's claims against this policy, with the
    /// identity sigstore-crypto reads (email or URI SANs only).
    pub fn check(&self, cert: &CertificateInfo) -> Result<(), PolicyError> {
        self.check_identity(cert.identity.as_ref().map(|san| san.as_str()), cert)
    }

    /// Check the certificate's claims against this policy, with `identity`
    /// as its identity (see `certificate_identity`).
    pub(crate) fn check_identity(
        &self,
        identity: Option<&str>,
        cert: &CertificateInfo,
    ) -> Result<(), PolicyError> {
        let any = |m: &StringMatcher| matches!(m, StringMatcher::Any);
        if !any(&self.identity) && !identity.is_some_and(|found| self.identity.matches(found)) {
            return Err(PolicyError::IdentityMismatch {
                expected: self.identity.describe(),
                found: identity.map(str::to_string),
            });
        }
        let issuer = cert.issuer.as_deref();
        if !any(&self.issuer) && !issuer.is_some_and(|found| self.issuer.matches(found)) {
            return Err(PolicyError::IssuerMismatch {
                expected: self.issuer.describe(),
                found: issuer.map(str::to_string),
            });
        }
        let gh = &cert.ci_claims.deprecated_github;
        let neutral = &cert.ci_claims;
        let repository = gh.workflow_repository.clone().or_else(|| {
            neutral
                .source_repository_uri
                .as_deref()
                .and_then(|uri| uri.strip_prefix("https://github.com/"))
                .map(str::to_string)
        });
        let claims: [(&'static str, &Option<String>, Option<String>); 5] = [
            (
                "github-workflow-trigger",
                &self.github.trigger,
                gh.workflow_trigger
                    .clone()
                    .or(neutral.build_trigger.clone()),
            ),
            (
                "github-workflow-sha",
                &self.github.sha,
                gh.workflow_sha
                    .clone()
                    .or(neutral.source_repository_digest.clone()),
            ),
            (
                "github-workflow-name",
                &self.github.name,
                gh.workflow_name.clone(),
            ),
            (
                "github-workflow-repository",
                &self.github.repository,
                repository,
            ),
            (
                "github-workflow-ref",
                &self.github.git_ref,
                gh.workflow_ref
                    .clone()
                    .or(neutral.source_repository_ref.clone()),
            ),
        ];
        for (claim, expected, found) in claims {
            if let Some(expected) = expected {
                if found.as_deref() != Some(expected.as_str()) {
                    return Err(PolicyError::ClaimMismatch {
                        claim,
                        expected: expected.clone(),
                        found,
                    });
                }
            }
        }
        Ok(())
    }

    fn fingerprint_into(&self, h: &mut Sha256) {
        h.update(b"identity-policy\0");
        self.identity.fingerprint_into(h);
        self.issuer.fingerprint_into(h);
        for value in [
            &self.github.trigger,
            &self.github.sha,
            &self.github.name,
            &self.github.repository,
            &self.github.git_ref,
        ] {
            match value {
                Some(v) => {
                    h.update(b"1");
                    h.update(v.as_bytes());
                }
                None => h.update(b"0"),
            }
            h.update(b"\0");
        }
        h.update([
            u8::from(self.insecure_ignore_tlog),
            u8::from(self.insecure_ignore_sct),
        ]);
    }
}

/// Fulcio's `otherName` type for username identities.
const FULCIO_USERNAME_OID: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.7");

/// The identity of a Fulcio certificate (`der`, already parsed as `info`):
/// the email or URI SAN sigstore-crypto found, or else the value of a
/// Fulcio username `otherName`. The certificate is parsed again only when
/// sigstore-crypto found no identity.
pub(crate) fn certificate_identity(der: &[u8], info: &CertificateInfo) -> Option<String> {
    if let Some(san) = &info.identity {
        return Some(san.as_str().to_string());
    }
    use der::Decode;
    use x509_cert::ext::pkix::{name::GeneralName, SubjectAltName};
    let cert = x509_cert::Certificate::from_der(der).ok()?;
    let (_, san) = cert.tbs_certificate.get::<SubjectAltName>().ok()??;
    san.0.iter().find_map(|name| match name {
        GeneralName::OtherName(other) if other.type_id == FULCIO_USERNAME_OID => {
            der::asn1::Utf8StringRef::try_from(&other.value)
                .ok()
                .map(|s| s.as_str().to_string())
        }
        _ => None,
    })
}

/// Policy for key-based bundles: the bundle must verify with this key.
#[derive(Debug, Clone)]
pub struct KeyPolicy {
    pub(crate) key: DerPublicKey,
    /// Skip the transparency-log inclusion check. Unsafe; off by default.
    pub insecure_ignore_tlog: bool,
}

impl KeyPolicy {
    /// Parse a PEM public key (`-----BEGIN PUBLIC KEY-----`): ECDSA P-256 or
    /// P-384, Ed25519 or RSA.
    pub fn from_pem(pem: &str) -> Result<Self, PolicyError> {
        let key = DerPublicKey::from_pem(pem).map_err(|e| PolicyError::InvalidKey {
            detail: e.to_string(),
        })?;
        sigstore_crypto::KeyAlgorithm::from_spki(&key).map_err(|e| PolicyError::InvalidKey {
            detail: e.to_string(),
        })?;
        Ok(Self {
            key,
            insecure_ignore_tlog: false,
        })
    }
}

/// What the signer must be.
#[derive(Debug, Clone)]
pub enum Policy {
    /// A Fulcio certificate with this identity.
    Identity(IdentityPolicy),
    /// A signature by this public key.
    Key(KeyPolicy),
}

impl Policy {
    /// A stable hash of everything this policy checks (for cache keys).
    pub fn fingerprint(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        match self {
            Self::Identity(p) => p.fingerprint_into(&mut h),
            Self::Key(k) => {
                h.update(b"key-policy\0");
                h.update(k.key.as_bytes());
                h.update([u8::from(k.insecure_ignore_tlog)]);
            }
        }
        h.finish()
    }
}

/// Why a policy could not be built, or a signer did not satisfy it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The certificate identity does not match.
    #[error("certificate identity mismatch: expected {expected}, found {}", found.as_deref().unwrap_or("no identity"))]
    IdentityMismatch {
        /// The expected identity (a `/pattern/` for regexps).
        expected: String,
        /// The certificate's identity.
        found: Option<String>,
    },
    /// The OIDC issuer does not match.
    #[error("certificate OIDC issuer mismatch: expected {expected}, found {}", found.as_deref().unwrap_or("no issuer"))]
    IssuerMismatch {
        /// The expected issuer (a `/pattern/` for regexps).
        expected: String,
        /// The certificate's issuer.
        found: Option<String>,
    },
    /// A GitHub workflow claim does not match.
    #[error("certificate claim {claim} mismatch: expected {expected}, found {}", found.as_deref().unwrap_or("no such claim"))]
    ClaimMismatch {
        /// The claim's flag name.
        claim: &'static str,
        /// The expected value.
        expected: String,
        /// The certificate's value.
        found: Option<String>,
    },
    /// A regular expression does not compile.
    #[error("--{flag} {pattern:?} is not a valid regular expression: {detail}")]
    InvalidRegex {
        /// The flag the pattern came from.
        flag: &'static str,
        /// The pattern.
        pattern: String,
        /// The compiler's message.
        detail: String,
    },
    /// The public key is unusable.
    #[error("public key is unusable: {detail}")]
    InvalidKey {
        /// Why.
        detail: String,
    },
    /// The bundle is of the other kind (key-based vs keyless).
    #[error("bundle kind mismatch: expected {expected}, found {found}")]
    WrongBundleKind {
        /// What the policy verifies.
        expected: &'static str,
        /// What the bundle carries.
        found: &'static str,
    },
}

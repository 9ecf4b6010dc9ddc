//! The typed form of a validated `ClusterImagePolicy`: what evaluation
//! reads. Everything here was checked at load ([`crate::parse`]); nothing
//! a policy says is dropped on the way.

use verify_core::slsa::ProvenanceOptions;
use verify_core::{KeyPolicy, StringMatcher};

use crate::glob::Glob;

/// `spec` minus the fields [`crate::Policy`] exposes.
#[derive(Debug, Clone)]
pub(crate) struct Spec {
    /// `spec.images[].glob`.
    pub images: Vec<Glob>,
    /// `spec.authorities[]`, at least one.
    pub authorities: Vec<Authority>,
}

/// One `spec.authorities[]` entry.
#[derive(Debug, Clone)]
pub(crate) struct Authority {
    /// `name`, or policy-controller's default `authority-<index>`.
    pub name: String,
    /// What it checks.
    pub check: Check,
}

/// What an authority checks.
#[derive(Debug, Clone)]
pub(crate) enum Check {
    /// `static`: pass or fail without looking at the image.
    Static {
        /// `action: pass`.
        pass: bool,
        /// `message`, for `fail`.
        message: Option<String>,
    },
    /// `key` or `keyless`.
    Signed(Box<Signed>),
}

/// A `key` or `keyless` authority.
#[derive(Debug, Clone)]
pub(crate) struct Signed {
    /// Who must have signed.
    pub signer: Signer,
    /// `ctlog`.
    pub log: LogMode,
    /// `signatureFormat`.
    pub format: SignatureFormat,
    /// `attestations[]`: when non-empty, these are checked *instead of* the
    /// image signature (policy-controller's rule).
    pub attestations: Vec<Attestation>,
    /// The `buildkit` extension: in-index attestations for every platform.
    pub buildkit: Option<InIndex>,
}

/// Who signs.
#[derive(Debug, Clone)]
pub(crate) enum Signer {
    /// `key`.
    Key(KeySource),
    /// `keyless`.
    Keyless(Keyless),
}

/// Where a `key` authority's public key comes from.
#[derive(Debug, Clone)]
pub(crate) enum KeySource {
    /// `key.data`, parsed at load.
    Inline {
        /// The parsed key.
        policy: KeyPolicy,
        /// `sha256:<hex>` of the key's DER (SubjectPublicKeyInfo).
        key_id: String,
    },
    /// `key.secretRef.name`: read at evaluation from the mounted secrets
    /// directory, `<dir>/<name>/<the secret's only key>`.
    Secret {
        /// The secret's name.
        name: String,
    },
}

/// A `keyless` authority.
#[derive(Debug, Clone)]
pub(crate) struct Keyless {
    /// `identities[]`: one must match. Empty only when every attestation
    /// carries an `slsa` block (the SLSA builder rules authorize the signer).
    pub identities: Vec<Identity>,
    /// `trustRootRef`: a named trust root, else the default.
    pub trust_root: Option<String>,
    /// `insecureIgnoreSCT`.
    pub ignore_sct: bool,
}

/// One `keyless.identities[]` entry.
#[derive(Debug, Clone)]
pub(crate) struct Identity {
    /// `issuer` (exact) or `issuerRegExp` (searched, RE2 syntax, as cosign).
    pub issuer: StringMatcher,
    /// `subject` (exact) or `subjectRegExp`.
    pub subject: StringMatcher,
}

impl Identity {
    pub fn matches(&self, issuer: Option<&str>, subject: Option<&str>) -> bool {
        match (issuer, subject) {
            (Some(i), Some(s)) => self.issuer.matches(i) && self.subject.matches(s),
            _ => false,
        }
    }
}

/// `ctlog`, as policy-controller reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LogMode {
    /// No `ctlog`: keyless signatures must carry log evidence (a SET,
    /// checked offline against the trust root's Rekor keys); key signatures
    /// are not checked against any log.
    Default,
    /// `ctlog: {}`: no log verification at all (policy-controller disables
    /// it when neither `url` nor `trustRootRef` is set).
    Disabled,
    /// `ctlog.url` and/or `ctlog.trustRootRef`: log evidence is required for
    /// every signer, and signatures without it are looked up online through
    /// the evaluation's transparency-log client.
    Online {
        /// `ctlog.url`.
        url: Option<String>,
        /// `ctlog.trustRootRef`.
        trust_root: Option<String>,
    },
}

/// `signatureFormat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SignatureFormat {
    /// cosign's tag scheme (`sha256-<hex>.sig` / `.att`), the default.
    Legacy,
    /// Sigstore bundles attached as OCI referrers (keyless only).
    Bundle,
}

/// One `attestations[]` entry.
#[derive(Debug, Clone)]
pub(crate) struct Attestation {
    /// `name`.
    pub name: String,
    /// `predicateType`, resolved to a URI (cosign's aliases).
    pub predicate_type: String,
    /// The `slsa` extension: slsa-verifier's rules on the provenance.
    pub slsa: Option<ProvenanceOptions>,
}

/// The `buildkit` extension of an authority.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct InIndex {
    /// Require BuildKit's SLSA provenance for every platform.
    pub provenance: bool,
    /// Require BuildKit's SPDX SBOM for every platform.
    pub sbom: bool,
}

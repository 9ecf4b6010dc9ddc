//! What the API answers: typed results and errors, and their JSON — the
//! same JSON `verify --output json` prints (the CLI calls the functions
//! here for its image output).
//!
//! Every answer is one JSON object with `"verified": true|false`. A failure
//! carries `"reason": {"code", "message"}`, where `code` is the core's
//! stable reason code ([`verify_core::VerifyError::code`],
//! [`verify_core::cosign::ImageError::code`], ...), or one of the API's own
//! codes for requests that never reached the core (see [`ApiError::code`]).

use serde_json::{json, Map, Value};
use verify_core::cosign::{ImageError, VerifiedAttestation, VerifiedSignature};
use verify_core::slsa::image::ImageProvenanceError;
use verify_core::slsa::{SlsaError, VerifiedImageProvenance, VerifiedProvenance};
use verify_core::{ArtifactDigest, Verified, VerifyError};

/// What verified for one image: the parts that do not depend on how it was
/// asked for (cached by digest).
#[derive(Debug, Clone)]
pub struct ImageVerdict {
    /// `registry/repository`.
    pub name: String,
    /// The digest verified.
    pub digest: ArtifactDigest,
    /// The verified signatures, as cosign's JSON prints them.
    pub signatures: Vec<Value>,
    /// The verified attestations' DSSE envelopes, as cosign prints them.
    pub attestations: Vec<Value>,
    /// The SLSA verdict, for `slsa` requests.
    pub provenance: Option<Value>,
}

impl ImageVerdict {
    pub(crate) fn from_signatures(
        name: String,
        digest: ArtifactDigest,
        sigs: &[VerifiedSignature],
    ) -> Self {
        Self {
            name,
            digest,
            signatures: sigs.iter().map(cosign_payload).collect(),
            attestations: Vec::new(),
            provenance: None,
        }
    }

    pub(crate) fn from_attestations(
        name: String,
        digest: ArtifactDigest,
        atts: &[VerifiedAttestation],
    ) -> Self {
        Self {
            name,
            digest,
            signatures: Vec::new(),
            attestations: atts.iter().map(|a| a.envelope.clone()).collect(),
            provenance: None,
        }
    }

    pub(crate) fn from_provenance(name: String, verified: &VerifiedImageProvenance) -> Self {
        Self {
            name,
            digest: verified.image,
            signatures: Vec::new(),
            attestations: Vec::new(),
            provenance: Some(json!({
                "attestation": verified.origin.to_string(),
                "provenance": verified.provenance,
            })),
        }
    }
}

/// The answer to one image request.
#[derive(Debug, Clone)]
pub struct ImageReport {
    /// The reference as asked.
    pub reference: String,
    /// Whether the verdict came from the cache.
    pub cached: bool,
    /// Leave the signatures and attestations out of the JSON.
    pub summary: bool,
    /// The verdict.
    pub verdict: std::sync::Arc<ImageVerdict>,
}

impl ImageReport {
    /// `{"verified": true, "reference", "name", "digest", "cached", "signatures", "attestations"[, "slsa"]}`.
    pub fn to_json(&self) -> Value {
        let v = &self.verdict;
        if self.summary {
            return json!({
                "verified": true,
                "reference": self.reference,
                "name": v.name,
                "digest": v.digest.to_string(),
                "cached": self.cached,
            });
        }
        let mut out = json!({
            "verified": true,
            "reference": self.reference,
            "name": v.name,
            "digest": v.digest.to_string(),
            "cached": self.cached,
            "signatures": v.signatures,
            "attestations": v.attestations,
        });
        if let Some(p) = &v.provenance {
            out["slsa"] = p.clone();
        }
        out
    }
}

/// The answer to one artifact request.
#[derive(Debug, Clone)]
pub enum ArtifactReport {
    /// A blob verified against its bundle: the CLI's `verify blob` JSON.
    Blob(std::sync::Arc<Verified>),
    /// A file's SLSA provenance verified.
    Slsa {
        /// The artifact's digest.
        digest: ArtifactDigest,
        /// What the rules established.
        provenance: Box<VerifiedProvenance>,
    },
}

impl ArtifactReport {
    /// The success JSON.
    pub fn to_json(&self) -> Value {
        match self {
            Self::Blob(verified) => {
                let mut out = serde_json::to_value(&**verified).unwrap_or_else(|_| json!({}));
                if let Some(map) = out.as_object_mut() {
                    map.insert("verified".into(), Value::Bool(true));
                }
                out
            }
            Self::Slsa { digest, provenance } => json!({
                "verified": true,
                "artifact_digest": digest.to_string(),
                "provenance": provenance,
            }),
        }
    }
}

/// One rejected candidate of an image failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandidateReason {
    /// Where it was found.
    pub origin: String,
    /// Its reason code.
    pub code: &'static str,
    /// Why.
    pub message: String,
}

/// Why a request did not verify.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The request is not valid JSON of the expected shape.
    #[error("invalid request: {detail}")]
    InvalidRequest {
        /// Why.
        detail: String,
    },
    /// The engine configuration is unusable.
    #[error("invalid configuration: {detail}")]
    InvalidConfig {
        /// Why.
        detail: String,
    },
    /// The trust root could not be loaded.
    #[error("{message}")]
    TrustRoot {
        /// The core's code.
        code: &'static str,
        /// Why.
        message: String,
    },
    /// The registry is not on the allowlist.
    #[error("{reference}: registry {registry} is not allowed")]
    RegistryNotAllowed {
        /// The reference.
        reference: String,
        /// Its `registry/repository`.
        registry: String,
    },
    /// The image did not verify (or could not be read).
    #[error("{message}")]
    Image {
        /// The reference asked about.
        image: String,
        /// The core's code.
        code: &'static str,
        /// Why.
        message: String,
        /// Why each candidate was rejected.
        failures: Vec<CandidateReason>,
    },
    /// A bundle did not verify.
    #[error("{message}")]
    Verify {
        /// The core's code.
        code: &'static str,
        /// Why.
        message: String,
    },
    /// SLSA provenance did not verify.
    #[error("{message}")]
    Slsa {
        /// The reference or artifact digest asked about.
        subject: String,
        /// The core's code.
        code: &'static str,
        /// slsa-verifier's error name.
        upstream: &'static str,
        /// Why.
        message: String,
    },
    /// The caller cancelled the call.
    #[error("cancelled by the caller")]
    Cancelled,
    /// The call's deadline passed.
    #[error("no answer within {ms} ms")]
    DeadlineExceeded {
        /// The deadline.
        ms: u64,
    },
    /// More concurrent verifications than allowed, or the engine is gone.
    #[error("{detail}")]
    Unavailable {
        /// Why.
        detail: String,
    },
    /// A bug: a panic caught at the boundary, or a task that died.
    #[error("internal error: {detail}")]
    Internal {
        /// What happened.
        detail: String,
    },
}

impl ApiError {
    /// A stable reason code: the core's for verification failures, else
    /// `invalid-request`, `invalid-config`, `registry-not-allowed`,
    /// `cancelled`, `deadline-exceeded`, `unavailable`, `internal`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest { .. } => "invalid-request",
            Self::InvalidConfig { .. } => "invalid-config",
            Self::RegistryNotAllowed { .. } => "registry-not-allowed",
            Self::TrustRoot { code, .. }
            | Self::Image { code, .. }
            | Self::Verify { code, .. }
            | Self::Slsa { code, .. } => code,
            Self::Cancelled => "cancelled",
            Self::DeadlineExceeded { .. } => "deadline-exceeded",
            Self::Unavailable { .. } => "unavailable",
            Self::Internal { .. } => "internal",
        }
    }

    /// Whether the caller's input is at fault (HTTP 400), rather than the
    /// evidence (a verification failure).
    pub fn is_input_error(&self) -> bool {
        matches!(
            self,
            Self::InvalidRequest { .. }
                | Self::InvalidConfig { .. }
                | Self::RegistryNotAllowed { .. }
        )
    }

    /// The failure JSON: `{"verified": false, "reason": {"code", "message"}, ...}`
    /// with `image` and `failures` for images (the CLI's shape) and
    /// `slsa_verifier_error` for SLSA.
    pub fn to_json(&self) -> Value {
        let mut reason = json!({"code": self.code(), "message": self.to_string()});
        let mut out = json!({"verified": false});
        match self {
            Self::Image {
                image, failures, ..
            } => {
                out["image"] = json!(image);
                out["failures"] = Value::Array(
                    failures
                        .iter()
                        .map(|f| json!({"origin": f.origin, "code": f.code, "message": f.message}))
                        .collect(),
                );
            }
            Self::Slsa {
                subject, upstream, ..
            } => {
                out["subject"] = json!(subject);
                reason["slsa_verifier_error"] = json!(upstream);
            }
            Self::RegistryNotAllowed { reference, .. } => out["image"] = json!(reference),
            _ => {}
        }
        out["reason"] = reason;
        out
    }

    pub(crate) fn image(image: &str, error: &ImageError) -> Self {
        let failures = match error {
            ImageError::NoneVerified { failures, .. } => failures
                .iter()
                .map(|f| CandidateReason {
                    origin: f.origin.to_string(),
                    code: f.error.code(),
                    message: f.error.to_string(),
                })
                .collect(),
            _ => Vec::new(),
        };
        Self::Image {
            image: image.to_string(),
            code: error.code(),
            message: error.to_string(),
            failures,
        }
    }

    pub(crate) fn image_provenance(image: &str, error: &ImageProvenanceError) -> Self {
        if let ImageProvenanceError::Attestations(e) = error {
            return Self::image(image, e);
        }
        Self::Slsa {
            subject: image.to_string(),
            code: error.code(),
            upstream: error.upstream_name(),
            message: error.to_string(),
        }
    }

    pub(crate) fn slsa(subject: &str, error: &SlsaError) -> Self {
        Self::Slsa {
            subject: subject.to_string(),
            code: error.code(),
            upstream: error.upstream_name(),
            message: error.to_string(),
        }
    }

    pub(crate) fn verify(error: &VerifyError) -> Self {
        Self::Verify {
            code: error.code(),
            message: error.to_string(),
        }
    }

    pub(crate) fn request(detail: impl Into<String>) -> Self {
        Self::InvalidRequest {
            detail: detail.into(),
        }
    }
}

/// A verified image signature as cosign's JSON output shows it: the signed
/// payload with the certificate identity (`Subject`, `Issuer`, the GitHub
/// workflow claims) and the log `Bundle` in `optional`.
pub fn cosign_payload(sig: &VerifiedSignature) -> Value {
    let mut payload = sig.claims.clone();
    let Some(object) = payload.as_object_mut() else {
        return payload;
    };
    let mut optional = match object.remove("optional") {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    };
    if let Some(cert) = &sig.verified.certificate {
        optional.insert(
            "Subject".into(),
            json!(cert.subject.clone().unwrap_or_default()),
        );
        if let Some(issuer) = &cert.issuer {
            optional.insert("Issuer".into(), json!(issuer));
            optional.insert("1.3.6.1.4.1.57264.1.1".into(), json!(issuer));
        }
        for (oid, name, value) in [
            (
                "1.3.6.1.4.1.57264.1.2",
                "githubWorkflowTrigger",
                &cert.github_workflow_trigger,
            ),
            (
                "1.3.6.1.4.1.57264.1.3",
                "githubWorkflowSha",
                &cert.github_workflow_sha,
            ),
            (
                "1.3.6.1.4.1.57264.1.4",
                "githubWorkflowName",
                &cert.github_workflow_name,
            ),
            (
                "1.3.6.1.4.1.57264.1.5",
                "githubWorkflowRepository",
                &cert.github_workflow_repository,
            ),
            (
                "1.3.6.1.4.1.57264.1.6",
                "githubWorkflowRef",
                &cert.github_workflow_ref,
            ),
        ] {
            if let Some(value) = value {
                optional.insert(oid.into(), json!(value));
                optional.insert(name.into(), json!(value));
            }
        }
    }
    if let Some(bundle) = &sig.rekor_bundle {
        optional.insert("Bundle".into(), bundle.clone());
    }
    if let Some(ts) = &sig.rfc3161_timestamp {
        optional.insert("RFC3161Timestamp".into(), ts.clone());
    }
    object.insert("optional".into(), Value::Object(optional));
    payload
}

/// The CLI's image failure object: `{"verified": false, "image", "reason", "failures"}`.
pub fn image_failure_json(image: &str, error: &ImageError) -> Value {
    ApiError::image(image, error).to_json()
}

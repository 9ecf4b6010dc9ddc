//! One authority against one image digest.
//!
//! The core verifies every signature and attestation cryptographically
//! (Fulcio chain, SCT, log evidence, claims naming the digest) with
//! [`IdentityPolicy::any_identity`] for keyless authorities; this module
//! then requires one of the authority's `identities` to match the verified
//! certificate, so several identities cost one verification, and a
//! signature that verifies but names someone else is reported as
//! `identity-mismatch` rather than as a generic failure.

use std::path::Path;

use verify_core::buildkit::{BuildkitError, InIndexRequest, SLSA_PROVENANCE_V02, SPDX_DOCUMENT};
use verify_core::cosign::{Check as ImageCheck, CheckOptions, ImageError, VerifiedAttestation};
use verify_core::oci::OciLimits;
use verify_core::slsa::{verify_provenance, ProvenanceCheck, SlsaError, TrustedBuilders};
use verify_core::{IdentityPolicy, KeyPolicy, Policy as CorePolicy, Verified, Verifier};

use crate::model::{
    Attestation, Authority, Check, Identity, InIndex, KeySource, LogMode, Signed, Signer,
};
use crate::parse::key_id;
use crate::verify_call;
use crate::{EvalContext, ImageAtDigest};

/// Largest secret key file read.
const MAX_KEY_BYTES: u64 = 64 * 1024;

/// Why an authority did not pass.
pub(crate) struct Failure {
    pub code: String,
    pub message: String,
}

fn fail(code: &str, message: impl Into<String>) -> Failure {
    Failure {
        code: code.to_string(),
        message: message.into(),
    }
}

/// The verified signer identities, or why the authority fails.
pub(crate) async fn check(
    authority: &Authority,
    image: &ImageAtDigest,
    ctx: &EvalContext<'_>,
) -> Result<Vec<String>, Failure> {
    match &authority.check {
        Check::Static { pass: true, .. } => Ok(Vec::new()),
        Check::Static {
            pass: false,
            message,
        } => Err(fail(
            "static-fail",
            match message {
                Some(m) => format!("disallowed by static policy: {m}"),
                None => "disallowed by static policy".to_string(),
            },
        )),
        Check::Signed(signed) => check_signed(signed, image, ctx).await,
    }
}

/// What the core is asked: the verifier, the signer policy and the options.
struct Plan<'a> {
    verifier: &'a Verifier,
    policy: CorePolicy,
    options: CheckOptions<'a>,
    /// For keyless: the identities one of which must match.
    identities: Option<&'a [Identity]>,
    /// For key: the key's id, reported as the identity.
    key_id: Option<String>,
    /// Whether missing log evidence could not be looked up because the
    /// context has no log client (for the message).
    lookup_unavailable: bool,
}

async fn plan<'a>(signed: &'a Signed, ctx: &EvalContext<'a>) -> Result<Plan<'a>, Failure> {
    let root_name = match (&signed.signer, &signed.log) {
        (Signer::Keyless(k), _) if k.trust_root.is_some() => k.trust_root.as_deref(),
        (_, LogMode::Online { trust_root, .. }) => trust_root.as_deref(),
        _ => None,
    };
    let verifier = ctx.trust_roots.select(root_name).ok_or_else(|| {
        fail(
            "trust-root-not-found",
            format!(
                "trustRootRef {:?} names no loaded trust root",
                root_name.unwrap_or_default()
            ),
        )
    })?;
    let keyless = matches!(signed.signer, Signer::Keyless(_));
    let mut options = CheckOptions {
        limits: OciLimits::default(),
        offline: true,
        tlog: None,
        ..CheckOptions::default()
    };
    let mut lookup_unavailable = false;
    let ignore_tlog = match &signed.log {
        LogMode::Default => !keyless,
        LogMode::Disabled => true,
        LogMode::Online { url, .. } => {
            match ctx.tlog {
                Some(tlog) => {
                    if let Some(url) = url {
                        let norm = |u: &str| u.trim_end_matches('/').to_ascii_lowercase();
                        if norm(url) != norm(&tlog.url()) {
                            return Err(fail(
                                "tlog-url-mismatch",
                                format!(
                                    "ctlog.url {url} is not the transparency log this server looks signatures up in ({})",
                                    tlog.url()
                                ),
                            ));
                        }
                    }
                    options.offline = false;
                    options.tlog = Some(tlog);
                }
                None => lookup_unavailable = true,
            }
            false
        }
    };
    let (policy, identities, key_id) = match &signed.signer {
        Signer::Keyless(k) => {
            let mut p = IdentityPolicy::any_identity();
            p.insecure_ignore_tlog = ignore_tlog;
            p.insecure_ignore_sct = k.ignore_sct;
            (CorePolicy::Identity(p), Some(k.identities.as_slice()), None)
        }
        Signer::Key(source) => {
            let (mut key, id) = key(source, ctx.secrets_dir).await?;
            key.insecure_ignore_tlog = ignore_tlog;
            (CorePolicy::Key(key), None, Some(id))
        }
    };
    Ok(Plan {
        verifier,
        policy,
        options,
        identities,
        key_id,
        lookup_unavailable,
    })
}

/// The public key of a `key` authority. A secret is read through
/// `tokio::fs` (off the runtime's worker threads), bounded in size.
async fn key(
    source: &KeySource,
    secrets_dir: Option<&Path>,
) -> Result<(KeyPolicy, String), Failure> {
    let name = match source {
        KeySource::Inline { policy, key_id } => return Ok((policy.clone(), key_id.clone())),
        KeySource::Secret { name } => name,
    };
    let unavailable = |why: String| fail("key-secret-unavailable", format!("secret {name}: {why}"));
    let dir = secrets_dir
        .ok_or_else(|| unavailable("no secrets directory is configured".into()))?
        .join(name);
    let mut entries = tokio::fs::read_dir(&dir)
        .await
        .map_err(|e| unavailable(format!("{}: {e}", dir.display())))?;
    let mut files = Vec::new();
    while let Ok(Some(entry)) = entries.next_entry().await {
        let file = entry.file_name().to_string_lossy().into_owned();
        if file.starts_with('.') {
            continue; // a Secret volume's `..data` and timestamped dirs
        }
        if let Ok(meta) = tokio::fs::metadata(entry.path()).await {
            if meta.is_file() {
                files.push((entry.path(), meta.len()));
            }
        }
        if files.len() > 1 {
            break;
        }
    }
    let [(path, size)] = files.as_slice() else {
        return Err(unavailable(format!(
            "expected exactly one key in {}, found {}",
            dir.display(),
            if files.is_empty() { "none" } else { "several" }
        )));
    };
    if *size > MAX_KEY_BYTES {
        return Err(unavailable(format!(
            "{} is larger than {MAX_KEY_BYTES} bytes",
            path.display()
        )));
    }
    let bytes = tokio::fs::read(path)
        .await
        .map_err(|e| unavailable(format!("{}: {e}", path.display())))?;
    let pem = String::from_utf8(bytes)
        .map_err(|_| fail("key-invalid", format!("secret {name}: not UTF-8 PEM")))?;
    let policy = KeyPolicy::from_pem(&pem)
        .map_err(|e| fail("key-invalid", format!("secret {name}: {e}")))?;
    Ok((policy, key_id(&pem).unwrap_or_default()))
}

async fn check_signed(
    signed: &Signed,
    image: &ImageAtDigest,
    ctx: &EvalContext<'_>,
) -> Result<Vec<String>, Failure> {
    let plan = plan(signed, ctx).await?;
    let result = if let Some(required) = signed.buildkit {
        check_buildkit(signed, required, image, ctx, &plan).await
    } else if signed.attestations.is_empty() {
        check_signatures(signed, image, ctx, &plan).await
    } else {
        check_attestations(signed, image, ctx, &plan).await
    };
    result.map_err(|mut f| {
        if plan.lookup_unavailable && f.code == "tlog-lookup-offline" {
            f.message = format!(
                "{}; ctlog asks for a transparency-log lookup, but this evaluation has no log client (lookups are off)",
                f.message
            );
        }
        f
    })
}

/// The identity string of a verified signer, and whether it is allowed.
fn who(plan: &Plan<'_>, verified: &Verified) -> Option<String> {
    match (plan.identities, &plan.key_id) {
        (Some(identities), _) => {
            let issuer = verified.issuer.as_deref();
            let subject = verified.identity.as_deref();
            // Empty identities: only with `slsa` on every attestation, where
            // the SLSA builder rules authorize the signer.
            let allowed =
                identities.is_empty() || identities.iter().any(|id| id.matches(issuer, subject));
            allowed.then(|| {
                format!(
                    "issuer={} subject={}",
                    issuer.unwrap_or_default(),
                    subject.unwrap_or_default()
                )
            })
        }
        (None, Some(id)) => Some(format!("key={id}")),
        (None, None) => None,
    }
}

fn identity_mismatch(found: &[&Verified]) -> Failure {
    let seen: Vec<String> = found
        .iter()
        .map(|v| {
            format!(
                "{} from {}",
                v.identity.as_deref().unwrap_or("no identity"),
                v.issuer.as_deref().unwrap_or("no issuer")
            )
        })
        .collect();
    fail(
        "identity-mismatch",
        format!(
            "{} signature(s) verified, none by an identity the authority names; signed by: {}",
            found.len(),
            seen.join(", ")
        ),
    )
}

/// The most specific code for an image error: when every rejected
/// candidate failed for the same reason, that reason.
fn image_failure(e: &ImageError) -> Failure {
    let code = match e {
        ImageError::NoneVerified { failures, .. } => {
            let first = failures.first().map(|f| f.error.code());
            if first.is_some() && failures.iter().all(|f| Some(f.error.code()) == first) {
                first.unwrap_or("no-matching-signatures")
            } else {
                e.code()
            }
        }
        _ => e.code(),
    };
    fail(code, e.to_string())
}

fn dedup(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v.dedup();
    v
}

async fn check_signatures(
    signed: &Signed,
    image: &ImageAtDigest,
    ctx: &EvalContext<'_>,
    plan: &Plan<'_>,
) -> Result<Vec<String>, Failure> {
    let check = ImageCheck {
        verifier: plan.verifier,
        source: ctx.source,
        policy: &plan.policy,
        options: &plan.options,
    };
    let sigs = verify_call::signatures(&check, &image.digest, signed.format)
        .await
        .map_err(|e| image_failure(&e))?;
    let ids: Vec<String> = sigs.iter().filter_map(|s| who(plan, &s.verified)).collect();
    if ids.is_empty() {
        return Err(identity_mismatch(
            &sigs.iter().map(|s| &s.verified).collect::<Vec<_>>(),
        ));
    }
    Ok(dedup(ids))
}

async fn check_attestations(
    signed: &Signed,
    image: &ImageAtDigest,
    ctx: &EvalContext<'_>,
    plan: &Plan<'_>,
) -> Result<Vec<String>, Failure> {
    // Claims are judged per attestation below (SLSA subjects are a rule of
    // their own, checked by slsa-verifier's code); every other check runs.
    let mut options = plan.options.clone();
    let slsa_only = signed.attestations.iter().all(|a| a.slsa.is_some());
    if slsa_only {
        options.insecure_skip_claims = true;
    }
    let check = ImageCheck {
        verifier: plan.verifier,
        source: ctx.source,
        policy: &plan.policy,
        options: &options,
    };
    let verified = verify_call::attestations(&check, &image.digest, signed.format)
        .await
        .map_err(|e| image_failure(&e))?;
    let mut identities = Vec::new();
    for wanted in &signed.attestations {
        identities.extend(satisfy(wanted, &verified, image, plan)?);
    }
    Ok(dedup(identities))
}

/// One wanted attestation against the verified ones.
fn satisfy(
    wanted: &Attestation,
    verified: &[VerifiedAttestation],
    image: &ImageAtDigest,
    plan: &Plan<'_>,
) -> Result<Vec<String>, Failure> {
    let of_type: Vec<&VerifiedAttestation> = verified
        .iter()
        .filter(|a| a.predicate_type == wanted.predicate_type)
        .collect();
    if of_type.is_empty() {
        let mut found: Vec<&str> = verified.iter().map(|a| a.predicate_type.as_str()).collect();
        found.sort_unstable();
        found.dedup();
        return Err(fail(
            "no-matching-predicate",
            format!(
                "attestation {}: none of the verified attestations has predicate type {}; found: {}",
                wanted.name,
                wanted.predicate_type,
                if found.is_empty() { "none".to_string() } else { found.join(", ") }
            ),
        ));
    }
    let allowed: Vec<(&VerifiedAttestation, String)> = of_type
        .iter()
        .filter_map(|a| who(plan, &a.verified).map(|id| (*a, id)))
        .collect();
    if allowed.is_empty() {
        let mut f = identity_mismatch(&of_type.iter().map(|a| &a.verified).collect::<Vec<_>>());
        f.message = format!("attestation {}: {}", wanted.name, f.message);
        return Err(f);
    }
    let Some(options) = &wanted.slsa else {
        return Ok(allowed.into_iter().map(|(_, id)| id).collect());
    };
    // slsa-verifier: the first attestation that passes every rule wins;
    // when none does, the first one's error is reported.
    let expected_hex = hex::encode(image.digest.0);
    let mut first: Option<SlsaError> = None;
    for (attestation, id) in &allowed {
        match slsa_rules(attestation, &expected_hex, options) {
            Ok(builder) => return Ok(vec![id.clone(), format!("builder={builder}")]),
            Err(e) => {
                first.get_or_insert(e);
            }
        }
    }
    let e = first.unwrap_or(SlsaError::InvalidDssePayload {
        expected: "an SLSA provenance attestation".into(),
        found: "none".into(),
    });
    Err(fail(e.code(), format!("attestation {}: {e}", wanted.name)))
}

/// slsa-verifier's rules on one verified attestation; the builder id.
fn slsa_rules(
    attestation: &VerifiedAttestation,
    expected_hex: &str,
    options: &verify_core::slsa::ProvenanceOptions,
) -> Result<String, SlsaError> {
    let claims =
        attestation
            .verified
            .certificate
            .as_ref()
            .ok_or(SlsaError::InvalidCertificate {
                expected: "a Fulcio certificate",
                found: "a key-signed attestation".into(),
            })?;
    // The exact payload bytes whose signature verified.
    let verified = verify_provenance(&ProvenanceCheck {
        claims,
        payload_type: &attestation.payload_type,
        payload: &attestation.payload,
        expected_digests: &[expected_hex.to_string()],
        options,
        trusted: &TrustedBuilders::IMAGE,
    })?;
    Ok(verified.build.builder_id)
}

async fn check_buildkit(
    signed: &Signed,
    required: InIndex,
    image: &ImageAtDigest,
    ctx: &EvalContext<'_>,
    plan: &Plan<'_>,
) -> Result<Vec<String>, Failure> {
    let bk = |e: BuildkitError| match e {
        BuildkitError::IndexNotSigned(inner) => image_failure(&inner),
        other => fail(other.code(), other.to_string()),
    };
    let platforms = verify_call::index_platforms(ctx.source, &image.digest, &plan.options.limits)
        .await
        .map_err(bk)?;
    if platforms.is_empty() {
        return Err(fail(
            "buildkit-platform-not-found",
            "the image index lists no platform images",
        ));
    }
    let mut wanted = Vec::new();
    if required.provenance {
        wanted.push(SLSA_PROVENANCE_V02);
    }
    if required.sbom {
        wanted.push(SPDX_DOCUMENT);
    }
    let mut identities = Vec::new();
    for platform in &platforms {
        for predicate_type in &wanted {
            let check = ImageCheck {
                verifier: plan.verifier,
                source: ctx.source,
                policy: &plan.policy,
                options: &plan.options,
            };
            let request = InIndexRequest {
                index: &image.digest,
                platform,
                predicate_type,
            };
            let found = verify_call::in_index(&check, &request, signed.format)
                .await
                .map_err(|e| {
                    let mut f = bk(e);
                    f.message = format!("platform {platform}: {}", f.message);
                    f
                })?;
            let ids: Vec<String> = found
                .signatures
                .iter()
                .filter_map(|s| who(plan, &s.verified))
                .collect();
            if ids.is_empty() {
                return Err(identity_mismatch(
                    &found
                        .signatures
                        .iter()
                        .map(|s| &s.verified)
                        .collect::<Vec<_>>(),
                ));
            }
            identities.extend(ids);
        }
    }
    Ok(dedup(identities))
}

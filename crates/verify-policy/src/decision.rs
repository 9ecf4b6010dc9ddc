//! Evaluating policies for one image.

use std::path::Path;

use serde::Serialize;
use verify_core::oci::ImageSource;
use verify_core::tlog_lookup::TransparencyLogLookup;
use verify_core::ArtifactDigest;

use crate::{Mode, Policy, TrustRoots};

/// What evaluation reads images through.
pub struct EvalContext<'a> {
    /// Trust material.
    pub trust_roots: &'a TrustRoots,
    /// The image's repository.
    pub source: &'a dyn ImageSource,
    /// The transparency log, for `ctlog.url`; `None`: offline.
    pub tlog: Option<&'a dyn TransparencyLogLookup>,
    /// Where `key.secretRef` secrets are mounted: `<dir>/<name>/<key>`.
    pub secrets_dir: Option<&'a Path>,
}

/// The image to check.
#[derive(Debug, Clone)]
pub struct ImageAtDigest {
    /// The reference as written in the pod.
    pub reference: String,
    /// Its resolved digest.
    pub digest: ArtifactDigest,
}

/// The decision for one image.
#[derive(Debug, Clone, Serialize)]
pub struct Decision {
    /// Whether the image is admitted.
    pub allowed: bool,
    /// One per policy evaluated.
    pub outcomes: Vec<PolicyOutcome>,
    /// Warn-mode failures.
    pub warnings: Vec<String>,
}

/// One policy's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyOutcome {
    /// The policy's name.
    pub policy: String,
    /// Its mode.
    pub mode: Mode,
    /// Whether one authority passed.
    pub passed: bool,
    /// The authority that passed.
    pub authority: Option<String>,
    /// Verified signer identities.
    pub identities: Vec<String>,
    /// One per failed authority.
    pub failures: Vec<AuthorityFailure>,
}

/// Why one authority failed.
#[derive(Debug, Clone, Serialize)]
pub struct AuthorityFailure {
    /// The authority's name.
    pub authority: String,
    /// The core's reason code.
    pub code: String,
    /// A human-readable message.
    pub message: String,
}

/// Every matching policy must pass (AND); within one policy one authority
/// passing is enough (OR), tried in order, stopping at the first that
/// passes. Policies are evaluated concurrently; `outcomes` follow the order
/// of `policies`.
///
/// A policy in `warn` mode that fails does not deny: its failure becomes a
/// warning. `policies` empty admits (the caller decides what an image no
/// policy matches gets). The image is always checked at `image.digest`.
pub async fn evaluate(
    policies: &[&Policy],
    image: &ImageAtDigest,
    ctx: &EvalContext<'_>,
) -> Decision {
    // Policies are independent (each must pass): evaluate them together, so
    // a cold image costs the slowest policy's time rather than their sum.
    // Authorities within a policy stay in order, stopping at the first that
    // passes.
    let outcomes = futures_util::future::join_all(
        policies
            .iter()
            .map(|policy| evaluate_policy(policy, image, ctx)),
    )
    .await;
    let mut decision = Decision {
        allowed: true,
        outcomes: Vec::with_capacity(policies.len()),
        warnings: Vec::new(),
    };
    for (policy, outcome) in policies.iter().zip(outcomes) {
        if !outcome.passed {
            match policy.mode {
                Mode::Enforce => decision.allowed = false,
                Mode::Warn => decision.warnings.push(format!(
                    "{}: policy {} (warn mode) failed: {}",
                    image.reference,
                    policy.name,
                    outcome
                        .failures
                        .iter()
                        .map(|f| format!("{}: {} [{}]", f.authority, f.message, f.code))
                        .collect::<Vec<_>>()
                        .join("; ")
                )),
            }
        }
        decision.outcomes.push(outcome);
    }
    decision
}

async fn evaluate_policy(
    policy: &Policy,
    image: &ImageAtDigest,
    ctx: &EvalContext<'_>,
) -> PolicyOutcome {
    let mut outcome = PolicyOutcome {
        policy: policy.name.clone(),
        mode: policy.mode,
        passed: false,
        authority: None,
        identities: Vec::new(),
        failures: Vec::new(),
    };
    for authority in &policy.spec.authorities {
        match crate::authority::check(authority, image, ctx).await {
            Ok(identities) => {
                outcome.passed = true;
                outcome.authority = Some(authority.name.clone());
                outcome.identities = identities;
                break;
            }
            Err(failure) => outcome.failures.push(AuthorityFailure {
                authority: authority.name.clone(),
                code: failure.code.to_string(),
                message: failure.message,
            }),
        }
    }
    outcome
}

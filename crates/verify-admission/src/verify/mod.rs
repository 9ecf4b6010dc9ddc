//! Checking the images of one request: policy matching, tag resolution,
//! the verdict cache and the time budget.
//!
//! Each image is checked in a task of its own, so that a request answered
//! at the end of its budget leaves its verifications running: they fill
//! the cache, and the retry (ReplicaSet and Job controllers retry, Flux
//! re-applies) is admitted from it.

pub mod registry;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use verify_core::ArtifactDigest;
use verify_policy::{Decision, ImageAtDigest, Mode};
use verify_registry::ImageReference;

use crate::admission::ImageUse;
use crate::cache::{CacheStatus, Key, VerdictCache};
use crate::cli::NoMatch;
use crate::config::EngineConfig;
use crate::metrics::Metrics;
use crate::policies::PolicyStore;
use crate::pull_secrets::TenantCredentials;
use registry::{is_transient, Registries};

/// One policy's result for one image.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyResult {
    /// The policy.
    pub policy: String,
    /// `enforce` or `warn`.
    pub mode: &'static str,
    /// Whether an authority passed.
    pub passed: bool,
    /// The authority that passed.
    pub authority: Option<String>,
    /// Verified identities.
    pub identities: Vec<String>,
    /// Why each failing authority failed.
    pub failures: Vec<Reason>,
}

/// One reason for a denial or a warning.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Reason {
    /// The policy ("" when no policy is involved).
    pub policy: String,
    /// The authority ("" when none).
    pub authority: String,
    /// Stable reason code.
    pub code: String,
    /// What happened.
    pub message: String,
}

/// The verdict on one image digest under one set of matching policies
/// (what the cache holds).
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    /// Admitted.
    pub allowed: bool,
    /// Every matching policy's result.
    pub policies: Vec<PolicyResult>,
    /// Enforce-mode failures, for the denial.
    pub reasons: Vec<Reason>,
    /// Warn-mode failures.
    pub warnings: Vec<String>,
    /// Every matching policy lets the mutating webhook pin the digest.
    pub pin_digest: bool,
}

impl Verdict {
    /// Estimated bytes, for the cache's weigher.
    pub fn weight(&self) -> usize {
        let reasons = |r: &[Reason]| -> usize {
            r.iter()
                .map(|r| r.policy.len() + r.authority.len() + r.code.len() + r.message.len() + 96)
                .sum()
        };
        let policies: usize = self
            .policies
            .iter()
            .map(|p| {
                p.policy.len()
                    + p.identities.iter().map(String::len).sum::<usize>()
                    + reasons(&p.failures)
                    + 128
            })
            .sum();
        160 + policies
            + reasons(&self.reasons)
            + self.warnings.iter().map(String::len).sum::<usize>()
    }

    /// A denial for one reason.
    pub fn denied(policy: &str, code: &str, message: String) -> Self {
        Self {
            allowed: false,
            policies: Vec::new(),
            reasons: vec![Reason {
                policy: policy.into(),
                authority: String::new(),
                code: code.into(),
                message,
            }],
            warnings: Vec::new(),
            pin_digest: false,
        }
    }

    /// Every failure is about reaching the registry, not about the image.
    pub fn transient(&self) -> bool {
        !self.allowed
            && !self.reasons.is_empty()
            && self.reasons.iter().all(|r| is_transient(&r.code))
    }

    fn from_decision(d: Decision, pins: bool) -> Self {
        let mut reasons = Vec::new();
        let mut warnings = d.warnings.clone();
        let mut policies = Vec::new();
        for o in d.outcomes {
            let failures: Vec<Reason> = o
                .failures
                .iter()
                .map(|f| Reason {
                    policy: o.policy.clone(),
                    authority: f.authority.clone(),
                    code: f.code.clone(),
                    message: f.message.clone(),
                })
                .collect();
            if !o.passed {
                match o.mode {
                    Mode::Enforce => {
                        if failures.is_empty() {
                            reasons.push(Reason {
                                policy: o.policy.clone(),
                                authority: String::new(),
                                code: "no-authority-passed".into(),
                                message: "no authority of the policy passed".into(),
                            });
                        }
                        reasons.extend(failures.iter().cloned());
                    }
                    Mode::Warn => {
                        if d.warnings.is_empty() {
                            warnings.extend(failures.iter().map(|f| {
                                format!(
                                    "policy {} (warn mode): {}: {}",
                                    f.policy, f.code, f.message
                                )
                            }));
                        }
                    }
                }
            }
            policies.push(PolicyResult {
                policy: o.policy,
                mode: match o.mode {
                    Mode::Enforce => "enforce",
                    Mode::Warn => "warn",
                },
                passed: o.passed,
                authority: o.authority,
                identities: o.identities,
                failures,
            });
        }
        // Fail closed: an enforce-mode failure denies whatever `allowed` says.
        let allowed = d.allowed && reasons.is_empty();
        if !allowed && reasons.is_empty() {
            reasons.push(Reason {
                policy: String::new(),
                authority: String::new(),
                code: "policy-denied".into(),
                message: "the policies did not admit the image".into(),
            });
        }
        Self {
            allowed,
            policies,
            reasons,
            warnings,
            pin_digest: pins,
        }
    }
}

/// The check of one image of a request.
#[derive(Debug, Clone, Serialize)]
pub struct ImageCheck {
    /// Where the image is written.
    #[serde(flatten)]
    pub image: ImageUse,
    /// Its digest, when resolved.
    pub digest: Option<String>,
    /// Admitted.
    pub allowed: bool,
    /// The verdict (policies, reasons, warnings).
    pub verdict: Arc<Verdict>,
    /// Where the verdict came from.
    pub cache: CacheStatus,
    /// Admitted without any policy covering it (`--no-match warn|allow`).
    pub no_match: bool,
}

/// Everything needed to check images; shared by every request.
pub struct Engine {
    /// Settings.
    pub config: EngineConfig,
    /// The policies in force.
    pub policies: Arc<PolicyStore>,
    /// Trust material (a snapshot per check; refreshed through TUF with `--tuf-mirror`).
    pub trust: Arc<crate::trust_refresh::LiveTrust>,
    /// Registry access.
    pub registries: Registries,
    /// Verdicts.
    pub cache: VerdictCache,
    /// Tag resolutions, reused briefly (a burst of pods of one ReplicaSet
    /// resolves its tag once); keyed by reference and credential.
    tags: moka::future::Cache<String, ArtifactDigest>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
}

impl Engine {
    /// An engine over these parts.
    pub fn new(
        config: EngineConfig,
        policies: Arc<PolicyStore>,
        trust: Arc<crate::trust_refresh::LiveTrust>,
        registries: Registries,
        metrics: Arc<Metrics>,
    ) -> Self {
        let cache = VerdictCache::new(&config.cache);
        let tags = moka::future::Cache::builder()
            .max_capacity(10_000)
            .time_to_live(config.tag_ttl.max(Duration::from_millis(1)))
            .build();
        Self {
            config,
            policies,
            trust,
            registries,
            cache,
            tags,
            metrics,
        }
    }

    /// Check `images`, answering by `deadline`: a check still running then
    /// is reported as a `deadline` denial and goes on in the background.
    pub async fn check_all(
        self: &Arc<Self>,
        images: &[ImageUse],
        credentials: Arc<TenantCredentials>,
        deadline: Instant,
    ) -> Vec<ImageCheck> {
        let handles: Vec<_> = images
            .iter()
            .map(|image| {
                let engine = Arc::clone(self);
                let (image, credentials) = (image.clone(), Arc::clone(&credentials));
                tokio::spawn(async move { engine.check(image, &credentials).await })
            })
            .collect();
        let mut out = Vec::with_capacity(images.len());
        for (handle, image) in handles.into_iter().zip(images) {
            let check = match tokio::time::timeout_at(deadline.into(), handle).await {
                Ok(Ok(check)) => check,
                Ok(Err(e)) => failed(image, "internal", format!("the check failed: {e}")),
                Err(_) => failed(
                    image,
                    "deadline",
                    format!(
                        "verification still running after the {:.1} s budget; it goes on in the background, retry shortly",
                        self.config.budget.as_secs_f64()
                    ),
                ),
            };
            out.push(check);
        }
        out
    }

    /// Check one image, without a budget (the caller bounds it).
    pub async fn check(&self, image: ImageUse, credentials: &TenantCredentials) -> ImageCheck {
        let reference = match ImageReference::parse(&image.image) {
            Ok(r) => r,
            Err(e) => return failed(&image, "invalid-reference", e.to_string()),
        };
        let set = self.policies.current();
        let tag = reference.tag.clone().unwrap_or_else(|| "latest".into());
        let mut normalized = format!("{}/{}", reference.api_host, reference.repository);
        if reference.tag.is_some() || reference.digest.is_none() {
            normalized.push(':');
            normalized.push_str(&tag);
        }
        if let Some(d) = &reference.digest {
            normalized.push('@');
            normalized.push_str(&d.to_string());
        }
        let matching = set.matching(&normalized);
        if matching.is_empty() {
            return self.no_match(image, &normalized);
        }
        // One snapshot of the trust roots for the whole check.
        let trust = match self.trust.checked() {
            Ok(t) => t,
            Err(message) => return failed(&image, "trust-root-too-old", message),
        };
        let mut names: Vec<String> = matching.iter().map(|p| p.name.clone()).collect();
        names.sort();
        let pins = matching.iter().all(|p| p.pin_digest);

        let credential = credentials.for_image(&reference.api_host, &reference.repository);
        let (repository, budget) = match self.registries.repository(&reference, credential) {
            Ok(r) => r,
            Err(f) => return failed(&image, &f.code, f.message),
        };
        let digest = match reference.digest {
            Some(d) => d,
            None => {
                let key = format!(
                    "{}/{}:{tag}\0{}",
                    reference.api_host,
                    reference.repository,
                    credential.map(|c| c.fingerprint()).unwrap_or_default()
                );
                let resolved = self
                    .tags
                    .try_get_with(key, self.registries.resolve(&repository, &tag))
                    .await;
                match resolved {
                    Ok(d) => d,
                    Err(f) => return failed(&image, &f.code, f.message.clone()),
                }
            }
        };
        let mut secrets: Vec<String> = matching
            .iter()
            .flat_map(|p| p.secret_refs().map(str::to_string))
            .collect();
        secrets.sort();
        secrets.dedup();
        let secrets_hash = self.registries.secrets_hash(&secrets).await;
        let key = Key {
            image: format!("{}/{}@{digest}", reference.api_host, reference.repository),
            policies: names.clone(),
            policy_hash: format!("{}{secrets_hash}", set.hash()),
            trust_hash: trust.hash().to_string(),
        };
        let at = ImageAtDigest {
            reference: image.image.clone(),
            digest,
        };
        let verify = async {
            let started = Instant::now();
            let decision = self
                .registries
                .evaluate(&matching, &trust, &repository, &budget, &at)
                .await;
            let verdict = Verdict::from_decision(decision, pins);
            let reason = verdict
                .reasons
                .first()
                .map_or("verified", |r| r.code.as_str());
            self.metrics.verification(verdict.allowed, reason);
            tracing::debug!(image = %key.image, allowed = verdict.allowed, reason, took_ms = started.elapsed().as_millis() as u64, "verified");
            if verdict.transient() {
                Err(verdict)
            } else {
                Ok(verdict)
            }
        };
        let (verdict, status) = self.cache.get_or_verify(key.clone(), verify).await;
        self.metrics.cache(status.as_str());
        ImageCheck {
            image,
            digest: Some(digest.to_string()),
            allowed: verdict.allowed,
            verdict,
            cache: status,
            no_match: false,
        }
    }

    fn no_match(&self, image: ImageUse, normalized: &str) -> ImageCheck {
        let message = format!("no ClusterImagePolicy matches {normalized}");
        let (allowed, verdict) = match self.config.no_match {
            NoMatch::Deny => (false, Verdict::denied("", "no-matching-policy", message)),
            NoMatch::Warn => (
                true,
                Verdict {
                    allowed: true,
                    policies: Vec::new(),
                    reasons: Vec::new(),
                    warnings: vec![format!("{}: {message}", image.image)],
                    pin_digest: false,
                },
            ),
            NoMatch::Allow => (
                true,
                Verdict {
                    allowed: true,
                    policies: Vec::new(),
                    reasons: Vec::new(),
                    warnings: Vec::new(),
                    pin_digest: false,
                },
            ),
        };
        ImageCheck {
            image,
            digest: None,
            allowed,
            verdict: Arc::new(verdict),
            cache: CacheStatus::None,
            no_match: true,
        }
    }
}

fn failed(image: &ImageUse, code: &str, message: String) -> ImageCheck {
    ImageCheck {
        image: image.clone(),
        digest: None,
        allowed: false,
        verdict: Arc::new(Verdict::denied("", code, message)),
        cache: CacheStatus::None,
        no_match: false,
    }
}

//! The GitHub Actions workflow identity a Fulcio certificate carries.
//!
//! slsa-verifier never trusts what the provenance says about who built it
//! without first reading who *signed* it: the certificate's SAN is the
//! reusable workflow that ran (the builder, `…/generator_generic_slsa3.yml@refs/tags/v2.1.0`),
//! and its CI claims name the repository that called it. This module reads
//! those claims from a verified certificate's [`CertificateClaims`] and
//! checks they are consistent, with slsa-verifier's rules:
//!
//! - the SAN must be a URI whose path starts with `/`;
//! - a claim Fulcio writes twice (a deprecated raw-string extension and its
//!   DER successor: trigger `.2`/`.20`, commit `.3`/`.13`) must agree when
//!   both are present, and at least one must be;
//! - the commit must equal the build-config digest `.19` when both exist;
//! - the repository `.5` (`owner/name`) must agree with `.12`
//!   (`https://github.com/owner/name`);
//! - the build-config URI `.18`, when present, must be one `path@ref` inside
//!   that repository.
//!
//! The OIDC issuer is read as one value (`.8`, or the legacy `.1` when `.8`
//! is absent); the certificate parser keeps only one, so a certificate whose
//! `.1` and `.8` disagree is judged by `.8`.

use crate::outcome::CertificateClaims;

use super::error::SlsaError;

const HTTPS_GITHUB_COM: &str = "https://github.com/";

/// What the certificate says about the workflow that signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowIdentity {
    /// The OIDC issuer.
    pub issuer: String,
    /// The SAN: the signing workflow with its ref, e.g.
    /// `https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml@refs/tags/v2.1.0`.
    pub subject_workflow: String,
    /// The repository the build ran for, `owner/name`.
    pub source_repository: String,
    /// The commit the build ran on.
    pub source_sha1: String,
    /// The event that triggered the build.
    pub build_trigger: String,
    /// The ref the build ran for (`.14`/`.6`), when present. Informational:
    /// the rules compare the provenance's ref, not this one.
    pub source_ref: Option<String>,
    /// The calling workflow's path inside the repository (from `.18`).
    pub build_config_path: Option<String>,
}

impl WorkflowIdentity {
    /// Read and check the identity from a certificate's claims.
    pub fn from_claims(claims: &CertificateClaims) -> Result<Self, SlsaError> {
        let subject = claims.subject.clone().unwrap_or_default();
        // A URI SAN: scheme "://" authority path. An e-mail SAN has none.
        let Some((_, after_scheme)) = subject.split_once("://") else {
            return Err(SlsaError::InvalidFormat {
                what: "certificate SAN",
                expected: "a URI (the signing workflow)",
                found: subject,
            });
        };
        let path = after_scheme.find('/').map_or("", |i| &after_scheme[i..]);
        if !path.starts_with('/') {
            return Err(SlsaError::InvalidFormat {
                what: "certificate SAN path",
                expected: "a path starting with '/'",
                found: subject,
            });
        }

        let build_trigger = equal_claims(
            "certificate build trigger (.1.2 / .1.20)",
            claims.github_workflow_trigger.as_deref(),
            claims.build_trigger.as_deref(),
        )?;
        let source_sha1 = equal_claims(
            "certificate source commit (.1.3 / .1.13)",
            claims.github_workflow_sha.as_deref(),
            claims.source_repository_digest.as_deref(),
        )?;
        if let Some(config_digest) = non_empty(claims.build_config_digest.as_deref()) {
            if config_digest != source_sha1 {
                return Err(SlsaError::InvalidFormat {
                    what: "certificate build config digest (.1.19)",
                    expected: "the source commit (.1.13)",
                    found: config_digest.to_string(),
                });
            }
        }
        let issuer = non_empty(claims.issuer.as_deref())
            .ok_or_else(|| SlsaError::InvalidFormat {
                what: "certificate OIDC issuer (.1.1 / .1.8)",
                expected: "a value",
                found: String::new(),
            })?
            .to_string();

        let deprecated_repo = non_empty(claims.github_workflow_repository.as_deref());
        let repo_uri = non_empty(claims.source_repository_uri.as_deref());
        if let (Some(dep), Some(uri)) = (deprecated_repo, repo_uri) {
            if format!("{HTTPS_GITHUB_COM}{dep}") != uri {
                return Err(SlsaError::InvalidFormat {
                    what: "certificate source repository (.1.5 / .1.12)",
                    expected: "the same repository in both claims",
                    found: format!("{dep} / {uri}"),
                });
            }
        }
        let source_repository = match repo_uri {
            Some(uri) => uri
                .strip_prefix(HTTPS_GITHUB_COM)
                .unwrap_or(uri)
                .to_string(),
            None => deprecated_repo.unwrap_or_default().to_string(),
        };

        let build_config_path = match non_empty(claims.build_config_uri.as_deref()) {
            None => None,
            Some(uri) => {
                let parts: Vec<&str> = uri.split('@').collect();
                if parts.len() != 2 {
                    return Err(SlsaError::InvalidFormat {
                        what: "certificate build config URI (.1.18)",
                        expected: "exactly one '@' (path@ref)",
                        found: uri.to_string(),
                    });
                }
                let prefix = format!("{HTTPS_GITHUB_COM}{source_repository}/");
                let Some(path) = parts[0].strip_prefix(&prefix) else {
                    return Err(SlsaError::InvalidFormat {
                        what: "certificate build config URI (.1.18)",
                        expected: "a workflow inside the source repository",
                        found: uri.to_string(),
                    });
                };
                Some(path.to_string())
            }
        };

        let source_ref = non_empty(claims.source_repository_ref.as_deref())
            .or(non_empty(claims.github_workflow_ref.as_deref()))
            .map(str::to_string);

        Ok(Self {
            issuer,
            subject_workflow: subject,
            source_repository,
            source_sha1,
            build_trigger,
            source_ref,
            build_config_path,
        })
    }

    /// The signing workflow without its ref: the SAN cut at its last `@`.
    pub fn workflow_name(&self) -> &str {
        self.split_workflow().0
    }

    /// The signing workflow's ref: what follows the SAN's last `@`, or `""`.
    pub fn workflow_ref(&self) -> &str {
        self.split_workflow().1
    }

    fn split_workflow(&self) -> (&str, &str) {
        // Only the URI's path may hold the '@' (the authority never does for
        // Fulcio's GitHub SANs); a query or fragment is not expected.
        match self.subject_workflow.rfind('@') {
            Some(i) if self.path_start().is_some_and(|p| i > p) => {
                (&self.subject_workflow[..i], &self.subject_workflow[i + 1..])
            }
            _ => (&self.subject_workflow, ""),
        }
    }

    fn path_start(&self) -> Option<usize> {
        let scheme_end = self.subject_workflow.find("://")? + 3;
        self.subject_workflow[scheme_end..]
            .find('/')
            .map(|i| i + scheme_end)
    }
}

fn non_empty(v: Option<&str>) -> Option<&str> {
    v.filter(|s| !s.is_empty())
}

/// A claim written twice: equal when both are present, at least one present.
fn equal_claims(
    what: &'static str,
    deprecated: Option<&str>,
    current: Option<&str>,
) -> Result<String, SlsaError> {
    match (non_empty(deprecated), non_empty(current)) {
        (Some(d), Some(c)) if d != c => Err(SlsaError::InvalidFormat {
            what,
            expected: "the same value in both claims",
            found: format!("{d} / {c}"),
        }),
        (_, Some(c)) => Ok(c.to_string()),
        (Some(d), None) => Ok(d.to_string()),
        (None, None) => Err(SlsaError::InvalidFormat {
            what,
            expected: "a value",
            found: String::new(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn generic_claims() -> CertificateClaims {
        CertificateClaims {
            subject: Some("https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml@refs/tags/v2.1.0".into()),
            issuer: Some("https://token.actions.githubusercontent.com".into()),
            source_repository_uri: Some("https://github.com/acme/app".into()),
            source_repository_digest: Some("abc123".into()),
            source_repository_ref: Some("refs/heads/main".into()),
            build_config_uri: Some("https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main".into()),
            build_config_digest: Some("abc123".into()),
            build_trigger: Some("push".into()),
            github_workflow_trigger: Some("push".into()),
            github_workflow_sha: Some("abc123".into()),
            github_workflow_repository: Some("acme/app".into()),
            ..CertificateClaims::default()
        }
    }

    #[test]
    fn reads_a_generator_certificate() {
        let id = WorkflowIdentity::from_claims(&generic_claims()).unwrap();
        assert_eq!(id.source_repository, "acme/app");
        assert_eq!(id.source_sha1, "abc123");
        assert_eq!(id.build_trigger, "push");
        assert_eq!(
            id.workflow_name(),
            "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml"
        );
        assert_eq!(id.workflow_ref(), "refs/tags/v2.1.0");
        assert_eq!(
            id.build_config_path.as_deref(),
            Some(".github/workflows/release.yml")
        );
    }

    #[test]
    fn reads_a_certificate_with_only_deprecated_claims() {
        let claims = CertificateClaims {
            subject: generic_claims().subject,
            issuer: generic_claims().issuer,
            github_workflow_trigger: Some("workflow_dispatch".into()),
            github_workflow_sha: Some("def".into()),
            github_workflow_repository: Some("acme/old".into()),
            ..CertificateClaims::default()
        };
        let id = WorkflowIdentity::from_claims(&claims).unwrap();
        assert_eq!(id.source_repository, "acme/old");
        assert_eq!(id.build_trigger, "workflow_dispatch");
        assert_eq!(id.source_sha1, "def");
    }

    #[test]
    fn conflicting_claims_are_invalid_format() {
        let mut claims = generic_claims();
        claims.github_workflow_trigger = Some("release".into());
        assert!(matches!(
            WorkflowIdentity::from_claims(&claims),
            Err(SlsaError::InvalidFormat { what, .. }) if what.contains("trigger")
        ));

        let mut claims = generic_claims();
        claims.github_workflow_repository = Some("acme/other".into());
        assert!(matches!(
            WorkflowIdentity::from_claims(&claims),
            Err(SlsaError::InvalidFormat { what, .. }) if what.contains("repository")
        ));

        let mut claims = generic_claims();
        claims.build_config_digest = Some("fff".into());
        assert!(matches!(
            WorkflowIdentity::from_claims(&claims),
            Err(SlsaError::InvalidFormat { what, .. }) if what.contains(".1.19")
        ));

        let mut claims = generic_claims();
        claims.build_config_uri =
            Some("https://github.com/evil/app/.github/workflows/x.yml@refs/heads/main".into());
        assert!(matches!(
            WorkflowIdentity::from_claims(&claims),
            Err(SlsaError::InvalidFormat { what, .. }) if what.contains(".1.18")
        ));
    }

    #[test]
    fn missing_claims_are_invalid_format() {
        let mut claims = generic_claims();
        claims.build_trigger = None;
        claims.github_workflow_trigger = None;
        assert!(matches!(
            WorkflowIdentity::from_claims(&claims),
            Err(SlsaError::InvalidFormat {
                expected: "a value",
                ..
            })
        ));
    }

    #[test]
    fn email_san_is_invalid_format() {
        let mut claims = generic_claims();
        claims.subject = Some("someone@example.com".into());
        assert!(matches!(
            WorkflowIdentity::from_claims(&claims),
            Err(SlsaError::InvalidFormat {
                what: "certificate SAN",
                ..
            })
        ));
    }

    #[test]
    fn san_without_ref_has_empty_ref() {
        let mut claims = generic_claims();
        claims.subject = Some("https://github.com/acme/app/.github/workflows/x.yml".into());
        let id = WorkflowIdentity::from_claims(&claims).unwrap();
        assert_eq!(id.workflow_ref(), "");
    }
}

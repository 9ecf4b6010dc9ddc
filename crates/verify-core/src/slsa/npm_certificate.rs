//! The npm CLI's provenance against its certificate (slsa-verifier's
//! `verifyProvenanceMatchesCertificate`).
//!
//! The npm CLI writes its provenance inside the repository's own workflow,
//! not in an isolated reusable workflow, so anything in it could be forged
//! by that workflow. Only what the Fulcio certificate also says is
//! trusted; every other claim must be absent or empty:
//!
//! - the recorded GitHub context (`invocation.environment` in v0.2,
//!   `internalParameters.github` in v1.0) may hold only the keys the
//!   certificate can vouch for, each equal to the certificate's value;
//! - workflow parameters (v0.2) and `buildConfig` (v0.2) must be empty;
//! - the invocation ID must name the certificate's run and attempt; start
//!   and finish times, `reproducible` and `completeness` must be absent or
//!   false;
//! - exactly one subject, with a SHA-512 digest;
//! - the triggering workflow's path must be the certificate's build config
//!   path, and there must be exactly one resolved dependency (the source).

use serde_json::{Map, Value};

use crate::outcome::CertificateClaims;

use super::error::SlsaError;
use super::npm::NpmError;
use super::provenance::{Predicate, Provenance, NPM_CLI_GITHUB_ACTIONS_BUILD_TYPE};
use super::workflow::WorkflowIdentity;

/// The v0.2 environment keys the certificate can vouch for.
const V02_SYSTEM_PARAMETERS: [&str; 10] = [
    "GITHUB_EVENT_NAME",
    "GITHUB_REF",
    "GITHUB_REPOSITORY",
    "GITHUB_REPOSITORY_ID",
    "GITHUB_REPOSITORY_OWNER_ID",
    "GITHUB_RUN_ATTEMPT",
    "GITHUB_RUN_ID",
    "GITHUB_SHA",
    "GITHUB_WORKFLOW_REF",
    "GITHUB_WORKFLOW_SHA",
];

fn non_empty(v: Option<&String>) -> Option<String> {
    v.filter(|s| !s.is_empty()).cloned()
}

fn invalid(expected: &str, found: &str) -> SlsaError {
    SlsaError::InvalidDssePayload {
        expected: expected.to_string(),
        found: found.to_string(),
    }
}

/// The certificate values the provenance is compared with.
struct CertValues {
    trigger: String,
    repository: String,
    source_ref: Option<String>,
    repository_id: Option<String>,
    owner_id: Option<String>,
    sha: String,
    workflow_path: String,
    workflow_sha: Option<String>,
    /// `<run>/attempts/<attempt>` from the run invocation URI.
    run: Option<String>,
    build_config_path: Option<String>,
}

impl CertValues {
    fn new(claims: &CertificateClaims, identity: &WorkflowIdentity) -> Self {
        // The SAN's URL path without its leading '/': `owner/repo/path@ref`.
        let san = &identity.subject_workflow;
        let after_scheme = san.split_once("://").map_or("", |(_, rest)| rest);
        let path = after_scheme.find('/').map_or("", |i| &after_scheme[i..]);
        let run_prefix = format!(
            "https://github.com/{}/actions/runs/",
            identity.source_repository
        );
        let run = non_empty(claims.run_invocation_uri.as_ref()).map(|uri| {
            uri.strip_prefix(&run_prefix)
                .map(str::to_string)
                .unwrap_or(uri)
        });
        Self {
            trigger: identity.build_trigger.clone(),
            repository: identity.source_repository.clone(),
            source_ref: non_empty(claims.source_repository_ref.as_ref()),
            repository_id: non_empty(claims.source_repository_identifier.as_ref()),
            owner_id: non_empty(claims.source_repository_owner_identifier.as_ref()),
            sha: identity.source_sha1.clone(),
            workflow_path: path.trim_start_matches('/').to_string(),
            workflow_sha: non_empty(claims.build_signer_digest.as_ref()),
            run: run.filter(|r| !r.is_empty()),
            build_config_path: identity.build_config_path.clone(),
        }
    }

    /// The certificate's run ID and attempt (empty without a run URI).
    fn run_ids(&self) -> Result<(String, String), SlsaError> {
        let Some(run) = &self.run else {
            return Ok((String::new(), String::new()));
        };
        let parts: Vec<&str> = run.split('/').collect();
        if parts.len() != 3 {
            return Err(SlsaError::InvalidFormat {
                what: "certificate run invocation URI",
                expected: "<run>/attempts/<attempt>",
                found: run.clone(),
            });
        }
        Ok((parts[0].to_string(), parts[2].to_string()))
    }
}

fn equal(certificate: Option<&str>, found: &str, field: &str) -> Result<(), SlsaError> {
    if certificate != Some(found) {
        return Err(NpmError::MismatchCertificate {
            field: field.to_string(),
            certificate: certificate.map(str::to_string),
            found: found.to_string(),
        }
        .into());
    }
    Ok(())
}

/// A recorded parameter, when present, equals the certificate's value.
fn parameter(
    params: &Map<String, Value>,
    name: &str,
    certificate: Option<&str>,
) -> Result<(), SlsaError> {
    let Some(value) = params.get(name) else {
        return Ok(());
    };
    let Some(found) = value.as_str() else {
        return Err(invalid(
            &format!("{name} to be a string"),
            super::github_env::json_type(value),
        ));
    };
    equal(certificate, found, name)
}

/// Check the npm CLI's provenance against the certificate that signed it.
pub(super) fn verify_matches_certificate(
    provenance: &Provenance,
    claims: &CertificateClaims,
    identity: &WorkflowIdentity,
) -> Result<(), SlsaError> {
    let cert = CertValues::new(claims, identity);
    let npm_v1 = provenance.build_type() == NPM_CLI_GITHUB_ACTIONS_BUILD_TYPE;
    if npm_v1 {
        verify_npm_v1_parameters(provenance, &cert)?;
    } else {
        verify_system_parameters(provenance, &cert)?;
    }
    if let Predicate::V02(p) = &provenance.predicate {
        if !is_empty_map(&p.invocation.parameters) {
            return Err(NpmError::NonVerifiableClaim {
                claim: "invocation.parameters",
                found: p.invocation.parameters.to_string(),
            }
            .into());
        }
    }
    verify_metadata(provenance, &cert, npm_v1)?;
    let subjects = &provenance.subjects;
    if subjects.len() != 1 {
        return Err(NpmError::NonVerifiableClaim {
            claim: "subjects",
            found: format!("{} subjects", subjects.len()),
        }
        .into());
    }
    if !subjects[0].digest.contains_key("sha512") {
        return Err(NpmError::NonVerifiableClaim {
            claim: "subject digest",
            found: "no sha512 digest".into(),
        }
        .into());
    }
    let trigger_path = trigger_path(provenance)?;
    equal(
        cert.build_config_path.as_deref(),
        &trigger_path,
        "trigger workflow",
    )?;
    let dependencies = match &provenance.predicate {
        Predicate::V02(p) => p.materials.len(),
        Predicate::V1(p) => p.build_definition.resolved_dependencies.len(),
    };
    if dependencies != 1 {
        return Err(NpmError::NonVerifiableClaim {
            claim: "resolved dependencies",
            found: format!("{dependencies}, expected 1"),
        }
        .into());
    }
    if let Predicate::V02(p) = &provenance.predicate {
        if !is_empty_map(&p.build_config) {
            return Err(NpmError::NonVerifiableClaim {
                claim: "buildConfig",
                found: p.build_config.to_string(),
            }
            .into());
        }
    }
    Ok(())
}

/// `null` or `{}`.
fn is_empty_map(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        _ => false,
    }
}

/// v1.0 npm provenance: `internalParameters.github` holds only
/// `event_name`, `repository_id` and `repository_owner_id`.
fn verify_npm_v1_parameters(provenance: &Provenance, cert: &CertValues) -> Result<(), SlsaError> {
    let Predicate::V1(p) = &provenance.predicate else {
        return Ok(());
    };
    let Value::Object(params) = &p.build_definition.internal_parameters else {
        return Err(invalid(
            "internalParameters to be an object",
            super::github_env::json_type(&p.build_definition.internal_parameters),
        ));
    };
    let Some(Value::Object(github)) = params.get("github") else {
        return Err(SlsaError::InvalidFormat {
            what: "internalParameters.github",
            expected: "an object",
            found: params
                .get("github")
                .map_or("absent", super::github_env::json_type)
                .to_string(),
        });
    };
    for key in github.keys() {
        let certificate = match key.as_str() {
            "event_name" => Some(cert.trigger.as_str()),
            "repository_id" => cert.repository_id.as_deref(),
            "repository_owner_id" => cert.owner_id.as_deref(),
            other => {
                return Err(NpmError::MismatchCertificate {
                    field: format!("internalParameters.github.{other}"),
                    certificate: None,
                    found: "an unknown parameter".into(),
                }
                .into())
            }
        };
        parameter(github, key, certificate)?;
    }
    Ok(())
}

/// v0.2 (and other v1.0) provenance: the recorded `GITHUB_*` environment.
fn verify_system_parameters(provenance: &Provenance, cert: &CertValues) -> Result<(), SlsaError> {
    let params = match &provenance.predicate {
        Predicate::V02(p) => &p.invocation.environment,
        Predicate::V1(p) => &p.build_definition.internal_parameters,
    };
    let Value::Object(params) = params else {
        return Err(invalid(
            "the recorded environment to be an object",
            super::github_env::json_type(params),
        ));
    };
    if let Some(unknown) = params
        .keys()
        .find(|k| !V02_SYSTEM_PARAMETERS.contains(&k.as_str()))
    {
        return Err(NpmError::MismatchCertificate {
            field: unknown.clone(),
            certificate: None,
            found: "an unknown parameter".into(),
        }
        .into());
    }
    parameter(params, "GITHUB_EVENT_NAME", Some(&cert.trigger))?;
    parameter(params, "GITHUB_REPOSITORY", Some(&cert.repository))?;
    parameter(params, "GITHUB_REF", cert.source_ref.as_deref())?;
    parameter(
        params,
        "GITHUB_REPOSITORY_ID",
        cert.repository_id.as_deref(),
    )?;
    parameter(
        params,
        "GITHUB_REPOSITORY_OWNER_ID",
        cert.owner_id.as_deref(),
    )?;
    parameter(params, "GITHUB_SHA", Some(&cert.sha))?;
    parameter(params, "GITHUB_WORKFLOW_REF", Some(&cert.workflow_path))?;
    parameter(params, "GITHUB_WORKFLOW_SHA", cert.workflow_sha.as_deref())?;
    if params.contains_key("GITHUB_RUN_ID") || params.contains_key("GITHUB_RUN_ATTEMPT") {
        if cert.run.is_none() {
            return Err(NpmError::MismatchCertificate {
                field: "GITHUB_RUN_*".into(),
                certificate: None,
                found: "a run ID".into(),
            }
            .into());
        }
        let (run, attempt) = cert.run_ids()?;
        parameter(params, "GITHUB_RUN_ID", Some(&run))?;
        parameter(params, "GITHUB_RUN_ATTEMPT", Some(&attempt))?;
    }
    Ok(())
}

/// The invocation ID names the certificate's run; no build times;
/// nothing claimed reproducible or complete.
fn verify_metadata(
    provenance: &Provenance,
    cert: &CertValues,
    npm_v1: bool,
) -> Result<(), SlsaError> {
    let (invocation_id, started, finished) = match &provenance.predicate {
        Predicate::V02(p) => match &p.metadata {
            None => (String::new(), None, None),
            Some(m) => (
                m.build_invocation_id.clone(),
                m.build_started_on.clone(),
                m.build_finished_on.clone(),
            ),
        },
        Predicate::V1(p) => (
            p.run_details.metadata.invocation_id.clone(),
            p.run_details.metadata.started_on.clone(),
            p.run_details.metadata.finished_on.clone(),
        ),
    };
    if !invocation_id.is_empty() {
        let bad = || SlsaError::InvalidFormat {
            what: "provenance invocation ID",
            expected: if npm_v1 {
                "https://github.com/<owner>/<repo>/actions/runs/<run>/attempts/<attempt>"
            } else {
                "<run>-<attempt>"
            },
            found: invocation_id.clone(),
        };
        let (run, attempt) = if npm_v1 {
            let trimmed = invocation_id
                .strip_prefix("https://github.com/")
                .unwrap_or(&invocation_id);
            let parts: Vec<&str> = trimmed.split('/').collect();
            if parts.len() != 7 {
                return Err(bad());
            }
            (parts[4].to_string(), parts[6].to_string())
        } else {
            let parts: Vec<&str> = invocation_id.split('-').collect();
            let [run, attempt] = parts.as_slice() else {
                return Err(bad());
            };
            ((*run).to_string(), (*attempt).to_string())
        };
        let (cert_run, cert_attempt) = cert.run_ids()?;
        equal(Some(&cert_run), &run, "run ID")?;
        equal(Some(&cert_attempt), &attempt, "run attempt")?;
    }
    if let Some(t) = started {
        return Err(NpmError::NonVerifiableClaim {
            claim: "build start time",
            found: t.0,
        }
        .into());
    }
    if let Some(t) = finished {
        return Err(NpmError::NonVerifiableClaim {
            claim: "build finish time",
            found: t.0,
        }
        .into());
    }
    if let Predicate::V02(p) = &provenance.predicate {
        if let Some(m) = &p.metadata {
            if m.reproducible {
                return Err(NpmError::NonVerifiableClaim {
                    claim: "metadata.reproducible",
                    found: "true".into(),
                }
                .into());
            }
            let c = &m.completeness;
            if c.parameters || c.environment || c.materials {
                return Err(NpmError::NonVerifiableClaim {
                    claim: "metadata.completeness",
                    found: format!(
                        "parameters {}, environment {}, materials {}",
                        c.parameters, c.environment, c.materials
                    ),
                }
                .into());
            }
        }
    }
    Ok(())
}

/// The triggering workflow's path: the v0.2 config source's entry point,
/// the v1.0 `externalParameters.workflow.path`.
fn trigger_path(provenance: &Provenance) -> Result<String, SlsaError> {
    match &provenance.predicate {
        Predicate::V02(p) => Ok(p.invocation.config_source.entry_point.clone()),
        Predicate::V1(p) => {
            let Value::Object(external) = &p.build_definition.external_parameters else {
                return Err(SlsaError::InvalidFormat {
                    what: "externalParameters",
                    expected: "an object",
                    found: super::github_env::json_type(&p.build_definition.external_parameters)
                        .to_string(),
                });
            };
            let Some(workflow) = external.get("workflow") else {
                return Err(invalid("externalParameters.workflow", "none"));
            };
            let Value::Object(workflow) = workflow else {
                return Err(invalid(
                    "externalParameters.workflow to be an object",
                    super::github_env::json_type(workflow),
                ));
            };
            workflow
                .get("path")
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| invalid("externalParameters.workflow.path", "none"))
        }
    }
}

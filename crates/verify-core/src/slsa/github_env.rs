//! The GitHub context a builder records in its provenance, and what the
//! branch, tag and workflow-input rules read from it.
//!
//! The generators record the `github` context as a map: v0.2 provenance in
//! `invocation.environment` with lowercase keys (`github_ref`), BYOB and
//! v1.0 provenance in `internalParameters` with uppercase keys
//! (`GITHUB_REF`). The rules read it as slsa-verifier does:
//!
//! - the tag is `github_ref` when `github_ref_type` is `tag`, and none for a
//!   branch build;
//! - the branch is `github_ref` for a branch build; for a tag build it is
//!   `github_base_ref` if set, else (for `push`) the event payload's
//!   `base_ref`, or (for `release`) `refs/heads/` + the release's
//!   `target_commitish`; other events have no branch;
//! - workflow inputs exist only for `workflow_dispatch` builds, in the event
//!   payload's `inputs` object.
//!
//! A field of the wrong JSON type is [`SlsaError::InvalidDssePayload`].

use serde_json::{Map, Value};

use super::error::SlsaError;

/// A recorded GitHub context: the map and the case of its keys.
#[derive(Debug, Clone, Copy)]
pub struct GithubEnv<'a> {
    map: &'a Map<String, Value>,
    upper: bool,
}

fn invalid(expected: impl Into<String>, found: impl Into<String>) -> SlsaError {
    SlsaError::InvalidDssePayload {
        expected: expected.into(),
        found: found.into(),
    }
}

/// A JSON value's type, for error messages.
pub(crate) fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `map[field]` as a string: absent or not a string is an invalid payload.
pub(crate) fn get_str<'a>(
    map: &'a Map<String, Value>,
    field: &str,
    context: &str,
) -> Result<&'a str, SlsaError> {
    match map.get(field) {
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(invalid(
            format!("{context}.{field} to be a string"),
            json_type(other),
        )),
        None => Err(invalid(format!("{context}.{field}"), "no such field")),
    }
}

impl<'a> GithubEnv<'a> {
    /// The context in `value`, which must be a JSON object. `context` names
    /// the field for errors; `upper` says whether keys are uppercase.
    pub fn new(value: &'a Value, context: &str, upper: bool) -> Result<Self, SlsaError> {
        match value {
            Value::Object(map) => Ok(Self { map, upper }),
            other => Err(invalid(
                format!("{context} to be an object"),
                json_type(other),
            )),
        }
    }

    fn key(&self, lower: &str) -> String {
        if self.upper {
            lower.to_uppercase()
        } else {
            lower.to_string()
        }
    }

    fn context(&self) -> &'static str {
        if self.upper {
            "build parameters"
        } else {
            "build environment"
        }
    }

    fn string(&self, lower: &str) -> Result<&'a str, SlsaError> {
        get_str(self.map, &self.key(lower), self.context())
    }

    fn ref_type(&self) -> Result<&'a str, SlsaError> {
        self.string("github_ref_type")
    }

    fn unknown_ref_type(found: &str) -> SlsaError {
        invalid(
            "github_ref_type \"branch\" or \"tag\"",
            format!("{found:?}"),
        )
    }

    /// The tag ref the build ran for, or `""` for a branch build.
    pub fn tag(&self) -> Result<String, SlsaError> {
        match self.ref_type()? {
            "branch" => Ok(String::new()),
            "tag" => Ok(self.string("github_ref")?.to_string()),
            other => Err(Self::unknown_ref_type(other)),
        }
    }

    /// The branch ref the build ran on, or `""` when a tag build records no
    /// branch.
    pub fn branch(&self) -> Result<String, SlsaError> {
        match self.ref_type()? {
            "branch" => Ok(self.string("github_ref")?.to_string()),
            "tag" => self.branch_for_tag(),
            other => Err(Self::unknown_ref_type(other)),
        }
    }

    fn branch_for_tag(&self) -> Result<String, SlsaError> {
        let base_ref = self.string("github_base_ref")?;
        if !base_ref.is_empty() {
            return Ok(base_ref.to_string());
        }
        let event = self.string("github_event_name")?;
        let payload = self.event_payload()?;
        match event {
            "push" => match payload.get("base_ref") {
                None => Err(invalid("github_event_payload.base_ref", "no such field")),
                // Null when the push was of a commit rather than a branch.
                Some(Value::String(s)) => Ok(s.clone()),
                Some(_) => Ok(String::new()),
            },
            "release" => {
                let release = match payload.get("release") {
                    None => return Err(invalid("github_event_payload.release", "no such field")),
                    Some(Value::Object(release)) => release,
                    Some(other) => {
                        return Err(invalid(
                            "github_event_payload.release to be an object",
                            json_type(other),
                        ))
                    }
                };
                let commitish =
                    get_str(release, "target_commitish", "github_event_payload.release")?;
                Ok(format!("refs/heads/{commitish}"))
            }
            _ => Ok(String::new()),
        }
    }

    fn event_payload(&self) -> Result<&'a Map<String, Value>, SlsaError> {
        let key = self.key("github_event_payload");
        match self.map.get(&key) {
            None => Err(invalid(
                format!("{}.{key}", self.context()),
                "no such field",
            )),
            Some(Value::Object(payload)) => Ok(payload),
            Some(other) => Err(invalid(
                format!("{}.{key} to be an object", self.context()),
                json_type(other),
            )),
        }
    }

    /// The `workflow_dispatch` inputs. Another event has none:
    /// [`SlsaError::MismatchWorkflowInputs`].
    pub fn workflow_inputs(&self) -> Result<&'a Map<String, Value>, SlsaError> {
        let event = self.string("github_event_name")?;
        if event != "workflow_dispatch" {
            return Err(SlsaError::MismatchWorkflowInputs {
                key: "github_event_name".into(),
                expected: "workflow_dispatch".into(),
                found: Some(event.to_string()),
            });
        }
        match self.event_payload()?.get("inputs") {
            None => Err(invalid("github_event_payload.inputs", "no such field")),
            Some(Value::Object(inputs)) => Ok(inputs),
            Some(other) => Err(invalid(
                "github_event_payload.inputs to be an object",
                json_type(other),
            )),
        }
    }
}

/// `--build-workflow-input`: each expected input must be recorded, as a
/// string, with the expected value. Checked in key order.
pub fn verify_workflow_inputs<'k>(
    env: &GithubEnv<'_>,
    expected: impl IntoIterator<Item = (&'k String, &'k String)>,
) -> Result<(), SlsaError> {
    let inputs = env.workflow_inputs()?;
    for (key, value) in expected {
        let found = match inputs.get(key.as_str()) {
            Some(Value::String(s)) => s,
            _ => {
                return Err(SlsaError::MismatchWorkflowInputs {
                    key: key.clone(),
                    expected: value.clone(),
                    found: None,
                })
            }
        };
        if found != value {
            return Err(SlsaError::MismatchWorkflowInputs {
                key: key.clone(),
                expected: value.clone(),
                found: Some(found.clone()),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;

    fn env(v: &Value) -> GithubEnv<'_> {
        GithubEnv::new(v, "environment", false).unwrap()
    }

    #[test]
    fn branch_build() {
        let v = json!({"github_ref_type": "branch", "github_ref": "refs/heads/main"});
        assert_eq!(env(&v).branch().unwrap(), "refs/heads/main");
        assert_eq!(env(&v).tag().unwrap(), "");
    }

    #[test]
    fn tag_push_reads_the_base_ref() {
        let v = json!({
            "github_ref_type": "tag", "github_ref": "refs/tags/v1.2.3",
            "github_base_ref": "", "github_event_name": "push",
            "github_event_payload": {"base_ref": "refs/heads/main"},
        });
        assert_eq!(env(&v).tag().unwrap(), "refs/tags/v1.2.3");
        assert_eq!(env(&v).branch().unwrap(), "refs/heads/main");

        let v = json!({
            "github_ref_type": "tag", "github_ref": "refs/tags/v1",
            "github_base_ref": "", "github_event_name": "push",
            "github_event_payload": {"base_ref": null},
        });
        assert_eq!(env(&v).branch().unwrap(), "");

        let v = json!({
            "github_ref_type": "tag", "github_base_ref": "refs/heads/dev",
        });
        assert_eq!(env(&v).branch().unwrap(), "refs/heads/dev");
    }

    #[test]
    fn tag_release_reads_target_commitish() {
        let v = json!({
            "github_ref_type": "tag", "github_base_ref": "", "github_event_name": "release",
            "github_event_payload": {"release": {"target_commitish": "main"}},
        });
        assert_eq!(env(&v).branch().unwrap(), "refs/heads/main");
        let v = json!({
            "github_ref_type": "tag", "github_base_ref": "", "github_event_name": "workflow_dispatch",
            "github_event_payload": {},
        });
        assert_eq!(env(&v).branch().unwrap(), "");
    }

    #[test]
    fn malformed_environment_is_invalid_payload() {
        for v in [
            json!({"github_ref": "refs/heads/main"}),
            json!({"github_ref_type": 1}),
            json!({"github_ref_type": "pull"}),
            json!({"github_ref_type": "tag", "github_base_ref": "", "github_event_name": "push", "github_event_payload": []}),
            json!({"github_ref_type": "tag", "github_base_ref": "", "github_event_name": "push", "github_event_payload": {}}),
        ] {
            assert!(
                matches!(env(&v).branch(), Err(SlsaError::InvalidDssePayload { .. })),
                "{v}"
            );
        }
        assert!(matches!(
            GithubEnv::new(&json!(null), "environment", false),
            Err(SlsaError::InvalidDssePayload { .. })
        ));
    }

    #[test]
    fn uppercase_keys() {
        let v = json!({"GITHUB_REF_TYPE": "branch", "GITHUB_REF": "refs/heads/x"});
        let e = GithubEnv::new(&v, "internalParameters", true).unwrap();
        assert_eq!(e.branch().unwrap(), "refs/heads/x");
    }

    #[test]
    fn workflow_inputs() {
        let v = json!({
            "github_event_name": "workflow_dispatch",
            "github_event_payload": {"inputs": {"release": "true", "n": 3}},
        });
        let ok: BTreeMap<String, String> = [("release".into(), "true".into())].into();
        verify_workflow_inputs(&env(&v), &ok).unwrap();
        let wrong: BTreeMap<String, String> = [("release".into(), "false".into())].into();
        assert!(matches!(
            verify_workflow_inputs(&env(&v), &wrong),
            Err(SlsaError::MismatchWorkflowInputs { found: Some(f), .. }) if f == "true"
        ));
        let not_string: BTreeMap<String, String> = [("n".into(), "3".into())].into();
        assert!(matches!(
            verify_workflow_inputs(&env(&v), &not_string),
            Err(SlsaError::MismatchWorkflowInputs { found: None, .. })
        ));
        let absent: BTreeMap<String, String> = [("x".into(), "1".into())].into();
        assert!(matches!(
            verify_workflow_inputs(&env(&v), &absent),
            Err(SlsaError::MismatchWorkflowInputs { found: None, .. })
        ));

        let push = json!({"github_event_name": "push", "github_event_payload": {}});
        assert!(matches!(
            verify_workflow_inputs(&env(&push), &ok),
            Err(SlsaError::MismatchWorkflowInputs { key, .. }) if key == "github_event_name"
        ));
        let null_inputs = json!({"github_event_name": "workflow_dispatch", "github_event_payload": {"inputs": null}});
        assert!(matches!(
            verify_workflow_inputs(&env(&null_inputs), &ok),
            Err(SlsaError::InvalidDssePayload { .. })
        ));
    }
}

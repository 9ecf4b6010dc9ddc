//! Rules on what Flux reconciles: Secrets in the manifests, OCI sources
//! without signature verification, and Kustomizations' decryption.

use std::collections::HashMap;

use serde_json::Value;

use super::Ctx;
use crate::load::{pointer, Manifest};

fn group(m: &Manifest) -> &str {
    m.object
        .get("apiVersion")
        .and_then(Value::as_str)
        .and_then(|v| v.split_once('/'))
        .map(|(g, _)| g)
        .unwrap_or_default()
}

fn kind(m: &Manifest) -> &str {
    m.object
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn namespace(m: &Manifest) -> &str {
    m.object
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn name(m: &Manifest) -> &str {
    m.object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// `source/plaintext-secret`.
///
/// A Secret is SOPS-encrypted when it carries SOPS's `sops` metadata block,
/// or when every value is an `ENC[...]` ciphertext. Values are never
/// reported, only key names.
pub(crate) fn check_secret(ctx: &mut Ctx<'_>, m: &Manifest) {
    if kind(m) != "Secret" || m.object.get("apiVersion").and_then(Value::as_str) != Some("v1") {
        return;
    }
    let mut keys: Vec<(String, String, bool)> = Vec::new();
    for field in ["data", "stringData"] {
        if let Some(map) = m.object.get(field).and_then(Value::as_object) {
            for (k, v) in map {
                let encrypted = v.as_str().is_some_and(|s| s.starts_with("ENC["));
                keys.push((format!("{field}.{k}"), pointer("", &[field, k]), encrypted));
            }
        }
    }
    if keys.is_empty() {
        return;
    }
    if m.object.get("sops").is_some_and(Value::is_object) {
        ctx.record(
            "source/plaintext-secret",
            m,
            None,
            "/sops",
            true,
            "SOPS-encrypted (sops metadata present)".into(),
        );
        return;
    }
    let plain: Vec<&(String, String, bool)> = keys.iter().filter(|k| !k.2).collect();
    match plain.first() {
        None => ctx.record(
            "source/plaintext-secret",
            m,
            None,
            "/data",
            true,
            "every value is an ENC[...] ciphertext".into(),
        ),
        Some((_, first_pointer, _)) => {
            let names: Vec<&str> = plain.iter().map(|k| k.0.as_str()).collect();
            ctx.record(
                "source/plaintext-secret",
                m,
                None,
                first_pointer,
                false,
                format!(
                    "unencrypted values in {} (no sops metadata)",
                    names.join(", ")
                ),
            )
        }
    }
}

/// HelmRepositories by (namespace, name): whether each is OCI.
pub(crate) fn oci_helm_repositories(objects: &[Manifest]) -> HashMap<(String, String), bool> {
    objects
        .iter()
        .filter(|m| group(m) == "source.toolkit.fluxcd.io" && kind(m) == "HelmRepository")
        .map(|m| {
            let spec = m.object.get("spec");
            let oci = spec.and_then(|s| s.get("type")).and_then(Value::as_str) == Some("oci")
                || spec
                    .and_then(|s| s.get("url"))
                    .and_then(Value::as_str)
                    .is_some_and(|u| u.starts_with("oci://"));
            ((namespace(m).to_string(), name(m).to_string()), oci)
        })
        .collect()
}

fn has_verify(v: Option<&Value>) -> bool {
    v.and_then(|s| s.get("verify"))
        .is_some_and(Value::is_object)
}

/// `source/unverified-oci` and the decryption note.
pub(crate) fn check_source(
    ctx: &mut Ctx<'_>,
    m: &Manifest,
    helm_repos: &HashMap<(String, String), bool>,
) {
    const RULE: &str = "source/unverified-oci";
    let spec = m.object.get("spec");
    match (group(m), kind(m)) {
        ("source.toolkit.fluxcd.io", "OCIRepository") => {
            let ok = has_verify(spec);
            let evidence = if ok {
                "spec.verify set".to_string()
            } else {
                format!(
                    "no spec.verify (url {})",
                    spec.and_then(|s| s.get("url"))
                        .and_then(Value::as_str)
                        .unwrap_or("?")
                )
            };
            ctx.record(
                RULE,
                m,
                None,
                if ok { "/spec/verify" } else { "/spec" },
                ok,
                evidence,
            );
        }
        ("source.toolkit.fluxcd.io", "HelmChart") => {
            let source = spec.and_then(|s| s.get("sourceRef"));
            if source.and_then(|s| s.get("kind")).and_then(Value::as_str) != Some("HelmRepository")
            {
                return;
            }
            let repo = source
                .and_then(|s| s.get("name"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            let key = (namespace(m).to_string(), repo.to_string());
            check_chart(
                ctx,
                m,
                RULE,
                helm_repos.get(&key).copied(),
                repo,
                has_verify(spec),
                "/spec",
            );
        }
        ("helm.toolkit.fluxcd.io", "HelmRelease") => {
            let chart = m.object.pointer("/spec/chart/spec");
            let source = chart.and_then(|c| c.get("sourceRef"));
            if source.and_then(|s| s.get("kind")).and_then(Value::as_str) != Some("HelmRepository")
            {
                return;
            }
            let repo = source
                .and_then(|s| s.get("name"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            let repo_ns = source
                .and_then(|s| s.get("namespace"))
                .and_then(Value::as_str)
                .unwrap_or(namespace(m));
            let key = (repo_ns.to_string(), repo.to_string());
            check_chart(
                ctx,
                m,
                RULE,
                helm_repos.get(&key).copied(),
                repo,
                has_verify(chart),
                "/spec/chart/spec",
            );
        }
        ("kustomize.toolkit.fluxcd.io", "Kustomization")
            if spec
                .and_then(|s| s.get("decryption"))
                .is_none_or(Value::is_null) =>
        {
            ctx.note(
                "kustomization/decryption",
                m,
                "/spec",
                "no spec.decryption: SOPS-encrypted Secrets in its path would be applied undecrypted; whether the path holds any cannot be told from the manifests".into(),
            );
        }
        _ => {}
    }
}

fn check_chart(
    ctx: &mut Ctx<'_>,
    m: &Manifest,
    rule: &str,
    repo_is_oci: Option<bool>,
    repo: &str,
    verified: bool,
    at: &str,
) {
    match repo_is_oci {
        Some(true) => {
            let evidence = if verified {
                format!("chart from OCI HelmRepository {repo}, {}.verify set", &at[1..].replace('/', "."))
            } else {
                format!("chart from OCI HelmRepository {repo}, no {}.verify", &at[1..].replace('/', "."))
            };
            let pointer = if verified { format!("{at}/verify") } else { at.to_string() };
            ctx.record(rule, m, None, &pointer, verified, evidence);
        }
        Some(false) => {}
        None if !verified => ctx.note(
            "helm/repository-unknown",
            m,
            at,
            format!("HelmRepository {repo} is not in the input: whether its chart is OCI (and needs verify) cannot be told"),
        ),
        None => {}
    }
}

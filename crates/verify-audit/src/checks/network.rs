//! `network/policies`: Flux's NetworkPolicies in each namespace that runs
//! Flux controllers.
//!
//! Flux installs three (flux2 `manifests/policies`): `allow-egress` (the
//! namespace's pods take ingress only from each other), `allow-scraping`
//! (metrics port from anywhere) and `allow-webhooks` (the
//! notification-controller's receiver). Without any of them, every pod in
//! the cluster can download the artifacts source-controller serves.

use std::collections::BTreeMap;

use serde_json::Value;

use super::Ctx;
use crate::controller::{Controller, ControllerContainer};
use crate::load::Manifest;

/// The names of Flux's NetworkPolicies.
pub(crate) const FLUX_POLICIES: [&str; 3] = ["allow-egress", "allow-scraping", "allow-webhooks"];

pub(crate) fn check(
    ctx: &mut Ctx<'_>,
    objects: &[Manifest],
    containers: &[ControllerContainer<'_>],
) {
    let mut policies: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for m in objects {
        let o = &m.object;
        let is_policy = o.get("kind").and_then(Value::as_str) == Some("NetworkPolicy")
            && o.get("apiVersion").and_then(Value::as_str) == Some("networking.k8s.io/v1");
        if !is_policy {
            continue;
        }
        let ns = o
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let name = o
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        policies.entry(ns).or_default().push(name);
    }
    // One result per namespace, on its source-controller when there is one.
    let mut by_ns: BTreeMap<&str, &ControllerContainer<'_>> = BTreeMap::new();
    for c in containers.iter().filter(|c| c.workload.top_level) {
        let slot = by_ns.entry(c.workload.namespace).or_insert(c);
        if c.controller == Controller::SourceController
            && slot.controller != Controller::SourceController
        {
            *slot = c;
        }
    }
    for (ns, c) in by_ns {
        let present = policies.get(ns).cloned().unwrap_or_default();
        let flux: Vec<&str> = present
            .iter()
            .copied()
            .filter(|p| FLUX_POLICIES.contains(p))
            .collect();
        let shown = if ns.is_empty() { "(no namespace)" } else { ns };
        let (passed, evidence) = if flux.is_empty() {
            let others = if present.is_empty() {
                "no NetworkPolicy at all".to_string()
            } else {
                format!("only {}", present.join(", "))
            };
            (
                false,
                format!(
                    "none of {} in namespace {shown} ({others})",
                    FLUX_POLICIES.join(", ")
                ),
            )
        } else {
            (
                true,
                format!("{} present in namespace {shown}", flux.join(", ")),
            )
        };
        ctx.record(
            "network/policies",
            c.workload.manifest,
            None,
            "/metadata",
            passed,
            evidence,
        );
    }
}

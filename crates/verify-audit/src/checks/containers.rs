//! Rules on each controller container: its start-up flags, and its security
//! context resolved as Kubernetes resolves it.

use serde_json::Value;

use super::Ctx;
use crate::controller::ControllerContainer;
use crate::flags::{BoolFlag, Flags};
use crate::rules::{flag_rules, Expect, RuleSet};
use crate::workloads::PodContainer;

/// The flag rules of the container's controller that `multi_tenant` enables.
pub(crate) fn check_flags(ctx: &mut Ctx<'_>, c: &ControllerContainer<'_>, multi_tenant: bool) {
    let flags = Flags::of_container(c.container);
    let m = c.workload.manifest;
    let base = c.pointer();
    for (f, r) in flag_rules(c.controller) {
        if r.set == RuleSet::MultiTenant && !multi_tenant {
            continue;
        }
        let flag = f.flag;
        let (passed, evidence, pointer) = match f.expect {
            Expect::NotTrue => match flags.boolean(flag) {
                BoolFlag::Absent => (
                    true,
                    format!("--{flag} not given (default false)"),
                    base.clone(),
                ),
                BoolFlag::Set(true, o) => (
                    false,
                    bool_evidence(&o.written, true),
                    base.clone() + &o.pointer,
                ),
                BoolFlag::Set(false, o) => (
                    true,
                    bool_evidence(&o.written, false),
                    base.clone() + &o.pointer,
                ),
                BoolFlag::Invalid(o) => (
                    true,
                    format!(
                        "`{}`: not a boolean, the controller refuses to start",
                        o.written
                    ),
                    base.clone() + &o.pointer,
                ),
            },
            Expect::True => match flags.boolean(flag) {
                BoolFlag::Absent => (
                    false,
                    format!("--{flag} not given (default false)"),
                    base.clone(),
                ),
                BoolFlag::Set(b, o) => (b, bool_evidence(&o.written, b), base.clone() + &o.pointer),
                BoolFlag::Invalid(o) => (
                    false,
                    format!(
                        "`{}`: not a boolean, the controller refuses to start",
                        o.written
                    ),
                    base.clone() + &o.pointer,
                ),
            },
            Expect::NonEmpty => match flags.get(flag) {
                None => (false, format!("--{flag} not given"), base.clone()),
                Some(o) if o.value.is_empty() => (
                    false,
                    format!("`{}`: empty", o.written),
                    base.clone() + &o.pointer,
                ),
                Some(o) => (true, format!("`{}`", o.written), base.clone() + &o.pointer),
            },
        };
        ctx.record(r.id, m, Some(c.name), &pointer, passed, evidence);
    }
}

fn bool_evidence(written: &str, value: bool) -> String {
    if written.contains(' ') {
        // `--flag false`: pflag takes a boolean's value only after `=`.
        format!("`{written}` sets it to {value} (a boolean flag takes its value only after `=`)")
    } else {
        format!("`{written}` sets it to {value}")
    }
}

/// A field of the container's securityContext, else of the pod's: where it
/// was found, its value and its pointer.
fn resolved<'a>(c: &'a PodContainer<'a>, field: &str) -> Option<(&'static str, &'a Value, String)> {
    let container = c
        .container
        .pointer(&format!("/securityContext/{field}"))
        .filter(|v| !v.is_null());
    if let Some(v) = container {
        return Some((
            "container",
            v,
            format!("{}/securityContext/{field}", c.pointer()),
        ));
    }
    let pod = c
        .workload
        .pod_spec
        .pointer(&format!("/securityContext/{field}"))
        .filter(|v| !v.is_null());
    pod.map(|v| {
        (
            "pod",
            v,
            format!("{}/securityContext/{field}", c.workload.pod_pointer),
        )
    })
}

/// The pod-security rules.
pub(crate) fn check_pod_security(ctx: &mut Ctx<'_>, c: &PodContainer<'_>) {
    let m = c.workload.manifest;
    let name = Some(c.name);
    let base = c.pointer();

    // runAsNonRoot: container level, else pod level.
    let (passed, evidence, pointer) = match resolved(c, "runAsNonRoot") {
        Some((level, v, p)) => (
            v == &Value::Bool(true),
            format!("{level} securityContext.runAsNonRoot: {v}"),
            p,
        ),
        None => (
            false,
            "runAsNonRoot set neither on the container nor on the pod".into(),
            base.clone(),
        ),
    };
    ctx.record(
        "pod-security/run-as-non-root",
        m,
        name,
        &pointer,
        passed,
        evidence,
    );

    // seccompProfile: container level, else pod level.
    let (passed, evidence, pointer) = match resolved(c, "seccompProfile") {
        Some((level, v, p)) => {
            let ty = v.get("type").and_then(Value::as_str).unwrap_or("(none)");
            (
                matches!(ty, "RuntimeDefault" | "Localhost"),
                format!("{level} securityContext.seccompProfile.type: {ty}"),
                p,
            )
        }
        None => (
            false,
            "seccompProfile set neither on the container nor on the pod (Unconfined by default)"
                .into(),
            base.clone(),
        ),
    };
    ctx.record(
        "pod-security/seccomp-runtime-default",
        m,
        name,
        &pointer,
        passed,
        evidence,
    );

    // Container-level only.
    let field = |f: &str| {
        c.container
            .pointer(&format!("/securityContext/{f}"))
            .filter(|v| !v.is_null())
    };
    let at = |f: &str| format!("{base}/securityContext/{f}");
    let (passed, evidence, pointer) = match field("readOnlyRootFilesystem") {
        Some(v) => (
            v == &Value::Bool(true),
            format!("securityContext.readOnlyRootFilesystem: {v}"),
            at("readOnlyRootFilesystem"),
        ),
        None => (
            false,
            "readOnlyRootFilesystem not set (default false)".into(),
            base.clone(),
        ),
    };
    ctx.record(
        "pod-security/read-only-root-filesystem",
        m,
        name,
        &pointer,
        passed,
        evidence,
    );

    let privileged = field("privileged") == Some(&Value::Bool(true));
    let (passed, evidence, pointer) = match field("allowPrivilegeEscalation") {
        _ if privileged => (
            false,
            "securityContext.privileged: true".into(),
            at("privileged"),
        ),
        Some(v) => (
            v == &Value::Bool(false),
            format!("securityContext.allowPrivilegeEscalation: {v}"),
            at("allowPrivilegeEscalation"),
        ),
        None => (
            false,
            "allowPrivilegeEscalation not set (default true)".into(),
            base.clone(),
        ),
    };
    ctx.record(
        "pod-security/no-privilege-escalation",
        m,
        name,
        &pointer,
        passed,
        evidence,
    );

    let list = |f: &str| -> Vec<&str> {
        field("capabilities")
            .and_then(|caps| caps.get(f))
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    };
    let drop = list("drop");
    let added: Vec<&str> = list("add")
        .into_iter()
        .filter(|c| *c != "NET_BIND_SERVICE")
        .collect();
    let (passed, evidence, pointer) = if !drop.contains(&"ALL") {
        (
            false,
            format!("capabilities.drop: {drop:?} (no ALL)"),
            at("capabilities"),
        )
    } else if !added.is_empty() {
        (
            false,
            format!("capabilities.add: {added:?} after dropping ALL"),
            at("capabilities/add"),
        )
    } else {
        (
            true,
            "capabilities.drop: [\"ALL\"]".into(),
            at("capabilities/drop"),
        )
    };
    ctx.record(
        "pod-security/drop-all-capabilities",
        m,
        name,
        &pointer,
        passed,
        evidence,
    );
}

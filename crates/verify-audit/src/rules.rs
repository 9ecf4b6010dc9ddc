//! The rule catalogue: stable IDs, severities, sets and rationales.
//!
//! The rules follow Flux's "Security Best Practices" page (the default set:
//! its controller start-up flags, secret decryption and source verification
//! items, plus the pod security settings Flux's own manifests carry; the
//! multi-tenancy set: its lock-down, workload-identity, resource-isolation
//! and network-isolation items). IDs never change meaning; new checks get new
//! IDs.

use serde::Serialize;

use crate::controller::Controller;
use crate::report::Severity;

/// Which option enables a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleSet {
    /// Always evaluated.
    Default,
    /// With `--multi-tenant` ([`crate::Options::multi_tenant`]).
    MultiTenant,
    /// With `--verify-images` (an [`crate::ImageChecker`] given).
    Images,
}

/// One rule.
#[derive(Debug, Serialize)]
pub struct Rule {
    /// Stable identifier, e.g. `kustomize-controller/no-remote-bases`.
    pub id: &'static str,
    pub severity: Severity,
    pub set: RuleSet,
    /// Why it matters, in one line.
    pub rationale: &'static str,
}

macro_rules! rule {
    ($id:literal, $sev:ident, $set:ident, $why:literal) => {
        Rule {
            id: $id,
            severity: Severity::$sev,
            set: RuleSet::$set,
            rationale: $why,
        }
    };
}

/// Every rule, in report order.
pub static RULES: &[Rule] = &[
    rule!("helm-controller/insecure-kubeconfig-exec", High, Default,
        "A kubeconfig may then run any binary inside the controller to get a token; a tenant's kubeconfig Secret becomes code execution with the controller's rights."),
    rule!("helm-controller/insecure-kubeconfig-tls", High, Default,
        "Remote clusters may then be reached without TLS, so their API traffic and credentials can be read or altered on the way."),
    rule!("kustomize-controller/insecure-kubeconfig-exec", High, Default,
        "A kubeconfig may then run any binary inside the controller to get a token; a tenant's kubeconfig Secret becomes code execution with the controller's rights."),
    rule!("kustomize-controller/insecure-kubeconfig-tls", High, Default,
        "Remote clusters may then be reached without TLS, so their API traffic and credentials can be read or altered on the way."),
    rule!("kustomize-controller/no-remote-bases", Medium, Default,
        "Without it, overlays may pull remote bases at each reconciliation: what is applied can change without any change to the verified source."),
    rule!("source/plaintext-secret", High, Default,
        "A Secret in a Flux source is readable by anyone who can read the source (and its history); encrypt it with SOPS so only the cluster can decrypt it."),
    rule!("source/unverified-oci", Medium, Default,
        "An OCI artifact or chart pulled without `verify` is applied on the registry's word alone; a signature check ties it to its publisher."),
    rule!("pod-security/run-as-non-root", Medium, Default,
        "A controller running as root turns any compromise of it into root in the container, one kernel bug away from the node."),
    rule!("pod-security/seccomp-runtime-default", Medium, Default,
        "Without a seccomp profile every system call is open to the controller, widening what an exploit can reach."),
    rule!("pod-security/read-only-root-filesystem", Medium, Default,
        "A writable root filesystem lets an attacker in the controller replace its binaries or plant tools that persist for the pod's life."),
    rule!("pod-security/no-privilege-escalation", High, Default,
        "Unless disabled, setuid binaries and file capabilities can give the controller's processes more privileges than it started with."),
    rule!("pod-security/drop-all-capabilities", Medium, Default,
        "Linux capabilities the controller does not need are extra power for an attacker; drop them all (NET_BIND_SERVICE alone may be added back)."),
    rule!("images/signature", Critical, Images,
        "A controller image not signed by the Flux (or ControlPlane) release workflows may not be Flux at all, yet it holds cluster-wide rights."),
    rule!("helm-controller/no-cross-namespace-refs", High, MultiTenant,
        "A tenant could otherwise reference sources, charts or values in another tenant's namespace and read what it should not."),
    rule!("kustomize-controller/no-cross-namespace-refs", High, MultiTenant,
        "A tenant could otherwise reference sources or objects in another tenant's namespace and apply what it should not see."),
    rule!("notification-controller/no-cross-namespace-refs", High, MultiTenant,
        "A tenant could otherwise point alerts and receivers at other tenants' objects, observing or triggering their reconciliations."),
    rule!("image-reflector-controller/no-cross-namespace-refs", High, MultiTenant,
        "A tenant could otherwise use image repositories and policies of another tenant's namespace."),
    rule!("image-automation-controller/no-cross-namespace-refs", High, MultiTenant,
        "A tenant could otherwise make automations push with another tenant's Git source and credentials."),
    rule!("helm-controller/default-service-account", High, MultiTenant,
        "Without a default, a HelmRelease with no service account is applied with the controller's own cluster-admin-like rights."),
    rule!("kustomize-controller/default-service-account", High, MultiTenant,
        "Without a default, a Kustomization with no service account is applied with the controller's own cluster-admin-like rights."),
    rule!("kustomize-controller/default-decryption-service-account", Medium, MultiTenant,
        "Without a default, SOPS decryption through cloud KMS falls back to the controller's own workload identity, shared by every tenant."),
    rule!("kustomize-controller/default-kubeconfig-service-account", Medium, MultiTenant,
        "Without a default, remote-cluster access through workload identity uses the controller's own identity, shared by every tenant."),
    rule!("helm-controller/default-kubeconfig-service-account", Medium, MultiTenant,
        "Without a default, remote-cluster access through workload identity uses the controller's own identity, shared by every tenant."),
    rule!("source-controller/default-service-account", Medium, MultiTenant,
        "Without a default, cloud registry and bucket logins use the controller's own workload identity, shared by every tenant."),
    rule!("notification-controller/default-service-account", Medium, MultiTenant,
        "Without a default, cloud provider logins for notifications use the controller's own workload identity, shared by every tenant."),
    rule!("image-reflector-controller/default-service-account", Medium, MultiTenant,
        "Without a default, cloud registry logins use the controller's own workload identity, shared by every tenant."),
    rule!("image-automation-controller/default-service-account", Medium, MultiTenant,
        "Without a default, cloud Git logins use the controller's own workload identity, shared by every tenant."),
    rule!("sharding/watch-label-selector", Medium, MultiTenant,
        "Two instances of a controller that may watch the same object reconcile it twice, racing each other; each needs a selector no other instance matches."),
    rule!("network/policies", Medium, MultiTenant,
        "Without Flux's NetworkPolicies any pod can fetch the artifacts source-controller serves, and reach the controllers' endpoints."),
];

/// The rule with this ID.
///
/// # Panics
/// Never for the IDs this crate uses (a test checks them all).
pub fn rule(id: &str) -> &'static Rule {
    RULES
        .iter()
        .find(|r| r.id == id)
        .unwrap_or_else(|| panic!("unknown rule {id}"))
}

/// What a flag rule expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// A boolean flag that must not be true (its default is false).
    NotTrue,
    /// A boolean flag that must be true (its default is false).
    True,
    /// A string flag that must be set to a non-empty value.
    NonEmpty,
}

/// A rule on one controller's start-up flag; its ID is
/// `<controller>/<flag>`.
#[derive(Debug)]
pub struct FlagRule {
    pub controller: Controller,
    pub flag: &'static str,
    pub expect: Expect,
}

macro_rules! flag_rule {
    ($c:ident, $flag:literal, $e:ident) => {
        FlagRule {
            controller: Controller::$c,
            flag: $flag,
            expect: Expect::$e,
        }
    };
}

/// Every flag rule.
static FLAG_RULES: &[FlagRule] = &[
    flag_rule!(HelmController, "insecure-kubeconfig-exec", NotTrue),
    flag_rule!(HelmController, "insecure-kubeconfig-tls", NotTrue),
    flag_rule!(KustomizeController, "insecure-kubeconfig-exec", NotTrue),
    flag_rule!(KustomizeController, "insecure-kubeconfig-tls", NotTrue),
    flag_rule!(KustomizeController, "no-remote-bases", True),
    flag_rule!(HelmController, "no-cross-namespace-refs", True),
    flag_rule!(KustomizeController, "no-cross-namespace-refs", True),
    flag_rule!(NotificationController, "no-cross-namespace-refs", True),
    flag_rule!(ImageReflectorController, "no-cross-namespace-refs", True),
    flag_rule!(ImageAutomationController, "no-cross-namespace-refs", True),
    flag_rule!(HelmController, "default-service-account", NonEmpty),
    flag_rule!(KustomizeController, "default-service-account", NonEmpty),
    flag_rule!(
        KustomizeController,
        "default-decryption-service-account",
        NonEmpty
    ),
    flag_rule!(
        KustomizeController,
        "default-kubeconfig-service-account",
        NonEmpty
    ),
    flag_rule!(
        HelmController,
        "default-kubeconfig-service-account",
        NonEmpty
    ),
    flag_rule!(SourceController, "default-service-account", NonEmpty),
    flag_rule!(NotificationController, "default-service-account", NonEmpty),
    flag_rule!(
        ImageReflectorController,
        "default-service-account",
        NonEmpty
    ),
    flag_rule!(
        ImageAutomationController,
        "default-service-account",
        NonEmpty
    ),
];

/// The flag rules of one controller, with their catalogue entries.
pub fn flag_rules(
    controller: Controller,
) -> impl Iterator<Item = (&'static FlagRule, &'static Rule)> {
    FLAG_RULES
        .iter()
        .filter(move |f| f.controller == controller)
        .map(|f| {
            let id = format!("{}/{}", f.controller.name(), f.flag);
            (f, rule(&id))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_flag_rule_is_in_the_catalogue() {
        for c in Controller::ALL {
            for (f, r) in flag_rules(c) {
                assert_eq!(r.id, format!("{}/{}", c.name(), f.flag));
            }
        }
        let mut ids: Vec<_> = RULES.iter().map(|r| r.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), RULES.len(), "duplicate rule IDs");
    }
}

//! Flux's "Security Best Practices", checked on manifests: the rule engine
//! behind `verify flux-audit`.
//!
//! Input is Kubernetes objects: what `flux install --export`,
//! `kustomize build` or `kubectl get ... -o yaml` print ([`load`] reads
//! YAML/JSON files, directories, standard input and `List`s, remembering
//! lines). Flux controllers are recognised by image or `app` label in any
//! namespace ([`controller`]). Each rule ([`rules::RULES`], stable IDs) gives,
//! per object and container, a finding or a passed check, with the evidence
//! found and a one-line rationale ([`Report`]); [`sarif`] renders SARIF 2.1.0.
//!
//! The engine reads objects and nothing else: no network, no clock, no
//! global state. Image signatures (`images/signature`) are checked through
//! an injected [`ImageChecker`], so the caller decides how (the CLI uses
//! verify-core's cosign verification).
//!
//! # At admission
//! An admission webhook can run the same rules on the one Deployment it is
//! asked about:
//!
//! ```
//! let deployment = serde_json::json!({
//!     "apiVersion": "apps/v1", "kind": "Deployment",
//!     "metadata": {"name": "kustomize-controller", "namespace": "flux-system"},
//!     "spec": {"template": {"spec": {"containers": [{
//!         "name": "manager",
//!         "image": "ghcr.io/fluxcd/kustomize-controller:v1.9.4",
//!         "args": ["--insecure-kubeconfig-exec"]
//!     }]}}}
//! });
//! let report = verify_audit::audit_objects(&[deployment], &verify_audit::Options::default());
//! assert!(report.findings.iter().any(|f| f.rule == "kustomize-controller/insecure-kubeconfig-exec"));
//! assert!(report.fails(verify_audit::Severity::High));
//! ```
//!
//! Rules that need other objects (NetworkPolicies, other shards, the
//! HelmRepository of a HelmRelease) only see what is passed in; the
//! container rules (flags, pod security) need nothing else.

#![forbid(unsafe_code)]

mod checks;
pub mod controller;
pub mod flags;
pub mod load;
mod report;
pub mod rules;
pub mod sarif;
pub mod workloads;
pub mod yaml;

pub use controller::{Controller, Distribution};
pub use load::{LoadError, Manifest, Origin};
pub use report::{ControllerSeen, Finding, Location, Note, ObjectRef, Report, Severity};

use checks::Ctx;
use rules::{RuleSet, RULES};

/// An image signature check's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageVerdict {
    /// Signed by an expected identity; `detail` says which (and the digest).
    Verified { detail: String },
    /// Not verified: unsigned, wrong signer, unreachable, ...
    Failed { reason: String },
}

/// Verifies a controller image's signature (for `images/signature`).
///
/// Called once per distinct image of an audit; an implementation may block
/// (the engine itself does no I/O).
pub trait ImageChecker {
    fn check(
        &self,
        image: &str,
        controller: Controller,
        distribution: Distribution,
    ) -> ImageVerdict;
}

impl<F> ImageChecker for F
where
    F: Fn(&str, Controller, Distribution) -> ImageVerdict,
{
    fn check(
        &self,
        image: &str,
        controller: Controller,
        distribution: Distribution,
    ) -> ImageVerdict {
        self(image, controller, distribution)
    }
}

/// Which rules run.
#[derive(Clone, Copy, Default)]
pub struct Options<'a> {
    /// Also the multi-tenancy set.
    pub multi_tenant: bool,
    /// Also `images/signature`, with this checker.
    pub image_checker: Option<&'a dyn ImageChecker>,
    /// Also the pod-security rules on every container of every workload
    /// (Deployments, StatefulSets, DaemonSets, ReplicaSets, Pods, Jobs,
    /// CronJobs; init containers included), not only on Flux controllers.
    pub all_workloads: bool,
}

/// The distinct images of the Flux controller containers in `objects`
/// (first occurrence first), for a caller that verifies them ahead of an
/// audit (e.g. concurrently, on its own runtime) and answers the
/// [`ImageChecker`] from its results.
pub fn controller_images(objects: &[Manifest]) -> Vec<(String, Controller, Distribution)> {
    let workloads: Vec<controller::Workload<'_>> =
        objects.iter().filter_map(controller::workload).collect();
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for w in &workloads {
        for c in controller::controller_containers(w) {
            if seen.insert(c.image.to_string()) {
                out.push((c.image.to_string(), c.controller, c.distribution));
            }
        }
    }
    out
}

/// Audit objects that have no file behind them (e.g. one Deployment from an
/// admission request).
pub fn audit_objects(objects: &[serde_json::Value], options: &Options<'_>) -> Report {
    let manifests: Vec<Manifest> = objects.iter().cloned().map(Manifest::from_value).collect();
    audit(&manifests, options)
}

/// Audit manifests (as read by [`load`]).
pub fn audit(objects: &[Manifest], options: &Options<'_>) -> Report {
    let mut report = Report {
        objects: objects.len(),
        rules: RULES
            .iter()
            .filter(|r| match r.set {
                RuleSet::Default => true,
                RuleSet::MultiTenant => options.multi_tenant,
                RuleSet::Images => options.image_checker.is_some(),
            })
            .map(|r| r.id)
            .collect(),
        ..Report::default()
    };
    let workloads: Vec<controller::Workload<'_>> =
        objects.iter().filter_map(controller::workload).collect();
    let containers: Vec<controller::ControllerContainer<'_>> = workloads
        .iter()
        .flat_map(controller::controller_containers)
        .collect();
    let helm_repos = checks::sources::oci_helm_repositories(objects);

    let mut ctx = Ctx {
        report: &mut report,
    };
    for c in &containers {
        checks::containers::check_flags(&mut ctx, c, options.multi_tenant);
        checks::containers::check_pod_security(&mut ctx, &c.into());
    }
    let any: Vec<controller::Workload<'_>> = if options.all_workloads {
        objects.iter().filter_map(workloads::any_workload).collect()
    } else {
        Vec::new()
    };
    for w in &any {
        let controllers: Vec<usize> = controller::controller_containers(w)
            .iter()
            .map(|c| c.index)
            .collect();
        for pc in workloads::pod_containers(w) {
            // Controller containers were checked above.
            if pc.list == "containers" && controllers.contains(&pc.index) {
                continue;
            }
            checks::containers::check_pod_security(&mut ctx, &pc);
        }
    }
    for m in objects {
        checks::sources::check_secret(&mut ctx, m);
        checks::sources::check_source(&mut ctx, m, &helm_repos);
    }
    if options.multi_tenant {
        checks::sharding::check(&mut ctx, &containers);
        checks::network::check(&mut ctx, objects, &containers);
    }
    if let Some(checker) = options.image_checker {
        checks::images::check(&mut ctx, checker, &containers);
    }
    report.controllers = containers
        .iter()
        .map(|c| ControllerSeen {
            controller: c.controller,
            object: ObjectRef::of(c.workload.manifest),
            container: c.name.to_string(),
            image: c.image.to_string(),
        })
        .collect();
    // Report order: severity, then rule, object and container.
    fn key(f: &Finding) -> impl Ord + '_ {
        (
            std::cmp::Reverse(f.severity),
            f.rule,
            (&f.object.kind, &f.object.namespace, &f.object.name),
            &f.container,
        )
    }
    let order = |a: &Finding, b: &Finding| key(a).cmp(&key(b));
    report.findings.sort_by(order);
    report.passed.sort_by(order);
    report
}

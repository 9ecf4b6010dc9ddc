//! Recognising Flux controllers among workloads.
//!
//! A container is a Flux controller when its image is
//! `[REGISTRY/]…/fluxcd/<controller>[:tag][@digest]` (upstream Flux on GHCR,
//! Docker Hub, or a mirror keeping the path, and ControlPlane's AWS
//! Marketplace images `…/controlplane/fluxcd/<controller>`) or
//! `ghcr.io/controlplaneio-fluxcd/<channel>/<controller>` (the ControlPlane
//! distribution: `distroless`, `distroless-fips`, `alpine`). A workload whose
//! `app` label names a controller (the label Flux's manifests set) is one
//! too, even with an image from elsewhere: then its container named
//! `manager`, or its only container, is the controller.

use serde::Serialize;
use serde_json::Value;

use crate::load::Manifest;

/// The Flux controllers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Controller {
    SourceController,
    KustomizeController,
    HelmController,
    NotificationController,
    ImageReflectorController,
    ImageAutomationController,
    SourceWatcher,
}

impl Controller {
    /// Every controller.
    pub const ALL: [Controller; 7] = [
        Self::SourceController,
        Self::KustomizeController,
        Self::HelmController,
        Self::NotificationController,
        Self::ImageReflectorController,
        Self::ImageAutomationController,
        Self::SourceWatcher,
    ];

    /// The controller's name, as in its image and `app` label.
    pub fn name(self) -> &'static str {
        match self {
            Self::SourceController => "source-controller",
            Self::KustomizeController => "kustomize-controller",
            Self::HelmController => "helm-controller",
            Self::NotificationController => "notification-controller",
            Self::ImageReflectorController => "image-reflector-controller",
            Self::ImageAutomationController => "image-automation-controller",
            Self::SourceWatcher => "source-watcher",
        }
    }

    /// The controller named `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }
}

/// Who builds and signs a controller image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Distribution {
    /// The Flux project (`github.com/fluxcd`).
    Upstream,
    /// ControlPlane's enterprise distribution (`github.com/controlplaneio-fluxcd`).
    ControlPlane,
    /// Unknown: recognised by its `app` label only.
    Unknown,
}

/// The repository path of an image reference, without tag and digest.
fn repository_path(image: &str) -> &str {
    let no_digest = image.split('@').next().unwrap_or(image);
    match no_digest.rfind(':') {
        // A colon after the last slash is a tag; before it, a registry port.
        Some(i) if !no_digest[i..].contains('/') => &no_digest[..i],
        _ => no_digest,
    }
}

/// The controller an image is, and its distribution.
pub fn from_image(image: &str) -> Option<(Controller, Distribution)> {
    let segments: Vec<&str> = repository_path(image).split('/').collect();
    let (last, parents) = segments.split_last()?;
    let controller = Controller::from_name(last)?;
    if parents.contains(&"controlplaneio-fluxcd") {
        return Some((controller, Distribution::ControlPlane));
    }
    match parents {
        [.., "controlplane", "fluxcd"] => Some((controller, Distribution::ControlPlane)),
        [.., "fluxcd"] => Some((controller, Distribution::Upstream)),
        _ => None,
    }
}

/// A workload (Deployment, StatefulSet, DaemonSet, ReplicaSet or Pod) and
/// its pod spec.
pub struct Workload<'a> {
    pub manifest: &'a Manifest,
    pub kind: &'a str,
    pub name: &'a str,
    pub namespace: &'a str,
    pub pod_spec: &'a Value,
    /// Pointer of the pod spec in the object (`/spec/template/spec`).
    pub pod_pointer: &'static str,
    /// False for a Pod or ReplicaSet owned by another object (its owner is
    /// the instance that counts for sharding).
    pub top_level: bool,
}

/// One controller container of a workload.
pub struct ControllerContainer<'a> {
    pub workload: &'a Workload<'a>,
    pub controller: Controller,
    pub distribution: Distribution,
    pub index: usize,
    pub container: &'a Value,
    pub name: &'a str,
    pub image: &'a str,
}

impl ControllerContainer<'_> {
    /// The container's pointer in its object.
    pub fn pointer(&self) -> String {
        format!("{}/containers/{}", self.workload.pod_pointer, self.index)
    }
}

/// The workload view of `manifest`, whose pod spec is `pod_spec` at
/// `pod_pointer`; name and namespace from its metadata.
pub(crate) fn workload_at<'a>(
    manifest: &'a Manifest,
    kind: &'a str,
    pod_spec: &'a Value,
    pod_pointer: &'static str,
    top_level: bool,
) -> Workload<'a> {
    let meta = manifest.object.get("metadata");
    let str_at = |k: &str| {
        meta.and_then(|m| m.get(k))
            .and_then(Value::as_str)
            .unwrap_or_default()
    };
    Workload {
        manifest,
        kind,
        name: str_at("name"),
        namespace: str_at("namespace"),
        pod_spec,
        pod_pointer,
        top_level,
    }
}

/// The workload view of an object, if it is one.
pub fn workload(manifest: &Manifest) -> Option<Workload<'_>> {
    let obj = &manifest.object;
    let kind = obj.get("kind")?.as_str()?;
    let api_version = obj
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let (pod_spec, pod_pointer) = match kind {
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet"
            if api_version.starts_with("apps/") || api_version.starts_with("extensions/") =>
        {
            (obj.pointer("/spec/template/spec")?, "/spec/template/spec")
        }
        "Pod" if api_version == "v1" => (obj.get("spec")?, "/spec"),
        _ => return None,
    };
    Some(workload_at(
        manifest,
        kind,
        pod_spec,
        pod_pointer,
        !owned(obj),
    ))
}

/// Whether an object names an owner (a ReplicaSet's Deployment, a Pod's
/// ReplicaSet, a Job's CronJob): then its owner is the instance that counts.
pub(crate) fn owned(obj: &Value) -> bool {
    obj.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .is_some_and(|o| !o.is_empty())
}

/// The `app` label of the pod template (else of the object).
fn app_label(w: &Workload<'_>) -> Option<Controller> {
    let obj = &w.manifest.object;
    let template_labels = if w.kind == "Pod" {
        obj.pointer("/metadata/labels")
    } else {
        obj.pointer("/spec/template/metadata/labels")
    };
    [template_labels, obj.pointer("/metadata/labels")]
        .into_iter()
        .flatten()
        .find_map(|l| l.get("app").and_then(Value::as_str))
        .and_then(Controller::from_name)
}

/// The controller containers of a workload.
pub fn controller_containers<'a>(w: &'a Workload<'a>) -> Vec<ControllerContainer<'a>> {
    let containers: Vec<&Value> = w
        .pod_spec
        .get("containers")
        .and_then(Value::as_array)
        .map(|c| c.iter().collect())
        .unwrap_or_default();
    let make = |index: usize, controller, distribution| {
        let container = containers[index];
        ControllerContainer {
            workload: w,
            controller,
            distribution,
            index,
            container,
            name: container
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default(),
            image: container
                .get("image")
                .and_then(Value::as_str)
                .unwrap_or_default(),
        }
    };
    let by_image: Vec<ControllerContainer<'a>> = containers
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            let image = c.get("image").and_then(Value::as_str)?;
            let (controller, distribution) = from_image(image)?;
            Some(make(i, controller, distribution))
        })
        .collect();
    if !by_image.is_empty() {
        return by_image;
    }
    let Some(controller) = app_label(w) else {
        return Vec::new();
    };
    let index = containers
        .iter()
        .position(|c| c.get("name").and_then(Value::as_str) == Some("manager"))
        .or((containers.len() == 1).then_some(0));
    index
        .map(|i| vec![make(i, controller, Distribution::Unknown)])
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images() {
        use Controller::*;
        use Distribution::*;
        let cases = [
            ("ghcr.io/fluxcd/source-controller:v1.9.4", Some((SourceController, Upstream))),
            ("fluxcd/helm-controller", Some((HelmController, Upstream))),
            ("docker.io/fluxcd/kustomize-controller@sha256:abcd", Some((KustomizeController, Upstream))),
            ("registry.local:5000/mirror/fluxcd/notification-controller:v1.2.3@sha256:ab", Some((NotificationController, Upstream))),
            ("ghcr.io/controlplaneio-fluxcd/distroless/source-controller:v1.5.0", Some((SourceController, ControlPlane))),
            ("ghcr.io/controlplaneio-fluxcd/alpine/image-reflector-controller:v0.33.0", Some((ImageReflectorController, ControlPlane))),
            ("709825985650.dkr.ecr.us-east-1.amazonaws.com/controlplane/fluxcd/helm-controller:v1", Some((HelmController, ControlPlane))),
            ("ghcr.io/fluxcd/flux-cli:v2.0.0", None),
            ("ghcr.io/acme/source-controller:v1", None),
            ("source-controller", None),
            ("localhost:5000/fluxcd/source-watcher", Some((SourceWatcher, Upstream))),
        ];
        for (image, want) in cases {
            assert_eq!(from_image(image), want, "{image}");
        }
    }
}

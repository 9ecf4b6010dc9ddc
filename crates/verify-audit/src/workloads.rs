//! Any workload's containers, Flux controller or not, for the pod-security
//! rules ([`crate::Options::all_workloads`]).
//!
//! A Flux installation is audited for its controllers; the same
//! pod-security rules are worth checking on every workload next to them
//! (this project's own webhook, an operator's add-ons). Here every
//! container of a workload counts, init containers included, since the
//! restricted Pod Security Standard applies to them too.

use serde_json::Value;

use crate::controller::{self, ControllerContainer, Workload};
use crate::load::Manifest;

/// One container of a workload.
pub struct PodContainer<'a> {
    /// Its workload.
    pub workload: &'a Workload<'a>,
    /// `containers` or `initContainers`.
    pub list: &'static str,
    /// Its index in that list.
    pub index: usize,
    /// The container object.
    pub container: &'a Value,
    /// Its name.
    pub name: &'a str,
}

impl PodContainer<'_> {
    /// The container's pointer in its object.
    pub fn pointer(&self) -> String {
        format!("{}/{}/{}", self.workload.pod_pointer, self.list, self.index)
    }
}

impl<'a> From<&ControllerContainer<'a>> for PodContainer<'a> {
    fn from(c: &ControllerContainer<'a>) -> Self {
        Self {
            workload: c.workload,
            list: "containers",
            index: c.index,
            container: c.container,
            name: c.name,
        }
    }
}

/// The workload view of any object that runs pods: the kinds
/// [`controller::workload`] knows, and batch Jobs and CronJobs.
pub fn any_workload(manifest: &Manifest) -> Option<Workload<'_>> {
    if let Some(w) = controller::workload(manifest) {
        return Some(w);
    }
    let obj = &manifest.object;
    let kind = obj.get("kind")?.as_str()?;
    let api_version = obj.get("apiVersion").and_then(Value::as_str)?;
    if !api_version.starts_with("batch/") {
        return None;
    }
    let pod_pointer = match kind {
        "Job" => "/spec/template/spec",
        "CronJob" => "/spec/jobTemplate/spec/template/spec",
        _ => return None,
    };
    let pod_spec = obj.pointer(pod_pointer)?;
    Some(controller::workload_at(
        manifest,
        kind,
        pod_spec,
        pod_pointer,
        !controller::owned(obj),
    ))
}

/// Every container of `w`: `containers`, then `initContainers`.
pub fn pod_containers<'a>(w: &'a Workload<'a>) -> Vec<PodContainer<'a>> {
    let mut out = Vec::new();
    for list in ["containers", "initContainers"] {
        let Some(items) = w.pod_spec.get(list).and_then(Value::as_array) else {
            continue;
        };
        for (index, container) in items.iter().enumerate() {
            out.push(PodContainer {
                workload: w,
                list,
                index,
                container,
                name: container
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
            });
        }
    }
    out
}

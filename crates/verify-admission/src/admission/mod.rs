//! The AdmissionReview (`admission.k8s.io/v1`) model and what a request
//! asks the webhook to check.
//!
//! The envelope types are kube's (`kube::core::admission`); the object is
//! kept as JSON (`DynamicObject`) so that every kind, and fields newer than
//! the Kubernetes types compiled in (image volumes), are read the same way.

pub mod images;

use kube::core::admission::{AdmissionRequest, AdmissionReview, Operation};
use kube::core::DynamicObject;
use serde_json::Value;

pub use images::{Field, ImageUse, ImagesError};

/// The only AdmissionReview version served (the webhook configurations ask for it).
pub const API_VERSION: &str = "admission.k8s.io/v1";

/// Why a body is not an AdmissionReview this webhook can answer (HTTP 400).
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// Not JSON of the AdmissionReview shape.
    #[error("the body is not an AdmissionReview: {0}")]
    Json(#[from] serde_json::Error),
    /// Another apiVersion or kind.
    #[error("expected kind AdmissionReview, apiVersion {API_VERSION}; got kind {kind:?}, apiVersion {api_version:?}")]
    Version {
        /// `apiVersion` found.
        api_version: String,
        /// `kind` found.
        kind: String,
    },
    /// No `request`.
    #[error("the AdmissionReview has no request")]
    NoRequest,
    /// No `request.uid`.
    #[error("the AdmissionReview request has no uid")]
    NoUid,
}

/// Parse an AdmissionReview body.
pub fn parse(body: &[u8]) -> Result<AdmissionRequest<DynamicObject>, ParseError> {
    let review: AdmissionReview<DynamicObject> = serde_json::from_slice(body)?;
    if review.types.api_version != API_VERSION || review.types.kind != "AdmissionReview" {
        return Err(ParseError::Version {
            api_version: review.types.api_version,
            kind: review.types.kind,
        });
    }
    let request: AdmissionRequest<DynamicObject> =
        review.try_into().map_err(|_| ParseError::NoRequest)?;
    if request.uid.is_empty() {
        return Err(ParseError::NoUid);
    }
    Ok(request)
}

/// Why a request is admitted without looking at its images.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Skip {
    /// DELETE (and CONNECT): never blocked, a registry outage must not stop finalizers.
    Operation,
    /// The object already has a `deletionTimestamp`.
    BeingDeleted,
    /// A kind that runs no pods.
    OtherKind,
    /// A subresource other than `pods/ephemeralcontainers` (status, scale, ...).
    Subresource,
    /// An UPDATE that runs no image `oldObject` did not already run.
    Unchanged,
}

impl Skip {
    /// Stable name for logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Operation => "operation",
            Self::BeingDeleted => "being-deleted",
            Self::OtherKind => "other-kind",
            Self::Subresource => "subresource",
            Self::Unchanged => "unchanged",
        }
    }
}

/// What one request asks: the images to check, with what is needed around them.
#[derive(Debug, Clone)]
pub struct Plan {
    /// `kind.kind`.
    pub kind: String,
    /// The object's namespace ("" for cluster-scoped).
    pub namespace: String,
    /// The object's name (may be empty when generated).
    pub name: String,
    /// CREATE, UPDATE, ...
    pub operation: Operation,
    /// Admitted unchecked, and why.
    pub skip: Option<Skip>,
    /// The images to check.
    pub images: Vec<ImageUse>,
    /// The pod spec (for imagePullSecrets and the ServiceAccount).
    pub pod_spec: Value,
    /// A ReplicaSet owned by a Deployment (never mutated).
    pub owned_by_deployment: bool,
}

/// Work out which images `request` asks about.
pub fn plan(request: &AdmissionRequest<DynamicObject>) -> Result<Plan, ImagesError> {
    let kind = request.kind.kind.clone();
    let namespace = request.namespace.clone().unwrap_or_default();
    let object = request.object.as_ref();
    let name = object
        .and_then(|o| o.metadata.name.clone())
        .filter(|n| !n.is_empty())
        .or_else(|| object.and_then(|o| o.metadata.generate_name.clone()))
        .unwrap_or_else(|| request.name.clone());
    let mut plan = Plan {
        kind,
        namespace,
        name,
        operation: request.operation.clone(),
        skip: None,
        images: Vec::new(),
        pod_spec: Value::Null,
        owned_by_deployment: false,
    };
    let spec_pointer = pod_spec_pointer(request);
    plan.skip = match (&request.operation, object, spec_pointer) {
        (Operation::Delete | Operation::Connect, _, _) => Some(Skip::Operation),
        (_, Some(o), _) if o.metadata.deletion_timestamp.is_some() => Some(Skip::BeingDeleted),
        (_, _, Err(skip)) => Some(skip),
        (_, None, _) => Some(Skip::OtherKind),
        _ => None,
    };
    let (Some(object), Ok(spec_pointer)) = (object, spec_pointer) else {
        return Ok(plan);
    };
    if plan.skip.is_some() {
        return Ok(plan);
    }
    plan.owned_by_deployment = plan.kind == "ReplicaSet"
        && object
            .metadata
            .owner_references
            .iter()
            .flatten()
            .any(|o| o.kind == "Deployment" && o.api_version.starts_with("apps/"));
    plan.pod_spec = object
        .data
        .pointer(spec_pointer)
        .cloned()
        .unwrap_or(Value::Null);
    let mut found = images::images(&object.data, spec_pointer)?;
    if request.operation == Operation::Update {
        if let Some(old) = &request.old_object {
            let old = images::images(&old.data, spec_pointer)?;
            found = images::changed(found, &old);
            if found.is_empty() {
                plan.skip = Some(Skip::Unchanged);
            }
        }
    }
    plan.images = found;
    Ok(plan)
}

/// The pod spec's pointer for this request, or why there is none to check.
fn pod_spec_pointer(request: &AdmissionRequest<DynamicObject>) -> Result<&'static str, Skip> {
    let kind = &request.kind;
    match request.sub_resource.as_deref() {
        None | Some("") => {}
        Some("ephemeralcontainers") if kind.group.is_empty() && kind.kind == "Pod" => {}
        Some(_) => return Err(Skip::Subresource),
    }
    images::pod_spec_pointer(&kind.group, &kind.kind).ok_or(Skip::OtherKind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn review(operation: &str, object: Value, old: Value, sub: Option<&str>) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {
                "uid": "u1",
                "kind": {"group": "", "version": "v1", "kind": "Pod"},
                "resource": {"group": "", "version": "v1", "resource": "pods"},
                "subResource": sub,
                "requestKind": {"group": "", "version": "v1", "kind": "Pod"},
                "name": "p", "namespace": "ns", "operation": operation,
                "userInfo": {"username": "u"},
                "object": object, "oldObject": old, "dryRun": false,
            }
        }))
        .unwrap()
    }

    fn pod(images: &[&str]) -> Value {
        let containers: Vec<_> = images
            .iter()
            .enumerate()
            .map(|(i, im)| json!({"name": format!("c{i}"), "image": im}))
            .collect();
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "ns"},
               "spec": {"containers": containers}})
    }

    #[test]
    fn bad_bodies() {
        assert!(matches!(parse(b"{"), Err(ParseError::Json(_))));
        let v1beta1 = br#"{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview"}"#;
        assert!(matches!(parse(v1beta1), Err(ParseError::Version { .. })));
        let empty = br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}"#;
        assert!(matches!(parse(empty), Err(ParseError::NoRequest)));
    }

    #[test]
    fn delete_and_update() {
        let r = parse(&review("DELETE", Value::Null, pod(&["a"]), None)).unwrap();
        assert_eq!(plan(&r).unwrap().skip, Some(Skip::Operation));
        let r = parse(&review("UPDATE", pod(&["a"]), pod(&["a"]), None)).unwrap();
        assert_eq!(plan(&r).unwrap().skip, Some(Skip::Unchanged));
        let r = parse(&review("UPDATE", pod(&["a", "b"]), pod(&["a"]), None)).unwrap();
        let p = plan(&r).unwrap();
        assert_eq!(p.skip, None);
        assert_eq!(p.images.len(), 1);
        let r = parse(&review("UPDATE", pod(&["b"]), pod(&["a"]), Some("status"))).unwrap();
        assert_eq!(plan(&r).unwrap().skip, Some(Skip::Subresource));
        let mut gone = pod(&["b"]);
        gone["metadata"]["deletionTimestamp"] = json!("2025-01-01T00:00:00Z");
        let r = parse(&review("UPDATE", gone, pod(&["a"]), None)).unwrap();
        assert_eq!(plan(&r).unwrap().skip, Some(Skip::BeingDeleted));
    }
}

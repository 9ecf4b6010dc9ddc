//! Which images an object runs, and where in the object each is written.
//!
//! Every workload kind the issue lists carries one pod spec, at a path that
//! depends on the kind; in it, images are in `containers[].image`,
//! `initContainers[].image`, `ephemeralContainers[].image` and image
//! volumes (`volumes[].image.reference`, Kubernetes 1.31+). The JSON
//! pointer of each is kept so that the mutating endpoint can patch it.

use serde_json::Value;

/// Where a pod spec sits in an object of `group`/`kind`, as a JSON pointer;
/// `None` for kinds that run no pods.
pub fn pod_spec_pointer(group: &str, kind: &str) -> Option<&'static str> {
    match (group, kind) {
        ("", "Pod") => Some("/spec"),
        ("", "ReplicationController")
        | ("apps", "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet")
        | ("batch", "Job") => Some("/spec/template/spec"),
        ("batch", "CronJob") => Some("/spec/jobTemplate/spec/template/spec"),
        _ => None,
    }
}

/// The pod-spec field an image is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Field {
    /// `containers[].image`.
    Container,
    /// `initContainers[].image`.
    InitContainer,
    /// `ephemeralContainers[].image`.
    EphemeralContainer,
    /// `volumes[].image.reference`.
    ImageVolume,
}

/// One image reference in an object.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImageUse {
    /// The reference as written.
    pub image: String,
    /// JSON pointer of the string in the object.
    pub pointer: String,
    /// Which field.
    pub field: Field,
    /// The container's or volume's name.
    pub name: String,
}

/// Why an object's images cannot be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ImagesError {
    /// A field that must be a list, an object or a string is not.
    #[error("{pointer}: expected {expected}")]
    Shape {
        /// Where.
        pointer: String,
        /// What was expected there.
        expected: &'static str,
    },
}

/// Every image in the pod spec at `spec_pointer` of `object`, in the order
/// init containers, containers, ephemeral containers, image volumes. A
/// missing pod spec or list is no image; a container without an image is
/// skipped (the API server's validation refuses it anyway), but a field of
/// the wrong type is an error: the webhook must not admit what it could
/// not read.
pub fn images(object: &Value, spec_pointer: &str) -> Result<Vec<ImageUse>, ImagesError> {
    let Some(spec) = object.pointer(spec_pointer) else {
        return Ok(Vec::new());
    };
    if spec.is_null() {
        return Ok(Vec::new());
    }
    if !spec.is_object() {
        return Err(shape(spec_pointer.to_string(), "an object (pod spec)"));
    }
    let mut out = Vec::new();
    for (list, field) in [
        ("initContainers", Field::InitContainer),
        ("containers", Field::Container),
        ("ephemeralContainers", Field::EphemeralContainer),
    ] {
        for (i, item) in items(spec, spec_pointer, list)? {
            let pointer = format!("{spec_pointer}/{list}/{i}");
            let name = string_at(item, &pointer, "name")?.unwrap_or_default();
            if let Some(image) = string_at(item, &pointer, "image")? {
                out.push(ImageUse {
                    image,
                    pointer: format!("{pointer}/image"),
                    field,
                    name,
                });
            }
        }
    }
    for (i, volume) in items(spec, spec_pointer, "volumes")? {
        let pointer = format!("{spec_pointer}/volumes/{i}");
        let Some(source) = volume.get("image").filter(|v| !v.is_null()) else {
            continue;
        };
        let name = string_at(volume, &pointer, "name")?.unwrap_or_default();
        if let Some(image) = string_at(source, &format!("{pointer}/image"), "reference")? {
            out.push(ImageUse {
                image,
                pointer: format!("{pointer}/image/reference"),
                field: Field::ImageVolume,
                name,
            });
        }
    }
    Ok(out)
}

/// The images of `new` that `old` does not run (compared by reference as
/// written, in any field): on UPDATE only these are checked, so that an
/// unrelated change (a label, a replica count) to a workload admitted
/// earlier is not blocked by a registry outage.
pub fn changed(new: Vec<ImageUse>, old: &[ImageUse]) -> Vec<ImageUse> {
    new.into_iter()
        .filter(|n| !old.iter().any(|o| o.image == n.image))
        .collect()
}

fn items<'a>(
    spec: &'a Value,
    spec_pointer: &str,
    list: &str,
) -> Result<Vec<(usize, &'a Value)>, ImagesError> {
    match spec.get(list) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                if !item.is_object() {
                    return Err(shape(format!("{spec_pointer}/{list}/{i}"), "an object"));
                }
            }
            Ok(items.iter().enumerate().collect())
        }
        Some(_) => Err(shape(format!("{spec_pointer}/{list}"), "a list")),
    }
}

fn string_at(item: &Value, pointer: &str, key: &str) -> Result<Option<String>, ImagesError> {
    match item.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(shape(format!("{pointer}/{key}"), "a string")),
    }
}

fn shape(pointer: String, expected: &'static str) -> ImagesError {
    ImagesError::Shape { pointer, expected }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_field_with_its_pointer() {
        let pod = json!({"spec": {
            "initContainers": [{"name": "init", "image": "busybox"}],
            "containers": [{"name": "app", "image": "ghcr.io/a/b:v1"}],
            "ephemeralContainers": [{"name": "debug", "image": "debian"}],
            "volumes": [{"name": "cfg", "configMap": {"name": "x"}},
                        {"name": "data", "image": {"reference": "ghcr.io/a/data:v2"}}],
        }});
        let found = images(&pod, "/spec").unwrap();
        let pointers: Vec<_> = found.iter().map(|u| u.pointer.as_str()).collect();
        assert_eq!(
            pointers,
            [
                "/spec/initContainers/0/image",
                "/spec/containers/0/image",
                "/spec/ephemeralContainers/0/image",
                "/spec/volumes/1/image/reference"
            ]
        );
        assert_eq!(found[3].image, "ghcr.io/a/data:v2");
        assert_eq!(found[3].field, Field::ImageVolume);
    }

    #[test]
    fn wrong_types_are_errors_not_admits() {
        let pod = json!({"spec": {"containers": {"name": "x"}}});
        assert!(images(&pod, "/spec").is_err());
        let pod = json!({"spec": {"containers": [{"name": "x", "image": 3}]}});
        assert_eq!(
            images(&pod, "/spec").unwrap_err(),
            ImagesError::Shape {
                pointer: "/spec/containers/0/image".into(),
                expected: "a string"
            }
        );
    }

    #[test]
    fn cronjob_path_and_update_diff() {
        assert_eq!(
            pod_spec_pointer("batch", "CronJob"),
            Some("/spec/jobTemplate/spec/template/spec")
        );
        assert_eq!(pod_spec_pointer("", "ConfigMap"), None);
        let old = images(
            &json!({"spec": {"containers": [{"name": "a", "image": "x:1"}]}}),
            "/spec",
        )
        .unwrap();
        let new = images(
            &json!({"spec": {"containers": [{"name": "a", "image": "x:1"}, {"name": "b", "image": "y:1"}]}}),
            "/spec",
        )
        .unwrap();
        let changed = changed(new, &old);
        assert_eq!(changed.len(), 1);
        assert_eq!(changed[0].image, "y:1");
    }
}

//! The mutating endpoint: a JSONPatch pinning each admitted image to the
//! digest that was verified (`name:tag@sha256:...`), so that kubelet pulls
//! exactly that.
//!
//! - CREATE only: an UPDATE that re-pinned images would fight controllers.
//! - Never denies: the validating webhook decides; here a check that fails
//!   or runs out of time only means no patch for that image.
//! - Never patches a ReplicaSet owned by a Deployment: the Deployment
//!   controller would see its template differ and roll a new ReplicaSet
//!   forever (policy-controller#1105). The Deployment itself is pinned.
//! - Idempotent (`reinvocationPolicy: IfNeeded`): an image already carrying
//!   a digest is left alone, so a second invocation patches nothing.
//! - A policy can opt out (`pin_digest: false`); an image is pinned only
//!   when every policy that matched it allows it.

use json_patch::jsonptr::PointerBuf;
use json_patch::{Patch, PatchOperation, ReplaceOperation};

use crate::verify::ImageCheck;

/// The patch for `checks`: one `replace` per admitted, unpinned image.
pub fn patch(checks: &[ImageCheck]) -> Patch {
    let mut ops = Vec::new();
    for check in checks {
        if !check.allowed || !check.verdict.pin_digest || check.image.image.contains('@') {
            continue;
        }
        let Some(digest) = &check.digest else {
            continue;
        };
        let Ok(path) = PointerBuf::parse(check.image.pointer.clone()) else {
            continue;
        };
        ops.push(PatchOperation::Replace(ReplaceOperation {
            path,
            value: serde_json::Value::String(format!("{}@{digest}", check.image.image)),
        }));
    }
    Patch(ops)
}

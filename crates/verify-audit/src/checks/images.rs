//! `images/signature`: each controller image verified by the injected
//! [`ImageChecker`](crate::ImageChecker), once per distinct image.

use std::collections::HashMap;

use super::Ctx;
use crate::controller::ControllerContainer;
use crate::{ImageChecker, ImageVerdict};

pub(crate) fn check(
    ctx: &mut Ctx<'_>,
    checker: &dyn ImageChecker,
    containers: &[ControllerContainer<'_>],
) {
    let mut verdicts: HashMap<&str, ImageVerdict> = HashMap::new();
    for c in containers {
        let verdict = verdicts
            .entry(c.image)
            .or_insert_with(|| checker.check(c.image, c.controller, c.distribution));
        let (passed, evidence) = match verdict {
            ImageVerdict::Verified { detail } => (true, format!("{}: {detail}", c.image)),
            ImageVerdict::Failed { reason } => (false, format!("{}: {reason}", c.image)),
        };
        let pointer = format!("{}/image", c.pointer());
        ctx.record(
            "images/signature",
            c.workload.manifest,
            Some(c.name),
            &pointer,
            passed,
            evidence,
        );
    }
}

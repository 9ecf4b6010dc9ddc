//! What the server relies on: shared values are `Send + Sync`, the
//! evaluation future is `Send` (it can be spawned on a multi-threaded
//! runtime), and an empty policy list admits.

mod common;

use common::*;
use verify_policy::{
    evaluate, Decision, EvalContext, ImageAtDigest, Policy, PolicySet, TrustRoots,
};

fn send_sync<T: Send + Sync>() {}
fn send<T: Send>(_: &T) {}

#[test]
fn shared_types_are_send_and_sync_and_evaluation_is_a_send_future() {
    send_sync::<PolicySet>();
    send_sync::<Policy>();
    send_sync::<TrustRoots>();
    send_sync::<Decision>();
    let w = World::new();
    let mut layout = Layout::new();
    let image = layout.image("v1", "linux", "amd64");
    let source = layout.source();
    let ctx = EvalContext {
        trust_roots: &w.roots,
        source: &source,
        tlog: None,
        secrets_dir: None,
    };
    let image = ImageAtDigest {
        reference: "registry.test/app:v1".into(),
        digest: image.artifact(),
    };
    let future = evaluate(&[], &image, &ctx);
    send(&future);
    let d = block_on(future);
    assert!(d.allowed && d.outcomes.is_empty() && d.warnings.is_empty());
}

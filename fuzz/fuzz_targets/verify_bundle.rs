//! Bytes as a bundle, verified end to end against the committed example's
//! trusted root and artifact (`testdata/example/`), with both an identity
//! policy and a key policy: every outcome must be a verdict or a typed
//! error, never a panic. Fixed inputs keep crashes reproducible.

#![no_main]
#![forbid(unsafe_code)]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use verify_core::identity::{IdentityPolicy, KeyPolicy, StringMatcher};
use verify_core::{Artifact, Limits, Policy, TrustRoot, Verifier};

const TRUSTED_ROOT: &[u8] = include_bytes!("../../testdata/example/trusted_root.json");
const ARTIFACT: &[u8] = include_bytes!("../../testdata/example/artifact");
const IDENTITY: &str = include_str!("../../testdata/example/identity.txt");
const KEY: &str = include_str!("../../testdata/example/key.pub");

struct Fixture {
    verifier: Verifier,
    policies: [Policy; 2],
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let root = TrustRoot::from_json(TRUSTED_ROOT, &Limits::default())
            .expect("the example trusted root loads");
        let mut lines = IDENTITY.lines();
        let identity = lines.next().expect("identity line").trim();
        let issuer = lines.next().expect("issuer line").trim();
        Fixture {
            verifier: Verifier::new(root).expect("verifier builds"),
            policies: [
                Policy::Identity(IdentityPolicy::new(
                    StringMatcher::exact(identity),
                    StringMatcher::exact(issuer),
                )),
                Policy::Key(KeyPolicy::from_pem(KEY).expect("the example key parses")),
            ],
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let fixture = fixture();
    for policy in &fixture.policies {
        let _ = fixture
            .verifier
            .verify_bundle(data, Artifact::Bytes(ARTIFACT), policy);
    }
});

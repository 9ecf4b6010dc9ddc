//! Bytes as a `trusted_root.json`: parsing, the `validFor` windows, the log
//! keys and the certificate-chain checks must return a root or a typed error,
//! never panic. A root that loads must also build a verifier.

#![no_main]
#![forbid(unsafe_code)]

use libfuzzer_sys::fuzz_target;
use verify_core::{Limits, TrustRoot, Verifier};

fuzz_target!(|data: &[u8]| {
    if let Ok(root) = TrustRoot::from_json(data, &Limits::default()) {
        let _ = Verifier::new(root);
    }
});

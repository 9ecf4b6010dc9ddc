//! Bytes as a Sigstore bundle: the size check, the UTF-8 check, the media
//! type pre-parse and the typed parse must return a value or a typed error,
//! never panic. A bundle that parses is also bound to a fixed artifact digest
//! (message digest / DSSE subjects), the first check run on parsed bundles.

#![no_main]
#![forbid(unsafe_code)]

use libfuzzer_sys::fuzz_target;
use verify_core::{artifact, bundle, ArtifactDigest, Limits};

fuzz_target!(|data: &[u8]| {
    let limit = Limits::default().max_bundle_bytes;
    if let Ok(parsed) = bundle::parse(data, limit) {
        let _ = artifact::check_binding(&parsed, &ArtifactDigest::of(b"artifact"));
        let _ = parsed.signing_certificate();
    }
});

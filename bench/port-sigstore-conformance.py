#!/usr/bin/env python3
"""Adapt sigstore-rust's conformance client (crates/sigstore-conformance/src/main.rs, written
against sigstore-* 0.11) to the 0.15 APIs verify-core builds on, for bench/cli.sh only.

The verify-bundle path keeps its logic; only renamed calls change (verify_with_key -> verify
with a PublicKeyVerificationPolicy, Sha256Hash::try_from_slice -> from_hex,
VerificationPolicy::default().require_* -> VerificationPolicy::new). sign-bundle, whose
API changed completely and which the bench never calls, returns an error. Every edit must
apply, or this fails (upstream changed: look again rather than time something else).

usage: port-sigstore-conformance.py MAIN_RS   (edited in place)
"""
import sys

path = sys.argv[1]
s = open(path).read()


def sub(old, new):
    global s
    if old not in s:
        sys.exit(f"port-sigstore-conformance.py: expected text not found in {path}: {old[:60]!r}")
    s = s.replace(old, new)


def cut(start, end, new):
    global s
    i = s.find(start)
    j = s.find(end, i)
    if i < 0 or j < 0:
        sys.exit(f"port-sigstore-conformance.py: expected text not found in {path}: {start[:60]!r}")
    s = s[:i] + new + s[j:]


sub("use sigstore_oidc::IdentityToken;\n", "")
sub("use sigstore_sign::{SigningConfig as SignerSigningConfig, SigningContext};\n", "")
sub("use sigstore_trust_root::{\n    SigningConfig as TufSigningConfig, TrustedRoot, SIGSTORE_PRODUCTION_TRUSTED_ROOT,\n};",
    "use sigstore_trust_root::{TrustedRoot, SIGSTORE_PRODUCTION_TRUSTED_ROOT};")
cut("    let signing_config = if let Some(config_path) = &_signing_config {", "fn verify_bundle(args",
    "    let _ = (&_signing_config, staging, &identity_token_str, bundle_path, artifact_path, in_toto);\n"
    "    Err(\"bench build: sign-bundle is not ported to sigstore-sign 0.15\".into())\n}\n\n")
sub("use sigstore_verify::verify_with_key;", "use sigstore_verify::PublicKeyVerificationPolicy;")
sub("verify_with_key(artifact_digest, &bundle, &public_key, &trusted_root)?;",
    "verify(artifact_digest, &bundle, &PublicKeyVerificationPolicy::new(public_key), &trusted_root)?;")
sub("verify_with_key(&artifact_data, &bundle, &public_key, &trusted_root)?;",
    "verify(&artifact_data, &bundle, &PublicKeyVerificationPolicy::new(public_key), &trusted_root)?;")
sub("Sha256Hash::try_from_slice(&digest_bytes)", "Sha256Hash::from_hex(digest_hex)")
sub("VerificationPolicy::default()\n        .require_identity(certificate_identity)\n        .require_issuer(certificate_oidc_issuer);",
    "VerificationPolicy::new(certificate_identity, certificate_oidc_issuer);")
open(path, "w").write(s)

//! # verify-policy
//!
//! sigstore policy-controller's `ClusterImagePolicy`
//! (`policy.sigstore.dev/v1beta1`), read strictly and evaluated with
//! verify-core. A library: no HTTP server, no CLI (the admission webhook,
//! crate `verify-admission`, is one front end).
//!
//! - [`PolicySet::load_dir`] reads every `*.yaml` / `*.yml` (multi-document)
//!   and refuses the whole set with a [`LintReport`] naming the file, the
//!   document and the field path of every problem. A field policy-controller
//!   defines but this crate does not implement (`spec.policy`, `spec.match`,
//!   `authorities[].source`, `authorities[].rfc3161timestamp`,
//!   `attestations[].policy`, `keyless.url`, `keyless.ca-cert`, `key.kms`,
//!   `key.secretRef.namespace`) is an error, as is any unknown field: a policy
//!   is never enforced with part of it ignored.
//! - [`PolicySet::matching`]: `spec.images[].glob` with policy-controller's
//!   semantics (see [`glob`]).
//! - [`evaluate`]: every matching policy must pass (AND); within a policy one
//!   authority is enough (OR). The [`Decision`] carries the core's reason
//!   codes.
//!
//! ## Authorities
//!
//! | field | meaning |
//! |---|---|
//! | `keyless.identities[]` | `issuer` / `subject` exact, `issuerRegExp` / `subjectRegExp` searched (RE2, unanchored, as cosign); one identity must match, and each needs an issuer and a subject |
//! | `keyless.trustRootRef` | a named root from [`TrustRoots`] (else the default) |
//! | `keyless.insecureIgnoreSCT` | skip the SCT check |
//! | `key.data` / `key.secretRef.name` | a PEM public key, inline or read from `<secrets dir>/<name>/<the secret's only key>` at evaluation |
//! | `static.action: pass\\|fail`, `static.message` | no signature check |
//! | `signatureFormat: legacy\\|bundle` | cosign's `.sig`/`.att` tags (default) or Sigstore bundles as OCI referrers (keyless only); only that format is read |
//! | `attestations[]` (`name`, `predicateType`) | the authority checks these attestations *instead of* the signature; each must be satisfied by a verified attestation of that type (cosign's aliases: `slsaprovenance`, `slsaprovenance1`, `spdxjson`, `cyclonedx`, `vuln`, `custom`, ... or a URI) |
//!
//! `ctlog`, as policy-controller reads it:
//!
//! | `ctlog` | keyless | key |
//! |---|---|---|
//! | absent | log evidence (SET) required, checked offline | no log check |
//! | `{}` | no log check (so an RFC 3161 timestamp is needed for a signing time) | no log check |
//! | `url` and/or `trustRootRef` | log evidence required; missing evidence is looked up through [`EvalContext::tlog`]; when that is `None`, signatures without embedded evidence fail (`tlog-lookup-offline`) | same |
//!
//! One deliberate difference: policy-controller skips the log for a
//! keyless authority with `keyless.trustRootRef` and no `ctlog`; here such
//! an authority still needs log evidence from that root's log (a private
//! Sigstore without a log says so with `ctlog: {}` and RFC 3161 timestamps).
//! A `ctlog.url` must be the log the evaluation looks up in
//! ([`TransparencyLogLookup::url`](verify_core::tlog_lookup::TransparencyLogLookup::url)),
//! else the authority fails (`tlog-url-mismatch`).
//!
//! ## Extensions (not in policy-controller)
//!
//! - `spec.pinDigest: false` opts the policy's images out of digest pinning
//!   by the mutating webhook ([`Policy::pin_digest`], default `true`).
//! - `attestations[].slsa`: slsa-verifier's `verify-image` rules on the
//!   attestation (`predicateType` an SLSA provenance type):
//!   `sourceURI` (required), at most one of `sourceTag`, `sourceVersionedTag`,
//!   `sourceBranch`, and `builderID`. The builder is authorized by
//!   slsa-verifier's trusted-builder rules (the SLSA container generator), so
//!   `keyless.identities` may be omitted when every attestation has `slsa`.
//! - `authorities[].buildkit: {provenance: bool, sbom: bool}`: BuildKit's
//!   in-index SLSA provenance and/or SPDX SBOM, required for *every* platform
//!   of the image index (the node, hence the platform, is unknown at
//!   admission), each vouched for by the authority's signature on the index.
//!
//! ## Trust roots
//!
//! [`TrustRoots`]: the default root plus named `<name>.json` roots from a
//! directory, with a [`TrustRoots::hash`] for cache keys.
//! [`PolicySet::check_trust_roots`] refuses a set naming a root not loaded.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod authority;
mod decision;
pub mod glob;
mod model;
mod parse;
mod set;
mod trust_roots;
mod verify_call;
mod yaml;

pub use decision::{
    evaluate, AuthorityFailure, Decision, EvalContext, ImageAtDigest, PolicyOutcome,
};
pub use parse::{API_VERSION, KIND};
pub use set::{LintError, LintReport, Mode, Policy, PolicySet, MAX_FILES, MAX_FILE_BYTES};
pub use trust_roots::{TrustRoots, TrustRootsError};

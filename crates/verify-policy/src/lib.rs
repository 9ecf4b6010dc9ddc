//! # verify-policy
//!
//! sigstore policy-controller's `ClusterImagePolicy` (`policy.sigstore.dev/v1beta1`), parsed
//! strictly and evaluated with verify-core. Skeleton: see policy-api.md.

#![forbid(unsafe_code)]

mod decision;
mod set;
mod trust_roots;

pub use decision::{
    evaluate, AuthorityFailure, Decision, EvalContext, ImageAtDigest, PolicyOutcome,
};
pub use set::{LintError, LintReport, Mode, Policy, PolicySet};
pub use trust_roots::{TrustRoots, TrustRootsError};

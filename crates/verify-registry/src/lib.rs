//! # verify-registry
//!
//! Network access for `verify`, behind `verify-core`'s traits so the core
//! stays free of HTTP and the `verify blob` path starts no runtime and no
//! TLS:
//!
//! - [`RegistryClient`] / [`Repository`]: the OCI distribution API as an
//!   async [`verify_core::oci::ImageSource`] — anonymous, Basic and Bearer
//!   token auth (credentials scoped to their registry: explicit per host,
//!   the Docker configuration and its credential helpers, or passed per
//!   verification by a server), plain HTTP only for loopback registries or
//!   on request, extra CA certificates, size-bounded bodies, retries with
//!   backoff that honours `Retry-After`, one [`Budget`] (deadline and bytes)
//!   per verification, and digest checks;
//! - [`RekorClient`]: Rekor v1 lookups as an async
//!   [`verify_core::tlog_lookup::TransparencyLogLookup`], under the same
//!   budget.
//!
//! No runtime is created here: every call is a future for the caller's
//! tokio runtime, and dropping it cancels its requests. Requests are made
//! with `reqwest` so that bodies are bounded while streaming (the token
//! exchange included) and 429/5xx answers keep their `Retry-After`. Image
//! references follow the distribution grammar ([`mod@reference`]).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod auth;
pub mod credentials;
mod http;
pub mod observe;
mod proxy;
pub mod reference;
pub mod registry;
pub mod rekor;

pub use credentials::{Credential, Credentials};
pub use http::{Budget, Deadline, RetryPolicy, Timeouts};
pub use observe::{RequestKind, RequestObserver, RequestOutcome};
pub use reference::ImageReference;
pub use registry::{
    ProxySetting, RegistryClient, RegistryConfig, RegistryError, Repository, MAX_TOKEN_BYTES,
};
pub use rekor::{RekorClient, DEFAULT_REKOR_URL};

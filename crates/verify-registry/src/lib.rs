//! # verify-registry
//!
//! Network access for `verify`, behind `verify-core`'s traits so the core
//! stays free of HTTP and the `verify blob` path starts no runtime and no
//! TLS:
//!
//! - [`RegistryClient`] / [`Repository`]: the OCI distribution API as an
//!   [`verify_core::oci::ImageSource`] — anonymous, Basic and Bearer token
//!   auth (credentials from the flags, the Docker configuration and its
//!   credential helpers), plain HTTP for loopback registries or on request,
//!   extra CA certificates, size-bounded bodies, retries with backoff that
//!   honours `Retry-After`, time limits, and digest checks;
//! - [`RekorClient`]: Rekor v1 lookups as a
//!   [`verify_core::tlog_lookup::TransparencyLogLookup`].
//!
//! `oci-client` performs the registry token exchange; the GETs themselves
//! are made with the same `reqwest` so that bodies can be bounded while
//! streaming and 429/5xx answers keep their `Retry-After` for the backoff.
//! Image references follow the distribution grammar ([`mod@reference`]).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod credentials;
mod http;
pub mod reference;
pub mod registry;
pub mod rekor;

pub use http::{Deadline, RetryPolicy, Timeouts};
pub use reference::ImageReference;
pub use registry::{RegistryClient, RegistryConfig, RegistryError, Repository};
pub use rekor::{RekorClient, DEFAULT_REKOR_URL};

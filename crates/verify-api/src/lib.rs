//! # verify-api
//!
//! The verification API that programs in other languages call: the JSON
//! requests and answers shared by the C ABI (`verify-ffi`) and the HTTPS
//! verify API (`verify-admission api`, served by [`server::serve_api`]),
//! and the [`Engine`] both are built on.
//!
//! - [`request`]: what a caller asks (images by reference, signatures or
//!   attestations or SLSA provenance; blobs against bundles; files against
//!   SLSA provenance);
//! - [`report`]: typed answers and errors with the core's stable reason
//!   codes, and their JSON (the same JSON `verify --output json` prints);
//! - [`engine`]: one verifier per handle, built once from a JSON
//!   [`config`], with a bounded verdict cache;
//! - [`server`]: the mTLS HTTPS server.
//!
//! This is a library: it starts no runtime. Its calls are futures; the
//! front end drives them.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod config;
mod core_call;
pub mod engine;
pub mod report;
pub mod request;
pub mod server;

pub use config::EngineConfig;
pub use engine::Engine;
pub use report::{ApiError, ArtifactReport, ImageReport};
pub use request::{ArtifactRequest, ImageRequest};

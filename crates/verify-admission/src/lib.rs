//! # verify-admission
//!
//! A Kubernetes admission webhook (validating and mutating) that admits a
//! workload only when every image it runs is proven by the
//! `ClusterImagePolicy` set in force, using the same core as `verify`.
//!
//! The crate is a thin front end: policies are parsed and evaluated by
//! `verify-policy`, signatures by `verify-core`, registries are read by
//! `verify-registry`. What lives here is what a webhook needs around them:
//!
//! | concern | module |
//! |---|---|
//! | flags | [`cli`], [`config`] |
//! | HTTPS with certificate reload | [`certs`], [`server`] |
//! | endpoints and shared state | [`api`] |
//! | AdmissionReview model, which images a request carries | [`admission`] |
//! | the response: message, warnings, audit annotations | [`decision`] |
//! | tag-to-digest JSONPatch | [`mutate`] |
//! | verdict cache, coalescing, stale-if-error | [`cache`] |
//! | per-image checks within the time budget | [`verify`] |
//! | tenants' registry credentials | [`pull_secrets`] |
//! | the policy directory and its reload | [`policies`] |
//! | Prometheus metrics | [`metrics`] |
//! | offline `review` and `lint` | [`review`] |
//! | trust roots in force, TUF refresh (`--tuf-mirror`) | [`trust_refresh`] |
//! | Flux's best practices on Flux Deployments (`--flux-audit`) | [`flux_audit`] |

#![forbid(unsafe_code)]

pub mod admission;
pub mod api;
pub mod api_mode;
pub mod cache;
pub mod certs;
pub mod cli;
pub mod config;
pub mod decision;
pub mod flux_audit;
pub mod metrics;
pub mod mutate;
pub mod policies;
pub mod pull_secrets;
pub mod review;
pub mod server;
pub mod trust_refresh;
pub mod verify;

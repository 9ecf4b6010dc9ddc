//! Link the `verify` binary for a fast start: a one-shot run is short enough
//! that the dynamic loader's work shows.
//!
//! - **Not position independent** (`-no-pie`), except in the FIPS build. A
//!   PIE binary carries ~29,000 relative relocations that the loader applies
//!   at every start, and each of the ~140 pages they touch (`.data.rel.ro`:
//!   vtables, string-slice tables, panic locations, AWS-LC's OID table) is a
//!   copy-on-write page fault. On this project's 2-core VMs that was ~150 of
//!   a run's ~400 faults and about 1 ms of its 3.9 ms (`perf stat`, the
//!   built-in-root conformance case): more than all of its checks but the
//!   ECDSA ones. A non-PIE binary has them resolved at link time. This gives
//!   up ASLR of the executable image (shared libraries are still randomised),
//!   as Go's default `exe` build mode does for cosign, slsa-verifier and
//!   Flux's own binaries on linux/amd64. The long-running `verify-admission`
//!   server is not affected (its start-up does not matter; it stays PIE).
//! - The FIPS build stays PIE: the AWS-LC FIPS module checks its own
//!   integrity at start, and its build is only validated as distributed.
//! - `VERIFY_PIE=1` at build time keeps PIE (e.g. for a distribution whose
//!   policy requires it); the binary is then linked with packed relative
//!   relocations (DT_RELR), which glibc 2.36+ applies faster than RELA.

fn main() {
    let linux_gnu = std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux")
        && std::env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("gnu");
    let fips = std::env::var_os("CARGO_FEATURE_FIPS").is_some();
    let keep_pie = std::env::var("VERIFY_PIE").as_deref() == Ok("1");
    if linux_gnu {
        if fips || keep_pie {
            println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
        } else {
            println!("cargo:rustc-link-arg-bins=-no-pie");
        }
    }
    println!("cargo:rerun-if-env-changed=VERIFY_PIE");
    println!("cargo:rerun-if-changed=build.rs");
}

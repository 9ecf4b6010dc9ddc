//! The Rust in-process baseline of the Go benchmarks: the same engine
//! configuration and the same request, verified by a Rust program calling
//! [`verify_api::Engine`] directly (no C boundary, no JSON in or out, no
//! HTTPS), on a runtime shaped like the C ABI handle's (two workers, the
//! call's future driven on the calling thread).
//!
//! `verify-inprocess-bench --config ENGINE.json --request REQUEST.json
//! --iterations N` verifies once (warm-up: connections, the registry's
//! scheme, and with a cache the verdict), then `N` more times, and prints
//! one JSON line: `{"iterations": N, "ns_per_op": ..., "cached": bool}`.
//! With `"cache": {"capacity": 0}` in the configuration every call is a
//! fresh verification (registry reads and signature checks).

#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Parser;
use verify_api::Engine;

#[derive(Parser)]
struct Args {
    /// The engine's JSON configuration.
    #[arg(long)]
    config: PathBuf,
    /// The image request (JSON).
    #[arg(long)]
    request: PathBuf,
    /// Timed verifications after the warm-up.
    #[arg(long, default_value_t = 1000)]
    iterations: u32,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let engine = Engine::from_json(&std::fs::read(&args.config)?)?;
    let request = engine.parse_image_request(&std::fs::read(&args.request)?)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let deadline = Duration::from_secs(30);
    // A failed verification is an error: the warm-up must verify.
    runtime.block_on(engine.verify_image(request.clone(), deadline))?;
    let mut cached = true;
    let start = Instant::now();
    for _ in 0..args.iterations {
        let report = runtime.block_on(engine.verify_image(request.clone(), deadline))?;
        cached &= report.cached;
        std::hint::black_box(&report);
    }
    let elapsed = start.elapsed();
    let ns = elapsed.as_nanos() / u128::from(args.iterations.max(1));
    println!(
        "{}",
        serde_json::json!({"iterations": args.iterations, "ns_per_op": ns as u64, "cached": cached})
    );
    Ok(())
}

//! SHA-256 and SHA-512 throughput: `verify_core::digest` (aws-lc-rs, inside
//! the FIPS module in the FIPS build) against RustCrypto's `sha2`, which the
//! project hashed with before.
//!
//! `cargo bench -p verify-core --bench digest` hashes a 64 B message (a
//! cache key's worth) and a 1 MiB buffer (an artifact chunk) with both, and
//! prints a `summary: ratio` line per size: `sha2`'s time divided by ours
//! (above 1: ours is faster). Run without `--bench` (as `cargo test
//! --benches` does) each routine runs once.

#![forbid(unsafe_code)]

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use sha2::Digest as _;
use std::time::{Duration, Instant};

fn time(mut f: impl FnMut(), rounds: u32) -> Duration {
    let start = Instant::now();
    for _ in 0..rounds {
        f();
    }
    start.elapsed()
}

fn bench(c: &mut Criterion) {
    for (label, len, rounds) in [("64B", 64usize, 200_000u32), ("1MiB", 1 << 20, 200)] {
        let data = vec![0x5au8; len];
        let mut group = c.benchmark_group(format!("digest/{label}"));
        group.bench_function("sha256/aws-lc-rs", |b| {
            b.iter(|| verify_core::digest::sha256(black_box(&data)))
        });
        group.bench_function("sha256/sha2", |b| {
            b.iter(|| sha2::Sha256::digest(black_box(&data)))
        });
        group.bench_function("sha512/aws-lc-rs", |b| {
            b.iter(|| verify_core::digest::sha512(black_box(&data)))
        });
        group.bench_function("sha512/sha2", |b| {
            b.iter(|| sha2::Sha512::digest(black_box(&data)))
        });
        group.finish();
        // One timed pass of each, for the ratio line.
        let ours = time(
            || {
                black_box(verify_core::digest::sha256(black_box(&data)));
            },
            rounds,
        );
        let theirs = time(
            || {
                black_box(sha2::Sha256::digest(black_box(&data)));
            },
            rounds,
        );
        let ours512 = time(
            || {
                black_box(verify_core::digest::sha512(black_box(&data)));
            },
            rounds,
        );
        let theirs512 = time(
            || {
                black_box(sha2::Sha512::digest(black_box(&data)));
            },
            rounds,
        );
        println!(
            "summary: {label} sha256 ratio {:.2} (sha2 {:?} / aws-lc-rs {:?}), sha512 ratio {:.2}",
            theirs.as_secs_f64() / ours.as_secs_f64(),
            theirs / rounds,
            ours / rounds,
            theirs512.as_secs_f64() / ours512.as_secs_f64(),
        );
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! In-process throughput of Sigstore bundle verification.
//!
//! `cargo bench -p verify-core --bench verify_bundle` measures, with the trust
//! root loaded once:
//!
//! - `fresh/testkit-v0.3-rfc3161`: keyless v0.3 bundles with an RFC 3161
//!   timestamp from the test Sigstore. `BENCH_BUNDLES` (default 2000) distinct
//!   bundles and artifacts are generated before timing and verified in turn
//!   by a verifier without a cache, so no verdict is ever reused. Besides
//!   criterion's samples, one timed pass verifies every bundle exactly once.
//! - `baseline/sigstore-verify-testkit`: the same bundles, in the same run,
//!   through sigstore-verify's own `Bundle::from_json` and
//!   `Verifier::verify` with an exact identity and issuer policy: the
//!   `summary: ratio` line divides verify-core's rate by it, a figure that
//!   machines change much less than the rates themselves.
//! - `fresh/<case>`: a real bundle from the shared conformance cases
//!   (`happy-path-v0.3` against the built-in production root, `rekor2-happy-path`
//!   against its own `trusted_root.json`), verified repeatedly by one verifier
//!   without a verdict cache. Whatever the verifier remembers below the
//!   verdict level (its signature memo) is warm after the first call.
//! - `cold/<case>`: the same, each time with a new verifier (construction not
//!   timed), so nothing is remembered: the upper bound of a bundle's cost.
//!   Both are skipped when the cases are not found (`CONFORMANCE_DIR`
//!   overrides where they are looked for).
//! - `cached/*`: `Verifier::with_cache(10_000)`, one bundle verified repeatedly
//!   (every call after the first is a cache hit).
//! - `setup/*`: `TrustRoot::production()` (the built-in root, whose chains
//!   are checked by a test rather than at load), `TrustRoot::from_json` on
//!   the same document (chains parsed, their signatures left to first use,
//!   as for a `--trusted-root` file), the same followed by
//!   `TrustRoot::check_all_chains` (every signature, as a service that wants
//!   a bad file refused at start does) and `Verifier::new`.
//!
//! Every measurement ends with a `summary:` line in bundles (or loads) per
//! second: the median over criterion's samples. Run without `--bench` (as
//! `cargo test --benches` does) every routine runs once, on fewer bundles.

#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{black_box, BenchmarkGroup, Criterion, Throughput};
use verify_core::{Artifact, IdentityPolicy, Limits, Policy, StringMatcher, TrustRoot, Verifier};
use verify_testkit::{SignOptions, TestSigstore};

/// Criterion samples per measurement (its minimum).
const SAMPLES: usize = 10;

/// A bundle with what it is verified against.
struct Case {
    bundle: Vec<u8>,
    artifact: Vec<u8>,
    policy: Policy,
    identity: String,
    issuer: String,
}

impl Case {
    fn verify(&self, verifier: &Verifier) {
        let verdict = verifier.verify_bundle(
            black_box(&self.bundle),
            Artifact::Bytes(black_box(&self.artifact)),
            &self.policy,
        );
        // A failure would be cheap and make the figure meaningless.
        if let Err(e) = black_box(verdict) {
            panic!("benchmark bundle does not verify: {e}");
        }
    }
}

impl Case {
    /// The same verification with sigstore-verify alone: parse, verify.
    fn verify_with_delegate(&self, verifier: &sigstore_verify::Verifier) {
        let text = std::str::from_utf8(black_box(&self.bundle)).expect("UTF-8 bundle");
        let bundle = sigstore_verify::types::Bundle::from_json(text).expect("bundle parses");
        let policy =
            sigstore_verify::VerificationPolicy::new(self.identity.as_str(), self.issuer.as_str());
        if let Err(e) = black_box(verifier.verify(black_box(&self.artifact[..]), &bundle, &policy))
        {
            panic!("benchmark bundle does not verify with sigstore-verify: {e}");
        }
    }
}

fn identity_policy(identity: &str, issuer: &str) -> Policy {
    Policy::Identity(IdentityPolicy::new(
        StringMatcher::exact(identity),
        StringMatcher::exact(issuer),
    ))
}

/// One summary line per measurement, printed after criterion's report.
struct Summary {
    lines: Vec<String>,
    bench_mode: bool,
}

impl Summary {
    fn add(&mut self, what: &str, unit: &str, rate: Option<f64>) {
        let line = match rate {
            _ if !self.bench_mode => format!("summary: {what:<54} (test mode, not timed)"),
            Some(rate) => format!(
                "summary: {what:<54} {rate:>12.0} {unit}/s  ({})",
                per_item(rate)
            ),
            None => format!("summary: {what:<54} (not run: filtered out)"),
        };
        self.lines.push(line);
    }

    fn skip(&mut self, what: &str, why: &str) {
        self.lines
            .push(format!("summary: {what:<54} (skipped: {why})"));
    }
}

fn per_item(rate: f64) -> String {
    let ns = 1e9 / rate;
    if ns >= 1e6 {
        format!("{:.2} ms each", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.1} µs each", ns / 1e3)
    } else {
        format!("{ns:.0} ns each")
    }
}

/// Run `routine` (verify `iters` items, return the time taken) as a
/// criterion benchmark and return the median items/s over its samples.
fn measure<F>(
    group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>,
    id: &str,
    mut routine: F,
) -> Option<f64>
where
    F: FnMut(u64) -> Duration,
{
    let mut calls: Vec<(u64, Duration)> = Vec::new();
    group.bench_function(id, |b| {
        b.iter_custom(|iters| {
            let elapsed = routine(iters);
            calls.push((iters, elapsed));
            elapsed
        })
    });
    // Criterion warms up first, then takes its samples: the last SAMPLES
    // calls are the measurement.
    if calls.is_empty() {
        return None;
    }
    let mut rates: Vec<f64> = calls
        .iter()
        .rev()
        .take(SAMPLES)
        .map(|(iters, d)| *iters as f64 / d.as_secs_f64().max(1e-12))
        .collect();
    rates.sort_by(f64::total_cmp);
    Some(rates[rates.len() / 2])
}

fn conformance_dir() -> PathBuf {
    match std::env::var_os("CONFORMANCE_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance"),
    }
}

/// A real conformance case: its bundle, artifact, policy and trusted root.
fn conformance_case(name: &str) -> Result<(Case, TrustRoot), String> {
    let base = conformance_dir().join("sigstore/cases");
    let dir = base.join(name);
    let read = |file: &str| {
        std::fs::read(dir.join(file)).map_err(|e| format!("{}: {e}", dir.join(file).display()))
    };
    let meta: serde_json::Value =
        serde_json::from_slice(&read("case.json")?).map_err(|e| format!("case.json: {e}"))?;
    let field = |key: &str| {
        meta[key]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("{name}/case.json has no {key}"))
    };
    let root = if meta["trusted_root_is_default"].as_bool() == Some(true) {
        TrustRoot::production()
    } else {
        TrustRoot::from_file(&dir.join(field("trusted_root")?), &Limits::default())
    }
    .map_err(|e| format!("trusted root: {e}"))?;
    let case = Case {
        bundle: read(&field("bundle")?)?,
        artifact: read(&field("artifact")?)?,
        policy: identity_policy(&field("identity")?, &field("issuer")?),
        identity: field("identity")?,
        issuer: field("issuer")?,
    };
    Ok((case, root))
}

/// Distinct keyless v0.3 bundles with an RFC 3161 timestamp, their
/// artifacts, and the trusted root of the test Sigstore that made them.
fn testkit_cases(count: usize) -> (Vec<Case>, TrustRoot) {
    let sigstore = TestSigstore::new();
    let options = SignOptions {
        rfc3161_timestamp: true,
        ..SignOptions::default()
    };
    let cases = (0..count)
        .map(|i| {
            let artifact = format!("benchmark artifact {i}\n").into_bytes();
            let signed = sigstore.sign(&artifact, &options).expect("testkit signs");
            let identity = signed.identity.as_ref().expect("keyless identity");
            let issuer = signed.issuer.as_deref().expect("keyless issuer");
            Case {
                policy: identity_policy(identity.as_str(), issuer),
                bundle: signed.to_json().into_bytes(),
                artifact,
                identity: identity.as_str().to_string(),
                issuer: issuer.to_string(),
            }
        })
        .collect();
    let root = TrustRoot::from_json(sigstore.trusted_root_json().as_bytes(), &Limits::default())
        .expect("testkit trusted root loads");
    (cases, root)
}

fn main() {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let mut criterion = Criterion::default()
        .sample_size(SAMPLES)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    let mut summary = Summary {
        lines: Vec::new(),
        bench_mode,
    };

    // (a) Fresh testkit bundles, each distinct.
    let count: usize = std::env::var("BENCH_BUNDLES")
        .ok()
        .and_then(|n| n.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(if bench_mode { 2000 } else { 20 });
    let started = Instant::now();
    let (cases, testkit_root) = testkit_cases(count);
    eprintln!(
        "generated {count} distinct testkit bundles in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let verifier = Verifier::new(testkit_root.clone()).expect("verifier builds");

    let mut group = criterion.benchmark_group("verify_bundle");
    group.throughput(Throughput::Elements(1));

    // One timed pass: every bundle verified exactly once.
    let started = Instant::now();
    for case in &cases {
        case.verify(&verifier);
    }
    let single_pass = count as f64 / started.elapsed().as_secs_f64();
    summary.add(
        &format!("fresh testkit v0.3+RFC3161, one pass over {count}"),
        "bundles",
        Some(single_pass),
    );

    // Criterion's samples: the bundles in turn, so a bundle comes back only
    // after all the others.
    let mut next = 0usize;
    let rate = measure(&mut group, "fresh/testkit-v0.3-rfc3161", |iters| {
        let started = Instant::now();
        for _ in 0..iters {
            cases[next].verify(&verifier);
            next = (next + 1) % cases.len();
        }
        started.elapsed()
    });
    summary.add("fresh testkit v0.3+RFC3161, criterion", "bundles", rate);

    // The baseline: sigstore-verify alone on the same bundles, same run.
    let delegate =
        sigstore_verify::Verifier::new(testkit_root.as_sigstore()).expect("delegate builds");
    let mut next = 0usize;
    let baseline = measure(&mut group, "baseline/sigstore-verify-testkit", |iters| {
        let started = Instant::now();
        for _ in 0..iters {
            cases[next].verify_with_delegate(&delegate);
            next = (next + 1) % cases.len();
        }
        started.elapsed()
    });
    summary.add(
        "baseline: sigstore-verify verify() on the same bundles",
        "bundles",
        baseline,
    );
    match (rate, baseline) {
        (Some(ours), Some(theirs)) if bench_mode => summary.lines.push(format!(
            "summary: ratio verify-core / sigstore-verify (fresh testkit)   {:>12.2}x",
            ours / theirs
        )),
        _ => summary.skip("ratio verify-core / sigstore-verify", "not timed"),
    }

    // (b) Real bundles, no cache.
    for name in ["happy-path-v0.3", "rekor2-happy-path"] {
        match conformance_case(name) {
            Ok((case, root)) => {
                let root_copy = root.clone();
                let verifier = Verifier::new(root).expect("verifier builds");
                case.verify(&verifier);
                let rate = measure(&mut group, &format!("fresh/{name}"), |iters| {
                    let started = Instant::now();
                    for _ in 0..iters {
                        case.verify(&verifier);
                    }
                    started.elapsed()
                });
                summary.add(&format!("fresh real {name}, one verifier"), "bundles", rate);
                // The same with nothing remembered between verifications: a
                // new verifier each time (its construction is not timed).
                let rate = measure(&mut group, &format!("cold/{name}"), |iters| {
                    let mut elapsed = Duration::ZERO;
                    for _ in 0..iters {
                        let verifier = Verifier::new(root_copy.clone()).expect("verifier builds");
                        let started = Instant::now();
                        case.verify(&verifier);
                        elapsed += started.elapsed();
                    }
                    elapsed
                });
                summary.add(
                    &format!("cold real {name}, new verifier each"),
                    "bundles",
                    rate,
                );
            }
            Err(why) => summary.skip(&format!("fresh real {name}"), &why),
        }
    }

    // (c) Cached: the same bundle again and again.
    let cached = Verifier::new(testkit_root.clone())
        .expect("verifier builds")
        .with_cache(10_000);
    let case = &cases[0];
    let rate = measure(&mut group, "cached/testkit-v0.3-rfc3161", |iters| {
        let started = Instant::now();
        for _ in 0..iters {
            case.verify(&cached);
        }
        started.elapsed()
    });
    summary.add("cached testkit v0.3+RFC3161 (cache hit)", "bundles", rate);
    if let Ok((case, root)) = conformance_case("happy-path-v0.3") {
        let cached = Verifier::new(root)
            .expect("verifier builds")
            .with_cache(10_000);
        let rate = measure(&mut group, "cached/happy-path-v0.3", |iters| {
            let started = Instant::now();
            for _ in 0..iters {
                case.verify(&cached);
            }
            started.elapsed()
        });
        summary.add("cached real happy-path-v0.3 (cache hit)", "bundles", rate);
    }

    // (d) Setup costs.
    let rate = measure(&mut group, "setup/TrustRoot::production", |iters| {
        let started = Instant::now();
        for _ in 0..iters {
            black_box(TrustRoot::production().expect("production root loads"));
        }
        started.elapsed()
    });
    summary.add("TrustRoot::production() load", "loads", rate);
    let production_json = sigstore_trust_root::SIGSTORE_PRODUCTION_TRUSTED_ROOT.as_bytes();
    let rate = measure(
        &mut group,
        "setup/TrustRoot::from_json(production)",
        |iters| {
            let started = Instant::now();
            for _ in 0..iters {
                black_box(
                    TrustRoot::from_json(black_box(production_json), &Limits::default())
                        .expect("production root loads"),
                );
            }
            started.elapsed()
        },
    );
    summary.add(
        "TrustRoot::from_json(production), chains parsed",
        "loads",
        rate,
    );
    let rate = measure(
        &mut group,
        "setup/TrustRoot::from_json(production)+check_all_chains",
        |iters| {
            let started = Instant::now();
            for _ in 0..iters {
                let root = TrustRoot::from_json(black_box(production_json), &Limits::default())
                    .expect("production root loads");
                root.check_all_chains().expect("chains hold");
                black_box(root);
            }
            started.elapsed()
        },
    );
    summary.add(
        "TrustRoot::from_json(production) + check_all_chains",
        "loads",
        rate,
    );
    let production = TrustRoot::production().expect("production root loads");
    let rate = measure(&mut group, "setup/Verifier::new(production)", |iters| {
        let mut elapsed = Duration::ZERO;
        for _ in 0..iters {
            let root = production.clone();
            let started = Instant::now();
            let verifier = Verifier::new(black_box(root)).expect("verifier builds");
            elapsed += started.elapsed();
            drop(black_box(verifier));
        }
        elapsed
    });
    summary.add("Verifier::new(production root)", "builds", rate);
    group.finish();

    criterion.final_summary();
    println!();
    for line in &summary.lines {
        println!("{line}");
    }
}

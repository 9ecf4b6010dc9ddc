//! `review` and `lint`: the server's decision, offline.
//!
//! `review` reads AdmissionReview JSON, or YAML/JSON manifests
//! (multi-document, `List`s), turns each workload into the CREATE an API
//! server would send, and decides it with the same engine and the same
//! response builder as `/validate`.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use kube::core::admission::AdmissionResponse;
use serde_json::{json, Value};

use crate::admission;
use crate::cli::{LintArgs, Output, ReviewArgs};
use crate::config::EngineConfig;
use crate::decision;
use crate::metrics::Metrics;
use crate::pull_secrets::TenantCredentials;
use crate::server::build_engine;

/// Largest input file read.
const MAX_INPUT: u64 = 64 * 1024 * 1024;
/// Most documents read from one file.
const MAX_DOCUMENTS: usize = 10_000;

/// One object to decide: where it came from and the AdmissionReview body.
struct Input {
    source: String,
    review: Vec<u8>,
}

/// `lint --policies DIR`: 0 valid, 1 errors.
pub fn lint(args: &LintArgs) -> ExitCode {
    match verify_policy::PolicySet::load_dir(&args.policies) {
        Ok(set) => {
            println!(
                "{}: {} policies, hash {}",
                args.policies.display(),
                set.policies().len(),
                set.hash()
            );
            ExitCode::SUCCESS
        }
        Err(report) => {
            print!("{report}");
            if !report.to_string().ends_with('\n') {
                println!();
            }
            ExitCode::from(1)
        }
    }
}

fn usage(output: Output, message: &str) -> ExitCode {
    match output {
        Output::Json => println!("{}", json!({"error": message, "code": "usage"})),
        Output::Text => eprintln!("verify-admission review: {message}"),
    }
    ExitCode::from(2)
}

/// `review`: 0 all admitted, 1 something denied, 2 bad input.
pub async fn review(args: ReviewArgs) -> ExitCode {
    let config = match EngineConfig::from_common(&args.common) {
        Ok(c) => c,
        Err(e) => return usage(args.output, &e.to_string()),
    };
    let mut inputs = Vec::new();
    for file in &args.files {
        match read_inputs(file) {
            Ok(mut i) => inputs.append(&mut i),
            Err(e) => return usage(args.output, &e),
        }
    }
    let common = args.common.clone();
    let engine = match tokio::task::spawn_blocking(move || {
        build_engine(&common, config, Arc::new(Metrics::new()))
    })
    .await
    {
        Ok(Ok(e)) => e,
        Ok(Err(e)) => return usage(args.output, &e.to_string()),
        Err(e) => return usage(args.output, &e.to_string()),
    };
    decide(&engine, inputs, args.output).await
}

async fn decide(
    engine: &Arc<crate::verify::Engine>,
    inputs: Vec<Input>,
    output: Output,
) -> ExitCode {
    let mut denied = false;
    let mut results = Vec::new();
    for input in inputs {
        let request = match admission::parse(&input.review) {
            Ok(r) => r,
            Err(e) => return usage(output, &format!("{}: {e}", input.source)),
        };
        let plan = match admission::plan(&request) {
            Ok(p) => p,
            Err(e) => return usage(output, &format!("{}: {e}", input.source)),
        };
        let base = AdmissionResponse::from(&request);
        let (response, checks) = match plan.skip {
            Some(_) => (base, Vec::new()),
            None => {
                let deadline = Instant::now() + engine.config.budget;
                let checks = engine
                    .check_all(
                        &plan.images,
                        Arc::new(TenantCredentials::default()),
                        deadline,
                    )
                    .await;
                let hash = engine.policies.current().hash().to_string();
                (decision::validation(base, &checks, &hash), checks)
            }
        };
        let response =
            crate::flux_audit::apply(engine.config.flux_audit.as_deref(), &request, response);
        denied |= !response.allowed;
        results.push((input.source, plan, response, checks));
    }
    match output {
        Output::Json => {
            let objects: Vec<Value> = results
                .iter()
                .map(|(source, plan, response, checks)| {
                    json!({
                        "source": source,
                        "kind": plan.kind,
                        "namespace": plan.namespace,
                        "name": plan.name,
                        "allowed": response.allowed,
                        "skip": plan.skip,
                        "message": response.result.message,
                        "warnings": response.warnings.clone().unwrap_or_default(),
                        "images": checks,
                    })
                })
                .collect();
            println!(
                "{}",
                json!({"admitted": !denied, "policyHash": engine.policies.current().hash(), "objects": objects})
            );
        }
        Output::Text => {
            for (source, plan, response, checks) in &results {
                let what = format!("{} {}/{}", plan.kind, plan.namespace, plan.name);
                if let Some(skip) = plan.skip.filter(|_| response.allowed) {
                    println!("ADMIT {what} ({source}): not checked: {}", skip.as_str());
                    continue;
                }
                for check in checks {
                    let verdict = match (check.allowed, check.verdict.warnings.is_empty()) {
                        (false, _) => "DENY ",
                        (true, false) => "WARN ",
                        (true, true) => "ADMIT",
                    };
                    println!(
                        "{verdict} {what} {} {}",
                        check.image.image,
                        check.digest.as_deref().unwrap_or("-")
                    );
                }
                if !response.allowed {
                    for line in response.result.message.lines() {
                        println!("  {line}");
                    }
                }
                for w in response.warnings.iter().flatten() {
                    println!("  warning: {w}");
                }
            }
        }
    }
    if denied {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn read_inputs(path: &Path) -> Result<Vec<Input>, String> {
    let name = path.display().to_string();
    let len = std::fs::metadata(path)
        .map_err(|e| format!("{name}: {e}"))?
        .len();
    if len > MAX_INPUT {
        return Err(format!("{name}: larger than {MAX_INPUT} bytes"));
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("{name}: {e}"))?;
    let mut out = Vec::new();
    // A JSON AdmissionReview is decided as is.
    if let Ok(value) = serde_json::from_str::<Value>(&text) {
        if value.get("kind").and_then(Value::as_str) == Some("AdmissionReview") {
            out.push(Input {
                source: name,
                review: text.into_bytes(),
            });
            return Ok(out);
        }
    }
    let mut documents = Vec::new();
    for (i, doc) in serde_yaml_ng::Deserializer::from_str(&text).enumerate() {
        if i >= MAX_DOCUMENTS {
            return Err(format!("{name}: more than {MAX_DOCUMENTS} documents"));
        }
        let value: Value = serde::Deserialize::deserialize(doc)
            .map_err(|e| format!("{name}: document {}: {e}", i + 1))?;
        if !value.is_null() {
            documents.push((format!("{name}#{}", i + 1), value));
        }
    }
    for (source, value) in documents {
        expand(&source, value, &mut out)?;
    }
    Ok(out)
}

fn expand(source: &str, value: Value, out: &mut Vec<Input>) -> Result<(), String> {
    let kind = value
        .get("kind")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{source}: no kind"))?
        .to_string();
    if kind.ends_with("List") {
        if let Some(items) = value.get("items").and_then(Value::as_array) {
            for (i, item) in items.iter().enumerate() {
                expand(&format!("{source}.items[{i}]"), item.clone(), out)?;
            }
            return Ok(());
        }
    }
    if kind == "AdmissionReview" {
        out.push(Input {
            source: source.into(),
            review: serde_json::to_vec(&value).unwrap_or_default(),
        });
        return Ok(());
    }
    let api_version = value
        .get("apiVersion")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{source}: no apiVersion"))?;
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let namespace = value
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("default");
    let name = value
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let review = json!({
        "apiVersion": admission::API_VERSION,
        "kind": "AdmissionReview",
        "request": {
            "uid": format!("review-{source}"),
            "kind": {"group": group, "version": version, "kind": kind},
            "resource": {"group": group, "version": version, "resource": format!("{}s", kind.to_ascii_lowercase())},
            "requestKind": {"group": group, "version": version, "kind": kind},
            "name": name,
            "namespace": namespace,
            "operation": "CREATE",
            "userInfo": {"username": "verify-admission-review"},
            "object": value,
            "oldObject": null,
            "dryRun": true,
            "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"},
        }
    });
    out.push(Input {
        source: source.into(),
        review: serde_json::to_vec(&review).unwrap_or_default(),
    });
    Ok(())
}

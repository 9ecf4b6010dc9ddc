//! `verify flux-audit`: Flux's security best practices checked on manifests
//! (the rules live in `verify-audit`; this reads the inputs, prints the
//! report, and, with `--verify-images`, verifies controller images).
//!
//! Exit status: 0 no finding at or above `--fail-on`, 1 findings, 2 bad
//! input (unreadable or malformed manifests, usage errors).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use verify_audit::{
    load, sarif, Controller, Distribution, ImageChecker, ImageVerdict, Options, Severity,
};

use crate::cli::RegistryArgs;
use crate::output::{EXIT_FAILED, EXIT_USAGE};

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditFormat {
    Text,
    Json,
    Sarif,
}

#[derive(Args, Debug)]
pub struct FluxAuditArgs {
    /// Manifest files or directories (YAML or JSON; multi-document; `List`s), `-` for stdin.
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
    /// Also check the multi-tenancy lock-down (cross-namespace refs, default service
    /// accounts, workload identity, sharding, NetworkPolicies).
    #[arg(long)]
    pub multi_tenant: bool,
    /// Also check the pod-security rules on every workload's containers, not only
    /// on the Flux controllers'.
    #[arg(long)]
    pub all_workloads: bool,
    /// Also verify each controller image's cosign signature against Flux's (or the
    /// ControlPlane distribution's) release identity.
    #[arg(long)]
    pub verify_images: bool,
    /// Exit 1 only for findings at or above this severity.
    #[arg(long, value_name = "SEVERITY", default_value = "low", value_parser = parse_severity)]
    pub fail_on: Severity,
    /// Output format: a table, JSON (findings, passed checks, notes), or SARIF 2.1.0.
    #[arg(long, short = 'o', value_enum, default_value = "text")]
    pub output: AuditFormat,
    /// With --verify-images: Sigstore trusted_root.json (default: the public-good root).
    #[arg(long, value_name = "FILE", env = "SIGSTORE_ROOT_FILE")]
    pub trusted_root: Option<PathBuf>,
    /// With --verify-images: the transparency log for signatures without a bundle.
    #[arg(long, value_name = "URL", default_value = "https://rekor.sigstore.dev")]
    pub rekor_url: String,
    /// With --verify-images: never contact the transparency log.
    #[arg(long)]
    pub offline: bool,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    s.parse()
}

pub const FLUX_AUDIT_EXAMPLES: &str = "\
Examples:
  flux install --export | verify flux-audit -
  verify flux-audit --multi-tenant clusters/production/flux-system/
  kubectl get deploy,networkpolicy,secrets,ocirepositories,helmreleases,helmrepositories -A -o yaml \\
    | verify flux-audit --multi-tenant --fail-on high -
  verify flux-audit -o sarif ./manifests > flux-audit.sarif   # GitHub code scanning

Exit status: 0 no finding at or above --fail-on, 1 findings, 2 unreadable or malformed input.";

fn bad_input(format: AuditFormat, code: &str, message: &str) -> ExitCode {
    if format == AuditFormat::Json {
        println!(
            "{}",
            serde_json::json!({"error": {"code": code, "message": message}})
        );
    }
    eprintln!("error: {message}");
    ExitCode::from(EXIT_USAGE)
}

pub fn run(args: &FluxAuditArgs) -> ExitCode {
    let mut manifests = Vec::new();
    for path in &args.paths {
        match load::load_path(path) {
            Ok(m) => manifests.extend(m),
            Err(e) => return bad_input(args.output, e.code(), &e.to_string()),
        }
    }
    // Images are verified first (async, on a runtime made only for
    // --verify-images); the engine then reads the verdicts.
    let verdicts = if args.verify_images {
        let images = verify_audit::controller_images(&manifests);
        match images::verify_all(args, &images) {
            Ok(v) => Some(v),
            Err(msg) => return bad_input(args.output, "usage", &msg),
        }
    } else {
        None
    };
    let checker = |image: &str, _: Controller, _: Distribution| {
        verdicts
            .as_ref()
            .and_then(|v| v.get(image).cloned())
            .unwrap_or_else(|| ImageVerdict::Failed {
                reason: "not verified".into(),
            })
    };
    let options = Options {
        multi_tenant: args.multi_tenant,
        all_workloads: args.all_workloads,
        image_checker: verdicts.is_some().then_some(&checker as &dyn ImageChecker),
    };
    let report = verify_audit::audit(&manifests, &options);
    match args.output {
        AuditFormat::Text => print!("{}", report.to_text()),
        AuditFormat::Json => println!("{}", report.to_json()),
        AuditFormat::Sarif => {
            let log = sarif::to_sarif(&report, env!("CARGO_PKG_VERSION"));
            println!("{}", serde_json::to_string(&log).unwrap_or_default());
        }
    }
    if report.fails(args.fail_on) {
        ExitCode::from(EXIT_FAILED)
    } else {
        ExitCode::SUCCESS
    }
}

/// `images/signature`: the one place controller images are verified
/// (verify-core's async cosign verification, one `--timeout` budget per
/// image), against Flux's or the ControlPlane distribution's release identity.
mod images {
    use std::collections::HashMap;

    use super::*;
    use crate::image::{open_source, Failure, LazyRegistry};
    use verify_core::cosign::{self, CheckOptions};
    use verify_core::oci::{ManifestRef, OciLimits};
    use verify_core::tlog_lookup::TransparencyLogLookup;
    use verify_core::{IdentityPolicy, Limits, Policy, StringMatcher, Verifier};

    /// Flux's release workflows sign with GitHub Actions' OIDC identity.
    const ISSUER: &str = "https://token.actions.githubusercontent.com";
    const FLUX_IDENTITY: &str = r"^https://github\.com/fluxcd/.*$";
    const CONTROLPLANE_IDENTITY: &str = r"^https://github\.com/controlplaneio-fluxcd/.*$";

    fn identity(pattern: &str) -> Result<Policy, String> {
        let id = StringMatcher::regex("certificate-identity-regexp", pattern)
            .map_err(|e| e.to_string())?;
        Ok(Policy::Identity(IdentityPolicy::new(
            id,
            StringMatcher::exact(ISSUER),
        )))
    }

    struct Checker<'a> {
        args: &'a FluxAuditArgs,
        verifier: Verifier,
        registry: LazyRegistry<'a>,
        flux: Policy,
        controlplane: Policy,
    }

    /// A verdict for each image, on a runtime made for this.
    pub(super) fn verify_all(
        args: &FluxAuditArgs,
        images: &[(String, Controller, Distribution)],
    ) -> Result<HashMap<String, ImageVerdict>, String> {
        let names: Vec<String> = images.iter().map(|i| i.0.clone()).collect();
        let checker = Checker {
            args,
            verifier: crate::trust::load_verifier(args.trusted_root.as_deref(), &Limits::default())
                .map_err(|e| e.to_string())?,
            registry: LazyRegistry::new(&args.registry, &names)?,
            flux: identity(FLUX_IDENTITY)?,
            controlplane: identity(CONTROLPLANE_IDENTITY)?,
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the I/O runtime: {e}"))?;
        runtime.block_on(async {
            let mut out = HashMap::new();
            for (image, _, distribution) in images {
                let verdict = check_image(&checker, image, *distribution).await;
                out.insert(image.clone(), verdict);
            }
            Ok(out)
        })
    }

    fn reason(f: Failure) -> String {
        match f {
            Failure::Usage(msg) => msg,
            Failure::Image(e) => e.to_string(),
        }
    }

    /// Verify one image: its digest, then its signatures against the
    /// distribution's identity first and the other one second.
    async fn check_image(c: &Checker<'_>, image: &str, distribution: Distribution) -> ImageVerdict {
        let budget = c.registry.budget();
        let (source, reference) = match open_source(image, &c.registry, &budget) {
            Ok(x) => x,
            Err(f) => return ImageVerdict::Failed { reason: reason(f) },
        };
        let rekor = match (c.args.offline, image.starts_with("oci:")) {
            (false, false) => match c.registry.get() {
                Ok(client) => Some(client.rekor(&c.args.rekor_url).with_budget(&budget)),
                Err(reason) => return ImageVerdict::Failed { reason },
            },
            _ => None,
        };
        let limits = OciLimits::default();
        let digest = match &reference {
            ManifestRef::Digest(d) => *d,
            other => match cosign::resolve(source.as_ref(), other, &limits).await {
                Ok(fetched) => fetched.digest,
                Err(e) => {
                    return ImageVerdict::Failed {
                        reason: e.to_string(),
                    }
                }
            },
        };
        let options = CheckOptions {
            limits,
            offline: c.args.offline,
            tlog: rekor.as_ref().map(|r| r as &dyn TransparencyLogLookup),
            ..CheckOptions::default()
        };
        let order = match distribution {
            Distribution::ControlPlane => [&c.controlplane, &c.flux],
            _ => [&c.flux, &c.controlplane],
        };
        let mut first_error = None;
        for policy in order {
            let check = cosign::Check {
                verifier: &c.verifier,
                source: source.as_ref(),
                policy,
                options: &options,
            };
            let result = cosign::verify_image_signatures(&check, &digest).await;
            match result {
                Ok(sigs) => {
                    let who = sigs
                        .first()
                        .and_then(|s| s.verified.identity.clone())
                        .unwrap_or_else(|| "?".into());
                    return ImageVerdict::Verified {
                        detail: format!("{}@{digest} signed by {who}", source.name()),
                    };
                }
                Err(e) => {
                    first_error.get_or_insert(e.to_string());
                }
            }
        }
        ImageVerdict::Failed {
            reason: format!(
                "{}@{digest}: {}",
                source.name(),
                first_error.unwrap_or_default()
            ),
        }
    }
}

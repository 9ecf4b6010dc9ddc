//! `verify initialize`: fetch and verify Sigstore's trust root through TUF
//! into the cache (as `cosign initialize`), or with `--offline` verify the
//! cache again without the network. npm's registry keys (the TUF target
//! `registry.npmjs.org/keys.json`, which `verify npm-package` reads from the
//! cache) are fetched and verified with it when the repository has them; a
//! repository without them (a private Sigstore) is not an error.

use std::path::PathBuf;
use std::process::ExitCode;

use serde::Serialize;
use verify_tuf::{
    RefreshOutcome, TrustRootUpdater, TrustState, TufError, TufVersions, UpdaterOptions,
    NPM_REGISTRY_KEYS_TARGET,
};

use crate::cli::{InitializeArgs, OutputFormat};
use crate::output::{EXIT_FAILED, EXIT_USAGE};

/// Largest `--root` file read (TUF's root limit).
const MAX_ROOT_BYTES: u64 = 512_000;

#[derive(Serialize)]
struct Report<'a> {
    initialized: bool,
    mirror: &'a str,
    cache_dir: String,
    trust_root_source: &'static str,
    fingerprint: String,
    verified_at: Option<jiff::Timestamp>,
    versions: Option<TufVersions>,
    /// Whether the repository's trusted root is the built-in one (only known
    /// after a refresh).
    #[serde(skip_serializing_if = "Option::is_none")]
    builtin_is_current: Option<bool>,
    /// SHA-256 of the verified `registry.npmjs.org/keys.json`, or `null` when
    /// the repository does not distribute it.
    npm_registry_keys: Option<String>,
}

pub fn run(args: &InitializeArgs) -> ExitCode {
    let format = args.output;
    let Some(cache_dir) = args
        .cache_dir
        .clone()
        .or_else(verify_tuf::default_cache_dir)
    else {
        return fail_usage(
            format,
            "no cache directory: set --cache-dir, VERIFY_TUF_CACHE_DIR, XDG_CACHE_HOME or HOME",
        );
    };
    let custom_root = match &args.root {
        Some(path) => match read_root(path) {
            Ok(bytes) => Some(bytes),
            Err(message) => return fail_usage(format, &message),
        },
        None => None,
    };
    let remembered = if args.offline && args.mirror.is_none() && custom_root.is_none() {
        match verify_tuf::initialized_options(&cache_dir) {
            Ok(options) => options,
            Err(e) => return failure(format, &e),
        }
    } else {
        None
    };
    let options = match remembered {
        Some(options) => options,
        None => {
            let mirror = args
                .mirror
                .as_deref()
                .unwrap_or(verify_tuf::PUBLIC_GOOD_MIRROR);
            let options = UpdaterOptions::public_good()
                .mirror(mirror)
                .cache_dir(&cache_dir);
            match &custom_root {
                Some(root) => options.root(root.clone()),
                None => options,
            }
        }
    };
    let options = options.extra_target(NPM_REGISTRY_KEYS_TARGET);
    let mirror = options.mirror_url().to_string();
    let runtime = match crate::trust::runtime() {
        Ok(rt) => rt,
        Err(e) => return fail_usage(format, &format!("cannot start the runtime: {e}")),
    };
    let result = if args.offline {
        // Never the network: the offline updater has no transport at all.
        TrustRootUpdater::offline(options).and_then(|updater| {
            let state = runtime.block_on(updater.load_cached())?;
            Ok((state, None))
        })
    } else {
        TrustRootUpdater::new(options).and_then(|updater| {
            let outcome = runtime.block_on(updater.refresh())?;
            verify_tuf::remember_initialization(&cache_dir, &mirror, custom_root.as_deref())?;
            Ok((updater.current(), Some(outcome)))
        })
    };
    match result {
        Ok((state, outcome)) => success(format, args, &mirror, cache_dir, &state, outcome.as_ref()),
        Err(e) => failure(format, &e),
    }
}

fn read_root(path: &PathBuf) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let file = std::fs::File::open(path)
        .map_err(|e| format!("cannot read --root {}: {e}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(MAX_ROOT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read --root {}: {e}", path.display()))?;
    if bytes.len() as u64 > MAX_ROOT_BYTES {
        return Err(format!(
            "--root {} is larger than {MAX_ROOT_BYTES} bytes",
            path.display()
        ));
    }
    Ok(bytes)
}

fn success(
    format: OutputFormat,
    args: &InitializeArgs,
    mirror: &str,
    cache_dir: PathBuf,
    state: &TrustState,
    outcome: Option<&RefreshOutcome>,
) -> ExitCode {
    let report = Report {
        initialized: true,
        mirror,
        cache_dir: cache_dir.display().to_string(),
        trust_root_source: state.source.as_str(),
        fingerprint: state.root.fingerprint_hex(),
        verified_at: state.verified_at,
        versions: state.tuf,
        builtin_is_current: outcome.map(|o| o.builtin_is_current),
        npm_registry_keys: state
            .target(NPM_REGISTRY_KEYS_TARGET)
            .ok()
            .map(|keys| hex::encode(verify_core::digest::sha256(&keys))),
    };
    match format {
        OutputFormat::Json => println!("{}", serde_json::to_string(&report).unwrap_or_default()),
        OutputFormat::Text => {
            let versions = state
                .tuf
                .map(|v| {
                    format!(
                        "root v{}, timestamp v{}, snapshot v{}, targets v{}",
                        v.root, v.timestamp, v.snapshot, v.targets
                    )
                })
                .unwrap_or_default();
            let verb = if args.offline {
                "Verified the cached"
            } else {
                "Fetched and verified the"
            };
            eprintln!(
                "{verb} trust root from {} in {} ({versions}); trusted_root.json sha256 {}",
                mirror, report.cache_dir, report.fingerprint
            );
            match report.builtin_is_current {
                Some(true) => eprintln!("It is the same as the built-in trust root."),
                Some(false) => eprintln!(
                    "It differs from the built-in trust root; commands will use it (unless --trusted-root is given)."
                ),
                None => {}
            }
            match &report.npm_registry_keys {
                Some(sha256) => eprintln!(
                    "npm registry keys ({NPM_REGISTRY_KEYS_TARGET}) verified and cached, sha256 {sha256}."
                ),
                None => eprintln!(
                    "This repository has no {NPM_REGISTRY_KEYS_TARGET}: `verify npm-package` needs --npm-registry-keys."
                ),
            }
        }
    }
    ExitCode::SUCCESS
}

fn failure(format: OutputFormat, error: &TufError) -> ExitCode {
    report_failure(format, error.code(), &error.to_string());
    ExitCode::from(EXIT_FAILED)
}

fn fail_usage(format: OutputFormat, message: &str) -> ExitCode {
    report_failure(format, "usage", message);
    ExitCode::from(EXIT_USAGE)
}

fn report_failure(format: OutputFormat, code: &str, message: &str) {
    match format {
        OutputFormat::Json => println!(
            "{}",
            serde_json::json!({
                "initialized": false,
                "reason": {"code": code, "message": message},
            })
        ),
        OutputFormat::Text => {
            eprintln!("Error: {message} [{code}]");
            eprintln!("The cache (if any) is unchanged; commands keep using the last verified trust root.");
        }
    }
}

//! Command-line flags (`serve`, `review`, `lint`).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Kubernetes admission webhook admitting only images proven by ClusterImagePolicies.
#[derive(Debug, Parser)]
#[command(name = "verify-admission", version)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the webhook over HTTPS.
    Serve(Box<ServeArgs>),
    /// Decide offline on AdmissionReviews or manifests (exit 0 admitted, 1 denied, 2 bad input).
    Review(ReviewArgs),
    /// Validate the policy files.
    Lint(LintArgs),
    /// Serve the HTTPS verify API for controllers built without cgo (mTLS; run it as its own Deployment, never in the webhook's pods).
    Api(VerifyApiArgs),
}

/// What to do with images no policy covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum NoMatch {
    /// Deny them (policy-controller's default).
    #[default]
    Deny,
    /// Admit them with a warning.
    Warn,
    /// Admit them.
    Allow,
}

/// Output format of `review`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Output {
    /// One line per image.
    #[default]
    Text,
    /// One JSON document.
    Json,
}

/// Flags `serve` and `review` share: policies, trust, registries.
#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    /// Directory of ClusterImagePolicy files (*.yaml, *.yml).
    #[arg(long, value_name = "DIR")]
    pub policies: PathBuf,
    /// Sigstore trusted root (JSON); default: the built-in public-good root.
    #[arg(long, value_name = "FILE")]
    pub trusted_root: Option<PathBuf>,
    /// Directory of named trust roots (`<name>.json`) for `trustRootRef`.
    #[arg(long, value_name = "DIR")]
    pub trust_roots: Option<PathBuf>,
    /// Docker config.json whose credentials every tenant may use.
    #[arg(long, value_name = "FILE")]
    pub docker_config: Option<PathBuf>,
    /// Speak plain HTTP to every registry.
    #[arg(long)]
    pub allow_http_registry: bool,
    /// Images no policy matches.
    #[arg(long, value_enum, default_value_t = NoMatch::Deny)]
    pub no_match: NoMatch,
    /// Look signatures without log evidence up in the transparency log (off: no digest leaves the cluster).
    #[arg(long)]
    pub tlog: bool,
    /// Rekor URL for `--tlog`.
    #[arg(long, default_value = verify_registry::DEFAULT_REKOR_URL)]
    pub rekor_url: String,
    /// Directory of mounted secrets for `key.secretRef` (`<dir>/<name>/<key>`).
    #[arg(long, value_name = "DIR")]
    pub secrets_dir: Option<PathBuf>,
    /// Longest time one image's verification may take (seconds), in the background included.
    #[arg(long, default_value_t = 30.0, value_name = "SECONDS")]
    pub verify_timeout: f64,
    /// FluxAuditPolicy file: Flux's best practices enforced (or warned on) for Deployments in the Flux namespace(s).
    #[arg(long, value_name = "FILE")]
    pub flux_audit: Option<PathBuf>,
}

/// `serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to serve HTTPS on.
    #[arg(long, default_value = "0.0.0.0:8443")]
    pub listen: SocketAddr,
    /// TLS certificate chain (PEM), re-read when it changes.
    #[arg(long, value_name = "FILE")]
    pub tls_cert: PathBuf,
    /// TLS private key (PEM), re-read when it changes.
    #[arg(long, value_name = "FILE")]
    pub tls_key: PathBuf,
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(flatten)]
    pub tuf: crate::trust_refresh::TufArgs,
    /// Every request is answered within this many seconds (keep it below the webhook's timeoutSeconds).
    #[arg(long, default_value_t = 8.0, value_name = "SECONDS")]
    pub budget: f64,
    /// Serve /metrics over plain HTTP on this address instead of on the HTTPS listener.
    #[arg(long)]
    pub metrics_listen: Option<SocketAddr>,
    /// Kubernetes API server URL for pull secrets (default: in-cluster, or the kubeconfig's).
    #[arg(long, value_name = "URL")]
    pub kube_api: Option<String>,
    /// Kubeconfig for pull secrets (default: in-cluster configuration when running in a pod).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Do not read imagePullSecrets through the Kubernetes API.
    #[arg(long)]
    pub no_pull_secrets: bool,
    /// Lifetime of a cached admit (seconds).
    #[arg(long, default_value_t = 3600, value_name = "SECONDS")]
    pub cache_ttl: u64,
    /// Lifetime of a cached denial (seconds).
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    pub negative_cache_ttl: u64,
    /// How long a cached admit is still served while the registry is unreachable (seconds).
    #[arg(long, default_value_t = 86400, value_name = "SECONDS")]
    pub stale_max_age: u64,
    /// Most verdicts cached.
    #[arg(long, default_value_t = 10_000)]
    pub cache_entries: u64,
    /// Most bytes of verdicts cached.
    #[arg(long, default_value_t = 64 * 1024 * 1024)]
    pub cache_bytes: u64,
    /// How often the policy directory and the certificate are checked for changes (seconds).
    #[arg(long, default_value_t = 2.0, value_name = "SECONDS")]
    pub reload_interval: f64,
    /// Benchmark baseline: parse every AdmissionReview and admit it, verifying nothing.
    #[arg(long, hide = true)]
    pub noop: bool,
}

/// `review`.
#[derive(Debug, Clone, Args)]
pub struct ReviewArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// AdmissionReview JSON or YAML/JSON manifests (multi-document, Lists).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

/// `lint`.
#[derive(Debug, Clone, Args)]
pub struct LintArgs {
    /// Directory of ClusterImagePolicy files.
    #[arg(long, value_name = "DIR")]
    pub policies: PathBuf,
}

/// `api`: the HTTPS verify API (`POST /v1/verify/image`, `/v1/verify/artifact`).
#[derive(Debug, Clone, Args)]
pub struct VerifyApiArgs {
    /// The engine's JSON configuration (trust root, registry allowlist, limits).
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// The server's certificate chain (PEM).
    #[arg(long, value_name = "FILE")]
    pub cert: PathBuf,
    /// The server's private key (PEM).
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    /// The CA every client certificate must chain to (PEM): calls without one are refused.
    #[arg(long, value_name = "FILE")]
    pub client_ca: PathBuf,
    /// Where to listen.
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0:8443")]
    pub addr: String,
}

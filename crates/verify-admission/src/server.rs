//! `serve`: build the engine from the flags and serve HTTPS (and metrics).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use verify_core::{Limits, TrustRoot, Verifier};
use verify_policy::TrustRoots;

use crate::api::{self, AppState};
use crate::certs::{self, ReloadingCert};
use crate::cli::{CommonArgs, ServeArgs};
use crate::config::{self, EngineConfig};
use crate::metrics::Metrics;
use crate::policies::PolicyStore;
use crate::pull_secrets::PullSecrets;
use crate::trust_refresh::LiveTrust;
use crate::verify::registry::{Registries, RegistrySettings};
use crate::verify::Engine;

/// Most connections served at once; more wait in the accept queue.
const MAX_CONNECTIONS: usize = 4096;
/// Time allowed for a TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Time allowed for a request's headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the server cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A flag value.
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    /// The policies.
    #[error("--policies: the policy set is invalid:\n{0}")]
    Policies(verify_policy::LintReport),
    /// The trust material.
    #[error("{0}")]
    Trust(String),
    /// The certificate.
    #[error(transparent)]
    Cert(#[from] certs::CertError),
    /// Anything else at start-up.
    #[error("{0}")]
    Setup(String),
}

/// The engine for `serve` or `review`.
pub fn build_engine(
    common: &CommonArgs,
    config: EngineConfig,
    metrics: Arc<Metrics>,
) -> Result<Arc<Engine>, StartError> {
    let limits = Limits::default();
    let source = if common.trusted_root.is_some() {
        "file"
    } else {
        "built-in"
    };
    let root = match &common.trusted_root {
        Some(path) => {
            let root = TrustRoot::from_file(path, &limits)
                .map_err(|e| StartError::Trust(format!("--trusted-root: {e}")))?;
            // A server checks every chain of the file before it is ready,
            // so a broken root stops the start rather than denying at the
            // first image (a one-shot CLI checks only the chains it uses).
            root.check_all_chains()
                .map_err(|e| StartError::Trust(format!("--trusted-root: {e}")))?;
            if let Ok(modified) = std::fs::metadata(path).and_then(|m| m.modified()) {
                metrics.set_trust_root_time(modified);
            }
            root
        }
        None => {
            metrics.set_trust_root_time(SystemTime::now());
            TrustRoot::production().map_err(|e| StartError::Trust(e.to_string()))?
        }
    };
    let verifier = Verifier::new(root)
        .map_err(|e| StartError::Trust(e.to_string()))?
        .with_limits(limits);
    let mut trust = TrustRoots::new(Arc::new(verifier));
    if let Some(dir) = &common.trust_roots {
        trust = trust
            .load_dir(dir)
            .map_err(|e| StartError::Trust(format!("--trust-roots: {e}")))?;
    }
    let trust = Arc::new(trust);
    let policies =
        PolicyStore::load(&common.policies, Arc::clone(&trust)).map_err(StartError::Policies)?;
    let trust = Arc::new(LiveTrust::fixed((*trust).clone(), source, limits));
    metrics.set_policy_hash("", policies.current().hash());
    let registries = Registries::new(
        RegistrySettings {
            docker_config: common.docker_config.clone(),
            allow_http: common.allow_http_registry,
            tlog_url: common.tlog.then(|| common.rekor_url.clone()),
            secrets_dir: common.secrets_dir.clone(),
            verify_timeout: config.verify_timeout,
        },
        Arc::clone(&metrics),
    )
    .map_err(StartError::Setup)?;
    Ok(Arc::new(Engine::new(
        config,
        Arc::new(policies),
        trust,
        registries,
        metrics,
    )))
}

/// Run `serve` until the process is stopped.
pub async fn run(args: ServeArgs) -> Result<(), StartError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let interval = config::seconds("reload-interval", args.reload_interval)?;
    let metrics = Arc::new(Metrics::new());
    let engine = if args.noop {
        None
    } else {
        let config = EngineConfig::from_serve(&args)?;
        let common = args.common.clone();
        let m = Arc::clone(&metrics);
        let engine = tokio::task::spawn_blocking(move || build_engine(&common, config, m))
            .await
            .map_err(|e| StartError::Setup(e.to_string()))??;
        let updater = crate::trust_refresh::updater(&args.tuf, args.common.trusted_root.is_some())
            .await
            .map_err(|e| StartError::Trust(e.to_string()))?;
        if let Some(updater) = updater {
            engine.trust.attach(updater, &metrics);
            tokio::spawn(
                Arc::clone(&engine.trust).watch(Arc::clone(&metrics), args.tuf.trust_root_refresh),
            );
        }
        Some(engine)
    };
    serve(args, engine, metrics, provider, interval).await
}

async fn serve(
    args: ServeArgs,
    engine: Option<Arc<Engine>>,
    metrics: Arc<Metrics>,
    provider: Arc<rustls::crypto::CryptoProvider>,
    interval: Duration,
) -> Result<(), StartError> {
    let pull_secrets = if args.no_pull_secrets || args.noop {
        PullSecrets::disabled()
    } else if args.kubeconfig.is_some() || args.kube_api.is_some() || in_cluster() {
        PullSecrets::connect(args.kube_api.as_deref(), args.kubeconfig.as_deref())
            .await
            .map_err(|e| StartError::Setup(e.to_string()))?
    } else {
        tracing::warn!(
            "not in a cluster and no --kubeconfig/--kube-api: imagePullSecrets are not read"
        );
        PullSecrets::disabled()
    };
    let cert = Arc::new(ReloadingCert::load(
        &args.tls_cert,
        &args.tls_key,
        Arc::clone(&provider),
    )?);
    let tls = certs::server_config(Arc::clone(&cert), provider)
        .map_err(|e| StartError::Setup(format!("TLS: {e}")))?;
    let state = Arc::new(AppState {
        engine: engine.clone(),
        pull_secrets,
        metrics: Arc::clone(&metrics),
        budget: config::seconds("budget", args.budget)?,
        metrics_here: args.metrics_listen.is_none(),
    });
    let listener = TcpListener::bind(args.listen)
        .await
        .map_err(|e| StartError::Setup(format!("--listen {}: {e}", args.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| StartError::Setup(e.to_string()))?;
    if let Some(metrics_addr) = args.metrics_listen {
        let metrics_listener = TcpListener::bind(metrics_addr)
            .await
            .map_err(|e| StartError::Setup(format!("--metrics-listen {metrics_addr}: {e}")))?;
        let local = metrics_listener.local_addr().ok();
        tracing::info!(event = "listening", metrics_addr = ?local, "metrics listening");
        tokio::spawn(serve_metrics(metrics_listener, Arc::clone(&state)));
    }
    tokio::spawn(Arc::clone(&cert).watch(interval));
    if let Some(engine) = &engine {
        tokio::spawn(Arc::clone(&engine.policies).watch(Arc::clone(&metrics), interval));
    }
    tracing::info!(
        event = "listening",
        addr = %addr,
        policy_hash = engine.as_ref().map(|e| e.policies.current().hash().to_string()).unwrap_or_default(),
        noop = args.noop,
        "serving HTTPS"
    );
    serve_tls(listener, TlsAcceptor::from(Arc::new(tls)), state).await;
    Ok(())
}

fn in_cluster() -> bool {
    std::env::var_os("KUBERNETES_SERVICE_HOST").is_some()
}

/// Accept TLS connections forever.
pub async fn serve_tls(listener: TcpListener, acceptor: TlsAcceptor, state: Arc<AppState>) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(permit) = Arc::clone(&slots).acquire_owned().await else {
            return;
        };
        let (stream, _) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let (acceptor, state) = (acceptor.clone(), Arc::clone(&state));
        tokio::spawn(async move {
            let _permit = permit;
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    tracing::debug!(error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => return,
            };
            let service = service_fn(move |req| api::route(Arc::clone(&state), req));
            let mut builder = auto::Builder::new(TokioExecutor::new());
            builder
                .http1()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT);
            let _ = builder.serve_connection(TokioIo::new(tls), service).await;
        });
    }
}

async fn serve_metrics(listener: TcpListener, state: Arc<AppState>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            let service = service_fn(move |req| api::route_metrics(Arc::clone(&state), req));
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

//! Which proxy registry and log requests go through.

/// Which proxy requests go through.
#[derive(Debug, Clone, Default)]
pub enum ProxySetting {
    /// The process's `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY` (reqwest's
    /// reading of them): the CLI's behaviour.
    #[default]
    Environment,
    /// No proxy, whatever the environment says (a library host that
    /// passes its proxy explicitly, or none).
    Direct,
    /// Every request through this proxy (`http://[user:password@]host:port`;
    /// the user information becomes `Proxy-Authorization`, sent to the
    /// proxy only), loopback registries included — as Go's
    /// `http.ProxyURL`, which Flux uses for `proxySecretRef` — except the
    /// hosts of `no_proxy` (`NO_PROXY` syntax: comma-separated hosts,
    /// domains, IPs or CIDRs).
    Url {
        /// The proxy.
        url: String,
        /// Hosts reached directly.
        no_proxy: Option<String>,
    },
}

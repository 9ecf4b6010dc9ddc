//! A hook that sees every HTTP request the clients send.
//!
//! A server counts registry traffic by kind and status (the webhook's
//! `registry_requests` metric) without this crate knowing about metrics:
//! give [`RegistryClient::with_observer`](crate::RegistryClient::with_observer)
//! a [`RequestObserver`], and it is told of every attempt — each retry is
//! an attempt of its own, as the registry sees it; a redirect reqwest
//! follows is part of its attempt. It is called on the request's task,
//! after the response's status line arrived (or the attempt failed), and
//! must not block.

/// What a request was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RequestKind {
    /// `GET /v2/<repo>/manifests/<tag or digest>` (tag resolution included).
    Manifest,
    /// `GET /v2/<repo>/blobs/<digest>`.
    Blob,
    /// `GET /v2/<repo>/referrers/<digest>` (OCI 1.1).
    Referrers,
    /// A Bearer token from the realm a `401` named.
    Token,
    /// A transparency-log (Rekor) lookup.
    Log,
}

impl RequestKind {
    /// A stable lower-case name (`manifest`, `blob`, `referrers`, `token`,
    /// `log`), for metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Manifest => "manifest",
            Self::Blob => "blob",
            Self::Referrers => "referrers",
            Self::Token => "token",
            Self::Log => "log",
        }
    }
}

/// How one attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RequestOutcome {
    /// The server answered with this HTTP status.
    Status(u16),
    /// No answer within the time allowed.
    Timeout,
    /// The connection failed (refused, reset, TLS, a refused redirect).
    Transport,
}

/// Told of every request attempt.
pub trait RequestObserver: Send + Sync {
    /// One attempt of `kind` ended with `outcome`.
    fn request(&self, kind: RequestKind, outcome: RequestOutcome);
}

/// What [`crate::http::Http::fetch`] reports to: the client's observer,
/// if any, and the kind of the request.
#[derive(Clone, Copy)]
pub(crate) struct Observe<'a> {
    pub observer: Option<&'a dyn RequestObserver>,
    pub kind: RequestKind,
}

impl Observe<'_> {
    pub fn report(&self, outcome: RequestOutcome) {
        if let Some(o) = self.observer {
            o.request(self.kind, outcome);
        }
    }
}

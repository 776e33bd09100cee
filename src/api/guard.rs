//! Browser and DNS-rebinding defences for the control API.
//!
//! A web page the operator visits can send requests to `127.0.0.1:7878`; it always
//! carries an `Origin` header, so a request whose `Origin` is present and not in
//! `api.allowed_origins` (default: none) is refused with 403. A page on an attacker's
//! domain that re-binds its name to 127.0.0.1 sends `Host: evil.example`, so only the
//! listen address, `localhost:<port>`, `127.0.0.1:<port>` and `api.allowed_hosts` are
//! accepted as `Host`. Both checks run before routing, on every path.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{HOST, ORIGIN};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::ApiError;

/// Which `Origin` and `Host` values are accepted (compared case-insensitively).
#[derive(Clone, Debug)]
pub(crate) struct Guard {
    origins: Arc<Vec<String>>,
    hosts: Arc<Vec<String>>,
    /// [`Guard::loopback`]: any port of a loopback name (the address is not known).
    any_loopback_port: bool,
}

impl Guard {
    /// The defaults for an API bound to `addr`, plus the configured extras.
    pub(crate) fn new(
        addr: SocketAddr,
        allowed_origins: &[String],
        allowed_hosts: &[String],
    ) -> Guard {
        let port = addr.port();
        let mut hosts = vec![
            addr.to_string(),
            format!("localhost:{port}"),
            format!("127.0.0.1:{port}"),
        ];
        if addr.ip().is_ipv6() && addr.ip().is_loopback() {
            hosts.push(format!("[::1]:{port}"));
        }
        hosts.extend(allowed_hosts.iter().map(|h| h.trim().to_string()));
        Guard {
            origins: Arc::new(
                allowed_origins
                    .iter()
                    .map(|o| o.trim().trim_end_matches('/').to_ascii_lowercase())
                    .collect(),
            ),
            hosts: Arc::new(hosts.into_iter().map(|h| h.to_ascii_lowercase()).collect()),
            any_loopback_port: false,
        }
    }

    /// For a router served on a listener the caller binds itself: no origin, and only
    /// `127.0.0.1`, `localhost` or `[::1]` (any port) as host.
    pub(crate) fn loopback() -> Guard {
        Guard {
            origins: Arc::new(Vec::new()),
            hosts: Arc::new(vec!["127.0.0.1".into(), "localhost".into(), "[::1]".into()]),
            any_loopback_port: true,
        }
    }

    fn host_allowed(&self, host: &str) -> bool {
        if self.any_loopback_port {
            let name = host.rsplit_once(':').map_or(host, |(name, _)| name);
            return self.hosts.iter().any(|h| h == name);
        }
        self.hosts.iter().any(|h| h == host)
    }

    fn check(&self, req: &Request) -> Result<(), ApiError> {
        let headers = req.headers();
        if let Some(origin) = headers.get(ORIGIN) {
            let origin = origin.to_str().unwrap_or("").trim().to_ascii_lowercase();
            if !self.origins.contains(&origin) {
                return Err(ApiError::forbidden(
                    "origin",
                    format!(
                        "requests from the web origin `{origin}` are refused (api.allowed_origins)"
                    ),
                ));
            }
        }
        let host = headers
            .get(HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_string)
            .or_else(|| req.uri().authority().map(|a| a.to_string()))
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if !self.host_allowed(&host) {
            return Err(ApiError::forbidden(
                "host",
                format!("`Host: {host}` is not this daemon's address (api.allowed_hosts)"),
            ));
        }
        Ok(())
    }
}

/// The middleware: refuse a foreign `Origin` or `Host` before anything else runs.
pub(crate) async fn check(State(guard): State<Guard>, req: Request, next: Next) -> Response {
    match guard.check(&req) {
        Ok(()) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

//! The control API's accept loop: bounded in connections and in time.
//!
//! Invariants:
//! - at most `max_connections` connections are open at once; further clients wait in
//!   the kernel's listen backlog (they hold no descriptor of ours), so a flood of idle
//!   sockets can never starve the executor's database and exchange connections of file
//!   descriptors (keep `max_connections` well below `LimitNOFILE`);
//! - a client must send its request headers within `header_read_timeout`;
//! - a request (body included) must be answered within `request_timeout` (408 after);
//! - a keep-alive connection with no request in flight is closed after `idle_timeout`;
//! - an `accept` error (EMFILE, ECONNABORTED) is logged and retried after a pause,
//!   never ends the server;
//! - on shutdown the listener closes, every connection finishes its request in flight
//!   and closes.

use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::response::IntoResponse;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tower::ServiceExt;

use crate::settings::ApiSettings;

/// The server's bounds (from `[api]`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub max_connections: usize,
    pub(crate) header_read_timeout: Duration,
    pub request_timeout: Duration,
    pub(crate) idle_timeout: Duration,
}

impl Limits {
    pub(crate) fn from_settings(api: &ApiSettings) -> Limits {
        let idle = api.idle_timeout;
        Limits {
            max_connections: api.max_connections.get(),
            header_read_timeout: api.header_read_timeout,
            request_timeout: idle,
            idle_timeout: idle,
        }
    }
}

/// Serve `app` on `listener` within `limits` until `shutdown` completes.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            _ = &mut shutdown => break,
            p = permits.clone().acquire_owned() => p.expect("the semaphore is never closed"),
        };
        let stream = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!(error = %e, "control API: accept failed; retrying shortly");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let app = app.clone();
        let stop = stop_rx.clone();
        tokio::spawn(async move {
            serve_connection(stream, app, limits, stop).await;
            drop(permit);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    drop(stop_rx);
    // Every connection holds a receiver: this returns once the last one has closed.
    stop_tx.closed().await;
    Ok(())
}

/// When the connection last finished a request (or opened), and how many are in flight.
struct Activity {
    started: Instant,
    last_ms: AtomicU64,
    in_flight: AtomicUsize,
}

impl Activity {
    fn touch(&self) {
        let ms = self.started.elapsed().as_millis() as u64;
        self.last_ms.store(ms, Ordering::Relaxed);
    }
    fn idle_for(&self) -> Option<Duration> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        let now = self.started.elapsed().as_millis() as u64;
        Some(Duration::from_millis(
            now.saturating_sub(self.last_ms.load(Ordering::Relaxed)),
        ))
    }
}

async fn serve_connection(
    stream: TcpStream,
    app: Router,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let activity = Arc::new(Activity {
        started: Instant::now(),
        last_ms: AtomicU64::new(0),
        in_flight: AtomicUsize::new(0),
    });
    let service = {
        let activity = activity.clone();
        hyper::service::service_fn(move |req: Request<Incoming>| {
            let app = app.clone();
            let activity = activity.clone();
            async move {
                activity.in_flight.fetch_add(1, Ordering::AcqRel);
                let answer =
                    tokio::time::timeout(limits.request_timeout, app.oneshot(req.map(Body::new)))
                        .await;
                activity.touch();
                activity.in_flight.fetch_sub(1, Ordering::AcqRel);
                Ok::<_, std::convert::Infallible>(match answer {
                    Ok(Ok(response)) => response,
                    Ok(Err(never)) => match never {},
                    Err(_) => request_timed_out(),
                })
            }
        })
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let mut tick = tokio::time::interval(limits.idle_timeout.min(Duration::from_secs(1)));
    let mut closing = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "control API connection ended");
                }
                return;
            }
            _ = stop.changed(), if !closing => {
                closing = true;
                conn.as_mut().graceful_shutdown();
            }
            _ = tick.tick(), if !closing => {
                if activity.idle_for().is_some_and(|idle| idle >= limits.idle_timeout) {
                    closing = true;
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

fn request_timed_out() -> axum::response::Response {
    let mut response =
        super::ApiError::bad_request("body", "the request was not received and answered in time")
            .into_response();
    *response.status_mut() = StatusCode::REQUEST_TIMEOUT;
    response
}

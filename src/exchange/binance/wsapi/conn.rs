//! The connection task: the one owner of the WS API socket.
//!
//! It connects, logs the session on when the key is Ed25519 (`session.logon`; then frames
//! go without `apiKey` and signature, else each frame is signed), writes each job as one
//! frame with a fresh integer `id`, and hands each answer to the job whose `id` it
//! carries. The server's ping is answered with a pong of the same payload (tungstenite
//! queues it; the task flushes it at once). Before the connection's lifetime ends
//! (docs/binance-fapi.md §6: 24 h) it stops taking jobs, waits for the answers still
//! due, closes and reconnects (a planned reconnect; REST carries orders meanwhile).
//!
//! Invariants: a job the task never wrote is answered [`Failure::NotSent`] (certainly not
//! executed); a job written and not answered when the socket ends is answered
//! [`Failure::Lost`] (outcome unknown), whatever ended the socket. `Link::up` is true only
//! while a connection is open and taking jobs. The task ends when every handle is gone.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::{sleep, sleep_until, timeout, timeout_at, Instant};
use tokio_tungstenite::tungstenite::Message;

use super::super::rest::RestClient;
use super::super::sign::KeyKind;
use super::frame::{self, Answer, Params};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Reconnect backoff after a lost connection or a failed connect.
const MIN_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// One request for the socket.
pub(super) struct Job {
    pub method: &'static str,
    pub params: Params,
    pub reply: oneshot::Sender<Reply>,
}

/// What became of a job: its answer, or why there is none.
pub(super) struct Reply {
    /// When the frame was handed to the socket (None: never written).
    pub sent_at: Option<DateTime<Utc>>,
    pub result: Result<Answer, Failure>,
}

pub(super) enum Failure {
    /// Never written: certainly not executed.
    NotSent(String),
    /// Written, never answered: the outcome is unknown.
    Lost(String),
}

impl Reply {
    fn not_sent(why: impl Into<String>) -> Reply {
        Reply {
            sent_at: None,
            result: Err(Failure::NotSent(why.into())),
        }
    }
}

/// What the task shares with its handles.
#[derive(Debug)]
pub(super) struct Link {
    pub up: watch::Sender<bool>,
    /// The last `session.logon`: None when not attempted (not an Ed25519 key, or not
    /// connected yet), else its outcome.
    pub logon: Mutex<Option<Result<(), String>>>,
    /// Connections opened so far.
    pub sessions: std::sync::atomic::AtomicU64,
}

pub(super) struct Ctx {
    pub url: String,
    pub rest: Arc<RestClient>,
    pub lifetime: Duration,
    pub request_timeout: Duration,
    pub link: Arc<Link>,
}

enum End {
    /// Every handle is gone.
    Exit,
    /// The lifetime ran out: reconnect at once.
    Planned,
    /// The socket failed or the server closed it: reconnect after a backoff.
    Lost,
}

/// Connect, serve, reconnect, until every handle is dropped.
pub(super) async fn run(ctx: Ctx, mut jobs: mpsc::Receiver<Job>) {
    let mut backoff = MIN_BACKOFF;
    loop {
        match open(&ctx).await {
            Ok((ws, session_key)) => {
                backoff = MIN_BACKOFF;
                ctx.link
                    .sessions
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                ctx.link.up.send_replace(true);
                tracing::info!(url = %ctx.url, logged_on = session_key.is_some(), "WS API connected; orders go over it");
                let session = Session {
                    ctx: &ctx,
                    key: session_key,
                    next_id: 0,
                    pending: HashMap::new(),
                };
                let end = session.serve(ws, &mut jobs).await;
                ctx.link.up.send_replace(false);
                match end {
                    End::Exit => return,
                    End::Planned => {
                        // Jobs queued during the drain go over REST, not after a reconnect.
                        refuse_queued(&mut jobs);
                        continue;
                    }
                    End::Lost => {
                        tracing::warn!(url = %ctx.url, "WS API connection lost; orders go over REST until it is back")
                    }
                }
            }
            Err(e) => {
                tracing::warn!(url = %ctx.url, error = %e, "WS API connect failed; orders go over REST")
            }
        }
        if !refuse_while(&mut jobs, sleep(backoff)).await {
            return;
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Answer every job `NotSent` until `wait` ends; false when every handle is gone.
async fn refuse_while(jobs: &mut mpsc::Receiver<Job>, wait: impl Future<Output = ()>) -> bool {
    tokio::pin!(wait);
    loop {
        tokio::select! {
            _ = &mut wait => return true,
            job = jobs.recv() => match job {
                None => return false,
                Some(job) => {
                    let _ = job.reply.send(Reply::not_sent("WS API not connected"));
                }
            }
        }
    }
}

/// Answer every job already queued `NotSent`.
fn refuse_queued(jobs: &mut mpsc::Receiver<Job>) {
    while let Ok(job) = jobs.try_recv() {
        let _ = job.reply.send(Reply::not_sent("WS API reconnecting"));
    }
}

/// Connect, and log on with an Ed25519 key. The session's key, when logged on.
async fn open(ctx: &Ctx) -> Result<(Socket, Option<String>), String> {
    let mut ws = timeout(
        ctx.request_timeout,
        crate::exchange::binance::ws::connect(ctx.url.as_str()),
    )
    .await
    .map_err(|_| "connect timed out".to_string())?
    .map_err(|e| e.to_string())?;
    let (api_key, signer) = ctx.rest.signing_pair();
    if signer.kind() != KeyKind::Ed25519 {
        *lock(&ctx.link.logon) = None;
        return Ok((ws, None));
    }
    let params = Params::new(
        &[],
        ctx.rest.clock.server_now_ms(),
        ctx.rest.recv_window_ms(),
    );
    let outcome = match params.signed(&api_key, &signer) {
        Ok(json) => logon(ctx, &mut ws, frame::request(0, "session.logon", json)).await,
        Err(e) => Err(e.to_string()),
    };
    if let Err(e) = &outcome {
        tracing::warn!(error = %e, "WS API session.logon failed; every request is signed instead");
    }
    let key = outcome.is_ok().then_some(api_key);
    *lock(&ctx.link.logon) = Some(outcome);
    Ok((ws, key))
}

/// Send `session.logon` (id 0) and wait for its answer.
async fn logon(ctx: &Ctx, ws: &mut Socket, frame: String) -> Result<(), String> {
    ws.send(Message::Text(frame.into()))
        .await
        .map_err(|e| format!("session.logon not sent: {e}"))?;
    let deadline = Instant::now() + ctx.request_timeout;
    loop {
        let msg = timeout_at(deadline, ws.next())
            .await
            .map_err(|_| "session.logon: no answer in time".to_string())?;
        match msg {
            Some(Ok(Message::Text(t))) => {
                let Ok(a) = serde_json::from_str::<Answer>(t.as_str()) else {
                    continue;
                };
                if a.id() != Some(0) {
                    continue;
                }
                return match (a.status, a.error) {
                    (200, _) => Ok(()),
                    (status, Some(e)) => {
                        Err(format!("session.logon: {status} {} {}", e.code, e.msg))
                    }
                    (status, None) => Err(format!("session.logon: status {status}")),
                };
            }
            Some(Ok(Message::Ping(_))) => {
                let _ = ws.flush().await;
            }
            Some(Ok(_)) => {}
            _ => return Err("the connection closed during session.logon".into()),
        }
    }
}

struct Session<'a> {
    ctx: &'a Ctx,
    /// The API key the session is logged on with.
    key: Option<String>,
    next_id: u64,
    pending: HashMap<u64, (oneshot::Sender<Reply>, DateTime<Utc>)>,
}

impl Session<'_> {
    async fn serve(mut self, mut ws: Socket, jobs: &mut mpsc::Receiver<Job>) -> End {
        let retire_at = Instant::now() + self.ctx.lifetime;
        let mut drain_until: Option<Instant> = None;
        let end = loop {
            if drain_until.is_some() && self.pending.is_empty() {
                break End::Planned;
            }
            tokio::select! {
                job = jobs.recv(), if drain_until.is_none() => match job {
                    None => break End::Exit,
                    Some(job) => {
                        if let Err(e) = self.write(&mut ws, job).await {
                            tracing::warn!(error = %e, "WS API write failed");
                            break End::Lost;
                        }
                    }
                },
                msg = ws.next() => match msg {
                    Some(Ok(Message::Text(t))) => self.route(t.as_str()),
                    Some(Ok(Message::Ping(_))) => {
                        if ws.flush().await.is_err() {
                            break End::Lost;
                        }
                    }
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break End::Lost,
                    Some(Ok(_)) => {}
                },
                _ = sleep_until(retire_at), if drain_until.is_none() => {
                    tracing::info!("WS API connection at its planned lifetime: draining, then reconnecting");
                    self.ctx.link.up.send_replace(false);
                    drain_until = Some(Instant::now() + self.ctx.request_timeout);
                }
                _ = sleep_until(drain_until.unwrap_or(retire_at)), if drain_until.is_some() => {
                    break End::Planned;
                }
            }
        };
        // A close on a dead socket may not finish; it is a courtesy, bounded.
        let _ = timeout(Duration::from_secs(1), ws.close(None)).await;
        self.fail_pending();
        end
    }

    /// Sign (unless logged on with the key in use now) and write one job.
    async fn write(&mut self, ws: &mut Socket, job: Job) -> Result<(), String> {
        let (api_key, signer) = self.ctx.rest.signing_pair();
        let params = if self.key.as_deref() == Some(api_key.as_str()) {
            job.params.unsigned()
        } else {
            match job.params.signed(&api_key, &signer) {
                Ok(p) => p,
                Err(e) => {
                    let _ = job.reply.send(Reply::not_sent(e.to_string()));
                    return Ok(());
                }
            }
        };
        self.next_id += 1;
        let id = self.next_id;
        let text = frame::request(id, job.method, params);
        // Pending before the write: a write that fails may still have left.
        self.pending.insert(id, (job.reply, Utc::now()));
        ws.send(Message::Text(text.into()))
            .await
            .map_err(|e| e.to_string())
    }

    fn route(&mut self, text: &str) {
        let answer = match serde_json::from_str::<Answer>(text) {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %e, "WS API frame that is not an answer");
                return;
            }
        };
        match answer.id().and_then(|id| self.pending.remove(&id)) {
            Some((reply, sent_at)) => {
                let _ = reply.send(Reply {
                    sent_at: Some(sent_at),
                    result: Ok(answer),
                });
            }
            None => tracing::warn!(
                status = answer.status,
                code = ?answer.error.as_ref().map(|e| e.code),
                msg = ?answer.error.as_ref().map(|e| e.msg.as_str()),
                "WS API answer for no waiting request"
            ),
        }
    }

    /// Every request still unanswered: its outcome is unknown.
    fn fail_pending(&mut self) {
        for (_, (reply, sent_at)) in self.pending.drain() {
            let _ = reply.send(Reply {
                sent_at: Some(sent_at),
                result: Err(Failure::Lost(
                    "WS API connection ended with the request in flight".into(),
                )),
            });
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

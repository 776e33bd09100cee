//! A client of the daemon's `GET /v1/events` (Server-Sent Events) for tests: reads the
//! response chunk by chunk and parses each `id:` / `event:` / `data:` block, skipping
//! the keep-alive comments.

use std::time::Duration;

use serde_json::Value;

/// One event as the stream sent it.
#[derive(Clone, Debug, PartialEq)]
pub struct SseEvent {
    /// The `id:` field (the outbox sequence number; 0 for an `error` event).
    pub seq: i64,
    /// The `event:` field (`intent`, `order`, `fill`, … or `error`).
    pub kind: String,
    pub data: Value,
}

/// An open `GET /v1/events` response.
pub struct EventStream {
    response: reqwest::Response,
    buffer: String,
}

/// Open `<base>/v1/events` (with `?since=<since>` when given). `Err` carries the status
/// and JSON body of a refusal (status 0: no answer, the connection dropped).
pub async fn open(
    http: &reqwest::Client,
    base: &str,
    token: Option<&str>,
    since: Option<i64>,
) -> Result<EventStream, (u16, Value)> {
    let url = match since {
        Some(s) => format!("{base}/v1/events?since={s}"),
        None => format!("{base}/v1/events"),
    };
    let mut request = http.get(url);
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    // A connection that drops before an answer (a daemon starting or stopping) is an
    // `Err` with status 0, so a caller polling through a restart tries again.
    let response = match request.send().await {
        Ok(r) => r,
        Err(e) => return Err((0, Value::String(format!("GET /v1/events: {e}")))),
    };
    let status = response.status().as_u16();
    if status != 200 {
        return Err((status, response.json().await.unwrap_or(Value::Null)));
    }
    Ok(EventStream {
        response,
        buffer: String::new(),
    })
}

impl EventStream {
    /// The next event, or None when `within` passes first or the stream ends.
    pub async fn next(&mut self, within: Duration) -> Option<SseEvent> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                if let Some(event) = parse_block(&block) {
                    return Some(event);
                }
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk()).await;
            match chunk {
                Ok(Ok(Some(bytes))) => self.buffer.push_str(&String::from_utf8_lossy(&bytes)),
                _ => return None,
            }
        }
    }

    /// Events until `done` says the list is complete; panics naming `what` when
    /// `within` passes first (bounded, like every wait in the tests).
    pub async fn until(
        &mut self,
        what: &str,
        within: Duration,
        mut done: impl FnMut(&[SseEvent]) -> bool,
    ) -> Vec<SseEvent> {
        let deadline = tokio::time::Instant::now() + within;
        let mut got = Vec::new();
        while !done(&got) {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next(left).await {
                Some(e) => got.push(e),
                None => panic!("{what}: not complete after {within:?}; got {got:#?}"),
            }
        }
        got
    }
}

fn parse_block(block: &str) -> Option<SseEvent> {
    let (mut seq, mut kind, mut data) = (0, String::from("message"), String::new());
    let mut any = false;
    for line in block.lines() {
        let Some((field, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "id" => seq = value.parse().unwrap_or(0),
            "event" => kind = value.to_string(),
            "data" => {
                if !data.is_empty() {
                    data.push('\n');
                }
                data.push_str(value);
                any = true;
            }
            _ => {}
        }
    }
    any.then(|| SseEvent {
        seq,
        kind,
        data: serde_json::from_str(&data).unwrap_or(Value::String(data)),
    })
}

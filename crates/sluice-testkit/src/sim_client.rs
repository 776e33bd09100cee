//! The simulator tests' raw client: start a simulator on port 0 and
//! talk to it the way a Binance client does (signed requests, listenKeys, WebSockets).

use std::time::{SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use tokio_tungstenite::tungstenite::Message;

use crate::account::{start_sim, Scenario, SimHandle};

pub use crate::account::{scenario, KEY, SECRET};

pub struct Sim {
    pub handle: SimHandle,
    pub http: reqwest::Client,
}

/// One response: status, headers we care about, parsed JSON body.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub json: Value,
}

impl Resp {
    pub fn code(&self) -> i64 {
        self.json["code"].as_i64().unwrap_or(0)
    }
    pub fn msg(&self) -> &str {
        self.json["msg"].as_str().unwrap_or("")
    }
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

pub fn sign(secret: &str, payload: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(payload.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

pub async fn start(scenario: Scenario) -> Sim {
    Sim {
        handle: start_sim(scenario).await,
        http: reqwest::Client::new(),
    }
}

impl Sim {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.handle.base_url(), path)
    }

    /// Sends `query` as is (no signing) with an optional API key.
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        query: &str,
        body: &str,
        key: Option<&str>,
    ) -> Resp {
        let url = if query.is_empty() {
            self.url(path)
        } else {
            format!("{}?{}", self.url(path), query)
        };
        let mut req = self
            .http
            .request(method.parse().unwrap(), url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.to_owned());
        if let Some(k) = key {
            req = req.header("X-MBX-APIKEY", k);
        }
        let r = req.send().await.expect("request reaches the simulator");
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap();
        let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Resp {
            status,
            headers,
            json,
        }
    }

    pub async fn public(&self, path: &str, query: &str) -> Resp {
        self.raw("GET", path, query, "", None).await
    }

    /// A signed request with `params` (timestamp appended) in the query string.
    pub async fn signed(&self, method: &str, path: &str, params: &str) -> Resp {
        self.signed_as(KEY, SECRET, method, path, params).await
    }

    pub async fn signed_as(
        &self,
        key: &str,
        secret: &str,
        method: &str,
        path: &str,
        params: &str,
    ) -> Resp {
        let sep = if params.is_empty() { "" } else { "&" };
        let q = format!("{params}{sep}timestamp={}", now_ms());
        let q = format!("{q}&signature={}", sign(secret, &q));
        self.raw(method, path, &q, "", Some(key)).await
    }

    pub async fn admin(&self, method: &str, path: &str, body: Value) -> Resp {
        let r = self
            .http
            .request(method.parse().unwrap(), self.url(path))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        Resp {
            status,
            headers,
            json: r.json().await.unwrap_or(Value::Null),
        }
    }

    pub async fn state(&self) -> Value {
        crate::account::sim_state(&self.handle).await
    }

    pub async fn listen_key(&self) -> String {
        let r = self
            .raw("POST", "/fapi/v1/listenKey", "", "", Some(KEY))
            .await;
        assert_eq!(r.status, 200, "{:?}", r.json);
        r.json["listenKey"].as_str().unwrap().to_owned()
    }

    pub async fn ws(&self, path: &str) -> Ws {
        let (ws, _) = tokio_tungstenite::connect_async(format!("{}{}", self.handle.ws_url(), path))
            .await
            .expect("websocket connects");
        Ws { inner: ws }
    }
}

pub struct Ws {
    inner: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

impl Ws {
    /// The next text frame as JSON; None when the server closed the socket.
    pub async fn next_json(&mut self) -> Option<Value> {
        while let Some(msg) = self.inner.next().await {
            match msg.ok()? {
                Message::Text(t) => return Some(serde_json::from_str(&t).unwrap()),
                Message::Close(_) => return None,
                _ => continue,
            }
        }
        None
    }

    /// Events until one satisfies `pred` (returned), failing if the socket closes first.
    pub async fn until(&mut self, pred: impl Fn(&Value) -> bool) -> Value {
        loop {
            let v = self
                .next_json()
                .await
                .expect("socket closed before the awaited event");
            if pred(&v) {
                return v;
            }
        }
    }

    /// Sends one JSON text frame (a WebSocket API request, a SUBSCRIBE).
    pub async fn send_json(&mut self, frame: &Value) {
        use futures_util::SinkExt;
        self.inner
            .send(Message::Text(frame.to_string().into()))
            .await
            .expect("frame sent");
    }

    /// The next frame of any kind (for ping checks).
    pub async fn next_frame(&mut self) -> Option<Message> {
        self.inner.next().await.and_then(Result::ok)
    }
}

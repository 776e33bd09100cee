//! One WebSocket API request → one response (docs/binance-fapi.md §6).
//!
//! Authentication: a request carries `apiKey`, `timestamp` and `signature` in `params`;
//! the signature covers every other param **sorted by name**, joined `k=v&…`, verified by
//! the key's own verifier (HMAC, Ed25519 or RSA: `keys`). After `session.logon` (Ed25519
//! keys only, else -4056) `apiKey` and `signature` may be left out. The order methods then
//! run through the REST pipeline ([`crate::server::pipeline::handle_with`]): the same
//! parameter rules, timestamp window, order limits, fault windows and error codes.
//!
//! Response: `{"id", "status", "result" | "error": {"code", "msg"}, "rateLimits"}`.

use std::net::IpAddr;
use std::sync::Arc;

use serde_json::{json, Map, Value};

use crate::error::ApiError;
use crate::keys::{invalid_key_type, KeyAuth};
use crate::params::Params;
use crate::server::pipeline::{handle_with, HttpOut, RawRequest, Signature};
use crate::server::state::{lock, SimState};

/// One connection's session (`session.logon` / `.status` / `.logout`).
#[derive(Debug)]
pub(crate) struct Session {
    key: Option<String>,
    authorized_since: Option<i64>,
    connected_since: i64,
}

impl Session {
    pub(crate) fn new(now_ms: i64) -> Session {
        Session {
            key: None,
            authorized_since: None,
            connected_since: now_ms,
        }
    }
}

/// The REST endpoint an order method runs as.
fn rest_of(method: &str) -> Option<(&'static str, &'static str)> {
    match method {
        "order.place" => Some(("POST", "/fapi/v1/order")),
        "order.cancel" => Some(("DELETE", "/fapi/v1/order")),
        "order.status" => Some(("GET", "/fapi/v1/order")),
        _ => None,
    }
}

/// What the connection does with one request frame.
pub(crate) enum Reply {
    /// Send this answer.
    Frame(String),
    /// Close the socket without answering (the `drop_ws_api` fault).
    Drop,
}

impl From<String> for Reply {
    fn from(frame: String) -> Reply {
        Reply::Frame(frame)
    }
}

/// The reply to one request frame.
pub(crate) async fn answer(
    state: &Arc<SimState>,
    ip: IpAddr,
    session: &mut Session,
    text: &str,
) -> Reply {
    answer_frame(state, ip, session, text).await
}

async fn answer_frame(
    state: &Arc<SimState>,
    ip: IpAddr,
    session: &mut Session,
    text: &str,
) -> Reply {
    let Ok(Value::Object(frame)) = serde_json::from_str::<Value>(text) else {
        return error_frame(
            &Value::Null,
            &ApiError::new(400, -1000, "Malformed request."),
            None,
        )
        .into();
    };
    let id = frame.get("id").cloned().unwrap_or(Value::Null);
    let params = match frame.get("params") {
        None => Map::new(),
        Some(Value::Object(p)) => p.clone(),
        Some(_) => return error_frame(&id, &ApiError::mandatory("params"), None).into(),
    };
    let Some(params) = stringify(&params) else {
        return error_frame(&id, &ApiError::mandatory("params"), None).into();
    };
    let method = frame.get("method").and_then(Value::as_str).unwrap_or("");
    match method {
        "session.logon" => logon(state, session, &id, &params).into(),
        "session.status" => session_frame(state, session, &id).into(),
        "session.logout" => {
            session.key = None;
            session.authorized_since = None;
            session_frame(state, session, &id).into()
        }
        m => match rest_of(m) {
            Some(rest) if drops_socket(state, rest, &params) => {
                crate::wsapi::fault::drop_after(state, ip, session, params, rest).await
            }
            Some(rest) => order_method(state, ip, session, &id, params, rest)
                .await
                .into(),
            None => error_frame(&id, &ApiError::mandatory("method"), None).into(),
        },
    }
}

/// Does a `drop_ws_api` fault window take this request?
fn drops_socket(
    state: &SimState,
    (method, path): (&'static str, &'static str),
    params: &[(String, String)],
) -> bool {
    use rand::Rng;
    if method == "GET" {
        return false;
    }
    let Some(w) = state.active_fault(method, path, get(params, "symbol")) else {
        return false;
    };
    w.drop_ws_api > 0.0 && lock(&state.faults).rng.gen::<f64>() < w.drop_ws_api
}

/// Params as text, as the signature sees them: strings as they are, numbers and
/// booleans as their JSON text; None for nested values.
fn stringify(params: &Map<String, Value>) -> Option<Vec<(String, String)>> {
    let mut out = Vec::with_capacity(params.len());
    for (k, v) in params {
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => return None,
        };
        out.push((k.clone(), text));
    }
    out.sort();
    Some(out)
}

fn get<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// `k=v&…` of every param but `signature`, sorted by name.
fn signed_payload(params: &[(String, String)]) -> String {
    params
        .iter()
        .filter(|(k, _)| k != "signature")
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// The key's verifier; -2014/-2015 as REST answers them.
fn key_auth(state: &SimState, key: &str) -> Result<KeyAuth, ApiError> {
    let key = crate::auth::check_key_format(Some(key))?;
    let venue = state.venue();
    let (_, auth) = venue
        .account_by_key(key)
        .ok_or_else(ApiError::rejected_key)?;
    Ok(auth.clone())
}

fn verify(state: &SimState, key: &str, params: &[(String, String)]) -> Result<KeyAuth, ApiError> {
    let auth = key_auth(state, key)?;
    let sig = get(params, "signature").ok_or_else(|| ApiError::mandatory("signature"))?;
    auth.verify(&signed_payload(params), sig)?;
    Ok(auth)
}

fn form(params: &[(String, String)]) -> String {
    let mut ser = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params
        .iter()
        .filter(|(k, _)| k != "apiKey" && k != "signature")
    {
        ser.append_pair(k, v);
    }
    ser.finish()
}

fn logon(
    state: &SimState,
    session: &mut Session,
    id: &Value,
    params: &[(String, String)],
) -> String {
    let wall = state.clock.wall_ms();
    let checked = (|| {
        let key = get(params, "apiKey").ok_or_else(|| ApiError::mandatory("apiKey"))?;
        let auth = verify(state, key, params)?;
        if !matches!(auth, KeyAuth::Ed25519(_)) {
            return Err(invalid_key_type());
        }
        crate::auth::check_timestamp(&Params::parse(&form(params), "")?, wall)?;
        Ok(key.to_owned())
    })();
    match checked {
        Ok(key) => {
            session.key = Some(key);
            session.authorized_since = Some(wall);
            session_frame(state, session, id)
        }
        Err(e) => error_frame(id, &e, None),
    }
}

fn session_frame(state: &SimState, session: &Session, id: &Value) -> String {
    let result = json!({
        "apiKey": session.key,
        "authorizedSince": session.authorized_since,
        "connectedSince": session.connected_since,
        "returnRateLimits": true,
        "serverTime": state.clock.wall_ms(),
    });
    json!({ "id": id, "status": 200, "result": result }).to_string()
}

pub(super) async fn order_method(
    state: &Arc<SimState>,
    ip: IpAddr,
    session: &Session,
    id: &Value,
    params: Vec<(String, String)>,
    (method, path): (&'static str, &'static str),
) -> String {
    let key = match (get(&params, "apiKey"), &session.key) {
        (Some(k), _) => k.to_owned(),
        (None, Some(k)) => k.clone(),
        (None, None) => return error_frame(id, &ApiError::mandatory("apiKey"), None),
    };
    let logged_on = session.key.as_deref() == Some(key.as_str());
    if !(logged_on && get(&params, "signature").is_none()) {
        if let Err(e) = verify(state, &key, &params) {
            return error_frame(id, &e, None);
        }
    }
    let query = form(&params);
    let req = RawRequest {
        method,
        path,
        query: &query,
        body: "",
        ip,
        api_key: Some(&key),
    };
    let out = handle_with(state, req, Signature::Verified).await;
    let limits = rate_limits(state, &out);
    match serde_json::from_str::<Value>(&out.body) {
        Ok(result) if (200..300).contains(&out.status) => {
            json!({ "id": id, "status": out.status, "result": result, "rateLimits": limits })
                .to_string()
        }
        Ok(body) => {
            let e = ApiError::new(
                out.status,
                body["code"].as_i64().unwrap_or(-1000),
                body["msg"].as_str().unwrap_or_default(),
            );
            error_frame(id, &e, Some(limits))
        }
        Err(_) => error_frame(
            id,
            &ApiError::new(500, -1000, "Internal error."),
            Some(limits),
        ),
    }
}

/// `rateLimits`: the REST headers' counts with their limits (the WS API shares them).
fn rate_limits(state: &SimState, out: &HttpOut) -> Value {
    let cfg = lock(&state.limiter).config().clone();
    let count = |name: &str| {
        out.headers
            .iter()
            .find(|(k, _)| *k == name)
            .and_then(|(_, v)| v.parse::<u64>().ok())
    };
    let item = |kind: &str, interval: &str, num: u32, limit: u32, count: u64| {
        json!({ "rateLimitType": kind, "interval": interval, "intervalNum": num,
                "limit": limit, "count": count })
    };
    let mut limits = vec![item(
        "REQUEST_WEIGHT",
        "MINUTE",
        1,
        cfg.request_weight_per_minute,
        count("X-MBX-USED-WEIGHT-1M").unwrap_or(0),
    )];
    if let Some(c) = count("X-MBX-ORDER-COUNT-10S") {
        limits.push(item("ORDERS", "SECOND", 10, cfg.orders_per_10s, c));
    }
    if let Some(c) = count("X-MBX-ORDER-COUNT-1M") {
        limits.push(item("ORDERS", "MINUTE", 1, cfg.orders_per_minute, c));
    }
    Value::Array(limits)
}

fn error_frame(id: &Value, e: &ApiError, limits: Option<Value>) -> String {
    let mut frame =
        json!({ "id": id, "status": e.http, "error": { "code": e.code, "msg": e.msg } });
    if let Some(l) = limits {
        frame["rateLimits"] = l;
    }
    frame.to_string()
}

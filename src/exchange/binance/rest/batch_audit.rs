//! The audit of a `batchOrders` request, one row per order in it: each row carries that
//! order's client order id, its own request (the element as sent, with the batch's
//! `timestamp` and `recvWindow`) and its own answer (the placed order's time, or the
//! venue's `{code, msg}` for it, classified as a lone order's refusal would be), plus the
//! batch's shared HTTP status, latency and rate headers. So the evidence per order is as
//! complete as for a single `POST /fapi/v1/order`.
//!
//! A failure of the whole request (429, 418, timeout) is every element's answer. An answer
//! that cannot be matched to what was sent (wrong length, unreadable) leaves every row
//! `outcome_unknown`, as the adapter then treats every order.
//!
//! No I/O: the client hands over the one record it built and gets the rows back.

use chrono::{DateTime, Utc};
use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::Value;

use super::super::classify::classify;
use super::outcome::Outcome;
use super::request::Request;
use crate::exchange::audit::AttemptRecord;
use crate::exchange::ErrorClass;

/// The path whose attempts are split per element.
pub(super) const BATCH_PATH: &str = "/fapi/v1/batchOrders";

/// One audit row per order of the batch `req`; `shared` is the row the request as a whole
/// would have had. Anything not a readable batch keeps `shared` alone.
pub(super) fn per_element(
    shared: AttemptRecord,
    req: &Request,
    out: &Outcome,
) -> Vec<AttemptRecord> {
    let Some(sent) = req
        .find("batchOrders")
        .and_then(|raw| serde_json::from_str::<Vec<Value>>(&raw).ok())
    else {
        return vec![shared];
    };
    let signed_suffix = signed_suffix(&shared.params);
    let answers = answers(out, sent.len());
    sent.iter()
        .enumerate()
        .map(|(i, element)| {
            let mut row = shared.clone();
            row.params = format!("batchOrders[{i}]={element}{signed_suffix}");
            row.symbol = field(element, "symbol");
            row.client_order_id = field(element, "newClientOrderId");
            match &answers {
                Answers::Shared => {}
                Answers::Unattributable => unattributable(&mut row),
                Answers::Each(items) => element_answer(&mut row, &items[i], req),
            }
            row
        })
        .collect()
}

enum Answers {
    /// The request failed as a whole: its error is every element's.
    Shared,
    /// A 2xx answer that does not match what was sent.
    Unattributable,
    Each(Vec<ItemAnswer>),
}

/// What the audit reads of one element's answer (the rest of a placed order is skipped
/// unread: building it as JSON values cost more than the whole send).
#[derive(Deserialize)]
struct ItemAnswer {
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    msg: Option<String>,
    #[serde(rename = "orderId", default)]
    order_id: Option<IgnoredAny>,
    #[serde(rename = "updateTime", default)]
    update_time: Option<i64>,
}

fn answers(out: &Outcome, n: usize) -> Answers {
    let Ok(body) = &out.result else {
        return Answers::Shared;
    };
    match serde_json::from_slice::<Vec<ItemAnswer>>(body) {
        Ok(items) if items.len() == n => Answers::Each(items),
        _ => Answers::Unattributable,
    }
}

/// `&timestamp=…&recvWindow=…` of the batch as recorded (its signature is never recorded).
fn signed_suffix(params: &str) -> String {
    params
        .split('&')
        .filter(|p| p.starts_with("timestamp=") || p.starts_with("recvWindow="))
        .map(|p| format!("&{p}"))
        .collect()
}

fn field(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

fn unattributable(row: &mut AttemptRecord) {
    row.error_msg = Some("batchOrders answer could not be matched to the orders sent".into());
    row.error_class = Some(ErrorClass::OutcomeUnknown.as_str().to_string());
}

/// The element's own answer: placed (its update time), or refused with its code.
fn element_answer(row: &mut AttemptRecord, item: &ItemAnswer, req: &Request) {
    match item.code {
        Some(code) if item.order_id.is_none() => {
            let msg = item.msg.clone().unwrap_or_default();
            // A refused element would have been an HTTP 400 on its own.
            let class = classify(400, Some(code), &msg, req.kind);
            row.error_code = Some(code);
            row.error_msg = Some(msg);
            row.error_class = Some(class.as_str().to_string());
        }
        _ => {
            if let Some(t) = item
                .update_time
                .and_then(DateTime::<Utc>::from_timestamp_millis)
            {
                row.exchange_time = Some(t);
            }
        }
    }
}

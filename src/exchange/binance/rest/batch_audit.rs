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
//! No I/O: the client hands over the one record it built and gets the rows back. Each
//! row's element is the text that was sent (cut out of the batch's JSON array, not parsed
//! and written again).

use chrono::{DateTime, Utc};
use serde::de::IgnoredAny;
use serde::Deserialize;

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
    let Some((texts, ids)) = req.params.iter().find_map(|(k, raw)| {
        (*k == "batchOrders")
            .then(|| elements(raw))
            .flatten()
            .filter(|(texts, _)| !texts.is_empty())
    }) else {
        return vec![shared];
    };
    let signed_suffix = signed_suffix(&shared.params);
    let answers = answers(out, texts.len());
    texts
        .into_iter()
        .zip(ids)
        .enumerate()
        .map(|(i, (element, ids))| {
            let mut row = shared.clone();
            row.params = format!("batchOrders[{i}]={element}{signed_suffix}");
            row.symbol = ids.symbol;
            row.client_order_id = ids.client_order_id;
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

/// What the audit row names of one element sent.
#[derive(Deserialize)]
struct ElementIds {
    #[serde(default)]
    symbol: Option<String>,
    #[serde(rename = "newClientOrderId", default)]
    client_order_id: Option<String>,
}

/// Each element of the `batchOrders` JSON array as its own text (verbatim, as sent), with
/// the ids it names; None when the text is not an array of objects.
fn elements(raw: &str) -> Option<(Vec<&str>, Vec<ElementIds>)> {
    let ids: Vec<ElementIds> = serde_json::from_str(raw).ok()?;
    let texts = split_objects(raw)?;
    (texts.len() == ids.len()).then_some((texts, ids))
}

/// The top-level objects of a JSON array, as slices of `raw` (strings may hold braces and
/// escaped quotes). None when `raw` is not an array of objects.
fn split_objects(raw: &str) -> Option<Vec<&str>> {
    let body = raw.trim().strip_prefix('[')?.strip_suffix(']')?;
    let (mut out, mut depth, mut start) = (Vec::new(), 0usize, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for (i, c) in body.char_indices() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '{' => {
                if depth == 0 {
                    start = i;
                }
                depth += 1;
            }
            '}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    out.push(&body[start..=i]);
                }
            }
            _ => {}
        }
    }
    (depth == 0 && !in_string).then_some(out)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_element_is_cut_out_verbatim_even_with_braces_and_quotes_in_its_strings() {
        let raw =
            r#"[{"newClientOrderId":"a}{\"b","symbol":"SOLUSDT"}, {"symbol":"BTCUSDT","x":"[]"}]"#;
        let (texts, ids) = elements(raw).expect("an array of objects");
        assert_eq!(
            texts,
            vec![
                r#"{"newClientOrderId":"a}{\"b","symbol":"SOLUSDT"}"#,
                r#"{"symbol":"BTCUSDT","x":"[]"}"#
            ]
        );
        assert_eq!(ids[0].client_order_id.as_deref(), Some("a}{\"b"));
        assert_eq!(ids[1].symbol.as_deref(), Some("BTCUSDT"));
        assert_eq!(ids[1].client_order_id, None);
    }

    #[test]
    fn text_that_is_not_an_array_of_objects_is_not_split() {
        for raw in ["{}", "[1,2]", r#"[{"a":"b"}"#, r#"[{"a":"b}]"#, ""] {
            assert!(elements(raw).is_none(), "{raw}");
        }
        assert_eq!(elements("[]").map(|(t, _)| t.len()), Some(0));
    }
}

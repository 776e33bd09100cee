//! Turns request parameters into the venue's `NewOrder`. The server checks what it can see
//! in the raw text (presence, number syntax, flag spelling, batch size); the venue checks
//! everything that needs symbol or account state (enums, filters, precision, modes).

use rust_decimal::Decimal;

use crate::error::ApiError;
use crate::params::Params;
use crate::venue::NewOrder;

/// Most orders one `batchOrders` request may carry.
pub(crate) const MAX_BATCH: usize = 5;

pub(crate) fn decimal(
    p: &Params,
    name: &str,
) -> Result<(Option<Decimal>, Option<String>), ApiError> {
    let Some(raw) = p.opt(name) else {
        return Ok((None, None));
    };
    let mut parts = raw.splitn(2, '.');
    let int_ok = parts
        .next()
        .is_some_and(|i| !i.is_empty() && i.len() <= 20 && i.bytes().all(|b| b.is_ascii_digit()));
    let frac_ok = parts
        .next()
        .is_none_or(|f| !f.is_empty() && f.len() <= 20 && f.bytes().all(|b| b.is_ascii_digit()));
    if !(int_ok && frac_ok) {
        return Err(ApiError::new(
            400,
            -1100,
            format!("Illegal characters found in parameter '{name}'; legal range is '^([0-9]{{1,20}})(\\.[0-9]{{1,20}})?$'."),
        ));
    }
    let v = raw
        .parse::<Decimal>()
        .map_err(|_| ApiError::mandatory(name))?;
    Ok((Some(v), Some(raw.to_owned())))
}

pub(crate) fn flag(p: &Params, name: &str) -> Result<Option<bool>, ApiError> {
    p.opt_bool(name).map_err(|_| {
        ApiError::new(
            400,
            -1130,
            format!("Data sent for parameter '{name}' is not valid."),
        )
    })
}

/// Parses one order's parameters (a REST request or one `batchOrders` element).
pub(crate) fn parse_new_order(p: &Params) -> Result<NewOrder, ApiError> {
    let symbol = p.req("symbol")?.to_owned();
    let side = p.req("side")?.to_owned();
    let order_type = p.req("type")?.to_owned();
    let (quantity, quantity_raw) = decimal(p, "quantity")?;
    let (price, price_raw) = decimal(p, "price")?;
    let resp_type_result = match p.opt("newOrderRespType") {
        None | Some("ACK") => false,
        Some("RESULT") => true,
        Some(_) => return Err(ApiError::new(400, -1136, "Invalid newOrderRespType")),
    };
    Ok(NewOrder {
        symbol,
        side,
        position_side: p.opt("positionSide").map(str::to_owned),
        order_type,
        time_in_force: p.opt("timeInForce").map(str::to_owned),
        quantity,
        price,
        reduce_only: flag(p, "reduceOnly")?,
        client_order_id: p.opt("newClientOrderId").map(str::to_owned),
        resp_type_result,
        quantity_raw,
        price_raw,
        good_till_date: p.opt_i64("goodTillDate")?,
        self_trade_prevention_mode: stp_mode(p)?,
        price_match: p.opt("priceMatch").map(str::to_owned),
    })
}

/// `selfTradePreventionMode`: one of the four documented modes, else `-1130`.
fn stp_mode(p: &Params) -> Result<Option<String>, ApiError> {
    match p.opt("selfTradePreventionMode") {
        None => Ok(None),
        Some(m @ ("EXPIRE_TAKER" | "EXPIRE_MAKER" | "EXPIRE_BOTH" | "NONE")) => {
            Ok(Some(m.to_owned()))
        }
        Some(_) => Err(ApiError::new(
            400,
            -1130,
            "Data sent for parameter 'selfTradePreventionMode' is not valid.",
        )),
    }
}

/// True when the request reduces exposure: `reduceOnly=true`, or a hedge closing leg.
/// Used by the `-1008` exemption and the reduce-only fault codes.
pub(crate) fn is_reducing(p: &Params) -> bool {
    let ro = p
        .opt("reduceOnly")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
        || p.opt("closePosition")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let closing_leg = matches!(
        (p.opt("positionSide"), p.opt("side")),
        (Some("LONG"), Some("SELL")) | (Some("SHORT"), Some("BUY"))
    );
    ro || closing_leg
}

/// Splits the `batchOrders` JSON array into per-order parameters (`-4082` outside 1..=5).
pub(crate) fn parse_batch(p: &Params) -> Result<Vec<Params>, ApiError> {
    let raw = p.req("batchOrders")?;
    let value: serde_json::Value =
        serde_json::from_str(raw).map_err(|_| ApiError::mandatory("batchOrders"))?;
    let Some(items) = value.as_array() else {
        return Err(ApiError::mandatory("batchOrders"));
    };
    if items.is_empty() || items.len() > MAX_BATCH {
        return Err(ApiError::new(
            400,
            -4082,
            "Invalid number of batch place orders.",
        ));
    }
    items
        .iter()
        .map(|item| {
            let Some(obj) = item.as_object() else {
                return Err(ApiError::mandatory("batchOrders"));
            };
            let pairs: Vec<(String, String)> = obj
                .iter()
                .map(|(k, v)| {
                    let s = match v {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (k.clone(), s)
                })
                .collect();
            Ok(Params::from_pairs(
                pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn a_limit_order_keeps_the_raw_text_for_the_precision_check() {
        let p = Params::parse("symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=0.0010&price=65000.1&timeInForce=GTC&reduceOnly=true&newOrderRespType=RESULT", "").unwrap();
        let o = parse_new_order(&p).unwrap();
        assert_eq!(o.quantity, Some(dec!(0.0010)));
        assert_eq!(o.quantity_raw.as_deref(), Some("0.0010"));
        assert_eq!(o.reduce_only, Some(true));
        assert!(o.resp_type_result);
    }

    #[test]
    fn malformed_fields_are_named_with_their_binance_code() {
        let p = Params::parse("side=BUY&type=LIMIT", "").unwrap();
        assert_eq!(
            parse_new_order(&p).unwrap_err().msg,
            "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed."
        );
        let p = Params::parse("symbol=X&side=BUY&type=LIMIT&quantity=1e3", "").unwrap();
        let e = parse_new_order(&p).unwrap_err();
        assert_eq!(e.code, -1100);
        assert!(e.msg.contains("'quantity'"));
        let p = Params::parse("symbol=X&side=BUY&type=LIMIT&reduceOnly=yes", "").unwrap();
        assert_eq!(parse_new_order(&p).unwrap_err().code, -1130);
        let p = Params::parse("symbol=X&side=BUY&type=LIMIT&newOrderRespType=FULL", "").unwrap();
        assert_eq!(parse_new_order(&p).unwrap_err().code, -1136);
    }

    #[test]
    fn batches_hold_one_to_five_orders() {
        let one = r#"[{"symbol":"BTCUSDT","side":"BUY","type":"MARKET","quantity":"0.001"}]"#;
        let p = Params::from_pairs([("batchOrders", one)]);
        assert_eq!(parse_batch(&p).unwrap()[0].opt("quantity"), Some("0.001"));
        let six = format!("[{}]", [r#"{"symbol":"X"}"#; 6].join(","));
        let p = Params::from_pairs([("batchOrders", six.as_str())]);
        let e = parse_batch(&p).unwrap_err();
        assert_eq!(
            (e.code, e.msg.as_str()),
            (-4082, "Invalid number of batch place orders.")
        );
    }

    #[test]
    fn closing_legs_and_reduce_only_orders_count_as_reducing() {
        assert!(is_reducing(&Params::from_pairs([("reduceOnly", "true")])));
        assert!(is_reducing(&Params::from_pairs([
            ("positionSide", "SHORT"),
            ("side", "BUY")
        ])));
        assert!(!is_reducing(&Params::from_pairs([
            ("positionSide", "SHORT"),
            ("side", "SELL")
        ])));
    }
}

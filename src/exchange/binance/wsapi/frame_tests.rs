use secrecy::SecretString;

use super::*;

fn params() -> Params {
    let p = [
        ("symbol", "SOLUSDT".to_string()),
        ("side", "BUY".to_string()),
        ("quantity", "0.100".to_string()),
        ("newClientOrderId", "sl-1".to_string()),
    ];
    Params::new(&p, 1_700_000_000_123, 5_000)
}

#[test]
fn params_are_recorded_sorted_by_name_without_key_or_signature() {
    assert_eq!(
        params().recorded(),
        "newClientOrderId=sl-1&quantity=0.100&recvWindow=5000&side=BUY&symbol=SOLUSDT&timestamp=1700000000123"
    );
}

#[test]
fn the_signature_covers_every_param_but_itself_sorted_with_the_api_key() {
    let signer = Signer::new(SecretString::from("s3cret".to_string()));
    let json = params().signed("KEY", &signer).unwrap();
    let expected_payload = "apiKey=KEY&newClientOrderId=sl-1&quantity=0.100&recvWindow=5000&side=BUY&symbol=SOLUSDT&timestamp=1700000000123";
    assert_eq!(
        json["signature"],
        Value::String(signer.sign(expected_payload.as_bytes()).unwrap())
    );
    assert_eq!(json["apiKey"], "KEY");
    // Integers as JSON integers, decimals as text.
    assert_eq!(json["timestamp"], Value::from(1_700_000_000_123u64));
    assert_eq!(json["recvWindow"], Value::from(5_000u64));
    assert_eq!(json["quantity"], "0.100");
}

#[test]
fn a_session_frame_carries_neither_key_nor_signature() {
    let json = params().unsigned();
    assert!(!json.contains_key("apiKey"));
    assert!(!json.contains_key("signature"));
    assert_eq!(json.len(), 6);
}

#[test]
fn rate_limits_of_an_answer_become_the_limiters_observation() {
    let a: Answer = serde_json::from_str(
        r#"{"id":7,"status":200,"result":{"orderId":1},"rateLimits":[
            {"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":2400,"count":12},
            {"rateLimitType":"ORDERS","interval":"SECOND","intervalNum":10,"limit":300,"count":3},
            {"rateLimitType":"ORDERS","interval":"MINUTE","intervalNum":1,"limit":1200,"count":4}]}"#,
    )
    .unwrap();
    assert_eq!(a.id(), Some(7));
    let seen = a.observed();
    assert_eq!(
        (seen.weight_1m, seen.orders_10s, seen.orders_1m),
        (Some(12), Some(3), Some(4))
    );
    assert_eq!(a.body(), br#"{"orderId":1}"#.to_vec());
}

#[test]
fn an_error_answer_reads_back_as_the_rest_error_body() {
    let a: Answer = serde_json::from_str(
        r#"{"id":"x","status":503,"error":{"code":-1008,"msg":"Server is currently overloaded with other requests. Please try again in a few minutes."}}"#,
    )
    .unwrap();
    assert_eq!(a.id(), None);
    let body: ErrorBody = serde_json::from_slice(&a.body()).unwrap();
    assert_eq!(body.code, -1008);
    assert_eq!(a.status, 503);
}

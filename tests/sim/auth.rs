//! Authentication rules over the wire: every code with its HTTP status and exact message.

use sluice_testkit::sim_client::*;

#[tokio::test]
async fn missing_or_malformed_api_keys_are_minus_2014_and_unknown_keys_minus_2015() {
    let sim = start(scenario("", "")).await;
    let r = sim
        .raw("GET", "/fapi/v2/account", "timestamp=1", "", None)
        .await;
    assert_eq!(
        (r.status, r.code(), r.msg()),
        (401, -2014, "API-key format invalid.")
    );
    let r = sim
        .raw(
            "GET",
            "/fapi/v2/account",
            "timestamp=1",
            "",
            Some("bad key!"),
        )
        .await;
    assert_eq!((r.status, r.code()), (401, -2014));
    let r = sim
        .signed_as("unknownKey1", SECRET, "GET", "/fapi/v2/account", "")
        .await;
    assert_eq!(
        (r.status, r.code(), r.msg()),
        (
            401,
            -2015,
            "Invalid API-key, IP, or permissions for action."
        )
    );
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn a_wrong_secret_is_minus_1022() {
    let sim = start(scenario("", "")).await;
    let r = sim
        .signed_as(KEY, "not-the-secret", "GET", "/fapi/v2/account", "")
        .await;
    assert_eq!(
        (r.status, r.code(), r.msg()),
        (400, -1022, "Signature for this request is not valid.")
    );
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn signatures_cover_the_raw_query_followed_by_the_raw_body() {
    let sim = start(scenario("", "")).await;
    let query = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC";
    let body = format!(
        "quantity=0.010&price=60000.0&recvWindow=5000&timestamp={}",
        now_ms()
    );
    let sig = sign(SECRET, &format!("{query}{body}"));
    let r = sim
        .raw(
            "POST",
            "/fapi/v1/order",
            query,
            &format!("{body}&signature={sig}"),
            Some(KEY),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    // The same text signed with an `&` between query and body is not what Binance signs.
    let sig = sign(SECRET, &format!("{query}&{body}"));
    let r = sim
        .raw(
            "POST",
            "/fapi/v1/order",
            query,
            &format!("{body}&signature={sig}"),
            Some(KEY),
        )
        .await;
    assert_eq!(r.code(), -1022);
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn a_body_is_read_as_parameters_only_when_it_is_declared_form_encoded() {
    let sim = start(scenario("", "")).await;
    let body = format!(
        "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.010&price=60000.0&timestamp={}",
        now_ms()
    );
    let signed = format!("{body}&signature={}", sign(SECRET, &body));
    let send = |content_type: Option<&'static str>| {
        let mut req = reqwest::Client::new()
            .post(sim.url("/fapi/v1/order"))
            .header("X-MBX-APIKEY", KEY)
            .body(signed.clone());
        if let Some(t) = content_type {
            req = req.header("content-type", t);
        }
        async move {
            let r = req.send().await.expect("request reaches the simulator");
            let status = r.status().as_u16();
            let json: serde_json::Value = r.json().await.expect("a JSON answer");
            (status, json)
        }
    };
    let (status, json) = send(Some("application/x-www-form-urlencoded; charset=utf-8")).await;
    assert_eq!(status, 200, "{json:?}");
    assert_eq!(json["status"], "NEW");
    for other in [None, Some("text/plain"), Some("application/json")] {
        let (status, json) = send(other).await;
        assert_eq!(
            (status, json["code"].as_i64()),
            (400, Some(-1102)),
            "{other:?}: {json:?}"
        );
    }
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn timestamps_outside_the_window_get_both_minus_1021_messages() {
    let sim = start(scenario("", "")).await;
    let signed = |ts: i64, extra: &str| {
        let q = format!("{extra}timestamp={ts}");
        format!("{q}&signature={}", sign(SECRET, &q))
    };
    let r = sim
        .raw(
            "GET",
            "/fapi/v2/account",
            &signed(now_ms() - 10_000, ""),
            "",
            Some(KEY),
        )
        .await;
    assert_eq!(
        (r.status, r.code(), r.msg()),
        (
            400,
            -1021,
            "Timestamp for this request is outside of the recvWindow."
        )
    );
    let r = sim
        .raw(
            "GET",
            "/fapi/v2/account",
            &signed(now_ms() - 10_000, "recvWindow=60000&"),
            "",
            Some(KEY),
        )
        .await;
    assert_eq!(r.status, 200);
    let r = sim
        .raw(
            "GET",
            "/fapi/v2/account",
            &signed(now_ms() + 5_000, ""),
            "",
            Some(KEY),
        )
        .await;
    assert_eq!(
        (r.status, r.code(), r.msg()),
        (
            400,
            -1021,
            "Timestamp for this request was 1000ms ahead of the server's time."
        )
    );
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn missing_parameters_are_minus_1102_naming_the_field() {
    let sim = start(scenario("", "")).await;
    let r = sim.raw("GET", "/fapi/v2/account", "", "", Some(KEY)).await;
    assert_eq!(
        (r.status, r.code(), r.msg()),
        (
            400,
            -1102,
            "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed."
        )
    );
    let r = sim
        .raw(
            "GET",
            "/fapi/v2/account",
            &format!("timestamp={}", now_ms()),
            "",
            Some(KEY),
        )
        .await;
    assert_eq!(
        r.msg(),
        "Mandatory parameter 'signature' was not sent, was empty/null, or malformed."
    );
    let r = sim
        .signed(
            "POST",
            "/fapi/v1/order",
            "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&price=60000",
        )
        .await;
    assert_eq!(
        (r.code(), r.msg()),
        (
            -1102,
            "Mandatory parameter 'quantity' was not sent, was empty/null, or malformed."
        )
    );
    let r = sim
        .signed(
            "POST",
            "/fapi/v1/order",
            "symbol=NOPEUSDT&side=BUY&type=MARKET&quantity=1",
        )
        .await;
    assert_eq!(
        (r.status, r.code(), r.msg()),
        (400, -1121, "Invalid symbol.")
    );
    let r = sim
        .signed(
            "POST",
            "/fapi/v1/order",
            "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.0001&price=60000",
        )
        .await;
    assert_eq!(
        (r.code(), r.msg()),
        (
            -1111,
            "Precision is over the maximum defined for this asset."
        )
    );
    let r = sim
        .signed("GET", "/fapi/v1/order", "symbol=BTCUSDT&orderId=abc")
        .await;
    assert_eq!(r.code(), -1100);
    let r = sim
        .signed(
            "GET",
            "/fapi/v1/order",
            "symbol=BTCUSDT&orderId=1&orderId=2",
        )
        .await;
    assert_eq!(
        (r.code(), r.msg()),
        (-1101, "Duplicate values for a parameter detected.")
    );
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn a_key_revoked_through_the_admin_api_is_minus_2015_from_then_on() {
    let sim = start(scenario("", "")).await;
    assert_eq!(sim.signed("GET", "/fapi/v2/balance", "").await.status, 200);
    let r = sim
        .admin(
            "POST",
            &format!("/sim/accounts/{KEY}/revoke"),
            serde_json::json!({}),
        )
        .await;
    assert_eq!(r.status, 200);
    let r = sim.signed("GET", "/fapi/v2/balance", "").await;
    assert_eq!((r.status, r.code()), (401, -2015));
    let lk = sim
        .raw("POST", "/fapi/v1/listenKey", "", "", Some(KEY))
        .await;
    assert_eq!((lk.status, lk.code()), (401, -2015));
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn enum_and_format_errors_carry_their_binance_codes() {
    let sim = start(scenario("", "")).await;
    let base = "symbol=BTCUSDT&quantity=0.01&price=60000";
    let cases = [
        ("side=UP&type=LIMIT&timeInForce=GTC", -1117, "Invalid side."),
        (
            "side=BUY&type=FOO&timeInForce=GTC",
            -1116,
            "Invalid orderType.",
        ),
        (
            "side=BUY&type=LIMIT&timeInForce=XYZ",
            -1115,
            "Invalid timeInForce.",
        ),
        (
            "side=BUY&type=LIMIT&timeInForce=GTC&newClientOrderId=bad%20id",
            -4015,
            "Client order id is not valid.",
        ),
        (
            "side=BUY&type=LIMIT&timeInForce=GTC&newOrderRespType=FULL",
            -1136,
            "Invalid newOrderRespType",
        ),
    ];
    for (extra, code, msg) in cases {
        let r = sim
            .signed("POST", "/fapi/v1/order", &format!("{base}&{extra}"))
            .await;
        assert_eq!((r.status, r.code(), r.msg()), (400, code, msg), "{extra}");
    }
    sim.signed(
        "POST",
        "/fapi/v1/positionSide/dual",
        "dualSidePosition=true",
    )
    .await;
    let r = sim
        .signed(
            "POST",
            "/fapi/v1/order",
            &format!(
                "{base}&side=BUY&positionSide=LONG&type=LIMIT&timeInForce=GTC&reduceOnly=true"
            ),
        )
        .await;
    assert_eq!(
        (r.code(), r.msg()),
        (-1106, "Parameter 'reduceonly' sent when not required.")
    );
    let r = sim
        .signed(
            "POST",
            "/fapi/v1/order",
            &format!("{base}&side=BUY&type=LIMIT&timeInForce=GTC"),
        )
        .await;
    assert_eq!(
        (r.code(), r.msg()),
        (
            -4061,
            "Order's position side does not match user's setting."
        )
    );
    sim.handle.shutdown().await;
}

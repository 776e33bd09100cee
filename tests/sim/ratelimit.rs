//! Rate limits over the wire: weight and order-count headers, 429 -1003/-1015 with
//! Retry-After, and the 418 ban for requests that keep coming during a 429.

use sluice_testkit::sim_client::*;

#[tokio::test]
async fn every_response_carries_the_used_weight_and_orders_carry_their_counts() {
    let sim = start(scenario("", "")).await;
    let r = sim.public("/fapi/v1/time", "").await;
    assert_eq!(r.header("x-mbx-used-weight-1m").as_deref(), Some("1"));
    let r = sim.public("/fapi/v1/exchangeInfo", "").await;
    assert_eq!(r.header("x-mbx-used-weight-1m").as_deref(), Some("2"));
    let o = sim
        .signed(
            "POST",
            "/fapi/v1/order",
            "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=60000",
        )
        .await;
    assert_eq!(o.header("x-mbx-order-count-10s").as_deref(), Some("1"));
    assert_eq!(o.header("x-mbx-order-count-1m").as_deref(), Some("1"));
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn exceeding_the_weight_is_429_and_hammering_on_is_an_ip_ban_418() {
    let sim = start(scenario(
        "[rate_limits]\nrequest_weight_per_minute = 3\nban_seconds = 120\n",
        "",
    ))
    .await;
    for _ in 0..3 {
        assert_eq!(sim.public("/fapi/v1/ping", "").await.status, 200);
    }
    let r = sim.public("/fapi/v1/ping", "").await;
    assert_eq!((r.status, r.code()), (429, -1003));
    assert_eq!(r.msg(), "Too many requests; current limit is 3 requests per minute. Please use the websocket for live updates to avoid polling the API.");
    assert!(r.header("retry-after").unwrap().parse::<u64>().unwrap() >= 1);
    let before = now_ms();
    let r = sim.public("/fapi/v1/ping", "").await;
    assert_eq!((r.status, r.code()), (418, -1003));
    let msg = r.msg().to_owned();
    let prefix = "Way too many requests; IP banned until ";
    let suffix = ". Please use the websocket for live updates to avoid bans.";
    assert!(msg.starts_with(prefix) && msg.ends_with(suffix), "{msg}");
    let until: i64 = msg[prefix.len()..msg.len() - suffix.len()].parse().unwrap();
    assert!(
        until >= before + 110_000 && until <= now_ms() + 121_000,
        "{until}"
    );
    // Every request is refused while banned, signed ones included.
    let r = sim.signed("GET", "/fapi/v2/balance", "").await;
    assert_eq!(r.status, 418);
    let state = sim.state().await;
    assert_eq!(state["stats"]["responsesByStatus"]["418"], 2);
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn exceeding_the_order_count_is_429_minus_1015() {
    let sim = start(scenario("[rate_limits]\norders_per_10s = 2\n", "")).await;
    let order = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=60000";
    assert_eq!(
        sim.signed("POST", "/fapi/v1/order", order).await.status,
        200
    );
    assert_eq!(
        sim.signed("POST", "/fapi/v1/order", order).await.status,
        200
    );
    let r = sim.signed("POST", "/fapi/v1/order", order).await;
    assert_eq!(
        (r.status, r.code(), r.msg()),
        (
            429,
            -1015,
            "Too many new orders; current limit is 2 orders per 10 SECOND."
        )
    );
    assert!(r.header("retry-after").unwrap().parse::<u64>().unwrap() <= 10);
    // Queries are not orders: still served.
    assert_eq!(
        sim.signed("GET", "/fapi/v1/openOrders", "symbol=BTCUSDT")
            .await
            .json
            .as_array()
            .unwrap()
            .len(),
        2
    );
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn two_accounts_on_one_ip_share_the_weight_and_count_their_orders_apart() {
    let second = "[[accounts]]\napi_key = \"secondKey1\"\napi_secret = \"secondSecret1\"\nusdt = \"1000000\"\n";
    let sim = start(scenario(second, "")).await;
    let order = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=60000";
    let (key, secret) = ("secondKey1", "secondSecret1");
    let weight = |r: &Resp| -> u32 { r.header("x-mbx-used-weight-1m").unwrap().parse().unwrap() };
    let orders = |r: &Resp| r.header("x-mbx-order-count-10s");

    let first_read = sim.signed("GET", "/fapi/v2/balance", "").await;
    let other_read = sim
        .signed_as(key, secret, "GET", "/fapi/v2/balance", "")
        .await;
    let first_order = sim.signed("POST", "/fapi/v1/order", order).await;
    let other_order = sim
        .signed_as(key, secret, "POST", "/fapi/v1/order", order)
        .await;

    assert_eq!((first_read.status, other_read.status), (200, 200));
    assert_eq!(
        weight(&other_read),
        2 * weight(&first_read),
        "the same read by the second account on the same IP doubles the IP's weight"
    );
    assert_eq!((first_order.status, other_order.status), (200, 200));
    assert_eq!(orders(&first_order).as_deref(), Some("1"));
    assert_eq!(
        orders(&other_order).as_deref(),
        Some("1"),
        "orders count per account"
    );
    sim.handle.shutdown().await;
}

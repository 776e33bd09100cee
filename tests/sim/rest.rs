//! REST wire tests: shapes, types, padding and key order of the simulator's endpoints,
//! against a live simulator over loopback.

use sluice_testkit::sim_client::*;

#[tokio::test]
async fn public_endpoints_answer_with_binance_shapes() {
    let sim = start(scenario("", "")).await;
    assert_eq!(
        sim.public("/fapi/v1/ping", "").await.json,
        serde_json::json!({})
    );
    let t = sim.public("/fapi/v1/time", "").await;
    assert!(t.json["serverTime"].as_i64().unwrap() > 1_700_000_000_000);
    let info = sim.public("/fapi/v1/exchangeInfo", "").await;
    let btc = info.json["symbols"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["symbol"] == "BTCUSDT")
        .unwrap()
        .clone();
    assert_eq!(btc["pricePrecision"], 2);
    let market_lot = btc["filters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["filterType"] == "MARKET_LOT_SIZE")
        .unwrap();
    assert_eq!(market_lot["maxQty"], "120");
    assert_eq!(info.json["rateLimits"][0]["limit"], 2400);
    let pi = sim.public("/fapi/v1/premiumIndex", "symbol=BTCUSDT").await;
    assert!(pi.json["markPrice"].is_string() && pi.json["time"].is_i64());
    let all = sim.public("/fapi/v1/premiumIndex", "").await;
    assert_eq!(all.json.as_array().unwrap().len(), 5);
    let bt = sim
        .public("/fapi/v1/ticker/bookTicker", "symbol=ETHUSDT")
        .await;
    assert!(
        bt.json["bidPrice"]
            .as_str()
            .unwrap()
            .split('.')
            .nth(1)
            .unwrap()
            .len()
            == 2
    );
    let d = sim.public("/fapi/v1/depth", "symbol=BTCUSDT&limit=5").await;
    assert_eq!(d.json["bids"].as_array().unwrap().len(), 5);
    assert!(d.json["bids"][0][0].is_string());
    assert_eq!(
        sim.public("/fapi/v1/depth", "symbol=NOPE").await.code(),
        -1121
    );
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn a_limit_order_is_placed_queried_and_cancelled_with_padded_decimals_in_key_order() {
    let sim = start(scenario("", "")).await;
    let placed = sim
        .signed("POST", "/fapi/v1/order", "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=60000&newClientOrderId=t-1")
        .await;
    assert_eq!(placed.status, 200, "{:?}", placed.json);
    assert_eq!(placed.json["status"], "NEW");
    assert_eq!(placed.json["price"], "60000.00");
    assert_eq!(placed.json["origQty"], "0.010");
    assert!(placed.json["orderId"].is_i64());
    assert!(placed.json.get("cumQty").is_some() && placed.json.get("time").is_none());
    assert!(placed.header("x-mbx-order-count-10s").is_some());
    let id = placed.json["orderId"].as_i64().unwrap();
    let q = sim
        .signed(
            "GET",
            "/fapi/v1/order",
            &format!("symbol=BTCUSDT&orderId={id}"),
        )
        .await;
    assert_eq!(q.json["clientOrderId"], "t-1");
    assert!(q.json.get("time").is_some() && q.json.get("cumQty").is_none());
    let by_cid = sim
        .signed(
            "GET",
            "/fapi/v1/openOrder",
            "symbol=BTCUSDT&origClientOrderId=t-1",
        )
        .await;
    assert_eq!(by_cid.json["orderId"], id);
    let open = sim
        .signed("GET", "/fapi/v1/openOrders", "symbol=BTCUSDT")
        .await;
    assert_eq!(open.json.as_array().unwrap().len(), 1);
    let c = sim
        .signed(
            "DELETE",
            "/fapi/v1/order",
            &format!("symbol=BTCUSDT&orderId={id}"),
        )
        .await;
    assert_eq!(c.json["status"], "CANCELED");
    let again = sim
        .signed(
            "DELETE",
            "/fapi/v1/order",
            &format!("symbol=BTCUSDT&orderId={id}"),
        )
        .await;
    assert_eq!(
        (again.status, again.code(), again.msg()),
        (400, -2011, "Unknown order sent.")
    );
    let gone = sim
        .signed(
            "GET",
            "/fapi/v1/openOrder",
            &format!("symbol=BTCUSDT&orderId={id}"),
        )
        .await;
    assert_eq!((gone.code(), gone.msg()), (-2013, "Order does not exist."));
    let all = sim
        .signed("GET", "/fapi/v1/allOrders", "symbol=BTCUSDT")
        .await;
    assert_eq!(all.json.as_array().unwrap().len(), 1);
    // Key order of the order object as Binance sends it.
    let raw = sim.http.get(sim.url("/fapi/v1/time")).send().await.unwrap();
    assert_eq!(raw.status(), 200);
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn order_objects_keep_binance_key_order_on_the_wire() {
    // With the pre-2026-07-15 fields, so their place in the order is checked too; their
    // default absence is tested in sim_wire_2026.rs.
    let sim = start(scenario(
        "[venue]\norder_response_legacy_fields = true\n",
        "",
    ))
    .await;
    let q = format!(
        "symbol=ETHUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=3000&timestamp={}",
        now_ms()
    );
    let q = format!("{q}&signature={}", sign(SECRET, &q));
    let text = sim
        .http
        .post(format!("{}?{q}", sim.url("/fapi/v1/order")))
        .header("X-MBX-APIKEY", KEY)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let keys = [
        "\"orderId\"",
        "\"symbol\"",
        "\"status\"",
        "\"clientOrderId\"",
        "\"price\"",
        "\"avgPrice\"",
        "\"origQty\"",
        "\"executedQty\"",
        "\"cumQty\"",
        "\"cumQuote\"",
        "\"timeInForce\"",
        "\"type\"",
        "\"reduceOnly\"",
        "\"closePosition\"",
        "\"side\"",
        "\"positionSide\"",
        "\"stopPrice\"",
        "\"workingType\"",
        "\"priceProtect\"",
        "\"origType\"",
        "\"priceMatch\"",
        "\"selfTradePreventionMode\"",
        "\"goodTillDate\"",
        "\"updateTime\"",
    ];
    let positions: Vec<usize> = keys
        .iter()
        .map(|k| {
            text.find(k)
                .unwrap_or_else(|| panic!("{k} missing in {text}"))
        })
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn conditional_types_get_minus_4120_and_batches_answer_per_element() {
    let sim = start(scenario("", "")).await;
    let r = sim
        .signed(
            "POST",
            "/fapi/v1/order",
            "symbol=BTCUSDT&side=SELL&type=STOP_MARKET&quantity=0.01&stopPrice=50000",
        )
        .await;
    assert_eq!((r.status, r.code()), (400, -4120));
    assert_eq!(r.msg(), "Order type not supported for this endpoint. Please use the Algo Order API endpoints instead.");
    let batch = r#"[{"symbol":"BTCUSDT","side":"BUY","type":"LIMIT","timeInForce":"GTC","quantity":"0.01","price":"60000"},{"symbol":"BTCUSDT","side":"BUY","type":"LIMIT","timeInForce":"GTC","quantity":"0.0001","price":"60000"}]"#;
    let enc: String = form_urlencoded::byte_serialize(batch.as_bytes()).collect();
    let r = sim
        .signed(
            "POST",
            "/fapi/v1/batchOrders",
            &format!("batchOrders={enc}"),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json[0]["status"], "NEW");
    assert_eq!(r.json[1]["code"], -1111);
    let six = format!(
        "[{}]",
        [r#"{"symbol":"BTCUSDT","side":"BUY","type":"MARKET","quantity":"0.01"}"#; 6].join(",")
    );
    let enc: String = form_urlencoded::byte_serialize(six.as_bytes()).collect();
    let r = sim
        .signed(
            "POST",
            "/fapi/v1/batchOrders",
            &format!("batchOrders={enc}"),
        )
        .await;
    assert_eq!(
        (r.status, r.code(), r.msg()),
        (400, -4082, "Invalid number of batch place orders.")
    );
    let all = sim
        .signed("DELETE", "/fapi/v1/allOpenOrders", "symbol=BTCUSDT")
        .await;
    assert_eq!(
        all.json,
        serde_json::json!({"code": 200, "msg": "The operation of cancel all open order is done."})
    );
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn a_market_order_fills_and_shows_in_account_positions_and_trades() {
    let sim = start(scenario("", "")).await;
    let r = sim
        .signed(
            "POST",
            "/fapi/v1/order",
            "symbol=SOLUSDT&side=SELL&type=MARKET&quantity=10&newOrderRespType=RESULT",
        )
        .await;
    assert_eq!(r.json["status"], "FILLED", "{:?}", r.json);
    let risk = sim
        .signed("GET", "/fapi/v2/positionRisk", "symbol=SOLUSDT")
        .await;
    assert_eq!(risk.json[0]["positionAmt"], "-10");
    assert_eq!(risk.json[0]["isAutoAddMargin"], "false");
    let v3 = sim.signed("GET", "/fapi/v3/positionRisk", "").await;
    assert_eq!(v3.json.as_array().unwrap().len(), 1);
    let acct = sim.signed("GET", "/fapi/v2/account", "").await;
    assert_eq!(acct.json["positions"].as_array().unwrap().len(), 5);
    assert!(acct.json["totalWalletBalance"].is_string());
    let acct3 = sim.signed("GET", "/fapi/v3/account", "").await;
    assert_eq!(acct3.json["positions"][0]["positionAmt"], "-10");
    let trades = sim
        .signed("GET", "/fapi/v1/userTrades", "symbol=SOLUSDT")
        .await;
    assert_eq!(trades.json[0]["side"], "SELL");
    let bal = sim.signed("GET", "/fapi/v2/balance", "").await;
    assert_eq!(bal.json[0]["asset"], "USDT");
    let close = sim.signed("POST", "/fapi/v1/order", "symbol=SOLUSDT&side=BUY&type=MARKET&quantity=10&reduceOnly=true&newOrderRespType=RESULT").await;
    assert_eq!(close.json["status"], "FILLED");
    let risk = sim
        .signed("GET", "/fapi/v2/positionRisk", "symbol=SOLUSDT")
        .await;
    assert_eq!(risk.json[0]["positionAmt"], "0");
    sim.handle.shutdown().await;
}

#[tokio::test]
async fn configuration_endpoints_follow_binance() {
    let sim = start(scenario("", "")).await;
    let dual = sim.signed("GET", "/fapi/v1/positionSide/dual", "").await;
    assert_eq!(dual.json, serde_json::json!({"dualSidePosition": false}));
    let same = sim
        .signed(
            "POST",
            "/fapi/v1/positionSide/dual",
            "dualSidePosition=false",
        )
        .await;
    assert_eq!(
        (same.code(), same.msg()),
        (-4059, "No need to change position side.")
    );
    let ok = sim
        .signed(
            "POST",
            "/fapi/v1/positionSide/dual",
            "dualSidePosition=true",
        )
        .await;
    assert_eq!(ok.json, serde_json::json!({"code": 200, "msg": "success"}));
    let lev = sim
        .signed("POST", "/fapi/v1/leverage", "symbol=BTCUSDT&leverage=10")
        .await;
    assert_eq!(lev.json["leverage"], 10);
    assert!(lev.json["maxNotionalValue"].is_string());
    let cfg = sim
        .signed("GET", "/fapi/v1/symbolConfig", "symbol=BTCUSDT")
        .await;
    assert_eq!(cfg.json[0]["leverage"], 10);
    let ac = sim.signed("GET", "/fapi/v1/accountConfig", "").await;
    assert_eq!(ac.json["dualSidePosition"], true);
    let br = sim
        .signed("GET", "/fapi/v1/leverageBracket", "symbol=BTCUSDT")
        .await;
    assert!(br.json["brackets"][0]["notionalCap"].is_number());
    let ma = sim.signed("GET", "/fapi/v1/multiAssetsMargin", "").await;
    assert_eq!(ma.json, serde_json::json!({"multiAssetsMargin": false}));
    let rl = sim.signed("GET", "/fapi/v1/rateLimit/order", "").await;
    assert_eq!(rl.json[0]["limit"], 300);
    let st = sim.signed("GET", "/fapi/v1/apiTradingStatus", "").await;
    assert!(st.json["indicators"].is_object());
    let test = sim.signed("POST", "/fapi/v1/order/test", "symbol=BTCUSDT&side=BUY&positionSide=LONG&type=LIMIT&timeInForce=GTC&quantity=0.01&price=60000").await;
    assert_eq!(
        (test.status, test.json.clone()),
        (200, serde_json::json!({}))
    );
    assert!(sim
        .signed("GET", "/fapi/v1/openOrders", "")
        .await
        .json
        .as_array()
        .unwrap()
        .is_empty());
    sim.handle.shutdown().await;
}

/// The weight the simulator admitted from loopback so far, over all minute windows.
async fn total_weight(sim: &Sim) -> i64 {
    sim.state().await["rateLimits"]["ips"]
        .as_array()
        .expect("per-IP weights")
        .iter()
        .map(|ip| ip["totalWeight"].as_i64().expect("total weight"))
        .sum()
}

#[tokio::test]
async fn api_trading_status_with_a_symbol_costs_1_and_names_only_that_symbol_without_10_and_every_locked_one(
) {
    // Arrange: API trading locked for the account and for two symbols.
    let sim = start(scenario(
        "",
        "trading_locked = true\nlocked_symbols = [\"SOLUSDT\", \"BTCUSDT\"]",
    ))
    .await;

    // Act
    let before = total_weight(&sim).await;
    let one = sim
        .signed("GET", "/fapi/v1/apiTradingStatus", "symbol=SOLUSDT")
        .await;
    let scoped_weight = total_weight(&sim).await - before;
    let before = total_weight(&sim).await;
    let all = sim.signed("GET", "/fapi/v1/apiTradingStatus", "").await;
    let unscoped_weight = total_weight(&sim).await - before;

    // Assert: weights 1 and 10; with a symbol, the indicators hold that symbol's (and the
    // account's) and no other symbol's; the same shape either way.
    assert_eq!((scoped_weight, unscoped_weight), (1, 10));
    assert_eq!(one.status, 200, "{:?}", one.json);
    let keys = |r: &Resp| -> Vec<String> {
        let mut k: Vec<String> = r.json["indicators"]
            .as_object()
            .expect("indicators object")
            .keys()
            .cloned()
            .collect();
        k.sort();
        k
    };
    assert_eq!(keys(&one), ["ACCOUNT", "SOLUSDT"]);
    assert_eq!(keys(&all), ["ACCOUNT", "BTCUSDT", "SOLUSDT"]);
    let sol = &one.json["indicators"]["SOLUSDT"][0];
    assert_eq!(sol["isLocked"], true);
    assert!(sol["plannedRecoverTime"].is_i64() && sol["indicator"].is_string());
    assert!(sol["value"].is_number() && sol["triggerValue"].is_number());
    assert!(one.json["updateTime"].is_i64());
    sim.handle.shutdown().await;
}

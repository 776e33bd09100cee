"""ccxt's binanceusdm (REST) and ccxt.pro (user stream) against the simulator."""
import asyncio

import ccxt
import ccxt.pro

SYMBOL = "BTC/USDT:USDT"
SOL = "SOL/USDT:USDT"


def point_at_sim(ex, sim):
    for name, url in list(ex.urls["api"].items()):
        if isinstance(url, str) and "fapi.binance.com" in url:
            ex.urls["api"][name] = url.replace("https://fapi.binance.com", sim["url"])
    if "ws" in ex.urls["api"]:
        ex.urls["api"]["ws"]["linear"] = sim["ws"] + "/ws"
    return ex


def options():
    # fetchCurrencies reads /sapi (spot wallet), which a futures venue does not serve.
    return {"fetchCurrencies": False, "fetchMarkets": {"types": ["linear"]}}


def rest(sim):
    ex = ccxt.binanceusdm({"apiKey": sim["key"], "secret": sim["secret"], "options": options()})
    return point_at_sim(ex, sim)


def test_markets_balance_and_positions_load(sim):
    ex = rest(sim)
    markets = ex.load_markets()
    assert {"BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT"} <= set(markets)
    assert markets[SYMBOL]["limits"]["amount"]["min"] == 0.001
    balance = ex.fetch_balance()
    assert balance["USDT"]["total"] > 0
    assert isinstance(ex.fetch_positions([SYMBOL]), list)


def test_limit_order_is_placed_queried_and_cancelled(sim):
    ex = rest(sim)
    ex.load_markets()
    order = ex.create_order(SYMBOL, "limit", "buy", 0.01, 60000)
    assert order["status"] == "open"
    fetched = ex.fetch_order(order["id"], SYMBOL)
    assert fetched["price"] == 60000 and fetched["amount"] == 0.01
    assert any(o["id"] == order["id"] for o in ex.fetch_open_orders(SYMBOL))
    cancelled = ex.cancel_order(order["id"], SYMBOL)
    assert cancelled["status"] == "canceled"


def test_a_position_is_closed_with_a_reduce_only_market_order(sim):
    ex = rest(sim)
    ex.load_markets()
    ex.create_order(SOL, "market", "sell", 3)
    short = [p for p in ex.fetch_positions([SOL]) if p["contracts"]]
    assert short and short[0]["side"] == "short" and short[0]["contracts"] == 3
    close = ex.create_order(SOL, "market", "buy", 3, params={"reduceOnly": True})
    assert close["reduceOnly"] is True
    assert not [p for p in ex.fetch_positions([SOL]) if p["contracts"]]


def test_user_stream_delivers_the_orders_events(sim):
    async def run():
        ex = point_at_sim(
            ccxt.pro.binanceusdm({"apiKey": sim["key"], "secret": sim["secret"], "options": options()}),
            sim,
        )
        try:
            await ex.load_markets()
            watcher = asyncio.ensure_future(ex.watch_orders(SYMBOL))
            await asyncio.sleep(0.5)  # let the user-data socket connect before the order
            placed = await ex.create_order(SYMBOL, "limit", "buy", 0.01, 60000)
            orders = await asyncio.wait_for(watcher, 10)
            assert any(o["id"] == placed["id"] and o["status"] == "open" for o in orders)
            await ex.cancel_order(placed["id"], SYMBOL)
        finally:
            await ex.close()

    asyncio.run(run())


def test_create_orders_sends_a_batch_and_reads_each_answer(sim):
    ex = rest(sim)
    ex.load_markets()
    eth = "ETH/USDT:USDT"
    orders = [
        {"symbol": eth, "type": "limit", "side": "buy", "amount": 0.01, "price": 3000},
        {"symbol": eth, "type": "limit", "side": "buy", "amount": 0.02, "price": 3001},
    ]
    placed = ex.create_orders(orders)
    assert [o["status"] for o in placed] == ["open", "open"]
    assert sorted(o["amount"] for o in placed) == [0.01, 0.02]
    for o in placed:
        ex.cancel_order(o["id"], eth)


def test_a_stop_market_goes_through_the_algo_service_and_is_cancelled(sim):
    # ccxt >= 4.5.27 routes conditional orders on USDⓈ-M to /fapi/v1/algoOrder.
    ex = rest(sim)
    ex.load_markets()
    ex.create_order(SOL, "market", "sell", 2)
    mark = float(ex.fapiPublicGetPremiumIndex({"symbol": "SOLUSDT"})["markPrice"])
    trigger = round(mark * 1.1, 2)
    stop = ex.create_order(
        SOL, "STOP_MARKET", "buy", 2, None, {"triggerPrice": trigger, "reduceOnly": True}
    )
    assert stop["id"]
    algos = ex.fapiPrivateGetOpenAlgoOrders({"symbol": "SOLUSDT"})
    assert [str(a["algoId"]) for a in algos] == [stop["id"]]
    assert algos[0]["orderType"] == "STOP_MARKET" and algos[0]["algoStatus"] == "NEW"
    assert float(algos[0]["triggerPrice"]) == trigger
    ex.cancel_order(stop["id"], SOL, {"trigger": True})
    assert ex.fapiPrivateGetOpenAlgoOrders({"symbol": "SOLUSDT"}) == []
    ex.create_order(SOL, "market", "buy", 2, params={"reduceOnly": True})
    assert not [p for p in ex.fetch_positions([SOL]) if p["contracts"]]

"""The official Binance USDⓈ-M futures Python SDK against the simulator."""
import asyncio

from binance_common.configuration import ConfigurationRestAPI, ConfigurationWebSocketStreams
from binance_sdk_derivatives_trading_usds_futures.derivatives_trading_usds_futures import (
    DerivativesTradingUsdsFutures,
)
from binance_sdk_derivatives_trading_usds_futures.rest_api.models import (
    NewOrderReduceOnlyEnum,
    PlaceMultipleOrdersBatchOrdersParameterInner,
    NewOrderSideEnum,
    NewOrderTimeInForceEnum,
    NewOrderTypeEnum,
)


def client(sim):
    rest = ConfigurationRestAPI(api_key=sim["key"], api_secret=sim["secret"], base_path=sim["url"])
    streams = ConfigurationWebSocketStreams(stream_url=sim["ws"], reconnect_delay=100)
    return DerivativesTradingUsdsFutures(config_rest_api=rest, config_ws_streams=streams)


def test_exchange_info_balance_and_positions_load(sim):
    api = client(sim).rest_api
    info = api.exchange_information().data()
    assert {s.symbol for s in info.symbols} >= {"BTCUSDT", "ETHUSDT", "SOLUSDT", "DOGEUSDT", "XRPUSDT"}
    balances = api.futures_account_balance_v3().data()
    assert any(b.asset == "USDT" and float(b.balance) > 0 for b in balances)
    account = api.account_information_v3().data()
    assert float(account.total_wallet_balance) > 0
    assert isinstance(api.position_information_v3().data(), list)


def test_limit_order_is_placed_queried_and_cancelled(sim):
    api = client(sim).rest_api
    placed = api.new_order(
        symbol="ETHUSDT",
        side=NewOrderSideEnum.BUY,
        type=NewOrderTypeEnum.LIMIT,
        time_in_force=NewOrderTimeInForceEnum.GTC,
        quantity=0.01,
        price=3000,
        new_client_order_id="sdk-limit-1",
    ).data()
    assert placed.status == "NEW" and placed.price == "3000.00"
    queried = api.query_order(symbol="ETHUSDT", order_id=placed.order_id).data()
    assert queried.client_order_id == "sdk-limit-1"
    cancelled = api.cancel_order(symbol="ETHUSDT", orig_client_order_id="sdk-limit-1").data()
    assert cancelled.status == "CANCELED"


def test_a_position_is_closed_with_a_reduce_only_market_order(sim):
    api = client(sim).rest_api
    api.new_order(symbol="XRPUSDT", side=NewOrderSideEnum.BUY, type=NewOrderTypeEnum.MARKET, quantity=100)
    rows = [p for p in api.position_information_v3(symbol="XRPUSDT").data() if float(p.position_amt) != 0]
    assert rows and rows[0].position_amt == "100.0"
    api.new_order(
        symbol="XRPUSDT",
        side=NewOrderSideEnum.SELL,
        type=NewOrderTypeEnum.MARKET,
        quantity=100,
        reduce_only=NewOrderReduceOnlyEnum.TRUE,
    )
    rows = [p for p in api.position_information_v3(symbol="XRPUSDT").data() if float(p.position_amt) != 0]
    assert rows == []


def test_user_stream_delivers_the_orders_events(sim):
    async def run():
        c = client(sim)
        key = c.rest_api.start_user_data_stream().data().listen_key
        ws = c.websocket_streams
        await ws.create_connection()
        seen = []
        got = asyncio.Event()
        handle = await ws.user_data(key)

        def on_message(data):
            seen.append(data.actual_instance)
            if len(seen) >= 4:
                got.set()

        handle.on("message", on_message)
        await asyncio.sleep(0.5)  # the SDK subscribes after connecting
        c.rest_api.new_order(
            symbol="BTCUSDT", side=NewOrderSideEnum.BUY, type=NewOrderTypeEnum.MARKET, quantity=0.01
        )
        await asyncio.wait_for(got.wait(), 10)
        await ws.close_connection(close_session=True)
        return seen

    seen = asyncio.run(run())
    kinds = [type(e).__name__ for e in seen[:4]]
    assert kinds == ["TradeLite", "OrderTradeUpdate", "AccountUpdate", "OrderTradeUpdate"], kinds
    assert (seen[1].o.x, seen[1].o.n, seen[3].o.x, seen[3].o.X) == ("NEW", "0", "TRADE", "FILLED")
    assert seen[2].a.P[0].s == "BTCUSDT"


def test_a_batch_is_answered_per_order_with_a_refused_element_as_code_and_msg(sim):
    api = client(sim).rest_api
    order = PlaceMultipleOrdersBatchOrdersParameterInner
    batch = [
        order(symbol="ETHUSDT", side="BUY", type="LIMIT", time_in_force="GTC", quantity=0.01,
              price=3000, new_client_order_id="sdk-batch-0"),
        # Off ETHUSDT's quantity step: refused on its own, the others stand.
        order(symbol="ETHUSDT", side="BUY", type="LIMIT", time_in_force="GTC", quantity=0.0001,
              price=3000, new_client_order_id="sdk-batch-1"),
    ]
    answer = api.place_multiple_orders(batch_orders=batch).data()
    assert len(answer) == 2
    assert answer[0].client_order_id == "sdk-batch-0" and answer[0].status == "NEW"
    assert answer[1].code is not None and answer[1].code < 0 and answer[1].msg
    api.cancel_order(symbol="ETHUSDT", orig_client_order_id="sdk-batch-0")

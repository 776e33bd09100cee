"""The official USDⓈ-M SDK's WebSocket API client against the simulator's `/ws-fapi/v1`:
order place, status and cancel, each request signed over its params sorted by name, with
an HMAC secret and with Ed25519 and RSA keys generated here."""
import asyncio

import pytest
from binance_common.configuration import ConfigurationWebSocketAPI
from binance_sdk_derivatives_trading_usds_futures.derivatives_trading_usds_futures import (
    DerivativesTradingUsdsFutures,
)
from binance_sdk_derivatives_trading_usds_futures.websocket_api.models import (
    NewOrderSideEnum,
    NewOrderTimeInForceEnum,
    NewOrderTypeEnum,
)

from test_keys import register


def ws_api(sim, kind):
    url = sim["ws"] + "/ws-fapi/v1"
    if kind == "hmac":
        conf = ConfigurationWebSocketAPI(api_key=sim["key"], api_secret=sim["secret"], stream_url=url)
    else:
        api_key, private = register(sim, kind)
        conf = ConfigurationWebSocketAPI(api_key=api_key, private_key=private, stream_url=url)
    return DerivativesTradingUsdsFutures(config_ws_api=conf).websocket_api


@pytest.mark.parametrize("kind", ["hmac", "ed25519", "rsa"])
def test_the_sdks_websocket_api_places_queries_and_cancels_an_order(sim, kind):
    async def run():
        api = ws_api(sim, kind)
        await api.create_connection()
        try:
            cid = f"wsapi-{kind}-1"
            placed = await api.new_order(
                symbol="ETHUSDT",
                side=NewOrderSideEnum.BUY,
                type=NewOrderTypeEnum.LIMIT,
                time_in_force=NewOrderTimeInForceEnum.GTC,
                quantity=0.01,
                price=3000,
                new_client_order_id=cid,
            )
            order = placed.data().result
            assert order.status == "NEW" and order.client_order_id == cid
            assert any(l.rateLimitType == "ORDERS" and l.count >= 1 for l in placed.rate_limits)
            queried = (await api.query_order(symbol="ETHUSDT", order_id=order.order_id)).data().result
            assert queried.client_order_id == cid
            cancelled = (await api.cancel_order(symbol="ETHUSDT", orig_client_order_id=cid)).data().result
            assert cancelled.status == "CANCELED"
        finally:
            await api.close_connection()

    asyncio.run(asyncio.wait_for(run(), 30))

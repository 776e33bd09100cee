"""ccxt.pro's WebSocket API order methods for binanceusdm (createOrderWs, cancelOrderWs)
against the simulator's `/ws-fapi/v1`, with the HMAC secret and with an Ed25519 key
generated here (ccxt signs each request itself, its params sorted by name)."""
import asyncio

import ccxt.pro
import pytest

from test_ccxt import options, point_at_sim
from test_keys import register

SYMBOL = "ETH/USDT:USDT"


def pro(sim, kind):
    if kind == "hmac":
        key, secret = sim["key"], sim["secret"]
    else:
        key, secret = register(sim, kind)
    ex = ccxt.pro.binanceusdm({"apiKey": key, "secret": secret, "options": options()})
    point_at_sim(ex, sim)
    ex.urls["api"]["ws"]["ws-api"]["linear"] = sim["ws"] + "/ws-fapi/v1"
    return ex


@pytest.mark.parametrize("kind", ["hmac", "ed25519"])
def test_ccxt_pro_creates_and_cancels_an_order_over_the_websocket_api(sim, kind):
    async def run():
        ex = pro(sim, kind)
        try:
            await ex.load_markets()
            cid = f"ccxtws{kind}1"
            order = await ex.create_order_ws(
                SYMBOL, "limit", "buy", 0.01, 3000, {"clientOrderId": cid}
            )
            assert order["status"] == "open" and order["clientOrderId"] == cid
            assert order["price"] == 3000 and order["amount"] == 0.01
            cancelled = await ex.cancel_order_ws(order["id"], SYMBOL)
            assert cancelled["status"] == "canceled" and cancelled["id"] == order["id"]
        finally:
            await ex.close()

    asyncio.run(asyncio.wait_for(run(), 30))

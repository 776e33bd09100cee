"""A peer client closing a SHORT in sequential reduce-only MARKET chunks of a known size,
for benches/side_by_side.rs. Usage:

    close_in_chunks.py (ccxt|sdk) URL KEY SECRET SYMBOL TOTAL CHUNK

Loads the client and the markets first (not measured), then sends BUY reduce-only MARKET
orders of CHUNK (the last one smaller) one after another until TOTAL is closed, and prints
one JSON line: {"orders", "wall_s", "cpu_s"} where cpu_s is this process's CPU time
(user + system) spent in the loop. Run it with the project's interop virtualenv
(tests/interop/requirements.txt).
"""
import json
import sys
import time
from decimal import Decimal


def ccxt_sender(url, key, secret, symbol):
    import ccxt

    # enableRateLimit off: the venue's limits are lifted, and ccxt's own throttle (about
    # 200 ms per order) would measure the throttle, not the client.
    ex = ccxt.binanceusdm({"apiKey": key, "secret": secret, "enableRateLimit": False,
                           "options": {"fetchCurrencies": False, "fetchMarkets": {"types": ["linear"]}}})
    for name, u in list(ex.urls["api"].items()):
        if isinstance(u, str) and "fapi.binance.com" in u:
            ex.urls["api"][name] = u.replace("https://fapi.binance.com", url)
    ex.load_markets()
    market = ex.markets_by_id[symbol][0]["symbol"]

    def send(qty):
        ex.create_order(market, "market", "buy", float(qty), params={"reduceOnly": True})

    return send


def sdk_sender(url, key, secret, symbol):
    from binance_common.configuration import ConfigurationRestAPI
    from binance_sdk_derivatives_trading_usds_futures.derivatives_trading_usds_futures import (
        DerivativesTradingUsdsFutures,
    )
    from binance_sdk_derivatives_trading_usds_futures.rest_api.models import (
        NewOrderReduceOnlyEnum,
        NewOrderSideEnum,
        NewOrderTypeEnum,
    )

    api = DerivativesTradingUsdsFutures(
        config_rest_api=ConfigurationRestAPI(api_key=key, api_secret=secret, base_path=url)
    ).rest_api
    api.exchange_information()

    def send(qty):
        api.new_order(symbol=symbol, side=NewOrderSideEnum.BUY, type=NewOrderTypeEnum.MARKET,
                      quantity=float(qty), reduce_only=NewOrderReduceOnlyEnum.TRUE).data()

    return send


def main():
    client, url, key, secret, symbol, total, chunk = sys.argv[1:8]
    make = {"ccxt": ccxt_sender, "sdk": sdk_sender}[client]
    send = make(url, key, secret, symbol)
    left, chunk = Decimal(total), Decimal(chunk)
    orders = 0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    while left > 0:
        qty = min(chunk, left)
        send(qty)
        left -= qty
        orders += 1
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    print(json.dumps({"orders": orders, "wall_s": wall, "cpu_s": cpu}))


if __name__ == "__main__":
    main()

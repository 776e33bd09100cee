"""Ed25519 and RSA API keys with real clients: the official USDⓈ-M SDK and ccxt sign with
a private key generated here (Python's `cryptography`), the simulator holds only the public
key (registered through its admin API) and verifies with its own code. An independent check
that the simulator accepts what real clients send, percent-encoding of base64 included."""
import json
import urllib.request
import uuid

import ccxt
import pytest
from binance_common.configuration import ConfigurationRestAPI
from binance_sdk_derivatives_trading_usds_futures.derivatives_trading_usds_futures import (
    DerivativesTradingUsdsFutures,
)
from binance_sdk_derivatives_trading_usds_futures.rest_api.models import (
    NewOrderSideEnum,
    NewOrderTimeInForceEnum,
    NewOrderTypeEnum,
)
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from test_ccxt import options, point_at_sim


def generate(kind):
    key = ed25519.Ed25519PrivateKey.generate() if kind == "ed25519" else rsa.generate_private_key(65537, 2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    return private, public


def register(sim, kind):
    """A new key of `kind` on the demo account; returns (api_key, private_pem)."""
    private, public = generate(kind)
    api_key = kind + uuid.uuid4().hex
    body = json.dumps({"api_key": api_key, "public_key_pem": public}).encode()
    req = urllib.request.Request(
        f"{sim['url']}/sim/accounts/{sim['key']}/keys",
        data=body,
        headers={"content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req) as resp:
        assert json.load(resp)["type"] == kind
    return api_key, private


@pytest.mark.parametrize("kind", ["ed25519", "rsa"])
def test_the_official_sdk_trades_with_an_asymmetric_key(sim, kind):
    api_key, private = register(sim, kind)
    conf = ConfigurationRestAPI(api_key=api_key, private_key=private, base_path=sim["url"])
    api = DerivativesTradingUsdsFutures(config_rest_api=conf).rest_api
    assert float(api.account_information_v3().data().total_wallet_balance) > 0
    cid = f"sdk-{kind}-1"
    placed = api.new_order(
        symbol="ETHUSDT",
        side=NewOrderSideEnum.BUY,
        type=NewOrderTypeEnum.LIMIT,
        time_in_force=NewOrderTimeInForceEnum.GTC,
        quantity=0.01,
        price=3000,
        new_client_order_id=cid,
    ).data()
    assert placed.status == "NEW"
    assert api.query_order(symbol="ETHUSDT", orig_client_order_id=cid).data().order_id == placed.order_id
    assert api.cancel_order(symbol="ETHUSDT", orig_client_order_id=cid).data().status == "CANCELED"


@pytest.mark.parametrize("kind", ["ed25519", "rsa"])
def test_ccxt_trades_with_an_asymmetric_key(sim, kind):
    api_key, private = register(sim, kind)
    ex = point_at_sim(ccxt.binanceusdm({"apiKey": api_key, "secret": private, "options": options()}), sim)
    ex.load_markets()
    assert ex.fetch_balance()["USDT"]["total"] > 0
    order = ex.create_order("BTC/USDT:USDT", "limit", "buy", 0.01, 60000)
    assert order["status"] == "open"
    assert ex.cancel_order(order["id"], "BTC/USDT:USDT")["status"] == "canceled"


def test_a_signature_by_another_key_is_refused_with_minus_1022(sim):
    api_key, _ = register(sim, "ed25519")
    other, _ = generate("ed25519")
    ex = point_at_sim(ccxt.binanceusdm({"apiKey": api_key, "secret": other, "options": options()}), sim)
    with pytest.raises(ccxt.AuthenticationError) as refused:
        ex.fetch_balance()
    assert "-1022" in str(refused.value)

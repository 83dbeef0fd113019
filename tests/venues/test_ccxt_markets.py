"""Symbol and contract-size mapping of OKX, Bybit, Binance and Hyperliquid, and their keys.

ccxt's own market loading runs offline on market answers in the shape of each venue's
documented example response (as ccxt reproduces them in its source comments), cut to
the BTC instruments a hedge uses:

- OKX ``GET /api/v5/public/instruments``: BTC-USD-SWAP (inverse, ``ctVal`` 100 USD),
  BTC-USDT-SWAP (linear, ``ctVal`` 0.01 BTC), a BTC option today (``ctVal`` 0.01,
  ``ctMult`` 1) and the docs' older option row (``ctVal`` 1, ``ctMult`` 0.1: OKX cut the
  BTC option multiplier to 0.01 BTC on 2022-07-14, per its API announcement).
- Binance ``GET /dapi/v1/exchangeInfo``: BTCUSD_PERP (``contractSize`` 100 USD) and
  ``GET /fapi/v1/exchangeInfo``: BTCUSDT (sizes in BTC, step 0.001).
- Bybit ``GET /v5/market/instruments-info``: inverse BTCUSD (qty in USD, step 1) and
  linear BTCUSDT (qty in BTC, step 0.001).
- Hyperliquid ``POST /info {"type": "metaAndAssetCtxs"}``: BTC (``szDecimals`` 5).
"""

from __future__ import annotations

import asyncio
import json
import re

import pytest

from deltahedge.core import OptionKind, OrderRequest, OrderSide, OrderType, Settlement
from deltahedge.store.redact import redact_secrets
from deltahedge.venues.ccxt import CcxtVenue, CcxtVenueConfig

from .ccxt_fakes import block_network, offline


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    block_network(monkeypatch)


def _okx_row(inst_id, inst_type, settle, ct_val, ct_mult, ct_val_ccy, lot, tick, **extra):
    return {
        "alias": "", "baseCcy": "", "category": "1", "ctMult": ct_mult, "ctType": "",
        "ctVal": ct_val, "ctValCcy": ct_val_ccy, "expTime": "", "instFamily": "",
        "instId": inst_id, "instType": inst_type, "lever": "", "listTime": "1631262612280",
        "lotSz": lot, "minSz": lot, "optType": "", "quoteCcy": "", "settleCcy": settle,
        "state": "live", "stk": "", "tickSz": tick, "uly": "", **extra,
    }  # fmt: skip


_OKX = {
    "SWAP": [
        _okx_row("BTC-USD-SWAP", "SWAP", "BTC", "100", "1", "USD", "1", "0.1",
                 uly="BTC-USD", instFamily="BTC-USD", ctType="inverse", lever="125"),
        _okx_row("BTC-USDT-SWAP", "SWAP", "USDT", "0.01", "1", "BTC", "0.01", "0.1",
                 uly="BTC-USDT", instFamily="BTC-USDT", ctType="linear", lever="125"),
    ],
    "OPTION": [
        _okx_row("BTC-USD-260925-50000-C", "OPTION", "BTC", "0.01", "1", "BTC", "1", "0.0005",
                 uly="BTC-USD", instFamily="BTC-USD", optType="C", stk="50000",
                 expTime="1790323200000"),
        _okx_row("BTC-USD-220325-194000-P", "OPTION", "BTC", "1", "0.1", "BTC", "1", "0.0005",
                 uly="BTC-USD", optType="P", stk="194000", expTime="1648195200000"),
    ],
}  # fmt: skip


def _okx_instruments(url, method, body):
    kind = re.search(r"instType=(\w+)", url).group(1)
    return {"code": "0", "msg": "", "data": _OKX.get(kind, [])}


def _binance_filters(tick, step):
    return [
        {"filterType": "PRICE_FILTER", "minPrice": tick, "maxPrice": "100000", "tickSize": tick},
        {"filterType": "LOT_SIZE", "stepSize": step, "maxQty": "100000", "minQty": step},
        {"filterType": "MARKET_LOT_SIZE", "stepSize": step, "maxQty": "100000", "minQty": step},
    ]


_DAPI = {
    "timezone": "UTC", "serverTime": 1597667052958, "rateLimits": [], "exchangeFilters": [],
    "symbols": [{
        "symbol": "BTCUSD_PERP", "pair": "BTCUSD", "contractType": "PERPETUAL",
        "deliveryDate": 4133404800000, "onboardDate": 1596006000000,
        "contractStatus": "TRADING", "contractSize": 100, "marginAsset": "BTC",
        "maintMarginPercent": "2.5000", "requiredMarginPercent": "5.0000",
        "baseAsset": "BTC", "quoteAsset": "USD", "pricePrecision": 1, "quantityPrecision": 0,
        "baseAssetPrecision": 8, "quotePrecision": 8, "equalQtyPrecision": 4,
        "filters": _binance_filters("0.1", "1"),
        "orderTypes": ["LIMIT", "MARKET"], "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
    }],
}  # fmt: skip
_FAPI = {
    "timezone": "UTC", "serverTime": 1575417244353, "rateLimits": [], "exchangeFilters": [],
    "assets": [],
    "symbols": [{
        "symbol": "BTCUSDT", "pair": "BTCUSDT", "contractType": "PERPETUAL",
        "deliveryDate": 4133404800000, "onboardDate": 1569398400000, "status": "TRADING",
        "marginAsset": "USDT", "maintMarginPercent": "2.5000",
        "requiredMarginPercent": "5.0000", "baseAsset": "BTC", "quoteAsset": "USDT",
        "pricePrecision": 2, "quantityPrecision": 3, "baseAssetPrecision": 8,
        "quotePrecision": 8, "filters": _binance_filters("0.10", "0.001"),
        "orderTypes": ["LIMIT", "MARKET"], "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
    }],
}  # fmt: skip


def _bybit(category, symbol, contract_type, quote, settle, step, tick):
    row = {
        "symbol": symbol, "contractType": contract_type, "status": "Trading",
        "baseCoin": "BTC", "quoteCoin": quote, "launchTime": "1585526400000",
        "deliveryTime": "0", "deliveryFeeRate": "", "priceScale": "2",
        "leverageFilter": {"minLeverage": "1", "maxLeverage": "100.00", "leverageStep": "0.01"},
        "priceFilter": {"minPrice": tick, "maxPrice": "999999.00", "tickSize": tick},
        "lotSizeFilter": {"maxOrderQty": "1000000", "minOrderQty": step, "qtyStep": step,
                          "postOnlyMaxOrderQty": "1000000"},
        "unifiedMarginTrade": True, "fundingInterval": 480, "settleCoin": settle,
    }  # fmt: skip
    return {
        "retCode": 0,
        "retMsg": "OK",
        "result": {"category": category, "list": [row], "nextPageCursor": ""},
        "retExtInfo": {},
        "time": 1672712495660,
    }


_EMPTY_BYBIT = {"retCode": 0, "retMsg": "OK", "result": {"list": []}, "retExtInfo": {}}

_HYPERLIQUID = [
    {"universe": [{"maxLeverage": 50, "name": "BTC", "onlyIsolated": False, "szDecimals": 5},
                  {"maxLeverage": 50, "name": "ETH", "onlyIsolated": False, "szDecimals": 4}]},
    [{"dayNtlVlm": "1", "funding": "0.0000125", "impactPxs": ["60000.0", "60001.0"],
      "markPx": "60000.5", "midPx": "60000.5", "openInterest": "1", "oraclePx": "60000.0",
      "premium": "0.0", "prevDayPx": "59000.0"},
     {"dayNtlVlm": "1709813.11535", "funding": "0.00004807", "impactPxs": ["2369.3", "2369.6"],
      "markPx": "2369.6", "midPx": "2369.45", "openInterest": "1815.4712",
      "oraclePx": "2367.3", "premium": "0.00090821", "prevDayPx": "2381.5"}],
]  # fmt: skip

_VENUES = {
    "okx": (
        {"public/instruments": _okx_instruments},
        {"fetchMarkets": {"types": ["swap", "option"]}, "defaultUnderlying": ["BTC-USD"]},
    ),
    "binancecoinm": ({"dapi/v1/exchangeInfo": _DAPI}, {}),
    "binanceusdm": ({"fapi/v1/exchangeInfo": _FAPI}, {}),
    "bybit": (
        {
            "status=PreLaunch": _EMPTY_BYBIT,
            "category=inverse": _bybit("inverse", "BTCUSD", "InversePerpetual", "USD", "BTC", "1", "0.50"),
            "category=linear": _bybit("linear", "BTCUSDT", "LinearPerpetual", "USDT", "USDT", "0.001", "0.10"),
        },
        {"fetchMarkets": {"types": ["linear", "inverse"]}},
    ),
    "hyperliquid": (
        {'"type":"metaAndAssetCtxs"': _HYPERLIQUID, '"type":"spotMeta"': {"tokens": [], "universe": []}},
        {"fetchMarkets": {"types": ["swap"]}},
    ),
}  # fmt: skip


def _specs(exchange: str):
    routes, options = _VENUES[exchange]

    async def go():
        ex, transport = offline(exchange, routes, **options)
        venue = CcxtVenue(CcxtVenueConfig(exchange=exchange), ex)
        try:
            return await venue.instruments(), transport
        finally:
            await venue.close()

    return asyncio.run(go())


# (exchange, symbol, kind, settlement, contract size, lot, tick); the contract sizes are
# the venues' published specs: OKX BTC-USD-SWAP 100 USD, BTC-USDT-SWAP 0.01 BTC, BTC
# options 0.01 BTC (0.1 BTC before 2022-07-14); Binance COIN-M 100 USD, USD-M quantity in
# BTC; Bybit inverse 1 USD; Hyperliquid sizes in BTC.
_EXPECTED = [
    ("okx", "BTC-USD-SWAP", "perpetual", Settlement.INVERSE, 100.0, 1.0, 0.1),
    ("okx", "BTC-USDT-SWAP", "perpetual", Settlement.LINEAR, 0.01, 0.01, 0.1),
    ("okx", "BTC-USD-260925-50000-C", "option", Settlement.INVERSE, 0.01, 1.0, 0.0005),
    ("okx", "BTC-USD-220325-194000-P", "option", Settlement.INVERSE, 0.1, 1.0, 0.0005),
    ("binancecoinm", "BTCUSD_PERP", "perpetual", Settlement.INVERSE, 100.0, 1.0, 0.1),
    ("binanceusdm", "BTCUSDT", "perpetual", Settlement.LINEAR, 1.0, 0.001, 0.1),
    ("bybit", "BTCUSD", "perpetual", Settlement.INVERSE, 1.0, 1.0, 0.5),
    ("bybit", "BTCUSDT", "perpetual", Settlement.LINEAR, 1.0, 0.001, 0.1),
    ("hyperliquid", "BTC", "perpetual", Settlement.LINEAR, 1.0, 1e-5, None),
]


@pytest.mark.parametrize(
    ("exchange", "symbol", "kind", "settlement", "size", "lot", "tick"), _EXPECTED
)
def test_ccxt_markets_map_to_the_venue_symbol_and_its_contract_size(
    exchange, symbol, kind, settlement, size, lot, tick
):
    specs, _ = _specs(exchange)
    spec = specs[symbol]
    assert (spec.symbol, spec.venue, spec.kind, spec.underlying) == (symbol, exchange, kind, "BTC")
    assert spec.settlement is settlement
    assert spec.contract_size == pytest.approx(size, rel=1e-12)
    assert spec.lot_size == pytest.approx(lot, rel=1e-12)
    if tick is not None:
        assert spec.tick_size == pytest.approx(tick, rel=1e-12)


@pytest.mark.parametrize(
    ("exchange", "symbol", "contracts"),
    [
        # 1 BTC of delta at 60,000 USD:
        ("okx", "BTC-USD-SWAP", 600.0),  # 60,000 USD / 100 USD a contract
        ("okx", "BTC-USDT-SWAP", 100.0),  # 1 BTC / 0.01 BTC
        ("binancecoinm", "BTCUSD_PERP", 600.0),  # 60,000 / 100 USD
        ("binanceusdm", "BTCUSDT", 1.0),  # quantity in BTC
        ("bybit", "BTCUSD", 60_000.0),  # 60,000 contracts of 1 USD
        ("bybit", "BTCUSDT", 1.0),
        ("hyperliquid", "BTC", 1.0),
    ],
)
def test_one_btc_of_delta_is_the_published_number_of_contracts(exchange, symbol, contracts):
    spec = _specs(exchange)[0][symbol]
    assert spec.contracts_for(1.0, 60_000.0) == pytest.approx(contracts, rel=1e-12)
    assert spec.coin_delta(contracts, 60_000.0) == pytest.approx(1.0, rel=1e-12)


def test_okx_options_carry_strike_expiry_and_kind():
    opt = _specs("okx")[0]["BTC-USD-260925-50000-C"]
    assert (opt.strike, opt.option_kind, opt.expiry_ns) == (
        50_000.0,
        OptionKind.CALL,
        1790323200000 * 1_000_000,
    )


def test_hyperliquid_perpetual_is_named_by_its_coin_not_ccxts_asset_index():
    specs, _ = _specs("hyperliquid")
    assert set(specs) == {"BTC", "ETH"}  # ccxt's market ids are "0" and "1"
    assert specs["ETH"].lot_size == pytest.approx(1e-4)  # szDecimals 4


def test_okx_order_is_sent_in_contracts_under_the_okx_id(monkeypatch):
    """A 600-contract BTC-USD-SWAP order leaves as sz=600 with our clOrdId (no rescaling)."""
    sent: list = []

    def order(url, method, body):
        sent.extend(json.loads(body))
        return {
            "code": "0",
            "msg": "",
            "data": [{"clOrdId": "dhokx1", "ordId": "312269865356374016", "tag": "",
                      "sCode": "0", "sMsg": ""}],
        }  # fmt: skip

    # with keys, ccxt also loads OKX's currency list (a private call): none needed here
    routes = {
        **_VENUES["okx"][0],
        "asset/currencies": {"code": "0", "msg": "", "data": []},
        "trade/batch-orders": order,  # ccxt places an OKX order through the batch endpoint
    }

    async def go():
        ex, _ = offline("okx", routes, **_VENUES["okx"][1])
        ex.apiKey, ex.secret, ex.password = "k", "s", "p"
        venue = CcxtVenue(CcxtVenueConfig(exchange="okx"), ex)
        try:
            req = OrderRequest(
                "dhokx1", "okx", "BTC-USD-SWAP", OrderSide.SELL, 600.0, OrderType.LIMIT, 60_000.0
            )
            return await venue.submit(req)
        finally:
            await venue.close()

    upd = asyncio.run(go())
    body = sent[0]
    assert (body["instId"], body["sz"], body["side"], body["clOrdId"]) == (
        "BTC-USD-SWAP",
        "600",
        "sell",
        "dhokx1",
    )
    assert upd.client_order_id == "dhokx1" and upd.venue_order_id == "312269865356374016"


# ---------------------------------------------------------------------------- credentials
def test_hyperliquid_wallet_and_private_key_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("DH_HL_WALLET", "0x1111111111111111111111111111111111111111")
    monkeypatch.setenv("DH_HL_KEY", "0x" + "ab" * 32)
    cfg = CcxtVenueConfig(
        exchange="hyperliquid", wallet_address_env="DH_HL_WALLET", private_key_env="DH_HL_KEY"
    )
    creds = cfg.credentials()
    assert creds == {
        "walletAddress": "0x1111111111111111111111111111111111111111",
        "privateKey": "0x" + "ab" * 32,
    }
    # the private key is masked wherever the credentials are written out
    shown = json.dumps(redact_secrets(creds))
    assert "ab" * 32 not in shown and '"privateKey": "***"' in shown
    assert "ab" * 32 not in repr(cfg)


def test_make_exchange_hands_the_wallet_to_ccxt_hyperliquid(monkeypatch):
    from deltahedge.venues.ccxt import make_exchange

    monkeypatch.setenv("DELTAHEDGE_WALLET_ADDRESS", "0x2222222222222222222222222222222222222222")
    monkeypatch.setenv("DELTAHEDGE_PRIVATE_KEY", "0x" + "cd" * 32)

    async def go():
        ex = make_exchange(CcxtVenueConfig(exchange="hyperliquid"))
        try:
            # ccxt's own check of the credentials hyperliquid requires
            return ex.walletAddress, ex.privateKey, ex.check_required_credentials(False)
        finally:
            await ex.close()

    wallet, key, complete = asyncio.run(go())
    assert wallet == "0x2222222222222222222222222222222222222222"
    assert key == "0x" + "cd" * 32 and complete is True


def test_wallet_variables_are_not_read_for_exchanges_that_use_api_keys(monkeypatch):
    monkeypatch.setenv("DELTAHEDGE_PRIVATE_KEY", "0x" + "ef" * 32)
    monkeypatch.setenv("DELTAHEDGE_API_KEY", "okx-key")
    assert CcxtVenueConfig(exchange="okx").credentials() == {"apiKey": "okx-key"}

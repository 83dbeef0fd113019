"""CcxtVenue offline: ccxt's own Deribit code run on recorded real Deribit answers.

No test here may reach the network: the autouse fixture makes every socket connect and
DNS lookup raise, and a test checks that it does.

The recorded ``public/get_instruments`` answers date from 2021-07-22. Deribit has since
added two fields that current ccxt reads to build a symbol, ``counter_currency`` (USD for
every BTC and ETH instrument) and ``settlement_currency`` (the coin, as all 2021 BTC and
ETH instruments were coin-settled); ``ccxt_fakes.upgrade_instruments`` adds those two fields, only where
they are absent, and changes nothing else.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket

import ccxt
import ccxt.pro as ccxtpro
import pytest

from deltahedge.core import (
    InsufficientMargin,
    OptionKind,
    OrderRejected,
    OrderRequest,
    OrderSide,
    OrderStatus,
    OrderType,
    RateLimited,
    Settlement,
    TimeInForce,
    UnknownOrder,
    VenueDisconnected,
    client_order_id,
)
from deltahedge.venues.ccxt import CcxtVenue, CcxtVenueConfig, book_snapshot
from deltahedge.venues.ccxt.mapping import translate_error

from .ccxt_fakes import (
    NetworkBlocked,
    block_network,
    hand_books,
    load_deribit_recording,
    upgrade_instruments,
)


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    block_network(monkeypatch)


@pytest.fixture(scope="module")
def recorded(shared_data) -> dict:
    return load_deribit_recording(shared_data / "deribit_ws_2021")


def _exchange(recorded: dict, private: list | None = None):
    ex = ccxtpro.deribit({"enableRateLimit": True})
    # the recording holds one answer per currency (BTC, ETH), so ask per currency as ccxt can
    ex.options["fetchMarkets"] = {"fetchAllMarkets": False}

    async def fetch(url, method="GET", headers=None, body=None):
        if "public/get_instruments" in url:
            return upgrade_instruments(recorded["rest"][re.search(r"currency=(\w+)", url).group(1)])
        if "public/get_currencies" in url:
            return {"jsonrpc": "2.0", "result": [{"currency": "BTC"}, {"currency": "ETH"}]}
        if private is not None:
            private.append((url, method, body))
            return {
                "jsonrpc": "2.0",
                "result": {
                    "order": {
                        "order_id": "BTC-1",
                        "label": "x",
                        "instrument_name": "BTC-PERPETUAL",
                        "direction": "buy",
                        "amount": 50.0,
                        "filled_amount": 50.0,
                        "average_price": 32000.0,
                        "price": 32010.0,
                        "order_state": "filled",
                        "order_type": "limit",
                        "time_in_force": "immediate_or_cancel",
                        "creation_timestamp": 1626993723000,
                        "last_update_timestamp": 1626993723001,
                        "post_only": False,
                        "reduce_only": False,
                    },
                    "trades": [],
                },
            }
        raise AssertionError(f"unexpected request {url}")

    ex.fetch = fetch
    ex.timeout_on_exit = 0  # no sockets to drain on close
    return ex


async def _markets(ex) -> dict:
    return await ex.load_markets(True)


def test_sockets_are_blocked_in_these_tests():
    with pytest.raises(NetworkBlocked):
        socket.create_connection(("www.deribit.com", 443))


def test_ccxt_parses_every_recorded_btc_instrument_with_its_size_expiry_and_strike(recorded):
    async def go():
        ex = _exchange(recorded)
        try:
            return await _markets(ex)
        finally:
            await ex.close()

    markets = asyncio.run(go())
    by_id = {m["id"]: m for m in markets.values()}
    rows = recorded["rest"]["BTC"]["result"]
    assert len(rows) == 398
    for r in rows:
        m = by_id[r["instrument_name"]]
        assert m["contractSize"] == r["contract_size"]
        assert m["expiry"] == r["expiration_timestamp"] or r["settlement_period"] == "perpetual"
        assert m["inverse"] is True
        if r["kind"] == "option":
            assert (
                m["type"] == "option"
                and m["strike"] == r["strike"]
                and m["optionType"] == r["option_type"]
            )
    assert markets["BTC/USD:BTC-210924-40000-P"]["id"] == "BTC-24SEP21-40000-P"
    assert (
        markets["BTC/USD:BTC"]["id"] == "BTC-PERPETUAL" and markets["BTC/USD:BTC"]["type"] == "swap"
    )


def test_venue_maps_markets_to_contract_specs_in_contracts(recorded):
    async def go():
        venue = CcxtVenue(CcxtVenueConfig(exchange="deribit"), _exchange(recorded))
        try:
            return await venue.instruments()
        finally:
            await venue.close()

    specs = asyncio.run(go())
    perp = specs["BTC-PERPETUAL"]
    assert (perp.kind, perp.settlement, perp.contract_size, perp.lot_size) == (
        "perpetual",
        Settlement.INVERSE,
        10.0,
        1.0,
    )
    assert perp.taker_fee == 0.0005 and perp.tick_size == 0.5
    fut = specs["BTC-25MAR22"]
    assert fut.kind == "future" and fut.expiry_ns == 1648195200000 * 1_000_000
    opt = specs["BTC-24SEP21-40000-P"]
    assert (opt.kind, opt.strike, opt.option_kind, opt.lot_size) == (
        "option",
        40000.0,
        OptionKind.PUT,
        0.1,
    )
    assert opt.expiry_ns == 1632470400000 * 1_000_000


def test_ccxt_pro_rebuilds_recorded_books_and_tickers(recorded):
    ws = [m for m in recorded["ws"] if ".BTC-" in m["params"]["channel"]]

    async def go():
        ex = _exchange(recorded)
        try:
            await _markets(ex)
            client = ex.client("wss://www.deribit.com/ws/api/v2")
            for msg in ws:
                ex.handle_message(client, msg)
            return ex.orderbooks, ex.tickers, ex.markets
        finally:
            await ex.close()

    books, tickers, markets = asyncio.run(go())
    by_id = {m["id"]: s for s, m in markets.items()}
    hand = hand_books(ws)
    assert len(hand) >= 5
    for name, (bids, asks) in hand.items():
        ob = books[by_id[name]]
        snap = book_snapshot(name, ob)
        assert [tuple(r) for r in snap.bids.tolist()] == sorted(bids.items(), reverse=True)
        assert [tuple(r) for r in snap.asks.tolist()] == sorted(asks.items())
    last: dict[str, dict] = {}
    for msg in ws:
        if msg["params"]["channel"].startswith("ticker."):
            last[msg["params"]["data"]["instrument_name"]] = msg["params"]["data"]
    for name, raw in last.items():
        t = tickers[by_id[name]]
        assert (t["bid"], t["ask"], t["markPrice"]) == (
            raw["best_bid_price"],
            raw["best_ask_price"],
            raw["mark_price"],
        )
        assert t["timestamp"] == raw["timestamp"]


def test_submit_sends_client_id_and_flags_and_sizes_inverse_perps_in_usd(recorded, monkeypatch):
    monkeypatch.setenv("DH_TEST_KEY", "key-AAAA")
    monkeypatch.setenv("DH_TEST_SECRET", "secret-BBBB")
    cfg = CcxtVenueConfig(
        exchange="deribit", api_key_env="DH_TEST_KEY", secret_env="DH_TEST_SECRET"
    )
    private: list = []

    async def go():
        ex = _exchange(recorded, private)
        ex.apiKey, ex.secret = cfg.credentials()["apiKey"], cfg.credentials()["secret"]
        venue = CcxtVenue(cfg, ex)
        try:
            req = OrderRequest(
                "dhabc",
                "deribit",
                "BTC-PERPETUAL",
                OrderSide.BUY,
                5.0,
                OrderType.LIMIT,
                32010.0,
                TimeInForce.IOC,
                reduce_only=True,
            )
            return venue, await venue.submit(req)
        finally:
            await venue.close()

    venue, upd = asyncio.run(go())
    url = private[0][0]
    assert "private/buy" in url and "label=dhabc" in url
    assert "amount=50" in url  # 5 contracts x 10 USD
    assert "time_in_force=immediate_or_cancel" in url and "reduce_only=true" in url
    assert (
        upd.status is OrderStatus.FILLED and upd.filled_quantity == 5.0 and upd.avg_price == 32000.0
    )
    text = repr(venue) + repr(cfg)
    assert "key-AAAA" not in text and "secret-BBBB" not in text and "<redacted>" in repr(venue)


@pytest.mark.parametrize(
    ("ccxt_error", "ours"),
    [
        (ccxt.RateLimitExceeded, RateLimited),
        (ccxt.NetworkError, VenueDisconnected),
        (ccxt.RequestTimeout, VenueDisconnected),
        (ccxt.InsufficientFunds, InsufficientMargin),
        (ccxt.OrderNotFound, UnknownOrder),
        (ccxt.InvalidOrder, OrderRejected),
    ],
)
def test_ccxt_errors_become_typed_venue_errors(ccxt_error, ours):
    err = translate_error(ccxt_error("boom"), "deribit")
    assert type(err) is ours and err.venue == "deribit" and "boom" in str(err)


def test_testnet_switch_uses_the_sandbox_urls(monkeypatch):
    from deltahedge.venues.ccxt import make_exchange

    async def go():
        ex = make_exchange(CcxtVenueConfig(exchange="deribit", testnet=True))
        live = make_exchange(CcxtVenueConfig(exchange="deribit", testnet=False))
        try:
            return ex.urls["api"], ex.enableRateLimit, live.urls["api"]
        finally:
            await ex.close()
            await live.close()

    api, rate_limited, live_api = asyncio.run(go())
    assert "test.deribit.com" in json.dumps(api) and "test.deribit.com" not in json.dumps(live_api)
    assert rate_limited is True


def test_streamed_orders_and_trades_become_updates_and_fills_in_contracts(recorded):
    """Deribit-shaped order and trade (docs.deribit.com examples) through ccxt's own parsers."""
    raw_order = {
        "order_id": "BTC-777",
        "label": "dhstream",
        "instrument_name": "BTC-PERPETUAL",
        "direction": "sell",
        "amount": 50.0,
        "filled_amount": 20.0,
        "average_price": 32000.5,
        "price": 32000.0,
        "order_state": "open",
        "order_type": "limit",
        "time_in_force": "good_til_cancelled",
        "creation_timestamp": 1626993723000,
        "last_update_timestamp": 1626993724000,
        "post_only": False,
        "reduce_only": False,
    }
    raw_trade = {
        "trade_id": "T-1",
        "order_id": "BTC-777",
        "instrument_name": "BTC-PERPETUAL",
        "direction": "sell",
        "amount": 20.0,
        "price": 32000.5,
        "fee": 0.0000003,
        "fee_currency": "BTC",
        "liquidity": "M",
        "timestamp": 1626993724000,
        "trade_seq": 1,
        "index_price": 32001.0,
        "mark_price": 32000.0,
        "tick_direction": 0,
        "state": "open",
    }

    async def go():
        ex = _exchange(recorded)
        venue = CcxtVenue(CcxtVenueConfig(exchange="deribit"), ex)
        try:
            await venue.instruments()
            market = ex.market("BTC/USD:BTC")
            orders = iter([[ex.parse_order(raw_order, market)]])
            trades = iter([[ex.parse_trade(raw_trade, market)]])

            async def watch_orders():
                for batch in orders:
                    return batch
                raise asyncio.CancelledError

            async def watch_my_trades():
                for batch in trades:
                    return batch
                raise asyncio.CancelledError

            ex.watch_orders, ex.watch_my_trades = watch_orders, watch_my_trades
            venue._venue_ids["dhstream"] = "BTC-777"
            got: list = []
            venue.subscribe(got.append)
            for pump in (venue._pump_orders, venue._pump_trades):
                with pytest.raises(asyncio.CancelledError):
                    await pump()
            return got
        finally:
            await venue.close()

    upd, fill = asyncio.run(go())
    assert upd.client_order_id == "dhstream" and upd.status is OrderStatus.PARTIALLY_FILLED
    assert upd.filled_quantity == 2.0  # 20 USD of BTC-PERPETUAL = 2 contracts of 10 USD
    assert fill.fill_id == "deribit:T-1" and fill.client_order_id == "dhstream"
    assert (fill.quantity, fill.price, fill.side, fill.liquidity) == (
        2.0,
        32000.5,
        OrderSide.SELL,
        "maker",
    )


@pytest.mark.parametrize(
    "exchange", ["deribit", "okx", "bybit", "binanceusdm", "binancecoinm", "hyperliquid"]
)
def test_every_supported_exchange_builds_rate_limited_with_a_distinct_sandbox(exchange):
    from deltahedge.venues.ccxt import make_exchange

    async def go():
        test = make_exchange(CcxtVenueConfig(exchange=exchange, testnet=True))
        live = make_exchange(CcxtVenueConfig(exchange=exchange, testnet=False))
        try:
            return (
                json.dumps(test.urls["api"]),
                dict(test.headers or {}),
                test.enableRateLimit,
                json.dumps(live.urls["api"]),
                dict(live.headers or {}),
            )
        finally:
            await test.close()
            await live.close()

    t_api, t_head, limited, l_api, l_head = asyncio.run(go())
    assert limited is True
    assert (t_api, t_head) != (l_api, l_head)  # testnet really switches endpoints (or OKX's header)


def test_hyperliquid_client_ids_are_128_bit_hex_and_map_back():
    from deltahedge.venues.ccxt.mapping import from_venue_client_id, to_venue_client_id

    coid = client_order_id("intent-7", 1, 2)
    cloid = to_venue_client_id("hyperliquid", coid)
    assert re.fullmatch(r"0x[0-9a-f]{32}", cloid)
    assert from_venue_client_id("hyperliquid", cloid) == coid
    assert to_venue_client_id("okx", coid) == coid and len(coid) <= 32

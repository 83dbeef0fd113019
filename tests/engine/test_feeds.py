"""Feeds: simulated (seeded path models), replay of the recorded real data, live message handling."""

from __future__ import annotations

import asyncio
import csv
import gzip
import itertools
import json
import math

import numpy as np
import pytest

from deltahedge.backtest.models import GBM_BTC
from deltahedge.core.clock import SimClock
from deltahedge.marketdata.feeds import (
    BinanceBookFeed,
    BitstampMinuteFeed,
    DeribitSnapshotFeed,
    SimulatedFeed,
    TickKind,
    order_book_to_tick,
    ticker_to_ticks,
)


def _collect(feed):  # type: ignore[no-untyped-def]
    async def go():  # type: ignore[no-untyped-def]
        return [t async for t in feed]

    return asyncio.run(go())


def test_simulated_feed_same_seed_same_path_and_clock_follows_ticks():
    c1, c2 = SimClock(10**18), SimClock(10**18)
    a = _collect(SimulatedFeed(90_000.0, c1, duration_s=60, ticks_per_second=10, seed=3))
    b = _collect(SimulatedFeed(90_000.0, c2, duration_s=60, ticks_per_second=10, seed=3))
    c = _collect(
        SimulatedFeed(90_000.0, SimClock(10**18), duration_s=60, ticks_per_second=10, seed=4)
    )
    assert len(a) == 600 and [t.price for t in a] == [t.price for t in b]
    assert [t.price for t in a] != [t.price for t in c]
    assert a[0].price == 90_000.0
    # 10 ticks a second: 100 ms apart; the SimClock sits on the last tick
    assert {b_.venue_ts_ns - a_.venue_ts_ns for a_, b_ in itertools.pairwise(a)} == {100_000_000}
    assert c1.now_ns() == a[-1].venue_ts_ns == 10**18 + 599 * 100_000_000


def test_simulated_gbm_log_returns_have_the_model_vol():
    ticks = _collect(SimulatedFeed(90_000.0, SimClock(), GBM_BTC, ticks_per_second=1.0,
                                   duration_s=40_000, seed=9))  # fmt: skip
    r = np.diff(np.log([t.price for t in ticks]))
    # GBM_BTC: sigma = 0.6 a year; one-second steps: sd = 0.6 / sqrt(365 * 86400)
    expected = 0.6 / math.sqrt(365 * 86_400)
    assert r.std() == pytest.approx(expected, rel=0.03)  # 40,000 draws: se of sd ~0.35 %


def test_simulated_glitches_are_the_three_kinds_and_seeded():
    ticks = _collect(SimulatedFeed(90_000.0, SimClock(), duration_s=2_000, ticks_per_second=10,
                                   seed=1, glitch_rate=0.01))  # fmt: skip
    prices = np.array([t.price for t in ticks])
    bad_nan = np.isnan(prices).sum()
    bad_neg = (prices < 0).sum()
    ok = prices[np.isfinite(prices) & (prices > 0)]
    jumps = (ok > 1.3 * np.median(ok)).sum()
    assert bad_nan > 20 and bad_neg > 20 and jumps > 20
    assert bad_nan + bad_neg + jumps == pytest.approx(0.01 * len(ticks), rel=0.25)


def test_bitstamp_feed_gives_the_closes_at_the_end_of_each_minute(shared_data):
    path = shared_data / "bitstamp_1min_2025" / "btcusd_1min_20250107_20250203.csv"
    ticks = _collect(BitstampMinuteFeed(path, SimClock(), limit=50))
    with path.open() as fh:
        rows = [r for _, r in zip(range(50), csv.DictReader(fh), strict=False)]
    assert [t.price for t in ticks] == [float(r["close"]) for r in rows]
    assert [t.venue_ts_ns for t in ticks] == [(int(r["timestamp"]) + 60) * 10**9 for r in rows]
    assert all(t.kind is TickKind.INDEX for t in ticks)


def test_binance_feed_quotes_match_the_recorded_book_tickers(shared_data):
    path = shared_data / "binance_l2_2024" / "usdm_btcusdt_20240808.gz"
    ticks = _collect(BinanceBookFeed(path, "BTCUSDT", "binance_usdm", SimClock(), limit=200))
    expected = []
    with gzip.open(path, "rt") as fh:
        for line in fh:
            recv, _, body = line.partition(" ")
            d = json.loads(body)
            d = d.get("data", d)
            if d.get("e") == "bookTicker":
                expected.append((float(d["b"]), float(d["a"]), int(d["T"]) * 10**6, int(recv)))
                if len(expected) == 200:
                    break
    assert [(t.bid, t.ask, t.venue_ts_ns, t.recv_ts_ns) for t in ticks] == expected
    assert all(t.bid < t.ask and t.price == 0.5 * (t.bid + t.ask) for t in ticks)


def test_deribit_snapshot_feed_index_marks_and_options(shared_data):
    from deltahedge.marketdata import load_chain

    folder = shared_data / "deribit_chain_2026"
    snap = folder / "deribit_options_snapshot_20260105T092511Z.csv"
    ticks = _collect(
        DeribitSnapshotFeed([snap], SimClock(), folder / "perpetual_futures_prices.csv")
    )
    chain = load_chain(snap, underlying="BTC")
    index = [t for t in ticks if t.kind is TickKind.INDEX]
    marks = [t for t in ticks if t.kind is TickKind.MARK]
    opts = [t for t in ticks if t.kind is TickKind.OPTION]
    assert index[0].price == pytest.approx(float(np.nanmedian(chain.index_price)))
    assert len(opts) == int(np.isfinite(chain.mark_iv).sum()) > 100
    with (folder / "perpetual_futures_prices.csv").open() as fh:
        row = next(r for r in csv.DictReader(fh)
                   if r["snapshot_file"] == snap.name and r["coin"] == "BTC")  # fmt: skip
    assert marks[0].symbol == "BTC-PERPETUAL"
    assert marks[0].price == float(row["perp_futures_mark_price"])
    first = next(t for t in opts if t.symbol == "BTC-27MAR26-90000-C")
    assert first.iv == pytest.approx(0.4349, abs=5e-4)  # the data README's hand-checked row


def test_live_ticker_handling_on_recorded_deribit_messages(shared_data):
    ccxt = pytest.importorskip("ccxt")
    ex = ccxt.deribit()
    n = 0
    with (shared_data / "deribit_ws_2021" / "DERIBIT.ws.1.0").open() as fh:
        for line in fh:
            if '"channel":"ticker.' not in line:
                continue
            data = json.loads(line.split(": ", 1)[1])["params"]["data"]
            ticks = ticker_to_ticks(ex.parse_ticker(data), "deribit", "BTC", 123, option=True)
            idx, opt = ticks
            assert idx.kind is TickKind.INDEX and idx.price == data["index_price"]
            assert opt.symbol == data["instrument_name"] and opt.price == data["mark_price"]
            assert opt.iv == pytest.approx(data["mark_iv"] / 100)
            assert opt.venue_ts_ns == data["timestamp"] * 10**6 and opt.recv_ts_ns == 123
            n += 1
    assert n > 10


def test_order_book_message_gives_top_of_book_or_none():
    book = {"bids": [[100.0, 2.0], [99.5, 1.0]], "asks": [[100.5, 3.0]], "timestamp": 1_000}
    t = order_book_to_tick(book, "v", "X", "BTC", 5)
    assert (t.bid, t.ask, t.bid_size, t.ask_size, t.price) == (100.0, 100.5, 2.0, 3.0, 100.25)
    assert t.venue_ts_ns == 1_000_000_000
    assert order_book_to_tick({"bids": [], "asks": [[1.0, 1.0]]}, "v", "X", "BTC", 5) is None


def test_ccxt_pro_feed_merges_streams_of_a_fake_exchange_and_closes(shared_data):
    """The live feed's loop, offline: a stand-in exchange replays recorded Deribit tickers."""
    ccxt = pytest.importorskip("ccxt")
    from deltahedge.marketdata.feeds import CcxtProFeed

    parsed = []
    with (shared_data / "deribit_ws_2021" / "DERIBIT.ws.1.0").open() as fh:
        for line in fh:
            if '"channel":"ticker.BTC-' in line:
                parsed.append(
                    ccxt.deribit().parse_ticker(
                        json.loads(line.split(": ", 1)[1])["params"]["data"]
                    )
                )
            if len(parsed) == 5:
                break

    class FakeExchange:
        closed = False

        def __init__(self) -> None:
            self.i = 0

        async def watch_ticker(self, symbol):  # type: ignore[no-untyped-def]
            await asyncio.sleep(0)
            self.i += 1
            return parsed[(self.i - 1) % len(parsed)]

        async def watch_order_book(self, symbol):  # type: ignore[no-untyped-def]
            await asyncio.sleep(0)
            return {"bids": [[60_000.0, 1.0]], "asks": [[60_010.0, 2.0]], "timestamp": 1}

        async def close(self) -> None:
            FakeExchange.closed = True

    async def go():  # type: ignore[no-untyped-def]
        feed = CcxtProFeed(FakeExchange(), "deribit", "BTC", options=["X"], books=["BTC-PERPETUAL"])
        out = []
        async for t in feed:
            out.append(t)
            if len(out) >= 12:
                break
        await feed.close()
        return out

    ticks = asyncio.run(go())
    kinds = {t.kind for t in ticks}
    assert kinds == {TickKind.INDEX, TickKind.OPTION, TickKind.QUOTE}
    quotes = [t for t in ticks if t.kind is TickKind.QUOTE]
    assert quotes[0].price == 60_005.0 and FakeExchange.closed

"""The L2 book and the Binance replayer, checked against Binance's own bookTicker stream."""

from __future__ import annotations

import bisect
import gzip
import json

import pytest

from deltahedge.core.enums import OrderSide
from deltahedge.core.errors import DataError, InvalidInput
from deltahedge.venues.binance_replay import (
    BinanceBookBuilder,
    BookTicker,
    DepthApplied,
    replay_binance,
)
from deltahedge.venues.book import L2Book

FILES = [("usdm_btcusdt_20240808.gz", "BTCUSDT"), ("coinm_btcusd_perp_20240808.gz", "BTCUSD_PERP")]


@pytest.mark.parametrize(("name", "symbol"), FILES)
def test_replayed_book_top_matches_binance_bookticker_at_the_same_update_id(
    shared_data, name, symbol
):
    book = L2Book(symbol)
    tops: list[tuple[int, int, float, float]] = []
    tickers: list[BookTicker] = []
    for ev in replay_binance(shared_data / "binance_l2_2024" / name, book):
        if isinstance(ev, DepthApplied):
            tops.append((ev.first_update_id, ev.update_id, book.best_bid, book.best_ask))
        elif isinstance(ev, BookTicker):
            tickers.append(ev)
    last_u = [t[1] for t in tops]
    compared = 0
    for tk in tickers:
        k = bisect.bisect_right(last_u, tk.update_id) - 1
        # the book state at update id X is known when a diff ended at u_k <= X and the next
        # diff starts after X (no depth change in between)
        if k < 0 or k + 1 >= len(tops) or tops[k + 1][0] <= tk.update_id:
            continue
        assert (tk.bid, tk.ask) == tops[k][2:], (tk, tops[k])
        compared += 1
    assert compared > 500
    assert book.best_bid < book.best_ask


def test_diffs_older_than_snapshot_are_dropped_and_first_diff_straddles_it(shared_data):
    book = L2Book("BTCUSDT")
    path = shared_data / "binance_l2_2024" / "usdm_btcusdt_20240808.gz"
    with gzip.open(path, "rt") as fh:
        msgs = [json.loads(line.partition(" ")[2]) for _, line in zip(range(400), fh, strict=False)]
    snap = next(m for m in msgs if "lastUpdateId" in m)
    diffs = [m["data"] for m in msgs if m.get("data", {}).get("e") == "depthUpdate"]
    b = BinanceBookBuilder(book)
    b.apply_snapshot(snap)
    applied = [d for d in diffs if b.apply_diff(d) is not None]
    first = applied[0]
    assert first["U"] <= snap["lastUpdateId"] <= first["u"]
    assert b.dropped == sum(1 for d in diffs if d["u"] < snap["lastUpdateId"])
    assert b.dropped > 0 and b.gaps == 0


def test_missing_diff_is_detected_as_a_gap(shared_data):
    path = shared_data / "binance_l2_2024" / "usdm_btcusdt_20240808.gz"
    with gzip.open(path, "rt") as fh:
        msgs = [json.loads(line.partition(" ")[2]) for _, line in zip(range(600), fh, strict=False)]
    snap = next(m for m in msgs if "lastUpdateId" in m)
    diffs = [m["data"] for m in msgs if m.get("data", {}).get("e") == "depthUpdate"]
    b = BinanceBookBuilder(L2Book("BTCUSDT"))
    b.apply_snapshot(snap)
    applied = 0
    with pytest.raises(DataError, match="pu="):
        for d in diffs:
            if applied == 3:
                applied += 1
                continue  # lose one diff
            if b.apply_diff(d) is not None:
                applied += 1
    lenient = BinanceBookBuilder(L2Book("BTCUSDT"), strict=False)
    lenient.apply_snapshot(snap)
    applied = 0
    for d in diffs:
        if applied == 3:
            applied += 1
            continue
        if lenient.apply_diff(d) is not None:
            applied += 1
    assert lenient.gaps == 1 and not lenient.synced


def test_size_zero_deletes_level_and_best_price_moves():
    book = L2Book("X")
    book.load([(100.0, 1.0), (99.0, 2.0)], [(101.0, 1.5), (102.0, 3.0)])
    book.set_bid(100.0, 0.0)
    book.set_ask(100.5, 0.7)
    assert (book.best_bid, book.best_ask) == (99.0, 100.5)
    assert 100.0 not in book.bids
    book.set_ask(100.5, 0.0)
    assert book.best_ask == 101.0


def test_walk_takes_levels_in_order_with_hand_computed_average():
    book = L2Book("X")
    book.load([(99.0, 5.0)], [(101.0, 1.0), (102.0, 2.0), (103.0, 4.0)])
    w = book.walk(OrderSide.BUY, 2.5)
    # 1 @ 101 + 1.5 @ 102 = 101 + 153 = 254; avg = 254 / 2.5 = 101.6
    assert (w.filled, w.notional, w.worst_price, w.levels) == (2.5, 254.0, 102.0, 2)
    assert w.avg_price == pytest.approx(101.6)
    limited = book.walk(OrderSide.BUY, 10.0, limit=102.0)
    assert limited.filled == 3.0 and limited.notional == 101.0 + 204.0
    with pytest.raises(InvalidInput):
        book.walk(OrderSide.SELL, 0.0)


def test_consume_removes_the_liquidity_taken():
    book = L2Book("X")
    book.load([(99.0, 5.0), (98.0, 1.0)], [(101.0, 1.0)])
    fills = book.consume(OrderSide.SELL, 5.5)
    assert fills == [(99.0, 5.0), (98.0, 0.5)]
    assert book.best_bid == 98.0 and book.bids[98.0] == pytest.approx(0.5)

"""A passive order on the paper venue while the real BTCUSDT stream replays through it."""

from __future__ import annotations

import pytest

from deltahedge.core import OrderRequest, OrderSide, OrderType, SimClock
from deltahedge.venues.binance_replay import DepthApplied, Trade, replay_into_paper
from deltahedge.venues.book import L2Book
from deltahedge.venues.paper import PaperVenue
from deltahedge.venues.specs import BINANCE_BTCUSDT


def test_resting_bid_fills_only_through_trades_after_its_queue(shared_data):
    clock = SimClock(0)
    venue = PaperVenue("p", [BINANCE_BTCUSDT], {"BTCUSDT": L2Book("BTCUSDT")}, clock=clock)
    fills: list = []
    venue.subscribe(lambda e: fills.append(e) if hasattr(e, "fill_id") else None)
    path = shared_data / "binance_l2_2024" / "usdm_btcusdt_20240808.gz"
    price = None
    queue0 = 0.0
    sell_volume_at_or_below = 0.0
    first_trade_ts = None
    queue_before = filled_before = 0.0  # our order's state after the previous event
    checked = 0
    for ev in replay_into_paper(path, venue, "BTCUSDT", clock):
        if price is None and isinstance(ev, DepthApplied):
            price = venue.books["BTCUSDT"].best_bid
            queue0 = venue.books["BTCUSDT"].bids[price]
            venue.submit_now(
                OrderRequest("bid", "p", "BTCUSDT", OrderSide.BUY, 0.5, OrderType.LIMIT, price)
            )
            assert venue._orders["bid"].queue_ahead == queue0  # joins the back of the level
            queue_before = queue0
            continue
        if price is None:
            continue
        order = venue._orders["bid"]
        if isinstance(ev, Trade):
            if ev.buyer_is_maker and ev.price <= price:  # aggressive sells that reach our bid
                sell_volume_at_or_below += ev.quantity
                first_trade_ts = first_trade_ts or ev.ts_ns
            # each trade fills us only with what is left of it after the queue ahead of us;
            # a sale through our price fills us entirely
            room = 0.5 - filled_before
            if ev.buyer_is_maker and ev.price == price:
                expect = min(room, max(0.0, ev.quantity - queue_before))
                checked += 1
            elif ev.buyer_is_maker and ev.price < price:
                expect = room
            else:
                expect = 0.0
            assert order.filled - filled_before == pytest.approx(expect, abs=1e-12)
        else:
            assert order.filled == filled_before  # depth updates never fill us
            assert order.queue_ahead <= queue_before  # cancels ahead only shorten the queue
        # never more filled than the sell volume that reached our price so far
        assert order.filled <= sell_volume_at_or_below + 1e-12
        queue_before, filled_before = order.queue_ahead, order.filled
        if order.remaining <= 1e-12:
            break
    assert checked > 0  # trades at exactly our price were seen and checked
    assert queue0 > 0 and fills, "the bid at the touch should fill within the recording"
    assert fills[0].ts_ns >= first_trade_ts  # no fill before a trade reached our price
    assert all(f.price == price and f.liquidity == "maker" for f in fills)
    assert sum(f.quantity for f in fills) <= 0.5 + 1e-12


def test_passive_bid_fills_only_after_the_queue_ahead_has_traded_or_cancelled():
    """Hand-built: 3.0 BTC rest at 100.0 before our 1.0 BTC bid joins the level."""
    clock = SimClock(0)
    book = L2Book("BTCUSDT")
    book.load([(100.0, 3.0), (99.9, 5.0)], [(100.1, 4.0)])
    venue = PaperVenue("p", [BINANCE_BTCUSDT], {"BTCUSDT": book}, clock=clock)
    fills: list = []
    venue.subscribe(lambda e: fills.append(e) if hasattr(e, "fill_id") else None)
    venue.submit_now(
        OrderRequest("bid", "p", "BTCUSDT", OrderSide.BUY, 1.0, OrderType.LIMIT, 100.0)
    )
    order = venue._orders["bid"]
    assert order.queue_ahead == 3.0 and order.resting

    venue.on_trade("BTCUSDT", 100.0, 2.0, OrderSide.SELL)  # 2.0 of the 3.0 ahead trade
    assert (order.queue_ahead, order.filled) == (1.0, 0.0) and fills == []
    venue.on_trade("BTCUSDT", 100.1, 5.0, OrderSide.BUY)  # buys at the offer: not our side
    assert (order.queue_ahead, order.filled) == (1.0, 0.0)
    venue.on_level("BTCUSDT", OrderSide.BUY, 100.0, 2.5)  # level still holds more than is ahead
    assert order.queue_ahead == 1.0
    venue.on_level("BTCUSDT", OrderSide.BUY, 100.0, 0.5)  # 0.5 of the queue ahead cancelled
    assert order.queue_ahead == 0.5 and order.filled == 0.0
    venue.on_trade("BTCUSDT", 100.0, 0.8, OrderSide.SELL)  # 0.5 ahead first, then 0.3 to us
    assert order.queue_ahead == 0.0 and order.filled == pytest.approx(0.3)
    venue.on_trade("BTCUSDT", 100.0, 1.0, OrderSide.SELL)  # the rest: 0.7 of the 1.0 sold
    assert order.filled == pytest.approx(1.0) and order.remaining == pytest.approx(0.0)
    assert [round(f.quantity, 12) for f in fills] == [0.3, 0.7]
    assert all(f.price == 100.0 and f.liquidity == "maker" for f in fills)
    # maker fee, 2 bp of the notional: 0.3 * 100 * 0.0002 = 0.006 USDT
    assert fills[0].fee == pytest.approx(0.006)


def test_a_sale_through_our_price_fills_the_whole_bid_whatever_the_queue():
    clock = SimClock(0)
    book = L2Book("BTCUSDT")
    book.load([(100.0, 3.0), (99.9, 5.0)], [(100.1, 4.0)])
    venue = PaperVenue("p", [BINANCE_BTCUSDT], {"BTCUSDT": book}, clock=clock)
    venue.submit_now(
        OrderRequest("bid", "p", "BTCUSDT", OrderSide.BUY, 1.0, OrderType.LIMIT, 100.0)
    )
    venue.on_trade("BTCUSDT", 99.9, 0.1, OrderSide.SELL)  # traded below us: level 100.0 is gone
    order = venue._orders["bid"]
    assert order.filled == 1.0 and order.queue_ahead == 3.0

"""A passive order on the paper venue while the real BTCUSDT stream replays through it."""

from __future__ import annotations

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
    for ev in replay_into_paper(path, venue, "BTCUSDT", clock):
        if price is None and isinstance(ev, DepthApplied):
            price = venue.books["BTCUSDT"].best_bid
            queue0 = venue.books["BTCUSDT"].bids[price]
            venue.submit_now(
                OrderRequest("bid", "p", "BTCUSDT", OrderSide.BUY, 0.5, OrderType.LIMIT, price)
            )
            assert venue._orders["bid"].queue_ahead == queue0  # joins the back of the level
            continue
        if price is None or not isinstance(ev, Trade):
            continue
        if ev.buyer_is_maker and ev.price <= price:  # aggressive sells that reach our bid
            sell_volume_at_or_below += ev.quantity
            first_trade_ts = first_trade_ts or ev.ts_ns
        # never more filled than the sell volume that reached our price so far
        assert venue._orders["bid"].filled <= sell_volume_at_or_below + 1e-12
        if venue._orders["bid"].remaining <= 1e-12:
            break
    assert queue0 > 0 and fills, "the bid at the touch should fill within the recording"
    assert fills[0].ts_ns >= first_trade_ts  # no fill before a trade reached our price
    assert all(f.price == price and f.liquidity == "maker" for f in fills)
    assert sum(f.quantity for f in fills) <= 0.5 + 1e-12

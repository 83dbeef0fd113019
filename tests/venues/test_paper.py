"""The paper venue's matching engine: book walks, queue position, fees, latency, faults."""

from __future__ import annotations

import asyncio

import pytest

from deltahedge.core import (
    Fill,
    OrderRejected,
    OrderRequest,
    OrderSide,
    OrderStatus,
    OrderType,
    SimClock,
    TimeInForce,
    UnknownOrder,
    VenueDisconnected,
)
from deltahedge.execution.venue import EventStream, Venue
from deltahedge.venues.book import L2Book
from deltahedge.venues.paper import FaultConfig, PaperVenue
from deltahedge.venues.specs import BINANCE_BTCUSD_PERP, BINANCE_BTCUSDT


def _venue(**kw) -> tuple[PaperVenue, list]:
    book = L2Book("BTCUSDT")
    book.load([(100.0, 2.0), (99.0, 3.0)], [(101.0, 1.0), (102.0, 2.0), (103.0, 5.0)])
    v = PaperVenue("p", [BINANCE_BTCUSDT], {"BTCUSDT": book}, **kw)
    events: list = []
    v.subscribe(events.append)
    return v, events


def _req(coid: str, side: OrderSide, qty: float, **kw) -> OrderRequest:
    return OrderRequest(coid, "p", "BTCUSDT", side, qty, **kw)


def test_paper_venue_implements_the_venue_port():
    v, _ = _venue()
    assert isinstance(v, Venue)


def test_market_buy_walks_levels_with_taker_fee():
    v, events = _venue()
    upd = asyncio.run(v.submit(_req("a", OrderSide.BUY, 2.5)))
    fills = [e for e in events if isinstance(e, Fill)]
    # 1 @ 101 + 1.5 @ 102: avg = (101 + 153) / 2.5 = 101.6; fee 5 bp of 254 USDT = 0.127
    assert upd.status is OrderStatus.FILLED and upd.avg_price == pytest.approx(101.6)
    assert [(f.price, f.quantity) for f in fills] == [(101.0, 1.0), (102.0, 1.5)]
    assert sum(f.fee for f in fills) == pytest.approx(0.127)
    assert v.books["BTCUSDT"].best_ask == 102.0  # our trade took the liquidity


def test_ioc_limit_partially_fills_and_cancels_rest():
    v, _ = _venue()
    upd = asyncio.run(
        v.submit(
            _req(
                "a",
                OrderSide.BUY,
                5.0,
                order_type=OrderType.LIMIT,
                price=102.0,
                time_in_force=TimeInForce.IOC,
            )
        )
    )
    assert upd.status is OrderStatus.CANCELLED and upd.filled_quantity == 3.0


def test_fok_that_cannot_fill_completely_expires_untouched():
    v, _ = _venue()
    upd = asyncio.run(
        v.submit(
            _req(
                "a",
                OrderSide.BUY,
                9.0,
                order_type=OrderType.LIMIT,
                price=102.0,
                time_in_force=TimeInForce.FOK,
            )
        )
    )
    assert upd.status is OrderStatus.EXPIRED and upd.filled_quantity == 0.0
    assert v.books["BTCUSDT"].asks[101.0] == 1.0


def test_post_only_that_would_cross_is_rejected():
    v, _ = _venue()
    upd = asyncio.run(
        v.submit(
            _req(
                "a",
                OrderSide.BUY,
                1.0,
                order_type=OrderType.LIMIT,
                price=101.0,
                time_in_force=TimeInForce.POST_ONLY,
            )
        )
    )
    assert upd.status is OrderStatus.REJECTED


def test_passive_order_fills_only_after_the_queue_ahead_trades():
    v, events = _venue()
    asyncio.run(v.submit(_req("a", OrderSide.BUY, 1.0, order_type=OrderType.LIMIT, price=100.0)))
    # 2.0 rests ahead of us at 100; a 1.5 sell trade eats 1.5 of it, a cancel shrinks the
    # level to 0.3, then a 0.8 sell trade eats 0.3 and fills 0.5 of ours (maker, 2 bp).
    v.on_trade("BTCUSDT", 100.0, 1.5, OrderSide.SELL)
    assert asyncio.run(v.get_order("a")).filled_quantity == 0.0
    v.on_level("BTCUSDT", OrderSide.BUY, 100.0, 0.3)
    v.on_trade("BTCUSDT", 100.0, 0.8, OrderSide.SELL)
    upd = asyncio.run(v.get_order("a"))
    assert upd.status is OrderStatus.PARTIALLY_FILLED and upd.filled_quantity == pytest.approx(0.5)
    fill = next(e for e in events if isinstance(e, Fill))
    assert fill.liquidity == "maker" and fill.fee == pytest.approx(0.5 * 100.0 * 0.0002)
    v.on_trade("BTCUSDT", 99.0, 0.1, OrderSide.SELL)  # a trade through our price fills the rest
    assert asyncio.run(v.get_order("a")).status is OrderStatus.FILLED


def test_reduce_only_is_clipped_to_the_position_and_rejected_when_flat():
    v, _ = _venue()
    asyncio.run(v.submit(_req("a", OrderSide.BUY, 0.5)))
    upd = asyncio.run(v.submit(_req("b", OrderSide.SELL, 2.0, reduce_only=True)))
    assert upd.filled_quantity == pytest.approx(0.5)
    assert asyncio.run(v.positions())["BTCUSDT"] == pytest.approx(0.0)
    flat = asyncio.run(v.submit(_req("c", OrderSide.SELL, 1.0, reduce_only=True)))
    assert flat.status is OrderStatus.REJECTED


def test_latency_delays_matching_until_the_clock_moves():
    clock = SimClock(0)
    v, _ = _venue(clock=clock, latency_ns=5_000_000)
    upd = asyncio.run(v.submit(_req("a", OrderSide.BUY, 1.0)))
    assert upd.status is OrderStatus.NEW
    v.books["BTCUSDT"].set_ask(101.0, 0.0)  # the touch moves away before we arrive
    clock.advance(0.005)
    later = asyncio.run(v.get_order("a"))
    assert later.status is OrderStatus.FILLED and later.avg_price == 102.0
    assert later.ts_ns == 10_000_000  # reported at the clock plus the one-way latency


def test_inverse_fee_is_charged_in_coin():
    book = L2Book("BTCUSD_PERP")
    book.load([(60_000.0, 100.0)], [(60_000.1, 100.0)])
    v = PaperVenue("c", [BINANCE_BTCUSD_PERP], {"BTCUSD_PERP": book}, balances={"BTC": 1.0})
    fills: list = []
    v.subscribe(fills.append)
    asyncio.run(v.submit(OrderRequest("a", "c", "BTCUSD_PERP", OrderSide.SELL, 10.0)))
    # 10 contracts x 100 USD / 60000 = 0.0166667 BTC; 5 bp of it = 8.3333e-6 BTC
    f = fills[0]
    assert f.fee_currency == "BTC" and f.fee == pytest.approx(10 * 100 / 60_000 * 0.0005)
    assert asyncio.run(v.balances())["BTC"].total == pytest.approx(1.0 - f.fee)


def test_duplicate_client_id_and_unknown_order_are_typed_errors():
    v, _ = _venue()
    asyncio.run(v.submit(_req("a", OrderSide.BUY, 0.1)))
    with pytest.raises(OrderRejected, match="duplicate"):
        asyncio.run(v.submit(_req("a", OrderSide.BUY, 0.1)))
    with pytest.raises(UnknownOrder):
        asyncio.run(v.get_order("zzz"))
    with pytest.raises(OrderRejected, match="lot"):
        asyncio.run(v.submit(_req("b", OrderSide.BUY, 0.0005)))


def test_disconnect_after_send_places_the_order_and_loses_the_answer():
    v, _ = _venue(faults=FaultConfig(disconnect_after=1.0))
    with pytest.raises(VenueDisconnected):
        asyncio.run(v.submit(_req("a", OrderSide.BUY, 0.1)))
    assert asyncio.run(v.get_order("a")).status is OrderStatus.FILLED


def test_fault_schedule_is_reproducible_from_its_seed():
    def run(seed: int) -> list[str]:
        v, events = _venue(faults=FaultConfig(drop_fill=0.5, duplicate_fill=0.5), seed=seed)
        for i in range(20):
            asyncio.run(v.submit(_req(f"o{i}", OrderSide.BUY if i % 2 else OrderSide.SELL, 0.01)))
        return [e.fill_id for e in events if isinstance(e, Fill)]

    assert run(7) == run(7)
    assert run(7) != run(8)
    full = run(7)
    assert len(full) != len(set(full))  # some duplicated


def test_stale_book_makes_the_venue_unhealthy():
    clock = SimClock(10_000_000_000)
    v, _ = _venue(clock=clock, stale_after_ns=2_000_000_000)
    v.books["BTCUSDT"].ts_ns = 9_000_000_000
    assert v.is_healthy()
    clock.advance(2.0)
    assert not v.is_healthy()


def test_event_stream_yields_pushed_updates_and_fills():
    async def go() -> list:
        v, _ = _venue()
        stream = EventStream(v)
        await v.submit(_req("a", OrderSide.BUY, 1.5))
        return [await stream.__anext__() for _ in range(stream.pending())]

    got = asyncio.run(go())
    assert [type(e).__name__ for e in got] == ["Fill", "Fill", "OrderUpdate"]

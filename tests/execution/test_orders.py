"""The order manager: state machine, idempotency, journal-first, backoff, in-flight guard."""

from __future__ import annotations

import asyncio

import pytest

from deltahedge.core import (
    ExecutionError,
    Fill,
    HedgeIntent,
    OrderRequest,
    OrderSide,
    OrderStatus,
    OrderType,
    OrderUpdate,
    RateLimited,
    SimClock,
    client_order_id,
)
from deltahedge.execution.journal import MemoryJournal
from deltahedge.execution.orders import OrderManager, RetryPolicy
from deltahedge.venues.paper import PaperVenue
from deltahedge.venues.specs import BINANCE_BTCUSDT, synthetic_book


def _setup(**venue_kw):
    clock = SimClock(0)
    venue = PaperVenue(
        "v", [BINANCE_BTCUSDT], {"BTCUSDT": synthetic_book("BTCUSDT")}, clock=clock, **venue_kw
    )
    slept: list[float] = []

    async def sleep(s: float) -> None:
        slept.append(s)
        clock.advance(s)

    journal = MemoryJournal()
    om = OrderManager({"v": venue}, journal, clock, RetryPolicy(base_s=0.1, cap_s=0.5), sleep)
    return venue, om, journal, slept


def _intent(iid: str = "i1", qty: float = 1.0) -> tuple[HedgeIntent, list[OrderRequest]]:
    return HedgeIntent(iid, 0, "BTC", qty, "t"), [
        OrderRequest("", "v", "BTCUSDT", OrderSide.BUY, qty)
    ]


def test_client_ids_derive_from_the_intent_and_reexecution_sends_nothing_new():
    venue, om, _, _ = _setup()
    intent, legs = _intent()
    rep = asyncio.run(om.execute(intent, legs))
    assert rep.status == "filled" and rep.orders == (client_order_id("i1", 0, 0),)
    again = asyncio.run(om.execute(intent, legs))
    assert again.status == "filled" and venue.placed == [client_order_id("i1", 0, 0)]
    assert venue._positions["BTCUSDT"] == pytest.approx(1.0)


def test_second_intent_on_an_exposure_in_flight_is_skipped():
    venue, om, _, _ = _setup()
    intent, _ = _intent()
    resting = [OrderRequest("", "v", "BTCUSDT", OrderSide.BUY, 1.0, OrderType.LIMIT, 59_000.0)]
    rep = asyncio.run(om.execute(intent, resting))
    assert rep.status == "working" and om.in_flight("BTC") == "i1"
    other, legs = _intent("i2")
    skipped = asyncio.run(om.execute(other, legs))
    assert skipped.status == "skipped" and "i1" in skipped.reason
    assert len(venue.placed) == 1
    # the resting order fills by a trade through its price: the exposure is free again
    venue.on_trade("BTCUSDT", 58_999.0, 5.0, OrderSide.SELL)
    asyncio.run(om.reconcile())
    assert om.in_flight("BTC") is None
    assert asyncio.run(om.execute(other, legs)).status == "filled"


def test_journal_records_intent_and_order_before_the_send():
    seen: list[tuple[bool, bool]] = []
    _venue, om, journal, _ = _setup()

    async def before_send(req: OrderRequest) -> None:
        seen.append(
            (req.intent_id in journal.state.intents, req.client_order_id in journal.state.orders)
        )

    om.before_send = before_send
    intent, legs = _intent()
    asyncio.run(om.execute(intent, legs))
    assert seen == [(True, True)]
    rec = journal.state.orders[client_order_id("i1", 0, 0)]
    assert rec.status is OrderStatus.FILLED and rec.confirmed
    assert sum(f.quantity for f in journal.state.fills.values()) == pytest.approx(1.0)


def test_rate_limits_back_off_exponentially_up_to_the_cap():
    venue, om, _, slept = _setup()
    calls = {"n": 0}
    real = venue.submit

    async def limited(req):
        calls["n"] += 1
        if calls["n"] <= 5:
            raise RateLimited("slow down", "v", retry_after=0.0)
        return await real(req)

    venue.submit = limited  # type: ignore[method-assign]
    intent, legs = _intent()
    assert asyncio.run(om.execute(intent, legs)).status == "filled"
    # delays min(0.5, 0.1 * 2**n): 0.1, 0.2, 0.4, 0.5, 0.5
    assert slept == pytest.approx([0.1, 0.2, 0.4, 0.5, 0.5])


def test_late_and_repeated_updates_never_move_an_order_backwards():
    _venue, om, _, _ = _setup()
    intent, legs = _intent()
    asyncio.run(om.execute(intent, legs))
    coid = client_order_id("i1", 0, 0)
    om.on_event(OrderUpdate(coid, "v", OrderStatus.ACKED, 0.0, 1))
    om.on_event(OrderUpdate(coid, "v", OrderStatus.CANCELLED, 0.0, 2))
    assert om.orders[coid].status is OrderStatus.FILLED
    assert om.orders[coid].record.filled_quantity == pytest.approx(1.0)


def test_duplicate_fill_messages_are_counted_once():
    _venue, om, _, _ = _setup()
    intent, legs = _intent()
    asyncio.run(om.execute(intent, legs))
    fill = next(iter(om.orders[client_order_id("i1", 0, 0)].fills.values()))
    om.on_event(fill)
    om.on_event(Fill(**{**{k: getattr(fill, k) for k in fill.__slots__}}))
    assert om.duplicate_fills == 2
    assert om.positions[("v", "BTCUSDT")] == pytest.approx(1.0)


def test_recovered_manager_reconciles_fills_it_never_saw():
    venue, om, journal, _ = _setup()
    intent, _ = _intent()
    resting = [OrderRequest("", "v", "BTCUSDT", OrderSide.BUY, 2.0, OrderType.LIMIT, 59_000.0)]
    asyncio.run(om.execute(intent, resting))
    om.close()  # the process dies; the order fills while nobody listens
    venue.on_trade("BTCUSDT", 58_990.0, 5.0, OrderSide.SELL)
    om2 = OrderManager.recover({"v": venue}, journal, clock=venue.clock)
    assert om2.in_flight("BTC") == "i1"
    diffs = asyncio.run(om2.reconcile())
    assert diffs == {("v", "BTCUSDT"): 0.0}
    assert om2.positions[("v", "BTCUSDT")] == pytest.approx(2.0)
    assert om2.in_flight("BTC") is None
    assert len(journal.state.fills) == len(venue.fill_log())


def test_backoff_delay_is_capped():
    r = RetryPolicy(base_s=0.05, factor=2.0, cap_s=2.0)
    assert [r.delay(n) for n in range(8)] == pytest.approx(
        [0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0]
    )


def test_reconcile_lists_our_open_orders_missing_from_the_journal():
    venue, om, _, _ = _setup()
    lost = OrderRequest(
        client_order_id("lost-intent"),
        "v",
        "BTCUSDT",
        OrderSide.BUY,
        1.0,
        OrderType.LIMIT,
        59_000.0,
    )
    asyncio.run(venue.submit(lost))  # placed by a process whose journal is gone
    foreign = OrderRequest(
        "manual-1", "v", "BTCUSDT", OrderSide.SELL, 1.0, OrderType.LIMIT, 61_000.0
    )
    asyncio.run(venue.submit(foreign))  # placed by hand: not ours
    asyncio.run(om.reconcile())
    assert [u.client_order_id for u in om.orphans] == [lost.client_order_id]


def test_marketable_order_that_never_matches_raises_and_stays_in_flight():
    _, om, _, _ = _setup(latency_ns=10**15)  # the order will not reach the engine in time
    intent, legs = _intent()
    with pytest.raises(ExecutionError, match=r"still (acked|new)"):
        asyncio.run(om.execute(intent, legs))
    assert om.in_flight("BTC") == "i1"


def test_execute_keeps_every_field_of_a_leg_but_its_id_intent_and_time():
    """execute builds each order field by field (no dataclasses.replace on the hot path):
    a field added to OrderRequest must not be dropped on the way to the venue."""
    import dataclasses

    from deltahedge.core import TimeInForce

    clock = SimClock(5)
    venue = PaperVenue(
        "v", [BINANCE_BTCUSDT], {"BTCUSDT": synthetic_book("BTCUSDT", seed=2)}, clock=clock
    )
    sent: list = []
    venue.submit_now = lambda req, _inner=venue.submit_now: sent.append(req) or _inner(req)
    om = OrderManager({"v": venue}, clock=clock)
    leg = OrderRequest(
        "ignored", "v", "BTCUSDT", OrderSide.SELL, 0.25, OrderType.LIMIT, 59_000.0,
        TimeInForce.IOC, reduce_only=False, intent_id="other", ts_ns=1,
    )  # fmt: skip
    asyncio.run(om.execute(HedgeIntent("keep", 0, "BTC", -0.25, "t"), [leg]))
    (req,) = sent
    for f in dataclasses.fields(OrderRequest):
        if f.name not in ("client_order_id", "intent_id", "ts_ns"):
            assert getattr(req, f.name) == getattr(leg, f.name), f.name
    assert (req.intent_id, req.ts_ns) == ("keep", 5)
    assert req.client_order_id == client_order_id("keep", 0, 0)

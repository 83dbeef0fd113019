"""The hedger: intent -> books -> route -> orders, TWAP clips, one hedge per exposure."""

from __future__ import annotations

import asyncio

import pytest

from deltahedge.core import HedgeIntent, SimClock
from deltahedge.execution.hedger import Hedger, HedgeTarget
from deltahedge.execution.orders import OrderManager
from deltahedge.execution.router import RouterConfig, SmartRouter
from deltahedge.venues.paper import PaperVenue
from deltahedge.venues.specs import BINANCE_BTCUSD_PERP, BINANCE_BTCUSDT, synthetic_book


def _setup(stale_inverse: bool = False):
    clock = SimClock(1_000_000_000_000)
    lin_book = synthetic_book("BTCUSDT", levels=400, size_at_touch=1.0, seed=1)
    inv_book = synthetic_book("BTCUSD_PERP", levels=400, size_at_touch=600.0, seed=2)
    lin_book.ts_ns = inv_book.ts_ns = clock.now_ns()
    lin = PaperVenue("lin", [BINANCE_BTCUSDT], {"BTCUSDT": lin_book}, clock=clock)
    inv = PaperVenue(
        "inv",
        [BINANCE_BTCUSD_PERP],
        {"BTCUSD_PERP": inv_book},
        clock=clock,
        stale_after_ns=1_000_000_000 if stale_inverse else None,
    )
    sleeps: list[float] = []

    async def sleep(s: float) -> None:
        sleeps.append(s)
        clock.advance(s)
        for b in (lin_book, inv_book):  # fresh books arrive while we wait
            b.ts_ns = clock.now_ns()
        await asyncio.sleep(0)

    om = OrderManager({"lin": lin, "inv": inv}, clock=clock, sleep=sleep)
    router = SmartRouter(RouterConfig(max_clip_coin=10.0, clip_interval_s=30.0))
    hedger = Hedger(
        om, [HedgeTarget("lin", "BTCUSDT"), HedgeTarget("inv", "BTCUSD_PERP")], router, sleep
    )
    return hedger, lin, inv, clock, sleeps


def _coin(lin, inv) -> float:
    mid = inv.books["BTCUSD_PERP"].mid
    return lin._positions["BTCUSDT"] + inv._positions["BTCUSD_PERP"] * 100.0 / mid


def test_routed_intent_splits_across_both_books_and_reaches_the_delta():
    hedger, lin, inv, clock, _ = _setup()
    reports = asyncio.run(hedger.hedge(HedgeIntent("h1", clock.now_ns(), "BTC", 8.0, "t")))
    assert [r.status for r in reports] == ["filled"]
    assert lin._positions["BTCUSDT"] > 0 and inv._positions["BTCUSD_PERP"] > 0
    assert _coin(lin, inv) == pytest.approx(8.0, abs=0.01)  # within an inverse contract of 100 USD


def test_fees_of_a_split_hedge_are_kept_per_currency_never_added_across():
    hedger, _, _, clock, _ = _setup()
    (rep,) = asyncio.run(hedger.hedge(HedgeIntent("h1", clock.now_ns(), "BTC", 8.0, "t")))
    fills = {f.venue: f for f in rep_fills(hedger)}
    ccy = {fills["lin"].fee_currency, fills["inv"].fee_currency}
    assert len(ccy) == 2  # the linear leg pays in USDT, the inverse leg in BTC
    assert set(rep.fees_by_currency) == ccy
    for c in ccy:
        assert rep.fees_by_currency[c] == pytest.approx(
            sum(f.fee for f in rep_fills(hedger) if f.fee_currency == c)
        )
    assert rep.fees != rep.fees  # NaN: BTC + USDT has no meaning


def rep_fills(hedger):
    return [f for m in hedger.manager.orders.values() for f in m.fills.values()]


def test_stale_venue_is_skipped_and_everything_goes_to_the_other():
    hedger, lin, inv, clock, _ = _setup(stale_inverse=True)
    clock.advance(5.0)  # the inverse book is now 5 s old, its venue reports stale
    lin.books["BTCUSDT"].ts_ns = clock.now_ns()
    asyncio.run(hedger.hedge(HedgeIntent("h1", clock.now_ns(), "BTC", -3.0, "t")))
    assert inv._positions["BTCUSD_PERP"] == 0.0
    assert lin._positions["BTCUSDT"] == pytest.approx(-3.0)


def test_twap_clips_wait_between_them_and_refuse_a_second_hedge_meanwhile():
    hedger, lin, inv, clock, sleeps = _setup()

    async def go():
        big = HedgeIntent("twap", clock.now_ns(), "BTC", 25.0, "t", allow_slicing=True)
        task = asyncio.create_task(hedger.hedge(big))
        await asyncio.sleep(0)  # the first clip is sent, the hedger now waits 30 s
        other = await hedger.hedge(HedgeIntent("other", clock.now_ns(), "BTC", -1.0, "t"))
        return await task, other

    reports, other = asyncio.run(go())
    assert [r.intent_id for r in reports] == ["twap/c0", "twap/c1", "twap/c2"]
    assert all(r.status == "filled" for r in reports)
    assert other[0].status == "skipped" and "twap" in other[0].reason
    assert sleeps == pytest.approx([30.0, 30.0])
    assert _coin(lin, inv) == pytest.approx(25.0, abs=0.02)


def test_intent_naming_an_instrument_sends_that_order():
    hedger, lin, inv, clock, _ = _setup()
    intent = HedgeIntent(
        "d", clock.now_ns(), "BTC", -0.5, "t", instrument="BTCUSD_PERP", quantity=-30.0
    )
    (rep,) = asyncio.run(hedger.hedge(intent))
    assert rep.status == "filled" and inv._positions["BTCUSD_PERP"] == -30.0
    assert lin._positions["BTCUSDT"] == 0.0


def test_funding_paid_hourly_reaches_the_router_as_its_8_hour_rate():
    from deltahedge.execution.hedger import book_sources
    from deltahedge.execution.venue import FundingRate

    class HourlyFunding(PaperVenue):
        async def funding_rate(self, instrument: str) -> FundingRate:
            return FundingRate(instrument, 0.0000125, interval_s=3600.0)  # Hyperliquid-style

    book = synthetic_book("BTCUSDT", levels=5, seed=1)
    eight = PaperVenue("eight", [BINANCE_BTCUSDT], {"BTCUSDT": book}, funding={"BTCUSDT": 1e-4})
    hourly = HourlyFunding("hourly", [BINANCE_BTCUSDT], {"BTCUSDT": book.copy()})
    targets = [HedgeTarget("eight", "BTCUSDT"), HedgeTarget("hourly", "BTCUSDT")]
    sources = asyncio.run(book_sources({"eight": eight, "hourly": hourly}, targets))
    # 1e-4 per 8 h stays 1e-4; 1.25e-5 an hour is 8 x 1.25e-5 = 1e-4 per 8 h
    assert [s.funding_rate for s in sources] == pytest.approx([1e-4, 1e-4], rel=1e-12)

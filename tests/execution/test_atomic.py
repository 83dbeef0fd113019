"""Atomic option + hedge on paper and AMM venues: both legs stand or neither does."""

from __future__ import annotations

import asyncio

import pytest

from deltahedge.core import OptionKind, OrderRequest, OrderSide, OrderType, Settlement, SimClock
from deltahedge.execution.atomic import AtomicExecutor
from deltahedge.execution.orders import OrderManager, RetryPolicy
from deltahedge.execution.venue import InstrumentInfo
from deltahedge.venues.amm import AmmPair, AmmVenue, ConcentratedPool
from deltahedge.venues.book import L2Book
from deltahedge.venues.paper import FaultConfig, PaperVenue
from deltahedge.venues.specs import BINANCE_BTCUSDT, synthetic_book

CALL = InstrumentInfo(
    "BTC-27SEP24-60000-C",
    "opt",
    "option",
    "BTC",
    Settlement.INVERSE,
    1.0,
    0.1,
    0.0005,
    0.0003,
    0.0003,
    strike=60_000.0,
    option_kind=OptionKind.CALL,
)


def _option_book() -> L2Book:
    book = L2Book(CALL.symbol)
    book.load([(0.0500, 5.0), (0.0495, 10.0)], [(0.0510, 5.0), (0.0515, 10.0)])
    return book


def _setup(option_faults: FaultConfig | None = None, same_venue: bool = False):
    clock = SimClock(0)
    hedge_book = synthetic_book(
        "BTCUSDT", mid=60_000.0, levels=50, size_at_touch=1.0, growth=0.0, seed=3
    )
    if same_venue:
        v = PaperVenue(
            "opt",
            [CALL, BINANCE_BTCUSDT],
            {CALL.symbol: _option_book(), "BTCUSDT": hedge_book},
            clock=clock,
        )
        venues = {"opt": v}
    else:
        opt = PaperVenue(
            "opt", [CALL], {CALL.symbol: _option_book()}, clock=clock, faults=option_faults
        )
        hedge = PaperVenue("perp", [BINANCE_BTCUSDT], {"BTCUSDT": hedge_book}, clock=clock)
        venues = {"opt": opt, "perp": hedge}

    async def sleep(s: float) -> None:
        clock.advance(s)

    om = OrderManager(venues, clock=clock, retry=RetryPolicy(max_attempts=3), sleep=sleep)
    return venues, AtomicExecutor(om)


def _option(qty: float = 2.0, price: float = 0.0510, venue: str = "opt") -> OrderRequest:
    return OrderRequest(
        "", venue, CALL.symbol, OrderSide.BUY, qty, OrderType.LIMIT, price, intent_id="rfq-1"
    )


def _hedge(qty: float, venue: str = "perp", instrument: str = "BTCUSDT") -> OrderRequest:
    return OrderRequest("", venue, instrument, OrderSide.SELL, qty)


def test_hedge_within_slippage_commits_both_legs():
    venues, ex = _setup()
    res = asyncio.run(ex.execute_atomic(_option(), _hedge(1.2), max_slippage_bps=5.0))
    assert res.committed and res.guarantee == "exact"
    assert venues["opt"]._positions[CALL.symbol] == pytest.approx(2.0)
    assert venues["perp"]._positions["BTCUSDT"] == pytest.approx(-1.2)
    assert 0 < res.hedge_slippage_bps <= 5.0


def test_hedge_beyond_slippage_limit_leaves_neither_leg():
    venues, ex = _setup()
    # the touch holds ~1 BTC a level 0.1 USD apart: 30 BTC walks ~3 USD = 0.5 bp > 0.2 bp
    res = asyncio.run(ex.execute_atomic(_option(), _hedge(30.0), max_slippage_bps=0.2))
    assert not res.committed and "0.2 bp" in res.reason
    assert venues["opt"]._positions[CALL.symbol] == 0.0
    assert venues["perp"]._positions["BTCUSDT"] == 0.0


def test_option_that_cannot_fill_sends_nothing():
    venues, ex = _setup()
    res = asyncio.run(ex.execute_atomic(_option(qty=50.0), _hedge(1.0), max_slippage_bps=5.0))
    assert not res.committed and "option leg cannot fill" in res.reason
    assert venues["perp"].placed == []


def test_option_rejected_after_the_hedge_unwinds_the_hedge_and_reports_the_cost():
    venues, ex = _setup(option_faults=FaultConfig(reject=1.0))
    res = asyncio.run(ex.execute_atomic(_option(), _hedge(1.0), max_slippage_bps=5.0))
    assert not res.committed and "unwound" in res.reason
    assert venues["opt"]._positions[CALL.symbol] == 0.0
    assert venues["perp"]._positions["BTCUSDT"] == pytest.approx(0.0)
    assert res.unwind_cost > 0  # sold at the bid, bought back at the ask, plus fees


def test_combo_on_one_venue_is_all_or_none():
    venues, ex = _setup(same_venue=True)
    ok = asyncio.run(ex.execute_atomic(_option(), _hedge(1.0, venue="opt"), max_slippage_bps=5.0))
    assert ok.committed and ok.guarantee == "combo"
    assert venues["opt"]._positions["BTCUSDT"] == pytest.approx(-1.0)
    before = dict(venues["opt"]._positions)
    opt2 = OrderRequest(
        "", "opt", CALL.symbol, OrderSide.BUY, 1.0, OrderType.LIMIT, 0.0515, intent_id="rfq-2"
    )
    bad = asyncio.run(ex.execute_atomic(opt2, _hedge(40.0, venue="opt"), max_slippage_bps=0.1))
    assert not bad.committed and bad.guarantee == "combo"
    assert dict(venues["opt"]._positions) == before


def test_amm_hedge_reverts_past_its_guard_and_the_option_is_not_traded():
    clock = SimClock(0)
    pool = ConcentratedPool.at_price(600.0, 500)
    pool.add_liquidity(60_000, 66_000, 10**14)
    amm = AmmVenue("uni", AmmPair(pool), clock=clock)
    opt = PaperVenue("opt", [CALL], {CALL.symbol: _option_book()}, clock=clock)
    ex = AtomicExecutor(OrderManager({"uni": amm, "opt": opt}, clock=clock))
    price0 = amm.pair.price
    res = asyncio.run(
        ex.execute_atomic(_option(), _hedge(5.0, venue="uni", instrument="BTC/USDC"), 1.0)
    )
    assert not res.committed and amm.pair.price == price0 and opt._positions[CALL.symbol] == 0.0
    small = asyncio.run(
        ex.execute_atomic(
            OrderRequest(
                "",
                "opt",
                CALL.symbol,
                OrderSide.BUY,
                1.0,
                OrderType.LIMIT,
                0.0510,
                intent_id="rfq-3",
            ),
            _hedge(0.01, venue="uni", instrument="BTC/USDC"),
            50.0,
        )
    )
    assert small.committed and small.guarantee == "exact"
    assert amm.pair.price < price0  # our sale moved the pool


def test_paper_venue_is_synchronous_only_without_latency():
    book = {"BTCUSDT": synthetic_book("BTCUSDT", mid=60_000.0, levels=5, seed=1)}
    instant = PaperVenue("p", [BINANCE_BTCUSDT], book).capabilities
    slow = PaperVenue("p", [BINANCE_BTCUSDT], book, latency_ns=5_000_000).capabilities
    assert (instant.synchronous, instant.combo_orders) == (True, True)
    assert (slow.synchronous, slow.combo_orders) == (False, False)
    assert slow.atomic_fill_or_kill  # a FOK still fills completely or not at all


def _latency_setup(on_sleep=None):
    """Option and hedge venues with 5 ms latency; ``sleep`` advances the clock, then runs
    ``on_sleep(venues)`` (the market moving while our orders are in flight)."""
    clock = SimClock(0)
    hedge_book = synthetic_book(
        "BTCUSDT", mid=60_000.0, levels=50, size_at_touch=1.0, growth=0.0, seed=3
    )
    venues = {
        "opt": PaperVenue(
            "opt", [CALL], {CALL.symbol: _option_book()}, clock=clock, latency_ns=5_000_000
        ),
        "perp": PaperVenue(
            "perp", [BINANCE_BTCUSDT], {"BTCUSDT": hedge_book}, clock=clock, latency_ns=5_000_000
        ),
    }

    async def sleep(s: float) -> None:
        clock.advance(s)
        if on_sleep is not None:
            on_sleep(venues)

    om = OrderManager(venues, clock=clock, retry=RetryPolicy(max_attempts=3), sleep=sleep)
    return venues, AtomicExecutor(om)


def test_latency_venues_get_the_best_effort_guarantee_and_both_legs_when_the_market_holds():
    venues, ex = _latency_setup()
    res = asyncio.run(ex.execute_atomic(_option(), _hedge(1.2), max_slippage_bps=5.0))
    assert res.committed and res.guarantee == "best_effort"
    assert venues["opt"]._positions[CALL.symbol] == pytest.approx(2.0)
    assert venues["perp"]._positions["BTCUSDT"] == pytest.approx(-1.2)


def test_option_liquidity_gone_while_its_order_is_in_flight_unwinds_the_hedge_best_effort():
    """The pre-check saw 5 contracts at 0.0510; they are taken before our FOK arrives."""

    def take_the_asks(venues):
        opt = venues["opt"]
        if opt.placed:  # our option order is in flight: someone lifts the offers first
            for price in (0.0510, 0.0515):
                opt.on_level(CALL.symbol, OrderSide.SELL, price, 0.0)

    venues, ex = _latency_setup(take_the_asks)
    res = asyncio.run(ex.execute_atomic(_option(), _hedge(1.0), max_slippage_bps=5.0))
    assert not res.committed and res.guarantee == "best_effort"
    assert "option leg failed" in res.reason and "hedge unwound (filled" in res.reason
    # neither leg stands: the option never traded, the hedge was bought back
    assert venues["opt"]._positions[CALL.symbol] == 0.0
    assert venues["perp"]._positions["BTCUSDT"] == pytest.approx(0.0)
    # the lone hedge cost the round trip: sold near the bid, bought back at the ask + fees
    assert res.unwind_cost > 0 and res.hedge_avg_price > 0

"""The smart order router on the real Binance books (linear BTCUSDT, inverse BTCUSD_PERP)."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from deltahedge.core.enums import OrderSide, OrderType, TimeInForce
from deltahedge.core.events import HedgeIntent
from deltahedge.execution.router import RouterConfig, SmartRouter


def _hand_walk(
    book, linear: bool, contract_usd: float, fee: float, side: int, contracts: float
) -> tuple[float, float]:
    """Cost over mid (USD) and coin delta of ``contracts`` taken level by level, in plain Python.

    Per level: coin = q (linear, sizes in BTC) or q * 100 / p (inverse, 100-USD contracts);
    cost = side * coin * (p - mid) + coin * p * fee.
    """
    bids = sorted(book.bids.items(), reverse=True)
    asks = sorted(book.asks.items())
    mid = (bids[0][0] + asks[0][0]) / 2
    levels = asks if side > 0 else bids
    left, cost, coin = contracts, 0.0, 0.0
    for p, q in levels:
        if left <= 1e-12:
            break
        take = min(q, left)
        c = take if linear else take * contract_usd / p
        cost += side * c * (p - mid) + c * p * fee
        coin += c
        left -= take
    return cost, coin


def _hand_cost_of_route(route, real_books, side: int) -> float:
    lin, inv = real_books
    total = 0.0
    for a in route.allocations:
        if a.instrument == "BTCUSDT":
            total += _hand_walk(lin, True, 1.0, 0.0005, side, a.contracts)[0]
        else:
            total += _hand_walk(inv, False, 100.0, 0.0005, side, a.contracts)[0]
    return total


@pytest.mark.parametrize("coin", [50.0, -50.0])
def test_large_hedge_split_across_linear_and_inverse_costs_less_than_either_alone(
    real_sources, real_books, coin
):
    router = SmartRouter()
    lin, inv = real_sources
    split = router.route(coin, [lin, inv])
    side = 1 if coin > 0 else -1
    assert {a.instrument for a in split.allocations} == {"BTCUSDT", "BTCUSD_PERP"}
    assert split.coin_filled == pytest.approx(abs(coin), abs=0.01)
    # independent costs of each book alone, walked by hand
    lin_alone = _hand_walk(real_books[0], True, 1.0, 0.0005, side, abs(coin))[0]
    inv_contracts = math.floor(abs(coin) * real_books[1].mid / 100.0 + 0.5)
    inv_alone = _hand_walk(real_books[1], False, 100.0, 0.0005, side, inv_contracts)[0]
    assert split.cost_usd < lin_alone
    assert split.cost_usd < inv_alone
    # the router's own cost equals the hand walk of its allocations
    assert split.cost_usd == pytest.approx(_hand_cost_of_route(split, real_books, side), rel=1e-9)


def test_router_split_is_no_worse_than_any_split_on_a_grid(real_sources, real_books):
    router = SmartRouter()
    split = router.route(50.0, list(real_sources))
    best = math.inf
    for x in np.arange(0.0, 50.001, 0.5):  # x BTC on the linear book, the rest on the inverse
        c_lin = _hand_walk(real_books[0], True, 1.0, 0.0005, 1, x)[0] if x > 0 else 0.0
        rest = 50.0 - x
        n = math.floor(rest * real_books[1].mid / 100.0 + 0.5)
        c_inv = _hand_walk(real_books[1], False, 100.0, 0.0005, 1, n)[0] if n > 0 else 0.0
        best = min(best, c_lin + c_inv)
    # within a few USD of lot rounding of the best grid point (costs are ~1,800 USD)
    assert split.cost_usd <= best + 1.0


def test_per_venue_limit_caps_the_allocation(real_sources):
    lin, inv = real_sources
    route = SmartRouter().route(50.0, [replace(lin, max_coin=20.0), inv])
    by = {a.instrument: a.execution.coin for a in route.allocations}
    assert by["BTCUSDT"] <= 20.0 + 0.001
    assert route.coin_filled == pytest.approx(50.0, abs=0.01)


def test_down_or_stale_venue_is_skipped_with_its_reason(real_sources):
    lin, inv = real_sources
    router = SmartRouter(RouterConfig(max_age_ns=2_000_000_000))
    down = router.route(5.0, [replace(lin, healthy=False), inv], now_ns=inv.ts_ns)
    assert [a.instrument for a in down.allocations] == ["BTCUSD_PERP"]
    assert down.skipped == (("binance_usdm", "venue down"),)
    stale = router.route(
        5.0, [lin, replace(inv, ts_ns=lin.ts_ns - 5_000_000_000)], now_ns=lin.ts_ns
    )
    assert [a.instrument for a in stale.allocations] == ["BTCUSDT"]
    assert "old" in stale.skipped[0][1]


def test_max_slippage_keeps_every_fill_within_the_limit(real_sources):
    lin, _ = real_sources
    route = SmartRouter().route(100.0, [lin], max_slippage_bps=1.0)
    a = route.allocations[0]
    assert (a.execution.worst_price - lin.mid) / lin.mid * 1e4 <= 1.0
    assert route.coin_filled < 100.0  # the 1 bp band holds less than 100 BTC


def test_positive_funding_makes_the_long_side_dearer(real_sources):
    lin, _inv = real_sources
    base = SmartRouter().route(5.0, [lin])
    funded = SmartRouter().route(5.0, [replace(lin, funding_rate=0.0001, carry_hours=8.0)])
    # carry = notional * 1 bp for one 8 h period
    assert funded.cost_usd - base.cost_usd == pytest.approx(
        funded.allocations[0].execution.coin * funded.allocations[0].execution.avg_price * 1e-4,
        rel=1e-9,
    )


def test_twap_clips_split_a_large_intent_only_when_allowed():
    router = SmartRouter(RouterConfig(max_clip_coin=10.0, clip_interval_s=30.0))
    intent = HedgeIntent("i", 1_000, "BTC", 25.0, "r", allow_slicing=True)
    clips = router.clips(intent)
    assert [c.coin for c in clips] == pytest.approx([25 / 3] * 3)
    assert [c.start_ns for c in clips] == [1_000, 1_000 + 30_000_000_000, 1_000 + 60_000_000_000]
    assert len(router.clips(replace(intent, allow_slicing=False))) == 1


def test_route_orders_are_ioc_limits_at_the_worst_routed_price(real_sources):
    route = SmartRouter().route(-20.0, list(real_sources))
    intent = HedgeIntent("abc", 0, "BTC", -20.0, "r")
    orders = route.to_orders(intent)
    for o, a in zip(orders, route.allocations, strict=True):
        assert o.side is OrderSide.SELL and o.order_type is OrderType.LIMIT
        assert o.time_in_force is TimeInForce.IOC and o.price == a.execution.worst_price
        assert o.quantity == a.contracts

"""AMM maths against hand-computed examples, closed forms and invariants."""

from __future__ import annotations

import asyncio
from decimal import Decimal, getcontext

import numpy as np
import pytest

from deltahedge.core import InvalidInput, OrderRequest, OrderSide, OrderStatus
from deltahedge.core.enums import OrderType
from deltahedge.venues.amm import AmmPair, AmmVenue, ConcentratedPool, ConstantProductPool
from deltahedge.venues.amm.math import (
    MAX_SQRT_RATIO,
    MAX_TICK,
    MIN_SQRT_RATIO,
    MIN_TICK,
    Q96,
    sqrt_ratio_at_tick,
    tick_at_sqrt_ratio,
    v2_amount_out,
)

getcontext().prec = 80


def test_v2_amount_out_matches_hand_computation():
    # in 1e7 with 0.3 % fee against 1e9/1e9 reserves:
    # 1e7 * 9970 * 1e9 / (1e9 * 1e4 + 1e7 * 9970) = 9.97e19 / 1.00997e13 = 9871580.34 -> 9871580
    assert v2_amount_out(10_000_000, 1_000_000_000, 1_000_000_000, 30) == 9_871_580


def test_constant_product_k_never_decreases_and_fee_makes_it_grow():
    rng = np.random.default_rng(1)
    pool = ConstantProductPool(100 * 10**8, 6_000_000 * 10**6, fee_bps=30)
    k = pool.k
    for _ in range(300):
        zero = bool(rng.random() < 0.5)
        amt = int(rng.integers(10**4, 10**9)) if zero else int(rng.integers(10**6, 10**11))
        pool.swap_exact_in(zero, amt)
        assert pool.k >= k
        k = pool.k
    assert pool.k > 100 * 10**8 * 6_000_000 * 10**6


def test_sqrt_ratio_at_tick_matches_uniswap_bounds_and_exact_powers():
    assert sqrt_ratio_at_tick(MIN_TICK) == MIN_SQRT_RATIO
    assert sqrt_ratio_at_tick(MAX_TICK) == MAX_SQRT_RATIO
    assert sqrt_ratio_at_tick(0) == Q96
    for t in (-200_000, -60, -1, 1, 60, 69_082, 200_000):
        exact = Decimal("1.0001") ** t
        exact = exact.sqrt() * Q96
        assert abs(Decimal(sqrt_ratio_at_tick(t)) - exact) / exact < Decimal("1e-15")
        assert tick_at_sqrt_ratio(sqrt_ratio_at_tick(t)) == t
    with pytest.raises(InvalidInput):
        sqrt_ratio_at_tick(MAX_TICK + 1)


def _pool_one_range(fee: int = 3000) -> tuple[ConcentratedPool, int]:
    # WBTC (8 dp) / USDC (6 dp) near 60,000 USD: raw price 600 -> tick ~ 63,974
    pool = ConcentratedPool.at_price(600.0, fee)
    liquidity = 10**15
    pool.add_liquidity(60_000, 66_000, liquidity)
    return pool, liquidity


def test_v3_swap_within_one_range_matches_the_closed_form():
    pool, liquidity = _pool_one_range()
    sp = Decimal(pool.sqrt_price_x96) / Q96
    x_in = 10**7  # 0.1 WBTC
    res = pool.swap_exact_in(True, x_in)
    # exact input x, fee f: x_net = x (1 - f); 1/sqrtP' = 1/sqrtP + x_net / L;
    # out = L (sqrtP - sqrtP')  (Uniswap v3 whitepaper 6.15, 6.16)
    x_net = Decimal(x_in) * Decimal(1_000_000 - 3000) / Decimal(1_000_000)
    sp_new = 1 / (1 / sp + x_net / liquidity)
    out = liquidity * (sp - sp_new)
    assert abs(res.amount_out - out) <= 2
    assert res.ticks_crossed == 0 and res.price_after < res.price_before
    assert res.fee == pytest.approx(x_in * 0.003, abs=2)


def test_v3_swap_crossing_a_tick_uses_the_next_ranges_liquidity():
    pool = ConcentratedPool.at_price(600.0, 500)
    l1, l2 = 10**15, 3 * 10**15
    t = pool.tick_current
    b = (t // 10 + 5) * 10  # a tick boundary a few spacings above the price
    pool.add_liquidity(b - 1000, b, l1)
    pool.add_liquidity(b, b + 1000, l2)
    sp, sb = Decimal(pool.sqrt_price_x96) / Q96, Decimal(sqrt_ratio_at_tick(b)) / Q96
    to_boundary = l1 * (sb - sp)  # token1 needed to reach b (net of fee)
    y_in = int(to_boundary * 3 / Decimal(1 - 0.0005))  # enough to go well past b
    res = pool.swap_exact_in(False, y_in)
    assert res.ticks_crossed == 1 and pool.liquidity == l2 and pool.tick_current >= b
    # closed form: first range to b, then the rest in the second range
    y_net = Decimal(y_in) * Decimal(1_000_000 - 500) / Decimal(1_000_000)
    out1 = l1 * (1 / sp - 1 / sb)
    sp2 = sb + (y_net - to_boundary) / l2
    out2 = l2 * (1 / sb - 1 / sp2)
    assert abs(Decimal(res.amount_out) - (out1 + out2)) <= 3
    # going back down crosses b again and restores the first range's liquidity
    pool.swap_exact_in(True, res.amount_out)
    assert pool.liquidity == l1 and pool.tick_current < b


def test_our_own_trade_moves_the_pool_and_quotes_do_not():
    pool, _ = _pool_one_range()
    q1 = pool.quote_exact_in(False, 6_000 * 10**6)
    q2 = pool.quote_exact_in(False, 6_000 * 10**6)
    assert q1 == q2
    first = pool.swap_exact_in(False, 6_000 * 10**6)
    second = pool.swap_exact_in(False, 6_000 * 10**6)
    assert first.amount_out == q1.amount_out
    assert second.amount_out < first.amount_out  # the price moved against us


def test_higher_fee_tier_gives_less_and_unknown_tier_is_refused():
    outs = []
    for fee in (500, 3000, 10000):
        pool, _ = _pool_one_range(fee)
        outs.append(pool.swap_exact_in(True, 10**7).amount_out)
    assert outs[0] > outs[1] > outs[2]
    with pytest.raises(InvalidInput, match="fee tier"):
        ConcentratedPool.at_price(600.0, 2500)


def test_amm_venue_buy_gets_the_quantity_and_slippage_limit_reverts_the_swap():
    pool, _ = _pool_one_range()
    venue = AmmVenue("uni", AmmPair(pool))
    price0 = venue.pair.price
    upd = asyncio.run(venue.submit(OrderRequest("a", "uni", "BTC/USDC", OrderSide.BUY, 0.5)))
    assert upd.status is OrderStatus.FILLED and upd.filled_quantity >= 0.5
    assert upd.filled_quantity - 0.5 < 1e-6
    assert upd.avg_price > price0 and venue.pair.price > price0
    before = venue.pair.price
    tight = OrderRequest(
        "b", "uni", "BTC/USDC", OrderSide.BUY, 5.0, OrderType.MARKET, price=before * 1.0001
    )
    rej = asyncio.run(venue.submit(tight))
    assert rej.status is OrderStatus.EXPIRED and "slippage" in rej.message
    assert venue.pair.price == before


def test_one_pip_tier_has_tick_spacing_one_and_charges_one_basis_point():
    pool = ConcentratedPool.at_price(600.0, 100)  # Uniswap v3's 0.01 % tier
    assert pool.tick_spacing == 1
    liquidity = 10**15
    pool.add_liquidity(60_001, 65_999, liquidity)  # odd ticks: only spacing 1 allows them
    with pytest.raises(InvalidInput, match="spacing 10"):
        ConcentratedPool.at_price(600.0, 500).add_liquidity(60_001, 65_999, liquidity)
    sp = Decimal(pool.sqrt_price_x96) / Q96
    x_in = 10**7  # 0.1 WBTC
    res = pool.swap_exact_in(True, x_in)
    # fee 100 pips of 1e6 on the input: 1e7 * 100 / 1e6 = 1,000 raw units of WBTC
    assert res.fee == pytest.approx(1_000, abs=1)
    # closed form within one range (whitepaper 6.15-6.16) with f = 0.0001
    x_net = Decimal(x_in) * Decimal(1_000_000 - 100) / Decimal(1_000_000)
    out = liquidity * (sp - 1 / (1 / sp + x_net / liquidity))
    assert abs(res.amount_out - out) <= 2


def test_lower_fee_tier_gives_more_for_the_same_input():
    outs = []
    for fee in (100, 500, 3000, 10000):
        pool, _ = _pool_one_range(fee)
        outs.append(pool.swap_exact_in(True, 10**7).amount_out)
    assert outs == sorted(outs, reverse=True) and len(set(outs)) == 4


def _thin_pool(liquidity: int = 10**12) -> AmmPair:
    # L = 1e12 on ticks [60000, 66000) at raw price 600 (sqrt 24.494897); the lower
    # bound's sqrt price is 1.0001**(60000/2) = e**2.99985 = 20.0825, so the range takes
    # L (1/20.0825 - 1/24.494897) = 1e12 * 0.0089698 = 8.9698e9 raw = 89.698 WBTC net of
    # the 0.3 % fee, i.e. 89.698 / 0.997 = 89.968 WBTC sold
    pool = ConcentratedPool.at_price(600.0, 3000)
    pool.add_liquidity(60_000, 66_000, liquidity)
    return AmmPair(pool)


def test_selling_more_than_the_pool_holds_is_rejected_with_the_reason_and_changes_nothing():
    from deltahedge.core import OrderRejected

    venue = AmmVenue("uni", _thin_pool())
    price0, sqrt0 = venue.pair.price, venue.pair.pool.sqrt_price_x96
    req = OrderRequest("big", "uni", "BTC/USDC", OrderSide.SELL, 100.0)
    with pytest.raises(OrderRejected, match="cannot fill") as info:
        venue.swap(req)
    assert "no liquidity left" in str(info.value) and info.value.venue == "uni"
    assert venue.pair.price == price0 and venue.pair.pool.sqrt_price_x96 == sqrt0
    assert asyncio.run(venue.positions()) == {"BTC/USDC": 0.0}
    # 89 WBTC still fit in the range (89.968 do)
    ok = venue.swap(OrderRequest("fits", "uni", "BTC/USDC", OrderSide.SELL, 89.0))
    assert ok.status is OrderStatus.FILLED and ok.filled_quantity == 89.0


def test_order_manager_reports_a_pool_that_cannot_fill_as_failed_without_raising():
    from deltahedge.core import HedgeIntent, SimClock
    from deltahedge.execution.orders import OrderManager, RetryPolicy

    venue = AmmVenue("uni", _thin_pool())
    price0 = venue.pair.price
    om = OrderManager({"uni": venue}, clock=SimClock(0), retry=RetryPolicy(max_attempts=3))
    intent = HedgeIntent("dry", 0, "BTC", -100.0, "test")
    leg = OrderRequest("", "uni", "BTC/USDC", OrderSide.SELL, 100.0)
    report = asyncio.run(om.execute(intent, [leg]))
    assert report.status == "failed" and report.filled == {0: 0.0}
    assert "cannot fill" in report.reason and "no liquidity left" in report.reason
    assert all(o.status is OrderStatus.REJECTED for o in om.orders.values())
    assert len(om.orders) == 3  # one order per allowed attempt, none sent twice
    assert om.in_flight("BTC") is None and venue.pair.price == price0


def test_pool_book_ends_where_its_liquidity_does():
    venue = AmmVenue("uni", _thin_pool(10**11))  # a tenth of the liquidity: 8.9968 WBTC
    snap = asyncio.run(venue.order_book("BTC/USDC", depth=100))  # 10 coin a side asked
    # 8.9968 WBTC can be sold in 0.1 steps: 89 steps = 8.9, the 90th runs out
    assert snap.bids[:, 1].sum() == pytest.approx(8.9) and len(snap.bids) == 89
    assert np.all(np.diff(snap.bids[:, 0]) < 0) and np.all(np.diff(snap.asks[:, 0]) > 0)

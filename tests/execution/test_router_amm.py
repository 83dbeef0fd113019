"""Routing between an order book and an AMM pool."""

from __future__ import annotations

import math

import numpy as np
import pytest

from deltahedge.core import OrderSide
from deltahedge.execution.router import BookSource, SmartRouter
from deltahedge.venues.amm import AmmPair, AmmSource, AmmVenue, ConcentratedPool
from deltahedge.venues.specs import BINANCE_BTCUSDT, synthetic_book


def _sources():
    book = synthetic_book("BTCUSDT", mid=60_000.0, levels=300, size_at_touch=0.5, seed=5)
    bp, bq = book.side_arrays(OrderSide.BUY)
    ap, aq = book.side_arrays(OrderSide.SELL)
    lob = BookSource("cex", BINANCE_BTCUSDT, np.column_stack([bp, bq]), np.column_stack([ap, aq]))
    pool = ConcentratedPool.at_price(600.0, 500)  # 60,000 USD per BTC in raw WBTC/USDC units
    pool.add_liquidity(60_000, 66_000, 3 * 10**14)
    amm = AmmSource(AmmVenue("uni", AmmPair(pool)), max_coin=20.0, chunks=200)
    return lob, amm


def test_sell_routed_over_book_and_pool_is_cheaper_than_either_and_costs_what_it_says():
    lob, amm = _sources()
    router = SmartRouter()
    both = router.route(-15.0, [lob, amm])
    alone_book = router.route(-15.0, [lob])
    alone_amm = router.route(-15.0, [amm])
    assert {a.venue for a in both.allocations} == {"cex", "uni"}
    assert both.cost_usd < alone_book.cost_usd and both.cost_usd < alone_amm.cost_usd
    # the pool's cost, by hand: inside one v3 range the pool is a constant-product pool on
    # virtual reserves (Uniswap v3 whitepaper 6.2): x = L / sqrt(P) WBTC, y = L sqrt(P) USDC,
    # in raw units (1e-8 WBTC, 1e-6 USDC), with L = 3e14 and P = 600 (60,000 USD per BTC):
    #   x = 3e14 / 24.4949 = 1.2247e13 raw = 122,474 WBTC;  y = 3e14 * 24.4949 = 7.3485e15 raw
    # selling dx WBTC, 0.05 % fee taken from the input: dx' = dx (1 - 0.0005);
    #   (x + dx')(y - dy) = x y  =>  dy = y dx' / (x + dx')
    # and the slippage is what the sale gets below the mid: coin * 60,000 - dy
    # (15 BTC moves the price by ~0.02 %, far inside the range [tick 60,000, 66,000))
    amm_alloc = next(a for a in both.allocations if a.venue == "uni")
    coin = amm_alloc.contracts
    liquidity, sqrt_p = 3e14, math.sqrt(600.0)
    x, y = liquidity / sqrt_p, liquidity * sqrt_p
    dx = coin * 1e8 * (1 - 0.0005)
    dy_usd = y * dx / (x + dx) / 1e6
    by_hand = coin * 60_000.0 - dy_usd
    assert 0 < coin < 15.0 and by_hand > 0
    # the v3 maths rounds to whole raw units (1e-6 USD): equal to within a few of them
    assert amm_alloc.execution.slippage_usd == pytest.approx(by_hand, rel=0, abs=1e-5)
    assert both.coin_filled == pytest.approx(15.0, abs=0.002)


def test_amm_segments_cost_more_per_coin_the_further_they_go():
    _, amm = _sources()
    for side in (OrderSide.BUY, OrderSide.SELL):
        coin, cost = amm.segments(side)
        assert np.all(np.diff(cost) > 0) and cost[0] > 0  # the 0.05 % fee is in the curve
        assert coin.sum() == pytest.approx(20.0)

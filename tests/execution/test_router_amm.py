"""Routing between an order book and an AMM pool."""

from __future__ import annotations

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
    # the reported cost is the exact cost of each allocation, evaluated again independently
    amm_alloc = next(a for a in both.allocations if a.venue == "uni")
    coin, usd = amm.pair.sell_coin(amm_alloc.contracts)
    assert amm_alloc.execution.slippage_usd == pytest.approx(coin * amm.pair.price - usd, rel=1e-12)
    assert both.coin_filled == pytest.approx(15.0, abs=0.002)


def test_amm_segments_cost_more_per_coin_the_further_they_go():
    _, amm = _sources()
    for side in (OrderSide.BUY, OrderSide.SELL):
        coin, cost = amm.segments(side)
        assert np.all(np.diff(cost) > 0) and cost[0] > 0  # the 0.05 % fee is in the curve
        assert coin.sum() == pytest.approx(20.0)

"""An AMM pool as a hedge venue of `deltahedge run`: configured in TOML, routed on its exact
swap curve next to a paper order book, and kept at the index by arbitrage between hedges."""

from __future__ import annotations

import asyncio
import math

import pytest

from deltahedge.core.clock import SimClock
from deltahedge.engine.config import parse_config
from deltahedge.engine.scenario import build_from_config, load_demo_surface
from deltahedge.marketdata.feeds import Tick, TickKind
from deltahedge.venues.amm import AmmPair, AmmVenue, ConstantProductPool


def test_arbitrage_moves_a_pool_along_its_curve_to_the_price():
    # 10 BTC and 1,000,000 USDC: price 100,000; k = 1e9 x 1e12 raw
    pool = ConstantProductPool(10 * 10**8, 1_000_000 * 10**6, 30)
    venue = AmmVenue("uni", AmmPair(pool))
    k = pool.reserve0 * pool.reserve1
    venue.set_price("BTC/USDC", 90_000.0)
    # x = sqrt(k / p) with p = 90,000 x 1e6 / 1e8 = 900 raw USDC per raw sat:
    # sqrt(1e21 / 900) = 1.0541e9 sat = 10.541 BTC; y = sqrt(1e21 x 900) = 9.4868e11 = 948,683 USDC
    assert pool.reserve0 == round(math.sqrt(k / 900.0))
    assert venue.pair.price == pytest.approx(90_000.0, rel=1e-9)
    assert pool.reserve0 * pool.reserve1 == pytest.approx(k, rel=1e-9)


def _config(tmp_path):
    return parse_config({
        "engine": {"clock": "sim"},
        "policy": {"name": "fixed_threshold", "params": {"threshold": 0.5}},
        "venues": [
            {"name": "lin", "kind": "paper", "settlement": "linear",
             "hedge_instrument": "BTCUSDT", "contract_size": 1.0, "fee_bps": 4.0},
            {"name": "uni", "kind": "amm", "fee_bps": 1, "liquidity_usd": 2_000_000_000.0},
        ],
        "risk": {"max_order_coin": 50.0},
        "journal": {"url": str(tmp_path / "j.sqlite")},
    })  # fmt: skip


def test_engine_hedges_across_a_book_and_a_pool_and_the_pool_follows_the_index(tmp_path):
    surface = load_demo_surface()
    clock = SimClock(int(surface.ts_ns))
    sc = build_from_config(_config(tmp_path), clock, state_dir=tmp_path)
    e = sc.engine
    amm = e.venues["uni"]
    assert isinstance(amm, AmmVenue) and amm.spec.symbol == "BTC/USDC"
    asyncio.run(e.start())
    s0 = e.market.index("BTC")
    # the short-options book is short gamma: a 4 % rally makes it short several BTC of delta
    price = s0 * 1.04
    ts = clock.advance(0.1)
    intent = asyncio.run(e.on_tick(Tick(TickKind.INDEX, "BTC", "sim", "BTC", price, ts, ts)))
    assert intent is not None and intent.delta_coin > 2.0
    legs = e.account.contracts()
    pool_coin = legs.get(("uni", "BTC/USDC"), 0.0)
    book_coin = legs.get(("lin", "BTCUSDT"), 0.0)
    # the router used both: the pool (1 bp fee, no spread, impact ~2q/x on ~10,400 BTC of
    # reserves) is cheaper than the book (4 bp fee + 1 bp half spread) for the first ~2 BTC
    assert pool_coin > 0.0 and book_coin > 0.0
    assert pool_coin + book_coin == pytest.approx(intent.delta_coin, abs=0.002)
    # the pool's own price moved up with the buy; the next sync puts it back at the index
    assert amm.pair.price > price
    e.venue_sync(e.market)
    assert amm.pair.price == pytest.approx(price, rel=1e-6)


def test_an_amm_fee_tier_must_be_whole_basis_points():
    from deltahedge.core.errors import ConfigError

    with pytest.raises(ConfigError, match="fee tier, a whole number of basis points"):
        parse_config({"venues": [{"name": "uni", "kind": "amm", "fee_bps": 2.5}]})

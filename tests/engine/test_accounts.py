"""HedgeAccount: the hedge legs' delta in each numeraire, against hand arithmetic and
against ``book_risk`` (the portfolio layer's exact valuation of the same positions)."""

from __future__ import annotations

import numpy as np
import pytest

from deltahedge.core.enums import OrderSide
from deltahedge.core.events import Fill
from deltahedge.engine.accounts import HedgeAccount, LatencyHistogram
from deltahedge.instruments import parse_instrument
from deltahedge.marketdata.state import MarketState, UnderlyingState
from deltahedge.portfolio import Position, book_risk
from deltahedge.venues.specs import BINANCE_BTCUSD_PERP, BINANCE_BTCUSDT


def _fill(spec, qty: float, price: float, i: int) -> Fill:
    side = OrderSide.BUY if qty > 0 else OrderSide.SELL
    return Fill(f"f{i}", "c", spec.venue, spec.symbol, side, abs(qty), price, 0.0, "USDT", 0)


def test_inverse_short_delta_differs_by_numeraire_as_computed_by_hand():
    acc = HedgeAccount([BINANCE_BTCUSD_PERP])
    acc.apply(_fill(BINANCE_BTCUSD_PERP, -500.0, 50_000.0, 1))  # short 500 x 100 USD at 50k
    # usd numeraire: n c / p = -50,000 / 50,000 = -1 BTC, whatever the price now
    assert acc.delta("usd", 40_000.0) == (pytest.approx(-1.0), 0.0)
    # coin numeraire at 40,000: n c / P = -50,000 / 40,000 = -1.25 BTC;
    # gamma -usd/P^2 = 50,000 / 1.6e9 = +3.125e-5 BTC per USD
    d, g = acc.delta("coin", 40_000.0)
    assert d == pytest.approx(-1.25) and g == pytest.approx(3.125e-5)


def test_coin_numeraire_matches_book_risk_for_linear_and_inverse_legs():
    acc = HedgeAccount([BINANCE_BTCUSD_PERP, BINANCE_BTCUSDT])
    acc.apply(_fill(BINANCE_BTCUSD_PERP, -900.0, 90_000.0, 1))
    acc.apply(_fill(BINANCE_BTCUSDT, 2.0, 95_000.0, 2))
    S = 100_000.0
    inv = Position(parse_instrument("BTCUSD_PERP", "binance"), -900.0, entry_price=90_000.0)
    lin = Position(parse_instrument("BTCUSDT", "binance"), 2.0, entry_price=95_000.0)
    market = MarketState(0, {"BTC": UnderlyingState(S)})
    for num in ("usd", "coin"):
        r = book_risk([inv, lin], market, numeraire=num)
        d, g = acc.delta(num, S)
        assert d == pytest.approx(float(r.delta_coin[0]), rel=1e-12)
        assert g == pytest.approx(float(r.gamma_coin[0]), rel=1e-12, abs=1e-18)


def test_delta_fees_and_usd_follow_each_fill_after_being_read():
    # the sums over the legs are kept between fills: a read, then a fill, must see the fill
    acc = HedgeAccount([BINANCE_BTCUSD_PERP, BINANCE_BTCUSDT])
    assert acc.delta_coin() == 0 and acc.fees_usd() == 0 and acc.delta("coin", 1e5) == (0.0, 0.0)
    acc.apply(_fill(BINANCE_BTCUSD_PERP, -500.0, 50_000.0, 1))  # -500 x 100 USD / 50k = -1 BTC
    assert acc.delta_coin() == pytest.approx(-1.0)
    acc.apply(_fill(BINANCE_BTCUSDT, 0.25, 40_000.0, 2))  # +0.25 BTC linear
    assert acc.delta_coin() == pytest.approx(-0.75)
    # coin numeraire: usd sum = -50,000 + 0.25 * 40,000 = -40,000 -> -40,000 / 80,000 = -0.5
    assert acc.delta("coin", 80_000.0)[0] == pytest.approx(-0.5)
    paid = Fill("f3", "c", BINANCE_BTCUSDT.venue, BINANCE_BTCUSDT.symbol, OrderSide.BUY, 0.1,
                40_000.0, 2.0, "USDT", 0)  # fmt: skip
    acc.apply(paid)
    assert acc.fees_usd() == 2.0 and acc.delta_coin() == pytest.approx(-0.65)


def test_latency_buckets_are_those_of_searchsorted_at_and_around_every_edge():
    h = LatencyHistogram()
    edges = LatencyHistogram.edges
    xs = np.concatenate([edges, np.nextafter(edges, np.inf), np.nextafter(edges, -np.inf),
                         [-1.0, 1e3, np.inf]])  # fmt: skip
    expected = np.zeros(len(edges), dtype=np.int64)
    for x in xs:
        h.observe(float(x))
        i = int(np.searchsorted(edges, x, side="right")) - 1  # the bucket [edge i, edge i+1)
        expected[min(max(i, 0), len(edges) - 1)] += 1
    assert np.array_equal(h.counts, expected) and h.n == len(xs) and h.max == np.inf
    h.reset()
    assert h.n == 0 and not h.counts.any()

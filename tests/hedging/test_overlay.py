"""Delta-gamma-vega overlay: least-cost option trades within limits, then delta."""

from __future__ import annotations

import math

import numpy as np
import pytest

from deltahedge.core.errors import InvalidInput
from deltahedge.hedging.choice import HedgeVenue
from deltahedge.hedging.overlay import OverlayLimits, overlay
from deltahedge.instruments import parse_instrument
from deltahedge.marketdata.state import MarketState, Quote, UnderlyingState
from deltahedge.portfolio import Position, book_risk, compile_book

DAY = 86_400 * 10**9
MAR = parse_instrument("BTC-27MAR26-90000-C", "deribit")
JAN = parse_instrument("BTC-30JAN26-90000-C", "deribit")
TS = JAN.expiry_ns - 25 * DAY
PERP = parse_instrument("BTC-PERPETUAL", "deribit")
CANDS = [
    parse_instrument("BTC-30JAN26-90000-P", "deribit"),
    parse_instrument("BTC-30JAN26-100000-C", "deribit"),
    parse_instrument("BTC-27MAR26-90000-P", "deribit"),
]
VOLS = [0.5, 0.48, 0.5]


def _market():
    u = UnderlyingState(
        90_000.0,
        np.array([JAN.expiry_ns, MAR.expiry_ns]),
        np.array([90_100.0, 90_500.0]),
        marks={("deribit", "BTC-PERPETUAL"): 90_000.0},
        quotes={("deribit", "BTC-PERPETUAL"): Quote(89_999.5, 90_000.5)},
    )
    return MarketState(TS, {"BTC": u})


def _book_risk():
    # short 20 Jan calls and 10 Mar calls: short gamma, short vega in both expiries
    return book_risk([Position(JAN, -20.0), Position(MAR, -10.0)], _market(), vols=[0.5, 0.5])


def _unit_greeks():
    r = compile_book([Position(o, 1.0) for o in CANDS], vols=VOLS).risk(_market())
    return r.contributions[:, 2], r.contributions[:, 3]


def test_gamma_limit_met_by_cheapest_gamma_per_dollar():
    risk = _book_risk()
    g_unit, _ = _unit_greeks()
    cost = np.array([60.0, 20.0, 80.0])
    # cost per unit gamma decides: the LP buys only the candidate with the lowest c / g
    best_j = int(np.argmin(cost / g_unit))
    gmax = abs(risk.gamma("BTC")) / 4
    plans = overlay(risk, _market(), CANDS, VOLS, cost, OverlayLimits(gamma_max=gmax))
    top = plans[0]
    assert [s for s, _ in top.trades] == [CANDS[best_j].symbol]
    # needs (|G0| - gmax) / g_j contracts, in whole 0.1 lots enough to meet the limit
    need = (abs(risk.gamma("BTC")) - gmax) / g_unit[best_j]
    assert top.trades[0][1] == pytest.approx(math.ceil(need * 10) / 10, abs=1e-12)
    assert abs(top.gamma_after) <= gmax * 1.01
    # alternatives exist, are within limits or flagged, and cost more
    assert len(plans) >= 2
    assert all(
        p.option_cost_usd >= top.option_cost_usd - 1e-9 for p in plans[1:] if p.within_limits
    )


def test_vega_limit_per_expiry_trades_only_that_expiry_and_delta_goes_to_linear():
    risk = _book_risk()
    vmax = {JAN.expiry_ns: 500.0}
    plans = overlay(
        risk,
        _market(),
        CANDS,
        VOLS,
        [30.0, 30.0, 30.0],
        OverlayLimits(vega_max_by_expiry=vmax),
        linear=[HedgeVenue(PERP, taker_fee_bps=5.0)],
    )
    top = plans[0]
    assert top.within_limits
    assert all("30JAN26" in s for s, _ in top.trades)
    assert abs(top.vega_after[JAN.expiry_ns]) <= 500.0
    assert top.vega_after[MAR.expiry_ns] == pytest.approx(risk.vega_by_expiry("BTC")[MAR.expiry_ns])
    # the linear leg takes the delta left after the options (perp contracts of 10 USD)
    assert top.linear is not None
    assert top.linear.contracts == pytest.approx(
        round(-top.delta_after_options * 90_000 / 10), abs=1
    )
    assert top.total_cost_usd == pytest.approx(top.option_cost_usd + top.linear.total_usd)


def test_no_limits_means_no_trades_and_bad_costs_raise():
    risk = _book_risk()
    plans = overlay(risk, _market(), CANDS, VOLS, [1.0, 1.0, 1.0], OverlayLimits())
    assert plans[0].trades == ()
    with pytest.raises(InvalidInput, match="cost > 0"):
        overlay(risk, _market(), CANDS, VOLS, [1.0, 0.0, 1.0], OverlayLimits(gamma_max=0.0))

"""Hedge-instrument choice: fees, spread, impact and carry by hand."""

from __future__ import annotations

import numpy as np
import pytest

from deltahedge.core.errors import InvalidInput
from deltahedge.hedging.choice import HedgeVenue, choose_hedge, hedge_cost
from deltahedge.instruments import parse_instrument
from deltahedge.marketdata.state import MarketState, Quote, UnderlyingState

DAY = 86_400
PERP = parse_instrument("BTC-PERPETUAL", "deribit")
FUT = parse_instrument("BTC-27MAR26", "deribit")
SPOT = parse_instrument("BTC/USDT", "binance")
TS = FUT.expiry_ns - 80 * DAY * 10**9  # 80 days to expiry


def _market(funding: float) -> MarketState:
    u = UnderlyingState(
        100_000.0,
        np.array([FUT.expiry_ns]),
        np.array([101_600.0]),
        marks={("deribit", "BTC-PERPETUAL"): 100_000.0, ("deribit", "BTC-27MAR26"): 101_600.0},
        quotes={
            ("deribit", "BTC-PERPETUAL"): Quote(99_995.0, 100_005.0),  # 0.5 bp half-spread
            ("deribit", "BTC-27MAR26"): Quote(101_590.0, 101_610.0),
            ("binance", "BTC/USDT"): Quote(99_990.0, 100_010.0),  # 1 bp
        },
        funding={("deribit", "BTC-PERPETUAL"): funding},
    )
    return MarketState(TS, {"BTC": u})


VENUES = [
    HedgeVenue(PERP, taker_fee_bps=5.0),
    HedgeVenue(FUT, taker_fee_bps=5.0),
    HedgeVenue(SPOT, taker_fee_bps=10.0, borrow_rate_apr=0.05),
]


def test_perp_cost_by_hand():
    # sell 10 BTC (N = 1,000,000 USD) for 8 days at +1 bp / 8 h funding:
    # fee 2 * 5 bp * 1e6 = 1,000; half-spread 1e4 * 5 / 100,000 = 0.5 bp -> 2 * 0.5 bp * 1e6 = 100
    # carry: short receives: -1 * 1e-4 * 1e6 * (8 * 86,400 / 28,800 = 24) = -2,400
    c = hedge_cost(VENUES[0], -10.0, _market(1e-4), 8 * DAY)
    assert c.fee_usd == pytest.approx(1000.0)
    assert c.spread_usd == pytest.approx(100.0, rel=1e-9)
    assert c.carry_usd == pytest.approx(-2400.0)
    assert c.total_usd == pytest.approx(-1300.0, rel=1e-9)
    assert c.contracts == -100_000.0  # 10 BTC * 100,000 / 10 USD


def test_future_basis_carry_by_hand():
    # buy 10 BTC for 8 of 80 days: basis (101,600 - 100,000) / 100,000 = 1.6 %;
    # carry = 0.016 * 1e6 * 8 / 80 = 1,600 USD paid by the long
    c = hedge_cost(VENUES[1], 10.0, _market(0.0), 8 * DAY)
    assert c.carry_usd == pytest.approx(1600.0, rel=1e-9)
    # held past expiry: one leg only, full basis
    c2 = hedge_cost(VENUES[1], 10.0, _market(0.0), 100 * DAY)
    assert c2.fee_usd == pytest.approx(500.0)
    assert c2.carry_usd == pytest.approx(16_000.0, rel=1e-9)


def test_choice_follows_funding_sign():
    # selling delta with positive funding: the perp pays us -> perp first
    short = choose_hedge(-10.0, VENUES, _market(1e-4), 8 * DAY)
    assert short[0].symbol == "BTC-PERPETUAL"
    # buying delta with +3 bp / 8 h funding over 8 days:
    #   spot:   fee 2 * 10 bp * 1e6 = 2,000 + spread 2 * 1 bp * 1e6 = 200          = 2,200
    #   future: fee 1,000 + spread 2 * (1e4 * 10 / 101,600 = 0.984 bp) * 1e6 = 196.9
    #           + carry 1,600                                                    = 2,796.9
    #   perp:   fee 1,000 + spread 100 + carry 3e-4 * 1e6 * 24 = 7,200          = 8,300
    long = choose_hedge(10.0, VENUES, _market(3e-4), 8 * DAY)
    assert [c.symbol for c in long] == ["BTC/USDT", "BTC-27MAR26", "BTC-PERPETUAL"]
    assert [round(c.total_usd, 1) for c in long] == [2200.0, 2796.9, 8300.0]


def test_candidates_without_quote_are_skipped_and_none_priced_raises():
    m = _market(0.0)
    other = HedgeVenue(parse_instrument("BTC-USDT-SWAP", "okx"))
    ranked = choose_hedge(1.0, [other, VENUES[0]], m, DAY)
    assert [c.symbol for c in ranked] == ["BTC-PERPETUAL"]
    with pytest.raises(InvalidInput, match="no best bid/ask for okx:BTC-USDT-SWAP"):
        choose_hedge(1.0, [other], m, DAY)
